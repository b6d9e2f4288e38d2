//! POSIX ACLs' commands (issue 67 `-A`) for a jailed user: she sets the
//! ACLs of her own files (granting bob access to hers), never another
//! user's (not even granting herself access to bob's file), never through
//! a link, never a file outside her root; `TFDSETXATTRS` sets no ACL and
//! `TFDSETACLS` nothing else; a malformed ACL, a default ACL on a file and
//! an oversized list are FAILED; four sessions at once, each going on.

use std::fs;
use std::os::unix::fs::{symlink, PermissionsExt};
use std::path::Path;
use tfd_testkit::acl::{granting, value as acl};
use tfd_testkit::users::{alice_jailed, AliceJailed};
use tfd_testkit::*;
use tfp_wire::xattr::{Listing, Scope, Set, Xattrs, ACLS, ACL_GET, ACL_SET, SET};
use tfp_wire::Status;

/// `p` made, owned by `uid`, mode `mode`.
fn file(p: &Path, uid: u32, mode: u32) {
    fs::write(p, b"data").unwrap();
    nix::unistd::chown(p, Some(uid.into()), Some(uid.into())).unwrap();
    fs::set_permissions(p, fs::Permissions::from_mode(mode)).unwrap();
}

/// Names and values.
type Pairs = Vec<(Vec<u8>, Vec<u8>)>;

/// Every attribute of `p`, all namespaces, and its mode, as root reads them.
fn all(p: &Path) -> (Pairs, u32) {
    let mode = fs::metadata(p).unwrap().permissions().mode();
    (tfd_testkit::xattrs::of(p, |_| true), mode)
}

fn set_arg(pairs: &[(&[u8], &[u8])], path: &str) -> Vec<u8> {
    let x = Xattrs::new(pairs.iter().map(|(n, v)| (n.to_vec(), v.to_vec())).collect()).unwrap();
    Set {
        xattrs: x,
        path: path.as_bytes(),
    }
    .encode()
}

#[test]
fn a_jailed_user_sets_the_acls_of_her_own_files_alone() {
    assert!(is_root(), "this test needs root (jails, users)");
    let AliceJailed {
        srv, alice, bob, home, ..
    } = alice_jailed("tfdacl", Some(0o777));
    let bobs = home.join("bobs");
    file(&bobs, bob.0, 0o666);
    let outside = tempdir("acl-outside").join("out");
    file(&outside, bob.0, 0o666);
    symlink(&outside, home.join("out")).unwrap();
    symlink("bobs", home.join("tobob")).unwrap();
    let guarded = [bobs.clone(), outside.clone()];
    let before: Vec<_> = guarded.iter().map(|p| all(p)).collect();
    for i in 0..4 {
        file(&home.join(format!("mine{i}")), alice.0, 0o644);
    }
    let (access, default) = (ACLS[0], ACLS[1]);
    let hers = granting(alice.0, 7);
    let huge: Vec<u8> = [
        &b"1 23:65537:system.posix_acl_access"[..],
        &vec![1u8; 65_537],
        b"/home/mine0",
    ]
    .concat();

    std::thread::scope(|s| {
        for i in 0..4 {
            let (srv, huge, hers) = (&srv, &huge, &hers);
            s.spawn(move || {
                let mut c = srv.client();
                assert_ok(c.call("LOGIN", b"alice alice pw").unwrap());
                let mine = format!("/home/mine{i}");
                for _ in 0..5 {
                    for p in ["/home/bobs", "/home/tobob", "/home/out", "/../../etc/passwd"] {
                        let st = c.call(ACL_SET, &set_arg(&[(access, hers)], p)).unwrap();
                        assert!(matches!(st, Status::Failed(..)), "TFDSETACLS {p}: {st:?}");
                        let st = c.call(ACL_SET, &set_arg(&[], p)).unwrap();
                        assert!(
                            p == "/home/bobs" || matches!(st, Status::Failed(..)),
                            "TFDSETACLS {p}: {st:?}"
                        );
                    }
                    for p in ["/home/tobob", "/home/out"] {
                        let st = c.call(ACL_GET, p.as_bytes()).unwrap();
                        assert!(matches!(st, Status::Failed(..)), "TFDACLS {p}: {st:?}");
                    }
                    // no ACL through the attributes' command, nothing else through the ACLs'
                    let st = c.call(SET, &set_arg(&[(access, hers)], &mine)).unwrap();
                    assert!(matches!(st, Status::Failed(1, _)), "TFDSETXATTRS of an ACL: {st:?}");
                    let st = c.call(ACL_SET, &set_arg(&[(b"user.x", b"1")], &mine)).unwrap();
                    assert!(matches!(st, Status::Failed(1, _)), "TFDSETACLS of user.x: {st:?}");
                    for bad in [&b"garbage"[..], &acl(&[(2, 7, 1)]), &[2, 0, 0, 0, 1, 0]] {
                        let st = c.call(ACL_SET, &set_arg(&[(access, bad)], &mine)).unwrap();
                        assert!(matches!(st, Status::Failed(..)), "a malformed ACL: {st:?}");
                    }
                    let st = c.call(ACL_SET, &set_arg(&[(default, hers)], &mine)).unwrap();
                    assert!(matches!(st, Status::Failed(..)), "a file's default ACL: {st:?}");
                    let st = c.call(ACL_SET, huge).unwrap();
                    assert!(matches!(st, Status::Failed(16, _)), "an oversized list: {st:?}");
                }
                // the session goes on: her own file takes an ACL granting bob
                let bobs_read = granting(bob.0, 4);
                assert_ok(c.call(ACL_SET, &set_arg(&[(access, &bobs_read)], &mine)).unwrap());
                let Status::Ok(d) = c.call(ACL_GET, mine.as_bytes()).unwrap() else {
                    panic!("TFDACLS {mine}")
                };
                let l = Listing::parse(&d).unwrap();
                assert_eq!(l.scope, Scope::Acl);
                assert_eq!(l.xattrs.pairs(), [(access.to_vec(), bobs_read.clone())]);
            });
        }
    });
    let after: Vec<_> = guarded.iter().map(|p| all(p)).collect();
    assert!(after == before, "a file not hers changed ACLs or mode");
    for i in 0..4 {
        let got = all(&home.join(format!("mine{i}"))).0;
        assert_eq!(got, [(access.to_vec(), granting(bob.0, 4))], "mine{i}");
    }
}
