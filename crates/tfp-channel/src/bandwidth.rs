//! Bandwidth limits (`rate_limit_session`, `rate_limit_user`, `rate_limit_total`),
//! applied where bytes meet the socket (the channel's `NetStream`), so every
//! command that moves data (SNDFILE, RCVFILE, PUT, GET, SUP, SDOWN, LS, ...) is
//! paced without each transfer loop knowing about it.
//!
//! Each limit is a token bucket kept as one word, its "theoretical arrival time"
//! (GCRA): the instant at which everything charged so far would have been sent
//! at the rate. Charging `n` bytes moves that instant on by `n / rate`; when it
//! runs more than [`BURST`] ahead of now, the caller sleeps the difference. One
//! compare-and-swap per charge and no locks, so the per-user and node-wide
//! buckets live in shared memory (mapped by the listener before the first fork)
//! and every session process draws from the same ones. Time is nanoseconds since
//! the listener's [`Instant`] (CLOCK_MONOTONIC, the same clock in every process).
//!
//! With no limit configured a session gets no [`Pace`] at all: its socket reads
//! and writes take the plain path (no clock read, no atomics).

use std::io;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tfd_sys::SharedWords;

/// How far a bucket may run ahead of the clock before the caller waits: the
/// burst a session gets after being idle, and the slack that lets sleeps of a
/// few milliseconds keep the average exact.
pub const BURST: Duration = Duration::from_millis(50);

/// A user's bucket unused for this long may be handed to another user: by then
/// it has refilled completely, so nothing is lost.
const USER_IDLE: Duration = Duration::from_secs(10);

/// Words per user entry: name key, last use, one bucket per direction.
const USER_WORDS: usize = 4;
/// Header words: the node-wide bucket per direction.
const HEADER_WORDS: usize = 2;

/// The configured limits in bytes per second, each applying to each direction
/// on its own (0: no limit).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Rates {
    /// One session.
    pub session: u64,
    /// All sessions of one LOGIN user together.
    pub user: u64,
    /// Every session of the node together.
    pub total: u64,
}

impl Rates {
    /// Whether any limit is set.
    pub fn any(&self) -> bool {
        self.session > 0 || self.user > 0 || self.total > 0
    }
}

/// Which way the bytes go, seen from the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dir {
    /// Received from the client (uploads).
    In = 0,
    /// Sent to the client (downloads, listings).
    Out = 1,
}

/// The shared buckets: the node's, and a table of per-user ones.
pub struct Buckets {
    mem: SharedWords,
    users: usize,
    epoch: Instant,
}

impl Buckets {
    /// Maps the buckets for up to `users` concurrently active users (the
    /// session table's size: there can be no more).
    pub fn new(users: usize) -> io::Result<Buckets> {
        let users = users.max(1);
        Ok(Buckets {
            mem: SharedWords::new(HEADER_WORDS + users * USER_WORDS)?,
            users,
            epoch: Instant::now(),
        })
    }

    fn now(&self) -> u64 {
        self.epoch.elapsed().as_nanos() as u64
    }

    fn total(&self, dir: Dir) -> &AtomicU64 {
        &self.mem.words()[dir as usize]
    }

    fn user_word(&self, entry: usize, word: usize) -> &AtomicU64 {
        &self.mem.words()[HEADER_WORDS + entry * USER_WORDS + word]
    }

    /// The entry holding `key`'s bucket, claiming a free or long-idle one if
    /// needed. None when every entry is busy (the user limit then fails open).
    fn user_entry(&self, key: u64, now: u64) -> Option<usize> {
        let mut spare = None;
        for i in 0..self.users {
            let k = self.user_word(i, 0).load(Ordering::Acquire);
            if k == key {
                return Some(i);
            }
            let idle = now.saturating_sub(self.user_word(i, 1).load(Ordering::Relaxed));
            if spare.is_none() && (k == 0 || idle > USER_IDLE.as_nanos() as u64) {
                spare = Some((i, k));
            }
        }
        let (i, old) = spare?;
        self.user_word(i, 1).store(now, Ordering::Relaxed);
        match self
            .user_word(i, 0)
            .compare_exchange(old, key, Ordering::AcqRel, Ordering::Acquire)
        {
            Ok(_) => {
                // an idle bucket is a full one: start it afresh
                self.user_word(i, 2).store(0, Ordering::Relaxed);
                self.user_word(i, 3).store(0, Ordering::Relaxed);
                Some(i)
            }
            // another session claimed it meanwhile: look again (it may be ours)
            Err(_) => self.user_entry_retry(key, now),
        }
    }

