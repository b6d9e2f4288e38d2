//! `tf put -z`, `--compress[=LEVEL]` and `--no-compress` on a staged upload
//! (doc/compatibility.md "Compression", issue 62): the file lands whole and
//! verified, compressed on the wire when asked, as it is when refused, and
//! as today against `compression no`; `put -r` and `mirror -R` forced to
//! compress their batches land every file byte for byte.

use std::fs;
use tfd_testkit::*;

const MIB: usize = 1 << 20;

/// Text that compresses several times over.
pub(crate) fn text(len: usize) -> Vec<u8> {
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
    assert!(zstd_sent(&srv.log()) > 0, "{}", srv.log());
    put(&srv, &["--resume", "--compress=7"], &data, "b.txt");
    put(&srv, &["--streams", "2", "--compress"], &pattern(2 * MIB, 3), "c.bin");
    let before = zstd_sent(&srv.log());
    put(&srv, &["--streams", "2", "--no-compress"], &data, "d.txt");
    assert_eq!(zstd_sent(&srv.log()), before, "{}", srv.log());
    let o = srv.tf(&["put", "-z", "--no-compress", "x", "y"]);
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("exclude each other"));
    let o = srv.tf(&["put", "--compress=20", "x", "y"]);
    assert!(String::from_utf8_lossy(&o.stderr).contains("--compress= needs a number 1..19"));
}

/// `put -z` of one file compresses whatever the link: on loopback too it
/// goes as zstd blocks (a batch of one), into a name and into a directory,
/// where before it went as SNDFILE, as it was.
#[test]
fn put_z_of_one_file_compresses_on_a_fast_link_too() {
    let srv = Server::start();
    let data = text(3 * MIB);
    fs::create_dir_all(srv.path("d")).unwrap();
    for (i, (args, remote, landed)) in [(&["-z"][..], "z.txt", "z.txt"), (&["--compress=5"][..], "d", "d/src")]
        .into_iter()
        .enumerate()
    {
        let before = zstd_sent(&srv.log());
        let local = tempdir("cli-compress-one").join("src");
        fs::write(&local, &data).unwrap();
        let mut all = vec!["put"];
        all.extend_from_slice(args);
        all.extend_from_slice(&[local.to_str().unwrap(), remote]);
        let o = srv.tf(&all);
        assert!(o.status.success(), "{all:?}: {}", String::from_utf8_lossy(&o.stderr));
        assert!(
            fs::read(srv.path(landed)).unwrap() == data,
            "{landed}: the bytes differ"
        );
        assert_eq!(
            zstd_sent(&srv.log()),
            before + 1,
            "{i}: {all:?} sent as it is: {}",
            srv.log()
        );
    }
}

#[test]
fn compression_no_on_the_server_gets_todays_bytes() {
    let srv = Server::start_with("compression no\n");
    let data = text(2 * MIB);
    put(&srv, &["--streams", "2", "-z"], &data, "a.txt");
    assert!(zstd_sent(&srv.log()) == 0, "{}", srv.log());
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
    // put -r of `src/`: its contents in `up`, as mirror -R's in `m`
    let contents = format!("{s}/");
    ok(&srv, &["put", "-r", "-z", &contents, "up"]);
    same_tree(&src, &srv.path("up"));
    let batches = zstd_sent(&srv.log());
    assert!(batches > 0, "{}", srv.log());
    ok(&srv, &["mirror", "-R", "--compress=5", s, "m"]);
    same_tree(&src, &srv.path("m"));
    let more = zstd_sent(&srv.log());
    assert!(more > batches, "{}", srv.log());
    // measured on loopback, or refused: the batches go as they are
    ok(&srv, &["put", "-r", &contents, "auto"]);
    ok(&srv, &["mirror", "-R", "--no-compress", s, "m2"]);
    same_tree(&src, &srv.path("m2"));
    assert_eq!(zstd_sent(&srv.log()), more, "{}", srv.log());
    let o = srv.tf(&["mirror", "-R", "-z", "--no-compress", s, "m3"]);
    assert!(String::from_utf8_lossy(&o.stderr).contains("exclude each other"));
}

/// SIGKILL of `tf put -r -z` in the middle of its compressed batches (each
/// file half text that shrinks, half noise that goes raw: both kinds of
/// block) leaves every remote file its old version or its new one byte for
/// byte and no temporary; the re-run lands every file.
#[test]
fn a_compressed_put_r_killed_midway_leaves_old_or_new_files() {
    use crate::interrupted::kill_midway;
    let srv = Server::start_with("rate_limit_session 4M\n");
    let here = tempdir("cli_compress_kill");
    let src = here.join("src");
    fs::create_dir_all(&src).unwrap();
    fs::create_dir_all(srv.path("dst/src")).unwrap();
    let mut olds = Vec::new();
    for i in 0..24u8 {
        let name = format!("f{i:02}.bin");
        let old = pattern(300_000, u64::from(i) + 1);
        fs::write(srv.path("dst/src").join(&name), &old).unwrap();
        let mut new = text(350_000);
        new.extend_from_slice(&pattern(350_000, 100 + u64::from(i)));
        fs::write(src.join(&name), new).unwrap();
        olds.push((name, old));
    }
    let s = src.to_str().unwrap();
    let child = srv
        .tf_command(&["put", "-r", "-z", "--jobs", "2", s, "dst"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    kill_midway(&srv, child, &srv.path("dst/src"), &src, &olds);
    ok(&srv, &["put", "-r", "-z", s, "dst"]);
    assert!(zstd_sent(&srv.log()) > 0, "{}", srv.log());
    for (n, _) in &olds {
        assert!(
            fs::read(srv.path("dst/src").join(n)).unwrap() == fs::read(src.join(n)).unwrap(),
            "{n}"
        );
    }
    let _ = fs::remove_dir_all(&here);
}

/// How many compressed transfers the server's log records: "zstd blocks"
/// (a staged upload, today's z batch) or "zstd frames" (a framed batch).
fn zstd_sent(log: &str) -> usize {
    log.matches("zstd blocks").count() + log.matches("zstd frames").count()
}
