//! `TFDFEATURES` (doc/compatibility.md "Features"): one answer telling what
//! a session may use of tfd's extensions, from the daemon's command table,
//! for a root session, a user's, a jailed one and a server with
//! `compression no`.

use tfd::commands::table::TABLE;
use tfd_testkit::users::ensure_system_user;
use tfd_testkit::{is_root, require, Server};
use tfp_wire::features::{Batch, Features};
use tfp_wire::xattr::Scope;
use tfp_wire::Status;

/// The compressed commands, there only with `compression yes`.
const COMPRESSED: [&str; 6] = [
    "TFDZSTD",
    "TFDSTAGEPUTZ",
    "TFDGETZ",
    "TFDGETCANZ",
    "TFDDELTAGETZ",
    "TFDLISTZ",
];

/// An `OK`'s text.
fn ok(st: Status) -> Vec<u8> {
    match st {
        Status::Ok(text) => text,
        st => panic!("not OK: {st:?}"),
    }
}

fn ask(c: &mut tfp_client::Client) -> Features {
    match c.call(tfp_wire::features::COMMAND, b"").unwrap() {
        Status::Ok(text) => Features::parse(&text).unwrap_or_else(|| panic!("unreadable: {text:?}")),
        st => panic!("TFDFEATURES answered {st:?}"),
    }
}

/// Every `TFD` row of the table, but `but`.
fn rows_but(but: &[&str]) -> Vec<String> {
    TABLE
        .iter()
        .map(|r| r.name)
        .filter(|n| n.starts_with("TFD") && !but.contains(n))
        .map(String::from)
        .collect()
}

const ALL_BATCHES: Batch = Batch {
    dirs: true,
    modes: true,
    archive: true,
    attrs: true,
    framed: true,
};

#[test]
fn a_root_session_is_told_every_row_all_attributes_owners_and_the_offer() {
    let srv = Server::start();
    let mut c = srv.client();
    let f = ask(&mut c);
    // the table's rows, as it lists them: a new row is advertised by itself
    assert_eq!(f.commands, rows_but(&[]));
    assert!(f.has("TFDPUTMANY") && f.has("TFDSTATID") && f.has("TFDFEATURES"));
    assert!(
        !f.has("LOGIN") && !f.has("FSTAT"),
        "the protocol's own are not tfd's extensions"
    );
    assert_eq!((f.scope, f.owners), (Some(Scope::All), true));
    // what the probes answer, told the same
    let zstd = ok(c.call("TFDZSTD", b"").unwrap());
    assert_eq!(f.offer, tfp_wire::compress::Offer::parse(&zstd));
    assert!(f.offer.is_some());
    assert_eq!(c.raw(b"TFDPUTMANY 0").unwrap(), b"OK dirs modes");
    assert_eq!(c.raw(b"TFDPUTMANY 0 a").unwrap(), b"OK owners yes");
    assert_eq!(f.putmany, ALL_BATCHES);
    assert_eq!(
        f.getmany,
        Batch {
            archive: true,
            framed: true,
            ..Batch::default()
        }
    );
    // an argument (a later client's question) is ignored
    assert_eq!(
        ok(c.call(tfp_wire::features::COMMAND, b"more please").unwrap()),
        f.encode()
    );
}

#[test]
fn a_users_session_is_told_its_user_scope_and_no_owners() {
    if !require(is_root(), "needs root (a session run as another user)") {
        return;
    }
    ensure_system_user("tfdfeat1", &[]);
    let srv = Server::start_with("defusr tfdfeat1\n");
    let mut c = srv.client();
    let f = ask(&mut c);
    assert_eq!((f.scope, f.owners), (Some(Scope::User), false));
    assert_eq!(f.commands, rows_but(&[]));
    assert_eq!(c.raw(b"TFDPUTMANY 0 x").unwrap(), b"OK dirs modes scope=user");
    assert_eq!(c.raw(b"TFDPUTMANY 0 a").unwrap(), b"OK owners no");
}

