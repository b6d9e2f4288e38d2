//! Soak and load test (issue 7) of the release `tfd`, over loopback only.
//!
//! N clients (default 256) for S seconds (default 600) each loop over a random mix —
//! ECHO, MKDIR/FSTAT/RMDIR and TOUCH/FSIZE/DEL in the client's own directory, LS
//! checked against what the client knows is there, uploads (SNDFILE, PUT, SUP) and
//! downloads (RCVFILE, GET, SDOWN) of random sizes up to a few MiB with SHA-256
//! verification (the server's SHA256 and FSIZE after each upload, the received bytes
//! after each download) — and now and then disconnect abruptly (idle or in the
//! middle of an upload or download, with a FIN or a RST, or a clean END) and
//! reconnect. A controller SIGKILLs a few session processes picked from `tfd ctl
//! sessions` (every other one a session waiting in NETLOCK, the others one in a
//! transfer); the client of a killed session reconnects and its in-flight operation
//! counts as killed, not as an error. After the deadline every client verifies its
//! whole directory once more and ends.
//!
//! Locks (2.5.1 NETLOCK): a keeper session holds `locks/keep` from before the first
//! client to the end. Clients take the shared locks `locks/l<i>` (`NETLOCK 60`,
//! waiting for each other), write a marker of their own under the lock, read it
//! back after a pause (two holders at once would show as a foreign marker), and
//! NETUNLOCK, or leave holding it (END, FIN or RST). Other clients wait with
//! `NETLOCK 3600` on the keeper's lock, must get no answer, and leave mid-wait
//! (FIN or RST; the controller SIGKILLs some waiting sessions too); these waits
//! are bounded to `--clients` (at least 16) per run.
//!
//! TFPSFS: every fourth client (`c0`, `c4`, …) works in a secure directory: its
//! sessions SETFSID `own<id>` first, its first one makes the directory secure with
//! `own<id>:4095`, and all its operations above run inside with that identity.
//! Now and then such a client switches to another identity (or none) and tries
//! one thing it has no right to (RCVFILE, SNDFILE, DEL, GET, SHA256, RENAM, LS,
//! TOUCH, MKDIR, PUT, SETFSPERM, REMFSPERM): it must get FAILED 1 (57, 58), and
//! back as the owner nothing has changed (the file's size and SHA-256, no new
//! name, both identities' masks).
//!
//! Then the invariants, each failing the run (exit status 1):
//! - 0 verification errors and 0 unexplained I/O errors or refused connections;
//! - an upload broken off by the client never appears under its name, and leaves
//!   no temporary file (only a SIGKILLed session can: at most one per SIGKILL);
//! - 0 session processes left (live or zombie) once every client has closed, the
//!   keeper's aside: none still waiting in NETLOCK for a client that left (checked
//!   while the keeper still holds its lock, so such a wait could not have ended
//!   by taking it); none after the keeper's release either;
//! - the keeper's lock was never given to a waiter (a fresh session's NETLOCK_TRY
//!   still fails before the keeper's NETUNLOCK), and then every lock used is free:
//!   a fresh session takes each (trying each for at most 10 s);
//! - every secure directory's metadata on disk still holds its owner's entry alone;
//! - 0 sessions in `tfd ctl sessions`, and every registry slot reusable: as many
//!   concurrent sessions as `tfd ctl stats` reports slots all get a PROCKEY, and
//!   the log never says the registry was full;
//! - the listener's descriptors at the end equal those at the start, and its RSS
//!   is flat (end and middle within max(2 MiB, 10 %) of the sample after warm-up;
//!   the start figure, before any client, is printed too);
//! - no panic in the log; every operation type ran; the controller killed sessions;
//! - the lifecycle phase ([`lifecycle`], after the main run, about `--secs` more
//!   with at most 20 s): a listener SIGKILLed under load leaves no process, a new
//!   tfd binds the same port at once and serves again, and a Ctrl-C to the new
//!   tfd's process group stops it in bounded time with no process left.
//!
//! Figures: ops/s, p50/p99 latency per operation type, MiB moved, peak RSS and PSS
//! of a session process (sampled from /proc every second), listener RSS and fds at
//! start/warm/middle/end. The last line, `SOAK key=value ...`, is for scripts.
//!
//! Run it with `scripts/soak` (builds the release binaries, sets `TFD_BIN`).
//! Options (after `--`): `--clients N` (1..=1024), `--secs S` (10..=7200),
//! `--kills K` (SIGKILLs, default 1 per minute, at least 3), `--max-size BYTES`
//! (largest transfer, default 4 MiB), `--seed X`.

#[path = "soak/lifecycle.rs"]
mod lifecycle;
mod support;

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use sha2::{Digest, Sha256};
use std::collections::{HashMap, HashSet};
use std::fs;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};
use support::{is_helper, log_problems, private_tempdir, tfd_binary, Server};
use tfd_testkit::reply::{Answer as _, SizeOrCode as _};
use tfp_client::replies::{AsStatus as _, Split as _};
use tfp_client::{Client, ClientConfig};
use tfp_wire::hpf;
use tfp_wire::Status;

/// Files a client keeps verified on the server at most (older ones are deleted).
const KEEP_FILES: usize = 6;
/// One operation in this many ends the connection (in one of several ways).
const DISCONNECT_ONE_IN: u64 = 40;
/// Client I/O timeout: generous, since 256 clients share two CPUs with the server.
const IO_TIMEOUT: Duration = Duration::from_secs(60);
/// How long after the deadline the run may take before the watchdog ends it.
const WATCHDOG_GRACE: Duration = Duration::from_secs(240);
/// The lock files' directory in the served root (not a secure directory).
const LOCK_DIR: &str = "locks";
/// The lock the keeper holds from before the first client until after the
/// leftover check: every wait on it is one its client abandons.
const KEEP_LOCK: &str = "locks/keep";
/// The keeper's NETLOCK timeout (the protocol's longest, a week): longer than any run.
const KEEP_SECS: u64 = 604_800;
/// An abandoned wait's NETLOCK timeout: the session must end when its client
/// leaves, not this much later.
const ABANDON_WAIT_SECS: u64 = 3600;
/// A holder's NETLOCK timeout (how long it waits for another holder).
const HOLD_WAIT_SECS: u64 = 60;
/// The TFPSFS mask of a secure client's owner entry: every right.
const OWNER_MASK: &str = "4095";

// ---- options -----------------------------------------------------------------

struct Options {
    clients: usize,
    secs: u64,
    kills: usize,
    max_size: u64,
    seed: u64,
}

impl Options {
    fn parse() -> Result<Options, String> {
        let mut o = Options {
            clients: 256,
            secs: 600,
            kills: 0,
            max_size: 4 << 20,
            seed: 0,
        };
        let mut kills = None;
        let mut seed = None;
        let mut args = std::env::args().skip(1);
        while let Some(a) = args.next() {
            let mut num = |what: &str| -> Result<u64, String> {
                args.next()
                    .and_then(|v| v.parse::<u64>().ok())
                    .ok_or_else(|| format!("{what} needs a number"))
            };
            match a.as_str() {
                // cargo bench passes --bench to harness = false targets
                "--bench" => {}
                "--clients" => o.clients = num("--clients")?.clamp(1, 1024) as usize,
                "--secs" => o.secs = num("--secs")?.clamp(10, 7200),
                "--kills" => kills = Some(num("--kills")?.min(1000) as usize),
                "--max-size" => o.max_size = num("--max-size")?.clamp(1, 64 << 20),
                "--seed" => seed = Some(num("--seed")?),
                "-h" | "--help" => {
                    return Err("usage: soak [--clients N] [--secs S] [--kills K] [--max-size BYTES] [--seed X]".into())
                }
                other => return Err(format!("unknown argument {other:?} (try --help)")),
            }
        }
        o.kills = kills.unwrap_or((o.secs / 60).max(3) as usize);
        o.seed = match seed {
            Some(s) => s,
            None => {
                let mut b = [0u8; 8];
                getrandom::getrandom(&mut b).map_err(|e| e.to_string())?;
                u64::from_le_bytes(b)
            }
        };
        Ok(o)
    }
}

// ---- randomness and content --------------------------------------------------

/// SplitMix64: fast, seedable, good enough for workload choices and file content.
#[derive(Clone)]
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        if n == 0 {
            0
        } else {
            self.next() % n
        }
    }

    fn chance(&mut self, one_in: u64) -> bool {
        self.below(one_in) == 0
    }
}

/// `len` bytes of content from a seed, hashed as they are read.
struct Content {
    rng: Rng,
    left: u64,
    hash: Sha256,
}

impl Content {
    fn new(seed: u64, len: u64) -> Content {
        Content {
            rng: Rng(seed),
            left: len,
            hash: Sha256::new(),
        }
    }
}

impl Read for Content {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = (buf.len() as u64).min(self.left) as usize;
        for chunk in buf[..n].chunks_mut(8) {
            let v = self.rng.next().to_le_bytes();
            chunk.copy_from_slice(&v[..chunk.len()]);
        }
        self.hash.update(&buf[..n]);
        self.left -= n as u64;
        Ok(n)
    }
}

/// The SHA-256 and length of what was written.
#[derive(Default)]
struct Sink {
    hash: Sha256,
    len: u64,
}

