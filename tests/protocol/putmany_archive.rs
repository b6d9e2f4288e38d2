//! TFDPUTMANY <n> a (doc/compatibility.md "Archive copies"): an archive
//! batch makes every kind of entry with its whole mode, its mtime to the
//! nanosecond and, for root, its owner; a link is made as text and never
//! followed; a session that may not keep owners is told so per entry; the
//! plain batch is unchanged.

use std::fs;
use std::os::unix::fs::{symlink, FileTypeExt, MetadataExt};
use tfd_testkit::archive::{batch, file, item, item_with, Item, ALL};
use tfd_testkit::*;
use tfp_wire::batch::put::{FileHead, PutMany};
use tfp_wire::entry::{Extra, Head, Mtime};
use tfp_wire::fstat::FileType;
use tfp_wire::Status;

fn mtime_of(m: &fs::Metadata) -> Mtime {
    Mtime::of(m.mtime(), m.mtime_nsec()).unwrap()
}

#[test]
fn an_archive_batch_makes_every_kind_with_its_attributes() {
    let srv = Server::start();
    let mut c = srv.client();
    fs::create_dir(srv.path("t")).unwrap();
    fs::write(srv.path("t/was a file"), b"old").unwrap();
    let t1 = Mtime {
        sec: 1_700_000_000,
        nsec: 123_456_789,
    };
    let t2 = Mtime { sec: -3, nsec: 5 };
    let t3 = Mtime {
        sec: 4_102_444_800,
        nsec: 999_999_999,
    };
    let items = [
        item(Some(FileType::Dir), ALL, 0o1777, t2, "t/sticky", None),
        file("t/sticky/script", 0o755, t1, b"#!/bin/sh\n"),
        file("t/private", 0o600, t3, &pattern(100_000, 3)),
        file("t/empty", 0o640, t1, b""),
        item(Some(FileType::Symlink), ALL, 0o777, t1, "t/rel", Some("private")),
        item(Some(FileType::Symlink), ALL, 0o777, t2, "t/abs", Some("/etc/shadow")),
        item(
            Some(FileType::Symlink),
            0,
            0,
            t2,
            "t/dangling",
            Some("../../../nowhere"),
        ),
        item(Some(FileType::Symlink), ALL, 0o777, t1, "t/was a file", Some("sticky")),
        item(Some(FileType::Fifo), ALL, 0o640, t3, "t/fifo", None),
        item(Some(FileType::Socket), ALL, 0o600, t1, "t/sock", None),
        item(Some(FileType::Dir), ALL, 0o500, t1, "t/ro", None),
        item(Some(FileType::Dir), ALL, 0o750, t3, "t", None),
    ];
    let (stored, failed) = batch(&mut c, &items, true);
    assert_eq!((stored, failed.clone()), (items.len() as u64, vec![]), "{failed:?}");
    let m = |p: &str| fs::symlink_metadata(srv.path(p)).unwrap();
    assert_eq!((m("t/sticky").mode() & 0o7777, mtime_of(&m("t/sticky"))), (0o1777, t2));
    assert_eq!((m("t").mode() & 0o7777, mtime_of(&m("t"))), (0o750, t3));
    assert_eq!((m("t/ro").mode() & 0o7777, mtime_of(&m("t/ro"))), (0o500, t1));
    assert_eq!(
        (m("t/sticky/script").mode() & 0o7777, mtime_of(&m("t/sticky/script"))),
        (0o755, t1)
    );
    assert_eq!(fs::read(srv.path("t/sticky/script")).unwrap(), b"#!/bin/sh\n");
    assert_eq!((m("t/private").mode() & 0o7777, mtime_of(&m("t/private"))), (0o600, t3));
    assert_eq!(fs::read(srv.path("t/private")).unwrap(), pattern(100_000, 3));
    assert_eq!(m("t/empty").len(), 0);
    for (p, to, t) in [
        ("t/rel", "private", t1),
        ("t/abs", "/etc/shadow", t2),
        ("t/was a file", "sticky", t1),
    ] {
        assert!(m(p).file_type().is_symlink(), "{p}");
        assert_eq!(fs::read_link(srv.path(p)).unwrap().to_str(), Some(to));
        assert_eq!(mtime_of(&m(p)), t, "{p}: a link's own mtime");
    }
    assert_eq!(
        fs::read_link(srv.path("t/dangling")).unwrap().to_str(),
        Some("../../../nowhere")
    );
    assert!(m("t/fifo").file_type().is_fifo());
    assert_eq!((m("t/fifo").mode() & 0o7777, mtime_of(&m("t/fifo"))), (0o640, t3));
    assert!(m("t/sock").file_type().is_socket());
    // /etc/shadow untouched by the link's attributes
    let shadow = fs::metadata("/etc/shadow").unwrap();
    assert_ne!(mtime_of(&shadow), t2);

    // A: attributes alone, data untouched; a link's mtime, never a mode
    // through it; a missing path is that entry's failure alone
    let t4 = Mtime {
        sec: 1_234_567_890,
        nsec: 1,
    };
    let items = [
        item(None, ALL, 0o604, t4, "t/private", None),
        item(None, ALL, 0o777, t4, "t/rel", None),
        item(None, ALL, 0o700, t4, "t/missing", None),
        item(None, Head::SET_MODE, 0o2755, t4, "t/sticky", None),
    ];
    let (stored, failed) = batch(&mut c, &items, true);
    assert_eq!(stored, 3);
    assert_eq!(failed.len(), 1, "{failed:?}");
    assert_eq!((failed[0].0, failed[0].1), (2, 9));
    assert_eq!((m("t/private").mode() & 0o7777, mtime_of(&m("t/private"))), (0o604, t4));
    assert_eq!(fs::read(srv.path("t/private")).unwrap(), pattern(100_000, 3));
    assert_eq!(mtime_of(&m("t/rel")), t4);
    assert_eq!(m("t/rel").mode() & 0o777, 0o777, "a link keeps its mode");
    assert_eq!(m("t/sticky").mode() & 0o7777, 0o2755, "root keeps set-id bits");

    // as root and unjailed: an owner kept, set-id bits kept, a device made
    let nobody = (65534, 65534);
    let owned = Extra {
        owner: Some(nobody),
        rdev: None,
        changed: None,
        inode: None,
    };
    let items = [
        item_with(
            Some(FileType::Regular),
            ALL | Head::SET_OWNER,
            0o4755,
            t1,
            owned,
            "t/suid",
            None,
            b"x",
        ),
        item_with(
            Some(FileType::Symlink),
            ALL | Head::SET_OWNER,
            0o777,
            t1,
            owned,
            "t/owned link",
            Some("suid"),
            b"",
        ),
        item_with(
            Some(FileType::CharDevice),
            ALL,
            0o600,
            t1,
            Extra {
                owner: None,
                rdev: Some(libc::makedev(1, 3)),
                changed: None,
                inode: None,
            },
            "t/null",
            None,
            b"",
        ),
    ];
    let (stored, failed) = batch(&mut c, &items, true);
    assert_eq!((stored, failed.clone()), (3, vec![]), "{failed:?}");
    let suid = m("t/suid");
    assert_eq!((suid.uid(), suid.gid(), suid.mode() & 0o7777), (65534, 65534, 0o4755));
    let l = m("t/owned link");
    assert_eq!((l.uid(), l.gid()), nobody);
    assert!(m("t/null").file_type().is_char_device());
    assert_eq!(m("t/null").rdev(), libc::makedev(1, 3));
    assert_eq!(c.raw(b"ECHO alive").unwrap(), b"alive");
}

