//! Makes one tree a copy of another, moving only what differs: what
//! `tf mirror` runs, and the Python package's `mirror`. A remote source and
//! a local destination, or (upload) the other way.
//!
//! Both sides are described first — the remote one by one LSR and FSTATs
//! sent without waiting for each answer, so an unchanged tree costs a few
//! round trips, not one per file — then the plan ([`sync::plan`]) runs:
//! removals, directories, then the files over the same pool, landing and
//! staged uploads as [`super::copy`]. `delete` removes nothing when either
//! listing was not whole, and nothing is removed locally through a symlink.

use super::filter::Filter;
use super::itemize::{self, Frame};
use super::names;
use super::names::rjoin;
use super::select::Select;
use super::sync::{self, Keeps, Plan, Rule, Side};
use crate::caps::{Ext, Known};
use crate::engine::backup::Wanted;
use crate::engine::download::many::{self, Sessions};
use crate::engine::download::one::Partials;
use crate::engine::download::plan::File;
use crate::engine::events::{Events, Fault, Report, Tally};
use crate::engine::landing::Landing;
use crate::engine::partial;
use crate::engine::upload::deltas::{by_delta, send_deltas};
use crate::engine::upload::file::Up;
use crate::engine::upload::many::{self as up_many, Dirs};
use crate::engine::upload::DeltaRule;
use crate::remote::listing::{self, Kind};
use crate::replies::Split as _;
use crate::{Client, ClientConfig, Error};
use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use tfp_wire::Status;

pub(crate) mod attrs;
mod clear;
mod sides;
mod stale;
mod unkept;
mod xattrs;

/// What a mirror may do.
#[derive(Debug, Clone)]
pub struct Options {
    /// The source is local and the destination on the server (`-R`).
    pub upload: bool,
    /// Remove what the destination has and the source has not.
    pub delete: bool,
    /// Judge files of the same size by SHA-256 rather than by mtime.
    pub checksum: bool,
    /// Plan only: [`MirrorReport::planned`] says what a run would do.
    pub dry_run: bool,
    /// Sessions moving files at once.
    pub jobs: usize,
    /// The caller's session entered with Fast Access: the pool's do too.
    pub fai: bool,
    /// `--exclude`/`--include`, on both sides.
    pub filter: Filter,
    /// When a changed file the destination has goes as a delta, both ways
    /// (`mirror -R` sends one, `mirror` fetches one); the rest go whole (up:
    /// in batches).
    pub delta: DeltaRule,
    /// What is kept beyond files' data and directories: by default what
    /// `rsync -a` keeps (modes, mtimes to the nanosecond, links, FIFOs and
    /// sockets), where the server says them (a download from a server with
    /// TFDENTRIES).
    pub keeps: Keeps,
    /// `-L`: the source's symlinks are what they name: a file's contents
    /// land as a file, a directory's tree as a directory.
    pub copy_links: bool,

    // Selection (issue 68)
    /// Sizes, update modes and `--delete-excluded`, applied to the plan.
    pub select: Select,
    // backups and moves (issue 68)
    /// `--backup`, `--backup-dir`, `--suffix`: every file the run replaces
    /// or removes at the destination is kept (rsync's meaning).
    pub backup: Option<Wanted>,
    /// `--remove-source-files`: each source file whose copy is proven the
    /// same is removed once the run is over ([`super::moves`]).
    pub remove_source: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            upload: false,
            delete: false,
            checksum: false,
            dry_run: false,
            jobs: crate::tree::options::DEFAULT_JOBS,
            fai: false,
            filter: Filter::default(),
            delta: DeltaRule::Auto,
            keeps: Keeps::archive(),
            copy_links: false,
            select: Select::default(),
            backup: None,
            remove_source: false,
        }
    }
}

/// One step of a plan, as a dry run reports it (paths relative to the
/// destination).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Planned {
    /// Remove an extra entry (`delete`).
    Delete(Vec<u8>),
    /// Remove an entry of another kind in the way of the source's.
    Replace(Vec<u8>),
    /// Make a directory.
    Mkdir(Vec<u8>),
    /// Move a file.
    Copy(Vec<u8>),
}

/// The counts of a mirror that got as far as its plan.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Summary {
    /// Files moved (a dry run: to move).
    pub transferred: usize,
    /// Extra entries removed (a dry run: to remove).
    pub deleted: usize,
    /// Files found the same on both sides.
    pub unchanged: usize,
    /// Files, names and directories that failed.
    pub failed: usize,
}

