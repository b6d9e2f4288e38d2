//! The last step of a mirror that keeps what `rsync -a` keeps: links, FIFOs
//! and sockets made as what they are, the mode and mtime of entries whose
//! data was the same, then those of the directories, deepest first and the
//! root last (making or renaming anything in a directory moves its mtime).
//! Down, all of it local, by descriptors that follow no link; up, in
//! archive batches the server carries out the same way.

use super::super::names;
use super::super::names::rjoin;
use super::super::sync::{Facts, Keeps, Meta, Plan, Side};
use crate::caps::Ext;
use crate::engine::beside::Beside;
use crate::engine::events::Tally;
use crate::engine::keep::{self, Node};
use crate::engine::landing::Landing;
use crate::engine::upload::entries;
use crate::engine::upload::many::Closing;
use crate::{Client, Error};
use std::path::Path;
use tfp_wire::entry::Mtime;
use tfp_wire::fstat::FileType;

/// What the last step carries out: the plan, the directories that could
/// not be made (nothing below them is touched) and what is kept.
pub(super) struct Done<'a> {
    pub(super) plan: &'a Plan,
    pub(super) failed_dirs: &'a [Vec<u8>],
    pub(super) keeps: Keeps,
    /// Up: the files (remote paths) whose owners went with their data, in
    /// archive batches' headers: not given again.
    pub(super) owned: &'a std::collections::HashSet<Vec<u8>>,
}

impl Done<'_> {
    /// Whether `rel` lies below a directory that could not be made.
    fn below_failed(&self, rel: &[u8]) -> bool {
        self.failed_dirs.iter().any(|d| names::below(rel, d))
    }
}

/// Carries out the plan's nodes, attributes and directories; returns how
/// many nodes were made. What fails is told and the rest goes on.
pub(super) fn settle_down(
    land: &Landing,
    dst: &Path,
    d: Done<'_>,
    theirs: &Side,
    root: Option<&Meta>,
    t: &mut Tally<'_>,
) -> usize {
    let (p, keeps) = (d.plan, d.keeps);
    let below_failed = |rel: &[u8]| d.below_failed(rel);
    let mut made = 0;
    for rel in p.nodes.iter().filter(|r| !below_failed(r)) {
        let Some((facts, mtime)) = theirs.get(rel).and_then(|m| Some((m.facts.as_ref()?, m.mtime_ns()))) else {
            continue;
        };
        let node = match (facts.ft, &facts.target) {
            (FileType::Symlink, Some(target)) => Node::Link(target),
            (FileType::Fifo, _) => Node::Fifo,
            (FileType::Socket, _) => Node::Socket,
            (FileType::CharDevice | FileType::BlockDevice, _) if keeps.devices => match facts.rdev {
                Some(rdev) => Node::Device {
                    block: facts.ft == FileType::BlockDevice,
                    rdev,
                },
                None => continue,
            },
            _ => continue,
        };
        let r = Beside::within(land, rel).and_then(|b| {
            keep::make_node(&b, node)?;
            keep::set_attrs(&b, wanted(facts, mtime, keeps))
        });
        match r {
            Ok(()) => made += 1,
            Err(e) => t.local(format!("{}: {}: {e}", t.verb, names::shown(rel))),
        }
    }
    for rel in p.attrs.iter().chain(&p.dirs).filter(|r| !below_failed(r)) {
        let Some((facts, mtime)) = theirs.get(rel).and_then(|m| Some((m.facts.as_ref()?, m.mtime_ns()))) else {
            continue;
        };
        set(land, rel, wanted(facts, mtime, keeps), t);
    }
    if keeps.owners {
        // the files moved: their owners alone (their times came with them)
        for rel in p.copy.iter().filter(|r| !below_failed(r)) {
            if let Some(f) = theirs.get(rel).and_then(|m| m.facts.as_ref()) {
                let Some(owner) = f.owner else { continue };
                let a = keep::Attrs {
                    owner: Some(owner),
                    mode: setid_again(f.mode).map(keep::owned_mode),
                    ..keep::Attrs::default()
                };
                set(land, rel, a, t);
            }
        }
    }
    // the root last: the listing's "." line says its mode and mtime
    if let Some((f, mtime)) = root.and_then(|m| Some((m.facts.as_ref()?, m.mtime_ns()))) {
        let r = Beside::path(dst).and_then(|b| keep::set_attrs(&b, wanted(f, mtime, keeps)));
        if let Err(e) = r {
            t.local(format!("{}: {}: {e}", t.verb, crate::escape::path(dst)));
        }
    }
    made
}

/// The mode a moved file is given again with its owner when it holds set-id
/// bits: the chown that gives the owner clears them (its other bits came
/// with the file).
fn setid_again(mode: u32) -> Option<u32> {
    (mode & 0o6000 != 0).then_some(mode)
}

