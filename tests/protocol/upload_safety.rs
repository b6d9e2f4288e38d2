//! Issue 31 items 3 and 4: upload temporaries no client can forge, reach or
//! read, a sweeper that removes only what it can prove tfd made, and
//! overwrites that keep the target's mode and owner on every writing command.

use tfd_testkit::intrw::{hash_text, intwrite};
use tfd_testkit::reply::{Answer as _, SizeOrCode as _};
use tfp_client::replies::{AsStatus as _, Split as _};

use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::time::{Duration, Instant, SystemTime};
use tfd_testkit::*;
use tfp_wire::Status;

fn refused(st: &Status, what: &str) {
    assert!(matches!(st, Status::Failed(..)), "{what}: {st:?}");
}

/// No command may create, rename to or address a name in the temporaries'
/// namespace (`.tfd-part-*`): they were accepted, hidden from listings and
/// removed by the sweeper.
#[test]
fn client_made_temporary_names_are_refused() {
    let srv = Server::start();
    fs::write(srv.path("a.txt"), b"a").unwrap();
    fs::create_dir_all(srv.path("d")).unwrap();
    // one made on the host, which no command may reach either
    fs::write(srv.path(".tfd-part-feedfacefeedface"), b"host").unwrap();
    let mut c = srv.client();
    for name in [".tfd-part-0123456789abcdef", "d/.tfd-part-x", ".tfd-part-"] {
        let st = c
            .sndfile(name.as_bytes(), true, &mut &b"forged"[..], &mut |_| {})
            .status()
            .unwrap();
        refused(&st, &format!("SNDFILE {name}"));
        refused(
            &c.call("RENAM", format!("a.txt {name}").as_bytes()).unwrap(),
            "RENAM onto",
        );
        refused(
            &c.call("COPY", format!("a.txt {name}").as_bytes()).unwrap(),
            "COPY onto",
        );
        refused(&c.call("MKDIR", name.as_bytes()).unwrap(), "MKDIR");
        refused(&c.call("TOUCH", name.as_bytes()).unwrap(), "TOUCH");
        assert_eq!(
            c.sup(name.as_bytes(), &mut &b"forged"[..]).answer().unwrap(),
            -1,
            "SUP {name}"
        );
        let r = c
            .put(name.as_bytes(), 0, 4096, &mut &b"forged"[..], &mut |_| {})
            .split()
            .unwrap();
        assert!(r.is_err(), "PUT {name}: {r:?}");
    }
    let host = ".tfd-part-feedfacefeedface";
    for cmd in ["DEL", "FSTAT", "SHA256"] {
        let st = c.call(cmd, host.as_bytes()).unwrap();
        assert!(!matches!(st, Status::Ok(_)), "{cmd} reached it: {st:?}");
    }
    assert!(c.fsize(host.as_bytes()).size_or_code().unwrap() < 0, "FSIZE reached it");
    refused(
        &c.call("RENAM", format!("{host} b.txt").as_bytes()).unwrap(),
        "RENAM from",
    );
    assert_eq!(dir_names(&srv.data), [".tfd-part-feedfacefeedface", "a.txt", "d"]);
    assert_eq!(dir_names(&srv.path("d")), Vec::<String>::new());
    assert_eq!(fs::read(srv.path(host)).unwrap(), b"host");
}

fn set_old(p: &std::path::Path) {
    fs::File::options()
        .write(true)
        .open(p)
        .unwrap()
        .set_modified(SystemTime::now() - Duration::from_secs(3600))
        .unwrap();
}

