//! Sessions opened at a command's start for the streams it will run.
//!
//! A session costs five round trips (TCP, version, key, cipher, login). The
//! streams of `put --streams N` and `get --streams N` opened theirs only
//! once the command's own session had finished its handshake and opened the
//! stage (or stated the file): at 200 Mbit/s and 20 ms their data began
//! 0.26–0.30 s into a run whose link time is 2.8 s. Opened here, beside the
//! command's session, they are ready when it is. Whoever wants a session for
//! a stream takes a spare ([`take`]), or connects as before when there is
//! none (nothing was started, all are taken, or the spares were opened for
//! another server); the spares nobody took are ended cleanly ([`end`]).

use crate::{Client, ClientConfig, Error};
use std::sync::mpsc::{channel, Receiver, RecvTimeoutError, SendError};
use std::sync::{Condvar, Mutex};

struct Spares {
    /// The server they were opened for.
    server: String,
    /// Open and not taken.
    ready: Vec<Client>,
    /// Still connecting.
    pending: usize,
}

static SPARES: Mutex<Option<Spares>> = Mutex::new(None);
static CHANGED: Condvar = Condvar::new();

fn lock() -> std::sync::MutexGuard<'static, Option<Spares>> {
    SPARES.lock().unwrap_or_else(|p| p.into_inner())
}

/// Starts opening `n` sessions with `cfg`, each on a thread of its own. A
/// session that fails to open is simply not there: its taker connects
/// itself and meets the failure then.
pub fn start(cfg: &ClientConfig, n: usize) {
    {
        let mut s = lock();
        if s.is_some() || n == 0 {
            return;
        }
        *s = Some(Spares {
            server: cfg.server.clone(),
            ready: Vec::new(),
            pending: n,
        });
    }
    for _ in 0..n {
        let cfg = cfg.clone();
        let spawned = std::thread::Builder::new()
            .name("tf-spare".into())
            .spawn(move || arrived(Client::connect(&cfg).ok()));
        if spawned.is_err() {
            arrived(None);
        }
    }
}

/// One opening ended, with a session or without.
fn arrived(c: Option<Client>) {
    let mut s = lock();
    match s.as_mut() {
        Some(sp) => {
            sp.pending = sp.pending.saturating_sub(1);
            sp.ready.extend(c);
        }
        // ended meanwhile: not wanted any more
        None => {
            if let Some(c) = c {
                let _ = c.end();
            }
        }
    }
    CHANGED.notify_all();
}

/// A session for `cfg`: a spare (waiting for one still opening, which is
/// never slower than opening another), else a new one.
pub fn take(cfg: &ClientConfig) -> Result<Client, Error> {
    match take_while(cfg, || true)? {
        Some(c) => Ok(c),
        None => Client::connect(cfg),
    }
}

/// [`take`] for a stream whose work others may finish before a session
/// comes for it: waits only while `wanted` says so (asked every 20 ms);
/// None once it does not. A stream that waited for a spare whose SYN was
/// lost (sent again after 1 s) held its whole command that long, though
/// the other streams had taken its share meanwhile.
pub fn take_while(cfg: &ClientConfig, wanted: impl Fn() -> bool) -> Result<Option<Client>, Error> {
    loop {
        // asked without the lock: `wanted` may take locks of its own
        if !wanted() {
            return Ok(None);
        }
        let mut s = lock();
        match s.as_mut() {
            Some(sp) if sp.server == cfg.server => {
                if let Some(c) = sp.ready.pop() {
                    return Ok(Some(c));
                }
                if sp.pending == 0 {
                    break;
                }
            }
            _ => break,
        }
        // an opening is bounded by the configuration's timeouts
        let _ = CHANGED.wait_timeout(s, std::time::Duration::from_millis(20));
    }
    Client::connect(cfg).map(Some)
}

/// Ends the spares nobody took (those still opening end as they arrive).
pub fn end() {
    let left = lock().take();
    for c in left.map(|s| s.ready).unwrap_or_default() {
        let _ = c.end();
    }
}

/// Sessions for a command's other streams, each taken ([`take`]) on a
/// thread of its own from the start and handed to its stream as it opens.
/// A stream waits for its own session only: an upload that waited for all
/// of them before any stream sent stood still for a second whenever one
/// connection's SYN was lost (the kernel sends it again after 1 s; at 0.5%
/// loss each way, about one `put --streams 4` in thirty), where the other
/// streams take the late one's share meanwhile ([`crate::shares`]).
#[derive(Default)]
pub struct Opening(Vec<Receiver<Result<Client, Error>>>);

impl Opening {
    /// Starts taking `n` sessions for `cfg`.
    pub fn start(cfg: &ClientConfig, n: usize) -> Opening {
        let opening = (0..n).map(|_| {
            let (tx, rx) = channel();
            let cfg = cfg.clone();
            // a thread that cannot start drops `tx`: its stream takes one itself
            let _ = std::thread::Builder::new().name("tf-stream".into()).spawn(move || {
                // nobody waits for it any more: ended cleanly
                if let Err(SendError(Ok(c))) = tx.send(take(&cfg)) {
                    let _ = c.end();
                }
            });
            rx
        });
        Opening(opening.collect())
    }

    /// The next stream's session as it opens, or None when none was
    /// started for it (the stream then takes one itself).
    pub fn pop(&mut self) -> Option<Pending> {
        self.0.pop().map(Pending)
    }
}

/// One stream's session still opening (see [`Opening`]).
pub struct Pending(Receiver<Result<Client, Error>>);

impl Pending {
    /// Waits for the session while `wanted` says the stream still has work
    /// to join (opening is bounded by the configuration's timeouts): None
    /// once it has not (a session arriving then is ended cleanly). One
    /// whose thread never started is taken here.
    pub fn wait_while(self, cfg: &ClientConfig, wanted: impl Fn() -> bool) -> Result<Option<Client>, Error> {
        loop {
            match self.0.recv_timeout(std::time::Duration::from_millis(20)) {
                Ok(r) => return r.map(Some),
                Err(RecvTimeoutError::Disconnected) => return take(cfg).map(Some),
                Err(RecvTimeoutError::Timeout) if !wanted() => return Ok(None),
                Err(RecvTimeoutError::Timeout) => {}
            }
        }
    }
}
