//! Framed batch downloads (`TFDGETMANY … z f`, doc/compatibility.md
//! "Compression", issue 62): `get -r -z` of a tree of small files comes down
//! as one zstd stream, replies and trailers included, every file byte for
//! byte with its mode and mtime; a server with `compression_framed no` (as
//! one from before) sends today's `z` batch; a lying server's framed stream
//! (a frame decoding beyond what it announces, a record longer than allowed)
//! fails the transfer with one sentence, nothing landing, no temporary left.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::time::Duration;
use tfd_testkit::liar::{run_watched, Liar, Script, MTIME};
use tfd_testkit::*;

use crate::cli_compress_framed::same_with_attrs;
use crate::cli_compress_get::{files_below, ok};

/// A tree of `n` small source-like files on the server below `tree/`, modes
/// and mtimes of their own.
fn server_tree(srv: &Server, n: usize) {
    for i in 0..n {
        let p = srv.path(&format!("tree/pkg{}/mod_{i}.py", i % 7));
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        let mut text = format!("\"\"\"Module {i}.\"\"\"\nimport os\n\n");
        for j in 0..(8 + i % 13) {
            text.push_str(&format!(
                "def handler_{j}(request, value={i}):\n    return request.get('k{j}', value) + {}\n\n",
                (i * 31 + j) % 97
            ));
        }
        fs::write(&p, &text).unwrap();
        let mode = if i % 5 == 0 { 0o755 } else { 0o640 };
        fs::set_permissions(&p, fs::Permissions::from_mode(mode)).unwrap();
        let t = std::time::UNIX_EPOCH + Duration::from_secs(1_600_000_000 + i as u64 * 61);
        fs::File::options()
            .write(true)
            .open(&p)
            .unwrap()
            .set_modified(t)
            .unwrap();
    }
}

/// The log's framed download batches.
fn framed(srv: &Server) -> usize {
    srv.settled_log()
        .lines()
        .filter(|l| l.contains("TFDGETMANY sent") && l.contains("framed") && l.contains("zstd frames"))
        .count()
}

#[test]
fn get_r_z_of_a_small_file_tree_comes_down_as_one_stream() {
    let srv = Server::start();
    server_tree(&srv, 400);
    let d = tempdir("cli-zget-framed");
    let to = d.join("a");
    ok(
        &srv.tf(&["get", "-r", "-p", "-z", "--jobs", "2", "tree/", to.to_str().unwrap()]),
        "get -r -p -z",
    );
    assert_eq!(same_with_attrs(&srv.path("tree"), &to), 400);
    assert!(framed(&srv) > 0, "{}", srv.log());
    // the stream carried headers and trailers too: far less on the wire
    let line = srv
        .settled_log()
        .lines()
        .rev()
        .find(|l| l.contains("framed"))
        .unwrap()
        .to_string();
    let wire: u64 = line
        .split(" on the wire")
        .next()
        .unwrap()
        .rsplit('(')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    let size: u64 = walk_size(&srv.path("tree"));
    assert!(wire * 3 < size, "{wire} on the wire for {size}: {line}");
    // a server with compression_framed no: today's z batch, the same tree
    let old = Server::start_with("compression_framed no\n");
    server_tree(&old, 50);
    let to = d.join("b");
    ok(
        &old.tf(&["get", "-r", "-p", "-z", "tree/", to.to_str().unwrap()]),
        "get -r -z, framed off",
    );
    assert_eq!(same_with_attrs(&old.path("tree"), &to), 50);
    assert_eq!(framed(&old), 0, "{}", old.log());
    assert!(old.settled_log().contains("compressed into"), "{}", old.log());
}

/// The bytes of the files below `d`.
fn walk_size(d: &Path) -> u64 {
    fs::read_dir(d)
        .unwrap()
        .flatten()
        .map(|e| match e.file_type().unwrap().is_dir() {
            true => walk_size(&e.path()),
            false => e.metadata().unwrap().len(),
        })
        .sum()
}

/// A framed stream's frame holding `block` (a [`tfp_wire::compress`] block).
fn frame(block: &[u8]) -> Vec<u8> {
    [&((block.len() - 5) as u32).to_be_bytes()[..], block].concat()
}

/// Records as one raw frame of the stream.
fn raw_frame(records: &[&[u8]]) -> Vec<u8> {
    let mut data = Vec::new();
    for r in records {
        data.extend_from_slice(&(r.len() as u32).to_be_bytes());
        data.extend_from_slice(r);
    }
    let head = tfp_wire::compress::header(tfp_wire::compress::Kind::Raw, data.len());
    frame(&[&head[..], &data].concat())
}

#[test]
fn a_lying_servers_framed_stream_fails_the_transfer_and_nothing_lands() {
    let zeros = vec![0u8; 400 << 10];
    let head = format!("F {} 644 {MTIME}", 1 << 20).into_bytes();
    let cases: Vec<(&str, Vec<Vec<u8>>, &str)> = vec![
        // the header and a first megabyte's start honestly, then 400 KiB of
        // zeros announced as 1 KiB
        (
            "bomb",
            vec![raw_frame(&[&head, &[b'x'; 1000]]), frame(&lying_block(&zeros, 1024))],
            "refused",
        ),
        // a frame whose length lies about its payload
        (
            "length",
            vec![raw_frame(&[&head, &[b'x'; 1000]]), {
                let mut f = raw_frame(&[&[b'y'; 500]]);
                f[3] ^= 1;
                f
            }],
            "does not parse",
        ),
        // a record longer than any frame may be
        (
            "record",
            vec![frame(
                &[
                    &tfp_wire::compress::header(tfp_wire::compress::Kind::Raw, 4)[..],
                    &u32::MAX.to_be_bytes(),
                ]
                .concat(),
            )],
            "record",
        ),
    ];
    for (what, frames, says) in cases {
        let script = Script::new()
            .file("t/a.log", vec![b'x'; 1 << 20])
            .answer("TFDZSTD", "OK 9 21")
            .getmany_framed(frames);
        let liar = Liar::start(script);
        let dest = tempdir("cli-zget-framed-liar");
        let cmd = liar.tf_command(&["get", "-r", "-z", "--jobs", "1", "t", dest.to_str().unwrap()]);
        let (o, rss) = run_watched(cmd, Duration::from_secs(60), 1 << 30);
        let said = String::from_utf8_lossy(&o.stderr);
        assert!(!o.status.success(), "{what}: {said}");
        assert!(
            said.contains("compressed stream") && said.contains(says),
            "{what}: {said}"
        );
        assert_eq!(
            said.lines().filter(|l| l.contains("compressed stream")).count(),
            1,
            "{what}: {said}"
        );
        // nothing landed, no partial or temporary left
        assert_eq!(files_below(&dest), Vec::<String>::new(), "{what}: {said}");
        assert!(rss < 64 << 20, "{what}: {rss} bytes of RSS");
        let asked = liar.requests();
        assert!(
            asked
                .iter()
                .any(|r| r.starts_with(b"TFDGETMANY 1 ") && r.ends_with(b" z=yes f")),
            "{what}: {:?}",
            asked.iter().map(|r| String::from_utf8_lossy(r)).collect::<Vec<_>>()
        );
    }
}
