//! Users: the tfpasswd tool round-trips a user file, and (as root, with real system
//! users created by useradd) LOGIN through the wire switches the session to the
//! mapped user for real, refuses wrong passwords and unknown names identically,
//! throttles guessing, and quotas stop uploads cleanly.

mod common;

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
    assert_eq!(fs::metadata(Path::new(&db)).unwrap().uid(), tfd::sys::geteuid());
    fs::remove_dir_all(&dir).unwrap();
}
