//! Whole trees and many files (and glob patterns) up and down over a pool of
//! sessions opened once, with `cp -r`'s rules for the destination: what
//! `tf put -r` and `tf get -r` run, and the Python package's `put_tree` and
//! `get_tree`.
//!
//! Every file is either replaced whole or left as it was: an upload is one
//! SNDFILE with overwrite (the server writes a temporary and renames it) or,
//! from [`STAGED_FROM`] bytes, a staged upload that a later run continues; a
//! download lands beside its target through [`Landing`] and is renamed over
//! it only when complete, its partial kept (and named in [`Report::kept`])
//! for [`Options::resume`] to continue.

use super::events::{Events, Progress, Report, Tally};
use super::filter::Filter;
use super::landing::Landing;
use super::listing::{self, Kind};
use super::{batch, batch_down, glob, names, pool, remote_glob, walk};
use crate::engine::beside::Beside;
use crate::engine::{download, partial};
use crate::replies::{AsStatus as _, Split as _};
use crate::{escape, staged, Client, ClientConfig, Error};
use std::collections::HashMap;
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
        }
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

/// The GET buffer a tree's files ask for (`tf get`'s default).
const TREE_BUFSZ: i64 = 4 << 20;

/// `a/b` joined to `dir` ("" is the served root).
pub fn rjoin(dir: &[u8], name: &[u8]) -> Vec<u8> {
    let d = dir.strip_suffix(b"/").unwrap_or(dir);
    if d.is_empty() {
        return name.to_vec();
    }
    [d, b"/", name].concat()
}

