//! A framed batch (`TFDPUTMANY <n> z f`): the client's whole part of the
//! exchange after the command (every header, data frame, trailer and the end
//! frame, each as a [`record`](Framer::push)) travels as ONE zstd stream cut
//! in bounded wire frames, so a tree of small files pays neither a raw header
//! and trailer per file nor a block's frame per small file: it compresses
//! like a tarball, headers and all, as rsync's one stream across its session.
//!
//! Inside the stream a record is its length (4 bytes, big-endian) and its
//! bytes, exactly the frames a plain batch sends. On the wire each frame is
//!
//! ```text
//! payload length (4 bytes, BE) | kind (1) | decoded length (4 bytes, BE) | payload
//! ```
//!
//! the last three a [`crate::compress::Block`] (raw, or the next part of the
//! stream; the first compressed one starts it). A frame decodes to at most
//! [`MAX_DECODED`] bytes, exactly what it announces (the [`Decoder`] refuses
//! a byte more or less before it reaches memory), and a record announcing
//! more than its reader allows is refused before it is gathered: the reader
//! holds at most one record and one frame's decoded bytes. Any refusal ends
//! the batch (the stream cannot be read on): the receiver answers `FAILED`.
//!
//! The stream carries only what the sender chose (its files, their names,
//! their sums) and lives within one batch, as a `z` batch's blocks do.

use crate::compress::{Decoder, Squeeze, HEADER_LEN};

/// The word after `z` that asks for a framed batch.
pub const FLAG: &str = "f";
/// The most data one frame decodes to (zstd's worst case for it and the
/// headers fit a channel frame).
pub const MAX_DECODED: usize = 256 << 10;
/// A frame's own header before the block: the payload's length.
pub const LEN_LEN: usize = 4;
/// A record's length prefix inside the stream.
pub const RECORD_LEN: usize = 4;

/// Why a framed batch cannot be read on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FramedError {
    /// A frame whose header does not parse or does not match its length.
    Malformed,
    /// A frame announcing more than [`MAX_DECODED`].
    TooLarge(usize),
    /// A frame's payload refused by the decoder (a bomb, short, corrupt).
    Block(crate::compress::BlockError),
    /// A record announcing more than the reader allows at that point.
    Record { announced: usize, max: usize },
}

impl std::fmt::Display for FramedError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FramedError::Malformed => f.write_str("a compressed frame that does not parse"),
            FramedError::TooLarge(n) => write!(f, "a compressed frame announcing {n} bytes, more than {MAX_DECODED}"),
            FramedError::Block(e) => write!(f, "a compressed frame refused: {e}"),
            FramedError::Record { announced, max } => {
                write!(f, "a record of {announced} bytes where at most {max} may come")
            }
        }
    }
}

impl std::error::Error for FramedError {}

/// A wire frame as read: the payload's length it announces must be what
/// follows its block header. Returns the block (kind, decoded length,
/// payload: [`crate::compress::Block::parse`] takes it).
pub fn parse(frame: &[u8]) -> Result<&[u8], FramedError> {
    let (len, block) = frame.split_first_chunk::<LEN_LEN>().ok_or(FramedError::Malformed)?;
    let (_, decoded) = crate::compress::Block::announced(block).ok_or(FramedError::Malformed)?;
    if u32::from_be_bytes(*len) as usize != block.len() - HEADER_LEN {
        return Err(FramedError::Malformed);
    }
    if decoded > MAX_DECODED {
        return Err(FramedError::TooLarge(decoded));
    }
    Ok(block)
}

/// The sender's side: records gathered and cut into frames of at most
/// [`MAX_DECODED`] bytes of the stream, each compressed or raw as the
/// batch's [`Squeeze`] plans.
#[derive(Debug)]
pub struct Framer {
    sq: Squeeze,
    pending: Vec<u8>,
}

impl Framer {
    /// A framed stream packed by `sq` (which starts a new zstd stream).
    pub fn new(mut sq: Squeeze) -> Framer {
        sq.fresh();
        Framer {
            sq,
            pending: Vec::new(),
        }
    }

