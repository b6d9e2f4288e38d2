//! A user's own keys under attack (issue 63, `user_keys yes`): an
//! oversized line, malformed keys, options a user may not add, a line that
//! smuggles a second one; the commands before the password is proven, over
//! the legacy cipher, after LOGIN; a flood of wrong passwords, which locks
//! the name as LOGIN's do; concurrent adds from several sessions, none lost.
//! Each is refused with FAILED, and the server stays intact.

use super::users_login::{multi_user, ALICE_PW};
use std::fs;
use std::path::PathBuf;
use tfd_testkit::*;
use tfp_client::Client;
use tfp_wire::keylogin::{line, user_keys as uk, PublicKey};
use tfp_wire::Status;

/// A multi-user server with `user_keys yes` and its keys directory.
fn server(extra: &str) -> Option<(super::users_login::MultiUser, PathBuf)> {
    let keys = tempdir("user-keys-attacks").join("authorized");
    let m = multi_user(
        &format!("user_keys yes\nauthorized_keys_dir {}\n{extra}", keys.display()),
        "default",
    )?;
    Some((m, keys))
}

fn secure(m: &super::users_login::MultiUser) -> Client {
    let mut cfg = m.srv.client_config();
    cfg.transport = tfp_client::Transport::Require;
    Client::connect(&cfg).unwrap()
}

/// A fresh Ed25519 key's line.
fn key_line(comment: &str) -> String {
    let k = openssl::pkey::PKey::generate_ed25519().unwrap();
    let pk = PublicKey::Ed25519(k.raw_public_key().unwrap().try_into().unwrap());
    line::render("", &pk.to_blob(), &pk, comment)
}

#[track_caller]
fn failed(st: Status, code: i32) {
    assert!(matches!(st, Status::Failed(c, _) if c == code), "{st:?}");
}

#[test]
fn malformed_oversized_and_optioned_lines_are_refused_and_the_file_untouched() {
    let Some((m, keys)) = server("") else { return };
    let mut c = secure(&m);
    // nothing before the proof
    failed(c.user_keys_add(&key_line("early")).unwrap(), 37);
    failed(c.call(uk::LIST, b"").unwrap(), 37);
    failed(c.user_keys_del("early").unwrap(), 37);
    assert!(matches!(
        c.user_keys_prove("alice", ALICE_PW.as_bytes()).unwrap(),
        Status::Ok(_)
    ));
    let good = key_line("good");
    let blob_b64 = good.split(' ').nth(1).unwrap().to_string();
    let refused = [
        // options, which a user may not add (from= removed, a forced command)
        format!("from=\"*\" {good}"),
        format!("command=\"/bin/sh\" {good}"),
        // a second line smuggled behind the first
        format!("{good}\nssh-ed25519 {blob_b64} second"),
        format!("{good}\r"),
        // malformed keys: cut short, another type, not Base64
        format!("ssh-ed25519 {}", &blob_b64[..20]),
        format!("ssh-rsa {blob_b64}"),
        "ssh-ed25519 !!!not-base64!!!".to_string(),
        "ssh-dss AAAAB3NzaC1kc3MAAACBAP".to_string(),
        // a comment past its bound, a line past its bound
        format!("{good} {}", "c".repeat(uk::MAX_COMMENT + 1)),
        format!("{good} {}", "c".repeat(line::MAX_LINE)),
        String::new(),
    ];
    for l in &refused {
        // a session each: the long ones would spend the pre-login byte budget
        let mut c = secure(&m);
        assert!(matches!(
            c.user_keys_prove("alice", ALICE_PW.as_bytes()).unwrap(),
            Status::Ok(_)
        ));
        match c.user_keys_add(l) {
            Ok(st) => failed(st, 203),
            // past the frame bound before LOGIN (4 KiB): the session ends
            Err(e) => assert!(l.len() > 4000 && matches!(e, tfp_client::Error::Channel(_)), "{e}"),
        }
    }
    // far past any line: refused, or the session closed by the pre-login bound
    match c.call(uk::ADD, &vec![b'A'; 60_000]) {
        Ok(st) => failed(st, 203),
        Err(e) => assert!(matches!(e, tfp_client::Error::Channel(_)), "{e}"),
    }
    assert!(!keys.join("alice").exists(), "nothing written");
    // the server is intact: a good line is added on a new session
    let mut c = secure(&m);
    assert!(matches!(
        c.user_keys_prove("alice", ALICE_PW.as_bytes()).unwrap(),
        Status::Ok(_)
    ));
    assert!(matches!(c.user_keys_add(&good).unwrap(), Status::Ok(_)));
    assert_eq!(fs::read_to_string(keys.join("alice")).unwrap(), format!("{good}\n"));
    // the count is bounded
    for i in 1..uk::MAX_KEYS {
        assert!(matches!(
            c.user_keys_add(&key_line(&format!("k{i}"))).unwrap(),
            Status::Ok(_)
        ));
    }
    failed(c.user_keys_add(&key_line("one too many")).unwrap(), 203);
    assert_eq!(c.user_keys_list().unwrap().unwrap().len(), uk::MAX_KEYS);
    // after LOGIN the commands are gone (the session is the user now)
    assert_ok(c.call("LOGIN", format!("alice {ALICE_PW}").as_bytes()).unwrap());
    failed(c.user_keys_add(&key_line("late")).unwrap(), 39);
}

