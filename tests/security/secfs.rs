//! TFPSFS, the document's secure filesystem, end to end: SETFSID, SETFSPERM,
//! REMFSPERM, GETFSPERM and ISSECFS; every tagged command allowed or refused by
//! its permission bit; untagged commands refused inside; the metadata files
//! invisible and unreachable; concurrent changes losing nothing; and directories
//! secured by the reference server (its file format) keeping their permissions.

use tfd_testkit::reply::SizeOrCode as _;
use tfp_client::replies::{AsStatus as _, Split as _};

use std::fs;
use tfd_testkit::*;
use tfp_client::Client;
use tfp_wire::secfs as bits;
use tfp_wire::Status;

const META: &str = ".securefs_metadata";
const META_RD: &str = ".securefs_metadata.rd";

fn call(c: &mut Client, name: &str, arg: &str) -> Status {
    c.call(name, arg.as_bytes()).unwrap()
}

fn set_id(c: &mut Client, id: &str) {
    assert_eq!(call(c, "SETFSID", id), Status::Ok(vec![]));
}

fn mask(c: &mut Client, id: &str, dir: &str) -> u32 {
    assert_ok(call(c, "GETFSPERM", &format!("{id} {dir}"))).parse().unwrap()
}

/// Makes `dir` secure with `alice` as owner (everything) and `u` holding `m`.
fn secure_with(srv: &Server, dir: &str, m: u32) {
    let mut c = srv.client();
    set_id(&mut c, "alice");
    assert_ok(call(&mut c, "SETFSPERM", &format!("alice:4095 {dir}")));
    assert_ok(call(&mut c, "SETFSPERM", &format!("u:{m} {dir}")));
    c.end().unwrap();
}

