//! Login throttling and admin bans shared by every node of a cluster
//! (`shared_state_dir`, doc/scaling.md). The shared-memory tables of
//! [`super::throttle`] only count what one node sees, so an attacker spread over N
//! nodes would get N times the attempts, and a `tfd ctl ban` would hold on one
//! node only. With a directory on the volume every node mounts, two files there
//! are consulted by all of them:
//!
//! - `login-throttle`: the two throttle tables (addresses, names) with the same
//!   slot design as the memory ones (fixed slots, keyed hashes, a short probe
//!   window, eviction of the weakest entry, never of a live ban while anything
//!   weaker is there), so the file never grows. Times are Unix seconds, since
//!   each node's monotonic clock is its own: nodes need synchronised clocks.
//! - `bans`: a fixed number of `(address, until)` records written by
//!   `tfd ctl ban`/`unban` on any node and read by every listener.
//!
//! Every access holds an open file description lock ([`sys::ofd_setlk`], which
//! NFSv4, CephFS and GlusterFS carry across nodes) for a bounded time, reads
//! and writes single records at their offsets (pread/pwrite, so a LOGIN touches
//! a few hundred bytes) and fdatasyncs what it wrote before unlocking, so the
//! next holder on another node reads it. Each record carries a check word and
//! the header a checksum: a torn, truncated or scribbled-on file is detected,
//! logged and rewritten, and the bad records count as empty. Callers keep their
//! node's own table as well and take the stricter answer, so whatever happens to
//! this file (corrupt, unreachable, lock held too long) an attacker gets no more
//! than the node's own rule allows: the shared state only ever adds refusals.

use super::throttle::{self, Blocked, Counted, Held, HeldKind, Policy, Table, ACCOUNT_TAG, LABEL_WORDS};
use log::error;
use sha2::{Digest, Sha256};
use std::ffi::CStr;
use std::fmt;
use std::fs::File;
use std::io;
use std::net::IpAddr;
use std::os::fd::AsFd;
use std::os::unix::fs::{FileExt, MetadataExt};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tfd_sys::{self as sys, OfdLock};

mod bans;
mod dir;
pub use bans::{Ban, BanList, SharedBans};
pub use dir::{DirError, StateDir};

/// The throttle tables' file in `shared_state_dir`.
pub(crate) const THROTTLE_FILE: &str = "login-throttle";
/// The admin bans' file in `shared_state_dir`.
pub(crate) const BANS_FILE: &str = "bans";
const THROTTLE_NAME: &CStr = c"login-throttle";
const BANS_NAME: &CStr = c"bans";
/// Slots per throttle table (2 × 4096 × 80 bytes = 640 KiB).
pub(crate) const THROTTLE_SLOTS: usize = throttle::DEFAULT_SLOTS;
/// Admin bans held at once (1024 × 32 bytes = 32 KiB).
pub(crate) const BAN_SLOTS: usize = 1024;
/// How long a LOGIN waits for the lock (holders keep it for a few I/Os).
pub(crate) const LOGIN_LOCK_WAIT: Duration = Duration::from_secs(2);

const HEADER: usize = 64;
const MAGIC: &[u8; 8] = b"TFDSTATE";
/// 2: throttle records carry what they count (an address or a name), so
/// `tfd ctl bans` can name them.
const VERSION: u32 = 2;
/// Data words of a throttle record: key, state, when an operator last lifted
/// its ban (Unix seconds, 0: never; so every node lifts its own table's ban
/// of the same address or name), then the label.
const THROTTLE_WORDS: usize = 3 + LABEL_WORDS;
const THROTTLE_REC: usize = (THROTTLE_WORDS + 1) * 8;
const BAN_REC: usize = 32;

/// What a file holds, and so its layout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// Two tables of [`THROTTLE_SLOTS`] `(key, state, check)` records.
    Throttle = 1,
    /// [`BAN_SLOTS`] `(address, until, check)` records.
    Bans = 2,
}

