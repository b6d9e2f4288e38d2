//! Jails per user (issue 32): the user file gives a user a jail, as OpenSSH's
//! `ChrootDirectory` under `Match User`, so one server jails some users and
//! not others; the jailed user can neither read, change nor delete what guards
//! a jail (its key, the jail directory); a jail that breaks its guard is
//! refused with the reason in the log. Root only: chroot and user switches are
//! tested for real.

use tfp_client::replies::AsStatus as _;

use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use tfd_testkit::users::{ensure_system_user, tfpasswd, userdb_add};
use tfd_testkit::*;

const ALICE_PW: &str = "alice jail pw";
const BOB_PW: &str = "bob free pw";

fn need_root() {
    assert!(
        is_root(),
        "these tests need root (chroot, setuid, chown): run them as root"
    );
}

fn mkdir(p: &std::path::Path, mode: u32, owner: Option<(u32, u32)>) {
    fs::create_dir_all(p).unwrap();
    fs::set_permissions(p, fs::Permissions::from_mode(mode)).unwrap();
    if let Some((u, g)) = owner {
        nix::unistd::chown(p, Some(u.into()), Some(g.into())).unwrap();
    }
}

fn root_of(pid: i32) -> std::path::PathBuf {
    fs::read_link(format!("/proc/{pid}/root")).unwrap()
}

/// A new session logged in as `who`, and its process (the one session
/// process that was not there before).
fn login(srv: &Server, who: &str, pw: &str) -> (tfp_client::Client, i32) {
    let before = srv.children().0;
    let mut c = srv.client();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    let pid = loop {
        let new: Vec<i32> = srv.children().0.into_iter().filter(|p| !before.contains(p)).collect();
        if let [pid] = new[..] {
            break pid;
        }
        assert!(std::time::Instant::now() < deadline, "new session processes: {new:?}");
        std::thread::sleep(std::time::Duration::from_millis(20));
    };
    assert_ok(c.call("LOGIN", format!("{who} {pw}").as_bytes()).unwrap());
    (c, pid)
}

#[test]
fn a_jailed_user_beside_an_unjailed_one_on_one_server() {
    need_root();
    let alice = ensure_system_user("tfdujail1", &[]);
    let bob = ensure_system_user("tfdujail2", &[]);
    let f = tempdir("ujail-db").join("userdb");
    let f = f.to_str().unwrap();
    userdb_add(f, "alice", "tfdujail1", ALICE_PW, &["--jail", "/jails/alice"]);
    userdb_add(f, "bob", "tfdujail2", BOB_PW, &[]);
    let list = String::from_utf8(tfpasswd(&["-f", f, "list"], "").stdout).unwrap();
    assert!(list.contains("/jails/alice"), "{list}");
    let srv = Server::start_opts(Opts {
        extra: &format!("userdb {f}\n"),
        default_user: false,
        ..Default::default()
    });
    // README's layout: a root-owned 0755 root, a root-owned jail holding a
    // directory its user writes, and a directory of the unjailed user's own
    mkdir(&srv.path("jails/alice/home"), 0o755, Some(alice));
    mkdir(&srv.path("bob"), 0o755, Some(bob));
    fs::write(srv.path("outside.txt"), b"outside").unwrap();

    let (mut a, apid) = login(&srv, "alice", ALICE_PW);
    assert_eq!(root_of(apid), srv.path("jails/alice").canonicalize().unwrap());
    assert_eq!(proc_ids(apid).0, format!("{0} {0} {0} {0}", alice.0));
    assert!(
        srv.log().contains("confined to its jail /jails/alice (chroot)"),
        "{}",
        srv.log()
    );
    let data = pattern(100_000, 1);
    assert!(ok(&a
        .sndfile(b"/home/a.bin", false, &mut &data[..], &mut |_| {})
        .status()
        .unwrap()));
    let landed = srv.path("jails/alice/home/a.bin");
    assert_eq!(fs::read(&landed).unwrap(), data, "alice's file lands in her jail");
    assert_eq!(fs::metadata(&landed).unwrap().uid(), alice.0);
    // nothing outside the jail is reachable
    assert_failed(a.call("FSTAT", b"/outside.txt").unwrap(), 9);
    assert_failed(a.call("SHA256", b"../outside.txt").unwrap(), 1);
    assert_failed(a.call("SHA256", b"/home/../../outside.txt").unwrap(), 1);
    assert_failed(a.call("FSTAT", b"/bob").unwrap(), 9);
    // the jail itself cannot be changed by its user
    assert!(!ok(&a.call("MKDIR", b"/top").unwrap()));
    assert!(!ok(&a.call("CHMOD", b"/ 777").unwrap()));
    assert!(!ok(&a.call("RMDIR", b"/").unwrap()));
    assert!(!ok(&a.call("RMDIR", b"/home/..").unwrap()));
    let m = fs::metadata(srv.path("jails/alice")).unwrap();
    assert_eq!((m.uid(), m.mode() & 0o7777), (0, 0o755));
    // a second INJAIL-like step is not owed: the session serves at once
    assert_eq!(a.raw(b"ECHO jailed").unwrap(), b"jailed");

    // bob, on the same server at the same time, is not jailed
    let (mut b, bpid) = login(&srv, "bob", BOB_PW);
    assert_eq!(root_of(bpid), std::path::PathBuf::from("/"));
    assert_eq!(proc_ids(bpid).0, format!("{0} {0} {0} {0}", bob.0));
    assert_eq!(
        assert_ok(b.call("FSTAT", b"/outside.txt").unwrap()).split(' ').nth(1),
        Some("7")
    );
    assert!(ok(&b
        .sndfile(b"/bob/b.bin", false, &mut &data[..], &mut |_| {})
        .status()
        .unwrap()));
    assert_eq!(fs::read(srv.path("bob/b.bin")).unwrap(), data);
    assert!(
        ok(&b.call("FSTAT", b"/jails/alice/home").unwrap()),
        "bob sees the whole root"
    );
    assert_eq!(a.raw(b"ECHO still").unwrap(), b"still");

    // the jail is cleared with tfpasswd: alice's next session is not jailed
    let out = tfpasswd(&["-f", f, "mod", "alice", "--no-jail"], "");
    assert!(out.status.success(), "{out:?}");
    let (mut a2, a2pid) = login(&srv, "alice", ALICE_PW);
    assert_eq!(root_of(a2pid), std::path::PathBuf::from("/"));
    assert!(ok(&a2.call("FSTAT", b"/outside.txt").unwrap()));
    assert!(!fs::read_to_string(f).unwrap().contains("jails"));
}

