//! `tf mirror [-R] [--delete] [--checksum] [--dry-run] [--jobs N] SRC DST`:
//! makes DST a copy of SRC, moving only what differs (a remote SRC and a local
//! DST; with -R the other way). Both sides are described first — the remote
//! one by one LSR and FSTATs sent without waiting for each answer, so an
//! unchanged tree costs a few round trips, not one per file — then the plan
//! (client::tree::sync) runs: removals, directories, then the files over the
//! same `--jobs` pool and landing as `get -r`/`put -r`.

use super::explain;
use super::reply::fail;
use super::tree::{self, Done, Progress, Tally, Up};
use std::ffi::OsStr;
use std::io::Write;
use std::os::fd::AsFd;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicUsize, Ordering};
use tfp_client::engine::partial;
use tfp_client::options::commands::{self, Family, ParseError};
use tfp_client::replies::Split as _;
use tfp_client::tree::filter::Filter;
use tfp_client::tree::landing::Landing;
use tfp_client::tree::listing::{self, Kind, ListError};
use tfp_client::tree::names;
use tfp_client::tree::sync::{self, Meta, Plan, Rule, Side};
use tfp_client::{Client, ClientConfig, Error};
use tfp_wire::Status;

struct Opts {
    upload: bool,
    delete: bool,
    checksum: bool,
    dry_run: bool,
    jobs: usize,
    /// The main session entered with Fast Access: the pool's do too.
    fai: bool,
    /// `--exclude`/`--include`, on both sides.
    filter: Filter,
    src: String,
    dst: String,
}

const USAGE: &str =
    "usage: tf ... mirror [-R] [--delete] [--checksum] [--dry-run] [--jobs N] [--exclude P] [--include P] SRC DST";

fn parse(args: &[String]) -> Result<Opts, String> {
    let g = commands::parse(Family::Mirror, args).map_err(|e| match e {
        ParseError::Unknown(s) => format!("mirror: unknown option {s}\n{USAGE}"),
        ParseError::Bad(m) => m,
    })?;
    let mut o = Opts {
        upload: g.flag("-R"),
        delete: g.flag("--delete"),
        checksum: g.flag("--checksum"),
        dry_run: g.flag("--dry-run"),
        jobs: g.num("--jobs").map_or(4, |n| n as usize),
        fai: false,
        filter: Filter::of(&g),
        src: String::new(),
        dst: String::new(),
    };
    let pos = g.positional;
    let [src, dst] = pos.as_slice() else {
        return Err(USAGE.into());
    };
    o.src = src.clone();
    o.dst = dst.clone();
    Ok(o)
}

/// `tf mirror ...`.
pub fn run(x: &mut super::ctx::Ctx<'_>, args: &[String]) -> ExitCode {
    let (c, cfg) = (&mut *x.c, x.cfg);
    let o = match parse(args) {
        Ok(o) => Opts { fai: x.fai, ..o },
        Err(e) => return fail(e),
    };
    let r = if o.upload { up(c, cfg, &o) } else { down(c, cfg, &o) };
    match r {
        Ok(code) => code,
        Err(e) => {
            explain::session_error(&e, cfg).print();
            ExitCode::from(1)
        }
    }
}

/// A remote path as given, without a trailing `/` ("" or "/" is the root).
fn remote_path(p: &str) -> Vec<u8> {
    let t = p.trim_end_matches('/');
    t.as_bytes().to_vec()
}

