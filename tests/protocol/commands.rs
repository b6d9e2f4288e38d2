//! Every filesystem and time command through the real wire, checking replies and
//! the disk.

use tfp_client::replies::Split as _;

use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use tfd_testkit::*;

#[test]
fn echo_unknown_and_case() {
    let srv = Server::start();
    let mut c = srv.client();
    assert_eq!(c.raw(b"ECHO hello world").unwrap(), b"hello world");
    assert_eq!(c.raw(b"echo MiXeD").unwrap(), b"MiXeD");
    assert_eq!(c.raw(b"ECHO ").unwrap(), b"");
    assert_eq!(
        c.raw(b"ECHO").unwrap(),
        b"",
        "no trailing space: empty argument, never stale bytes"
    );
    assert_eq!(c.raw(b"FROB x").unwrap(), b"UNKNOWN");
    assert_eq!(c.raw(b"").unwrap(), b"UNKNOWN");
    assert_eq!(c.raw(&[b'A'; 40]).unwrap(), b"UNKNOWN");
    // the session survives all of that
    assert_eq!(c.raw(b"ECHO still here").unwrap(), b"still here");
    c.end().unwrap();
}

#[test]
fn mkdir_touch_del_rmdir() {
    let srv = Server::start();
    let mut c = srv.client();
    assert!(ok(&c.call("MKDIR", b"d1").unwrap()));
    assert!(srv.path("d1").is_dir());
    assert_eq!(
        fs::metadata(srv.path("d1")).unwrap().permissions().mode() & 0o777,
        0o755
    );
    assert_failed(c.call("MKDIR", b"d1").unwrap(), 4);
    assert_failed(c.call("MKDIR", b"").unwrap(), 4);
    assert_failed(c.call("MKDIR", b"nope/sub").unwrap(), 1);
    assert!(
        ok(&c.call("MKDIR", b"/d1/sub dir").unwrap()),
        "leading slash is relative to the root"
    );
    assert!(srv.path("d1/sub dir").is_dir());

    assert!(ok(&c.call("TOUCH", b"d1/f").unwrap()));
    assert!(srv.path("d1/f").is_file());
    assert_eq!(fs::metadata(srv.path("d1/f")).unwrap().len(), 0);
    assert_failed(c.call("TOUCH", b"d1/f").unwrap(), 12);
    assert_failed(c.call("TOUCH", b"").unwrap(), 12);
    assert_failed(c.call("TOUCH", b"missing/f").unwrap(), 24);

    assert_failed(c.call("DEL", b"d1").unwrap(), 8);
    assert_failed(c.call("DEL", b"").unwrap(), 8);
    assert_failed(c.call("DEL", b"d1/none").unwrap(), 9);
    assert!(ok(&c.call("DEL", b"d1/f").unwrap()));
    assert!(!srv.path("d1/f").exists());

    data_dir_write(&srv.path("d1/a/b/c.txt"), b"x");
    assert_failed(c.call("RMDIR", b"d1/none").unwrap(), 10);
    data_dir_write(&srv.path("plain"), b"x");
    assert_failed(c.call("RMDIR", b"plain").unwrap(), 20);
    assert!(ok(&c.call("RMDIR", b"d1").unwrap()));
    assert!(!srv.path("d1").exists());
}

#[test]
fn rmdir_keeps_secure_dirs_and_root() {
    let srv = Server::start();
    let mut c = srv.client();
    data_dir_write(&srv.path("t/keep.sd/secret"), b"s");
    data_dir_write(&srv.path("t/other/x"), b"x");
    data_dir_write(&srv.path("top.txt"), b"x");
    assert_failed(c.call("RMDIR", b"t").unwrap(), 15);
    assert!(srv.path("t/keep.sd/secret").exists());
    assert!(!srv.path("t/other").exists());
    // naming the secure directory itself does not remove it either
    assert_failed(c.call("RMDIR", b"t/keep.sd").unwrap(), 15);
    assert!(srv.path("t/keep.sd/secret").exists());
    // the root: emptied except secure directories, kept, FAILED 15
    let ino = fs::metadata(&srv.data).unwrap().ino();
    assert_failed(c.call("RMDIR", b"").unwrap(), 15);
    assert!(!srv.path("top.txt").exists());
    assert!(srv.path("t/keep.sd/secret").exists());
    assert_eq!(
        fs::metadata(&srv.data).unwrap().ino(),
        ino,
        "the root is never re-created"
    );
}

