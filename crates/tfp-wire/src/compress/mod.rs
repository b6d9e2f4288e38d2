//! tfd's compressed data blocks (doc/compatibility.md "Compression"): one
//! block of a file's data as it crosses the wire, either as it is or
//! compressed with zstd, typed once so that every route (staged ranges, the
//! batches, downloads) frames and bounds it the same way.
//!
//! A block is a 5-byte header and its payload:
//!
//! ```text
//! kind (1 byte) | decoded length (4 bytes, big-endian) | payload
//! ```
//!
//! - kind `0`, [`Kind::Raw`]: the payload is the data, exactly `decoded
//!   length` bytes;
//! - kind `1`, [`Kind::Zstd`]: the payload continues the transfer's zstd
//!   stream (flushed at the block's end, so the block decodes on its own
//!   given the blocks before it: a batch of small files compresses like a
//!   tarball);
//! - kind `2`, [`Kind::ZstdFresh`]: both sides start a new stream first (a
//!   file whose data must not share a context with what came before).
//!
//! No block holds more than [`MAX_DATA`] bytes of data, and the receiver
//! gives its own cap besides: [`Decoder`] refuses a block announcing more
//! before decoding anything, decodes into a buffer of exactly the announced
//! size and refuses a payload that would write one byte beyond it (no
//! decompression bomb reaches memory). The zstd calls live here, in the
//! crate free of I/O: the binding (`zstd`, without its legacy formats)
//! touches no file or socket, it works on byte slices as the cipher does.

mod choice;
mod clock;
mod decide;
mod decode;
mod encode;
pub mod get;
pub mod listing;
mod offer;
mod sample;
mod squeeze;
pub mod whole;

pub use choice::Choice;
pub use decide::{Decider, Delivered, Plan, LINK_WINDOW, MARGIN};
pub use decode::Decoder;
pub use encode::{EncodeError, Encoder};
pub use offer::{Offer, PROBE, STAGE_PUT};
pub use sample::{Sampler, SAMPLE};
pub use squeeze::Squeeze;

/// The most data one block holds, raw or decoded. Chosen so that zstd's
/// worst case for it (`compress_bound`) and the header fit in one frame
/// ([`crate::MAX_FRAME`]): a block the stream has compressed always goes out
/// as it came, even when it did not shrink.
pub const MAX_DATA: usize = 448 * 1024;

/// The header's length: the kind and the decoded length.
pub const HEADER_LEN: usize = 5;

/// The window (2^n bytes of history) both sides keep when nothing else is
/// agreed: zstd's own at level 3, 2 MiB.
pub const DEFAULT_WINDOW_LOG: u32 = 21;
/// The smallest window zstd accepts (1 KiB).
pub const MIN_WINDOW_LOG: u32 = 10;
/// The largest window tfd keeps (128 MiB, zstd's default limit for a decoder).
pub const MAX_WINDOW_LOG: u32 = 27;

/// The highest level a sender may ask for (zstd's own maximum, without
/// `--ultra`).
pub const MAX_LEVEL: i32 = 19;

/// How a block's payload holds its data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// The data as it is.
    Raw,
    /// The next part of the transfer's zstd stream.
    Zstd,
    /// A new zstd stream: both sides drop the history first.
    ZstdFresh,
}

impl Kind {
    fn byte(self) -> u8 {
        match self {
            Kind::Raw => 0,
            Kind::Zstd => 1,
            Kind::ZstdFresh => 2,
        }
    }

    fn from_byte(b: u8) -> Option<Kind> {
        match b {
            0 => Some(Kind::Raw),
            1 => Some(Kind::Zstd),
            2 => Some(Kind::ZstdFresh),
            _ => None,
        }
    }
}

/// Why a block is refused. Every one is the sender's fault (or a hostile
/// sender's): the receiver answers FAILED and keeps nothing of the block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BlockError {
    /// Shorter than the header, or a kind byte this version does not know.
    Malformed,
    /// Announces more data than the receiver's cap (or [`MAX_DATA`]).
    TooLarge { announced: usize, cap: usize },
    /// A raw block whose payload is not the length it announces.
    RawLength,
    /// The payload decodes to more than it announced.
    Overflow,
    /// The payload decodes to less than it announced.
    Short,
    /// zstd refused the payload (corrupt, or a window beyond the agreed one).
    Corrupt,
}

