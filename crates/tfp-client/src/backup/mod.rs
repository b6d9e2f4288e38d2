//! Backups with history on a tfd server: `tf backup`, `tf restore` and
//! the Python package's `backup`, `restore` and `snapshots` run these.
//!
//! A snapshot is the directory `NAME/<UTC time>` holding `tree/` (the copy
//! of the source) and `index` (one line an entry, kept compressed,
//! [`index`]). It is made under `NAME/.part-<time>`: first every file
//! unchanged since the previous complete snapshot (size, mtime to the
//! nanosecond, mode and owners, the index's quick check) is linked to its
//! copy there with TFDLINKS (no data crosses), then `tree/` is made a copy of the source by the one engine's
//! mirror (`-a`'s fidelity, removing what the source no longer has, so the
//! linked files are found the same and only the others travel), then the
//! index is written, last, and the directory renamed to its time: a name
//! without the leading dot is always a complete snapshot. An interrupted
//! run leaves its `.part-` directory, which the next run takes over
//! (renamed to its own time), so what it already holds is not sent again.

pub mod index;
pub mod proof;
pub mod prune;
pub mod remote;
pub mod verify;

use crate::engine::events::Events;
use crate::escape::shown;
use crate::remote::pipeline::{pipelined, pipelined_lines, pipelined_statuses};
use crate::tree::mirror::{self, Options};
use crate::{Client, ClientConfig, Error};
use index::Entry;
use proof::Place;
use remote::{read_index, snapshots, split_at, Sentence};
use std::collections::HashMap;
use std::path::Path;
use tfp_wire::link::{self, Link, Links};
use tfp_wire::Status;

/// The leading name of a snapshot being made.
const PART: &str = ".part-";

/// Why a backup or a restore did not do what it was asked.
#[derive(Debug)]
pub enum Failure {
    /// The session failed under it.
    Session(Error),
    /// Something of the backup itself, in one sentence.
    Said(Sentence),
}

impl From<Error> for Failure {
    fn from(e: Error) -> Failure {
        Failure::Session(e)
    }
}

impl From<String> for Failure {
    fn from(m: String) -> Failure {
        Failure::Said(Sentence(m))
    }
}

impl From<Sentence> for Failure {
    fn from(s: Sentence) -> Failure {
        Failure::Said(s)
    }
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Failure::Session(e) => e.fmt(f),
            Failure::Said(s) => s.fmt(f),
        }
    }
}

/// A snapshot made.
#[derive(Debug)]
pub struct Made {
    /// `NAME/<time>`.
    pub snapshot: String,
    /// The files it holds.
    pub files: usize,
    /// How its files compare with the previous snapshot's.
    pub counts: Counts,
    /// What the run said on its way (each one sentence): an unreadable
    /// previous index (every file sent), proofs that could not be kept.
    pub notes: Vec<String>,
}

/// A snapshot's files against the previous snapshot's index, as restic
/// counts them: what a run stored anew and what it only linked.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Counts {
    /// Files the previous snapshot did not have.
    pub new: usize,
    /// Files it had with other contents or attributes (sent again).
    pub changed: usize,
    /// Files it had as they are (linked to its copy, no data sent).
    pub unmodified: usize,
    /// The bytes of the new and changed files: what the snapshot added to
    /// the server's disk.
    pub added: u64,
}

impl Counts {
    /// The counts of the files among `entries`, against the previous
    /// index's entries by path.
    fn of(entries: &[Entry], before: &HashMap<&[u8], &Entry>) -> Counts {
        let mut c = Counts::default();
        for e in entries.iter().filter(|e| e.kind == b'f') {
            match before.get(&e.path[..]) {
                Some(o) if o.same_quick(e) && o.sha256 == e.sha256 => c.unmodified += 1,
                Some(_) => {
                    c.changed += 1;
                    c.added += e.size;
                }
                None => {
                    c.new += 1;
                    c.added += e.size;
                }
            }
        }
        c
    }
}

