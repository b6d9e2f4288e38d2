//! Key login under attack (issue 63): a signature captured on one session
//! and replayed on another, or relayed by a server in the middle; signatures
//! of the wrong type or length; malformed and oversized keys; a key file
//! others can write; a flood of offers before LOGIN. Each is refused with
//! FAILED, logged, and the server stays intact: the right key logs in after.

use super::users_login::multi_user;
use openssl::pkey::{PKey, Private};
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use tfd_testkit::users::tfpasswd;
use tfd_testkit::*;
use tfp_client::auth::keyfile;
use tfp_client::Client;
use tfp_wire::keylogin::{self, line, Challenge, Offer, PublicKey, SigAlg};
use tfp_wire::Status;

struct Keyed {
    m: super::users_login::MultiUser,
    file: PathBuf,
    key: PKey<Private>,
    blob: Vec<u8>,
}

/// A multi-user server whose alice has one Ed25519 key (made here).
fn keyed(extra: &str) -> Option<Keyed> {
    let dir = tempdir("keylogin-attacks");
    let keys = dir.join("authorized");
    fs::create_dir(&keys).unwrap();
    let m = multi_user(&format!("authorized_keys_dir {}\n{extra}", keys.display()), "default")?;
    let key = PKey::generate_ed25519().unwrap();
    let pk = PublicKey::Ed25519(key.raw_public_key().unwrap().try_into().unwrap());
    let blob = pk.to_blob();
    let file = keys.join("alice");
    fs::write(&file, format!("{}\n", line::render("", &blob, &pk, "alice@test"))).unwrap();
    Some(Keyed { m, file, key, blob })
}

/// A session over the secure transport (key login needs its handshake hash).
fn secure(k: &Keyed) -> Client {
    let mut cfg = k.m.srv.client_config();
    cfg.transport = tfp_client::Transport::Require;
    Client::connect(&cfg).unwrap()
}

/// TFDKEY for alice: the nonce, or the refusal's reply.
fn offer(c: &mut Client, user: &str, blob: &[u8]) -> Result<[u8; 32], Vec<u8>> {
    let reply = c.raw(&Offer::frame(user, blob)).unwrap();
    Challenge::parse(&reply).map(|ch| ch.nonce).ok_or(reply)
}

fn sign(k: &Keyed, binding: &[u8; 32], user: &str, nonce: &[u8; 32]) -> Vec<u8> {
    let data = keylogin::signed_data(binding, user.as_bytes(), nonce, &k.blob);
    keyfile::sign(&k.key, SigAlg::Ed25519, &data).unwrap()
}

fn send_sig(c: &mut Client, sig: &[u8]) -> Status {
    Status::parse(&c.raw(&keylogin::signature_frame(sig)).unwrap())
}

#[track_caller]
fn failed(st: Status, code: i32) {
    assert!(matches!(st, Status::Failed(c, _) if c == code), "{st:?}");
}

/// The right key still logs in, on a new session: the server is intact.
#[track_caller]
fn still_logs_in(k: &Keyed) {
    let mut c = secure(k);
    let nonce = offer(&mut c, "alice", &k.blob).unwrap_or_else(|r| panic!("{}", String::from_utf8_lossy(&r)));
    let sig = sign(k, &c.binding().unwrap(), "alice", &nonce);
    assert!(matches!(send_sig(&mut c, &sig), Status::Ok(_)), "{}", k.m.srv.log());
    assert_eq!(c.raw(b"ECHO in").unwrap(), b"in");
}

#[test]
fn a_signature_is_good_on_its_own_session_only() {
    let Some(k) = keyed("") else { return };
    // the victim's session with a server in the middle (here: its own
    // session A), and the relay's session B to tfd, whose nonce it forwards
    let mut a = secure(&k);
    let mut b = secure(&k);
    let nonce_b = offer(&mut b, "alice", &k.blob).unwrap();
    let relayed = sign(&k, &a.binding().unwrap(), "alice", &nonce_b);
    failed(send_sig(&mut b, &relayed), 37);
    // a signature that logged session A in, captured and replayed on C
    let nonce_a = offer(&mut a, "alice", &k.blob).unwrap();
    let good = sign(&k, &a.binding().unwrap(), "alice", &nonce_a);
    assert!(matches!(send_sig(&mut a, &good), Status::Ok(_)));
    let mut c = secure(&k);
    let _ = offer(&mut c, "alice", &k.blob).unwrap();
    failed(send_sig(&mut c, &good), 37);
    // nor twice on its own session's next offer, nor without an offer
    failed(send_sig(&mut c, &good), 37);
    // a signature for alice is not one for bob (no key for bob anyway)
    assert!(offer(&mut c, "bob", &k.blob).is_err());
    let log = k.m.srv.log();
    assert!(log.contains("the signature does not verify"), "{log}");
    still_logs_in(&k);
}

