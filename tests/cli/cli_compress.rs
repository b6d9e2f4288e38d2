//! `tf put -z`, `--compress[=LEVEL]` and `--no-compress` on a staged upload
//! (doc/compatibility.md "Compression", issue 62): the file lands whole and
//! verified, compressed on the wire when asked, as it is when refused, and
//! as today against `compression no`.

use std::fs;
use tfd_testkit::*;

const MIB: usize = 1 << 20;

/// Text that compresses several times over.
fn text(len: usize) -> Vec<u8> {
    let mut v = Vec::with_capacity(len + 100);
    let mut i = 0u64;
    while v.len() < len {
        v.extend_from_slice(format!("{i} GET /a/{} HTTP/1.1 200 {}\n", i % 97, i * 13 % 5000).as_bytes());
        i += 1;
    }
    v.truncate(len);
    v
}

/// `tf put ARGS… local remote`: the upload succeeded and the file is `data`.
fn put(srv: &Server, args: &[&str], data: &[u8], remote: &str) {
    let local = tempdir("cli-compress").join("src");
    fs::write(&local, data).unwrap();
    let mut all = vec!["put"];
    all.extend_from_slice(args);
    all.extend_from_slice(&[local.to_str().unwrap(), remote]);
    let o = srv.tf(&all);
    assert!(
        o.status.success(),
        "{all:?}: {}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(
        fs::read(srv.path(remote)).unwrap() == data,
        "{remote}: the bytes differ"
    );
}

#[test]
fn put_compress_sends_blocks_and_no_compress_does_not() {
    let srv = Server::start();
    let data = text(3 * MIB);
    put(&srv, &["--streams", "2", "-z"], &data, "a.txt");
    assert!(srv.log().contains("zstd blocks"), "{}", srv.log());
    put(&srv, &["--resume", "--compress=7"], &data, "b.txt");
    put(&srv, &["--streams", "2", "--compress"], &pattern(2 * MIB, 3), "c.bin");
    let before = srv.log().matches("zstd blocks").count();
    put(&srv, &["--streams", "2", "--no-compress"], &data, "d.txt");
    assert_eq!(srv.log().matches("zstd blocks").count(), before, "{}", srv.log());
    let o = srv.tf(&["put", "-z", "--no-compress", "x", "y"]);
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("exclude each other"));
    let o = srv.tf(&["put", "--compress=20", "x", "y"]);
    assert!(String::from_utf8_lossy(&o.stderr).contains("--compress= needs a number 1..19"));
}

#[test]
fn compression_no_on_the_server_gets_todays_bytes() {
    let srv = Server::start_with("compression no\n");
    let data = text(2 * MIB);
    put(&srv, &["--streams", "2", "-z"], &data, "a.txt");
    assert!(!srv.log().contains("zstd blocks"), "{}", srv.log());
    assert!(srv.log().contains("TFDSTAGEPUT stored"), "{}", srv.log());
}
