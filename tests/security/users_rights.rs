//! What a logged-in user may do to files (as root, with real system users):
//! quotas stop uploads and copies cleanly, CHMOD answers honestly, CHOWN
//! takes names and numbers, RMSECDIR needs a secure directory and its token,
//! and only a directory's owner makes it secure.

// `..Default::default()` keeps these tests building whatever fields Opts gains.
#![allow(clippy::needless_update)]

use super::users_login::{login, multi_user, ALICE_PW, BOB_PW};
use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use tfd_testkit::reply::Answer as _;
use tfd_testkit::users::ensure_system_user;
use tfd_testkit::*;
use tfp_client::replies::{AsStatus as _, Split as _};

#[test]
fn quota_stops_uploads_and_copies_cleanly() {
    let Some(m) = multi_user("", "1000") else { return };
    let mut c = m.srv.client();
    assert_ok(login(&mut c, "alice", ALICE_PW));
    let big = vec![7u8; 1500];
    let dir = m.srv.path("alice");

    assert_failed(
        c.sndfile(b"alice/snd", false, &mut &big[..], &mut |_| {})
            .status()
            .unwrap(),
        13,
    );
    assert!(dir_names(&dir).is_empty(), "SNDFILE left {:?}", dir_names(&dir));
    assert_eq!(c.sup(b"alice/sup", &mut &big[..]).answer().unwrap(), -1);
    assert!(dir_names(&dir).is_empty(), "SUP left {:?}", dir_names(&dir));
    let r = c.put(b"alice/put", 0, 512, &mut &big[..], &mut |_| {});
    assert!(
        matches!(r, Err(tfp_client::Error::Cancelled { command: "PUT" })),
        "{r:?}"
    );
    assert!(dir_names(&dir).is_empty(), "PUT left {:?}", dir_names(&dir));

    // within the quota things work; the sum counts
    assert!(ok(&c
        .sndfile(b"alice/a", false, &mut &big[..600], &mut |_| {})
        .status()
        .unwrap()));
    assert_failed(
        c.sndfile(b"alice/b", false, &mut &big[..600], &mut |_| {})
            .status()
            .unwrap(),
        13,
    );
    assert_eq!(dir_names(&dir), ["a"]);
    assert_failed(c.call("COPY", b"alice/a | alice/a2").unwrap(), 13);
    assert!(ok(&c.call("MKDIR", b"alice/t").unwrap()));
    assert!(ok(&c
        .sndfile(b"alice/t/f", false, &mut &big[..300], &mut |_| {})
        .status()
        .unwrap()));
    assert_failed(c.call("CPDIR", b"alice/t | alice/t2").unwrap(), 13);
    assert_eq!(dir_names(&dir), ["a", "t"]);
    // replacing a file gives its size back
    assert!(ok(&c
        .sndfile(b"alice/a", true, &mut &big[..650], &mut |_| {})
        .status()
        .unwrap()));
    assert_eq!(fs::read(dir.join("a")).unwrap().len(), 650);
    // PUT may grow a file only up to the quota
    let r = c.put(b"alice/a", 650, 25, &mut &big[..100], &mut |_| {});
    assert!(
        matches!(r, Err(tfp_client::Error::Cancelled { command: "PUT" })),
        "{r:?}"
    );
    assert_eq!(fs::read(dir.join("a")).unwrap().len(), 650 + 50);
    // deleting frees space
    assert!(ok(&c.call("DEL", b"alice/t/f").unwrap()));
    assert!(ok(&c
        .sndfile(b"alice/c", false, &mut &big[..290], &mut |_| {})
        .status()
        .unwrap()));
    assert_eq!(c.raw(b"ECHO alive").unwrap(), b"alive");
    assert!(m.srv.log().contains("quota of user alice exceeded"));
}

