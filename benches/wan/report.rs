//! The report of one profile's cases.

use super::contest::{Case, Stats};
use super::options::Profile;
use crate::support::race::{median, Failure, MIB};

pub(crate) fn mib(b: u64) -> f64 {
    b as f64 / MIB as f64
}

/// Prints one profile's cases and adds their keys to `kv`.
pub(crate) fn report(profile: &Profile, cases: &[Case], kv: &mut String) {
    let pk = profile.key();
    println!();
    println!(
        "{} Mbit/s, {} ms RTT, {}% loss:",
        profile.rate, profile.rtt, profile.loss
    );
    println!(
        "  {:<40} {:<20} {:>8} {:>10} {:>10} {:>6}  other ÷ tf (> 1: tf faster)",
        "case", "tool", "median s", "MiB up", "MiB down", "link"
    );
    for c in cases {
        let tfs: Vec<&Stats> = c.stats.iter().filter(|s| s.is_tf && !s.times.is_empty()).collect();
        for s in &c.stats {
            let k = format!("{pk}_{}_{}", c.key, s.key);
            let Some(t) = median(s.times.clone()) else {
                let why = match &s.failed {
                    Some(Failure::Missing(w)) => {
                        kv.push_str(&format!(" {k}=skipped"));
                        format!("skipped (tf has no such command yet: {w})")
                    }
                    Some(Failure::Broken(w)) => {
                        kv.push_str(&format!(" {k}=failed"));
                        format!("FAILED: {}", w.chars().take(200).collect::<String>())
                    }
                    None => "not measured (time budget)".into(),
                };
                println!("  {:<40} {:<20} {why}", c.what, s.name);
                continue;
            };
            let up = median(s.wire.iter().map(|w| w.up as f64).collect()).unwrap_or(0.0) as u64;
            let down = median(s.wire.iter().map(|w| w.down as f64).collect()).unwrap_or(0.0) as u64;
            let link = c.payload.map(|b| b as f64 * 8.0 / (t * profile.rate * 1e6));
            let mut ratios = Vec::new();
            if !s.is_tf {
                for tf in &tfs {
                    let n = tf.times.len().min(s.times.len());
                    let r = median((0..n).map(|i| s.times[i] / tf.times[i]).collect());
                    if let Some(r) = r {
                        ratios.push(format!("÷{} {r:.2}×", tf.key));
                        kv.push_str(&format!(" {pk}_{}_{}_vs_{}={r:.3}", c.key, tf.key, s.key));
                    }
                }
            }
            println!(
                "  {:<40} {:<20} {:>8.2} {:>10.2} {:>10.2} {:>6}  {}",
                c.what,
                s.name,
                t,
                mib(up),
                mib(down),
                link.map_or(String::new(), |l| format!("{l:.2}")),
                ratios.join(" ")
            );
            kv.push_str(&format!(" {k}_s={t:.3} {k}_wire_up={up} {k}_wire_down={down}"));
            if let Some(l) = link {
                kv.push_str(&format!(" {k}_link={l:.3}"));
            }
        }
    }
}