impl Kind {
    fn name(self) -> &'static CStr {
        match self {
            Kind::Throttle => THROTTLE_NAME,
            Kind::Bans => BANS_NAME,
        }
    }

    fn slots(self) -> usize {
        match self {
            Kind::Throttle => 2 * THROTTLE_SLOTS,
            Kind::Bans => BAN_SLOTS,
        }
    }

    fn record(self) -> usize {
        match self {
            Kind::Throttle => THROTTLE_REC,
            Kind::Bans => BAN_REC,
        }
    }

    fn len(self) -> u64 {
        (HEADER + self.slots() * self.record()) as u64
    }
}

/// Why the shared state could not be used; the caller logs it and goes on with
/// its node's own table.
#[derive(Debug)]
pub enum StateError {
    /// Another holder kept the lock longer than the wait.
    Busy(Duration),
    /// The file is not one tfd can trust (another owner, not a regular file).
    Untrusted(String),
    /// Reading, writing or locking failed.
    Io(io::Error),
}

impl fmt::Display for StateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StateError::Busy(d) => write!(f, "lock not granted within {} ms", d.as_millis()),
            StateError::Untrusted(why) => f.write_str(why),
            StateError::Io(e) => write!(f, "{e}"),
        }
    }
}

impl From<io::Error> for StateError {
    fn from(e: io::Error) -> StateError {
        StateError::Io(e)
    }
}

/// No randomness for a new hash key: an I/O failure, as getrandom words it.
impl From<getrandom::Error> for StateError {
    fn from(e: getrandom::Error) -> StateError {
        StateError::Io(io::Error::other(e.to_string()))
    }
}

/// Seconds since the Unix epoch: the one clock every node shares (via NTP).
pub(crate) fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// Checks and opens `dir` ([`StateDir::open`]: the whole path trusted as
/// sshd's StrictModes does, then held open), and checks (creating or
/// repairing) both files, so a directory tfd cannot use shows at start or
/// reload, not at the first LOGIN.
pub fn prepare(dir: &Path) -> Result<Arc<StateDir>, DirError> {
    let d = StateDir::open(dir)?;
    for (name, kind) in [(THROTTLE_FILE, Kind::Throttle), (BANS_FILE, Kind::Bans)] {
        Locked::open(&d, kind, OfdLock::Exclusive, Duration::from_secs(5), true)
            .and_then(Locked::finish)
            .map_err(|e| DirError::File(d.path().join(name), e))?;
    }
    Ok(Arc::new(d))
}

/// Takes `what` on `file`, retrying for up to `wait`.
fn lock_within(file: &File, what: OfdLock, wait: Duration) -> Result<(), StateError> {
    let start = Instant::now();
    let mut pause = Duration::from_millis(1);
    loop {
        if sys::ofd_setlk(file.as_fd(), what)? {
            return Ok(());
        }
        let left = wait.saturating_sub(start.elapsed());
        if left.is_zero() {
            return Err(StateError::Busy(wait));
        }
        std::thread::sleep(pause.min(left));
        pause = (pause * 2).min(Duration::from_millis(20));
    }
}

/// A record's check word: a mix of its words and its slot, so a record that is
/// torn, zeroed in part or moved reads as damaged. An all-zero record is an
/// empty slot and needs none.
fn check_word(words: &[u64], slot: usize) -> u64 {
    let mut h = mix(slot as u64 ^ 0x7466_6473_7461_7465);
    for w in words {
        h = mix(h ^ w);
    }
    h
}

/// splitmix64's finaliser.
fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

fn u64_at(b: &[u8], at: usize) -> u64 {
    let mut w = [0u8; 8];
    w.copy_from_slice(&b[at..at + 8]);
    u64::from_le_bytes(w)
}

/// Decodes a record of `n` data words followed by its check word: the data, or
/// None when damaged (an all-zero record is an empty one).
fn decode_record(b: &[u8], n: usize, slot: usize) -> Option<Vec<u64>> {
    let words: Vec<u64> = (0..n).map(|i| u64_at(b, i * 8)).collect();
    let check = u64_at(b, n * 8);
    if check == 0 && words.iter().all(|&w| w == 0) {
        return Some(words);
    }
    (check == check_word(&words, slot)).then_some(words)
}

