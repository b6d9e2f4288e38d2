//! The stages as their owner sees them (`TFDSTAGES`, `TFDSTAGEDROP`): found by
//! name and proven the session's own on the descriptor opened, never through
//! a name looked up twice; another user's stage is as good as missing.

use super::stage::{merge, recorded_of, ID, NAME};
use super::tempmark::{self, TempKind};
use super::upload::TEMP_PREFIX;
use super::Kind;
use std::fs::File;
use std::os::fd::{AsFd, OwnedFd};
use tfd_sys as sys;
/// Whether `name` has the shape of a stage's name (`.tfd-part-s` and 16
/// lower-case hex digits).
pub fn is_stage_name(name: &[u8]) -> bool {
    let Some(rest) = name.strip_prefix(TEMP_PREFIX).and_then(|r| r.strip_prefix(b"s")) else {
        return false;
    };
    rest.len() == 16 && rest.iter().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(b))
}

/// A stage as its owner sees it (`TFDSTAGES`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listed {
    /// The stage's own name in its directory.
    pub stage: Vec<u8>,
    /// The name of the target it is a stage of (None: a stage of an older
    /// tfd, which did not record it).
    pub target: Option<Vec<u8>>,
    /// Its apparent size: what the quota and `tf df` count.
    pub counted: u64,
    /// The bytes its journal records as written.
    pub written: u64,
    /// The size of the source it was opened for.
    pub size: u64,
    /// Its modification time (the sweeper removes it 2 days after).
    pub mtime: i64,
}

/// The stage `name` in `dir` opened for its owner: only a regular file of
/// the session's uid, mode 0600, one link, bearing tfd's stage mark, all
/// judged on the descriptor opened (no symlink followed); anything else,
/// another user's stage included, is None, exactly as a missing one.
pub fn open_owned(dir: std::os::fd::BorrowedFd<'_>, name: &std::ffi::CStr) -> Option<(File, libc::stat)> {
    if !is_stage_name(name.to_bytes()) {
        return None;
    }
    let fd = sys::openat_nofollow(dir, name, libc::O_RDONLY | libc::O_NONBLOCK | libc::O_NOCTTY, 0).ok()?;
    let st = sys::fstat(fd.as_fd()).ok()?;
    let mine = Kind::of(&st) == Kind::File
        && st.st_uid == sys::geteuid()
        && st.st_nlink == 1
        && st.st_mode & 0o7777 == 0o600
        && tempmark::proven(fd.as_fd(), &st) == Some(TempKind::Stage);
    mine.then(|| (File::from(fd), st))
}

/// What the stage open as `f` (its `st`, its `name`) is.
pub fn describe(f: &File, st: &libc::stat, name: &[u8]) -> Listed {
    let size = sys::fgetxattr(f.as_fd(), ID, 512)
        .ok()
        .and_then(|id| std::str::from_utf8(id.split(|&b| b == b' ').next()?).ok()?.parse().ok())
        .unwrap_or(0);
    let written = merge(recorded_of(f), size).iter().map(|(a, b)| b - a).sum();
    Listed {
        stage: name.to_vec(),
        target: sys::fgetxattr(f.as_fd(), NAME, 4096)
            .ok()
            .filter(|t| !t.is_empty() && !t.contains(&b'/') && !t.contains(&0)),
        counted: st.st_size.max(0) as u64,
        written,
        size,
        mtime: st.st_mtime,
    }
}

/// The stages of the session's user in `dir` (with `recursive`, in every
/// directory below it too), each with its directory's path relative to `dir`
/// (empty, or ending in `/`). The walk is the listings': no symlink
/// followed, `*.sd` directories never entered, a TFPSFS directory below the
/// top only where `enter` allows it, at most `budget` entries looked at and
/// [`super::walk::MAX_DEPTH`] levels; the flag says it was cut short.
/// Another user's stages are not listed.
pub fn list_owned(
    dir: OwnedFd,
    recursive: bool,
    budget: u64,
    enter: &dyn Fn(std::os::fd::BorrowedFd<'_>) -> bool,
) -> (Vec<(Vec<u8>, Listed)>, bool) {
    let mut w = StageWalk {
        recursive,
        left: budget,
        enter,
        out: Vec::new(),
        truncated: false,
    };
    w.scan(dir, Vec::new(), 0);
    (w.out, w.truncated)
}

struct StageWalk<'a> {
    recursive: bool,
    left: u64,
    enter: &'a dyn Fn(std::os::fd::BorrowedFd<'_>) -> bool,
    out: Vec<(Vec<u8>, Listed)>,
    truncated: bool,
}

