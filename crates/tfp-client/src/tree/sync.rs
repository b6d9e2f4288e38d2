//! What `tf mirror` needs beyond `get -r`/`put -r`: both sides described the
//! same way (kind, size, mtime by relative path), the plan that says what to
//! move, make and remove, many small commands on one session without waiting
//! for each answer, and removal below a target that follows no symlink.
//!
//! The plan is pure: it compares two descriptions, so its rules are tested
//! without a server.

use super::names;
use crate::remote::listing::{self, Kind};
// where they always were named: they live in pipeline.rs, below the
// listing that pipelines its FSTATs
use super::{MAX_DEPTH, MAX_ENTRIES};
use crate::{Client, Error};
use std::collections::BTreeMap;
use std::ffi::CString;
use std::io;
use std::os::fd::{AsFd, BorrowedFd};
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use tfd_sys as sys;
use tfp_wire::entry::Mtime;
use tfp_wire::fstat::FileType;
use tfp_wire::Status;

/// One entry of either side.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Meta {
    /// What it is (a symlink or a special file is [`Kind::Other`]).
    pub kind: Kind,
    /// Its size in bytes (files only; 0 otherwise).
    pub size: u64,
    /// Seconds since the epoch.
    pub mtime: i64,
    /// A local entry's ctime (seconds): when tf last set its mtime or
    /// renamed it into place, i.e. when the last transfer ended. 0 for a
    /// remote entry (no command says).
    pub changed: i64,
    /// What an archive copy keeps beyond these, where the side says it (a
    /// local scan, a TFDENTRIES listing).
    pub facts: Option<Facts>,
}

/// An entry's facts an archive copy keeps (`rsync -a`'s).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Facts {
    /// Exactly what it is ([`Kind::Other`] is a link, FIFO, socket, device).
    pub ft: FileType,
    /// Permission, set-id and sticky bits.
    pub mode: u32,
    /// The mtime's nanoseconds ([`Meta::mtime`] its seconds).
    pub nsec: u32,
    /// A link's target.
    pub target: Option<Vec<u8>>,
    /// Owner and group, numeric.
    pub owner: Option<(u32, u32)>,
    /// A device's number.
    pub rdev: Option<u64>,
    /// A regular file's device and inode where it has more than one name
    /// (a local scan; a listing that says them): `-H` links the names that
    /// share one.
    pub inode: Option<(u64, u64)>,
}

impl Meta {
    /// The mtime to the nanosecond where known.
    pub fn mtime_ns(&self) -> Mtime {
        Mtime {
            sec: self.mtime,
            nsec: self.facts.as_ref().map_or(0, |f| f.nsec),
        }
    }
}

/// What a plan keeps beyond files and directories (`-a`, `-l`, `-D`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Keeps {
    /// Modes and times of files and directories, mode-only changes
    /// (`-p`, `-t`).
    pub attrs: bool,
    /// Symlinks as symlinks (`-l`).
    pub links: bool,
    /// FIFOs and sockets (`--specials`).
    pub specials: bool,
    /// `--safe-links`: a link whose target is absolute or climbs out of
    /// the tree is left out.
    pub safe_links: bool,
    /// Owners and groups, numeric (`-o -g`): where the receiving side may
    /// give them (root).
    pub owners: bool,
    /// Character and block devices (`--devices`): where both sides are
    /// root.
    pub devices: bool,
    /// Hard links (`-H`): the names of one file arrive as names of one
    /// file (`mirror::hardlinks`).
    pub hardlinks: bool,
}

impl Keeps {
    /// What `rsync -a` keeps of these.
    pub fn archive() -> Keeps {
        Keeps {
            attrs: true,
            links: true,
            specials: true,
            safe_links: false,
            owners: false,
            devices: false,
            hardlinks: false,
        }
    }

    /// `-a` (rsync's -rlptgoD) of a tree copy `upload`ing or not: owners
    /// and devices where the receiving side may give them (down: this
    /// process is root; up: asked of the server before anything moves, a
    /// session tfd serves as root alone says yes). Owners are asked either
    /// way: the run leaves them out where it may not give them, and says
    /// so with `-v`.
    pub fn archive_for(upload: bool) -> Keeps {
        let root_here = upload || sys::geteuid() == 0;
        Keeps {
            owners: true,
            devices: root_here,
            ..Keeps::archive()
        }
    }
}

