//! INJAIL: with `injail` set nothing but END (and LOGIN/KEEPALIVE/PROCKEY in
//! multi-user mode) works before it; the token must be a line of the jail's
//! `jail.key`; as root the session process really chroots (its /proc root is the
//! jail), then runs as its user, and no `..`, absolute path or symlink reaches
//! outside.

// `..Default::default()` keeps these tests building whatever fields Opts gains.
#![allow(clippy::needless_update)]

use tfp_client::replies::Split as _;

use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::time::Duration;
use tfd_testkit::users::{ensure_system_user, login_userdb};
use tfd_testkit::*;

/// A jail `cell` with a key file and some content, a secret outside it, and
/// symlinks planted inside that point out.
fn build_jail(srv: &Server) {
    let cell = srv.path("jails/cell");
    fs::create_dir_all(cell.join("sub")).unwrap();
    fs::write(cell.join("jail.key"), "other-token\r\nthe-token\n").unwrap();
    fs::write(cell.join("inside.txt"), b"inside").unwrap();
    fs::write(srv.path("outside.txt"), b"outside").unwrap();
    fs::write(srv.dir.join("far-outside.txt"), b"far").unwrap();
    std::os::unix::fs::symlink("/etc/passwd", cell.join("abs")).unwrap();
    std::os::unix::fs::symlink("../../outside.txt", cell.join("rel")).unwrap();
    std::os::unix::fs::symlink("../inside.txt", cell.join("sub/ok")).unwrap();
}

#[test]
fn single_user_jail_is_a_real_chroot() {
    let srv = Server::start_with("injail\n");
    build_jail(&srv);
    let mut c = srv.client();
    // only END and INJAIL before INJAIL in single-user mode
    for cmd in [&b"ECHO x"[..], b"LS", b"LOGIN a b", b"FSTAT inside.txt", b"MKDIR x"] {
        let st = tfp_wire::Status::parse(&c.raw(cmd).unwrap());
        assert_failed(st, 50);
    }
    assert_failed(c.call("INJAIL", b"the-token").unwrap(), 16);
    assert_failed(c.call("INJAIL", b" | jails/cell").unwrap(), 16);
    assert_failed(c.call("INJAIL", b"wrong | jails/cell").unwrap(), 49);
    assert_failed(c.call("INJAIL", b"the-tok | jails/cell").unwrap(), 49);
    assert_failed(c.call("INJAIL", b"the-token | jails").unwrap(), 48);
    assert_failed(c.call("INJAIL", b"the-token | jails/none").unwrap(), 48);
    assert_failed(c.call("INJAIL", b"the-token | jails/cell/inside.txt").unwrap(), 48);
    assert_failed(c.call("INJAIL", b"the-token | ../x").unwrap(), 1);
    assert_ok(c.call("INJAIL", b"the-token | jails/cell").unwrap());
    assert_failed(c.call("INJAIL", b"the-token | jails/cell").unwrap(), 51);

    // paths now resolve inside the jail
    assert_eq!(
        assert_ok(c.call("FSTAT", b"inside.txt").unwrap()).split(' ').nth(1),
        Some("6")
    );
    assert_eq!(assert_ok(c.call("SHA256", b"/sub/ok").unwrap()).len(), 66);
    let ls = String::from_utf8(c.list(false, b"/").split().unwrap().unwrap()).unwrap();
    assert!(ls.contains("F: inside.txt") && ls.contains("D: sub/"), "{ls}");
    // nothing outside: .., absolute paths, symlinks absolute or relative
    for p in [
        &b".."[..],
        b"../outside.txt",
        b"/../outside.txt",
        b"sub/../../outside.txt",
        b"abs",
        b"rel",
    ] {
        assert_failed(c.call("SHA256", p).unwrap(), 1);
    }
    assert_failed(c.call("FSTAT", b"/jails/cell/inside.txt").unwrap(), 9);
    assert_failed(c.call("FSTAT", b"/outside.txt").unwrap(), 9);
    assert_failed(c.call("FSTAT", b"/etc/passwd").unwrap(), 9);
    // writes land in the jail
    assert!(ok(&c.call("MKDIR", b"/made").unwrap()));
    assert!(srv.path("jails/cell/made").is_dir());
    assert!(!srv.path("made").exists());

    if require_root("the chroot is seen in /proc") {
        // the session process's root directory is the jail itself
        let pid = srv.session_pid();
        let root = fs::read_link(format!("/proc/{pid}/root")).unwrap();
        assert_eq!(root, fs::canonicalize(srv.path("jails/cell")).unwrap());
        assert!(srv.log().contains("(chroot)"), "{}", srv.log());
    }
    assert_eq!(c.raw(b"ECHO alive").unwrap(), b"alive");
}

#[test]
fn injail_without_the_flag_is_refused() {
    let srv = Server::start();
    build_jail(&srv);
    let mut c = srv.client();
    assert_failed(c.call("INJAIL", b"the-token | jails/cell").unwrap(), 51);
    assert!(ok(&c.call("FSTAT", b"outside.txt").unwrap()));
}

