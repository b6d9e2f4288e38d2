//! `tf backup prune NAME --keep-last N --keep-daily N --keep-weekly N
//! --keep-monthly N [--dry-run]` (issue 69): restic's keep rules over the
//! complete snapshots of NAME. Each rule walks the snapshots newest first
//! and keeps the first of each period (the snapshot itself for
//! `--keep-last`; a UTC day, ISO week, month) until it has kept N; a
//! snapshot any rule keeps stays. A snapshot to remove is first renamed to
//! `.prune-<time>` (in one step it is no longer listed, whole), then
//! removed; a prune interrupted between leaves only such names, which the
//! next prune removes first.

use super::exit::Exit;
use std::collections::BTreeSet;
use std::process::ExitCode;
use tf::options::commands::Given;
use tfp_client::escape::shown;
use tfp_client::{Client, ClientConfig, Error};
use tfp_wire::Status;

const PRUNING: &str = ".prune-";

/// The rules given: (name, N) for the ones present.
fn rules(g: &Given) -> Vec<(&'static str, u64)> {
    ["--keep-last", "--keep-daily", "--keep-weekly", "--keep-monthly"]
        .into_iter()
        .filter_map(|r| g.num(r).map(|n| (r, n)))
        .collect()
}

/// Whether any of prune's options was given.
pub fn any(g: &Given) -> bool {
    !rules(g).is_empty() || g.flag("--dry-run")
}

/// A snapshot's period under `rule`; None for a name that is no time.
fn period(rule: &str, name: &str) -> Option<String> {
    let y: i64 = name.get(0..4)?.parse().ok()?;
    let m: u32 = name.get(5..7)?.parse().ok()?;
    let d: u32 = name.get(8..10)?.parse().ok()?;
    Some(match rule {
        "--keep-last" => name.to_string(),
        "--keep-daily" => format!("{y:04}-{m:02}-{d:02}"),
        "--keep-monthly" => format!("{y:04}-{m:02}"),
        _ => {
            // ISO week: the week's Thursday decides its year
            let days = tfp_wire::date::days_from_civil(y, m, d);
            let weekday = (days + 3).rem_euclid(7); // Monday 0
            let thursday = days - weekday + 3;
            let (ty, _, _) = tfp_wire::date::civil_from_days(thursday);
            let week = (thursday - tfp_wire::date::days_from_civil(ty, 1, 1)) / 7 + 1;
            format!("{ty:04}-W{week:02}")
        }
    })
}

/// The snapshots kept of `snaps` (sorted oldest first) by `rules`.
pub fn kept(snaps: &[String], rules: &[(&str, u64)]) -> BTreeSet<String> {
    let mut keep = BTreeSet::new();
    for &(rule, n) in rules {
        let mut last: Option<String> = None;
        let mut count = 0;
        for s in snaps.iter().rev() {
            if count >= n {
                break;
            }
            let Some(p) = period(rule, s) else {
                keep.insert(s.clone());
                continue;
            };
            if last.as_ref() != Some(&p) {
                keep.insert(s.clone());
                count += 1;
                last = Some(p);
            }
        }
    }
    // a name that is no time is never judged by the rules: it stays
    keep.extend(snaps.iter().filter(|s| period("--keep-daily", s).is_none()).cloned());
    keep
}

/// Runs the prune of `name`; a snapshot removed takes its proofs on this
/// machine with it ([`tfp_client::backup::proof`]).
pub fn run(
    c: &mut Client,
    cfg: &ClientConfig,
    name: &str,
    g: &Given,
    snaps: &[String],
    leftovers: &[String],
) -> Result<ExitCode, Error> {
    let rules = rules(g);
    if rules.is_empty() {
        eprintln!("tf: backup prune needs at least one of --keep-last, --keep-daily, --keep-weekly, --keep-monthly");
        return Ok(ExitCode::from(Exit::Error));
    }
    let dry = g.flag("--dry-run");
    let keep = kept(snaps, &rules);
    let mut code = ExitCode::SUCCESS;
    if !dry {
        for l in leftovers.iter().filter(|l| l.starts_with(PRUNING)) {
            c.call("RMDIR", format!("{name}/{l}").as_bytes())?;
        }
    }
    for s in snaps {
        let shown_s = shown(s.as_bytes());
        if keep.contains(s) {
            println!("keep {shown_s}");
            continue;
        }
        if dry {
            println!("would remove {shown_s}");
            continue;
        }
        let gone = format!("{name}/{PRUNING}{s}");
        let moved = c.call("RENAM", format!("{name}/{s} | {gone}").as_bytes())?;
        let removed = matches!(moved, Status::Ok(_)) && matches!(c.call("RMDIR", gone.as_bytes())?, Status::Ok(_));
        if removed {
            if let Ok(p) = tfp_client::backup::proof::Place::of(cfg, name, s) {
                p.remove();
            }
            println!("removed {shown_s}");
        } else {
            eprintln!("tf: {shown_s} could not be removed");
            code = ExitCode::from(Exit::Error);
        }
    }
    Ok(code)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn restics_rules() {
        let snaps: Vec<String> = [
            "2026-01-01T010000.000Z",
            "2026-01-01T230000.000Z",
            "2026-01-05T010000.000Z",
            "2026-01-06T010000.000Z",
            "2026-02-03T010000.000Z",
            "2026-02-03T020000.000Z",
        ]
        .map(String::from)
        .to_vec();
        let k = kept(&snaps, &[("--keep-last", 1)]);
        assert_eq!(k.into_iter().collect::<Vec<_>>(), ["2026-02-03T020000.000Z"]);
        let k = kept(&snaps, &[("--keep-daily", 3)]);
        assert_eq!(
            k.into_iter().collect::<Vec<_>>(),
            [
                "2026-01-05T010000.000Z",
                "2026-01-06T010000.000Z",
                "2026-02-03T020000.000Z"
            ]
        );
        // 2026-01-01 is a Thursday (week 1), the 5th and 6th week 2
        let k = kept(&snaps, &[("--keep-weekly", 2), ("--keep-monthly", 2)]);
        assert_eq!(
            k.into_iter().collect::<Vec<_>>(),
            ["2026-01-06T010000.000Z", "2026-02-03T020000.000Z"]
        );
        assert_eq!(period("--keep-weekly", "2026-01-01T000000Z").unwrap(), "2026-W01");
        assert_eq!(period("--keep-weekly", "2024-12-30T000000Z").unwrap(), "2025-W01");
    }
}