impl Write for Sink {
    fn write(&mut self, b: &[u8]) -> io::Result<usize> {
        self.hash.update(b);
        self.len += b.len() as u64;
        Ok(b.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

fn hex(d: &[u8]) -> String {
    d.iter().map(|b| format!("{b:02x}")).collect()
}

/// Transfer sizes: mostly small, some up to 1 MiB, a tenth up to `max`.
fn pick_size(rng: &mut Rng, max: u64) -> u64 {
    let s = match rng.below(100) {
        0..=1 => 0,
        2..=56 => rng.below(64 << 10),
        57..=89 => (64 << 10) + rng.below(960 << 10),
        _ => (1 << 20) + rng.below(max.saturating_sub(1 << 20).max(1)),
    };
    s.min(max)
}

// ---- operations ----------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Connect,
    Echo,
    MkdirRmdir,
    TouchDel,
    Ls,
    Sndfile,
    Rcvfile,
    Put,
    Get,
    Sup,
    Sdown,
    LockHold,
    LockAbandon,
    SecRefused,
}

const OPS: [Op; 14] = [
    Op::Connect,
    Op::Echo,
    Op::MkdirRmdir,
    Op::TouchDel,
    Op::Ls,
    Op::Sndfile,
    Op::Rcvfile,
    Op::Put,
    Op::Get,
    Op::Sup,
    Op::Sdown,
    Op::LockHold,
    Op::LockAbandon,
    Op::SecRefused,
];

impl Op {
    fn name(self) -> &'static str {
        match self {
            Op::Connect => "connect",
            Op::Echo => "echo",
            Op::MkdirRmdir => "mkdir_rmdir",
            Op::TouchDel => "touch_del",
            Op::Ls => "ls",
            Op::Sndfile => "sndfile",
            Op::Rcvfile => "rcvfile",
            Op::Put => "put",
            Op::Get => "get",
            Op::Sup => "sup",
            Op::Sdown => "sdown",
            Op::LockHold => "netlock_hold",
            Op::LockAbandon => "netlock_abandon",
            Op::SecRefused => "tfpsfs_refused",
        }
    }

    fn index(self) -> usize {
        OPS.iter().position(|&o| o == self).unwrap_or(0)
    }

    /// The weighted mix of the command loop.
    fn pick(rng: &mut Rng) -> Op {
        match rng.below(100) {
            0..=13 => Op::Echo,
            14..=15 => Op::LockHold,
            16..=17 => Op::LockAbandon,
            18..=19 => Op::SecRefused,
            20..=27 => Op::MkdirRmdir,
            28..=35 => Op::TouchDel,
            36..=43 => Op::Ls,
            44..=55 => Op::Sndfile,
            56..=65 => Op::Rcvfile,
            66..=77 => Op::Put,
            78..=87 => Op::Get,
            88..=93 => Op::Sup,
            _ => Op::Sdown,
        }
    }
}

/// How an operation went wrong.
enum Fail {
    /// The connection failed (a kill explains it, or it is an error).
    Io(String),
    /// The server answered, but not what it must have.
    Verify(String),
}

impl From<tfp_client::Error> for Fail {
    fn from(e: tfp_client::Error) -> Self {
        Fail::Io(e.to_string())
    }
}

impl From<tfp_channel::ChannelError> for Fail {
    fn from(e: tfp_channel::ChannelError) -> Self {
        Fail::Io(e.to_string())
    }
}

type OpResult = Result<(), Fail>;

fn verify(ok: bool, what: impl FnOnce() -> String) -> OpResult {
    if ok {
        Ok(())
    } else {
        Err(Fail::Verify(what()))
    }
}

fn is_ok(st: &Status) -> bool {
    matches!(st, Status::Ok(_))
}

// ---- shared state ----------------------------------------------------------------

/// Per-client counters, merged at the end.
#[derive(Default)]
struct Tally {
    lat_us: Vec<Vec<u32>>,
    ops: u64,
    bytes_up: u64,
    bytes_down: u64,
    verify_errors: u64,
    unexpected: u64,
    killed_ops: u64,
    disconnects: u64,
    aborted_uploads_checked: u64,
    /// NETLOCKs taken, with the marker written and read back under them.
    lock_holds: u64,
    /// Holders that left without NETUNLOCK (END or a broken connection).
    lock_holders_left: u64,
    /// NETLOCK waits for a lock held by others that ran out (contention, not an error).
    lock_timeouts: u64,
    /// Waits on the keeper's lock whose client left mid-wait (FIN or RST).
    lock_waits_abandoned: u64,
    /// Attempts by another identity in a TFPSFS directory, refused and checked.
    sec_refused: u64,
    problems: Vec<String>,
}

impl Tally {
    fn new() -> Tally {
        Tally {
            lat_us: vec![Vec::new(); OPS.len()],
            ..Tally::default()
        }
    }

    fn problem(&mut self, p: String) {
        if self.problems.len() < 5 {
            self.problems.push(p);
        }
    }

    fn merge(&mut self, o: Tally) {
        for (a, b) in self.lat_us.iter_mut().zip(o.lat_us) {
            a.extend(b);
        }
        self.ops += o.ops;
        self.bytes_up += o.bytes_up;
        self.bytes_down += o.bytes_down;
        self.verify_errors += o.verify_errors;
        self.unexpected += o.unexpected;
        self.killed_ops += o.killed_ops;
        self.disconnects += o.disconnects;
        self.aborted_uploads_checked += o.aborted_uploads_checked;
        self.lock_holds += o.lock_holds;
        self.lock_holders_left += o.lock_holders_left;
        self.lock_timeouts += o.lock_timeouts;
        self.lock_waits_abandoned += o.lock_waits_abandoned;
        self.sec_refused += o.sec_refused;
        for p in o.problems {
            if self.problems.len() < 20 {
                self.problems.push(p);
            }
        }
    }
}

/// What the clients and the controller share.
struct Shared {
    /// Local ports of the connections whose session was SIGKILLed, with the time.
    killed: Mutex<HashMap<u16, Instant>>,
    /// The run's end (no operation starts after it).
    deadline: Instant,
    /// Completed operations so far (for the progress line).
    ops: AtomicU64,
    /// How many lock files (`locks/l<i>`, each with its marker `locks/m<i>`) the
    /// holders share.
    lock_files: usize,
    /// The keeper's peer port: its session holds [`KEEP_LOCK`] for the whole run
    /// and is never a SIGKILL victim.
    keeper_port: u16,
    /// SIGKILLs that hit a session in NETLOCK.
    netlock_kills: AtomicU64,
    /// The run's start.
    started: Instant,
    /// Abandoned waits done so far, and the most there may be: bounded, so that a
    /// server whose waits outlive their clients shows as that many leftovers, not
    /// as sessions refused; spread over the run (see [`Shared::may_abandon`]).
    abandons: AtomicU64,
    abandons_max: u64,
}

impl Shared {
    /// Claims one abandoned wait if the share of the run so far allows it (the
    /// controller finds waiting sessions to SIGKILL all through the run).
    fn may_abandon(&self) -> bool {
        let run = self.deadline.saturating_duration_since(self.started).as_secs_f64();
        let frac = (self.started.elapsed().as_secs_f64() / run.max(1.0)).min(1.0);
        let allowed = ((self.abandons_max as f64 * frac) as u64 + 1).min(self.abandons_max);
        self.abandons
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| (n < allowed).then_some(n + 1))
            .is_ok()
    }
}

/// One file the client has verified on the server.
#[derive(Clone)]
struct Known {
    name: String,
    size: u64,
    sha: [u8; 32],
}

/// One client: its connection, its directory, what it knows is there.
struct Worker {
    id: usize,
    cfg: ClientConfig,
    rng: Rng,
    max_size: u64,
    shared: Arc<Shared>,
    tally: Tally,
    dir: String,
    seq: u64,
    known: Vec<Known>,
    /// Names whose state an interrupted operation left uncertain.
    maybe: HashSet<String>,
    /// The TFPSFS identity owning the client's directory, for a client that works
    /// in a secure directory (every session of it does SETFSID first).
    owner: Option<String>,
    /// Whether the directory's owner entry was set (by the first connection).
    secured: bool,
    conn: Option<(Client, u16, Instant)>,
}

impl Worker {
    fn path(&self, name: &str) -> Vec<u8> {
        format!("{}/{name}", self.dir).into_bytes()
    }

    fn fresh(&mut self, prefix: &str) -> String {
        self.seq += 1;
        format!("{prefix}{}", self.seq)
    }

    fn record(&mut self, op: Op, started: Instant) {
        let us = started.elapsed().as_micros().min(u32::MAX as u128) as u32;
        self.tally.lat_us[op.index()].push(us);
        self.tally.ops += 1;
        self.shared.ops.fetch_add(1, Ordering::Relaxed);
    }