#[test]
fn a_jailed_session_is_told_after_injail_and_keeps_no_owners() {
    if !require(is_root(), "needs root (chroot)") {
        return;
    }
    let srv = Server::start_with("injail\n");
    let cell = srv.path("jails/cell");
    std::fs::create_dir_all(&cell).unwrap();
    std::fs::write(cell.join("jail.key"), "tok\n").unwrap();
    let mut c = srv.client();
    // the gate first: nothing is told before INJAIL
    assert_eq!(
        c.call(tfp_wire::features::COMMAND, b"").unwrap().failed_code(),
        Some(50)
    );
    ok(c.call("INJAIL", b"tok | jails/cell").unwrap());
    let f = ask(&mut c);
    // root, but jailed: its own user's attributes, no owners
    assert_eq!((f.scope, f.owners), (Some(Scope::User), false));
    assert_eq!(f.commands, rows_but(&[]));
    assert_eq!(c.raw(b"TFDPUTMANY 0 a").unwrap(), b"OK owners no");
}

#[test]
fn compression_no_tells_no_compressed_command_no_offer_and_no_framed_batch() {
    let srv = Server::start_with("compression no\n");
    let mut c = srv.client();
    let f = ask(&mut c);
    assert_eq!(f.commands, rows_but(&COMPRESSED));
    assert_eq!(f.offer, None);
    assert_eq!(
        f.putmany,
        Batch {
            framed: false,
            ..ALL_BATCHES
        }
    );
    assert!(!f.getmany.framed && f.getmany.archive);
    // what is not told answers as a server without it
    assert!(matches!(c.call("TFDZSTD", b"").unwrap(), Status::Unknown));
    // and `compression_framed no` keeps the offer but tells no framed batch
    let srv = Server::start_with("compression_framed no\n");
    let f = ask(&mut srv.client());
    assert!(f.offer.is_some() && f.has("TFDZSTD"));
    assert!(!f.putmany.framed && !f.getmany.framed);
}

/// A single-user session (logged in by its handshake) asks once, ahead of
/// its first command, and its caps are settled by the answer the first
/// time they are read, even before that command: every extension known
/// without a probe; a session that does not ask (a raw driver) has none of
/// them.
#[test]
fn a_client_session_is_told_its_caps_with_its_first_answer() {
    use tfp_client::caps::{Ext, Known};
    let srv = Server::start_with("compression no\n");
    let mut c = srv.client();
    let caps = c.caps();
    assert!(caps.told());
    assert_eq!(caps.get(Ext::PutMany), Known::Yes);
    assert_eq!(caps.get(Ext::Owners), Known::Yes);
    assert_eq!(caps.get(Ext::Zstd), Known::No);
    assert_eq!(caps.offer(), None);
    let mut cfg = srv.client_config();
    cfg.negotiate = false;
    let mut raw = tfp_client::Client::connect(&cfg).unwrap();
    assert!(!raw.caps().told() && raw.caps().get(Ext::PutMany) == Known::No);
}

/// A multi-user session asks with its LOGIN (or its INJAIL) in one write
/// and is told with the answer right behind the step's: settled as the
/// session is handed out. A wrong password is still the login's refusal.
#[test]
fn a_login_carries_the_question_and_a_refused_one_is_still_a_refusal() {
    use std::time::Duration;
    use tfd_testkit::users::login_userdb;
    use tfp_client::caps::Ext;
    use tfp_client::{Client, Error, Transport};
    if !require(is_root(), "needs root (multi-user mode reads the user file as root)") {
        return;
    }
    ensure_system_user("tfdfeat1", &[]);
    let f = login_userdb("features-userdb", "fay", "tfdfeat1", "fay pw");
    let srv = Server::start_opts(tfd_testkit::Opts {
        extra: &format!("userdb {f}\n"),
        default_user: false,
        ..Default::default()
    });
    let base = || {
        Client::builder(&srv.addr())
            .key_pem(tfd_testkit::keys().1.clone())
            .hash(&srv.hash)
            .transport(Transport::Legacy)
            .timeout(Some(Duration::from_secs(20)))
    };
    let mut c = base().login("fay", "fay pw").connect().unwrap();
    assert!(c.caps().told() && c.caps().has(Ext::PutMany));
    assert!(!c.caps().has(Ext::Owners), "a user's session keeps no owners");
    assert!(c.exists("x").is_ok());
    match base().login("fay", "wrong").connect() {
        Err(Error::Handshake("login", _)) => {}
        Err(e) => panic!("expected the login's refusal, got {e}"),
        Ok(_) => panic!("a wrong password was accepted"),
    }
}
