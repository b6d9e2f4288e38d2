//! Users: the tfpasswd tool round-trips a user file, and (as root, with real system
//! users created by useradd) LOGIN through the wire switches the session to the
//! mapped user for real, refuses wrong passwords and unknown names identically,
//! throttles guessing, and quotas stop uploads cleanly.

// `..Default::default()` keeps these tests building whatever fields Opts gains.
#![allow(clippy::needless_update)]

use crate::common;
use crate::common::reply::Answer as _;
use tfp_client::replies::{AsStatus as _, Split as _};

use common::*;
use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;
use tfd::auth::userdb;

#[test]
fn tfpasswd_round_trips_users() {
    let dir = tempdir("tfpasswd");
    let db = dir.join("userdb");
    let f = db.to_str().unwrap();

    let out = tfpasswd(&["-f", f, "add", "alice", "--stdin", "--quota", "10M"], "s3cret pw\n");
    assert!(out.status.success(), "{out:?}");
    let out = tfpasswd(
        &[
            "-f",
            f,
            "add",
            "bob",
            "--stdin",
            "--system-user",
            "nobody",
            "--sha256",
            "--rounds",
            "2000",
        ],
        "bobpw\r\n",
    );
    assert!(out.status.success(), "{out:?}");
    assert_eq!(fs::metadata(&db).unwrap().permissions().mode() & 0o777, 0o600);

    let text = fs::read_to_string(&db).unwrap();
    assert!(
        !text.contains("s3cret") && !text.contains("bobpw"),
        "plain text stored:\n{text}"
    );
    assert!(text.contains("alice:$6$") && text.contains(":10M\n"), "{text}");
    assert!(
        text.contains("bob:$5$rounds=2000$") && text.contains(":nobody:\n"),
        "{text}"
    );
    let d = userdb::load(&db).unwrap();
    assert!(d.authenticate(b"alice", b"s3cret pw").result.is_ok());
    assert!(d.authenticate(b"bob", b"bobpw").result.is_ok());
    assert!(d.authenticate(b"alice", b"bobpw").result.is_err());

    // adding twice, unknown users, empty passwords and bad names are refused, and
    // nothing changes
    let before = fs::read(&db).unwrap();
    assert_eq!(
        tfpasswd(&["-f", f, "add", "alice", "--stdin"], "x\n").status.code(),
        Some(1)
    );
    assert_eq!(
        tfpasswd(&["-f", f, "passwd", "carol", "--stdin"], "x\n").status.code(),
        Some(1)
    );
    assert_eq!(
        tfpasswd(&["-f", f, "add", "carol", "--stdin"], "\n").status.code(),
        Some(1)
    );
    assert_eq!(
        tfpasswd(&["-f", f, "add", "a:b", "--stdin"], "x\n").status.code(),
        Some(2)
    );
    assert_eq!(
        tfpasswd(&["-f", f, "del", "--quota", "1", "alice"], "").status.code(),
        Some(2)
    );
    assert_eq!(tfpasswd(&["-f", f, "frobnicate"], "").status.code(), Some(2));
    assert_eq!(fs::read(&db).unwrap(), before);

    // list never shows hashes
    let out = tfpasswd(&["-f", f, "list"], "");
    let list = String::from_utf8(out.stdout).unwrap();
    assert!(
        list.contains("alice") && list.contains("10M") && list.contains("active"),
        "{list}"
    );
    assert!(list.contains("nobody") && !list.contains('$'), "{list}");

    // passwd, lock, unlock, mod
    assert!(tfpasswd(&["-f", f, "passwd", "alice", "--stdin"], "new pw\n")
        .status
        .success());
    assert!(tfpasswd(&["-f", f, "lock", "bob"], "").status.success());
    let d = userdb::load(&db).unwrap();
    assert!(d.authenticate(b"alice", b"new pw").result.is_ok());
    assert!(d.authenticate(b"alice", b"s3cret pw").result.is_err());
    assert_eq!(
        d.authenticate(b"bob", b"bobpw").result.unwrap_err(),
        userdb::Refusal::Locked
    );
    assert!(String::from_utf8(tfpasswd(&["-f", f, "list"], "").stdout)
        .unwrap()
        .contains("locked"));
    assert!(tfpasswd(&["-f", f, "unlock", "bob"], "").status.success());
    assert!(
        tfpasswd(&["-f", f, "mod", "bob", "--quota", "0", "--system-user", "bob"], "")
            .status
            .success()
    );
    let d = userdb::load(&db).unwrap();
    assert!(d.authenticate(b"bob", b"bobpw").result.is_ok());
    let bob = d.get("bob").unwrap();
    assert_eq!((bob.system_user(), bob.quota), ("bob", userdb::QuotaSpec::Unlimited));

    // del
    assert!(tfpasswd(&["-f", f, "del", "bob"], "").status.success());
    assert!(userdb::load(&db).unwrap().get("bob").is_none());
    assert_eq!(tfpasswd(&["-f", f, "del", "bob"], "").status.code(), Some(1));
    assert!(tfpasswd(&["-f", f, "check"], "").status.success());
    fs::remove_dir_all(&dir).unwrap();
}