    /// Connects (retrying a few times) and makes sure the client's directory exists.
    fn connect(&mut self) -> Result<(), Fail> {
        let mut last = String::new();
        for attempt in 0..5 {
            if attempt > 0 {
                thread::sleep(Duration::from_millis(200 * attempt));
            }
            let t = Instant::now();
            match Client::connect(&self.cfg) {
                Ok(mut c) => {
                    let port = c.chan.stream().local_addr().map(|a| a.port()).unwrap_or(0);
                    if let Some(owner) = &self.owner {
                        let st = c.call("SETFSID", owner.as_bytes())?;
                        verify(st == Status::Ok(Vec::new()), || format!("SETFSID {owner} -> {st:?}"))?;
                    }
                    let st = c.call("MKDIR", self.dir.as_bytes())?;
                    verify(is_ok(&st) || st.failed_code() == Some(4), || {
                        format!("MKDIR {} -> {st:?}", self.dir)
                    })?;
                    if let (Some(owner), false) = (&self.owner, self.secured) {
                        // the first entry makes the directory secure and names its
                        // owner; again after an interrupted first try is the owner's right
                        let st = c.call("SETFSPERM", format!("{owner}:4095 {}", self.dir).as_bytes())?;
                        verify(is_ok(&st), || format!("SETFSPERM {owner}:4095 {} -> {st:?}", self.dir))?;
                        let st = c.call("GETFSPERM", format!("{owner} {}", self.dir).as_bytes())?;
                        verify(st == Status::Ok(b"4095".to_vec()), || {
                            format!("GETFSPERM {owner} {} -> {st:?}", self.dir)
                        })?;
                        self.secured = true;
                    }
                    self.record(Op::Connect, t);
                    self.conn = Some((c, port, Instant::now()));
                    return Ok(());
                }
                Err(e) => last = e.to_string(),
            }
        }
        Err(Fail::Io(format!("cannot connect: {last}")))
    }

    fn client(&mut self) -> &mut Client {
        &mut self.conn.as_mut().expect("connected").0
    }

    /// True when the current connection's session was SIGKILLed by the controller.
    fn was_killed(&self) -> bool {
        let Some((_, port, since)) = &self.conn else {
            return false;
        };
        // the controller records the port before it kills
        self.shared
            .killed
            .lock()
            .map(|m| m.get(port).is_some_and(|t| t >= since))
            .unwrap_or(false)
    }

    /// Ends the connection abruptly: RST when `reset`, else a plain close (FIN).
    fn drop_connection(&mut self, reset: bool) {
        if let Some((c, _, _)) = self.conn.take() {
            if reset {
                let l = nix::sys::socket::sockopt::Linger;
                let _ = nix::sys::socket::setsockopt(
                    c.chan.stream(),
                    l,
                    &libc::linger {
                        l_onoff: 1,
                        l_linger: 0,
                    },
                );
            }
            let _ = c.chan.stream().shutdown(std::net::Shutdown::Both);
        }
    }

    fn run(mut self) -> Tally {
        while Instant::now() < self.shared.deadline {
            if self.conn.is_none() {
                if let Err(f) = self.connect() {
                    self.failed(f, "connect");
                    thread::sleep(Duration::from_millis(500));
                    continue;
                }
            }
            let r = if self.rng.chance(DISCONNECT_ONE_IN) {
                self.disconnect()
            } else {
                let mut op = Op::pick(&mut self.rng);
                if op == Op::SecRefused && self.owner.is_none() {
                    op = Op::Echo;
                }
                if op == Op::LockAbandon && !self.shared.may_abandon() {
                    op = Op::LockHold;
                }
                let t = Instant::now();
                let r = self.op(op);
                if r.is_ok() {
                    self.record(op, t);
                }
                r
            };
            if let Err(f) = r {
                self.failed(f, "operation");
            }
        }
        // the end: one more full check of everything the client keeps, then END
        if self.conn.is_none() {
            if let Err(f) = self.connect() {
                self.failed(f, "final connect");
            }
        }
        if self.conn.is_some() {
            let mut r = self.ls();
            for k in self.known.clone() {
                if r.is_ok() {
                    r = self.download(Op::Rcvfile, &k);
                }
            }
            match r {
                Ok(()) => {
                    if let Some((c, _, _)) = self.conn.take() {
                        let _ = c.end();
                    }
                }
                Err(f) => self.failed(f, "final check"),
            }
        }
        self.tally
    }

    /// Classifies a failure and drops the connection (a fresh one follows).
    fn failed(&mut self, f: Fail, during: &str) {
        let killed = self.was_killed();
        match f {
            _ if killed => self.tally.killed_ops += 1,
            Fail::Io(e) => {
                self.tally.unexpected += 1;
                self.tally.problem(format!("client {}: {during}: I/O: {e}", self.id));
            }
            Fail::Verify(e) => {
                self.tally.verify_errors += 1;
                self.tally.problem(format!("client {}: {during}: VERIFY: {e}", self.id));
            }
        }
        self.drop_connection(false);
    }

    /// One of the ways a connection ends early.
    fn disconnect(&mut self) -> OpResult {
        self.tally.disconnects += 1;
        match self.rng.below(7) {
            0 => {
                if let Some((c, _, _)) = self.conn.take() {
                    c.end()?;
                }
            }
            1 => self.drop_connection(false),
            2 => self.drop_connection(true),
            3 => return self.abort_sndfile(),
            4 => self.abort_put()?,
            5 => self.abort_download(false)?,
            _ => self.abort_download(true)?,
        }
        Ok(())
    }

    /// Starts an SNDFILE, sends part of it, resets the connection; the name must
    /// never appear (the upload lives in a temporary file until it completes).
    fn abort_sndfile(&mut self) -> OpResult {
        let name = self.fresh("a");
        let path = self.path(&name);
        let c = self.client();
        let first = c.raw(&[&b"SNDFILE 0 "[..], &path].concat())?;
        verify(first == b"CONT", || {
            format!("SNDFILE -> {:?}", String::from_utf8_lossy(&first))
        })?;
        let chunk = vec![0xa5u8; 64 << 10];
        for _ in 0..2 {
            c.chan.tx.send_frame_parts(&[b"CONT ", &chunk])?;
            let r = c.chan.rx.recv_frame()?;
            verify(r == b"CONT", || {
                format!("SNDFILE chunk -> {:?}", String::from_utf8_lossy(&r))
            })?;
        }
        self.drop_connection(true);
        self.connect()?;
        let size = self.client().fsize(&path).size_or_code()?;
        self.tally.aborted_uploads_checked += 1;
        verify(size == -1, || {
            format!("a broken-off SNDFILE left {name} ({size} bytes) under its name")
        })
    }

    /// Starts a PUT, sends part of it, closes the connection (the partial file is
    /// of uncertain state from now on).
    fn abort_put(&mut self) -> OpResult {
        let name = self.fresh("b");
        self.maybe.insert(name.clone());
        let path = self.path(&name);
        let reset = self.rng.chance(2);
        let c = self.client();
        let f = c.raw(&[&b"PUT "[..], &hpf::encode(&path, 0, 65536, None)].concat())?;
        verify(f.starts_with(b"OK ") && f.len() == 11, || {
            format!("PUT -> {:?}", String::from_utf8_lossy(&f))
        })?;
        let chunk = vec![0x5au8; 65536];
        c.chan.tx.send_units(&[&65536i64.to_be_bytes(), &chunk])?;
        self.drop_connection(reset);
        Ok(())
    }

    /// Starts a download of a known file, reads its first chunk, closes.
    fn abort_download(&mut self, get: bool) -> OpResult {
        let Some(k) = self.pick_known() else {
            self.drop_connection(false);
            return Ok(());
        };
        let path = self.path(&k.name);
        let reset = self.rng.chance(2);
        let c = self.client();
        if get {
            let f = c.raw(&[&b"GET "[..], &hpf::encode(&path, 0, 65536, None)].concat())?;
            verify(f.starts_with(b"OK ") && f.len() == 11, || {
                format!("GET {} -> {:?}", k.name, String::from_utf8_lossy(&f))
            })?;
            let len = c.chan.rx.recv_i64()?;
            if len > 0 {
                c.chan.rx.recv_unit(&mut vec![0u8; len as usize])?;
            }
        } else {
            c.chan.tx.send_frame(&[&b"RCVFILE 0 "[..], &path].concat())?;
            let f = c.chan.rx.recv_frame()?;
            verify(f.starts_with(b"CONT ") || (k.size == 0 && f == b"OK"), || {
                format!(
                    "RCVFILE {} -> {:?}",
                    k.name,
                    String::from_utf8_lossy(&f[..f.len().min(40)])
                )
            })?;
        }
        self.drop_connection(reset);
        Ok(())
    }

    fn pick_known(&mut self) -> Option<Known> {
        if self.known.is_empty() {
            return None;
        }
        let i = self.rng.below(self.known.len() as u64) as usize;
        Some(self.known[i].clone())
    }

    fn op(&mut self, op: Op) -> OpResult {
        match op {
            Op::Echo => {
                let n = self.rng.below(200) as usize;
                let payload: Vec<u8> = (0..n).map(|_| b'!' + self.rng.below(90) as u8).collect();
                let r = self.client().raw(&[&b"ECHO "[..], &payload].concat())?;
                verify(r == payload, || {
                    format!("ECHO {} bytes came back as {} bytes", n, r.len())
                })
            }
            Op::MkdirRmdir => {
                let name = self.fresh("d");
                self.maybe.insert(name.clone());
                let p = self.path(&name);
                let c = self.client();
                let st = c.call("MKDIR", &p)?;
                verify(is_ok(&st), || format!("MKDIR {name} -> {st:?}"))?;
                let st = c.call("FSTAT", &p)?;
                verify(matches!(&st, Status::Ok(d) if d.starts_with(b"D ")), || {
                    format!("FSTAT {name} -> {st:?}")
                })?;
                let st = c.call("RMDIR", &p)?;
                verify(is_ok(&st), || format!("RMDIR {name} -> {st:?}"))?;
                let st = c.call("FSTAT", &p)?;
                verify(st.failed_code() == Some(9), || {
                    format!("FSTAT {name} after RMDIR -> {st:?}")
                })?;
                self.maybe.remove(&name);
                Ok(())
            }
            Op::TouchDel => {
                let name = self.fresh("t");
                self.maybe.insert(name.clone());
                let p = self.path(&name);
                let c = self.client();
                let st = c.call("TOUCH", &p)?;
                verify(is_ok(&st), || format!("TOUCH {name} -> {st:?}"))?;
                let n = c.fsize(&p).size_or_code()?;
                verify(n == 0, || format!("FSIZE {name} after TOUCH -> {n}"))?;
                let st = c.call("DEL", &p)?;
                verify(is_ok(&st), || format!("DEL {name} -> {st:?}"))?;
                let n = c.fsize(&p).size_or_code()?;
                verify(n == -1, || format!("FSIZE {name} after DEL -> {n}"))?;
                self.maybe.remove(&name);
                Ok(())
            }
            Op::Ls => self.ls(),
            Op::Sndfile | Op::Put | Op::Sup => self.upload(op),
            Op::Rcvfile | Op::Get | Op::Sdown => match self.pick_known() {
                Some(k) => self.download(op, &k),
                None => self.upload(Op::Sndfile),
            },
            Op::LockHold => self.lock_hold(),
            Op::LockAbandon => self.lock_abandon(),
            Op::SecRefused => self.sec_refused(),
            Op::Connect => Ok(()),
        }
    }

