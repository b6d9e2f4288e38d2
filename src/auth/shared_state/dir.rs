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
                "must be owned by uid {me} and closed to everyone else (it is {mode:o}, uid {}; \
                 chown {me} and chmod 700 it)",
                st.st_uid
            ));
        }
        return None;
    }
    if st.st_uid != 0 && st.st_uid != me {
        return Some(format!(
            "is owned by uid {}, who could move the state directory aside and put an empty one \
             in its place (it must be root's)",
            st.st_uid
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

impl StateDir {
    /// Creates `dir` (0700) if missing, then checks and opens it: every
    /// ancestor root's (or tfd's) and writable by nobody else, the directory
    /// tfd's and closed to others. The error names the directory at fault.
    pub fn open(dir: &Path) -> Result<StateDir, String> {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .map_err(|e| format!("{}: {e}", dir.display()))?;
        // a symlink on the way is resolved once; what it leads to is checked
        let real = std::fs::canonicalize(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        let me = sys::geteuid();
        let open_dir = |at: Option<BorrowedFd<'_>>, name: &CStr| -> io::Result<OwnedFd> {
            match at {
                Some(d) => sys::openat_nofollow(d, name, libc::O_DIRECTORY | libc::O_RDONLY, 0),
                None => {
                    let f = File::open("/")?;
                    Ok(OwnedFd::from(f))
                }
            }
        };
        let comps: Vec<&std::ffi::OsStr> = real
            .components()
            .filter_map(|c| match c {
                Component::Normal(n) => Some(n),
                _ => None,
            })
            .collect();
        let mut cur = open_dir(None, c"/").map_err(|e| format!("/: {e}"))?;
        let mut here = PathBuf::from("/");
        let st = fstat(cur.as_fd()).map_err(|e| format!("/: {e}"))?;
        if let Some(why) = untrusted(&st, me, comps.is_empty()) {
            return Err(format!("shared_state_dir: / {why}"));
        }
        for (i, name) in comps.iter().enumerate() {
            here.push(name);
            let c = CString::new(name.as_bytes()).map_err(|_| format!("{}: a NUL in the name", here.display()))?;
            let next = open_dir(Some(cur.as_fd()), &c).map_err(|e| format!("{}: {e}", here.display()))?;
            let st = fstat(next.as_fd()).map_err(|e| format!("{}: {e}", here.display()))?;
            let last = i + 1 == comps.len();
            if let Some(why) = untrusted(&st, me, last) {
                return Err(format!("{} {why}", here.display()));
            }
            cur = next;
        }
        Ok(StateDir { fd: cur, path: real })
    }

    /// True when both hold the same directory (device and inode).
    pub fn same_as(&self, other: &StateDir) -> bool {
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
    pub fn raw_fd(&self) -> RawFd {
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
