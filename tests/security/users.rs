//! Users: the tfpasswd tool round-trips a user file, warns on weak passwords
//! and missing accounts, imports legacy files and loses nothing to concurrent
//! runs; and `--check-config` checks that served accounts reach and write
//! the root. LOGIN through the wire is in `users_login.rs`, what a logged-in
//! user may do in `users_rights.rs`.

// `..Default::default()` keeps these tests building whatever fields Opts gains.
#![allow(clippy::needless_update)]

use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;
use tfd::auth::userdb;
use tfd_testkit::users::{ensure_system_user, login_userdb, tfpasswd};
use tfd_testkit::*;

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
        "proto 2.4.1\nhash h\ndbdir {}\nport {}\nlisten 127.0.0.1\nprivkey_file {}\ncontrol_socket ctl.sock\n",
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