    /// Takes one of the shared locks (waiting for other holders), writes a marker
    /// of its own under it, reads it back after a pause: a second holder at the
    /// same time would have replaced it. Then NETUNLOCK, or now and then END or
    /// a dropped connection while holding (the lock must come free all the same:
    /// the next holder's wait, and the check at the end, would see it stuck).
    fn lock_hold(&mut self) -> OpResult {
        let n = self.shared.lock_files as u64;
        let i = self.rng.below(n);
        let lock = format!("{LOCK_DIR}/l{i}");
        let marker = format!("{LOCK_DIR}/m{i}");
        let hold = self.fresh("");
        let token = format!("client {} hold {hold}", self.id);
        let pause = Duration::from_millis(self.rng.below(150));
        let leave = self.rng.below(10);
        let c = self.client();
        let r = c.raw(format!("NETLOCK {HOLD_WAIT_SECS} {lock}").as_bytes())?;
        if r.starts_with(b"FAILED 54 ") {
            self.tally.lock_timeouts += 1;
            return Ok(());
        }
        let slot = r
            .strip_prefix(b"OK ")
            .and_then(|n| std::str::from_utf8(n).ok())
            .and_then(|n| n.parse::<usize>().ok());
        let Some(slot) = slot else {
            return Err(Fail::Verify(format!(
                "NETLOCK {lock} -> {:?}",
                String::from_utf8_lossy(&r)
            )));
        };
        let st = c
            .sndfile(marker.as_bytes(), true, &mut token.as_bytes(), &mut |_| {})
            .status()?;
        verify(is_ok(&st), || format!("SNDFILE {marker} under the lock -> {st:?}"))?;
        thread::sleep(pause);
        let mut got = Vec::new();
        let st = c.rcvfile(marker.as_bytes(), false, &mut got).status()?;
        verify(is_ok(&st) && got == token.as_bytes(), || {
            format!(
                "{lock} held by two sessions at once: wrote {token:?} under it, read back {:?} ({st:?})",
                String::from_utf8_lossy(&got)
            )
        })?;
        self.tally.lock_holds += 1;
        match leave {
            0 => {
                self.tally.lock_holders_left += 1;
                let reset = self.rng.chance(2);
                self.drop_connection(reset);
            }
            1 => {
                self.tally.lock_holders_left += 1;
                if let Some((c, _, _)) = self.conn.take() {
                    c.end()?;
                }
            }
            _ => {
                let r = self.client().raw(format!("NETUNLOCK {slot}").as_bytes())?;
                verify(r == b"OK", || {
                    format!("NETUNLOCK {slot} -> {:?}", String::from_utf8_lossy(&r))
                })?;
            }
        }
        Ok(())
    }

    /// `NETLOCK 3600` on the keeper's lock, then the client leaves mid-wait (FIN
    /// or RST) after up to 3 s; the controller SIGKILLs some waiters too. No
    /// answer may have come meanwhile (the keeper holds the lock); the session
    /// must end with its client, which the leftover check at the end verifies.
    fn lock_abandon(&mut self) -> OpResult {
        let wait = Duration::from_millis(100 + self.rng.below(2900));
        let reset = self.rng.chance(2);
        let c = self.client();
        c.chan
            .tx
            .send_frame(format!("NETLOCK {ABANDON_WAIT_SECS} {KEEP_LOCK}").as_bytes())?;
        thread::sleep(wait);
        let s = c.chan.stream();
        s.set_nonblocking(true).map_err(|e| Fail::Io(e.to_string()))?;
        let peeked = s.peek(&mut [0u8; 1]);
        s.set_nonblocking(false).map_err(|e| Fail::Io(e.to_string()))?;
        match peeked {
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
            Ok(0) => {
                return Err(Fail::Io(
                    "the session closed the connection during a NETLOCK wait".into(),
                ))
            }
            Ok(_) => {
                return Err(Fail::Verify(format!(
                    "NETLOCK {ABANDON_WAIT_SECS} {KEEP_LOCK} answered while the keeper holds it"
                )))
            }
            Err(e) => return Err(Fail::Io(format!("during a NETLOCK wait: {e}"))),
        }
        self.tally.lock_waits_abandoned += 1;
        self.drop_connection(reset);
        Ok(())
    }

    /// In a secure client's directory, another identity (or none: SETFSID with
    /// nothing clears it) tries one thing it has no right to; it must get the
    /// command's FAILED code, and then, as the owner again, nothing has changed:
    /// the target file's size and SHA-256, no new name, both masks.
    fn sec_refused(&mut self) -> OpResult {
        let Some(owner) = self.owner.clone() else {
            return Ok(());
        };
        let intruder = if self.rng.chance(3) {
            String::new()
        } else {
            format!("x{}", self.id)
        };
        let dir = self.dir.clone();
        let known = self.pick_known();
        let fresh = self.fresh("r");
        let fresh_path = self.path(&fresh);
        let known_path = known.as_ref().map(|k| self.path(&k.name));
        self.maybe.insert(fresh.clone());
        let what = self.rng.below(12);
        let c = self.client();
        let st = c.call("SETFSID", intruder.as_bytes())?;
        verify(st == Status::Ok(Vec::new()), || {
            format!("SETFSID {intruder:?} -> {st:?}")
        })?;
        let f1 = |st: &Status| st.failed_code() == Some(1);
        let (desc, refused) = match (what, &known_path) {
            (0, Some(p)) => {
                let mut sink = Vec::new();
                let st = c.rcvfile(p, false, &mut sink).status()?;
                (
                    format!("RCVFILE -> {st:?}, {} B", sink.len()),
                    f1(&st) && sink.is_empty(),
                )
            }
            (1, Some(p)) => {
                let st = c.sndfile(p, true, &mut &b"intruder"[..], &mut |_| {}).status()?;
                (format!("SNDFILE over a file -> {st:?}"), f1(&st))
            }
            (2, Some(p)) => {
                let st = c.call("DEL", p)?;
                (format!("DEL -> {st:?}"), f1(&st))
            }
            (3, Some(p)) => {
                let mut sink = Vec::new();
                let r = c.get(p, 0, 65536, &mut sink, &mut |_| {}).split()?;
                (
                    format!("GET -> {r:?}, {} B", sink.len()),
                    r.as_ref().err().is_some_and(f1) && sink.is_empty(),
                )
            }
            (4, Some(p)) => {
                let st = c.call("SHA256", p)?;
                (format!("SHA256 -> {st:?}"), f1(&st))
            }
            (5, Some(p)) => {
                let st = c.call("RENAM", &[&p[..], b" | ", &fresh_path].concat())?;
                (format!("RENAM -> {st:?}"), f1(&st))
            }
            (6, _) => {
                let r = c.list(false, dir.as_bytes()).split()?;
                (format!("LS -> {r:?}"), r.as_ref().err().is_some_and(f1))
            }
            (7, _) => {
                let st = c.call("TOUCH", &fresh_path)?;
                (format!("TOUCH -> {st:?}"), f1(&st))
            }
            (8, _) => {
                let st = c.call("MKDIR", &fresh_path)?;
                (format!("MKDIR -> {st:?}"), f1(&st))
            }
            (9, _) => {
                let r = c
                    .put(&fresh_path, 0, 65536, &mut &b"intruder"[..], &mut |_| {})
                    .split()?;
                (format!("PUT -> {r:?}"), r.as_ref().err().is_some_and(f1))
            }
            (10, _) => {
                let st = c.call("SETFSPERM", format!("{intruder}:4095 {dir}").as_bytes())?;
                (format!("SETFSPERM -> {st:?}"), st.failed_code() == Some(57))
            }
            _ => {
                let st = c.call("REMFSPERM", format!("{owner} {dir}").as_bytes())?;
                (format!("REMFSPERM the owner -> {st:?}"), st.failed_code() == Some(58))
            }
        };
        let st = c.call("SETFSID", owner.as_bytes())?;
        verify(st == Status::Ok(Vec::new()), || format!("SETFSID {owner} -> {st:?}"))?;
        verify(refused, || format!("{dir} as {intruder:?}: {desc}, not refused"))?;
        let st = c.call("GETFSPERM", format!("{owner} {dir}").as_bytes())?;
        verify(st == Status::Ok(OWNER_MASK.into()), || {
            format!("GETFSPERM {owner} after {desc} -> {st:?}")
        })?;
        let st = c.call("GETFSPERM", format!("{intruder} {dir}").as_bytes())?;
        verify(st == Status::Ok(b"0".to_vec()), || {
            format!("GETFSPERM {intruder:?} after {desc} -> {st:?}")
        })?;
        let st = c.call("FSTAT", &fresh_path)?;
        verify(st.failed_code() == Some(9), || {
            format!("FSTAT {fresh} after {desc} -> {st:?}")
        })?;
        if let (Some(k), Some(p)) = (&known, &known_path) {
            let n = c.fsize(p).size_or_code()?;
            let st = c.call("SHA256", p)?;
            let want = format!("0x{}", hex(&k.sha));
            verify(n == k.size as i64 && st == Status::Ok(want.into_bytes()), || {
                format!("{} after {desc}: FSIZE {n}, SHA256 {st:?}; was {} B", k.name, k.size)
            })?;
        }
        self.maybe.remove(&fresh);
        self.tally.sec_refused += 1;
        Ok(())
    }

