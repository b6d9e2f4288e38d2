//! The best-effort tree commands: XCOPY, XCPDIR, XDEL, XRMDIR (document, wire-notes
//! §3.12–3.14).
//!
//! Each command checks its source or starting directory and answers the
//! document's status for it; past that point every destination is best effort: a
//! locked, existing or failing one is skipped (logged at debug) and the reply is
//! still `OK`. What tfd does differently from the reference, on purpose:
//! - names and patterns match *whole trailing components* (`b` matches `x/b`, not
//!   `x/ab`), see [`walk::suffix_matches`];
//! - the walk never enters (or matches) a secure `*.sd` directory, never follows a
//!   symlink and never leaves the root: it moves by descriptors, and the actions
//!   come back to each match component by component without following symlinks;
//! - the matches are collected first, then acted on, so fresh copies are never
//!   walked, and XCPDIR never copies a tree into itself;
//! - one `walk_limit` budget covers the walk and the actions, so a huge tree
//!   cannot stall the session (what is left over is logged as a warning);
//! - XCOPY and XCPDIR make real copies, like COPY and CPDIR here (the reference
//!   made hard links), counted against the session's quota like COPY and CPDIR:
//!   the copies stop at the first one that would not fit (logged).

use super::{denied_or, quota, CmdResult, DeniedOr, OrFailed, Reply};
use crate::fsys::{cname, walk, FsError, IntoFs, Kind, RelPath, MAX_NAME};
use crate::session::Session;
use log::{debug, info, warn};
use std::ffi::{CStr, CString};
use std::io::{Seek, SeekFrom};
use std::os::fd::{AsFd, BorrowedFd};
use tfd_sys as sys;
use tfp_wire::{command, Failed};

/// The three arguments of XCOPY and XCPDIR: new name, source, pattern.
type XArgs<'a> = (&'a [u8], &'a [u8], &'a [u8]);

/// `<newname> <src> | <pattern>` (XCOPY, XCPDIR): the name runs to the first
/// space, the source to the first ` | `; all three must be non-empty.
fn split_x(arg: &[u8]) -> Result<XArgs<'_>, Failed> {
    let (name, rest) = command::split_space(arg).ok_or(Failed::MissingParameter)?;
    let (src, pattern) = command::split_pipe(rest).ok_or(Failed::MissingParameter)?;
    if name.is_empty() || src.is_empty() || pattern.is_empty() {
        return Err(Failed::MissingParameter);
    }
    Ok((name, src, pattern))
}

/// The name a copy gets in each destination: one plain component, else it would
/// lead somewhere other than into the matched directory (`FAILED 1`).
fn new_name(s: &Session, name: &[u8]) -> Result<CString, Failed> {
    if name == b"." || name == b".." || name.contains(&b'/') || name.len() > MAX_NAME {
        debug!("{} X-command: invalid new name", s.peer());
        return Err(Failed::AccessDenied);
    }
    cname(name).or_failed(Failed::AccessDenied)
}

/// A match pattern, normalised like a path (`..` may not climb out of it:
/// `FAILED 1`); one that normalises to nothing is a missing parameter.
fn pattern(s: &Session, arg: &[u8]) -> Result<RelPath, Failed> {
    let p = s.path(arg)?;
    if p.is_root() {
        return Err(Failed::MissingParameter);
    }
    Ok(p)
}

/// True when the session's lock file exists in `dir` (the LOCK rule, applied to a
/// descriptor the walk reached).
fn locked(s: &Session, dir: BorrowedFd<'_>) -> bool {
    match s.lock().map(cname) {
        Some(Ok(name)) => sys::fstatat(dir, &name, false).is_ok(),
        _ => false,
    }
}

/// Takes one unit of the budget for an action; false when it is spent.
fn spend(budget: &mut u64) -> bool {
    if *budget == 0 {
        return false;
    }
    *budget -= 1;
    true
}

/// Counts for the closing log line.
#[derive(Default)]
struct Tally {
    done: u64,
    skipped: u64,
    truncated: bool,
}

impl Tally {
    fn skip(&mut self, s: &Session, cmd: &str, rel: &RelPath, why: impl std::fmt::Display) {
        self.skipped += 1;
        debug!(
            "{} {cmd} skipped {:?}: {why}",
            s.peer(),
            String::from_utf8_lossy(&rel.to_bytes())
        );
    }

    fn report(&self, s: &Session, cmd: &str) {
        info!("{} {cmd} done {} skipped {}", s.peer(), self.done, self.skipped);
        if self.truncated {
            warn!(
                "{} {cmd} stopped at walk_limit ({}) or the depth bound; the rest was not done",
                s.peer(),
                s.ctx().cfg.walk_limit
            );
        }
    }
}

