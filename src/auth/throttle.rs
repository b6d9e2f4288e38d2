//! Login throttling: after `login_max_failures_ip` failed LOGINs from one address
//! within `login_window`, that address is refused for `login_ban`; after
//! `login_max_failures_user` failures for one name, that name is locked for
//! `login_lock`. The idea comes from the backup-hub protocol's 501/502 replies; TF
//! has no such codes, so a refused attempt gets the same `FAILED 37` as a wrong
//! password (and names that do not exist are counted and locked the same way, so a
//! lock does not reveal which names are real).
//!
//! The counters must be shared by every session process (each LOGIN runs in its
//! own), so they live in a [`SharedWords`] region that the listener maps before
//! forking. Each table is a fixed array of two-word slots, `[key, state]`: the key
//! is a keyed hash (SipHash with a per-daemon random key, so clients cannot aim
//! collisions) of the address or name, and the state packs a count and a time into
//! one word updated with compare-and-swap, so no lock is ever held. A key probes a
//! few consecutive slots. When they are all busy with live entries the table never
//! fails open: the weakest entry is evicted (the one with the fewest failures, the
//! oldest among equals; only when all of them are serving bans, the ban that ends
//! soonest). So an attacker who floods the table from thousands of addresses only
//! evicts its own one-failure entries, while a guessing run that has piled up
//! failures keeps them, and a fresh address is counted from its first failure.
//! The first eviction in each table is logged once per daemon (a shared flag), not
//! per attempt.
//!
//! IPv6 clients are counted per /64, since one host usually owns a whole /64.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::io;
use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use tfd_sys::SharedWords;

/// Slots per table in the daemon (2 tables × 4096 slots × 16 bytes = 128 KiB).
pub(crate) const DEFAULT_SLOTS: usize = 4096;
/// Consecutive slots a key may use.
const PROBE: usize = 8;

/// One table's rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Failures that trigger the ban; 0 turns the rule off.
    pub max_failures: u32,
    /// Failures older than this (seconds since the first one) are forgotten.
    pub window: u32,
    /// How long a ban lasts, in seconds.
    pub ban: u32,
}

/// Both rules, from the configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Policy {
    /// Per client address (IPv6: per /64).
    pub ip: Limits,
    /// Per LOGIN name.
    pub account: Limits,
}

impl Policy {
    /// The policy configured in tfd.conf.
    pub(crate) fn from_config(cfg: &crate::config::Config) -> Policy {
        let secs = |d: Duration| d.as_secs().min(u32::MAX as u64) as u32;
        Policy {
            ip: Limits {
                max_failures: cfg.login_max_failures_ip,
                window: secs(cfg.login_window),
                ban: secs(cfg.login_ban),
            },
            account: Limits {
                max_failures: cfg.login_max_failures_user,
                window: secs(cfg.login_window),
                ban: secs(cfg.login_lock),
            },
        }
    }
}

/// The slots `key` may live in, in probe order, in a table of `slots` slots.
pub(crate) fn probe_window(key: u64, slots: usize) -> impl Iterator<Item = usize> {
    let n = slots.max(1);
    let start = (key % n as u64) as usize;
    (0..PROBE.min(slots)).map(move |i| (start + i) % n)
}

fn pack(count: u32, time: u32) -> u64 {
    ((count as u64) << 32) | time as u64
}

fn unpack(state: u64) -> (u32, u32) {
    ((state >> 32) as u32, state as u32)
}

/// What counting one failure did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Counted {
    /// This failure started a ban of that many seconds.
    pub banned: Option<u32>,
    /// The probe window was full of live entries and the weakest was evicted.
    pub evicted: bool,
}

/// One table over a slice of shared words: the pure logic, unit-tested with plain
/// memory and explicit times.
pub(crate) struct Table<'a> {
    words: &'a [AtomicU64],
    /// `words` is one key's probe window, in probe order, copied out of a larger
    /// table (the shared state file): every key probes all of it from the start.
    window: bool,
}

