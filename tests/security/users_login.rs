//! LOGIN through the wire (as root, with real system users created by
//! useradd): it switches the session to the mapped user for real, refuses
//! wrong passwords and unknown names identically in one log line, throttles
//! guessing by address and by name, and says why the server side failed.

// `..Default::default()` keeps these tests building whatever fields Opts gains.
#![allow(clippy::needless_update)]

use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::PathBuf;
use std::time::{Duration, Instant};
use tfd_testkit::users::{ensure_system_user, tfpasswd, userdb_add};
use tfd_testkit::*;
use tfp_client::replies::AsStatus as _;
use tfp_wire::Status;

pub(super) const ALICE_PW: &str = "alice pw with spaces";

pub(super) const BOB_PW: &str = "bob-pw";

pub(super) struct MultiUser {
    pub(super) srv: Server,
    pub(super) db: PathBuf,
    pub(super) alice: (u32, u32),
    pub(super) bob: (u32, u32),
}

/// A multi-user server (root, no defusr) with users alice → tfdlogin1 (also in
/// group tfdgrp1) and bob → tfdlogin2, each with a directory of their own.
pub(super) fn multi_user(extra: &str, alice_quota: &str) -> Option<MultiUser> {
    if !require(is_root(), "needs root to create system users") {
        return None;
    }
    let alice = ensure_system_user("tfdlogin1", &["tfdgrp1"]);
    let bob = ensure_system_user("tfdlogin2", &[]);
    let dir = tempdir("userdb");
    let db = dir.join("userdb");
    let f = db.to_str().unwrap();
    let add = |name: &str, sys: &str, quota: &str, pw: &str| userdb_add(f, name, sys, pw, &["--quota", quota]);
    add("alice", "tfdlogin1", alice_quota, ALICE_PW);
    add("bob", "tfdlogin2", "default", BOB_PW);
    let srv = Server::start_opts(Opts {
        extra: &format!("userdb {f}\n{extra}"),
        default_user: false,
        ..Default::default()
    });
    for (d, (uid, gid)) in [("alice", alice), ("bob", bob)] {
        fs::create_dir(srv.path(d)).unwrap();
        nix::unistd::chown(&srv.path(d), Some(uid.into()), Some(gid.into())).unwrap();
    }
    Some(MultiUser { srv, db, alice, bob })
}

pub(super) fn login(c: &mut tfp_client::Client, user: &str, pw: &str) -> Status {
    c.call("LOGIN", format!("{user} {pw}").as_bytes()).unwrap()
}

#[test]
fn login_becomes_the_mapped_user() {
    let Some(m) = multi_user("", "default") else { return };
    let (uid, gid) = m.alice;
    let mut c = m.srv.client();
    // gating before LOGIN
    assert_failed(c.call("ECHO", b"x").unwrap(), 38);
    assert_failed(c.call("MKDIR", b"alice/x").unwrap(), 38);
    assert_failed(c.call("INJAIL", b"t | alice").unwrap(), 38);
    assert_failed(c.call("LOGIN", b"alice").unwrap(), 16);
    assert_failed(c.call("LOGIN", b" pw").unwrap(), 16);
    // the session is still root until LOGIN
    let pid = m.srv.session_pid();
    assert_eq!(proc_ids(pid).0, "0 0 0 0");
    assert_ok(login(&mut c, "alice", ALICE_PW));
    assert_failed(login(&mut c, "alice", ALICE_PW), 39);
    assert_failed(login(&mut c, "bob", BOB_PW), 39);

    // real, effective, saved and fs ids, and exactly the user's groups
    let (uids, gids, groups) = proc_ids(pid);
    assert_eq!(uids, format!("{uid} {uid} {uid} {uid}"));
    assert_eq!(gids, format!("{gid} {gid} {gid} {gid}"));
    let want = nix::unistd::getgrouplist(c"tfdlogin1", gid.into()).unwrap();
    let mut want: Vec<u32> = want.iter().map(|g| g.as_raw()).collect();
    let mut got: Vec<u32> = groups.split_whitespace().map(|g| g.parse().unwrap()).collect();
    want.sort();
    want.dedup();
    got.sort();
    assert_eq!(got, want);
    let extra = nix::unistd::Group::from_name("tfdgrp1").unwrap().unwrap().gid.as_raw();
    assert!(
        got.contains(&extra) && got.contains(&gid) && !got.contains(&0),
        "{got:?}"
    );

    // files created by the session are the user's
    assert!(ok(&c.call("MKDIR", b"alice/d").unwrap()));
    assert!(ok(&c.call("TOUCH", b"alice/d/f").unwrap()));
    assert!(ok(&c
        .sndfile(b"alice/up", false, &mut &b"data"[..], &mut |_| {})
        .status()
        .unwrap()));
    for p in ["alice/d", "alice/d/f", "alice/up"] {
        let md = fs::metadata(m.srv.path(p)).unwrap();
        assert_eq!((md.uid(), md.gid()), (uid, gid), "{p}");
    }
    // nothing outside the user's rights: bob's 0600 file, root's directory
    fs::write(m.srv.path("bob/secret"), b"bob only").unwrap();
    nix::unistd::chown(&m.srv.path("bob/secret"), Some(m.bob.0.into()), Some(m.bob.1.into())).unwrap();
    fs::set_permissions(m.srv.path("bob/secret"), fs::Permissions::from_mode(0o600)).unwrap();
    assert_failed(c.call("SHA256", b"bob/secret").unwrap(), 1);
    assert_failed(c.call("COPY", b"bob/secret | alice/stolen").unwrap(), 1);
    assert_failed(c.rcvfile(b"bob/secret", false, &mut Vec::new()).status().unwrap(), 1);
    assert_failed(c.call("DEL", b"bob/secret").unwrap(), 1);
    assert_failed(c.call("MKDIR", b"rootdir").unwrap(), 1);
    assert!(!m.srv.path("alice/stolen").exists());
    assert_eq!(fs::read(m.srv.path("bob/secret")).unwrap(), b"bob only");
    // CHMOD on someone else's file is refused honestly
    assert_failed(c.call("CHMOD", b"bob/secret 666").unwrap(), 41);
    assert_eq!(fs::metadata(m.srv.path("bob/secret")).unwrap().mode() & 0o777, 0o600);
    assert_eq!(c.raw(b"ECHO alive").unwrap(), b"alive");
    let log = m.srv.log();
    assert!(log.contains("LOGIN \"alice\" as tfdlogin1"), "{log}");
    assert!(!log.contains(ALICE_PW), "password in the log");
    drop(m.db);
}