/// The remote tree below `dir`: LSR, then FSTAT of every file, pipelined.
/// `None` when the listing as a whole was refused (said so). The flag is
/// false when it was not whole: names refused, or files FSTAT would not
/// describe. On the side of a download those files are left out; on the side
/// of an upload they count as different, so they are sent again.
fn remote_side(c: &mut Client, dir: &[u8], for_upload: bool, t: &mut Tally) -> Result<Option<(Side, bool)>, Error> {
    let shown = names::shown(dir);
    let l = match listing::list(c, dir, true) {
        Ok(l) => l,
        Err(ListError::Session(e)) => return Err(e),
        Err(e) => {
            t.refused(format!("mirror: listing /{shown}: {e}; nothing done"));
            return Ok(None);
        }
    };
    let mut whole = true;
    for (n, why) in &l.refused {
        t.refused(format!(
            "mirror: /{shown}: the server listed {:?}: {why}; skipped",
            names::shown(n)
        ));
        whole = false;
    }
    let mut side = Side::new();
    let mut files: Vec<Vec<u8>> = Vec::new();
    for e in &l.entries {
        // a name listed twice counts once
        if side.contains_key(&e.rel) {
            continue;
        }
        let meta = Meta {
            kind: e.kind,
            size: 0,
            mtime: 0,
            changed: 0,
        };
        side.insert(e.rel.clone(), meta);
        if e.kind == Kind::File {
            files.push(e.rel.clone());
        }
    }
    let paths: Vec<Vec<u8>> = files.iter().map(|f| tree::rjoin(dir, f)).collect();
    let stats = sync::fstat_all(c, &paths)?;
    for ((rel, path), st) in files.iter().zip(&paths).zip(stats) {
        match st {
            Ok(st) if st.kind == Kind::File => {
                side.insert(
                    rel.clone(),
                    Meta {
                        kind: Kind::File,
                        size: st.size,
                        mtime: st.mtime,
                        changed: 0,
                    },
                );
            }
            other => {
                let why = match other {
                    Ok(_) => "no longer a regular file".to_string(),
                    Err(st) => listing::status_text(&st),
                };
                t.refused(format!("mirror: /{}: FSTAT: {why}", names::shown(path)));
                whole = false;
                if for_upload {
                    side.insert(
                        rel.clone(),
                        Meta {
                            kind: Kind::File,
                            size: u64::MAX,
                            mtime: i64::MIN,
                            changed: 0,
                        },
                    );
                } else {
                    side.remove(rel);
                }
            }
        }
    }
    Ok(Some((side, whole)))
}

/// `--checksum`: the files of the same size, judged by SHA-256 (the server's
/// SHA256, pipelined, against the local file's); those that differ join the
/// copies.
fn verify(c: &mut Client, p: &mut Plan, remote_root: &[u8], local_root: &Path, t: &mut Tally) -> Result<(), Error> {
    let paths: Vec<Vec<u8>> = p.verify.iter().map(|r| tree::rjoin(remote_root, r)).collect();
    let answers = sync::pipelined(c, "SHA256", &paths)?;
    for (rel, st) in std::mem::take(&mut p.verify).into_iter().zip(answers) {
        let local = local_root.join(OsStr::from_bytes(&rel));
        let theirs = match st {
            Status::Ok(h) => h,
            st => {
                t.refused(format!(
                    "mirror: SHA256 /{}: {}",
                    names::shown(&tree::rjoin(remote_root, &rel)),
                    listing::status_text(&st)
                ));
                continue;
            }
        };
        match sync::local_sha256(&local) {
            Ok(ours) if ours == theirs => p.unchanged += 1,
            Ok(_) => p.copy.push(rel),
            Err(e) => t.local(format!("mirror: {}: {e}", local.display())),
        }
    }
    p.copy.sort();
    Ok(())
}

/// What a run did, for the summary line.
#[derive(Default)]
struct Counts {
    transferred: usize,
    deleted: usize,
    unchanged: usize,
    /// Files (and names, directories) that failed; counted apart from the
    /// tally, whose one message may stand for many files.
    failed: usize,
}

fn summary(dry: bool, n: &Counts) {
    let (moved, gone) = if dry {
        ("to transfer", "to delete")
    } else {
        ("transferred", "deleted")
    };
    println!(
        "mirror: {} {moved}, {} {gone}, {} unchanged, {} failed{}",
        n.transferred,
        n.deleted,
        n.unchanged,
        n.failed,
        if dry { " (dry run: nothing changed)" } else { "" }
    );
    let _ = std::io::stdout().flush();
}

/// Prints what a dry run would do, one line each.
fn print_plan(p: &Plan, verb: &str) {
    let mut out = std::io::stdout().lock();
    for r in &p.remove {
        let what = if r.extra { "delete" } else { "replace" };
        let _ = writeln!(out, "{what} {}", names::shown(&r.rel));
    }
    for d in &p.mkdir {
        let _ = writeln!(out, "mkdir {}", names::shown(d));
    }
    for f in &p.copy {
        let _ = writeln!(out, "{verb} {}", names::shown(f));
    }
}