#[test]
fn identities_masks_and_everybody_else() {
    let srv = Server::start();
    let mut owner = srv.client();
    fs::create_dir(srv.path("box")).unwrap();
    data_dir_write(&srv.path("box/f"), b"data");
    data_dir_write(&srv.path("plain"), b"x");
    assert_failed(call(&mut owner, "ISSECFS", "box"), 60);
    assert_failed(call(&mut owner, "ISSECFS", "plain"), 20);
    assert_failed(call(&mut owner, "ISSECFS", "none"), 20);
    assert_failed(call(&mut owner, "ISSECFS", "../x"), 1);

    // the first SETFSPERM names the owner, whoever asks
    set_id(&mut owner, "alice");
    assert_ok(call(&mut owner, "SETFSPERM", "alice:4095 box"));
    assert_ok(call(&mut owner, "ISSECFS", "box"));
    assert_eq!(fs::read(srv.path("box").join(META)).unwrap(), b"alice:4095\n");
    assert_eq!(fs::read(srv.path("box").join(META_RD)).unwrap(), b"alice:4095\n");
    assert!(srv.path("box/.securefs_metadata.lck").exists());
    assert_eq!(mask(&mut owner, "alice", "box"), 4095);
    assert_eq!(mask(&mut owner, "nobody", "box"), 0);

    // the owner adds bob; setting bob again replaces his mask (decisions.md)
    assert_ok(call(&mut owner, "SETFSPERM", "bob:4 box"));
    assert_ok(call(&mut owner, "SETFSPERM", "bob:12 box"));
    assert_eq!(mask(&mut owner, "bob", "box"), 12);
    assert_eq!(
        fs::read(srv.path("box").join(META_RD)).unwrap(),
        b"alice:4095\nbob:12\n"
    );

    // bob may read and write files but not list, set or remove
    let mut bob = srv.client();
    set_id(&mut bob, "bob");
    let mut out = Vec::new();
    assert_eq!(
        bob.rcvfile(b"box/f", false, &mut out).status().unwrap(),
        Status::Ok(vec![])
    );
    assert_eq!(out, b"data");
    assert_failed(bob.list(false, b"box").split().unwrap().unwrap_err(), 1);
    assert_failed(call(&mut bob, "SETFSPERM", "carol:4095 box"), 57);
    assert_failed(call(&mut bob, "REMFSPERM", "alice box"), 58);
    assert_eq!(mask(&mut bob, "alice", "box"), 4095, "nothing changed");

    // a session without SETFSID is "everybody else": nothing until that entry exists
    let mut anon = srv.client();
    assert_failed(anon.list(false, b"box").split().unwrap().unwrap_err(), 1);
    assert_ok(call(&mut owner, "SETFSPERM", ":16 box"));
    assert_eq!(mask(&mut owner, "", "box"), 16);
    let listing = anon.list(false, b"box").split().unwrap().unwrap();
    assert_eq!(listing, b"F: f\n", "metadata never listed");
    let mut sink = Vec::new();
    assert_failed(anon.rcvfile(b"box/f", false, &mut sink).status().unwrap(), 1);
    // an unknown identity falls through to everybody else; bob, who has an entry, does not
    let mut carol = srv.client();
    set_id(&mut carol, "carol");
    assert!(carol.list(false, b"box").split().unwrap().is_ok());
    assert_failed(bob.list(false, b"box").split().unwrap().unwrap_err(), 1);

    // everybody-else never grants SETFSPERM/REMFSPERM, even with every bit (decisions.md)
    assert_ok(call(&mut owner, "SETFSPERM", ":4095 box"));
    assert_failed(call(&mut anon, "SETFSPERM", "mallory:4095 box"), 57);
    assert_failed(call(&mut anon, "REMFSPERM", "alice box"), 58);
    assert_failed(call(&mut carol, "SETFSPERM", "carol:4095 box"), 57);
    assert_failed(call(&mut carol, "REMFSPERM", "alice box"), 58);
    assert_eq!(mask(&mut owner, "alice", "box"), 4095);
    assert_eq!(mask(&mut owner, "mallory", "box"), 0);

    // removing everybody-else (empty identity) closes the directory to anon again
    assert_ok(call(&mut owner, "REMFSPERM", " box"));
    assert_eq!(mask(&mut owner, "", "box"), 0);
    assert_failed(anon.list(false, b"box").split().unwrap().unwrap_err(), 1);
    assert_ok(call(&mut owner, "REMFSPERM", "bob box"));
    assert_failed(bob.rcvfile(b"box/f", false, &mut sink).status().unwrap(), 1);
    assert_eq!(fs::read(srv.path("box").join(META_RD)).unwrap(), b"alice:4095\n");

    // a SETFSID without REMPERM/SETPERM in its own entry
    assert_ok(call(&mut owner, "SETFSPERM", "dave:1 box"));
    let mut dave = srv.client();
    set_id(&mut dave, "dave");
    assert_ok(call(&mut dave, "SETFSPERM", "erin:4 box"));
    assert_failed(call(&mut dave, "REMFSPERM", "erin box"), 58);
    // SETFSID with an empty argument clears the identity
    set_id(&mut dave, "");
    assert_failed(call(&mut dave, "SETFSPERM", "erin:8 box"), 57);
    for c in [owner, bob, anon, carol, dave] {
        c.end().unwrap();
    }
}

/// One tagged command: how to run it in a fresh secure directory `d` (holding
/// `f`, `sub/` and `up`) and whether it worked.
type Probe = fn(&mut Client, &str) -> bool;

fn st_ok(st: Status) -> bool {
    match st {
        Status::Ok(_) => true,
        Status::Failed(1, _) => false,
        other => panic!("unexpected {other:?}"),
    }
}