/// What a mirror did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct MirrorReport {
    /// Failures and kept partials, as for any tree run.
    pub report: Report,
    /// `None` when the run stopped before it had a plan (a side could not
    /// be read: said through [`Events::failed`]).
    pub summary: Option<Summary>,
    /// A dry run's plan, in the order it would run.
    pub planned: Vec<Planned>,
}

/// Makes `dst` a copy of `src`: a remote `src` and a local `dst`, or with
/// [`Options::upload`] a local `src` and a remote `dst`. `Err` only when the
/// caller's session failed.
pub fn mirror(
    c: &mut Client,
    cfg: &ClientConfig,
    src: &str,
    dst: &str,
    o: &Options,
    ev: &dyn Events,
) -> Result<MirrorReport, Error> {
    let mut t = Tally::new(ev, "mirror");
    let (remote, local) = if o.upload { (dst, src) } else { (src, dst) };
    let ends = Ends {
        remote: remote_path(remote),
        local: PathBuf::from(local),
        remote_shown: remote.to_string(),
        local_shown: local.to_string(),
        seen: None,
        listed_ahead: false,
        named: Vec::new(),
    };
    let backup = o.backup.as_ref().filter(|_| o.upload && !o.dry_run);
    let own = super::backups::remote_start(c, cfg, backup, &ends.remote)?;
    let r = run(c, &own, &ends, o, &mut t);
    super::backups::remote_end(c, backup);
    let r = r?;
    let (summary, planned) = r.map_or((None, Vec::new()), |(s, p)| (Some(s), p));
    Ok(MirrorReport {
        report: t.report,
        summary,
        planned,
    })
}

/// What a direction returns: the counts and a dry run's plan, or nothing
/// when it stopped before the plan.
pub(crate) type Ran = Option<(Summary, Vec<Planned>)>;

/// The two ends of a mirror, and how what it tells names each (a
/// mirror's as given; a tree copy's as its names are shown).
pub(crate) struct Ends {
    /// The remote directory, without a trailing `/` ("" is the root).
    pub(crate) remote: Vec<u8>,
    pub(crate) local: PathBuf,
    pub(crate) remote_shown: String,
    pub(crate) local_shown: String,
    /// What the remote end is, when the caller asked the server this run
    /// (`None` inside: nothing there): not asked again.
    pub(crate) seen: Option<Option<Kind>>,
    /// The caller sent TFDENTRIES of the remote end, and its answer is the
    /// next on the session (a download's source, listed behind its FSTAT).
    pub(crate) listed_ahead: bool,
    /// The tree's name below the destination as given, which the items
    /// ([`Events::item`]) start with; empty: the destination itself.
    pub(crate) named: Vec<u8>,
}

/// Makes one end a copy of the other ([`Options::upload`] says which),
/// telling into `t`: what [`mirror`] runs, and `put -r -a`/`get -r -a` for
/// each directory they copy.
pub(crate) fn run(
    c: &mut Client,
    cfg: &ClientConfig,
    ends: &Ends,
    o: &Options,
    t: &mut Tally<'_>,
) -> Result<Ran, Error> {
    let ran = if o.upload {
        up(c, cfg, ends, o, t)
    } else {
        down(c, cfg, ends, o, t)
    };
    unkept::holes(cfg, t);
    unkept::xattrs(cfg, t);
    ran
}

/// `path` relative to the remote directory `dir` ("" is the root).
fn relative(path: &[u8], dir: &[u8]) -> Option<Vec<u8>> {
    if dir.is_empty() {
        return Some(path.to_vec());
    }
    path.strip_prefix(dir)?.strip_prefix(b"/").map(<[u8]>::to_vec)
}

/// A remote path as given, without a trailing `/` ("" or "/" is the root).
fn remote_path(p: &str) -> Vec<u8> {
    p.trim_end_matches('/').as_bytes().to_vec()
}

