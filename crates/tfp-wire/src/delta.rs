//! tfd's delta transfers on the wire (doc/compatibility.md "Delta
//! transfers"): the block size, the signature frames and the instruction
//! records a delta upload sends. Both sides parse with these, so neither can
//! read them differently.
//!
//! Signatures are librsync's (MD4 magic `0x72730136`, as `fast_rsync` makes
//! them): per block a 4-byte rolling checksum and the first [`STRONG`] bytes
//! of its MD4, block after block; they travel in frames that start with `S`
//! and hold whole entries only.
//!
//! A delta is a sequence of frames of records, each frame whole records only:
//! - `C` offset (u64, big-endian) length (u64): copy `length` bytes of the
//!   old file from `offset`;
//! - `L` length (u32, big-endian) then that many bytes: literal data.
//!
//! The frame `E` followed by the new file's SHA-256 (64 hex digits) ends the
//! delta.
//!
//! [`Diff`] makes a delta as the new file's bytes come.
//!
//! A delta download (`TFDDELTAGET`) runs the same pieces the other way: the
//! client sends its file's signatures, the server the records.

/// Bytes of the MD4 kept per block (at most 16). The end-to-end SHA-256
/// catches what a collision of these lets through.
pub const STRONG: u32 = 8;
/// Bytes of one signature entry: the rolling checksum and the strong hash.
pub const ENTRY: usize = 4 + STRONG as usize;
/// librsync's signature header: magic, block size, strong hash size.
pub const SIG_HEADER: usize = 12;
/// The MD4 signature magic.
pub const SIG_MAGIC: u32 = 0x7273_0136;
/// The smallest block (rsync's `BLOCK_SIZE`).
pub const MIN_BLOCK: u32 = 700;
/// The largest block (rsync's `MAX_BLOCK_SIZE`).
pub const MAX_BLOCK: u32 = 1 << 17;
/// The most payload a delta or signature frame carries.
pub const FRAME_DATA: usize = 256 << 10;
/// The most signature bytes a delta download's client may send (tfd holds
/// them and an index of them: 32 MiB, 2.8 million blocks, a file of 350 GiB
/// in 128 KiB blocks, took a session to a peak of 172 MiB resident, see
/// the test `delta_down_signature_memory`); a bigger old copy is fetched
/// whole.
pub const MAX_GET_SIGNATURE: u64 = 32 << 20;
/// Bytes of a run of copies after which its record is sent ([`Records::copy`]).
pub const COPY_RUN: u64 = 8 << 20;
/// A copy record's size.
pub const COPY_LEN: usize = 17;
/// A literal record's header size.
pub const LIT_HEAD: usize = 5;

/// The block size for a file of `size` bytes, as rsync chooses it: about
/// the square root of the size, a multiple of 8, within
/// [`MIN_BLOCK`]..=[`MAX_BLOCK`].
pub fn block_size(size: u64) -> u32 {
    let root = (size as f64).sqrt() as u64 / 8 * 8;
    root.clamp(MIN_BLOCK as u64, MAX_BLOCK as u64) as u32
}

/// How many signature entries a file of `size` bytes has in blocks of `block`.
pub fn entries(size: u64, block: u32) -> u64 {
    size.div_ceil(block.max(1) as u64)
}

/// The librsync signature header for `block`.
pub fn sig_header(block: u32) -> [u8; SIG_HEADER] {
    let mut h = [0u8; SIG_HEADER];
    h[..4].copy_from_slice(&SIG_MAGIC.to_be_bytes());
    h[4..8].copy_from_slice(&block.to_be_bytes());
    h[8..].copy_from_slice(&STRONG.to_be_bytes());
    h
}

/// One instruction of a delta.
#[derive(Debug, PartialEq, Eq)]
pub enum Op<'a> {
    /// Copy `len` bytes of the old file from `offset`.
    Copy { offset: u64, len: u64 },
    /// These bytes.
    Literal(&'a [u8]),
}

