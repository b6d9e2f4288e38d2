//! Why each entry of a plan changes, as rsync's `--itemize-changes` says
//! it: the plan ([`super::sync::plan`]) says what moves, this compares the
//! two sides' descriptions of each such entry to say why (new, size, time,
//! perms, owner, group). Pure, like the plan: tested without a server.

use super::names::rjoin;
use super::sync::{Facts, Keeps, Meta, Plan, Side};
use crate::engine::events::Events;
use crate::engine::item::{Action, Changes, Item, ItemKind};
use crate::remote::listing::Kind;
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use tfp_wire::fstat::FileType;

/// How a plan's items are named and judged.
#[derive(Debug, Clone, Copy)]
pub struct Frame<'a> {
    /// The destination is the server's (`<` for the files sent).
    pub upload: bool,
    /// What the plan kept: perms and times with `attrs`, owners with `owners`.
    pub keeps: Keeps,
    /// The tree's name below the destination as given (`put -r -a d dst`
    /// into an existing `dst`: `d`), or empty: the items' paths start with it.
    pub named: &'a [u8],
}

impl<'a> Frame<'a> {
    /// The frame of a run `upload`ing or not, keeping `keeps`, its tree
    /// `named` below the destination.
    pub fn new(upload: bool, keeps: Keeps, named: &'a [u8]) -> Self {
        Frame { upload, keeps, named }
    }
}

/// What `m` is, in rsync's letters.
fn kind_of(m: &Meta) -> ItemKind {
    match (m.kind, m.facts.as_ref().map(|f| f.ft)) {
        (Kind::Dir, _) => ItemKind::Dir,
        (Kind::File, _) => ItemKind::File,
        (Kind::Other, Some(FileType::Symlink)) => ItemKind::Symlink,
        (Kind::Other, Some(FileType::CharDevice | FileType::BlockDevice)) => ItemKind::Device,
        (Kind::Other, _) => ItemKind::Special,
    }
}

/// Why `s` replaces or amends `d` (none there: new).
pub fn changes(s: &Meta, d: Option<&Meta>, keeps: Keeps) -> Changes {
    let new = Changes {
        new: true,
        ..Changes::default()
    };
    let Some(d) = d.filter(|d| kind_of(d) == kind_of(s)) else {
        return new;
    };
    let time = if keeps.attrs {
        s.mtime_ns() != d.mtime_ns()
    } else {
        s.mtime != d.mtime
    };
    let (perms, owner, group) = match (&s.facts, &d.facts) {
        (Some(a), Some(b)) => (
            keeps.attrs && a.ft != FileType::Symlink && a.mode != b.mode,
            keeps.owners && matches!((a.owner, b.owner), (Some(x), Some(y)) if x.0 != y.0),
            keeps.owners && matches!((a.owner, b.owner), (Some(x), Some(y)) if x.1 != y.1),
        ),
        _ => (false, false, false),
    };
    let node = |f: &Option<Facts>| f.as_ref().map(|f| (f.target.clone(), f.rdev));
    Changes {
        new: false,
        checksum: s.kind == Kind::Other && node(&s.facts) != node(&d.facts),
        size: s.kind == Kind::File && s.size != d.size,
        // a directory's time is said only where times are kept
        time: time && (keeps.attrs || s.kind != Kind::Dir),
        perms,
        owner,
        group,
    }
}

/// An item of `rel`, from `s` at the source and `d` at the destination.
fn item(f: Frame<'_>, rel: &[u8], action: Action, s: &Meta, d: Option<&Meta>) -> Item {
    let kind = kind_of(s);
    Item {
        action,
        kind,
        path: rjoin(f.named, rel),
        size: if kind == ItemKind::File { s.size } else { 0 },
        changes: changes(s, d, f.keeps),
        target: s.facts.as_ref().and_then(|f| f.target.clone()),
    }
}

/// Whether any attribute differs.
fn any(c: &Changes) -> bool {
    c.new || c.checksum || c.size || c.time || c.perms || c.owner || c.group
}

