//! TFDLINK (doc/compatibility.md "Backups with history"): a hard link made
//! on the server, the new name another name of the same inode, counted
//! once by the quota; everything it refuses (the grammar, a missing file, a
//! directory, a FIFO, a taken name, a symlink, a path through a symlinked
//! directory or out of the root) is FAILED and changes nothing. TFDLINKS
//! makes many in one command, each answered as TFDLINK would answer it, the
//! directories made as their counterparts.

use std::fs;
use std::os::unix::fs::{symlink, MetadataExt, PermissionsExt};
use tfd_testkit::*;
use tfp_client::replies::AsStatus as _;
use tfp_wire::link::{Link, Links};
use tfp_wire::Status;

fn link(c: &mut tfp_client::Client, a: &str, b: &str) -> Status {
    let l = Link {
        existing: a.into(),
        new: b.into(),
    };
    c.command(&l.line().unwrap()).unwrap()
}

fn code(st: &Status) -> u32 {
    match st {
        Status::Failed(n, _) => *n as u32,
        other => panic!("expected FAILED, got {other:?}"),
    }
}

#[test]
fn a_link_is_another_name_of_the_same_file_and_costs_no_quota() {
    let srv = Server::start_with("quota_default 50M\n");
    let mut c = srv.client();
    let data = pattern(1_000_000, 3);
    assert_ok(c.call("MKDIR", b"a").unwrap());
    let st = c.sndfile(b"a/f", true, &mut &data[..], &mut |_| {}).status().unwrap();
    assert!(ok(&st), "{st:?}");
    assert_ok(c.call("MKDIR", b"snap").unwrap());
    assert_eq!(link(&mut c, "a/f", "snap/f"), Status::Ok(vec![]));
    assert_eq!(link(&mut c, "/a/f", "/snap/g | h"), Status::Ok(vec![]));
    let ino = fs::metadata(srv.path("a/f")).unwrap().ino();
    for p in ["snap/f", "snap/g | h"] {
        assert_eq!(fs::metadata(srv.path(p)).unwrap().ino(), ino, "{p}");
        assert_eq!(fs::read(srv.path(p)).unwrap(), data);
    }
    assert_eq!(fs::metadata(srv.path("a/f")).unwrap().nlink(), 3);
    // three names, one file: the quota counts its bytes once
    let text = assert_ok(c.call("TFDSPACE", b"").unwrap());
    let used: u64 = text.split(' ').nth(2).unwrap().parse().unwrap();
    assert_eq!(used, 1_000_000, "{text}");
}

#[test]
fn refusals_are_failed_and_change_nothing() {
    let srv = Server::start();
    let mut c = srv.client();
    fs::create_dir_all(srv.path("d")).unwrap();
    fs::write(srv.path("f"), b"mine").unwrap();
    fs::write(srv.path("taken"), b"other").unwrap();
    nix::unistd::mkfifo(&srv.path("fifo"), nix::sys::stat::Mode::from_bits_truncate(0o644)).unwrap();
    let outside = tempdir("protocol_link_outside");
    fs::write(outside.join("secret"), b"secret").unwrap();
    symlink(&outside, srv.path("out")).unwrap();
    symlink("/etc", srv.path("etc")).unwrap();
    symlink("f", srv.path("lnk")).unwrap();
    for bad in [
        &b"TFDLINK"[..],
        b"TFDLINK f",
        b"TFDLINK f|g",
        b"TFDLINK  | g",
        b"TFDLINK f | ",
    ] {
        let st = c.command(bad).unwrap();
        assert_eq!(code(&st), 16, "{:?}", String::from_utf8_lossy(bad));
    }
    let cases: &[(&str, &str, u32)] = &[
        ("missing", "n1", 17),
        ("d", "n2", 19),
        ("fifo", "n3", 23),
        ("f", "taken", 12),
        ("f", "d", 12),
        ("lnk", "n4", 1),
        ("out/secret", "n5", 1),
        ("etc/passwd", "n6", 1),
        ("../../../../etc/passwd", "n7", 1),
        ("f", "out/n8", 1),
        ("f", "../n9", 1),
        ("f", "etc/n10", 1),
    ];
    let before: Vec<_> = fs::read_dir(srv.path(""))
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    let passwd_links = fs::metadata("/etc/passwd").unwrap().nlink();
    for &(a, b, want) in cases {
        let st = link(&mut c, a, b);
        assert_eq!(code(&st), want, "TFDLINK {a} | {b}: {st:?}");
    }
    let after: Vec<_> = fs::read_dir(srv.path(""))
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(before, after, "a refused link made a name");
    assert_eq!(fs::read(srv.path("taken")).unwrap(), b"other");
    assert_eq!(fs::metadata(srv.path("f")).unwrap().nlink(), 1);
    assert_eq!(fs::read_dir(&outside).unwrap().count(), 1);
    assert_eq!(fs::metadata("/etc/passwd").unwrap().nlink(), passwd_links);
    assert!(fs::read_dir(srv.path("d")).unwrap().next().is_none());
    // the session goes on
    assert_eq!(link(&mut c, "f", "d/f"), Status::Ok(vec![]));
    let _ = fs::remove_dir_all(&outside);
}

