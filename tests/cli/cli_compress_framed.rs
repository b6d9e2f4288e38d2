//! Framed batch uploads (`TFDPUTMANY <n> z f`, doc/compatibility.md
//! "Compression", issue 62): a tree of many small compressible files goes
//! up as one zstd stream, headers and trailers included, and costs a small
//! fraction of its size on the wire, less than today's `z` batch whose
//! headers and trailers cross raw; a server with `compression_framed no`
//! (as one from before the extension) gets today's `z` batch and tf says
//! nothing new; a tf killed midway leaves every file old or new.

use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use tfd_testkit::*;

/// A local tree of `n` small source-like files, modes and mtimes of their
/// own; its bytes.
fn source_tree(n: usize) -> (PathBuf, u64) {
    let d = tempdir("cli-zframed").join("src");
    let mut total = 0;
    for i in 0..n {
        let dir = d.join(format!("pkg{}", i % 20));
        fs::create_dir_all(&dir).unwrap();
        let mut text = format!("\"\"\"Module {i}.\"\"\"\nimport os\nimport sys\n\n");
        for j in 0..(8 + i % 13) {
            text.push_str(&format!(
                "def handler_{j}(request, value={i}):\n    \"\"\"Handle {j}.\"\"\"\n    return request.get('k{j}', value) + {}\n\n",
                (i * 31 + j) % 97
            ));
        }
        let p = dir.join(format!("mod_{i}.py"));
        fs::write(&p, &text).unwrap();
        total += text.len() as u64;
        let mode = if i % 5 == 0 { 0o755 } else { 0o640 };
        fs::set_permissions(&p, fs::Permissions::from_mode(mode)).unwrap();
        let t = std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_600_000_000 + i as u64 * 61);
        fs::File::options()
            .write(true)
            .open(&p)
            .unwrap()
            .set_modified(t)
            .unwrap();
    }
    (d, total)
}

/// Every file below `src` is the same below `dst`: bytes, mode, mtime.
pub(crate) fn same_with_attrs(src: &Path, dst: &Path) -> usize {
    let mut n = 0;
    for e in fs::read_dir(src).unwrap().flatten() {
        let there = dst.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            n += same_with_attrs(&e.path(), &there);
            continue;
        }
        let (a, b) = (e.metadata().unwrap(), fs::metadata(&there).unwrap());
        assert!(
            fs::read(e.path()).unwrap() == fs::read(&there).unwrap(),
            "{there:?} differs"
        );
        assert_eq!(a.mode() & 0o777, b.mode() & 0o777, "{there:?} mode");
        assert_eq!(a.mtime(), b.mtime(), "{there:?} mtime");
        n += 1;
    }
    n
}

/// The bytes every session of the server received so far, as its log's
/// `session end` lines say.
fn bytes_in(srv: &Server) -> u64 {
    srv.log()
        .lines()
        .filter_map(|l| l.split(" bytes_in=").nth(1))
        .filter_map(|rest| rest.split(' ').next()?.parse::<u64>().ok())
        .sum()
}

/// `tf ARGS…` succeeded; the bytes its sessions sent the server.
fn up(srv: &Server, args: &[&str]) -> u64 {
    let before = bytes_in(srv);
    let o = srv.tf(args);
    assert!(
        o.status.success(),
        "{args:?}: {}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(o.stderr.is_empty(), "{args:?}: {}", String::from_utf8_lossy(&o.stderr));
    // the sessions' end lines are written as they close
    std::thread::sleep(std::time::Duration::from_millis(300));
    bytes_in(srv) - before
}

#[test]
fn a_tree_of_small_files_goes_up_as_one_stream_for_a_fraction_of_its_bytes() {
    let srv = Server::start();
    let old = Server::start_with("compression_framed no\n");
    let (src, size) = source_tree(1200);
    let s = src.to_str().unwrap();
    let plain = up(
        &srv,
        &[
            "put",
            "-r",
            "-p",
            "--jobs",
            "1",
            "--no-compress",
            &format!("{s}/"),
            "plain",
        ],
    );
    let framed = up(
        &srv,
        &["put", "-r", "-p", "--jobs", "1", "-z", &format!("{s}/"), "framed"],
    );
    assert!(srv.log().contains("zstd frames"), "{}", srv.log());
    // the same tree to a server that takes no framed batch: today's z batch
    let blocks = up(
        &old,
        &["put", "-r", "-p", "--jobs", "1", "-z", &format!("{s}/"), "blocks"],
    );
    assert!(old.log().contains("zstd blocks") && !old.log().contains("zstd frames"));
    for (server, dir) in [(&srv, "plain"), (&srv, "framed"), (&old, "blocks")] {
        assert_eq!(same_with_attrs(&src, &server.path(dir)), 1200, "{dir}");
    }
    eprintln!("tree {size} bytes: plain {plain}, z batch {blocks}, framed {framed} on the wire");
    assert!(plain > size, "plain {plain} of {size}");
    assert!(framed * 4 <= size, "framed {framed} of {size}");
    // measured 160,949 against 308,445 for 1,200 files (1.69 MB; zstd -3 of
    // their tar is 119,140): what is left is mostly each file's SHA-256
    assert!(framed * 3 < blocks * 2, "framed {framed}, z batch {blocks}");
}

#[test]
fn mirror_r_and_auto_take_framed_batches_where_they_go() {
    let srv = Server::start();
    let (src, _) = source_tree(1000);
    let s = src.to_str().unwrap();
    let before = srv.log().matches("zstd frames").count();
    up(&srv, &["mirror", "-R", "--compress=5", s, "m"]);
    assert_eq!(same_with_attrs(&src, &srv.path("m")), 1000);
    assert!(srv.log().matches("zstd frames").count() > before, "{}", srv.log());
    // auto on loopback measures the link as fast: the batch goes as it is
    let seen = srv.log().matches("zstd frames").count();
    up(&srv, &["put", "-r", "-p", &format!("{s}/"), "auto"]);
    up(&srv, &["mirror", "-R", "--no-compress", s, "m2"]);
    assert_eq!(same_with_attrs(&src, &srv.path("auto")), 1000);
    assert_eq!(same_with_attrs(&src, &srv.path("m2")), 1000);
    assert_eq!(srv.log().matches("zstd frames").count(), seen, "{}", srv.log());
}
