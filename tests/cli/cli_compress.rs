//! `tf put -z`, `--compress[=LEVEL]` and `--no-compress` on a staged upload
//! (doc/compatibility.md "Compression", issue 62): the file lands whole and
//! verified, compressed on the wire when asked, as it is when refused, and
//! as today against `compression no`; `put -r` and `mirror -R` forced to
//! compress their batches land every file byte for byte.

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

/// A local tree of `n` small text files and one of random bytes.
fn tree(n: usize) -> std::path::PathBuf {
    let d = tempdir("cli-compress-tree").join("src");
    fs::create_dir_all(d.join("sub")).unwrap();
    for i in 0..n {
        fs::write(d.join("sub").join(format!("f{i}.txt")), text(3000 + i * 11)).unwrap();
    }
    fs::write(d.join("noise.bin"), pattern(200_000, 5)).unwrap();
    d
}

/// `tf ARGS…` succeeded.
fn ok(srv: &Server, args: &[&str]) {
    let o = srv.tf(args);
    assert!(
        o.status.success(),
        "{args:?}: {}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
}

#[test]
fn put_r_and_mirror_r_send_compressed_batches_when_forced() {
    let srv = Server::start();
    let src = tree(120);
    let s = src.to_str().unwrap();
    ok(&srv, &["put", "-r", "-z", s, "up"]);
    same_tree(&src, &srv.path("up"));
    let batches = srv.log().matches("zstd blocks").count();
    assert!(batches > 0, "{}", srv.log());
    ok(&srv, &["mirror", "-R", "--compress=5", s, "m"]);
    same_tree(&src, &srv.path("m"));
    let more = srv.log().matches("zstd blocks").count();
    assert!(more > batches, "{}", srv.log());
    // measured on loopback, or refused: the batches go as they are
    ok(&srv, &["put", "-r", s, "auto"]);
    ok(&srv, &["mirror", "-R", "--no-compress", s, "m2"]);
    same_tree(&src, &srv.path("m2"));
    assert_eq!(srv.log().matches("zstd blocks").count(), more, "{}", srv.log());
    let o = srv.tf(&["mirror", "-R", "-z", "--no-compress", s, "m3"]);
    assert!(String::from_utf8_lossy(&o.stderr).contains("exclude each other"));
}
