//! Sparse files on the wire (`-S`, doc/compatibility.md "Sparse files"):
//! the holes of a file, which neither side sends, and the commands that
//! carry them. Both sides parse and write with these.
//!
//! - `TFDHOLES <path>`: the holes of the server's file, answered
//!   `OK <size> <n> <a-b>…` ([`Holes`]);
//! - `TFDSTAGEHOLE <a> <b> <path>`: `[a, b)` of the stage of `path` is a
//!   hole: made one and recorded as written ([`StageHole`]), answered `OK`.
//!
//! Every parser takes arbitrary bytes, never panics and allocates no more
//! than its input holds.

use crate::command::split_space;
use crate::stage::number;

/// The command that lists a file's holes.
pub const HOLES: &str = "TFDHOLES";
/// The command that makes a range of a stage a hole.
pub const STAGE_HOLE: &str = "TFDSTAGEHOLE";

/// The most holes one answer lists: a file cut finer has its largest ones
/// told, the rest sent as data (zeros that cost what they weigh).
pub const MAX_HOLES: usize = 256;

/// The smallest hole worth telling: a block (smaller gaps are data).
pub const MIN_HOLE: u64 = 4096;

/// Of `holes` (sorted, disjoint), the [`MAX_HOLES`] largest of at least
/// [`MIN_HOLE`] bytes, in file order.
pub fn bounded(holes: &[(u64, u64)]) -> Vec<(u64, u64)> {
    let mut v: Vec<(u64, u64)> = holes
        .iter()
        .copied()
        .filter(|&(a, b)| b.saturating_sub(a) >= MIN_HOLE)
        .collect();
    if v.len() > MAX_HOLES {
        v.sort_unstable_by_key(|&(a, b)| std::cmp::Reverse(b - a));
        v.truncate(MAX_HOLES);
        v.sort_unstable();
    }
    v
}

/// The holes of a file of `size` bytes, each `[a, b)`: sorted, disjoint,
/// within the size, at most [`MAX_HOLES`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Holes {
    /// The file's size when its holes were found.
    pub size: u64,
    /// The holes.
    pub list: Vec<(u64, u64)>,
}

impl Holes {
    /// The answer's text (what follows `OK `).
    pub fn encode(&self) -> Vec<u8> {
        let mut out = format!("{} {}", self.size, self.list.len());
        for (a, b) in &self.list {
            out.push_str(&format!(" {a}-{b}"));
        }
        out.into_bytes()
    }

    /// The answer read; None: malformed, a count that is not the number of
    /// holes, too many, or holes out of order, empty or past the size.
    pub fn parse(data: &[u8]) -> Option<Holes> {
        let text = std::str::from_utf8(data).ok()?;
        let mut words = text.split(' ');
        let size = number(words.next()?.as_bytes())?;
        let n: usize = words.next()?.parse().ok()?;
        if n > MAX_HOLES {
            return None;
        }
        let mut list = Vec::with_capacity(n);
        for w in words {
            let (a, b) = w.split_once('-')?;
            let (a, b) = (number(a.as_bytes())?, number(b.as_bytes())?);
            let after = list.last().map_or(0, |&(_, e)| e);
            if a < after || b <= a || b > size || list.len() == n {
                return None;
            }
            list.push((a, b));
        }
        (list.len() == n).then_some(Holes { size, list })
    }

    /// The bytes of data: the size less the holes.
    pub fn data(&self) -> u64 {
        self.size - self.list.iter().map(|(a, b)| b - a).sum::<u64>()
    }
}

/// `TFDSTAGEHOLE <a> <b> <path>`: `[start, end)` of the stage of `path`
/// holds no data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StageHole<'a> {
    pub start: u64,
    pub end: u64,
    pub path: &'a [u8],
}

impl<'a> StageHole<'a> {
    /// The argument.
    pub fn encode(&self) -> Vec<u8> {
        [format!("{} {} ", self.start, self.end).as_bytes(), self.path].concat()
    }

    /// The argument read; None: a word missing, a number beyond `i64`, or
    /// an empty range.
    pub fn parse(arg: &'a [u8]) -> Option<StageHole<'a>> {
        let (a, rest) = split_space(arg)?;
        let (b, path) = split_space(rest)?;
        let (start, end) = (number(a)?, number(b)?);
        (start < end).then_some(StageHole { start, end, path })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn holes_round_trip_and_refuse() {
        let h = Holes {
            size: 100,
            list: vec![(0, 10), (20, 100)],
        };
        assert_eq!(h.encode(), b"100 2 0-10 20-100");
        assert_eq!(Holes::parse(&h.encode()), Some(h.clone()));
        assert_eq!(h.data(), 10);
        assert_eq!(Holes::parse(b"5 0"), Some(Holes { size: 5, list: vec![] }));
        for bad in [
            &b"100 2 0-10"[..],
            b"100 1 0-10 20-30",
            b"100 1 10-10",
            b"100 1 5-101",
            b"100 2 20-30 0-10",
            b"100 2 0-10 5-20",
            b"",
            b"x 0",
            b"100 257",
            b"100 1 a-b",
        ] {
            assert_eq!(Holes::parse(bad), None, "{:?}", String::from_utf8_lossy(bad));
        }
    }

    #[test]
    fn bounded_keeps_the_largest_in_order() {
        let many: Vec<(u64, u64)> = (0..1000u64).map(|i| (i * 100_000, i * 100_000 + 4096 + i)).collect();
        let b = bounded(&many);
        assert_eq!(b.len(), MAX_HOLES);
        assert!(b.windows(2).all(|w| w[0].1 <= w[1].0));
        assert_eq!(b.last(), many.last());
        assert_eq!(bounded(&[(0, 100), (200, 200 + MIN_HOLE)]), [(200, 200 + MIN_HOLE)]);
    }

    #[test]
    fn stage_hole_round_trips_and_refuses() {
        let s = StageHole {
            start: 4096,
            end: 1 << 30,
            path: b"d e/f",
        };
        assert_eq!(s.encode(), b"4096 1073741824 d e/f");
        assert_eq!(StageHole::parse(&s.encode()), Some(s));
        for bad in [&b"5 5 p"[..], b"6 5 p", b"1 2", b"-1 2 p", b"x 2 p"] {
            assert_eq!(StageHole::parse(bad), None, "{:?}", String::from_utf8_lossy(bad));
        }
    }
}
