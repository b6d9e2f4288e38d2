//! Tree walks: listings (LS/LSR), recursive removal (RMDIR) and copies (COPY/CPDIR).
//!
//! Every walk moves by descriptors (`openat` with O_NOFOLLOW from the parent's
//! descriptor), so a symlink swapped in mid-walk is never followed out of the tree,
//! and every walk is bounded in entries and depth so a huge tree cannot stall a
//! session forever.

use super::{cname, is_hidden_meta, is_secure_name, FsError, Kind};
use crate::sys;
use nix::dir::{Dir, OwningIter, Type};
use std::ffi::CStr;
use std::fs::File;
use std::io;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};

/// Deepest directory nesting a walk descends into.
pub const MAX_DEPTH: usize = 512;

fn open_subdir(dir: BorrowedFd<'_>, name: &CStr) -> io::Result<OwnedFd> {
    sys::openat_nofollow(dir, name, libc::O_RDONLY | libc::O_DIRECTORY, 0)
}

/// One directory being read: the entry iterator plus a second descriptor for the
/// `*at` calls (nix's iterator owns its own).
struct Level {
    iter: OwningIter,
    fd: OwnedFd,
    prefix: Vec<u8>,
}

impl Level {
    fn open(fd: OwnedFd, prefix: Vec<u8>) -> io::Result<Level> {
        let dup = fd.try_clone()?;
        let dir = Dir::from(fd).map_err(io::Error::from)?;
        Ok(Level {
            iter: dir.into_iter(),
            fd: dup,
            prefix,
        })
    }

    /// The next entry other than `.`/`..`, with its kind (never following symlinks).
    fn next_entry(&mut self) -> Option<(Vec<u8>, Kind)> {
        loop {
            let ent = match self.iter.next()? {
                Ok(e) => e,
                Err(_) => return None,
            };
            let name = ent.file_name();
            let bytes = name.to_bytes();
            if bytes == b"." || bytes == b".." {
                continue;
            }
            let kind = match ent.file_type() {
                Some(Type::Directory) => Kind::Dir,
                Some(Type::File) => Kind::File,
                Some(_) => Kind::Other,
                None => match sys::fstatat(self.fd.as_fd(), name, false) {
                    Ok(st) => Kind::of(&st),
                    // vanished between readdir and stat: skip it (the reference crashed here)
                    Err(_) => continue,
                },
            };
            return Some((bytes.to_vec(), kind));
        }
    }
}

/// A lazy LS/LSR listing: lines `D: rel/`, `F: rel`, `U: rel`, relative to the
/// listed directory, in readdir order, hiding secure directories and metadata.
pub struct Lister {
    stack: Vec<Level>,
    recursive: bool,
    budget: u64,
    /// Set when the walk stopped at its entry budget.
    pub truncated: bool,
}

impl Lister {
    /// Starts a listing of an already opened directory.
    pub fn new(dir: OwnedFd, recursive: bool, budget: u64) -> io::Result<Lister> {
        Ok(Lister {
            stack: vec![Level::open(dir, Vec::new())?],
            recursive,
            budget,
            truncated: false,
        })
    }

    /// Appends listing lines to `out` until it holds at least `want` bytes or the
    /// walk ends. Returns false once the walk is over.
    pub fn fill(&mut self, out: &mut Vec<u8>, want: usize) -> bool {
        while out.len() < want {
            let depth = self.stack.len();
            let Some(top) = self.stack.last_mut() else { return false };
            let Some((name, kind)) = top.next_entry() else {
                self.stack.pop();
                continue;
            };
            if is_hidden_meta(&name) || (kind == Kind::Dir && is_secure_name(&name)) {
                continue;
            }
            if self.budget == 0 {
                self.truncated = true;
                self.stack.clear();
                return false;
            }
            self.budget -= 1;
            let mut rel = top.prefix.clone();
            rel.extend_from_slice(&name);
            let tag: &[u8] = match kind {
                Kind::Dir => b"D: ",
                Kind::File => b"F: ",
                Kind::Other => b"U: ",
            };
            out.extend_from_slice(tag);
            out.extend_from_slice(&rel);
            if kind == Kind::Dir {
                out.push(b'/');
            }
            out.push(b'\n');
            if kind == Kind::Dir && self.recursive && depth < MAX_DEPTH {
                let sub = cname(&name).ok().and_then(|c| open_subdir(top.fd.as_fd(), &c).ok());
                if let Some(fd) = sub {
                    rel.push(b'/');
                    if let Ok(level) = Level::open(fd, rel) {
                        self.stack.push(level);
                    }
                    continue;
                }
            }
        }
        true
    }
}

/// Outcome of a recursive removal.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Removal {
    /// Entries removed.
    pub removed: u64,
    /// Entries kept (secure directories, errors, budget).
    pub kept: u64,
}

