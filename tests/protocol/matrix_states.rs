//! The matrix (`matrix.rs`) in each session state: before the handshake
//! completes, multi-user before LOGIN and logged in, with a jail before LOGIN,
//! before INJAIL and jailed, single-user before INJAIL and jailed, logged in,
//! and in notification mode.

// `..Default::default()` keeps these tests building whatever fields Opts gains.
#![allow(clippy::needless_update)]

use super::matrix::{assert_end_closes, line, names, run_matrix, Phase};
use super::matrix_probes::probes;
use std::fs;
use std::net::TcpStream;
use std::time::Duration;
use tfd_testkit::users::{ensure_system_user, userdb_add};
use tfd_testkit::*;
use tfp_channel::Channel;
use tfp_client::Client;

pub(super) const USER: &str = "matrix";

const PASSWORD: &str = "matrix pw";

const SYSTEM_USER: &str = "tfdmatrix";

const JAIL_TOKEN: &str = "matrix-token";

type Step<'a> = &'a dyn Fn(&mut Client);

/// One state of one server: `setup` brings a fresh session into `phase`; after
/// the matrix, `advance` takes it to where ECHO works (proving it survived).
struct Case<'a> {
    ctx: &'a str,
    phase: Phase,
    setup: Step<'a>,
    advance: Step<'a>,
}

fn check(srv: &Server, case: Case<'_>) {
    let mut c = raw_client(srv);
    (case.setup)(&mut c);
    run_matrix(&mut c, case.phase, case.ctx);
    (case.advance)(&mut c);
    assert_eq!(c.raw(b"ECHO survived").unwrap(), b"survived", "{}", case.ctx);
    drop(c);
    let mut c = raw_client(srv);
    (case.setup)(&mut c);
    assert_end_closes(c, case.ctx);
}

fn nothing(_: &mut Client) {}

fn login(c: &mut Client) {
    assert_ok(c.call("LOGIN", format!("{USER} {PASSWORD}").as_bytes()).unwrap());
}

fn injail(c: &mut Client) {
    assert_ok(
        c.call("INJAIL", format!("{JAIL_TOKEN} | jails/cell").as_bytes())
            .unwrap(),
    );
}

fn login_injail(c: &mut Client) {
    login(c);
    injail(c);
}

fn build_jail(srv: &Server) {
    let cell = srv.path("jails/cell");
    fs::create_dir_all(&cell).unwrap();
    fs::write(cell.join("jail.key"), format!("{JAIL_TOKEN}\n")).unwrap();
}

/// A multi-user server (root, no defusr) with one userdb user, or None when not
/// root (LOGIN needs root to switch users).
fn multi_user(extra: &str) -> Option<(Server, std::path::PathBuf)> {
    if !require(is_root(), "multi-user mode needs root") {
        return None;
    }
    ensure_system_user(SYSTEM_USER, &[]);
    let dir = tempdir("matrix-userdb");
    let db = dir.join("userdb");
    let f = db.to_str().unwrap();
    userdb_add(f, USER, SYSTEM_USER, PASSWORD, &[]);
    let srv = Server::start_opts(Opts {
        extra: &format!("userdb {f}\n{extra}"),
        default_user: false,
        ..Default::default()
    });
    Some((srv, dir))
}

