//! Whole trees and many files (and glob patterns) up and down over a pool of
//! sessions opened once, with `cp -r`'s rules for the destination: what
//! `tf put -r` and `tf get -r` run, and the Python package's `put_tree` and
//! `get_tree`.
//!
//! Every file is either replaced whole or left as it was: an upload is one
//! SNDFILE with overwrite (the server writes a temporary and renames it) or,
//! from [`STAGED_FROM`] bytes, a staged upload that a later run continues.
//! Here are the options, the pool that both directions run over, and the
//! uploads; the downloads ([`get`]) are in [`super::copy_down`].

pub use super::copy_down::get;
pub(crate) use super::copy_down::{receive, Partials};
use super::events::{Events, Progress, Report, Tally};
use super::filter::Filter;
use super::listing::{self, Kind};
use super::{batch, batch_down, glob, names, pool, walk};
use crate::engine::partial;
use crate::replies::{AsStatus as _, Split as _};
use crate::{escape, staged, Client, ClientConfig, Error};
use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use tfp_wire::Status;

/// What a tree run may do.
#[derive(Debug, Clone)]
pub struct Options {
    /// Descend into directories (`-r`); without it a directory source fails.
    pub recursive: bool,
    /// Downloads: continue the partials an interrupted run kept, as far as
    /// their journals prove.
    pub resume: bool,
    /// `--exclude`/`--include`, applied below each directory source.
    pub filter: Filter,
    /// Sessions moving files at once (the caller's and `jobs - 1` more).
    pub jobs: usize,
    /// The caller's session entered with Fast Access: the pool's do too
    /// (one after the other, each with the key the last one was handed).
    pub fai: bool,
    /// A directory source's contents go to the destination itself (made if
    /// missing), as rsync's `src/` and `cp -rT` do, rather than into a new
    /// directory of the source's name when the destination exists.
    pub contents: bool,
    /// `-p`: uploads keep each file's mode and mtime (on a server with
    /// batches, doc/compatibility.md "Batch uploads").
    pub preserve: bool,
    /// The run's other sessions, when the caller started opening them
    /// before its own session was open ([`Opening::start`]).
    pub opening: Opening,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            recursive: true,
            resume: false,
            filter: Filter::default(),
            jobs: DEFAULT_JOBS,
            fai: false,
            contents: false,
            preserve: false,
            opening: Opening::default(),
        }
    }
}

/// The `jobs - 1` more sessions of a tree run, opening while the caller's
/// own session is: `tf` starts them beside its first handshake, so they are
/// ready when that session is instead of a handshake's five round trips
/// later (0.3 s at 50 ms, on the path of every `put -r` and `get -r`). A
/// run takes them at its [`start_pool`]; those no run takes are ended when
/// the last clone is dropped.
#[derive(Clone, Default)]
pub struct Opening(Arc<Mutex<Option<pool::Early>>>);

impl std::fmt::Debug for Opening {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Opening")
    }
}

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
            (true, _) => batch::prime,
            (false, false) => batch_down::prime,
            (false, true) => |_| {},
        };
        let early = pool::Early::start(jobs - 1, true, connector(cfg, false), prime);
        Opening(Arc::new(Mutex::new(Some(early))))
    }

    /// The sessions started, once (a second run opens its own).
    fn take(&self) -> Option<pool::Early> {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).take()
    }
}

/// Sessions of the pool unless told otherwise.
pub const DEFAULT_JOBS: usize = 4;

/// Files from this size on go up through a stage (tfd's staged uploads), so
/// an interrupted run keeps what it moved of a big file and the next run
/// continues it, checked end to end before the target is replaced. Smaller
/// files are one SNDFILE: moving them again costs less than a stage's two
/// extra round trips and its hash.
pub const STAGED_FROM: u64 = 32 << 20;

/// `a/b` joined to `dir` ("" is the served root).
pub fn rjoin(dir: &[u8], name: &[u8]) -> Vec<u8> {
    let d = dir.strip_suffix(b"/").unwrap_or(dir);
    if d.is_empty() {
        return name.to_vec();
    }
    [d, b"/", name].concat()
}

/// Whether `path` lies strictly below `dir`.
pub(crate) fn below(path: &[u8], dir: &[u8]) -> bool {
    path.len() > dir.len() && path.starts_with(dir) && path[dir.len()] == b'/'
}

/// How one file's transfer ended (a session failure is the pool's `Err`).
pub(crate) enum Done {
    Ok,
    Refused(String),
    Local(String),
}