    /// LS of the client's directory: every known file listed with its name, and
    /// nothing that is neither known nor of uncertain state.
    fn ls(&mut self) -> OpResult {
        let dir = self.dir.clone();
        let listing = match self.client().list(false, dir.as_bytes()).split()? {
            Ok(l) => l,
            Err(st) => return Err(Fail::Verify(format!("LS {dir} -> {st:?}"))),
        };
        let text = String::from_utf8_lossy(&listing);
        let mut files = HashSet::new();
        for line in text.lines() {
            let (kind, name) = line.split_once(": ").unwrap_or(("?", line));
            let name = name.trim_end_matches('/');
            if kind == "F" {
                files.insert(name.to_string());
            }
            verify(
                self.known.iter().any(|k| k.name == name) || self.maybe.contains(name),
                || format!("LS {dir} lists {line:?}, which should not exist"),
            )?;
        }
        for k in &self.known {
            verify(files.contains(&k.name), || format!("LS {dir} misses {}", k.name))?;
        }
        Ok(())
    }

    /// Uploads fresh content (SNDFILE sometimes over a known file), then checks
    /// the server's FSIZE and SHA256 of it.
    fn upload(&mut self, op: Op) -> OpResult {
        let overwrite = op == Op::Sndfile && !self.known.is_empty() && self.rng.chance(4);
        let name = if overwrite {
            let i = self.rng.below(self.known.len() as u64) as usize;
            self.known.remove(i).name
        } else {
            let prefix = match op {
                Op::Put => "p",
                Op::Sup => "s",
                _ => "f",
            };
            self.fresh(prefix)
        };
        self.maybe.insert(name.clone());
        let size = pick_size(&mut self.rng, self.max_size);
        let mut content = Content::new(self.rng.next(), size);
        let path = self.path(&name);
        let bufsz = [64i64 << 10, 256 << 10, 1 << 20, 4 << 20][self.rng.below(4) as usize];
        let c = self.client();
        match op {
            Op::Put => {
                let r = c.put(&path, 0, bufsz, &mut content, &mut |_| {}).split()?;
                verify(r == Ok(()), || format!("PUT {name} ({size} B) -> {r:?}"))?;
            }
            Op::Sup => {
                let r = c.sup(&path, &mut content).answer()?;
                verify(r == 0, || format!("SUP {name} ({size} B) -> {r}"))?;
            }
            _ => {
                let st = c.sndfile(&path, overwrite, &mut content, &mut |_| {}).status()?;
                verify(is_ok(&st), || format!("SNDFILE {name} ({size} B) -> {st:?}"))?;
            }
        }
        let sha: [u8; 32] = content.hash.finalize().into();
        let n = c.fsize(&path).size_or_code()?;
        verify(n == size as i64, || format!("FSIZE {name} -> {n}, uploaded {size}"))?;
        let st = c.call("SHA256", &path)?;
        let want = format!("0x{}", hex(&sha));
        verify(st == Status::Ok(want.clone().into_bytes()), || {
            format!("SHA256 {name} -> {st:?}, uploaded {want}")
        })?;
        self.tally.bytes_up += size;
        self.known.push(Known {
            name: name.clone(),
            size,
            sha,
        });
        self.maybe.remove(&name);
        if self.known.len() > KEEP_FILES {
            let old = self.known.remove(0);
            self.maybe.insert(old.name.clone());
            let p = self.path(&old.name);
            let st = self.client().call("DEL", &p)?;
            verify(is_ok(&st), || format!("DEL {} -> {st:?}", old.name))?;
            self.maybe.remove(&old.name);
        }
        Ok(())
    }

    /// Downloads a known file and checks its length and SHA-256.
    fn download(&mut self, op: Op, k: &Known) -> OpResult {
        let path = self.path(&k.name);
        let bufsz = [64i64 << 10, 1 << 20, 4 << 20][self.rng.below(3) as usize];
        let mut sink = Sink::default();
        let c = self.client();
        match op {
            Op::Get => {
                let r = c.get(&path, 0, bufsz, &mut sink, &mut |_| {}).split()?;
                verify(r == Ok(k.size), || format!("GET {} -> {r:?}, size {}", k.name, k.size))?;
            }
            Op::Sdown => {
                let r = c.sdown(&path, &mut sink).done()?;
                verify(r, || format!("SDOWN {} -> -1", k.name))?;
            }
            _ => {
                let st = c.rcvfile(&path, false, &mut sink).status()?;
                verify(is_ok(&st), || format!("RCVFILE {} -> {st:?}", k.name))?;
            }
        }
        let got: [u8; 32] = sink.hash.finalize().into();
        verify(sink.len == k.size && got == k.sha, || {
            format!(
                "{} {}: got {} B sha {}, want {} B sha {}",
                op.name(),
                k.name,
                sink.len,
                hex(&got),
                k.size,
                hex(&k.sha)
            )
        })?;
        self.tally.bytes_down += k.size;
        Ok(())
    }
}

// ---- /proc sampling ---------------------------------------------------------------