#[test]
fn copy_is_a_real_copy() {
    let srv = Server::start();
    let mut c = srv.client();
    data_dir_write(&srv.path("src.txt"), b"original");
    assert!(ok(&c.call("COPY", b"src.txt | dst.txt").unwrap()));
    assert_eq!(fs::read(srv.path("dst.txt")).unwrap(), b"original");
    assert_ne!(
        fs::metadata(srv.path("src.txt")).unwrap().ino(),
        fs::metadata(srv.path("dst.txt")).unwrap().ino()
    );
    fs::write(srv.path("src.txt"), b"changed").unwrap();
    assert_eq!(fs::read(srv.path("dst.txt")).unwrap(), b"original");
    assert_failed(c.call("COPY", b"src.txt | dst.txt").unwrap(), 12);
    assert_failed(c.call("COPY", b"none | x").unwrap(), 17);
    fs::create_dir(srv.path("dir")).unwrap();
    assert_failed(c.call("COPY", b"dir | x").unwrap(), 19);
    assert_failed(c.call("COPY", b"src.txt").unwrap(), 16);
    assert_failed(c.call("COPY", b"src.txt | ").unwrap(), 16);
    assert_failed(c.call("COPY", b"src.txt | ../x").unwrap(), 1);
    assert!(!srv.dir.join("x").exists());
}

#[test]
fn cpdir_copies_tree() {
    let srv = Server::start();
    let mut c = srv.client();
    data_dir_write(&srv.path("a/one"), b"1");
    data_dir_write(&srv.path("a/sub/two"), b"22");
    assert!(ok(&c.call("CPDIR", b"a | b").unwrap()));
    assert_eq!(fs::read(srv.path("b/one")).unwrap(), b"1");
    assert_eq!(fs::read(srv.path("b/sub/two")).unwrap(), b"22");
    assert_failed(c.call("CPDIR", b"a | b").unwrap(), 4);
    assert_failed(c.call("CPDIR", b"none | c").unwrap(), 20);
    assert_failed(c.call("CPDIR", b"a/one | c").unwrap(), 20);
    assert_failed(c.call("CPDIR", b"a | a/inside").unwrap(), 21);
    assert!(!srv.path("a/inside").exists());
    assert_failed(c.call("CPDIR", b"a").unwrap(), 16);
}

#[test]
fn renam() {
    let srv = Server::start();
    let mut c = srv.client();
    data_dir_write(&srv.path("old"), b"data");
    assert!(ok(&c.call("RENAM", b"old | new").unwrap()));
    assert!(!srv.path("old").exists());
    assert_eq!(fs::read(srv.path("new")).unwrap(), b"data");
    assert_failed(c.call("RENAM", b"old | x").unwrap(), 31);
    assert_failed(c.call("RENAM", b"new").unwrap(), 16);
    assert_failed(c.call("RENAM", b"new | ").unwrap(), 16);
    assert_failed(c.call("RENAM", b"new | ../escaped").unwrap(), 1);
    fs::create_dir(srv.path("d")).unwrap();
    assert_failed(c.call("RENAM", b"d | d/inner").unwrap(), 31);
}

