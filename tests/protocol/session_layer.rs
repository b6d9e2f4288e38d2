//! The 2.5.1 session layer through the real wire: GOAES/TFPCRYPTO switch every
//! command and sub-protocol to AES-256-CBC and back, and CIAON/CIAOFF put an
//! identity token before every client unit; files checked on disk.

use crate::hpf_rounds;
use tfd_testkit::reply::{Answer as _, SizeOrCode as _};
use tfp_client::replies::{AsStatus as _, Split as _};

use std::fs;
use std::time::{Duration, Instant};
use tfd_testkit::rounds::{notification_round, stream_round_trips};
use tfd_testkit::*;
use tfp_client::Client;
use tfp_wire::aes::{AesKey, IV_LEN, KEY_LEN};
use tfp_wire::Status;

fn aes_client(srv: &Server) -> Client {
    let mut c = srv.client();
    c.goaes().split().unwrap().expect("GOAES answers OK");
    assert!(c.chan.tx.aes_on() && c.chan.rx.aes_on());
    c
}

/// The reply to GOAES still comes in the stream cipher, the next frame in AES
/// (its header and payload one 16-byte block each on the wire), and TFPCRYPTO
/// (answered in AES) resumes the stream cipher where GOAES left it.
#[test]
fn goaes_switches_at_the_frame_boundary_and_tfpcrypto_comes_back() {
    let srv = Server::start();
    let mut c = srv.client();
    assert_eq!(c.raw(b"ECHO stream").unwrap(), b"stream");
    c.goaes().split().unwrap().unwrap();
    let before = c.chan.rx.bytes;
    assert_eq!(c.raw(b"ECHO aes").unwrap(), b"aes");
    assert_eq!(c.chan.rx.bytes - before, 32, "one block of header, one of payload");
    let before = c.chan.rx.bytes;
    assert_eq!(c.raw(b"ECHO sixteen bytes!!!").unwrap(), b"sixteen bytes!!!");
    assert_eq!(c.chan.rx.bytes - before, 16 + 32, "16 bytes take two blocks (PKCS#7)");
    // GOAES again under AES: a new key, the reply in the old one
    c.goaes().split().unwrap().unwrap();
    assert_eq!(c.raw(b"ECHO again").unwrap(), b"again");
    assert_eq!(c.tfpcrypto().status().unwrap(), Status::Ok(vec![]));
    assert!(!c.chan.tx.aes_on());
    let before = c.chan.rx.bytes;
    assert_eq!(c.raw(b"ECHO back").unwrap(), b"back");
    assert_eq!(c.chan.rx.bytes - before, 8, "the stream cipher: no padding");
    // TFPCRYPTO without AES on is a plain OK
    assert_eq!(c.tfpcrypto().status().unwrap(), Status::Ok(vec![]));
    assert_eq!(c.raw(b"ECHO still").unwrap(), b"still");
    assert!(srv.log().contains("GOAES: AES-256-CBC on"));
}

#[test]
fn aes_sndfile_rcvfile_sup_sdown_and_listings() {
    let srv = Server::start();
    let mut c = aes_client(&srv);
    stream_round_trips(&srv, &mut c, "", &[0, 1, 16, 507, 524_283, 524_284, 1_048_593]);
    assert_failed(c.rcvfile(b"none", false, &mut Vec::new()).status().unwrap(), 9);
    fs::create_dir_all(srv.path("d/e")).unwrap();
    fs::write(srv.path("d/e/f"), b"x").unwrap();
    let ls = c.list(false, b"d").split().unwrap().unwrap();
    assert_eq!(String::from_utf8(ls).unwrap().trim_end(), "D: e/");
    let lsr = String::from_utf8(c.list(true, b"d").split().unwrap().unwrap()).unwrap();
    assert!(lsr.contains("F: e/f"), "{lsr}");
    assert!(ok(&c.call("MKDIR", b"made").unwrap()));
    assert!(srv.path("made").is_dir());
    assert_eq!(c.fsize(b"s1").size_or_code().unwrap(), 1);
}