fn probes() -> Vec<(&'static str, u32, Probe)> {
    vec![
        ("MKDIR", bits::MKDIR, |c, d| {
            st_ok(call(c, "MKDIR", &format!("{d}/new")))
        }),
        ("TOUCH", bits::WFILE, |c, d| st_ok(call(c, "TOUCH", &format!("{d}/t")))),
        ("DEL", bits::DFILE, |c, d| st_ok(call(c, "DEL", &format!("{d}/f")))),
        ("RMDIR", bits::RMDIR, |c, d| {
            st_ok(call(c, "RMDIR", &format!("{d}/sub")))
        }),
        ("FSTAT", bits::STAT, |c, d| st_ok(call(c, "FSTAT", &format!("{d}/f")))),
        ("FUPD", bits::FDUPD, |c, d| st_ok(call(c, "FUPD", &format!("{d}/f")))),
        ("CHMOD", bits::UXPERM, |c, d| {
            st_ok(call(c, "CHMOD", &format!("{d}/f 600")))
        }),
        ("SHA256", bits::RFILE, |c, d| {
            st_ok(call(c, "SHA256", &format!("{d}/f")))
        }),
        ("COPY", bits::RFILE | bits::WFILE, |c, d| {
            st_ok(call(c, "COPY", &format!("{d}/f | {d}/g")))
        }),
        ("RENAM", bits::RFILE | bits::WFILE, |c, d| {
            st_ok(call(c, "RENAM", &format!("{d}/f | {d}/h")))
        }),
        ("CPDIR", bits::RFILE | bits::WFILE | bits::MKDIR, |c, d| {
            st_ok(call(c, "CPDIR", &format!("{d}/sub | {d}/sub2")))
        }),
        ("LS", bits::LDIR, |c, d| {
            c.list(false, d.as_bytes()).split().unwrap().is_ok()
        }),
        ("LSR", bits::LRDIR, |c, d| {
            c.list(true, d.as_bytes()).split().unwrap().is_ok()
        }),
        ("RCVFILE", bits::RFILE, |c, d| {
            st_ok(
                c.rcvfile(format!("{d}/f").as_bytes(), false, &mut Vec::new())
                    .status()
                    .unwrap(),
            )
        }),
        ("SNDFILE", bits::WFILE, |c, d| {
            st_ok(
                c.sndfile(format!("{d}/up").as_bytes(), true, &mut &b"new"[..], &mut |_| {})
                    .status()
                    .unwrap(),
            )
        }),
        ("FSIZE", bits::STAT, |c, d| {
            c.fsize(format!("{d}/f").as_bytes()).size_or_code().unwrap() == 4
        }),
        ("GET", bits::RFILE, |c, d| {
            c.get(format!("{d}/f").as_bytes(), 0, 65536, &mut Vec::new(), &mut |_| {})
                .split()
                .unwrap()
                .is_ok()
        }),
        ("PUT", bits::WFILE, |c, d| {
            c.put(format!("{d}/up").as_bytes(), 0, 65536, &mut &b"xy"[..], &mut |_| {})
                .split()
                .unwrap()
                .is_ok()
        }),
    ]
}

#[test]
fn each_tagged_command_needs_its_bit() {
    let srv = Server::start();
    for (i, (name, need, probe)) in probes().into_iter().enumerate() {
        for (variant, m, expect) in [("without", 4095 & !need, false), ("with", need, true)] {
            let d = format!("c{i}{variant}");
            data_dir_write(&srv.path(&format!("{d}/f")), b"data");
            data_dir_write(&srv.path(&format!("{d}/up")), b"old");
            fs::create_dir(srv.path(&format!("{d}/sub"))).unwrap();
            secure_with(&srv, &d, m);
            let mut c = srv.client();
            set_id(&mut c, "u");
            assert_eq!(probe(&mut c, &d), expect, "{name} {variant} mask {m}");
            // the session goes on
            assert_eq!(c.raw(b"ECHO on").unwrap(), b"on", "{name}");
            c.end().unwrap();
            if !expect {
                assert_eq!(fs::read(srv.path(&format!("{d}/f"))).unwrap(), b"data", "{name}");
                assert_eq!(fs::read(srv.path(&format!("{d}/up"))).unwrap(), b"old", "{name}");
                assert!(srv.path(&format!("{d}/sub")).is_dir(), "{name}");
            }
        }
    }
    // a directory outside the domain is unaffected, with or without an identity
    data_dir_write(&srv.path("open/f"), b"data");
    let mut c = srv.client();
    assert!(ok(&call(&mut c, "DEL", "open/f")));
}

