//! What tf's backups and TFDBACKUP's backups put on a server stays within
//! the rights of the user who made them (issue 82): a backup directory
//! answers to TFPSFS as MKDIR and SNDFILE do, so a session that may not
//! write in a secure directory gets nothing into it through `--backup-dir`;
//! and a `tf backup` snapshot is private to its maker (TFDPRIVDIR), so
//! another user of a server without jails can neither list, read, restore
//! from nor delete in it.

use crate::backups::tf_as;
use crate::output::text;
use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;
use tfd_testkit::users::{ensure_system_user, userdb_add};
use tfd_testkit::*;
use tfp_client::Client;
use tfp_wire::backup::Backup;
use tfp_wire::secfs as bits;
use tfp_wire::Status;

fn call(c: &mut Client, name: &str, arg: &str) -> Status {
    c.call(name, arg.as_bytes()).unwrap()
}

fn sndfile(c: &mut Client, remote: &str, data: &[u8]) -> Result<(), tfp_client::Error> {
    c.sndfile(remote.as_bytes(), true, &mut &data[..], &mut |_| {})
}

fn into(dir: &str) -> Backup {
    Backup::Into {
        suffix: vec![],
        base: b"dst".to_vec(),
        dir: dir.as_bytes().to_vec(),
    }
}

/// `u` may read and list in the secure `vault/` (not SNDFILE, MKDIR nor
/// DEL there) and do all of them in the secure `open/`: a backup directory
/// in `vault/` is neither made nor written, `vault/protected.txt` is
/// replaced neither by an upload's backup nor by DEL's, and the backups
/// `u` may make in `open/` are made.
#[test]
fn a_backup_dir_answers_to_the_secure_directorys_rights() {
    let srv = Server::start();
    data_dir_write(&srv.path("vault/protected.txt"), b"protected");
    data_dir_write(&srv.path("dst/f"), b"old");
    data_dir_write(&srv.path("dst/protected.txt"), b"mine");
    fs::create_dir_all(srv.path("open")).unwrap();
    let read = bits::RFILE | bits::LDIR | bits::STAT;
    let mut owner = srv.client();
    assert_ok(call(&mut owner, "SETFSID", "alice"));
    for (dir, m) in [
        ("vault", read),
        ("open", read | bits::WFILE | bits::MKDIR | bits::DFILE),
    ] {
        assert_ok(call(&mut owner, "SETFSPERM", &format!("alice:4095 {dir}")));
        assert_ok(call(&mut owner, "SETFSPERM", &format!("u:{m} {dir}")));
    }
    let mut c = srv.client();
    assert_ok(call(&mut c, "SETFSID", "u"));
    // the rules the backups must meet
    assert!(sndfile(&mut c, "vault/x", b"x").is_err());
    assert_failed(call(&mut c, "MKDIR", "vault/d"), 1);
    assert_failed(call(&mut c, "DEL", "vault/protected.txt"), 1);

    // a backup directory made in vault/
    assert_eq!(
        c.command(&into("vault/bk").line().unwrap()).unwrap(),
        Status::Ok(vec![])
    );
    assert!(sndfile(&mut c, "dst/f", b"new").is_err(), "backup made in vault/bk");
    assert!(!srv.path("vault/bk").exists(), "vault/bk made");
    assert_eq!(fs::read(srv.path("dst/f")).unwrap(), b"old");
    // vault/protected.txt replaced by a backup, by an upload and by DEL
    assert_eq!(c.command(&into("vault").line().unwrap()).unwrap(), Status::Ok(vec![]));
    assert!(sndfile(&mut c, "dst/protected.txt", b"new").is_err());
    assert!(matches!(call(&mut c, "DEL", "dst/protected.txt"), Status::Failed(..)));
    assert_eq!(fs::read(srv.path("vault/protected.txt")).unwrap(), b"protected");
    assert_eq!(fs::read(srv.path("dst/protected.txt")).unwrap(), b"mine");
    let names: Vec<_> = fs::read_dir(srv.path("vault"))
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert!(
        names
            .iter()
            .all(|n| n.to_string_lossy().starts_with(".securefs") || n == "protected.txt"),
        "{names:?}"
    );

    // where u may, its backups are made: the directory, the old file kept
    assert_eq!(c.command(&into("open/bk").line().unwrap()).unwrap(), Status::Ok(vec![]));
    sndfile(&mut c, "dst/f", b"new").unwrap();
    assert_eq!(fs::read(srv.path("open/bk/f")).unwrap(), b"old");
    assert_eq!(call(&mut c, "DEL", "dst/f"), Status::Ok(vec![]));
    assert_eq!(fs::read(srv.path("open/bk/f")).unwrap(), b"new");
}

