//! Extended attributes (`-X`, doc/compatibility.md "Extended attributes"),
//! a mirror's step after its last: every file and directory of the source
//! (the tree's root too; a symlink or special file has none Linux keeps)
//! gets the attribute set of its source, compared first so an unchanged set
//! is never sent again. Setting an attribute moves only the ctime, so the
//! mtimes the last step gave stay exact.
//!
//! Up: the server's sets are asked in one pipeline (`TFDXATTRS`), and
//! those that differ are replaced in another (`TFDSETXATTRS`). Down: the
//! server's sets are asked alike and made here through the landing, on
//! descriptors reached with no symlink followed. Which names cross: `user.`
//! alone, and `trusted.` and `security.` too where both ends are root (the
//! server says its session's scope); a server's names this end may not
//! handle are kept as they are. A server without the commands keeps no
//! attributes, and the run says so once.
//!
//! POSIX ACLs (`-A`) are the same step of their own kind ([`Kind::Acls`]):
//! `TFDACLS` and `TFDSETACLS`, the names `system.posix_acl_access` and
//! `system.posix_acl_default` alone (an access ACL the mode says alone is
//! not one to carry, as rsync `-A`). It runs after the mode was given, so
//! the ACL's mask is the source's: the mode's group bits are the mask of a
//! file with an ACL, so the chmod before it and any of a later run agree.

use super::super::names::{self, rjoin};
use super::super::sync::Side;
use crate::engine::events::Tally;
use crate::engine::land_attrs::{checked, crosses, held, open_local, Given, LandAttrs, OPEN};
use crate::engine::landing::Landing;
use crate::remote::listing::{self, Kind as Entry};
use crate::remote::pipeline::pipelined;
use crate::{Client, Error};
use std::os::fd::AsFd;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use tfp_wire::xattr::{self as wire, Listing, Scope, Set, Xattrs};
use tfp_wire::Status;

/// Set when a server had no attribute commands, until a run tells it.
static UNKEPT: AtomicBool = AtomicBool::new(false);
/// Set when a server had no ACL commands, until a run tells it.
static UNKEPT_ACLS: AtomicBool = AtomicBool::new(false);

/// What the step carries: the extended attributes (`-X`) or the POSIX
/// ACLs (`-A`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    Xattrs,
    Acls,
}

impl Kind {
    /// The commands that read and set them.
    fn commands(self) -> (&'static str, &'static str) {
        match self {
            Kind::Xattrs => (wire::GET, wire::SET),
            Kind::Acls => (wire::ACL_GET, wire::ACL_SET),
        }
    }

    /// What a message calls them.
    fn what(self) -> &'static str {
        match self {
            Kind::Xattrs => "attributes",
            Kind::Acls => "ACLs",
        }
    }

    fn unkept(self) -> &'static AtomicBool {
        match self {
            Kind::Xattrs => &UNKEPT,
            Kind::Acls => &UNKEPT_ACLS,
        }
    }

    /// Whether they went unkept since the last call (told once a run).
    pub(super) fn unkept_taken(self) -> bool {
        self.unkept().swap(false, Ordering::Relaxed)
    }
}

/// The kinds `cfg` asks, in the order they are made (the ACLs last).
pub(super) fn kinds(cfg: &crate::ClientConfig) -> impl Iterator<Item = Kind> {
    [(cfg.xattrs, Kind::Xattrs), (cfg.acls, Kind::Acls)]
        .into_iter()
        .filter_map(|(on, k)| on.then_some(k))
}

/// The entries whose attributes cross: the root and the files and
/// directories of `side` not below a directory that could not be made.
fn entries(side: &Side, failed_dirs: &[Vec<u8>]) -> Vec<Vec<u8>> {
    let below = |r: &[u8]| failed_dirs.iter().any(|d| d.as_slice() == r || names::below(r, d));
    std::iter::once(Vec::new())
        .chain(
            side.iter()
                .filter(|(r, m)| matches!(m.kind, Entry::File | Entry::Dir) && !below(r))
                .map(|(r, _)| r.clone()),
        )
        .collect()
}

