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
    let port = free_port();
    let mut child = Command::new(env!("CARGO_BIN_EXE_tfd"))
        .args(["demo", "--port", &port.to_string(), "--dir"])
        .arg(dir.join("demo"))
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