/// Removes everything inside `dir`; secure directories (and so their parents) are
/// kept when `keep_secure`. Returns what happened; `kept == 0` means now empty.
pub fn empty_dir(dir: BorrowedFd<'_>, keep_secure: bool, budget: &mut u64, depth: usize) -> Removal {
    let mut r = Removal::default();
    let Ok(fd) = open_subdir(dir, c".") else {
        r.kept += 1;
        return r;
    };
    let Ok(mut level) = Level::open(fd, Vec::new()) else {
        r.kept += 1;
        return r;
    };
    // Collect first: removing while reading a directory may skip entries.
    let mut entries = Vec::new();
    while let Some(e) = level.next_entry() {
        entries.push(e);
    }
    for (name, kind) in entries {
        let Ok(c) = cname(&name) else { continue };
        if *budget == 0 {
            r.kept += 1;
            continue;
        }
        *budget -= 1;
        if kind == Kind::Dir {
            if keep_secure && is_secure_name(&name) {
                r.kept += 1;
                continue;
            }
            let sub = remove_tree(level.fd.as_fd(), &c, keep_secure, budget, depth + 1);
            r.removed += sub.removed;
            r.kept += sub.kept;
        } else if sys::unlinkat(level.fd.as_fd(), &c, false).is_ok() {
            r.removed += 1;
        } else {
            r.kept += 1;
        }
    }
    r
}

/// Removes `parent/name` and everything under it (never following symlinks).
pub fn remove_tree(parent: BorrowedFd<'_>, name: &CStr, keep_secure: bool, budget: &mut u64, depth: usize) -> Removal {
    let mut r = Removal::default();
    if depth > MAX_DEPTH {
        r.kept += 1;
        return r;
    }
    match open_subdir(parent, name) {
        Ok(fd) => {
            let inner = empty_dir(fd.as_fd(), keep_secure, budget, depth);
            r.removed += inner.removed;
            r.kept += inner.kept;
            if inner.kept == 0 && sys::unlinkat(parent, name, true).is_ok() {
                r.removed += 1;
            } else {
                r.kept += 1;
            }
        }
        Err(e) if e.raw_os_error() == Some(libc::ENOTDIR) || e.raw_os_error() == Some(libc::ELOOP) => {
            if sys::unlinkat(parent, name, false).is_ok() {
                r.removed += 1;
            } else {
                r.kept += 1;
            }
        }
        Err(_) => r.kept += 1,
    }
    r
}

/// Copies the open file `src` to a new file `dir/name` (which must not exist),
/// with `mode`. On failure the partial copy is removed.
pub fn copy_file(src: &File, dir: BorrowedFd<'_>, name: &CStr, mode: u32) -> Result<u64, FsError> {
    let fd = sys::openat_nofollow(dir, name, libc::O_WRONLY | libc::O_CREAT | libc::O_EXCL, mode & 0o7777)?;
    let mut dst = File::from(fd);
    let mut s = src;
    match io::copy(&mut s, &mut dst) {
        Ok(n) => Ok(n),
        Err(e) => {
            drop(dst);
            let _ = sys::unlinkat(dir, name, false);
            Err(FsError::from_io(e))
        }
    }
}

/// Copies the directory `src` to the new directory `dir/name`, recursively: files
/// are copied (not linked), symlinks recreated as symlinks, modes kept. Nothing
/// is left behind on failure.
pub fn copy_tree(src: OwnedFd, dir: BorrowedFd<'_>, name: &CStr, budget: &mut u64) -> Result<(), FsError> {
    let st = sys::fstat(src.as_fd())?;
    sys::mkdirat(dir, name, st.st_mode & 0o7777)?;
    let result = (|| {
        let dst = open_subdir(dir, name)?;
        copy_contents(src, dst.as_fd(), budget, 0)
    })();
    if result.is_err() {
        let mut unlimited = u64::MAX;
        remove_tree(dir, name, false, &mut unlimited, 0);
    }
    result
}

fn copy_contents(src: OwnedFd, dst: BorrowedFd<'_>, budget: &mut u64, depth: usize) -> Result<(), FsError> {
    let too_big = || FsError::Other(io::Error::other("tree larger than walk_limit or MAX_DEPTH"));
    if depth > MAX_DEPTH {
        return Err(too_big());
    }
    let mut level = Level::open(src, Vec::new())?;
    while let Some((name, kind)) = level.next_entry() {
        if *budget == 0 {
            return Err(too_big());
        }
        *budget -= 1;
        let c = cname(&name)?;
        match kind {
            Kind::Dir => {
                let sub = open_subdir(level.fd.as_fd(), &c)?;
                let st = sys::fstat(sub.as_fd())?;
                sys::mkdirat(dst, &c, st.st_mode & 0o7777)?;
                let d = open_subdir(dst, &c)?;
                copy_contents(sub, d.as_fd(), budget, depth + 1)?;
            }
            Kind::File => {
                let f = File::from(sys::openat_nofollow(level.fd.as_fd(), &c, libc::O_RDONLY, 0)?);
                let mode = sys::fstat(f.as_fd())?.st_mode;
                copy_file(&f, dst, &c, mode)?;
            }
            Kind::Other => {
                if let Ok(target) = sys::readlinkat(level.fd.as_fd(), &c) {
                    let t = cname(&target)?;
                    sys::symlinkat(&t, dst, &c)?;
                }
                // devices, fifos and sockets are not copied
            }
        }
    }
    Ok(())
}