/// The records of one delta frame, in order; `Err(())` at the first
/// malformed one (unknown tag, cut short).
pub fn ops(mut frame: &[u8]) -> impl Iterator<Item = Result<Op<'_>, ()>> {
    std::iter::from_fn(move || {
        let (&tag, rest) = frame.split_first()?;
        let r = match tag {
            b'C' if rest.len() >= 16 => {
                let offset = u64::from_be_bytes(rest[..8].try_into().unwrap_or_default());
                let len = u64::from_be_bytes(rest[8..16].try_into().unwrap_or_default());
                frame = &rest[16..];
                Ok(Op::Copy { offset, len })
            }
            b'L' if rest.len() >= 4 => {
                let len = u32::from_be_bytes(rest[..4].try_into().unwrap_or_default()) as usize;
                if rest.len() - 4 < len {
                    Err(())
                } else {
                    let (data, after) = rest[4..].split_at(len);
                    frame = after;
                    Ok(Op::Literal(data))
                }
            }
            _ => Err(()),
        };
        if r.is_err() {
            frame = &[];
        }
        Some(r)
    })
}

/// Appends a copy record.
pub fn push_copy(out: &mut Vec<u8>, offset: u64, len: u64) {
    out.push(b'C');
    out.extend_from_slice(&offset.to_be_bytes());
    out.extend_from_slice(&len.to_be_bytes());
}

/// Appends a literal record (`data` at most u32::MAX bytes).
pub fn push_literal(out: &mut Vec<u8>, data: &[u8]) {
    out.push(b'L');
    out.extend_from_slice(&(data.len() as u32).to_be_bytes());
    out.extend_from_slice(data);
}

/// One command of a librsync delta (what `fast_rsync::diff` writes).
#[derive(Debug, PartialEq, Eq)]
pub enum RsOp<'a> {
    /// Copy `len` bytes of the old file from `offset`.
    Copy { offset: u64, len: u64 },
    /// These bytes, held in the delta.
    Literal(&'a [u8]),
}

/// Reads a big-endian number of `n` bytes from `d` at `*i`.
fn be(d: &[u8], i: &mut usize, n: usize) -> Option<u64> {
    let b = d.get(*i..i.checked_add(n)?)?;
    *i += n;
    Some(b.iter().fold(0u64, |a, &x| a << 8 | x as u64))
}

/// The commands of a librsync delta after its 4-byte magic, in order, up to
/// its end command; `Err(())` at the first one that does not parse.
pub fn rs_ops(delta: &[u8]) -> impl Iterator<Item = Result<RsOp<'_>, ()>> {
    let mut i = 4usize;
    let mut done = false;
    std::iter::from_fn(move || {
        if done || i >= delta.len() {
            return None;
        }
        let op = delta[i];
        i += 1;
        let r = match op {
            0 => {
                done = true;
                return None;
            }
            0x01..=0x44 => {
                let len = if op <= 0x40 {
                    Some(op as u64)
                } else {
                    be(delta, &mut i, 1 << (op - 0x41))
                };
                match len.and_then(|l| usize::try_from(l).ok()).and_then(|l| {
                    let lit = delta.get(i..i.checked_add(l)?)?;
                    i += l;
                    Some(lit)
                }) {
                    Some(lit) => Ok(RsOp::Literal(lit)),
                    None => Err(()),
                }
            }
            0x45..=0x54 => {
                let k = op - 0x45;
                match (be(delta, &mut i, 1 << (k / 4)), be(delta, &mut i, 1 << (k % 4))) {
                    (Some(offset), Some(len)) => Ok(RsOp::Copy { offset, len }),
                    _ => Err(()),
                }
            }
            _ => Err(()),
        };
        if r.is_err() {
            done = true;
        }
        Some(r)
    })
}

/// The literal bytes of a librsync delta (what a delta of it would send).
pub fn rs_literal_bytes(delta: &[u8]) -> u64 {
    rs_ops(delta)
        .map_while(Result::ok)
        .map(|op| match op {
            RsOp::Literal(d) => d.len() as u64,
            RsOp::Copy { .. } => 0,
        })
        .sum()
}

/// Delta records gathered into frames of at most about [`FRAME_DATA`]
/// bytes, each full frame handed to `send`; adjacent copies become one.
#[derive(Debug, Default)]
pub struct Records {
    frame: Vec<u8>,
    /// A copy not yet written, grown while the next one continues it.
    copy: Option<(u64, u64)>,
    /// Bytes of frames handed to `send`.
    pub sent: u64,
    /// Bytes of literal data.
    pub literal: u64,
    /// Bytes copied from the old file.
    pub reused: u64,
}

impl Records {
    fn flush_copy(&mut self) {
        if let Some((off, len)) = self.copy.take() {
            push_copy(&mut self.frame, off, len);
            self.reused += len;
        }
    }