    fn user_entry_retry(&self, key: u64, now: u64) -> Option<usize> {
        (0..self.users)
            .find(|&i| self.user_word(i, 0).load(Ordering::Acquire) == key)
            .or_else(|| {
                let i = (0..self.users).find(|&i| self.user_word(i, 0).load(Ordering::Acquire) == 0)?;
                self.user_word(i, 1).store(now, Ordering::Relaxed);
                self.user_word(i, 0)
                    .compare_exchange(0, key, Ordering::AcqRel, Ordering::Acquire)
                    .ok()
                    .map(|_| i)
            })
    }
}

/// Charges `n` bytes to one bucket at `rate` bytes/s; returns how many
/// nanoseconds the caller must wait so the bucket stays within [`BURST`].
fn charge(tat: &AtomicU64, n: u64, rate: u64, now: u64) -> u64 {
    let cost = (n as u128 * 1_000_000_000 / rate.max(1) as u128).min(u64::MAX as u128 / 2) as u64;
    let mut old = tat.load(Ordering::Relaxed);
    loop {
        let new = old.max(now).saturating_add(cost);
        match tat.compare_exchange_weak(old, new, Ordering::AcqRel, Ordering::Relaxed) {
            Ok(_) => return new.saturating_sub(now + BURST.as_nanos() as u64),
            Err(cur) => old = cur,
        }
    }
}