impl<'a> Table<'a> {
    /// A table over `words` (two per slot; an odd word is unused).
    pub(crate) fn new(words: &'a [AtomicU64]) -> Table<'a> {
        Table { words, window: false }
    }

    /// The probe window of one key of a table of `slots` slots, read into `words`
    /// in the order of [`probe_window`]; the same rules then apply to it as to a
    /// whole table in memory.
    pub(crate) fn window(words: &'a [AtomicU64]) -> Table<'a> {
        Table { words, window: true }
    }

    fn slots(&self) -> usize {
        self.words.len() / 2
    }

    fn key(&self, slot: usize) -> &AtomicU64 {
        &self.words[slot * 2]
    }

    fn state(&self, slot: usize) -> &AtomicU64 {
        &self.words[slot * 2 + 1]
    }

    /// A slot no longer holding anything worth keeping.
    fn stale(state: u64, now: u32, l: Limits) -> bool {
        let (count, t) = unpack(state);
        if count == 0 {
            return true;
        }
        if count >= l.max_failures {
            now >= t
        } else {
            now >= t.saturating_add(l.window)
        }
    }

    /// The slot holding `key`, if any.
    pub(crate) fn lookup(&self, key: u64) -> Option<usize> {
        self.probe(key).find(|&s| self.key(s).load(Ordering::Acquire) == key)
    }

    /// The slots `key` may live in.
    fn probe(&self, key: u64) -> impl Iterator<Item = usize> {
        probe_window(if self.window { 0 } else { key }, self.slots())
    }

    /// How much an entry is worth keeping: lower is evicted first. Entries still
    /// counting toward a ban rank below bans; among them fewer failures, then older
    /// ones, go first; among bans, the one that ends soonest.
    fn worth(state: u64, l: Limits) -> (bool, u32, u32) {
        let (count, t) = unpack(state);
        if count >= l.max_failures {
            (true, 0, t)
        } else {
            (false, count, t)
        }
    }

    /// The slot holding `key`, claiming a free or stale slot for it, or else
    /// evicting the weakest entry of its probe window. The flag says whether an
    /// entry was evicted. `None` only for a table without slots.
    fn claim(&self, key: u64, now: u32, l: Limits) -> Option<(usize, bool)> {
        if self.slots() == 0 {
            return None;
        }
        // a few rounds: another process may take the slot we chose in between
        for _ in 0..4 {
            if let Some(s) = self.lookup(key) {
                return Some((s, false));
            }
            for s in self.probe(key) {
                let old = self.key(s).load(Ordering::Acquire);
                let free = old == 0 || Self::stale(self.state(s).load(Ordering::Acquire), now, l);
                if free && self.take(s, old, key) {
                    return Some((s, false));
                }
                if self.key(s).load(Ordering::Acquire) == key {
                    return Some((s, false)); // another process claimed it for the same key
                }
            }
            let victim = self
                .probe(key)
                .min_by_key(|&s| Self::worth(self.state(s).load(Ordering::Acquire), l))?;
            let old = self.key(victim).load(Ordering::Acquire);
            if old != key && self.take(victim, old, key) {
                return Some((victim, true));
            }
        }
        None
    }

    /// Moves slot `s` from `old` to `key` with a fresh count.
    fn take(&self, s: usize, old: u64, key: u64) -> bool {
        let won = self
            .key(s)
            .compare_exchange(old, key, Ordering::AcqRel, Ordering::Acquire)
            .is_ok();
        if won {
            self.state(s).store(0, Ordering::Release);
        }
        won
    }

    /// Seconds left if `key` is banned now.
    pub(crate) fn banned(&self, key: u64, now: u32, l: Limits) -> Option<u32> {
        if l.max_failures == 0 {
            return None;
        }
        let s = self.lookup(key)?;
        let (count, t) = unpack(self.state(s).load(Ordering::Acquire));
        (count >= l.max_failures && now < t).then(|| t - now)
    }

    /// Counts a failure, evicting the weakest entry of a full probe window.
    pub(crate) fn fail(&self, key: u64, now: u32, l: Limits) -> Counted {
        if l.max_failures == 0 {
            return Counted::default();
        }
        let Some((s, evicted)) = self.claim(key, now, l) else {
            return Counted::default();
        };
        let state = self.state(s);
        let mut old = state.load(Ordering::Acquire);
        loop {
            let (count, t) = unpack(old);
            let (new, started) = if count >= l.max_failures && now < t {
                (old, None) // already banned: nothing to add
            } else {
                let fresh = count == 0 || count >= l.max_failures || now >= t.saturating_add(l.window);
                let (count, t) = if fresh { (1, now) } else { (count + 1, t) };
                if count >= l.max_failures {
                    (pack(l.max_failures, now.saturating_add(l.ban)), Some(l.ban))
                } else {
                    (pack(count, t), None)
                }
            };
            match state.compare_exchange(old, new, Ordering::AcqRel, Ordering::Acquire) {
                Ok(_) => {
                    return Counted {
                        banned: started,
                        evicted,
                    }
                }
                Err(cur) => old = cur,
            }
        }
    }

    /// Forgets `key`'s failures (a successful LOGIN).
    pub(crate) fn clear(&self, key: u64) {
        if let Some(s) = self.lookup(key) {
            self.state(s).store(0, Ordering::Release);
        }
    }
}

/// Why an attempt was refused before its password was even checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Blocked {
    /// The address is banned for that many more seconds.
    Ip(u32),
    /// The name is locked for that many more seconds.
    Account(u32),
}

impl std::fmt::Display for Blocked {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Blocked::Ip(s) => write!(f, "address banned for {s} more seconds"),
            Blocked::Account(s) => write!(f, "name locked for {s} more seconds"),
        }
    }
}

