//! Trust on first use for the server's key (issue 63 item 5), through the
//! real wire: `tf` without `--key` asks an unknown server for its key
//! (`TFDHOSTKEY`), pins it in `$XDG_CONFIG_HOME/tf/known_servers` with
//! `--accept-new`, connects with the pin next time, and refuses a server
//! whose key changed (both fingerprints, the line to remove), an unknown
//! server with no terminal to ask, a file others can write, and a hostile
//! answer (oversized, malformed, escape sequences) in one sentence.

use crate::output::{stderr, stdout};
use std::io::{Read, Write};
use std::net::TcpListener;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};
use tfd_testkit::*;

/// A config home of the test's own, mode 0700 as `~/.config` would be.
fn config_home(tag: &str) -> PathBuf {
    let d = tempdir(tag).join("config");
    std::fs::create_dir_all(&d).unwrap();
    std::fs::set_permissions(&d, std::fs::Permissions::from_mode(0o700)).unwrap();
    d
}

/// `tf --server ADDR --hash HASH ARGS` without `--key`, stdin closed (no
/// terminal to ask on), its config home `home`.
fn tf_nokey(home: &Path, addr: &str, hash: &str, args: &[&str]) -> Output {
    Command::new(tf_bin())
        .env("XDG_CONFIG_HOME", home)
        .env("XDG_STATE_HOME", home.join("state"))
        .env_remove("TF_KEY")
        .args(["--timeout", "10", "--server", addr, "--hash", hash])
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .output()
        .unwrap()
}

fn known(home: &Path) -> PathBuf {
    home.join("tf/known_servers")
}

/// The fingerprint `ssh-keygen -lf` prints for the first key of `file`.
fn ssh_keygen_fingerprint(file: &Path) -> String {
    let o = Command::new("ssh-keygen").arg("-lf").arg(file).output().unwrap();
    assert!(o.status.success(), "ssh-keygen -lf: {o:?}");
    let text = String::from_utf8_lossy(&o.stdout).into_owned();
    text.split_whitespace().nth(1).unwrap().to_string()
}

/// `tfd --print-fingerprint` for the server's config.
fn tfd_fingerprint(srv: &Server) -> String {
    let o = Command::new(tfd_bin())
        .arg("-c")
        .arg(&srv.conf)
        .arg("--print-fingerprint")
        .output()
        .unwrap();
    assert!(o.status.success(), "{o:?}");
    String::from_utf8_lossy(&o.stdout).trim().to_string()
}

#[test]
fn a_first_contact_with_accept_new_pins_and_the_next_run_uses_the_pin() {
    let srv = Server::start();
    let home = config_home("known-pin");
    let fp = tfd_fingerprint(&srv);
    assert!(fp.starts_with("SHA256:") && !fp.ends_with('='), "{fp}");
    let o = tf_nokey(&home, &srv.addr(), &srv.hash, &["--accept-new", "echo", "pinned"]);
    assert!(o.status.success(), "{o:?}");
    assert_eq!(stdout(&o).trim(), "pinned");
    assert!(
        stderr(&o).contains(&format!("pinned the key of {} ({fp})", srv.addr())),
        "{o:?}"
    );
    // one line, `host:port ssh-rsa KEY`, that ssh-keygen reads as tfd's key
    let text = std::fs::read_to_string(known(&home)).unwrap();
    assert_eq!(text.lines().count(), 1, "{text}");
    assert!(text.starts_with(&format!("{} ssh-rsa AAAA", srv.addr())), "{text}");
    assert_eq!(ssh_keygen_fingerprint(&known(&home)), fp);
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&known(&home)), 0o600);
    assert_eq!(mode(&home.join("tf")), 0o700);
    // the next run needs neither --key nor --accept-new, and asks nothing
    let o = tf_nokey(&home, &srv.addr(), &srv.hash, &["echo", "again"]);
    assert!(o.status.success(), "{o:?}");
    assert_eq!(stdout(&o).trim(), "again");
    assert_eq!(stderr(&o), "", "{o:?}");
    assert_eq!(std::fs::read_to_string(known(&home)).unwrap(), text);
}

