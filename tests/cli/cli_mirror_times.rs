//! `tf mirror -R` keeps every file's mtime on the server, whatever its size
//! (issue 60: files of 32 MiB and more go through a stage, whose commit set
//! no mtime, so every run moved each of them again): a second run of a tree
//! with files on both sides of the stage's size moves nothing.

use crate::cli_mirror::counts;

use crate::output::{ok, text};
use std::fs;
use std::io::{Read, Write};
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::time::{Duration, UNIX_EPOCH};
use tfd_testkit::*;

/// A file of `size` bytes of a pattern that differs from block to block
/// and file to file (written, not sparse).
fn write_file(p: &Path, size: usize, seed: u64) {
    let mut f = fs::File::create(p).unwrap();
    let mut x = seed | 1;
    let mut buf = vec![0u8; 1 << 20];
    let mut left = size;
    while left > 0 {
        for w in buf.chunks_mut(8) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            w.copy_from_slice(&x.to_le_bytes()[..w.len()]);
        }
        let n = left.min(buf.len());
        f.write_all(&buf[..n]).unwrap();
        left -= n;
    }
}

/// Whether two files hold the same bytes.
fn same_bytes(a: &Path, b: &Path) -> bool {
    let (mut fa, mut fb) = (fs::File::open(a).unwrap(), fs::File::open(b).unwrap());
    let (mut ba, mut bb) = (vec![0u8; 1 << 20], vec![0u8; 1 << 20]);
    loop {
        let na = fa.read(&mut ba).unwrap();
        let mut nb = 0;
        while nb < na {
            match fb.read(&mut bb[nb..na]).unwrap() {
                0 => return false,
                n => nb += n,
            }
        }
        if ba[..na] != bb[..na] {
            return false;
        }
        if na == 0 {
            return fb.read(&mut bb).unwrap() == 0;
        }
    }
}

/// Sizes on both sides of the stage's (32 MiB).
const FILES: [(&str, usize); 4] = [
    ("small", 1 << 10),
    ("d/under", 31 << 20),
    ("d/over", 33 << 20),
    ("big", 300 << 20),
];

#[test]
fn a_second_mirror_of_big_files_moves_nothing_and_keeps_their_mtimes() {
    let srv = Server::start();
    let here = tempdir("cli_mirror_times");
    let src = here.join("src");
    fs::create_dir_all(src.join("d")).unwrap();
    for (i, (name, size)) in FILES.iter().enumerate() {
        let p = src.join(name);
        write_file(&p, *size, 0x9e37_79b9_7f4a_7c15 ^ i as u64);
        let f = fs::File::options().write(true).open(&p).unwrap();
        f.set_modified(UNIX_EPOCH + Duration::from_secs(1_600_000_000 + 1000 * i as u64))
            .unwrap();
    }
    let src_s = src.to_str().unwrap();
    let o = srv.tf(&["mirror", "-R", src_s, "up"]);
    ok(&o, "mirror -R");
    assert_eq!(counts(&o), (4, 0, 0, 0), "{}", text(&o));
    let remote = srv.path("up");
    let stamps = || -> Vec<(u64, i64, i64)> {
        FILES
            .iter()
            .map(|(name, _)| {
                let m = fs::metadata(remote.join(name)).unwrap();
                (m.ino(), m.mtime(), m.mtime_nsec())
            })
            .collect()
    };
    for (name, _) in FILES {
        let (l, r) = (
            fs::metadata(src.join(name)).unwrap(),
            fs::metadata(remote.join(name)).unwrap(),
        );
        assert!(
            same_bytes(&src.join(name), &remote.join(name)),
            "{name}: the server's bytes"
        );
        assert_eq!(
            (r.mtime(), r.mtime_nsec()),
            (l.mtime(), l.mtime_nsec()),
            "{name}: the server's mtime"
        );
    }
    let before = stamps();
    // nothing changed: nothing moves, no file is replaced
    let o = srv.tf(&["mirror", "-R", src_s, "up"]);
    ok(&o, "mirror -R again");
    assert_eq!(counts(&o), (0, 0, 4, 0), "{}", text(&o));
    assert_eq!(stamps(), before, "the server's files were replaced");
    let _ = fs::remove_dir_all(&here);
}
