//! The plan of a mirror from both sides as listed: the filter, the
//! partials left out, the rule each direction compares by, and which of the
//! files to move have a directory to land in.

use super::options::Options;
use crate::engine::events::{Fault, Tally};
use crate::engine::partial;
use crate::remote::listing::Kind;
use crate::tree::backups;
use crate::tree::names;
use crate::tree::sync::{self, Held, Keeps, Plan, Rule, Side};

/// Whether `rel` lies below one of `dirs`.
fn below(rel: &[u8], dirs: &[Vec<u8>]) -> bool {
    dirs.iter().any(|d| crate::tree::names::below(rel, d))
}

/// The files to move whose directory exists: one below a directory that
/// could not be made is told (as `fault`: here for a download, the server's
/// refusal for an upload) and left out.
pub(super) fn placeable<'p>(
    copy: &'p [Vec<u8>],
    failed_dirs: &[Vec<u8>],
    fault: Fault,
    t: &mut Tally<'_>,
) -> Vec<&'p Vec<u8>> {
    let mut out = Vec::with_capacity(copy.len());
    for rel in copy {
        if !below(rel, failed_dirs) {
            out.push(rel);
            continue;
        }
        let msg = format!("{}: {}: its directory could not be made", t.verb, names::shown(rel));
        match fault {
            Fault::Local => t.local(msg),
            Fault::Refused => t.refused(msg),
        }
    }
    out
}

/// Leaves out of the local side the partials (and journals) interrupted
/// downloads kept: they are the engine's, neither files to mirror nor extra
/// files to remove.
fn leave_partials(ours: &mut Side) {
    ours.retain(|rel, m| m.kind != Kind::File || !partial::is_partial_name(rel));
}

/// Which way a mirror moves files.
#[derive(Clone, Copy)]
pub(super) enum Direction {
    Down,
    Up,
}

/// The plan for both sides as listed: the filter applied to each, the
/// partials of interrupted downloads left out of the local side (a re-run
/// continues them; an upload never publishes an incomplete file), and the
/// rule that direction compares by. `--delete` removes nothing unless every
/// listing was `whole` (said when it was asked for).
pub(super) fn plan_of(
    o: &Options,
    theirs: &mut Side,
    ours: &mut Side,
    way: Direction,
    (whole, stamps): (bool, bool),
    keeps: Keeps,
    t: &mut Tally<'_>,
) -> Plan {
    let asked = o.delete || o.select.delete_excluded;
    let delete = asked && whole;
    if asked && !whole {
        t.note(match way {
            Direction::Down => "mirror: the server's listing was not whole: --delete removes nothing this time",
            Direction::Up => "mirror: a listing was not whole: --delete removes nothing this time",
        });
    }
    // --delete-excluded: the destination's excluded entries are extras
    let (src, dst): (&mut Side, &mut Side) = match way {
        Direction::Down => (theirs, ours),
        Direction::Up => (ours, theirs),
    };
    for p in o.filter.unlisted(|r| src.contains_key(r)) {
        let said = format!(
            "{}: {}: listed in --files-from, not in the source",
            t.verb,
            names::shown(&p)
        );
        match way {
            Direction::Down => t.refused(said),
            Direction::Up => t.local(said),
        }
    }
    o.filter.retain(src);
    // without --delete-excluded what the filter leaves out is never
    // removed, nor the directories holding it (as rsync)
    let mut held = Held::new();
    if !(o.select.delete_excluded && delete) {
        if delete {
            held = o.filter.holding(dst);
        }
        o.filter.retain(dst);
    }
    leave_partials(match way {
        Direction::Down => &mut *dst,
        Direction::Up => &mut *src,
    });
    let rule = match (way, o.checksum) {
        (_, true) => Rule::Checksum,
        (Direction::Down, false) => Rule::SameMtime,
        // without the times a copy's mtime is never its source's: judged
        // by size and mtime, as rsync -r judges it
        (Direction::Up, false) if stamps || !o.times => Rule::SameMtimeUp,
        (Direction::Up, false) => Rule::RemoteNotOlder,
    };
    let mut p = sync::plan_keeping(src, dst, rule, (delete, &held), keeps);
    o.select.prune(&mut p, src, dst);
    if let Some(w) = &o.backup {
        backups::file_by_file(&mut p, dst, w);
    }
    p
}
