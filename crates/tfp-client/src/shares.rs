//! How the streams of one upload share its byte ranges so that they end
//! together. Under loss the streams of `--streams N` run at unequal rates
//! (one at 38 Mbit/s, another at 57, measured at 200 Mbit/s, 0.5% loss), and
//! a fixed range per stream left the slowest sending its last 5 MiB alone
//! for 0.7 s while the link stood mostly idle. Here each stream claims its
//! bytes a chunk at a time, and a stream with nothing left to take splits
//! off the back half of the largest rest another stream has not claimed.
//! Downloads (`get --streams`) share theirs the same way, claiming a window
//! of GETCAN at a time (`engine::lanes`).

use std::fs::File;
use std::io::Read;
use std::os::unix::fs::FileExt;
use std::sync::Mutex;
use tfd_sys::IO_ALIGN;

/// The ranges still to send and what each stream holds.
pub struct Shares {
    inner: Mutex<Inner>,
}

struct Inner {
    /// Pieces no stream took yet, the next one last.
    queue: Vec<(u64, u64)>,
    /// Each stream's range: claimed up to `.0`, to send up to `.1`.
    lanes: Vec<(u64, u64)>,
    /// Ranges handed out, and how many may be (each is one range in the
    /// server's journal, which a file system bounds).
    given: usize,
    most: usize,
    /// The least rest a split leaves to either side.
    least: u64,
    /// Each stream's grain: a split of its range falls a whole number of
    /// grains past what it claimed (a download's windows), or with 0 on a
    /// block of the file (an upload's).
    grains: Vec<u64>,
}

impl Shares {
    /// `pieces` in the order they are to be taken, shared by `lanes`
    /// streams, at most `most` ranges in all, none split below `least`.
    pub fn new(pieces: &[(u64, u64)], lanes: usize, most: usize, least: u64) -> Shares {
        let mut queue = pieces.to_vec();
        queue.reverse();
        Shares {
            inner: Mutex::new(Inner {
                queue,
                lanes: vec![(0, 0); lanes],
                given: 0,
                most: most.max(pieces.len()),
                least: least.max(IO_ALIGN as u64),
                grains: vec![0; lanes],
            }),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The next range for stream `me` (its start): the next piece, else the
    /// back half of the largest unclaimed rest of another stream. None when
    /// nothing is left worth a range of its own.
    pub fn next(&self, me: usize) -> Option<u64> {
        self.next_grained(me, 0)
    }

    /// [`Shares::next`] for a stream that claims `grain` bytes at a time
    /// from its range's start: a later split of the range falls on that
    /// grid, so the stream never asks for a byte past it.
    pub fn next_grained(&self, me: usize, grain: u64) -> Option<u64> {
        let mut s = self.lock();
        let (start, end) = match s.queue.pop() {
            Some(p) => p,
            None => {
                if s.given >= s.most {
                    return None;
                }
                let (v, rest) = s
                    .lanes
                    .iter()
                    .enumerate()
                    .map(|(i, &(pos, end))| (i, end - pos))
                    .max_by_key(|&(_, rest)| rest)?;
                if rest < 2 * s.least {
                    return None;
                }
                let (pos, end) = s.lanes[v];
                // inner boundaries stay on blocks: the server writes them direct
                let cut = match s.grains[v] {
                    0 => (pos + rest / 2).next_multiple_of(IO_ALIGN as u64),
                    g => pos + (rest / 2).next_multiple_of(g),
                };
                if cut >= end {
                    return None;
                }
                s.lanes[v].1 = cut;
                (cut, end)
            }
        };
        s.given += 1;
        s.lanes[me] = (start, end);
        s.grains[me] = grain;
        Some(start)
    }

    /// Whether [`Shares::next`] would find nothing for a stream that has
    /// not started: no piece left and no rest worth splitting (a stream
    /// whose session is late then stops waiting for it).
    pub fn dry(&self) -> bool {
        let s = self.lock();
        if !s.queue.is_empty() {
            return false;
        }
        let most = s.lanes.iter().map(|&(pos, end)| end - pos).max().unwrap_or(0);
        s.given >= s.most || most < 2 * s.least
    }

    /// Claims up to `max` bytes of stream `me`'s range: where they start
    /// and how many (0 at its end, which another stream may have moved).
    pub fn claim(&self, me: usize, max: usize) -> (u64, usize) {
        let mut s = self.lock();
        let (pos, end) = s.lanes[me];
        let n = (end - pos).min(max as u64);
        s.lanes[me].0 = pos + n;
        (pos, n as usize)
    }

    /// Where stream `me`'s range ends now.
    pub fn end(&self, me: usize) -> u64 {
        self.lock().lanes[me].1
    }
}

/// Stream `me`'s current range of `file`, read as the stream claims it.
pub struct LaneReader<'a> {
    /// What the streams share.
    pub shares: &'a Shares,
    /// The stream reading.
    pub me: usize,
    /// The file they send.
    pub file: &'a File,
}

impl Read for LaneReader<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let (at, n) = self.shares.claim(self.me, buf.len());
        self.file.read_exact_at(&mut buf[..n], at)?;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::Shares;

