//! The live session registry: a table in shared memory (created before the first
//! fork) that the listener, every session process and the UDP responder see.
//! The listener reserves a slot before it forks a session and frees it when it
//! reaps the process, so a crashed or SIGKILLed session reads as dead at once and
//! nothing is ever left behind (no files in /dev/shm, no leaked slots).

use std::io;
use std::sync::atomic::{AtomicU64, Ordering};
use tfd_sys::SharedWords;

/// Words per slot.
const SLOT_WORDS: usize = 19 + LOGIN_WORDS;
/// Header words before the first slot (shared counters).
const HEADER_WORDS: usize = 8;

const FREE: u64 = 0;
const RESERVED: u64 = 1;
const LIVE: u64 = 2;

// slot word offsets
const STATE: usize = 0;
const PID: usize = 1;
const KEY0: usize = 2;
const KEY1: usize = 3;
const OOB: usize = 4;
const STARTED: usize = 5;
const BYTES_IN: usize = 6;
const BYTES_OUT: usize = 7;
const UID: usize = 8;
const COMMAND: usize = 9;
const PEER0: usize = 10;
const PEER1: usize = 11;
const PORT: usize = 12;
const PHASE: usize = 13;
/// The quota key this session's reservation is for (see QUOTA, `commands/quota.rs`).
const QKEY: usize = 14;
/// Bytes this session has reserved under its quota and not yet settled.
const QRESERVED: usize = 15;
/// The process group of the RUNBASH script the session is running (0: none).
const SCRIPT: usize = 16;
/// Bytes the session holds for what its client sends (the memory budget,
/// [`super::memory_budget`]).
const HELD: usize = 17;
/// Bytes of this session's quota reservation whose data is received but not
/// yet in place (a batch's files waiting for their group's commit): stored
/// for every other session's count, settled when linked.
const QPENDING: usize = 18;
/// The LOGIN name, NUL-padded, in the words from here on.
const LOGIN: usize = 19;
/// Words for the LOGIN name: room for the longest the user file allows.
const LOGIN_WORDS: usize = crate::auth::userdb::MAX_NAME.div_ceil(8);

/// Words after the slots: bytes settled (stored) per quota key bucket, for ever
/// growing. A session compares the value before its usage walk with the value
/// now to count what other sessions stored since.
const LEDGER_BUCKETS: usize = 1024;

// header word offsets
const TLB_NEXT: usize = 0;

/// Length of a PROCKEY in bytes (before hex encoding).
pub const KEY_BYTES: usize = 16;

/// Where a session is in its life, for the metrics' session gauge.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Connected, handshake not finished.
    Handshake = 0,
    /// Handshake done, waiting for LOGIN (or INJAIL).
    Login = 1,
    /// Logged in, serving commands.
    Active = 2,
    /// Serving commands inside a jail (after INJAIL).
    Jailed = 3,
}

/// The names of the phases, indexed by [`Phase`].
pub(crate) const PHASE_NAMES: [&str; 4] = ["handshake", "login", "active", "jailed"];

/// What the admin view of a slot shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SlotInfo {
    /// Slot index.
    pub slot: usize,
    /// Session process id.
    pub pid: u32,
    /// Peer address.
    pub peer: std::net::SocketAddr,
    /// Unix time the session started.
    pub started: u64,
    /// Bytes received and sent.
    pub bytes: (u64, u64),
    /// The uid the session runs as.
    pub uid: u32,
    /// The LOGIN name the session was opened for (empty: none, or not yet).
    pub login: String,
    /// The command being run (up to 8 characters).
    pub command: String,
    /// OOB bytes answered.
    pub oob: u64,
}

/// One byte counter of a slot, as a channel half's meter.
struct SlotBytes {
    registry: std::sync::Arc<Registry>,
    slot: usize,
    word: usize,
}

impl tfp_channel::Meter for SlotBytes {
    fn show(&self, bytes: u64) {
        self.registry.w(self.slot, self.word).store(bytes, Ordering::Relaxed);
    }
}

/// The shared table.
pub struct Registry {
    mem: SharedWords,
    slots: usize,
}

/// Encodes a key as the PROCKEY string: `/` + 32 lowercase hex digits.
pub fn key_string(key: &[u8; KEY_BYTES]) -> String {
    format!("/{}", tfp_wire::hex::encode(key))
}