    /// A copy of `len` bytes of the old file from `off`. A long run of
    /// copies goes out every [`COPY_RUN`] bytes, with the frame it ends, so
    /// that the other side builds while this one still diffs.
    pub fn copy<E>(&mut self, off: u64, len: u64, send: &mut dyn FnMut(&[u8]) -> Result<(), E>) -> Result<(), E> {
        match &mut self.copy {
            Some((o, l)) if o.checked_add(*l) == Some(off) => *l += len,
            _ => {
                self.flush_copy();
                self.copy = Some((off, len));
            }
        }
        if self.copy.is_some_and(|(_, l)| l >= COPY_RUN) {
            self.flush_copy();
            return self.send(send);
        }
        self.send_if_full(send)
    }

    /// Literal bytes (cut into records that fit a frame).
    pub fn literal<E>(&mut self, mut data: &[u8], send: &mut dyn FnMut(&[u8]) -> Result<(), E>) -> Result<(), E> {
        self.flush_copy();
        self.literal += data.len() as u64;
        while !data.is_empty() {
            let room = FRAME_DATA.saturating_sub(self.frame.len() + LIT_HEAD).max(1);
            let (piece, rest) = data.split_at(room.min(data.len()));
            push_literal(&mut self.frame, piece);
            data = rest;
            self.send_if_full(send)?;
        }
        Ok(())
    }

    /// The commands of one librsync delta of `data_len` bytes of the new
    /// file as records; `Err(bad())` when it does not parse or does not
    /// cover exactly `data_len` bytes.
    pub fn add_rs<E>(
        &mut self,
        delta: &[u8],
        data_len: usize,
        send: &mut dyn FnMut(&[u8]) -> Result<(), E>,
        bad: &dyn Fn() -> E,
    ) -> Result<(), E> {
        let mut at = 0u64;
        for op in rs_ops(delta) {
            match op.map_err(|()| bad())? {
                RsOp::Literal(d) => {
                    at += d.len() as u64;
                    self.literal(d, send)?;
                }
                RsOp::Copy { offset, len } => {
                    at = at.saturating_add(len);
                    self.copy(offset, len, send)?;
                }
            }
        }
        if at != data_len as u64 {
            return Err(bad());
        }
        Ok(())
    }

    fn send_if_full<E>(&mut self, send: &mut dyn FnMut(&[u8]) -> Result<(), E>) -> Result<(), E> {
        if self.frame.len() + COPY_LEN >= FRAME_DATA {
            self.send(send)?;
        }
        Ok(())
    }

    fn send<E>(&mut self, send: &mut dyn FnMut(&[u8]) -> Result<(), E>) -> Result<(), E> {
        if !self.frame.is_empty() {
            send(&self.frame)?;
            self.sent += self.frame.len() as u64;
            self.frame.clear();
        }
        Ok(())
    }

    /// Sends what is pending (the last frame).
    pub fn finish<E>(&mut self, send: &mut dyn FnMut(&[u8]) -> Result<(), E>) -> Result<(), E> {
        self.flush_copy();
        self.send(send)
    }
}

/// Bytes of new data whose signatures are computed at once to check that a
/// run of copied blocks goes on (the fast path of [`Diff::feed`]).
const FAST_BYTES: usize = 1 << 20;
/// Bytes searched at once with the rolling checksum, where the run broke.
const REGION: usize = 1 << 20;

/// The block signatures of `data` (whole blocks of `block`, the last one
/// may be short), without librsync's header: what `S` frames carry. Large
/// inputs are split at a block boundary over two threads (the MD4s are
/// most of the work of a signature).
pub fn signature_entries(data: &[u8], block: u32) -> Vec<u8> {
    let opts = fast_rsync::SignatureOptions {
        block_size: block.max(1),
        crypto_hash_size: STRONG,
    };
    let one = |d: &[u8]| {
        fast_rsync::Signature::calculate(d, opts)
            .into_serialized()
            .split_off(SIG_HEADER)
    };
    let b = block.max(1) as usize;
    if data.len() < 2 << 20 || data.len() < 4 * b {
        return one(data);
    }
    let mid = (data.len() / 2).div_ceil(b) * b;
    let (a, z) = data.split_at(mid.min(data.len()));
    std::thread::scope(|s| {
        let second = s.spawn(|| one(z));
        let mut first = one(a);
        match second.join() {
            Ok(rest) => first.extend_from_slice(&rest),
            // a thread that could not run: the second half here
            Err(_) => first.extend_from_slice(&one(z)),
        }
        first
    })
}

