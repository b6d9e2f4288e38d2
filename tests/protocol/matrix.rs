//! Command × state matrix (issue 7): every command of `tfd::commands::table::TABLE`, plus
//! END and an unknown name, in every session state — before the handshake
//! completes, before LOGIN, before INJAIL (multi- and single-user), logged in,
//! jailed, in notification mode — gets the status the document requires, through
//! the real wire. The expected outcome is derived from each command's `Gate` and
//! the state (wire-notes §3.0), never from a hand-written list of names; only the
//! harmless argument each command is probed with is keyed by name, and a command
//! added to the table without a probe rule fails the test.

// `..Default::default()` keeps these tests building whatever fields Opts gains.
#![allow(clippy::needless_update)]

use crate::common;
use tfp_client::replies::{AsStatus as _, Split as _};

use common::*;
use std::fs;
use std::net::TcpStream;
use std::time::Duration;
use tfd::commands::table::{Spec, TABLE};
use tfp_channel::Channel;
use tfp_client::{Client, Error};
use tfp_wire::hpf::{self, code};
use tfp_wire::Status;

/// The document's gating replies, byte for byte (wire-notes §3.0).
const BEFORE_LOGIN: &[u8] = b"FAILED 38 : Invalid command before login.";
const BEFORE_INJAIL: &[u8] = b"FAILED 50 : Invalid command before in-jail.";
/// A name no table has.
const UNKNOWN_NAME: &str = "NOSUCHCMD";
/// A path that exists in no state (a missing directory, so nothing gets created).
const MISSING: &[u8] = b"matrix-missing/none";

const USER: &str = "matrix";
const PASSWORD: &str = "matrix pw";
const SYSTEM_USER: &str = "tfdmatrix";
const JAIL_TOKEN: &str = "matrix-token";

// ---- expectations, derived from the table -----------------------------------

/// Where a session is in the gating sequence.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
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
    fn gate(self, spec: Option<&Spec>) -> Option<&'static [u8]> {
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
fn names() -> Vec<(&'static str, Option<&'static Spec>)> {
    TABLE
        .iter()
        .map(|s| (s.name, Some(s)))
        .chain([(UNKNOWN_NAME, None)])
        .collect()
}

// ---- probes: a harmless argument per command, and its protocol flow ----------

/// How a command's answer is read when it gets through.
#[derive(Debug, Clone, Copy)]
enum Flow {
    /// One reply frame.
    Frame,
    /// `CONT` chunks answered until a status (LS, LSR, RCVFILE).
    Chunks,
    /// SNDFILE: a `CONT` invitation would be answered with BREAK.
    Sndfile,
    /// SUP: raw `[i32 len][data]` pairs ended by 0, answered by one i32.
    Sup,
    /// SDOWN: raw `[i32 len][data]` pairs, then 0 or −1.
    Sdown,
    /// FSIZE: one raw i64.
    Fsize,
    /// FSIZELS: raw i64s until −3.
    Fsizels,
    /// PUT, PUTCAN: a grant would be answered with HPFEND and the FIN exchange.
    Put,
    /// GET, GETCAN: a grant would be drained to the end and the FIN exchange.
    Get,
    /// NIGMA: `OK`, then the new key under the old one; both sides switch.
    Nigma,
    /// LSV2DOWN, LSRV2DOWN: a status; after `OK` raw `[i32 len][line]` pairs
    /// until −10 or −11.
    Down,
    /// FTYPE: one raw byte.
    Ftype,
    /// FTYPELS: raw bytes until −2.
    Ftypels,
    /// FSTATLS: raw 26-byte records until one with code −2.
    Fstatls,
    /// GOAES: key and IV units after the command; on OK both sides switch to
    /// AES, and TFPCRYPTO takes them back.
    Goaes,
    /// CIAON: on OK the client sends the token from then on, and CIAOFF stops it.
    Ciaon,
    /// INTREAD: one raw i32 (−1 for a missing file; else the hash and bytes follow).
    Intread,
    /// INTWRITE: a raw 66-byte hash, an i32 size 0 and an empty payload, answered
    /// by one raw i32.
    Intwrite,
}

struct Probe {
    /// The argument, exactly as sent after `NAME `.
    arg: Vec<u8>,
    flow: Flow,
}

