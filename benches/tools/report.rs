//! The report: one line per comparison, with its goal.

use super::contest::Outcome;
use crate::support::met;
use crate::support::race::Failure;
use std::time::Instant;

/// One line of the report: tf's speed against another tool's.
pub(crate) struct Line<'a> {
    pub(crate) key: &'static str,
    pub(crate) what: String,
    pub(crate) outcome: &'a Outcome,
    pub(crate) tf: &'static str,
    pub(crate) other: &'static str,
    /// `None`: for information.
    pub(crate) goal: Option<f64>,
}

pub(crate) fn report(lines: &[Line<'_>], kv: &mut String) {
    println!(
        "{:<58} {:>8} {:>8} {:>8} {:>6}  result",
        "tf ÷ the other tool (speed: the other's time ÷ tf's)", "tf s", "other s", "ratio", "goal"
    );
    for l in lines {
        let k = l.key;
        match l.outcome.ratio(l.tf, l.other) {
            Ok((r, t, s)) => {
                let verdict = l.goal.map_or("(information)", |g| met(r >= g));
                println!(
                    "{:<58} {:>8.3} {:>8.3} {:>7.2}× {:>6}  {verdict}",
                    l.what,
                    t,
                    s,
                    r,
                    l.goal
                        .map_or(String::new(), |g| format!("≥ {}", (g * 100.0).round() / 100.0))
                );
                kv.push_str(&format!(" {k}_ratio={r:.3} {k}_tf_s={t:.3} {k}_other_s={s:.3}"));
                if let Some(g) = l.goal {
                    kv.push_str(&format!(" {k}_met={}", r >= g));
                }
            }
            Err(Failure::Missing(why)) => {
                let cmd = l.tf.split(',').next().unwrap_or(l.tf).trim_start_matches("tf ");
                println!("{:<58} tf has no {cmd} yet: skipped ({why})", l.what);
                kv.push_str(&format!(" {k}=skipped"));
            }
            Err(Failure::Broken(why)) => {
                println!("{:<58} FAILED: {why}", l.what);
                kv.push_str(&format!(" {k}=failed"));
            }
        }
    }
}

/// Runs a phase and says how long it took (the budget is the bench's).
pub(crate) fn phase<T>(name: &str, f: impl FnOnce() -> Result<T, String>) -> Result<T, String> {
    let t = Instant::now();
    let r = f();
    println!("    ({name}: {:.1} s)", t.elapsed().as_secs_f64());
    r
}
