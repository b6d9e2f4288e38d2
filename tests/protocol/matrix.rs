//! Command × state matrix (issue 7): every command of `tfd::commands::table::TABLE`, plus
//! END and an unknown name, in every session state — before the handshake
//! completes, before LOGIN, before INJAIL (multi- and single-user), logged in,
//! jailed, in notification mode — gets the status the document requires, through
//! the real wire. The expected outcome is derived from each command's `Gate` and
//! the state (wire-notes §3.0), never from a hand-written list of names; only the
//! harmless argument each command is probed with is keyed by name
//! (`matrix_probes.rs`), and a command added to the table without a probe rule
//! fails the test. This file runs the matrix; the states are in
//! `matrix_states.rs`.

// `..Default::default()` keeps these tests building whatever fields Opts gains.
#![allow(clippy::needless_update)]

use super::matrix_probes::{probes, Flow, Probe};
use tfd::commands::table::{Spec, TABLE};
use tfd_testkit::*;
use tfp_client::replies::{AsStatus as _, Split as _};
use tfp_client::{Client, Error};
use tfp_wire::hpf::code;
use tfp_wire::Status;

/// The document's gating replies, byte for byte (wire-notes §3.0).
pub(super) const BEFORE_LOGIN: &[u8] = b"FAILED 38 : Invalid command before login.";

pub(super) const BEFORE_INJAIL: &[u8] = b"FAILED 50 : Invalid command before in-jail.";

/// A name no table has.
pub(super) const UNKNOWN_NAME: &str = "NOSUCHCMD";

/// A path that exists in no state (a missing directory, so nothing gets created).
pub(super) const MISSING: &[u8] = b"matrix-missing/none";

/// Where a session is in the gating sequence.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Phase {
    /// Multi-user mode, no LOGIN yet.
    BeforeLogin,
    /// `injail` configured, logged in (or single-user), no INJAIL yet.
    BeforeJail { single_user: bool },
    /// Logged in (and jailed where configured): no gating at all.
    Open,
}

impl Phase {
    /// The gating reply the document requires for a command (`None` for an unknown
    /// name) in this phase, or `None` when the command must get through.
    pub(super) fn gate(self, spec: Option<&Spec>) -> Option<&'static [u8]> {
        let through = match self {
            Phase::BeforeLogin => spec.is_some_and(|s| s.gate.before_login),
            // single-user: "only END can be called before INJAIL" (and INJAIL
            // itself, and tfd's TFDSECURE that protects INJAIL's token)
            Phase::BeforeJail { single_user } => spec
                .is_some_and(|s| s.gate.before_jail && (!single_user || s.name == "INJAIL" || s.name == "TFDSECURE")),
            Phase::Open => true,
        };
        match self {
            _ if through => None,
            Phase::BeforeLogin => Some(BEFORE_LOGIN),
            Phase::BeforeJail { .. } => Some(BEFORE_INJAIL),
            Phase::Open => None,
        }
    }
}

/// Every name the matrix covers in command mode: the table, then an unknown name.
/// (END is checked in every state on a connection of its own: it ends the session.)
pub(super) fn names() -> Vec<(&'static str, Option<&'static Spec>)> {
    TABLE
        .iter()
        .map(|s| (s.name, Some(s)))
        .chain([(UNKNOWN_NAME, None)])
        .collect()
}

/// What came back from a command that got through.
#[derive(Debug)]
pub(super) enum Seen {
    /// A status frame (or a payload frame, for ECHO).
    Frame(Vec<u8>),
    /// A raw value (FSIZE, SUP, SDOWN's end, FSIZELS's values).
    Values(Vec<i64>),
}

pub(super) fn line(name: &str, arg: &[u8]) -> Vec<u8> {
    [name.as_bytes(), b" ", arg].concat()
}

