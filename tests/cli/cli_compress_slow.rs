//! Compression by default over a slow link (issue 62's auto rule): a small
//! compressible tree, `put -r` with no flag over 100 Mbit/s and 10 ms (the
//! smoke bench's link, emulated by `shared/wan`), goes as one compressed
//! framed batch, since what zstd saves there beats the round trip of
//! asking; a tree of random bytes over the same link goes as it is (its
//! sample does not shrink), and so does the compressible one on loopback
//! (`cli_compress`).

use std::fs;
use std::path::PathBuf;
use tfd_testkit::wan::SlowLink;
use tfd_testkit::*;

use crate::cli_compress_get::ok;

/// A local tree of 40 files of Python-like text, 25,000 bytes each (1 MB,
/// under the megabyte the old rule waited for), each its own.
fn py_tree() -> PathBuf {
    let d = tempdir("cli-zslow").join("src");
    for i in 0..40 {
        let dir = d.join(format!("pkg{}", i % 4));
        fs::create_dir_all(&dir).unwrap();
        let mut text = format!("\"\"\"Module {i}.\"\"\"\nimport os\n\n");
        let mut j = 0;
        while text.len() < 25_000 {
            text.push_str(&format!(
                "def handler_{j}(request, value={i}):\n    return request.get('k{j}', value) + {}\n\n",
                (i * 31 + j) % 97
            ));
            j += 1;
        }
        text.truncate(25_000);
        fs::write(dir.join(format!("mod_{i}.py")), text).unwrap();
    }
    d
}

#[test]
fn a_small_compressible_tree_goes_compressed_by_default_over_a_slow_link() {
    let srv = Server::start();
    let Some(link) = SlowLink::to(&srv, 100, 10) else {
        return;
    };
    let src = py_tree();
    ok(
        &link.tf(&srv, &["put", "-r", &format!("{}/", src.display()), "up"]),
        "put -r",
    );
    same_tree(&src, &srv.path("up"));
    assert!(srv.log().contains("zstd frames"), "{}", srv.log());
    // random bytes do not shrink: the batch goes as it is
    let noise = tempdir("cli-zslow-noise").join("src");
    fs::create_dir_all(&noise).unwrap();
    for i in 0..8 {
        fs::write(noise.join(format!("n{i}.bin")), pattern(100_000, i)).unwrap();
    }
    let seen = srv.log().matches("zstd").count();
    ok(
        &link.tf(&srv, &["put", "-r", &format!("{}/", noise.display()), "noise"]),
        "put -r noise",
    );
    same_tree(&noise, &srv.path("noise"));
    assert_eq!(srv.log().matches("zstd").count(), seen, "{}", srv.log());
}

/// `mib` MiB of web-server log lines, each its own.
fn log_lines(mib: usize) -> Vec<u8> {
    let mut out = String::with_capacity((mib << 20) + 200);
    let mut i = 0u64;
    while out.len() < mib << 20 {
        out.push_str(&format!(
            "10.0.{}.{} - - [28/Nov/2026:10:{:02}:{:02} +0000] \"GET /api/v1/items?id={i} HTTP/1.1\" {} {}\n",
            i % 251,
            i % 7,
            (i / 60) % 60,
            i % 60,
            [200, 200, 304, 404][(i % 4) as usize],
            (i * 7919) % 50_000
        ));
        i += 1;
    }
    out.into_bytes()
}

#[test]
fn a_big_compressible_file_goes_compressed_by_default_over_a_slow_link() {
    // one file of 64 MiB over 100 Mbit/s and 50 ms, on a fresh session:
    // before the socket measured the link's rate, its slow start alone
    // made zstd look slower than the link, and the file crossed as it is
    let srv = Server::start();
    let Some(link) = SlowLink::to(&srv, 100, 50) else {
        return;
    };
    let d = tempdir("cli-zslow-big");
    let f = d.join("access.log");
    fs::write(&f, log_lines(64)).unwrap();
    ok(&link.tf(&srv, &["put", f.to_str().unwrap(), "access.log"]), "put");
    assert!(fs::read(srv.path("access.log")).unwrap() == fs::read(&f).unwrap());
    let line = srv
        .settled_log()
        .lines()
        .find(|l| l.contains("TFDPUTMANY stored 1 of 1 files"))
        .map(str::to_string)
        .unwrap_or_default();
    assert!(line.contains("zstd"), "{}", srv.log());
}
