//! INTREAD and INTWRITE through the real wire: the document's raw units, the
//! snapshot's hash, the compare-and-swap replacement (old content kept on a bad
//! or stale hash, no temporary file left), `intrw_max`, and bad input.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use tfd_testkit::intrw::{hash_text, intread, intwrite};
use tfd_testkit::users::{ensure_system_user, login_userdb};
use tfd_testkit::*;
use tfp_client::Client;

fn alive(c: &mut Client) {
    assert_eq!(c.raw(b"ECHO alive").unwrap(), b"alive");
}

#[test]
fn intread_sends_size_hash_and_bytes() {
    let srv = Server::start();
    let data = pattern(700_000, 3);
    data_dir_write(&srv.path("d/f"), &data);
    let mut c = srv.client();
    let (hash, got) = intread(&mut c, "d/f").unwrap();
    assert_eq!(got, data);
    assert_eq!(hash, hash_text(&data));
    // the decision: a read-only file is read (the reference opened it for writing)
    data_dir_write(&srv.path("ro"), b"read me");
    fs::set_permissions(srv.path("ro"), fs::Permissions::from_mode(0o444)).unwrap();
    let (hash, got) = intread(&mut c, "ro").unwrap();
    assert_eq!((got.as_slice(), hash), (&b"read me"[..], hash_text(b"read me")));
    data_dir_write(&srv.path("empty"), b"");
    let (hash, got) = intread(&mut c, "empty").unwrap();
    assert_eq!((got.len(), hash), (0, hash_text(b"")));
    alive(&mut c);
}

#[test]
fn intread_bad_input_is_minus_one_and_the_session_goes_on() {
    let srv = Server::start();
    data_dir_write(&srv.path("d/f"), b"x");
    std::os::unix::fs::symlink("/etc/passwd", srv.path("out")).unwrap();
    let mut c = srv.client();
    for bad in ["missing", "d", "", "../f", "d/../../f", "out", "/etc/passwd"] {
        assert_eq!(intread(&mut c, bad), Err(-1), "{bad}");
        alive(&mut c);
    }
}

#[test]
fn intrw_max_refuses_larger_files() {
    let srv = Server::start_with("intrw_max 1K\n");
    data_dir_write(&srv.path("small"), &[7u8; 1024]);
    data_dir_write(&srv.path("big"), &[8u8; 1025]);
    let mut c = srv.client();
    assert_eq!(intread(&mut c, "small").unwrap().1.len(), 1024);
    assert_eq!(intread(&mut c, "big"), Err(-1));
    alive(&mut c);
    // an upload above the maximum is drained and refused; the file is kept
    let old = fs::read(srv.path("small")).unwrap();
    assert_eq!(intwrite(&mut c, "small", &hash_text(&old), &[1u8; 5000]), -1);
    assert_eq!(fs::read(srv.path("small")).unwrap(), old);
    alive(&mut c);
    assert_eq!(intwrite(&mut c, "small", &hash_text(&old), &[1u8; 1024]), 0);
    assert_eq!(fs::read(srv.path("small")).unwrap(), vec![1u8; 1024]);
    assert!(srv.log().contains("above intrw_max"), "the refusal is logged");
}

#[test]
fn intwrite_replaces_atomically_on_the_right_hash_only() {
    let srv = Server::start();
    let old = pattern(10_000, 1);
    data_dir_write(&srv.path("d/f"), &old);
    fs::set_permissions(srv.path("d/f"), fs::Permissions::from_mode(0o640)).unwrap();
    let new = pattern(900_000, 2); // more than one frame's worth
    let mut c = srv.client();

    // a wrong hash: -1, the old file untouched, no temporary file left
    assert_eq!(intwrite(&mut c, "d/f", &hash_text(b"something else"), &new), -1);
    assert_eq!(fs::read(srv.path("d/f")).unwrap(), old);
    assert_eq!(dir_names(&srv.path("d")), vec!["f".to_string()]);
    alive(&mut c);

    // the right one (upper-case hex too): replaced whole, mode kept
    let upper = String::from_utf8(hash_text(&old))
        .unwrap()
        .to_uppercase()
        .replace("0X", "0x");
    assert_eq!(intwrite(&mut c, "d/f", upper.as_bytes(), &new), 0);
    assert_eq!(fs::read(srv.path("d/f")).unwrap(), new);
    assert_eq!(
        fs::metadata(srv.path("d/f")).unwrap().permissions().mode() & 0o7777,
        0o640
    );
    assert_eq!(dir_names(&srv.path("d")), vec!["f".to_string()]);

    // the same (now stale) hash again: refused
    assert_eq!(intwrite(&mut c, "d/f", &hash_text(&old), b"late"), -1);
    assert_eq!(fs::read(srv.path("d/f")).unwrap(), new);
    // what INTREAD gives is what INTWRITE checks
    let (h, _) = intread(&mut c, "d/f").unwrap();
    assert_eq!(intwrite(&mut c, "d/f", &h, b""), 0);
    assert_eq!(fs::read(srv.path("d/f")).unwrap(), b"");
    alive(&mut c);
}