    /// Appends one record (at most `u32::MAX` bytes).
    pub fn push(&mut self, record: &[u8]) {
        self.pending.extend_from_slice(&(record.len() as u32).to_be_bytes());
        self.pending.extend_from_slice(record);
    }

    /// Appends one record made of `parts`.
    pub fn push_parts(&mut self, parts: &[&[u8]]) {
        let n: usize = parts.iter().map(|p| p.len()).sum();
        self.pending.extend_from_slice(&(n as u32).to_be_bytes());
        for p in parts {
            self.pending.extend_from_slice(p);
        }
    }

    /// The frames of what is gathered, each handed to `send`: only whole
    /// frames of [`MAX_DECODED`] unless `all` (then what is left too).
    pub fn frames<E>(
        &mut self,
        all: bool,
        mut send: impl FnMut(&mut Squeeze, &[u8]) -> Result<(), E>,
    ) -> Result<(), E> {
        let mut at = 0;
        let mut out = Vec::new();
        while self.pending.len() - at >= MAX_DECODED || (all && at < self.pending.len()) {
            let end = (at + MAX_DECODED).min(self.pending.len());
            out.clear();
            out.extend_from_slice(&[0; LEN_LEN]);
            self.sq.pack(&self.pending[at..end], &mut out);
            let n = (out.len() - LEN_LEN - HEADER_LEN) as u32;
            out[..LEN_LEN].copy_from_slice(&n.to_be_bytes());
            at = end;
            send(&mut self.sq, &out)?;
        }
        self.pending.drain(..at);
        Ok(())
    }

    /// The bytes gathered, not yet framed.
    pub fn pending(&self) -> usize {
        self.pending.len()
    }

    /// The batch's bytes compressed, before and after.
    pub fn saved(&self) -> (u64, u64) {
        self.sq.saved()
    }
}

/// The receiver's side: frames in, records out, memory bounded by one
/// record and one frame.
#[derive(Debug)]
pub struct Unframer {
    dec: Decoder,
    /// Decoded bytes from `at` on not yet read as records.
    buf: Vec<u8>,
    at: usize,
    scratch: Vec<u8>,
    /// The frames' bytes as they came.
    pub wire: u64,
    /// What the frames decoded to.
    pub decoded: u64,
}

impl Unframer {
    /// A reader whose zstd stream keeps at most 2^`window_log` bytes.
    pub fn new(window_log: u32) -> Option<Unframer> {
        Some(Unframer {
            dec: Decoder::new(window_log)?,
            buf: Vec::new(),
            at: 0,
            scratch: Vec::new(),
            wire: 0,
            decoded: 0,
        })
    }

    /// The next record, of at most `max` bytes, frames pulled from `recv`
    /// as it needs them (`recv`'s own error passes through as `Ok(Err)`).
    pub fn record<E>(
        &mut self,
        max: usize,
        mut recv: impl FnMut() -> Result<Vec<u8>, E>,
    ) -> Result<Result<Vec<u8>, FramedError>, E> {
        loop {
            match self.ready(max) {
                Ok(Some(r)) => return Ok(Ok(r)),
                Ok(None) => {}
                Err(e) => return Ok(Err(e)),
            }
            let frame = recv()?;
            if let Err(e) = self.feed(&frame) {
                return Ok(Err(e));
            }
        }
    }

    /// A whole record in the buffer, judged against `max` as soon as its
    /// length is in.
    fn ready(&mut self, max: usize) -> Result<Option<Vec<u8>>, FramedError> {
        let rest = &self.buf[self.at..];
        let Some((len, body)) = rest.split_first_chunk::<RECORD_LEN>() else {
            return Ok(None);
        };
        let n = u32::from_be_bytes(*len) as usize;
        if n > max {
            return Err(FramedError::Record { announced: n, max });
        }
        if body.len() < n {
            return Ok(None);
        }
        let r = body[..n].to_vec();
        self.at += RECORD_LEN + n;
        Ok(Some(r))
    }

