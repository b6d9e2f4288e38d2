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
//! - `L` length (u32, big-endian) then that many bytes: literal data;
//! - `Z` length (u32, big-endian) then that many bytes: literal data as one
//!   block of the transfer's zstd stream ([`crate::compress::Block`], at
//!   most [`FRAME_DATA`] bytes decoded), only where the delta's request
//!   asked for them (a delta's literals are the file's new bytes, what
//!   compresses; its copies are a few bytes each already).
//!
//! The frame `E` followed by the new file's SHA-256 (64 hex digits) ends the
//! delta.
//!
//! [`Diff`] makes a delta as the new file's bytes come.
//!
//! A delta download (`TFDDELTAGET`) runs the same pieces the other way: the
//! client sends its file's signatures, the server the records;
//! `TFDDELTAGETZ <choice> ...` ([`GET_PACKED`]) asks for its literals as
//! `Z` blocks, compressed as the choice ([`crate::compress::Choice`]) says.

/// The delta download whose literals may come as `Z` blocks: its argument
/// is a choice's word ([`crate::compress::Choice::word`], never `no`) and
/// `TFDDELTAGET`'s own.
pub const GET_PACKED: &str = "TFDDELTAGETZ";

/// Splits a [`GET_PACKED`] argument into the choice and `TFDDELTAGET`'s
/// argument.
pub fn packed_get(arg: &[u8]) -> Option<(crate::compress::Choice, &[u8])> {
    let sp = arg.iter().position(|&b| b == b' ')?;
    let choice = crate::compress::Choice::parse(std::str::from_utf8(&arg[..sp]).ok()?)?;
    (choice != crate::compress::Choice::Off).then_some((choice, &arg[sp + 1..]))
}

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
/// in 128 KiB blocks, took a session to a peak of 170 MiB resident:
/// `scripts/bench transfer --only sigmem`); a bigger old copy is fetched
/// whole.
pub const MAX_GET_SIGNATURE: u64 = 32 << 20;
/// The memory a delta download's signatures may take, at worst, per byte of
/// them: the bytes (12 an entry) and `fast_rsync`'s index of them, a table
/// sized for every entry (up to 2.3 buckets an entry, 33 bytes each) and,
/// where two entries share a rolling checksum, a map of their own (a box
/// and a table of four: about 192 bytes a pair). Entries paired so take
/// about 184 bytes each, 15.3 per byte of signatures; distinct ones about
/// 62 (tfd claims this of its memory budget before it takes any).
pub const HELD_PER_SIGNATURE_BYTE: u64 = 16;
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
    /// These bytes as a block of the delta's zstd stream ([`Literals`]
    /// reads them).
    Packed(&'a [u8]),
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
            b'L' | b'Z' if rest.len() >= 4 => {
                let len = u32::from_be_bytes(rest[..4].try_into().unwrap_or_default()) as usize;
                if rest.len() - 4 < len {
                    Err(())
                } else {
                    let (data, after) = rest[4..].split_at(len);
                    frame = after;
                    Ok(if tag == b'L' {
                        Op::Literal(data)
                    } else {
                        Op::Packed(data)
                    })
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

/// Appends a packed literal record: `block` is one block of the delta's
/// zstd stream.
pub fn push_packed(out: &mut Vec<u8>, block: &[u8]) {
    out.push(b'Z');
    out.extend_from_slice(&(block.len() as u32).to_be_bytes());
    out.extend_from_slice(block);
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
    /// The delta's compression ([`Records::packing`]) and a block's room.
    pack: Option<(crate::compress::Squeeze, Vec<u8>)>,
    /// Bytes of frames handed to `send`.
    pub sent: u64,
    /// Bytes of literal data.
    pub literal: u64,
    /// Bytes copied from the old file.
    pub reused: u64,
}

impl Records {
    /// Records whose literals go as `Z` blocks of one zstd stream where
    /// `squeeze` decides they shrink, as `L` records where not.
    pub fn packing(squeeze: crate::compress::Squeeze) -> Records {
        Records {
            pack: Some((squeeze, Vec::new())),
            ..Records::default()
        }
    }

    /// The literal bytes sent packed, before and after (none without
    /// [`Records::packing`]).
    pub fn packed(&self) -> (u64, u64) {
        self.pack.as_ref().map_or((0, 0), |(sq, _)| sq.saved())
    }

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
            let packed = self.pack.as_mut().and_then(|(sq, block)| {
                block.clear();
                sq.squeeze(piece, block).then_some(&block[..])
            });
            match packed {
                Some(block) => push_packed(&mut self.frame, block),
                None => push_literal(&mut self.frame, piece),
            }
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

/// The identity of a file's version as the delta commands name it:
/// `<size>-<mtime s>-<mtime ns>-<inode>`.
pub fn identity(size: u64, mtime: i64, mtime_ns: i64, ino: u64) -> String {
    format!("{size}-{mtime}-{mtime_ns}-{ino}")
}

/// Pseudo-random bytes (for the tests of this module's parts).
#[cfg(test)]
pub(crate) fn noise(seed: u64, n: usize) -> Vec<u8> {
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

mod ahead;
mod diff;
mod literals;
pub use ahead::*;
pub use diff::*;
pub use literals::{Literals, Refused};

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
        assert_eq!(ops(b"X\0\0\0\0").collect::<Vec<_>>(), vec![Err(())]);
        let mut z = Vec::new();
        push_packed(&mut z, b"blk");
        assert_eq!(ops(&z).collect::<Vec<_>>(), vec![Ok(Op::Packed(b"blk"))]);
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

    #[test]
    fn block_sizes_are_rsyncs() {
        assert_eq!(block_size(0), MIN_BLOCK);
        assert_eq!(block_size(64 << 20), 8192);
        assert_eq!(block_size(1 << 40), MAX_BLOCK);
    }
}
