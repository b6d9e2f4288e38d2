//! `put -r` and `get -r`: whole trees and many files (and glob patterns) over
//! a pool of sessions opened once, with cp -r's rules for the destination.
//! The pieces (walk, listing, names, pool, landing) live in the library's
//! client::tree; this is the command line around them.

use super::explain;
use super::reply::fail;
use std::ffi::OsStr;
use std::io::IsTerminal;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tfp_client::engine::beside::Beside;
use tfp_client::engine::{download, partial};
use tfp_client::options::commands::{self, Family, ParseError};
use tfp_client::replies::{AsStatus as _, Split as _};
use tfp_client::staged;
use tfp_client::tree::filter::Filter;
use tfp_client::tree::listing::{self, Kind, ListError};
use tfp_client::tree::{glob, landing::Landing, names, pool, remote_glob, walk};
use tfp_client::{escape, temporaries};
use tfp_client::{Client, ClientConfig, Error};
use tfp_wire::Status;

/// Sessions of the pool unless `--jobs` says otherwise.
const DEFAULT_JOBS: usize = 4;

/// Whether `put`/`get` with `args` is a tree command: `-r`, `--jobs`, more
/// than one source, or a source with a wildcard or an escape.
pub fn wanted(args: &[String]) -> bool {
    let mut pos: Vec<&str> = Vec::new();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "-r" | "--jobs" | "--exclude" | "--include" => return true,
            s if commands::takes_value(Family::Transfer, s) => {
                it.next();
            }
            s if s.starts_with("--") => {}
            s => pos.push(s),
        }
    }
    // an escaped wildcard is for the pattern rules too: it names the literal file
    let patterned = |s: &&str| glob::has_magic(s.as_bytes()) || glob::unescape(s.as_bytes()) != s.as_bytes();
    pos.len() > 2 || pos.iter().rev().skip(1).any(patterned)
}

struct Opts {
    recursive: bool,
    /// `get -r --resume`: continue the partials an interrupted run kept.
    resume: bool,
    /// `--exclude`/`--include`, applied below each directory source.
    filter: Filter,
    jobs: usize,
    /// The main session entered with Fast Access: the pool's do too.
    fai: bool,
    sources: Vec<String>,
    dest: String,
}

fn parse(cmd: &str, args: &[String]) -> Result<Opts, String> {
    let g = commands::parse(Family::Tree, args).map_err(|e| match e {
        ParseError::Unknown(s) => {
            format!("{s} is not an option of {cmd} -r (only -r, --jobs N, --exclude PATTERN, --include PATTERN)")
        }
        ParseError::Bad(m) => m,
    })?;
    let (recursive, jobs) = (g.flag("-r"), g.num("--jobs").map_or(DEFAULT_JOBS, |n| n as usize));
    let resume = g.flag("--resume");
    if resume && cmd != "get" {
        return Err(format!("{cmd}: --resume with several files is for get -r"));
    }
    let filter = Filter::of(&g);
    let mut pos = g.positional;
    let Some(dest) = pos.pop().filter(|_| !pos.is_empty()) else {
        return Err(format!(
            "usage: tf ... {cmd} -r [--jobs N] {}",
            if cmd == "put" {
                "LOCAL... REMOTE"
            } else {
                "REMOTE... LOCAL"
            }
        ));
    };
    if pos.iter().any(|s| s == "-") || dest == "-" {
        return Err(format!("{cmd}: - (stdin/stdout) moves one file: use {cmd} without -r"));
    }
    Ok(Opts {
        recursive,
        resume,
        filter,
        jobs,
        fai: false,
        sources: pos,
        dest,
    })
}

/// What happened to the files of one run; the exit status follows from it.
#[derive(Default)]
pub(super) struct Tally {
    /// Local or connection failures.
    pub(super) local: usize,
    /// Refusals by the server, and names refused from its listings.
    pub(super) refused: usize,
}

impl Tally {
    pub(super) fn local(&mut self, msg: impl std::fmt::Display) {
        eprintln!("tf: {msg}");
        self.local += 1;
    }

    pub(super) fn refused(&mut self, msg: impl std::fmt::Display) {
        eprintln!("tf: {msg}");
        self.refused += 1;
    }

