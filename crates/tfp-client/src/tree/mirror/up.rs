//! The upload direction of a mirror (`-R`): a local source, a remote destination.

use super::ends::{relative, Ends};
use super::options::Options;
use super::plan::{placeable, plan_of, Direction};
use super::report::{Ran, Summary};
use super::settle::settle;
use super::{attrs, clear, hardlinks, sides, unkept, xattrs};
use crate::engine::events::{Fault, Tally};
use crate::engine::upload::deltas::{by_delta, send_deltas};
use crate::engine::upload::file::{Keep, Up};
use crate::engine::upload::many::{self as up_many, Dirs};
use crate::remote::listing::{self, Kind};
use crate::replies::Split as _;
use crate::tree::itemize::{self, Frame};
use crate::tree::moves;
use crate::tree::names;
use crate::tree::names::rjoin;
use crate::tree::sync::{Keeps, Side};
use crate::{Client, ClientConfig, Error};
use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use tfp_wire::Status;

/// What an upload keeps: `o`'s keeps where the server has archive batches
/// (`archive`), owners and devices only where the session may give them
/// (tfd's rule for owners). Elsewhere they are left out as rsync run by
/// another user than root leaves them: owners said only with `-v`
/// ([`Tally::detail`]), devices named as without `-D`.
fn upload_keeps(c: &mut Client, o: &Options, archive: bool, t: &mut Tally<'_>) -> Result<Keeps, Error> {
    let mut keeps = if archive { o.keeps } else { Keeps::default() };
    if (keeps.owners || keeps.devices) && !attrs::may_keep_owners(c)? {
        if keeps.owners {
            t.detail(format!(
                "{}: owners and groups not kept: the server does not let this session give them (tfd gives them only to a session it serves as root, unjailed)",
                t.verb
            ));
        }
        keeps.owners = false;
        keeps.devices = false;
    }
    Ok(keeps)
}

/// `-H`'s links once the batches landed (`failed`: some copy did not):
/// made on the server, the names it would not link sent as files of their
/// own; counted into `n`.
fn link(
    c: &mut Client,
    (cfg, o): (&ClientConfig, &Options),
    pairs: &[hardlinks::Pair],
    (ours, theirs, src, dst): (&Side, &Side, &Path, &[u8]),
    (keep, what): (Keep, &(dyn Fn(&Up) -> String + Sync)),
    (failed, n): (bool, &mut Summary),
    t: &mut Tally<'_>,
) -> Result<(), Error> {
    if pairs.is_empty() {
        return Ok(());
    }
    let was = t.failures();
    let (made, unlinked) = hardlinks::up(c, dst, (pairs.to_vec(), failed), theirs, t)?;
    let names: Vec<&Vec<u8>> = unlinked.iter().collect();
    let jobs = uploads(&names, (ours, theirs), (src, dst));
    let sent = up_many::upload(c, cfg, o.jobs, o.fai, &jobs, &mut Dirs::default(), keep, what, t)?;
    n.transferred += made + sent;
    n.failed += t.failures() - was;
    Ok(())
}

/// The uploads of the files `copy` names, from `src` to `dst`.
fn uploads(copy: &[&Vec<u8>], (ours, theirs): (&Side, &Side), (src, dst): (&Path, &[u8])) -> Vec<Up> {
    let mut jobs = Vec::with_capacity(copy.len());
    for rel in copy {
        // the server's copy, as a file of known size: a changed file may go as a delta onto it
        let on_server = theirs
            .get(*rel)
            .filter(|m| m.kind == Kind::File && m.size != u64::MAX)
            .map(|m| m.size);
        jobs.push(Up {
            theirs: on_server,
            // as the scan saw it: the progress line's whole
            size: ours.get(*rel).map(|m| m.size),
            ..Up::new(src.join(OsStr::from_bytes(rel)), rjoin(dst, rel))
        });
    }
    jobs
}