/// Decodes a PROCKEY (leading `/` already stripped): exactly 32 hex digits.
pub fn parse_key(s: &[u8]) -> Option<[u8; KEY_BYTES]> {
    if s.len() != KEY_BYTES * 2 {
        return None;
    }
    let mut out = [0u8; KEY_BYTES];
    for (i, pair) in s.chunks(2).enumerate() {
        let hex = std::str::from_utf8(pair).ok()?;
        out[i] = u8::from_str_radix(hex, 16).ok()?;
    }
    Some(out)
}

fn key_words(key: &[u8; KEY_BYTES]) -> (u64, u64) {
    let mut a = [0u8; 8];
    let mut b = [0u8; 8];
    a.copy_from_slice(&key[..8]);
    b.copy_from_slice(&key[8..]);
    (u64::from_le_bytes(a), u64::from_le_bytes(b))
}

impl Registry {
    /// Maps a table of `slots` sessions.
    pub fn new(slots: usize) -> io::Result<Registry> {
        let slots = slots.max(1);
        Ok(Registry {
            mem: SharedWords::new(HEADER_WORDS + slots * SLOT_WORDS + LEDGER_BUCKETS)?,
            slots,
        })
    }

    /// Number of slots.
    pub(crate) fn capacity(&self) -> usize {
        self.slots
    }

    fn w(&self, slot: usize, word: usize) -> &AtomicU64 {
        &self.mem.words()[HEADER_WORDS + slot * SLOT_WORDS + word]
    }

    /// Listener, before fork: claims a free slot for a new connection.
    pub fn reserve(&self, peer: std::net::SocketAddr) -> Option<usize> {
        for i in 0..self.slots {
            if self
                .w(i, STATE)
                .compare_exchange(FREE, RESERVED, Ordering::AcqRel, Ordering::Relaxed)
                .is_ok()
            {
                for word in 1..SLOT_WORDS {
                    self.w(i, word).store(0, Ordering::Relaxed);
                }
                let (ip, port) = match peer {
                    std::net::SocketAddr::V4(a) => (a.ip().to_ipv6_mapped(), a.port()),
                    std::net::SocketAddr::V6(a) => (*a.ip(), a.port()),
                };
                let o = ip.octets();
                self.w(i, PEER0).store(
                    u64::from_le_bytes(o[..8].try_into().unwrap_or([0; 8])),
                    Ordering::Relaxed,
                );
                self.w(i, PEER1).store(
                    u64::from_le_bytes(o[8..].try_into().unwrap_or([0; 8])),
                    Ordering::Relaxed,
                );
                self.w(i, PORT).store(port as u64, Ordering::Relaxed);
                let now = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map(|d| d.as_secs());
                self.w(i, STARTED).store(now.unwrap_or(0), Ordering::Relaxed);
                return Some(i);
            }
        }
        None
    }

    /// Listener, after fork: records the session's pid.
    pub fn set_pid(&self, slot: usize, pid: u32) {
        self.w(slot, PID).store(pid as u64, Ordering::Relaxed);
    }

    /// Session: publishes its key; from now on probes see it alive.
    pub fn publish(&self, slot: usize, key: &[u8; KEY_BYTES]) {
        let (a, b) = key_words(key);
        self.w(slot, KEY0).store(a, Ordering::Relaxed);
        self.w(slot, KEY1).store(b, Ordering::Relaxed);
        self.w(slot, STATE).store(LIVE, Ordering::Release);
    }

    /// Listener, after reaping: the session is gone. A quota reservation it
    /// still held may have become data on disk (it died between writing and
    /// settling), so it is settled, never lost: sessions that measured usage
    /// before count it, later walks see the files themselves.
    pub fn free(&self, slot: usize) {
        if slot < self.slots {
            // a session that died while its script ran (its bash got PDEATHSIG):
            // the rest of the script's group must not outlive it
            let group = self.w(slot, SCRIPT).swap(0, Ordering::SeqCst);
            if group > 0 && group <= i32::MAX as u64 {
                let _ = nix::sys::signal::killpg(
                    nix::unistd::Pid::from_raw(group as i32),
                    nix::sys::signal::Signal::SIGKILL,
                );
            }
            let held =
                self.w(slot, QRESERVED).swap(0, Ordering::SeqCst) + self.w(slot, QPENDING).swap(0, Ordering::SeqCst);
            if held > 0 {
                self.quota_settled(self.w(slot, QKEY).load(Ordering::SeqCst))
                    .fetch_add(held, Ordering::SeqCst);
            }
            // what it held of the memory budget is the others' again
            self.w(slot, HELD).store(0, Ordering::SeqCst);
            self.w(slot, KEY0).store(0, Ordering::Relaxed);
            self.w(slot, KEY1).store(0, Ordering::Relaxed);
            self.w(slot, STATE).store(FREE, Ordering::Release);
        }
    }