/// Why [`signatures_ahead`] stopped short.
#[derive(Debug)]
pub enum SigStop<E> {
    /// Reading the file failed (it shrank meanwhile, an I/O error).
    Read(std::io::Error),
    /// `emit` said stop.
    Emit(E),
}

/// The block signatures of a file of `size` bytes (what `S` frames carry),
/// handed to `emit` a window of whole blocks at a time, in order, `read`
/// (bytes at an offset) filling each window on a second thread while this
/// one makes the last window's signatures: the reads (a copy through the
/// page cache, a quarter of a signature's CPU) no longer leave a core idle
/// between the MD4 halves of [`signature_entries`]. At most three windows
/// of about `window` bytes are held.
pub fn signatures_ahead<E>(
    size: u64,
    block: u32,
    window: usize,
    read: &(dyn Fn(&mut [u8], u64) -> std::io::Result<()> + Sync),
    emit: &mut dyn FnMut(&[u8]) -> Result<(), E>,
) -> Result<(), SigStop<E>> {
    let b = block.max(1) as usize;
    // whole blocks per window, so the windows' signatures join into the file's
    let window = ((window / b).max(1) * b) as u64;
    let (tx, rx) = std::sync::mpsc::sync_channel::<std::io::Result<(u64, Vec<u8>)>>(1);
    let (back, spare) = std::sync::mpsc::channel::<Vec<u8>>();
    std::thread::scope(|s| {
        s.spawn(move || {
            let mut at = 0u64;
            while at < size {
                let n = (size - at).min(window) as usize;
                let mut buf = spare.try_recv().unwrap_or_default();
                buf.resize(n, 0);
                let r = read(&mut buf, at).map(|()| (at, buf));
                let failed = r.is_err();
                // a receiver gone (emit stopped) ends the reader
                if tx.send(r).is_err() || failed {
                    return;
                }
                at += n as u64;
            }
        });
        // moved in, so a return drops it before the scope waits for the
        // reader: one blocked on a full queue sees it gone and stops
        let rx = rx;
        let mut done = 0u64;
        while done < size {
            let (at, buf) = match rx.recv() {
                Ok(Ok(w)) => w,
                Ok(Err(e)) => return Err(SigStop::Read(e)),
                Err(_) => return Err(SigStop::Read(std::io::Error::other("the reader stopped"))),
            };
            if at != done {
                return Err(SigStop::Read(std::io::Error::other("windows out of order")));
            }
            emit(&signature_entries(&buf, block)).map_err(SigStop::Emit)?;
            done += buf.len() as u64;
            let _ = back.send(buf);
        }
        Ok(())
    })
}

/// A delta of a new file against an old file's signatures, made as the new
/// file's bytes come ([`Diff::feed`]).
///
/// Most of a changed file is usually its old blocks in order: while a run of
/// copies goes on, the next bytes are checked against the blocks that would
/// continue it, a MiB at a time, with the SIMD signatures librsync makes of
/// the old file (weak checksum and strong hash both, as the rolling search
/// checks a match), several times faster than the byte-by-byte search;
/// where the run breaks, `fast_rsync`'s rolling search takes over until it
/// finds the next match. What matches is what the rolling search alone would
/// find (the same checks); a match is never trusted beyond them: the
/// end-to-end SHA-256 is.
pub struct Diff<'a> {
    entries: &'a [u8],
    index: fast_rsync::IndexedSignature<'a>,
    block: usize,
    /// Whole blocks of the old file, and the length of its short last one.
    full: u64,
    tail: usize,
    /// The old block a run of copies continues with, if one is going on.
    expect: Option<u64>,
    delta: Vec<u8>,
}

