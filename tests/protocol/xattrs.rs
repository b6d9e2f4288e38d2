//! Extended attributes (doc/compatibility.md "Extended attributes"):
//! TFDXATTRS tells a file's or directory's attributes and TFDSETXATTRS makes
//! them a list, through the descriptor it opened; tfd's own `user.tfd.`
//! bookkeeping is never shown or set, a symlink is never followed, and a
//! malformed or oversized list is FAILED with the session going on.
//! TFDACLS and TFDSETACLS do the same for the POSIX ACLs alone.

use std::fs::File;
use std::os::fd::AsFd;
use tfd_testkit::*;
use tfp_wire::xattr::{Listing, Scope, Set, Xattrs, GET, MAX_VALUE, SET};
use tfp_wire::Status;

fn list(pairs: &[(&str, &[u8])]) -> Xattrs {
    Xattrs::new(pairs.iter().map(|(n, v)| (n.as_bytes().to_vec(), v.to_vec())).collect()).unwrap()
}

/// The attributes of the local `p` (not `user.tfd.`), as the kernel has them.
fn on_disk(p: &std::path::Path) -> Vec<(Vec<u8>, Vec<u8>)> {
    tfd_testkit::xattrs::of(p, |n| n.starts_with(b"user."))
}

fn set(c: &mut tfp_client::Client, x: &Xattrs, path: &str) -> Status {
    c.call(
        SET,
        &Set {
            xattrs: x.clone(),
            path: path.as_bytes(),
        }
        .encode(),
    )
    .unwrap()
}

#[test]
fn attributes_are_told_and_replaced_but_never_tfds_own() {
    let srv = Server::start();
    // a 64 KiB value: ext4 keeps a block's worth
    let _m = tmpfs::mount(&srv.path("t"), "8m");
    std::fs::create_dir(srv.path("t/d")).unwrap();
    std::fs::write(srv.path("t/f"), b"data").unwrap();
    let f = File::open(srv.path("t/f")).unwrap();
    tfd_sys::fsetxattr(f.as_fd(), c"user.tfd.part", b"stage").unwrap();
    tfd_sys::fsetxattr(f.as_fd(), c"user.old", b"x").unwrap();
    let mut c = srv.client();
    let big = vec![0xa5u8; MAX_VALUE];
    let want = list(&[("user.big", &big), ("user.bin", b"\0\xff:1 2\n"), ("user.e", b"")]);
    assert_eq!(set(&mut c, &want, "t/f"), Status::Ok(vec![]));
    assert_eq!(
        set(&mut c, &list(&[("user.a", b"1"), ("user.b", b"2")]), "/t/d"),
        Status::Ok(vec![])
    );
    // tfd's mark stays, the old one is gone, the rest as given
    assert_eq!(tfd_sys::fgetxattr(f.as_fd(), c"user.tfd.part", 64).unwrap(), b"stage");
    let mut expect = want.pairs().to_vec();
    expect.push((b"user.tfd.part".to_vec(), b"stage".to_vec()));
    expect.sort();
    assert_eq!(on_disk(&srv.path("t/f")), expect);
    for (path, x) in [("t/f", &want), ("t/d", &list(&[("user.a", b"1"), ("user.b", b"2")]))] {
        let st = c.call(GET, path.as_bytes()).unwrap();
        let Status::Ok(d) = st else { panic!("{st:?}") };
        let l = Listing::parse(&d).unwrap();
        // tfd runs the test's sessions as root, unjailed
        assert_eq!(l.scope, Scope::All);
        assert_eq!(l.xattrs.within(Scope::User), *x, "{path}");
    }
    // the empty list removes them all (tfd's own stays)
    assert_eq!(set(&mut c, &Xattrs::default(), "t/f"), Status::Ok(vec![]));
    assert_eq!(
        on_disk(&srv.path("t/f")),
        [(b"user.tfd.part".to_vec(), b"stage".to_vec())]
    );
    // more values than one list carries (set on the host): refused, not
    // held, and the session goes on
    std::fs::write(srv.path("t/many"), b"").unwrap();
    let m = File::open(srv.path("t/many")).unwrap();
    for i in 0..5 {
        let n = std::ffi::CString::new(format!("user.v{i}")).unwrap();
        tfd_sys::fsetxattr(m.as_fd(), &n, &big).unwrap();
    }
    assert!(matches!(c.call(GET, b"t/many").unwrap(), Status::Failed(7, _)));
    assert!(matches!(c.call(GET, b"t/d").unwrap(), Status::Ok(_)));
}

