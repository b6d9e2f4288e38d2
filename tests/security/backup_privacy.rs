//! What tf's backups and TFDBACKUP's backups put on a server stays within
//! the rights of the user who made them (issue 82): a backup directory
//! answers to TFPSFS as MKDIR and SNDFILE do, so a session that may not
//! write in a secure directory gets nothing into it through `--backup-dir`.

use std::fs;
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
