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
    {
        let mut s = lock();
        loop {
            match s.as_mut() {
                Some(sp) if sp.server == cfg.server => {
                    if let Some(c) = sp.ready.pop() {
                        return Ok(c);
                    }
                    if sp.pending == 0 {
                        break;
                    }
                }
                _ => break,
            }
            // an opening is bounded by the configuration's timeouts
            s = CHANGED.wait(s).unwrap_or_else(|p| p.into_inner());
        }
    }
    Client::connect(cfg)
}

/// Ends the spares nobody took (those still opening end as they arrive).
pub fn end() {
    let left = lock().take();
    for c in left.map(|s| s.ready).unwrap_or_default() {
        let _ = c.end();
    }
}