#[test]
fn untagged_commands_refused_inside() {
    let srv = Server::start();
    data_dir_write(&srv.path("s/victim"), b"keep");
    data_dir_write(&srv.path("other/victim"), b"go");
    secure_with(&srv, "s", 4095);
    let mut c = srv.client();
    set_id(&mut c, "u"); // even with every bit: these commands are not tagged
    assert_failed(call(&mut c, "XDEL", "s victim"), 1);
    assert_failed(call(&mut c, "XRMDIR", "s victim"), 1);
    assert_failed(call(&mut c, "XCOPY", "c.txt s/victim | x"), 1);
    assert_failed(call(&mut c, "ADDNTFY", "msg_ s"), 1);
    // walking from above skips the secure directory
    assert!(ok(&call(&mut c, "XDEL", "/ victim")));
    assert!(!srv.path("other/victim").exists());
    assert_eq!(fs::read(srv.path("s/victim")).unwrap(), b"keep");
    // a recursive removal from above keeps it (as it keeps *.sd)
    data_dir_write(&srv.path("top/inner/f"), b"k");
    secure_with(&srv, "top/inner", 4095);
    assert_failed(call(&mut c, "RMDIR", "top"), 15);
    assert_eq!(fs::read(srv.path("top/inner/f")).unwrap(), b"k");
    // the tagged ones still work with the right bits
    assert!(ok(&call(&mut c, "FSTAT", "s/victim")));
    c.end().unwrap();
}

#[test]
fn metadata_invisible_and_unreachable() {
    let srv = Server::start();
    data_dir_write(&srv.path("box/sub/f"), b"f");
    data_dir_write(&srv.path("box/f"), b"f");
    secure_with(&srv, "box", 4095);
    let before = fs::read(srv.path("box").join(META_RD)).unwrap();
    let mut c = srv.client();
    set_id(&mut c, "alice");
    let ls = c.list(false, b"box").split().unwrap().unwrap();
    let lsr = c.list(true, b"").split().unwrap().unwrap();
    for l in [&ls, &lsr] {
        assert!(
            !String::from_utf8_lossy(l).contains("securefs"),
            "{}",
            String::from_utf8_lossy(l)
        );
    }
    assert!(String::from_utf8_lossy(&lsr).contains("box/sub/f"));
    for name in [META, META_RD, ".securefs_metadata.lck", ".securefs_metadata.swp"] {
        for p in [
            format!("box/{name}"),
            format!("box/sub/../{name}"),
            format!("/box/./{name}"),
        ] {
            let mut sink = Vec::new();
            assert_failed(c.rcvfile(p.as_bytes(), false, &mut sink).status().unwrap(), 1);
            assert!(sink.is_empty());
            assert_failed(
                c.get(p.as_bytes(), 0, 65536, &mut sink, &mut |_| {})
                    .split()
                    .unwrap()
                    .unwrap_err(),
                1,
            );
            assert_failed(call(&mut c, "DEL", &p), 1);
            assert_failed(call(&mut c, "TOUCH", &p), 1);
            assert_failed(call(&mut c, "FSTAT", &p), 1);
            assert_failed(call(&mut c, "SHA256", &p), 1);
            assert_failed(call(&mut c, "RENAM", &format!("box/f | {p}")), 1);
            assert_failed(call(&mut c, "RENAM", &format!("{p} | box/stolen")), 1);
            assert_failed(call(&mut c, "COPY", &format!("{p} | box/stolen")), 1);
            assert_failed(call(&mut c, "CHMOD", &format!("{p} 666")), 1);
            assert_eq!(c.fsize(p.as_bytes()).size_or_code().unwrap(), -1);
            assert_eq!(
                c.sndfile(p.as_bytes(), true, &mut &b"alice:0\n"[..], &mut |_| {})
                    .status()
                    .unwrap()
                    .failed_code(),
                Some(1)
            );
        }
    }
    // nor anywhere else, nor as a directory name
    assert_failed(call(&mut c, "MKDIR", "x.securefs_metadata"), 1);
    assert_failed(call(&mut c, "TOUCH", ".securefs_metadata.rd"), 1);
    assert!(!srv.path("x.securefs_metadata").exists());
    assert!(!srv.path(".securefs_metadata.rd").exists());
    assert!(!srv.path("box/stolen").exists());
    assert_eq!(fs::read(srv.path("box").join(META_RD)).unwrap(), before);
    assert_ok(call(&mut c, "ISSECFS", "box"));
    c.end().unwrap();
}