/// What an entry of the source's `facts` and `mtime` is given here: its
/// mode, mtime and, with [`Keeps::owners`], owner; set-id bits (where tf
/// runs as root) only together with the owner.
fn wanted(facts: &Facts, mtime: Mtime, keeps: Keeps) -> keep::Attrs {
    let owner = facts.owner.filter(|_| keeps.owners);
    keep::Attrs {
        mode: Some(match owner {
            Some(_) => keep::owned_mode(facts.mode),
            None => keep::landing_mode(facts.mode, true),
        }),
        mtime: Some(mtime),
        owner,
    }
}

/// Gives `rel` what [`wanted`] says.
fn set(land: &Landing, rel: &[u8], a: keep::Attrs, t: &mut Tally<'_>) {
    let r = Beside::within(land, rel).and_then(|b| keep::set_attrs(&b, a));
    if let Err(e) = r {
        t.local(format!("{}: {}: its mode or mtime: {e}", t.verb, names::shown(rel)));
    }
}

/// Whether the server takes archive batches (its TFDENTRIES, as it told).
pub(crate) fn archive_batches(c: &mut Client) -> Result<bool, Error> {
    Ok(c.caps().has(Ext::Entries))
}

/// The last step of a mirror up that keeps what `rsync -a` keeps, as
/// archive entries: the plan's links, FIFOs and sockets, attributes
/// changed alone, then the directories deepest first and the root last.
pub(super) struct Last {
    list: Vec<entries::Entry>,
    /// The first `nodes` entries are made (counted as moved).
    nodes: usize,
    /// The directories from here on.
    dirs_from: usize,
}

impl Last {
    /// The step as the batches carry it ([`Closing`]).
    pub(super) fn closing(&self) -> Closing {
        Closing {
            dirs: self.list[self.dirs_from..].to_vec(),
            rest: self.list[..self.dirs_from].to_vec(),
            ..Closing::default()
        }
    }

    /// Tells what the batches refused of it; returns how many nodes were made.
    pub(super) fn told_closing(&self, closing: &Closing, t: &mut Tally<'_>) -> usize {
        let refused = |e: &entries::Entry| {
            closing
                .refused
                .iter()
                .find(|r| r.0 == e.path)
                .map(|r| (r.1, r.2.clone()))
        };
        let outcomes: Vec<_> = self.list.iter().map(refused).collect();
        self.told(outcomes, t)
    }

    /// Tells each refusal; returns how many nodes were made.
    fn told(&self, outcomes: Vec<Option<(i32, String)>>, t: &mut Tally<'_>) -> usize {
        let mut made = 0;
        for (i, (e, o)) in self.list.iter().zip(outcomes).enumerate() {
            match o {
                None if i < self.nodes => made += 1,
                None => {}
                Some((code, why)) => t.refused(format!("{}: /{}: FAILED {code}: {why}", t.verb, names::shown(&e.path))),
            }
        }
        made
    }
}

/// Sends the last step in archive batches on the caller's session (after
/// the data). Returns how many nodes were made; refusals are told.
pub(super) fn settle_up(c: &mut Client, last: &Last, t: &mut Tally<'_>) -> Result<usize, Error> {
    let Some(outcomes) = entries::send(c, &last.list)? else {
        return Ok(0);
    };
    Ok(last.told(outcomes, t))
}

