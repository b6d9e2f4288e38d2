//! How the streams of `get --streams N` share a download so that they end
//! together, and how its whole-file hash keeps up with them.
//!
//! A fixed range per stream left, under loss, the last two streams fetching
//! alone for about 0.55 s of a 64 MiB download at 200 Mbit/s (their rates
//! differ by half). Here each stream moves a lane through GETCAN with one
//! chunk a window, claiming a window at a time in [`Shares`] and answering
//! the server's windows a few ahead ("credit"), so the server never waits a
//! round trip for it; a stream that runs dry splits off the back half of
//! the largest rest another stream has not claimed (the split lands on that
//! stream's window grid, so it never asks for a byte past it), and the
//! other stream answers its last window with a stop there. No byte is moved
//! twice: each window is asked for once, by the stream that claimed it.
//!
//! The whole file's SHA-256 (the end-to-end check) follows the data in file
//! order, reading back what has landed just behind the streams, instead of
//! reading back most of the file after the last byte came.
//!
//! Where compression is chosen, a lane is asked for with `TFDGETCANZ`
//! (GETCAN whose every window is one block, a zstd stream per lane); a tfd
//! without it answers `UNKNOWN` and the stream asks GETCAN from then on.

use super::journal::Range;
use crate::compress::Blocks;
use crate::parallel::granted;
use crate::shares::Shares;
use crate::{Client, Error};
use sha2::{Digest, Sha256};
use std::fs::File;
use std::os::unix::fs::FileExt;
use std::sync::{Condvar, Mutex};
use std::time::Duration;
use tfd_sys::AlignedBuf;
use tfp_wire::compress::{get as zget, Choice};
use tfp_wire::hpf::code;
use tfp_wire::Status;

/// A window of a lane: one GETCAN chunk. Small enough that the streams end
/// within a few windows of each other, large enough that a window's
/// answer is noise on the wire.
pub const WINDOW: u64 = 256 << 10;

/// The most a stream asks for ahead of what it received: at least a
/// stream's share of the bandwidth-delay product of the links tf is used
/// on (100 Mbit/s at 50 ms is 625 KB for all of them), so the server's
/// pauses cost nothing.
pub const AHEAD: u64 = 1536 << 10;

/// Windows a stream asks for ahead at least, once its rate is known.
const AHEAD_LEAST: u64 = 2;

/// Windows to ask for ahead: twice what the stream's rate (bytes a second)
/// moves in a round trip, between [`AHEAD_LEAST`] and `most`. What is asked
/// for cannot be split off: at a fixed 1.5 MiB the slowest of four streams
/// at 200 Mbit/s, 20 ms and 0.5% loss (45 Mbit/s) fetched its last windows
/// alone for 0.28 s of a 3.4 s download. Asked for ahead, a window arrives
/// a round trip later at most, so twice the rate's round trip keeps the
/// server sending; a stream held back by its credit measures a rate of its
/// credit per round trip and so asks for more.
fn ahead_for(rate: f64, rtt: Duration, grant: u64, most: u64) -> u64 {
    let want = (2.0 * rate * rtt.as_secs_f64() / grant as f64).ceil();
    (want as u64).clamp(AHEAD_LEAST.min(most), most)
}

/// The byte range `[from, to)` cut into `n` pieces for the streams to
/// start with, inner boundaries on the window grid.
pub fn pieces(from: u64, to: u64, n: usize) -> Vec<(u64, u64)> {
    let n = n.max(1) as u64;
    let len = to - from;
    let cut = |i: u64| {
        if i == n {
            to
        } else {
            from + (len * i / n) / WINDOW * WINDOW
        }
    };
    (0..n).map(|i| (cut(i), cut(i + 1))).filter(|(a, b)| b > a).collect()
}

/// A lane whose GETCAN already left, behind the stop of the lane before
/// it: where it starts and the bytes its first window claimed (0: its
/// range was empty, and nothing was sent).
pub struct Asked {
    /// The lane's start.
    pub start: u64,
    first: usize,
    /// Asked compressed (`TFDGETCANZ`).
    z: bool,
}

/// How a stream's lanes come: compressed under `choice` (None: as they
/// are, GETCAN), no block decoding beyond the file's `size`.
pub struct Squeezed {
    /// The choice the server is asked to compress by; None once a server
    /// without `TFDGETCANZ` said so.
    pub choice: Option<Choice>,
    /// The file's size, as the server announced it.
    pub size: u64,
}

