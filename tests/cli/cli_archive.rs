//! Issue 61: a mirror keeps what `rsync -a` keeps. The same tree is copied
//! by `rsync -a` and by `tf mirror`, and every entry of the two copies is
//! compared by lstat (kind, mode, mtime to the nanosecond, size, link
//! target, owner) and by its bytes; a second run moves nothing, and after
//! each kind of change one run makes the copies identical again.

use crate::cli_mirror::counts;
use crate::output::{ok, text};
use std::collections::BTreeMap;
use std::ffi::CString;
use std::fs;
use std::os::fd::AsFd;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::Command;
use tfd_testkit::*;

/// Sets `p`'s mtime (the link itself, never its target) to `sec.nsec`.
pub(crate) fn stamp(p: &Path, sec: i64, nsec: u32) {
    let (dir, name) = parent_and_name(p);
    let held = tfd_sys::open_path_nofollow(dir.as_fd(), &name).unwrap();
    tfd_sys::set_mtime_ns_path_fd(held.as_fd(), sec, nsec).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
}

/// The directory holding `p`, open, and `p`'s name in it.
fn parent_and_name(p: &Path) -> (fs::File, CString) {
    let dir = fs::File::open(p.parent().unwrap()).unwrap();
    (dir, CString::new(p.file_name().unwrap().as_bytes()).unwrap())
}

pub(crate) fn chmod(p: &Path, mode: u32) {
    fs::set_permissions(p, fs::Permissions::from_mode(mode)).unwrap();
}

pub(crate) fn mkfifo(p: &Path) {
    let (dir, name) = parent_and_name(p);
    tfd_sys::mknodat(dir.as_fd(), &name, libc::S_IFIFO | 0o640, 0).unwrap();
}

/// The tree of the issue: modes, set-id, sticky, mtimes past, future and
/// with nanoseconds, links of every kind, a FIFO, a file past the batches'
/// size (it comes through the engine alone).
pub(crate) fn build(src: &Path) {
    fs::create_dir_all(src.join("d700/deep")).unwrap();
    fs::create_dir_all(src.join("d555")).unwrap();
    fs::create_dir_all(src.join("t1777")).unwrap();
    let files: [(&str, usize, u32, i64, u32); 7] = [
        ("f600", 10, 0o600, 1_600_000_000, 123_456_789),
        ("f755", 20, 0o755, 1_500_000_000, 1),
        ("suid", 30, 0o4755, 1_400_000_000, 999_999_999),
        ("empty", 0, 0o644, 315_532_800, 0),
        ("future", 5, 0o644, 4_102_444_800, 500_000_000),
        ("d555/in", 7, 0o444, 1_650_000_000, 42),
        ("d700/deep/big", 9 << 20, 0o640, 1_610_000_000, 777),
    ];
    for (name, size, mode, sec, nsec) in files {
        let p = src.join(name);
        let data: Vec<u8> = (0..size).map(|i| (i * 31 % 251) as u8).collect();
        fs::write(&p, data).unwrap();
        chmod(&p, mode);
        stamp(&p, sec, nsec);
    }
    for (name, target) in [
        ("rel", "f600"),
        ("abs", "/etc/passwd"),
        ("dangling", "nowhere/at all"),
        ("todir", "d700"),
        ("d700/up", "../../outside"),
    ] {
        std::os::unix::fs::symlink(target, src.join(name)).unwrap();
        stamp(&src.join(name), 1_300_000_000, 5);
    }
    // an owner nobody on this machine is (numeric, as rsync --numeric-ids)
    std::os::unix::fs::lchown(src.join("f755"), Some(4321), Some(4322)).unwrap();
    std::os::unix::fs::lchown(src.join("abs"), Some(4323), Some(4324)).unwrap();
    mkfifo(&src.join("fifo"));
    stamp(&src.join("fifo"), 1_200_000_000, 6);
    chmod(&src.join("d555"), 0o555);
    chmod(&src.join("t1777"), 0o1777);
    chmod(&src.join("d700"), 0o700);
    for (d, sec) in [
        ("d700/deep", 1_000_000_001),
        ("d700", 1_000_000_002),
        ("d555", 1_000_000_003),
        ("t1777", 1_000_000_004),
    ] {
        stamp(&src.join(d), sec, 11);
    }
    chmod(src, 0o750);
    stamp(src, 1_000_000_009, 12);
}