/// Whether two whole-second times are too close to tell an edit made in the
/// same second apart (git's "racy" entries): such files are compared by
/// content instead. `later` (when the copy was made) may be up to
/// [`SKEW`] before `earlier` (the source's mtime), as two machines' clocks
/// may be; a copy made long before its source's mtime (a file dated in the
/// future) is not racy: an edit after it gives the source a new mtime, so
/// such a file is not hashed on both ends at every run.
pub(crate) fn racy(later: i64, earlier: i64) -> bool {
    later <= earlier.saturating_add(1) && later >= earlier.saturating_sub(SKEW)
}

/// How far apart two machines' clocks may be for [`racy`], in seconds.
const SKEW: i64 = 60;

/// A side of a mirror: every entry below its root by relative path, parents
/// before children (byte order puts `a` before `a/b`).
pub type Side = BTreeMap<Vec<u8>, Meta>;

/// Local entries that could not be read, and why.
pub type Unread = Vec<(Vec<u8>, String)>;

/// The local side: `root` walked without following any symlink (a link is an
/// entry of kind [`Kind::Other`], never entered), or with `follow` (`-L`)
/// each link taken as what it names ([`super::walk::followed`]). Entries
/// that could not be read come back with why; a walk over [`MAX_ENTRIES`]
/// is an error.
pub fn scan(root: &Path, follow: bool) -> io::Result<(Side, Unread)> {
    let mut side = Side::new();
    let mut errors = Vec::new();
    let mut stack: Vec<(Vec<u8>, usize, Vec<super::walk::Ident>)> =
        vec![(Vec::new(), 0, vec![super::walk::ident(root)?])];
    while let Some((rel, depth, above)) = stack.pop() {
        let dir = root.join(std::ffi::OsStr::from_bytes(&rel));
        let rd = match std::fs::read_dir(&dir) {
            Ok(r) => r,
            Err(e) if rel.is_empty() => return Err(e),
            Err(e) => {
                errors.push((rel, format!("cannot read the directory: {e}")));
                continue;
            }
        };
        for ent in rd {
            let ent = match ent {
                Ok(e) => e,
                Err(e) => {
                    errors.push((rel.clone(), e.to_string()));
                    continue;
                }
            };
            let name = ent.file_name();
            let r = if rel.is_empty() {
                name.as_bytes().to_vec()
            } else {
                [&rel[..], b"/", name.as_bytes()].concat()
            };
            let m = match std::fs::symlink_metadata(ent.path()) {
                Ok(m) if follow && m.file_type().is_symlink() => match super::walk::followed(&ent.path(), &above) {
                    Ok(m) => m,
                    Err(why) => {
                        errors.push((r, why));
                        continue;
                    }
                },
                Ok(m) => m,
                Err(e) => {
                    errors.push((r, e.to_string()));
                    continue;
                }
            };
            let ft = m.file_type();
            let kind = if ft.is_dir() {
                Kind::Dir
            } else if ft.is_file() {
                Kind::File
            } else {
                Kind::Other
            };
            if kind == Kind::Dir {
                if depth + 1 >= MAX_DEPTH {
                    errors.push((r, format!("deeper than {MAX_DEPTH} directories")));
                    continue;
                }
                let mut above = above.clone();
                above.push((m.dev(), m.ino()));
                stack.push((r.clone(), depth + 1, above));
            }
            let ft = FileType::from_mode(m.mode());
            let target = if ft == FileType::Symlink {
                match std::fs::read_link(ent.path()) {
                    Ok(t) => Some(t.into_os_string().into_vec()),
                    Err(e) => {
                        errors.push((r, e.to_string()));
                        continue;
                    }
                }
            } else {
                None
            };
            side.insert(
                r,
                Meta {
                    kind,
                    size: if kind == Kind::File { m.len() } else { 0 },
                    mtime: m.mtime(),
                    changed: m.ctime(),
                    facts: Some(Facts {
                        ft,
                        mode: m.mode() & 0o7777,
                        nsec: u32::try_from(m.mtime_nsec()).unwrap_or(0),
                        target,
                        owner: Some((m.uid(), m.gid())),
                        rdev: matches!(ft, FileType::CharDevice | FileType::BlockDevice).then(|| m.rdev()),
                        inode: (kind == Kind::File && m.nlink() > 1).then(|| (m.dev(), m.ino())),
                    }),
                },
            );
            if side.len() > MAX_ENTRIES {
                return Err(io::Error::other(format!("more than {MAX_ENTRIES} entries")));
            }
        }
    }
    Ok((side, errors))
}