/// Sends the request for a lane of `remote` from `start`, `want` bytes a
/// window: `TFDGETCANZ` under `choice`, else GETCAN.
fn send_ask(c: &mut Client, remote: &[u8], start: u64, want: u64, choice: Option<Choice>) -> Result<(), Error> {
    let cmd = match choice {
        Some(ch) => [
            zget::GET_CAN.as_bytes(),
            b" ",
            &zget::encode_can(ch, remote, start, want as i64, 1),
        ]
        .concat(),
        None => [
            &b"GETCAN "[..],
            &tfp_wire::hpf::encode(remote, start, want as i64, Some(1)),
        ]
        .concat(),
    };
    c.chan.tx.send_frame(&cmd)?;
    Ok(())
}

/// Where a lane's data stopped and where the lane ended (when its data
/// stopped short, the file ended first).
pub struct Moved {
    /// Where the data stopped.
    pub pos: u64,
    /// The lane's end, where no stream could split it any more.
    pub end: u64,
}

/// The first window of stream `me`'s lane from `start` claimed, and the
/// GETCAN that asks for it sent (unless the lane is empty).
fn ask(
    c: &mut Client,
    remote: &[u8],
    shares: &Shares,
    me: usize,
    start: u64,
    want: u64,
    choice: Option<Choice>,
) -> Result<Asked, Error> {
    let (_, first) = shares.claim(me, want as usize);
    if first > 0 {
        send_ask(c, remote, start, want, choice)?;
    }
    Ok(Asked {
        start,
        first,
        z: choice.is_some(),
    })
}

/// A lane's windows as they come off the wire: each as it is, or (asked
/// compressed) one block decoded within the window and what the file has
/// left, so a block announcing more, decoding to more or less, or corrupt
/// is the server's fault and nothing of it lands.
struct Windows {
    buf: AlignedBuf,
    grant: u64,
    blocks: Option<(Blocks, u64)>,
}

impl Windows {
    fn new(grant: u64, z: bool, size: u64) -> Result<Windows, Error> {
        let (unit, blocks) = match z {
            true => (
                zget::unit_max(grant as usize),
                Some((Blocks::new(zget::GET_CAN)?, size)),
            ),
            false => (grant as usize, None),
        };
        Ok(Windows {
            buf: AlignedBuf::zeroed(unit),
            grant,
            blocks,
        })
    }

    /// The next window's data, the file's from `pos`; None at the end code.
    fn recv(&mut self, c: &mut Client, pos: u64) -> Result<Option<&[u8]>, Error> {
        let n = c.chan.rx.recv_i64()?;
        if n == code::END {
            return Ok(None);
        }
        if n < 0 {
            return Err(Error::Cancelled { command: "GETCAN" });
        }
        if n as u64 > self.buf.len() as u64 {
            return Err(Error::Protocol(format!("chunk {n} over grant {}", self.grant)));
        }
        let unit = &mut self.buf[..n as usize];
        c.chan.rx.recv_unit(unit)?;
        match &mut self.blocks {
            None => Ok(Some(unit)),
            Some((blocks, size)) => {
                let room = self.grant.min(size.saturating_sub(pos));
                blocks.data(unit, room).map(Some)
            }
        }
    }
}

