//! TFPSFS on disk: which directories are secure, what their permissions allow,
//! and changing them so that two sessions at once lose nothing.
//!
//! The layout is the reference server's (see doc/compatibility.md), so directories
//! it made secure keep their permissions and it can still read what tfd writes:
//! `.securefs_metadata` (the master copy, rewritten on every change),
//! `.securefs_metadata.rd` (the copy permission checks read; its presence is what
//! makes the directory secure) and `.securefs_metadata.lck` (the lock file;
//! writers hold an exclusive lock on it, which also excludes a reference process
//! working on the same tree). Every change is: lock, read the master, write the
//! new text to `.securefs_metadata.swp`, fsync, rename over the master, the same
//! again for the read copy, unlock. A reader sees the old or the new file, never a
//! mix; a writer never works from a stale copy.
//!
//! Clients never reach these files: [`super::RelPath::parse`] refuses any path
//! component containing [`META_MARK`] and every walk hides them.

use super::{FsError, Pin, RelPath, Root};
use std::ffi::CStr;
use std::fs::File;
use std::io::{self, Read, Write};
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::time::{Duration, Instant};
use tfd_sys as sys;
use tfp_wire::secfs::{Perms, CONTENT_BITS, MAX_META};

/// What every metadata name contains; a path component containing it is refused.
pub const META_MARK: &[u8] = b".securefs_metadata";
/// The master copy.
pub(crate) const MASTER: &CStr = c".securefs_metadata";
/// The copy checks read; its presence puts the directory in the domain.
pub(crate) const READ_COPY: &CStr = c".securefs_metadata.rd";
/// The lock file.
pub const LOCK: &CStr = c".securefs_metadata.lck";
/// The temporary each new version is written to before its rename.
const SWAP: &CStr = c".securefs_metadata.swp";
/// Mode of the files (the reference's `DEFFILE_PERM`).
const MODE: u32 = 0o644;
/// How long a change waits for another writer's lock before giving up: a stuck
/// holder must not hang the session for ever.
pub(crate) const LOCK_WAIT: Duration = Duration::from_secs(10);

/// Why a change of permissions did not happen.
#[non_exhaustive]
#[derive(Debug)]
pub enum SecfsError {
    /// The caller's rule refused it (no permission, bad state).
    Refused,
    /// Another writer held the lock for longer than [`LOCK_WAIT`].
    Busy,
    /// The files could not be read or written.
    Io(io::Error),
}

impl From<io::Error> for SecfsError {
    fn from(e: io::Error) -> Self {
        SecfsError::Io(e)
    }
}

impl std::fmt::Display for SecfsError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SecfsError::Refused => write!(f, "refused"),
            SecfsError::Busy => write!(f, "metadata lock busy"),
            SecfsError::Io(e) => write!(f, "{e}"),
        }
    }
}

/// True if `dir` belongs to the domain (holds the read copy, as the reference tests).
pub(crate) fn is_secure(dir: BorrowedFd<'_>) -> bool {
    sys::fstatat(dir, READ_COPY, false).is_ok()
}

/// Reads one metadata file of `dir`: None when absent; an error when present but
/// unreadable, not a regular file, or larger than [`MAX_META`].
fn read_meta(dir: BorrowedFd<'_>, name: &CStr) -> io::Result<Option<Vec<u8>>> {
    // another node replaced the file (by rename) under a name this node's
    // file system client still resolves to the old file: a moment later (once
    // the client has heard of the rename) the name leads to the new one.
    // Looked at again for a bounded time; stale until then is an error, and an
    // error allows nothing.
    let deadline = Instant::now() + STALE_WAIT;
    loop {
        match read_meta_once(dir, name) {
            Err(e) if e.raw_os_error() == Some(libc::ESTALE) && Instant::now() < deadline => {
                std::thread::sleep(STALE_SETTLE);
            }
            r => return r,
        }
    }
}

/// How long a read that met a stale handle waits before it looks again, and
/// how long it goes on looking.
const STALE_SETTLE: Duration = Duration::from_millis(25);
const STALE_WAIT: Duration = Duration::from_secs(2);

fn read_meta_once(dir: BorrowedFd<'_>, name: &CStr) -> io::Result<Option<Vec<u8>>> {
    let fd = match sys::openat_nofollow(dir, name, libc::O_RDONLY, 0) {
        Ok(fd) => fd,
        Err(e) if e.raw_os_error() == Some(libc::ENOENT) => return Ok(None),
        Err(e) => return Err(e),
    };
    let st = sys::fstat(fd.as_fd())?;
    if st.st_mode & libc::S_IFMT != libc::S_IFREG {
        return Err(io::Error::from_raw_os_error(libc::EINVAL));
    }
    if st.st_nlink == 0 {
        // the name led to a file already replaced (a node's cached entry on a
        // shared file system): stale, as ESTALE would say
        return Err(io::Error::from_raw_os_error(libc::ESTALE));
    }
    let mut data = Vec::new();
    File::from(fd).take(MAX_META as u64 + 1).read_to_end(&mut data)?;
    if data.len() > MAX_META {
        return Err(io::Error::from_raw_os_error(libc::EFBIG));
    }
    Ok(Some(data))
}

/// The permissions checks use: None outside the domain.
pub fn load(dir: BorrowedFd<'_>) -> io::Result<Option<Perms>> {
    Ok(read_meta(dir, READ_COPY)?.map(|d| Perms::parse(&d)))
}