impl<'a> Diff<'a> {
    /// A differ against `sig`, the signatures of an old file of `old_size`
    /// bytes (in blocks of `sig`'s block size).
    pub fn new(sig: &'a fast_rsync::Signature, old_size: u64, block: u32) -> Diff<'a> {
        let entries = sig.serialized().get(SIG_HEADER..).unwrap_or_default();
        let b = block.max(1) as u64;
        let (mut full, tail) = (old_size / b, (old_size % b) as usize);
        // signatures that do not describe such a file: the rolling search only
        if entries.len() as u64 != self::entries(old_size, block) * ENTRY as u64 {
            full = 0;
        }
        Diff {
            entries,
            index: sig.index(),
            block: b as usize,
            full,
            tail: if full == 0 { 0 } else { tail },
            expect: Some(0),
            delta: Vec::new(),
        }
    }

    /// Literal bytes a delta of `data` (the file's first bytes) would send:
    /// whether a delta pays (`None`: `fast_rsync` wrote a delta this cannot
    /// read). The differ is left as new.
    pub fn literal_share(&mut self, data: &[u8]) -> Option<u64> {
        let mut r = Records::default();
        let fed = self.feed(data, true, &mut r, &mut |_| Ok::<(), ()>(()), &|| ());
        self.expect = Some(0);
        fed.ok().map(|_| r.literal)
    }

    /// How many of the whole blocks of `data` are old blocks `i`, `i + 1`, …
    fn run(&self, data: &[u8], i: u64) -> usize {
        let got = signature_entries(data, self.block as u32);
        let from = i as usize * ENTRY;
        let want = self.entries.get(from..from + got.len()).unwrap_or_default();
        got.chunks(ENTRY)
            .zip(want.chunks(ENTRY))
            .take_while(|(a, b)| a == b)
            .count()
    }

    /// Diffs `data`, the new file's next bytes (`last`: they end it), into
    /// records for `out`. Returns how many bytes it settled: all when
    /// `last`, else all but at most `block - 1` at the end, which may begin
    /// a match the next bytes complete (give them again, first). `bad()`
    /// when `fast_rsync` writes a delta this cannot read.
    pub fn feed<E>(
        &mut self,
        data: &[u8],
        last: bool,
        out: &mut Records,
        send: &mut dyn FnMut(&[u8]) -> Result<(), E>,
        bad: &dyn Fn() -> E,
    ) -> Result<usize, E> {
        let b = self.block;
        let mut pos = 0usize;
        while pos < data.len() {
            let left = data.len() - pos;
            if let Some(i) = self.expect {
                if left >= b && i < self.full {
                    let k = ((left / b) as u64)
                        .min(self.full - i)
                        .min((FAST_BYTES / b).max(1) as u64) as usize;
                    let m = self.run(&data[pos..pos + k * b], i);
                    if m > 0 {
                        out.copy(i * b as u64, (m * b) as u64, send)?;
                        pos += m * b;
                        self.expect = Some(i + m as u64);
                    }
                    if m < k {
                        self.expect = None;
                    }
                    continue;
                }
                if i == self.full && self.tail > 0 && last && left == self.tail {
                    // the old file's short last block, at the new file's end
                    if self.run(&data[pos..], i) == 1 {
                        out.copy(i * b as u64, self.tail as u64, send)?;
                        pos += self.tail;
                    }
                    self.expect = None;
                    continue;
                }
                if left < b && !last {
                    break;
                }
                self.expect = None;
            }
            let end = pos + left.min(REGION.max(2 * b));
            let ends = last && end == data.len();
            let mut delta = std::mem::take(&mut self.delta);
            delta.clear();
            let made = fast_rsync::diff(&self.index, &data[pos..end], &mut delta);
            let r = made
                .map_err(|_| bad())
                .and_then(|()| self.settle(&delta, end - pos, ends, out, send, bad));
            self.delta = delta;
            let settled = r?;
            if settled == 0 {
                // fewer bytes than a block, not the file's end: wait for more
                break;
            }
            pos += settled;
        }
        Ok(pos)
    }

    /// Hands the records of one rolling search over `len` bytes to `out`;
    /// unless it `ends` the file, a literal at its end keeps its last
    /// `block - 1` bytes back (a match may start there). Returns the bytes
    /// settled.
    fn settle<E>(
        &mut self,
        delta: &[u8],
        len: usize,
        ends: bool,
        out: &mut Records,
        send: &mut dyn FnMut(&[u8]) -> Result<(), E>,
        bad: &dyn Fn() -> E,
    ) -> Result<usize, E> {
        let mut at = 0usize;
        let mut pending: Option<&[u8]> = None;
        let mut copy_end = None;
        for op in rs_ops(delta) {
            match op.map_err(|()| bad())? {
                RsOp::Literal(d) => {
                    if let Some(p) = pending.take() {
                        out.literal(p, send)?;
                    }
                    pending = Some(d);
                    at += d.len();
                    copy_end = None;
                }
                RsOp::Copy { offset, len } => {
                    if let Some(p) = pending.take() {
                        out.literal(p, send)?;
                    }
                    out.copy(offset, len, send)?;
                    at = at.saturating_add(len as usize);
                    copy_end = offset.checked_add(len);
                }
            }
        }
        if at != len {
            return Err(bad());
        }
        let mut settled = len;
        if let Some(p) = pending {
            let keep = if ends { 0 } else { p.len().min(self.block - 1) };
            let (now, later) = p.split_at(p.len() - keep);
            if !now.is_empty() {
                out.literal(now, send)?;
            }
            settled -= later.len();
        }
        let b = self.block as u64;
        self.expect = copy_end.filter(|e| e % b == 0 && e / b <= self.full).map(|e| e / b);
        Ok(settled)
    }

    /// [`Diff::feed`], with `hash` taking the bytes settled in order: most of
    /// them on a second thread while this one diffs.
    pub fn feed_hashing<E>(
        &mut self,
        data: &[u8],
        last: bool,
        hash: &mut Sha256,
        out: &mut Records,
        send: &mut dyn FnMut(&[u8]) -> Result<(), E>,
        bad: &dyn Fn() -> E,
    ) -> Result<usize, E> {
        // at least this much is settled, whatever the records
        let sure = if last {
            data.len()
        } else {
            data.len().saturating_sub(self.block - 1)
        };
        let (early, rest) = data.split_at(sure);
        let r = std::thread::scope(|s| {
            let h = s.spawn(|| {
                let mut h = hash.clone();
                h.update(early);
                h
            });
            let r = self.feed(data, last, out, send, bad);
            (r, h.join())
        });
        let (r, h) = r;
        let n = r?;
        *hash = match h {
            Ok(h) => h,
            Err(_) => {
                let mut h = hash.clone();
                h.update(early);
                h
            }
        };
        match n.checked_sub(sure) {
            Some(more) if more <= rest.len() => hash.update(&rest[..more]),
            _ => return Err(bad()),
        }
        Ok(n)
    }
}

/// Bytes each window of [`read_ahead`] repeats of the one before it: a
/// differ leaves at most a block less one byte of a window unsettled.
pub const OVERLAP: u64 = MAX_BLOCK as u64;

/// What [`read_ahead`]'s reader hands on.
pub enum Ahead {
    /// The file's bytes from this offset (a window; it repeats the last
    /// [`OVERLAP`] bytes of the one before).
    Window(u64, Vec<u8>),
    /// The SHA-256 of the whole file, after its last window.
    Sum(Sha256),
    /// Reading failed.
    Failed(std::io::Error),
}

/// The reader of [`read_ahead`], seen from the differ.
pub struct Reader {
    rx: std::sync::mpsc::Receiver<Ahead>,
    back: std::sync::mpsc::Sender<Vec<u8>>,
}

impl Reader {
    /// The next window (or the sum, or the failure); `None` when the
    /// reader is gone.
    pub fn next(&self) -> Option<Ahead> {
        self.rx.recv().ok()
    }