/// Sends `NAME arg` and runs whatever flow the command starts to its end, so the
/// session is ready for the next command.
pub(super) fn run(c: &mut Client, name: &str, pr: &Probe) -> Result<Seen, Error> {
    let rx = |c: &mut Client| c.chan.rx.recv_frame();
    match pr.flow {
        Flow::Nigma => {
            let n: u32 = std::str::from_utf8(&pr.arg).unwrap().parse().unwrap();
            Ok(Seen::Frame(match c.nigma(n).split()? {
                Ok(()) => b"OK".to_vec(),
                Err(st) => status_bytes(&st),
            }))
        }
        Flow::Goaes => Ok(Seen::Frame(match c.goaes().split()? {
            Ok(()) => {
                assert_eq!(c.tfpcrypto().status()?, tfp_wire::Status::Ok(vec![]));
                b"OK".to_vec()
            }
            Err(st) => status_bytes(&st),
        })),
        Flow::Ciaon => Ok(Seen::Frame(match c.ciaon().split()? {
            Ok(_) => {
                assert_eq!(c.ciaoff().status()?, tfp_wire::Status::Ok(vec![]));
                b"OK".to_vec()
            }
            Err(st) => status_bytes(&st),
        })),
        Flow::Frame => Ok(Seen::Frame(c.raw(&line(name, &pr.arg))?)),
        Flow::Chunks => {
            c.chan.tx.send_frame(&line(name, &pr.arg))?;
            Ok(Seen::Frame(status_bytes(&c.recv_chunks(&mut std::io::sink())?)))
        }
        Flow::Sndfile => {
            let first = c.raw(&line(name, &pr.arg))?;
            if first == b"CONT" {
                c.chan.tx.send_frame(b"BREAK")?;
                return Ok(Seen::Frame(rx(c)?));
            }
            Ok(Seen::Frame(first))
        }
        Flow::Sup => {
            c.chan.tx.send_frame(&line(name, &pr.arg))?;
            c.chan.tx.send_i32(0)?;
            Ok(Seen::Values(vec![c.chan.rx.recv_i32()? as i64]))
        }
        Flow::Sdown => {
            c.chan.tx.send_frame(&line(name, &pr.arg))?;
            loop {
                let len = c.chan.rx.recv_i32()?;
                if len <= 0 {
                    return Ok(Seen::Values(vec![len as i64]));
                }
                c.chan.rx.recv_unit(&mut vec![0u8; len as usize])?;
            }
        }
        Flow::Intread => {
            c.chan.tx.send_frame(&line(name, &pr.arg))?;
            Ok(Seen::Values(vec![c.chan.rx.recv_i32()? as i64]))
        }
        Flow::Intwrite => {
            c.chan.tx.send_frame(&line(name, &pr.arg))?;
            c.chan.tx.send_units(&[&[b'0'; 66]])?;
            c.chan.tx.send_frame(b"")?;
            Ok(Seen::Values(vec![c.chan.rx.recv_i32()? as i64]))
        }
        Flow::Fsize => {
            c.chan.tx.send_frame(&line(name, &pr.arg))?;
            Ok(Seen::Values(vec![c.chan.rx.recv_i64()?]))
        }
        Flow::Fsizels => {
            c.chan.tx.send_frame(&line(name, &pr.arg))?;
            let mut v = Vec::new();
            loop {
                let x = c.chan.rx.recv_i64()?;
                v.push(x);
                if x == -3 {
                    return Ok(Seen::Values(v));
                }
            }
        }
        Flow::Down => {
            let f = c.raw(&line(name, &pr.arg))?;
            if f == b"OK" {
                loop {
                    let len = c.chan.rx.recv_i32()?;
                    if len < 0 {
                        break;
                    }
                    c.chan.rx.recv_unit(&mut vec![0u8; len as usize])?;
                }
            }
            Ok(Seen::Frame(f))
        }
        Flow::Ftype | Flow::Ftypels => {
            c.chan.tx.send_frame(&line(name, &pr.arg))?;
            let mut v = Vec::new();
            loop {
                let mut b = [0u8; 1];
                c.chan.rx.recv_unit(&mut b)?;
                v.push(b[0] as i8 as i64);
                if matches!(pr.flow, Flow::Ftype) || b[0] as i8 == -2 {
                    return Ok(Seen::Values(v));
                }
            }
        }
        Flow::Fstatls => {
            c.chan.tx.send_frame(&line(name, &pr.arg))?;
            let mut v = Vec::new();
            loop {
                let mut b = [0u8; 26];
                c.chan.rx.recv_unit(&mut b)?;
                v.push(b[0] as i8 as i64);
                if b[0] as i8 == -2 {
                    assert!(b[1..].iter().all(|&x| x == 0), "{name}: the end record is zero-filled");
                    return Ok(Seen::Values(v));
                }
            }
        }
        Flow::Put => {
            let f = c.raw(&line(name, &pr.arg))?;
            if f.starts_with(b"OK ") && f.len() == 11 {
                c.chan.tx.send_i64(code::END)?;
                while c.chan.rx.recv_i64()? != code::FIN {}
                c.chan.tx.send_i64(code::FIN)?;
            }
            Ok(Seen::Frame(f))
        }
        Flow::Get => {
            let f = c.raw(&line(name, &pr.arg))?;
            if f.starts_with(b"OK ") && f.len() == 11 {
                loop {
                    let len = c.chan.rx.recv_i64()?;
                    if len <= 0 {
                        break;
                    }
                    c.chan.rx.recv_unit(&mut vec![0u8; len as usize])?;
                }
                c.chan.tx.send_i64(code::FIN)?;
                while c.chan.rx.recv_i64()? != code::FIN {}
            }
            Ok(Seen::Frame(f))
        }
    }
}