/// The probe for a command: an argument that cannot block, change the session's
/// state or leave anything behind (missing paths, refused tokens, wrong
/// passwords), in every state. `None`: the command has no rule yet.
fn probe(name: &str) -> Option<Probe> {
    let p = |arg: &[u8], flow| {
        Some(Probe {
            arg: arg.to_vec(),
            flow,
        })
    };
    let flag_missing = [&b"0 "[..], MISSING].concat();
    let pair = [MISSING, b" | ", MISSING].concat();
    match name {
        "ECHO" => p(b"probe", Flow::Frame),
        "MKDIR" | "DEL" | "RMDIR" | "TOUCH" | "FSTAT" | "FUPD" | "SHA256" => p(MISSING, Flow::Frame),
        "COPY" | "CPDIR" | "RENAM" => p(&pair, Flow::Frame),
        "DATE" | "UDATE" | "NDATE" | "DATEF" | "FREESP" | "TFDSPACE" | "PROCKEY" | "TLB" => p(b"", Flow::Frame),
        "DTOF" => p(b"0", Flow::Frame),
        "FTOD" => p(b"1970-01-01 00:00:00", Flow::Frame),
        // empty: locking off, as it already is
        "LOCK" => p(b"", Flow::Frame),
        "LS" | "LSR" | "TFDLIST" | "TFDNAMES" => p(MISSING, Flow::Chunks),
        "RCVFILE" => p(&flag_missing, Flow::Chunks),
        "SNDFILE" => p(&flag_missing, Flow::Sndfile),
        "SUP" => p(MISSING, Flow::Sup),
        "SDOWN" => p(MISSING, Flow::Sdown),
        "FSIZE" => p(MISSING, Flow::Fsize),
        "FSIZELS" => p(MISSING, Flow::Fsizels),
        "PUT" => p(&hpf::encode(MISSING, 0, 65536, None), Flow::Put),
        "PUTCAN" => p(&hpf::encode(MISSING, 0, 65536, Some(1 << 20)), Flow::Put),
        "TFDSTAGE" => p(&[&b"5 probe 0 "[..], MISSING].concat(), Flow::Frame),
        "TFDSTAGEPUT" => p(&hpf::encode(MISSING, 0, 65536, None), Flow::Put),
        "TFDSTAGEDONE" => p(&[&b"0x00 1 "[..], MISSING].concat(), Flow::Frame),
        // a missing directory lists no stage; a missing stage removes nothing
        "TFDSTAGES" => p(&flag_missing, Flow::Chunks),
        "TFDSTAGEDROP" => p(MISSING, Flow::Frame),
        // the probe: a batch of no files is answered OK alone
        "TFDPUTMANY" => p(b"0", Flow::Frame),
        "TFDGETMANY" => p(b"0", Flow::Frame),
        // a missing file: refused in one frame before any signature or delta
        "TFDDELTASIG" => p(MISSING, Flow::Frame),
        "TFDDELTASIGP" => p(MISSING, Flow::Frame),
        "TFDDELTAPUT" => p(&[&b"1 probe "[..], MISSING].concat(), Flow::Frame),
        "TFDDELTAGET" => p(&[&b"0 700 8 "[..], MISSING].concat(), Flow::Frame),
        "GET" => p(&hpf::encode(MISSING, 0, 65536, None), Flow::Get),
        // a cancel point no probe reaches: no mid-stream answers are due
        "GETCAN" => p(&hpf::encode(MISSING, 0, 65536, Some(1 << 20)), Flow::Get),
        // a wrong password (FAILED 37, or 39 once logged in): never logs in
        "LOGIN" => p(format!("{USER} not the password").as_bytes(), Flow::Frame),
        // a wrong token for a missing jail (48; 51 when jailed or not configured)
        "INJAIL" => p(&[&b"wrong-token | "[..], MISSING].concat(), Flow::Frame),
        "CHMOD" => p(&[MISSING, b" 644"].concat(), Flow::Frame),
        "CHOWN" => p(&[MISSING, b" 0 0"].concat(), Flow::Frame),
        "RMSECDIR" => p(&[&b"token | "[..], MISSING].concat(), Flow::Frame),
        "XCOPY" | "XCPDIR" => p(&[&b"copy "[..], MISSING, b" | pattern"].concat(), Flow::Frame),
        "XDEL" | "XRMDIR" => p(&[MISSING, b" name"].concat(), Flow::Frame),
        // a missing directory registers nothing, so STARTNTFY stays in command mode
        "ADDNTFY" => p(&[&b"msg_ "[..], MISSING].concat(), Flow::Frame),
        "STARTNTFY" => p(b"0.01", Flow::Frame),
        // the defaults tfd sets on every connection anyway
        "KEEPALIVE" => p(b"1 3600 | 75 | 9", Flow::Frame),
        "NIGMA" => p(b"32", Flow::Nigma),
        // 2.5.1: a missing directory lists nothing and writes no file
        "LSV2" | "LSRV2" => p(&[MISSING, b"@||@", MISSING].concat(), Flow::Frame),
        "LSV2DOWN" | "LSRV2DOWN" => p(MISSING, Flow::Down),
        "FTYPE" => p(MISSING, Flow::Ftype),
        "FTYPELS" => p(MISSING, Flow::Ftypels),
        "FSTATLS" => p(MISSING, Flow::Fstatls),
        // above the root: FAILED 1, nothing created
        "RMKDIR" => p(b"..", Flow::Frame),
        "GETTZ" | "LOCALTIME" | "GENUUID" => p(b"", Flow::Frame),
        // no such zone: FAILED 26, the session's zone stays
        "SETTZ" => p(b"matrix/none", Flow::Frame),
        "DATEFTZ" => p(b"UTC", Flow::Frame),
        // TFPSFS: an empty identity is the state a session starts in; a missing
        // directory is never made secure (57), and has nothing to remove or read
        "SETFSID" => p(b"", Flow::Frame),
        "SETFSPERM" => p(&[&b"probe:1 "[..], MISSING].concat(), Flow::Frame),
        "REMFSPERM" | "GETFSPERM" => p(&[&b"probe "[..], MISSING].concat(), Flow::Frame),
        "ISSECFS" => p(MISSING, Flow::Frame),
        "GOAES" => p(b"", Flow::Goaes),
        // without AES on: a plain OK
        "TFPCRYPTO" => p(b"", Flow::Frame),
        "CIAON" => p(b"", Flow::Ciaon),
        "CIAOFF" => p(b"", Flow::Frame),
        "FAITOK" => p(b"1", Flow::Frame),
        "FAIMQ" => p(b"", Flow::Frame),
        // a missing file: nothing is locked, nothing waits (FAILED 54 / 55)
        "NETLOCK" | "NETLOCK_TRY" => p(&[&b"1 "[..], MISSING].concat(), Flow::Frame),
        // no lock is held in any state: FAILED 54
        "NETUNLOCK" => p(b"0", Flow::Frame),
        "NETMUTACQ_TRY" | "NETMUTREL" => p(&[MISSING, b" token"].concat(), Flow::Frame),
        "INTREAD" => p(MISSING, Flow::Intread),
        // a missing directory (FAILED 10): nothing is locked
        "LOCKSYS" => p(MISSING, Flow::Frame),
        // empty: nothing to create or enter (FAILED 65)
        "FLYCONTEXT" => p(b"", Flow::Frame),
        // off in every matrix server (no `runbash` flag): FAILED 64
        "RUNBASH" => p(MISSING, Flow::Frame),
        "INTWRITE" => p(MISSING, Flow::Intwrite),
        // an unknown Noise protocol: declined (FAILED 200), nothing changes
        "TFDSECURE" => p(b"none", Flow::Frame),
        _ => None,
    }
}