#[test]
fn wrong_passwords_and_unknown_users_look_the_same() {
    let Some(m) = multi_user("login_max_failures_ip 0\nlogin_max_failures_user 0\n", "default") else {
        return;
    };
    let mut c = m.srv.client();
    let wrong = c.raw(b"LOGIN alice not-the-password").unwrap();
    let unknown = c.raw(b"LOGIN mallory not-the-password").unwrap();
    let prefix = c.raw(b"LOGIN alic alice pw with spaces").unwrap();
    let case = c.raw(b"LOGIN ALICE alice pw with spaces").unwrap();
    let partial = c.raw(b"LOGIN alice alice pw").unwrap();
    assert_eq!(wrong, b"FAILED 37 : Login failed.");
    for other in [&unknown, &prefix, &case, &partial] {
        assert_eq!(other, &wrong);
    }
    // the session goes on, and the right password still works
    assert_ok(login(&mut c, "alice", ALICE_PW));
    let log = m.srv.log();
    assert!(!log.contains("not-the-password"), "password in the log");
    assert!(!log.contains("$6$"), "hash in the log");
}

/// An operator's log: a refused LOGIN is one line that says so, in words
/// (issue 44: each refusal by `tf` added a WARN "closing: secure transport:
/// the stream ended without a close record (truncated)").
#[test]
fn a_refused_login_is_one_log_line_that_says_so() {
    let Some(m) = multi_user("login_max_failures_ip 0\nlogin_max_failures_user 0\n", "default") else {
        return;
    };
    for (name, why) in [
        ("alice", "wrong password"),
        ("mallory", "no such name in the user file"),
    ] {
        let before = m.srv.log().len();
        let o = m
            .srv
            .tf_command(&["--user", name, "echo", "hi"])
            .env("TF_PASSWORD", "not-the-password")
            .output()
            .unwrap();
        assert!(!o.status.success(), "{}", String::from_utf8_lossy(&o.stdout));
        m.srv.wait_sessions(0, "the refused tf's session ended");
        // the reaper logs nothing for a session that exits 0; give a late
        // warning the time to land
        std::thread::sleep(Duration::from_millis(300));
        let log = m.srv.log()[before..].to_string();
        let lines: Vec<&str> = log.lines().filter(|l| !l.contains("connection from")).collect();
        assert_eq!(
            lines
                .iter()
                .filter(|l| l.contains(&format!("LOGIN \"{name}\" refused: {why}")))
                .count(),
            1,
            "{log}"
        );
        // (tfd runs at debug here: the stream's end is a DEBUG line)
        assert!(
            !log.lines()
                .any(|l| !l.contains(" DEBUG ") && (l.contains("WARN") || l.contains("closing"))),
            "{log}"
        );
        assert!(!log.contains("not-the-password"), "password in the log");
    }
}

