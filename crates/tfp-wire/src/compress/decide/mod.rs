//! The decider: raw or zstd, and at which level, block by block, from what
//! was measured (as `zstd --adapt` does), never from a file's name.
//!
//! Its inputs are explicit, so every rule is tested without a network:
//!
//! - the block's sample ratio ([`super::Sampler`]), which
//!   [`Decider::plan`] asks for only when it could matter: a block whose
//!   sample does not shrink below [`MARGIN`] goes raw;
//! - the link, as the sender saw it ([`Decider::sent`]: bytes written to the
//!   socket and the time those writes took);
//! - the compressor's cost ([`Decider::compressed`]: bytes in, bytes out,
//!   the time it took).
//!
//! Sending one byte raw costs `1 / link`; compressed it costs `cpu + ratio /
//! link` (the sender compresses, then writes). Compression is on only when
//! that is smaller, so on loopback or a fast LAN, where the link outruns
//! zstd, every block goes raw. While on, the level follows the bottleneck:
//! up while compressing takes less than half the time the compressed bytes
//! spend on the link (the socket is the bottleneck), down when it takes
//! longer (the CPU is).

use super::choice::Choice;
use super::MAX_LEVEL;
use std::time::Duration;

/// A block whose sample compresses to more than this fraction goes raw.
pub const MARGIN: f64 = 0.9;
/// The level a transfer starts at (zstd's default).
pub const DEFAULT_LEVEL: i32 = 3;
/// The link is measured over windows of this many bytes: measured
/// ([`Choice::Auto`]), nothing is compressed before the first was sent.
pub const LINK_WINDOW: u64 = 1 << 20;
/// When compression is off but came close, one block in this many is
/// compressed anyway to measure again.
const PROBE_EVERY: u32 = 64;
/// When compression is off and not even close to paying, one block in this
/// many is compressed anyway: an estimate made on a bad moment (a core
/// taken by another process) must not keep it off for good.
const PROBE_HOPELESS: u32 = 4096;
/// How much a new measurement weighs against the running one.
const ALPHA: f64 = 0.5;
/// A compressed block weighs [`ALPHA`] when it holds this many bytes, less
/// in proportion when it holds fewer: a small file's block, whose few
/// microseconds a preemption can multiply a thousandfold, barely moves the
/// CPU's estimate (one such block once kept a session raw for 6,000 blocks).
const CPU_WINDOW: usize = 256 << 10;

/// What the sender's socket tells at a window's end ([`Decider::sent_on`]):
/// the rate it delivers (bytes per second) and whether the sender limited
/// it, and the connection's busy time and the part of it the receiver's
/// window limited, both in microseconds since it began (0 where the
/// kernel does not say).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Delivered {
    /// Bytes per second.
    pub rate: u64,
    /// The sample was limited by the sender.
    pub app_limited: bool,
    /// Microseconds the connection was busy.
    pub busy_us: u64,
    /// Of them, those the receiver's window limited.
    pub rwnd_limited_us: u64,
}

/// From the kernel's word in the order `tfd_sys::TcpDelivery::parts`
/// gives it.
impl From<(u64, bool, u64, u64)> for Delivered {
    fn from((rate, app_limited, busy_us, rwnd_limited_us): (u64, bool, u64, u64)) -> Delivered {
        Delivered {
            rate,
            app_limited,
            busy_us,
            rwnd_limited_us,
        }
    }
}

/// What to do with one block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Plan {
    /// Send the block as it is; the stream does not see it.
    Raw,
    /// Compress it into the stream at this level.
    Compress {
        /// zstd's level, 1..=19.
        level: i32,
    },
}

/// zstd's speed per level before anything is measured, in seconds per input
/// byte (a modest core: 400 MB/s at level 1, 3 MB/s at 19).
fn prior_cpu(level: i32) -> f64 {
    const MBPS: [f64; 19] = [
        400.0, 300.0, 200.0, 150.0, 100.0, 80.0, 60.0, 50.0, 40.0, 30.0, 25.0, 20.0, 15.0, 12.0, 10.0, 8.0, 6.0, 4.0,
        3.0,
    ];
    1.0 / (MBPS[(level.clamp(1, MAX_LEVEL) - 1) as usize] * 1e6)
}

/// The sender's judgement for one transfer.
#[derive(Debug, Clone)]
pub struct Decider {
    choice: Choice,
    max_level: i32,
    level: i32,
    /// Seconds per byte on the link, once a window was measured.
    link: Option<f64>,
    window_bytes: u64,
    window_time: f64,
    /// Seconds per input byte, per level, as measured.
    cpu: [Option<f64>; MAX_LEVEL as usize],
    /// Compressed size over input size of the blocks compressed lately.
    ratio: Option<f64>,
    /// Raw blocks since the last compressed one, while off.
    since_probe: u32,
    /// Seconds of CPU and of the clock that compressing took lately.
    busy: (f64, f64),
    /// The socket's busy and receiver-limited time at the last window's
    /// end ([`Delivered`]).
    chrono: Option<(u64, u64)>,
}