/// `XCOPY <newname> <src> | <pattern>`: copies the file into every directory of
/// the tree matching `pattern`, as `newname`.
pub fn xcopy(s: &mut Session, arg: &[u8]) -> CmdResult {
    let (name, a, b) = split_x(arg)?;
    let name = new_name(s, name)?;
    let src = s.path(a)?;
    let pat = pattern(s, b)?;
    s.check_lock_parent(&src)?;
    let (file, st) = match s.open_file(&src, libc::O_RDONLY, 0) {
        Ok(x) => x,
        Err(FsError::NotFound) | Err(FsError::NotDir) => return Err(Failed::NoSource.into()),
        Err(FsError::IsDir) | Err(FsError::NotRegular) => return Err(Failed::NotAFile.into()),
        Err(e) => return Err(denied_or(e, Failed::NoSource).into()),
    };
    let size = st.st_size.max(0) as u64;
    copy_into_matches(s, "XCOPY", &pat, None, size, |dir, _budget| {
        (&file).seek(SeekFrom::Start(0)).into_fs()?;
        walk::copy_file(&file, dir, &name, st.st_mode).map(drop)
    })
}

/// `XCPDIR <newname> <src> | <pattern>`: copies the directory tree into every
/// directory matching `pattern`, as `newname`; never into the source itself.
pub fn xcpdir(s: &mut Session, arg: &[u8]) -> CmdResult {
    let (name, a, b) = split_x(arg)?;
    let name = new_name(s, name)?;
    let src = s.path(a)?;
    let pat = pattern(s, b)?;
    match s.stat(&src) {
        Ok(st) if Kind::of(&st) == Kind::Dir => {}
        Ok(_) => return Err(Failed::NotADirectory.into()),
        Err(FsError::NotFound) | Err(FsError::NotDir) => return Err(Failed::NoSourcePath.into()),
        Err(e) => return Err(denied_or(e, Failed::NoSourcePath).into()),
    }
    s.check_lock_dir(&src)?;
    let src_fd = match s.root().open_dir(&src) {
        Ok(fd) => fd,
        Err(FsError::NotFound) => return Err(Failed::NoSourcePath.into()),
        Err(e) => return Err(denied_or(e, Failed::NotADirectory).into()),
    };
    let st = sys::fstat(src_fd.as_fd()).or_failed(Failed::NoSourcePath)?;
    let me = (st.st_dev, st.st_ino);
    // what one copy writes (an upper bound: secure directories are not copied)
    let size = match s.auth().quota {
        Some(_) => crate::fsys::quota::tree_size(src_fd.as_fd(), s.ctx().cfg.walk_limit).bytes,
        None => 0,
    };
    copy_into_matches(s, "XCPDIR", &pat, Some(me), size, |dir, budget| {
        // A fresh open file description for each copy: a duplicate would share
        // the directory offset the previous copy left at the end.
        let from = sys::openat_nofollow(src_fd.as_fd(), c".", libc::O_RDONLY | libc::O_DIRECTORY, 0)?;
        walk::copy_tree_filtered(from, dir, &name, budget, true)
    })
}

