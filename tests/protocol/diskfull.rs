//! A full disk, for real: a 1 MiB tmpfs mounted inside the served root (root only,
//! as developers and CI run). Every upload path answers its documented failure,
//! leaves no partial file behind, and the session goes on.

use crate::common;

use common::*;
use std::fs;
use std::process::Command;
use tfd::client::transfer::PutOutcome;

struct Mount(std::path::PathBuf);

impl Drop for Mount {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

fn small_fs(srv: &Server) -> Option<Mount> {
    if !is_root() {
        eprintln!("skipped: needs root to mount a tmpfs");
        return None;
    }
    let dir = srv.path("small");
    fs::create_dir(&dir).unwrap();
    let st = Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=1m", "tmpfs"])
        .arg(&dir)
        .status()
        .unwrap();
    assert!(st.success(), "mount tmpfs");
    Some(Mount(dir))
}

#[test]
fn uploads_on_a_full_disk_fail_cleanly() {
    let srv = Server::start();
    let Some(_m) = small_fs(&srv) else { return };
    let big = vec![7u8; 3 << 20];
    let mut c = srv.client();

    assert_failed(c.sndfile(b"small/snd", false, &mut &big[..], &mut |_| {}).unwrap(), 13);
    assert!(
        dir_names(&srv.path("small")).is_empty(),
        "SNDFILE left {:?}",
        dir_names(&srv.path("small"))
    );

    let r = c.put(b"small/put", 0, 1 << 20, &mut &big[..], &mut |_| {}).unwrap();
    assert_eq!(r, Ok(PutOutcome::ServerCancelled));
    assert!(
        dir_names(&srv.path("small")).is_empty(),
        "PUT left {:?}",
        dir_names(&srv.path("small"))
    );

    assert_eq!(c.sup(b"small/sup", &mut &big[..]).unwrap(), -1);
    assert!(
        dir_names(&srv.path("small")).is_empty(),
        "SUP left {:?}",
        dir_names(&srv.path("small"))
    );

    fs::write(srv.path("bigfile"), &big).unwrap();
    assert_failed(c.call("COPY", b"bigfile | small/copy").unwrap(), 13);
    assert!(
        dir_names(&srv.path("small")).is_empty(),
        "COPY left {:?}",
        dir_names(&srv.path("small"))
    );

    fs::create_dir(srv.path("tree")).unwrap();
    fs::write(srv.path("tree/f"), &big).unwrap();
    assert_failed(c.call("CPDIR", b"tree | small/tree").unwrap(), 13);
    assert!(
        dir_names(&srv.path("small")).is_empty(),
        "CPDIR left {:?}",
        dir_names(&srv.path("small"))
    );

    // small files still fit, and the session is fine
    assert!(ok(&c
        .sndfile(b"small/ok", false, &mut &b"fits"[..], &mut |_| {})
        .unwrap()));
    assert_eq!(fs::read(srv.path("small/ok")).unwrap(), b"fits");
    assert_eq!(c.raw(b"ECHO alive").unwrap(), b"alive");
}

/// LSV2/LSRV2 onto a full disk: `FAILED 13` (the document's quota failure, as
/// every upload path answers a full disk) whether the kernel refuses a write or
/// the final flush, an existing listing file is kept as it was, and no temporary
/// file is left behind.
#[test]
fn lsv2_on_a_full_disk_fails_cleanly() {
    let srv = Server::start();
    let Some(_m) = small_fs(&srv) else { return };
    let name = "n".repeat(200);
    for i in 0..300 {
        data_dir_write(&srv.path(&format!("t/{i:03}{name}")), b"");
    }
    fs::write(srv.path("small/list.txt"), b"old listing\n").unwrap();
    // fill the disk to the last block
    let _ = fs::write(srv.path("small/filler"), vec![1u8; 2 << 20]);
    let mut c = srv.client();
    for cmd in ["LSV2", "LSRV2"] {
        assert_failed(c.call(cmd, b"t@||@small/list.txt").unwrap(), 13);
        assert_eq!(fs::read(srv.path("small/list.txt")).unwrap(), b"old listing\n");
        let mut left = dir_names(&srv.path("small"));
        left.sort();
        assert_eq!(left, ["filler", "list.txt"], "{cmd} left a temporary file");
    }
    assert_eq!(c.raw(b"ECHO alive").unwrap(), b"alive");
}