fn encode_record(words: &[u64], slot: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity((words.len() + 1) * 8);
    let check = if words.iter().all(|&w| w == 0) {
        0
    } else {
        check_word(words, slot)
    };
    for w in words.iter().chain([&check]) {
        out.extend_from_slice(&w.to_le_bytes());
    }
    out
}

fn encode_header(kind: Kind, key: &[u8; 16]) -> [u8; HEADER] {
    let mut h = [0u8; HEADER];
    h[..8].copy_from_slice(MAGIC);
    h[8..12].copy_from_slice(&VERSION.to_le_bytes());
    h[12..16].copy_from_slice(&(kind as u32).to_le_bytes());
    h[16..20].copy_from_slice(&(kind.slots() as u32).to_le_bytes());
    h[20..24].copy_from_slice(&(kind.record() as u32).to_le_bytes());
    h[24..40].copy_from_slice(key);
    let sum = Sha256::digest(&h[..HEADER - 8]);
    h[HEADER - 8..].copy_from_slice(&sum[..8]);
    h
}

/// Why a file's header or length is not sound: the damage, as logged.
#[derive(Debug)]
enum Unsound {
    /// The header could not be read.
    Io(io::Error),
    /// The file holds this many bytes, fewer than a header.
    Short(usize),
    /// The checksum or the magic is wrong.
    Damaged,
    /// Another version, kind or layout.
    Layout,
    /// The file's length and the length its kind has.
    Length(u64, u64),
}

impl fmt::Display for Unsound {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Unsound::Io(e) => write!(f, "{e}"),
            Unsound::Short(n) => write!(f, "{n} bytes, shorter than its header"),
            Unsound::Damaged => f.write_str("damaged header"),
            Unsound::Layout => f.write_str("written for another version or layout"),
            Unsound::Length(len, want) => write!(f, "{len} bytes long, not {want}"),
        }
    }
}

impl From<io::Error> for Unsound {
    fn from(e: io::Error) -> Unsound {
        Unsound::Io(e)
    }
}

/// The hash key of a sound header for `kind`, or why it is not one.
fn decode_header(h: &[u8], kind: Kind) -> Result<[u8; 16], Unsound> {
    if h.len() < HEADER {
        return Err(Unsound::Short(h.len()));
    }
    if Sha256::digest(&h[..HEADER - 8])[..8] != h[HEADER - 8..HEADER] || &h[..8] != MAGIC {
        return Err(Unsound::Damaged);
    }
    if h[8..12] != VERSION.to_le_bytes()
        || h[12..16] != (kind as u32).to_le_bytes()
        || h[16..20] != (kind.slots() as u32).to_le_bytes()
        || h[20..24] != (kind.record() as u32).to_le_bytes()
    {
        return Err(Unsound::Layout);
    }
    let mut key = [0u8; 16];
    key.copy_from_slice(&h[24..40]);
    Ok(key)
}

/// One of the files, open and locked; the lock goes with the descriptor.
struct Locked {
    file: File,
    kind: Kind,
    /// The throttle's hash key (zero for bans).
    key: [u8; 16],
    /// Records written since the lock was taken: synced before unlocking.
    dirty: bool,
    /// The file was found damaged and rewritten: records may have been lost.
    repaired: bool,
}