    /// Gives a window's buffer back for the reader to fill again.
    pub fn give_back(&self, buf: Vec<u8>) {
        let _ = self.back.send(buf);
    }
}

/// Runs `body` with a reader that reads a file of `size` bytes with `read`
/// (bytes at an offset) on a second thread, in windows of `window` bytes,
/// at most `ahead` of them waiting, hashing every byte once as it goes: the
/// hash is done while the differ waits for signatures or diffs, and the
/// file is read once. The reader stops when `body` returns.
pub fn read_ahead<T>(
    size: u64,
    window: usize,
    ahead: usize,
    read: &(dyn Fn(&mut [u8], u64) -> std::io::Result<()> + Sync),
    body: impl FnOnce(&Reader) -> T,
) -> T {
    let (tx, rx) = std::sync::mpsc::sync_channel(ahead.max(1));
    let (back, spare) = std::sync::mpsc::channel::<Vec<u8>>();
    let step = (window as u64).max(OVERLAP + 1) - OVERLAP;
    std::thread::scope(|s| {
        s.spawn(move || {
            let mut hash = Sha256::new();
            let mut at = 0u64;
            // (the first window starts at 0; each next one OVERLAP before
            // where the last one ended)
            let mut start = 0u64;
            while at < size || size == 0 {
                let end = (start + window as u64).min(size);
                let mut buf = spare.try_recv().unwrap_or_default();
                buf.resize((end - start) as usize, 0);
                if let Err(e) = read(&mut buf, start) {
                    let _ = tx.send(Ahead::Failed(e));
                    return;
                }
                hash.update(&buf[(at - start) as usize..]);
                at = end;
                if tx.send(Ahead::Window(start, buf)).is_err() {
                    return;
                }
                if end == size {
                    break;
                }
                start += step;
            }
            let _ = tx.send(Ahead::Sum(hash));
        });
        let reader = Reader { rx, back };
        let r = body(&reader);
        // the reader sees it gone and stops
        drop(reader);
        r
    })
}

/// The identity of a file's version as the delta commands name it:
/// `<size>-<mtime s>-<mtime ns>-<inode>`.
pub fn identity(size: u64, mtime: i64, mtime_ns: i64, ino: u64) -> String {
    format!("{size}-{mtime}-{mtime_ns}-{ino}")
}

use sha2::{Digest, Sha256};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_round_trip_and_malformed_ones_stop() {
        let mut f = Vec::new();
        push_copy(&mut f, 7, 9);
        push_literal(&mut f, b"abc");
        let v: Vec<_> = ops(&f).collect();
        assert_eq!(v, vec![Ok(Op::Copy { offset: 7, len: 9 }), Ok(Op::Literal(b"abc"))]);
        f.truncate(f.len() - 1);
        assert_eq!(ops(&f).last(), Some(Err(())));
        assert_eq!(ops(b"Z").collect::<Vec<_>>(), vec![Err(())]);
    }