/// How a pool session connects: LOGIN, INJAIL, Fast Access as the caller's.
fn connector(cfg: &ClientConfig, fai: bool) -> impl Fn() -> Result<Client, Error> + Sync + Send + 'static {
    let cfg = cfg.clone();
    move || -> Result<Client, Error> {
        if fai {
            let dir = crate::fai_cache::default_dir();
            if let Some(cache) = dir.and_then(|d| crate::fai_cache::FaiCache::open(&d, &cfg).ok()) {
                return crate::fai_cache::connect_cached(&cfg, &cache).map(|(c, _)| c);
            }
        }
        Client::connect(&cfg)
    }
}

/// Opens `n` more sessions like the caller's (LOGIN, INJAIL, Fast Access).
pub(crate) fn open_pool(cfg: &ClientConfig, n: usize, fai: bool) -> Result<Vec<Client>, Error> {
    pool::open(n, !fai, &connector(cfg, fai))
}

/// Starts opening the `jobs - 1` more sessions of a tree run in the
/// background ([`pool::Early`]), each primed with `prime`, unless the
/// caller started them already (`opening`); [`take_pool`] takes them when
/// the files are known.
pub(crate) fn start_pool(
    t: &mut Tally<'_>,
    cfg: &ClientConfig,
    jobs: usize,
    fai: bool,
    prime: fn(&mut Client),
    opening: &Opening,
) {
    if t.pool.is_none() && jobs > 1 {
        t.pool = Some(
            opening
                .take()
                .unwrap_or_else(|| pool::Early::start(jobs - 1, !fai, connector(cfg, fai), prime)),
        );
    }
}

/// `n` more sessions: those [`start_pool`] opened (the extra ones ended,
/// any missing opened now), else `n` opened now.
pub(crate) fn take_pool(t: &mut Tally<'_>, cfg: &ClientConfig, n: usize, fai: bool) -> Result<Vec<Client>, Error> {
    let Some(early) = t.pool.take() else {
        return open_pool(cfg, n, fai);
    };
    let mut v = early.join()?;
    for extra in v.drain(n.min(v.len())..) {
        let _ = extra.end();
    }
    if v.len() < n {
        match open_pool(cfg, n - v.len(), fai) {
            Ok(more) => v.extend(more),
            Err(e) => {
                for c in v {
                    let _ = c.end();
                }
                return Err(e);
            }
        }
    }
    Ok(v)
}

/// Runs `jobs` over the caller's session and `jobs_wanted - 1` more, then
/// tells the failures in job order. Returns the files done.
#[allow(clippy::too_many_arguments)]
pub(crate) fn run_pool<J: Sync>(
    c: &mut Client,
    cfg: &ClientConfig,
    jobs_wanted: usize,
    fai: bool,
    jobs: &[J],
    what: &(dyn Fn(&J) -> String + Sync),
    work: &(dyn Fn(&mut Client, &J, &Progress) -> Result<Done, Error> + Sync),
    t: &mut Tally<'_>,
) -> usize {
    if jobs.is_empty() {
        return 0;
    }
    let extra = jobs_wanted.min(jobs.len()).saturating_sub(1);
    let mut more = match take_pool(t, cfg, extra, fai) {
        Ok(v) => v,
        Err(e) => {
            t.ev.pool_failed(&e);
            t.local(format!(
                "could not open the {extra} more sessions of --jobs; nothing transferred"
            ));
            return 0;
        }
    };
    let progress = Arc::new(Progress::default());
    t.ev.transferring(jobs.len(), &progress);
    let results = {
        let mut sessions: Vec<&mut Client> = vec![c];
        sessions.extend(more.iter_mut());
        let p = &*progress;
        pool::run(sessions, jobs, &|c, j| {
            let r = work(c, j, p);
            p.file_done();
            r
        })
    };
    t.ev.transferred();
    for m in more {
        let _ = m.end();
    }
    let (mut lost, mut done) = (0, 0);
    for (j, r) in jobs.iter().zip(results) {
        match r {
            Some(Ok(Done::Ok)) => done += 1,
            Some(Ok(Done::Refused(why))) => t.refused(format!("{}: {why}", what(j))),
            Some(Ok(Done::Local(why))) => t.local(format!("{}: {why}", what(j))),
            Some(Err(e)) => {
                let why = t.ev.session_error(&e);
                t.local(format!("{}: {why}", what(j)))
            }
            None => lost += 1,
        }
    }
    if lost > 0 {
        t.local(format!("{lost} file(s) not transferred: every session failed"));
    }
    t.report.transferred += done;
    done
}

/// One file of an upload.
pub(crate) struct Up {
    pub(crate) local: PathBuf,
    pub(crate) remote: Vec<u8>,
    /// Its size when the walk saw it: batches are split and balanced by it
    /// without a second look at each file (10,000 more stats, 40 ms and
    /// more on a loaded machine, on the path before the first byte is
    /// sent). What is sent is what the file holds when read.
    pub(crate) size: Option<u64>,
}