/// How two files of the same size are judged the same.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rule {
    /// A download: the local mtime must be the server's (tf sets it so).
    SameMtime,
    /// An upload: no command sets a remote mtime, so an upload stamps the
    /// remote file with its arrival time; it is up to date when that is not
    /// older than the local file's mtime.
    RemoteNotOlder,
    /// An upload to a server with batches (rsync's quick check): each upload
    /// stamps the remote file with the local mtime, so a file is up to date
    /// when the two are the same second, and an edit that left an older
    /// mtime (`touch -d`, `cp -p` of an older version) is sent. A file sent
    /// within a second of its mtime was stamped a second earlier (an edit
    /// later in that second keeps the mtime): it is compared by SHA-256.
    SameMtimeUp,
    /// `--checksum`: the size alone here; the SHA-256s are compared after.
    Checksum,
}

/// What a mirror does, in order: remove what is in the way, make
/// directories, move files.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Plan {
    /// Destination entries to remove before anything else: extras (with
    /// `--delete`) and entries of the wrong kind in the way, top-most only
    /// (removing a directory removes what is below it).
    pub remove: Vec<Remove>,
    /// Directories to make, parents first.
    pub mkdir: Vec<Vec<u8>>,
    /// Files to move.
    pub copy: Vec<Vec<u8>>,
    /// Files of the same size whose contents only a checksum can judge
    /// ([`Rule::Checksum`]).
    pub verify: Vec<Vec<u8>>,
    /// Files judged the same.
    pub unchanged: usize,
    /// Those of [`Plan::verify`] their SHA-256s found the same.
    pub same_by_sum: Vec<Vec<u8>>,
    /// Source entries that cannot be mirrored, and why (a directory in the way
    /// of a file without `--delete`).
    pub blocked: Vec<(Vec<u8>, String)>,
    /// Source entries skipped: neither a file nor a directory, nor an entry
    /// [`Keeps`] keeps.
    pub skipped: Vec<Vec<u8>>,
    /// Links, FIFOs and sockets to make ([`Keeps`]), in place of what is
    /// there.
    pub nodes: Vec<Vec<u8>>,
    /// Entries the same but for their mode or mtime: those set alone.
    pub attrs: Vec<Vec<u8>>,
    /// Directories whose mode and mtime are set once everything below them
    /// is done, deepest first: those that differ, those made, and those
    /// whose contents change (which moves their mtime).
    pub dirs: Vec<Vec<u8>>,
}

/// One destination entry to remove.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Remove {
    /// Its path below the destination.
    pub rel: Vec<u8>,
    /// What it is there.
    pub kind: Kind,
    /// An extra (`--delete`), rather than an entry in the way of the source's.
    pub extra: bool,
}

impl Plan {
    /// How many removals are extras.
    pub fn extras(&self) -> usize {
        self.remove.iter().filter(|r| r.extra).count()
    }
}

/// Whether `p` lies below one of `dirs`.
fn below(p: &[u8], dirs: &[Vec<u8>]) -> bool {
    dirs.iter()
        .any(|d| p.len() > d.len() && p.starts_with(d) && p[d.len()] == b'/')
}

/// Destination directories a `--delete` keeps though the source lacks them
/// or has a file there: they hold entries the filter leaves out
/// ([`super::filter::Filter::holding`]), which only `--delete-excluded`
/// removes.
pub type Held = std::collections::BTreeSet<Vec<u8>>;

/// Compares `src` with `dst`. With `delete`, what `dst` holds and `src` does
/// not is removed, as is a directory in the way of a file; a file or a link in
/// the way of a directory is always replaced (as a file replaces a file).
pub fn plan(src: &Side, dst: &Side, rule: Rule, delete: bool, keeps: Keeps) -> Plan {
    plan_keeping(src, dst, rule, (delete, &Held::new()), keeps)
}

/// Why a source entry cannot land: a directory is in its way, which
/// `--delete` would have removed unless it holds what the filter leaves out.
fn in_the_way(held: bool, what: &str) -> String {
    if held {
        format!("a directory holding excluded entries is in the way of this {what} (--delete-excluded removes it)")
    } else {
        format!("a directory is in the way of this {what} (--delete removes it)")
    }
}

