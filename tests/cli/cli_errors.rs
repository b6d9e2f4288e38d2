//! `tf` at the first mistake: every error path a newcomer hits says what went
//! wrong and what to try, in plain words, through the real binary against a
//! real server (or a port where nothing, or something mute, listens). The
//! protocol's FAILED line stays first: scripts depend on it.

use crate::output::stderr;

use std::fs;
use std::process::{Command, Output};
use tfd_testkit::*;

/// `tf` with explicit connection options (none from the environment).
fn tf_raw(args: &[&str]) -> Output {
    Command::new(tfd_testkit::tf_bin())
        .env_remove("TF_SERVER")
        .env_remove("TF_KEY")
        .env_remove("TF_HASH")
        .env_remove("TF_PROTO")
        .args(args)
        .output()
        .unwrap()
}

fn pubkey(srv: &Server) -> String {
    let key = srv.dir.join("pub.pem");
    fs::write(&key, &keys().1).unwrap();
    key.display().to_string()
}

fn assert_says(o: &Output, code: i32, needles: &[&str]) {
    let err = stderr(o);
    assert_eq!(o.status.code(), Some(code), "{err}");
    for n in needles {
        assert!(err.contains(n), "stderr lacks {n:?}:\n{err}");
    }
}

#[test]
fn put_and_sndfile_into_a_missing_directory_name_it() {
    let srv = Server::start();
    let local = srv.dir.join("small.txt");
    fs::write(&local, b"hello\n").unwrap();
    let l = local.to_str().unwrap();
    // put replaces a file whole through SNDFILE; with --offset it writes in place with PUT
    for (cmd, code) in [
        (&["put"][..], "FAILED 7"),
        (&["put", "--offset", "0"][..], "FAILED 34"),
        (&["sndfile"][..], "FAILED 7"),
        (&["sup"][..], "FAILED -1"),
    ] {
        let o = srv.tf(&[&[cmd[0], l, "isos/small.txt"][..], &cmd[1..]].concat());
        assert_says(
            &o,
            2,
            &[
                code,
                "tf: isos/small.txt: no such directory on the server: isos",
                "hint: create it first (tf ... mkdir isos), or add --parents",
            ],
        );
    }
    assert!(!srv.path("isos").exists());
    // a file where the directory should be
    fs::write(srv.path("plain"), b"x").unwrap();
    let o = srv.tf(&["put", l, "plain/small.txt"]);
    assert_says(
        &o,
        2,
        &["tf: plain/small.txt: plain is a file on the server, not a directory"],
    );
}

#[test]
fn parents_creates_the_missing_directories() {
    let srv = Server::start();
    let local = srv.dir.join("small.txt");
    fs::write(&local, b"hello\n").unwrap();
    let l = local.to_str().unwrap();
    fs::create_dir(srv.path("a")).unwrap();
    for (cmd, dst) in [("put", "a/b/c/p.txt"), ("sndfile", "s/t/s.txt"), ("sup", "u/u.txt")] {
        let o = srv.tf(&[cmd, l, dst, "--parents"]);
        assert!(o.status.success(), "{cmd}: {}", stderr(&o));
        assert_eq!(fs::read(srv.path(dst)).unwrap(), b"hello\n", "{cmd}");
    }
    let o = srv.tf(&["get", "a/b/c/p.txt", l, "--parents"]);
    assert_says(&o, 1, &["--parents is for uploads"]);
}

#[test]
fn missing_files_are_named_whatever_the_code() {
    let srv = Server::start();
    let out = srv.dir.join("out.bin");
    let o = out.to_str().unwrap();
    // get asks FSTAT first (the size it keeps), which answers FAILED 9 for a
    // missing file: tf asks the server and says so
    let r = srv.tf(&["get", "nope.bin", o]);
    assert_says(
        &r,
        2,
        &["FAILED 9", "tf: nope.bin: no such file or directory on the server"],
    );
    for cmd in ["rcvfile", "sdown"] {
        let r = srv.tf(&[cmd, "nope.bin", o]);
        assert_says(&r, 2, &["tf: nope.bin: no such file or directory on the server"]);
    }
    let r = srv.tf(&["copy", "nope.bin", "x.bin"]);
    assert_says(
        &r,
        2,
        &["FAILED 17", "tf: nope.bin: no such file or directory on the server"],
    );
    let r = srv.tf(&["mkdir", "a/b"]);
    assert_says(
        &r,
        2,
        &[
            "tf: a/b: no such directory on the server: a",
            "hint: create it first (tf ... mkdir a)",
        ],
    );
    // an existing file is not reported missing
    fs::write(srv.path("here.txt"), b"x").unwrap();
    fs::write(&out, b"y").unwrap();
    let r = srv.tf(&["sndfile", o, "here.txt"]);
    assert_says(
        &r,
        2,
        &["FAILED 12", "tf: here.txt: the file already exists", "--overwrite"],
    );
}