impl std::fmt::Display for BlockError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            BlockError::Malformed => f.write_str("malformed compressed block"),
            BlockError::TooLarge { announced, cap } => {
                write!(f, "compressed block announces {announced} bytes, more than {cap}")
            }
            BlockError::RawLength => f.write_str("raw block of another length than announced"),
            BlockError::Overflow => f.write_str("compressed block decodes beyond what it announced"),
            BlockError::Short => f.write_str("compressed block decodes to less than it announced"),
            BlockError::Corrupt => f.write_str("corrupt compressed block"),
        }
    }
}

impl std::error::Error for BlockError {}

/// A refused block as the receiver's write fails with it: the sender's data
/// is invalid, so nothing of it is kept.
impl From<BlockError> for std::io::Error {
    fn from(e: BlockError) -> std::io::Error {
        std::io::Error::new(std::io::ErrorKind::InvalidData, e)
    }
}

/// The most data a block may hold so that, compressed at worst, it still
/// fits in `frame_max` bytes with its header (a chunk the server granted):
/// at most [`MAX_DATA`], 0 when even an empty block would not fit.
pub fn data_for_frame(frame_max: usize) -> usize {
    let mut n = frame_max.saturating_sub(HEADER_LEN).min(MAX_DATA);
    while n > 0 && zstd::zstd_safe::compress_bound(n) + HEADER_LEN > frame_max {
        // the bound exceeds n by n/256 and less than 1 KiB: two steps at most
        n = n.saturating_sub((zstd::zstd_safe::compress_bound(n) + HEADER_LEN - frame_max).max(1));
    }
    n
}

/// A block as read off the wire, not decoded yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Block<'a> {
    pub kind: Kind,
    /// The data's length once decoded, as the sender announces it.
    pub len: usize,
    pub payload: &'a [u8],
}

impl<'a> Block<'a> {
    /// Splits a block into its header and payload. Takes any bytes; judges
    /// the announced length against `cap` (never more than [`MAX_DATA`])
    /// before anything is decoded or allocated.
    pub fn parse(frame: &'a [u8], cap: usize) -> Result<Block<'a>, BlockError> {
        let (kind, len) = Block::announced(frame).ok_or(BlockError::Malformed)?;
        let payload = &frame[HEADER_LEN..];
        let cap = cap.min(MAX_DATA);
        if len > cap {
            return Err(BlockError::TooLarge { announced: len, cap });
        }
        if kind == Kind::Raw && payload.len() != len {
            return Err(BlockError::RawLength);
        }
        Ok(Block { kind, len, payload })
    }

    /// What a block's header says, its length not judged: its kind and the
    /// data's length decoded, as the sender announces it (what a receiver
    /// counting a file's data by the announcements reads even of a block it
    /// refuses); None when shorter than the header or of an unknown kind.
    pub fn announced(frame: &[u8]) -> Option<(Kind, usize)> {
        let head = frame.get(..HEADER_LEN)?;
        let kind = Kind::from_byte(head[0])?;
        Some((kind, u32::from_be_bytes([head[1], head[2], head[3], head[4]]) as usize))
    }

    /// The block as it goes on the wire, appended to `out`.
    pub fn encode_into(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&header(self.kind, self.len));
        out.extend_from_slice(self.payload);
    }
}

/// A block's header. `len` is at most [`MAX_DATA`] (the encoder never makes
/// a larger block), so it fits the four bytes.
pub fn header(kind: Kind, len: usize) -> [u8; HEADER_LEN] {
    let n = (len.min(MAX_DATA) as u32).to_be_bytes();
    [kind.byte(), n[0], n[1], n[2], n[3]]
}

/// The window a receiver can afford within `bytes` of memory for one
/// session: the largest power of two at most half of it (the other half is
/// zstd's own buffers and the block being decoded), within zstd's limits.
pub fn window_log_for(bytes: u64) -> u32 {
    let half = (bytes / 2).max(1);
    let log = 63 - half.leading_zeros();
    log.clamp(MIN_WINDOW_LOG, MAX_WINDOW_LOG)
}

#[cfg(test)]
mod tests;
