//! Quota checks for the commands that add data (SNDFILE, SUP, PUT, PUTCAN, COPY,
//! CPDIR, XCOPY, XCPDIR). A session's quota (the user file's, else
//! `quota_default`) bounds the apparent size of the regular files its uid owns
//! beneath the session's root.
//!
//! One ledger per node, in the registry's shared memory, makes parallel sessions
//! of the same user add up: a command measures usage once when it starts (a
//! bounded walk), then reserves every byte before it writes it. A reservation is
//! granted when the walk's count, plus what other sessions of the same quota
//! settled since the walk, plus what every session of the quota holds reserved
//! now (this one's included) stays within the limit. Reserving adds to this
//! session's own word first and checks the sum after, so two sessions racing
//! for the last bytes are never both granted. Uploads announce no size, so
//! sessions that each fit alone but not together would all run out half-way:
//! of those, the one holding the most waits (up to [`LEADER_WAIT`]) while the
//! others are refused and give their reservations back. When the
//! data is in place (linked, copied, or written in place) the reservation is
//! settled: it moves to the quota's settled counter. Data received but put in
//! place later (a batch's files, linked when their group commits) is pending
//! meanwhile: no walk can see it yet, so it counts for every session as
//! stored. A session that dies holding
//! a reservation has it settled by the listener when it reaps the process
//! ([`crate::services::registry::Registry::free`]), so nothing leaks and nothing
//! is under-counted; later walks count the files themselves.
//!
//! A refused command stops the way a full disk stops it (FAILED 13, −1, or the
//! HPF server cancel), leaving no partial file.

use crate::fsys::{quota, Kind, RelPath};
use crate::services::registry::Registry;
use crate::session::Session;
use log::{info, warn};
use std::os::fd::AsFd;
use std::sync::atomic::Ordering;
use std::sync::Arc;

/// How long the session holding the largest reservation waits for the others
/// to give theirs back before it is refused too.
pub(crate) const LEADER_WAIT: std::time::Duration = std::time::Duration::from_secs(3);

/// How many times (10 ms apart) a session that is not the leader looks again
/// before it is refused: long enough for a passing try to leave the ledger.
const PASSING_LOOKS: u32 = 5;

/// One command's share of the quota ledger; what it holds is given back when
/// it is dropped unsettled.
pub struct Budget {
    reg: Arc<Registry>,
    slot: usize,
    key: u64,
    limit: u64,
    /// Usage when the command started (the replaced file's size taken off).
    base: u64,
    /// The quota's settled counter before the usage walk.
    settled_before: u64,
    /// Bytes this command holds reserved.
    held: u64,
    /// For writes in place: the file end already paid for.
    paid_end: u64,
}

/// The quota ledger's key: whose files, beneath which root (a jail is another
/// root). A 64-bit mix; collisions only make counting stricter.
fn ledger_key(uid: u32, root: &libc::stat) -> u64 {
    let mut h = 0x9e37_79b9_7f4a_7c15u64 ^ uid as u64;
    for v in [root.st_dev, root.st_ino] {
        h = (h ^ v).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        h ^= h >> 31;
    }
    h | 1
}

/// The session's budget for one command (None: no quota). `replacing` is a file
/// the command will replace: its size is given back if the quota's uid owns it.
/// Only for an upload that replaces it in the same command (SNDFILE, SUP,
/// TFDDELTAPUT): a stage, which may stay for days before its commit, is
/// charged whole until it replaces something (issue 47 finding 7).
pub fn budget(s: &Session, replacing: Option<&RelPath>) -> Option<Budget> {
    let q = s.auth().quota?;
    let reg = s.ctx().services.registry.clone();
    let root_st = tfd_sys::fstat(s.root().fd().as_fd()).ok();
    let key = root_st.map_or(1, |st| ledger_key(q.uid, &st));
    // read before the walk: whatever is settled after it may be missed by it
    let settled_before = reg.quota_settled(key).load(Ordering::SeqCst);
    let u = quota::usage(s.root().fd(), q.uid, s.ctx().cfg.walk_limit);
    if u.truncated {
        warn!(
            "{} quota: the usage walk stopped at walk_limit {}; usage counted as {} bytes",
            s.peer(),
            s.ctx().cfg.walk_limit,
            u.bytes
        );
    }
    if u.swept > 0 {
        info!("{} removed {} stale upload temporaries", s.peer(), u.swept);
    }
    let mut used = u.bytes;
    // a backup keeps the replaced file: its size stays used
    if let Some(p) = replacing.filter(|_| !super::backup::on(s)) {
        if let Ok(st) = s.root().lstat(p) {
            if Kind::of(&st) == Kind::File && st.st_uid == q.uid {
                used = used.saturating_sub(st.st_size.max(0) as u64);
            }
        }
    }
    Some(Budget {
        reg,
        slot: s.live().slot,
        key,
        limit: q.limit,
        base: used,
        settled_before,
        held: 0,
        paid_end: 0,
    })
}