/// Moves stream `me`'s lane of `remote` from `start` (what
/// [`Shares::next_grained`] gave it, with the grain [`WINDOW`]) through
/// GETCAN, each byte handed to `sink` in order; `asked`: its GETCAN
/// already left (the lane before asked for it). When the lane is all
/// claimed, `next` gives the stream's next lane (None: there is none),
/// its GETCAN leaves in one write with the stop word (put in `then`), and
/// `took` records it (the journal's range, stored before a byte lands):
/// its first window follows this lane's last one instead of a round trip
/// later (each stream's lanes but the first cost that round trip's data,
/// under loss ~1/4 of the link for 20 ms each). A server
/// without GETCAN gets one GET of the whole lane. A failure may leave the
/// session out of step: the caller drops it.
#[allow(clippy::too_many_arguments)]
pub fn get_lane(
    c: &mut Client,
    remote: &[u8],
    shares: &Shares,
    me: usize,
    start: u64,
    bufsz: i64,
    asked: Option<Asked>,
    next: &mut dyn FnMut() -> Option<u64>,
    took: &mut dyn FnMut(u64) -> Result<(), Error>,
    then: &mut Option<Asked>,
    z: &mut Squeezed,
    sink: &mut dyn FnMut(&[u8]) -> std::io::Result<()>,
) -> Result<Moved, Error> {
    // the first window is asked for by the command itself: claimed before it
    let want = WINDOW.min(bufsz.max(1) as u64);
    let asked = match asked {
        Some(a) => a,
        None => ask(c, remote, shares, me, start, want, z.choice)?,
    };
    if asked.first == 0 {
        return Ok(Moved {
            pos: start,
            end: shares.end(me),
        });
    }
    let mut claimed = start + asked.first as u64;
    let mut f = c.chan.rx.recv_frame()?;
    let mut squeezed = asked.z;
    if squeezed && matches!(Status::parse(&f), Status::Unknown) {
        // a server without the ranged compressed form: today's GETCAN
        z.choice = None;
        squeezed = false;
        send_ask(c, remote, start, want, None)?;
        f = c.chan.rx.recv_frame()?;
    }
    let Some(grant) = granted(&f, want as i64)? else {
        return match Status::parse(&f) {
            Status::Unknown => {
                // the whole lane at once: no one can split it any more
                while shares.claim(me, usize::MAX).1 > 0 {}
                let end = shares.end(me);
                crate::parallel::get_range(c, remote, start, end, bufsz, sink).map(|()| Moved { pos: end, end })
            }
            st => Err(Error::refused("GETCAN", st)),
        };
    };
    let grant = grant as u64;
    let most = AHEAD.div_ceil(grant).max(1);
    // the full credit until a few windows tell the stream's rate
    let mut ahead = most;
    let mut rate = 0.0f64;
    let mut last = std::time::Instant::now();
    let mut windows = Windows::new(grant, squeezed, z.size)?;
    // window j is the server's j-th chunk; after it, it reads our word j
    let mut worded = 0u64;
    let mut received = 0u64;
    let mut stop: Option<u64> = None;
    let mut end = start;
    let mut pos = start;
    loop {
        while stop.is_none() && worded < received + ahead {
            // word j asks for window j + 1, which must be ours first
            let j = worded + 1;
            let need = start + (j + 1) * grant;
            if claimed < need {
                let (_, n) = shares.claim(me, (need - claimed) as usize);
                claimed += n as u64;
            }
            if claimed <= start + j * grant {
                // the stop and the next lane's GETCAN in one write: the
                // server finds the command waiting when it reads the stop
                c.chan.tx.hold();
                c.chan.tx.send_i64(code::CANCEL)?;
                stop = Some(j);
                // all claimed: the lane ends here now, whoever splits later
                end = shares.end(me);
                let s = next();
                if let Some(s) = s {
                    *then = Some(ask(c, remote, shares, me, s, want, z.choice)?);
                }
                c.chan.tx.release()?;
                if let Some(s) = s {
                    // no byte of it is read before this lane's last
                    took(s)?;
                }
            } else {
                c.chan.tx.send_i64(code::CONT)?;
            }
            worded = j;
        }
        let Some(data) = windows.recv(c, pos)? else {
            // the file ended before the lane did: words we sent ahead are
            // still unread, so the session is no longer in step
            return Err(Error::Mismatch(format!(
                "the file ended at {pos}, inside the range {start}..{claimed} (changed on the server?)"
            )));
        };
        let n = data.len();
        // a window past the lane's end (a resumed lane off the grid) is dropped
        let take = (n as u64).min(claimed.saturating_sub(pos)) as usize;
        if take > 0 {
            sink(&data[..take]).map_err(Error::Local)?;
            pos += take as u64;
        }
        received += 1;
        if stop == Some(received) {
            return Ok(Moved { pos, end });
        }
        // the stream's rate from the windows' arrivals, smoothed
        let now = std::time::Instant::now();
        let dt = now.duration_since(last).as_secs_f64().max(1e-6);
        last = now;
        let r = n as f64 / dt;
        rate = if rate == 0.0 { r } else { 0.75 * rate + 0.25 * r };
        if received > most {
            if let Some(rtt) = tfd_sys::tcp_rtt(std::os::fd::AsFd::as_fd(c.chan.stream())) {
                ahead = ahead_for(rate, rtt, grant, most);
            }
        }
    }
}

/// The journal's ranges by index, each `(start, end, landed up to)`, and
/// whether the streams ended.
type Progress = (Vec<(u64, u64, u64)>, bool);

/// What has landed of each journal range, for the in-order hash.
pub struct Landed {
    state: Mutex<Progress>,
    moved: Condvar,
}

