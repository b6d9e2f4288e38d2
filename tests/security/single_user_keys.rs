//! A single-user server's `authorized_keys` at the wire (issue 63): before
//! its key login a session gets FAILED 37 for every command but the upgrade
//! and the login itself (LOGIN, INJAIL, ECHO, a transfer), logged; an
//! unknown key and a bad signature are refused; the right key, signed over
//! this session's handshake hash, lets the session in, and once.

use openssl::pkey::{PKey, Private};
use std::fs;
use tfd_testkit::*;
use tfp_client::auth::keyfile;
use tfp_client::Client;
use tfp_wire::keylogin::{self, line, Challenge, Offer, PublicKey, SigAlg};
use tfp_wire::Status;

/// A key pair made here: the private key and its public blob.
fn key_pair() -> (PKey<Private>, Vec<u8>) {
    let key = PKey::generate_ed25519().unwrap();
    let pk = PublicKey::Ed25519(key.raw_public_key().unwrap().try_into().unwrap());
    (key, pk.to_blob())
}

fn line_of(blob: &[u8]) -> String {
    let pk = PublicKey::parse(blob).unwrap();
    format!("{}\n", line::render("", blob, &pk, "test"))
}

/// A single-user server whose authorized_keys holds `blob`'s key.
fn server(blob: &[u8]) -> Option<Server> {
    server_with(blob, "")
}

/// The same, with more of tfd.conf.
fn server_with(blob: &[u8], conf: &str) -> Option<Server> {
    if !require(is_root(), "needs root (the key file is judged as root's)") {
        return None;
    }
    let dir = tempdir("single-keys-wire");
    let file = dir.join("authorized_keys");
    fs::write(&file, line_of(blob)).unwrap();
    Some(Server::start_with(&format!(
        "authorized_keys {}\n{conf}",
        file.display()
    )))
}

/// A session over the secure transport that has not logged in by key.
fn secure(srv: &Server) -> Client {
    let mut cfg = srv.client_config();
    cfg.transport = tfp_client::Transport::Require;
    Client::connect(&cfg).unwrap_or_else(|e| panic!("{e}\n{}", srv.log()))
}

fn offer(c: &mut Client, blob: &[u8]) -> Result<[u8; 32], Status> {
    let reply = c.raw(&Offer::frame("-", blob)).unwrap();
    Challenge::parse(&reply)
        .map(|ch| ch.nonce)
        .ok_or_else(|| Status::parse(&reply))
}

fn signed(c: &Client, key: &PKey<Private>, blob: &[u8], nonce: &[u8; 32]) -> Vec<u8> {
    let data = keylogin::signed_data(&c.binding().unwrap(), b"-", nonce, blob);
    keylogin::signature_frame(&keyfile::sign(key, SigAlg::Ed25519, &data).unwrap())
}

#[test]
fn every_command_before_the_key_login_is_refused_with_37() {
    let (key, blob) = key_pair();
    let Some(srv) = server(&blob) else { return };
    let mut c = secure(&srv);
    for cmd in [&b"ECHO hi"[..], b"LOGIN - x", b"INJAIL t | d", b"MKDIR d", b"FSTAT ."] {
        let st = Status::parse(&c.raw(cmd).unwrap());
        assert!(
            matches!(&st, Status::Failed(37, t) if t.contains("Log in by key first")),
            "{}: {st:?}",
            String::from_utf8_lossy(cmd)
        );
    }
    assert!(!srv.path("d").exists());
    let log = srv.log();
    assert!(log.contains("ECHO -> FAILED 37 (Log in by key first"), "{log}");
    // the key login, then the session runs, and a second key login is refused
    let nonce = offer(&mut c, &blob).unwrap_or_else(|st| panic!("{st:?}\n{}", srv.log()));
    let sig = signed(&c, &key, &blob, &nonce);
    assert_ok(Status::parse(&c.raw(&sig).unwrap()));
    assert_eq!(c.raw(b"ECHO in").unwrap(), b"in");
    assert_failed(offer(&mut c, &blob).unwrap_err(), 39);
}

#[test]
fn unknown_keys_bad_signatures_and_the_legacy_cipher_are_refused() {
    let (key, blob) = key_pair();
    let Some(srv) = server(&blob) else { return };
    // an unknown key
    let (other, other_blob) = key_pair();
    let mut c = secure(&srv);
    assert_failed(offer(&mut c, &other_blob).unwrap_err(), 37);
    // the listed key, signed by another key (or for another session)
    let nonce = offer(&mut c, &blob).unwrap();
    let forged = {
        let data = keylogin::signed_data(&c.binding().unwrap(), b"-", &nonce, &blob);
        keylogin::signature_frame(&keyfile::sign(&other, SigAlg::Ed25519, &data).unwrap())
    };
    assert_failed(Status::parse(&c.raw(&forged).unwrap()), 37);
    let mut d = secure(&srv);
    let nonce = offer(&mut c, &blob).unwrap();
    let elsewhere = signed(&d, &key, &blob, &nonce);
    assert_failed(Status::parse(&c.raw(&elsewhere).unwrap()), 37);
    assert_failed(Status::parse(&d.raw(b"ECHO x").unwrap()), 37);
    // the legacy cipher has no handshake hash to bind to: no way in
    let mut l = srv.client();
    assert_failed(Status::parse(&l.raw(&Offer::frame("-", &blob)).unwrap()), 201);
    assert_failed(Status::parse(&l.raw(b"ECHO x").unwrap()), 37);
    // the server is intact: the right key logs in
    let nonce = offer(&mut d, &blob).unwrap();
    let sig = signed(&d, &key, &blob, &nonce);
    assert_ok(Status::parse(&d.raw(&sig).unwrap()));
    assert_eq!(d.raw(b"ECHO in").unwrap(), b"in");
}

/// Every client of a single-user server sends the name `-`: failed key
/// logins count against the address alone, never lock that name. Before,
/// anyone who knew one listed public key could send bad signatures from a
/// few addresses and lock every client out for `login_ban`.
#[test]
fn bad_signatures_never_lock_the_one_name_out() {
    let (key, blob) = key_pair();
    let Some(srv) = server_with(&blob, "login_max_failures_user 2\nlogin_max_failures_ip 50\n") else {
        return;
    };
    let (other, _) = key_pair();
    let mut bad = secure(&srv);
    for _ in 0..4 {
        let nonce = offer(&mut bad, &blob).unwrap_or_else(|st| panic!("{st:?}\n{}", srv.log()));
        let forged = {
            let data = keylogin::signed_data(&bad.binding().unwrap(), b"-", &nonce, &blob);
            keylogin::signature_frame(&keyfile::sign(&other, SigAlg::Ed25519, &data).unwrap())
        };
        assert_failed(Status::parse(&bad.raw(&forged).unwrap()), 37);
    }
    let log = srv.log();
    assert!(!log.contains("locked for"), "{log}");
    // the right key still logs in, from a session of its own
    let mut good = secure(&srv);
    let nonce = offer(&mut good, &blob).unwrap_or_else(|st| panic!("{st:?}\n{}", srv.log()));
    let sig = signed(&good, &key, &blob, &nonce);
    assert_ok(Status::parse(&good.raw(&sig).unwrap()));
    assert_eq!(good.raw(b"ECHO in").unwrap(), b"in");
}
