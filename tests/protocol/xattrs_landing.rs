//! Uploads that land with their attributes (doc/compatibility.md "Extended
//! attributes", issue 67 "never a mix"): in a batch that says `x`, an
//! attributes frame before a file's header gives the file its extended
//! attributes and ACLs on tfd's temporary, before its rename; a name the
//! session may not give fails that file alone, nothing landing at its name;
//! an attributes frame out of place ends the batch as any frame out of step
//! does. `TFDLANDXATTRS` registers the sets of a staged or delta commit.

use tfd_testkit::archive::{self, batch_landing, land, Item};
use tfd_testkit::*;
use tfp_wire::batch::put::AttrsHead;
use tfp_wire::xattr::{Land, LandAt, ACLS, LAND};
use tfp_wire::Status;

fn plain(path: &str, data: &[u8]) -> Item {
    archive::plain(path, Some(0o640), Some(1_600_000_000), data)
}

fn frame(l: Land) -> Option<Vec<u8>> {
    archive::attrs_frame(l)
}

/// Every attribute of `p` but tfd's own, as the kernel has them.
fn on_disk(p: &std::path::Path) -> Vec<(Vec<u8>, Vec<u8>)> {
    tfd_testkit::xattrs::of(p, |n| !n.starts_with(b"user.tfd."))
}

/// An access ACL naming user 12345 (the kernel's binary form).
fn named_acl() -> Vec<u8> {
    use tfd_testkit::acl::{value, ANY};
    value(&[(1, 6, ANY), (2, 4, 12345), (4, 4, ANY), (0x10, 4, ANY), (0x20, 0, ANY)])
}

#[test]
fn batch_files_land_with_the_sets_their_attributes_frame_gives() {
    let srv = Server::start();
    std::fs::create_dir_all(srv.path("t")).unwrap();
    // a default ACL: a new file inherits an access ACL from it
    let o = std::process::Command::new("setfacl")
        .args(["-d", "-m", "u:4242:r"])
        .arg(srv.path("t"))
        .output()
        .expect("setfacl (apt install acl)");
    assert!(o.status.success(), "setfacl: {}", String::from_utf8_lossy(&o.stderr));
    let mut c = srv.client();
    assert_eq!(
        c.raw(b"TFDPUTMANY 0 x").unwrap(),
        b"OK dirs modes scope=all",
        "a root session's scope"
    );
    let acl = named_acl();
    let (stored, failures) = batch_landing(
        &mut c,
        &[
            (
                frame(land(
                    true,
                    true,
                    &[(b"user.v", b"1"), (b"trusted.t", b"2"), (ACLS[0], &acl)],
                )),
                plain("t/a", b"aaaa"),
            ),
            (None, plain("t/b", b"bbbb")),
            (frame(land(false, true, &[])), plain("t/c", b"cccc")),
            (
                frame(land(true, false, &[(b"user.tfd.mark", b"x")])),
                plain("t/d", b"dddd"),
            ),
        ],
        false,
    );
    assert_eq!(failures.len(), 1, "{failures:?}");
    assert_eq!((failures[0].0, failures[0].1), (3, 1), "tfd's own names: {failures:?}");
    assert_eq!(stored, 3);
    assert!(!srv.path("t/d").exists(), "a refused file landed");
    let a = on_disk(&srv.path("t/a"));
    let names: Vec<&[u8]> = a.iter().map(|(n, _)| n.as_slice()).collect();
    assert_eq!(names, [&b"system.posix_acl_access"[..], b"trusted.t", b"user.v"]);
    assert_eq!(a[0].1, acl, "the ACL given, not the inherited one");
    // the mode's group bits are the ACL's mask (0), given after the mode
    use std::os::unix::fs::MetadataExt;
    assert_eq!(std::fs::metadata(srv.path("t/a")).unwrap().mtime(), 1_600_000_000);
    // no frame: the server's own making (the inherited ACL stays)
    let b = on_disk(&srv.path("t/b"));
    assert_eq!(b.iter().map(|(n, _)| n.as_slice()).collect::<Vec<_>>(), [ACLS[0]]);
    // ACLs carried, none given: the inherited one removed
    assert!(on_disk(&srv.path("t/c")).is_empty(), "{:?}", on_disk(&srv.path("t/c")));
    assert_eq!(std::fs::read(srv.path("t/c")).unwrap(), b"cccc");
    // the session goes on
    assert_eq!(c.echo("on").unwrap(), b"on");
}

#[test]
fn an_attributes_frame_out_of_place_ends_the_batch_and_its_file_never_lands() {
    let srv = Server::start();
    std::fs::create_dir_all(srv.path("t")).unwrap();
    let x = AttrsHead {
        land: land(true, false, &[(b"user.v", b"1")]),
    }
    .encode()
    .unwrap();
    let file = plain("t/f", b"ffff");
    type Case<'a> = (&'a str, &'a [u8], Vec<Vec<u8>>);
    let cases: Vec<Case> = vec![
        (
            "before a directory",
            b"TFDPUTMANY 1 x",
            vec![x.clone(), b"D t/d".to_vec()],
        ),
        (
            "two in a row",
            b"TFDPUTMANY 1 x",
            vec![x.clone(), x.clone(), file.frame.clone()],
        ),
        (
            "malformed",
            b"TFDPUTMANY 1 x",
            vec![b"X x 1 6:1:user.v".to_vec(), file.frame.clone()],
        ),
        (
            "in a batch without x",
            b"TFDPUTMANY 1",
            vec![x.clone(), file.frame.clone()],
        ),
    ];
    for (what, line, frames) in cases {
        let mut c = srv.client();
        assert_eq!(c.raw(line).unwrap(), b"OK", "{what}");
        for f in &frames {
            c.chan.tx.send_frame(f).unwrap();
        }
        let st = Status::parse(&c.chan.rx.recv_frame().unwrap());
        assert!(matches!(st, Status::Failed(16, _)), "{what}: {st:?}");
        assert!(c.call("ECHO", b"x").is_err(), "{what}: the session was not ended");
        assert!(
            !srv.path("t/f").exists() && !srv.path("t/d").exists(),
            "{what}: it landed"
        );
    }
    assert!(srv.log().contains("out of step"), "{}", srv.log());
    assert_eq!(srv.client().echo("still serving").unwrap(), b"still serving");
}

#[test]
fn tfdlandxattrs_takes_one_judged_list() {
    let srv = Server::start();
    let mut c = srv.client();
    let at = |l: Land, p: &'static str| {
        LandAt {
            land: l,
            path: p.as_bytes(),
        }
        .encode()
        .unwrap()
    };
    assert_ok(
        c.call(LAND, &at(land(true, true, &[(b"user.v", b"1")]), "big.bin"))
            .unwrap(),
    );
    for (what, arg, code) in [
        ("tfd's own", at(land(true, false, &[(b"user.tfd.x", b"1")]), "f"), 1),
        ("no path", b"x 0 ".to_vec(), 16),
        ("malformed", b"x 1 6:1:user.v".to_vec(), 16),
        (
            "an ACL's name without -A",
            b"x 1 23:0:system.posix_acl_accessf".to_vec(),
            16,
        ),
        ("a kind unknown", b"q 0 f".to_vec(), 16),
    ] {
        let st = c.call(LAND, &arg).unwrap();
        assert!(matches!(st, Status::Failed(c, _) if c == code), "{what}: {st:?}");
    }
    assert_eq!(c.echo("on").unwrap(), b"on");
}