#[test]
fn a_server_restarted_with_a_new_key_is_refused_with_both_fingerprints_and_the_line() {
    let mut srv = Server::start();
    let home = config_home("known-changed");
    // another server's pin first, so the line named is not always the first
    let other = "127.0.0.1:1 ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQC7\n";
    std::fs::create_dir_all(home.join("tf")).unwrap();
    std::fs::write(known(&home), other).unwrap();
    std::fs::set_permissions(known(&home), std::fs::Permissions::from_mode(0o600)).unwrap();
    let old = tfd_fingerprint(&srv);
    let o = tf_nokey(&home, &srv.addr(), &srv.hash, &["--accept-new", "echo", "hi"]);
    assert!(o.status.success(), "{o:?}");
    srv.restart_with_new_key();
    let new = tfd_fingerprint(&srv);
    assert_ne!(old, new);
    // --accept-new never replaces a pin; a password at hand is not sent
    let o = Command::new(tf_bin())
        .env("XDG_CONFIG_HOME", &home)
        .env("TF_PASSWORD", "never-sent")
        .args(["--timeout", "10", "--server", &srv.addr(), "--hash", &srv.hash])
        .args(["--accept-new", "--user", "root", "echo", "hi"])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(!o.status.success(), "{o:?}");
    assert_eq!(stdout(&o), "");
    let err = stderr(&o);
    let file = known(&home).display().to_string();
    assert!(err.contains("is not the one pinned"), "{err}");
    assert!(err.contains(&format!("pinned:  {old} ({file}, line 2)")), "{err}");
    assert!(err.contains(&format!("offered: {new}")), "{err}");
    assert!(err.contains(&format!("remove line 2 of {file}")), "{err}");
    // the server saw a refused session key and the key's request, no session
    // (the session process logs its end after tf has what it sent, and may
    // not have written it yet when tf exits: waited for, a few seconds)
    let until = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while !srv.log().contains("TFDHOSTKEY") && std::time::Instant::now() < until {
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let log = srv.log();
    assert!(log.contains("FAILED 25"), "{log}");
    assert!(log.contains("TFDHOSTKEY"), "{log}");
    assert!(!log.contains("session start"), "{log}");
    assert!(!log.contains("LOGIN"), "{log}");
    assert_eq!(std::fs::read_to_string(known(&home)).unwrap().lines().count(), 2);
}

#[test]
fn a_first_contact_without_a_terminal_or_accept_new_is_refused() {
    let srv = Server::start();
    let home = config_home("known-noterm");
    let o = tf_nokey(&home, &srv.addr(), &srv.hash, &["echo", "hi"]);
    assert!(!o.status.success(), "{o:?}");
    let err = stderr(&o);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains("no terminal to ask") && err.contains("--accept-new"),
        "{err}"
    );
    assert!(err.contains(&tfd_fingerprint(&srv)), "{err}");
    assert!(!known(&home).exists());
    assert!(!srv.log().contains("session start"), "{}", srv.log());
}

#[test]
fn a_known_servers_file_or_directory_others_can_write_is_refused() {
    let srv = Server::start();
    let home = config_home("known-modes");
    let o = tf_nokey(&home, &srv.addr(), &srv.hash, &["--accept-new", "echo", "hi"]);
    assert!(o.status.success(), "{o:?}");
    let set = |p: &Path, m: u32| std::fs::set_permissions(p, std::fs::Permissions::from_mode(m)).unwrap();
    for (path, mode, back) in [(known(&home), 0o620, 0o600), (home.join("tf"), 0o770, 0o700)] {
        set(&path, mode);
        let o = tf_nokey(&home, &srv.addr(), &srv.hash, &["echo", "hi"]);
        assert!(!o.status.success(), "{o:?}");
        let err = stderr(&o);
        assert!(
            err.contains("the known servers file") && err.contains("chmod go-w"),
            "{err}"
        );
        assert_eq!(stdout(&o), "");
        set(&path, back);
    }
    let o = tf_nokey(&home, &srv.addr(), &srv.hash, &["echo", "hi"]);
    assert!(o.status.success(), "{o:?}");
}

/// A server that answers the key's request with `reply` (raw bytes, the
/// frame header included) and closes; the request it read is checked.
fn hostile(reply: Vec<u8>) -> String {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap().to_string();
    std::thread::spawn(move || {
        let (mut s, _) = l.accept().unwrap();
        let mut hdr = [0u8; 4];
        s.read_exact(&mut hdr).unwrap();
        let mut req = vec![0u8; u32::from_be_bytes(hdr) as usize];
        s.read_exact(&mut req).unwrap();
        assert_eq!(req, b"TFDHOSTKEY");
        let _ = s.write_all(&reply);
    });
    addr
}

fn frame(payload: &[u8]) -> Vec<u8> {
    [&(payload.len() as u32).to_be_bytes()[..], payload].concat()
}