/// `tf backup SRC NAME`: a new complete snapshot of the directory `src`
/// under `name`.
pub fn make(c: &mut Client, cfg: &ClientConfig, src: &str, name: &str, ev: &dyn Events) -> Result<Made, Failure> {
    if name.contains('@') {
        return Err(format!(
            "a backup's name cannot hold '@' ({}): NAME@SNAPSHOT names a snapshot",
            shown(name.as_bytes())
        )
        .into());
    }
    let src_dir = Path::new(src);
    if !src_dir.is_dir() {
        return Err(format!("{} is not a directory", shown(src.as_bytes())).into());
    }
    let (done, parts) = snapshots(c, name)?;
    if done.is_empty() && parts.is_empty() {
        // a first run: NAME and its parents (a listing answered, they exist)
        make_name(c, name)?;
    }
    let time = now_name();
    let work = format!("{name}/{PART}{time}");
    let prev_index = done.last().map(|p| format!("{name}/{p}/index"));
    let theirs = open_part(c, name, &parts, &work, prev_index.as_deref())?;
    let mut notes = Vec::new();
    let old = match done
        .last()
        .map(|prev| previous_index(c, cfg, name, prev, theirs.as_deref()))
    {
        Some(Ok(old)) => Some(old),
        Some(Err(m)) => {
            notes.push(format!("{m}; every file is sent"));
            None
        }
        None => None,
    };
    let carried = done.last().and_then(|prev| carried(cfg, name, prev));
    let keys = match &carried {
        Some(k) => k.keys.clone(),
        None => proof::new_keys().map_err(|e| format!("no random keys for the snapshot's proofs: {e}"))?,
    };
    let before: HashMap<&[u8], &Entry> = old.iter().flatten().map(|e| (&e.path[..], e)).collect();
    // a file whose mtime is not older than the previous run's start by a
    // second could have changed since within the same tick: read it (the
    // mirror compares such a copy by content too)
    let trusted = done
        .last()
        .and_then(|p| started(p))
        .map(|t| (t - 1) as i128 * 1_000_000_000);
    let known = |e: &Entry| {
        let was = before.get(&e.path[..]).filter(|o| o.same_quick(e))?;
        (e.mtime_ns < trusted?).then_some(())?;
        carried.as_ref()?.file(&e.path, &was.sha256?)
    };
    let scanned =
        index::scan(src_dir, &keys, &known).map_err(|e| format!("{} could not be read: {e}", shown(src.as_bytes())))?;
    let entries = proof::entries(&scanned);
    if let (Some(prev), Some(old)) = (done.last(), &old) {
        link_unchanged(
            c,
            &format!("{name}/{prev}/tree"),
            &format!("{work}/tree"),
            old,
            &entries,
        )?;
    }
    let o = Options {
        upload: true,
        delete: true,
        ..Options::default()
    };
    let r = mirror::mirror(c, cfg, &format!("{src}/"), &format!("{work}/tree"), &o, ev)?;
    if !r.report.ok() || r.summary.is_none() {
        return Err(format!(
            "the snapshot is not complete (some files failed); {} stays for the next run",
            shown(work.as_bytes())
        )
        .into());
    }
    let text = index::stored(&entries);
    put_index(c, cfg, &work, &text)?;
    if !ok(c.call("CHMOD", format!("{work}/index 600").as_bytes())?) {
        notes.push("the snapshot's index could not be made private (mode 0600) on the server".into());
    }
    // the proofs are kept before the snapshot shows: a complete snapshot
    // made here always has them
    // the index beside them: the next run reads it instead of downloading it
    let kept = Place::of(cfg, name, &time).and_then(|p| {
        p.store(&proof::proofs(&keys, &scanned))
            .and_then(|()| p.store_index(&text))
            .map_err(|e| format!("{}: {e}", crate::escape::path(p.path())).into())
    });
    if let Err(m) = kept {
        notes.push(format!(
            "the snapshot's proofs could not be kept ({m}): backup verify will only compare SHA-256"
        ));
    }
    let fin = format!("{name}/{time}");
    if !ok(c.call("RENAM", format!("{work} | {fin}").as_bytes())?) {
        return Err(format!("{} could not be renamed into place", shown(work.as_bytes())).into());
    }
    let files = entries.iter().filter(|e| e.kind == b'f').count();
    Ok(Made {
        snapshot: fin,
        files,
        counts: Counts::of(&entries, &before),
        notes,
    })
}