#[test]
fn before_the_handshake_completes_commands_are_refused_and_closed() {
    let srv = Server::start();
    let rsa = openssl::rsa::Rsa::public_key_from_pem(&keys().1).unwrap();
    let plain = || {
        let s = TcpStream::connect((srv.host, srv.port)).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        Channel::new(s).unwrap()
    };
    let closed = |ch: &Channel, ctx: &str| {
        let mut s = ch.stream().try_clone().unwrap();
        assert!(read_to_close(&mut s).is_empty(), "{ctx}: expected a close");
    };
    let all: Vec<(String, Vec<u8>)> = probes()
        .into_iter()
        .map(|(n, _, pr)| (n.to_string(), pr.arg))
        .chain([("END".to_string(), Vec::new())])
        .collect();
    for (name, arg) in &all {
        let cmd = line(name, arg);
        // instead of the version: FAILED 2, in plaintext, then the close
        let mut ch = plain();
        ch.tx.send_frame(&cmd).unwrap();
        assert_eq!(
            ch.rx.recv_frame().unwrap(),
            b"FAILED 2 : Incompatible protocol.",
            "{name} as the version"
        );
        closed(&ch, name);
        // instead of the RSA session key: FAILED 25
        let mut ch = plain();
        ch.tx.send_frame(b"2.4.1").unwrap();
        assert_eq!(ch.rx.recv_frame().unwrap(), b"OK");
        ch.tx.send_frame(&cmd).unwrap();
        assert_eq!(
            ch.rx.recv_frame().unwrap(),
            b"FAILED 25 : Bad public rsa encryption key.",
            "{name} as the session key"
        );
        closed(&ch, name);
        // instead of the hash, encrypted: FAILED 3
        let mut ch = plain();
        ch.tx.send_frame(b"2.4.1").unwrap();
        assert_eq!(ch.rx.recv_frame().unwrap(), b"OK");
        let key = [0x5au8; 32];
        let enc = tfp_wire::handshake::encrypt_session_key(&rsa, &key).unwrap();
        ch.tx.send_frame(&enc).unwrap();
        assert_eq!(ch.rx.recv_frame().unwrap(), b"OK");
        ch.start_cipher(&key);
        ch.tx.send_frame(&cmd).unwrap();
        assert_eq!(
            ch.rx.recv_frame().unwrap(),
            b"FAILED 3 : Invalid hash string.",
            "{name} as the hash"
        );
        closed(&ch, name);
    }
    // nothing ran: no probe created anything, and the server still serves
    assert_eq!(fs::read_dir(&srv.data).unwrap().count(), 0);
    let mut c = raw_client(&srv);
    assert_eq!(c.raw(b"ECHO alive").unwrap(), b"alive");
}

#[test]
fn multi_user_before_login_and_logged_in() {
    let Some((srv, db_dir)) = multi_user("") else { return };
    check(
        &srv,
        Case {
            ctx: "multi-user, before LOGIN",
            phase: Phase::BeforeLogin,
            setup: &nothing,
            advance: &login,
        },
    );
    check(
        &srv,
        Case {
            ctx: "multi-user, logged in",
            phase: Phase::Open,
            setup: &login,
            advance: &nothing,
        },
    );
    // the probes left nothing behind
    assert_eq!(fs::read_dir(&srv.data).unwrap().count(), 0);
    fs::remove_dir_all(db_dir).unwrap();
}

#[test]
fn multi_user_in_jail_before_login_before_injail_and_jailed() {
    let Some((srv, db_dir)) = multi_user("injail\n") else {
        return;
    };
    build_jail(&srv);
    // LOGIN's gate comes first: 38, not 50, while not logged in
    check(
        &srv,
        Case {
            ctx: "multi-user + injail, before LOGIN",
            phase: Phase::BeforeLogin,
            setup: &nothing,
            advance: &login_injail,
        },
    );
    check(
        &srv,
        Case {
            ctx: "multi-user, before INJAIL",
            phase: Phase::BeforeJail { single_user: false },
            setup: &login,
            advance: &injail,
        },
    );
    check(
        &srv,
        Case {
            ctx: "multi-user, jailed",
            phase: Phase::Open,
            setup: &login_injail,
            advance: &nothing,
        },
    );
    let mut left: Vec<_> = fs::read_dir(srv.path("jails/cell"))
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    left.sort();
    assert_eq!(left, ["jail.key"]);
    fs::remove_dir_all(db_dir).unwrap();
}

#[test]
fn single_user_before_injail_and_jailed() {
    // defusr (as root) or serving as the invoking user: single-user either way
    let srv = Server::start_with("injail\n");
    build_jail(&srv);
    check(
        &srv,
        Case {
            ctx: "single-user, before INJAIL",
            phase: Phase::BeforeJail { single_user: true },
            setup: &nothing,
            advance: &injail,
        },
    );
    check(
        &srv,
        Case {
            ctx: "single-user, jailed",
            phase: Phase::Open,
            setup: &injail,
            advance: &nothing,
        },
    );
    let left: Vec<_> = fs::read_dir(srv.path("jails/cell"))
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(left, ["jail.key"]);
}