#[test]
fn intwrite_bad_input_is_minus_one_and_nothing_is_created() {
    let srv = Server::start();
    data_dir_write(&srv.path("d/f"), b"x");
    // a file outside the root (not /etc/passwd, which a test creating a user
    // beside this one changes)
    let outside = srv.dir.join("outside");
    fs::write(&outside, b"outside").unwrap();
    std::os::unix::fs::symlink(&outside, srv.path("out")).unwrap();
    let mut c = srv.client();
    for bad in ["missing", "d", "", "../f", "d/../../f", "out", "d/none/f"] {
        assert_eq!(intwrite(&mut c, bad, &hash_text(b"x"), b"payload"), -1, "{bad}");
        alive(&mut c);
    }
    assert!(!srv.path("missing").exists());
    assert_eq!(fs::read(&outside).unwrap(), b"outside");
    assert_eq!(dir_names(&srv.path("d")), vec!["f".to_string()]);
    // a negative size announces no payload
    c.chan.tx.send_frame(b"INTWRITE d/f").unwrap();
    c.chan.tx.send_units(&[&hash_text(b"x")]).unwrap();
    c.chan.tx.send_i32(-5).unwrap();
    assert_eq!(c.chan.rx.recv_i32().unwrap(), -1);
    alive(&mut c);
    assert_eq!(fs::read(srv.path("d/f")).unwrap(), b"x");
}

#[test]
fn intwrite_waits_for_a_netlock_holder_and_intread_sees_one_snapshot() {
    let srv = Server::start();
    data_dir_write(&srv.path("f"), b"v1");
    let mut holder = srv.client();
    assert_eq!(holder.raw(b"NETLOCK 30 f").unwrap(), b"OK 0");
    let mut c = srv.client();
    let srv_path = srv.path("f");
    let writer = std::thread::spawn(move || {
        let r = intwrite(&mut c, "f", &hash_text(b"v1"), b"v2");
        (r, c)
    });
    std::thread::sleep(std::time::Duration::from_millis(500));
    assert_eq!(fs::read(&srv_path).unwrap(), b"v1", "not replaced while locked");
    assert_eq!(holder.raw(b"NETUNLOCK 0").unwrap(), b"OK");
    let (r, mut c) = writer.join().unwrap();
    assert_eq!(r, 0);
    assert_eq!(fs::read(&srv_path).unwrap(), b"v2");
    let (h, d) = intread(&mut c, "f").unwrap();
    assert_eq!((h, d.as_slice()), (hash_text(b"v2"), &b"v2"[..]));
}

/// INTWRITE never hands out set-uid/set-gid bits (issue 23, item 5): a LOGIN user
/// who may replace a world-writable 06777 file of root's gets a file of their own
/// with mode 0777, as COPY makes it (CHMOD refuses those bits). The old code kept
/// the mode whole, so the user ended up owning a set-uid, set-gid file.
#[test]
fn intwrite_drops_setuid_and_setgid_bits() {
    if !require(is_root(), "needs root") {
        return;
    }
    use std::os::unix::fs::MetadataExt;
    let (uid, gid) = ensure_system_user("tfdiw1", &[]);
    let f = login_userdb("intrw-userdb", "bea", "tfdiw1", "bea pw");
    let srv = Server::start_opts(Opts {
        extra: &format!("userdb {f}\n"),
        default_user: false,
        ..Default::default()
    });
    // bea's own directory (so she may rename over a file in it) holding root's file
    let dir = srv.path("shared");
    fs::create_dir(&dir).unwrap();
    nix::unistd::chown(&dir, Some(uid.into()), Some(gid.into())).unwrap();
    let target = dir.join("f");
    fs::write(&target, b"old").unwrap();
    fs::set_permissions(&target, fs::Permissions::from_mode(0o6777)).unwrap();
    let mut c = srv.client();
    assert_ok(c.call("LOGIN", b"bea bea pw").unwrap());
    assert_eq!(
        intwrite(&mut c, "shared/f", &hash_text(b"old"), b"new"),
        0,
        "{}",
        srv.log()
    );
    let m = fs::metadata(&target).unwrap();
    assert_eq!(fs::read(&target).unwrap(), b"new");
    assert_eq!(m.uid(), uid, "the replacement is bea's own file");
    assert_eq!(
        m.mode() & 0o7777,
        0o777,
        "no set-uid/set-gid bits on a file the writer owns: {:o}",
        m.mode() & 0o7777
    );
    alive(&mut c);
}
