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

/// The identity of a file's version as the delta commands name it:
/// `<size>-<mtime s>-<mtime ns>-<inode>`.
pub fn identity(size: u64, mtime: i64, mtime_ns: i64, ino: u64) -> String {
    format!("{size}-{mtime}-{mtime_ns}-{ino}")
}

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
    fn block_sizes_are_rsyncs() {
        assert_eq!(block_size(0), MIN_BLOCK);
        assert_eq!(block_size(64 << 20), 8192);
        assert_eq!(block_size(1 << 40), MAX_BLOCK);
    }
}