    #[test]
    fn librsync_commands_parse_and_bad_ones_stop() {
        // magic, literal of 3, copy (1-byte offset, 1-byte length), end
        let d = [0x72, 0x73, 0x02, 0x36, 3, b'a', b'b', b'c', 0x45, 7, 9, 0];
        let v: Vec<_> = rs_ops(&d).collect();
        assert_eq!(v, vec![Ok(RsOp::Literal(b"abc")), Ok(RsOp::Copy { offset: 7, len: 9 })]);
        assert_eq!(rs_literal_bytes(&d), 3);
        let cut = [0x72, 0x73, 0x02, 0x36, 0x44, 0xff, 0xff];
        assert_eq!(rs_ops(&cut).collect::<Vec<_>>(), vec![Err(())]);
        let mut r = Records::default();
        let mut frames: Vec<Vec<u8>> = Vec::new();
        let mut send = |f: &[u8]| -> Result<(), ()> {
            frames.push(f.to_vec());
            Ok(())
        };
        r.add_rs(&d, 12, &mut send, &|| ()).unwrap();
        r.copy(16, 1, &mut send).unwrap();
        r.finish(&mut send).unwrap();
        let ops: Vec<_> = ops(&frames[0]).collect();
        assert_eq!(ops, vec![Ok(Op::Literal(b"abc")), Ok(Op::Copy { offset: 7, len: 10 })]);
        assert!(Records::default().add_rs(&d, 11, &mut |_| Ok(()), &|| ()).is_err());
    }