#[test]
fn malformed_lists_links_and_tfds_names_are_failed_and_the_session_goes_on() {
    let srv = Server::start();
    std::fs::write(srv.path("f"), b"data").unwrap();
    std::os::unix::fs::symlink("f", srv.path("in")).unwrap();
    std::os::unix::fs::symlink("/etc/passwd", srv.path("out")).unwrap();
    nix::unistd::mkfifo(&srv.path("fifo"), nix::sys::stat::Mode::from_bits_truncate(0o644)).unwrap();
    let mut c = srv.client();
    let five: Vec<u8> = [&b"5 "[..]]
        .into_iter()
        .chain((0..5).map(|_| &b""[..]))
        .collect::<Vec<_>>()
        .concat();
    let mut huge = b"1 8:65537:user.big".to_vec();
    huge.extend(vec![1u8; 65_537]);
    huge.extend(b"f");
    let mut many = format!("{} ", 5).into_bytes();
    for i in 0..5 {
        many.extend(format!("7:{MAX_VALUE}:user.v{i}").as_bytes());
        many.extend(vec![2u8; MAX_VALUE]);
    }
    many.extend(b"f");
    let bad: Vec<Vec<u8>> = vec![
        b"".to_vec(),
        b"1 f".to_vec(),
        b"x 6:1:user.a1f".to_vec(),
        b"1 6:9:user.a1f".to_vec(),
        b"2 6:1:user.b16:1:user.a2f".to_vec(),
        b"1 6:1:user.a1".to_vec(),
        b"1 12:1:system.posix1f".to_vec(),
        b"1 15:1:user.tfd.part1f".to_vec(),
        b"99999 f".to_vec(),
        five,
        huge,
        many,
    ];
    for arg in &bad {
        let st = c.call(SET, arg).unwrap();
        assert!(
            matches!(st, Status::Failed(..)),
            "{:?}: {st:?}",
            String::from_utf8_lossy(&arg[..arg.len().min(40)])
        );
    }
    let one = list(&[("user.a", b"1")]);
    for path in ["in", "out", "fifo", "missing", "../../etc/passwd", "out/x"] {
        assert!(matches!(set(&mut c, &one, path), Status::Failed(..)), "{path}");
        assert!(
            matches!(c.call(GET, path.as_bytes()).unwrap(), Status::Failed(..)),
            "{path}"
        );
    }
    assert!(on_disk(&srv.path("f")).is_empty());
    // the session is intact
    assert_eq!(set(&mut c, &one, "f"), Status::Ok(vec![]));
    assert_eq!(on_disk(&srv.path("f")), one.pairs());
}

/// An access ACL naming a user and a group (the kernel's binary form).
fn named_acl() -> Vec<u8> {
    use tfd_testkit::acl::{value, ANY};
    value(&[
        (1, 6, ANY),
        (2, 6, 12345),
        (4, 4, ANY),
        (8, 4, 54321),
        (0x10, 6, ANY),
        (0x20, 4, ANY),
    ])
}

/// TFDACLS and TFDSETACLS (`-A`) carry the POSIX ACLs alone, in scope
/// `acl`: TFDXATTRS never lists them and TFDSETXATTRS never sets them;
/// TFDSETACLS leaves `user.` attributes as they are; an access ACL the
/// mode says alone is not told; a directory takes a default ACL.
#[test]
fn acls_are_their_own_commands_and_attributes_never_carry_them() {
    use tfp_wire::xattr::{ACLS, ACL_GET, ACL_SET};
    let srv = Server::start();
    std::fs::create_dir_all(srv.path("t/d")).unwrap();
    std::fs::write(srv.path("t/f"), b"data").unwrap();
    let f = File::open(srv.path("t/f")).unwrap();
    tfd_sys::fsetxattr(f.as_fd(), c"user.keep", b"1").unwrap();
    let mut c = srv.client();
    let acl = named_acl();
    let access = |v: &[u8]| Xattrs::new(vec![(ACLS[0].to_vec(), v.to_vec())]).unwrap();
    let arg = |x: &Xattrs, p: &str| {
        Set {
            xattrs: x.clone(),
            path: p.as_bytes(),
        }
        .encode()
    };
    let st = c.call(SET, &arg(&access(&acl), "t/f")).unwrap();
    assert!(matches!(st, Status::Failed(1, _)), "TFDSETXATTRS of an ACL: {st:?}");
    assert_ok(c.call(ACL_SET, &arg(&access(&acl), "t/f")).unwrap());
    assert_eq!(
        tfd_sys::fgetxattr(f.as_fd(), c"system.posix_acl_access", 1024).unwrap(),
        acl
    );
    assert_eq!(on_disk(&srv.path("t/f")), [(b"user.keep".to_vec(), b"1".to_vec())]);
    let told = |c: &mut tfp_client::Client, cmd: &str, p: &str| match c.call(cmd, p.as_bytes()).unwrap() {
        Status::Ok(d) => Listing::parse(&d).unwrap(),
        st => panic!("{cmd} {p}: {st:?}"),
    };
    let l = told(&mut c, ACL_GET, "t/f");
    assert_eq!((l.scope, l.xattrs), (Scope::Acl, access(&acl)));
    assert_eq!(told(&mut c, GET, "t/f").xattrs, list(&[("user.keep", b"1")]));
    // a default ACL on a directory, none on a file; a set without names removes
    let both = Xattrs::new(vec![(ACLS[0].to_vec(), acl.clone()), (ACLS[1].to_vec(), acl.clone())]).unwrap();
    assert_ok(c.call(ACL_SET, &arg(&both, "t/d")).unwrap());
    assert_eq!(told(&mut c, ACL_GET, "t/d").xattrs, both);
    assert!(matches!(
        c.call(ACL_SET, &arg(&both, "t/f")).unwrap(),
        Status::Failed(..)
    ));
    assert_ok(c.call(ACL_SET, &arg(&Xattrs::default(), "t/f")).unwrap());
    assert!(told(&mut c, ACL_GET, "t/f").xattrs.is_empty());
    assert_eq!(on_disk(&srv.path("t/f")), [(b"user.keep".to_vec(), b"1".to_vec())]);
    // a TFDSETXATTRS without names leaves the ACLs
    assert_ok(c.call(SET, &arg(&Xattrs::default(), "t/d")).unwrap());
    assert_eq!(told(&mut c, ACL_GET, "t/d").xattrs, both);
}
