//! The listener's four helper processes as one kind: each has a pid while it
//! runs and, once it died on its own, the time it is due to be started again.
//! The listener asks this table which helper a reaped pid was, when the next
//! restart is due and which are due now; how each one starts is in helpers.rs.

use std::time::{Duration, Instant};

/// How long after a helper's death the listener waits before starting another:
/// when a signal to the whole process group (Ctrl-C) killed it, the listener's own
/// SIGINT/SIGTERM arrives within that time and nothing is restarted.
const RESPAWN_DELAY: Duration = Duration::from_millis(100);

/// A sweeper that cannot run must not spin: it is restarted after this.
const SWEEPER_RESPAWN_DELAY: Duration = Duration::from_secs(10);

/// The helpers, in the order they are stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Helper {
    /// The UDP responder.
    Udp,
    /// The key process. Replaced ones, still answering sessions that were
    /// forked before a reload, end on their own.
    Keys,
    /// The FAI issuer.
    Fai,
    /// The sweeper of upload temporaries (not running when `sweep_interval` is 0).
    Sweeper,
}

impl Helper {
    const ALL: [Helper; 4] = [Helper::Udp, Helper::Keys, Helper::Fai, Helper::Sweeper];
    /// The order restarts due at once are made in: the key process first, the
    /// UDP responder last.
    const RESTART_ORDER: [Helper; 4] = [Helper::Keys, Helper::Fai, Helper::Sweeper, Helper::Udp];

    /// Its name in the log.
    pub(super) fn name(self) -> &'static str {
        match self {
            Helper::Udp => "UDP responder",
            Helper::Keys => "key process",
            Helper::Fai => "FAI issuer",
            Helper::Sweeper => "sweeper",
        }
    }

    fn respawn_delay(self) -> Duration {
        match self {
            Helper::Sweeper => SWEEPER_RESPAWN_DELAY,
            _ => RESPAWN_DELAY,
        }
    }

    fn index(self) -> usize {
        self as usize
    }
}

#[derive(Debug, Default, Clone, Copy)]
struct Slot {
    /// 0 when not running.
    pid: i32,
    /// When a helper that died is due to be started again.
    respawn_at: Option<Instant>,
}

/// The helpers' pids and restarts.
#[derive(Debug, Default)]
pub(super) struct Helpers {
    slots: [Slot; 4],
}

impl Helpers {
    /// The helper's pid, 0 when it is not running.
    pub(super) fn pid(&self, h: Helper) -> i32 {
        self.slots[h.index()].pid
    }

    /// `h` runs as `pid` now.
    pub(super) fn started(&mut self, h: Helper, pid: i32) {
        self.slots[h.index()].pid = pid;
    }

    /// Forgets the running `h` (a reload replaces it); its pid if it ran.
    pub(super) fn forget(&mut self, h: Helper) -> Option<i32> {
        let pid = std::mem::take(&mut self.slots[h.index()].pid);
        (pid > 0).then_some(pid)
    }

    /// The pids of the helpers running, in the order they are stopped.
    pub(super) fn running(&self) -> Vec<i32> {
        Helper::ALL.iter().map(|&h| self.pid(h)).filter(|&p| p > 0).collect()
    }

    /// Which helper `pid` was, if any; it is no longer running.
    pub(super) fn ended(&mut self, pid: i32) -> Option<Helper> {
        let h = Helper::ALL.into_iter().find(|&h| pid > 0 && self.pid(h) == pid)?;
        self.slots[h.index()].pid = 0;
        Some(h)
    }

    /// `h` died on its own: it is due to start again after its delay.
    pub(super) fn schedule(&mut self, h: Helper) {
        self.slots[h.index()].respawn_at = Some(Instant::now() + h.respawn_delay());
    }

    /// No restart of `h` is due any more (it is being started now).
    pub(super) fn cancel(&mut self, h: Helper) {
        self.slots[h.index()].respawn_at = None;
    }

    /// No restart is due any more (tfd is stopping).
    pub(super) fn cancel_all(&mut self) {
        Helper::ALL.into_iter().for_each(|h| self.cancel(h));
    }

    /// When the next restart is due.
    pub(super) fn next_due(&self) -> Option<Instant> {
        self.slots.iter().filter_map(|s| s.respawn_at).min()
    }

    /// The helpers whose restart is due at `now`, no longer due, in the order
    /// to start them.
    pub(super) fn take_due(&mut self, now: Instant) -> Vec<Helper> {
        let due: Vec<Helper> = Helper::RESTART_ORDER
            .into_iter()
            .filter(|&h| self.slots[h.index()].respawn_at.is_some_and(|at| at <= now))
            .collect();
        due.iter().for_each(|&h| self.cancel(h));
        due
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reaped_helper_is_known_once_and_restarts_when_due() {
        let mut h = Helpers::default();
        h.started(Helper::Keys, 10);
        h.started(Helper::Sweeper, 11);
        assert_eq!(h.running(), [10, 11]);
        assert_eq!(h.ended(10), Some(Helper::Keys));
        assert_eq!(h.ended(10), None);
        assert_eq!(h.ended(0), None);
        h.schedule(Helper::Keys);
        h.schedule(Helper::Sweeper);
        let now = Instant::now();
        assert!(h.next_due().is_some_and(|at| at <= now + RESPAWN_DELAY));
        assert_eq!(h.take_due(now + RESPAWN_DELAY), [Helper::Keys]);
        assert_eq!(h.take_due(now + SWEEPER_RESPAWN_DELAY), [Helper::Sweeper]);
        assert_eq!(h.next_due(), None);
        assert_eq!(h.forget(Helper::Sweeper), Some(11));
        assert_eq!(h.forget(Helper::Sweeper), None);
    }
}
