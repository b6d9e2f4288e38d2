//! TFDHMAC (doc/compatibility.md "Backups with history"): the server hashes
//! each named file with the client's key (HMAC-SHA256, or SHA-256 for `-`),
//! answers one word a path in order, names with its FAILED code each file
//! it cannot hash (missing, a directory, a FIFO, a symlink, a path through
//! a symlinked directory or out of the root: never the bytes behind), keeps
//! its reads within a budget (files past it answered `.`), and answers a
//! malformed command FAILED 16 with the session going on.

use std::fs;
use std::os::unix::fs::symlink;
use tfd_testkit::*;
use tfp_wire::prove::{self, Answer, Hasher, Key, Request};
use tfp_wire::Status;

fn ask(c: &mut tfp_client::Client, key: Key, paths: &[&[u8]]) -> Vec<Answer> {
    let r = Request {
        key,
        paths: paths.iter().map(|p| p.to_vec()).collect(),
    };
    match c.command(&r.line().unwrap()).unwrap() {
        Status::Ok(text) => prove::parse_answers(&text, paths.len()).expect("one answer a path"),
        other => panic!("TFDHMAC: {other:?}"),
    }
}

fn sum(key: Key, data: &[u8]) -> Answer {
    let mut h = Hasher::new(&key).unwrap();
    h.update(data).unwrap();
    Answer::Sum(h.finish().unwrap())
}

#[test]
fn each_file_is_hashed_with_the_key_and_what_cannot_be_is_named() {
    let srv = Server::start();
    let mut c = srv.client();
    let data = pattern(700_000, 5);
    fs::create_dir_all(srv.path("d/sub")).unwrap();
    fs::write(srv.path("d/sub/f x"), &data).unwrap();
    fs::write(srv.path("e"), b"").unwrap();
    nix::unistd::mkfifo(&srv.path("fifo"), nix::sys::stat::Mode::from_bits_truncate(0o644)).unwrap();
    let outside = tempdir("protocol_prove_outside");
    fs::write(outside.join("secret"), b"secret").unwrap();
    symlink(&outside, srv.path("out")).unwrap();
    symlink("/etc", srv.path("etc")).unwrap();
    symlink("d/sub/f x", srv.path("lnk")).unwrap();
    let k = Key::Hmac([0x5a; 32]);
    let got = ask(
        &mut c,
        k,
        &[
            b"d/sub/f x",
            b"/e",
            b"missing",
            b"d",
            b"fifo",
            b"lnk",
            b"out/secret",
            b"etc/passwd",
            b"../../../../etc/passwd",
            b"d/sub/f x",
        ],
    );
    assert_eq!(got[0], sum(k, &data));
    assert_eq!(got[1], sum(k, b""));
    assert_eq!(got[2], Answer::Failed(17));
    assert_eq!(got[3], Answer::Failed(23));
    assert_eq!(got[4], Answer::Failed(23));
    for (i, a) in got.iter().enumerate().skip(5).take(4) {
        assert!(matches!(a, Answer::Failed(_)), "path {i} answered {a:?}");
    }
    assert_eq!(got[9], got[0]);
    // another key, another answer; `-` the plain SHA-256
    let k2 = Key::Hmac([0x5b; 32]);
    assert_eq!(ask(&mut c, k2, &[b"d/sub/f x"]), [sum(k2, &data)]);
    assert_ne!(sum(k2, &data), sum(k, &data));
    assert_eq!(ask(&mut c, Key::Plain, &[b"d/sub/f x"]), [sum(Key::Plain, &data)]);
    let _ = fs::remove_dir_all(&outside);
}

#[test]
fn a_malformed_command_is_failed_16_and_the_session_goes_on() {
    let srv = Server::start();
    let mut c = srv.client();
    fs::write(srv.path("f"), b"f").unwrap();
    let many = format!("TFDHMAC -{}", " 66".repeat(prove::MAX_PATHS + 1));
    let long = format!("TFDHMAC - {}", "66".repeat(prove::MAX_PATH + 1));
    let short_key = format!("TFDHMAC {} 66", "ab".repeat(16));
    for bad in [
        &b"TFDHMAC"[..],
        b"TFDHMAC -",
        b"TFDHMAC - zz",
        b"TFDHMAC - 6",
        b"TFDHMAC - 6600",
        b"TFDHMAC -  66",
        b"TFDHMAC x 66",
        short_key.as_bytes(),
        many.as_bytes(),
        long.as_bytes(),
    ] {
        match c.command(bad).unwrap() {
            Status::Failed(16, _) => {}
            other => panic!("{:?}: {other:?}", String::from_utf8_lossy(&bad[..bad.len().min(60)])),
        }
    }
    assert_eq!(ask(&mut c, Key::Plain, &[b"f"]), [sum(Key::Plain, b"f")]);
    let st = c.call("ECHO", b"still here").unwrap();
    assert!(matches!(st, Status::Ok(_) | Status::Other(_)), "{st:?}");
}

#[test]
fn reads_past_the_budget_are_left_for_later() {
    let srv = Server::start();
    let mut c = srv.client();
    // sparse: 600 MiB to read, nothing on the disk
    let big = prove::BUDGET * 3 / 4;
    for n in ["a", "b", "c"] {
        fs::File::create(srv.path(n)).unwrap().set_len(big).unwrap();
    }
    let got = ask(&mut c, Key::Plain, &[b"a", b"b", b"c"]);
    let zeros = |n: u64| {
        let mut h = Hasher::new(&Key::Plain).unwrap();
        let block = vec![0u8; 1 << 20];
        for _ in 0..n >> 20 {
            h.update(&block).unwrap();
        }
        Answer::Sum(h.finish().unwrap())
    };
    let z = zeros(big);
    // the first two are started within the budget, the third is not
    assert_eq!(got, [z, z, Answer::Later]);
    assert_eq!(ask(&mut c, Key::Plain, &[b"c"]), [z]);
}