impl Locked {
    /// Opens the file of `kind` in `dir`, locks it and checks the header and
    /// length. A file that is damaged, truncated or of another layout is
    /// rewritten under the exclusive lock (taken for that when `what` was the
    /// shared one) and the rewrite logged; bans keep their sound records,
    /// throttle counts start over under a new key. A file that is missing or
    /// empty is new only when `fresh` (at start, in [`prepare`]); later it was
    /// deleted or emptied under tfd's feet: damage, logged as such and marked
    /// [`Locked::repaired`], so the callers put back what they knew.
    fn open(dir: &StateDir, kind: Kind, what: OfdLock, wait: Duration, fresh: bool) -> Result<Locked, StateError> {
        let path = dir.path().join(kind.name().to_string_lossy().as_ref());
        let (file, vanished) = match dir.open_file(kind.name(), false) {
            Ok(f) => (f, false),
            Err(e) if e.raw_os_error() == Some(libc::ENOENT) => (dir.open_file(kind.name(), true)?, !fresh),
            Err(e) => return Err(e.into()),
        };
        let meta = file.metadata()?;
        if !meta.is_file() || meta.uid() != sys::geteuid() {
            return Err(StateError::Untrusted(format!(
                "{} is not a regular file owned by uid {}",
                path.display(),
                sys::geteuid()
            )));
        }
        lock_within(&file, what, wait)?;
        let mut l = Locked {
            file,
            kind,
            key: [0; 16],
            dirty: false,
            repaired: false,
        };
        match l.sound() {
            Ok(key) => {
                l.key = key;
                return Ok(l);
            }
            Err(_) if what == OfdLock::Shared => {
                // repair needs the file to itself: wait for the other readers
                sys::ofd_setlk(l.file.as_fd(), OfdLock::Unlock)?;
                lock_within(&l.file, OfdLock::Exclusive, wait)?;
            }
            Err(_) => {}
        }
        match l.sound() {
            Ok(key) => l.key = key,
            Err(why) => {
                let len = l.file.metadata().map(|m| m.len()).unwrap_or(0);
                if vanished {
                    l.repaired = true;
                    error!(
                        "shared state {}: DAMAGE: the file was deleted while tfd ran; recreating it                          (bans this node knew are written back, counts start over)",
                        path.display()
                    );
                } else if len != 0 || !fresh {
                    l.repaired = true;
                    error!(
                        "shared state {}: DAMAGE: {why}; rewriting it (bans this node knew are written                          back, counts start over; each node's own still apply)",
                        path.display()
                    );
                }
                l.rewrite()?;
            }
        }
        Ok(l)
    }

    /// The header's key, when header and length are sound.
    fn sound(&self) -> Result<[u8; 16], Unsound> {
        let mut h = [0u8; HEADER];
        let n = read_full(&self.file, &mut h, 0)?;
        let key = decode_header(&h[..n], self.kind)?;
        let len = self.file.metadata()?.len();
        if len != self.kind.len() {
            return Err(Unsound::Length(len, self.kind.len()));
        }
        Ok(key)
    }

    /// Writes a fresh header and empties every damaged record (for bans; for
    /// the throttle every record, since a new key makes the old ones unreachable).
    fn rewrite(&mut self) -> Result<(), StateError> {
        let kind = self.kind;
        let mut body = vec![0u8; kind.slots() * kind.record()];
        if kind == Kind::Bans {
            let n = read_full(&self.file, &mut body, HEADER as u64)?;
            body[n..].fill(0);
            for (slot, rec) in body.chunks_mut(BAN_REC).enumerate() {
                if decode_record(rec, 3, slot).is_none() {
                    rec.fill(0);
                }
            }
        } else {
            getrandom::getrandom(&mut self.key)?;
        }
        self.file.set_len(kind.len())?;
        self.file.write_all_at(&body, HEADER as u64)?;
        self.file.write_all_at(&encode_header(kind, &self.key), 0)?;
        self.dirty = true;
        Ok(())
    }

    /// Reads records `first..first + count` of the file.
    fn read_records(&self, first: usize, count: usize) -> io::Result<Vec<u8>> {
        let rec = self.kind.record();
        let mut buf = vec![0u8; count * rec];
        let n = read_full(&self.file, &mut buf, (HEADER + first * rec) as u64)?;
        buf[n..].fill(0);
        Ok(buf)
    }

    fn write_record(&mut self, slot: usize, words: &[u64]) -> io::Result<()> {
        let at = (HEADER + slot * self.kind.record()) as u64;
        self.file.write_all_at(&encode_record(words, slot), at)?;
        self.dirty = true;
        Ok(())
    }