/// Each kind of change the issue names, one of each.
pub(crate) fn change(src: &Path) {
    chmod(&src.join("f600"), 0o640); // mode only
    stamp(&src.join("f755"), 1_500_000_000, 2); // nanoseconds only
    fs::remove_file(src.join("rel")).unwrap(); // a link moved elsewhere
    std::os::unix::fs::symlink("f755", src.join("rel")).unwrap();
    fs::remove_file(src.join("empty")).unwrap(); // a file become a link
    std::os::unix::fs::symlink("future", src.join("empty")).unwrap();
    fs::remove_file(src.join("dangling")).unwrap(); // a link become a file
    fs::write(src.join("dangling"), b"now a file").unwrap();
    chmod(&src.join("t1777"), 0o1770); // a directory's mode
    stamp(&src.join("d555"), 1_000_000_003, 99); // a directory's mtime
                                                 // rsync -a leaves an entry whose mtime falls in the second it runs with
                                                 // the mtime it made it with (tf gives it the source's): what the changes
                                                 // made now is stamped into the past, so the two can be compared
    for (name, sec) in [
        ("rel", 1_300_000_100),
        ("empty", 1_300_000_101),
        ("dangling", 1_300_000_102),
        (".", 1_000_000_019),
    ] {
        stamp(&src.join(name), sec, 13);
    }
}

/// What lstat says of an entry, and its bytes or target.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Seen {
    mode: u32,
    mtime: (i64, i64),
    size: u64,
    owner: (u32, u32),
    body: Vec<u8>,
}

/// Every entry below `root` (the root itself as "."), by relative path.
pub(crate) fn seen(root: &Path) -> BTreeMap<PathBuf, Seen> {
    let mut out = BTreeMap::new();
    let mut stack = vec![PathBuf::new()];
    while let Some(rel) = stack.pop() {
        let p = if rel.as_os_str().is_empty() {
            root.to_path_buf()
        } else {
            root.join(&rel)
        };
        let m = fs::symlink_metadata(&p).unwrap();
        let ft = m.file_type();
        let body = if ft.is_symlink() {
            fs::read_link(&p).unwrap().into_os_string().into_vec()
        } else if ft.is_file() {
            fs::read(&p).unwrap()
        } else {
            Vec::new()
        };
        if ft.is_dir() {
            for e in fs::read_dir(&p).unwrap() {
                stack.push(rel.join(e.unwrap().file_name()));
            }
        }
        let key = if rel.as_os_str().is_empty() {
            PathBuf::from(".")
        } else {
            rel
        };
        let size = if ft.is_dir() { 0 } else { m.len() };
        out.insert(
            key,
            Seen {
                mode: m.mode(),
                mtime: (m.mtime(), m.mtime_nsec()),
                size,
                owner: (m.uid(), m.gid()),
                body,
            },
        );
    }
    out
}

use std::os::unix::ffi::OsStringExt;

pub(crate) fn rsync_a(src: &Path, dst: &Path) {
    let o = Command::new("rsync")
        .arg("-a")
        .arg(format!("{}/", src.display()))
        .arg(dst)
        .output()
        .unwrap_or_else(|e| panic!("rsync is needed for this test (scripts/deps installs it): {e}"));
    assert!(o.status.success(), "rsync -a: {}", String::from_utf8_lossy(&o.stderr));
}

/// Compares the tf copy with rsync's, entry by entry.
pub(crate) fn same_as_rsync(tf: &Path, reference: &Path) {
    let (a, b) = (seen(tf), seen(reference));
    let keys: Vec<&PathBuf> = a.keys().chain(b.keys()).collect();
    for k in keys {
        assert_eq!(
            a.get(k),
            b.get(k),
            "{}: tf's copy (left) differs from rsync -a's (right)",
            k.display()
        );
    }
}

fn mirror(srv: &Server, src: &str, dst: &Path, extra: &[&str]) -> (usize, usize, usize, usize) {
    let mut args = vec!["mirror"];
    args.extend_from_slice(extra);
    args.extend([src, dst.to_str().unwrap()]);
    let o = srv.tf(&args);
    ok(&o, "mirror");
    counts(&o)
}

#[test]
fn a_mirror_down_is_what_rsync_a_makes_and_a_second_run_moves_nothing() {
    let srv = Server::start();
    let here = tempdir("cli_archive_down");
    let src = srv.path("src");
    fs::create_dir_all(&src).unwrap();
    build(&src);
    let (out, reference) = (here.join("out"), here.join("ref"));
    rsync_a(&src, &reference);
    let (moved, _, _, failed) = mirror(&srv, "src", &out, &[]);
    assert_eq!(failed, 0);
    assert_eq!(moved, 13, "7 files, 5 links and a FIFO");
    same_as_rsync(&out, &reference);
    let (moved, deleted, unchanged, failed) = mirror(&srv, "src", &out, &[]);
    assert_eq!((moved, deleted, failed), (0, 0, 0), "a second run moves nothing");
    assert_eq!(unchanged, 13);
    same_as_rsync(&out, &reference);

    change(&src);
    let _ = fs::remove_dir_all(&reference);
    rsync_a(&src, &reference);
    let (_, _, _, failed) = mirror(&srv, "src", &out, &[]);
    assert_eq!(failed, 0);
    same_as_rsync(&out, &reference);
    let (moved, ..) = mirror(&srv, "src", &out, &[]);
    assert_eq!(moved, 0);
}