impl Decider {
    /// A decider for `choice`, never above `max_level` (the server's cap;
    /// the client's own, [`MAX_LEVEL`], when it gave none).
    pub fn new(choice: Choice, max_level: i32) -> Decider {
        let max_level = max_level.clamp(1, MAX_LEVEL);
        let level = match choice {
            Choice::Force(Some(l)) => l,
            _ => DEFAULT_LEVEL,
        }
        .clamp(1, max_level);
        Decider {
            choice,
            max_level,
            level,
            link: None,
            window_bytes: 0,
            window_time: 0.0,
            cpu: [None; MAX_LEVEL as usize],
            ratio: None,
            since_probe: 0,
            busy: (0.0, 0.0),
            chrono: None,
        }
    }

    /// The level compressed blocks go at now.
    pub fn level(&self) -> i32 {
        self.level
    }

    /// The link's rate as measured, in bytes per second.
    pub fn link_rate(&self) -> Option<f64> {
        self.link.map(|s| 1.0 / s)
    }

    fn cpu_at(&self, level: i32) -> f64 {
        self.cpu[(level.clamp(1, MAX_LEVEL) - 1) as usize].unwrap_or_else(|| prior_cpu(level))
    }

    /// What compressing a byte at `level` costs in time: zstd's CPU time
    /// times how long the thread waited for a core while compressing
    /// ([`Decider::waited`]): on a machine whose cores are all taken a
    /// level's CPU time is not what it costs the transfer.
    fn cost_at(&self, level: i32) -> f64 {
        let (cpu, wall) = self.busy;
        let waiting = if cpu > 0.0 { (wall / cpu).clamp(1.0, 16.0) } else { 1.0 };
        self.cpu_at(level) * waiting
    }

    /// Compressing took `cpu` of the thread's CPU time and `wall` of the
    /// clock's: summed over the last second or so of compressing, so one
    /// preempted block weighs what it lasted, no more.
    pub fn waited(&mut self, cpu: Duration, wall: Duration) {
        let (c, w) = &mut self.busy;
        *c += cpu.as_secs_f64();
        *w += wall.as_secs_f64().max(cpu.as_secs_f64());
        if *w > 1.0 {
            *c /= 2.0;
            *w /= 2.0;
        }
    }

    /// The plan for the next block; `sample` measures its sample's ratio at
    /// level 1, and is called only when the answer could matter (never on a
    /// link zstd cannot keep up with, so loopback pays nothing for it).
    pub fn plan(&mut self, sample: impl FnOnce() -> f64) -> Plan {
        let auto = match self.choice {
            Choice::Off => return Plan::Raw,
            Choice::Auto => true,
            Choice::Force(_) => false,
        };
        // Before its first window the link is unknown: compression was
        // asked because its round trip is a WAN's (the client's route),
        // so the first window goes compressed at the starting level, as
        // forced. Sending it raw to measure cost a megabyte per session
        // and per batch on the links where compression pays most, and at
        // most a few milliseconds of zstd where it does not.
        let link = match (auto, self.link) {
            (true, Some(link)) => link,
            _ => 0.0,
        };
        let auto = auto && self.link.is_some();
        if auto && self.cost_at(1) >= link {
            // not even data that vanished would pay: no sample, but a probe
            // now and then when it comes close
            return self.probe(link / self.cost_at(1), sample);
        }
        let ratio = sample();
        if ratio.is_nan() || ratio > MARGIN {
            return Plan::Raw;
        }
        if !auto {
            return Plan::Compress { level: self.level };
        }
        match self.paying_level(link, ratio) {
            Some(level) => {
                self.since_probe = 0;
                self.level = level;
                Plan::Compress { level }
            }
            None => self.probe(link / (self.cost_at(1) + ratio * link), || ratio),
        }
    }

    /// Off: one block in [`PROBE_EVERY`] is compressed at level 1 anyway
    /// when compressing comes within 2x of paying (`gain`, raw's time over
    /// compressed's), one in [`PROBE_HOPELESS`] when not, to measure zstd
    /// again.
    fn probe(&mut self, gain: f64, sample: impl FnOnce() -> f64) -> Plan {
        self.since_probe += 1;
        let every = if gain <= 0.5 { PROBE_HOPELESS } else { PROBE_EVERY };
        if self.since_probe < every {
            return Plan::Raw;
        }
        self.since_probe = 0;
        let ratio = sample();
        if ratio.is_nan() || ratio > MARGIN {
            return Plan::Raw;
        }
        self.level = 1;
        Plan::Compress { level: 1 }
    }