fn the_snapshot(dir: &Path) -> String {
    let mut v = dir_names(dir);
    assert_eq!(v.len(), 1, "{v:?}");
    v.pop().unwrap()
}

fn mode_owner(p: &Path) -> (u32, u32) {
    let m = fs::symlink_metadata(p).unwrap();
    (m.mode() & 0o7777, m.uid())
}

/// Two users of one server, neither jailed, its root 0755 and `pub/` 1777
/// (anybody makes things there). Bob backs up a tree with a 0700
/// directory and a 0777 one, into a name tf makes (`pub/bk`) and into one
/// he made himself with MKDIR, 0755 (`pub/old`): the name tf makes, each
/// snapshot and its part are 0700, the index 0600, all his. Carol cannot
/// list, read, restore from or delete in his snapshots (tf and raw), nor
/// read the names and SHA-256 of his 0700 directory's files from the
/// index; his own restore brings everything back.
#[test]
fn a_snapshot_is_its_makers_alone() {
    assert!(is_root(), "this test needs root (users)");
    let bob = ensure_system_user("tfdbp1", &[]);
    ensure_system_user("tfdbp2", &[]);
    let db = tempdir("backup_privacy_db").join("userdb");
    let db = db.to_str().unwrap();
    userdb_add(db, "bob", "tfdbp1", "bob pw", &[]);
    userdb_add(db, "carol", "tfdbp2", "carol pw", &[]);
    let srv = Server::start_opts(Opts {
        extra: &format!("userdb {db}\n"),
        default_user: false,
        ..Default::default()
    });
    fs::set_permissions(srv.path(""), fs::Permissions::from_mode(0o755)).unwrap();
    fs::create_dir_all(srv.path("pub")).unwrap();
    fs::set_permissions(srv.path("pub"), fs::Permissions::from_mode(0o1777)).unwrap();
    let here = tempdir("backup_privacy");
    fs::set_permissions(&here, fs::Permissions::from_mode(0o755)).unwrap();
    let src = here.join("src");
    data_dir_write(&src.join("f"), b"plain");
    data_dir_write(&src.join("secret/s.txt"), b"bob's secret");
    data_dir_write(&src.join("shared/t.txt"), b"in a 0777 directory");
    fs::set_permissions(src.join("secret"), fs::Permissions::from_mode(0o700)).unwrap();
    fs::set_permissions(src.join("shared"), fs::Permissions::from_mode(0o777)).unwrap();
    let (bob_state, carol_state) = (here.join("bob-state"), here.join("carol-state"));
    let mut c = srv.client();
    assert_ok(c.call("LOGIN", b"bob bob pw").unwrap());
    assert_ok(c.call("MKDIR", b"pub/old").unwrap());
    c.end().unwrap();
    for name in ["pub/bk", "pub/old"] {
        let o = tf_as(&srv, "bob", &bob_state, &["backup", src.to_str().unwrap(), name]);
        assert!(o.status.success(), "bob's backup {name}: {}", text(&o));
    }
    let snaps: Vec<String> = ["pub/bk", "pub/old"]
        .iter()
        .map(|n| format!("{n}/{}", the_snapshot(&srv.path(n))))
        .collect();

    let dest = here.join("carol-restored");
    for (name, s) in ["pub/bk", "pub/old"].iter().zip(&snaps) {
        let snap = s.rsplit('/').next().unwrap();
        let o = tf_as(&srv, "carol", &carol_state, &["backup", "list", name]);
        assert!(!text(&o).contains(" files"), "carol lists {name}: {}", text(&o));
        let at = format!("{name}@{snap}");
        let o = tf_as(&srv, "carol", &carol_state, &["restore", &at, dest.to_str().unwrap()]);
        assert!(!o.status.success(), "carol restores {at}: {}", text(&o));
        let mut c = srv.client();
        assert_ok(c.call("LOGIN", b"carol carol pw").unwrap());
        let mut sink = Vec::new();
        let got = c.rcvfile(format!("{s}/index").as_bytes(), false, &mut sink);
        assert!(got.is_err() || sink.is_empty(), "carol read {s}/index");
        assert!(matches!(
            c.call("SHA256", format!("{s}/index").as_bytes()).unwrap(),
            Status::Failed(..)
        ));
        assert!(
            c.listdir(format!("{s}/tree").as_bytes()).is_err(),
            "carol listed {s}/tree"
        );
        let t = format!("{s}/tree/shared/t.txt");
        assert!(
            matches!(c.call("DEL", t.as_bytes()).unwrap(), Status::Failed(..)),
            "carol deleted {t}"
        );
        assert!(srv.path(&t).exists(), "{t} gone");
        c.end().unwrap();
    }
    assert!(
        !dest.join("f").exists() && !dest.join("secret/s.txt").exists(),
        "bob's files restored by carol"
    );
    assert_eq!(mode_owner(&srv.path("pub/bk")), (0o700, bob.0), "pub/bk");
    for s in &snaps {
        assert_eq!(mode_owner(&srv.path(s)), (0o700, bob.0), "{s}");
        assert_eq!(
            mode_owner(&srv.path(&format!("{s}/index"))),
            (0o600, bob.0),
            "{s}/index"
        );
    }
    // his own restore: everything back
    let mine = here.join("bob-restored");
    let o = tf_as(&srv, "bob", &bob_state, &["restore", "pub/bk", mine.to_str().unwrap()]);
    assert!(o.status.success(), "bob's restore: {}", text(&o));
    assert_eq!(fs::read(mine.join("secret/s.txt")).unwrap(), b"bob's secret");
    let _ = fs::remove_dir_all(&here);
}

