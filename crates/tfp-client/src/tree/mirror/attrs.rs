//! The last step of a mirror down that keeps what `rsync -a` keeps: links,
//! FIFOs and sockets made as what they are, the mode and mtime of entries
//! whose data was the same, then those of the directories, deepest first
//! and the root last (making or renaming anything in a directory moves its
//! mtime). All of it local, by descriptors that follow no link.

use super::super::names;
use super::super::sync::{Facts, Meta, Plan, Side};
use crate::engine::beside::Beside;
use crate::engine::events::Tally;
use crate::engine::keep::{self, Node};
use crate::engine::landing::Landing;
use std::path::Path;
use tfp_wire::entry::Mtime;
use tfp_wire::fstat::FileType;

/// Carries out the plan's nodes, attributes and directories; returns how
/// many nodes were made. What fails is told and the rest goes on.
pub(super) fn settle_down(
    land: &Landing,
    dst: &Path,
    p: &Plan,
    theirs: &Side,
    root: Option<&Meta>,
    failed_dirs: &[Vec<u8>],
    t: &mut Tally<'_>,
) -> usize {
    let below_failed = |rel: &[u8]| failed_dirs.iter().any(|d| names::below(rel, d));
    let mut made = 0;
    for rel in p.nodes.iter().filter(|r| !below_failed(r)) {
        let Some((facts, mtime)) = theirs.get(rel).and_then(|m| Some((m.facts.as_ref()?, m.mtime_ns()))) else {
            continue;
        };
        let node = match (facts.ft, &facts.target) {
            (FileType::Symlink, Some(target)) => Node::Link(target),
            (FileType::Fifo, _) => Node::Fifo,
            (FileType::Socket, _) => Node::Socket,
            _ => continue,
        };
        let r = Beside::within(land, rel).and_then(|b| {
            keep::make_node(&b, node)?;
            keep::set_attrs(&b, Some(keep::landing_mode(facts.mode, true)), Some(mtime))
        });
        match r {
            Ok(()) => made += 1,
            Err(e) => t.local(format!("mirror: {}: {e}", names::shown(rel))),
        }
    }
    for rel in p.attrs.iter().chain(&p.dirs).filter(|r| !below_failed(r)) {
        let Some((facts, mtime)) = theirs.get(rel).and_then(|m| Some((m.facts.as_ref()?, m.mtime_ns()))) else {
            continue;
        };
        set(land, rel, facts, mtime, t);
    }
    // the root last: the listing's "." line says its mode and mtime
    if let Some((f, mtime)) = root.and_then(|m| Some((m.facts.as_ref()?, m.mtime_ns()))) {
        let r =
            Beside::path(dst).and_then(|b| keep::set_attrs(&b, Some(keep::landing_mode(f.mode, true)), Some(mtime)));
        if let Err(e) = r {
            t.local(format!("mirror: {}: {e}", crate::escape::path(dst)));
        }
    }
    made
}

/// Gives `rel` the source's mode and mtime.
fn set(land: &Landing, rel: &[u8], facts: &Facts, mtime: Mtime, t: &mut Tally<'_>) {
    let r = Beside::within(land, rel)
        .and_then(|b| keep::set_attrs(&b, Some(keep::landing_mode(facts.mode, true)), Some(mtime)));
    if let Err(e) = r {
        t.local(format!("mirror: {}: its mode or mtime: {e}", names::shown(rel)));
    }
}