/// What a failure changed, for the log.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FailureEffect {
    /// The address was banned now for that many seconds.
    pub ip_banned: Option<u32>,
    /// The name was locked now for that many seconds.
    pub account_locked: Option<u32>,
    /// Tables ("address", "name") whose full probe window made them evict an entry
    /// for the first time since the daemon started: the caller logs this once.
    pub first_eviction: Vec<&'static str>,
}

/// What of an address is counted, as (tag, bytes, length): an IPv4 address (also
/// when IPv4-mapped) whole, an IPv6 address by its /64.
pub(crate) fn ip_counted(ip: IpAddr) -> (u8, [u8; 8], usize) {
    let mut b = [0u8; 8];
    match ip {
        IpAddr::V4(v4) => {
            b[..4].copy_from_slice(&v4.octets());
            (4, b, 4)
        }
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => {
                b[..4].copy_from_slice(&v4.octets());
                (4, b, 4)
            }
            None => {
                b.copy_from_slice(&v6.octets()[..8]);
                (6, b, 8)
            }
        },
    }
}

/// The tag a LOGIN name is hashed under.
pub(crate) const ACCOUNT_TAG: u8 = b'u';

/// Words of a slot's label: what the slot counts (an address or a name) in
/// words, so `tfd ctl bans` can name what the keyed hash hides. A label is
/// only shown, never trusted: refusals go by the key.
pub(crate) const LABEL_WORDS: usize = 7;
const LABEL_BYTES: usize = LABEL_WORDS * 8 - 1;

/// `text` as label words: a length byte (its top bit set when `text` was cut)
/// and the first bytes of `text`.
pub(crate) fn label_words(text: &[u8]) -> [u64; LABEL_WORDS] {
    let mut b = [0u8; LABEL_WORDS * 8];
    let n = text.len().min(LABEL_BYTES);
    b[0] = n as u8 | if text.len() > LABEL_BYTES { 0x80 } else { 0 };
    b[1..=n].copy_from_slice(&text[..n]);
    let mut w = [0u64; LABEL_WORDS];
    for (i, chunk) in b.chunks(8).enumerate() {
        let mut x = [0u8; 8];
        x.copy_from_slice(chunk);
        w[i] = u64::from_le_bytes(x);
    }
    w
}

