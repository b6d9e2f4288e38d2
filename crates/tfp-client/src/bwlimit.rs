//! A client's bandwidth limit (`tf --bwlimit`, rsync's option): one token
//! bucket per direction for everything a [`ClientConfig`](crate::ClientConfig)
//! opens, so the limit holds for the whole run however many sessions
//! (`--jobs`) and byte-range connections (`--streams`) share the work. It is
//! the bucket tfd paces its own sessions with (tfp_channel's bandwidth),
//! charged where bytes meet each socket: an upload's writes wait for their
//! tokens, and a download's reads do, TCP's window holding the server back
//! meanwhile.

use std::sync::Arc;
use tfp_channel::bandwidth::{Buckets, Pace, Rates};

/// The least limit taken, in bytes per second (rsync's too).
pub const LEAST: u64 = 512;

/// A rate as rsync's `--bwlimit` reads it, in bytes per second: a number,
/// maybe with a fraction, then a unit: none or `K` is KiB (1024 bytes), `M`
/// MiB, `G` GiB, `B` bytes; `KB`, `MB`, `GB` are powers of 1000 and `KiB`,
/// `MiB`, `GiB` of 1024 (any case). 0 (or `off`) is no limit.
pub fn parse_rate(text: &str) -> Result<u64, String> {
    let t = text.trim();
    if t.eq_ignore_ascii_case("off") {
        return Ok(0);
    }
    let split = t.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let bad = || format!("{text:?} is no rate: write a number of KiB/s, or one with a unit (500K, 2M, 1.5G)");
    let n: f64 = num.parse().map_err(|_| bad())?;
    let scale: f64 = match unit.to_ascii_lowercase().as_str() {
        "b" => 1.0,
        "" | "k" | "kib" => 1024.0,
        "kb" => 1e3,
        "m" | "mib" => 1024.0 * 1024.0,
        "mb" => 1e6,
        "g" | "gib" => 1024.0 * 1024.0 * 1024.0,
        "gb" => 1e9,
        _ => return Err(bad()),
    };
    let rate = n * scale;
    if !rate.is_finite() || rate >= u64::MAX as f64 {
        return Err(bad());
    }
    match rate as u64 {
        0 => Ok(0),
        r if r < LEAST => Err(format!("{text:?} is below the least limit, {LEAST} bytes a second")),
        r => Ok(r),
    }
}

/// The shared bucket for `rate` bytes per second each way, to put in a
/// config before it opens anything; None for 0 (no limit).
pub fn limit(rate: u64) -> std::io::Result<Option<Arc<Pace>>> {
    if rate == 0 {
        return Ok(None);
    }
    let buckets = Arc::new(Buckets::new(1)?);
    Ok(Pace::new(
        &buckets,
        Rates {
            session: rate,
            ..Rates::default()
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_read_as_rsync_reads_them() {
        assert_eq!(parse_rate("2M"), Ok(2 << 20));
        assert_eq!(parse_rate("2m"), Ok(2 << 20));
        assert_eq!(parse_rate("100"), Ok(100 << 10));
        assert_eq!(parse_rate("1.5K"), Ok(1536));
        assert_eq!(parse_rate("1G"), Ok(1 << 30));
        assert_eq!(parse_rate("1MB"), Ok(1_000_000));
        assert_eq!(parse_rate("1MiB"), Ok(1 << 20));
        assert_eq!(parse_rate("4096B"), Ok(4096));
        assert_eq!(parse_rate("0"), Ok(0));
        assert_eq!(parse_rate("off"), Ok(0));
        for bad in ["", "x", "2X", "-1", "1e9", "100b0", "1..2M"] {
            assert!(parse_rate(bad).is_err(), "{bad}");
        }
        assert!(parse_rate("10B").unwrap_err().contains("least"));
    }

    #[test]
    fn no_limit_no_bucket() {
        assert!(limit(0).unwrap().is_none());
        assert!(limit(1 << 20).unwrap().is_some());
    }
}
