//! Whole trees and many files (and glob patterns) up and down over a pool of
//! sessions opened once, with `cp -r`'s rules for the destination: what
//! `tf put -r` and `tf get -r` run, and the Python package's `put_tree` and
//! `get_tree`.
//!
//! Every file is either replaced whole or left as it was: an upload is one
//! SNDFILE with overwrite (the server writes a temporary and renames it) or,
//! from [`crate::engine::upload::STAGED_FROM`] bytes, a staged upload that a later run continues.
//! Here are the uploads; the downloads ([`get`]) are in [`super::copy_down`],
//! and the options, the pool both directions run over and one file's
//! transfer each way are in `jobs.rs`, below the batches that use them too
//! (named here as well, where they always were).

pub use super::copy_down::get;
use super::events::{Events, Report, Tally};
pub(crate) use super::jobs::{below, receive, run_pool, Done, Partials};
use super::jobs::{connector, start_pool};
pub use super::jobs::{rjoin, Opening, Options, DEFAULT_JOBS};
use super::listing::{self, Kind};
use super::{batch, batch_down, glob, names, pool, walk};
use crate::engine::partial;
use crate::engine::upload::file::Up;
use crate::replies::Split as _;
use crate::{escape, Client, ClientConfig, Error};
use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use tfp_wire::Status;

// `start` is here, not beside `Opening` in jobs.rs: it primes the sessions
// with the batches' probes, and the batches are above jobs.rs
impl Opening {
    /// Starts opening the `jobs - 1` more sessions of an upload (`put -r`)
    /// or a download (`get -r`, `resume` when it continues partials), each
    /// asking the batch probe as [`start_pool`]'s do. Not for Fast Access,
    /// whose sessions enter one after the other with the key the last one
    /// was handed.
    pub fn start(cfg: &ClientConfig, jobs: usize, upload: bool, resume: bool) -> Opening {
        if jobs <= 1 {
            return Opening::default();
        }
        let prime: fn(&mut Client) = match (upload, resume) {
            (true, _) => crate::engine::upload::batch::prime,
            (false, false) => batch_down::prime,
            (false, true) => |_| {},
        };
        let early = pool::Early::start(jobs - 1, true, connector(cfg, false), prime);
        Opening(Arc::new(Mutex::new(Some(early))))
    }
}