/// Opens the snapshot's part `work` of the backup `name`, private to the
/// session's user, with its `tree/` and no index: an interrupted run's
/// part (one of `parts`) taken over, what it holds not sent again, else a
/// new one. The steps and the previous index's SHA-256 (`prev_index`, its
/// answer returned) go in one round trip, not five.
fn open_part(
    c: &mut Client,
    name: &str,
    parts: &[String],
    work: &str,
    prev_index: Option<&str>,
) -> Result<Option<Vec<u8>>, Failure> {
    let part = parts.iter().find(|p| p.starts_with(PART));
    let first = match part {
        // an older tf's part may be open to others: private before use
        Some(p) => vec![format!("RENAM {name}/{p} | {work}"), format!("CHMOD {work} 700")],
        None => vec![format!("{} {work}", tfp_wire::backup::PRIVATE_DIR)],
    };
    let taken = first.len() - 1;
    let steps: Vec<Vec<u8>> = first
        .into_iter()
        .chain([format!("MKDIR {work}/tree"), format!("DEL {work}/index")])
        .chain(prev_index.iter().map(|i| format!("SHA256 {i}")))
        .map(String::into_bytes)
        .collect();
    let lines: Vec<&[u8]> = steps.iter().map(Vec::as_slice).collect();
    let answers = pipelined_lines(c, &lines, "", &[])?;
    if answers.iter().take(taken + 1).filter(|a| ok_ref(a)).count() != taken + 1 {
        if answers.first().is_some_and(ok_ref) && part.is_some() {
            return Err(format!(
                "{} (an earlier run's part) could not be made private to you; remove it and run again",
                shown(work.as_bytes())
            )
            .into());
        }
        // a part that could not be taken over (gone meanwhile), or a server
        // without TFDPRIVDIR: a new one
        if !make_private(c, work)? {
            return Err(format!("{} could not be made on the server", shown(work.as_bytes())).into());
        }
        c.call("MKDIR", format!("{work}/tree").as_bytes())?;
    }
    Ok(match answers.get(taken + 3) {
        Some(Status::Ok(h)) => Some(h.clone()),
        _ => None,
    })
}

/// Writes the snapshot's index, compressed ([`index::stored`]), at
/// `work/index` by the engine's route for its bytes.
fn put_index(c: &mut Client, cfg: &ClientConfig, work: &str, text: &[u8]) -> Result<(), Failure> {
    let at = format!("{work}/index");
    let (done, total) = (
        std::sync::atomic::AtomicU64::new(0),
        std::sync::atomic::AtomicU64::new(0),
    );
    let progress = crate::engine::upload::Progress {
        done: &done,
        total: &total,
    };
    crate::engine::memory::put(c, cfg, text, at.as_bytes(), true, &progress).map_err(|f| Failure::Session(*f.error))?;
    Ok(())
}

/// Makes the directory `name` and its parents on the server, `name`
/// itself private to the session's user ([`make_private`]).
fn make_name(c: &mut Client, name: &str) -> Result<(), Error> {
    let parts: Vec<&str> = name.split('/').filter(|p| !p.is_empty()).collect();
    let mut at = String::new();
    for (i, part) in parts.iter().enumerate() {
        at = if at.is_empty() {
            part.to_string()
        } else {
            format!("{at}/{part}")
        };
        if i + 1 == parts.len() {
            make_private(c, &at)?;
        } else {
            c.call("MKDIR", at.as_bytes())?;
        }
    }
    Ok(())
}

/// Makes the directory `path` private to the session's user (mode 0700):
/// by TFDPRIVDIR, private from the moment it exists; a server without it
/// gets MKDIR, then CHMOD. False when it could not be made so.
fn make_private(c: &mut Client, path: &str) -> Result<bool, Error> {
    match c.call(tfp_wire::backup::PRIVATE_DIR, path.as_bytes())? {
        Status::Unknown => {
            Ok(ok(c.call("MKDIR", path.as_bytes())?) && ok(c.call("CHMOD", format!("{path} 700").as_bytes())?))
        }
        st => Ok(ok(st)),
    }
}

/// The index of the snapshot `prev` of `name`: the copy this machine kept
/// when it made it, when the server's SHA-256 of its own (`theirs`, in hex,
/// asked with the part's steps) is the copy's (not the index's bytes:
/// 31,000 files' index is 1.5 MB compressed), else read from the server.
fn previous_index(
    c: &mut Client,
    cfg: &ClientConfig,
    name: &str,
    prev: &str,
    theirs: Option<&[u8]>,
) -> Result<Vec<Entry>, Sentence> {
    let path = format!("{name}/{prev}/index");
    let kept = Place::of(cfg, name, prev).ok().and_then(|p| p.load_index());
    if let (Some(text), Some(theirs)) = (kept, theirs) {
        use sha2::{Digest, Sha256};
        let ours = tfp_wire::sha256_text(&Sha256::digest(&text).into());
        if let (true, Some(entries)) = (theirs == ours.as_slice(), index::parse(&text)) {
            return Ok(entries);
        }
    }
    read_index(c, &path)
}