#[test]
fn only_over_the_secure_transport() {
    let Some((m, keys)) = server("") else { return };
    let mut cfg = m.srv.client_config();
    cfg.transport = tfp_client::Transport::Legacy;
    let mut c = Client::connect(&cfg).unwrap();
    failed(c.user_keys_prove("alice", ALICE_PW.as_bytes()).unwrap(), 201);
    failed(c.user_keys_add(&key_line("legacy")).unwrap(), 201);
    assert!(!keys.join("alice").exists());
}

#[test]
fn a_flood_of_wrong_passwords_locks_the_name_as_logins_do() {
    let Some((m, keys)) = server("login_max_failures_ip 0\nlogin_max_failures_user 3\nlogin_lock 60\n") else {
        return;
    };
    let mut c = secure(&m);
    for i in 0..20 {
        let st = c.user_keys_prove("alice", format!("guess {i}").as_bytes()).unwrap();
        failed(st, 37);
    }
    // locked: the right password proves nothing now, and LOGIN is locked too
    failed(c.user_keys_prove("alice", ALICE_PW.as_bytes()).unwrap(), 37);
    failed(c.user_keys_add(&key_line("x")).unwrap(), 37);
    failed(c.call("LOGIN", format!("alice {ALICE_PW}").as_bytes()).unwrap(), 37);
    let log = m.srv.log();
    assert!(log.contains("LOGIN name \"alice\" locked for"), "{log}");
    assert!(!keys.join("alice").exists());
    // bob is untouched
    let mut c = secure(&m);
    assert!(matches!(c.user_keys_prove("bob", b"bob-pw").unwrap(), Status::Ok(_)));
}

#[test]
fn concurrent_adds_from_several_sessions_lose_no_key() {
    let Some((m, keys)) = server("") else { return };
    let lines: Vec<Vec<String>> = (0..6)
        .map(|t| (0..4).map(|i| key_line(&format!("s{t}k{i}"))).collect())
        .collect();
    std::thread::scope(|s| {
        for mine in &lines {
            let m = &m;
            s.spawn(move || {
                let mut c = secure(m);
                assert!(matches!(
                    c.user_keys_prove("alice", ALICE_PW.as_bytes()).unwrap(),
                    Status::Ok(_)
                ));
                for l in mine {
                    assert!(matches!(c.user_keys_add(l).unwrap(), Status::Ok(_)));
                }
            });
        }
    });
    let text = fs::read_to_string(keys.join("alice")).unwrap();
    for l in lines.iter().flatten() {
        assert!(text.lines().any(|x| x == l), "{l} lost:\n{text}");
    }
    assert_eq!(text.lines().count(), 24);
}