/// The server's path of `rel` below `dir` ("/" for the served root).
fn remote_of(dir: &[u8], rel: &[u8]) -> Vec<u8> {
    let p = rjoin(dir, rel);
    if p.is_empty() {
        b"/".to_vec()
    } else {
        p
    }
}

/// The server's sets of `kind` of `rels` below `dir`, in order: `None`
/// where it refused (told); the whole `None` from a server without them.
fn listings(
    c: &mut Client,
    (kind, dir): (Kind, &[u8]),
    rels: &[Vec<u8>],
    t: &mut Tally<'_>,
) -> Result<Option<Vec<Option<Listing>>>, Error> {
    let paths: Vec<Vec<u8>> = rels.iter().map(|r| remote_of(dir, r)).collect();
    let answers = pipelined(c, kind.commands().0, &paths)?;
    if answers.iter().any(|a| matches!(a, Status::Unknown)) {
        kind.unkept().store(true, Ordering::Relaxed);
        return Ok(None);
    }
    let mut out = Vec::with_capacity(rels.len());
    for (p, a) in paths.iter().zip(answers) {
        out.push(match a {
            Status::Ok(d) => {
                // a listing of another kind's scope is not this kind's
                let l = Listing::parse(&d).filter(|l| (l.scope == Scope::Acl) == (kind == Kind::Acls));
                if l.is_none() {
                    t.refused(format!(
                        "{}: {}: a malformed {} list",
                        t.verb,
                        names::shown(p),
                        kind.what()
                    ));
                }
                l
            }
            st => {
                t.refused(format!(
                    "{}: {}: {}: {}",
                    t.verb,
                    names::shown(p),
                    kind.what(),
                    listing::status_text(&st)
                ));
                None
            }
        });
    }
    Ok(Some(out))
}

/// Up: the server's `dst` gets the sets of `kind` of the local `src`'s
/// entries.
pub(super) fn up(
    c: &mut Client,
    (kind, src, dst): (Kind, &Path, &[u8]),
    ours: &Side,
    failed_dirs: &[Vec<u8>],
    t: &mut Tally<'_>,
) -> Result<(), Error> {
    let rels = entries(ours, failed_dirs);
    let Some(theirs) = listings(c, (kind, dst), &rels, t)? else {
        return Ok(());
    };
    let mut sets = Vec::new();
    for (rel, l) in rels.iter().zip(theirs) {
        let Some(l) = l else { continue };
        let local = src.join(std::ffi::OsStr::from_bytes(rel));
        let scope = l.scope;
        let read = open_local(&local).and_then(|fd| held(fd.as_fd(), scope));
        // the server's names this end does not handle stay as they are
        let kept = l.xattrs.pairs().iter().filter(|(n, _)| !crosses(scope, n)).cloned();
        let want = read.and_then(|mine| {
            Xattrs::new(mine.into_iter().chain(kept).collect())
                .map_err(|_| std::io::Error::other("more attributes than one list carries"))
        });
        match want {
            Ok(want) if want != l.xattrs => sets.push(
                Set {
                    xattrs: want,
                    path: &remote_of(dst, rel),
                }
                .encode(),
            ),
            Ok(_) => {}
            Err(e) => t.local(format!(
                "{}: {}: {}: {e}",
                t.verb,
                crate::escape::path(&local),
                kind.what()
            )),
        }
    }
    for (arg, st) in sets.iter().zip(pipelined(c, kind.commands().1, &sets)?) {
        if !matches!(st, Status::Ok(_)) {
            let path = Set::parse(arg).map(|s| names::shown(s.path)).unwrap_or_default();
            t.refused(format!(
                "{}: {path}: {}: {}",
                t.verb,
                kind.what(),
                listing::status_text(&st)
            ));
        }
    }
    Ok(())
}