#[test]
fn wrong_key_hash_and_version_say_which() {
    let srv = Server::start();
    let key = pubkey(&srv);
    let addr = srv.addr();
    let o = tf_raw(&["--server", &addr, "--key", &key, "--hash", "not-the-hash", "ls"]);
    assert_says(
        &o,
        1,
        &[
            &format!("tf: {addr} refused the application hash"),
            "hint: check --hash",
        ],
    );
    let o = tf_raw(&[
        "--server", &addr, "--key", &key, "--hash", &srv.hash, "--proto", "9.9", "ls",
    ]);
    assert_says(
        &o,
        1,
        &[
            &format!("tf: {addr} does not speak protocol version \"9.9\""),
            "hint: check --proto",
        ],
    );
    // another server's public key
    let other = openssl::rsa::Rsa::generate(2048).unwrap();
    let other_pub = srv.dir.join("other.pem");
    fs::write(&other_pub, other.public_key_to_pem().unwrap()).unwrap();
    let o = tf_raw(&[
        "--server",
        &addr,
        "--key",
        other_pub.to_str().unwrap(),
        "--hash",
        &srv.hash,
        "ls",
    ]);
    assert_says(
        &o,
        1,
        &[
            "wrong key for this server",
            "hint: --key must be this server's public key",
        ],
    );
    assert!(!stderr(&o).contains("Failed("), "no debug formatting: {}", stderr(&o));
}

#[test]
fn key_files_are_checked_for_what_they_are() {
    let srv = Server::start();
    let addr = srv.addr();
    let private = srv.dir.join("key.pem");
    write_private_key(&private);
    let o = tf_raw(&[
        "--server",
        &addr,
        "--key",
        private.to_str().unwrap(),
        "--hash",
        &srv.hash,
        "ls",
    ]);
    assert_says(&o, 1, &["is a private key", "give the server's public key"]);
    let junk = srv.dir.join("junk.txt");
    fs::write(&junk, b"not a key at all\n").unwrap();
    let o = tf_raw(&[
        "--server",
        &addr,
        "--key",
        junk.to_str().unwrap(),
        "--hash",
        &srv.hash,
        "ls",
    ]);
    assert_says(&o, 1, &["is not a PEM key file"]);
    assert!(!stderr(&o).contains("PEM routines"), "{}", stderr(&o));
    let small = openssl::rsa::Rsa::generate(1024).unwrap();
    let small_pub = srv.dir.join("small.pem");
    fs::write(&small_pub, small.public_key_to_pem().unwrap()).unwrap();
    let o = tf_raw(&[
        "--server",
        &addr,
        "--key",
        small_pub.to_str().unwrap(),
        "--hash",
        &srv.hash,
        "ls",
    ]);
    assert_says(&o, 1, &["is a 1024-bit RSA key", "RSA-2048"]);
    let o = tf_raw(&["--server", &addr, "--key", "/nonexistent/pub.pem", "--hash", "h", "ls"]);
    assert_says(&o, 1, &["--key /nonexistent/pub.pem: No such file"]);
}

#[test]
fn dead_port_mute_peer_and_missing_port() {
    let key = tempdir("cli_errors_key").join("pub.pem");
    fs::write(&key, &keys().1).unwrap();
    let k = key.to_str().unwrap();
    // nothing listens
    let port = free_port();
    let addr = format!("127.0.0.1:{port}");
    let o = tf_raw(&["--server", &addr, "--key", k, "--hash", "h", "ls"]);
    assert_says(
        &o,
        1,
        &[
            &format!("cannot connect to {addr}: connection refused"),
            &format!("is tfd running on {addr}?"),
        ],
    );
    // something accepts but never answers
    let mute = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = mute.local_addr().unwrap().to_string();
    let t0 = std::time::Instant::now();
    let o = tf_raw(&["--timeout", "1", "--server", &addr, "--key", k, "--hash", "h", "ls"]);
    assert_says(&o, 1, &[&format!("tf: {addr} timed out after 1 s")]);
    assert!(t0.elapsed() < std::time::Duration::from_secs(10));
    assert!(!stderr(&o).contains("os error 11"), "{}", stderr(&o));
    // HOST without a port
    let o = tf_raw(&["--server", "127.0.0.1", "--key", k, "--hash", "h", "ls"]);
    assert_says(&o, 1, &["--server 127.0.0.1 has no port", "--server 127.0.0.1:10345"]);
    assert!(!stderr(&o).contains("invalid socket address"));
}

#[test]
fn options_after_the_command() {
    let o = tf_raw(&["ls", "--server", "127.0.0.1:10345", "--key", "pub.pem", "--hash", "h"]);
    assert_says(
        &o,
        1,
        &[
            "tf: --server came after the command \"ls\"",
            "hint: options come before the command",
        ],
    );
}

/// A local name that is not UTF-8 (a file name may be any bytes) is named,
/// escaped, in one sentence with exit status 1; on the old code tf panicked
/// in std::env::args before it looked at anything.
#[test]
fn an_argument_that_is_not_utf8_is_named_not_a_panic() {
    use std::os::unix::ffi::OsStrExt;
    let o = Command::new(tf_bin())
        .args(["--server", "127.0.0.1:1", "--key", "/dev/null", "--hash", "x", "put"])
        .arg(std::ffi::OsStr::from_bytes(b"a\xffb"))
        .arg("x")
        .output()
        .unwrap();
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(!err.contains("panicked"), "{err}");
    assert!(err.contains("argument 8 (a\\xffb) is not UTF-8"), "{err}");
}