    /// Syncs what was written, then unlocks (closing would too; this way an
    /// error is seen).
    fn finish(self) -> Result<(), StateError> {
        if self.dirty {
            self.file.sync_data()?;
        }
        sys::ofd_setlk(self.file.as_fd(), OfdLock::Unlock)?;
        Ok(())
    }
}

/// pread until `buf` is full or the file ends; the bytes read.
fn read_full(file: &File, buf: &mut [u8], at: u64) -> io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match file.read_at(&mut buf[n..], at + n as u64) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

/// What counting one failure in the shared tables did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct SharedCounted {
    /// By address.
    pub ip: Counted,
    /// By name.
    pub account: Counted,
    /// Damaged records found (and counted as empty) in the windows read.
    pub damaged: usize,
}

/// The shared throttle tables. Each operation opens the file afresh (a session
/// process must not share an open file description with another, or their
/// locks would not exclude each other) and holds the lock for a few I/Os.
pub(crate) struct SharedThrottle {
    dir: Arc<StateDir>,
    wait: Duration,
}

/// One key's probe window, read out of the file.
struct Window {
    /// The file slots, in probe order.
    slots: Vec<usize>,
    /// Two words per slot, as [`Table::window`] takes them.
    words: Vec<AtomicU64>,
    /// Each slot's label.
    labels: Vec<[u64; LABEL_WORDS]>,
    /// Each slot's time of its last lift by an operator.
    lifted: Vec<u64>,
    damaged: usize,
}

impl SharedThrottle {
    /// The tables in `dir` (prepared by [`prepare`]).
    pub(crate) fn new(dir: Arc<StateDir>) -> SharedThrottle {
        SharedThrottle {
            dir,
            wait: LOGIN_LOCK_WAIT,
        }
    }

    fn lock(&self, what: OfdLock) -> Result<Locked, StateError> {
        Locked::open(&self.dir, Kind::Throttle, what, self.wait, false)
    }

    fn hash(key: &[u8; 16], tag: u8, bytes: &[u8]) -> u64 {
        let mut h = Sha256::new();
        h.update(key);
        h.update([tag]);
        h.update(bytes);
        u64_at(&h.finalize(), 0).max(1) // 0 marks a free slot
    }

    fn ip_key(key: &[u8; 16], ip: IpAddr) -> u64 {
        let (tag, bytes, len) = throttle::ip_counted(ip);
        Self::hash(key, tag, &bytes[..len])
    }

    fn account_key(key: &[u8; 16], name: &[u8]) -> u64 {
        Self::hash(key, ACCOUNT_TAG, name)
    }

    /// Reads `k`'s probe window of table `table` (0 addresses, 1 names).
    fn window(l: &Locked, table: usize, k: u64) -> io::Result<Window> {
        let slots: Vec<usize> = throttle::probe_window(k, THROTTLE_SLOTS)
            .map(|s| table * THROTTLE_SLOTS + s)
            .collect();
        let first = slots[0];
        // the window wraps at most once, at the end of its table
        let run = slots.iter().take_while(|&&s| s >= first).count();
        let mut bytes = l.read_records(first, run)?;
        if run < slots.len() {
            bytes.extend(l.read_records(slots[run], slots.len() - run)?);
        }
        let mut words = Vec::with_capacity(slots.len() * 2);
        let mut labels = Vec::with_capacity(slots.len());
        let mut lifted = Vec::with_capacity(slots.len());
        let mut damaged = 0;
        for (i, &slot) in slots.iter().enumerate() {
            let rec = &bytes[i * THROTTLE_REC..(i + 1) * THROTTLE_REC];
            let w = decode_record(rec, THROTTLE_WORDS, slot).unwrap_or_else(|| {
                damaged += 1;
                vec![0; THROTTLE_WORDS]
            });
            words.push(AtomicU64::new(w[0]));
            words.push(AtomicU64::new(w[1]));
            let mut label = [0u64; LABEL_WORDS];
            label.copy_from_slice(&w[3..]);
            labels.push(label);
            lifted.push(w[2]);
        }
        Ok(Window {
            slots,
            words,
            labels,
            lifted,
            damaged,
        })
    }