#[test]
fn a_hostile_answer_to_the_key_request_is_refused_in_a_sentence() {
    let home = config_home("known-hostile");
    let evil = b"\x1b]0;pwned\x07\x1b[2K";
    let not_rsa = {
        let mut b = Vec::new();
        tfp_wire::keylogin::blob::put_string(&mut b, b"ssh-ed25519");
        tfp_wire::keylogin::blob::put_string(&mut b, &[7u8; 32]);
        tfp_wire::hostkey::reply(&b)
    };
    let cases: [(Vec<u8>, &str); 5] = [
        // a length far over the bound: refused before reading the body
        (0x7fff_0000u32.to_be_bytes().to_vec(), "breaks the framing"),
        (frame(&[b"OK ".as_slice(), evil].concat()), "malformed"),
        (frame(&not_rsa), "ssh-ed25519"),
        (
            frame(&[b"FAILED 2 : ".as_slice(), evil].concat()),
            "does not send its public key",
        ),
        (
            frame(&[b"OK ".as_slice(), &[b'A'; 9000]].concat()),
            "breaks the framing",
        ),
    ];
    for (reply, says) in cases {
        let addr = hostile(reply);
        let o = tf_nokey(&home, &addr, "h", &["--accept-new", "echo", "hi"]);
        assert!(!o.status.success(), "{o:?}");
        let err = stderr(&o);
        assert!(err.contains(says), "{says}: {err}");
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(!err.bytes().any(|b| b == 0x1b || b == 0x07), "{err:?}");
        assert!(!known(&home).exists());
    }
}

#[test]
fn accept_new_in_a_named_servers_section_pins_as_the_option_does() {
    let srv = Server::start();
    let home = config_home("known-config");
    std::fs::create_dir_all(home.join("tf")).unwrap();
    let conf = home.join("tf/config");
    let section = |v: &str| format!("[s]\nserver = {}\nhash = {}\naccept_new = {v}\n", srv.addr(), srv.hash);
    std::fs::write(&conf, section("maybe")).unwrap();
    let run = || {
        Command::new(tf_bin())
            .env("XDG_CONFIG_HOME", &home)
            .args(["-s", "s", "echo", "hi"])
            .stdin(Stdio::null())
            .output()
            .unwrap()
    };
    let o = run();
    assert!(
        !o.status.success() && stderr(&o).contains("accept_new takes yes or no"),
        "{o:?}"
    );
    std::fs::write(&conf, section("no")).unwrap();
    let o = run();
    assert!(!o.status.success() && stderr(&o).contains("--accept-new"), "{o:?}");
    std::fs::write(&conf, section("yes")).unwrap();
    let o = run();
    assert!(o.status.success(), "{o:?}");
    assert!(known(&home).exists());
}

/// `tf --server … --hash … echo hi` without `--key` under a pseudo-terminal
/// (script(1)), answering `answer` to the question: its exit and transcript.
fn at_a_terminal(srv: &Server, home: &Path, answer: &str) -> (bool, String) {
    let line = format!("{} --server {} --hash {} echo hi", tf_bin(), srv.addr(), srv.hash);
    let mut child = Command::new("script")
        .args(["-qfec", &line, "/dev/null"])
        .env("XDG_CONFIG_HOME", home)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("script(1) (util-linux) is needed");
    let mut out = child.stdout.take().unwrap();
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let sink = seen.clone();
    let reader = std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        while let Ok(n) = out.read(&mut buf) {
            if n == 0 {
                break;
            }
            sink.lock().unwrap().extend_from_slice(&buf[..n]);
        }
    });
    let text = || String::from_utf8_lossy(&seen.lock().unwrap()).into_owned();
    let deadline = Instant::now() + Duration::from_secs(20);
    while !text().contains("(yes/no)? ") {
        assert!(Instant::now() < deadline, "no question in: {}", text());
        std::thread::sleep(Duration::from_millis(20));
    }
    let mut input = child.stdin.take().unwrap();
    input.write_all(format!("{answer}\n").as_bytes()).unwrap();
    let status = child.wait().unwrap();
    reader.join().unwrap();
    (status.success(), text())
}

#[test]
fn at_a_terminal_the_fingerprint_is_shown_and_asked_about_once() {
    let srv = Server::start();
    let home = config_home("known-tty");
    let fp = tfd_fingerprint(&srv);
    let (ok, said) = at_a_terminal(&srv, &home, "no");
    assert!(!ok, "{said}");
    assert!(said.contains(&format!("its key fingerprint is {fp}")), "{said}");
    assert!(said.contains("nothing was pinned"), "{said}");
    assert!(!known(&home).exists());
    let (ok, said) = at_a_terminal(&srv, &home, "yes");
    assert!(ok, "{said}");
    assert_eq!(said.matches("(yes/no)? ").count(), 1, "{said}");
    assert!(said.contains("hi"), "{said}");
    assert!(known(&home).exists());
}