/// Reports what the plan cannot do or leaves out.
fn report_plan(p: &Plan, what_side: &str, t: &mut Tally) {
    for (rel, why) in &p.blocked {
        t.local(format!("mirror: {}: {why}", names::shown(rel)));
    }
    for rel in &p.skipped {
        eprintln!(
            "tf: mirror: {}: not a regular file or directory {what_side}, skipped",
            names::shown(rel)
        );
    }
}

/// What both directions do once the plan is made: --checksum's comparison
/// (where the destination exists), the plan's problems reported, the counts
/// it starts with. A dry run ends here with its plan and summary printed: Err
/// holds its exit status.
fn settle(
    c: &mut Client,
    p: &mut Plan,
    o: &Opts,
    exists: bool,
    remote_root: &[u8],
    local_root: &Path,
    t: &mut Tally,
) -> Result<Result<Counts, ExitCode>, Error> {
    // --checksum's files, and those whose times are too close to compare
    if !p.verify.is_empty() && exists {
        verify(c, p, remote_root, local_root, t)?;
    }
    let (source_side, verb) = if o.upload {
        ("here", "put")
    } else {
        ("on the server", "get")
    };
    report_plan(p, source_side, t);
    let mut n = Counts {
        unchanged: p.unchanged,
        ..Counts::default()
    };
    if o.dry_run {
        print_plan(p, verb);
        n.transferred = p.copy.len();
        n.deleted = p.extras();
        n.failed = t.local + t.refused;
        summary(true, &n);
        return Ok(Err(t.code()));
    }
    Ok(Ok(n))
}

/// A file to move, named in messages by its path on the server.
trait Job: Sync {
    fn remote(&self) -> &[u8];
}

impl Job for Fetch {
    fn remote(&self) -> &[u8] {
        &self.remote
    }
}

impl Job for Up {
    fn remote(&self) -> &[u8] {
        &self.remote
    }
}

/// Moves `jobs` over the session pool with `one`, then prints the summary:
/// failed counts the problems tallied so far and every job not done.
fn transfer<J: Job>(
    c: &mut Client,
    cfg: &ClientConfig,
    o: &Opts,
    jobs: &[J],
    one: &(dyn Fn(&mut Client, &J, &Progress) -> Result<Done, Error> + Sync),
    mut n: Counts,
    t: &mut Tally,
) -> ExitCode {
    let verb = if o.upload { "put" } else { "get" };
    let what = |j: &J| format!("mirror: {verb} {}", names::shown(j.remote()));
    let done = AtomicUsize::new(0);
    let work = |c: &mut Client, j: &J, p: &Progress| {
        let r = one(c, j, p);
        if matches!(r, Ok(Done::Ok)) {
            done.fetch_add(1, Ordering::Relaxed);
        }
        r
    };
    let before = t.local + t.refused;
    tree::run_pool(c, cfg, o.jobs, o.fai, jobs, &what, &work, t);
    n.transferred = done.into_inner();
    n.failed = before + (jobs.len() - n.transferred);
    summary(false, &n);
    t.code()
}

/// Whether `rel` lies below one of `dirs`.
fn below(rel: &[u8], dirs: &[Vec<u8>]) -> bool {
    dirs.iter()
        .any(|d| rel.len() > d.len() && rel.starts_with(d) && rel[d.len()] == b'/')
}

/// One file of a download (the engine asks the server for its size and
/// mtime as it starts it).
struct Fetch {
    rel: Vec<u8>,
    remote: Vec<u8>,
}

/// Leaves out of the local side the partials (and journals) interrupted
/// downloads kept: they are the engine's, neither files to mirror nor extra
/// files to remove.
fn leave_partials(ours: &mut Side) {
    ours.retain(|rel, m| m.kind != Kind::File || !partial::is_partial_name(rel));
}

