//! Whether a batch measured ([`Choice::Auto`]) over a slow link goes
//! compressed: when what compressing saves on the wire is more than what
//! zstd's time costs (the server's offer is told as the session enters, so
//! asking costs nothing).
//!
//! Both sides of the scale are measured, never a fixed size: what the
//! batch's bytes shrink to, from a zstd level-1 sample of its first files'
//! heads; what a byte costs on the link, from the session's socket (its
//! least round trip, its congestion window, its delivery rate once a
//! window of data has crossed it). Before the rate is known a batch of n
//! bytes still takes about log2(n / window + 1) round trips of slow start,
//! so a small tree over a long round trip saves whole round trips by
//! shrinking, whatever the link's rate; a link fast enough to outrun zstd
//! is never slow ([`super::route::compresses`]), so loopback and a LAN
//! never pay for the sample or the question.

use crate::engine::upload::file::Up;
use crate::Client;
use std::io::Read;
use std::time::Duration;
use tfp_wire::compress::{Sampler, LINK_WINDOW, SAMPLE};

/// zstd's time per input byte at the decider's starting level before it
/// measured any (a modest core, 100 MB/s at level 3): a compressed batch
/// takes at least that long, since the first window goes compressed.
const CPU_PER_BYTE: f64 = 1.0 / 100e6;

/// A congestion window the kernel did not tell: Linux's initial one, ten
/// segments of 1,448 bytes.
const INITIAL_WINDOW: u64 = 10 * 1448;

/// A WAN's rate before its socket measured one (100 Mbit/s), for a round
/// trip of [`WAN_RTT`] or more: slow start alone said that 57 MB of log
/// over 50 ms take twelve round trips, 0.6 s, less than zstd's time, so a
/// big file never asked, and crossed 100 Mbit/s in 6 s instead of 1.5.
const PRIOR_RATE: f64 = 12.5e6;

/// The round trip from which a link is taken at [`PRIOR_RATE`] until
/// measured. Below it (a LAN, a metro link) the link may outrun zstd:
/// 64 MiB of log over 1 Gbit/s and 2 ms went in 0.88 s compressed against
/// 0.68 s as it was (the bench's two cores also run the link), so a big
/// file there asks only once the rate is measured.
const WAN_RTT: Duration = Duration::from_millis(10);

/// The bytes a batch's sample takes from each of its first files.
const PER_FILE: usize = 4096;

/// What the session's socket tells of its link.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Wire {
    /// The least round trip seen.
    pub rtt: Duration,
    /// The bytes that may be in flight now.
    pub window: u64,
    /// Bytes per second the link delivered, once a window of data crossed
    /// it and the sender kept it busy; None before.
    pub rate: Option<f64>,
}

impl Wire {
    /// What `c`'s socket says, or None where it cannot tell a round trip.
    pub fn of(c: &Client) -> Option<Wire> {
        use std::os::fd::AsFd as _;
        let fd = c.chan.stream().as_fd();
        let rtt = tfd_sys::tcp_rtt(fd)?;
        let rate = match tfd_sys::tcp_delivery_rate(fd) {
            Some((r, false)) if c.chan.tx.bytes >= LINK_WINDOW => Some(r as f64),
            _ => None,
        };
        Some(Wire {
            rtt,
            window: tfd_sys::tcp_window(fd).unwrap_or(INITIAL_WINDOW).max(1),
            rate,
        })
    }

    /// Seconds `n` bytes take on this link: the round trips of slow start
    /// or the rate (before the socket measured one, [`PRIOR_RATE`]),
    /// whichever is the longer.
    fn time(&self, n: f64) -> f64 {
        let rounds = self.rtt.as_secs_f64() * (n / self.window as f64 + 1.0).log2();
        let prior = (self.rtt >= WAN_RTT).then_some(PRIOR_RATE);
        rounds.max(self.rate.or(prior).map_or(0.0, |r| n / r))
    }
}