impl StageWalk<'_> {
    fn scan(&mut self, fd: OwnedFd, rel: Vec<u8>, depth: usize) {
        let Ok(handle) = fd.try_clone() else {
            self.truncated = true;
            return;
        };
        let Ok(mut d) = nix::dir::Dir::from(fd) else {
            self.truncated = true;
            return;
        };
        let mut subdirs = Vec::new();
        for ent in d.iter() {
            let Ok(ent) = ent else { break };
            let name = ent.file_name();
            let b = name.to_bytes();
            if b == b"." || b == b".." {
                continue;
            }
            if self.left == 0 {
                self.truncated = true;
                return;
            }
            self.left -= 1;
            if is_stage_name(b) {
                if let Some((f, st)) = open_owned(handle.as_fd(), name) {
                    self.out.push((rel.clone(), describe(&f, &st, b)));
                }
                continue;
            }
            if self.recursive && !super::names::is_hidden_meta(b) && !super::names::is_secure_name(b) {
                let is_dir = match ent.file_type() {
                    Some(t) => t == nix::dir::Type::Directory,
                    None => sys::fstatat(handle.as_fd(), name, false).is_ok_and(|st| Kind::of(&st) == Kind::Dir),
                };
                if is_dir {
                    subdirs.push(b.to_vec());
                }
            }
        }
        drop(d);
        for name in subdirs {
            if depth + 1 > super::walk::MAX_DEPTH {
                self.truncated = true;
                return;
            }
            let Ok(c) = super::cname(&name) else { continue };
            let Ok(sub) = sys::openat_nofollow(handle.as_fd(), &c, libc::O_RDONLY | libc::O_DIRECTORY, 0) else {
                continue;
            };
            if super::secfs::is_secure(sub.as_fd()) && !(self.enter)(sub.as_fd()) {
                continue;
            }
            let mut r = rel.clone();
            r.extend_from_slice(&name);
            r.push(b'/');
            self.scan(sub, r, depth + 1);
        }
    }
}

/// Why an owner's discard of a stage did not happen.
#[derive(Debug, PartialEq, Eq)]
pub enum DiscardError {
    /// No stage of this user by that name (missing, or not provably its own).
    NotOwned,
    /// An upload holds it now (its `flock`).
    InUse,
    /// The removal failed.
    Io(i32),
}

/// Removes the stage `name` of `dir` for its owner: only one [`open_owned`]
/// proves the session's own, not held by a running upload (an exclusive
/// `flock` taken on the descriptor judged, as the sweeper takes it), and
/// only while the name still holds that same file.
pub fn discard_owned(dir: std::os::fd::BorrowedFd<'_>, name: &std::ffi::CStr) -> Result<Listed, DiscardError> {
    let (f, st) = open_owned(dir, name).ok_or(DiscardError::NotOwned)?;
    match sys::try_lock_exclusive(f.as_fd()) {
        Ok(true) => {}
        Ok(false) => return Err(DiscardError::InUse),
        Err(e) => return Err(DiscardError::Io(e.raw_os_error().unwrap_or(libc::EIO))),
    }
    let what = describe(&f, &st, name.to_bytes());
    match sys::fstatat(dir, name, false) {
        Ok(now) if (now.st_dev, now.st_ino) == (st.st_dev, st.st_ino) => {}
        _ => return Err(DiscardError::NotOwned),
    }
    sys::unlinkat(dir, name, false).map_err(|e| DiscardError::Io(e.raw_os_error().unwrap_or(libc::EIO)))?;
    Ok(what)
}
