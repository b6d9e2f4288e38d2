//! The download direction of a mirror: a remote source, a local destination.

use super::ends::Ends;
use super::options::Options;
use super::plan::{placeable, plan_of, Direction};
use super::report::Ran;
use super::settle::settle;
use super::{attrs, clear, hardlinks, sides, stale, unkept, xattrs};
use crate::caps::{Ext, Known};
use crate::engine::download::many::{self, Sessions};
use crate::engine::download::one::Partials;
use crate::engine::download::plan::File;
use crate::engine::events::{Fault, Tally};
use crate::engine::land_attrs::LandAttrs;
use crate::engine::landing::Landing;
use crate::remote::listing::{self, Kind};
use crate::replies::Split as _;
use crate::tree::itemize::{self, Frame};
use crate::tree::moves;
use crate::tree::names;
use crate::tree::names::rjoin;
use crate::tree::sync::{self, Keeps, Plan, Side};
use crate::{Client, ClientConfig, Error};
use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

/// A download's file: (rel, remote, the server's size, the size of the
/// copy here).
type DownJob = (Vec<u8>, Vec<u8>, u64, Option<u64>);

/// A download's files: the plan's copies whose directory could be placed.
fn down_jobs(
    p: &Plan,
    failed_dirs: &[Vec<u8>],
    (theirs, ours): (&Side, &Side),
    src: &[u8],
    t: &mut Tally<'_>,
) -> Vec<DownJob> {
    let mut jobs = Vec::with_capacity(p.copy.len());
    for rel in placeable(&p.copy, failed_dirs, Fault::Local, t) {
        let Some(m) = theirs.get(rel) else {
            continue;
        };
        let old = ours.get(rel).filter(|l| l.kind == Kind::File).map(|l| l.size);
        jobs.push((rel.clone(), rjoin(src, rel), m.size, old));
    }
    jobs
}

/// What a download keeps of `keeps`: owners only where tf runs as root,
/// else left out as rsync run by another user leaves them, said with `-v`.
fn kept_here(mut keeps: Keeps, t: &mut Tally<'_>) -> Keeps {
    let uid = tfd_sys::geteuid();
    if keeps.owners && uid != 0 {
        t.detail(format!(
            "{}: owners and groups not kept: only root may give files an owner here, and tf runs as uid {uid}",
            t.verb
        ));
        keeps.owners = false;
    }
    keeps
}