    pub(super) fn code(&self) -> ExitCode {
        if self.local > 0 {
            ExitCode::from(1)
        } else if self.refused > 0 {
            ExitCode::from(2)
        } else {
            ExitCode::SUCCESS
        }
    }
}

/// Files done out of all, and bytes moved, drawn on stderr when it is a terminal.
pub(super) struct Progress {
    files: AtomicU64,
    pub(super) bytes: AtomicU64,
    /// The counters of the downloads under way (the engine counts each
    /// file's own bytes), drawn with `bytes` and added to it when done.
    live: std::sync::Mutex<Vec<Arc<AtomicU64>>>,
    stop: AtomicBool,
}

fn human(n: f64) -> String {
    let units = ["B", "KiB", "MiB", "GiB", "TiB"];
    let (mut v, mut i) = (n, 0);
    while v >= 1024.0 && i < units.len() - 1 {
        v /= 1024.0;
        i += 1;
    }
    format!("{v:.1} {}", units[i])
}

impl Progress {
    fn start(total: usize) -> (Arc<Progress>, Option<std::thread::JoinHandle<()>>) {
        let p = Arc::new(Progress {
            files: AtomicU64::new(0),
            bytes: AtomicU64::new(0),
            live: std::sync::Mutex::default(),
            stop: AtomicBool::new(false),
        });
        if !std::io::stderr().is_terminal() {
            return (p, None);
        }
        let q = p.clone();
        let h = std::thread::spawn(move || {
            let t0 = Instant::now();
            loop {
                let stop = q.stop.load(Ordering::Relaxed);
                let b = q.moved() as f64;
                let rate = b / t0.elapsed().as_secs_f64().max(1e-3);
                eprint!(
                    "\r{}/{total} files  {}  {}/s   ",
                    q.files.load(Ordering::Relaxed),
                    human(b),
                    human(rate)
                );
                if stop {
                    eprintln!();
                    return;
                }
                std::thread::sleep(Duration::from_millis(200));
            }
        });
        (p, Some(h))
    }
}

impl Progress {
    /// Bytes moved, the files under way included.
    fn moved(&self) -> u64 {
        let live = self.live.lock().unwrap_or_else(|p| p.into_inner());
        self.bytes.load(Ordering::Relaxed) + live.iter().map(|c| c.load(Ordering::Relaxed)).sum::<u64>()
    }

    /// A counter for one download, drawn while it runs.
    fn begin(&self) -> Arc<AtomicU64> {
        let c = Arc::new(AtomicU64::new(0));
        self.live.lock().unwrap_or_else(|p| p.into_inner()).push(c.clone());
        c
    }

    /// The download of `c` ended: its bytes join the total.
    fn end(&self, c: &Arc<AtomicU64>) {
        let mut live = self.live.lock().unwrap_or_else(|p| p.into_inner());
        live.retain(|x| !Arc::ptr_eq(x, c));
        self.bytes.fetch_add(c.load(Ordering::Relaxed), Ordering::Relaxed);
    }
}

fn finish(p: &Progress, h: Option<std::thread::JoinHandle<()>>) {
    p.stop.store(true, Ordering::Relaxed);
    if let Some(h) = h {
        let _ = h.join();
    }
}

/// How one file's transfer ended (a session failure is the pool's `Err`).
pub(super) enum Done {
    Ok,
    Refused(String),
    Local(String),
}

/// Opens `n` more sessions like the main one (LOGIN, INJAIL, Fast Access).
fn open_pool(cfg: &ClientConfig, n: usize, fai: bool) -> Result<Vec<Client>, Error> {
    let connect = move || -> Result<Client, Error> {
        if fai {
            let dir = tfp_client::fai_cache::default_dir();
            if let Some(cache) = dir.and_then(|d| tfp_client::fai_cache::FaiCache::open(&d, cfg).ok()) {
                return tfp_client::fai_cache::connect_cached(cfg, &cache).map(|(c, _)| c);
            }
        }
        Client::connect(cfg)
    };
    pool::open(n, !fai, &connect)
}