/// Down, before the data, for every kind `cfg` asks: the sets of the files
/// among `copy` (the plan's copies) registered for their landing; the
/// registry and the files asked.
pub(super) fn before_data(
    c: &mut Client,
    cfg: &crate::ClientConfig,
    src: &[u8],
    (copy, theirs): (&[Vec<u8>], &Side),
    t: &mut Tally<'_>,
) -> Result<(std::sync::Arc<LandAttrs>, Vec<Vec<u8>>), Error> {
    let given = std::sync::Arc::new(LandAttrs::default());
    let mut fetched = Vec::new();
    if kinds(cfg).next().is_some() {
        fetched = copy
            .iter()
            .filter(|r| theirs.get(*r).is_some_and(|m| m.kind == Entry::File))
            .cloned()
            .collect();
    }
    for kind in kinds(cfg) {
        ahead(c, (kind, src), &fetched, &given, t)?;
    }
    Ok((given, fetched))
}

/// Down, after the data: what could not be set on the files as they
/// landed is told, and every other entry gets its sets ([`down`]).
pub(super) fn after_data(
    c: &mut Client,
    cfg: &crate::ClientConfig,
    (src, land): (&[u8], &Landing),
    (theirs, fetched, given): (&Side, &[Vec<u8>], &LandAttrs),
    failed_dirs: &[Vec<u8>],
    t: &mut Tally<'_>,
) -> Result<(), Error> {
    for (rel, why) in given.failures() {
        let local = land.path().join(std::ffi::OsStr::from_bytes(&rel));
        t.local(format!(
            "{}: {}: attributes: {why}",
            t.verb,
            crate::escape::path(&local)
        ));
    }
    let fetched: std::collections::HashSet<&[u8]> = fetched.iter().map(|r| &r[..]).collect();
    for kind in kinds(cfg) {
        down(c, (kind, src, land), (theirs, &fetched), failed_dirs, t)?;
    }
    Ok(())
}

/// Down, before the data: the server's sets of `kind` of the files `rels`
/// the run fetches, registered in `given`, so each is made on its file's
/// landing temporary before the rename: never a new file with its old
/// attributes, whatever interrupts the run.
fn ahead(
    c: &mut Client,
    (kind, src): (Kind, &[u8]),
    rels: &[Vec<u8>],
    given: &LandAttrs,
    t: &mut Tally<'_>,
) -> Result<(), Error> {
    let Some(lists) = listings(c, (kind, src), rels, t)? else {
        return Ok(());
    };
    for (rel, l) in rels.iter().zip(lists) {
        let Some(l) = l else { continue };
        given.give(rel, given_of(&l));
    }
    Ok(())
}

/// What a server's listing `l` makes here: the names that cross with its
/// session's scope (a server's names this end may not handle are left as
/// they are).
fn given_of(l: &Listing) -> Given {
    let scope = l.scope;
    let want = l
        .xattrs
        .pairs()
        .iter()
        .filter(|(n, _)| crosses(scope, n))
        .cloned()
        .collect();
    Given { scope, want }
}

/// Down, after the data: the local entries below `land` other than the
/// files fetched (`fetched`, given theirs as they landed; one that did not
/// land keeps its old data and so its old attributes) get the sets of
/// `kind` of the server's `src`'s, compared first.
fn down(
    c: &mut Client,
    (kind, src, land): (Kind, &[u8], &Landing),
    (theirs, fetched): (&Side, &std::collections::HashSet<&[u8]>),
    failed_dirs: &[Vec<u8>],
    t: &mut Tally<'_>,
) -> Result<(), Error> {
    let mut rels = entries(theirs, failed_dirs);
    rels.retain(|r| !fetched.contains(&r[..]));
    let Some(lists) = listings(c, (kind, src), &rels, t)? else {
        return Ok(());
    };
    for (rel, l) in rels.iter().zip(lists) {
        let Some(l) = l else { continue };
        let Given { scope, want } = given_of(&l);
        let r = checked(land.open_entry(rel, OPEN)).and_then(|fd| {
            tfd_sys::freplace_xattrs(
                fd.as_fd(),
                |n| crosses(scope, n),
                &want,
                (wire::MAX_VALUE, wire::MAX_VALUES),
            )
        });
        if let Err(e) = r {
            let local = land.path().join(std::ffi::OsStr::from_bytes(rel));
            t.local(format!(
                "{}: {}: {}: {e}",
                t.verb,
                crate::escape::path(&local),
                kind.what()
            ));
        }
    }
    Ok(())
}