    /// The live slot holding `key`.
    pub fn find(&self, key: &[u8; KEY_BYTES]) -> Option<usize> {
        let (a, b) = key_words(key);
        (0..self.slots).find(|&i| {
            self.w(i, STATE).load(Ordering::Acquire) == LIVE
                && self.w(i, KEY0).load(Ordering::Relaxed) == a
                && self.w(i, KEY1).load(Ordering::Relaxed) == b
        })
    }

    /// The pid recorded for a slot.
    pub fn pid(&self, slot: usize) -> u32 {
        self.w(slot, PID).load(Ordering::Relaxed) as u32
    }

    /// Session (OOB thread): one more urgent byte answered.
    pub(crate) fn oob_increment(&self, slot: usize) {
        self.w(slot, OOB).fetch_add(1, Ordering::Relaxed);
    }

    /// The OOB counter of a slot.
    pub fn oob(&self, slot: usize) -> u64 {
        self.w(slot, OOB).load(Ordering::Relaxed)
    }

    /// Session: current accounting for the admin view.
    pub fn account(&self, slot: usize, bytes_in: u64, bytes_out: u64, command: &str) {
        self.w(slot, BYTES_IN).store(bytes_in, Ordering::Relaxed);
        self.w(slot, BYTES_OUT).store(bytes_out, Ordering::Relaxed);
        let mut c = [0u8; 8];
        let n = command.len().min(8);
        c[..n].copy_from_slice(&command.as_bytes()[..n]);
        self.w(slot, COMMAND).store(u64::from_le_bytes(c), Ordering::Relaxed);
    }

    /// Session: the meters its channel shows its bytes in and out on while a
    /// command runs, so `tfd ctl sessions` sees a long transfer move (between
    /// commands [`Registry::account`] writes the same totals).
    pub(crate) fn meters(
        self: &std::sync::Arc<Self>,
        slot: usize,
    ) -> (
        std::sync::Arc<dyn tfp_channel::Meter>,
        std::sync::Arc<dyn tfp_channel::Meter>,
    ) {
        let meter = |word| {
            std::sync::Arc::new(SlotBytes {
                registry: self.clone(),
                slot,
                word,
            }) as std::sync::Arc<dyn tfp_channel::Meter>
        };
        (meter(BYTES_IN), meter(BYTES_OUT))
    }

    /// Session: who it is now, for the admin view: the LOGIN name (empty before
    /// LOGIN, and in single-user mode) and the uid it runs as. Published
    /// whenever either may have changed (LOGIN, INJAIL, the FAI entrance), so
    /// the view never shows the identity a session had before.
    pub(crate) fn set_identity(&self, slot: usize, login: &str, uid: u32) {
        if slot >= self.slots {
            return;
        }
        let mut bytes = [0u8; LOGIN_WORDS * 8];
        let mut n = login.len().min(bytes.len());
        while !login.is_char_boundary(n) {
            n -= 1;
        }
        bytes[..n].copy_from_slice(&login.as_bytes()[..n]);
        for (i, word) in bytes.chunks(8).enumerate() {
            let w = u64::from_le_bytes(word.try_into().unwrap_or([0; 8]));
            self.w(slot, LOGIN + i).store(w, Ordering::Relaxed);
        }
        self.w(slot, UID).store(uid as u64, Ordering::Relaxed);
    }

    fn login(&self, slot: usize) -> String {
        let bytes: Vec<u8> = (0..LOGIN_WORDS)
            .flat_map(|i| self.w(slot, LOGIN + i).load(Ordering::Relaxed).to_le_bytes())
            .collect();
        String::from_utf8_lossy(&bytes).trim_end_matches('\0').to_string()
    }

