//! The server-wide memory budget (`memory_budget` in tfd.conf): memory a
//! session holds for what its client sends (a delta download's signatures
//! and their index, a batch's paths and outcomes, a delta upload's buffers)
//! is claimed here before it is held, so that all sessions together never
//! hold more than the budget, however many there are.
//!
//! Sessions are processes of their own, so the count lives in the session
//! registry's shared table, one word per session slot ([`Registry::held`]).
//! A claim adds its bytes to its own word and then sums every slot's; over
//! the budget, it takes its bytes back and tries again until its wait runs
//! out. Of the claims granted, the one whose sum came last saw every other
//! granted one (each added before it summed), so together they never pass
//! the budget. The listener zeroes a slot's word when it reaps the session,
//! so a session that dies, SIGKILL included, gives its share back at once;
//! one that lives gives it back when its [`Claim`] is dropped.

use super::registry::Registry;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The least budget `memory_budget 0` (the default) comes to, on a machine
/// of less than four times this memory.
pub(crate) const FLOOR: u64 = 256 << 20;
/// The pause between two tries of a claim that did not fit.
const RETRY: Duration = Duration::from_millis(20);

/// The budget `configured` bytes come to: itself, or for `0` a quarter of
/// the machine's physical memory (at least [`FLOOR`]).
pub(crate) fn effective(configured: u64) -> u64 {
    if configured > 0 {
        return configured;
    }
    tfd_sys::physical_memory().map_or(FLOOR, |m| (m / 4).max(FLOOR))
}

/// Why a claim was refused.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Refused {
    /// More than the whole budget: it would never fit.
    TooBig,
    /// The other sessions held too much of it until the wait ran out: this
    /// many bytes at the last try.
    Spent(u64),
}

/// Bytes claimed of the budget by one session; given back when dropped.
pub(crate) struct Claim {
    registry: Arc<Registry>,
    slot: usize,
    bytes: u64,
}

impl Claim {
    /// Claims `bytes` of `budget` for the session in `slot`, trying again
    /// for at most `wait` while the other sessions hold too much of it.
    pub(crate) fn take(
        registry: &Arc<Registry>,
        slot: usize,
        bytes: u64,
        budget: u64,
        wait: Duration,
    ) -> Result<Claim, Refused> {
        let Some(mine) = registry.held(slot) else {
            return Err(Refused::TooBig);
        };
        if bytes > budget {
            return Err(Refused::TooBig);
        }
        let until = Instant::now() + wait;
        // sessions that try in step would keep refusing each other: each
        // pauses a little longer than the one in the slot before
        let pause = RETRY + Duration::from_millis(slot as u64 % 16);
        loop {
            mine.fetch_add(bytes, Ordering::SeqCst);
            let total = registry.held_total();
            if total <= budget {
                return Ok(Claim {
                    registry: registry.clone(),
                    slot,
                    bytes,
                });
            }
            mine.fetch_sub(bytes, Ordering::SeqCst);
            let now = Instant::now();
            if now >= until {
                return Err(Refused::Spent(total.saturating_sub(bytes)));
            }
            std::thread::sleep(pause.min(until - now));
        }
    }
}

impl Drop for Claim {
    fn drop(&mut self) {
        if let Some(mine) = self.registry.held(self.slot) {
            let n = self.bytes;
            // the listener may have zeroed it (it never does for a live
            // session): never below zero
            let _ = mine.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |v| Some(v.saturating_sub(n)));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(slots: usize) -> (Arc<Registry>, Vec<usize>) {
        let r = Arc::new(Registry::new(slots).unwrap());
        let peer = "127.0.0.1:1".parse().unwrap();
        let taken = (0..slots).map(|_| r.reserve(peer).unwrap()).collect();
        (r, taken)
    }

    #[test]
    fn claims_never_pass_the_budget_and_come_back_when_dropped() {
        let (r, s) = table(3);
        let a = Claim::take(&r, s[0], 60, 100, Duration::ZERO).unwrap();
        assert_eq!(r.held_total(), 60);
        let t = Instant::now();
        let refused = Claim::take(&r, s[1], 50, 100, Duration::from_millis(100)).err();
        assert_eq!(refused, Some(Refused::Spent(60)));
        assert!(t.elapsed() >= Duration::from_millis(100), "it waited its time");
        assert_eq!(r.held_total(), 60, "a refused claim holds nothing");
        assert_eq!(
            Claim::take(&r, s[1], 101, 100, Duration::from_secs(60)).err(),
            Some(Refused::TooBig),
            "more than the budget is refused at once"
        );
        let b = Claim::take(&r, s[1], 40, 100, Duration::ZERO).unwrap();
        assert_eq!(r.held_total(), 100);
        drop(a);
        assert_eq!(r.held_total(), 40);
        drop(b);
        assert_eq!(r.held_total(), 0);
    }

    #[test]
    fn a_claim_waits_for_another_to_be_given_back() {
        let (r, s) = table(2);
        let a = Claim::take(&r, s[0], 80, 100, Duration::ZERO).unwrap();
        let giver = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(100));
            drop(a);
        });
        let b = Claim::take(&r, s[1], 80, 100, Duration::from_secs(10)).unwrap();
        giver.join().unwrap();
        assert_eq!(r.held_total(), 80);
        drop(b);
    }

    #[test]
    fn threads_racing_for_the_budget_never_hold_more_than_it() {
        let (r, s) = table(8);
        let peak = Arc::new(std::sync::atomic::AtomicU64::new(0));
        let threads: Vec<_> = s
            .into_iter()
            .map(|slot| {
                let (r, peak) = (r.clone(), peak.clone());
                std::thread::spawn(move || {
                    for _ in 0..200 {
                        if let Ok(c) = Claim::take(&r, slot, 30, 100, Duration::from_millis(50)) {
                            peak.fetch_max(r.held_total(), Ordering::SeqCst);
                            drop(c);
                        }
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        assert!(peak.load(Ordering::SeqCst) <= 100);
        assert_eq!(r.held_total(), 0);
    }

    /// A session killed holding its claim: the listener's reaping (the
    /// slot freed) gives its share back.
    #[test]
    fn a_killed_session_s_share_comes_back_when_its_slot_is_freed() {
        let (r, s) = table(2);
        match tfd_sys::fork().unwrap() {
            tfd_sys::Fork::Child => {
                let c = Claim::take(&r, s[0], 90, 100, Duration::ZERO);
                std::mem::forget(c);
                tfd_sys::exit_now(0);
            }
            tfd_sys::Fork::Parent(pid) => {
                nix::sys::wait::waitpid(nix::unistd::Pid::from_raw(pid), None).unwrap();
                assert_eq!(r.held_total(), 90, "held across the fork, never given back");
                assert!(Claim::take(&r, s[1], 20, 100, Duration::ZERO).is_err());
                r.free(s[0]);
                assert_eq!(r.held_total(), 0);
                let _c = Claim::take(&r, s[1], 20, 100, Duration::ZERO).unwrap();
                assert_eq!(r.held_total(), 20);
            }
        }
    }

    #[test]
    fn zero_is_a_quarter_of_the_machine_at_least_the_floor() {
        assert_eq!(effective(5 << 20), 5 << 20);
        let auto = effective(0);
        assert!(auto >= FLOOR);
        if let Some(m) = tfd_sys::physical_memory() {
            assert!(auto == FLOOR || auto == m / 4);
        }
    }
}