/// tfpasswd warns on a weak password (it sets it anyway), and `check` names
/// the users whose system account does not exist: their LOGIN would fail.
#[test]
fn tfpasswd_warns_on_weak_passwords_and_missing_accounts() {
    let dir = tempdir("tfpasswd-warn");
    let db = dir.join("userdb");
    let f = db.to_str().unwrap();
    let err = |o: &std::process::Output| String::from_utf8_lossy(&o.stderr).into_owned();
    for (name, pw, weak) in [
        ("short", "abc12", Some("only 5 character(s), fewer than 8")),
        ("letters", "abcdefghijk", Some("one class of character alone")),
        ("digits", "12345678901", Some("one class of character alone")),
        ("strong", "s3cret pass", None),
    ] {
        let o = tfpasswd(
            &["-f", f, "add", name, "--system-user", "nobody", "--stdin"],
            &format!("{pw}\n"),
        );
        assert!(o.status.success(), "{o:?}");
        match weak {
            Some(why) => assert!(
                err(&o).contains(&format!("warning: weak password: {why}")),
                "{name}: {o:?}"
            ),
            None => assert!(!err(&o).contains("weak"), "{name}: {o:?}"),
        }
        // set anyway
        assert!(userdb::load(&db)
            .unwrap()
            .authenticate(name.as_bytes(), pw.as_bytes())
            .result
            .is_ok());
    }
    let o = tfpasswd(&["-f", f, "passwd", "strong", "--stdin"], "pw\n");
    assert!(o.status.success() && err(&o).contains("weak password"), "{o:?}");
    // every account exists: no warning
    let o = tfpasswd(&["-f", f, "check"], "");
    assert!(o.status.success() && !err(&o).contains("does not exist"), "{o:?}");
    // a user whose system account does not exist is named, with its line
    let ghost = "tfdnosuchacct9";
    assert!(nix::unistd::User::from_name(ghost).unwrap().is_none());
    let o = tfpasswd(
        &["-f", f, "add", "gone", "--system-user", ghost, "--stdin"],
        "s3cret pass\n",
    );
    assert!(o.status.success(), "{o:?}");
    let o = tfpasswd(&["-f", f, "check"], "");
    let text = err(&o);
    assert!(
        text.contains(&format!(
            "{f}:5: \"gone\" runs as system user \"{ghost}\", which does not exist"
        )),
        "{text}"
    );
    assert_eq!(text.matches("does not exist").count(), 1, "{text}");
    assert!(
        String::from_utf8_lossy(&o.stdout).contains("5 user(s), 0 legacy, 1 without a system account"),
        "{o:?}"
    );
    fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn tfpasswd_imports_legacy_files() {
    let dir = tempdir("tfpasswd-import");
    let db = dir.join("userdb");
    let f = db.to_str().unwrap();
    // in place: the reference's plain-text lines become hashes, comments stay
    fs::write(&db, "# old users\nann pw one\nben  two \n").unwrap();
    let out = tfpasswd(&["-f", f, "check"], "");
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("plain-text"), "{out:?}");
    assert!(tfpasswd(&["-f", f, "import"], "").status.success());
    let text = fs::read_to_string(&db).unwrap();
    assert!(text.starts_with("# old users\nann:$6$"), "{text}");
    assert!(!text.contains("pw one"), "{text}");
    let d = userdb::load(&db).unwrap();
    assert!(d.legacy_users().is_empty());
    assert!(d.authenticate(b"ann", b"pw one").result.is_ok());
    assert!(d.authenticate(b"ben", b" two ").result.is_ok());
    // from another file: added, hashed; a name clash changes nothing
    let legacy = dir.join("legacy");
    fs::write(&legacy, "cat meow\n").unwrap();
    assert!(tfpasswd(&["-f", f, "import", legacy.to_str().unwrap()], "")
        .status
        .success());
    assert!(userdb::load(&db).unwrap().authenticate(b"cat", b"meow").result.is_ok());
    let before = fs::read(&db).unwrap();
    assert_eq!(
        tfpasswd(&["-f", f, "import", legacy.to_str().unwrap()], "")
            .status
            .code(),
        Some(1)
    );
    assert_eq!(fs::read(&db).unwrap(), before);
    fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn tfpasswd_concurrent_runs_lose_nothing() {
    let dir = tempdir("tfpasswd-race");
    let db = dir.join("userdb");
    let f = db.to_str().unwrap().to_string();
    let children: Vec<_> = (0..8)
        .map(|i| {
            let mut c = std::process::Command::new(env!("CARGO_BIN_EXE_tfpasswd"))
                .args(["-f", &f, "add", &format!("user{i}"), "--stdin", "--rounds", "1000"])
                .stdin(std::process::Stdio::piped())
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .spawn()
                .unwrap();
            use std::io::Write;
            c.stdin
                .take()
                .unwrap()
                .write_all(format!("pw{i}\n").as_bytes())
                .unwrap();
            c
        })
        .collect();
    for mut c in children {
        assert!(c.wait().unwrap().success());
    }
    let d = userdb::load(&db).unwrap();
    for i in 0..8 {
        let pw = format!("pw{i}");
        assert!(d
            .authenticate(format!("user{i}").as_bytes(), pw.as_bytes())
            .result
            .is_ok());
    }
    // only the file and its lock are left
    let mut names: Vec<String> = fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names, ["userdb", "userdb.lock"]);
    assert_eq!(fs::metadata(Path::new(&db)).unwrap().uid(), tfd_sys::geteuid());
    fs::remove_dir_all(&dir).unwrap();
}