/// Whether compressing `bytes` that shrink to `ratio` of their size saves
/// time on `w`, zstd's included.
pub fn pays(w: &Wire, bytes: u64, ratio: f64) -> bool {
    if ratio.is_nan() || ratio >= tfp_wire::compress::MARGIN {
        return false;
    }
    let n = bytes as f64;
    // zstd works while the link carries what it made: the longer of the two
    let squeezed = w.time(ratio * n).max(n * CPU_PER_BYTE);
    let saved = w.time(n) - squeezed;
    saved > 0.0
}

/// zstd level 1's ratio on the heads of `files`' first files (up to
/// [`PER_FILE`] bytes of each, [`SAMPLE`] in all, as one stream would see
/// them); 1.0 when none could be read.
pub(crate) fn sample(files: &[&Up]) -> f64 {
    let mut buf = Vec::with_capacity(SAMPLE);
    for u in files {
        if buf.len() >= SAMPLE {
            break;
        }
        let want = PER_FILE.min(SAMPLE - buf.len());
        if let Ok(f) = std::fs::File::open(&u.local) {
            let _ = f.take(want as u64).read_to_end(&mut buf);
        }
    }
    Sampler::new().map_or(1.0, |mut s| s.ratio(&buf))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wire(rtt_ms: u64, rate: Option<f64>) -> Wire {
        Wire {
            rtt: Duration::from_millis(rtt_ms),
            window: INITIAL_WINDOW,
            rate,
        }
    }

    #[test]
    fn a_small_compressible_tree_on_a_long_round_trip_pays() {
        // the smoke bench's tree: 1 MB of Python over 10 ms
        let w = wire(10, None);
        assert!(pays(&w, 1_000_000, 0.25));
        // a quarter of it on each of four sessions too
        assert!(pays(&w, 250_000, 0.25));
        // known rate, 100 Mbit/s: more so
        assert!(pays(&wire(10, Some(12.5e6)), 1_000_000, 0.25));
    }

    #[test]
    fn a_big_compressible_file_pays_before_the_rate_is_known() {
        // the WAN bench's 64 MiB log as one batch over 50 ms, a fresh
        // session: slow start alone would say twelve round trips
        let w = Wire {
            rtt: Duration::from_millis(50),
            window: 20_272,
            rate: None,
        };
        assert!(pays(&w, 57_163_088, 0.104));
        assert!(pays(&w, 18_000_000, 0.32));
        // over 2 ms (a LAN, a metro link) it waits for the measured rate
        let lan = Wire {
            rtt: Duration::from_millis(2),
            ..w
        };
        assert!(!pays(&lan, 57_163_088, 0.104));
    }

    #[test]
    fn what_does_not_shrink_does_not_pay() {
        let w = wire(10, None);
        assert!(!pays(&w, 1 << 30, 0.95));
        assert!(!pays(&w, 1 << 30, f64::NAN));
        // even a small batch may compress over a long round trip
        assert!(pays(&w, 30_000, 0.3));
    }

    #[test]
    fn a_fast_link_does_not_pay() {
        // at 10 Gbit/s nothing ever pays
        assert!(!pays(&wire(1, Some(1.25e9)), 1 << 30, 0.25));
    }

    #[test]
    fn the_sample_reads_the_first_files_heads() {
        let d = std::env::temp_dir().join(format!("tfp-zpays-{}", std::process::id()));
        std::fs::create_dir_all(&d).unwrap();
        let text = "def f(x):\n    return x + 1\n".repeat(400);
        let mut ups = Vec::new();
        for i in 0..3 {
            let p = d.join(format!("f{i}.py"));
            std::fs::write(&p, &text).unwrap();
            ups.push(Up {
                local: p,
                remote: b"r".to_vec(),
                size: None,
                theirs: None,
            });
        }
        let refs: Vec<&Up> = ups.iter().collect();
        let r = sample(&refs);
        assert!(r < 0.2, "{r}");
        let missing = Up {
            local: d.join("none"),
            remote: b"r".to_vec(),
            size: None,
            theirs: None,
        };
        assert_eq!(sample(&[&missing]), 1.0);
        std::fs::remove_dir_all(&d).unwrap();
    }
}