/// `checksum`: the files of the same size, judged by SHA-256 (the server's
/// SHA256, pipelined, against the local file's); those that differ join the
/// copies.
fn verify(c: &mut Client, p: &mut Plan, remote_root: &[u8], local_root: &Path, t: &mut Tally<'_>) -> Result<(), Error> {
    let paths: Vec<Vec<u8>> = p.verify.iter().map(|r| rjoin(remote_root, r)).collect();
    let answers = crate::remote::pipeline::pipelined(c, "SHA256", &paths)?;
    for (rel, st) in std::mem::take(&mut p.verify).into_iter().zip(answers) {
        let local = local_root.join(OsStr::from_bytes(&rel));
        let theirs = match st {
            Status::Ok(h) => h,
            st => {
                t.refused(format!(
                    "{}: SHA256 /{}: {}",
                    t.verb,
                    names::shown(&rjoin(remote_root, &rel)),
                    listing::status_text(&st)
                ));
                continue;
            }
        };
        match sync::local_sha256(&local) {
            Ok(ours) if ours == theirs => {
                p.unchanged += 1;
                p.same_by_sum.push(rel);
            }
            Ok(_) => p.copy.push(rel),
            Err(e) => t.local(format!("{}: {}: {e}", t.verb, crate::escape::path(&local))),
        }
    }
    p.copy.sort();
    Ok(())
}

/// A dry run's plan in the order a run would carry it out.
fn planned(p: &Plan) -> Vec<Planned> {
    let removals = p.remove.iter().map(|r| {
        if r.extra {
            Planned::Delete(r.rel.clone())
        } else {
            Planned::Replace(r.rel.clone())
        }
    });
    let dirs = p.mkdir.iter().cloned().map(Planned::Mkdir);
    removals
        .chain(dirs)
        .chain(p.copy.iter().cloned().map(Planned::Copy))
        .collect()
}

/// What both directions do once the plan is made: `checksum`'s comparison
/// (where the destination exists), the plan's problems told, the counts it
/// starts with. A dry run ends here: `Err` holds its counts and plan.
fn settle(
    c: &mut Client,
    p: &mut Plan,
    o: &Options,
    exists: bool,
    remote_root: &[u8],
    local_root: &Path,
    t: &mut Tally<'_>,
) -> Result<Result<Summary, (Summary, Vec<Planned>)>, Error> {
    // checksum's files, and those whose times are too close to compare
    if !p.verify.is_empty() && exists {
        verify(c, p, remote_root, local_root, t)?;
    }
    let source_side = if o.upload { "here" } else { "on the server" };
    for (rel, why) in &p.blocked {
        t.local(format!("{}: {}: {why}", t.verb, names::shown(rel)));
    }
    for rel in &p.skipped {
        // a local source's entry is told as put -r tells it
        let local = o.upload.then(|| local_root.join(OsStr::from_bytes(rel)));
        match local.and_then(|l| std::fs::symlink_metadata(l).ok()) {
            Some(m) => t.note(super::walk::skipped(
                t.verb,
                &names::shown(rel),
                super::walk::not_taken(m.file_type()),
            )),
            None => t.note(format!(
                "{}: {}: not a regular file or directory {source_side}, skipped",
                t.verb,
                names::shown(rel)
            )),
        }
    }
    let mut n = Summary {
        unchanged: p.unchanged,
        ..Summary::default()
    };
    if o.dry_run {
        n.transferred = p.copy.len();
        n.deleted = p.extras();
        n.failed = t.failures();
        return Ok(Err((n, planned(p))));
    }
    Ok(Ok(n))
}

/// Whether `rel` lies below one of `dirs`.
fn below(rel: &[u8], dirs: &[Vec<u8>]) -> bool {
    dirs.iter().any(|d| crate::tree::names::below(rel, d))
}

/// The files to move whose directory exists: one below a directory that
/// could not be made is told (as `fault`: here for a download, the server's
/// refusal for an upload) and left out.
fn placeable<'p>(copy: &'p [Vec<u8>], failed_dirs: &[Vec<u8>], fault: Fault, t: &mut Tally<'_>) -> Vec<&'p Vec<u8>> {
    let mut out = Vec::with_capacity(copy.len());
    for rel in copy {
        if !below(rel, failed_dirs) {
            out.push(rel);
            continue;
        }
        let msg = format!("{}: {}: its directory could not be made", t.verb, names::shown(rel));
        match fault {
            Fault::Local => t.local(msg),
            Fault::Refused => t.refused(msg),
        }
    }
    out
}

/// Leaves out of the local side the partials (and journals) interrupted
/// downloads kept: they are the engine's, neither files to mirror nor extra
/// files to remove.
fn leave_partials(ours: &mut Side) {
    ours.retain(|rel, m| m.kind != Kind::File || !partial::is_partial_name(rel));
}

/// Which way a mirror moves files.
#[derive(Clone, Copy)]
enum Direction {
    Down,
    Up,
}