/// INJAIL's jail with its key: the jailed user may not read, overwrite,
/// rename, copy or delete `jail.key`, by any path; the next entrance works.
#[test]
fn the_jail_guard_is_refused_to_the_jailed_user() {
    need_root();
    let carol = ensure_system_user("tfdujail3", &[]);
    let f = tempdir("ujail-guard").join("userdb");
    let f = f.to_str().unwrap();
    userdb_add(f, "carol", "tfdujail3", "carol pw", &[]);
    let srv = Server::start_opts(Opts {
        extra: &format!("userdb {f}\ninjail\n"),
        default_user: false,
        ..Default::default()
    });
    let cell = srv.path("jails/cell");
    mkdir(&cell.join("home"), 0o755, Some(carol));
    fs::write(cell.join("jail.key"), "the-token\n").unwrap();
    fs::set_permissions(cell.join("jail.key"), fs::Permissions::from_mode(0o644)).unwrap();
    std::os::unix::fs::symlink("../jail.key", cell.join("home/k")).unwrap();
    std::os::unix::fs::symlink("..", cell.join("home/up")).unwrap();

    let enter = || {
        let (mut c, _) = login(&srv, "carol", "carol pw");
        assert_ok(c.call("INJAIL", b"the-token | jails/cell").unwrap());
        c
    };
    let mut c = enter();
    for p in [
        &b"jail.key"[..],
        b"/jail.key",
        b"home/../jail.key",
        b"home/k",
        b"home/up/jail.key",
    ] {
        let shown = String::from_utf8_lossy(p);
        assert_failed(c.call("SHA256", p).unwrap(), 1);
        assert!(!ok(&c.call("FSTAT", p).unwrap()), "{shown}");
        let mut out = Vec::new();
        assert!(!ok(&c.rcvfile(p, false, &mut out).status().unwrap()), "{shown}");
        assert!(out.is_empty(), "{shown}: {out:?}");
        assert!(!ok(&c.call("DEL", p).unwrap()), "{shown}");
        assert!(
            !ok(&c.call("RENAM", &[p, b" | home/stolen"].concat()).unwrap()),
            "{shown}"
        );
        assert!(
            !ok(&c.call("COPY", &[p, b" | home/copied"].concat()).unwrap()),
            "{shown}"
        );
        assert!(!ok(&c.call("CHMOD", &[p, b" 666"].concat()).unwrap()), "{shown}");
        let st = c.sndfile(p, true, &mut &b"mine\n"[..], &mut |_| {}).status().unwrap();
        assert!(!ok(&st), "{shown}");
    }
    assert!(!ok(&c.call("RENAM", b"home/k | jail.key").unwrap()));
    assert!(!ok(&c.call("CPDIR", b"/ | home/all").unwrap()));
    // the jail directory itself
    assert!(!ok(&c.call("CHMOD", b"/ 777").unwrap()));
    assert!(!ok(&c.call("RMDIR", b"/").unwrap()));
    assert!(srv.log().contains("is the jail's key"), "{}", srv.log());
    assert_eq!(fs::read(cell.join("jail.key")).unwrap(), b"the-token\n");
    assert!(!cell.join("home/stolen").exists() && !cell.join("home/copied").exists());
    assert_eq!(fs::metadata(&cell).unwrap().mode() & 0o7777, 0o755);
    // the user's own files are as usable as before
    assert!(ok(&c.call("TOUCH", b"home/mine").unwrap()));
    c.end().unwrap();
    // and the next entrance works
    let mut c = enter();
    assert!(ok(&c.call("FSTAT", b"home/mine").unwrap()));
}