/// Whether a session with identity `id` may do what needs `need` in `dir` (`None`:
/// a command the document does not tag, refused in every secure directory). A
/// directory outside the domain allows everything; an unreadable read copy allows
/// nothing.
pub(crate) fn permits(dir: BorrowedFd<'_>, id: Option<&[u8]>, need: Option<u32>) -> bool {
    match load(dir) {
        Ok(None) => true,
        Ok(Some(perms)) => need.is_some_and(|n| perms.allows(id, n)),
        Err(e) => {
            log::warn!("TFPSFS metadata unreadable, nothing allowed: {e}");
            false
        }
    }
}

/// [`permits`] as a result: `Access` when TFPSFS refuses, the OS error when
/// the session's user may not even search the directory (Unix permissions
/// refuse then, not TFPSFS, and the log says which).
fn verdict(dir: BorrowedFd<'_>, id: Option<&[u8]>, need: Option<u32>) -> Result<(), FsError> {
    match load(dir) {
        Ok(None) => Ok(()),
        Ok(Some(perms)) if need.is_some_and(|n| perms.allows(id, n)) => Ok(()),
        Ok(Some(_)) => Err(FsError::Access),
        Err(e) if matches!(e.raw_os_error(), Some(libc::EACCES) | Some(libc::EPERM)) => Err(FsError::Other(e)),
        Err(e) => {
            log::warn!("TFPSFS metadata unreadable, nothing allowed: {e}");
            Err(FsError::Access)
        }
    }
}

/// The TFPSFS check for one path a command names, made on the descriptors of
/// a path pinned by [`Root::pin`], through which the command then acts: no
/// rename between the check and the use can swap the directory judged. The
/// directory a command "is executed in" is the path itself when it is a
/// directory, else its parent (the reference's rule); an entry-level operation
/// on a directory (remove, rename, stat, chmod it…) also answers to the parent
/// it lives in, so a secure directory's RMDIR bit guards its subdirectories
/// (the reference checked only the subdirectory itself). Listing a directory
/// answers to that directory alone. A symlink answers to the directory it lives
/// in and to the one it leads to. A path whose directory does not resolve is
/// left to the command, which fails on its pin anyway.
///
/// `dir_judged`: the directory of a pinned name is the very descriptor the
/// running command judged for the same need a moment ago (a batch's next
/// file in it), and is not read again.
pub(crate) fn judge(
    root: &Root,
    p: &RelPath,
    id: Option<&[u8]>,
    need: Option<u32>,
    dir_judged: bool,
) -> Result<(), FsError> {
    let content_only = need.is_some_and(|n| n != 0 && n & !CONTENT_BITS == 0);
    let refuse = |d: BorrowedFd<'_>| verdict(d, id, need);
    match p.pinned() {
        None if p.is_root() => refuse(root.fd()),
        // only pinned paths are acted on safely: judge nothing else as allowed
        None => Err(FsError::Access),
        Some(Pin::Missing(_)) => Ok(()),
        Some(Pin::Dir(d)) => refuse(d.as_fd()),
        Some(Pin::At(e)) => {
            if let Some(o) = &e.object {
                refuse(o.as_fd())?;
                if content_only {
                    return Ok(());
                }
            }
            if !dir_judged {
                refuse(e.dir.as_fd())?;
            }
            match &e.follow {
                Some(Ok((d, _))) => refuse(d.as_fd()),
                _ => Ok(()),
            }
        }
    }
}

/// Holds the directory's metadata lock until dropped (closing the descriptor
/// releases an OFD lock).
struct Locked {
    _fd: OwnedFd,
}

fn lock(dir: BorrowedFd<'_>) -> Result<Locked, SecfsError> {
    let fd = sys::openat_nofollow(dir, LOCK, libc::O_RDWR | libc::O_CREAT, MODE)?;
    let deadline = Instant::now() + LOCK_WAIT;
    let mut pause = Duration::from_millis(1);
    loop {
        if sys::ofd_try_lock_exclusive(fd.as_fd())? {
            return Ok(Locked { _fd: fd });
        }
        if Instant::now() >= deadline {
            return Err(SecfsError::Busy);
        }
        std::thread::sleep(pause);
        pause = (pause * 2).min(Duration::from_millis(50));
    }
}

/// Writes `data` as `dir/name` atomically: the swap file, fsync, rename over.
fn replace(dir: BorrowedFd<'_>, name: &CStr, data: &[u8]) -> io::Result<()> {
    let fd = sys::openat_nofollow(dir, SWAP, libc::O_WRONLY | libc::O_CREAT | libc::O_TRUNC, MODE)?;
    let mut f = File::from(fd);
    let written = f.write_all(data).and_then(|_| f.sync_data());
    drop(f);
    if let Err(e) = written.and_then(|_| sys::renameat2(dir, SWAP, dir, name, false)) {
        let _ = sys::unlinkat(dir, SWAP, false);
        return Err(e);
    }
    Ok(())
}

/// Changes `dir`'s permissions under its lock: `change` sees the current ones
/// (the master copy, else the read copy, else none: "the first time") and either
/// edits them or refuses. Both copies are then replaced atomically, master first,
/// so the directory is in the domain once this returns Ok.
pub fn update(dir: BorrowedFd<'_>, change: impl FnOnce(&mut Perms) -> Result<(), ()>) -> Result<(), SecfsError> {
    let _held = lock(dir)?;
    let current = match read_meta(dir, MASTER)? {
        Some(d) => Some(d),
        None => read_meta(dir, READ_COPY)?,
    };
    let mut perms = current.map(|d| Perms::parse(&d)).unwrap_or_default();
    change(&mut perms).map_err(|()| SecfsError::Refused)?;
    let bytes = perms.to_bytes();
    replace(dir, MASTER, &bytes)?;
    replace(dir, READ_COPY, &bytes)?;
    Ok(())
}