/// The download direction: remote SRC, local DST.
fn down(c: &mut Client, cfg: &ClientConfig, o: &Opts) -> Result<ExitCode, Error> {
    let mut t = Tally::default();
    let src = remote_path(&o.src);
    if !src.is_empty() {
        match listing::fstat(c, &src).split()? {
            Ok(st) if st.kind == Kind::Dir => {}
            Ok(_) => {
                t.refused(format!("mirror: {}: not a directory on the server", o.src));
                return Ok(t.code());
            }
            Err(st) => {
                t.refused(format!("mirror: {}: {}", o.src, listing::status_text(&st)));
                return Ok(t.code());
            }
        }
    }
    let Some((theirs, whole)) = remote_side(c, &src, false, &mut t)? else {
        return Ok(t.code());
    };
    let dst = PathBuf::from(&o.dst);
    let exists = match std::fs::metadata(&dst) {
        Ok(m) if m.is_dir() => true,
        Ok(_) => {
            t.local(format!("mirror: {}: not a directory", o.dst));
            return Ok(t.code());
        }
        Err(_) => false,
    };
    let ours = if exists {
        match sync::scan(&dst) {
            Ok((s, errors)) => {
                for (rel, why) in errors {
                    t.local(format!(
                        "mirror: {}: {why}",
                        dst.join(OsStr::from_bytes(&rel)).display()
                    ));
                }
                s
            }
            Err(e) => {
                t.local(format!("mirror: {}: {e}", o.dst));
                return Ok(t.code());
            }
        }
    } else {
        Side::new()
    };
    let delete = o.delete && whole;
    if o.delete && !whole {
        eprintln!("tf: mirror: the server's listing was not whole: --delete removes nothing this time");
    }
    let rule = if o.checksum { Rule::Checksum } else { Rule::SameMtime };
    let (mut theirs, mut ours) = (theirs, ours);
    o.filter.retain(&mut theirs);
    o.filter.retain(&mut ours);
    // a re-run continues them
    leave_partials(&mut ours);
    let mut p = sync::plan(&theirs, &ours, rule, delete);
    let mut n = match settle(c, &mut p, o, exists, &src, &dst, &mut t)? {
        Ok(n) => n,
        Err(dry_run) => return Ok(dry_run),
    };
    if !exists {
        if let Err(e) = std::fs::create_dir_all(&dst) {
            t.local(format!("mirror: {}: {e}", o.dst));
            return Ok(t.code());
        }
    }
    let (land, root) = match Landing::open(&dst).and_then(|l| std::fs::File::open(&dst).map(|f| (l, f))) {
        Ok(x) => x,
        Err(e) => {
            t.local(format!("mirror: {}: {e}", o.dst));
            return Ok(t.code());
        }
    };
    let mut failed_dirs: Vec<Vec<u8>> = Vec::new();
    for r in &p.remove {
        match sync::remove_below(root.as_fd(), &r.rel) {
            Ok(()) if r.extra => n.deleted += 1,
            Ok(()) => {}
            Err(e) => {
                t.local(format!(
                    "mirror: removing {}: {e}",
                    dst.join(OsStr::from_bytes(&r.rel)).display()
                ));
                failed_dirs.push(r.rel.clone());
            }
        }
    }
    for d in &p.mkdir {
        if below(d, &failed_dirs) {
            continue;
        }
        if let Err(e) = land.create_dir(d) {
            t.local(format!("mirror: {}: {e}", o.dst));
            failed_dirs.push(d.clone());
        }
    }
    let mut jobs = Vec::with_capacity(p.copy.len());
    for rel in &p.copy {
        if below(rel, &failed_dirs) {
            t.local(format!(
                "mirror: {}: its directory could not be made",
                names::shown(rel)
            ));
            continue;
        }
        if !theirs.contains_key(rel) {
            continue;
        }
        jobs.push(Fetch {
            rel: rel.clone(),
            remote: tree::rjoin(&src, rel),
        });
    }
    super::safe::clean_on_signals();
    // a re-run continues what an interrupted one kept, as far as its journal proves
    let kept = tree::Kept::default();
    let one = |c: &mut Client, f: &Fetch, p: &Progress| {
        let resume = kept.resumable(&land, &f.rel);
        tree::receive(c, cfg, &land, &f.rel, &f.remote, resume, p, &kept)
    };
    let how = "running the same mirror again continues them";
    // said by the signal thread too, after the partials it names
    let note = tfp_client::temporaries::note_kept(format!("interrupted: {how}"));
    let code = transfer(c, cfg, o, &jobs, &one, n, &mut t);
    tfp_client::temporaries::drop_note(note);
    kept.tell(how);
    Ok(code)
}