#[test]
fn single_user_logged_in() {
    let srv = Server::start();
    check(
        &srv,
        Case {
            ctx: "single-user",
            phase: Phase::Open,
            setup: &nothing,
            advance: &nothing,
        },
    );
    assert_eq!(fs::read_dir(&srv.data).unwrap().count(), 0);
}

/// After STARTNTFY the client's frames are only answers (OK/DEL/END, anything
/// else keeps the file): no command runs, sent unasked or as an answer, and END
/// ends the session.
#[test]
fn notification_mode_runs_no_command() {
    let srv = Server::start();
    fs::create_dir(srv.path("in")).unwrap();
    let mut c = raw_client(&srv);
    // in command mode the same session does create things
    assert_ok(c.call("MKDIR", b"made-in-command-mode").unwrap());
    assert!(srv.path("made-in-command-mode").is_dir());
    assert_ok(c.call("ADDNTFY", b"msg_ in").unwrap());
    c.chan.tx.send_frame(b"STARTNTFY 0.01").unwrap();
    fn next(c: &mut Client) -> String {
        String::from_utf8(c.chan.rx.recv_frame().unwrap()).unwrap()
    }
    // whose argument would leave a trace if any of these ran as a command
    let arg = |name: &str| format!("1 ntfy-{}", name.to_ascii_lowercase());

    // sent unasked, while nothing is pending: read and ignored
    for (name, _) in names() {
        c.chan.tx.send_frame(&line(name, arg(name).as_bytes())).unwrap();
    }
    // (let the watcher read them all before a notification is due, so each answer
    // below answers exactly one notification)
    std::thread::sleep(Duration::from_millis(500));
    data_dir_write(&srv.path("in/msg_1"), b"m");
    assert_eq!(
        next(&mut c),
        "0 msg_1",
        "the first frame is a notification, not a reply"
    );
    // sent as the answer to a notification: the file is kept, the next frame is
    // the same notification on the next pass, never a command's reply
    for (name, _) in names() {
        c.chan.tx.send_frame(&line(name, arg(name).as_bytes())).unwrap();
        assert_eq!(next(&mut c), "0 msg_1", "after {name} as an answer");
    }
    // ECHO with the answer's own words is no answer either
    c.chan.tx.send_frame(b"ECHO DEL").unwrap();
    assert_eq!(next(&mut c), "0 msg_1");
    assert!(srv.path("in/msg_1").exists());
    // the answers that are answers: DEL removes, END ends (no reply, process gone)
    c.chan.tx.send_frame(b"DEL").unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while srv.path("in/msg_1").exists() {
        assert!(std::time::Instant::now() < deadline, "DEL did not delete");
        std::thread::sleep(Duration::from_millis(5));
    }
    data_dir_write(&srv.path("in/msg_2"), b"m");
    assert_eq!(next(&mut c), "0 msg_2", "still notifying");
    c.chan.tx.send_frame(b"END").unwrap();
    let mut s = c.chan.stream().try_clone().unwrap();
    assert!(read_to_close(&mut s).is_empty(), "END ends the session without a reply");
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while !srv.children().0.is_empty() {
        assert!(std::time::Instant::now() < deadline, "session process still running");
        std::thread::sleep(Duration::from_millis(20));
    }
    // nothing a command would have made or removed
    let mut traces = Vec::new();
    let mut stack = vec![srv.data.clone()];
    while let Some(d) = stack.pop() {
        for e in fs::read_dir(&d).unwrap().flatten() {
            if e.file_name().to_string_lossy().contains("ntfy-") {
                traces.push(e.path());
            }
            if e.file_type().unwrap().is_dir() {
                stack.push(e.path());
            }
        }
    }
    assert!(traces.is_empty(), "commands ran in notification mode: {traces:?}");
    assert!(srv.path("in/msg_2").exists() && srv.path("made-in-command-mode").is_dir());
}

/// A session that sends only what the matrix sends (no features question
/// ahead of its first command).
fn raw_client(srv: &Server) -> Client {
    let mut cfg = srv.client_config();
    cfg.negotiate = false;
    Client::connect(&cfg).unwrap_or_else(|e| panic!("connect: {e}\n{}", srv.log()))
}
