//! Symbolic links and archive copies (issue 61): a link is made by an archive
//! batch with any text as its target, and no command of any user then reads,
//! writes, chmods, chowns, lists or deletes through it outside that user's
//! root: a jailed user's links to /etc/shadow, to another user's tree, to a
//! `..` chain, and links swapped in by someone else while batches run.

use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::{symlink, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use tfd_testkit::archive::{batch, file, item, item_with, ALL};
use tfd_testkit::users::{alice_jailed, AliceJailed};
use tfd_testkit::*;
use tfp_client::Client;
use tfp_wire::entry::{Entry, Extra, Head, Mtime};
use tfp_wire::fstat::FileType;
use tfp_wire::Status;

/// What must not change of one path: content, mode, owner, mtime (seconds
/// and nanoseconds) and, for a directory, its names.
type Facts = (Vec<u8>, u32, u32, i64, i64, Vec<String>);

/// [`Facts`] of each path.
fn snapshot(paths: &[PathBuf]) -> BTreeMap<PathBuf, Facts> {
    paths
        .iter()
        .map(|p| {
            let m = fs::symlink_metadata(p).unwrap();
            let (data, names) = if m.is_dir() {
                let mut n: Vec<String> = fs::read_dir(p)
                    .unwrap()
                    .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                    .collect();
                n.sort();
                (Vec::new(), n)
            } else {
                (fs::read(p).unwrap(), Vec::new())
            };
            (p.clone(), (data, m.mode(), m.uid(), m.mtime(), m.mtime_nsec(), names))
        })
        .collect()
}

/// Every command a client could aim at `path` (a link) and what lies
/// through it (`path/x`), reading and writing; what any of them read back
/// is returned, to be searched for secrets.
/// Each transfer and listing on a session of its own (`connect`): one
/// refused midway leaves its session's stream where the client cannot tell.
fn every_command(connect: &dyn Fn() -> Client, path: &str, mutate: bool) -> Vec<u8> {
    let mut seen = Vec::new();
    let through = format!("{path}/x");
    let mut out = Vec::new();
    let _ = connect().rcvfile(path.as_bytes(), false, &mut out);
    seen.extend_from_slice(&out);
    let c = &mut connect();
    for (cmd, arg) in [
        ("SHA256", path.to_string()),
        ("FSTAT", path.to_string()),
        ("FSIZE", path.to_string()),
        ("FTYPE", path.to_string()),
        ("SHA256", through.clone()),
    ] {
        if let Ok(Status::Ok(body)) = c.call(cmd, arg.as_bytes()) {
            seen.extend_from_slice(&body);
        }
    }
    for listing in ["TFDENTRIES", "TFDLIST", "LSR"] {
        let mut text = Vec::new();
        let mut l = connect();
        l.chan.tx.send_frame(format!("{listing} {path}").as_bytes()).unwrap();
        let _ = l.recv_chunks(&mut text);
        seen.extend_from_slice(&text);
    }
    if !mutate {
        return seen;
    }
    let t = Mtime { sec: 86_400, nsec: 1 };
    for (cmd, arg) in [
        ("CHMOD", format!("{path} 777")),
        ("CHOWN", format!("{path} 65534 65534")),
        ("TOUCH", through.clone()),
        ("MKDIR", through.clone()),
        ("FUPD", path.to_string()),
        ("COPY", format!("{path} | {path}.copy")),
        ("RENAM", format!("{through} | {path}.moved")),
        ("DEL", through.clone()),
        ("RMDIR", path.to_string()),
    ] {
        let _ = c.call(cmd, arg.as_bytes());
    }
    let data = b"planted through a link";
    let root_owner = Extra {
        owner: Some((0, 0)),
        rdev: None,
        changed: None,
        inode: None,
    };
    let _ = connect().sndfile(through.as_bytes(), true, &mut &data[..], &mut |_| {});
    let items = [
        file(&through, 0o777, t, data),
        item(
            Some(FileType::Symlink),
            ALL,
            0o777,
            t,
            &format!("{through}l"),
            Some("/"),
        ),
        item(Some(FileType::Fifo), ALL, 0o666, t, &format!("{through}p"), None),
        item(Some(FileType::Dir), ALL, 0o777, t, &format!("{through}d"), None),
        item(None, ALL, 0o777, t, path, None),
        item_with(None, ALL | Head::SET_OWNER, 0o4777, t, root_owner, &through, None, b""),
        item(Some(FileType::Symlink), ALL, 0o777, t, path, Some("/etc/passwd")),
    ];
    // the batch's per-entry failures are expected; only the session's end is not
    let _ = batch(&mut connect(), &items, true);
    seen
}

/// A new session, logged in with `login` (`<user> <password>`).
fn login(srv: &Server, login: &[u8]) -> Client {
    let mut c = srv.client();
    assert_ok(c.call("LOGIN", login).unwrap());
    c
}

/// Searches what came back for a secret's bytes.
fn leaked(seen: &[u8], secrets: &[&[u8]]) -> Option<String> {
    secrets
        .iter()
        .find(|s| seen.windows(s.len()).any(|w| w == **s))
        .map(|s| String::from_utf8_lossy(s).into_owned())
}

#[test]
fn a_jailed_users_links_lead_no_command_of_anyone_out_of_their_root() {
    assert!(is_root(), "this test needs root (jails, users)");
    let AliceJailed { srv, bob, home, .. } = alice_jailed("tfdalink", None);
    let bobs = srv.path("bob");
    fs::create_dir_all(&bobs).unwrap();
    fs::write(bobs.join("secret"), b"BOB-SECRET-7f3a").unwrap();
    for p in [&bobs, &bobs.join("secret")] {
        nix::unistd::chown(p, Some(bob.0.into()), Some(bob.1.into())).unwrap();
    }
    fs::set_permissions(&bobs, fs::Permissions::from_mode(0o755)).unwrap();
    let outside = tempdir("alink-outside");
    fs::write(outside.join("secret"), b"OUTSIDE-SECRET-91c2").unwrap();
    // writable by all, so only confinement stands between it and a write
    fs::set_permissions(&outside, fs::Permissions::from_mode(0o777)).unwrap();
    fs::set_permissions(outside.join("secret"), fs::Permissions::from_mode(0o666)).unwrap();
    // (/etc/shadow's content and mtime change as other tests add users: its
    // mode and owner are what a chmod or chown through a link would change)
    let shadow = || {
        fs::metadata("/etc/shadow")
            .map(|m| (m.mode(), m.uid(), m.gid()))
            .unwrap()
    };
    let shadow_before = shadow();
    let guarded = [
        outside.clone(),
        outside.join("secret"),
        bobs.clone(),
        bobs.join("secret"),
    ];
    let before = snapshot(&guarded);
    let shadow_head: Vec<u8> = fs::read("/etc/shadow").unwrap().into_iter().take(12).collect();
    let out_dir = outside.to_str().unwrap().to_string();
    let out_file = format!("{out_dir}/secret");
    let links: [(&str, &str); 8] = [
        ("shadow", "/etc/shadow"),
        ("up", "../../../../../../../../etc/shadow"),
        ("bobs", "../../../bob/secret"),
        ("bobdir", "/bob"),
        ("out", &out_file),
        ("outdir", &out_dir),
        ("etc", "/etc"),
        ("chain", "../../.././../../."),
    ];

    // alice, jailed, makes the links by an archive batch: any text
    let mut a = login(&srv, b"alice alice pw");
    let t = Mtime::secs(1_000_000);
    let items: Vec<_> = links
        .iter()
        .map(|(n, to)| item(Some(FileType::Symlink), ALL, 0o777, t, &format!("/home/{n}"), Some(to)))
        .collect();
    assert_eq!(batch(&mut a, &items, true), (links.len() as u64, vec![]));
    for (n, to) in &links {
        assert_eq!(fs::read_link(home.join(n)).unwrap().to_str(), Some(*to));
    }
    // the archive probe tells a jailed user she may not keep owners
    assert_eq!(a.raw(b"TFDPUTMANY 0 a").unwrap(), b"OK owners no");
    // -o by a jailed user: refused with one sentence, the batch goes on
    let owned = item_with(
        Some(FileType::Regular),
        ALL | Head::SET_OWNER,
        0o4755,
        t,
        Extra {
            owner: Some((0, 0)),
            rdev: None,
            changed: None,
            inode: None,
        },
        "/home/mine",
        None,
        b"x",
    );
    let dev = item_with(
        Some(FileType::CharDevice),
        ALL,
        0o666,
        t,
        Extra {
            owner: None,
            rdev: Some(libc::makedev(1, 3)),
            changed: None,
            inode: None,
        },
        "/home/null",
        None,
        b"",
    );
    let suid = file("/home/suid", 0o6755, t, b"y");
    let (stored, failed) = batch(&mut a, &[owned, dev, suid], true);
    assert_eq!(stored, 1);
    assert_eq!(
        failed,
        [
            (0, 1, "only root may keep owners".to_string()),
            (1, 1, "only root may make devices".to_string())
        ]
    );
    assert_eq!(fs::metadata(home.join("suid")).unwrap().mode() & 0o7777, 0o755);
    assert!(!home.join("mine").exists() && !home.join("null").exists());

    // every command of alice (through her links) and of bob (through the
    // absolute ones, into her jail), at once, from several sessions each
    let secrets: [&[u8]; 3] = [b"OUTSIDE-SECRET-91c2", b"BOB-SECRET-7f3a", &shadow_head];
    std::thread::scope(|sc| {
        for round in 0..3 {
            let (srv, links, secrets) = (&srv, &links, &secrets);
            sc.spawn(move || {
                let a = || login(srv, b"alice alice pw");
                for (n, _) in links.iter() {
                    let seen = every_command(&a, &format!("/home/{n}"), round > 0);
                    assert_eq!(leaked(&seen, secrets), None, "alice through {n}");
                }
            });
            sc.spawn(move || {
                let b = || login(srv, b"bob bob pw");
                for (n, _) in links.iter().filter(|(n, _)| *n != "bobs") {
                    let seen = every_command(&b, &format!("jails/alice/home/{n}"), round > 0);
                    assert_eq!(leaked(&seen, &secrets[..1]), None, "bob through {n}");
                }
            });
        }
    });
    assert_eq!(snapshot(&guarded), before, "something outside a user's root changed");
    assert_eq!(shadow(), shadow_before, "/etc/shadow changed");
}

/// A directory and a file of the tree swapped for links out of the root
/// while root's batches (which may keep owners and set-id bits) and other
/// commands run on them: nothing outside the root is written, chmod'ed,
/// chowned, touched or listed.
#[test]
fn links_swapped_in_while_batches_run_lead_nowhere_outside() {
    let srv = Server::start();
    let outside = tempdir("alink-swap-outside");
    fs::write(outside.join("secret"), b"SWAP-SECRET-55e1").unwrap();
    fs::set_permissions(outside.join("secret"), fs::Permissions::from_mode(0o600)).unwrap();
    let guarded = [outside.clone(), outside.join("secret")];
    let before = snapshot(&guarded);
    let t = srv.path("t");
    fs::create_dir_all(t.join("d")).unwrap();
    fs::write(t.join("f"), b"inside").unwrap();
    let stop = std::sync::atomic::AtomicBool::new(false);
    std::thread::scope(|sc| {
        let (t, outside, stop) = (&t, &outside, &stop);
        sc.spawn(move || swap(t, outside, stop));
        let workers: Vec<_> = (0..3)
            .map(|w| {
                let srv = &srv;
                sc.spawn(move || {
                    let mut c = srv.client();
                    for i in 0..60 {
                        batches_on(&mut c, w, i);
                    }
                })
            })
            .collect();
        // the swapper stops whatever became of the workers
        let ends: Vec<_> = workers.into_iter().map(|h| h.join()).collect();
        stop.store(true, std::sync::atomic::Ordering::SeqCst);
        for end in ends {
            if let Err(panic) = end {
                std::panic::resume_unwind(panic);
            }
        }
    });
    assert_eq!(snapshot(&guarded), before, "something outside the root changed");
}

/// Swaps `t/d` and `t/f` for links to `outside` and back until told to stop.
fn swap(t: &Path, outside: &Path, stop: &std::sync::atomic::AtomicBool) {
    while !stop.load(std::sync::atomic::Ordering::SeqCst) {
        let _ = fs::rename(t.join("d"), t.join("d.real"));
        let _ = symlink(outside, t.join("d"));
        let _ = fs::rename(t.join("f"), t.join("f.real"));
        let _ = symlink(outside.join("secret"), t.join("f"));
        std::thread::sleep(std::time::Duration::from_micros(300));
        let _ = fs::remove_file(t.join("d"));
        let _ = fs::rename(t.join("d.real"), t.join("d"));
        let _ = fs::remove_file(t.join("f"));
        let _ = fs::rename(t.join("f.real"), t.join("f"));
        std::thread::sleep(std::time::Duration::from_micros(300));
    }
}

/// One round of worker `w`: an archive batch into and onto the swapped
/// names (owners and set-id bits asked, as root may), then the commands
/// that change or list what a path names.
fn batches_on(c: &mut Client, w: usize, i: usize) {
    let tm = Mtime { sec: 86_400, nsec: 7 };
    let nobody = Extra {
        owner: Some((65534, 65534)),
        rdev: None,
        changed: None,
        inode: None,
    };
    let n = format!("{w}-{i}");
    let all = ALL | Head::SET_OWNER;
    let items = [
        item_with(
            Some(FileType::Regular),
            all,
            0o4777,
            tm,
            nobody,
            &format!("t/d/f{n}"),
            None,
            b"x",
        ),
        item(Some(FileType::Symlink), ALL, 0o777, tm, &format!("t/d/l{n}"), Some("/")),
        item(Some(FileType::Fifo), ALL, 0o666, tm, &format!("t/d/p{n}"), None),
        item(Some(FileType::Dir), ALL, 0o777, tm, &format!("t/d/d{n}"), None),
        item_with(None, all, 0o4777, tm, nobody, "t/f", None, b""),
        item_with(None, all, 0o1777, tm, nobody, "t/d", None, b""),
        file(&format!("t/f{n}"), 0o644, tm, b"y"),
    ];
    let (stored, failed) = batch(c, &items, true);
    assert_eq!(stored + failed.len() as u64, items.len() as u64);
    for (cmd, arg) in [
        ("CHMOD", "t/f 777".to_string()),
        ("CHOWN", "t/f 65534 65534".to_string()),
        ("FUPD", "t/f".to_string()),
        ("TOUCH", format!("t/d/touched{n}")),
        ("MKDIR", format!("t/d/made{n}")),
    ] {
        let _ = c.call(cmd, arg.as_bytes());
    }
    let mut text = Vec::new();
    c.chan.tx.send_frame(b"TFDENTRIES t").unwrap();
    let _ = c.recv_chunks(&mut text);
    // (a link's target names the secret: its name is listed only if the
    // walk entered the directory outside)
    let mut rest = &text[..];
    while let Some((e, after)) = Entry::parse_next(rest) {
        assert!(!e.name.ends_with(b"secret"), "the listing went through a link: {e:?}");
        rest = after;
    }
}