/// A jail whose guard a user could change is refused, with the reason logged
/// (INJAIL: FAILED 48; LOGIN into a user file jail: FAILED 48); the session
/// goes on, and a sound jail is then entered.
#[test]
fn a_jail_that_breaks_its_guard_is_refused_with_a_reason() {
    need_root();
    let dave = ensure_system_user("tfdujail4", &[]);
    let f = tempdir("ujail-bad").join("userdb");
    let f = f.to_str().unwrap();
    userdb_add(f, "dave", "tfdujail4", "dave pw", &["--jail", "/jails/dave"]);
    userdb_add(f, "erin", "tfdujail4", "erin pw", &[]);
    let srv = Server::start_opts(Opts {
        extra: &format!("userdb {f}\n"),
        default_user: false,
        ..Default::default()
    });
    let jail = srv.path("jails/dave");
    // the jail: owned by its user
    mkdir(&jail, 0o755, Some(dave));
    let mut c = srv.client();
    assert_failed(c.call("LOGIN", b"dave dave pw").unwrap(), 48);
    assert!(
        // the operator's log names the directory on disk, and the fix goes there
        srv.log().contains(&format!(
            "the user's jail /jails/dave cannot be used: /jails/dave ({jail} on disk) is owned by tfdujail4 (uid {}), \
             not root: its owner could rename, replace or empty it (chown root:root {jail},",
            dave.0,
            jail = jail.display()
        )),
        "{}",
        srv.log()
    );
    // root-owned but group-writable, and a parent writable by others
    mkdir(&jail, 0o775, Some((0, 0)));
    assert_failed(c.call("LOGIN", b"dave dave pw").unwrap(), 48);
    assert!(srv.log().contains(&format!(
        "/jails/dave ({jail} on disk) is writable by its group or others (mode 775): chmod go-w {jail}",
        jail = jail.display()
    )));
    mkdir(&jail, 0o755, None);
    mkdir(&srv.path("jails"), 0o777, None);
    assert_failed(c.call("LOGIN", b"dave dave pw").unwrap(), 48);
    assert!(srv.log().contains(&format!(
        "/jails ({} on disk) is writable by its group or others (mode 777)",
        srv.path("jails").display()
    )));
    // a symlinked jail is no jail
    mkdir(&srv.path("jails"), 0o755, None);
    fs::rename(&jail, srv.path("jails/real")).unwrap();
    std::os::unix::fs::symlink("real", &jail).unwrap();
    assert_failed(c.call("LOGIN", b"dave dave pw").unwrap(), 48);
    assert!(srv.log().contains("/jails/dave is a symlink"));
    fs::remove_file(&jail).unwrap();
    fs::rename(srv.path("jails/real"), &jail).unwrap();
    // still before LOGIN: a sound jail is entered now
    assert_failed(c.call("ECHO", b"x").unwrap(), 38);
    let pid = srv.session_pid();
    assert_ok(c.call("LOGIN", b"dave dave pw").unwrap());
    assert_eq!(root_of(pid), jail.canonicalize().unwrap());

    // INJAIL into a jail its user owns, or with a key others may write
    let srv = Server::start_opts(Opts {
        extra: &format!("userdb {f}\ninjail\n"),
        default_user: false,
        ..Default::default()
    });
    let cell = srv.path("cell");
    mkdir(&cell, 0o755, Some(dave));
    fs::write(cell.join("jail.key"), "tok\n").unwrap();
    let (mut c, _) = login(&srv, "erin", "erin pw");
    assert_failed(c.call("INJAIL", b"tok | cell").unwrap(), 48);
    assert!(
        srv.log()
            .contains("the jail breaks its guard: /cell is owned by tfdujail4 (uid"),
        "{}",
        srv.log()
    );
    mkdir(&cell, 0o755, Some((0, 0)));
    fs::set_permissions(cell.join("jail.key"), fs::Permissions::from_mode(0o666)).unwrap();
    assert_failed(c.call("INJAIL", b"tok | cell").unwrap(), 48);
    assert!(srv
        .log()
        .contains("/cell/jail.key is writable by its group or others (mode 666)"));
    nix::unistd::chown(&cell.join("jail.key"), Some(dave.0.into()), None).unwrap();
    fs::set_permissions(cell.join("jail.key"), fs::Permissions::from_mode(0o644)).unwrap();
    assert_failed(c.call("INJAIL", b"tok | cell").unwrap(), 48);
    assert!(srv.log().contains("/cell/jail.key is owned by tfdujail4 (uid"));
    nix::unistd::chown(&cell.join("jail.key"), Some(0.into()), None).unwrap();
    assert_ok(c.call("INJAIL", b"tok | cell").unwrap());

    // tfpasswd takes only a jail it can write as one directory
    for bad in ["/", "/a/../b", "a b", "/a:b"] {
        let out = tfpasswd(&["-f", f, "mod", "erin", "--jail", bad], "");
        assert_eq!(out.status.code(), Some(2), "{bad}: {out:?}");
    }
    let out = tfpasswd(&["-f", f, "mod", "erin", "--jail", "/x", "--no-jail"], "");
    assert_eq!(out.status.code(), Some(2));
}