    /// The current level if compressing at it beats sending raw, else the
    /// lower one that does (as the CPU limits), else none.
    fn paying_level(&self, link: f64, ratio: f64) -> Option<i32> {
        (1..=self.level).rev().find(|&l| self.cost_at(l) + ratio * link < link)
    }

    /// A block of `input` bytes was compressed to `output` bytes in `cpu`:
    /// the level moves toward the bottleneck.
    pub fn compressed(&mut self, input: usize, output: usize, cpu: Duration) {
        if input == 0 {
            return;
        }
        let per_byte = cpu.as_secs_f64() / input as f64;
        let weight = ALPHA * (input.min(CPU_WINDOW) as f64 / CPU_WINDOW as f64);
        // the prior stands for what was not measured yet, so a first block
        // weighs no more than a later one
        let old = self.cpu_at(self.level);
        self.cpu[(self.level - 1) as usize] = Some(old + weight * (per_byte - old));
        let r = output as f64 / input as f64;
        self.ratio = Some(self.ratio.map_or(r, |old| old + weight * (r - old)));
        if matches!(self.choice, Choice::Force(Some(_))) {
            return;
        }
        let (Some(link), Some(ratio)) = (self.link, self.ratio) else {
            return;
        };
        let wire = ratio * link;
        let cpu = self.cost_at(self.level);
        if cpu < wire / 2.0 && self.level < self.max_level {
            self.level += 1;
        } else if cpu > wire && self.level > 1 {
            self.level -= 1;
        }
    }

    /// `bytes` went to the socket and the writes took `took`: the link's
    /// rate, measured over windows of [`LINK_WINDOW`] bytes (a socket
    /// buffer's first megabytes go out at memory speed; later windows tell
    /// the link). For a sender that cannot ask its socket ([`Decider::sent_on`]).
    pub fn sent(&mut self, bytes: usize, took: Duration) {
        self.sent_on(bytes, took, || None);
    }

    /// [`Decider::sent`] on a socket that tells what it delivers: at each
    /// window's end `socket` gives the kernel's rate (bytes per second)
    /// and whether the sender had too little to send then (the link is at
    /// least that fast). Timed writes tell the link only while they block:
    /// a sender slowed by its own compressing sees them return at once and
    /// took a 100 Mbit/s link shared by four sessions for one six times
    /// faster, then sent raw. The kernel's rate does not depend on that; an
    /// app-limited one only ever makes the link faster than thought (while
    /// compressing the sender is the bottleneck: its rate is its own, not
    /// the link's). A window whose busy time the receiver's window mostly
    /// limited tells the receiver's pace, not the link's (a download of
    /// many small files waits on tf landing them): it too only ever makes
    /// the link faster than thought, or the decider would climb levels
    /// whose CPU the receiver needs. None: the writes' time, as
    /// [`Decider::sent`].
    pub fn sent_on(&mut self, bytes: usize, took: Duration, socket: impl FnOnce() -> Option<Delivered>) {
        self.window_bytes += bytes as u64;
        self.window_time += took.as_secs_f64();
        if self.window_bytes < LINK_WINDOW {
            return;
        }
        let timed = self.window_time / self.window_bytes as f64;
        self.window_bytes = 0;
        self.window_time = 0.0;
        match socket().filter(|d| d.rate > 0) {
            Some(d) => {
                let paced = self.receiver_paced(d.busy_us, d.rwnd_limited_us);
                self.delivered(d.rate, d.app_limited || paced);
            }
            None => self.blend_link(timed),
        }
    }

    /// Whether the receiver's window limited more than half the socket's
    /// busy time since the last window's end.
    fn receiver_paced(&mut self, busy_us: u64, rwnd_us: u64) -> bool {
        let last = self.chrono.replace((busy_us, rwnd_us));
        let Some((b0, r0)) = last else {
            return false;
        };
        let (busy, rwnd) = (busy_us.saturating_sub(b0), rwnd_us.saturating_sub(r0));
        busy > 0 && rwnd * 2 > busy
    }

    /// The socket's rate: `rate` bytes per second, `limited` by the sender.
    fn delivered(&mut self, rate: u64, limited: bool) {
        let per_byte = 1.0 / rate as f64;
        match self.link {
            // the sender's own rate: the link is at least this fast, no slower
            Some(old) if limited && per_byte >= old => {}
            _ => self.blend_link(per_byte),
        }
    }

    fn blend_link(&mut self, per_byte: f64) {
        self.link = Some(self.link.map_or(per_byte, |old| old + ALPHA * (per_byte - old)));
    }

    /// The link as the socket already measured it (`rate` bytes per
    /// second), for a transfer starting on a connection that has carried
    /// data: its first window need not go raw to learn what is known.
    pub fn seed_link(&mut self, rate: u64) {
        if self.link.is_none() && rate > 0 {
            self.link = Some(1.0 / rate as f64);
        }
    }
}

#[cfg(test)]
mod tests;