// ---- LOGIN through the wire, as root, with real system users ----------------

use std::path::PathBuf;
use std::time::{Duration, Instant};
use tfp_wire::Status;

const ALICE_PW: &str = "alice pw with spaces";
const BOB_PW: &str = "bob-pw";

struct MultiUser {
    srv: Server,
    db: PathBuf,
    alice: (u32, u32),
    bob: (u32, u32),
}

/// A multi-user server (root, no defusr) with users alice → tfdlogin1 (also in
/// group tfdgrp1) and bob → tfdlogin2, each with a directory of their own.
fn multi_user(extra: &str, alice_quota: &str) -> Option<MultiUser> {
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

fn login(c: &mut tfp_client::Client, user: &str, pw: &str) -> Status {
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
fn quota_stops_uploads_and_copies_cleanly() {
    let Some(m) = multi_user("", "1000") else { return };
    let mut c = m.srv.client();
    assert_ok(login(&mut c, "alice", ALICE_PW));
    let big = vec![7u8; 1500];
    let dir = m.srv.path("alice");

    assert_failed(
        c.sndfile(b"alice/snd", false, &mut &big[..], &mut |_| {})
            .status()
            .unwrap(),
        13,
    );
    assert!(dir_names(&dir).is_empty(), "SNDFILE left {:?}", dir_names(&dir));
    assert_eq!(c.sup(b"alice/sup", &mut &big[..]).answer().unwrap(), -1);
    assert!(dir_names(&dir).is_empty(), "SUP left {:?}", dir_names(&dir));
    let r = c.put(b"alice/put", 0, 512, &mut &big[..], &mut |_| {});
    assert!(
        matches!(r, Err(tfp_client::Error::Cancelled { command: "PUT" })),
        "{r:?}"
    );
    assert!(dir_names(&dir).is_empty(), "PUT left {:?}", dir_names(&dir));

    // within the quota things work; the sum counts
    assert!(ok(&c
        .sndfile(b"alice/a", false, &mut &big[..600], &mut |_| {})
        .status()
        .unwrap()));
    assert_failed(
        c.sndfile(b"alice/b", false, &mut &big[..600], &mut |_| {})
            .status()
            .unwrap(),
        13,
    );
    assert_eq!(dir_names(&dir), ["a"]);
    assert_failed(c.call("COPY", b"alice/a | alice/a2").unwrap(), 13);
    assert!(ok(&c.call("MKDIR", b"alice/t").unwrap()));
    assert!(ok(&c
        .sndfile(b"alice/t/f", false, &mut &big[..300], &mut |_| {})
        .status()
        .unwrap()));
    assert_failed(c.call("CPDIR", b"alice/t | alice/t2").unwrap(), 13);
    assert_eq!(dir_names(&dir), ["a", "t"]);
    // replacing a file gives its size back
    assert!(ok(&c
        .sndfile(b"alice/a", true, &mut &big[..650], &mut |_| {})
        .status()
        .unwrap()));
    assert_eq!(fs::read(dir.join("a")).unwrap().len(), 650);
    // PUT may grow a file only up to the quota
    let r = c.put(b"alice/a", 650, 25, &mut &big[..100], &mut |_| {});
    assert!(
        matches!(r, Err(tfp_client::Error::Cancelled { command: "PUT" })),
        "{r:?}"
    );
    assert_eq!(fs::read(dir.join("a")).unwrap().len(), 650 + 50);
    // deleting frees space
    assert!(ok(&c.call("DEL", b"alice/t/f").unwrap()));
    assert!(ok(&c
        .sndfile(b"alice/c", false, &mut &big[..290], &mut |_| {})
        .status()
        .unwrap()));
    assert_eq!(c.raw(b"ECHO alive").unwrap(), b"alive");
    assert!(m.srv.log().contains("quota of user alice exceeded"));
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

#[test]
fn chmod_answers_honestly() {
    let srv = Server::start();
    let mut c = srv.client();
    fs::write(srv.path("f"), b"x").unwrap();
    fs::create_dir(srv.path("d")).unwrap();
    fs::write(srv.path("a b"), b"x").unwrap();
    let mode = |p: &str| fs::metadata(srv.path(p)).unwrap().mode() & 0o7777;
    assert_ok(c.call("CHMOD", b"f 600").unwrap());
    assert_eq!(mode("f"), 0o600);
    assert_ok(c.call("CHMOD", b"f 0444").unwrap());
    assert_eq!(mode("f"), 0o444);
    assert_ok(c.call("CHMOD", b"a b 640").unwrap());
    assert_eq!(mode("a b"), 0o640);
    assert_ok(c.call("CHMOD", b"d 2775").unwrap());
    assert_eq!(mode("d"), 0o2775);
    assert_ok(c.call("CHMOD", b"d 1777").unwrap());
    assert_eq!(mode("d"), 0o1777);
    // refusals, each with its status, nothing changed
    assert_failed(c.call("CHMOD", b"f").unwrap(), 16);
    assert_failed(c.call("CHMOD", b" 600").unwrap(), 16);
    assert_failed(c.call("CHMOD", b"missing 600").unwrap(), 9);
    assert_failed(c.call("CHMOD", b"f 9").unwrap(), 41);
    assert_failed(c.call("CHMOD", b"f 12345").unwrap(), 41);
    assert_failed(c.call("CHMOD", b"f rw").unwrap(), 41);
    assert_failed(c.call("CHMOD", b"f 4755").unwrap(), 41);
    assert_failed(c.call("CHMOD", b"f 2755").unwrap(), 41);
    assert_eq!(mode("f"), 0o444);
    assert_failed(c.call("CHMOD", b"../x 600").unwrap(), 1);
    // a symlink out of the root is never followed
    let outside = tempdir("chmod-outside").join("victim");
    fs::write(&outside, b"v").unwrap();
    fs::set_permissions(&outside, fs::Permissions::from_mode(0o644)).unwrap();
    std::os::unix::fs::symlink(&outside, srv.path("out")).unwrap();
    assert_failed(c.call("CHMOD", b"out 777").unwrap(), 1);
    assert_eq!(fs::metadata(&outside).unwrap().mode() & 0o777, 0o644);
    // a symlink inside is followed, as chmod(2) does
    std::os::unix::fs::symlink("f", srv.path("in")).unwrap();
    assert_ok(c.call("CHMOD", b"in 640").unwrap());
    assert_eq!(mode("f"), 0o640);
    assert_eq!(c.raw(b"ECHO alive").unwrap(), b"alive");
}

#[test]
fn chown_takes_names_and_numbers() {
    if !require(is_root(), "needs root") {
        return;
    }
    let (uid, gid) = ensure_system_user("tfdlogin2", &[]);
    let grp = ensure_system_user("tfdlogin1", &["tfdgrp1"]);
    let g1 = nix::unistd::Group::from_name("tfdgrp1").unwrap().unwrap().gid.as_raw();
    let srv = Server::start(); // defusr root: root may give files away
    let mut c = srv.client();
    fs::write(srv.path("f"), b"x").unwrap();
    fs::write(srv.path("a b"), b"x").unwrap();
    let owner = |p: &str| {
        let m = fs::metadata(srv.path(p)).unwrap();
        (m.uid(), m.gid())
    };
    assert_ok(c.call("CHOWN", b"f tfdlogin2 tfdgrp1").unwrap());
    assert_eq!(owner("f"), (uid, g1));
    assert_ok(c.call("CHOWN", format!("a b {} {}", grp.0, gid).as_bytes()).unwrap());
    assert_eq!(owner("a b"), (grp.0, gid));
    assert_failed(c.call("CHOWN", b"f no-such-user-x tfdgrp1").unwrap(), 42);
    assert_failed(c.call("CHOWN", b"f tfdlogin2 no-such-group-x").unwrap(), 43);
    assert_failed(c.call("CHOWN", b"missing tfdlogin2 tfdgrp1").unwrap(), 44);
    assert_failed(c.call("CHOWN", b"f tfdlogin2").unwrap(), 16);
    assert_failed(c.call("CHOWN", b"../f root root").unwrap(), 1);
    assert_eq!(owner("f"), (uid, g1));
    // an unprivileged session cannot give its files away
    let Some(m) = multi_user("", "default") else { return };
    let mut c = m.srv.client();
    assert_ok(login(&mut c, "alice", ALICE_PW));
    assert!(ok(&c.call("TOUCH", b"alice/mine").unwrap()));
    assert_failed(c.call("CHOWN", b"alice/mine tfdlogin2 tfdlogin2").unwrap(), 44);
    // but may change the group to one of its own
    assert_ok(c.call("CHOWN", b"alice/mine tfdlogin1 tfdgrp1").unwrap());
    let md = fs::metadata(m.srv.path("alice/mine")).unwrap();
    assert_eq!((md.uid(), md.gid()), (m.alice.0, g1));
}

#[test]
fn rmsecdir_needs_a_secure_dir_and_its_token() {
    let srv = Server::start();
    let mut c = srv.client();
    fs::create_dir_all(srv.path("keep.sd/inner.sd")).unwrap();
    fs::write(srv.path("keep.sd/tok"), b"").unwrap();
    fs::write(srv.path("keep.sd/inner.sd/f"), b"x").unwrap();
    fs::create_dir(srv.path("plain")).unwrap();
    fs::write(srv.path("plain/tok"), b"").unwrap();
    fs::write(srv.path("file.sd"), b"").unwrap();
    assert_failed(c.call("RMSECDIR", b"tok keep.sd").unwrap(), 16);
    assert_failed(c.call("RMSECDIR", b" | keep.sd").unwrap(), 16);
    assert_failed(c.call("RMSECDIR", b"wrong | keep.sd").unwrap(), 47);
    assert_failed(c.call("RMSECDIR", b"inner.sd/f | keep.sd").unwrap(), 47);
    assert_failed(c.call("RMSECDIR", b".. | keep.sd").unwrap(), 47);
    assert_failed(c.call("RMSECDIR", b"tok | plain").unwrap(), 47);
    assert_failed(c.call("RMSECDIR", b"tok | file.sd").unwrap(), 47);
    assert_failed(c.call("RMSECDIR", b"tok | gone.sd").unwrap(), 10);
    assert_failed(c.call("RMSECDIR", b"tok | ").unwrap(), 15);
    assert_failed(c.call("RMSECDIR", b"tok | ../x.sd").unwrap(), 1);
    assert!(srv.path("keep.sd/inner.sd/f").exists() && srv.path("plain/tok").exists());
    // locked
    assert_ok(c.call("LOCK", b"lk").unwrap());
    fs::write(srv.path("keep.sd/lk"), b"").unwrap();
    assert_failed(c.call("RMSECDIR", b"tok | keep.sd").unwrap(), 30);
    fs::remove_file(srv.path("keep.sd/lk")).unwrap();
    // the right token removes it all, secure subdirectories included
    assert_ok(c.call("RMSECDIR", b"tok | keep.sd").unwrap());
    assert!(!srv.path("keep.sd").exists());
    // RMDIR keeps secure directories; LS does not show them
    fs::create_dir_all(srv.path("top/s.sd")).unwrap();
    assert_failed(c.call("RMDIR", b"top").unwrap(), 15);
    assert!(srv.path("top/s.sd").exists());
    let ls = c.list(false, b"top").split().unwrap().unwrap();
    assert!(ls.is_empty(), "{}", String::from_utf8_lossy(&ls));
}

/// Issue 23, finding 5: the first SETFSPERM of a directory names its owner, and
/// any user could make it: bob, on a shared sticky directory (as /tmp), locked
/// alice out of her own file there. Only the directory's owner (or root) may
/// make it secure now; what alice owns stays hers.
#[test]
fn only_the_directory_owner_makes_it_secure() {
    use std::os::unix::fs::PermissionsExt;
    let Some(m) = multi_user("", "default") else { return };
    let shared = m.srv.path("shared");
    fs::create_dir(&shared).unwrap();
    fs::set_permissions(&shared, fs::Permissions::from_mode(0o1777)).unwrap();
    let mut alice = m.srv.client();
    assert_ok(login(&mut alice, "alice", ALICE_PW));
    assert_ok(alice.call("TOUCH", b"shared/a.txt").unwrap());
    let mut bob = m.srv.client();
    assert_ok(login(&mut bob, "bob", BOB_PW));
    assert_ok(bob.call("SETFSID", b"bob").unwrap());
    // neither the shared directory (root's) nor alice's own may bob secure
    assert_failed(bob.call("SETFSPERM", b"bob:4095 shared").unwrap(), 57);
    assert_failed(bob.call("SETFSPERM", b"bob:4095 alice").unwrap(), 57);
    assert!(!shared.join(".securefs_metadata.rd").exists());
    assert!(!m.srv.path("alice/.securefs_metadata.rd").exists());
    // alice still reaches her file, and may secure her own directory
    assert_ok(alice.call("FSTAT", b"shared/a.txt").unwrap());
    assert_failed(alice.call("ISSECFS", b"shared").unwrap(), 60);
    assert_ok(alice.call("SETFSID", b"alice").unwrap());
    assert_ok(alice.call("SETFSPERM", b"alice:4095 alice").unwrap());
    assert_ok(alice.call("ISSECFS", b"alice").unwrap());
    alice.end().unwrap();
    bob.end().unwrap();
}

/// `tfd --check-config` checks what multi-user set-ups trip on (issue 23, item
/// 10): the accounts sessions run as (defusr, or every LOGIN user's system user)
/// must reach and write the served root. It said "valid" when defusr could not
/// even open it (clients then saw the connection close during the handshake),
/// and warned about a root owned by a LOGIN user's account, the ownership that
/// makes such a set-up work.
#[test]
fn check_config_checks_that_served_accounts_reach_and_write_the_root() {
    if !require(is_root(), "needs root") {
        return;
    }
    let (uid, gid) = ensure_system_user("tfdcc1", &[]);
    let dir = tempdir("checkroot");
    fs::set_permissions(&dir, fs::Permissions::from_mode(0o755)).unwrap();
    let data = dir.join("data");
    fs::create_dir(&data).unwrap();
    write_private_key(&dir.join("key.pem"));
    let base = format!(
        "proto 2.4.1\nhash h\ndbdir {}\nport {}\nlisten 127.0.0.1\nprivkey_file {}\n",
        data.display(),
        free_port(),
        dir.join("key.pem").display()
    );
    let run = |extra: &str| {
        let p = dir.join("t.conf");
        fs::write(&p, format!("{base}{extra}")).unwrap();
        let o = std::process::Command::new(env!("CARGO_BIN_EXE_tfd"))
            .args(["-c", p.to_str().unwrap(), "--check-config"])
            .output()
            .unwrap();
        (
            o.status.code(),
            String::from_utf8_lossy(&o.stderr).into_owned() + &String::from_utf8_lossy(&o.stdout),
        )
    };
    let set_mode = |m: u32| fs::set_permissions(&data, fs::Permissions::from_mode(m)).unwrap();
    // defusr cannot open the root: an error, not "valid"
    set_mode(0o700);
    let (code, out) = run("defusr tfdcc1\n");
    assert_eq!(code, Some(1), "{out}");
    assert!(
        out.contains("tfdcc1") && out.contains("cannot open the served root"),
        "{out}"
    );
    assert!(!out.contains("is valid"), "{out}");
    // it can open it but not write: said plainly
    set_mode(0o755);
    let (code, out) = run("defusr tfdcc1\n");
    assert_eq!(code, Some(0), "{out}");
    assert!(
        out.contains("tfdcc1") && out.contains("cannot write the served root"),
        "{out}"
    );
    assert!(!out.contains("configuration") || !out.contains("is valid\n"), "{out}");
    // owned by defusr: no complaint at all
    nix::unistd::chown(&data, Some(uid.into()), Some(gid.into())).unwrap();
    let (code, out) = run("defusr tfdcc1\n");
    assert_eq!(code, Some(0), "{out}");
    assert!(
        out.contains("is valid") && !out.contains("cannot") && !out.contains("owned by"),
        "{out}"
    );

    // multi-user: a LOGIN user's system account owns the root: no ownership warning
    ensure_system_user("tfdcc2", &[]);
    let f = login_userdb("checkroot-userdb", "carl", "tfdcc2", "carl pw");
    let (code, out) = run(&format!("userdb {f}\n"));
    assert_eq!(code, Some(0), "{out}");
    assert!(
        out.contains("carl") && out.contains("cannot write the served root"),
        "{out}"
    );
    let (uid2, gid2) = ensure_system_user("tfdcc2", &[]);
    nix::unistd::chown(&data, Some(uid2.into()), Some(gid2.into())).unwrap();
    let (code, out) = run(&format!("userdb {f}\n"));
    assert_eq!(code, Some(0), "{out}");
    assert!(
        out.contains("is valid") && !out.contains("cannot") && !out.contains("owned by"),
        "{out}"
    );
    let _ = fs::remove_dir_all(&dir);
}