/// What the snapshot `prev` of `name` leaves the next one of its proofs
/// ([`proof::Carried`]): None (new keys, every file read) where it kept
/// none, too few keys are unspent, or the name's ledger of spent keys
/// cannot be read (a key it might list is never carried).
fn carried(cfg: &ClientConfig, name: &str, prev: &str) -> Option<proof::Carried> {
    let spent = proof::spent(cfg, name).ok()?;
    let proofs = Place::of(cfg, name, prev).ok()?.load().ok()??;
    proof::Carried::of(&proofs, &spent)
}

/// When the run that made the snapshot `name` started (seconds since the
/// epoch), read back from its name ([`now_name`]).
fn started(name: &str) -> Option<i64> {
    let (date, time) = name.split_once('T')?;
    let (h, mi, sec) = (time.get(..2)?, time.get(2..4)?, time.get(4..6)?);
    tfp_wire::date::parse_utc(&format!("{date} {h}:{mi}:{sec}"))
}

/// A UTC time as a snapshot's name: `2026-11-28T061500.123Z`.
fn now_name() -> String {
    let d = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    let s = d.as_secs() as i64;
    let (y, m, day) = tfp_wire::date::civil_from_days(s.div_euclid(86400));
    let t = s.rem_euclid(86400);
    format!(
        "{y:04}-{m:02}-{day:02}T{:02}{:02}{:02}.{:03}Z",
        t / 3600,
        t / 60 % 60,
        t % 60,
        d.subsec_millis()
    )
}

fn ok(st: Status) -> bool {
    ok_ref(&st)
}

fn ok_ref(st: &Status) -> bool {
    matches!(st, Status::Ok(_))
}

/// Links each file of `now` that `old` has (unchanged, or changed in its data
/// alone: the base of its delta) from `from` into `to`,
/// making the directories they go into (a link that cannot be made leaves the
/// file to the mirror, which sends it): by TFDLINKS ([`links_many`]), else
/// pipelined ([`pipelined`]): the directories first, parents before
/// children (the server takes them in order), then the links, a round trip
/// a window, not one a command (5,300 directories one by one took over 30 s
/// at 10 ms).
fn link_unchanged(c: &mut Client, from: &str, to: &str, old: &[Entry], now: &[Entry]) -> Result<(), Error> {
    let old: std::collections::HashMap<&[u8], &Entry> = old.iter().map(|e| (&e.path[..], e)).collect();
    let under = |top: &str, path: &[u8]| [top.as_bytes(), b"/", path].concat();
    // a changed file is linked too, as the base its delta is made against:
    // the mirror then replaces that name with a new file (the server never
    // writes into a file it replaces), so the older snapshot keeps its own.
    // Only where mode and owners are the same and the mirror cannot find
    // the data the same (the size differs, or the mtime by two seconds or
    // more; a second apart it compares contents): it sets attributes in
    // place on files whose data it found the same, which would reach the
    // older snapshot through the link
    let base = |o: &Entry, e: &Entry| {
        let secs = |ns: i128| ns.div_euclid(1_000_000_000);
        o.kind == b'f'
            && o.mode == e.mode
            && (o.uid, o.gid) == (e.uid, e.gid)
            && (o.size != e.size || (secs(o.mtime_ns) - secs(e.mtime_ns)).abs() >= 2)
    };
    // the quick check says unchanged and so do the contents (a file whose
    // bytes changed behind it, read for new keys, goes again, or the index
    // would describe bytes the server does not hold)
    let same = |o: &Entry, e: &Entry| o.same_quick(e) && o.sha256 == e.sha256;
    let linked: Vec<&Entry> = now
        .iter()
        .filter(|e| e.kind == b'f' && old.get(&e.path[..]).is_some_and(|o| same(o, e) || base(o, e)))
        .collect();
    if links_many(c, from, to, &linked)? {
        return Ok(());
    }
    // only the directories a link goes into (the mirror makes the others in
    // its batches); a parent's path is a prefix of its children's: it sorts
    // first
    let mut dirs = std::collections::BTreeSet::new();
    for e in &linked {
        let mut p = &e.path[..];
        while let Some(i) = p.iter().rposition(|&b| b == b'/') {
            p = &p[..i];
            if !dirs.insert(p) {
                break;
            }
        }
    }
    let dirs: Vec<Vec<u8>> = dirs.into_iter().map(|d| under(to, d)).collect();
    // an existing directory (a run taken over) answers FAILED: fine
    pipelined(c, "MKDIR", &dirs)?;
    let links: Vec<Vec<u8>> = linked
        .into_iter()
        .filter_map(|e| {
            Link {
                existing: under(from, &e.path),
                new: under(to, &e.path),
            }
            .encode()
        })
        .collect();
    pipelined_statuses(c, tfp_wire::link::COMMAND, &links)?;
    Ok(())
}