/// The text of label words, control characters shown as `?`, a cut one ending
/// in `…`; `?` for an empty label.
pub(crate) fn label_text(words: &[u64]) -> String {
    let b: Vec<u8> = words.iter().flat_map(|w| w.to_le_bytes()).collect();
    let n = (b[0] & 0x7f) as usize;
    if n == 0 || n > LABEL_BYTES {
        return "?".into();
    }
    // tf's rule (controls, bidi and zero-width characters escaped), and a
    // blank as `?`: one word per column of `tfd ctl bans`
    let mut s: String = tfp_wire::escape::shown(&b[1..=n])
        .chars()
        .map(|c| if c.is_whitespace() { '?' } else { c })
        .collect();
    if b[0] & 0x80 != 0 {
        s.push('…');
    }
    s
}

/// How an address is shown in a label: IPv4 whole, IPv6 by the /64 counted.
pub(crate) fn ip_label(ip: IpAddr) -> String {
    match ip_counted(ip) {
        (4, b, _) => std::net::Ipv4Addr::new(b[0], b[1], b[2], b[3]).to_string(),
        (_, b, _) => {
            let mut o = [0u8; 16];
            o[..8].copy_from_slice(&b);
            format!("{}/64", std::net::Ipv6Addr::from(o))
        }
    }
}

/// Seconds left on a ban or lock whose slot holds `state`, under `l`.
pub(crate) fn ban_left(state: u64, now: u32, l: Limits) -> Option<u32> {
    let (count, t) = unpack(state);
    (l.max_failures > 0 && count >= l.max_failures && now < t).then(|| t - now)
}

/// What a throttle ban holds: an address or a LOGIN name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HeldKind {
    /// Too many failures from an address (IPv6: its /64).
    Address,
    /// Too many failures for a name.
    Name,
}

/// One ban or lock in force, for `tfd ctl bans`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Held {
    /// Address or name.
    pub kind: HeldKind,
    /// What is held, as its label says.
    pub label: String,
    /// Seconds left.
    pub left: u32,
}

/// The daemon's two tables in shared memory, created by the listener before it
/// forks (so every session process sees the same counters).
pub struct Throttle {
    mem: SharedWords,
    slots: usize,
    hasher: RandomState,
}

/// Seconds on the system-wide monotonic clock (the same in every process).
pub fn now() -> u32 {
    match nix::time::clock_gettime(nix::time::ClockId::CLOCK_MONOTONIC) {
        Ok(t) => t.tv_sec().clamp(0, u32::MAX as i64) as u32,
        Err(_) => 0,
    }
}

impl Throttle {
    /// Maps both tables, `slots` slots each.
    pub fn new(slots: usize) -> io::Result<Throttle> {
        let slots = slots.max(PROBE);
        Ok(Throttle {
            // two tables, then one "eviction already logged" flag per table, and
            // the same two for the tables in the shared state file, then each
            // slot's label (its key, then LABEL_WORDS)
            mem: SharedWords::new(slots * 4 + 4 + 2 * slots * (1 + LABEL_WORDS))?,
            slots,
            hasher: RandomState::new(),
        })
    }