/// The last step of a mirror up of `src` to `dst`, from the plan and the
/// local side.
pub(super) fn last_step(src: &Path, dst: &[u8], d: Done<'_>, (ours, top): (&Side, Option<&Meta>)) -> Last {
    let (p, keeps) = (d.plan, d.keeps);
    let below_failed = |rel: &[u8]| d.below_failed(rel);
    let entry = |rel: &[u8], kind: Option<FileType>| -> Option<entries::Entry> {
        let m = ours.get(rel)?;
        let f = m.facts.as_ref()?;
        Some(entries::Entry {
            kind,
            mode: (f.ft != FileType::Symlink).then_some(f.mode),
            mtime: Some(m.mtime_ns()),
            path: rjoin(dst, rel),
            target: f.target.clone(),
            owner: f.owner.filter(|_| keeps.owners),
            rdev: f.rdev,
        })
    };
    let mut list = Vec::new();
    for rel in p.nodes.iter().filter(|r| !below_failed(r)) {
        let kind = ours.get(rel).and_then(|m| m.facts.as_ref()).map(|f| f.ft);
        list.extend(entry(rel, kind));
    }
    let nodes = list.len();
    for rel in p.attrs.iter().filter(|r| !below_failed(r)) {
        list.extend(entry(rel, None));
    }
    if keeps.owners {
        // the files moved by a route that gives no owner: their owners
        // alone (their times went with them)
        for rel in p.copy.iter().filter(|r| !below_failed(r)) {
            let path = rjoin(dst, rel);
            if d.owned.contains(&path) {
                continue;
            }
            if let Some(f) = ours.get(rel).and_then(|m| m.facts.as_ref()) {
                let Some(owner) = f.owner else { continue };
                list.push(entries::Entry {
                    kind: None,
                    mode: setid_again(f.mode),
                    mtime: None,
                    path,
                    target: None,
                    owner: Some(owner),
                    rdev: None,
                });
            }
        }
    }
    let dirs_from = list.len();
    for rel in p.dirs.iter().filter(|r| !below_failed(r)) {
        list.extend(entry(rel, Some(FileType::Dir)));
    }
    // the root last, from the local directory itself, unless the server's
    // already is the same and nothing in it was made or removed (a second
    // run changes nothing there, not even a ctime)
    if let Ok(m) = std::fs::symlink_metadata(src) {
        use std::os::unix::fs::MetadataExt;
        // a directory's mode and mtime are `attrs`' (rsync's -p, -t)
        let root = entries::Entry {
            kind: Some(FileType::Dir),
            mode: keeps.attrs.then_some(m.mode() & 0o7777),
            mtime: keeps.attrs.then(|| crate::engine::mtime::mtime_of(&m)),
            path: dst.to_vec(),
            target: None,
            owner: keeps.owners.then_some((m.uid(), m.gid())),
            rdev: None,
        };
        let gives = root.mode.is_some() || root.owner.is_some();
        if gives && (touched_root(p) || !top.is_some_and(|top| holds(top, &root))) {
            list.push(root);
        }
    }
    Last { list, nodes, dirs_from }
}

/// What the last step of an archive upload stamps beyond the plan's
/// attributes: [`racy_again`]'s copies, and the files that `landed` as
/// deltas (remote paths below `dst`): a delta stamps the mtime to the
/// second, and the last step gives the new file (never the old one, which
/// only a delta that did not land left) its nanoseconds.
pub(super) fn stamp_again(p: &mut Plan, theirs: &Side, landed: &[Vec<u8>], dst: &[u8]) {
    let racy = racy_again(p, theirs);
    p.attrs.extend(racy);
    for r in landed.iter().filter_map(|r| super::ends::relative(r, dst)) {
        if !p.attrs.contains(&r) {
            p.attrs.push(r);
        }
    }
}

/// The copies compared by content for being made in their mtime's second
/// (on the server, `theirs`), not already to be stamped: stamped again, so
/// their new ctime ends the doubt.
fn racy_again(p: &Plan, theirs: &Side) -> Vec<Vec<u8>> {
    p.same_by_sum
        .iter()
        .filter(|r| !p.attrs.contains(r))
        .filter(|r| {
            theirs
                .get(*r)
                .is_some_and(|d| d.changed != 0 && super::super::sync::racy(d.changed, d.mtime))
        })
        .cloned()
        .collect()
}

/// Whether the plan makes, moves in or removes anything directly in the
/// root (each moves the root's mtime).
fn touched_root(p: &Plan) -> bool {
    let top = |r: &Vec<u8>| !r.contains(&b'/');
    p.copy.iter().chain(&p.nodes).chain(&p.mkdir).any(top) || p.remove.iter().any(|r| top(&r.rel))
}

/// Whether the remote directory `m` (as listed) already has what `e` gives.
fn holds(m: &Meta, e: &entries::Entry) -> bool {
    let Some(f) = m.facts.as_ref() else { return false };
    e.mode == Some(f.mode & 0o7777) && e.mtime == Some(m.mtime_ns()) && e.owner.map_or(true, |o| f.owner == Some(o))
}

/// Whether the server lets this session give entries an owner (tfd: a
/// session it runs as root and jails neither way, as it told).
pub(crate) fn may_keep_owners(c: &mut Client) -> Result<bool, Error> {
    Ok(c.caps().has(Ext::Owners))
}

/// What an upload of a mirror keeps of each file: the mode and mtime
/// where `times` (else a new file takes its source's mode less the umask and
/// the time of the copy, as `put -r` gives it), and with `archive` (the
/// server's archive batches) the whole mode, the mtime to the nanosecond and
/// the owner where `keeps` asks it; the run's compression and the attributes
/// each file lands with (`-X`, `-A`).
pub(super) fn upload_keep(
    (archive, times): (bool, bool),
    keeps: Keeps,
    cfg: &crate::ClientConfig,
) -> crate::engine::upload::Keep {
    // archive headers carry no "source's mode less the umask": without the
    // times the files go plain, their owners given by the last step
    let archive = archive && times;
    crate::engine::upload::Keep {
        mode: times,
        mtime: times,
        not_fresh: times && !archive,
        archive,
        owner: archive && keeps.owners,
        new_mode: !times,
        compress: cfg.compress,
        land: crate::engine::land_attrs::Carry::of(cfg),
    }
}
