//! Reading tfd's transfer log (`xferlog`) in the delta and mirror tests: what
//! each transfer moved, by path.

use std::fs;
use std::path::Path;
use std::time::{Duration, Instant};

/// The transfer log's lines for `path` (absolute on the server) from line
/// `from` on: (command, bytes, complete). Waits up to 5 s for one to appear
/// (the session writes its line as the transfer ends).
pub fn moved(log: &Path, path: &str, from: usize) -> Vec<(String, u64, bool)> {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let t = fs::read_to_string(log).unwrap_or_default();
        let v: Vec<(String, u64, bool)> = t
            .lines()
            .skip(from)
            .filter_map(|l| {
                let f: Vec<&str> = l.split_whitespace().collect();
                let at = f.iter().position(|w| *w == path)?;
                let bytes = f[at - 1].parse().ok()?;
                let done = f.get(at + 9) == Some(&"c");
                Some((f[f.len() - 2].to_string(), bytes, done))
            })
            .collect();
        if !v.is_empty() || Instant::now() > deadline {
            return v;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// How many lines the log holds now.
pub fn lines(log: &Path) -> usize {
    fs::read_to_string(log).unwrap_or_default().lines().count()
}