#[test]
fn aes_put_get_and_their_cancel_variants() {
    let srv = Server::start();
    let mut c = aes_client(&srv);
    hpf_rounds::put_get_round_trips(&srv, &mut c, &[1, 16, 4096, 1_000_003], 40);
    hpf_rounds::put_stop_keeps_and_cancel_deletes(&srv, &mut c);
    fs::write(srv.path("big"), pattern(300_000, 9)).unwrap();
    let kept = c.get_cancel_after_first(b"big", 65_536).split().unwrap().unwrap();
    assert!(kept > 0);
    // PUTCAN: after every 2 chunks the server answers CONT
    hpf_rounds::putcan_window(&srv, &mut c);
    // GETCAN, canpt 3: the client answers every third chunk
    hpf_rounds::getcan_window(&srv, &mut c);
    assert_eq!(c.raw(b"ECHO after getcan").unwrap(), b"after getcan");
}

/// NIGMA under AES replaces the stream cipher's key beneath the layer: after
/// TFPCRYPTO both sides go on with the new key.
#[test]
fn aes_nigma_then_tfpcrypto() {
    let srv = Server::start();
    let mut c = aes_client(&srv);
    c.nigma(64).split().unwrap().unwrap();
    assert_eq!(c.raw(b"ECHO under aes").unwrap(), b"under aes");
    assert_eq!(c.tfpcrypto().status().unwrap(), Status::Ok(vec![]));
    assert_eq!(c.raw(b"ECHO new key").unwrap(), b"new key");
}

#[test]
fn aes_notification_mode() {
    let srv = Server::start();
    let mut c = aes_client(&srv);
    notification_round(&srv, &mut c);
    let mut s = c.chan.stream().try_clone().unwrap();
    assert!(read_to_close(&mut s).is_empty());
    assert!(srv.path("in/msg_b").exists());
}

/// A client that enciphers with another IV than it sent: the server cannot
/// decipher its next command, logs it and closes; nothing is acted upon, and
/// the server goes on serving others.
#[test]
fn aes_with_a_wrong_iv_fails_cleanly() {
    let srv = Server::start();
    let mut c = srv.client();
    let key = [7u8; KEY_LEN];
    c.goaes_with(key, [1u8; IV_LEN]).split().unwrap().unwrap();
    let wrong = AesKey::new(key, [2u8; IV_LEN]);
    c.chan.tx.set_aes(Some(&wrong)).unwrap();
    c.chan.tx.send_frame(b"MKDIR never").unwrap();
    let mut s = c.chan.stream().try_clone().unwrap();
    assert!(read_to_close(&mut s).is_empty(), "closed without a reply");
    assert!(!srv.path("never").exists());
    let t = Instant::now();
    while !srv.log().contains("bad padding") {
        assert!(t.elapsed() < Duration::from_secs(5), "logged: {}", srv.log());
        std::thread::sleep(Duration::from_millis(20));
    }
    let mut d = aes_client(&srv);
    assert_eq!(d.raw(b"ECHO fine").unwrap(), b"fine");
}

/// CIAON: the token goes before every client unit (frames, raw HPF/SUP values,
/// GOAES's key and IV), in the stream cipher and in AES; a second CIAON gives a
/// new token; CIAOFF stops it.
#[test]
fn ciaon_every_unit_in_both_ciphers_then_ciaoff() {
    let srv = Server::start();
    let mut c = srv.client();
    let t1 = c.ciaon().split().unwrap().unwrap();
    assert_eq!(t1.len(), 36);
    assert_eq!(t1.as_bytes()[14], b'4', "a version-4 UUID: {t1}");
    assert_eq!(c.raw(b"ECHO with token").unwrap(), b"with token");
    let data = pattern(700_001, 3);
    for round in 0..2 {
        let st = c.sndfile(b"s.bin", true, &mut &data[..], &mut |_| {}).status().unwrap();
        assert_eq!(st, Status::Ok(vec![]), "round {round}");
        assert_eq!(fs::read(srv.path("s.bin")).unwrap(), data);
        let mut back = Vec::new();
        assert_eq!(
            c.rcvfile(b"s.bin", false, &mut back).status().unwrap(),
            Status::Ok(vec![])
        );
        assert_eq!(back, data);
        c.put(b"p.bin", 0, 65_536, &mut &data[..], &mut |_| {})
            .split()
            .unwrap()
            .unwrap();
        assert_eq!(fs::read(srv.path("p.bin")).unwrap(), data);
        let mut back = Vec::new();
        assert_eq!(
            c.get(b"p.bin", 0, 65_536, &mut back, &mut |_| {}).split().unwrap(),
            Ok(data.len() as u64)
        );
        assert_eq!(back, data);
        assert_eq!(c.sup(b"u.bin", &mut &data[..]).answer().unwrap(), 0);
        assert_eq!(fs::read(srv.path("u.bin")).unwrap(), data);
        assert_eq!(c.raw(b"ECHO ").unwrap(), b"", "an empty payload");
        // the second round in AES (its key and IV carry tokens too)
        c.goaes().split().unwrap().unwrap();
    }
    assert_eq!(c.raw(b"ECHO after goaes").unwrap(), b"after goaes");
    let t2 = c.ciaon().split().unwrap().unwrap();
    assert_ne!(t1, t2);
    assert_eq!(c.raw(b"ECHO new token").unwrap(), b"new token");
    assert_eq!(c.ciaoff().status().unwrap(), Status::Ok(vec![]));
    assert_eq!(c.raw(b"ECHO no token").unwrap(), b"no token");
    assert_eq!(c.tfpcrypto().status().unwrap(), Status::Ok(vec![]));
    assert_eq!(c.raw(b"ECHO stream").unwrap(), b"stream");
}