#[test]
fn throttle_bans_an_address_then_lets_it_in_again() {
    let Some(m) = multi_user(
        "login_max_failures_ip 3\nlogin_window 60\nlogin_ban 2\nlogin_max_failures_user 0\n",
        "default",
    ) else {
        return;
    };
    // failures from several sessions (processes) add up
    for name in ["alice", "nobody1", "bob"] {
        let mut c = m.srv.client();
        assert_failed(login(&mut c, name, "guess"), 37);
    }
    let banned_at = Instant::now();
    let mut c = m.srv.client();
    // the right password is refused the same way while the address is banned
    assert_failed(login(&mut c, "alice", ALICE_PW), 37);
    let log = m.srv.log();
    assert!(log.contains("127.0.0.1") && log.contains("banned for 2 s"), "{log}");
    assert!(log.contains("address banned"), "{log}");
    // after the ban
    std::thread::sleep(Duration::from_millis(3100).saturating_sub(banned_at.elapsed()));
    assert_ok(login(&mut c, "alice", ALICE_PW));
}

#[test]
fn throttle_locks_a_name_whether_or_not_it_exists() {
    let Some(m) = multi_user(
        "login_max_failures_ip 0\nlogin_max_failures_user 2\nlogin_lock 2\n",
        "default",
    ) else {
        return;
    };
    let mut c = m.srv.client();
    for name in ["alice", "alice", "ghost", "ghost"] {
        assert_failed(login(&mut c, name, "guess"), 37);
    }
    let locked_at = Instant::now();
    let a = c.raw(format!("LOGIN alice {ALICE_PW}").as_bytes()).unwrap();
    let g = c.raw(b"LOGIN ghost whatever").unwrap();
    // said in plain words (issue 32), the same for a name that exists and one
    // that does not: the lock tells nothing of which names are real
    let (a, g) = (String::from_utf8_lossy(&a), String::from_utf8_lossy(&g));
    assert!(
        a.starts_with("FAILED 37 : Temporarily refused: the name \"alice\" is locked for "),
        "{a}"
    );
    assert_eq!(a.replace("alice", "NAME"), g.replace("ghost", "NAME"));
    // other names are unaffected
    let mut c2 = m.srv.client();
    assert_ok(login(&mut c2, "bob", BOB_PW));
    assert!(m.srv.log().contains("name locked"), "{}", m.srv.log());
    std::thread::sleep(Duration::from_millis(3100).saturating_sub(locked_at.elapsed()));
    assert_ok(login(&mut c, "alice", ALICE_PW));
}

#[test]
fn login_failures_of_the_server_side() {
    if !require(is_root(), "needs root") {
        return;
    }
    // multi-user without a userdb: FAILED 40
    let srv = Server::start_opts(Opts {
        default_user: false,
        ..Default::default()
    });
    let mut c = srv.client();
    assert_failed(c.call("LOGIN", b"a b").unwrap(), 40);
    assert!(srv.log().contains("without userdb"), "{}", srv.log());
    // a user mapped to a system account that does not exist: like a wrong password
    let dir = tempdir("userdb-ghost");
    let db = dir.join("userdb");
    let f = db.to_str().unwrap();
    assert!(tfpasswd(
        &["-f", f, "add", "ghost", "--system-user", "tfd-no-such-user", "--stdin"],
        "pw\n"
    )
    .status
    .success());
    fs::write(dir.join("legacy"), "old oldpw\n").unwrap();
    let mut text = fs::read_to_string(&db).unwrap();
    text.push_str("old oldpw\n");
    fs::write(&db, text).unwrap();
    ensure_system_user("old", &[]);
    let srv = Server::start_opts(Opts {
        extra: &format!("userdb {f}\n"),
        default_user: false,
        ..Default::default()
    });
    let log = srv.log();
    assert!(log.contains("PLAIN-TEXT") && log.contains(":2:"), "{log}");
    let mut c = srv.client();
    assert_failed(c.call("LOGIN", b"ghost pw").unwrap(), 37);
    // the legacy line still works (migration), with a warning
    assert_ok(c.call("LOGIN", b"old oldpw").unwrap());
    assert!(srv.log().contains("legacy line"));
    // the file vanished: FAILED 40 for new sessions
    fs::remove_file(&db).unwrap();
    let mut c = srv.client();
    assert_failed(c.call("LOGIN", b"ghost pw").unwrap(), 40);
    // a broken file stops tfd at start-up with file:line
    fs::write(&db, "good:$6$x\n").unwrap();
    let conf = tempdir("conf").join("tfd.conf");
    fs::write(&conf, fs::read_to_string(&srv.conf).unwrap()).unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_tfd"))
        .args(["--check-config", "-c", conf.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains(&format!("{f}:1:")), "{err}");
}