pub(super) fn status_bytes(st: &Status) -> Vec<u8> {
    match st {
        Status::Ok(d) if d.is_empty() => b"OK".to_vec(),
        Status::Ok(d) => [&b"OK "[..], d].concat(),
        Status::Failed(n, t) => format!("FAILED {n} : {t}").into_bytes(),
        Status::Unknown => b"UNKNOWN".to_vec(),
        Status::Other(d) => d.clone(),
    }
}

/// Asserts what a command that got through answered: never a gating status, a
/// well-formed answer of its flow (the raw-value commands' exact answer for a
/// missing path), `UNKNOWN` for the unknown name and the echo for ECHO.
#[track_caller]
pub(super) fn assert_through(ctx: &str, name: &str, pr: &Probe, seen: &Seen) {
    match seen {
        Seen::Frame(f) => {
            let st = Status::parse(f);
            assert!(
                !matches!(st.failed_code(), Some(38 | 50)),
                "{ctx}: {name} was gated: {:?}",
                String::from_utf8_lossy(f)
            );
            match name {
                UNKNOWN_NAME => assert_eq!(st, Status::Unknown, "{ctx}: {name}"),
                "ECHO" => assert_eq!(f, &pr.arg, "{ctx}: ECHO"),
                _ => assert!(
                    matches!(st, Status::Ok(_) | Status::Failed(..)),
                    "{ctx}: {name} answered {:?}",
                    String::from_utf8_lossy(f)
                ),
            }
        }
        Seen::Values(v) => {
            let want: &[i64] = match pr.flow {
                Flow::Fsize | Flow::Sup | Flow::Sdown | Flow::Ftype | Flow::Intread | Flow::Intwrite => &[-1],
                Flow::Fsizels => &[-3],
                Flow::Ftypels | Flow::Fstatls => &[-2],
                _ => unreachable!(),
            };
            assert_eq!(v, want, "{ctx}: {name} on a missing path");
        }
    }
}

/// Proves the session is in sync and alive after a probe: ECHO where commands get
/// through, else the exact gating reply again.
#[track_caller]
pub(super) fn assert_in_sync(c: &mut Client, ctx: &str, phase: Phase, after: &str) {
    match phase.gate(None) {
        None => {
            let token = format!("sync-after-{after}");
            assert_eq!(
                c.raw(format!("ECHO {token}").as_bytes()).unwrap(),
                token.as_bytes(),
                "{ctx}: out of sync after {after}"
            );
        }
        Some(gated) => {
            assert_eq!(
                c.raw(b"SYNCCHECK x").unwrap(),
                gated,
                "{ctx}: out of sync after {after}"
            );
        }
    }
}

