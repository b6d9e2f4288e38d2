//! One client: its connection, its directory, what it knows is there, and its
//! loop over the mix.

use super::content::Rng;
use super::op::{is_ok, verify, Fail, Op, OpResult};
use super::tally::{Known, Shared, Tally};
use std::collections::HashSet;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};
use tfd_testkit::reply::SizeOrCode as _;
use tfp_client::{Client, ClientConfig};
use tfp_wire::Status;

/// Files a client keeps verified on the server at most (older ones are deleted).
pub(crate) const KEEP_FILES: usize = 6;
/// One operation in this many ends the connection (in one of several ways).
pub(crate) const DISCONNECT_ONE_IN: u64 = 40;

/// One client: its connection, its directory, what it knows is there.
pub(crate) struct Worker {
    pub(crate) id: usize,
    pub(crate) cfg: ClientConfig,
    pub(crate) rng: Rng,
    pub(crate) max_size: u64,
    pub(crate) shared: Arc<Shared>,
    pub(crate) tally: Tally,
    pub(crate) dir: String,
    pub(crate) seq: u64,
    pub(crate) known: Vec<Known>,
    /// Names whose state an interrupted operation left uncertain.
    pub(crate) maybe: HashSet<String>,
    /// The TFPSFS identity owning the client's directory, for a client that works
    /// in a secure directory (every session of it does SETFSID first).
    pub(crate) owner: Option<String>,
    /// Whether the directory's owner entry was set (by the first connection).
    pub(crate) secured: bool,
    pub(crate) conn: Option<(Client, u16, Instant)>,
}

impl Worker {
    pub(crate) fn path(&self, name: &str) -> Vec<u8> {
        format!("{}/{name}", self.dir).into_bytes()
    }

    pub(crate) fn fresh(&mut self, prefix: &str) -> String {
        self.seq += 1;
        format!("{prefix}{}", self.seq)
    }

    pub(crate) fn record(&mut self, op: Op, started: Instant) {
        let us = started.elapsed().as_micros().min(u32::MAX as u128) as u32;
        self.tally.lat_us[op.index()].push(us);
        self.tally.ops += 1;
        self.shared.ops.fetch_add(1, Ordering::Relaxed);
    }

    /// Connects (retrying a few times) and makes sure the client's directory exists.
    pub(crate) fn connect(&mut self) -> Result<(), Fail> {
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

    pub(crate) fn client(&mut self) -> &mut Client {
        &mut self.conn.as_mut().expect("connected").0
    }

    /// True when the current connection's session was SIGKILLed by the controller.
    pub(crate) fn was_killed(&self) -> bool {
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
    pub(crate) fn drop_connection(&mut self, reset: bool) {
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

    pub(crate) fn run(mut self) -> Tally {
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
    pub(crate) fn failed(&mut self, f: Fail, during: &str) {
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
    pub(crate) fn pick_known(&mut self) -> Option<Known> {
        if self.known.is_empty() {
            return None;
        }
        let i = self.rng.below(self.known.len() as u64) as usize;
        Some(self.known[i].clone())
    }

    pub(crate) fn op(&mut self, op: Op) -> OpResult {
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
}