#[test]
fn wrong_signatures_malformed_and_oversized_keys_are_refused() {
    let Some(k) = keyed("login_max_failures_ip 0\nlogin_max_failures_user 0\n") else {
        return;
    };
    let mut c = secure(&k);
    let mut wrong_sigs: Vec<Vec<u8>> = Vec::new();
    let mut blob = Vec::new();
    keylogin::blob::put_string(&mut blob, b"rsa-sha2-256");
    keylogin::blob::put_string(&mut blob, &[1u8; 256]);
    wrong_sigs.push(blob);
    let mut short = Vec::new();
    keylogin::blob::put_string(&mut short, b"ssh-ed25519");
    keylogin::blob::put_string(&mut short, &[1u8; 63]);
    wrong_sigs.push(short);
    wrong_sigs.push(b"\xff\xff\xff\xff".to_vec());
    for sig in &wrong_sigs {
        offer(&mut c, "alice", &k.blob).unwrap();
        failed(send_sig(&mut c, sig), 37);
    }
    // not Base64, and far past any signature's length
    offer(&mut c, "alice", &k.blob).unwrap();
    failed(c.call("TFDKEYSIG", b"!!!").unwrap(), 37);
    // a malformed key, a DSA key, a key far past any length
    let mut c = secure(&k);
    failed(c.call("TFDKEY", b"alice AAAAC3NzaC1lZDI1NTE5AAAAIBUG").unwrap(), 37);
    let mut dss = Vec::new();
    keylogin::blob::put_string(&mut dss, b"ssh-dss");
    failed(
        c.call("TFDKEY", format!("alice {}", keylogin::encode_b64(&dss)).as_bytes())
            .unwrap(),
        37,
    );
    failed(c.call("TFDKEY", b"alice").unwrap(), 16);
    // far past any key: refused, or the connection closed by the pre-login
    // frame bound; either way nothing else
    match c.call("TFDKEY", &[&b"alice "[..], &vec![b'A'; 60_000]].concat()) {
        Ok(st) => failed(st, 37),
        Err(e) => assert!(matches!(e, tfp_client::Error::Channel(_)), "{e}"),
    }
    let log = k.m.srv.log();
    for why in [
        "a signature of another type than the key",
        "wrong length for its type",
        "a key that cannot be read",
    ] {
        assert!(log.contains(why), "no {why:?} in:\n{log}");
    }
    still_logs_in(&k);
}

#[test]
fn a_key_file_others_can_write_is_refused() {
    let Some(k) = keyed("") else { return };
    fs::set_permissions(&k.file, fs::Permissions::from_mode(0o666)).unwrap();
    let mut c = secure(&k);
    assert!(offer(&mut c, "alice", &k.blob).is_err());
    fs::set_permissions(&k.file, fs::Permissions::from_mode(0o644)).unwrap();
    let dir = k.file.parent().unwrap();
    fs::set_permissions(dir, fs::Permissions::from_mode(0o777)).unwrap();
    assert!(offer(&mut c, "alice", &k.blob).is_err());
    let log = k.m.srv.log();
    assert!(log.contains("key file") && log.contains("mode 666"), "{log}");
    assert!(log.contains("mode 777"), "{log}");
    fs::set_permissions(dir, fs::Permissions::from_mode(0o755)).unwrap();
    still_logs_in(&k);
}

