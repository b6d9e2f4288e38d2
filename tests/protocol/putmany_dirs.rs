//! Issue 62: a plain batch's directories (`D <path>`, typed in
//! `tfp_wire::batch::put::DirHead`), made as MKDIR makes them (the same
//! mode), one that exists fine; a file or a link at the name refuses the
//! entry (the link not followed) and what the batch holds below it is
//! refused untried, its data read all the same; a path out of the root is
//! refused; the rest of the batch goes on.

use std::fs;
use std::os::unix::fs::{symlink, MetadataExt};
use tfd_testkit::archive::{batch, batch_line, Item};
use tfd_testkit::*;
use tfp_wire::batch::put::{DirHead, FileHead};

fn dir(path: &str) -> Item {
    Item {
        frame: DirHead::new(path.as_bytes()).encode(),
        data: Vec::new(),
        file: false,
    }
}

fn plain(path: &str, data: &[u8]) -> Item {
    Item {
        frame: FileHead::new(data.len() as u64, None, None, path.as_bytes()).encode(),
        data: data.to_vec(),
        file: true,
    }
}

#[test]
fn a_plain_batch_makes_directories_and_refuses_what_stands_in_their_place() {
    let srv = Server::start();
    let mut c = srv.client();
    assert_eq!(c.raw(b"MKDIR by_mkdir").unwrap(), b"OK");
    let want = fs::metadata(srv.path("by_mkdir")).unwrap().mode() & 0o7777;
    fs::create_dir(srv.path("there")).unwrap();
    fs::write(srv.path("afile"), b"kept").unwrap();
    fs::create_dir(srv.path("elsewhere")).unwrap();
    symlink("elsewhere", srv.path("alink")).unwrap();
    let items = [
        dir("a"),
        dir("a/b"),
        dir("there"),
        dir("afile"),
        dir("afile/below"),
        dir("alink"),
        dir("alink/below"),
        dir("../out"),
        plain("a/b/f", b"data"),
        plain("alink/f", b"not through the link"),
        plain("afile/f", b"no"),
    ];
    let (stored, failed) = batch(&mut c, &items, false);
    let idx: Vec<u64> = failed.iter().map(|f| f.0).collect();
    assert_eq!(idx, [3, 4, 5, 6, 7, 9, 10], "{failed:?}");
    assert_eq!(stored, 4, "{failed:?}");
    assert!(failed[0].2.contains("a file stands"), "{failed:?}");
    assert!(failed[2].2.contains("not followed"), "{failed:?}");
    assert!(failed[1].2.contains("could not be made"), "{failed:?}");
    for d in ["a", "a/b"] {
        assert_eq!(fs::metadata(srv.path(d)).unwrap().mode() & 0o7777, want, "{d}");
    }
    assert_eq!(fs::read(srv.path("a/b/f")).unwrap(), b"data");
    assert_eq!(fs::read(srv.path("afile")).unwrap(), b"kept");
    assert_eq!(fs::read_dir(srv.path("elsewhere")).unwrap().count(), 0);
    // the session is still in step
    assert_eq!(c.raw(b"MKDIR after").unwrap(), b"OK");
}

/// A batch the server refuses whole (here a compressed one on a server
/// with `compression no`) is read to its end and each entry failed, its
/// directories too; on the old code a `D` entry put the refusal out of
/// step and ended the session.
#[test]
fn a_refused_batch_with_directories_fails_each_entry_and_the_session_goes_on() {
    let srv = Server::start_with("compression no\n");
    let mut c = srv.client();
    let items = [dir("d"), plain("d/f", b"")];
    let (stored, failures) = batch_line(&mut c, b"TFDPUTMANY 2 z", items.iter().map(|it| (None, it)));
    assert_eq!(stored, 0);
    assert_eq!(failures.iter().map(|f| f.0).collect::<Vec<_>>(), [0, 1], "{failures:?}");
    assert!(failures[0].2.contains("compression"), "{failures:?}");
    assert!(!srv.path("d").exists());
    assert_eq!(c.echo("on").unwrap(), b"on");
}