/// Uploads `sources` (local paths; a glob pattern names what it matches, a
/// backslash escapes a wildcard) to `dest` on the server: into it when it is
/// an existing directory (several sources or a pattern need one), as it
/// otherwise. Directories need [`Options::recursive`]; symlinks are skipped.
/// `Err` only when the caller's session failed; each file's failure is told
/// to `ev` and counted in the report.
pub fn put(
    c: &mut Client,
    cfg: &ClientConfig,
    sources: &[String],
    dest: &str,
    o: &Options,
    ev: &dyn Events,
) -> Result<Report, Error> {
    let mut t = Tally::new(ev);
    let mut locals = Vec::new();
    let mut patterned = false;
    for s in sources {
        if glob::has_magic(s.as_bytes()) {
            patterned = true;
            match walk::expand(s) {
                Ok(m) if m.is_empty() => t.local(format!("put: {s}: no local file matches")),
                Ok(m) => locals.extend(m),
                Err(e) => t.local(format!("put: {s}: {e}")),
            }
        } else {
            locals.push(PathBuf::from(OsStr::from_bytes(&glob::unescape(s.as_bytes()))));
        }
    }
    // a tree's sessions open while this one looks at the destination,
    // walks the sources and makes the directories
    let tree = o.recursive
        && locals
            .iter()
            .any(|l| std::fs::symlink_metadata(l).is_ok_and(|m| m.is_dir()));
    if tree {
        start_pool(
            &mut t,
            cfg,
            o.jobs,
            o.fai,
            crate::engine::upload::batch::prime,
            &o.opening,
        );
    }
    let given = dest;
    let dest = glob::unescape(given.as_bytes());
    let dest = dest
        .strip_suffix(b"/")
        .filter(|d| !d.is_empty())
        .unwrap_or(&dest)
        .to_vec();
    // a tree's batch probe rides with the FSTAT, so the batches, with the
    // directories in front, leave as soon as the tree is walked
    let probe = tree && super::batch_flags::Which::Put.unasked(c);
    let answer = if probe {
        c.chan.tx.hold();
        c.chan.tx.send_frame(super::batch_flags::Which::Put.probe_line())?;
        c.chan.tx.send_frame_parts(&[b"FSTAT ", &dest])?;
        c.chan.tx.release()?;
        let st = Status::parse(&c.chan.rx.recv_frame()?);
        super::batch_flags::Which::Put.learn(c, &st);
        listing::parse_fstat_answer(&c.chan.rx.recv_frame()?)
    } else {
        listing::fstat(c, &dest)
    };
    let dest_is_dir = match answer.split()? {
        Ok(st) => st.kind == Kind::Dir,
        Err(_) => false,
    } || dest.is_empty();
    if !dest_is_dir && (locals.len() > 1 || patterned || given.ends_with('/')) {
        t.local(format!(
            "put: {given}: no such directory on the server (several sources, or a pattern, need an existing directory)"
        ));
        return Ok(t.report);
    }
    let mut dirs: Vec<Vec<u8>> = Vec::new();
    let mut files: Vec<Up> = Vec::new();
    for src in &locals {
        let shown = escape::path(src);
        let m = match std::fs::symlink_metadata(src) {
            Ok(m) => m,
            Err(e) => {
                t.local(format!("put: {shown}: {e}"));
                continue;
            }
        };
        let name = src.file_name().map(|n| n.as_bytes().to_vec());
        let ft = m.file_type();
        let into = dest_is_dir && !(o.contents && ft.is_dir());
        let base = match (&name, into) {
            (Some(n), true) => rjoin(&dest, n),
            _ => dest.clone(),
        };
        if ft.is_symlink() {
            t.skipped(walk::skipped("put", &shown, walk::not_taken(ft)));
        } else if ft.is_file() {
            files.push(Up {
                local: src.clone(),
                remote: base,
                size: Some(m.len()),
            });
        } else if ft.is_dir() {
            if !o.recursive {
                t.local(format!("put: {shown}: is a directory (use put -r)"));
                continue;
            }
            let tree = match walk::walk(src) {
                Ok(tree) => tree,
                Err(e) => {
                    t.local(format!("put: {shown}: {e}"));
                    continue;
                }
            };
            for (p, why) in &tree.skipped {
                t.skipped(walk::skipped("put", &escape::path(&src.join(p)), why));
            }
            if base != dest || !dest_is_dir {
                if !dest_is_dir {
                    t.ev.making_destination();
                }
                dirs.push(base.clone());
            }
            let kept = |p: &Path, dir: bool| !o.filter.excludes(p.as_os_str().as_bytes(), dir);
            dirs.extend(
                tree.dirs
                    .iter()
                    .filter(|d| kept(d, true))
                    .map(|d| rjoin(&base, d.as_os_str().as_bytes())),
            );
            for (p, _) in tree
                .files
                .iter()
                .filter(|(p, _)| partial::is_partial_name(p.as_os_str().as_bytes()))
            {
                t.skipped(format!(
                    "put: {}: an interrupted download's partial, skipped",
                    escape::path(&src.join(p))
                ));
            }
            let kept =
                |p: &Path, dir: bool| kept(p, dir) && (dir || !partial::is_partial_name(p.as_os_str().as_bytes()));
            files.extend(tree.files.iter().filter(|(p, _)| kept(p, false)).map(|(p, size)| Up {
                local: src.join(p),
                remote: rjoin(&base, p.as_os_str().as_bytes()),
                size: Some(*size),
            }));
        } else {
            t.local(format!("put: {shown}: not a regular file or directory"));
        }
    }
    // names the server cannot store: refused here, one line each, before
    // anything is sent (a child of such a directory is not told again)
    let mut unstorable: Vec<Vec<u8>> = Vec::new();
    let mut refuse = |remote: &[u8], local: &Path, t: &mut Tally<'_>| -> bool {
        let Some(why) = names::unstorable(remote) else {
            return false;
        };
        if !unstorable.iter().any(|d| below(remote, d)) {
            t.local(format!("put: {}: {why}; skipped", escape::path(local)));
            unstorable.push(remote.to_vec());
        }
        true
    };
    dirs.retain(|d| !refuse(d, Path::new(OsStr::from_bytes(d)), &mut t));
    files.retain(|u| !refuse(&u.remote, &u.local, &mut t));
    // directories first, parents before children, sent without waiting for
    // each answer (the server answers in order): a tree of many directories
    // costs a round trip per window of them, not per directory (300
    // directories over 50 ms took 15 s one by one), and where the files go
    // in batches no round trip of their own (they ride in front of each
    // batch: [`batch::upload`]). A child of a directory that could not be
    // made fails too and is not told again.
    let mut dirs = batch::Dirs {
        make: dirs,
        failed: Vec::new(),
    };
    let what = |u: &Up| format!("put: {} -> {}", escape::path(&u.local), names::shown(&u.remote));
    let keep = crate::engine::upload::Keep {
        mode: o.preserve,
        mtime: o.preserve,
        not_fresh: false,
    };
    batch::upload(c, cfg, o.jobs, o.fai, &files, &mut dirs, keep, &what, &mut t)?;
    Ok(t.report)
}