/// The last component of a remote path ("" for the root).
fn last(p: &[u8]) -> &[u8] {
    let p = p.strip_suffix(b"/").unwrap_or(p);
    p.rsplit(|&b| b == b'/').next().unwrap_or(p)
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
/// background ([`pool::Early`]), each primed with `prime`; [`take_pool`]
/// takes them when the files are known.
pub(crate) fn start_pool(t: &mut Tally<'_>, cfg: &ClientConfig, jobs: usize, fai: bool, prime: fn(&mut Client)) {
    if t.pool.is_none() && jobs > 1 {
        t.pool = Some(pool::Early::start(jobs - 1, !fai, connector(cfg, fai), prime));
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
        start_pool(&mut t, cfg, o.jobs, o.fai, batch::prime);
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
            files.extend(tree.files.iter().filter(|(p, _)| kept(p, false)).map(|(p, _)| Up {
                local: src.join(p),
                remote: rjoin(&base, p.as_os_str().as_bytes()),
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

/// One file of a download: where it lands (an index into the landings), its
/// path there, and its remote path.
struct Down {
    at: usize,
    rel: Vec<u8>,
    remote: Vec<u8>,
    /// The permission bits to give it once landed (`-p`), when the server
    /// said them.
    mode: Option<u32>,
    /// Its directory when a batch makes it ([`batch_down::Dir`]): an index
    /// into `get`'s directories.
    dir: Option<usize>,
}

/// The remote paths `pattern` names ([`remote_glob::expand`]), what cannot
/// be listed or was refused told on the way.
fn expand_remote(c: &mut Client, pattern: &[u8], t: &mut Tally<'_>) -> Result<Vec<Vec<u8>>, Error> {
    let shown = names::shown(pattern);
    let x = match remote_glob::expand(c, pattern) {
        Ok(x) => x,
        Err(e) if listing::session_failed(&e) => return Err(e),
        Err(e) => {
            let (dir, _) = remote_glob::split(pattern);
            t.refused(format!(
                "get: {shown}: listing /{}: {}",
                names::shown(&dir),
                listing::reason(&e)
            ));
            return Ok(Vec::new());
        }
    };
    for (name, why) in &x.refused {
        t.refused(format!(
            "get: {shown}: the server listed \"{}\": {why}; refused",
            names::shown(name)
        ));
    }
    let out: Vec<Vec<u8>> = x
        .matches
        .into_iter()
        .filter(|(_, k)| *k != Kind::Other)
        .map(|(p, _)| p)
        .collect();
    if out.is_empty() {
        t.refused(format!("get: {shown}: no remote file matches"));
    }
    Ok(out)
}

/// Downloads `sources` (remote paths; a glob pattern names what it matches)
/// to `dest` here: into it when it is an existing directory (several
/// sources or a pattern need one), as it otherwise. Every name the server
/// lists is checked before it is used and lands only below `dest`.
/// Directories need [`Options::recursive`]. `Err` only when the caller's
/// session failed.
pub fn get(
    c: &mut Client,
    cfg: &ClientConfig,
    sources: &[String],
    dest: &str,
    o: &Options,
    ev: &dyn Events,
) -> Result<Report, Error> {
    let mut t = Tally::new(ev);
    let mut remotes: Vec<Vec<u8>> = Vec::new();
    let mut patterned = false;
    for s in sources {
        if glob::has_magic(s.as_bytes()) {
            patterned = true;
            remotes.extend(expand_remote(c, s.as_bytes(), &mut t)?);
        } else {
            let u = glob::unescape(s.as_bytes());
            remotes.push(u.strip_suffix(b"/").filter(|d| !d.is_empty()).unwrap_or(&u).to_vec());
        }
    }
    if remotes.is_empty() {
        return Ok(t.report);
    }
    let local = Path::new(dest);
    let local_is_dir = local.is_dir();
    if !local_is_dir && (remotes.len() > 1 || patterned || dest.ends_with('/')) {
        t.local(format!(
            "get: {dest}: no such directory (several sources, or a pattern, need an existing directory)"
        ));
        return Ok(t.report);
    }
    let mut landings: Vec<Landing> = Vec::new();
    let mut files: Vec<Down> = Vec::new();
    // directories to make as their files land: landing, path, the source
    let mut dirs: Vec<(usize, Vec<u8>, String)> = Vec::new();
    let probe = (!o.resume).then_some(batch::Which::Get);
    let prime: fn(&mut Client) = if o.resume { |_| {} } else { batch_down::prime };
    for src in &remotes {
        let shown = names::shown(src);
        // a tree's listing (and the batch probe) asked behind the FSTAT that
        // says it is one: a round trip less; dropped if it is not
        let (st, ahead) = if o.recursive {
            // the tree's sessions open from here, not from the answer that
            // says it is one: they, not the listing, were the last to be
            // ready (a handshake's four round trips and the probe's against
            // the listing's slow start). A source that is no directory
            // waits for them at the end, to end them cleanly.
            start_pool(&mut t, cfg, o.jobs, o.fai, prime);
            c.chan.tx.hold();
            c.chan.tx.send_frame(&[&b"FSTAT "[..], src].concat())?;
            let ahead = listing::send_tree_listing(c, src, probe)?;
            c.chan.tx.release()?;
            (listing::parse_fstat_answer(&c.chan.rx.recv_frame()?), Some(ahead))
        } else {
            (listing::fstat(c, src), None)
        };
        let st = st.split()?;
        if let Some(a) = ahead.filter(|_| !matches!(&st, Ok(s) if s.kind == Kind::Dir)) {
            listing::drain_tree_listing(c, a)?;
        }
        let st = match st {
            Ok(st) => st,
            Err(st) => {
                t.refused(format!("get: {shown}: {}", listing::status_text(&st)));
                continue;
            }
        };
        let name = last(src);
        if local_is_dir && !name.is_empty() {
            if let Err(why) = names::check(name) {
                t.refused(format!("get: {shown}: its name is {why}; refused"));
                if let Some(a) = ahead.filter(|_| st.kind == Kind::Dir) {
                    listing::drain_tree_listing(c, a)?;
                }
                continue;
            }
        }
        match st.kind {
            Kind::File => {
                // the landing is the directory the file goes in
                let (dir, rel) = if local_is_dir {
                    (local.to_path_buf(), name.to_vec())
                } else {
                    let parent = match local.parent() {
                        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
                        _ => PathBuf::from("."),
                    };
                    let file = local.file_name().map(|n| n.as_bytes().to_vec()).unwrap_or_default();
                    (parent, file)
                };
                match Landing::open(&dir) {
                    Ok(l) => {
                        landings.push(l);
                        files.push(Down {
                            at: landings.len() - 1,
                            rel,
                            remote: src.clone(),
                            mode: None,
                            dir: None,
                        });
                    }
                    Err(e) => t.local(format!("get: {}: {e}", escape::path(&dir))),
                }
            }
            Kind::Dir if !o.recursive => t.local(format!("get: {shown}: is a directory (use get -r)")),
            Kind::Dir => {
                // the tree's sessions open while this one lists (started
                // above unless it was not asked ahead)
                start_pool(&mut t, cfg, o.jobs, o.fai, prime);
                let target = if local_is_dir && !name.is_empty() && !o.contents {
                    Landing::open(local).and_then(|l| l.create_dir(name).and_then(|()| l.sub(name)))
                } else if local_is_dir {
                    Landing::open(local)
                } else {
                    t.ev.making_destination();
                    std::fs::create_dir(local).and_then(|()| Landing::open(local))
                };
                let land = match target {
                    Ok(l) => l,
                    Err(e) => {
                        t.local(format!("get: {}: {e}", escape::path(local)));
                        if let Some(a) = ahead {
                            listing::drain_tree_listing(c, a)?;
                        }
                        continue;
                    }
                };
                let listed = match ahead {
                    Some(a) => listing::recv_tree_listing(c, src, a),
                    None => listing::list_tree(c, src, probe),
                };
                let mut l = match listed {
                    Ok(l) => l,
                    Err(e) if listing::session_failed(&e) => return Err(e),
                    Err(e @ Error::TooBig(_)) => {
                        // the rest of an over-long listing is still on the wire
                        t.refused(format!("get: {shown}: {e}; nothing of it transferred"));
                        return Ok(t.report);
                    }
                    Err(e) => {
                        t.refused(format!("get: {shown}: {}", listing::reason(&e)));
                        continue;
                    }
                };
                l.entries.retain(|e| !o.filter.excludes(&e.rel, e.kind == Kind::Dir));
                for (n, why) in &l.refused {
                    t.refused(format!(
                        "get: {shown}: the server listed \"{}\": {why}; skipped",
                        names::shown(n)
                    ));
                }
                landings.push(land);
                let at = landings.len() - 1;
                // batches make the directories as their files land (the
                // engine's path wants them all first)
                let lazy = !o.resume && batch_down::supported(c)?;
                let mut failed: Vec<&[u8]> = Vec::new();
                let mut here: HashMap<&[u8], usize> = HashMap::new();
                for e in &l.entries {
                    match e.kind {
                        Kind::Dir if lazy => {
                            here.insert(&e.rel, dirs.len());
                            dirs.push((at, e.rel.clone(), shown.clone()));
                        }
                        Kind::Dir => {
                            if let Err(err) = landings[at].create_dir(&e.rel) {
                                t.local(format!("get: {shown}: {err}"));
                                failed.push(&e.rel);
                            }
                        }
                        Kind::File => {}
                        Kind::Other => t.skipped(format!(
                            "get: {}: not a regular file or directory on the server, skipped",
                            names::shown(&rjoin(src, &e.rel))
                        )),
                    }
                }
                for e in l.entries.iter().filter(|e| e.kind == Kind::File) {
                    if failed.iter().any(|d| below(&e.rel, d)) {
                        continue;
                    }
                    let parent = e.rel.iter().rposition(|&b| b == b'/').map(|i| &e.rel[..i]);
                    files.push(Down {
                        at,
                        rel: e.rel.clone(),
                        remote: rjoin(src, &e.rel),
                        mode: None,
                        dir: parent.and_then(|d| here.get(d).copied()),
                    });
                }
            }
            Kind::Other => t.refused(format!("get: {shown}: not a regular file or directory on the server")),
        }
    }
    let landings = &landings;
    let made: Vec<batch_down::Dir<'_>> = dirs
        .iter()
        .map(|(at, rel, _)| batch_down::Dir::new(&landings[*at], rel))
        .collect();
    // every directory made (those no file was landed in, and those the
    // engine's files go in), each one that could not be told once
    let finish_dirs = |t: &mut Tally<'_>| {
        for (d, (_, _, shown)) in made.iter().zip(&dirs) {
            if let Err(err) = d.make() {
                t.local(format!("get: {shown}: {err}"));
            }
        }
    };
    let what = |d: &Down| format!("get: {}", names::shown(&d.remote));
    let kept = Partials::default();
    let work = |c: &mut Client, d: &Down, p: &Progress| {
        let resume = o.resume && Partials::resumable(&landings[d.at], &d.rel);
        let done = receive(c, cfg, &landings[d.at], &d.rel, &d.remote, resume, p, &kept, ev)?;
        Ok(match (done, d.mode) {
            (Done::Ok, Some(mode)) => match Beside::within(&landings[d.at], &d.rel).and_then(|b| b.set_mode(mode)) {
                Ok(()) => Done::Ok,
                Err(e) => Done::Local(format!("its mode: {e}")),
            },
            (done, _) => done,
        })
    };
    // one exchange per session where the server has batches (a resume
    // needs the engine's journals)
    if !o.resume {
        let wants: Vec<batch_down::Want<'_>> = files
            .iter()
            .map(|d| batch_down::Want {
                land: &landings[d.at],
                rel: &d.rel,
                remote: &d.remote,
                keep_mode: o.preserve,
                dir: d.dir.map(|i| &made[i]),
            })
            .collect();
        let what = |w: &batch_down::Want<'_>| format!("get: {}", names::shown(w.remote));
        let got = batch_down::download(c, cfg, o.jobs, o.fai, &wants, &what, ev, &mut t)?;
        finish_dirs(&mut t);
        if let Some((_, big)) = got {
            // the big files through the engine, resumable
            let mut i = 0;
            files.retain_mut(|d| {
                i += 1;
                match big.binary_search_by_key(&(i - 1), |b| b.0) {
                    Ok(k) => {
                        d.mode = big[k].1;
                        true
                    }
                    Err(_) => false,
                }
            });
            if files.is_empty() {
                return Ok(t.report);
            }
        }
    }
    run_pool(c, cfg, o.jobs, o.fai, &files, &what, &work, &mut t);
    t.report.kept = kept.into_inner();
    Ok(t.report)
}

/// The partial downloads a run kept for a later resume.
#[derive(Default)]
pub(crate) struct Partials {
    files: Mutex<Vec<(PathBuf, u64)>>,
}

impl Partials {
    /// Whether the file `rel` has a partial download with a journal (only
    /// those are resumed: the rest are moved whole, unverified, as usual).
    pub(crate) fn resumable(land: &Landing, rel: &[u8]) -> bool {
        Beside::within(land, rel).is_ok_and(|b| partial::has_journal(&b))
    }

    fn add(&self, k: &crate::Kept) {
        self.files
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push((k.partial.clone(), k.bytes));
    }

    pub(crate) fn into_inner(self) -> Vec<(PathBuf, u64)> {
        self.files.into_inner().unwrap_or_else(|p| p.into_inner())
    }
}

/// One file of a tree down through the transfer engine: its partial and
/// journal beside its final name in the landing (never reached by a path
/// looked up again), kept only when exactly the size the server announced
/// came, renamed over the name with the server's mtime; continued as far as
/// its journal proves when `resume`. A failure that kept a partial records
/// it in `kept`.
#[allow(clippy::too_many_arguments)]
pub(crate) fn receive(
    c: &mut Client,
    cfg: &ClientConfig,
    land: &Landing,
    rel: &[u8],
    remote: &[u8],
    resume: bool,
    p: &Progress,
    kept: &Partials,
    ev: &dyn Events,
) -> Result<Done, Error> {
    let counter = p.begin();
    let req = download::Request {
        remote,
        target: download::Target::Within(land, rel),
        streams: 1,
        bufsz: TREE_BUFSZ,
        resume,
        verify: false,
        unverified: false,
        progress: &counter,
    };
    // the engine names the file by its local path, which holds the server's name
    let r = download::download(c, cfg, &req, &mut |m| ev.note(&escape::shown_str(m)));
    p.end(&counter);
    let e = match r {
        Ok(()) => return Ok(Done::Ok),
        Err(e) => e,
    };
    if let Some(k) = e.kept() {
        kept.add(k);
    }
    // one file's failure is told and the run goes on; a failed session ends it
    Ok(match e.cause() {
        Error::Refused(r) => Done::Refused(listing::status_text(&r.reply)),
        Error::Cancelled { .. } => Done::Refused(e.cause().to_string()),
        Error::Local(_) | Error::File { .. } | Error::Usage(_) | Error::Mismatch(_) => {
            Done::Local(escape::shown_str(&e.cause().to_string()))
        }
        _ => return Err(e.into_cause()),
    })
}