/// The plan for both sides as listed: the filter applied to each, the
/// partials of interrupted downloads left out of the local side (a re-run
/// continues them; an upload never publishes an incomplete file), and the
/// rule that direction compares by. `--delete` removes nothing unless every
/// listing was `whole` (said when it was asked for).
fn plan_of(
    o: &Options,
    theirs: &mut Side,
    ours: &mut Side,
    way: Direction,
    (whole, stamps): (bool, bool),
    keeps: Keeps,
    t: &mut Tally<'_>,
) -> Plan {
    let asked = o.delete || o.select.delete_excluded;
    let delete = asked && whole;
    if asked && !whole {
        t.note(match way {
            Direction::Down => "mirror: the server's listing was not whole: --delete removes nothing this time",
            Direction::Up => "mirror: a listing was not whole: --delete removes nothing this time",
        });
    }
    // --delete-excluded: the destination's excluded entries are extras
    let (src, dst): (&mut Side, &mut Side) = match way {
        Direction::Down => (theirs, ours),
        Direction::Up => (ours, theirs),
    };
    for p in o.filter.unlisted(|r| src.contains_key(r)) {
        let said = format!(
            "{}: {}: listed in --files-from, not in the source",
            t.verb,
            names::shown(&p)
        );
        match way {
            Direction::Down => t.refused(said),
            Direction::Up => t.local(said),
        }
    }
    o.filter.retain(src);
    if !(o.select.delete_excluded && delete) {
        o.filter.retain(dst);
    }
    leave_partials(match way {
        Direction::Down => &mut *dst,
        Direction::Up => &mut *src,
    });
    let rule = match (way, o.checksum) {
        (_, true) => Rule::Checksum,
        (Direction::Down, false) => Rule::SameMtime,
        (Direction::Up, false) if stamps => Rule::SameMtimeUp,
        (Direction::Up, false) => Rule::RemoteNotOlder,
    };
    let mut p = sync::plan(src, dst, rule, delete, keeps);
    o.select.prune(&mut p, src, dst);
    if let Some(w) = &o.backup {
        super::backups::file_by_file(&mut p, dst, w);
    }
    p
}

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