/// A unit with another token, or none, ends the session with no reply and
/// nothing done, and is logged (the reference's read fails and it closes).
#[test]
fn ciaon_wrong_or_missing_token_closes() {
    let srv = Server::start();
    for (i, aes) in [(0, false), (1, false), (2, true), (3, true)] {
        let mut c = srv.client();
        if aes {
            c.goaes().split().unwrap().unwrap();
        }
        c.ciaon().split().unwrap().unwrap();
        let name = format!("never-made-{i}-a-long-enough-name-to-fill-a-token");
        if i % 2 == 0 {
            c.chan.tx.set_ident(Some(*b"00000000-0000-4000-8000-000000000000"));
        } else {
            c.chan.tx.set_ident(None);
        }
        c.chan.tx.send_frame(format!("MKDIR {name}").as_bytes()).unwrap();
        let mut s = c.chan.stream().try_clone().unwrap();
        assert!(read_to_close(&mut s).is_empty(), "case {i}: closed without a reply");
        assert!(!srv.path(&name).exists(), "case {i}");
    }
    let t = Instant::now();
    while srv.log().matches("without the identity token").count() < 2 {
        assert!(t.elapsed() < Duration::from_secs(5), "logged: {}", srv.log());
        std::thread::sleep(Duration::from_millis(20));
    }
    let mut d = srv.client();
    assert_eq!(d.raw(b"ECHO fine").unwrap(), b"fine");
}

/// CIAON issued under AES: its `OK <uuid>` reply is a unit given in pieces that
/// cross a block boundary (this once enciphered garbage), and a new token
/// replaces the old one under AES.
#[test]
fn ciaon_twice_under_aes() {
    let srv = Server::start();
    let mut c = srv.client();
    c.goaes().split().unwrap().unwrap();
    c.ciaon().split().unwrap().unwrap();
    assert_eq!(c.raw(b"ECHO a").unwrap(), b"a");
    c.ciaon().split().unwrap().unwrap();
    assert_eq!(c.raw(b"ECHO b").unwrap(), b"b");
}

/// `tf --aes`: the session (every stream of a parallel put/get too) runs in AES.
#[test]
fn tf_aes_put_and_get() {
    let srv = Server::start();
    let dir = tempdir("tf-aes");
    let local = dir.join("up.bin");
    let data = pattern(3_000_001, 8);
    fs::write(&local, &data).unwrap();
    let out = srv.tf(&["--aes", "put", local.to_str().unwrap(), "up.bin", "--streams", "2"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(fs::read(srv.path("up.bin")).unwrap(), data);
    let back = dir.join("back.bin");
    let out = srv.tf(&["--aes", "get", "up.bin", back.to_str().unwrap()]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(fs::read(&back).unwrap(), data);
    assert!(srv.log().matches("GOAES: AES-256-CBC on").count() >= 3, "{}", srv.log());
    let _ = fs::remove_dir_all(&dir);
}