/// Where an entry cannot be made it alone fails and the batch goes on: a
/// link or FIFO over a directory, a file over a directory, a directory
/// over a file, a path through a link (never followed, even inside the
/// root), a path out of the root.
#[test]
fn an_archive_batch_fails_entries_alone_and_never_follows_a_link() {
    let srv = Server::start();
    let mut c = srv.client();
    let outside = tempdir("archive_outside");
    fs::create_dir_all(srv.path("t/dir")).unwrap();
    fs::write(srv.path("t/file"), b"f").unwrap();
    symlink(&outside, srv.path("t/out")).unwrap();
    symlink("dir", srv.path("t/inside")).unwrap();
    let t = Mtime::secs(1_000_000);
    let items = [
        item(Some(FileType::Symlink), ALL, 0o777, t, "t/dir", Some("x")),
        item(Some(FileType::Fifo), ALL, 0o600, t, "t/dir", None),
        file("t/dir", 0o644, t, b"data"),
        item(Some(FileType::Dir), ALL, 0o755, t, "t/file", None),
        file("t/out/planted", 0o644, t, b"data"),
        item(Some(FileType::Symlink), ALL, 0o777, t, "t/out/l", Some("/etc")),
        item(Some(FileType::Fifo), ALL, 0o600, t, "t/inside/p", None),
        item(None, ALL, 0o777, t, "t/out", None),
        item(Some(FileType::Dir), ALL, 0o777, t, "../../escape", None),
        file("t/ok", 0o644, t, b"fine"),
    ];
    let (stored, failed) = batch(&mut c, &items, true);
    let idx: Vec<u64> = failed.iter().map(|f| f.0).collect();
    assert_eq!(idx, [0, 1, 2, 3, 4, 5, 6, 8], "{failed:?}");
    // the A of the link itself: its mtime, nothing through it
    assert_eq!(stored, 2);
    assert!(srv.path("t/dir").is_dir());
    assert_eq!(fs::read(srv.path("t/file")).unwrap(), b"f");
    assert_eq!(fs::read_dir(&outside).unwrap().count(), 0, "nothing written outside");
    assert!(!srv.path("t/dir/p").exists());
    assert_eq!(fs::read(srv.path("t/ok")).unwrap(), b"fine");
    let out = fs::symlink_metadata(srv.path("t/out")).unwrap();
    assert_eq!(out.mtime(), 1_000_000);
    assert_ne!(fs::metadata(&outside).unwrap().mode() & 0o777, 0o777);
    assert_eq!(c.raw(b"ECHO alive").unwrap(), b"alive");
}

