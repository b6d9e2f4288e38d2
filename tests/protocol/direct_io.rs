//! Bulk transfers bypass the page cache (`direct_io_min`), checked through the
//! real wire with cachestat(2): uploads land on disk without filling the cache,
//! uncached files are downloaded without being pulled into it, and with
//! `direct_io_min 0` everything goes through the cache as before. Content is
//! compared byte for byte after the cache is measured (reading it back caches it).

use tfp_client::replies::{AsStatus as _, Split as _};

use sha2::{Digest, Sha256};
use std::fs::{self, File};
use std::os::fd::{AsFd, AsRawFd};
use std::path::Path;
use tfd_testkit::*;
use tfp_wire::Status;

/// Not a multiple of the alignment, so every transfer ends in a buffered tail.
const SIZE: usize = (24 << 20) + 12_345;

fn sha(b: &[u8]) -> Vec<u8> {
    Sha256::digest(b).to_vec()
}

/// The fraction of `path`'s pages in the page cache, or `None` where that cannot
/// be measured: no cachestat(2), or tmpfs (whose pages are the file).
fn cached_fraction(path: &Path) -> Option<f64> {
    let f = File::open(path).unwrap();
    let st = nix::sys::statfs::fstatfs(&f).unwrap();
    if st.filesystem_type() == nix::sys::statfs::TMPFS_MAGIC {
        return None;
    }
    let len = f.metadata().unwrap().len();
    let cached = tfd_sys::cached_pages(f.as_fd(), 0, len)?;
    Some(cached as f64 / len.div_ceil(4096) as f64)
}

/// Drops a file's pages from the cache (after writing them back).
fn evict(path: &Path) {
    let f = File::open(path).unwrap();
    f.sync_all().unwrap();
    nix::fcntl::posix_fadvise(f.as_raw_fd(), 0, 0, nix::fcntl::PosixFadviseAdvice::POSIX_FADV_DONTNEED).unwrap();
}

/// Direct I/O on: at most a quarter cached (the buffered tail, and whatever the
/// kernel keeps); off: nearly all of it.
fn assert_cache(path: &Path, direct: bool, what: &str) {
    let f = cached_fraction(path);
    if !require(
        f.is_some(),
        &format!("{what}: the page cache is not measurable here (tmpfs or no cachestat(2))"),
    ) {
        return;
    }
    let Some(f) = f else { return };
    if direct {
        assert!(
            f < 0.25,
            "{what}: {:.0}% of the file is cached with direct I/O on",
            f * 100.0
        );
    } else {
        assert!(f > 0.9, "{what}: only {:.0}% cached with direct I/O off", f * 100.0);
    }
}

#[test]
fn uploads_bypass_the_page_cache_unless_turned_off() {
    let data = pattern(SIZE, 21);
    for (extra, direct) in [("", true), ("direct_io_min 0\n", false)] {
        let srv = Server::start_with(extra);
        let mut c = srv.client();
        let r = c
            .put(b"put.bin", 0, 4 << 20, &mut &data[..], &mut |_| {})
            .split()
            .unwrap();
        assert_eq!(r, Ok(()));
        let st = c
            .sndfile(b"snd.bin", false, &mut &data[..], &mut |_| {})
            .status()
            .unwrap();
        assert_eq!(st, Status::Ok(vec![]));
        // PUT in place over an existing file at an aligned offset: the cached
        // pages of that range are dropped, the rest of the file is untouched
        let patch = pattern(8 << 20, 22);
        let r = c
            .put(b"put.bin", 4 << 20, 4 << 20, &mut &patch[..], &mut |_| {})
            .split()
            .unwrap();
        assert_eq!(r, Ok(()));
        for name in ["put.bin", "snd.bin"] {
            assert_cache(&srv.path(name), direct, &format!("{name} ({extra:?})"));
        }
        let mut want = data.clone();
        want[4 << 20..12 << 20].copy_from_slice(&patch);
        assert_eq!(sha(&fs::read(srv.path("put.bin")).unwrap()), sha(&want), "{extra:?}");
        assert_eq!(sha(&fs::read(srv.path("snd.bin")).unwrap()), sha(&data), "{extra:?}");
        assert_eq!(c.raw(b"ECHO in step").unwrap(), b"in step");
    }
}

#[test]
fn uncached_downloads_stay_uncached_unless_turned_off() {
    let data = pattern(SIZE, 23);
    for (extra, direct) in [("", true), ("direct_io_min 0\n", false)] {
        let srv = Server::start_with(extra);
        let mut c = srv.client();
        data_dir_write(&srv.path("f.bin"), &data);
        evict(&srv.path("f.bin"));
        let mut got = Vec::new();
        assert_eq!(
            c.get(b"f.bin", 0, 4 << 20, &mut got, &mut |_| {}).split().unwrap(),
            Ok(SIZE as u64)
        );
        assert_cache(&srv.path("f.bin"), direct, &format!("GET ({extra:?})"));
        assert!(sha(&got) == sha(&data), "GET content ({extra:?})");

        evict(&srv.path("f.bin"));
        let mut got = Vec::new();
        assert_eq!(
            c.rcvfile(b"f.bin", false, &mut got).status().unwrap(),
            Status::Ok(vec![])
        );
        assert_cache(&srv.path("f.bin"), direct, &format!("RCVFILE ({extra:?})"));
        assert!(sha(&got) == sha(&data), "RCVFILE content ({extra:?})");

        // from an unaligned offset: read through the cache, still exact
        let mut got = Vec::new();
        let off = 1_000_001usize;
        assert_eq!(
            c.get(b"f.bin", off as u64, 4 << 20, &mut got, &mut |_| {})
                .split()
                .unwrap(),
            Ok((SIZE - off) as u64)
        );
        assert!(got == data[off..], "GET from {off} ({extra:?})");
    }
}

/// The client writes downloads past its page cache too: `tf get` (one stream)
/// and `tf get --streams 3` (ranges on 4096-byte boundaries, each stream with its
/// own open file) leave the local file uncached and exact.
#[test]
fn tf_downloads_bypass_the_local_page_cache() {
    let data = pattern(SIZE, 24);
    let srv = Server::start();
    data_dir_write(&srv.path("f.bin"), &data);
    let local = tempdir("direct-client");
    for streams in ["1", "3"] {
        let out = local.join(format!("f{streams}.bin"));
        let o = srv.tf(&[
            "get",
            "f.bin",
            out.to_str().unwrap(),
            "--streams",
            streams,
            "--bufsz",
            "4194304",
        ]);
        assert!(
            o.status.success(),
            "tf get --streams {streams}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        assert_cache(&out, true, &format!("tf get --streams {streams}"));
        assert!(
            sha(&fs::read(&out).unwrap()) == sha(&data),
            "content, {streams} stream(s)"
        );
    }
    let _ = fs::remove_dir_all(local);
}
