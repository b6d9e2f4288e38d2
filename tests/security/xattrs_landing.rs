//! Uploads that land with their attributes (issue 67, `-X`/`-A` "never a
//! mix") for a jailed user: her session's scope is `user.` alone, so an
//! attributes frame or a `TFDLANDXATTRS` naming `trusted.`, `security.` or
//! tfd's own names is FAILED and nothing lands at the name; an upload over
//! another user's file she may not write is refused with its attributes and
//! ACL (one granting her access) unmade; an oversized list is FAILED; four
//! sessions at once, each going on, her own files landing with their sets.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use tfd_testkit::acl::granting;
use tfd_testkit::archive::{self, batch_landing, land, Item};
use tfd_testkit::users::{alice_jailed, AliceJailed};
use tfd_testkit::*;
use tfp_wire::xattr::{Land, LandAt, ACLS, LAND, MAX_VALUE};
use tfp_wire::Status;

fn plain(path: &str, data: &[u8]) -> Item {
    archive::plain(path, Some(0o644), None, data)
}

fn frame(l: Land) -> Option<Vec<u8>> {
    archive::attrs_frame(l)
}

type Pairs = Vec<(Vec<u8>, Vec<u8>)>;

/// Every attribute of `p`, all namespaces, as root reads them, and its bytes.
fn state(p: &Path) -> (Pairs, Vec<u8>) {
    (tfd_testkit::xattrs::of(p, |_| true), fs::read(p).unwrap())
}

#[test]
fn a_jailed_users_uploads_land_with_her_own_scope_alone() {
    assert!(is_root(), "this test needs root (jails, users)");
    let AliceJailed {
        srv, alice, bob, home, ..
    } = alice_jailed("tfdxland", Some(0o777));
    let bobs = home.join("bobs");
    fs::write(&bobs, b"bob's").unwrap();
    nix::unistd::chown(&bobs, Some(bob.0.into()), Some(bob.1.into())).unwrap();
    fs::set_permissions(&bobs, fs::Permissions::from_mode(0o644)).unwrap();
    let before = state(&bobs);
    let mut huge = b"LAND x 5 ".to_vec();
    for i in 0..5 {
        huge.extend(format!("7:{MAX_VALUE}:user.v{i}").as_bytes());
        huge.extend(vec![1u8; MAX_VALUE]);
    }
    huge.extend(b"/home/h");
    let huge = huge.split_off(5);

    std::thread::scope(|s| {
        for i in 0..4 {
            let (srv, huge) = (&srv, &huge);
            s.spawn(move || {
                let mut c = srv.client();
                assert_ok(c.call("LOGIN", b"alice alice pw").unwrap());
                assert_eq!(c.raw(b"TFDPUTMANY 0 x").unwrap(), b"OK dirs modes scope=user");
                let acl = granting(alice.0, 6);
                for round in 0..3 {
                    let t = format!("/home/t{i}-{round}");
                    let (stored, failures) = batch_landing(
                        &mut c,
                        &[
                            (frame(land(true, false, &[(b"trusted.x", b"1")])), plain(&t, b"t")),
                            (frame(land(true, false, &[(b"security.x", b"1")])), plain(&t, b"s")),
                            (frame(land(true, false, &[(b"user.tfd.id", b"1")])), plain(&t, b"o")),
                            (
                                frame(land(true, true, &[(b"user.mine", b"1"), (ACLS[0], &acl)])),
                                plain("/home/bobs", b"hers"),
                            ),
                            (
                                frame(land(true, true, &[(b"user.mine", b"1"), (ACLS[0], &acl)])),
                                plain(&format!("/home/mine{i}"), b"mine"),
                            ),
                        ],
                        false,
                    );
                    let codes: Vec<(u64, i32)> = failures.iter().map(|f| (f.0, f.1)).collect();
                    assert_eq!(stored, 1, "{failures:?}");
                    assert_eq!(codes[..3], [(0, 1), (1, 1), (2, 1)], "{failures:?}");
                    assert_eq!(codes[3].0, 3, "bob's file: {failures:?}");
                    for (what, arg) in [
                        (
                            "trusted.",
                            LandAt {
                                land: land(true, false, &[(b"trusted.x", b"1")]),
                                path: t.as_bytes(),
                            }
                            .encode()
                            .unwrap(),
                        ),
                        (
                            "tfd's own",
                            LandAt {
                                land: land(true, false, &[(b"user.tfd.x", b"1")]),
                                path: t.as_bytes(),
                            }
                            .encode()
                            .unwrap(),
                        ),
                    ] {
                        let st = c.call(LAND, &arg).unwrap();
                        assert!(matches!(st, Status::Failed(1, _)), "TFDLANDXATTRS {what}: {st:?}");
                    }
                    let st = c.call(LAND, huge).unwrap();
                    assert!(matches!(st, Status::Failed(16, _)), "an oversized list: {st:?}");
                }
                assert_eq!(c.echo("on").unwrap(), b"on");
            });
        }
    });
    assert!(state(&bobs) == before, "bob's file changed");
    for i in 0..4 {
        for round in 0..3 {
            assert!(!home.join(format!("t{i}-{round}")).exists(), "a refused file landed");
        }
        let (attrs, data) = state(&home.join(format!("mine{i}")));
        assert_eq!(data, b"mine");
        let names: Vec<&[u8]> = attrs.iter().map(|(n, _)| n.as_slice()).collect();
        assert_eq!(names, [ACLS[0], b"user.mine"], "mine{i}");
    }
}