/// A real file renamed on the host to a temporary's name is never swept,
/// however old; a marked orphan beside it is (so the sweeper did run).
#[test]
fn a_real_file_with_a_temporary_name_is_never_swept() {
    let srv = Server::start_with("sweep_interval 1\n");
    let mine = srv.path(".tfd-part-0123456789abcdef");
    fs::write(srv.path("precious"), b"the user's data").unwrap();
    fs::rename(srv.path("precious"), &mine).unwrap();
    set_old(&mine);
    let orphan = srv.path(".tfd-part-00000000000000aa");
    fs::write(&orphan, b"left by a killed session").unwrap();
    mark_upload_temporary(&orphan);
    set_old(&orphan);
    let deadline = Instant::now() + Duration::from_secs(15);
    while orphan.exists() {
        assert!(
            Instant::now() < deadline,
            "the sweeper never removed the marked orphan:\n{}",
            srv.log()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    // another full pass after that one
    std::thread::sleep(Duration::from_millis(2500));
    assert_eq!(fs::read(&mine).unwrap(), b"the user's data", "a user's file was swept");
}

fn mode_owner(p: &std::path::Path) -> (u32, u32, u32) {
    let m = fs::metadata(p).unwrap();
    (m.permissions().mode() & 0o7777, m.uid(), m.gid())
}

/// An overwrite keeps a 0600 file 0600, and its owner, on every writing
/// command (SNDFILE and SUP left 0644: another user read the new content).
#[test]
fn overwrites_keep_mode_and_owner() {
    assert!(is_root(), "this test needs root: the target belongs to another user");
    let srv = Server::start();
    let (uid, gid) = (65534, 65534);
    let target = srv.path("private");
    let reset = |content: &[u8]| {
        fs::write(&target, content).unwrap();
        std::os::unix::fs::chown(&target, Some(uid), Some(gid)).unwrap();
        fs::set_permissions(&target, fs::Permissions::from_mode(0o600)).unwrap();
    };
    let mut c = srv.client();
    reset(b"old");
    assert_ok(
        c.sndfile(b"private", true, &mut &b"by sndfile"[..], &mut |_| {})
            .status()
            .unwrap(),
    );
    assert_eq!(fs::read(&target).unwrap(), b"by sndfile");
    assert_eq!(mode_owner(&target), (0o600, uid, gid), "SNDFILE");
    reset(b"old");
    assert_eq!(c.sup(b"private", &mut &b"by sup"[..]).answer().unwrap(), 0);
    assert_eq!(fs::read(&target).unwrap(), b"by sup");
    assert_eq!(mode_owner(&target), (0o600, uid, gid), "SUP");
    reset(b"old");
    let r = c
        .put(b"private", 0, 4096, &mut &b"by put"[..], &mut |_| {})
        .split()
        .unwrap();
    assert!(r.is_ok(), "{r:?}");
    assert_eq!(fs::read(&target).unwrap(), b"by put");
    assert_eq!(mode_owner(&target), (0o600, uid, gid), "PUT");
    reset(b"old");
    assert_eq!(intwrite(&mut c, "private", &hash_text(b"old"), b"by intwrite"), 0);
    assert_eq!(fs::read(&target).unwrap(), b"by intwrite");
    assert_eq!(mode_owner(&target), (0o600, uid, gid), "INTWRITE");
    reset(b"old");
    fs::write(srv.path("src"), b"by copy").unwrap();
    // COPY never replaces an existing file: refused, and the target untouched
    let _ = c.call("COPY", b"src private").unwrap();
    assert_eq!(mode_owner(&target), (0o600, uid, gid), "COPY over");
    reset(b"old");
    let local = srv.dir.join("staged.local");
    fs::write(&local, pattern(3 << 20, 9)).unwrap();
    let o = srv.tf(&["put", local.to_str().unwrap(), "private", "--streams", "2"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(fs::read(&target).unwrap(), fs::read(&local).unwrap());
    assert_eq!(mode_owner(&target), (0o600, uid, gid), "staged put");
    // a new file gets 0644 (tfd's umask 022), as before
    assert_ok(
        c.sndfile(b"fresh", false, &mut &b"x"[..], &mut |_| {})
            .status()
            .unwrap(),
    );
    assert_eq!(mode_owner(&srv.path("fresh")).0, 0o644);
}