    #[test]
    fn a_dry_stream_takes_the_back_half_of_the_largest_rest() {
        let m = 1 << 20;
        let s = Shares::new(&[(0, 16 * m), (16 * m, 32 * m)], 2, 8, m);
        assert_eq!(s.next(0), Some(0));
        assert_eq!(s.next(1), Some(16 * m));
        // stream 1 sends its range whole; stream 0 claimed 2 MiB so far
        assert_eq!(s.claim(0, 2 * m as usize), (0, 2 * m as usize));
        while s.claim(1, m as usize).1 > 0 {}
        assert_eq!(s.next(1), Some(9 * m));
        assert_eq!(s.end(0), 9 * m);
        assert_eq!(s.claim(0, 64 * m as usize), (2 * m, 7 * m as usize));
        assert_eq!(s.claim(0, 1), (9 * m, 0));
        // stream 1 holds [9, 16) MiB; too little is left to split below 1 MiB twice
        assert_eq!(s.claim(1, 6 * m as usize).1, 6 * m as usize);
        assert_eq!(s.next(0), None);
        assert_eq!(s.claim(1, 2 * m as usize), (15 * m, m as usize));
    }

    #[test]
    fn a_grained_stream_is_split_on_its_own_grid() {
        let k = 512 << 10;
        // a lane off the block grid (a resumed download's), claimed a window
        let s = Shares::new(&[(1000, 1000 + 10 * k)], 2, 8, k);
        assert_eq!(s.next_grained(0, k), Some(1000));
        assert_eq!(s.claim(0, k as usize), (1000, k as usize));
        // 9 windows unclaimed: the cut leaves it 5, a whole number past its claim
        let cut = s.next_grained(1, k).unwrap();
        assert_eq!(cut, 1000 + 6 * k);
        assert_eq!(s.end(0), cut);
    }

    #[test]
    fn dry_once_no_piece_and_no_rest_worth_a_split() {
        let m = 1 << 20;
        let s = Shares::new(&[(0, 4 * m)], 2, 8, m);
        assert!(!s.dry(), "a piece is left");
        assert_eq!(s.next(0), Some(0));
        assert!(!s.dry(), "stream 0's 4 MiB rest can be split");
        assert_eq!(s.claim(0, 3 * m as usize).1, 3 * m as usize);
        assert!(s.dry(), "1 MiB left: below two of the least split");
        assert_eq!(s.next(1), None);
    }

    #[test]
    fn no_more_ranges_than_allowed_and_splits_on_blocks() {
        let s = Shares::new(&[(0, 10_000_000)], 2, 2, 4096);
        assert_eq!(s.next(0), Some(0));
        let start = s.next(1).unwrap();
        assert_eq!(start % 4096, 0);
        assert_eq!(s.end(0), start);
        assert_eq!(s.next(1), None, "two ranges at most");
    }
}