#[test]
fn chmod_answers_honestly() {
    let srv = Server::start();
    let mut c = srv.client();
    fs::write(srv.path("f"), b"x").unwrap();
    fs::create_dir(srv.path("d")).unwrap();
    fs::write(srv.path("a b"), b"x").unwrap();
    let mode = |p: &str| fs::metadata(srv.path(p)).unwrap().mode() & 0o7777;
    assert_ok(c.call("CHMOD", b"f 600").unwrap());
    assert_eq!(mode("f"), 0o600);
    assert_ok(c.call("CHMOD", b"f 0444").unwrap());
    assert_eq!(mode("f"), 0o444);
    assert_ok(c.call("CHMOD", b"a b 640").unwrap());
    assert_eq!(mode("a b"), 0o640);
    assert_ok(c.call("CHMOD", b"d 2775").unwrap());
    assert_eq!(mode("d"), 0o2775);
    assert_ok(c.call("CHMOD", b"d 1777").unwrap());
    assert_eq!(mode("d"), 0o1777);
    // refusals, each with its status, nothing changed
    assert_failed(c.call("CHMOD", b"f").unwrap(), 16);
    assert_failed(c.call("CHMOD", b" 600").unwrap(), 16);
    assert_failed(c.call("CHMOD", b"missing 600").unwrap(), 9);
    assert_failed(c.call("CHMOD", b"f 9").unwrap(), 41);
    assert_failed(c.call("CHMOD", b"f 12345").unwrap(), 41);
    assert_failed(c.call("CHMOD", b"f rw").unwrap(), 41);
    assert_failed(c.call("CHMOD", b"f 4755").unwrap(), 41);
    assert_failed(c.call("CHMOD", b"f 2755").unwrap(), 41);
    assert_eq!(mode("f"), 0o444);
    assert_failed(c.call("CHMOD", b"../x 600").unwrap(), 1);
    // a symlink out of the root is never followed
    let outside = tempdir("chmod-outside").join("victim");
    fs::write(&outside, b"v").unwrap();
    fs::set_permissions(&outside, fs::Permissions::from_mode(0o644)).unwrap();
    std::os::unix::fs::symlink(&outside, srv.path("out")).unwrap();
    assert_failed(c.call("CHMOD", b"out 777").unwrap(), 1);
    assert_eq!(fs::metadata(&outside).unwrap().mode() & 0o777, 0o644);
    // a symlink inside is followed, as chmod(2) does
    std::os::unix::fs::symlink("f", srv.path("in")).unwrap();
    assert_ok(c.call("CHMOD", b"in 640").unwrap());
    assert_eq!(mode("f"), 0o640);
    assert_eq!(c.raw(b"ECHO alive").unwrap(), b"alive");
}

#[test]
fn chown_takes_names_and_numbers() {
    if !require(is_root(), "needs root") {
        return;
    }
    let (uid, gid) = ensure_system_user("tfdlogin2", &[]);
    let grp = ensure_system_user("tfdlogin1", &["tfdgrp1"]);
    let g1 = nix::unistd::Group::from_name("tfdgrp1").unwrap().unwrap().gid.as_raw();
    let srv = Server::start(); // defusr root: root may give files away
    let mut c = srv.client();
    fs::write(srv.path("f"), b"x").unwrap();
    fs::write(srv.path("a b"), b"x").unwrap();
    let owner = |p: &str| {
        let m = fs::metadata(srv.path(p)).unwrap();
        (m.uid(), m.gid())
    };
    assert_ok(c.call("CHOWN", b"f tfdlogin2 tfdgrp1").unwrap());
    assert_eq!(owner("f"), (uid, g1));
    assert_ok(c.call("CHOWN", format!("a b {} {}", grp.0, gid).as_bytes()).unwrap());
    assert_eq!(owner("a b"), (grp.0, gid));
    assert_failed(c.call("CHOWN", b"f no-such-user-x tfdgrp1").unwrap(), 42);
    assert_failed(c.call("CHOWN", b"f tfdlogin2 no-such-group-x").unwrap(), 43);
    assert_failed(c.call("CHOWN", b"missing tfdlogin2 tfdgrp1").unwrap(), 44);
    assert_failed(c.call("CHOWN", b"f tfdlogin2").unwrap(), 16);
    assert_failed(c.call("CHOWN", b"../f root root").unwrap(), 1);
    assert_eq!(owner("f"), (uid, g1));
    // an unprivileged session cannot give its files away
    let Some(m) = multi_user("", "default") else { return };
    let mut c = m.srv.client();
    assert_ok(login(&mut c, "alice", ALICE_PW));
    assert!(ok(&c.call("TOUCH", b"alice/mine").unwrap()));
    assert_failed(c.call("CHOWN", b"alice/mine tfdlogin2 tfdlogin2").unwrap(), 44);
    // but may change the group to one of its own
    assert_ok(c.call("CHOWN", b"alice/mine tfdlogin1 tfdgrp1").unwrap());
    let md = fs::metadata(m.srv.path("alice/mine")).unwrap();
    assert_eq!((md.uid(), md.gid()), (m.alice.0, g1));
}

