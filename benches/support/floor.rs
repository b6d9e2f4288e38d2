//! What the benches that report a floor measure in the same run as the
//! figure: the CPU both ends spend, and what one core's SHA-256 costs.

use super::Server;
use std::time::Instant;

/// CPU seconds this process used so far (all its threads).
pub fn own_cpu() -> f64 {
    use nix::sys::resource::{getrusage, UsageWho};
    getrusage(UsageWho::RUSAGE_SELF).map_or(0.0, |u| {
        let (a, b) = (u.user_time(), u.system_time());
        a.tv_sec() as f64 + a.tv_usec() as f64 / 1e6 + b.tv_sec() as f64 + b.tv_usec() as f64 / 1e6
    })
}

/// CPU seconds of both ends (this process, tfd and its reaped sessions).
pub fn both_cpu(server: &Server) -> f64 {
    own_cpu() + server.cpu_seconds().unwrap_or(0.0)
}

/// Seconds one core takes to SHA-256 1 GiB (of memory: no disk).
pub fn sha_per_gib() -> f64 {
    use sha2::{Digest, Sha256};
    let buf = vec![0x5au8; 64 << 20];
    let t = Instant::now();
    let mut h = Sha256::new();
    for _ in 0..4 {
        h.update(&buf);
    }
    std::hint::black_box(h.finalize());
    t.elapsed().as_secs_f64() * 4.0
}

/// The middle value (NaN for none).
pub fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v.get(v.len() / 2).copied().unwrap_or(f64::NAN)
}
