//! The shared state directory, trusted as sshd's StrictModes trusts a home
//! directory, and then held open.
//!
//! Whoever can replace the directory (or any directory above it) can empty
//! every ban: checking the directory itself is not enough, nor is checking
//! once and then reaching its files by name. So the path is walked from `/`
//! one component at a time with `openat(O_NOFOLLOW)`, each descriptor checked
//! with `fstat` (owned by root or by tfd's user, writable by nobody else), and
//! the last descriptor is kept: every file of the state is opened relative to
//! it, so a directory moved aside afterwards takes the bans' files with it and
//! an empty one put in its place is never read. The one exception to "nobody
//! else may write" is a root-owned sticky directory such as `/tmp`: there, only
//! the owner of an entry (or root) may rename or remove it, and the entry below
//! must itself be root's or tfd's.

use std::ffi::{CStr, CString};
use std::fmt;
use std::fs::File;
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::DirBuilderExt;
use std::path::{Component, Path, PathBuf};
use tfd_sys as sys;

/// `shared_state_dir`, checked and open.
#[derive(Debug)]
pub struct StateDir {
    fd: OwnedFd,
    path: PathBuf,
}

/// Why a directory on the way may not be trusted, or None.
fn untrusted(st: &libc::stat, me: u32, last: bool) -> Option<String> {
    let mode = st.st_mode & 0o7777;
    if st.st_mode & libc::S_IFMT != libc::S_IFDIR {
        return Some("is not a directory".into());
    }
    if last {
        if st.st_uid != me || mode & 0o077 != 0 {
            return Some(format!(
                "must be owned by {} and closed to everyone else (it is {mode:o}, owned by {}; \
                 chown {me} and chmod 700 it)",
                tfd_sys::named_uid(me),
                tfd_sys::named_uid(st.st_uid)
            ));
        }
        return None;
    }
    if st.st_uid != 0 && st.st_uid != me {
        return Some(format!(
            "is owned by {}, who could move the state directory aside and put an empty one \
             in its place (it must be root's)",
            tfd_sys::named_uid(st.st_uid)
        ));
    }
    let sticky_root = mode & libc::S_ISVTX != 0 && st.st_uid == 0;
    if mode & 0o022 != 0 && !sticky_root {
        return Some(format!(
            "is writable by group or others (mode {mode:o}): they could move the state directory \
             aside and put an empty one in its place (chmod go-w it)"
        ));
    }
    None
}

fn fstat(fd: BorrowedFd<'_>) -> io::Result<libc::stat> {
    sys::fstatat(fd, c"", false)
}

/// Opens the directory `here` (its last component, below `at`; `/` itself
/// when `at` is None), never following a symlink, and stats what was opened.
fn enter(at: Option<BorrowedFd<'_>>, here: &Path) -> Result<(OwnedFd, libc::stat), DirError> {
    let open = || -> io::Result<(OwnedFd, libc::stat)> {
        let fd = match (at, here.file_name()) {
            (Some(d), Some(name)) => {
                let Ok(c) = CString::new(name.as_bytes()) else {
                    return Err(io::Error::new(io::ErrorKind::InvalidInput, "a NUL in the name"));
                };
                sys::openat_nofollow(d, &c, libc::O_DIRECTORY | libc::O_RDONLY, 0)?
            }
            _ => OwnedFd::from(File::open("/")?),
        };
        let st = fstat(fd.as_fd())?;
        Ok((fd, st))
    };
    open().map_err(|e| DirError::Io(here.to_path_buf(), e))
}

/// Why `shared_state_dir` (or one of its files) cannot be used, naming the
/// directory or file at fault as it displays.
#[derive(Debug)]
pub enum DirError {
    /// Creating, resolving, opening or checking this path failed.
    Io(PathBuf, io::Error),
    /// `/` itself may not be trusted, and why.
    UntrustedRoot(String),
    /// A directory on the way may not be trusted, and why.
    Untrusted(PathBuf, String),
    /// One of the state's files could not be checked or repaired.
    File(PathBuf, super::StateError),
}

impl fmt::Display for DirError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DirError::Io(path, e) => write!(f, "{}: {e}", path.display()),
            DirError::UntrustedRoot(why) => write!(f, "shared_state_dir: / {why}"),
            DirError::Untrusted(path, why) => write!(f, "{} {why}", path.display()),
            DirError::File(path, e) => write!(f, "{}: {e}", path.display()),
        }
    }
}

impl std::error::Error for DirError {}

impl StateDir {
    /// Creates `dir` (0700) if missing, then checks and opens it: every
    /// ancestor root's (or tfd's) and writable by nobody else, the directory
    /// tfd's and closed to others. The error names the directory at fault.
    pub fn open(dir: &Path) -> Result<StateDir, DirError> {
        let made = std::fs::DirBuilder::new().recursive(true).mode(0o700).create(dir);
        // a symlink on the way is resolved once; what it leads to is checked
        let real = made
            .and_then(|()| std::fs::canonicalize(dir))
            .map_err(|e| DirError::Io(dir.to_path_buf(), e))?;
        let me = sys::geteuid();
        let comps: Vec<&std::ffi::OsStr> = real
            .components()
            .filter_map(|c| match c {
                Component::Normal(n) => Some(n),
                _ => None,
            })
            .collect();
        let mut here = PathBuf::from("/");
        let (mut cur, st) = enter(None, &here)?;
        if let Some(why) = untrusted(&st, me, comps.is_empty()) {
            return Err(DirError::UntrustedRoot(why));
        }
        for (i, name) in comps.iter().enumerate() {
            here.push(name);
            let (next, st) = enter(Some(cur.as_fd()), &here)?;
            let last = i + 1 == comps.len();
            if let Some(why) = untrusted(&st, me, last) {
                return Err(DirError::Untrusted(here, why));
            }
            cur = next;
        }
        Ok(StateDir { fd: cur, path: real })
    }

    /// True when both hold the same directory (device and inode).
    pub(crate) fn same_as(&self, other: &StateDir) -> bool {
        match (fstat(self.fd.as_fd()), fstat(other.fd.as_fd())) {
            (Ok(a), Ok(b)) => a.st_dev == b.st_dev && a.st_ino == b.st_ino,
            _ => false,
        }
    }

    /// The directory's path when it was checked (for messages).
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The held descriptor (helpers forked by the listener must close it).
    pub(crate) fn raw_fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }

    /// Opens `name` in the held directory for reading and writing, never
    /// following a symlink; `create` adds O_CREAT (mode 0600).
    pub(super) fn open_file(&self, name: &CStr, create: bool) -> io::Result<File> {
        let flags = libc::O_RDWR | if create { libc::O_CREAT } else { 0 };
        sys::openat_nofollow(self.fd.as_fd(), name, flags, 0o600).map(File::from)
    }

    /// `name`'s attributes in the held directory (None when missing).
    pub(super) fn stat(&self, name: &CStr) -> Option<libc::stat> {
        sys::fstatat(self.fd.as_fd(), name, false).ok()
    }
}