    /// Writes back the records of `w` that differ from `before` (two words a
    /// slot), giving the slot that holds `k` the label `label` and, when
    /// `lift` is given, that time of lifting. A slot taken by another key
    /// forgets its lift.
    fn write_back(
        l: &mut Locked,
        w: &Window,
        before: &[u64],
        k: u64,
        label: &[u64; LABEL_WORDS],
        lift: Option<u64>,
    ) -> io::Result<()> {
        for (i, &slot) in w.slots.iter().enumerate() {
            let now = [
                w.words[2 * i].load(Ordering::Relaxed),
                w.words[2 * i + 1].load(Ordering::Relaxed),
            ];
            let mine = now[0] == k && now[0] != 0;
            let lab = if mine { label } else { &w.labels[i] };
            let lifted = match lift {
                _ if now[0] == 0 || now[0] != before[2 * i] => 0,
                Some(t) if mine => t,
                _ => w.lifted[i],
            };
            if now[..] != before[2 * i..2 * i + 2] || (mine && w.labels[i] != *label) || lifted != w.lifted[i] {
                let mut rec = now.to_vec();
                rec.push(lifted);
                rec.extend_from_slice(if now[0] == 0 { &[0; LABEL_WORDS] } else { lab });
                l.write_record(slot, &rec)?;
            }
        }
        Ok(())
    }

