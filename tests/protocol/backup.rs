//! TFDBACKUP (doc/compatibility.md "Backups"): once set, an upload that
//! replaces a file keeps the old one at its backup name (another name of
//! the old file keeps the old contents) and DEL moves the file there;
//! what the grammar does not hold, a path out of the root and a symlink on
//! the way to the backup directory are refused with FAILED, and nothing
//! changes.

use std::fs;
use std::os::unix::fs::MetadataExt;
use tfd_testkit::*;
use tfp_wire::backup::Backup;
use tfp_wire::Status;

fn set(c: &mut tfp_client::Client, b: &Backup) -> Status {
    c.command(&b.line().unwrap()).unwrap()
}

fn sndfile(c: &mut tfp_client::Client, remote: &str, data: &[u8]) -> Result<(), tfp_client::Error> {
    c.sndfile(remote.as_bytes(), true, &mut &data[..], &mut |_| {})
}

#[test]
fn a_replaced_file_is_kept_and_del_moves_it_to_its_backup() {
    let srv = Server::start();
    let mut c = srv.client();
    fs::create_dir_all(srv.path("d/sub")).unwrap();
    fs::write(srv.path("d/sub/f"), b"old").unwrap();
    fs::hard_link(srv.path("d/sub/f"), srv.path("second")).unwrap();
    let into = Backup::Into {
        suffix: b".1".to_vec(),
        base: b"d".to_vec(),
        dir: b"d/../bak".to_vec(),
    };
    assert_eq!(set(&mut c, &into), Status::Ok(vec![]));
    sndfile(&mut c, "d/sub/f", b"new").unwrap();
    assert_eq!(fs::read(srv.path("d/sub/f")).unwrap(), b"new");
    assert_eq!(fs::read(srv.path("bak/sub/f.1")).unwrap(), b"old");
    assert_eq!(fs::read(srv.path("second")).unwrap(), b"old");
    assert_eq!(
        fs::metadata(srv.path("second")).unwrap().ino(),
        fs::metadata(srv.path("bak/sub/f.1")).unwrap().ino()
    );
    assert_eq!(c.call("DEL", b"d/sub/f").unwrap(), Status::Ok(vec![]));
    assert!(!srv.path("d/sub/f").exists());
    assert_eq!(fs::read(srv.path("bak/sub/f.1")).unwrap(), b"new");
    // off: a replacement keeps nothing
    assert_eq!(set(&mut c, &Backup::Off), Status::Ok(vec![]));
    fs::write(srv.path("g"), b"old g").unwrap();
    sndfile(&mut c, "g", b"new g").unwrap();
    assert_eq!(fs::read_dir(srv.path("")).unwrap().count(), 4, "d, bak, second, g");
    // beside the file
    assert_eq!(set(&mut c, &Backup::Beside(b"~".to_vec())), Status::Ok(vec![]));
    sndfile(&mut c, "g", b"newer g").unwrap();
    assert_eq!(fs::read(srv.path("g~")).unwrap(), b"new g");
    // PUT writes in place and could keep nothing: refused onto a file, a new name taken
    let put = |c: &mut tfp_client::Client, remote: &str| {
        c.put(remote.as_bytes(), 0, 65536, &mut &b"in place"[..], &mut |_| {})
    };
    assert!(put(&mut c, "g").is_err());
    assert_eq!(fs::read(srv.path("g")).unwrap(), b"newer g");
    put(&mut c, "fresh").unwrap();
    assert_eq!(fs::read(srv.path("fresh")).unwrap(), b"in place");
}

#[test]
fn refusals_change_nothing() {
    let srv = Server::start();
    let mut c = srv.client();
    for bad in [&b"TFDBACKUP"[..], b"TFDBACKUP 2f", b"TFDBACKUP zz", b"TFDBACKUP - d|e"] {
        assert!(
            matches!(c.command(bad).unwrap(), Status::Failed(16, _)),
            "{:?}",
            String::from_utf8_lossy(bad)
        );
    }
    let out = Backup::Into {
        suffix: vec![],
        base: b"d".to_vec(),
        dir: b"../../out".to_vec(),
    };
    assert!(matches!(set(&mut c, &out), Status::Failed(1, _)));
    // a symlink on the way: the upload fails, the file and the link's target stay
    let elsewhere = tempdir("protocol_backup_elsewhere");
    std::os::unix::fs::symlink(&elsewhere, srv.path("link")).unwrap();
    fs::write(srv.path("f"), b"old").unwrap();
    let via_link = Backup::Into {
        suffix: vec![],
        base: b".".to_vec(),
        dir: b"link/b".to_vec(),
    };
    assert_eq!(set(&mut c, &via_link), Status::Ok(vec![]));
    assert!(sndfile(&mut c, "f", b"new").is_err());
    assert_eq!(fs::read(srv.path("f")).unwrap(), b"old");
    assert_eq!(fs::read_dir(&elsewhere).unwrap().count(), 0);
    // DEL refused the same way
    assert!(matches!(c.call("DEL", b"f").unwrap(), Status::Failed(..)));
    assert_eq!(fs::read(srv.path("f")).unwrap(), b"old");
    // a directory at the backup name is in the way
    fs::create_dir_all(srv.path("f~")).unwrap();
    assert_eq!(set(&mut c, &Backup::Beside(b"~".to_vec())), Status::Ok(vec![]));
    assert!(sndfile(&mut c, "f", b"new").is_err());
    assert_eq!(fs::read(srv.path("f")).unwrap(), b"old");
    let _ = fs::remove_dir_all(&elsewhere);
}