/// [`plan`], where `delete` keeps the directories of `held`, and so what
/// the filter left out of `dst` below them; whatever else they hold goes.
pub fn plan_keeping(src: &Side, dst: &Side, rule: Rule, (delete, held): (bool, &Held), keeps: Keeps) -> Plan {
    let mut p = Plan::default();
    // what goes away, top-most entries only
    let mut gone: Vec<Vec<u8>> = Vec::new();
    for (rel, d) in dst {
        if below(rel, &gone) {
            continue;
        }
        let in_way = match src.get(rel) {
            None => {
                if delete && !held.contains(rel) {
                    p.remove.push(Remove {
                        rel: rel.clone(),
                        kind: d.kind,
                        extra: true,
                    });
                    gone.push(rel.clone());
                }
                continue;
            }
            Some(s) => match (s.kind, d.kind) {
                (Kind::Dir, Kind::Dir) => false,
                // a file or a link where a directory goes
                (Kind::Dir, _) => true,
                // a whole directory where a file goes: only when asked,
                // and never one holding what the filter leaves out
                (Kind::File, Kind::Dir) => delete && !held.contains(rel),
                (Kind::Other, Kind::Dir) => delete && made(s, keeps) && !held.contains(rel),
                _ => false,
            },
        };
        if in_way {
            p.remove.push(Remove {
                rel: rel.clone(),
                kind: d.kind,
                extra: false,
            });
            gone.push(rel.clone());
        }
    }
    let mut blocked_dirs: Vec<Vec<u8>> = Vec::new();
    for (rel, s) in src {
        if below(rel, &blocked_dirs) {
            continue;
        }
        let d = dst.get(rel).filter(|_| !gone.contains(rel));
        match s.kind {
            Kind::Other if !made(s, keeps) => p.skipped.push(rel.clone()),
            Kind::Other if keeps.safe_links && s.facts.as_ref().is_some_and(|f| leaves(rel, f.target.as_deref())) => {
                p.skipped.push(rel.clone())
            }
            Kind::Other => match d {
                Some(d) if d.kind == Kind::Dir => {
                    p.blocked.push((rel.clone(), in_the_way(held.contains(rel), "entry")));
                    blocked_dirs.push(rel.clone());
                }
                Some(d) if same_node(s, d) => {
                    p.unchanged += 1;
                    if keeps.attrs && attrs_differ(s, d, keeps) {
                        p.attrs.push(rel.clone());
                    }
                }
                _ => p.nodes.push(rel.clone()),
            },
            Kind::Dir => {
                if !matches!(d, Some(d) if d.kind == Kind::Dir) {
                    p.mkdir.push(rel.clone());
                }
            }
            Kind::File => match d {
                Some(d) if d.kind == Kind::Dir => {
                    p.blocked.push((rel.clone(), in_the_way(held.contains(rel), "file")));
                    blocked_dirs.push(rel.clone());
                }
                Some(d) if d.kind == Kind::File && d.size == s.size => match rule {
                    // a download stamps the local file with the server's
                    // mtime; one landed within a second of that mtime may
                    // predate an edit made in the same second
                    Rule::SameMtime if d.mtime == s.mtime && racy(d.changed, s.mtime) => p.verify.push(rel.clone()),
                    Rule::SameMtime if d.mtime == s.mtime && finer_differs(s, d, keeps) => p.copy.push(rel.clone()),
                    Rule::SameMtime if d.mtime == s.mtime => p.unchanged += 1,
                    // an upload's arrival second equal to (or just after) the
                    // local mtime cannot tell an edit in that second
                    Rule::RemoteNotOlder if d.mtime >= s.mtime && racy(d.mtime, s.mtime) => p.verify.push(rel.clone()),
                    Rule::RemoteNotOlder if d.mtime >= s.mtime => p.unchanged += 1,
                    Rule::SameMtimeUp if d.mtime == s.mtime && finer_differs(s, d, keeps) => p.copy.push(rel.clone()),
                    // an archive copy keeps the mtime as it is: one made in
                    // the second of that mtime (its ctime says when) may
                    // predate an edit made in that second
                    Rule::SameMtimeUp if d.mtime == s.mtime && d.changed != 0 && racy(d.changed, s.mtime) => {
                        p.verify.push(rel.clone())
                    }
                    Rule::SameMtimeUp if d.mtime == s.mtime => p.unchanged += 1,
                    Rule::SameMtimeUp if d.mtime == s.mtime.saturating_sub(1) => p.verify.push(rel.clone()),
                    Rule::Checksum => p.verify.push(rel.clone()),
                    _ => p.copy.push(rel.clone()),
                },
                _ => p.copy.push(rel.clone()),
            },
        }
    }
    if keeps.attrs {
        attrs_of_the_same(src, dst, &mut p, keeps);
        p.dirs = dirs_to_set(src, dst, &p, keeps);
    }
    p
}