/// A header that does not parse ends the batch with FAILED 16 and the
/// session, as the plain batch's does: an unknown key, data announced for
/// a link, a device without its number.
#[test]
fn an_archive_batch_out_of_step_ends_with_failed_16() {
    let srv = Server::start();
    for bad in [
        &b"F 0 3 644 0 x=1 1 a"[..],
        b"L 5 3 777 0 1 a 1 b",
        b"C 0 3 600 0 1 a",
        b"F 0 0 0 0 a", // a plain header in an archive batch
    ] {
        let mut c = srv.client();
        let line = PutMany {
            n: 1,
            archive: true,
            blocks: false,
            framed: false,
            attrs: false,
        }
        .line();
        assert_eq!(c.raw(&line).unwrap(), b"OK");
        c.chan.tx.send_frame(bad).unwrap();
        let st = Status::parse(&c.chan.rx.recv_frame().unwrap());
        assert!(matches!(st, Status::Failed(16, _)), "{bad:?}: {st:?}");
    }
}

/// The plain batch is unchanged: its header's mode is kept to the
/// permission bits (a set-uid bit asked is not given), its mtime whole
/// seconds; an archive header in a plain batch is out of step.
#[test]
fn the_plain_batch_is_unchanged() {
    let srv = Server::start();
    let mut c = srv.client();
    // the plain probe says its batches take directories and new entries'
    // modes; the archive one
    // says whether this session (tfd's root, unjailed) may keep owners
    assert_eq!(c.raw(b"TFDPUTMANY 0").unwrap(), b"OK dirs modes");
    assert_eq!(c.raw(b"TFDPUTMANY 0 a").unwrap(), b"OK owners yes");
    let data = b"plain";
    let h = FileHead::new(data.len() as u64, Some(0o4755), Some(1_600_000_000), b"p");
    let it = Item {
        frame: h.encode(),
        data: data.to_vec(),
        file: true,
    };
    assert_eq!(batch(&mut c, &[it], false), (1, vec![]));
    let m = fs::metadata(srv.path("p")).unwrap();
    assert_eq!(
        (m.mode() & 0o7777, m.mtime(), m.mtime_nsec()),
        (0o755, 1_600_000_000, 0)
    );
    let line = PutMany {
        n: 1,
        archive: false,
        blocks: false,
        framed: false,
        attrs: false,
    }
    .line();
    assert_eq!(c.raw(&line).unwrap(), b"OK");
    c.chan
        .tx
        .send_frame(&item(Some(FileType::Fifo), ALL, 0o600, Mtime::secs(0), "f", None).frame)
        .unwrap();
    let st = Status::parse(&c.chan.rx.recv_frame().unwrap());
    assert!(matches!(st, Status::Failed(16, _)), "{st:?}");
    assert!(!srv.path("f").exists());
}