/// Runs `jobs` over the main session and `jobs_wanted - 1` more (entering
/// with Fast Access if `fai`), then counts.
#[allow(clippy::too_many_arguments)]
pub(super) fn run_pool<J: Sync>(
    c: &mut Client,
    cfg: &ClientConfig,
    jobs_wanted: usize,
    fai: bool,
    jobs: &[J],
    what: &(dyn Fn(&J) -> String + Sync),
    work: &(dyn Fn(&mut Client, &J, &Progress) -> Result<Done, Error> + Sync),
    tally: &mut Tally,
) {
    if jobs.is_empty() {
        return;
    }
    let extra = jobs_wanted.min(jobs.len()).saturating_sub(1);
    let mut more = match open_pool(cfg, extra, fai) {
        Ok(v) => v,
        Err(e) => {
            explain::session_error(&e, cfg).print();
            tally.local(format!(
                "could not open the {extra} more sessions of --jobs; nothing transferred"
            ));
            return;
        }
    };
    let (progress, bar) = Progress::start(jobs.len());
    let results = {
        let mut sessions: Vec<&mut Client> = vec![c];
        sessions.extend(more.iter_mut());
        let p = &progress;
        pool::run(sessions, jobs, &|c, j| {
            let r = work(c, j, p);
            p.files.fetch_add(1, Ordering::Relaxed);
            r
        })
    };
    finish(&progress, bar);
    for m in more {
        let _ = m.end();
    }
    let mut lost = 0;
    for (j, r) in jobs.iter().zip(results) {
        match r {
            Some(Ok(Done::Ok)) => {}
            Some(Ok(Done::Refused(why))) => tally.refused(format!("{}: {why}", what(j))),
            Some(Ok(Done::Local(why))) => tally.local(format!("{}: {why}", what(j))),
            Some(Err(e)) => tally.local(format!("{}: the session failed: {e}", what(j))),
            None => lost += 1,
        }
    }
    if lost > 0 {
        tally.local(format!("{lost} file(s) not transferred: every session failed"));
    }
}

/// `put` or `get` as a tree command.
pub fn run(x: &mut super::ctx::Ctx<'_>, cmd: &str, args: &[String]) -> ExitCode {
    let (c, cfg) = (&mut *x.c, x.cfg);
    let o = match parse(cmd, args) {
        Ok(o) => Opts { fai: x.fai, ..o },
        Err(e) => return fail(e),
    };
    let r = if cmd == "put" {
        put(c, cfg, &o)
    } else {
        get(c, cfg, &o, args)
    };
    match r {
        Ok(code) => code,
        Err(e) => {
            explain::session_error(&e, cfg).print();
            ExitCode::from(1)
        }
    }
}

