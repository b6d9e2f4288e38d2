//! A staged commit's attributes (doc/compatibility.md "Staged uploads", "The
//! commit's attributes"): the file gets the client's mode and mtime, and the
//! form an older tfd reads (the NUL taken for part of the path) is refused
//! `FAILED 1` by the path check every stage command passes first, so a
//! client can fall back to the plain commit with nothing touched.

use sha2::Digest;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use tfd_testkit::*;
use tfp_wire::stage::{self as wire, Attrs};
use tfp_wire::Status;

#[test]
fn a_commit_with_attributes_gives_the_file_its_mode_and_mtime() {
    let srv = Server::start();
    let data = pattern(100_000, 9);
    let remote = "stamped.bin";
    std::fs::write(srv.path(remote), b"old").unwrap();
    std::fs::set_permissions(srv.path(remote), std::fs::Permissions::from_mode(0o600)).unwrap();
    let mut c = srv.client();
    let open = wire::Open {
        size: data.len() as u64,
        identity: b"stamped",
        fresh: true,
        path: remote.as_bytes(),
    };
    assert!(matches!(c.call(wire::OPEN, &open.encode()).unwrap(), Status::Ok(_)));
    c.put_as(wire::PUT, remote.as_bytes(), 0, 1 << 20, &mut &data[..], &mut |_| {})
        .unwrap();
    assert!(matches!(Status::parse(&c.chan.rx.recv_frame().unwrap()), Status::Ok(_)));
    let sha = tfp_wire::sha256_text(&sha2::Sha256::digest(&data).into());
    let done = wire::Done {
        sha256: &sha,
        overwrite: true,
        path: remote.as_bytes(),
        attrs: Some(Attrs {
            mode: Some(0o640),
            mtime: Some(1_600_000_000),
            new_mode: None,
        }),
    };
    let st = c.call(wire::DONE, &done.encode()).unwrap();
    assert!(matches!(st, Status::Ok(_)), "{st:?}");
    let m = std::fs::metadata(srv.path(remote)).unwrap();
    assert_eq!(std::fs::read(srv.path(remote)).unwrap(), data);
    assert_eq!(
        (m.mode() & 0o7777, m.mtime(), m.mtime_nsec()),
        (0o640, 1_600_000_000, 0)
    );
}

#[test]
fn a_path_holding_the_attributes_nul_is_refused_first() {
    let srv = Server::start();
    let mut c = srv.client();
    // what a tfd without the attributes takes for the path of a commit
    let path = b"x.bin\x003 640 1600000000";
    let open = wire::Open {
        size: 5,
        identity: b"id",
        fresh: true,
        path,
    };
    let st = c.call(wire::OPEN, &open.encode()).unwrap();
    assert!(matches!(st, Status::Failed(1, _)), "{st:?}");
    assert!(!srv.path("x.bin").exists());
    assert_eq!(std::fs::read_dir(srv.path("")).unwrap().count(), 0, "nothing made");
}