/// The shared body of XCOPY and XCPDIR: walk the root for matching directories
/// first, then copy into each one (skipping locked ones) while the quota and the
/// walk budget allow; a full disk stops the command. Best effort: always OK.
fn copy_into_matches(
    s: &mut Session,
    cmd: &str,
    pat: &RelPath,
    exclude: Option<(u64, u64)>,
    size: u64,
    mut copy: impl FnMut(BorrowedFd<'_>, &mut u64) -> Result<(), FsError>,
) -> CmdResult {
    let mut share = quota::budget(s, None);
    let mut budget = s.ctx().cfg.walk_limit;
    let found = walk::find_matches(s.root().fd(), walk::Want::Dirs, pat, exclude, &mut budget);
    let mut t = Tally {
        truncated: found.truncated,
        ..Tally::default()
    };
    for rel in &found.paths {
        if !spend(&mut budget) {
            t.truncated = true;
            break;
        }
        let dir = match walk::open_dir_nofollow(s.root().fd(), rel) {
            Ok(d) => d,
            Err(e) => {
                t.skip(s, cmd, rel, e);
                continue;
            }
        };
        if locked(s, dir.as_fd()) {
            t.skip(s, cmd, rel, "locked");
            continue;
        }
        if !quota::reserve(&mut share, size) {
            quota::refused(s, cmd);
            break;
        }
        match copy(dir.as_fd(), &mut budget) {
            Ok(()) => {
                quota::settle(&mut share);
                t.done += 1;
            }
            Err(FsError::NoSpace | FsError::QuotaFull) => {
                warn!("{} {cmd}: disk full, stopping", s.peer());
                break;
            }
            Err(e) => {
                // a copy cut short by the budget was removed again
                quota::release(&mut share);
                t.truncated |= budget == 0;
                t.skip(s, cmd, rel, e);
            }
        }
    }
    t.report(s, cmd);
    Ok(Reply::Ok)
}

/// The starting directory of XDEL/XRMDIR, opened for the walk, with the lock rule
/// applied to the directory itself; `missing` is the status for a path that does
/// not exist.
fn start_dir(s: &Session, arg: &[u8], missing: Failed) -> Result<std::os::fd::OwnedFd, Failed> {
    let dir = s.path(arg)?;
    match s.stat(&dir) {
        Ok(st) if Kind::of(&st) == Kind::Dir => {}
        Ok(_) => return Err(Failed::NotADirectory),
        Err(FsError::NotFound) | Err(FsError::NotDir) => return Err(missing),
        Err(e) => return Err(denied_or(e, missing)),
    }
    s.check_lock_dir(&dir)?;
    s.root().open_dir(&dir).denied_or(missing)
}

/// `<dir> <name>` (XDEL, XRMDIR): the directory runs to the first space.
fn split_dir_name(arg: &[u8]) -> Result<(&[u8], &[u8]), Failed> {
    match command::split_space(arg) {
        Some((d, n)) if !n.is_empty() => Ok((d, n)),
        _ => Err(Failed::MissingParameter),
    }
}

/// `XDEL <dir> <name>`: removes every non-directory below `dir` whose path
/// (relative to `dir`) ends with the components of `name`.
pub fn xdel(s: &mut Session, arg: &[u8]) -> CmdResult {
    remove_matches(
        s,
        arg,
        "XDEL",
        walk::Want::NonDirs,
        Failed::NotADirectory,
        |_, parent, name, _| {
            // never a directory, whatever was renamed there since the walk
            Ok(sys::unlinkat(parent, name, false)?)
        },
    )
}

/// `XRMDIR <dir> <name>`: removes, recursively, every directory below `dir` whose
/// path (relative to `dir`) ends with the components of `name`; secure
/// directories inside them are kept, as RMDIR keeps them.
pub fn xrmdir(s: &mut Session, arg: &[u8]) -> CmdResult {
    remove_matches(
        s,
        arg,
        "XRMDIR",
        walk::Want::Dirs,
        Failed::NoSuchDir,
        |t, parent, name, budget| {
            match sys::fstatat(parent, name, false) {
                Ok(st) if Kind::of(&st) == Kind::Dir => {}
                _ => return Err(Skipped::NotDir),
            }
            let r = walk::remove_tree(parent, name, true, budget);
            if r.kept == 0 {
                Ok(())
            } else {
                t.truncated |= *budget == 0;
                Err(Skipped::Kept(r.kept))
            }
        },
    )
}

/// Why XDEL or XRMDIR left a match it found (logged; the command goes on).
enum Skipped {
    /// The OS refused the removal.
    Os(std::io::Error),
    /// XRMDIR: the match is no directory any more.
    NotDir,
    /// XRMDIR: entries of the tree stayed (secure directories, or the walk's
    /// budget ran out).
    Kept(u64),
}

impl From<std::io::Error> for Skipped {
    fn from(e: std::io::Error) -> Self {
        Skipped::Os(e)
    }
}

impl std::fmt::Display for Skipped {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Skipped::Os(e) => write!(f, "{e}"),
            Skipped::NotDir => f.write_str("no longer a directory"),
            Skipped::Kept(n) => write!(f, "{n} entries kept"),
        }
    }
}

/// The shared body of XDEL and XRMDIR: walk for matches first, then remove each
/// one through its parent's descriptor (skipping locked parents), best effort.
fn remove_matches(
    s: &mut Session,
    arg: &[u8],
    cmd: &str,
    want: walk::Want,
    missing: Failed,
    remove: impl Fn(&mut Tally, BorrowedFd<'_>, &CStr, &mut u64) -> Result<(), Skipped>,
) -> CmdResult {
    let (d, n) = split_dir_name(arg)?;
    let pat = pattern(s, n)?;
    let start = start_dir(s, d, missing)?;
    let mut budget = s.ctx().cfg.walk_limit;
    let found = walk::find_matches(start.as_fd(), want, &pat, None, &mut budget);
    let mut t = Tally {
        truncated: found.truncated,
        ..Tally::default()
    };
    for rel in &found.paths {
        if !spend(&mut budget) {
            t.truncated = true;
            break;
        }
        let (parent, name) = match walk::parent_nofollow(start.as_fd(), rel) {
            Ok(x) => x,
            // typically inside a match removed just before
            Err(e) => {
                t.skip(s, cmd, rel, e);
                continue;
            }
        };
        if locked(s, parent.as_fd()) {
            t.skip(s, cmd, rel, "locked");
            continue;
        }
        match remove(&mut t, parent.as_fd(), &name, &mut budget) {
            Ok(()) => t.done += 1,
            Err(why) => t.skip(s, cmd, rel, why),
        }
    }
    t.report(s, cmd);
    Ok(Reply::Ok)
}