/// `TFDLINKS from\0to\0paths...` as a command line.
fn links_line(from: &str, to: &str, paths: &[&str]) -> Vec<u8> {
    let l = Links {
        from: from.into(),
        to: to.into(),
        paths: paths.iter().map(|p| p.as_bytes().to_vec()).collect(),
    };
    [&b"TFDLINKS "[..], &l.encode().unwrap()].concat()
}

fn codes(st: &Status, n: usize) -> Vec<u16> {
    match st {
        Status::Ok(text) => tfp_wire::link::parse_answers(text, n).unwrap_or_else(|| panic!("{st:?}")),
        other => panic!("expected OK, got {other:?}"),
    }
}

fn set_mtime(p: &std::path::Path, sec: i64, nsec: u32) {
    let t = std::time::UNIX_EPOCH + std::time::Duration::new(sec as u64, nsec);
    fs::File::open(p).unwrap().set_modified(t).unwrap();
}

#[test]
fn many_links_make_the_tree_of_the_same_files_with_its_directories() {
    let srv = Server::start_with("quota_default 50M\n");
    let mut c = srv.client();
    let files = ["top", "d1/f1", "d1/f2", "d1/sub/g", "d2/h"];
    for (i, f) in files.iter().enumerate() {
        let p = srv.path(&format!("a/{f}"));
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        fs::write(&p, pattern(1000 + i, i as u64)).unwrap();
    }
    for (d, mode, sec) in [
        ("d1", 0o750, 1_600_000_001),
        ("d1/sub", 0o500, 1_600_000_002),
        ("d2", 0o755, 1_600_000_003),
    ] {
        fs::set_permissions(srv.path(&format!("a/{d}")), fs::Permissions::from_mode(mode)).unwrap();
        set_mtime(&srv.path(&format!("a/{d}")), sec, 123_456_789);
    }
    set_mtime(&srv.path("a"), 1_600_000_000, 7);
    // "snap" does not exist: made, as every directory a name goes into
    let st = c.command(&links_line("a", "snap", &files)).unwrap();
    assert_eq!(codes(&st, files.len()), vec![0; files.len()], "{st:?}");
    for f in files {
        let (a, b) = (srv.path(&format!("a/{f}")), srv.path(&format!("snap/{f}")));
        assert_eq!(fs::metadata(&a).unwrap().ino(), fs::metadata(&b).unwrap().ino(), "{f}");
        assert_eq!(fs::metadata(&a).unwrap().nlink(), 2, "{f}");
    }
    // each directory as its counterpart: the mtime to the nanosecond, the
    // mode with the owner's rights kept
    for (d, mode) in [("", 0o755), ("d1", 0o750), ("d1/sub", 0o700), ("d2", 0o755)] {
        let (a, b) = (srv.path(&format!("a/{d}")), srv.path(&format!("snap/{d}")));
        let (ma, mb) = (fs::metadata(&a).unwrap(), fs::metadata(&b).unwrap());
        assert_eq!((mb.mtime(), mb.mtime_nsec()), (ma.mtime(), ma.mtime_nsec()), "{d:?}");
        if !d.is_empty() {
            assert_eq!(mb.mode() & 0o7777, mode, "{d:?}");
        }
    }
    // three names... two: the quota counts the bytes once
    let text = assert_ok(c.call("TFDSPACE", b"").unwrap());
    let used: u64 = text.split(' ').nth(2).unwrap().parse().unwrap();
    let bytes: u64 = (0..files.len()).map(|i| 1000 + i as u64).sum();
    assert_eq!(used, bytes, "{text}");
}