/// Runs the whole matrix on one session that is in `phase`.
pub(super) fn run_matrix(c: &mut Client, phase: Phase, ctx: &str) {
    for (name, spec, pr) in probes() {
        match phase.gate(spec) {
            Some(gated) => {
                // the gate answers before any argument is looked at, whatever the case
                for n in [name.to_string(), name.to_ascii_lowercase()] {
                    c.chan.tx.send_frame(&line(&n, &pr.arg)).unwrap();
                    if matches!(pr.flow, Flow::Goaes) {
                        // the key and IV follow the command whatever the answer
                        c.chan.tx.send_units(&[&[0u8; 32], &[0u8; 16]]).unwrap();
                    }
                    let reply = c.chan.rx.recv_frame().unwrap();
                    assert_eq!(
                        reply,
                        gated,
                        "{ctx}: {n} should get {:?}, got {:?}",
                        String::from_utf8_lossy(gated),
                        String::from_utf8_lossy(&reply)
                    );
                }
            }
            None => {
                let seen = run(c, name, &pr).unwrap_or_else(|e| panic!("{ctx}: {name}: {e}"));
                assert_through(ctx, name, &pr, &seen);
            }
        }
        assert_in_sync(c, ctx, phase, name);
    }
}

/// END gets through in this state: the connection closes with no reply.
pub(super) fn assert_end_closes(mut c: Client, ctx: &str) {
    c.chan.tx.send_frame(b"END").unwrap();
    let mut s = c.chan.stream().try_clone().unwrap();
    assert!(
        read_to_close(&mut s).is_empty(),
        "{ctx}: END must close without a reply"
    );
}

#[test]
fn every_table_command_has_a_probe_rule() {
    let all = probes();
    assert_eq!(all.len(), TABLE.len() + 1);
    assert!(TABLE.iter().all(|s| s.name != "END" && s.name != UNKNOWN_NAME));
}

/// The table's gates give exactly the document's lists ("Security enhancement",
/// "In-jail"): the derivation the matrix relies on is checked against the text.
#[test]
fn table_gates_give_the_documents_lists() {
    let through = |phase: Phase| -> Vec<&str> {
        let mut v: Vec<&str> = names()
            .into_iter()
            .filter(|(_, s)| phase.gate(*s).is_none())
            .map(|(n, _)| n)
            .collect();
        v.sort();
        v
    };
    // (END is accepted everywhere by the session loop, outside the table; tfd's
    // own TFDSECURE goes wherever LOGIN and INJAIL go, to protect them, and its
    // key login, TFDKEY and TFDKEYSIG, and a user's own keys, TFDUSERKEY*,
    // wherever LOGIN goes)
    assert_eq!(
        through(Phase::BeforeLogin),
        [
            "KEEPALIVE",
            "LOGIN",
            "PROCKEY",
            "TFDKEY",
            "TFDKEYSIG",
            "TFDSECURE",
            "TFDUSERKEYADD",
            "TFDUSERKEYDEL",
            "TFDUSERKEYLIST",
            "TFDUSERKEYS"
        ]
    );
    assert_eq!(
        through(Phase::BeforeJail { single_user: false }),
        [
            "INJAIL",
            "KEEPALIVE",
            "LOGIN",
            "PROCKEY",
            "TFDKEY",
            "TFDKEYSIG",
            "TFDSECURE",
            "TFDUSERKEYADD",
            "TFDUSERKEYDEL",
            "TFDUSERKEYLIST",
            "TFDUSERKEYS"
        ]
    );
    assert_eq!(
        through(Phase::BeforeJail { single_user: true }),
        ["INJAIL", "TFDSECURE"]
    );
    assert_eq!(through(Phase::Open).len(), TABLE.len() + 1);
}