#[test]
fn without_the_keeps_a_mirror_moves_files_and_directories_alone() {
    let srv = Server::start();
    let here = tempdir("cli_archive_plain");
    let src = srv.path("plain");
    fs::create_dir_all(&src).unwrap();
    build(&src);
    let out = here.join("out");
    let o = srv.tf(&[
        "mirror",
        "--no-links",
        "--no-specials",
        "--no-perms",
        "plain",
        out.to_str().unwrap(),
    ]);
    ok(&o, "mirror --no-links");
    assert!(fs::symlink_metadata(out.join("rel")).is_err(), "{}", text(&o));
    assert!(fs::symlink_metadata(out.join("fifo")).is_err());
    assert_eq!(fs::read(out.join("f600")).unwrap().len(), 10);
}

#[test]
fn a_mirror_up_is_what_rsync_a_makes_and_a_second_run_moves_nothing() {
    let srv = Server::start();
    let here = tempdir("cli_archive_up");
    let (src, reference) = (here.join("src"), here.join("ref"));
    fs::create_dir_all(&src).unwrap();
    build(&src);
    rsync_a(&src, &reference);
    let up = srv.path("up");
    let (moved, _, _, failed) = mirror(&srv, src.to_str().unwrap(), Path::new("up"), &["-R", "--owner"]);
    assert_eq!(failed, 0);
    assert_eq!(moved, 13, "7 files, 5 links and a FIFO");
    same_as_rsync(&up, &reference);
    let (moved, deleted, unchanged, failed) = mirror(&srv, src.to_str().unwrap(), Path::new("up"), &["-R", "--owner"]);
    assert_eq!((moved, deleted, failed), (0, 0, 0), "a second run moves nothing");
    assert_eq!(unchanged, 13);
    same_as_rsync(&up, &reference);

    change(&src);
    let _ = fs::remove_dir_all(&reference);
    rsync_a(&src, &reference);
    let (_, _, _, failed) = mirror(&srv, src.to_str().unwrap(), Path::new("up"), &["-R", "--owner"]);
    assert_eq!(failed, 0);
    same_as_rsync(&up, &reference);
    let (moved, ..) = mirror(&srv, src.to_str().unwrap(), Path::new("up"), &["-R", "--owner"]);
    assert_eq!(moved, 0);
}

/// SIGKILL of `tf mirror -R` in the middle of its archive batches (files
/// with the whole mode and ns mtimes, links beside them) leaves every remote
/// file its old version or its new one byte for byte, no temporary or
/// half-made link in sight, and the re-run makes the copy rsync -a's.
#[test]
fn a_mirror_up_killed_midway_leaves_old_or_new_files_and_the_rerun_completes() {
    use crate::interrupted::kill_midway;
    let srv = Server::start_with("rate_limit_session 4M\n");
    let here = tempdir("cli_archive_kill");
    let (src, reference) = (here.join("src"), here.join("ref"));
    fs::create_dir_all(&src).unwrap();
    fs::create_dir_all(srv.path("up")).unwrap();
    let mut olds = Vec::new();
    for i in 0..24u8 {
        let name = format!("f{i:02}.bin");
        let old: Vec<u8> = (0..300_000u32).map(|j| (j as u8) ^ i).collect();
        fs::write(srv.path("up").join(&name), &old).unwrap();
        let new: Vec<u8> = (0..700_000u32).map(|j| (j.wrapping_mul(7) as u8) ^ i).collect();
        fs::write(src.join(&name), new).unwrap();
        chmod(&src.join(&name), 0o640);
        stamp(&src.join(&name), 1_600_000_000 + i64::from(i), 123);
        std::os::unix::fs::symlink(&name, src.join(format!("l{i:02}"))).unwrap();
        // in the past, as cli_archive's change() says why
        stamp(&src.join(format!("l{i:02}")), 1_500_000_000, 7);
        olds.push((name, old));
    }
    stamp(&src, 1_500_000_001, 8);
    let child = srv
        .tf_command(&["mirror", "-R", "--jobs", "2", src.to_str().unwrap(), "up"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    for n in kill_midway(&srv, child, &srv.path("up"), &src, &olds) {
        // a new file arrived with its mode and mtime, not after them
        let m = fs::metadata(srv.path("up").join(&n)).unwrap();
        assert_eq!((m.mode() & 0o7777, m.mtime_nsec()), (0o640, 123), "{n}");
    }
    rsync_a(&src, &reference);
    let (_, _, _, failed) = mirror(&srv, src.to_str().unwrap(), Path::new("up"), &["-R"]);
    assert_eq!(failed, 0);
    same_as_rsync(&srv.path("up"), &reference);
    let _ = fs::remove_dir_all(&here);
}
