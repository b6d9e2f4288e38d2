//! TFDSTATID and TFDDELIF (doc/compatibility.md "Removal of the same file
//! only", issue 82): a file's identity moves with a rewrite of the same size
//! and with a file put in its place; TFDDELIF removes a file only while it
//! has the identity given, else FAILED 7 and the file stays; what it refuses
//! (a malformed identity, a directory) changes nothing.

use std::fs;
use std::io::Write;
use tfd_testkit::*;
use tfp_wire::same::{Ident, CHANGED, DEL_IF, STAT};
use tfp_wire::Status;

fn ident(c: &mut tfp_client::Client, p: &str) -> Ident {
    Ident::parse(assert_ok(c.call(STAT, p.as_bytes()).unwrap()).as_bytes()).unwrap()
}

#[test]
fn a_file_goes_only_while_it_is_the_file_named() {
    let srv = Server::start();
    let mut c = srv.client();
    fs::write(srv.path("f"), b"one").unwrap();
    let first = ident(&mut c, "f");
    assert_eq!(first.size, 3);
    assert_eq!(ident(&mut c, "f"), first, "the same file, the same identity");
    // rewritten in place, the same size: another identity, and not removed by the old one
    std::thread::sleep(std::time::Duration::from_millis(5));
    fs::OpenOptions::new()
        .write(true)
        .open(srv.path("f"))
        .unwrap()
        .write_all(b"two")
        .unwrap();
    let second = ident(&mut c, "f");
    assert_ne!(second, first);
    let st = c.call(DEL_IF, &first.del_if(b"f")).unwrap();
    assert_eq!(st, Status::Failed(7, CHANGED.into()));
    assert_eq!(fs::read(srv.path("f")).unwrap(), b"two");
    // another file put in its place: its inode tells
    fs::write(srv.path("g"), b"two").unwrap();
    fs::rename(srv.path("g"), srv.path("f")).unwrap();
    let st = c.call(DEL_IF, &second.del_if(b"f")).unwrap();
    assert_eq!(st, Status::Failed(7, CHANGED.into()));
    assert!(srv.path("f").exists());
    // the file named: removed
    let third = ident(&mut c, "f");
    assert_ok(c.call(DEL_IF, &third.del_if(b"f")).unwrap());
    assert!(!srv.path("f").exists());
    // refused, nothing changed
    fs::create_dir(srv.path("d")).unwrap();
    fs::write(srv.path("h"), b"h").unwrap();
    assert!(matches!(c.call(STAT, b"d").unwrap(), Status::Failed(23, _)));
    assert!(matches!(c.call(STAT, b"nothing").unwrap(), Status::Failed(9, _)));
    for bad in [&b"h"[..], b"1 2 3 4 h", b"1 1.000000000 1.000000000 4", b""] {
        assert!(matches!(c.call(DEL_IF, bad).unwrap(), Status::Failed(16, _)), "{bad:?}");
    }
    let h = ident(&mut c, "h");
    assert!(matches!(c.call(DEL_IF, &h.del_if(b"d")).unwrap(), Status::Failed(..)));
    assert!(srv.path("d").is_dir() && srv.path("h").exists());
    // a name with spaces
    fs::write(srv.path("a b"), b"x").unwrap();
    let ab = ident(&mut c, "a b");
    assert_ok(c.call(DEL_IF, &ab.del_if(b"a b")).unwrap());
    assert!(!srv.path("a b").exists());
}