/// The download direction: remote `src`, local `dst`.
pub fn down(c: &mut Client, cfg: &ClientConfig, ends: &Ends, o: &Options, t: &mut Tally<'_>) -> Result<Ran, Error> {
    let (src_arg, dst_arg) = (ends.remote_shown.as_str(), ends.local_shown.as_str());
    let src = ends.remote.clone();
    let keeps = kept_here(o.keeps, t);
    // a tree copy's caller has seen that it is a directory
    if !src.is_empty() && ends.seen != Some(Some(Kind::Dir)) {
        match listing::fstat(c, &src).split()? {
            Ok(st) if st.kind == Kind::Dir => {}
            Ok(_) => {
                t.refused(format!("{}: {src_arg}: not a directory on the server", t.verb));
                return Ok(None);
            }
            Err(st) => {
                t.refused(format!("{}: {src_arg}: {}", t.verb, listing::status_text(&st)));
                return Ok(None);
            }
        }
    }
    let plain = keeps == Keeps::default();
    let (listed, top) = sides::listed(c, &src, false, (!plain || o.copy_links, ends.listed_ahead), t)?;
    let Some((mut theirs, mut whole)) = listed else {
        return Ok(None);
    };
    if o.copy_links {
        whole &= sides::follow_links(c, &src, &mut theirs, keeps, t)?;
    }
    let top = top.filter(|_| !plain);
    let dst = ends.local.clone();
    let exists = match std::fs::metadata(&dst) {
        Ok(m) if m.is_dir() => true,
        Ok(_) => {
            t.local(format!("{}: {dst_arg}: not a directory", t.verb));
            return Ok(None);
        }
        Err(_) => false,
    };
    let ours = if exists {
        match sync::scan(&dst, false) {
            Ok((s, errors)) => {
                for (rel, why) in errors {
                    t.local(format!(
                        "{}: {}: {why}",
                        t.verb,
                        crate::escape::path(&dst.join(OsStr::from_bytes(&rel)))
                    ));
                }
                s
            }
            Err(e) => {
                t.local(format!("{}: {dst_arg}: {e}", t.verb));
                return Ok(None);
            }
        }
    } else {
        Side::new()
    };
    let partials = stale::targets(&ours);
    let gone = stale::gone(&partials, &theirs, whole);
    let (mut theirs, mut ours) = (theirs, ours);
    let mut p = plan_of(o, &mut theirs, &mut ours, Direction::Down, (whole, false), keeps, t);
    if keeps != Keeps::default() && c.caps().get(Ext::Entries) == Known::No {
        unkept::tell(&mut p, keeps, t);
    }
    let settled = settle(c, &mut p, o, exists, &src, &dst, t)?;
    let pairs = hardlinks::wanted(keeps.hardlinks, (false, top.as_ref()), &mut p, (&theirs, &ours), t);
    let roots = (top.clone(), itemize::local_dir(&dst), exists);
    let frame = Frame::new(false, keeps, &ends.named);
    itemize::tell(t.ev, frame, roots, (&theirs, &ours), &p);
    let mut n = match settled {
        Ok(n) => n,
        Err(dry_run) => return Ok(Some(dry_run)),
    };
    if !exists {
        if let Err(e) = std::fs::create_dir_all(&dst) {
            t.local(format!("{}: {dst_arg}: {e}", t.verb));
            return Ok(None);
        }
    }
    let (given, fetched) = xattrs::before_data(c, cfg, &src, (&p.copy, &theirs), t)?;
    let (land, root) = match landing(o, (&dst, &ends.named), given.clone()) {
        Ok(x) => x,
        Err(e) => {
            t.local(format!("{}: {dst_arg}: {e}", t.verb));
            return Ok(None);
        }
    };
    let failed_dirs = clear::here(&land, &root, &dst, dst_arg, &p, &mut n.deleted, t);
    let jobs = down_jobs(&p, &failed_dirs, (&theirs, &ours), &src, t);
    // a re-run continues what an interrupted one kept, as far as its
    // journal proves; whole files no partial waits for go in batches where
    // the server has them (one exchange per session, not a round trip per
    // file)
    let plan: Vec<File<'_>> = jobs
        .iter()
        .map(|(rel, remote, size, ours)| {
            let resume = Partials::resumable(&land, rel);
            File {
                land: &land,
                rel,
                remote,
                keep_mode: keeps.attrs,
                dir: None,
                resume,
                journal: resume,
                size: Some(*size),
                ours: *ours,
                mtime: theirs.get(rel).filter(|m| m.facts.is_some()).map(|m| m.mtime_ns()),
                sparse: cfg.sparse,
            }
        })
        .collect();
    let verb = t.verb;
    let what = move |f: &File<'_>| format!("{verb}: {}", names::shown(f.remote));
    let run = Sessions {
        jobs: o.jobs,
        fai: o.fai,
    };
    let before = t.failures();
    let ev = t.ev;
    n.transferred = many::fetch(c, cfg, run, &plan, o.delta, &what, &mut |_| {}, ev, t)?;
    n.failed = before + (jobs.len() - n.transferred);
    hardlinks::down(&land, pairs, t.failures() > before, &mut n, t);
    stale::remove(&land, (&partials, &gone), (&theirs, &ours, &p), t);
    let nodes = attrs::settle_down(
        &land,
        &dst,
        attrs::Done {
            plan: &p,
            failed_dirs: &failed_dirs,
            keeps,
            owned: &std::collections::HashSet::new(),
        },
        &theirs,
        top.as_ref(),
        t,
    );
    n.transferred += nodes;
    // after the modes: an ACL's mask is its file's group bits
    xattrs::after_data(c, cfg, (&src, &land), (&theirs, &fetched, &given), &failed_dirs, t)?;
    moves::after(c, (o.remove_source, false), (&theirs, &dst, &src), t)?;
    Ok(Some((n, Vec::new())))
}

/// The landing at `dst` (keeping what it replaces as `o.backup` asks) and
/// `dst` open. `named`: the tree's path below the destination given, which
/// a relative backup directory is relative to, as rsync's.
fn landing(
    o: &Options,
    (dst, named): (&Path, &[u8]),
    given: std::sync::Arc<LandAttrs>,
) -> std::io::Result<(Landing, std::fs::File)> {
    let levels = named.split(|&b| b == b'/').filter(|l| !l.is_empty()).count();
    let base = dst.ancestors().nth(levels).unwrap_or(dst);
    let backups = o.backup.as_ref().map(|w| w.local(base)).transpose()?;
    let land = Landing::open(dst)?
        .keeping_at(backups.map(std::sync::Arc::new), named)
        .giving(given);
    Ok((land, std::fs::File::open(dst)?))
}
