//! What the clients count, and what they share with the controller.

use super::op::OPS;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Instant;

/// Per-client counters, merged at the end.
#[derive(Default)]
pub(crate) struct Tally {
    pub(crate) lat_us: Vec<Vec<u32>>,
    pub(crate) ops: u64,
    pub(crate) bytes_up: u64,
    pub(crate) bytes_down: u64,
    pub(crate) verify_errors: u64,
    pub(crate) unexpected: u64,
    pub(crate) killed_ops: u64,
    pub(crate) disconnects: u64,
    pub(crate) aborted_uploads_checked: u64,
    /// NETLOCKs taken, with the marker written and read back under them.
    pub(crate) lock_holds: u64,
    /// Holders that left without NETUNLOCK (END or a broken connection).
    pub(crate) lock_holders_left: u64,
    /// NETLOCK waits for a lock held by others that ran out (contention, not an error).
    pub(crate) lock_timeouts: u64,
    /// Waits on the keeper's lock whose client left mid-wait (FIN or RST).
    pub(crate) lock_waits_abandoned: u64,
    /// Attempts by another identity in a TFPSFS directory, refused and checked.
    pub(crate) sec_refused: u64,
    pub(crate) problems: Vec<String>,
}

impl Tally {
    pub(crate) fn new() -> Tally {
        Tally {
            lat_us: vec![Vec::new(); OPS.len()],
            ..Tally::default()
        }
    }

    pub(crate) fn problem(&mut self, p: String) {
        if self.problems.len() < 5 {
            self.problems.push(p);
        }
    }

    pub(crate) fn merge(&mut self, o: Tally) {
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
pub(crate) struct Shared {
    /// Local ports of the connections whose session was SIGKILLed, with the time.
    pub(crate) killed: Mutex<HashMap<u16, Instant>>,
    /// The run's end (no operation starts after it).
    pub(crate) deadline: Instant,
    /// Completed operations so far (for the progress line).
    pub(crate) ops: AtomicU64,
    /// How many lock files (`locks/l<i>`, each with its marker `locks/m<i>`) the
    /// holders share.
    pub(crate) lock_files: usize,
    /// The keeper's peer port: its session holds [`KEEP_LOCK`] for the whole run
    /// and is never a SIGKILL victim.
    pub(crate) keeper_port: u16,
    /// SIGKILLs that hit a session in NETLOCK.
    pub(crate) netlock_kills: AtomicU64,
    /// The run's start.
    pub(crate) started: Instant,
    /// Abandoned waits done so far, and the most there may be: bounded, so that a
    /// server whose waits outlive their clients shows as that many leftovers, not
    /// as sessions refused; spread over the run (see [`Shared::may_abandon`]).
    pub(crate) abandons: AtomicU64,
    pub(crate) abandons_max: u64,
}

impl Shared {
    /// Claims one abandoned wait if the share of the run so far allows it (the
    /// controller finds waiting sessions to SIGKILL all through the run).
    pub(crate) fn may_abandon(&self) -> bool {
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
pub(crate) struct Known {
    pub(crate) name: String,
    pub(crate) size: u64,
    pub(crate) sha: [u8; 32],
}