/// The upload direction (-R): local SRC, remote DST.
fn up(c: &mut Client, cfg: &ClientConfig, o: &Opts) -> Result<ExitCode, Error> {
    let mut t = Tally::default();
    let src = PathBuf::from(&o.src);
    if !src.is_dir() {
        t.local(format!("mirror -R: {}: not a local directory", o.src));
        return Ok(t.code());
    }
    let (ours, mut whole) = match sync::scan(&src) {
        Ok((s, errors)) => {
            let whole = errors.is_empty();
            for (rel, why) in errors {
                t.local(format!(
                    "mirror: {}: {why}",
                    src.join(OsStr::from_bytes(&rel)).display()
                ));
            }
            (s, whole)
        }
        Err(e) => {
            t.local(format!("mirror: {}: {e}", o.src));
            return Ok(t.code());
        }
    };
    let dst = remote_path(&o.dst);
    let exists = dst.is_empty()
        || match listing::fstat(c, &dst).split()? {
            Ok(st) if st.kind == Kind::Dir => true,
            Ok(_) => {
                t.refused(format!("mirror: {}: not a directory on the server", o.dst));
                return Ok(t.code());
            }
            Err(_) => false,
        };
    let theirs = if exists {
        let Some((s, w)) = remote_side(c, &dst, true, &mut t)? else {
            return Ok(t.code());
        };
        whole &= w;
        s
    } else {
        Side::new()
    };
    let delete = o.delete && whole;
    if o.delete && !whole {
        eprintln!("tf: mirror: a listing was not whole: --delete removes nothing this time");
    }
    let rule = if o.checksum {
        Rule::Checksum
    } else {
        Rule::RemoteNotOlder
    };
    let (mut theirs, mut ours) = (theirs, ours);
    o.filter.retain(&mut theirs);
    o.filter.retain(&mut ours);
    // an incomplete download is no file to publish
    leave_partials(&mut ours);
    let mut p = sync::plan(&ours, &theirs, rule, delete);
    let mut n = match settle(c, &mut p, o, exists, &dst, &src, &mut t)? {
        Ok(n) => n,
        Err(dry_run) => return Ok(dry_run),
    };
    if !exists {
        match c.call("MKDIR", &dst)? {
            Status::Ok(_) => {}
            st => {
                t.refused(format!("mirror: mkdir {}: {}", o.dst, listing::status_text(&st)));
                return Ok(t.code());
            }
        }
    }
    let mut failed_dirs: Vec<Vec<u8>> = Vec::new();
    for r in &p.remove {
        let path = tree::rjoin(&dst, &r.rel);
        let st = c.call(if r.kind == Kind::Dir { "RMDIR" } else { "DEL" }, &path)?;
        match st {
            Status::Ok(_) if r.extra => n.deleted += 1,
            Status::Ok(_) => {}
            st => {
                t.refused(format!(
                    "mirror: removing /{}: {}",
                    names::shown(&path),
                    listing::status_text(&st)
                ));
                failed_dirs.push(r.rel.clone());
            }
        }
    }
    let dirs: Vec<Vec<u8>> = p.mkdir.iter().map(|d| tree::rjoin(&dst, d)).collect();
    let answers = sync::pipelined(c, "MKDIR", &dirs)?;
    let exists_code = i32::from(tfp_wire::Failed::DirExists.code());
    for ((rel, path), st) in p.mkdir.iter().zip(&dirs).zip(answers) {
        match st {
            Status::Ok(_) => {}
            Status::Failed(code, _) if code == exists_code => {}
            st => {
                if !below(rel, &failed_dirs) {
                    t.refused(format!(
                        "mirror: mkdir /{}: {}",
                        names::shown(path),
                        listing::status_text(&st)
                    ));
                }
                failed_dirs.push(rel.clone());
            }
        }
    }
    let mut jobs = Vec::with_capacity(p.copy.len());
    for rel in &p.copy {
        if below(rel, &failed_dirs) {
            t.refused(format!(
                "mirror: {}: its directory could not be made",
                names::shown(rel)
            ));
            continue;
        }
        jobs.push(Up {
            local: src.join(OsStr::from_bytes(rel)),
            remote: tree::rjoin(&dst, rel),
        });
    }
    Ok(transfer(
        c,
        cfg,
        o,
        &jobs,
        &|c, u, p| tree::upload_one(c, cfg, u, p),
        n,
        &mut t,
    ))
}