/// The items of a settled plan, in the order rsync prints them: removals
/// (what a removed directory holds first), then every other entry by path.
pub fn items(src: &Side, dst: &Side, p: &Plan, f: Frame<'_>) -> Vec<Item> {
    let mut out = Vec::new();
    for r in p.remove.iter().filter(|r| r.extra) {
        let below = dst
            .range(r.rel.clone()..)
            .skip(1)
            .take_while(|(k, _)| super::names::below(k, &r.rel));
        let mut held: Vec<Item> = below.map(|(k, m)| deleted(f, k, m)).collect();
        held.reverse();
        out.extend(held);
        if let Some(m) = dst.get(&r.rel) {
            out.push(deleted(f, &r.rel, m));
        }
    }
    let mut rest: Vec<Item> = Vec::new();
    let moves = if f.upload { Action::Send } else { Action::Receive };
    let from = |rel: &Vec<u8>, action: Action| src.get(rel).map(|s| item(f, rel, action, s, dst.get(rel)));
    rest.extend(p.mkdir.iter().filter_map(|r| from(r, Action::Make)));
    for rel in &p.copy {
        let Some(mut i) = from(rel, moves) else { continue };
        // the same size and time: the contents alone differ
        i.changes.checksum |= !any(&i.changes);
        rest.push(i);
    }
    rest.extend(p.nodes.iter().filter_map(|r| from(r, Action::Make)));
    rest.extend(p.attrs.iter().filter_map(|r| from(r, Action::Attrs)));
    for rel in &p.dirs {
        let Some(i) = from(rel, Action::Attrs).filter(|i| !i.changes.new && any(&i.changes)) else {
            continue;
        };
        rest.push(i);
    }
    rest.sort_by(|a, b| a.path.cmp(&b.path));
    rest.dedup_by(|a, b| a.path == b.path);
    out.extend(rest);
    out
}

/// The item of a removed entry.
fn deleted(f: Frame<'_>, rel: &[u8], m: &Meta) -> Item {
    Item {
        action: Action::Delete,
        kind: kind_of(m),
        path: rjoin(f.named, rel),
        size: 0,
        changes: Changes::default(),
        target: None,
    }
}

/// The item of the tree's own directory: made (`cd+++++++++ ./`), or its
/// attributes set where they differ; `None` when nothing changes.
pub fn root(f: Frame<'_>, src: Option<&Meta>, dst: Option<&Meta>, exists: bool) -> Option<Item> {
    let dir = Meta {
        kind: Kind::Dir,
        size: 0,
        mtime: 0,
        changed: 0,
        facts: None,
    };
    let s = src.unwrap_or(&dir);
    let changes = match (exists, dst) {
        (false, _) => Changes {
            new: true,
            ..Changes::default()
        },
        (true, Some(d)) if f.keeps.attrs && src.is_some() => changes(s, Some(d), f.keeps),
        (true, _) => Changes::default(),
    };
    any(&changes).then(|| Item {
        action: if changes.new { Action::Make } else { Action::Attrs },
        kind: ItemKind::Dir,
        path: f.named.to_vec(),
        size: 0,
        changes,
        target: None,
    })
}

/// An entry described by its kind, size and mtime alone (a single file
/// source, an FSTAT answer).
pub fn stated(kind: Kind, size: u64, mtime: i64) -> Meta {
    Meta {
        kind,
        size,
        mtime,
        changed: 0,
        facts: None,
    }
}

/// A local entry as [`stated`] describes it (lstat's kind, size and
/// mtime), `None` when nothing is there: a single file's target here.
pub fn lstated(path: &Path) -> Option<Meta> {
    std::fs::symlink_metadata(path).ok().map(|m| {
        let kind = if m.is_dir() {
            Kind::Dir
        } else if m.is_file() {
            Kind::File
        } else {
            Kind::Other
        };
        stated(kind, m.len(), m.mtime())
    })
}

/// The item of a single file moved to `name` (no plan: compared by size
/// and mtime with what is there).
pub fn file(name: &[u8], action: Action, s: &Meta, d: Option<&Meta>) -> Item {
    let f = Frame {
        upload: action == Action::Send,
        keeps: Keeps::default(),
        named: b"",
    };
    item(f, name, action, s, d)
}

/// A local directory described as a side's entry is (for [`root`]).
pub fn local_dir(path: &Path) -> Option<Meta> {
    let m = std::fs::metadata(path).ok()?;
    Some(Meta {
        kind: Kind::Dir,
        size: 0,
        mtime: m.mtime(),
        changed: m.ctime(),
        facts: Some(Facts {
            ft: FileType::Dir,
            mode: m.mode() & 0o7777,
            nsec: u32::try_from(m.mtime_nsec()).unwrap_or(0),
            target: None,
            owner: Some((m.uid(), m.gid())),
            rdev: None,
            inode: None,
        }),
    })
}

/// The roots of both sides as described (where known), and whether the
/// destination's exists.
pub type Roots = (Option<Meta>, Option<Meta>, bool);

/// Tells `ev` the root's item ([`root`]), then the plan's.
pub fn tell(ev: &dyn Events, f: Frame<'_>, (src_root, dst_root, exists): Roots, (src, dst): (&Side, &Side), p: &Plan) {
    let root = root(f, src_root.as_ref(), dst_root.as_ref(), exists);
    for i in root.into_iter().chain(items(src, dst, p, f)) {
        ev.item(&i);
    }
}

#[cfg(test)]
mod tests;