/// Every table command's probe; panics naming the commands without a rule.
fn probes() -> Vec<(&'static str, Option<&'static Spec>, Probe)> {
    let missing: Vec<&str> = TABLE
        .iter()
        .filter(|s| probe(s.name).is_none())
        .map(|s| s.name)
        .collect();
    assert!(
        missing.is_empty(),
        "commands without a probe rule in tests/protocol/matrix.rs: {missing:?}"
    );
    names()
        .into_iter()
        .map(|(name, spec)| {
            let pr = probe(name).unwrap_or(Probe {
                arg: b"x".to_vec(),
                flow: Flow::Frame,
            });
            (name, spec, pr)
        })
        .collect()
}

/// What came back from a command that got through.
#[derive(Debug)]
enum Seen {
    /// A status frame (or a payload frame, for ECHO).
    Frame(Vec<u8>),
    /// A raw value (FSIZE, SUP, SDOWN's end, FSIZELS's values).
    Values(Vec<i64>),
}

fn line(name: &str, arg: &[u8]) -> Vec<u8> {
    [name.as_bytes(), b" ", arg].concat()
}

/// Sends `NAME arg` and runs whatever flow the command starts to its end, so the
/// session is ready for the next command.
fn run(c: &mut Client, name: &str, pr: &Probe) -> Result<Seen, Error> {
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

fn status_bytes(st: &Status) -> Vec<u8> {
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
fn assert_through(ctx: &str, name: &str, pr: &Probe, seen: &Seen) {
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
fn assert_in_sync(c: &mut Client, ctx: &str, phase: Phase, after: &str) {
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
fn run_matrix(c: &mut Client, phase: Phase, ctx: &str) {
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
fn assert_end_closes(mut c: Client, ctx: &str) {
    c.chan.tx.send_frame(b"END").unwrap();
    let mut s = c.chan.stream().try_clone().unwrap();
    assert!(
        read_to_close(&mut s).is_empty(),
        "{ctx}: END must close without a reply"
    );
}

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
    let mut c = srv.client();
    (case.setup)(&mut c);
    run_matrix(&mut c, case.phase, case.ctx);
    (case.advance)(&mut c);
    assert_eq!(c.raw(b"ECHO survived").unwrap(), b"survived", "{}", case.ctx);
    drop(c);
    let mut c = srv.client();
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

// ---- the tests ----------------------------------------------------------------

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
    // own TFDSECURE goes wherever LOGIN and INJAIL go, to protect them)
    assert_eq!(
        through(Phase::BeforeLogin),
        ["KEEPALIVE", "LOGIN", "PROCKEY", "TFDSECURE"]
    );
    assert_eq!(
        through(Phase::BeforeJail { single_user: false }),
        ["INJAIL", "KEEPALIVE", "LOGIN", "PROCKEY", "TFDSECURE"]
    );
    assert_eq!(
        through(Phase::BeforeJail { single_user: true }),
        ["INJAIL", "TFDSECURE"]
    );
    assert_eq!(through(Phase::Open).len(), TABLE.len() + 1);
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
    let mut c = srv.client();
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
    let mut c = srv.client();
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