/// The user name as a bucket key (FNV-1a, never 0).
fn user_key(name: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in name.bytes() {
        h ^= b as u64;
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h.max(1)
}

/// One session's pacing: its own buckets, and its way to the shared ones.
/// Shared by the session's reading and writing halves (which may run on two
/// threads during a transfer).
pub struct Pace {
    shared: Arc<Buckets>,
    rates: Rates,
    session: [AtomicU64; 2],
    /// The LOGIN user's key (0 before LOGIN).
    user: AtomicU64,
    /// The user's entry in the shared table, plus one (0: not looked up yet).
    entry: AtomicUsize,
    /// The session limit now: `rates.session`, unless changed since
    /// ([`Pace::set_session_rate`], a client's `--bwlimit` timetable).
    session_rate: AtomicU64,
}

impl Pace {
    /// The pacing for a new session, or None when no limit is set (the socket
    /// then takes the plain path).
    pub fn new(shared: &Arc<Buckets>, rates: Rates) -> Option<Arc<Pace>> {
        rates.any().then(|| Pace::build(shared, rates))
    }

    /// A pacing of one session limit that changes over time (a client's
    /// `--bwlimit` timetable), starting at `rate` (0: none until set).
    pub fn changeable(shared: &Arc<Buckets>, rate: u64) -> Arc<Pace> {
        Pace::build(
            shared,
            Rates {
                session: rate,
                ..Rates::default()
            },
        )
    }

    fn build(shared: &Arc<Buckets>, rates: Rates) -> Arc<Pace> {
        Arc::new(Pace {
            shared: shared.clone(),
            rates,
            session: [AtomicU64::new(0), AtomicU64::new(0)],
            user: AtomicU64::new(0),
            entry: AtomicUsize::new(0),
            session_rate: AtomicU64::new(rates.session),
        })
    }

    /// The session limit from now on (0: none).
    pub fn set_session_rate(&self, rate: u64) {
        self.session_rate.store(rate, Ordering::Relaxed);
    }

    /// From now on the session's bytes also count against `name`'s bucket.
    pub fn set_user(&self, name: &str) {
        self.user.store(user_key(name), Ordering::Relaxed);
        self.entry.store(0, Ordering::Relaxed);
    }

    /// The most bytes one socket call should move: about 1/64 s of the
    /// strictest limit, so waits stay short and even.
    pub fn quantum(&self) -> usize {
        let session = self.session_rate.load(Ordering::Relaxed);
        let strictest = [session, self.rates.user, self.rates.total]
            .into_iter()
            .filter(|&r| r > 0)
            .min()
            .unwrap_or(u64::MAX);
        (strictest / 64).clamp(4096, 256 * 1024) as usize
    }

    /// Counts `n` bytes moved in direction `dir` and sleeps as long as the
    /// strictest limit requires.
    pub fn charge(&self, dir: Dir, n: usize) {
        if n == 0 {
            return;
        }
        let n = n as u64;
        let now = self.shared.now();
        let mut wait = 0;
        let session = self.session_rate.load(Ordering::Relaxed);
        if session > 0 {
            wait = charge(&self.session[dir as usize], n, session, now);
        }
        if self.rates.user > 0 {
            if let Some(e) = self.user_entry(now) {
                self.shared.user_word(e, 1).store(now, Ordering::Relaxed);
                let w = charge(self.shared.user_word(e, 2 + dir as usize), n, self.rates.user, now);
                wait = wait.max(w);
            }
        }
        if self.rates.total > 0 {
            wait = wait.max(charge(self.shared.total(dir), n, self.rates.total, now));
        }
        if wait > 0 {
            std::thread::sleep(Duration::from_nanos(wait));
        }
    }

    fn user_entry(&self, now: u64) -> Option<usize> {
        let key = self.user.load(Ordering::Relaxed);
        if key == 0 {
            return None;
        }
        let cached = self.entry.load(Ordering::Relaxed);
        if cached > 0 && self.shared.user_word(cached - 1, 0).load(Ordering::Relaxed) == key {
            return Some(cached - 1);
        }
        let e = self.shared.user_entry(key, now)?;
        self.entry.store(e + 1, Ordering::Relaxed);
        Some(e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unset_means_no_pace() {
        let b = Arc::new(Buckets::new(4).unwrap());
        assert!(Pace::new(&b, Rates::default()).is_none());
        assert!(Pace::new(
            &b,
            Rates {
                total: 1,
                ..Rates::default()
            }
        )
        .is_some());
    }

    #[test]
    fn bucket_arithmetic() {
        let tat = AtomicU64::new(0);
        let burst = BURST.as_nanos() as u64;
        // 1000 B/s: 10 bytes cost 10 ms, within the burst
        assert_eq!(charge(&tat, 10, 1000, 1_000_000_000), 0);
        assert_eq!(tat.load(Ordering::Relaxed), 1_010_000_000);
        // another 100 bytes: 110 ms ahead, so wait 110 - 50 ms
        assert_eq!(charge(&tat, 100, 1000, 1_000_000_000), 110_000_000 - burst);
        // after an idle spell the debt is forgotten, not banked
        assert_eq!(charge(&tat, 10, 1000, 5_000_000_000), 0);
        assert_eq!(tat.load(Ordering::Relaxed), 5_010_000_000);
    }

    #[test]
    fn pace_holds_the_rate() {
        let b = Arc::new(Buckets::new(4).unwrap());
        let rate = 4 << 20;
        let p = Pace::new(
            &b,
            Rates {
                session: rate,
                ..Rates::default()
            },
        )
        .unwrap();
        let t = Instant::now();
        let q = p.quantum();
        let total = rate as usize / 2; // half a second's worth
        let mut sent = 0;
        while sent < total {
            p.charge(Dir::Out, q);
            sent += q;
        }
        let secs = t.elapsed().as_secs_f64();
        let expect = total as f64 / rate as f64 - BURST.as_secs_f64();
        // never faster than the rate; slower only by what a loaded machine adds
        assert!(secs > expect - 0.05 && secs < expect + 2.0, "{secs} vs {expect}");
        // the other direction has its own bucket
        let t = Instant::now();
        p.charge(Dir::In, q);
        assert!(t.elapsed() < Duration::from_millis(20));
    }

    #[test]
    fn a_changeable_limit_follows_its_rate() {
        let b = Arc::new(Buckets::new(1).unwrap());
        let p = Pace::changeable(&b, 0);
        // no limit: nothing waits, however much is charged
        let t = Instant::now();
        p.charge(Dir::Out, 64 << 20);
        assert!(t.elapsed() < Duration::from_millis(20));
        // 1 MiB/s from now on: 150 ms worth waits about 100 ms (the burst aside)
        p.set_session_rate(1 << 20);
        let t = Instant::now();
        p.charge(Dir::Out, 150 << 10);
        assert!(t.elapsed() >= Duration::from_millis(80), "{:?}", t.elapsed());
        assert_eq!(p.quantum(), (1 << 20) / 64);
    }

    #[test]
    fn users_share_a_bucket_and_others_do_not() {
        let b = Arc::new(Buckets::new(2).unwrap());
        let r = Rates {
            user: 1 << 20,
            ..Rates::default()
        };
        let (a1, a2, c) = (
            Pace::new(&b, r).unwrap(),
            Pace::new(&b, r).unwrap(),
            Pace::new(&b, r).unwrap(),
        );
        a1.set_user("alice");
        a2.set_user("alice");
        c.set_user("carol");
        let now = b.now();
        assert_eq!(a1.user_entry(now), a2.user_entry(now));
        assert_ne!(a1.user_entry(now), c.user_entry(now));
        // a third user finds the table full (two entries): fails open
        let d = Pace::new(&b, r).unwrap();
        d.set_user("dave");
        assert_eq!(d.user_entry(now), None);
        // until an entry has been idle long enough
        let later = now + USER_IDLE.as_nanos() as u64 + 1;
        assert!(d.user_entry(later).is_some());
        // the evicted user finds a new entry when it comes back
        let e = a1.user_entry(later + 1);
        assert!(e.is_some());
        assert_ne!(e, d.user_entry(later + 1));
    }
}