    /// Session: the process group of the RUNBASH script it is running now, 0
    /// once the run is over. The listener kills that group when it reaps a
    /// session that died with the mark set ([`Registry::free`]). The group id
    /// cannot be recycled while any process of it lives.
    pub fn set_script_group(&self, slot: usize, pgid: u32) {
        if slot < self.slots {
            self.w(slot, SCRIPT).store(pgid as u64, Ordering::SeqCst);
        }
    }

    /// Session: records where it is now.
    pub(crate) fn set_phase(&self, slot: usize, phase: Phase) {
        if slot < self.slots {
            self.w(slot, PHASE).store(phase as u64, Ordering::Relaxed);
        }
    }

    /// Open sessions (reserved or live slots) by phase, indexed like [`PHASE_NAMES`].
    pub fn phases(&self) -> [u64; 4] {
        let mut out = [0; 4];
        for i in 0..self.slots {
            if self.w(i, STATE).load(Ordering::Acquire) != FREE {
                let p = self.w(i, PHASE).load(Ordering::Relaxed) as usize;
                out[p.min(3)] += 1;
            }
        }
        out
    }

    /// The bytes settled so far under quota key `key` (a counter shared by the
    /// keys that fall in the same bucket: a collision only makes counting
    /// stricter).
    pub(crate) fn quota_settled(&self, key: u64) -> &AtomicU64 {
        &self.mem.words()[HEADER_WORDS + self.slots * SLOT_WORDS + (key % LEDGER_BUCKETS as u64) as usize]
    }

    /// Session: adds `n` bytes to its own reservation under `key`.
    pub(crate) fn quota_reserve(&self, slot: usize, key: u64, n: u64) {
        if slot < self.slots {
            self.w(slot, QKEY).store(key, Ordering::SeqCst);
            self.w(slot, QRESERVED).fetch_add(n, Ordering::SeqCst);
        }
    }