/// Whether the link `rel` with `target` points out of the tree (rsync's
/// unsafe links): an absolute target, or `..` climbing above the tree's
/// root from the link's directory.
pub fn leaves(rel: &[u8], target: Option<&[u8]>) -> bool {
    let Some(t) = target else { return false };
    if t.starts_with(b"/") || t.is_empty() {
        return true;
    }
    let mut depth = rel.iter().filter(|&&b| b == b'/').count() as i64;
    for c in t.split(|&b| b == b'/') {
        match c {
            b"" | b"." => {}
            b".." => {
                depth -= 1;
                if depth < 0 {
                    return true;
                }
            }
            _ => depth += 1,
        }
    }
    false
}

/// Whether the link `rel` with `target` names, by its text alone, a
/// directory that holds it (`up -> ..`, `here -> .`, `d/x -> ../..`): a
/// loop for `-L` on a remote source, where no inode tells it. An absolute
/// target, or one that climbs above the tree's root and goes down again,
/// cannot be judged by its text (false: the round bound stops those).
pub fn names_its_ancestor(rel: &[u8], target: &[u8]) -> bool {
    if target.is_empty() || target.starts_with(b"/") {
        return false;
    }
    let own: Vec<&[u8]> = rel.split(|&b| b == b'/').filter(|c| !c.is_empty()).collect();
    let mut at = own[..own.len().saturating_sub(1)].to_vec();
    let mut above = false;
    for c in target.split(|&b| b == b'/') {
        match c {
            b"" | b"." => {}
            b".." => above |= at.pop().is_none(),
            _ if above => return false,
            _ => at.push(c),
        }
    }
    above || (at.len() < own.len() && own.starts_with(&at))
}

/// Whether the plan makes `s` (neither file nor directory) as what it is.
fn made(s: &Meta, keeps: Keeps) -> bool {
    match s.facts.as_ref().map(|f| f.ft) {
        Some(FileType::Symlink) => keeps.links,
        Some(FileType::Fifo | FileType::Socket) => keeps.specials,
        Some(FileType::CharDevice | FileType::BlockDevice) => keeps.devices,
        _ => false,
    }
}

/// Whether `d` is already what `s` would be made as: the same kind, a
/// link to the same target.
fn same_node(s: &Meta, d: &Meta) -> bool {
    match (&s.facts, &d.facts) {
        (Some(a), Some(b)) => a.ft == b.ft && a.target == b.target && a.rdev == b.rdev,
        _ => false,
    }
}

/// Whether two entries of the same second differ in their nanoseconds,
/// where both sides keep them (a side of whole seconds says 0).
fn finer_differs(s: &Meta, d: &Meta, keeps: Keeps) -> bool {
    let (a, b) = (s.mtime_ns().nsec, d.mtime_ns().nsec);
    keeps.attrs && a != 0 && b != 0 && a != b
}

/// Whether the mode or the mtime of two entries differ, where both are
/// known (a link's mode is no fact).
fn attrs_differ(s: &Meta, d: &Meta, keeps: Keeps) -> bool {
    let (Some(a), Some(b)) = (&s.facts, &d.facts) else {
        return false;
    };
    let mode = a.ft != FileType::Symlink && a.mode != b.mode;
    let owner = keeps.owners && a.owner.is_some() && a.owner != b.owner;
    mode || owner || s.mtime_ns() != d.mtime_ns()
}

/// The files judged the same (or left to the checksums) whose mode or
/// mtime differ: [`Plan::attrs`] (set again after a copy does no harm).
fn attrs_of_the_same(src: &Side, dst: &Side, p: &mut Plan, keeps: Keeps) {
    let moving: std::collections::BTreeSet<&Vec<u8>> = p.copy.iter().collect();
    for (rel, s) in src {
        if s.kind != Kind::File || moving.contains(rel) {
            continue;
        }
        if let Some(d) = dst.get(rel).filter(|d| d.kind == Kind::File) {
            if attrs_differ(s, d, keeps) {
                p.attrs.push(rel.clone());
            }
        }
    }
    p.attrs.sort();
}

