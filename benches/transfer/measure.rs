//! Sources, sinks and measurements: the pattern sent, the sinks received into,
//! and a phase's figure (time, bytes, the CPU of both ends).

use super::options::UNIT;
use crate::support::Server;
use std::fs;
use std::io::{self, Read, Write};
use std::path::Path;
use std::time::{Duration, Instant};
use tfp_client::{Client, ClientConfig};
use tfp_wire::Status;

/// A deterministic, incompressible-looking 4 MiB pattern.
pub(crate) fn pattern() -> Vec<u8> {
    let mut x = 0x9e37_79b9_7f4a_7c15u64;
    let mut v = vec![0u8; UNIT];
    for c in v.chunks_mut(8) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        c.copy_from_slice(&x.to_le_bytes()[..c.len()]);
    }
    v
}

/// `left` bytes read from a repeating in-memory pattern: no disk on the client.
pub(crate) struct Repeat<'a> {
    pub(crate) pattern: &'a [u8],
    pub(crate) pos: usize,
    pub(crate) left: u64,
}

impl Read for Repeat<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = buf
            .len()
            .min(self.pattern.len() - self.pos)
            .min(self.left.min(usize::MAX as u64) as usize);
        buf[..n].copy_from_slice(&self.pattern[self.pos..self.pos + n]);
        self.pos = (self.pos + n) % self.pattern.len();
        self.left -= n as u64;
        Ok(n)
    }
}

/// Counts and drops what it is given.
pub(crate) struct Count(pub(crate) u64);

impl Write for Count {
    fn write(&mut self, b: &[u8]) -> io::Result<usize> {
        self.0 += b.len() as u64;
        Ok(b.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// User + system CPU seconds of this (client) process so far.
pub(crate) fn client_cpu() -> f64 {
    use nix::sys::resource::{getrusage, UsageWho};
    getrusage(UsageWho::RUSAGE_SELF)
        .map(|u| {
            let t = |tv: nix::sys::time::TimeVal| tv.tv_sec() as f64 + tv.tv_usec() as f64 / 1e6;
            t(u.user_time()) + t(u.system_time())
        })
        .unwrap_or(f64::NAN)
}

/// One measured phase.
#[derive(Clone, Copy)]
pub(crate) struct Figure {
    pub(crate) bytes: u64,
    pub(crate) secs: f64,
    /// CPU seconds the server (listener + sessions) used, per GiB moved.
    pub(crate) server_cpu_per_gib: f64,
    /// CPU seconds this process used, per GiB moved.
    pub(crate) client_cpu_per_gib: f64,
}

impl Figure {
    pub(crate) fn mbps(&self) -> f64 {
        self.bytes as f64 / self.secs / 1e6
    }
}

/// Runs `op`, which connects, transfers, ends its sessions and returns the bytes
/// it moved and the seconds the transfer itself took (handshakes excluded), between
/// CPU readings. The server's CPU is read once its sessions have exited (a session
/// process's time only counts in the listener's once reaped).
pub(crate) fn measure(server: &Server, op: impl FnOnce() -> Result<(u64, f64), String>) -> Result<Figure, String> {
    server.drain_sessions(Duration::from_secs(5));
    let (s0, c0) = (server.cpu_seconds(), client_cpu());
    let (bytes, secs) = op()?;
    let c1 = client_cpu();
    server.drain_sessions(Duration::from_secs(5));
    let gib = bytes as f64 / (1u64 << 30) as f64;
    Ok(Figure {
        bytes,
        secs,
        server_cpu_per_gib: match (s0, server.cpu_seconds()) {
            (Some(a), Some(b)) => (b - a) / gib,
            _ => f64::NAN,
        },
        client_cpu_per_gib: (c1 - c0) / gib,
    })
}

/// Times `op` on one fresh session (connect and END outside the time).
pub(crate) fn on_session(
    server: &Server,
    cfg: &ClientConfig,
    op: impl FnOnce(&mut Client) -> Result<u64, String>,
) -> Result<(u64, f64), String> {
    let mut c = Client::connect(cfg).map_err(|e| format!("connect: {e}"))?;
    // For `perf record -p`: the session serving this connection.
    if let Some(pid) = server.session_pids().last() {
        println!("        session pid {pid}");
    }
    let t = Instant::now();
    let r = op(&mut c);
    let secs = t.elapsed().as_secs_f64();
    let _ = c.end();
    r.map(|bytes| (bytes, secs))
}

/// Times `op` as a whole (it makes its own connections).
pub(crate) fn timed(op: impl FnOnce() -> Result<u64, String>) -> Result<(u64, f64), String> {
    let t = Instant::now();
    op().map(|bytes| (bytes, t.elapsed().as_secs_f64()))
}

/// Deletes a file in the server's data directory (absent is fine) and flushes
/// dirty pages, so one phase's writeback does not land in the next one's time.
pub(crate) fn clean(server: &Server, name: &str) {
    let _ = fs::remove_file(server.data_dir().join(name));
    nix::unistd::sync();
}

pub(crate) fn check_size(path: &Path, want: u64) -> Result<(), String> {
    match fs::metadata(path) {
        Ok(m) if m.len() == want => Ok(()),
        Ok(m) => Err(format!("{} has {} bytes, expected {want}", path.display(), m.len())),
        Err(e) => Err(format!("{}: {e}", path.display())),
    }
}

pub(crate) fn ok_status(what: &str, st: &Status) -> Result<(), String> {
    match st {
        Status::Ok(_) => Ok(()),
        other => Err(format!("{what} answered {other:?}")),
    }
}