/// A user file jail with the global `injail`: LOGIN enters the user's jail,
/// and INJAIL then picks a jail *inside* it, named from inside it; a jail
/// beside the user's (same token, same layout) is out of reach.
#[test]
fn injail_after_a_user_jail_stays_inside_it() {
    need_root();
    let alice = ensure_system_user("tfdujail1", &[]);
    let f = tempdir("ujail-nest-db").join("userdb");
    let f = f.to_str().unwrap();
    userdb_add(f, "alice", "tfdujail1", ALICE_PW, &["--jail", "/jails/alice"]);
    let srv = Server::start_opts(Opts {
        extra: &format!("userdb {f}\ninjail\n"),
        default_user: false,
        ..Default::default()
    });
    // root-owned jails, keys root's and readable; a directory alice writes
    mkdir(&srv.path("jails/alice/cell/home"), 0o755, Some(alice));
    mkdir(&srv.path("jails/alice/cell"), 0o755, Some((0, 0)));
    mkdir(&srv.path("jails/other"), 0o755, Some((0, 0)));
    for k in ["jails/alice/cell/jail.key", "jails/other/jail.key"] {
        fs::write(srv.path(k), "the-token\n").unwrap();
        fs::set_permissions(srv.path(k), fs::Permissions::from_mode(0o644)).unwrap();
    }
    fs::write(srv.path("jails/other/secret.txt"), b"beside").unwrap();

    // a jail beside hers, by every spelling, is not reached
    for spelling in [
        &b"the-token | jails/other"[..],
        b"the-token | ../other",
        b"the-token | /../other",
    ] {
        let (mut a, apid) = login(&srv, "alice", ALICE_PW);
        assert_eq!(root_of(apid), srv.path("jails/alice").canonicalize().unwrap());
        assert_eq!(proc_ids(apid).0, "0 0 0 0", "the switch waits for INJAIL");
        assert!(
            !ok(&a.call("INJAIL", spelling).unwrap()),
            "{} entered a jail outside hers",
            String::from_utf8_lossy(spelling)
        );
        if let Ok(root) = fs::read_link(format!("/proc/{apid}/root")) {
            assert_eq!(root, srv.path("jails/alice").canonicalize().unwrap());
        }
    }
    // the jail inside hers, named from inside it
    let (mut a, apid) = login(&srv, "alice", ALICE_PW);
    assert_ok(a.call("INJAIL", b"the-token | cell").unwrap());
    assert_eq!(root_of(apid), srv.path("jails/alice/cell").canonicalize().unwrap());
    assert_eq!(proc_ids(apid).0, format!("{0} {0} {0} {0}", alice.0));
    let data = pattern(10_000, 3);
    assert!(ok(&a
        .sndfile(b"/home/n.bin", false, &mut &data[..], &mut |_| {})
        .status()
        .unwrap()));
    assert_eq!(fs::read(srv.path("jails/alice/cell/home/n.bin")).unwrap(), data);
    assert_failed(a.call("SHA256", b"/jail.key").unwrap(), 1);
    assert!(!ok(&a.call("FSTAT", b"/../../other/secret.txt").unwrap()));
}
