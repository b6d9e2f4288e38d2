//! A command's hold on memory for what its client sends ([`Session::hold`]):
//! its bytes claimed of the server-wide budget
//! ([`crate::services::memory_budget`]), and the session's reads and sends
//! bounded by `hold_timeout` while it holds them, so that a client that
//! stops in the middle ends the session instead of keeping that memory for
//! as long as it likes. Both end when the [`Hold`] is dropped.

use super::Session;
use crate::dispatch::CmdError;
use crate::services::memory_budget::{self, Claim, Refused};
use log::{info, warn};
use std::net::TcpStream;
use std::time::Duration;
use tfp_wire::Failed;

/// The longest a claim waits for other sessions to give memory back (a
/// shorter `hold_timeout` wins): a client waits that long for its refusal.
const MOST_WAIT: Duration = Duration::from_secs(10);

/// Memory a command holds for what its client sends: given back, and the
/// idle timeout put back, when dropped.
pub(crate) struct Hold {
    _claim: Claim,
    /// The client's socket (a duplicate: the timeouts are the socket's).
    sock: Option<TcpStream>,
    idle: Option<Duration>,
}

fn mib(bytes: u64) -> String {
    format!("{:.1} MiB", bytes as f64 / f64::from(1u32 << 20))
}

impl Session {
    /// Claims `bytes` of the memory budget for `what` (a command's name,
    /// for the log), waiting a little while other sessions hold too much of
    /// it; refused with `FAILED 7` and the reason, logged, when it does not
    /// fit. Until the [`Hold`] is dropped, each read and send of the
    /// session waits at most `hold_timeout` (or a shorter `idle_timeout`):
    /// one that times out ends the session.
    pub(crate) fn hold(&self, bytes: u64, what: &str) -> Result<Hold, CmdError> {
        let wait = self.ctx.cfg.hold_timeout.min(MOST_WAIT);
        let (refused, budget) = match self.claim(bytes, wait) {
            Ok(hold) => return Ok(hold),
            Err(r) => r,
        };
        let why = match refused {
            Refused::TooBig => format!(
                "the server's memory budget ({}) is smaller than the {} this needs",
                mib(budget),
                mib(bytes)
            ),
            Refused::Spent(held) => format!(
                "the server's memory budget is spent ({} of {} held by other sessions, {} needed)",
                mib(held),
                mib(budget),
                mib(bytes)
            ),
        };
        warn!("{} {what} refused: {why}", self.peer());
        Err(CmdError::Told(Failed::TransferApi, why))
    }

    /// Claims `bytes` for `what` if the budget has room now, without
    /// waiting: for memory the session can do without (a compressor, whose
    /// data can go as they are). None, logged, when it has not.
    pub(crate) fn try_hold(&self, bytes: u64, what: &str) -> Option<Hold> {
        match self.claim(bytes, Duration::ZERO) {
            Ok(hold) => Some(hold),
            Err((_, budget)) => {
                info!(
                    "{} {what}: the memory budget ({}) has no room for its {}; the data go as they are",
                    self.peer(),
                    mib(budget),
                    mib(bytes)
                );
                None
            }
        }
    }

    /// `bytes` of the memory budget, waiting at most `wait` for room; the
    /// refusal with the budget it was measured against.
    fn claim(&self, bytes: u64, wait: Duration) -> Result<Hold, (Refused, u64)> {
        let budget = memory_budget::effective(self.ctx.cfg.memory_budget);
        match Claim::take(&self.ctx.services.registry, self.live.slot, bytes, budget, wait) {
            Ok(claim) => Ok(self.holding(claim)),
            Err(r) => Err((r, budget)),
        }
    }

    /// The session's reads and sends bounded by hold_timeout while `claim`
    /// is held.
    fn holding(&self, claim: Claim) -> Hold {
        let cfg = &self.ctx.cfg;
        let idle = (!cfg.idle_timeout.is_zero()).then_some(cfg.idle_timeout);
        let t = Some(idle.map_or(cfg.hold_timeout, |i| i.min(cfg.hold_timeout)));
        let stream = self.chan.stream();
        let _ = stream.set_read_timeout(t);
        let _ = stream.set_write_timeout(t);
        Hold {
            _claim: claim,
            sock: stream.try_clone().ok(),
            idle,
        }
    }
}

impl Drop for Hold {
    fn drop(&mut self) {
        if let Some(sock) = &self.sock {
            let _ = sock.set_read_timeout(self.idle);
            let _ = sock.set_write_timeout(self.idle);
        }
    }
}