    /// Pseudo-random bytes.
    fn noise(seed: u64, n: usize) -> Vec<u8> {
        let mut x = seed | 1;
        (0..n)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x as u8
            })
            .collect()
    }

    /// The delta of `new` against `old` fed in windows of `window` bytes,
    /// applied to `old`; and the literal bytes it sent.
    fn round_trip(old: &[u8], new: &[u8], window: usize) -> (Vec<u8>, u64) {
        let block = block_size(old.len() as u64).clamp(MIN_BLOCK, 1024);
        let sig =
            fast_rsync::Signature::deserialize([sig_header(block).to_vec(), signature_entries(old, block)].concat())
                .unwrap();
        let mut d = Diff::new(&sig, old.len() as u64, block);
        let mut out = Records::default();
        let mut frames = Vec::new();
        let mut send = |f: &[u8]| -> Result<(), ()> {
            frames.extend_from_slice(f);
            Ok(())
        };
        let mut hash = Sha256::new();
        let mut at = 0;
        loop {
            let end = (at + window).min(new.len());
            let last = end == new.len();
            let n = d
                .feed_hashing(&new[at..end], last, &mut hash, &mut out, &mut send, &|| ())
                .unwrap();
            at += n;
            if last {
                assert_eq!(at, new.len());
                break;
            }
            assert!(end - at < block as usize, "settled all but less than a block");
        }
        out.finish(&mut send).unwrap();
        assert_eq!(hash.finalize().as_slice(), Sha256::digest(new).as_slice());
        let mut built = Vec::new();
        for op in ops(&frames) {
            match op.unwrap() {
                Op::Copy { offset, len } => built.extend_from_slice(&old[offset as usize..(offset + len) as usize]),
                Op::Literal(d) => built.extend_from_slice(d),
            }
        }
        (built, out.literal)
    }

    #[test]
    fn the_differ_rebuilds_every_kind_of_change() {
        let old = noise(7, 300_000);
        let mut rewritten = old.clone();
        rewritten[100_000..104_096].iter_mut().for_each(|b| *b = !*b);
        let inserted = [noise(9, 1024), old.clone()].concat();
        let deleted = [&old[..50_000], &old[53_333..]].concat();
        let truncated = old[..222_222].to_vec();
        let grown = [old.clone(), noise(11, 77_777)].concat();
        let moved = [&old[150_000..], &old[..150_000]].concat();
        let cases = [
            ("unchanged", old.clone(), 0u64),
            ("rewritten", rewritten, 4096 + 2 * 1024),
            ("inserted", inserted, 1024 + 1024),
            ("deleted", deleted, 2 * 1024),
            ("truncated", truncated, 1024),
            ("grown", grown, 77_777 + 1024),
            ("moved", moved, 2 * 1024),
            ("new", noise(13, 123_456), 123_456),
            ("empty", Vec::new(), 0),
        ];
        for (what, new, most) in cases {
            for window in [1000, 4096, 65_536, 1 << 20] {
                let (built, literal) = round_trip(&old, &new, window);
                assert!(built == new, "{what}, windows of {window}: rebuilt wrong");
                // windows never cost literal bytes: what is held back is given again
                assert!(literal <= most, "{what}, windows of {window}: {literal} literal bytes");
            }
        }
    }

    #[test]
    fn the_probe_tells_a_changed_file() {
        let old = noise(3, 200_000);
        let block = 1024;
        let sig =
            fast_rsync::Signature::deserialize([sig_header(block).to_vec(), signature_entries(&old, block)].concat())
                .unwrap();
        let mut d = Diff::new(&sig, old.len() as u64, block);
        assert_eq!(d.literal_share(&old[..100 * 1024]), Some(0));
        assert_eq!(d.literal_share(&noise(5, 100_000)), Some(100_000));
        let sig_of = signature_entries(&old, block);
        let one = fast_rsync::Signature::calculate(
            &old,
            fast_rsync::SignatureOptions {
                block_size: block,
                crypto_hash_size: STRONG,
            },
        );
        assert_eq!(sig_of, one.serialized()[SIG_HEADER..].to_vec());
        let big = noise(17, 5 << 20);
        let one = fast_rsync::Signature::calculate(
            &big,
            fast_rsync::SignatureOptions {
                block_size: 1000,
                crypto_hash_size: STRONG,
            },
        );
        assert_eq!(
            signature_entries(&big, 1000),
            one.serialized()[SIG_HEADER..].to_vec(),
            "two threads, one signature"
        );
    }

    #[test]
    fn signatures_read_ahead_are_the_files() {
        let data = noise(21, (9 << 20) + 4321);
        let block = 3000;
        let read = |buf: &mut [u8], at: u64| {
            buf.copy_from_slice(&data[at as usize..at as usize + buf.len()]);
            Ok(())
        };
        let mut got = Vec::new();
        let r = signatures_ahead(data.len() as u64, block, 4 << 20, &read, &mut |e: &[u8]| {
            got.extend_from_slice(e);
            Ok::<(), ()>(())
        });
        assert!(r.is_ok());
        assert_eq!(
            got,
            signature_entries(&data, block),
            "windows join into the file's signatures"
        );
        let short = |_: &mut [u8], at: u64| match at {
            0 => Ok(()),
            _ => Err(std::io::Error::other("shrank")),
        };
        let r = signatures_ahead(9 << 20, block, 4 << 20, &short, &mut |_: &[u8]| Ok::<(), ()>(()));
        assert!(matches!(r, Err(SigStop::Read(_))));
        let r = signatures_ahead(9 << 20, block, 1 << 20, &read, &mut |_: &[u8]| Err("stop"));
        assert!(matches!(r, Err(SigStop::Emit("stop"))));
    }

    #[test]
    fn block_sizes_are_rsyncs() {
        assert_eq!(block_size(0), MIN_BLOCK);
        assert_eq!(block_size(64 << 20), 8192);
        assert_eq!(block_size(1 << 40), MAX_BLOCK);
    }
}