#[test]
fn defusr_session_switches_after_the_chroot() {
    if !require(is_root(), "needs root") {
        return;
    }
    let (uid, gid) = ensure_system_user("tfdjail1", &[]);
    let srv = Server::start_opts(Opts {
        extra: "defusr tfdjail1\ninjail\n",
        default_user: false,
        ..Default::default()
    });
    build_jail(&srv);
    let cell = srv.path("jails/cell");
    // the jail is root's (its guard); the user writes in home/
    fs::create_dir_all(cell.join("home")).unwrap();
    nix::unistd::chown(&cell.join("home"), Some(uid.into()), Some(gid.into())).unwrap();
    let mut c = srv.client();
    let pid = srv.session_pid();
    // a jail the user may not enter: INJAIL opens it as the user, so it fails
    fs::set_permissions(&cell, fs::Permissions::from_mode(0o700)).unwrap();
    assert_failed(c.call("INJAIL", b"the-token | jails/cell").unwrap(), 1);
    assert_eq!(proc_ids(pid).0, "0 0 0 0", "still root before INJAIL");
    fs::set_permissions(&cell, fs::Permissions::from_mode(0o755)).unwrap();
    // a key readable by root only is read as root (no script of the user's
    // can read it either)
    fs::set_permissions(cell.join("jail.key"), fs::Permissions::from_mode(0o600)).unwrap();
    assert_ok(c.call("INJAIL", b"the-token | jails/cell").unwrap());
    let (uids, gids, groups) = proc_ids(pid);
    assert_eq!(uids, format!("{uid} {uid} {uid} {uid}"));
    assert_eq!(gids, format!("{gid} {gid} {gid} {gid}"));
    assert_eq!(groups, format!("{gid}"));
    assert_eq!(
        fs::read_link(format!("/proc/{pid}/root")).unwrap(),
        fs::canonicalize(&cell).unwrap()
    );
    assert!(ok(&c.call("TOUCH", b"home/mine").unwrap()));
    let m = fs::metadata(cell.join("home/mine")).unwrap();
    assert_eq!((m.uid(), m.gid()), (uid, gid));
    // a root-owned 0600 file inside the jail stays out of reach
    fs::write(cell.join("rootonly"), b"r").unwrap();
    fs::set_permissions(cell.join("rootonly"), fs::Permissions::from_mode(0o600)).unwrap();
    assert_failed(c.call("SHA256", b"rootonly").unwrap(), 1);
    // CHOWN resolves names from the tables read before the chroot
    assert_ok(c.call("CHOWN", b"home/mine tfdjail1 tfdjail1").unwrap());
    assert_failed(c.call("CHOWN", b"home/mine root root").unwrap(), 44);
    assert_failed(c.call("CHOWN", b"home/mine no-such-user-x root").unwrap(), 42);
}

#[test]
fn multi_user_login_then_injail() {
    if !require(is_root(), "needs root") {
        return;
    }
    let (uid, gid) = ensure_system_user("tfdjail2", &[]);
    let f = login_userdb("jail-userdb", "carol", "tfdjail2", "carol pw");
    let srv = Server::start_opts(Opts {
        extra: &format!("userdb {f}\ninjail\n"),
        default_user: false,
        ..Default::default()
    });
    build_jail(&srv);
    let mut c = srv.client();
    let pid = srv.session_pid();
    assert_failed(c.call("ECHO", b"x").unwrap(), 38);
    assert_failed(c.call("INJAIL", b"the-token | jails/cell").unwrap(), 38);
    assert_ok(c.call("LOGIN", b"carol carol pw").unwrap());
    // logged in, not jailed yet: still only INJAIL (and LOGIN, which says 39)
    assert_failed(c.call("ECHO", b"x").unwrap(), 50);
    assert_failed(c.call("LOGIN", b"carol carol pw").unwrap(), 39);
    assert_eq!(proc_ids(pid).0, "0 0 0 0", "the switch waits for the chroot");
    assert_ok(c.call("INJAIL", b"the-token | jails/cell").unwrap());
    assert_eq!(proc_ids(pid).0, format!("{uid} {uid} {uid} {uid}"));
    assert_eq!(proc_ids(pid).1, format!("{gid} {gid} {gid} {gid}"));
    assert_eq!(
        fs::read_link(format!("/proc/{pid}/root")).unwrap(),
        fs::canonicalize(srv.path("jails/cell")).unwrap()
    );
    assert_eq!(c.raw(b"ECHO in").unwrap(), b"in");
    assert_failed(c.call("SHA256", b"../outside.txt").unwrap(), 1);
    assert_failed(c.call("SHA256", b"rel").unwrap(), 1);
}

#[test]
fn pre_jail_phase_is_bounded_by_prelogin_timeout() {
    let srv = Server::start_with("injail\nprelogin_timeout 1\n");
    let mut c = srv.client();
    std::thread::sleep(Duration::from_millis(1600));
    assert!(c.raw(b"ECHO x").is_err(), "session should have been ended");
}
