//! A full disk, for real: a 1 MiB tmpfs mounted inside the served root (root only,
//! as developers and CI run). Every upload path answers its documented failure,
//! leaves no partial file behind, and the session goes on.

use tfd_testkit::reply::Answer as _;
use tfp_client::replies::AsStatus as _;
use tfp_client::Error;

use std::fs;
use std::process::Command;
use tfd_testkit::*;

struct Mount(std::path::PathBuf);

impl Drop for Mount {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

fn small_fs(srv: &Server) -> Option<Mount> {
    small_fs_at(&srv.path("small"))
}

/// A 1 MiB tmpfs mounted on `dir` (made here).
fn small_fs_at(dir: &std::path::Path) -> Option<Mount> {
    if !require(is_root(), "needs root to mount a tmpfs") {
        return None;
    }
    let dir = dir.to_path_buf();
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

    assert_failed(
        c.sndfile(b"small/snd", false, &mut &big[..], &mut |_| {})
            .status()
            .unwrap(),
        13,
    );
    assert!(
        dir_names(&srv.path("small")).is_empty(),
        "SNDFILE left {:?}",
        dir_names(&srv.path("small"))
    );

    let r = c.put(b"small/put", 0, 1 << 20, &mut &big[..], &mut |_| {});
    assert!(matches!(r, Err(Error::Cancelled { command: "PUT" })), "{r:?}");
    assert!(
        dir_names(&srv.path("small")).is_empty(),
        "PUT left {:?}",
        dir_names(&srv.path("small"))
    );

    // PUTCAN: the server's −2 at the window after the failed write
    let e = c
        .putcan(b"small/putcan", 0, 1 << 20, 1, &mut &big[..], &mut |_| {
            tfp_client::Flow::Continue
        })
        .unwrap_err();
    assert!(matches!(e, Error::Cancelled { command: "PUTCAN" }), "{e:?}");
    assert!(
        dir_names(&srv.path("small")).is_empty(),
        "PUTCAN left {:?}",
        dir_names(&srv.path("small"))
    );

    assert_eq!(c.sup(b"small/sup", &mut &big[..]).answer().unwrap(), -1);
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
        .status()
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

/// `tf get` into a full local disk: the download's chunks are written by a
/// thread behind the cipher, and a failed write still ends the command with
/// status 1 and the kernel's reason, leaves the local target as it was and no
/// temporary beside it (12 MiB: several chunks, so the writer thread runs).
#[test]
fn a_download_onto_a_full_local_disk_fails_cleanly() {
    let srv = Server::start();
    let here = tempdir("diskfull_get");
    let small = here.join("small");
    let Some(_m) = small_fs_at(&small) else { return };
    data_dir_write(&srv.path("big.bin"), &pattern(12 << 20, 3));
    let keep = small.join("keep.bin");
    fs::write(&keep, b"the old contents\n").unwrap();
    for bufsz in ["4194304", "65536"] {
        let o = srv.tf(&["get", "big.bin", keep.to_str().unwrap(), "--bufsz", bufsz]);
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(1), "--bufsz {bufsz}: {err}");
        assert!(err.contains("No space left"), "--bufsz {bufsz}: {err}");
        assert_eq!(fs::read(&keep).unwrap(), b"the old contents\n", "--bufsz {bufsz}");
        assert_eq!(dir_names(&small), ["keep.bin"], "--bufsz {bufsz}: a temporary was left");
    }
    // the same server still serves a download that fits
    data_dir_write(&srv.path("small.bin"), b"fits");
    let o = srv.tf(&["get", "small.bin", small.join("s").to_str().unwrap()]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(fs::read(small.join("s")).unwrap(), b"fits");
    drop(_m);
    let _ = fs::remove_dir_all(&here);
}
