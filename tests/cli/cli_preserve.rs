//! `-p` keeps what `cp -p` keeps of modes and times: every mode (a
//! directory's too, set-id and sticky bits) and every mtime to the
//! nanosecond, files and directories alike, on `put -r -p`, `get -r -p`
//! and `put -p`/`get -p` of one file. A directory gets its mode and mtime
//! once its last file is in (a 0555 one still receives its files). The
//! reference is `cp -rp` of the same source; a download lands without the
//! set-id bits, as cp -p's copy does where it cannot keep the owner (tf
//! keeps the server's owner only with -a: a server's set-uid file never
//! lands owned by whoever runs tf).

use crate::cli_archive::{chmod, stamp};
use crate::output::ok;
use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use tfd_testkit::*;

/// Directories 0700, 0555 (holding a file), 1777 and 2750, files 0600,
/// 4755 and 0444, every mtime with nanoseconds.
fn build(src: &Path) {
    for d in ["d700/deep", "d555", "t1777", "g2750"] {
        fs::create_dir_all(src.join(d)).unwrap();
    }
    for (name, mode, sec, nsec) in [
        ("f600", 0o600, 1_600_000_000, 123_456_789),
        ("suid", 0o4755, 1_400_000_000, 999_999_999),
        ("d555/in", 0o444, 1_650_000_000, 42),
        ("d700/deep/x", 0o640, 1_610_000_000, 777),
        ("g2750/y", 0o2755, 1_620_000_000, 5),
    ] {
        fs::write(src.join(name), format!("{name} body")).unwrap();
        chmod(&src.join(name), mode);
        stamp(&src.join(name), sec, nsec);
    }
    for (d, mode, sec) in [
        ("d700/deep", 0o755, 1_000_000_001),
        ("d700", 0o700, 1_000_000_002),
        ("d555", 0o555, 1_000_000_003),
        ("t1777", 0o1777, 1_000_000_004),
        ("g2750", 0o2750, 1_000_000_005),
    ] {
        chmod(&src.join(d), mode);
        stamp(&src.join(d), sec, 11);
    }
    chmod(src, 0o750);
    stamp(src, 1_000_000_009, 12);
}

/// Each entry's mode, mtime and bytes, by path ("." the root).
fn kept(root: &Path) -> BTreeMap<PathBuf, (u32, i64, i64, Vec<u8>)> {
    let mut out = BTreeMap::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(p) = stack.pop() {
        let m = fs::symlink_metadata(&p).unwrap();
        let body = if m.is_dir() {
            stack.extend(fs::read_dir(&p).unwrap().map(|e| e.unwrap().path()));
            Vec::new()
        } else {
            fs::read(&p).unwrap()
        };
        let rel = p.strip_prefix(root).unwrap();
        let rel = if rel.as_os_str().is_empty() {
            Path::new(".")
        } else {
            rel
        };
        out.insert(rel.to_path_buf(), (m.mode(), m.mtime(), m.mtime_nsec(), body));
    }
    out
}

fn cp_p(src: &Path, dst: &Path) {
    let o = Command::new("cp").arg("-rp").arg(src).arg(dst).output().unwrap();
    assert!(o.status.success(), "cp -rp: {}", String::from_utf8_lossy(&o.stderr));
}

fn same_as_cp(what: &str, tf: &Path, reference: &Path) {
    let (a, mut b) = (kept(tf), kept(reference));
    if what.starts_with("get") {
        for (mode, ..) in b.values_mut() {
            *mode &= !0o6000;
        }
    }
    for k in a.keys().chain(b.keys()) {
        assert_eq!(
            a.get(k),
            b.get(k),
            "{what}: {}: tf's copy (left) differs from cp -p's (right) in mode, mtime or bytes",
            k.display()
        );
    }
}

#[test]
fn put_r_p_and_get_r_p_keep_every_mode_and_mtime_as_cp_p() {
    let srv = Server::start();
    let here = tempdir("cli_preserve_tree");
    let (src, reference) = (here.join("src"), here.join("ref"));
    fs::create_dir_all(&src).unwrap();
    build(&src);
    cp_p(&src, &reference);
    fs::create_dir_all(srv.path("into")).unwrap();
    let o = srv.tf(&["put", "-r", "-p", src.to_str().unwrap(), "into"]);
    ok(&o, "put -r -p");
    same_as_cp("put -r -p", &srv.path("into/src"), &reference);

    let gsrc = srv.path("gsrc");
    fs::create_dir_all(&gsrc).unwrap();
    build(&gsrc);
    let out = here.join("out");
    fs::create_dir_all(&out).unwrap();
    let o = srv.tf(&["get", "-r", "-p", "gsrc", out.to_str().unwrap()]);
    ok(&o, "get -r -p");
    same_as_cp("get -r -p", &out.join("gsrc"), &reference);
    let _ = fs::remove_dir_all(&here);
}

#[test]
fn put_p_and_get_p_of_one_file_keep_its_mode_and_mtime_as_cp_p() {
    let srv = Server::start();
    let here = tempdir("cli_preserve_one");
    let f = here.join("suid");
    fs::write(&f, b"a set-uid file").unwrap();
    chmod(&f, 0o4750);
    stamp(&f, 1_400_000_000, 999_999_999);
    let reference = here.join("ref");
    cp_p(&f, &reference);
    let o = srv.tf(&["put", "-p", f.to_str().unwrap(), "one"]);
    ok(&o, "put -p");
    same_as_cp("put -p", &srv.path("one"), &reference);
    let back = here.join("back");
    let o = srv.tf(&["get", "-p", "one", back.to_str().unwrap()]);
    ok(&o, "get -p");
    same_as_cp("get -p", &back, &reference);
    let _ = fs::remove_dir_all(&here);
}