/// TFDPRIVDIR, what tf backup makes its directories with: exactly 0700 and
/// the session's, under a set-group-ID parent open to all; answered as
/// MKDIR is where one exists, and judged as MKDIR is by TFPSFS.
#[test]
fn tfdprivdir_makes_a_directory_its_users_alone() {
    let srv = Server::start();
    fs::create_dir_all(srv.path("shared")).unwrap();
    fs::set_permissions(srv.path("shared"), fs::Permissions::from_mode(0o2777)).unwrap();
    let mut c = srv.client();
    assert_ok(call(&mut c, "TFDPRIVDIR", "shared/mine"));
    let m = fs::metadata(srv.path("shared/mine")).unwrap();
    assert_eq!(m.mode() & 0o7777, 0o700);
    assert_eq!(m.uid(), fs::metadata(srv.path("shared")).unwrap().uid());
    assert!(matches!(call(&mut c, "TFDPRIVDIR", "shared/mine"), Status::Failed(..)));
    assert_failed(call(&mut c, "TFDPRIVDIR", "../out"), 1);
    fs::create_dir_all(srv.path("vault")).unwrap();
    assert_ok(call(&mut c, "SETFSID", "alice"));
    assert_ok(call(&mut c, "SETFSPERM", "alice:4095 vault"));
    assert_ok(call(&mut c, "SETFSPERM", &format!("u:{} vault", bits::WFILE)));
    assert_ok(call(&mut c, "SETFSID", "u"));
    assert_failed(call(&mut c, "TFDPRIVDIR", "vault/d"), 1);
    assert!(!srv.path("vault/d").exists());
}