#[test]
fn many_links_answer_each_path_as_tfdlink_would_and_refuse_what_the_grammar_does_not_hold() {
    let srv = Server::start();
    let mut c = srv.client();
    fs::create_dir_all(srv.path("a/d")).unwrap();
    fs::write(srv.path("a/f"), b"mine").unwrap();
    fs::write(srv.path("a/g"), b"mine too").unwrap();
    nix::unistd::mkfifo(&srv.path("a/fifo"), nix::sys::stat::Mode::from_bits_truncate(0o644)).unwrap();
    let outside = tempdir("protocol_links_outside");
    fs::write(outside.join("secret"), b"secret").unwrap();
    symlink(&outside, srv.path("a/out")).unwrap();
    symlink("/etc", srv.path("a/etc")).unwrap();
    symlink("f", srv.path("a/lnk")).unwrap();
    symlink(&outside, srv.path("outside")).unwrap();
    fs::create_dir_all(srv.path("s1")).unwrap();
    fs::write(srv.path("s1/taken"), b"other").unwrap();
    let passwd_links = fs::metadata("/etc/passwd").unwrap().nlink();
    for bad in [
        &b"TFDLINKS"[..],
        b"TFDLINKS a",
        b"TFDLINKS a\0s1",
        b"TFDLINKS a\0s1\0",
        b"TFDLINKS a\0s1\0../f",
        b"TFDLINKS a\0s1\0/f",
        b"TFDLINKS a\0s1\0x//f",
        b"TFDLINKS a\0s1\0./f",
        b"TFDLINKS \0s1\0f",
    ] {
        let st = c.command(bad).unwrap();
        assert_eq!(code(&st), 16, "{:?}", String::from_utf8_lossy(bad));
    }
    let many = vec!["f"; tfp_wire::link::MAX_PATHS + 1];
    let mut line = b"TFDLINKS a\0s1".to_vec();
    for p in &many {
        line.push(0);
        line.extend_from_slice(p.as_bytes());
    }
    assert_eq!(code(&c.command(&line).unwrap()), 16);
    assert!(!srv.path("s1/f").exists(), "a refused command linked");
    // each path answered as TFDLINK answers it alone, the others made
    let paths = ["missing", "d", "fifo", "lnk", "out/secret", "etc/passwd", "f", "g"];
    let st = c.command(&links_line("a", "s1", &paths)).unwrap();
    let got = codes(&st, paths.len());
    for (p, got) in paths.iter().zip(&got) {
        let alone = link(&mut c, &format!("a/{p}"), &format!("s2/{p}"));
        let want = match alone {
            Status::Ok(_) => 0,
            st => code(&st) as u16,
        };
        if *p == "f" || *p == "g" {
            assert_eq!(*got, 0, "{p}");
        } else {
            // TFDLINK cannot make s2/<p> (no s2); the refusal of the source comes first
            assert_eq!(*got, want, "{p}: {st:?}");
            assert_ne!(*got, 0, "{p}");
        }
    }
    let st = c.command(&links_line("a", "s1", &["f", "g"])).unwrap();
    assert_eq!(codes(&st, 2), vec![12, 12], "a name is never replaced");
    fs::hard_link(srv.path("a/f"), srv.path("a/f2")).unwrap();
    let st = c.command(&links_line("a", "s1", &["f2", "taken"])).unwrap();
    assert_eq!(codes(&st, 2), vec![0, 17]);
    assert_eq!(fs::read(srv.path("s1/taken")).unwrap(), b"other");
    // a destination out of the root, by a symlink or by `..`: nothing made there
    for to in ["outside", "a/out", "../x", "a/etc"] {
        let st = c.command(&links_line("a", to, &["f", "sub/g"])).unwrap();
        match st {
            Status::Failed(..) => {}
            st => assert!(codes(&st, 2).iter().all(|&c| c != 0), "to {to}: {st:?}"),
        }
    }
    assert_eq!(fs::read_dir(&outside).unwrap().count(), 1);
    assert_eq!(fs::metadata("/etc/passwd").unwrap().nlink(), passwd_links);
    assert_eq!(fs::metadata(srv.path("a/f")).unwrap().nlink(), 4);
    let _ = fs::remove_dir_all(&outside);
}
