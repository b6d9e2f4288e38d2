//! tfd's batches on the wire (doc/compatibility.md "Batch uploads", "Batch
//! downloads"): the frames of TFDPUTMANY ([`put`]) and TFDGETMANY ([`get`]),
//! each typed with its `encode` and `parse`. Both sides parse with these, so
//! neither can read them differently.
//!
//! A batch opens with its command (`<n>` files, at most [`MAX_FILES`]; `0`
//! is a probe answered `OK` alone); the client's part of the exchange ends
//! with the frame [`END`]. A file's data travels in frames of at most
//! [`DATA_FRAME`] bytes and is closed by a [`Trailer`]: its SHA-256, or an
//! abort when the file changed while it was read.
//!
//! Every parser takes one frame's bytes, never panics and returns `None` for
//! anything the grammar does not hold; what parses, encoded again, parses to
//! the same value.

pub mod framed;
pub mod get;
pub mod put;

use std::str::FromStr;

/// The upload command.
pub const PUTMANY: &str = "TFDPUTMANY";
/// The download command.
pub const GETMANY: &str = "TFDGETMANY";
/// The most files one batch may announce.
pub const MAX_FILES: u64 = 100_000;
/// The data frames a batch's sender writes (the channel's frames hold 512
/// KiB after LOGIN).
pub const DATA_FRAME: usize = 256 << 10;
/// The frame that ends the client's part of a batch.
pub const END: &[u8] = b"E";

/// Whether `frame` is [`END`].
pub fn is_end(frame: &[u8]) -> bool {
    frame == END
}

/// What follows a file's data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trailer {
    /// `S <SHA-256 of the data, hex>`.
    Sum([u8; 32]),
    /// `A`: the file changed while it was read; the bytes sent are no
    /// version of it.
    Abort,
}

impl Trailer {
    /// The frame.
    pub fn encode(&self) -> Vec<u8> {
        match self {
            Trailer::Sum(sum) => {
                let mut out = b"S ".to_vec();
                out.extend_from_slice(crate::hex::encode(sum).as_bytes());
                out
            }
            Trailer::Abort => b"A".to_vec(),
        }
    }

    /// Reads a trailer frame (hex digits of either case).
    pub fn parse(frame: &[u8]) -> Option<Trailer> {
        if frame == b"A" {
            return Some(Trailer::Abort);
        }
        let digits = frame.strip_prefix(b"S ")?;
        if digits.len() != 64 {
            return None;
        }
        let bytes = crate::hex::decode(std::str::from_utf8(digits).ok()?)?;
        Some(Trailer::Sum(bytes.try_into().ok()?))
    }
}

/// A decimal number (what `str::parse` takes: a sign allowed).
fn num<T: FromStr>(word: &[u8]) -> Option<T> {
    std::str::from_utf8(word).ok()?.parse().ok()
}

/// Permission bits in octal.
fn octal(word: &[u8]) -> Option<u32> {
    u32::from_str_radix(std::str::from_utf8(word).ok()?, 8).ok()
}

/// The `N` words of `text` between single spaces; `None` for more or fewer.
fn words<const N: usize>(text: &[u8]) -> Option<[&[u8]; N]> {
    let mut it = text.split(|&b| b == b' ');
    let mut out: [&[u8]; N] = [&[]; N];
    for w in &mut out {
        *w = it.next()?;
    }
    it.next().is_none().then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trailers_round_trip_and_malformed_ones_are_refused() {
        let sum: [u8; 32] = std::array::from_fn(|i| (i * 7 + 3) as u8);
        for t in [Trailer::Sum(sum), Trailer::Abort] {
            assert_eq!(Trailer::parse(&t.encode()), Some(t));
        }
        let text = Trailer::Sum(sum).encode();
        assert_eq!(&text[..6], b"S 030a");
        assert_eq!(text.len(), 66);
        // upper-case digits read as the lower-case ones
        let mut upper = b"S ".to_vec();
        upper.extend_from_slice(&text[2..].to_ascii_uppercase());
        assert_eq!(Trailer::parse(&upper), Some(Trailer::Sum(sum)));
        let mut zz = text.clone();
        zz[10] = b'z';
        let mut utf8 = text[..64].to_vec();
        utf8.extend_from_slice("é".as_bytes());
        for bad in [
            &text[..65],
            &[&text[..], b"0"].concat()[..],
            &zz[..],
            &utf8[..],
            b"S",
            b"S ",
            b"A ",
            b"a",
            b"",
            b"E",
            &[b"s", &text[1..]].concat()[..],
        ] {
            assert_eq!(Trailer::parse(bad), None, "{:?}", String::from_utf8_lossy(bad));
        }
    }

    #[test]
    fn the_end_is_one_frame_and_words_are_counted() {
        assert!(is_end(END) && is_end(b"E"));
        assert!(!is_end(b"E ") && !is_end(b"") && !is_end(b"e"));
        assert_eq!(words::<2>(b"1 2"), Some([&b"1"[..], b"2"]));
        assert_eq!(words::<2>(b"1 2 3"), None);
        assert_eq!(words::<2>(b"1"), None);
        assert_eq!(words::<1>(b""), Some([&b""[..]]));
        assert_eq!(num::<u64>(b"+7"), Some(7));
        assert_eq!(num::<u64>(b"-7"), None);
        assert_eq!(octal(b"755"), Some(0o755));
        assert_eq!(octal(b"8"), None);
    }
}
