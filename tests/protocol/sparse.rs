//! Sparse files (doc/compatibility.md "Sparse files"): TFDHOLES tells a
//! file's holes from the descriptor it opened, refusing what is no regular
//! file inside the root; TFDSTAGEHOLE makes a range of the session's own
//! stage a hole that the commit counts, refusing a range past the stage's
//! size and a stage that is not there (nothing else is touched).

use sha2::Digest;
use std::io::{Seek, SeekFrom, Write};
use std::os::unix::fs::MetadataExt;
use tfd_testkit::*;
use tfp_wire::sparse::{Holes, StageHole, HOLES, STAGE_HOLE};
use tfp_wire::stage as wire;
use tfp_wire::Status;

#[test]
fn holes_are_told_of_regular_files_inside_the_root_only() {
    let srv = Server::start();
    let mut f = std::fs::File::create(srv.path("sparse.bin")).unwrap();
    f.write_all(&pattern(4096, 1)).unwrap();
    f.seek(SeekFrom::Current(8 << 20)).unwrap();
    f.write_all(&pattern(4096, 2)).unwrap();
    drop(f);
    std::fs::create_dir(srv.path("d")).unwrap();
    std::os::unix::fs::symlink("/etc/passwd", srv.path("out")).unwrap();
    let mut c = srv.client();
    let st = c.call(HOLES, b"sparse.bin").unwrap();
    let Status::Ok(d) = st else { panic!("{st:?}") };
    let h = Holes::parse(&d).unwrap();
    assert_eq!(h.size, (8 << 20) + 8192);
    assert_eq!(h.list.len(), 1, "{h:?}");
    assert_eq!(h.data(), 8192, "{h:?}");
    for bad in [&b"d"[..], b"out", b"missing", b"../../etc/passwd"] {
        let st = c.call(HOLES, bad).unwrap();
        assert!(matches!(st, Status::Failed(..)), "{st:?}");
    }
}

#[test]
fn a_stage_hole_is_committed_as_a_hole_and_refused_past_the_stage() {
    let srv = Server::start();
    let head = pattern(4096, 3);
    let size = (4 << 20) + 4096u64;
    let mut whole = head.clone();
    whole.resize(size as usize, 0);
    let remote = "img.bin";
    std::fs::write(srv.path(remote), b"old").unwrap();
    let mut c = srv.client();
    let hole = |c: &mut tfp_client::Client, start, end, path: &str| {
        let arg = StageHole {
            start,
            end,
            path: path.as_bytes(),
        }
        .encode();
        c.call(STAGE_HOLE, &arg).unwrap()
    };
    // no stage yet: refused, the target untouched
    assert!(matches!(hole(&mut c, 4096, size, remote), Status::Failed(..)));
    assert_eq!(std::fs::read(srv.path(remote)).unwrap(), b"old");
    let open = wire::Open {
        size,
        identity: b"sparse",
        fresh: true,
        path: remote.as_bytes(),
    };
    assert!(matches!(c.call(wire::OPEN, &open.encode()).unwrap(), Status::Ok(_)));
    assert!(matches!(hole(&mut c, 4096, size + 1, remote), Status::Failed(7, _)));
    assert!(matches!(hole(&mut c, 4096, size, remote), Status::Ok(_)));
    c.put_as(wire::PUT, remote.as_bytes(), 0, 1 << 20, &mut &head[..], &mut |_| {})
        .unwrap();
    assert!(matches!(Status::parse(&c.chan.rx.recv_frame().unwrap()), Status::Ok(_)));
    let sha = tfp_wire::sha256_text(&sha2::Sha256::digest(&whole).into());
    let done = wire::Done {
        sha256: &sha,
        overwrite: true,
        path: remote.as_bytes(),
        attrs: None,
    };
    let st = c.call(wire::DONE, &done.encode()).unwrap();
    assert!(matches!(st, Status::Ok(_)), "{st:?}");
    assert!(std::fs::read(srv.path(remote)).unwrap() == whole);
    let m = std::fs::metadata(srv.path(remote)).unwrap();
    assert!(m.blocks() * 512 < 1 << 20, "{} blocks for 4 KiB of data", m.blocks());
}