#[test]
fn rmsecdir_needs_a_secure_dir_and_its_token() {
    let srv = Server::start();
    let mut c = srv.client();
    fs::create_dir_all(srv.path("keep.sd/inner.sd")).unwrap();
    fs::write(srv.path("keep.sd/tok"), b"").unwrap();
    fs::write(srv.path("keep.sd/inner.sd/f"), b"x").unwrap();
    fs::create_dir(srv.path("plain")).unwrap();
    fs::write(srv.path("plain/tok"), b"").unwrap();
    fs::write(srv.path("file.sd"), b"").unwrap();
    assert_failed(c.call("RMSECDIR", b"tok keep.sd").unwrap(), 16);
    assert_failed(c.call("RMSECDIR", b" | keep.sd").unwrap(), 16);
    assert_failed(c.call("RMSECDIR", b"wrong | keep.sd").unwrap(), 47);
    assert_failed(c.call("RMSECDIR", b"inner.sd/f | keep.sd").unwrap(), 47);
    assert_failed(c.call("RMSECDIR", b".. | keep.sd").unwrap(), 47);
    assert_failed(c.call("RMSECDIR", b"tok | plain").unwrap(), 47);
    assert_failed(c.call("RMSECDIR", b"tok | file.sd").unwrap(), 47);
    assert_failed(c.call("RMSECDIR", b"tok | gone.sd").unwrap(), 10);
    assert_failed(c.call("RMSECDIR", b"tok | ").unwrap(), 15);
    assert_failed(c.call("RMSECDIR", b"tok | ../x.sd").unwrap(), 1);
    assert!(srv.path("keep.sd/inner.sd/f").exists() && srv.path("plain/tok").exists());
    // locked
    assert_ok(c.call("LOCK", b"lk").unwrap());
    fs::write(srv.path("keep.sd/lk"), b"").unwrap();
    assert_failed(c.call("RMSECDIR", b"tok | keep.sd").unwrap(), 30);
    fs::remove_file(srv.path("keep.sd/lk")).unwrap();
    // the right token removes it all, secure subdirectories included
    assert_ok(c.call("RMSECDIR", b"tok | keep.sd").unwrap());
    assert!(!srv.path("keep.sd").exists());
    // RMDIR keeps secure directories; LS does not show them
    fs::create_dir_all(srv.path("top/s.sd")).unwrap();
    assert_failed(c.call("RMDIR", b"top").unwrap(), 15);
    assert!(srv.path("top/s.sd").exists());
    let ls = c.list(false, b"top").split().unwrap().unwrap();
    assert!(ls.is_empty(), "{}", String::from_utf8_lossy(&ls));
}

/// Issue 23, finding 5: the first SETFSPERM of a directory names its owner, and
/// any user could make it: bob, on a shared sticky directory (as /tmp), locked
/// alice out of her own file there. Only the directory's owner (or root) may
/// make it secure now; what alice owns stays hers.
#[test]
fn only_the_directory_owner_makes_it_secure() {
    use std::os::unix::fs::PermissionsExt;
    let Some(m) = multi_user("", "default") else { return };
    let shared = m.srv.path("shared");
    fs::create_dir(&shared).unwrap();
    fs::set_permissions(&shared, fs::Permissions::from_mode(0o1777)).unwrap();
    let mut alice = m.srv.client();
    assert_ok(login(&mut alice, "alice", ALICE_PW));
    assert_ok(alice.call("TOUCH", b"shared/a.txt").unwrap());
    let mut bob = m.srv.client();
    assert_ok(login(&mut bob, "bob", BOB_PW));
    assert_ok(bob.call("SETFSID", b"bob").unwrap());
    // neither the shared directory (root's) nor alice's own may bob secure
    assert_failed(bob.call("SETFSPERM", b"bob:4095 shared").unwrap(), 57);
    assert_failed(bob.call("SETFSPERM", b"bob:4095 alice").unwrap(), 57);
    assert!(!shared.join(".securefs_metadata.rd").exists());
    assert!(!m.srv.path("alice/.securefs_metadata.rd").exists());
    // alice still reaches her file, and may secure her own directory
    assert_ok(alice.call("FSTAT", b"shared/a.txt").unwrap());
    assert_failed(alice.call("ISSECFS", b"shared").unwrap(), 60);
    assert_ok(alice.call("SETFSID", b"alice").unwrap());
    assert_ok(alice.call("SETFSPERM", b"alice:4095 alice").unwrap());
    assert_ok(alice.call("ISSECFS", b"alice").unwrap());
    alice.end().unwrap();
    bob.end().unwrap();
}