#[test]
fn fstat_fupd_sha256_freesp() {
    let srv = Server::start();
    let mut c = srv.client();
    data_dir_write(&srv.path("f.bin"), b"hello");
    let t = 1_000_000_000i64;
    let ts = nix::sys::time::TimeSpec::new(t, 0);
    nix::sys::stat::utimensat(
        None,
        &srv.path("f.bin"),
        &ts,
        &ts,
        nix::sys::stat::UtimensatFlags::FollowSymlink,
    )
    .unwrap();
    assert_eq!(assert_ok(c.call("FSTAT", b"f.bin").unwrap()), format!("F 5 {t} {t}"));
    assert_failed(c.call("FSTAT", b"").unwrap(), 16);
    fs::create_dir(srv.path("dir")).unwrap();
    assert!(assert_ok(c.call("FSTAT", b"dir").unwrap()).starts_with("D "));
    assert_failed(c.call("FSTAT", b"none").unwrap(), 9);

    assert!(ok(&c.call("FUPD", b"f.bin").unwrap()));
    let m = fs::metadata(srv.path("f.bin")).unwrap();
    assert!(m.mtime() > t, "FUPD moved the mtime to now");
    assert_failed(c.call("FUPD", b"none").unwrap(), 9);
    assert_failed(c.call("FUPD", b"").unwrap(), 16);

    assert_eq!(
        assert_ok(c.call("SHA256", b"f.bin").unwrap()),
        "0x2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"
    );
    assert_failed(c.call("SHA256", b"none").unwrap(), 45);
    assert_failed(c.call("SHA256", b"dir").unwrap(), 45);
    assert_failed(c.call("SHA256", b"").unwrap(), 16);

    let free: u64 = assert_ok(c.call("FREESP", b"").unwrap()).parse().unwrap();
    let st = nix::sys::statvfs::statvfs(&srv.data).unwrap();
    let expect = st.blocks_available() as u64 * st.fragment_size() as u64;
    let diff = free.abs_diff(expect);
    assert!(diff < 256 * 1024 * 1024, "FREESP {free} vs statvfs {expect}");
}

#[test]
fn dates() {
    let srv = Server::start();
    let mut c = srv.client();
    let before = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let d: i64 = assert_ok(c.call("DATE", b"").unwrap()).parse().unwrap();
    assert!((d - before).abs() <= 2);
    let u = assert_ok(c.call("UDATE", b"").unwrap());
    let (s, us) = u.split_once('.').unwrap();
    assert!((s.parse::<i64>().unwrap() - before).abs() <= 2);
    assert!(us.parse::<u32>().unwrap() < 1_000_000);
    let n = assert_ok(c.call("NDATE", b"").unwrap());
    assert!(n.split_once('.').unwrap().1.parse::<u32>().unwrap() < 1_000_000_000);
    let f = assert_ok(c.call("DATEF", b"").unwrap());
    assert_eq!(f.len(), 19, "{f}");
    let back: i64 = assert_ok(c.call("FTOD", f.as_bytes()).unwrap()).parse().unwrap();
    assert!((back - before).abs() <= 2);
    assert_eq!(assert_ok(c.call("DTOF", b"0").unwrap()), "1970-01-01 00:00:00");
    assert_eq!(assert_ok(c.call("DTOF", b"1795298546").unwrap()), "2026-11-21 22:02:26");
    assert_eq!(assert_ok(c.call("FTOD", b"1970-01-01 00:00:00").unwrap()), "0");
    assert_failed(c.call("DTOF", b"").unwrap(), 16);
    assert_failed(c.call("DTOF", b"abc").unwrap(), 26);
    assert_failed(c.call("DTOF", b"99999999999999999999").unwrap(), 26);
    assert_failed(c.call("FTOD", b"").unwrap(), 16);
    assert_failed(c.call("FTOD", b"not a date").unwrap(), 26);
}

fn lines(b: &[u8]) -> Vec<String> {
    let mut v: Vec<String> = String::from_utf8_lossy(b).lines().map(String::from).collect();
    v.sort();
    v
}

#[test]
fn ls_and_lsr() {
    let srv = Server::start();
    let mut c = srv.client();
    data_dir_write(&srv.path("d2/sub/a b"), b"x");
    data_dir_write(&srv.path("d2/file"), b"x");
    data_dir_write(&srv.path("d2/hidden.sd/inner"), b"x");
    data_dir_write(&srv.path("d2/x.sd"), b"a file named .sd is listed");
    std::os::unix::fs::symlink("file", srv.path("d2/link")).unwrap();
    let ls = c.list(false, b"d2").split().unwrap().unwrap();
    assert_eq!(lines(&ls), ["D: sub/", "F: file", "F: x.sd", "U: link"]);
    let lsr = c.list(true, b"d2").split().unwrap().unwrap();
    assert_eq!(lines(&lsr), ["D: sub/", "F: file", "F: sub/a b", "F: x.sd", "U: link"]);
    // listing inside a known secure directory works
    let inner = c.list(false, b"d2/hidden.sd").split().unwrap().unwrap();
    assert_eq!(lines(&inner), ["F: inner"]);
    let root = c.list(false, b"").split().unwrap().unwrap();
    assert_eq!(lines(&root), ["D: d2/"]);
    assert_eq!(
        c.list(false, b"none").split().unwrap().unwrap_err().failed_code(),
        Some(10)
    );
    assert_eq!(
        c.list(false, b"d2/file").split().unwrap().unwrap_err().failed_code(),
        Some(10)
    );
    assert_eq!(
        c.list(false, b"..").split().unwrap().unwrap_err().failed_code(),
        Some(1)
    );
    // nothing was written into the served tree
    let mut names: Vec<_> = fs::read_dir(&srv.data)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    names.sort();
    assert_eq!(names, ["d2"]);
}