/// [`Plan::dirs`]: the source's directories that differ or are made, and
/// the parents of every entry the plan changes, deepest first (the root,
/// empty, is the caller's).
fn dirs_to_set(src: &Side, dst: &Side, p: &Plan, keeps: Keeps) -> Vec<Vec<u8>> {
    let mut out = std::collections::BTreeSet::new();
    for (rel, s) in src.iter().filter(|(_, s)| s.kind == Kind::Dir) {
        if !dst
            .get(rel)
            .is_some_and(|d| d.kind == Kind::Dir && !attrs_differ(s, d, keeps))
        {
            out.insert(rel.clone());
        }
    }
    let changed = p
        .copy
        .iter()
        .chain(&p.nodes)
        .chain(&p.mkdir)
        .chain(p.remove.iter().map(|r| &r.rel));
    for rel in changed {
        if let Some(i) = rel.iter().rposition(|&b| b == b'/') {
            let parent = &rel[..i];
            if src.get(parent).is_some_and(|m| m.kind == Kind::Dir) {
                out.insert(parent.to_vec());
            }
        }
    }
    out.into_iter().rev().collect()
}

/// FSTAT of every path, pipelined. The outer error is the session's (it
/// failed, or an answer was no FSTAT record); each path's own outcome is its
/// [`listing::Stat`] or the [`Error::Refused`] the server gave for it, so one
/// missing file does not end the batch.
pub fn fstat_all(c: &mut Client, paths: &[Vec<u8>]) -> Result<Vec<Result<listing::Stat, Error>>, Error> {
    let answers = crate::remote::pipeline::pipelined(c, "FSTAT", paths)?;
    answers
        .into_iter()
        .map(|st| match &st {
            Status::Ok(d) => listing::parse_fstat(d)
                .map(Ok)
                .ok_or_else(|| Error::Protocol(format!("FSTAT answered {:?}", names::shown(d)))),
            _ => Ok(Err(Error::refused("FSTAT", st))),
        })
        .collect()
}

/// The SHA-256 of a local file in the document's text form (`0x` and hex),
/// to compare with a SHA256 answer.
pub fn local_sha256(path: &Path) -> io::Result<Vec<u8>> {
    use sha2::{Digest, Sha256};
    let mut f = std::fs::File::open(path)?;
    let mut h = Sha256::new();
    io::copy(&mut f, &mut h)?;
    Ok(tfp_wire::sha256_text(&h.finalize().into()).to_vec())
}

fn cstr(b: &[u8]) -> io::Result<CString> {
    CString::new(b).map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "a NUL in a name"))
}

/// Removes `rel` below the directory `root` (a file, a symlink itself, or a
/// directory with everything in it). Its parent is reached with no symlink
/// followed (RESOLVE_BENEATH and RESOLVE_NO_SYMLINKS) and the removal goes by
/// descriptors that follow none, so nothing outside `root` can be removed,
/// whatever was planted in it.
pub fn remove_below(root: BorrowedFd<'_>, rel: &[u8]) -> io::Result<()> {
    names::check(rel).map_err(|why| io::Error::new(io::ErrorKind::InvalidInput, why.to_string()))?;
    let (parent, name) = match rel.iter().rposition(|&b| b == b'/') {
        Some(i) => (&rel[..i], &rel[i + 1..]),
        None => (&b"."[..], rel),
    };
    let dir = sys::openat2_beneath_nolinks(root, &cstr(parent)?, libc::O_RDONLY | libc::O_DIRECTORY, 0)?;
    let name = cstr(name)?;
    let st = sys::fstatat(dir.as_fd(), &name, false)?;
    if st.st_mode & libc::S_IFMT != libc::S_IFDIR {
        return sys::unlinkat(dir.as_fd(), &name, false);
    }
    let mut budget = u64::MAX;
    let r = tfd_sys::dir::remove_tree(dir.as_fd(), &name, &|_, _, _| false, &mut budget);
    if r.kept > 0 {
        return Err(io::Error::other(format!("{} entries could not be removed", r.kept)));
    }
    Ok(())
}

#[cfg(test)]
mod tests;
