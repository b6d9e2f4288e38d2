//! `tfd --demo` (issue 32): its warning when run as root, and the free port
//! it suggests when its own is taken.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use tfd_testkit::*;

/// A demo started as root says that its sessions run as root.
#[test]
fn demo_as_root_warns() {
    assert!(
        is_root(),
        "this test needs root: it checks what the demo says when started as root"
    );
    let dir = tempdir("polish-demo-root");
    let (err, mut child) = demo_until_listening(&dir.join("demo"), free_port());
    let _ = child.kill();
    let _ = child.wait();
    assert!(
        err.contains(
            "WARNING: started as root, so this demo serves as root: every client that connects acts as root in"
        ) && err.contains("run it as an ordinary user"),
        "{err}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// The hint for a taken port names a port that is free, not just the next one.
#[test]
fn demo_suggests_a_port_that_is_free() {
    let dir = tempdir("polish-demo-port");
    // two neighbouring ports taken
    let (first, _second, port) = loop {
        let a = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let p = a.local_addr().unwrap().port();
        if p == u16::MAX {
            continue;
        }
        if let Ok(b) = std::net::TcpListener::bind(("127.0.0.1", p + 1)) {
            break (a, b, p);
        }
    };
    let o = Command::new(env!("CARGO_BIN_EXE_tfd"))
        .args(["demo", "--port", &port.to_string(), "--dir"])
        .arg(dir.join("demo"))
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    let hint = err
        .lines()
        .find_map(|l| l.strip_prefix("hint: pick another port: tfd demo --port "))
        .unwrap_or_else(|| panic!("no hint: {err}"));
    let suggested: u16 = hint.split_whitespace().next().unwrap().parse().unwrap();
    assert!(suggested > port + 1, "suggested the taken {suggested}: {err}");
    // it was free (taken by nothing of this test since)
    assert!(std::net::TcpListener::bind(("127.0.0.1", suggested)).is_ok(), "{err}");
    drop(first);
    let _ = std::fs::remove_dir_all(&dir);
}

/// Starts `tfd demo` on `port` from `dir`; its stderr until it listens (or
/// ends), and the child, still running where it listens.
fn demo_until_listening(dir: &std::path::Path, port: u16) -> (String, std::process::Child) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_tfd"))
        .args(["demo", "--port", &port.to_string(), "--dir"])
        .arg(dir)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut err = String::new();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        match lines.next() {
            Some(Ok(l)) => {
                err.push_str(&l);
                err.push('\n');
                if l.contains("listening on") {
                    break;
                }
            }
            _ => break,
        }
    }
    (err, child)
}

/// Two demos started at once from one fresh folder both serve it (before,
/// the second could fail "key.pem: File exists", seen in CI's quick start),
/// and a first run killed between its private and its public key (key.pem
/// there, pub.pem not, its temporary left) leaves a folder the next run
/// serves, its pub.pem made again from key.pem.
#[test]
fn an_interrupted_or_doubled_first_run_leaves_a_folder_the_next_serves() {
    let dir = tempdir("polish-demo-twice").join("demo");
    let (a, b) = (free_port(), free_port());
    let d = dir.clone();
    let other = std::thread::spawn(move || demo_until_listening(&d, b));
    let (err_a, mut child_a) = demo_until_listening(&dir, a);
    let (err_b, mut child_b) = other.join().unwrap();
    for c in [&mut child_a, &mut child_b] {
        let _ = c.kill();
        let _ = c.wait();
    }
    for err in [&err_a, &err_b] {
        assert!(err.contains("listening on") && !err.contains("File exists"), "{err}");
    }
    let public_of = |dir: &std::path::Path| {
        let o = Command::new("openssl")
            .args(["pkey", "-pubout", "-in"])
            .arg(dir.join("key.pem"))
            .output()
            .expect("openssl (the command) is needed for this test: scripts/deps installs it");
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        o.stdout
    };
    assert_eq!(std::fs::read(dir.join("pub.pem")).unwrap(), public_of(&dir));
    // killed between the two keys: no pub.pem, a temporary beside key.pem
    std::fs::remove_file(dir.join("pub.pem")).unwrap();
    std::fs::write(dir.join("pub.pem.4242.tmp"), b"half a key").unwrap();
    let (err, mut child) = demo_until_listening(&dir, free_port());
    let _ = child.kill();
    let _ = child.wait();
    assert!(err.contains("listening on"), "{err}");
    assert_eq!(std::fs::read(dir.join("pub.pem")).unwrap(), public_of(&dir));
    let _ = std::fs::remove_dir_all(dir.parent().unwrap());
}