/// Links `linked` from `from` into `to` by TFDLINKS, the directories made
/// by the server: a few commands, all sent at once, where 31,000 TFDLINKs
/// and 5,300 MKDIRs were 52 windows of answers. False (nothing done) where
/// the server does not have it. A path the command cannot carry is left to
/// the mirror, as a link refused is.
fn links_many(c: &mut Client, from: &str, to: &str, linked: &[&Entry]) -> Result<bool, Error> {
    let empty = || Links {
        from: from.as_bytes().to_vec(),
        to: to.as_bytes().to_vec(),
        paths: Vec::new(),
    };
    let (mut args, mut now) = (Vec::new(), empty());
    let mut len = from.len() + 1 + to.len();
    for e in linked.iter().filter(|e| link::relative_fits(&e.path)) {
        if now.paths.len() == link::MAX_PATHS || Links::grown(len, &e.path) > link::MAX_ARG {
            args.extend(std::mem::replace(&mut now, empty()).encode());
            len = from.len() + 1 + to.len();
        }
        len = Links::grown(len, &e.path);
        now.paths.push(e.path.clone());
    }
    if !now.paths.is_empty() {
        args.extend(now.encode());
    }
    let answers = pipelined(c, link::LINKS, &args)?;
    Ok(!answers.iter().any(|a| matches!(a, Status::Unknown)))
}

/// One complete snapshot of a backup, as its index tells it.
#[derive(Debug)]
pub struct Listed {
    /// Its time, the name below NAME.
    pub snapshot: String,
    /// (files, bytes), or why its index could not be read.
    pub held: Result<(usize, u64), Sentence>,
    /// What it adds to the server's disk: the bytes of its files that are
    /// not the snapshot before it's (by the quick check its run linked
    /// them by: those are links, no space); all its bytes for the first.
    /// None when its index or the one before could not be read.
    pub added: Option<u64>,
}

/// `tf backup list NAME`: each complete snapshot, oldest first.
pub fn list(c: &mut Client, name: &str) -> Result<Vec<Listed>, Error> {
    let (done, _) = snapshots(c, name)?;
    let mut out = Vec::with_capacity(done.len());
    // the index before, by path: None when it could not be read
    let mut before: Option<std::collections::HashMap<Vec<u8>, Entry>> = Some(Default::default());
    for s in done {
        let index = read_index(c, &format!("{name}/{s}/index"));
        let added = match (&index, &before) {
            (Ok(e), Some(prev)) => Some(
                e.iter()
                    .filter(|e| e.kind == b'f' && !prev.get(&e.path).is_some_and(|o| o.same_quick(e)))
                    .map(|e| e.size)
                    .sum(),
            ),
            _ => None,
        };
        let held = index.map(|e| {
            let files: Vec<_> = e.iter().filter(|e| e.kind == b'f').collect();
            let held = (files.len(), files.iter().map(|e| e.size).sum());
            before = Some(e.into_iter().map(|e| (e.path.clone(), e)).collect());
            held
        });
        if held.is_err() {
            before = None;
        }
        out.push(Listed {
            snapshot: s,
            held,
            added,
        });
    }
    Ok(out)
}

/// What a restore did not bring back as the snapshot holds it.
#[derive(Debug, Default)]
pub struct Restored {
    /// The snapshot restored from.
    pub snapshot: String,
    /// Each path asked that the snapshot does not hold, one sentence each.
    pub missing: Vec<String>,
    /// The copies that did not come whole (the events told why).
    pub failed: usize,
    /// The restored paths that do not match the snapshot's index.
    pub mismatched: Vec<String>,
    /// The files the snapshot holds below the paths asked, and their bytes.
    pub files: usize,
    /// Their bytes.
    pub bytes: u64,
}

impl Restored {
    /// Everything asked came back as the index says.
    pub fn ok(&self) -> bool {
        self.missing.is_empty() && self.failed == 0 && self.mismatched.is_empty()
    }
}