/// The upload direction: local `src`, remote `dst`.
pub fn up(c: &mut Client, cfg: &ClientConfig, ends: &Ends, o: &Options, t: &mut Tally<'_>) -> Result<Ran, Error> {
    let (src_arg, dst_arg) = (ends.local_shown.as_str(), ends.remote_shown.as_str());
    let src = ends.local.clone();
    if !src.is_dir() {
        t.local(format!("{}: {src_arg}: not a local directory", t.verb));
        return Ok(None);
    }
    let Some((ours, mut whole)) = sides::local_side(&src, src_arg, o.copy_links, t) else {
        return Ok(None);
    };
    let dst = ends.remote.clone();
    let seen = match ends.seen {
        _ if dst.is_empty() => Some(Kind::Dir),
        Some(seen) => seen,
        None => listing::fstat(c, &dst).split()?.ok().map(|st| st.kind),
    };
    let exists = match seen {
        Some(Kind::Dir) => true,
        Some(_) => {
            t.refused(format!("{}: {dst_arg}: not a directory on the server", t.verb));
            return Ok(None);
        }
        None => false,
    };
    let (theirs, top) = if exists {
        let (listed, top) = sides::listed(c, &dst, true, (o.keeps != Keeps::default(), None), t)?;
        let Some((s, w)) = listed else {
            return Ok(None);
        };
        whole &= w;
        (s, top)
    } else {
        (Side::new(), None)
    };
    let (mut theirs, mut ours) = (theirs, ours);
    // a server with batches keeps the local mtimes: rsync's quick check
    let stamps = up_many::keeps_mtimes(c)?;
    // a server with archive batches keeps what the keeps ask
    let archive = o.keeps != Keeps::default() && attrs::archive_batches(c)?;
    let keeps = upload_keeps(c, o, archive, t)?;
    let mut p = plan_of(o, &mut theirs, &mut ours, Direction::Up, (whole, stamps), keeps, t);
    if o.keeps != Keeps::default() && !archive {
        unkept::tell(&mut p, o.keeps, t);
    }
    let settled = settle(c, &mut p, o, exists, &dst, &src, t)?;
    let pairs = hardlinks::wanted(o.keeps.hardlinks, (!exists, top.as_ref()), &mut p, (&ours, &theirs), t);
    let roots = (itemize::local_dir(&src), top.clone(), exists);
    let frame = Frame::new(true, keeps, &ends.named);
    itemize::tell(t.ev, frame, roots, (&ours, &theirs), &p);
    let mut n = match settled {
        Ok(n) => n,
        Err(dry_run) => return Ok(Some(dry_run)),
    };
    // with nothing to remove first, the directories (the destination's
    // too) ride in front of the batches: no round trip of their own
    let mut dirs = Dirs::default();
    let mut failed_dirs = if p.remove.is_empty() {
        dirs.make.extend((!exists).then(|| dst.clone()));
        dirs.make.extend(p.mkdir.iter().map(|d| rjoin(&dst, d)));
        Vec::new()
    } else {
        if !exists {
            match c.call("MKDIR", &dst)? {
                Status::Ok(_) => {}
                st => {
                    t.refused(format!("{}: mkdir {dst_arg}: {}", t.verb, listing::status_text(&st)));
                    return Ok(None);
                }
            }
        }
        clear::there(c, &dst, &p, &mut n.deleted, t)?
    };
    let jobs = uploads(
        &placeable(&p.copy, &failed_dirs, Fault::Refused, t),
        (&ours, &theirs),
        (&src, &dst),
    );
    let keep = attrs::upload_keep((archive, o.times), keeps, cfg);
    let verb = t.verb;
    let what = move |u: &Up| format!("{verb}: {}", names::shown(&u.remote));
    let before = t.failures();
    let total = jobs.len();
    // changed files the server has go as deltas where that pays; the rest,
    // and those a delta would not take, whole in batches
    let (jobs, deltas) = by_delta(c, o.delta, stamps, jobs);
    // the last step rides at the batches' ends where every file goes in one
    let fold = archive && pairs.is_empty() && up_many::all_in_batches(&jobs, &deltas, cfg.sparse);
    // the deltas and the whole files are one plan on the progress line
    let moving = t.begin_moving(jobs.iter().chain(&deltas).map(|u| u.size));
    let (sent, whole, landed) = send_deltas(c, cfg, (o.jobs, o.fai), deltas, keep, &what, t);
    let jobs: Vec<Up> = jobs.into_iter().chain(whole).collect();
    let owned: std::collections::HashSet<Vec<u8>> = jobs
        .iter()
        .filter(|u| keep.owner && up_many::in_batch(u, cfg.sparse))
        .map(|u| u.remote.clone())
        .collect();
    if archive && o.times {
        attrs::stamp_again(&mut p, &theirs, &landed, &dst);
    }
    let done = |failed_dirs: &[Vec<u8>]| {
        attrs::last_step(
            &src,
            &dst,
            attrs::Done {
                plan: &p,
                failed_dirs,
                keeps,
                owned: &owned,
            },
            (&ours, hardlinks::top_after(top.as_ref(), &pairs).as_ref()),
        )
    };
    let folded = fold.then(|| done(&failed_dirs));
    if let Some(last) = &folded {
        dirs.closing = last.closing();
    }
    let up = up_many::upload(c, cfg, o.jobs, o.fai, &jobs, &mut dirs, keep, &what, t);
    t.end_moving(moving);
    n.transferred = sent + up?;
    n.failed = before + (total - n.transferred);
    if dirs.failed.contains(&dst) {
        // the destination could not be made (told): nothing to settle
        return Ok(Some((n, Vec::new())));
    }
    failed_dirs.extend(dirs.failed.iter().filter_map(|d| relative(d, &dst)));
    let (ends, failed) = ((&ours, &theirs, src.as_path(), &dst[..]), t.failures() > before);
    link(c, (cfg, o), &pairs, ends, (keep, &what), (failed, &mut n), t)?;
    if archive {
        n.transferred += match folded {
            Some(last) if dirs.closing.carried => last.told_closing(&dirs.closing, t),
            _ => {
                let last = done(&failed_dirs);
                attrs::settle_up(c, &last, t)?
            }
        };
    }
    // after the modes: an ACL's mask is its file's group bits
    for kind in xattrs::kinds(cfg) {
        xattrs::up(c, (kind, &src, &dst), &ours, &failed_dirs, t)?;
    }
    moves::after(c, (o.remove_source, true), (&ours, &src, &dst), t)?;
    Ok(Some((n, Vec::new())))
}