    /// Session: gives back `n` bytes of its reservation.
    pub(crate) fn quota_unreserve(&self, slot: usize, n: u64) {
        if slot < self.slots {
            let _ = self
                .w(slot, QRESERVED)
                .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |v| Some(v.saturating_sub(n)));
        }
    }

    /// Session: `n` bytes of its reservation are received and wait to be
    /// put in place. Added to the pending word before they leave the
    /// reserved one, so that they are never counted by nobody.
    pub(crate) fn quota_defer(&self, slot: usize, n: u64) {
        if slot < self.slots {
            self.w(slot, QPENDING).fetch_add(n, Ordering::SeqCst);
            self.quota_unreserve(slot, n);
        }
    }

    /// Session: `n` pending bytes are in place: settled under `key` first,
    /// then no longer pending.
    pub(crate) fn quota_settle_pending(&self, slot: usize, key: u64, n: u64) {
        if slot < self.slots {
            self.quota_settled(key).fetch_add(n, Ordering::SeqCst);
            self.quota_drop_pending(slot, n);
        }
    }

    /// Session: `n` pending bytes will never be in place.
    pub(crate) fn quota_drop_pending(&self, slot: usize, n: u64) {
        if slot < self.slots {
            let _ = self
                .w(slot, QPENDING)
                .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |v| Some(v.saturating_sub(n)));
        }
    }

    /// The live slots under `key`.
    fn quota_slots(&self, key: u64) -> impl Iterator<Item = usize> + '_ {
        (0..self.slots).filter(move |&i| {
            self.w(i, STATE).load(Ordering::SeqCst) != FREE && self.w(i, QKEY).load(Ordering::SeqCst) == key
        })
    }

    /// The bytes every live session holds reserved under `key`, pending
    /// ones included.
    pub(crate) fn quota_reserved(&self, key: u64) -> u64 {
        self.quota_slots(key)
            .map(|i| {
                self.w(i, QRESERVED)
                    .load(Ordering::SeqCst)
                    .saturating_add(self.w(i, QPENDING).load(Ordering::SeqCst))
            })
            .fold(0u64, u64::saturating_add)
    }

    /// The bytes every live session under `key` has received and not yet
    /// put in place: as good as stored.
    pub(crate) fn quota_pending(&self, key: u64) -> u64 {
        self.quota_slots(key)
            .map(|i| self.w(i, QPENDING).load(Ordering::SeqCst))
            .fold(0u64, u64::saturating_add)
    }

    /// The live slot holding the largest reservation under `key` (ties: the
    /// lowest slot), if any holds one.
    pub(crate) fn quota_leader(&self, key: u64) -> Option<usize> {
        self.quota_slots(key)
            .map(|i| (self.w(i, QRESERVED).load(Ordering::SeqCst), i))
            .filter(|&(held, _)| held > 0)
            .max_by(|a, b| a.0.cmp(&b.0).then(b.1.cmp(&a.1)))
            .map(|(_, i)| i)
    }

    /// Session: the bytes it holds of the memory budget (None: no such slot).
    pub(crate) fn held(&self, slot: usize) -> Option<&AtomicU64> {
        (slot < self.slots).then(|| self.w(slot, HELD))
    }

    /// The bytes every reserved or live session holds of the memory budget.
    pub(crate) fn held_total(&self) -> u64 {
        (0..self.slots)
            .filter(|&i| self.w(i, STATE).load(Ordering::SeqCst) != FREE)
            .map(|i| self.w(i, HELD).load(Ordering::SeqCst))
            .fold(0u64, u64::saturating_add)
    }

    /// The next round-robin position for TLB (shared by every session and UDP).
    pub(crate) fn tlb_next(&self) -> u64 {
        self.mem.words()[TLB_NEXT].fetch_add(1, Ordering::Relaxed)
    }

    /// Every reserved or live slot.
    pub fn snapshot(&self) -> Vec<SlotInfo> {
        (0..self.slots)
            .filter(|&i| self.w(i, STATE).load(Ordering::Acquire) != FREE)
            .map(|i| {
                let mut o = [0u8; 16];
                o[..8].copy_from_slice(&self.w(i, PEER0).load(Ordering::Relaxed).to_le_bytes());
                o[8..].copy_from_slice(&self.w(i, PEER1).load(Ordering::Relaxed).to_le_bytes());
                let ip6 = std::net::Ipv6Addr::from(o);
                let ip = ip6
                    .to_ipv4_mapped()
                    .map(std::net::IpAddr::V4)
                    .unwrap_or(std::net::IpAddr::V6(ip6));
                let c = self.w(i, COMMAND).load(Ordering::Relaxed).to_le_bytes();
                SlotInfo {
                    slot: i,
                    pid: self.w(i, PID).load(Ordering::Relaxed) as u32,
                    peer: std::net::SocketAddr::new(ip, self.w(i, PORT).load(Ordering::Relaxed) as u16),
                    started: self.w(i, STARTED).load(Ordering::Relaxed),
                    bytes: (
                        self.w(i, BYTES_IN).load(Ordering::Relaxed),
                        self.w(i, BYTES_OUT).load(Ordering::Relaxed),
                    ),
                    uid: self.w(i, UID).load(Ordering::Relaxed) as u32,
                    login: self.login(i),
                    command: String::from_utf8_lossy(&c).trim_end_matches('\0').to_string(),
                    oob: self.oob(i),
                }
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lifecycle() {
        let r = Registry::new(2).unwrap();
        let peer = "127.0.0.1:5000".parse().unwrap();
        let a = r.reserve(peer).unwrap();
        let b = r.reserve(peer).unwrap();
        assert_ne!(a, b);
        assert!(r.reserve(peer).is_none(), "full");
        let key = [7u8; KEY_BYTES];
        assert_eq!(r.find(&key), None, "reserved is not alive yet");
        r.publish(a, &key);
        assert_eq!(r.find(&key), Some(a));
        r.oob_increment(a);
        r.oob_increment(a);
        assert_eq!(r.oob(a), 2);
        assert_eq!(r.phases(), [2, 0, 0, 0]);
        r.set_phase(a, Phase::Jailed);
        assert_eq!(r.phases(), [1, 0, 0, 1]);
        assert_eq!(r.snapshot().iter().find(|s| s.slot == a).unwrap().peer, peer);
        let long = "é".repeat(40);
        for (login, shown) in [("olga", "olga"), (long.as_str(), &long[..64]), ("", "")] {
            r.set_identity(a, login, 65534);
            let s = r.snapshot().into_iter().find(|s| s.slot == a).unwrap();
            assert_eq!((s.login.as_str(), s.uid), (shown, 65534));
        }
        r.set_identity(a, "olga", 7);
        r.free(a);
        assert_eq!(r.find(&key), None);
        let c = r.reserve(peer).unwrap();
        assert_eq!(c, a);
        assert_eq!(r.oob(c), 0, "a reused slot starts clean");
        let s = r.snapshot().into_iter().find(|s| s.slot == c).unwrap();
        assert_eq!(
            (s.login.as_str(), s.uid),
            ("", 0),
            "no identity of the slot's last session"
        );
        assert_eq!(r.phases(), [2, 0, 0, 0], "and in the handshake phase");
        assert_eq!(r.tlb_next(), 0);
        assert_eq!(r.tlb_next(), 1);
    }

    #[test]
    fn shared_across_fork() {
        let r = Registry::new(4).unwrap();
        let slot = r.reserve("[::1]:9".parse().unwrap()).unwrap();
        match tfd_sys::fork().unwrap() {
            tfd_sys::Fork::Child => {
                r.publish(slot, &[1; KEY_BYTES]);
                r.oob_increment(slot);
                tfd_sys::exit_now(0);
            }
            tfd_sys::Fork::Parent(pid) => {
                nix::sys::wait::waitpid(nix::unistd::Pid::from_raw(pid), None).unwrap();
                assert_eq!(r.find(&[1; KEY_BYTES]), Some(slot));
                assert_eq!(r.oob(slot), 1);
            }
        }
    }

    /// A reservation is seen by every session of the key; freeing the slot of a
    /// session that died holding one settles it instead of dropping it.
    #[test]
    fn quota_reservations_survive_a_dead_session_as_settled_bytes() {
        let r = Registry::new(4).unwrap();
        let peer = "127.0.0.1:1".parse().unwrap();
        let (a, b) = (r.reserve(peer).unwrap(), r.reserve(peer).unwrap());
        r.quota_reserve(a, 77, 100);
        r.quota_reserve(b, 77, 20);
        r.quota_reserve(b, 78, 0);
        assert_eq!(r.quota_reserved(77), 100);
        r.quota_reserve(b, 77, 5);
        assert_eq!(r.quota_reserved(77), 125);
        r.quota_unreserve(b, 25);
        assert_eq!(r.quota_reserved(77), 100);
        assert_eq!(r.quota_leader(77), Some(a));
        assert_eq!(r.quota_leader(79), None);
        let before = r.quota_settled(77).load(Ordering::SeqCst);
        r.free(a);
        assert_eq!(r.quota_reserved(77), 0);
        assert_eq!(r.quota_settled(77).load(Ordering::SeqCst) - before, 100);
        let c = r.reserve(peer).unwrap();
        assert_eq!(c, a);
        assert_eq!(r.quota_reserved(77), 0, "a reused slot holds nothing");
    }

    #[test]
    fn pending_quota_bytes_count_until_settled_or_dropped() {
        let r = Registry::new(2).unwrap();
        let peer = "127.0.0.1:1".parse().unwrap();
        let a = r.reserve(peer).unwrap();
        let settled = |r: &Registry| r.quota_settled(5).load(Ordering::SeqCst);
        let before = settled(&r);
        r.quota_reserve(a, 5, 30);
        r.quota_defer(a, 30);
        assert_eq!((r.quota_reserved(5), r.quota_pending(5)), (30, 30));
        assert_eq!(
            r.quota_leader(5),
            None,
            "pending bytes are not a reservation to wait for"
        );
        r.quota_settle_pending(a, 5, 10);
        assert_eq!((r.quota_pending(5), settled(&r) - before), (20, 10));
        r.quota_drop_pending(a, 5);
        assert_eq!(r.quota_pending(5), 15);
        // a session dying with pending bytes has them settled (they may be linked)
        r.free(a);
        assert_eq!((r.quota_reserved(5), settled(&r) - before), (0, 25));
    }

    #[test]
    fn keys() {
        let k = [0xabu8; KEY_BYTES];
        let s = key_string(&k);
        assert_eq!(s.len(), 33);
        assert!(s.starts_with('/'));
        assert_eq!(parse_key(&s.as_bytes()[1..]), Some(k));
        assert_eq!(parse_key(b"zz"), None);
        assert_eq!(parse_key(&[b'g'; 32]), None);
    }
}