/// What a batch holds for its end (directories' and `A` entries'
/// attributes) is bounded: past 16 MiB of them an entry fails alone and
/// the batch goes on, so 100,000 long paths cannot make a session hold
/// 400 MB. On the code before the bound every entry was held.
#[test]
fn an_archive_batch_holds_a_bounded_amount_for_its_end() {
    let srv = Server::start();
    let mut c = srv.client();
    fs::create_dir(srv.path("t")).unwrap();
    // 4,000 bytes a path that names `t`
    let long = format!("{}t", "./".repeat(1_999));
    let t = Mtime::secs(1_000_000);
    let items: Vec<_> = (0..4_300).map(|_| item(None, ALL, 0o755, t, &long, None)).collect();
    let (stored, failed) = batch(&mut c, &items, true);
    assert!((4_000..4_200).contains(&stored), "{stored}");
    assert_eq!(stored + failed.len() as u64, 4_300);
    assert!(
        failed.iter().all(|f| f.1 == 7 && f.2.contains("too many")),
        "{:?}",
        failed[0]
    );
    assert_eq!(failed[0].0, stored, "the entries past the bound fail");
    assert_eq!(fs::metadata(srv.path("t")).unwrap().mtime(), 1_000_000);
    assert_eq!(c.raw(b"ECHO alive").unwrap(), b"alive");
}

/// TFPSFS judges an archive batch as it judges the plain one for every
/// entry it makes (`WFILE` in the directory: files, directories, links,
/// FIFOs), and as CHMOD for an `A` entry (`UXPERM`), entry by entry.
#[test]
fn an_archive_batch_answers_to_tfpsfs_per_kind() {
    use tfp_wire::secfs::{LRDIR, RFILE, STAT, UXPERM, WFILE};
    let srv = Server::start();
    for d in ["yes", "nowrite", "noperm"] {
        fs::create_dir(srv.path(d)).unwrap();
        fs::write(srv.path(&format!("{d}/f")), b"f").unwrap();
    }
    let mut owner = srv.client();
    assert!(matches!(owner.call("SETFSID", b"alice").unwrap(), Status::Ok(_)));
    let all = WFILE | RFILE | STAT | UXPERM | LRDIR;
    for (d, m) in [("yes", all), ("nowrite", all & !WFILE), ("noperm", all & !UXPERM)] {
        for arg in [format!("alice:4095 {d}"), format!("u:{m} {d}")] {
            assert!(
                matches!(owner.call("SETFSPERM", arg.as_bytes()).unwrap(), Status::Ok(_)),
                "{arg}"
            );
        }
    }
    let mut c = srv.client();
    assert!(matches!(c.call("SETFSID", b"u").unwrap(), Status::Ok(_)));
    let t = Mtime::secs(1_000_000);
    let items = [
        item(Some(FileType::Symlink), ALL, 0o777, t, "yes/l", Some("f")),
        item(Some(FileType::Symlink), ALL, 0o777, t, "nowrite/l", Some("f")),
        item(Some(FileType::Fifo), ALL, 0o600, t, "nowrite/p", None),
        item(Some(FileType::Dir), ALL, 0o700, t, "nowrite/d", None),
        file("nowrite/g", 0o644, t, b"g"),
        item(None, ALL, 0o600, t, "yes/f", None),
        item(None, ALL, 0o600, t, "nowrite/f", None),
        item(None, ALL, 0o600, t, "noperm/f", None),
        item(Some(FileType::Fifo), ALL, 0o600, t, "noperm/p", None),
    ];
    let (stored, failed) = batch(&mut c, &items, true);
    let refused: Vec<(u64, i32)> = failed.iter().map(|f| (f.0, f.1)).collect();
    assert_eq!(refused, [(1, 1), (2, 1), (3, 1), (4, 1), (7, 1)], "{failed:?}");
    assert_eq!(stored, 4);
    let mode = |p: &str| fs::metadata(srv.path(p)).unwrap().mode() & 0o777;
    assert_eq!(
        (mode("yes/f"), mode("nowrite/f"), mode("noperm/f")),
        (0o600, 0o600, 0o644)
    );
    assert!(fs::symlink_metadata(srv.path("yes/l")).is_ok());
    assert!(fs::symlink_metadata(srv.path("noperm/p")).is_ok());
    for p in ["nowrite/l", "nowrite/p", "nowrite/d", "nowrite/g"] {
        assert!(fs::symlink_metadata(srv.path(p)).is_err(), "{p}");
    }
}