#[test]
fn concurrent_setfsperm_loses_nothing() {
    let srv = Server::start();
    fs::create_dir(srv.path("box")).unwrap();
    secure_with(&srv, "box", 4);
    const SESSIONS: usize = 6;
    const EACH: usize = 30;
    let threads: Vec<_> = (0..SESSIONS)
        .map(|t| {
            let cfg = srv.client_config();
            std::thread::spawn(move || {
                let mut c = Client::connect(&cfg).unwrap();
                set_id(&mut c, "alice");
                for i in 0..EACH {
                    assert_ok(call(&mut c, "SETFSPERM", &format!("id{t}_{i}:{} box", t * 100 + i)));
                }
                c.end().unwrap();
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    let text = fs::read_to_string(srv.path("box").join(META_RD)).unwrap();
    assert_eq!(text.lines().count(), 2 + SESSIONS * EACH, "{text}");
    assert_eq!(fs::read_to_string(srv.path("box").join(META)).unwrap(), text);
    let mut c = srv.client();
    for t in 0..SESSIONS {
        for i in 0..EACH {
            assert_eq!(mask(&mut c, &format!("id{t}_{i}"), "box"), (t * 100 + i) as u32);
        }
    }
    assert!(!srv.path("box/.securefs_metadata.swp").exists());
}

#[test]
fn reference_written_metadata_is_honoured() {
    let srv = Server::start();
    data_dir_write(&srv.path("old/f"), b"data");
    // as the reference's SETFSPERM leaves it: appended lines, the first one counts
    let text = b"owner:4095\n:16\nreader:4\nreader:0\n";
    fs::write(srv.path("old").join(META), text).unwrap();
    fs::write(srv.path("old").join(META_RD), text).unwrap();
    fs::write(srv.path("old/.securefs_metadata.lck"), b"").unwrap();
    let mut anon = srv.client();
    assert_ok(call(&mut anon, "ISSECFS", "old"));
    assert_eq!(anon.list(false, b"old").split().unwrap().unwrap(), b"F: f\n");
    assert_failed(anon.rcvfile(b"old/f", false, &mut Vec::new()).status().unwrap(), 1);
    let mut reader = srv.client();
    set_id(&mut reader, "reader");
    assert_eq!(mask(&mut reader, "reader", "old"), 4);
    let mut out = Vec::new();
    assert!(ok(&reader.rcvfile(b"old/f", false, &mut out).status().unwrap()));
    assert_eq!(out, b"data");
    assert_failed(reader.list(false, b"old").split().unwrap().unwrap_err(), 1);
    // the owner changes reader: one line, in the same format the reference reads
    let mut owner = srv.client();
    set_id(&mut owner, "owner");
    assert_ok(call(&mut owner, "SETFSPERM", "reader:20 old"));
    assert_eq!(
        fs::read(srv.path("old").join(META_RD)).unwrap(),
        b"owner:4095\n:16\nreader:20\n"
    );
    assert!(reader.list(false, b"old").split().unwrap().is_ok());
    // an identity whose own mask is 0 exists, so it does not fall through to
    // everybody else (the document; the reference read 0 as "no entry")
    assert_ok(call(&mut owner, "SETFSPERM", "zero:0 old"));
    let mut zero = srv.client();
    set_id(&mut zero, "zero");
    assert_failed(zero.list(false, b"old").split().unwrap().unwrap_err(), 1);
    // a directory holding only the read copy is secure, as the reference tests it
    data_dir_write(&srv.path("rdonly/f"), b"x");
    fs::write(srv.path("rdonly").join(META_RD), b"someone:4095\n").unwrap();
    assert_ok(call(&mut anon, "ISSECFS", "rdonly"));
    assert_failed(call(&mut anon, "DEL", "rdonly/f"), 1);
    assert!(srv.path("rdonly/f").exists());
}

#[test]
fn bad_input_gets_its_code_and_the_session_goes_on() {
    let srv = Server::start();
    fs::create_dir(srv.path("d")).unwrap();
    data_dir_write(&srv.path("file"), b"x");
    let mut c = srv.client();
    set_id(&mut c, "alice");
    assert_failed(call(&mut c, "SETFSPERM", "alice:4095"), 16);
    assert_failed(call(&mut c, "SETFSPERM", ""), 16);
    for bad in ["alice d", "alice: d", "alice:x d", "alice:-1 d", "alice:4294967296 d"] {
        assert_failed(call(&mut c, "SETFSPERM", bad), 57);
    }
    assert_failed(call(&mut c, "SETFSPERM", "alice:1 file"), 57);
    assert_failed(call(&mut c, "SETFSPERM", "alice:1 none"), 57);
    assert_failed(call(&mut c, "SETFSPERM", "alice:1 ../x"), 1);
    assert!(!srv.path("d").join(META_RD).exists(), "nothing was made secure");
    assert_failed(call(&mut c, "REMFSPERM", "alice"), 16);
    assert_failed(call(&mut c, "REMFSPERM", "alice d"), 58);
    assert_failed(call(&mut c, "REMFSPERM", "alice ../x"), 1);
    assert!(
        !srv.path("d/.securefs_metadata.lck").exists(),
        "REMFSPERM touched nothing"
    );
    assert_failed(call(&mut c, "GETFSPERM", "alice"), 16);
    assert_failed(call(&mut c, "GETFSPERM", "alice file"), 59);
    assert_failed(call(&mut c, "GETFSPERM", "alice ../x"), 1);
    assert_eq!(mask(&mut c, "alice", "d"), 0);
    assert_failed(call(&mut c, "ISSECFS", ""), 60);
    assert_eq!(c.raw(b"ECHO alive").unwrap(), b"alive");
    // an unreadable read copy fails closed
    fs::create_dir(srv.path("broken")).unwrap();
    fs::create_dir(srv.path("broken").join(META_RD)).unwrap();
    data_dir_write(&srv.path("broken/f"), b"x");
    assert_failed(call(&mut c, "FSTAT", "broken/f"), 1);
    assert_failed(call(&mut c, "GETFSPERM", "alice broken"), 59);
    c.end().unwrap();
}

#[test]
fn links_out_of_the_root_keep_their_commands_answers() {
    // the TFPSFS check judges only directories inside the root; a path whose last
    // component leads out is left to the command (TOUCH on an existing name: 12)
    let srv = Server::start();
    let outside = srv.dir.join("outside-target");
    std::os::unix::fs::symlink(&outside, srv.path("dangling")).unwrap();
    let mut c = srv.client();
    assert_failed(call(&mut c, "TOUCH", "dangling"), 12);
    assert!(!outside.exists());
    c.end().unwrap();
}

#[test]
fn recursive_listing_from_above_respects_secure_subdirectories() {
    let srv = Server::start();
    data_dir_write(&srv.path("top/box/inner/f"), b"f");
    data_dir_write(&srv.path("top/open/g"), b"g");
    secure_with(&srv, "top/box", bits::LDIR); // u may list box, not recursively
    let text = |c: &mut Client| String::from_utf8(c.list(true, b"top").split().unwrap().unwrap()).unwrap();
    let mut anon = srv.client();
    let seen = text(&mut anon);
    assert!(seen.contains("D: box/\n") && seen.contains("F: open/g\n"), "{seen}");
    assert!(!seen.contains("inner"), "entered a secure directory: {seen}");
    let mut u = srv.client();
    set_id(&mut u, "u");
    assert!(!text(&mut u).contains("inner"));
    let mut alice = srv.client();
    set_id(&mut alice, "alice");
    let all = text(&mut alice);
    assert!(all.contains("F: box/inner/f\n") && !all.contains("securefs"), "{all}");
}

#[test]
fn a_reference_style_lock_holder_is_waited_for() {
    // the reference takes a POSIX write lock (F_SETLKW) on `.lck` while it changes
    // the metadata; tfd's OFD lock conflicts with it, so tfd waits, then proceeds
    use nix::fcntl::{fcntl, FcntlArg};
    use std::os::fd::AsRawFd;
    let srv = Server::start();
    fs::create_dir(srv.path("box")).unwrap();
    secure_with(&srv, "box", 4);
    let lck = fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(srv.path("box/.securefs_metadata.lck"))
        .unwrap();
    let mut fl: libc::flock = unsafe_free_flock();
    fl.l_type = libc::F_WRLCK as libc::c_short;
    fcntl(lck.as_raw_fd(), FcntlArg::F_SETLK(&fl)).unwrap();
    let cfg = srv.client_config();
    let t0 = std::time::Instant::now();
    let writer = std::thread::spawn(move || {
        let mut c = Client::connect(&cfg).unwrap();
        set_id(&mut c, "alice");
        let st = call(&mut c, "SETFSPERM", "late:8 box");
        (st, std::time::Instant::now())
    });
    std::thread::sleep(std::time::Duration::from_millis(700));
    fl.l_type = libc::F_UNLCK as libc::c_short;
    let released = std::time::Instant::now();
    fcntl(lck.as_raw_fd(), FcntlArg::F_SETLK(&fl)).unwrap();
    let (st, done) = writer.join().unwrap();
    assert_eq!(st, Status::Ok(vec![]));
    assert!(done >= released, "wrote while the lock was held ({:?})", done - t0);
    let mut c = srv.client();
    assert_eq!(mask(&mut c, "late", "box"), 8);
    assert_eq!(mask(&mut c, "u", "box"), 4);
}

/// An all-zero `flock` (whole file, from offset 0) without `unsafe`.
fn unsafe_free_flock() -> libc::flock {
    libc::flock {
        l_type: 0,
        l_whence: libc::SEEK_SET as libc::c_short,
        l_start: 0,
        l_len: 0,
        l_pid: 0,
    }
}

/// Issue 23, finding 1: the TFPSFS check/use race. A session with no entry in a
/// secure directory swaps the name of that directory's parent with a decoy of
/// its own (both plain directories, so every RENAM is allowed) while two other
/// sessions loop TOUCH and RCVFILE on the secure path. The check used to look
/// the names up, then the command looked them up again: in 8 s of this, files
/// appeared inside the secure directory and its secret was read. Now the check
/// and the command act on one pinned descriptor. Bounded: 8 s.
#[test]
fn renaming_the_parent_between_check_and_use_gets_nothing() {
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
    use std::sync::Arc;
    use std::time::{Duration, Instant};
    let srv = Server::start();
    data_dir_write(&srv.path("real/s/secret"), b"TOP SECRET");
    data_dir_write(&srv.path("decoy/s/secret"), b"decoy");
    {
        let mut c = srv.client();
        set_id(&mut c, "alice");
        assert_ok(call(&mut c, "SETFSPERM", "alice:4095 real/s"));
        c.end().unwrap();
    }
    // the plain checks hold while nothing moves
    let mut probe = srv.client();
    assert_failed(call(&mut probe, "TOUCH", "real/s/before"), 1);
    assert_ok(call(&mut probe, "TOUCH", "decoy/s/before"));
    probe.end().unwrap();

    let stop = Arc::new(AtomicBool::new(false));
    let reads = Arc::new(AtomicUsize::new(0));
    let attempts = Arc::new(AtomicUsize::new(0));
    let deadline = Instant::now() + Duration::from_secs(8);
    let swapper = {
        let (stop, mut c) = (stop.clone(), srv.client());
        std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                // real -> tmp, decoy -> real, real -> decoy, tmp -> real
                for (a, b) in [("real", "tmp"), ("decoy", "real"), ("real", "decoy"), ("tmp", "real")] {
                    let _ = c.call("RENAM", format!("{a} | {b}").as_bytes());
                }
            }
            c.end().ok();
        })
    };
    let toucher = {
        let (stop, attempts, mut c) = (stop.clone(), attempts.clone(), srv.client());
        std::thread::spawn(move || {
            let mut n = 0u32;
            while Instant::now() < deadline {
                n += 1;
                let _ = c.call("TOUCH", format!("real/s/pwn{n}").as_bytes());
                attempts.fetch_add(1, Ordering::Relaxed);
            }
            stop.store(true, Ordering::Relaxed);
            c.end().ok();
        })
    };
    let reader = {
        let (reads, attempts, mut c) = (reads.clone(), attempts.clone(), srv.client());
        std::thread::spawn(move || {
            while Instant::now() < deadline {
                let mut got = Vec::new();
                if matches!(c.rcvfile(b"real/s/secret", false, &mut got).status(), Ok(Status::Ok(_)))
                    && got == b"TOP SECRET"
                {
                    reads.fetch_add(1, Ordering::Relaxed);
                }
                attempts.fetch_add(1, Ordering::Relaxed);
            }
            c.end().ok();
        })
    };
    toucher.join().unwrap();
    reader.join().unwrap();
    swapper.join().unwrap();
    // wherever the real secure directory ended up, it holds no file of ours
    let secure = ["real", "decoy", "tmp"]
        .iter()
        .map(|d| srv.path(d).join("s"))
        .find(|d| d.join(META_RD).exists())
        .expect("the secure directory still exists");
    let planted: Vec<String> = dir_names(&secure)
        .into_iter()
        .filter(|n| n.starts_with("pwn"))
        .collect();
    let read = reads.load(Ordering::Relaxed);
    eprintln!(
        "race: {} attempts, {} files planted, {} secret reads",
        attempts.load(Ordering::Relaxed),
        planted.len(),
        read
    );
    assert!(planted.is_empty(), "created inside the secure directory: {planted:?}");
    assert_eq!(read, 0, "the secret was read {read} times");
}

/// Issue 23, finding 2: FLYCONTEXT made directories inside a secure directory
/// the session has no right in (its path's parent did not exist yet, so nothing
/// was judged), and the session then worked there. Each level it creates is now
/// judged where it is created: FAILED 1, nothing made.
#[test]
fn flycontext_makes_nothing_inside_a_secure_directory() {
    let srv = Server::start();
    fs::create_dir_all(srv.path("s")).unwrap();
    secure_with(&srv, "s", 4095);
    let mut c = srv.client();
    assert_failed(call(&mut c, "FLYCONTEXT", "s/new/deeper"), 1);
    assert_failed(call(&mut c, "FLYCONTEXT", "s/new"), 1);
    assert!(
        !srv.path("s/new").exists(),
        "FLYCONTEXT created a directory inside the secure one"
    );
    // elsewhere it works, and the session is confined there
    assert_ok(call(&mut c, "FLYCONTEXT", "plain/ctx"));
    assert_ok(call(&mut c, "TOUCH", "inside"));
    assert!(srv.path("plain/ctx/inside").exists());
    c.end().unwrap();
}
