//! Extended attributes' commands (issue 67 `-X`) for a jailed user: her
//! session's scope is `user.` alone (no `trusted.` or `security.` set, even
//! on her own file), she never lists or sets the attributes of a file
//! outside her root or of another user's file through a link, never sets
//! another user's file's, and an oversized list is FAILED; four sessions at
//! once, each going on.

use std::fs;
use std::os::fd::AsFd;
use std::os::unix::fs::{symlink, PermissionsExt};
use std::path::Path;
use tfd_testkit::users::{alice_jailed, AliceJailed};
use tfd_testkit::*;
use tfp_wire::xattr::{Listing, Scope, Set, Xattrs, GET, MAX_VALUE, SET};
use tfp_wire::Status;

/// `p` made, owned by `uid`, mode `mode`, with `user.secret`.
fn file(p: &Path, uid: u32, mode: u32) {
    fs::write(p, b"data").unwrap();
    nix::unistd::chown(p, Some(uid.into()), Some(uid.into())).unwrap();
    fs::set_permissions(p, fs::Permissions::from_mode(mode)).unwrap();
    let f = fs::File::open(p).unwrap();
    tfd_sys::fsetxattr(f.as_fd(), c"user.secret", b"not hers").unwrap();
}

/// Every attribute of `p`, all namespaces, as root reads them.
fn all(p: &Path) -> Vec<(Vec<u8>, Vec<u8>)> {
    tfd_testkit::xattrs::of(p, |_| true)
}

fn set_arg(pairs: &[(&str, &[u8])], path: &str) -> Vec<u8> {
    let x = Xattrs::new(pairs.iter().map(|(n, v)| (n.as_bytes().to_vec(), v.to_vec())).collect()).unwrap();
    Set {
        xattrs: x,
        path: path.as_bytes(),
    }
    .encode()
}

#[test]
fn a_jailed_user_sets_user_attributes_of_her_own_files_alone() {
    assert!(is_root(), "this test needs root (jails, users)");
    let AliceJailed {
        srv, alice, bob, home, ..
    } = alice_jailed("tfdxattr", Some(0o777));
    let bobs = home.join("bobs");
    file(&bobs, bob.0, 0o644);
    let outside = tempdir("xattr-outside").join("out");
    file(&outside, bob.0, 0o666);
    symlink(&outside, home.join("out")).unwrap();
    symlink("bobs", home.join("tobob")).unwrap();
    symlink("../../../../../../etc/passwd", home.join("up")).unwrap();
    let guarded = [bobs.clone(), outside.clone(), "/etc/passwd".into()];
    let before: Vec<_> = guarded.iter().map(|p| all(p)).collect();
    for i in 0..4 {
        file(&home.join(format!("mine{i}")), alice.0, 0o644);
    }
    let mut huge = b"5 ".to_vec();
    for i in 0..5 {
        huge.extend(format!("7:{MAX_VALUE}:user.v{i}").as_bytes());
        huge.extend(vec![1u8; MAX_VALUE]);
    }
    huge.extend(b"/home/mine0");

    std::thread::scope(|s| {
        for i in 0..4 {
            let (srv, huge) = (&srv, &huge);
            s.spawn(move || {
                let mut c = srv.client();
                assert_ok(c.call("LOGIN", b"alice alice pw").unwrap());
                let mine = format!("/home/mine{i}");
                for _ in 0..5 {
                    for p in ["/home/out", "/home/tobob", "/home/up", "/../../etc/passwd", "/../bob"] {
                        let st = c.call(GET, p.as_bytes()).unwrap();
                        assert!(matches!(st, Status::Failed(..)), "TFDXATTRS {p}: {st:?}");
                    }
                    for p in ["/home/out", "/home/tobob", "/home/up", "/home/bobs"] {
                        let st = c.call(SET, &set_arg(&[("user.a", b"1")], p)).unwrap();
                        assert!(matches!(st, Status::Failed(..)), "TFDSETXATTRS {p}: {st:?}");
                    }
                    for ns in ["trusted.x", "security.x"] {
                        let st = c.call(SET, &set_arg(&[(ns, b"1")], &mine)).unwrap();
                        assert!(matches!(st, Status::Failed(1, _)), "TFDSETXATTRS {ns}: {st:?}");
                    }
                    let st = c.call(SET, huge).unwrap();
                    assert!(matches!(st, Status::Failed(16, _)), "an oversized list: {st:?}");
                }
                // the session goes on: her own file takes user. names, and
                // her scope says user
                assert_ok(c.call(SET, &set_arg(&[("user.mine", b"yes")], &mine)).unwrap());
                let Status::Ok(d) = c.call(GET, mine.as_bytes()).unwrap() else {
                    panic!("TFDXATTRS {mine}")
                };
                let l = Listing::parse(&d).unwrap();
                assert_eq!(l.scope, Scope::User);
                assert_eq!(l.xattrs.pairs(), [(b"user.mine".to_vec(), b"yes".to_vec())]);
            });
        }
    });
    let after: Vec<_> = guarded.iter().map(|p| all(p)).collect();
    assert!(after == before, "a file not hers changed attributes");
    for i in 0..4 {
        let got = all(&home.join(format!("mine{i}")));
        assert_eq!(got, [(b"user.mine".to_vec(), b"yes".to_vec())], "mine{i}");
    }
}
