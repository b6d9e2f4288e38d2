//! Sparse files' commands (issue 67 `-S`) for a jailed user: TFDHOLES never
//! tells the holes of a file outside her root (through a link she made, to
//! /etc or to another user's file), and TFDSTAGEHOLE punches only her own
//! stage: never another user's file, never one outside her root, whatever
//! path she names, from several sessions at once; her session goes on.

use std::fs;
use std::io::{Seek, SeekFrom, Write};
use std::os::unix::fs::{symlink, MetadataExt, PermissionsExt};
use std::path::Path;
use tfd_testkit::users::{alice_jailed, AliceJailed};
use tfd_testkit::*;
use tfp_wire::sparse::{StageHole, HOLES, STAGE_HOLE};
use tfp_wire::Status;

/// A file of data at both ends and 1 MiB between, all allocated.
fn dense(p: &Path, uid: u32) {
    let mut f = fs::File::create(p).unwrap();
    f.write_all(&pattern((1 << 20) + 8192, 5)).unwrap();
    f.seek(SeekFrom::Start(0)).unwrap();
    nix::unistd::fchown(std::os::fd::AsRawFd::as_raw_fd(&f), Some(uid.into()), Some(uid.into())).unwrap();
    f.set_permissions(fs::Permissions::from_mode(0o666)).unwrap();
}

/// What a punch would change of a file: its bytes and its blocks.
fn state(p: &Path) -> (Vec<u8>, u64) {
    (fs::read(p).unwrap(), fs::metadata(p).unwrap().blocks())
}

#[test]
fn a_jailed_user_punches_only_her_own_stage_and_learns_no_holes_outside() {
    assert!(is_root(), "this test needs root (jails, users)");
    let AliceJailed { srv, bob, home, .. } = alice_jailed("tfdhole", Some(0o777));
    // bob's file in her home (a shared directory) and one outside her root
    let bobs = home.join("bobs.img");
    dense(&bobs, bob.0);
    let outside = tempdir("hole-outside").join("out.img");
    dense(&outside, bob.0);
    symlink(&outside, home.join("out")).unwrap();
    symlink("../../../../../../etc/passwd", home.join("up")).unwrap();
    let guarded = [bobs.clone(), outside.clone()];
    let before: Vec<_> = guarded.iter().map(|p| state(p)).collect();

    let login = || {
        let mut c = srv.client();
        assert_ok(c.call("LOGIN", b"alice alice pw").unwrap());
        c
    };
    std::thread::scope(|s| {
        for _ in 0..4 {
            s.spawn(|| {
                let mut c = login();
                for _ in 0..10 {
                    for p in ["/home/out", "/home/up", "/../../etc/passwd", "/../bob"] {
                        let st = c.call(HOLES, p.as_bytes()).unwrap();
                        assert!(matches!(st, Status::Failed(..)), "TFDHOLES {p}: {st:?}");
                    }
                    for p in ["/home/bobs.img", "/home/out", "/home/up"] {
                        let arg = StageHole {
                            start: 4096,
                            end: 1 << 20,
                            path: p.as_bytes(),
                        }
                        .encode();
                        let st = c.call(STAGE_HOLE, &arg).unwrap();
                        assert!(matches!(st, Status::Failed(..)), "TFDSTAGEHOLE {p}: {st:?}");
                    }
                }
                // the session goes on: a file she may read inside her root is told
                assert_ok(c.call(HOLES, b"/home/bobs.img").unwrap());
            });
        }
    });
    let after: Vec<_> = guarded.iter().map(|p| state(p)).collect();
    assert!(after == before, "a file not hers was punched");
}
