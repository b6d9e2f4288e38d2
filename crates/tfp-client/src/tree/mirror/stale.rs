//! The partial downloads a mirror finds in its destination that no later
//! run can want: the partial of a file the destination already holds
//! complete (the plan judged it the same as the server's), or of a file no
//! longer on the server. A `kill -9` of a run that was fetching a file
//! again leaves its partial beside the complete file, and nothing else
//! would ever remove it; a partial a resume could still continue is left
//! alone.

use super::super::names;
use super::super::sync::{Plan, Side};
use crate::engine::beside::Beside;
use crate::engine::events::Tally;
use crate::engine::landing::Landing;
use crate::engine::partial::{self, Partial};
use crate::leftovers::target_of;
use crate::remote::listing::Kind;

/// Why a partial goes.
#[derive(Clone, Copy)]
enum Why {
    Complete,
    Gone,
}

/// The targets of the partials the destination's scan found (`.NAME.tf-partial`
/// and its journal are NAME's), each once. A name cut short to fit
/// ([`target_of`]) names no target for sure: left out.
pub(super) fn targets(ours: &Side) -> Vec<Vec<u8>> {
    let mut out: Vec<Vec<u8>> = ours
        .iter()
        .filter(|(rel, m)| m.kind == Kind::File && partial::is_partial_name(rel))
        .filter_map(|(rel, _)| target_of(rel))
        .collect();
    out.dedup();
    out
}

/// Of `targets`, those the server's whole listing `theirs` (before any
/// filter) does not hold as a file: no resume can continue them.
pub(super) fn gone(targets: &[Vec<u8>], theirs: &Side, whole: bool) -> Vec<Vec<u8>> {
    if !whole {
        return Vec::new();
    }
    targets
        .iter()
        .filter(|t| !theirs.get(*t).is_some_and(|m| m.kind == Kind::File))
        .cloned()
        .collect()
}

/// Removes the partials of `gone` and of the `targets` the plan `p` judged
/// the same on both sides (in the filtered `theirs` and `ours`, neither
/// moved nor blocked), each told.
pub(super) fn remove(
    land: &Landing,
    (targets, gone): (&[Vec<u8>], &[Vec<u8>]),
    (theirs, ours, p): (&Side, &Side, &Plan),
    t: &Tally<'_>,
) {
    let same = |rel: &Vec<u8>| {
        theirs.get(rel).is_some_and(|m| m.kind == Kind::File)
            && ours.get(rel).is_some_and(|m| m.kind == Kind::File)
            && !p.copy.contains(rel)
            && !p.blocked.iter().any(|(b, _)| b == rel)
    };
    let stale = gone.iter().map(|g| (g, Why::Gone));
    let done = targets.iter().filter(|r| same(r)).map(|r| (r, Why::Complete));
    for (rel, why) in stale.chain(done) {
        // the engine's own open: locked (another tf's is left alone) and
        // only a partial that is provably ours
        let Ok(pt) = Beside::within(land, rel).and_then(Partial::open_at) else {
            continue;
        };
        pt.discard();
        let because = match why {
            Why::Complete => "the file here is complete",
            Why::Gone => "the file is no longer on the server",
        };
        t.note(format!(
            "mirror: {}: its partial download is no longer needed ({because}), removed",
            names::shown(rel)
        ));
    }
}