impl Landed {
    /// The journal's ranges as they stand.
    pub fn new(ranges: &[Range]) -> Landed {
        Landed {
            state: Mutex::new((
                ranges.iter().map(|r| (r.start, r.end, r.start + r.done)).collect(),
                false,
            )),
            moved: Condvar::new(),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Progress> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Range `i` landed up to `upto`.
    pub fn set(&self, i: usize, upto: u64) {
        if let Some(r) = self.lock().0.get_mut(i) {
            r.2 = upto;
        }
        self.moved.notify_all();
    }

    /// Range `i` now ends at `cut`; a new range (the next index) goes on
    /// from there.
    pub fn split(&self, i: usize, cut: u64) {
        let mut s = self.lock();
        if let Some(r) = s.0.get_mut(i) {
            let end = r.1;
            r.1 = cut;
            s.0.push((cut, end, cut));
        }
    }

    /// No more bytes will land (the streams ended, whichever way).
    pub fn close(&self) {
        self.lock().1 = true;
        self.moved.notify_all();
    }
}

/// How far ahead of its reads the in-order hash asks for what has landed.
const READ_AHEAD: u64 = 8 << 20;

/// The SHA-256 of `file`'s `size` bytes, `h` holding those before `pos`,
/// read back in file order as [`Landed`] says they land. None when the
/// streams ended before the file was whole.
pub fn hash_in_order(file: &File, landed: &Landed, size: u64, mut pos: u64, mut h: Sha256) -> Option<Sha256> {
    let mut buf = vec![0u8; 1 << 20];
    // asked of the kernel ahead of the reads: the streams write past the
    // cache, and at the end the hash is left most of the file to read back
    // (a stream's first range is landed in full only at the end), which
    // one synchronous read after another took 63 ms of a 64 MiB download's
    // 3.2 s over 200 Mbit/s
    let mut advised = pos;
    while pos < size {
        let upto = {
            let mut s = landed.lock();
            loop {
                let here = s.0.iter().find(|r| r.0 <= pos && pos < r.1).map_or(pos, |r| r.2);
                if here > pos {
                    break here;
                }
                if s.1 {
                    return None;
                }
                s = landed
                    .moved
                    .wait_timeout(s, Duration::from_millis(200))
                    .map(|(s, _)| s)
                    .unwrap_or_else(|p| p.into_inner().0);
            }
        };
        let ahead = upto.min(pos + READ_AHEAD);
        if ahead > advised {
            let from = advised.max(pos);
            let _ = nix::fcntl::posix_fadvise(
                std::os::fd::AsRawFd::as_raw_fd(file),
                from as i64,
                (ahead - from) as i64,
                nix::fcntl::PosixFadviseAdvice::POSIX_FADV_WILLNEED,
            );
            advised = ahead;
        }
        let n = (upto - pos).min(buf.len() as u64) as usize;
        file.read_exact_at(&mut buf[..n], pos).ok()?;
        h.update(&buf[..n]);
        // the streams write past the page cache; reading back must not
        // undo that (as the read-back's `each_chunk` with `drop_cache`)
        tfd_sys::direct::drop_cached(file, pos, n as u64);
        pos += n as u64;
    }
    // and what the kernel read ahead beyond the last chunk
    tfd_sys::direct::drop_cached(file, 0, 0);
    Some(h)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_credit_follows_the_rate() {
        let ms = Duration::from_millis;
        // 45 Mbit/s at 30 ms: 340 KB in two round trips, two windows
        assert_eq!(ahead_for(5.6e6, ms(30), WINDOW, 6), 2);
        // 100 Mbit/s at 50 ms, one stream: 1.25 MB in two round trips
        assert_eq!(ahead_for(12.5e6, ms(50), WINDOW, 6), 5);
        // 1 Gbit/s at 50 ms: no more than the most
        assert_eq!(ahead_for(125e6, ms(50), WINDOW, 6), 6);
        // loopback: the least
        assert_eq!(ahead_for(1e9, Duration::from_micros(50), WINDOW, 6), 2);
        assert_eq!(ahead_for(0.0, ms(20), WINDOW, 1), 1);
    }

    #[test]
    fn pieces_cover_exactly_on_the_window_grid() {
        for (from, to, n) in [(0u64, 64 << 20, 4usize), (0, 1, 4), (5, 10 << 20, 3), (0, 0, 2)] {
            let p = pieces(from, to, n);
            let mut at = from;
            for (i, &(a, b)) in p.iter().enumerate() {
                assert_eq!(a, at);
                assert!(b > a);
                if i + 1 < p.len() {
                    assert_eq!((b - from) % WINDOW, 0);
                }
                at = b;
            }
            assert_eq!(at, to.max(from));
        }
    }
}