    /// Decodes one wire frame onto the buffer.
    pub fn feed(&mut self, frame: &[u8]) -> Result<(), FramedError> {
        self.wire += frame.len() as u64;
        let block = parse(frame)?;
        self.buf.drain(..self.at);
        self.at = 0;
        let data = self
            .dec
            .data(block, MAX_DECODED, &mut self.scratch)
            .map_err(FramedError::Block)?;
        self.decoded += data.len() as u64;
        self.buf.extend_from_slice(data);
        Ok(())
    }

    /// Decoded bytes not yet read as records (a sender's stream ends on a
    /// record's end).
    pub fn leftover(&self) -> usize {
        self.buf.len() - self.at
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compress::{Choice, Offer};

    fn framer() -> Framer {
        let offer = Offer {
            level_max: 9,
            window_log: 21,
        };
        Framer::new(Squeeze::new(Choice::Force(None), offer).unwrap())
    }

    fn all_frames(f: &mut Framer) -> Vec<Vec<u8>> {
        let mut frames = Vec::new();
        f.frames::<()>(true, |_, fr| {
            frames.push(fr.to_vec());
            Ok(())
        })
        .unwrap();
        frames
    }

    #[test]
    fn records_round_trip_through_frames_and_shrink() {
        let mut f = framer();
        let mut records = Vec::new();
        for i in 0..2000 {
            records.push(format!("F 300 3 644 1700000000 src/sub/file{i}.py").into_bytes());
            records.push(format!("def f{i}():\n    return {i}\n").repeat(10).into_bytes());
            records.push(format!("S {:064x}", i * 7919).into_bytes());
        }
        records.push(b"E".to_vec());
        let raw: usize = records.iter().map(|r| r.len()).sum();
        for r in &records {
            f.push(r);
        }
        let frames = all_frames(&mut f);
        let wire: usize = frames.iter().map(Vec::len).sum();
        assert!(wire * 10 < raw, "{wire} of {raw}");
        let mut u = Unframer::new(21).unwrap();
        let mut it = frames.into_iter();
        for r in &records {
            let got = u.record::<()>(1 << 20, || it.next().ok_or(())).unwrap().unwrap();
            assert_eq!(&got, r);
        }
        assert_eq!(u.leftover(), 0);
        assert!(it.next().is_none());
    }

    #[test]
    fn bombs_lies_and_long_records_are_refused() {
        let mut f = framer();
        f.push(&vec![b'a'; 100_000]);
        let frame = all_frames(&mut f).remove(0);
        // the payload's length must be what follows
        let mut lie = frame.clone();
        lie[3] ^= 1;
        assert_eq!(Unframer::new(21).unwrap().feed(&lie), Err(FramedError::Malformed));
        // a frame announcing fewer decoded bytes than its payload makes: a bomb
        let mut bomb = frame.clone();
        bomb[LEN_LEN + 1..LEN_LEN + HEADER_LEN].copy_from_slice(&1000u32.to_be_bytes());
        assert!(matches!(
            Unframer::new(21).unwrap().feed(&bomb),
            Err(FramedError::Block(_))
        ));
        let mut big = frame.clone();
        big[LEN_LEN + 1..LEN_LEN + HEADER_LEN].copy_from_slice(&(MAX_DECODED as u32 + 1).to_be_bytes());
        assert!(matches!(
            Unframer::new(21).unwrap().feed(&big),
            Err(FramedError::TooLarge(_))
        ));
        // a record longer than allowed is refused before it is gathered
        let mut u = Unframer::new(21).unwrap();
        let mut once = Some(frame);
        let r = u.record::<()>(1000, || once.take().ok_or(())).unwrap();
        assert_eq!(
            r,
            Err(FramedError::Record {
                announced: 100_000,
                max: 1000
            })
        );
        for bad in [&b""[..], b"\0\0\0", b"\0\0\0\0\x09\0\0\0\0"] {
            assert!(parse(bad).is_err(), "{bad:?}");
        }
    }
}