fn status_kib(pid: u32, key: &str) -> Option<u64> {
    let s = fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = s.lines().find(|l| l.starts_with(key))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn pss_kib(pid: u32) -> Option<u64> {
    let s = fs::read_to_string(format!("/proc/{pid}/smaps_rollup")).ok()?;
    let line = s.lines().find(|l| l.starts_with("Pss:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn fd_count(pid: u32) -> usize {
    fs::read_dir(format!("/proc/{pid}/fd")).map(|d| d.count()).unwrap_or(0)
}

/// `fd -> target` of every open descriptor, for the report when counts differ.
fn fd_list(pid: u32) -> Vec<String> {
    let mut v: Vec<String> = fs::read_dir(format!("/proc/{pid}/fd"))
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| {
            let t = fs::read_link(e.path())
                .map(|t| t.display().to_string())
                .unwrap_or_default();
            format!("{}->{t}", e.file_name().to_string_lossy())
        })
        .collect();
    v.sort();
    v
}

fn children(pid: u32) -> Vec<u32> {
    fs::read_to_string(format!("/proc/{pid}/task/{pid}/children"))
        .map(|l| l.split_whitespace().filter_map(|p| p.parse().ok()).collect())
        .unwrap_or_default()
}

/// The session processes of the listener (live or zombie).
/// The UDP responder and the key process are children too, not sessions.
fn sessions(listener: u32) -> Vec<u32> {
    children(listener).into_iter().filter(|&p| !is_helper(p)).collect()
}

#[derive(Clone, Copy, Default, Debug)]
struct ListenerSample {
    rss_kib: u64,
    fds: usize,
}

fn listener_sample(pid: u32) -> ListenerSample {
    ListenerSample {
        rss_kib: status_kib(pid, "VmRSS:").unwrap_or(0),
        fds: fd_count(pid),
    }
}

#[derive(Default)]
struct Monitor {
    warm: Option<ListenerSample>,
    middle: Option<ListenerSample>,
    listener_rss_max: u64,
    listener_fds_max: usize,
    session_hwm_max_kib: u64,
    session_pss_max_kib: u64,
    session_rss_sum_kib: u64,
    session_rss_samples: u64,
    sessions_max: usize,
}

fn monitor(listener: u32, started: Instant, secs: u64, stop: &AtomicBool, m: &Mutex<Monitor>) {
    let warm_at = Duration::from_secs((secs / 10).clamp(5, 60));
    let mid_at = Duration::from_secs(secs / 2);
    let mut tick = 0u64;
    while !stop.load(Ordering::Relaxed) {
        let l = listener_sample(listener);
        let procs = sessions(listener);
        let mut hwm = 0;
        let mut rss_sum = 0;
        let mut pss = 0;
        for &p in &procs {
            hwm = hwm.max(status_kib(p, "VmHWM:").unwrap_or(0));
            rss_sum += status_kib(p, "VmRSS:").unwrap_or(0);
            if tick % 5 == 0 {
                pss = pss.max(pss_kib(p).unwrap_or(0));
            }
        }
        if let Ok(mut m) = m.lock() {
            let el = started.elapsed();
            if m.warm.is_none() && el >= warm_at {
                m.warm = Some(l);
            }
            if m.middle.is_none() && el >= mid_at {
                m.middle = Some(l);
            }
            m.listener_rss_max = m.listener_rss_max.max(l.rss_kib);
            m.listener_fds_max = m.listener_fds_max.max(l.fds);
            m.session_hwm_max_kib = m.session_hwm_max_kib.max(hwm);
            m.session_pss_max_kib = m.session_pss_max_kib.max(pss);
            m.session_rss_sum_kib += rss_sum;
            m.session_rss_samples += procs.len() as u64;
            m.sessions_max = m.sessions_max.max(procs.len());
        }
        tick += 1;
        thread::sleep(Duration::from_secs(1));
    }
}

// ---- the admin socket -----------------------------------------------------------------

/// `tfd ctl --socket SOCK <words>`: the response text.
fn ctl(bin: &Path, sock: &Path, words: &[&str]) -> Result<String, String> {
    let out = Command::new(bin)
        .arg("ctl")
        .arg("--socket")
        .arg(sock)
        .args(words)
        .output()
        .map_err(|e| format!("tfd ctl: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "tfd ctl {words:?}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// The rows of `tfd ctl sessions`: (pid, peer port, command).
fn ctl_sessions(bin: &Path, sock: &Path) -> Result<Vec<(i32, u16, String)>, String> {
    let text = ctl(bin, sock, &["sessions"])?;
    Ok(text
        .lines()
        .skip(1)
        .filter_map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            let pid = f.first()?.parse().ok()?;
            let port = f.get(1)?.rsplit(':').next()?.parse().ok()?;
            // COMMAND is the last column
            Some((pid, port, f.last().unwrap_or(&"-").to_string()))
        })
        .collect())
}

/// SIGKILLs `kills` session processes spread over the run, preferring ones in a
/// transfer or (every other kill) waiting in NETLOCK; never the keeper; records each victim's peer port first. Returns how many it killed.
fn controller(bin: &Path, sock: &Path, shared: &Shared, started: Instant, secs: u64, kills: usize, seed: u64) -> usize {
    let mut rng = Rng(seed ^ 0x6b69_6c6c);
    let mut done = 0;
    for i in 0..kills {
        let frac = if kills == 1 {
            0.5
        } else {
            0.1 + 0.8 * i as f64 / (kills - 1) as f64
        };
        let at = started + Duration::from_secs_f64(secs as f64 * frac);
        while Instant::now() < at {
            thread::sleep(Duration::from_millis(100));
        }
        if Instant::now() >= shared.deadline {
            break;
        }
        // every other kill prefers a session waiting in NETLOCK (looking for one
        // for up to 5 s), the others one in a transfer
        let (wanted, look): (&[&str], _) = if i % 2 == 1 {
            (&["NETLOCK"], Duration::from_secs(5))
        } else {
            (&["SNDFILE", "RCVFILE", "PUT", "GET", "SUP", "SDOWN"], Duration::ZERO)
        };
        let give_up = (Instant::now() + look).min(shared.deadline);
        let pool = loop {
            let rows: Vec<_> = match ctl_sessions(bin, sock) {
                Ok(r) => r.into_iter().filter(|r| r.1 != shared.keeper_port).collect(),
                Err(e) => {
                    eprintln!("controller: {e}");
                    Vec::new()
                }
            };
            let busy: Vec<_> = rows
                .iter()
                .filter(|r| wanted.contains(&r.2.as_str()))
                .cloned()
                .collect();
            if !busy.is_empty() {
                break busy;
            }
            if Instant::now() >= give_up {
                break rows;
            }
            thread::sleep(Duration::from_millis(200));
        };
        if pool.is_empty() {
            continue;
        }
        let (pid, port, cmd) = pool[rng.below(pool.len() as u64) as usize].clone();
        if let Ok(mut m) = shared.killed.lock() {
            m.insert(port, Instant::now());
        }
        if kill(Pid::from_raw(pid), Signal::SIGKILL).is_ok() {
            done += 1;
            if cmd == "NETLOCK" {
                shared.netlock_kills.fetch_add(1, Ordering::Relaxed);
            }
            println!(
                "  [{:>4.0}s] SIGKILL session {pid} (peer port {port}, last command {cmd})",
                started.elapsed().as_secs_f64()
            );
        }
    }
    done
}

// ---- the run ---------------------------------------------------------------------------

fn raise_nofile(want: u64) -> u64 {
    use nix::sys::resource::{getrlimit, setrlimit, Resource};
    let Ok((soft, hard)) = getrlimit(Resource::RLIMIT_NOFILE) else {
        return 0;
    };
    let target = want.min(hard).max(soft);
    if target > soft {
        let _ = setrlimit(Resource::RLIMIT_NOFILE, target, hard);
    }
    getrlimit(Resource::RLIMIT_NOFILE).map(|(s, _)| s).unwrap_or(soft)
}

fn percentile(sorted: &[u32], q: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    sorted[((sorted.len() as f64 * q) as usize).min(sorted.len() - 1)] as f64 / 1e3
}

/// Waits (bounded) until no session process is left but those in `except`;
/// returns those that are.
fn drain(listener: u32, limit: Duration, except: &[u32]) -> Vec<u32> {
    let until = Instant::now() + limit;
    loop {
        let mut left = sessions(listener);
        left.retain(|p| !except.contains(p));
        if left.is_empty() || Instant::now() >= until {
            return left;
        }
        thread::sleep(Duration::from_millis(50));
    }
}

/// Checks that the keeper's lock is still held (a fresh session's NETLOCK_TRY
/// fails: no waiter ever got it), then the keeper releases it and ends.
fn release_keeper(cfg: &ClientConfig, mut keeper: Client) -> Result<(), String> {
    let mut probe = Client::connect(cfg).map_err(|e| format!("a probe session: {e}"))?;
    let r = probe
        .raw(format!("NETLOCK_TRY 5 {KEEP_LOCK}").as_bytes())
        .map_err(|e| format!("the probe's NETLOCK_TRY: {e}"))?;
    let _ = probe.end();
    if !r.starts_with(b"FAILED 54 ") {
        return Err(format!(
            "a fresh session's NETLOCK_TRY {KEEP_LOCK} -> {:?} while the keeper holds it",
            String::from_utf8_lossy(&r)
        ));
    }
    let r = keeper
        .raw(b"NETUNLOCK 0")
        .map_err(|e| format!("the keeper's NETUNLOCK: {e}"))?;
    if r != b"OK" {
        return Err(format!("the keeper's NETUNLOCK 0 -> {:?}", String::from_utf8_lossy(&r)));
    }
    keeper.end().map_err(|e| format!("the keeper's END: {e}"))
}

/// One fresh session takes (NETLOCK_TRY, then NETUNLOCK) each lock in turn,
/// trying each for at most `limit`; returns how many it took.
fn take_every_lock(cfg: &ClientConfig, locks: &[String], limit: Duration) -> (usize, String) {
    let mut c = match Client::connect(cfg) {
        Ok(c) => c,
        Err(e) => return (0, format!("connect: {e}")),
    };
    let mut took = 0;
    let mut note = String::new();
    for l in locks {
        let until = Instant::now() + limit;
        loop {
            match c.raw(format!("NETLOCK_TRY 5 {l}").as_bytes()) {
                Ok(r) if r.starts_with(b"OK ") => {
                    let id = &r[3..];
                    match c.raw(&[&b"NETUNLOCK "[..], id].concat()) {
                        Ok(u) if u == b"OK" => took += 1,
                        other => note = format!("NETUNLOCK after {l}: {other:?}"),
                    }
                    break;
                }
                Ok(r) if Instant::now() < until && r.starts_with(b"FAILED 54 ") => {
                    thread::sleep(Duration::from_millis(100))
                }
                other => {
                    note = format!("{l} still held after {limit:?}: {other:?}");
                    break;
                }
            }
        }
    }
    let _ = c.end();
    (took, note)
}

/// The owner entry a secure client's directory got at its first connection,
/// still the only one (the refused attempts by other identities changed nothing).
fn owner_entry_intact(data: &Path, id: usize) -> bool {
    let want = format!("own{id}:{OWNER_MASK}\n");
    [".securefs_metadata", ".securefs_metadata.rd"]
        .iter()
        .all(|f| fs::read(data.join(format!("c{id}")).join(f)).is_ok_and(|b| b == want.as_bytes()))
}

/// Opens `n` sessions at once, each asking PROCKEY (which needs its registry
/// slot); returns how many got a key, all distinct.
fn fill_slots(cfg: &ClientConfig, n: usize) -> (usize, String) {
    let mut open = Vec::new();
    let mut keys = HashSet::new();
    let mut note = String::new();
    for i in 0..n {
        match Client::connect(cfg) {
            Ok(mut c) => match c.call("PROCKEY", b"") {
                Ok(Status::Ok(k)) if k.len() == 33 && keys.insert(k.clone()) => open.push(c),
                other => {
                    note = format!("session {i}: PROCKEY -> {other:?}");
                    break;
                }
            },
            Err(e) => {
                note = format!("session {i} of {n}: {e}");
                break;
            }
        }
    }
    let got = open.len();
    for c in open {
        let _ = c.end();
    }
    (got, note)
}

fn main() -> ExitCode {
    match run() {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(e) => {
            eprintln!("soak: {e}");
            ExitCode::from(2)
        }
    }
}

fn run() -> Result<bool, String> {
    let o = Options::parse()?;
    let bin = tfd_binary()?;
    let slots_wanted = o.clients * 2 + 64;
    let nofile = raise_nofile((slots_wanted as u64) * 2 + 1024);
    if nofile < slots_wanted as u64 + 256 {
        return Err(format!("RLIMIT_NOFILE is {nofile}: too low for {} clients", o.clients));
    }
    let ctl_dir = private_tempdir("soak-ctl")?;
    let sock = ctl_dir.join("ctl.sock");
    let _cleanup = RemoveOnDrop(ctl_dir.clone());
    let extra = format!(
        "control_socket {}\nmax_sessions {slots_wanted}\nmax_sessions_per_ip {slots_wanted}\nshutdown_grace 2\n",
        sock.display()
    );
    let mut server = Server::start_with(&bin, &extra)?;
    let listener = server.pid().ok_or("tfd is not running")?;
    let mut cfg = server.client_config();
    cfg.timeout = Some(IO_TIMEOUT);
    // one session of our own, then wait until the listener is idle: no session
    // process (the readiness probe's may be on its way out) and the same
    // descriptors twice in a row, so the start figures hold no transient socket
    Client::connect(&cfg)
        .and_then(|c| c.end())
        .map_err(|e| format!("first session: {e}"))?;
    {
        let until = Instant::now() + Duration::from_secs(10);
        loop {
            let fds = fd_count(listener);
            thread::sleep(Duration::from_millis(200));
            if (sessions(listener).is_empty() && fds == fd_count(listener)) || Instant::now() >= until {
                break;
            }
        }
    }
    println!(
        "soak: {} clients for {} s, {} SIGKILLs, transfers up to {} B, seed {}, tfd {} (pid {listener}), RLIMIT_NOFILE {nofile}",
        o.clients,
        o.secs,
        o.kills,
        o.max_size,
        o.seed,
        bin.display()
    );
    let start_sample = listener_sample(listener);
    let start_fds = fd_list(listener);

    // the lock files, and the keeper: a session holding KEEP_LOCK until the end
    let lock_files = (o.clients / 8).clamp(2, 16);
    let lock_dir = server.data_dir().join(LOCK_DIR);
    let mut lock_names = vec![KEEP_LOCK.to_string()];
    fs::create_dir_all(&lock_dir).map_err(|e| format!("{}: {e}", lock_dir.display()))?;
    for i in 0..lock_files {
        lock_names.push(format!("{LOCK_DIR}/l{i}"));
        for f in [format!("l{i}"), format!("m{i}")] {
            fs::write(lock_dir.join(&f), b"x").map_err(|e| format!("{f}: {e}"))?;
        }
    }
    fs::write(lock_dir.join("keep"), b"x").map_err(|e| format!("keep: {e}"))?;
    let mut keeper = Client::connect(&cfg).map_err(|e| format!("the keeper's session: {e}"))?;
    let r = keeper
        .raw(format!("NETLOCK_TRY {KEEP_SECS} {KEEP_LOCK}").as_bytes())
        .map_err(|e| format!("the keeper's NETLOCK_TRY: {e}"))?;
    if r != b"OK 0" {
        return Err(format!("the keeper's NETLOCK_TRY -> {:?}", String::from_utf8_lossy(&r)));
    }
    let keeper_port = keeper.chan.stream().local_addr().map(|a| a.port()).unwrap_or(0);
    let keeper_pid = ctl_sessions(&bin, &sock)?
        .iter()
        .find(|r| r.1 == keeper_port)
        .map(|r| r.0 as u32)
        .ok_or("the keeper's session is not in tfd ctl sessions")?;

    let started = Instant::now();
    let shared = Arc::new(Shared {
        killed: Mutex::new(HashMap::new()),
        deadline: started + Duration::from_secs(o.secs),
        ops: AtomicU64::new(0),
        lock_files,
        keeper_port,
        netlock_kills: AtomicU64::new(0),
        started,
        abandons: AtomicU64::new(0),
        abandons_max: o.clients.max(16) as u64,
    });
    // the watchdog: the run stops by itself whatever happens
    {
        let deadline = shared.deadline + WATCHDOG_GRACE;
        thread::spawn(move || {
            while Instant::now() < deadline {
                thread::sleep(Duration::from_secs(1));
            }
            eprintln!("soak: still running {WATCHDOG_GRACE:?} after the deadline; stopping tfd and giving up");
            let _ = kill(Pid::from_raw(listener as i32), Signal::SIGKILL);
            println!("SOAK result=timeout");
            std::process::exit(3);
        });
    }
    let stop_monitor = Arc::new(AtomicBool::new(false));
    let mon = Arc::new(Mutex::new(Monitor::default()));
    let mon_thread = {
        let (stop, m) = (stop_monitor.clone(), mon.clone());
        let secs = o.secs;
        thread::spawn(move || monitor(listener, started, secs, &stop, &m))
    };
    let ctl_thread = {
        let (bin, sock, shared) = (bin.clone(), sock.clone(), shared.clone());
        let (secs, kills, seed) = (o.secs, o.kills, o.seed);
        thread::spawn(move || controller(&bin, &sock, &shared, started, secs, kills, seed))
    };
    let progress = {
        let shared = shared.clone();
        thread::spawn(move || {
            let every = Duration::from_secs(30);
            let mut next = started + every;
            while Instant::now() < shared.deadline {
                if Instant::now() >= next {
                    let ops = shared.ops.load(Ordering::Relaxed);
                    println!(
                        "  [{:>4.0}s] {ops} ops ({:.0}/s)",
                        started.elapsed().as_secs_f64(),
                        ops as f64 / started.elapsed().as_secs_f64()
                    );
                    next += every;
                }
                thread::sleep(Duration::from_millis(200));
            }
        })
    };
    let mut workers = Vec::new();
    for id in 0..o.clients {
        let w = Worker {
            id,
            cfg: cfg.clone(),
            rng: Rng(o.seed ^ ((id as u64 + 1) * 0x1000_0000_01b3)),
            max_size: o.max_size,
            shared: shared.clone(),
            tally: Tally::new(),
            dir: format!("c{id}"),
            seq: 0,
            known: Vec::new(),
            maybe: HashSet::new(),
            owner: (id % 4 == 0).then(|| format!("own{id}")),
            secured: false,
            conn: None,
        };
        let h = thread::Builder::new()
            .name(format!("client{id}"))
            .stack_size(256 << 10)
            .spawn(move || w.run())
            .map_err(|e| format!("cannot start client thread {id}: {e}"))?;
        workers.push(h);
        // spread the first handshakes over about two seconds
        thread::sleep(Duration::from_micros(2_000_000 / o.clients as u64));
    }
    let mut total = Tally::new();
    for h in workers {
        match h.join() {
            Ok(t) => total.merge(t),
            Err(_) => {
                total.unexpected += 1;
                total.problem("a client thread panicked".into());
            }
        }
    }
    let elapsed = started.elapsed().as_secs_f64();
    let kills_done = ctl_thread.join().unwrap_or(0);
    let _ = progress.join();

    // ---- after every client closed -------------------------------------------
    let leftover = drain(listener, Duration::from_secs(20), &[keeper_pid]);
    let ctl_rows: Vec<_> = ctl_sessions(&bin, &sock)?
        .into_iter()
        .filter(|r| r.1 != keeper_port)
        .collect();
    // sessions still waiting in NETLOCK although every client has left
    let netlock_left = ctl_rows.iter().filter(|r| r.2 == "NETLOCK").count();
    let keeper_check = release_keeper(&cfg, keeper);
    let (locks_free, locks_note) = take_every_lock(&cfg, &lock_names, Duration::from_secs(10));
    // (after the probes too: `tfd ctl stats` below must count no session)
    let leftover_after_release = drain(listener, Duration::from_secs(20), &[]);
    let secure_ids: Vec<usize> = (0..o.clients).filter(|id| id % 4 == 0).collect();
    let sec_meta_bad = secure_ids
        .iter()
        .filter(|&&id| !owner_entry_intact(&server.data_dir(), id))
        .count();
    let stats = ctl(&bin, &sock, &["stats"])?;
    let stat = |k: &str| -> u64 {
        stats
            .lines()
            .find_map(|l| l.strip_prefix(k).and_then(|v| v.trim().parse().ok()))
            .unwrap_or(0)
    };
    let (slots, stats_sessions, accepted, refused) = (
        stat("registry_slots"),
        stat("sessions"),
        stat("accepted"),
        stat("refused"),
    );
    // (the per-session figures describe the load, not the slot check below)
    stop_monitor.store(true, Ordering::Relaxed);
    let _ = mon_thread.join();
    let (filled, fill_note) = fill_slots(&cfg, slots as usize);
    let leftover_after_fill = drain(listener, Duration::from_secs(20), &[]);
    let ctl_rows_after_fill = ctl_sessions(&bin, &sock)?.len();
    let netlock_kills = shared.netlock_kills.load(Ordering::Relaxed);
    let end_sample = listener_sample(listener);
    if end_sample.fds != start_sample.fds {
        println!(
            "listener descriptors at the start: {start_fds:?}\n  at the end: {:?}",
            fd_list(listener)
        );
    }
    let m = mon.lock().map_err(|_| "monitor lock poisoned")?;
    let warm = m.warm.unwrap_or(start_sample);
    let middle = m.middle.unwrap_or(warm);
    let log = server.log_text();
    let part_files = count_part_files(&server.data_dir());
    let stop_status = server.stop().unwrap_or_default();
    let problems_in_log = log_problems(&log);
    let life_dir = private_tempdir("soak-life")?;
    let _cleanup_life = RemoveOnDrop(life_dir.clone());
    let life = lifecycle::run(&bin, &life_dir, (o.clients / 4).max(2), o.secs.min(20))?;

    // ---- the figures ------------------------------------------------------------------
    println!("\nsoak: {elapsed:.0} s, {} clients", o.clients);
    println!(
        "  operations: {} ({:.0} ops/s), {:.1} MiB up, {:.1} MiB down ({:.1} MiB/s)",
        total.ops,
        total.ops as f64 / elapsed,
        total.bytes_up as f64 / 1048576.0,
        total.bytes_down as f64 / 1048576.0,
        (total.bytes_up + total.bytes_down) as f64 / 1048576.0 / elapsed
    );
    println!(
        "  {:<12} {:>9} {:>10} {:>10} {:>10}",
        "op", "count", "p50 ms", "p99 ms", "max ms"
    );
    let mut kv = Vec::new();
    let mut all: Vec<u32> = Vec::new();
    let mut every_op_ran = true;
    for op in OPS {
        let mut v = std::mem::take(&mut total.lat_us[op.index()]);
        v.sort_unstable();
        every_op_ran &= !v.is_empty();
        let (p50, p99) = (percentile(&v, 0.50), percentile(&v, 0.99));
        println!(
            "  {:<12} {:>9} {:>10.2} {:>10.2} {:>10.2}",
            op.name(),
            v.len(),
            p50,
            p99,
            v.last().copied().unwrap_or(0) as f64 / 1e3
        );
        kv.push(format!("{}_p50_ms={p50:.2} {}_p99_ms={p99:.2}", op.name(), op.name()));
        // lock waits are waits, not service time
        if ![Op::Connect, Op::LockHold, Op::LockAbandon].contains(&op) {
            all.extend(v);
        }
    }
    all.sort_unstable();
    let (p50_all, p99_all) = (percentile(&all, 0.5), percentile(&all, 0.99));
    println!(
        "  {:<12} {:>9} {:>10.2} {:>10.2}",
        "all (no connect, no lock)",
        all.len(),
        p50_all,
        p99_all
    );
    println!(
        "  disconnects by the clients {}, aborted uploads checked {}, SIGKILLs {kills_done}, operations killed {}",
        total.disconnects, total.aborted_uploads_checked, total.killed_ops
    );
    println!(
        "  NETLOCK: {} holds with the marker checked ({} holders left holding, {} waits timed out), \
         {} waits abandoned by their clients, {netlock_kills} waiting sessions SIGKILLed; {} lock files + the keeper's",
        total.lock_holds, total.lock_holders_left, total.lock_timeouts, total.lock_waits_abandoned, lock_files
    );
    println!(
        "  TFPSFS: {} secure directories, {} refused attempts by other identities checked",
        secure_ids.len(),
        total.sec_refused
    );
    println!(
        "  session processes: at most {} at once; peak RSS {:.1} MiB (VmHWM), peak PSS {:.1} MiB, mean RSS {:.1} MiB",
        m.sessions_max,
        m.session_hwm_max_kib as f64 / 1024.0,
        m.session_pss_max_kib as f64 / 1024.0,
        m.session_rss_sum_kib as f64 / m.session_rss_samples.max(1) as f64 / 1024.0
    );
    println!(
        "  listener RSS KiB start {} / warm {} / middle {} / end {} (max {}); fds start {} / warm {} / middle {} / end {} (max {})",
        start_sample.rss_kib,
        warm.rss_kib,
        middle.rss_kib,
        end_sample.rss_kib,
        m.listener_rss_max,
        start_sample.fds,
        warm.fds,
        middle.fds,
        end_sample.fds,
        m.listener_fds_max
    );
    println!(
        "  tfd ctl stats: accepted {accepted}, refused {refused}, registry_slots {slots}, sessions {stats_sessions}; \
         {part_files} temporary upload file(s) left by killed sessions; {} WARN/ERROR log lines; stop: {stop_status}",
        problems_in_log.len()
    );

    // ---- the invariants ----------------------------------------------------------------
    let tolerance = (warm.rss_kib / 10).max(2048);
    let flat = |s: ListenerSample| s.rss_kib <= warm.rss_kib + tolerance;
    let checks: Vec<(&str, bool, String)> = vec![
        (
            "verification errors",
            total.verify_errors == 0,
            total.verify_errors.to_string(),
        ),
        (
            "unexplained I/O errors",
            total.unexpected == 0,
            total.unexpected.to_string(),
        ),
        (
            "session processes left after all clients closed (the keeper's aside)",
            leftover.is_empty() && leftover_after_release.is_empty() && leftover_after_fill.is_empty(),
            format!(
                "{leftover:?} / after the keeper's release {leftover_after_release:?} / after the slot fill {leftover_after_fill:?}"
            ),
        ),
        (
            "no session still waiting in NETLOCK after its client left",
            netlock_left == 0,
            format!("{netlock_left} in tfd ctl sessions"),
        ),
        (
            "the keeper's lock held by the keeper alone until released",
            keeper_check.is_ok(),
            keeper_check.clone().err().unwrap_or_default(),
        ),
        (
            "every lock free at the end (a fresh session takes each)",
            locks_free == lock_names.len(),
            format!("{locks_free} of {} {locks_note}", lock_names.len()),
        ),
        (
            "TFPSFS owner entries unchanged on disk",
            sec_meta_bad == 0,
            format!("{sec_meta_bad} of {} changed", secure_ids.len()),
        ),
        (
            "sessions in tfd ctl sessions at the end",
            ctl_rows.is_empty() && ctl_rows_after_fill == 0 && stats_sessions == 0,
            format!(
                "{} / after the fill {ctl_rows_after_fill}; tfd ctl stats: {stats_sessions}",
                ctl_rows.len()
            ),
        ),
        (
            "registry slots reusable (concurrent PROCKEY sessions)",
            slots > 0 && filled == slots as usize && !log.contains("registry full"),
            format!("{filled} of {slots} {fill_note}"),
        ),
        (
            "listener fds end = start",
            end_sample.fds == start_sample.fds,
            format!("{} -> {}", start_sample.fds, end_sample.fds),
        ),
        (
            "listener RSS flat (middle, end within max(2 MiB, 10%) of warm)",
            flat(middle) && flat(end_sample),
            format!("{} / {} / {} KiB", warm.rss_kib, middle.rss_kib, end_sample.rss_kib),
        ),
        (
            "temporary upload files only from SIGKILLed sessions",
            part_files <= kills_done,
            format!("{part_files} left, {kills_done} SIGKILLs"),
        ),
        ("no panic in the tfd log", !log.contains("panicked"), String::new()),
        ("every operation type ran", every_op_ran, String::new()),
        (
            "the controller killed sessions",
            o.kills == 0 || kills_done > 0,
            format!("{kills_done} of {}", o.kills),
        ),
    ]
    .into_iter()
    .chain(life.checks)
    .collect();
    let mut pass = true;
    println!();
    for (what, ok, detail) in &checks {
        pass &= ok;
        println!("  {} {what} {detail}", if *ok { "ok  " } else { "FAIL" });
    }
    for p in &total.problems {
        println!("  problem: {p}");
    }
    for l in problems_in_log
        .iter()
        .filter(|l| !l.contains("SIGKILL") && !l.contains("signal 9"))
        .take(10)
    {
        println!("  log: {l}");
    }
    println!(
        "SOAK result={} clients={} secs={elapsed:.0} ops={} ops_per_s={:.0} mib_moved={:.0} p50_ms={p50_all:.2} \
         p99_ms={p99_all:.2} verify_errors={} io_errors={} killed_ops={} sigkills={kills_done} disconnects={} \
         leftover_procs={} ctl_sessions={} slots_reused={filled}/{slots} netlock_holds={} netlock_holders_left={} \
         netlock_timeouts={} netlock_waits_abandoned={} netlock_sigkills={netlock_kills} netlock_waits_left={netlock_left} \
         locks_free={locks_free}/{} tfpsfs_dirs={} tfpsfs_refused={} tfpsfs_changed={sec_meta_bad} listener_fds={}/{}/{}/{} \
         listener_rss_kib={}/{}/{}/{} session_peak_rss_kib={} session_peak_pss_kib={} {}",
        if pass { "pass" } else { "FAIL" },
        o.clients,
        total.ops,
        total.ops as f64 / elapsed,
        (total.bytes_up + total.bytes_down) as f64 / 1048576.0,
        total.verify_errors,
        total.unexpected,
        total.killed_ops,
        total.disconnects,
        leftover.len() + leftover_after_release.len() + leftover_after_fill.len(),
        ctl_rows.len() + ctl_rows_after_fill,
        total.lock_holds,
        total.lock_holders_left,
        total.lock_timeouts,
        total.lock_waits_abandoned,
        lock_names.len(),
        secure_ids.len(),
        total.sec_refused,
        start_sample.fds,
        warm.fds,
        middle.fds,
        end_sample.fds,
        start_sample.rss_kib,
        warm.rss_kib,
        middle.rss_kib,
        end_sample.rss_kib,
        m.session_hwm_max_kib,
        m.session_pss_max_kib,
        kv.iter().chain(&life.kv).cloned().collect::<Vec<_>>().join(" ")
    );
    Ok(pass)
}

/// Temporary upload files (`.tfd-part-*`) anywhere in the served tree.
fn count_part_files(root: &Path) -> usize {
    let mut n = 0;
    let mut stack: Vec<PathBuf> = vec![root.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in fs::read_dir(&d).into_iter().flatten().flatten() {
            if e.file_name().as_encoded_bytes().starts_with(b".tfd-part-") {
                n += 1;
            }
            if e.file_type().is_ok_and(|t| t.is_dir()) {
                stack.push(e.path());
            }
        }
    }
    n
}

struct RemoveOnDrop(PathBuf);

impl Drop for RemoveOnDrop {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}
