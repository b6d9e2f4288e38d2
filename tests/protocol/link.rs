//! TFDLINK (doc/compatibility.md "Backups with history"): a hard link made
//! on the server, the new name another name of the same inode, counted
//! once by the quota; everything it refuses (the grammar, a missing file, a
//! directory, a FIFO, a taken name, a symlink, a path through a symlinked
//! directory or out of the root) is FAILED and changes nothing.

use std::fs;
use std::os::unix::fs::{symlink, MetadataExt};
use tfd_testkit::*;
use tfp_client::replies::AsStatus as _;
use tfp_wire::link::Link;
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