/// The download direction: remote `src`, local `dst`.
fn down(c: &mut Client, cfg: &ClientConfig, ends: &Ends, o: &Options, t: &mut Tally<'_>) -> Result<Ran, Error> {
    let (src_arg, dst_arg) = (ends.remote_shown.as_str(), ends.local_shown.as_str());
    let src = ends.remote.clone();
    let uid = tfd_sys::geteuid();
    if o.keeps.owners && uid != 0 {
        t.local(format!(
            "{}: --owner: only root may give files an owner here, and tf runs as uid {uid}; nothing done",
            t.verb
        ));
        return Ok(None);
    }
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
    let plain = o.keeps == Keeps::default();
    let (listed, top) = sides::listed(c, &src, false, (!plain || o.copy_links, ends.listed_ahead), t)?;
    let Some((mut theirs, whole)) = listed else {
        return Ok(None);
    };
    if o.copy_links {
        sides::follow_links(c, &src, &mut theirs, o.keeps, t)?;
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
    let mut p = plan_of(o, &mut theirs, &mut ours, Direction::Down, (whole, false), o.keeps, t);
    if o.keeps != Keeps::default() && c.caps.get(Ext::Entries) == Known::No {
        unkept::tell(&mut p, o.keeps, t);
    }
    let settled = settle(c, &mut p, o, exists, &src, &dst, t)?;
    let roots = (top.clone(), itemize::local_dir(&dst), exists);
    let frame = Frame::new(false, o.keeps, &ends.named);
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
    let (land, root) = match landing(o, &dst) {
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
                keep_mode: o.keeps.attrs,
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
    stale::remove(&land, (&partials, &gone), (&theirs, &ours, &p), t);
    let nodes = attrs::settle_down(
        &land,
        &dst,
        attrs::Done {
            plan: &p,
            failed_dirs: &failed_dirs,
            keeps: o.keeps,
            owned: &std::collections::HashSet::new(),
        },
        &theirs,
        top.as_ref(),
        t,
    );
    n.transferred += nodes;
    if cfg.xattrs {
        xattrs::down(c, (&src, &land), &theirs, &failed_dirs, t)?;
    }
    super::moves::after(c, (o.remove_source, false), (&theirs, &dst, &src), t)?;
    Ok(Some((n, Vec::new())))
}

/// The landing at `dst` (keeping what it replaces as `o.backup` asks) and
/// `dst` open.
fn landing(o: &Options, dst: &Path) -> std::io::Result<(Landing, std::fs::File)> {
    let backups = o.backup.as_ref().map(|w| w.local(dst)).transpose()?;
    let land = Landing::open(dst)?.keeping(backups.map(std::sync::Arc::new));
    Ok((land, std::fs::File::open(dst)?))
}

/// What an upload keeps: `o`'s keeps where the server has archive batches
/// (`archive`), devices only where the session may make them (tfd's rule
/// for owners; else left out and named, as without -D). `None` when
/// `--owner` was asked of a session that may not give owners: refused,
/// before anything moves.
fn upload_keeps(c: &mut Client, o: &Options, archive: bool, t: &mut Tally<'_>) -> Result<Option<Keeps>, Error> {
    let mut keeps = if archive { o.keeps } else { Keeps::default() };
    keeps.devices &= archive && keeps.devices && attrs::may_keep_owners(c)?;
    if archive && o.keeps.owners && !attrs::may_keep_owners(c)? {
        t.refused(format!(
            "{}: --owner: the server does not let this session give owners (tfd keeps them only for a session it serves as root, unjailed); nothing done",
            t.verb
        ));
        return Ok(None);
    }
    Ok(Some(keeps))
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
fn up(c: &mut Client, cfg: &ClientConfig, ends: &Ends, o: &Options, t: &mut Tally<'_>) -> Result<Ran, Error> {
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
        // archive batches asked in the same round trip
        None => {
            let probe = (o.keeps != Keeps::default()).then_some(crate::remote::probe::Which::Archive);
            listing::fstat_probing(c, &dst, probe).split()?.ok().map(|st| st.kind)
        }
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
        let (listed, top) = sides::listed(c, &dst, true, (o.keeps != Keeps::default(), false), t)?;
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
    let Some(keeps) = upload_keeps(c, o, archive, t)? else {
        return Ok(None);
    };
    let mut p = plan_of(o, &mut theirs, &mut ours, Direction::Up, (whole, stamps), keeps, t);
    if o.keeps != Keeps::default() && !archive {
        unkept::tell(&mut p, o.keeps, t);
    }
    let settled = settle(c, &mut p, o, exists, &dst, &src, t)?;
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
    let keep = attrs::upload_keep(archive, keeps, cfg.compress);
    let verb = t.verb;
    let what = move |u: &Up| format!("{verb}: {}", names::shown(&u.remote));
    let before = t.failures();
    let total = jobs.len();
    // changed files the server has go as deltas where that pays; the rest,
    // and those a delta would not take, whole in batches
    let (jobs, deltas) = by_delta(c, o.delta, stamps, jobs);
    // the last step rides at the batches' ends where every file goes in one
    let fold = archive && up_many::all_in_batches(&jobs, &deltas, cfg.sparse);
    // the deltas and the whole files are one plan on the progress line
    let moving = t.begin_moving(jobs.iter().chain(&deltas).map(|u| u.size));
    let (sent, whole) = send_deltas(c, cfg, (o.jobs, o.fai), deltas, keep, &what, t);
    let jobs: Vec<Up> = jobs.into_iter().chain(whole).collect();
    let owned: std::collections::HashSet<Vec<u8>> = jobs
        .iter()
        .filter(|u| keep.owner && up_many::in_batch(u, cfg.sparse))
        .map(|u| u.remote.clone())
        .collect();
    if archive {
        let racy = attrs::racy_again(&p, &theirs);
        p.attrs.extend(racy);
    }
    let done = |failed_dirs: &[Vec<u8>]| {
        attrs::last_step(
            &src,
            &dst,
            attrs::Done {
                plan: &p,
                failed_dirs,
                keeps: o.keeps,
                owned: &owned,
            },
            (&ours, top.as_ref()),
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
    if archive {
        n.transferred += match folded {
            Some(last) if dirs.closing.carried => last.told_closing(&dirs.closing, t),
            _ => {
                let last = done(&failed_dirs);
                attrs::settle_up(c, &last, t)?
            }
        };
    }
    if cfg.xattrs {
        xattrs::up(c, (&src, &dst), &ours, &failed_dirs, t)?;
    }
    super::moves::after(c, (o.remove_source, true), (&ours, &src, &dst), t)?;
    Ok(Some((n, Vec::new())))
}
