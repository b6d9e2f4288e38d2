//! A backup's prune (`tf backup prune NAME --keep-last N --keep-daily N
//! --keep-weekly N --keep-monthly N [--dry-run]`, the Python package's
//! `prune`, issue 69): restic's keep rules over the complete snapshots of
//! NAME. Each rule walks the snapshots newest first and keeps the first of
//! each period (the snapshot itself for `Last`; a UTC day, ISO week,
//! month) until it has kept N; a snapshot any rule keeps stays. A snapshot
//! to remove is first renamed to `.prune-<time>` (in one step it is no
//! longer listed, whole), then removed; a prune interrupted between leaves
//! only such names, which the next prune removes first.

use super::proof::Place;
use super::remote::snapshots;
use super::Failure;
use crate::{Client, ClientConfig};
use std::collections::BTreeSet;
use tfp_wire::Status;

const PRUNING: &str = ".prune-";

/// A keep rule's period.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Rule {
    /// Each snapshot.
    Last,
    /// A UTC day.
    Daily,
    /// An ISO week.
    Weekly,
    /// A month.
    Monthly,
}

/// What becomes of a snapshot.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fate {
    /// A rule keeps it.
    Kept,
    /// A dry run: it would be removed.
    WouldGo,
    /// Removed, with this machine's proofs of it.
    Removed,
    /// To be removed, but the server did not rename or remove it.
    NotRemoved,
}

/// A snapshot's period under `rule`; None for a name that is no time.
fn period(rule: Rule, name: &str) -> Option<String> {
    let y: i64 = name.get(0..4)?.parse().ok()?;
    let m: u32 = name.get(5..7)?.parse().ok()?;
    let d: u32 = name.get(8..10)?.parse().ok()?;
    Some(match rule {
        Rule::Last => name.to_string(),
        Rule::Daily => format!("{y:04}-{m:02}-{d:02}"),
        Rule::Monthly => format!("{y:04}-{m:02}"),
        Rule::Weekly => {
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
pub fn kept(snaps: &[String], rules: &[(Rule, u64)]) -> BTreeSet<String> {
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
    keep.extend(snaps.iter().filter(|s| period(Rule::Daily, s).is_none()).cloned());
    keep
}

/// Prunes the backup `name` by `rules` (at least one): each complete
/// snapshot, oldest first, with its fate. `dry`: nothing is removed, the
/// fates say what would be. A snapshot removed takes its proofs on this
/// machine with it ([`super::proof`]).
pub fn prune(
    c: &mut Client,
    cfg: &ClientConfig,
    name: &str,
    rules: &[(Rule, u64)],
    dry: bool,
) -> Result<Vec<(String, Fate)>, Failure> {
    if rules.is_empty() {
        return Err("a prune needs at least one keep rule (last, daily, weekly or monthly)"
            .to_string()
            .into());
    }
    let (snaps, leftovers) = snapshots(c, name)?;
    let keep = kept(&snaps, rules);
    if !dry {
        for l in leftovers.iter().filter(|l| l.starts_with(PRUNING)) {
            c.call("RMDIR", format!("{name}/{l}").as_bytes())?;
        }
    }
    let mut fates = Vec::with_capacity(snaps.len());
    for s in snaps {
        let fate = if keep.contains(&s) {
            Fate::Kept
        } else if dry {
            Fate::WouldGo
        } else {
            let gone = format!("{name}/{PRUNING}{s}");
            let moved = c.call("RENAM", format!("{name}/{s} | {gone}").as_bytes())?;
            if matches!(moved, Status::Ok(_)) && matches!(c.call("RMDIR", gone.as_bytes())?, Status::Ok(_)) {
                if let Ok(p) = Place::of(cfg, name, &s) {
                    p.remove();
                }
                Fate::Removed
            } else {
                Fate::NotRemoved
            }
        };
        fates.push((s, fate));
    }
    Ok(fates)
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
        let k = kept(&snaps, &[(Rule::Last, 1)]);
        assert_eq!(k.into_iter().collect::<Vec<_>>(), ["2026-02-03T020000.000Z"]);
        let k = kept(&snaps, &[(Rule::Daily, 3)]);
        assert_eq!(
            k.into_iter().collect::<Vec<_>>(),
            [
                "2026-01-05T010000.000Z",
                "2026-01-06T010000.000Z",
                "2026-02-03T020000.000Z"
            ]
        );
        // 2026-01-01 is a Thursday (week 1), the 5th and 6th week 2
        let k = kept(&snaps, &[(Rule::Weekly, 2), (Rule::Monthly, 2)]);
        assert_eq!(
            k.into_iter().collect::<Vec<_>>(),
            ["2026-01-06T010000.000Z", "2026-02-03T020000.000Z"]
        );
        assert_eq!(period(Rule::Weekly, "2026-01-01T000000Z").unwrap(), "2026-W01");
        assert_eq!(period(Rule::Weekly, "2024-12-30T000000Z").unwrap(), "2025-W01");
    }
}