#[test]
fn a_flood_of_offers_ends_its_connection_and_legacy_sessions_get_none() {
    let Some(k) = keyed("login_max_failures_ip 0\nlogin_max_failures_user 0\n") else {
        return;
    };
    let mut c = secure(&k);
    for _ in 0..keylogin::MAX_OFFERS {
        offer(&mut c, "alice", &k.blob).unwrap();
    }
    // the next offer is answered FAILED and the connection closed
    let reply = c.raw(&Offer::frame("alice", &k.blob)).unwrap();
    failed(Status::parse(&reply), 37);
    assert!(c.call("ECHO", b"x").is_err(), "the connection stayed open");
    assert!(k.m.srv.log().contains("keys offered on one connection; closing"));
    // a signature with nothing offered, and the legacy transport's sessions
    let mut c = secure(&k);
    failed(c.call("TFDKEYSIG", b"AAAA").unwrap(), 37);
    let mut cfg = k.m.srv.client_config();
    cfg.transport = tfp_client::Transport::Legacy;
    let mut legacy = Client::connect(&cfg).unwrap();
    failed(
        legacy
            .call("TFDKEY", format!("alice {}", keylogin::encode_b64(&k.blob)).as_bytes())
            .unwrap(),
        201,
    );
    still_logs_in(&k);
}

/// A key offered and then revoked before its signature arrives (its line
/// removed, its expiry passed, the account locked or deleted) does not log
/// in: TFDKEYSIG reads the key file and the account again, not the entry
/// TFDKEY saw, which would have let it in for the rest of the pre-login time.
#[test]
fn a_key_revoked_between_its_offer_and_its_signature_does_not_log_in() {
    let Some(k) = keyed("login_max_failures_ip 0\nlogin_max_failures_user 0\n") else {
        return;
    };
    let line = fs::read_to_string(&k.file).unwrap();
    let db = k.m.db.to_str().unwrap().to_string();
    let offered = |k: &Keyed| {
        let mut c = secure(k);
        let nonce = offer(&mut c, "alice", &k.blob).unwrap_or_else(|r| panic!("{}", String::from_utf8_lossy(&r)));
        (c, nonce)
    };
    let signs = |k: &Keyed, c: &mut Client, nonce: &[u8; 32]| {
        let sig = sign(k, &c.binding().unwrap(), "alice", nonce);
        send_sig(c, &sig)
    };
    // the key's line removed from the key file
    let (mut c, nonce) = offered(&k);
    fs::write(&k.file, "").unwrap();
    failed(signs(&k, &mut c, &nonce), 37);
    fs::write(&k.file, &line).unwrap();
    // its expiry-time passed (a second's resolution: two seconds from now)
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap();
    let at = tfp_wire::date::format_utc(now.as_secs() as i64 + 2).unwrap();
    let compact: String = at.chars().filter(char::is_ascii_digit).take(14).collect();
    fs::write(&k.file, format!("expiry-time=\"{compact}Z\" {line}")).unwrap();
    let (mut c, nonce) = offered(&k);
    std::thread::sleep(std::time::Duration::from_millis(3100));
    failed(signs(&k, &mut c, &nonce), 37);
    fs::write(&k.file, &line).unwrap();
    // the account locked, then deleted
    for (what, undo) in [("lock", Some("unlock")), ("del", None)] {
        let (mut c, nonce) = offered(&k);
        assert!(tfpasswd(&["-f", &db, what, "alice"], "").status.success(), "{what}");
        failed(signs(&k, &mut c, &nonce), 37);
        if let Some(undo) = undo {
            assert!(tfpasswd(&["-f", &db, undo, "alice"], "").status.success(), "{undo}");
            // unlocked again, the same key logs in
            still_logs_in(&k);
        }
    }
    // a refused offer for bob: its line names the account tried
    let mut c = secure(&k);
    assert!(offer(&mut c, "bob", &k.blob).is_err());
    let log = k.m.srv.log();
    assert_eq!(log.matches("(since it was offered)").count(), 4, "{log}");
    // the refusals' lines name the account tried, never the user the
    // session still ran as before its login (issue 88: "user=root")
    let lines = |cmd: &str| -> Vec<&str> {
        log.lines()
            .filter(|l| l.contains(&format!(" {cmd} -> FAILED")))
            .collect()
    };
    let (sigs, offers) = (lines("TFDKEYSIG"), lines("TFDKEY"));
    assert_eq!(sigs.len(), 4, "{log}");
    assert!(sigs.iter().all(|l| l.ends_with("login=\"alice\"")), "{sigs:?}");
    assert!(offers.iter().any(|l| l.ends_with("login=\"bob\"")), "{offers:?}");
    assert!(!sigs.iter().chain(&offers).any(|l| l.contains("user=")), "{log}");
}