#[test]
fn large_listing_spans_chunks_and_break_stops() {
    let srv = Server::start();
    let dir = srv.path("many");
    fs::create_dir(&dir).unwrap();
    let long = "n".repeat(200);
    for i in 0..3000 {
        fs::write(dir.join(format!("{long}{i:05}")), b"").unwrap();
    }
    let mut c = srv.client();
    let all = c.list(false, b"many").split().unwrap().unwrap();
    assert!(
        all.len() > tfp_wire::MAX_CHUNK,
        "needs more than one chunk: {}",
        all.len()
    );
    assert_eq!(lines(&all).len(), 3000);
    // BREAK after the first chunk: the server answers OK and the session goes on
    c.chan.tx.send_frame(b"LS many").unwrap();
    let first = c.chan.rx.recv_frame().unwrap();
    assert!(first.starts_with(b"CONT "));
    assert_eq!(first.len() - 5, tfp_wire::MAX_CHUNK);
    c.chan.tx.send_frame(b"BREAK").unwrap();
    assert_eq!(c.chan.rx.recv_frame().unwrap(), b"OK");
    assert_eq!(c.raw(b"ECHO after").unwrap(), b"after");
}

#[test]
fn lock_semantics() {
    let srv = Server::start();
    let mut c = srv.client();
    fs::create_dir_all(srv.path("d/sub")).unwrap();
    data_dir_write(&srv.path("d/f"), b"x");
    assert_failed(c.call("LOCK", b"a.b").unwrap(), 28);
    assert_failed(c.call("LOCK", b"a/b").unwrap(), 28);
    // the invalid name was not stored: creating d/a.b does not lock d
    data_dir_write(&srv.path("d/a.b"), b"");
    assert!(ok(&c.call("TOUCH", b"d/t1").unwrap()));
    assert!(ok(&c.call("LOCK", b"lk").unwrap()));
    assert!(ok(&c.call("TOUCH", b"d/lk").unwrap()));
    assert_failed(c.call("TOUCH", b"d/t2").unwrap(), 30);
    assert_failed(c.call("MKDIR", b"d/m").unwrap(), 30);
    assert_failed(c.call("DEL", b"d/f").unwrap(), 30);
    assert_failed(c.call("FSTAT", b"d").unwrap(), 30);
    assert_failed(c.call("FSTAT", b"d/f").unwrap(), 30);
    assert_eq!(
        c.list(false, b"d").split().unwrap().unwrap_err().failed_code(),
        Some(30)
    );
    assert_failed(c.call("COPY", b"d/f | g").unwrap(), 30);
    assert_failed(c.call("RENAM", b"d/f | g").unwrap(), 30);
    // only the immediate directory counts
    assert!(ok(&c.call("TOUCH", b"d/sub/ok").unwrap()));
    // suffix names are not the lock file
    data_dir_write(&srv.path("d/blk"), b"");
    assert_failed(c.call("DEL", b"d/blk").unwrap(), 30);
    // the lock file itself can be deleted, which unlocks
    assert!(ok(&c.call("DEL", b"d/lk").unwrap()));
    assert!(ok(&c.call("TOUCH", b"d/t2").unwrap()));
    // LOCK with empty argument turns locking off
    data_dir_write(&srv.path("d/lk"), b"");
    assert!(ok(&c.call("LOCK", b"").unwrap()));
    assert!(ok(&c.call("TOUCH", b"d/t3").unwrap()));
    // another session is not affected by this session's LOCK
    assert!(ok(&c.call("LOCK", b"lk").unwrap()));
    let mut other = srv.client();
    assert!(ok(&other.call("TOUCH", b"d/t4").unwrap()));
}