/// `tf restore NAME[@SNAP] [PATH...] DEST`: the snapshot (the latest when
/// none is named), or `paths` of it, into `dest` with `-a`'s fidelity,
/// each restored entry checked against the snapshot's index.
pub fn restore(
    c: &mut Client,
    cfg: &ClientConfig,
    what: &str,
    paths: &[String],
    dest: &str,
    ev: &dyn Events,
) -> Result<Restored, Failure> {
    let (name, snap) = split_at(what);
    let (done, _) = snapshots(c, name)?;
    let Some(snap) = snap.or_else(|| done.last().cloned()) else {
        return Err(format!("{} has no complete snapshot", shown(name.as_bytes())).into());
    };
    if !done.contains(&snap) {
        return Err(format!("{} has no snapshot {}", shown(name.as_bytes()), shown(snap.as_bytes())).into());
    }
    let index = read_index(c, &format!("{name}/{snap}/index")).map_err(Failure::Said)?;
    let tree = format!("{name}/{snap}/tree");
    let wanted: Vec<String> = if paths.is_empty() {
        vec![String::new()]
    } else {
        paths.iter().map(|p| p.trim_matches('/').to_string()).collect()
    };
    let mut out = Restored {
        snapshot: snap.clone(),
        ..Restored::default()
    };
    for p in &wanted {
        let Some(e) = index
            .iter()
            .find(|e| e.path == p.as_bytes())
            .or(p.is_empty().then_some(&ROOT))
        else {
            out.missing.push(format!(
                "{} is not in snapshot {}",
                shown(p.as_bytes()),
                shown(snap.as_bytes())
            ));
            continue;
        };
        let (from, to) = (join(&tree, p), join(dest, p));
        let whole = if e.kind == b'd' {
            std::fs::create_dir_all(&to).map_err(Error::Local)?;
            mirror::mirror(c, cfg, &format!("{from}/"), &to, &Options::default(), ev)?
                .report
                .ok()
        } else {
            if let Some(parent) = Path::new(&to).parent() {
                std::fs::create_dir_all(parent).map_err(Error::Local)?;
            }
            let whole = crate::tree::copy_down::get(c, cfg, &[from], &to, &archive(), ev)?.ok();
            if whole && e.kind == b'f' {
                stamp(Path::new(&to), e.mtime_ns).map_err(Error::Local)?;
            }
            whole
        };
        out.failed += usize::from(!whole);
    }
    let below = |e: &Entry| {
        wanted.iter().any(|p| {
            p.is_empty()
                || e.path == p.as_bytes()
                || (e.path.starts_with(p.as_bytes()) && e.path.get(p.len()) == Some(&b'/'))
        })
    };
    for e in index.iter().filter(|e| e.kind == b'f' && below(e)) {
        out.files += 1;
        out.bytes += e.size;
    }
    out.mismatched = index::check(Path::new(dest), &index, &wanted);
    Ok(out)
}

/// Gives the restored file at `to` the index's mtime, to the nanosecond:
/// a single file's download knows the server's to the second only (its
/// FSTAT), where a tree's listing carries nanoseconds.
fn stamp(to: &Path, mtime_ns: i128) -> std::io::Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    let f = std::fs::File::options()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW)
        .open(to)?;
    let sec = i64::try_from(mtime_ns.div_euclid(1_000_000_000)).ok();
    let nsec = mtime_ns.rem_euclid(1_000_000_000) as i64;
    match sec.and_then(|sec| tfp_wire::entry::Mtime::of(sec, nsec)) {
        Some(t) => f.set_modified(crate::engine::mtime::system_time(t)),
        None => Ok(()),
    }
}

/// The whole snapshot: a directory at the root.
static ROOT: Entry = Entry {
    kind: b'd',
    size: 0,
    mode: 0,
    uid: 0,
    gid: 0,
    mtime_ns: 0,
    sha256: None,
    path: Vec::new(),
};

fn archive() -> crate::tree::options::Options {
    crate::tree::options::Options {
        keeps: Some(crate::tree::sync::Keeps::archive()),
        ..Default::default()
    }
}

fn join(a: &str, p: &str) -> String {
    if p.is_empty() {
        a.to_string()
    } else {
        format!("{}/{p}", a.trim_end_matches('/'))
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_snapshots_name_reads_back_as_its_start() {
        let name = super::now_name();
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs() as i64;
        let t = super::started(&name).unwrap();
        assert!((now - 2..=now).contains(&t), "{name}: {t} {now}");
        assert_eq!(super::started("2026-11-28T061500.123Z"), Some(1_795_846_500));
        assert_eq!(super::started(".part-x"), None);
    }
}