/// `a/b` joined to `dir` ("" is the served root).
pub(super) fn rjoin(dir: &[u8], name: &[u8]) -> Vec<u8> {
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

/// One file of an upload.
pub(super) struct Up {
    pub(super) local: PathBuf,
    pub(super) remote: Vec<u8>,
}

/// `put [-r] [--jobs N] LOCAL... REMOTE`.
fn put(c: &mut Client, cfg: &ClientConfig, o: &Opts) -> Result<ExitCode, Error> {
    let mut t = Tally::default();
    let mut sources = Vec::new();
    let mut patterned = false;
    for s in &o.sources {
        if glob::has_magic(s.as_bytes()) {
            patterned = true;
            match walk::expand(s) {
                Ok(m) if m.is_empty() => t.local(format!("put: {s}: no local file matches")),
                Ok(m) => sources.extend(m),
                Err(e) => t.local(format!("put: {s}: {e}")),
            }
        } else {
            sources.push(PathBuf::from(OsStr::from_bytes(&glob::unescape(s.as_bytes()))));
        }
    }
    let dest = glob::unescape(o.dest.as_bytes());
    let dest = dest
        .strip_suffix(b"/")
        .filter(|d| !d.is_empty())
        .unwrap_or(&dest)
        .to_vec();
    let dest_is_dir = match listing::fstat(c, &dest).split()? {
        Ok(st) => st.kind == Kind::Dir,
        Err(_) => false,
    } || dest.is_empty();
    if !dest_is_dir && (sources.len() > 1 || patterned || o.dest.ends_with('/')) {
        t.local(format!(
            "put: {}: no such directory on the server (several sources, or a pattern, need an existing directory)",
            o.dest
        ));
        return Ok(t.code());
    }
    let mut dirs: Vec<Vec<u8>> = Vec::new();
    let mut files: Vec<Up> = Vec::new();
    for src in &sources {
        let shown = src.display();
        let m = match std::fs::symlink_metadata(src) {
            Ok(m) => m,
            Err(e) => {
                t.local(format!("put: {shown}: {e}"));
                continue;
            }
        };
        let name = src.file_name().map(|n| n.as_bytes().to_vec());
        let base = match (&name, dest_is_dir) {
            (Some(n), true) => rjoin(&dest, n),
            _ => dest.clone(),
        };
        let ft = m.file_type();
        if ft.is_symlink() {
            eprintln!("tf: put: {shown}: a symlink, skipped (put -r follows none)");
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
                eprintln!("tf: put: {}: {why}, skipped", src.join(p).display());
            }
            if base != dest || !dest_is_dir {
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
                eprintln!(
                    "tf: put: {}: an interrupted download's partial, skipped",
                    src.join(p).display()
                );
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
    // directories first, parents before children, on the main session
    let mut failed_dirs: Vec<Vec<u8>> = Vec::new();
    for d in &dirs {
        if failed_dirs
            .iter()
            .any(|f| d.starts_with(f) && d.get(f.len()) == Some(&b'/'))
        {
            continue;
        }
        match c.call("MKDIR", d)? {
            Status::Ok(_) => {}
            Status::Failed(n, _) if n == i32::from(tfp_wire::Failed::DirExists.code()) => {}
            st => {
                t.refused(format!("put: mkdir {}: {}", names::shown(d), listing::status_text(&st)));
                failed_dirs.push(d.clone());
            }
        }
    }
    let before = files.len();
    files.retain(|f| {
        !failed_dirs
            .iter()
            .any(|d| f.remote.starts_with(d) && f.remote.get(d.len()) == Some(&b'/'))
    });
    if files.len() < before {
        t.refused(format!(
            "put: {} file(s) not sent: their directory could not be made",
            before - files.len()
        ));
    }
    let what = |u: &Up| format!("put: {} -> {}", u.local.display(), names::shown(&u.remote));
    run_pool(
        c,
        cfg,
        o.jobs,
        o.fai,
        &files,
        &what,
        &|c, u, p| upload_one(c, cfg, u, p),
        &mut t,
    );
    Ok(t.code())
}

/// Files from this size on go up through a stage (tfd's staged uploads), so
/// an interrupted `put -r` or `mirror -R` keeps what it moved of a big file
/// and the next run continues it, checked end to end before the target is
/// replaced. Smaller files are one SNDFILE: moving them again costs less than
/// a stage's two extra round trips and its hash.
const STAGED_FROM: u64 = 32 << 20;

/// One file up, replacing the remote file whole or leaving it as it was: a
/// big file through a stage (continuing what an earlier run moved of this
/// same source), anything else, or any file on a server without stages,
/// with SNDFILE and overwrite (a temporary renamed into place).
pub(super) fn upload_one(c: &mut Client, cfg: &ClientConfig, u: &Up, p: &Progress) -> Result<Done, Error> {
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
        match staged::put(c, cfg, &req, &p.bytes)? {
            staged::Outcome::Done(_) => return Ok(Done::Ok),
            staged::Outcome::Refused(st) => return Ok(Done::Refused(listing::status_text(&st))),
            staged::Outcome::Unsupported => {}
        }
    }
    let mut last = 0;
    let st = c
        .sndfile(&u.remote, true, &mut f, &mut |n| {
            p.bytes.fetch_add(n - last, Ordering::Relaxed);
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
}

/// The remote paths `pattern` names ([`remote_glob::expand`]), what cannot
/// be listed or was refused told on the way.
fn expand_remote(c: &mut Client, pattern: &[u8], t: &mut Tally) -> Result<Vec<Vec<u8>>, Error> {
    let shown = names::shown(pattern);
    let x = match remote_glob::expand(c, pattern) {
        Ok(x) => x,
        Err(ListError::Session(e)) => return Err(e),
        Err(e) => {
            let (dir, _) = remote_glob::split(pattern);
            t.refused(format!("get: {shown}: listing /{}: {e}", names::shown(&dir)));
            return Ok(Vec::new());
        }
    };
    for (name, why) in &x.refused {
        t.refused(format!(
            "get: {shown}: the server listed {:?}: {why}; refused",
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

/// `get [-r] [--jobs N] REMOTE... LOCAL`.
fn get(c: &mut Client, cfg: &ClientConfig, o: &Opts, args: &[String]) -> Result<ExitCode, Error> {
    let mut t = Tally::default();
    let mut sources: Vec<Vec<u8>> = Vec::new();
    let mut patterned = false;
    for s in &o.sources {
        if glob::has_magic(s.as_bytes()) {
            patterned = true;
            sources.extend(expand_remote(c, s.as_bytes(), &mut t)?);
        } else {
            let u = glob::unescape(s.as_bytes());
            sources.push(u.strip_suffix(b"/").filter(|d| !d.is_empty()).unwrap_or(&u).to_vec());
        }
    }
    if sources.is_empty() {
        return Ok(t.code());
    }
    let local = Path::new(&o.dest);
    let local_is_dir = local.is_dir();
    if !local_is_dir && (sources.len() > 1 || patterned || o.dest.ends_with('/')) {
        t.local(format!(
            "get: {}: no such directory (several sources, or a pattern, need an existing directory)",
            o.dest
        ));
        return Ok(t.code());
    }
    let mut landings: Vec<Landing> = Vec::new();
    let mut files: Vec<Down> = Vec::new();
    for src in &sources {
        let shown = names::shown(src);
        let st = match listing::fstat(c, src).split()? {
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
                        });
                    }
                    Err(e) => t.local(format!("get: {}: {e}", dir.display())),
                }
            }
            Kind::Dir if !o.recursive => t.local(format!("get: {shown}: is a directory (use get -r)")),
            Kind::Dir => {
                let target = if local_is_dir && !name.is_empty() {
                    Landing::open(local).and_then(|l| l.create_dir(name).and_then(|()| l.sub(name)))
                } else if local_is_dir {
                    Landing::open(local)
                } else {
                    std::fs::create_dir(local).and_then(|()| Landing::open(local))
                };
                let land = match target {
                    Ok(l) => l,
                    Err(e) => {
                        t.local(format!("get: {}: {e}", local.display()));
                        continue;
                    }
                };
                let mut l = match listing::list(c, src, true) {
                    Ok(l) => l,
                    Err(ListError::Session(e)) => return Err(e),
                    Err(ListError::TooBig(e)) => {
                        // the rest of an over-long listing is still on the wire
                        t.refused(format!("get: {shown}: {e}; nothing of it transferred"));
                        return Ok(t.code());
                    }
                    Err(e) => {
                        t.refused(format!("get: {shown}: {e}"));
                        continue;
                    }
                };
                l.entries.retain(|e| !o.filter.excludes(&e.rel, e.kind == Kind::Dir));
                for (n, why) in &l.refused {
                    t.refused(format!(
                        "get: {shown}: the server listed {:?}: {why}; skipped",
                        names::shown(n)
                    ));
                }
                let mut failed: Vec<&[u8]> = Vec::new();
                for e in &l.entries {
                    match e.kind {
                        Kind::Dir => {
                            if let Err(err) = land.create_dir(&e.rel) {
                                t.local(format!("get: {shown}: {err}"));
                                failed.push(&e.rel);
                            }
                        }
                        Kind::File => {}
                        Kind::Other => eprintln!(
                            "tf: get: {}: not a regular file or directory on the server, skipped",
                            names::shown(&rjoin(src, &e.rel))
                        ),
                    }
                }
                landings.push(land);
                let at = landings.len() - 1;
                for e in l.entries.iter().filter(|e| e.kind == Kind::File) {
                    if failed
                        .iter()
                        .any(|d| e.rel.starts_with(d) && e.rel.get(d.len()) == Some(&b'/'))
                    {
                        continue;
                    }
                    files.push(Down {
                        at,
                        rel: e.rel.clone(),
                        remote: rjoin(src, &e.rel),
                    });
                }
            }
            Kind::Other => t.refused(format!("get: {shown}: not a regular file or directory on the server")),
        }
    }
    super::safe::clean_on_signals();
    let landings = &landings;
    let what = |d: &Down| format!("get: {}", names::shown(&d.remote));
    let kept = Kept::default();
    let work = |c: &mut Client, d: &Down, p: &Progress| {
        let resume = o.resume && kept.resumable(&landings[d.at], &d.rel);
        receive(c, cfg, &landings[d.at], &d.rel, &d.remote, resume, p, &kept)
    };
    let mut again: Vec<String> = vec!["tf".into(), "get".into()];
    again.extend(args.iter().filter(|a| *a != "--resume").map(|a| shell_word(a)));
    again.push("--resume".into());
    let how = format!("`{}` continues them", again.join(" "));
    // said by the signal thread too, after the partials it names
    let note = temporaries::note_kept(format!("interrupted: {how}"));
    run_pool(c, cfg, o.jobs, o.fai, &files, &what, &work, &mut t);
    temporaries::drop_note(note);
    kept.tell(&how);
    Ok(t.code())
}

/// `a` as a shell word (quoted when it holds anything but plain characters).
fn shell_word(a: &str) -> String {
    let plain = |b: u8| b.is_ascii_alphanumeric() || b"-_./=:@%+,".contains(&b);
    if !a.is_empty() && a.bytes().all(plain) {
        a.to_string()
    } else {
        format!("'{}'", a.replace('\'', "'\\''"))
    }
}

/// The partial downloads a tree run kept for a later resume: said once at
/// the end, with the command that continues them.
#[derive(Default)]
pub(super) struct Kept {
    files: std::sync::Mutex<Vec<(PathBuf, u64)>>,
}

impl Kept {
    /// Whether the file `rel` has a partial download with a journal (only
    /// those are resumed: the rest are moved whole, unverified, as usual).
    pub(super) fn resumable(&self, land: &Landing, rel: &[u8]) -> bool {
        Beside::within(land, rel).is_ok_and(|b| partial::has_journal(&b))
    }

    fn add(&self, k: download::Kept) {
        self.files
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push((k.partial, k.bytes));
    }

    /// Says which partials were kept and `how` to continue them.
    pub(super) fn tell(&self, how: &str) {
        let files = self.files.lock().unwrap_or_else(|p| p.into_inner());
        if files.is_empty() {
            return;
        }
        for (p, bytes) in files.iter() {
            eprintln!("tf: {bytes} bytes kept in {}", escape::shown(p.as_os_str().as_bytes()));
        }
        eprintln!("tf: {} partial download(s) kept; {how}", files.len());
    }
}

/// One file of a tree down through the transfer engine: its partial and
/// journal beside its final name in the landing (never reached by a path
/// looked up again), kept only when exactly the size the server announced
/// came, renamed over the name with the server's mtime; continued as far as
/// its journal proves when `resume`. A failure that kept a partial records
/// it in `kept`: get -r's and mirror's.
#[allow(clippy::too_many_arguments)]
pub(super) fn receive(
    c: &mut Client,
    cfg: &ClientConfig,
    land: &Landing,
    rel: &[u8],
    remote: &[u8],
    resume: bool,
    p: &Progress,
    kept: &Kept,
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
    let r = download::download(c, cfg, &req, &mut |m| eprintln!("tf: {}", escape::shown_str(m)));
    p.end(&counter);
    let (failure, partial) = match r {
        Ok(()) => return Ok(Done::Ok),
        Err(x) => x,
    };
    if let Some(k) = partial {
        kept.add(k);
    }
    Ok(match failure {
        download::Failure::Refused(st) => Done::Refused(listing::status_text(&st)),
        download::Failure::Session(e) => return Err(e),
        download::Failure::Local(m) | download::Failure::NoSpace(m) | download::Failure::Mismatch(m) => {
            Done::Local(escape::shown_str(&m))
        }
    })
}

/// The GET buffer a tree's files ask for (get's default).
const TREE_BUFSZ: i64 = 4 << 20;

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn tree_commands_are_told_apart_from_single_transfers() {
        assert!(wanted(&s(&["-r", "a", "b"])));
        assert!(wanted(&s(&["a", "b", "c"])));
        assert!(wanted(&s(&["*.log", "logs/"])));
        assert!(wanted(&s(&["a", "b", "--jobs", "2"])));
        assert!(!wanted(&s(&["a", "b"])));
        assert!(!wanted(&s(&["a", "b", "--streams", "4"])));
        assert!(wanted(&s(&["a\\*", "b"])));
        assert!(!wanted(&s(&["a", "b*"])));
    }
}