impl Up {
    /// A file whose size is looked at when needed.
    pub(crate) fn new(local: PathBuf, remote: Vec<u8>) -> Up {
        Up {
            local,
            remote,
            size: None,
        }
    }

    /// Its size: the walk's, else the file's now (0 when unreadable).
    pub(crate) fn size(&self) -> u64 {
        self.size
            .unwrap_or_else(|| std::fs::symlink_metadata(&self.local).map_or(0, |m| m.len()))
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
    if o.recursive
        && locals
            .iter()
            .any(|l| std::fs::symlink_metadata(l).is_ok_and(|m| m.is_dir()))
    {
        start_pool(&mut t, cfg, o.jobs, o.fai, batch::prime, &o.opening);
    }
    let given = dest;
    let dest = glob::unescape(given.as_bytes());
    let dest = dest
        .strip_suffix(b"/")
        .filter(|d| !d.is_empty())
        .unwrap_or(&dest)
        .to_vec();
    let dest_is_dir = match listing::fstat(c, &dest).split()? {
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
    // directories first, parents before children, on the caller's session,
    // sent without waiting for each answer (the server answers in order): a
    // tree of many directories costs a round trip per window of them, not
    // per directory (300 directories over 50 ms took 15 s one by one). A
    // child of a directory that could not be made fails too and is not told
    // again.
    let mut failed_dirs: Vec<Vec<u8>> = Vec::new();
    // the batch probe rides in front of them
    let probe = !files.is_empty() && batch::Which::Put.unasked(c);
    let first: &[&[u8]] = if probe { &[batch::Which::Put.probe_line()] } else { &[] };
    let mut answers = super::sync::pipelined_lines(c, first, "MKDIR", &dirs)?;
    if probe && !answers.is_empty() {
        let st = answers.remove(0);
        batch::Which::Put.learn(c, &st);
    }
    for (d, st) in dirs.iter().zip(answers) {
        if failed_dirs.iter().any(|f| below(d, f)) {
            continue;
        }
        match st {
            Status::Ok(_) => {}
            Status::Failed(n, _) if n == i32::from(tfp_wire::Failed::DirExists.code()) => {}
            st => {
                t.refused(format!("put: mkdir {}: {}", names::shown(d), listing::status_text(&st)));
                failed_dirs.push(d.clone());
            }
        }
    }
    let before = files.len();
    files.retain(|f| !failed_dirs.iter().any(|d| below(&f.remote, d)));
    if files.len() < before {
        t.refused(format!(
            "put: {} file(s) not sent: their directory could not be made",
            before - files.len()
        ));
    }
    let what = |u: &Up| format!("put: {} -> {}", escape::path(&u.local), names::shown(&u.remote));
    let keep = batch::Keep {
        mode: o.preserve,
        mtime: o.preserve,
        not_fresh: false,
    };
    batch::upload(c, cfg, o.jobs, o.fai, &files, keep, &what, &mut t)?;
    Ok(t.report)
}

/// One file up, replacing the remote file whole or leaving it as it was: a
/// big file through a stage (continuing what an earlier run moved of this
/// same source), anything else, or any file on a server without stages,
/// with SNDFILE and overwrite (a temporary renamed into place).
pub(crate) fn upload_one(c: &mut Client, cfg: &ClientConfig, u: &Up, p: &Progress) -> Result<Done, Error> {
    let mut f = match std::fs::File::open(&u.local) {
        Ok(f) => f,
        Err(e) => return Ok(Done::Local(e.to_string())),
    };
    if f.metadata().is_ok_and(|m| m.len() >= STAGED_FROM) {
        let req = staged::Request {
            local: &u.local,
            remote: &u.remote,
            streams: 1,
            bufsz: 4 << 20,
            resume: true,
            overwrite: true,
        };
        match staged::put(c, cfg, &req, p.bytes()) {
            Ok(_) => return Ok(Done::Ok),
            Err(e) if staged::unsupported(&e) => {}
            Err(Error::Refused(r)) => return Ok(Done::Refused(listing::status_text(&r.reply))),
            Err(e) => return Err(e),
        }
    }
    let mut last = 0;
    let st = c
        .sndfile(&u.remote, true, &mut f, &mut |n| {
            p.bytes().fetch_add(n - last, Ordering::Relaxed);
            last = n;
        })
        .status()?;
    Ok(match st {
        Status::Ok(_) => Done::Ok,
        st => Done::Refused(listing::status_text(&st)),
    })
}