    fn ips(&self) -> Table<'_> {
        Table::new(&self.mem.words()[..self.slots * 2])
    }

    fn accounts(&self) -> Table<'_> {
        Table::new(&self.mem.words()[self.slots * 2..self.slots * 4])
    }

    /// True for the first eviction in table `which` (0 addresses, 1 names; 2 and
    /// 3 for the same tables in the shared state file) across every process of
    /// this daemon.
    pub(crate) fn first_eviction(&self, which: usize) -> bool {
        self.mem.words()[self.slots * 4 + which]
            .compare_exchange(0, 1, Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
    }

    fn hash(&self, tag: u8, bytes: &[u8]) -> u64 {
        let mut h = self.hasher.build_hasher();
        h.write_u8(tag);
        h.write(bytes);
        h.finish().max(1) // 0 marks a free slot
    }

    fn ip_key(&self, ip: IpAddr) -> u64 {
        let (tag, bytes, len) = ip_counted(ip);
        self.hash(tag, &bytes[..len])
    }

    fn account_key(&self, name: &[u8]) -> u64 {
        self.hash(ACCOUNT_TAG, name)
    }

    /// Is this attempt refused outright?
    pub fn check(&self, ip: IpAddr, name: &[u8], p: &Policy, now: u32) -> Result<(), Blocked> {
        if let Some(left) = self.ips().banned(self.ip_key(ip), now, p.ip) {
            return Err(Blocked::Ip(left));
        }
        if let Some(left) = self.accounts().banned(self.account_key(name), now, p.account) {
            return Err(Blocked::Account(left));
        }
        Ok(())
    }

    /// Table `which`'s (0 addresses, 1 names) label words of slot `s`.
    fn label(&self, which: usize, s: usize) -> &[AtomicU64] {
        let at = self.slots * 4 + 4 + (which * self.slots + s) * (1 + LABEL_WORDS);
        &self.mem.words()[at..at + 1 + LABEL_WORDS]
    }

    /// Writes what `key` counts into its slot's label (the label's own key
    /// last, so a reader takes a half-written label for none).
    fn set_label(&self, which: usize, key: u64, text: &[u8]) {
        let table = if which == 0 { self.ips() } else { self.accounts() };
        let Some(s) = table.lookup(key) else { return };
        let l = self.label(which, s);
        if l[0].load(Ordering::Acquire) == key {
            return;
        }
        l[0].store(0, Ordering::Release);
        for (w, v) in l[1..].iter().zip(label_words(text)) {
            w.store(v, Ordering::Release);
        }
        l[0].store(key, Ordering::Release);
    }

    /// Every ban and lock in force, named by the labels.
    pub fn held(&self, p: &Policy, now: u32) -> Vec<Held> {
        let mut out = Vec::new();
        for (which, kind, l) in [(0, HeldKind::Address, p.ip), (1, HeldKind::Name, p.account)] {
            let table = if which == 0 { self.ips() } else { self.accounts() };
            for s in 0..self.slots {
                let key = table.key(s).load(Ordering::Acquire);
                let Some(left) = ban_left(table.state(s).load(Ordering::Acquire), now, l) else {
                    continue;
                };
                let lab = self.label(which, s);
                let label = if key != 0 && lab[0].load(Ordering::Acquire) == key {
                    let w: Vec<u64> = lab[1..].iter().map(|w| w.load(Ordering::Acquire)).collect();
                    label_text(&w)
                } else {
                    "?".into()
                };
                out.push(Held { kind, label, left });
            }
        }
        out
    }

    /// Lifts the ban of `ip` (its /64 for IPv6); whether one was in force.
    pub(crate) fn lift_ip(&self, ip: IpAddr, p: &Policy, now: u32) -> bool {
        let k = self.ip_key(ip);
        let was = self.ips().banned(k, now, p.ip).is_some();
        self.ips().clear(k);
        was
    }

    /// Lifts the lock of the LOGIN name `name`; whether one was in force.
    pub(crate) fn lift_name(&self, name: &[u8], p: &Policy, now: u32) -> bool {
        let k = self.account_key(name);
        let was = self.accounts().banned(k, now, p.account).is_some();
        self.accounts().clear(k);
        was
    }

    /// Counts a failed attempt against the address and the name.
    pub fn failure(&self, ip: IpAddr, name: &[u8], p: &Policy, now: u32) -> FailureEffect {
        let mut e = FailureEffect::default();
        let by_ip = self.ips().fail(self.ip_key(ip), now, p.ip);
        self.set_label(0, self.ip_key(ip), ip_label(ip).as_bytes());
        e.ip_banned = by_ip.banned;
        if by_ip.evicted && self.first_eviction(0) {
            e.first_eviction.push("address");
        }
        let by_name = self.accounts().fail(self.account_key(name), now, p.account);
        self.set_label(1, self.account_key(name), name);
        e.account_locked = by_name.banned;
        if by_name.evicted && self.first_eviction(1) {
            e.first_eviction.push("name");
        }
        e
    }

    /// A successful LOGIN clears the name's failures (not the address's: one good
    /// password must not reset a guessing run against other names).
    pub fn success(&self, name: &[u8]) {
        self.accounts().clear(self.account_key(name));
    }
}

#[cfg(test)]
mod tests;