impl Budget {
    /// Reserves `n` more bytes; false (and nothing reserved) if the quota
    /// cannot hold them.
    pub fn reserve(&mut self, n: u64) -> bool {
        let deadline = std::time::Instant::now() + LEADER_WAIT;
        // another session's try is in the ledger for a moment even when it is
        // then refused (a file that can never fit): a session that is not the
        // leader looks a few more times before it gives up, so such a passing
        // try never refuses a file that fits (seen: an 8 MiB file refused
        // beside a 12 MiB one that could not fit, under load)
        let mut looks = 0;
        loop {
            self.reg.quota_reserve(self.slot, self.key, n);
            if self.stored().saturating_add(self.reg.quota_reserved(self.key)) <= self.limit {
                self.held += n;
                return true;
            }
            self.reg.quota_unreserve(self.slot, n);
            // even if every other reservation went away it would not fit
            if self.kept().saturating_add(self.held).saturating_add(n) > self.limit {
                return false;
            }
            // a session that holds nothing yet (a size announced whole: a
            // stage, a batch's file, a delta) stalls no one by waiting, so it
            // waits like the leader for reservations that end (a session of
            // the run before still closing: seen in CI, a 3 MiB stage that fit
            // refused right after a refused one)
            let leader = self.held == 0 || self.reg.quota_leader(self.key) == Some(self.slot);
            looks += 1;
            if (!leader && looks > PASSING_LOOKS) || std::time::Instant::now() >= deadline {
                return false;
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
    }

    /// What the quota leaves when nothing else is reserved: the most one
    /// upload may still add. A file announced bigger can never fit and is
    /// refused at once, holding nothing (issue 47 finding 7: one that could
    /// never fit held the room a file that fits needed).
    pub fn room(&self) -> u64 {
        self.limit.saturating_sub(self.kept().saturating_add(self.held))
    }

    /// What is stored: the walk's count and what was settled since.
    fn stored(&self) -> u64 {
        let settled = self.reg.quota_settled(self.key).load(Ordering::SeqCst);
        self.base.saturating_add(settled.saturating_sub(self.settled_before))
    }

    /// What stays whatever reservations are given back: what is stored and
    /// what every session received and will put in place ([`Pending`]).
    fn kept(&self) -> u64 {
        self.stored().saturating_add(self.reg.quota_pending(self.key))
    }

    /// The data reserved so far is received but put in place later (a
    /// batch's file, linked when its group commits): it stays counted for
    /// every session, and the [`Pending`] returned settles it once it is
    /// in place. Settling at receipt counted it nowhere meanwhile: other
    /// sessions' usage walks cannot see a file not yet linked.
    pub fn defer(&mut self) -> Pending {
        let n = std::mem::take(&mut self.held);
        self.reg.quota_defer(self.slot, n);
        Pending {
            reg: self.reg.clone(),
            slot: self.slot,
            key: self.key,
            n,
        }
    }

    /// The data reserved so far is in place: it moves to the settled counter
    /// (first, so that it is never counted by nobody).
    pub fn settle(&mut self) {
        if self.held > 0 {
            self.reg.quota_settled(self.key).fetch_add(self.held, Ordering::SeqCst);
            self.reg.quota_unreserve(self.slot, self.held);
            self.held = 0;
        }
    }

    /// Reserves and settles at once: for data written in place, which is on
    /// disk as soon as it is written.
    pub(crate) fn charge(&mut self, n: u64) -> bool {
        let ok = self.reserve(n);
        if ok {
            self.settle();
        }
        ok
    }

    /// For writes in place (PUT, PUTCAN): pays for the file growing to `end`,
    /// given its size now. False if the quota cannot hold the growth.
    pub(crate) fn grow_to(&mut self, size_now: u64, end: u64) -> bool {
        let paid = self.paid_end.max(size_now);
        if end <= paid {
            return true;
        }
        let ok = self.charge(end - paid);
        if ok {
            self.paid_end = end;
        }
        ok
    }
}

impl Budget {
    /// Gives back what is held (the data it was for is gone again).
    pub fn release(&mut self) {
        if self.held > 0 {
            self.reg.quota_unreserve(self.slot, self.held);
            self.held = 0;
        }
    }
}

impl Drop for Budget {
    fn drop(&mut self) {
        self.release();
    }
}

/// Bytes received and waiting to be put in place ([`Budget::defer`]):
/// settled by [`Pending::settle`] once they are, given back when dropped
/// unsettled (the data never landed).
pub struct Pending {
    reg: Arc<Registry>,
    slot: usize,
    key: u64,
    n: u64,
}

impl Pending {
    /// The data is in place.
    pub fn settle(mut self) {
        let n = std::mem::take(&mut self.n);
        self.reg.quota_settle_pending(self.slot, self.key, n);
    }
}

impl Drop for Pending {
    fn drop(&mut self) {
        if self.n > 0 {
            self.reg.quota_drop_pending(self.slot, self.n);
        }
    }
}

/// Reserves `n` bytes of an optional budget (no budget: no quota).
pub fn reserve(b: &mut Option<Budget>, n: u64) -> bool {
    b.as_mut().map_or(true, |b| b.reserve(n))
}

/// Settles an optional budget.
pub fn settle(b: &mut Option<Budget>) {
    if let Some(b) = b {
        b.settle();
    }
}

/// Releases an optional budget.
pub fn release(b: &mut Option<Budget>) {
    if let Some(b) = b {
        b.release();
    }
}

/// The session's quota as it stands: bytes used (what its files take beneath
/// the session's root, what other sessions of the same quota settled since,
/// and what they hold reserved now) and the limit. None: no quota. FREESP
/// and TFDSPACE answer from it, so the space a client is told it may use is
/// the space an upload would be granted.
pub fn standing(s: &Session) -> Option<(u64, u64)> {
    let b = budget(s, None)?;
    let used = b.stored().saturating_add(b.reg.quota_reserved(b.key));
    Some((used, b.limit))
}

/// Logs a quota refusal.
pub fn refused(s: &Session, what: &str) {
    info!("{} {what}: quota of user {} exceeded", s.peer(), s.user());
}
