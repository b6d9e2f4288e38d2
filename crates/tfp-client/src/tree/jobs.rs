//! What [`super::copy`]'s uploads, [`super::copy_down`]'s downloads and the
//! batches both use, below all of them: a run's options, the pool of
//! sessions it runs over, and one file's transfer each way outside a batch.

use super::events::{Events, Progress, Tally};
use super::filter::Filter;
use super::landing::Landing;
use super::{listing, pool};
use crate::engine::beside::Beside;
use crate::engine::upload::file::{Own, Up};
use crate::engine::{download, partial, upload};
use crate::{escape, Client, ClientConfig, Error};
use std::path::PathBuf;
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex};

/// The GET buffer a tree's files ask for (`tf get`'s default).
const TREE_BUFSZ: i64 = 4 << 20;

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
pub struct Opening(pub(super) Arc<Mutex<Option<pool::Early>>>);

impl std::fmt::Debug for Opening {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Opening")
    }
}

impl Opening {
    /// The sessions started, once (a second run opens its own).
    pub(super) fn take(&self) -> Option<pool::Early> {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).take()
    }
}

/// Sessions of the pool unless told otherwise.
pub const DEFAULT_JOBS: usize = 4;

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
pub(super) fn connector(cfg: &ClientConfig, fai: bool) -> impl Fn() -> Result<Client, Error> + Sync + Send + 'static {
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

/// One file up, replacing the remote file whole or leaving it as it was,
/// by the route the engine chooses for a file of a tree
/// ([`upload::route::choose`]: a big file through a stage, continuing what
/// an earlier run moved of this same source; anything else, or any file on
/// a server without stages, with SNDFILE and overwrite). `own` gives the
/// mode and mtime the file keeps on the server, from its metadata (a tree
/// upload's [`super::batch::Keep`]); they go with a stage's commit.
pub(crate) fn upload_one(
    c: &mut Client,
    cfg: &ClientConfig,
    u: &Up,
    own: &Own<'_>,
    p: &Progress,
) -> Result<Done, Error> {
    let m = match std::fs::File::open(&u.local).and_then(|f| f.metadata()) {
        Ok(m) => m,
        Err(e) => return Ok(Done::Local(e.to_string())),
    };
    let size = m.len();
    let mut req = upload::Request {
        member: true,
        attrs: own(&m),
        ..upload::Request::new(upload::Source::File(&u.local, size), &u.remote, upload::Kind::Put)
    };
    let total = AtomicU64::new(size);
    let progress = upload::Progress {
        done: p.bytes(),
        total: &total,
    };
    match upload::send(c, cfg, &mut req, &progress, &mut |_| {}) {
        Ok(_) => Ok(Done::Ok),
        Err(f) => match *f.error {
            Error::Refused(r) => Ok(Done::Refused(listing::status_text(&r.reply))),
            e => Err(e),
        },
    }
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