    /// Runs `op` on `k`'s window of `table`, writing back what it changed.
    fn update<T>(
        l: &mut Locked,
        table: usize,
        k: u64,
        label: &[u8],
        lift: Option<u64>,
        op: impl FnOnce(&Table<'_>) -> T,
    ) -> io::Result<(T, usize)> {
        let w = Self::window(l, table, k)?;
        let before: Vec<u64> = w.words.iter().map(|a| a.load(Ordering::Relaxed)).collect();
        let out = op(&Table::window(&w.words));
        // a damaged record is rewritten empty even when nothing else changed
        let mut before = before;
        if w.damaged > 0 {
            before.iter_mut().for_each(|b| *b = u64::MAX);
        }
        Self::write_back(l, &w, &before, k, &throttle::label_words(label), lift)?;
        Ok((out, w.damaged))
    }

    /// Is this attempt refused by the counts of every node? `now` in Unix seconds.
    pub(crate) fn check(&self, ip: IpAddr, name: &[u8], p: &Policy, now: u64) -> Result<Option<Blocked>, StateError> {
        let l = self.lock(OfdLock::Shared)?;
        let now = clamp(now);
        let k = Self::ip_key(&l.key, ip);
        let w = Self::window(&l, 0, k)?;
        if let Some(left) = Table::window(&w.words).banned(k, now, p.ip) {
            l.finish()?;
            return Ok(Some(Blocked::Ip(left)));
        }
        let k = Self::account_key(&l.key, name);
        let w = Self::window(&l, 1, k)?;
        let out = Table::window(&w.words).banned(k, now, p.account).map(Blocked::Account);
        l.finish()?;
        Ok(out)
    }

    /// Counts a failed attempt against the address and the name, for all nodes.
    pub(crate) fn failure(&self, ip: IpAddr, name: &[u8], p: &Policy, now: u64) -> Result<SharedCounted, StateError> {
        let mut l = self.lock(OfdLock::Exclusive)?;
        let now = clamp(now);
        let k = Self::ip_key(&l.key, ip);
        let ip_text = throttle::ip_label(ip);
        let (ip_counted, d1) = Self::update(&mut l, 0, k, ip_text.as_bytes(), None, |t| t.fail(k, now, p.ip))?;
        let k = Self::account_key(&l.key, name);
        let (account, d2) = Self::update(&mut l, 1, k, name, None, |t| t.fail(k, now, p.account))?;
        l.finish()?;
        Ok(SharedCounted {
            ip: ip_counted,
            account,
            damaged: d1 + d2,
        })
    }

    /// A successful LOGIN clears the name's failures on every node.
    pub(crate) fn success(&self, name: &[u8]) -> Result<(), StateError> {
        let mut l = self.lock(OfdLock::Exclusive)?;
        let k = Self::account_key(&l.key, name);
        Self::update(&mut l, 1, k, name, None, |t| t.clear(k))?;
        l.finish()
    }

    /// Lifts, on every node, the ban of `ip` (table 0) or the lock of the
    /// name (table 1); whether one was in force. `now` in Unix seconds.
    fn lift(&self, table: usize, what: &[u8], ip: Option<IpAddr>, p: &Policy, now: u64) -> Result<bool, StateError> {
        let mut l = self.lock(OfdLock::Exclusive)?;
        let unix = now;
        let now = clamp(now);
        let (k, limits) = match ip {
            Some(ip) => (Self::ip_key(&l.key, ip), p.ip),
            None => (Self::account_key(&l.key, what), p.account),
        };
        let (was, _) = Self::update(&mut l, table, k, what, Some(unix), |t| {
            let was = t.banned(k, now, limits).is_some();
            t.clear(k);
            was
        })?;
        l.finish()?;
        Ok(was)
    }

    /// When an operator last lifted the ban of `ip` (Some) or the lock of
    /// `name` on any node, in Unix seconds: a node's own table drops a ban
    /// that began before then.
    pub(crate) fn lifted_at(&self, ip: Option<IpAddr>, name: &[u8]) -> Result<Option<u64>, StateError> {
        let l = self.lock(OfdLock::Shared)?;
        let (table, k) = match ip {
            Some(ip) => (0, Self::ip_key(&l.key, ip)),
            None => (1, Self::account_key(&l.key, name)),
        };
        let w = Self::window(&l, table, k)?;
        l.finish()?;
        Ok((0..w.slots.len())
            .find(|&i| w.words[2 * i].load(Ordering::Relaxed) == k)
            .map(|i| w.lifted[i])
            .filter(|&t| t != 0))
    }

    /// Lifts `ip`'s throttle ban on every node.
    pub(crate) fn lift_ip(&self, ip: IpAddr, p: &Policy, now: u64) -> Result<bool, StateError> {
        self.lift(0, throttle::ip_label(ip).as_bytes(), Some(ip), p, now)
    }

    /// Lifts the lock of LOGIN name `name` on every node.
    pub(crate) fn lift_name(&self, name: &[u8], p: &Policy, now: u64) -> Result<bool, StateError> {
        self.lift(1, name, None, p, now)
    }

    /// Every ban and lock in force on every node, named by their labels.
    pub(crate) fn held(&self, p: &Policy, now: u64) -> Result<Vec<Held>, StateError> {
        let l = self.lock(OfdLock::Shared)?;
        let now = clamp(now);
        let bytes = l.read_records(0, 2 * THROTTLE_SLOTS)?;
        l.finish()?;
        let mut out = Vec::new();
        for (slot, rec) in bytes.chunks(THROTTLE_REC).enumerate() {
            let Some(w) = decode_record(rec, THROTTLE_WORDS, slot) else {
                continue;
            };
            let (kind, limits) = if slot < THROTTLE_SLOTS {
                (HeldKind::Address, p.ip)
            } else {
                (HeldKind::Name, p.account)
            };
            if w[0] == 0 {
                continue;
            }
            if let Some(left) = throttle::ban_left(w[1], now, limits) {
                out.push(Held {
                    kind,
                    label: throttle::label_text(&w[3..]),
                    left,
                });
            }
        }
        Ok(out)
    }
}

/// Unix seconds as the tables keep them (u32: good until 2106).
fn clamp(now: u64) -> u32 {
    now.min(u32::MAX as u64) as u32
}

#[cfg(test)]
mod tests;
