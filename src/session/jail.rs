//! What guards a jail, wherever it comes from (INJAIL with its `jail.key`, a
//! user's jail in the user file, a FAI token's jail): a jailed user must not be
//! able to read, change or delete it, or the next entrance fails (a deleted
//! key: FAILED 48 for good) or opens to anyone holding what was read.
//!
//! - The layout, as sshd demands of a `ChrootDirectory`: the jail and every
//!   directory between the served root and it are owned by root (by tfd's own
//!   user when tfd is not root) and writable by no one else, so nobody inside
//!   or beside the jail can rename, replace, `chmod` or remove it, or its key.
//!   The served root itself is judged by the start-up checks. A jail is opened
//!   component by component without following symlinks, and each directory is
//!   judged on the descriptor that is then entered.
//! - The key: a regular file owned as the directories are, writable by no one
//!   else (it must stay readable by the user: INJAIL reads it with the user's
//!   rights before the chroot).
//! - Inside the jail, the key's name at the jail's top is refused to every
//!   command ([`names_the_key`]): reading, overwriting, renaming, deleting,
//!   copying it, through a symlink or a `..` as well.

use crate::fsys::{Pin, RelPath, Root};
use std::ffi::{CStr, CString};
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::Path;
use tfd_sys as sys;

/// The key file at the top of an INJAIL jail.
pub(crate) const JAIL_KEY: &CStr = c"jail.key";

/// Why a jail was not entered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Refused {
    /// Missing, not a directory, or reached through a symlink.
    Missing(String),
    /// The user may not reach it (Unix permissions).
    Denied(String),
    /// Its layout lets someone other than root change what guards it.
    Unsafe(String),
}

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Refused::Missing(m) | Refused::Denied(m) | Refused::Unsafe(m) => write!(f, "{m}"),
        }
    }
}

/// Who may own what guards a jail besides root: tfd's own user when it is
/// not root (it then serves as itself, and owns everything anyway). Read it
/// before taking on a user's rights.
pub(crate) fn trusted_owner() -> u32 {
    sys::geteuid()
}

/// Judges one directory or key of the guard. `what` is its path from the
/// served root; `disk`, when the reader is the operator, the served root's
/// path on disk, so the fix names the file to mend (`chown root:root
/// /srv/tfd/jails/alice`, not `/jails/alice`, which is another directory).
fn judge(st: &libc::stat, what: &str, trusted: u32, disk: Option<&Path>) -> Result<(), Refused> {
    let (shown, real) = match disk {
        Some(d) => {
            let real = format!("{}{what}", d.display().to_string().trim_end_matches('/'));
            (format!("{what} ({real} on disk)"), real)
        }
        None => (what.to_string(), what.to_string()),
    };
    if st.st_uid != 0 && st.st_uid != trusted {
        return Err(Refused::Unsafe(format!(
            "{shown} is owned by {}, not root: its owner could rename, replace or empty it \
             (chown root:root {real}, and give the user a writable directory inside the jail)",
            tfd_sys::named_uid(st.st_uid)
        )));
    }
    if st.st_mode & 0o022 != 0 {
        return Err(Refused::Unsafe(format!(
            "{shown} is writable by its group or others (mode {:o}): chmod go-w {real}",
            st.st_mode & 0o7777
        )));
    }
    Ok(())
}

/// Opens the jail `jail` (a path beneath `root`, already normalised) with the
/// rights of the process as it is now (callers take on the user's first),
/// judging every directory on the way (see the module's documentation).
/// Messages name each directory from the served root (`/jails/alice`), as
/// the operator wrote it in the user file.
pub(crate) fn open_guarded(root: &Root, jail: &RelPath, trusted: u32) -> Result<OwnedFd, Refused> {
    open_guarded_at(root, jail, trusted, None)
}

/// [`open_guarded`] for the operator's eyes (`--check-config`, the log):
/// `disk` is the served root's path on disk, and each fix names the real path.
pub(crate) fn open_guarded_at(
    root: &Root,
    jail: &RelPath,
    trusted: u32,
    disk: Option<&Path>,
) -> Result<OwnedFd, Refused> {
    let text = String::from_utf8_lossy(&jail.to_bytes()).into_owned();
    if jail.is_root() {
        return Err(Refused::Missing("the served root itself is no jail".into()));
    }
    let mut dir: OwnedFd = root
        .fd()
        .try_clone_to_owned()
        .map_err(|e| Refused::Missing(format!("the served root: {e}")))?;
    let mut at = String::new();
    for comp in text.split('/') {
        at.push('/');
        at.push_str(comp);
        let name = CString::new(comp).map_err(|_| Refused::Missing(format!("{at}: a NUL byte")))?;
        let fd = match sys::openat_nofollow(dir.as_fd(), &name, libc::O_PATH | libc::O_DIRECTORY, 0) {
            Ok(fd) => fd,
            Err(e) => {
                return Err(match e.raw_os_error() {
                    Some(libc::EACCES) | Some(libc::EPERM) => {
                        Refused::Denied(format!("{at}: the user may not enter it ({e})"))
                    }
                    _ if sys::fstatat(dir.as_fd(), &name, false)
                        .is_ok_and(|st| st.st_mode & libc::S_IFMT == libc::S_IFLNK) =>
                    {
                        Refused::Missing(format!("{at} is a symlink, which a jail path may not hold"))
                    }
                    _ => Refused::Missing(format!("{at} is not a directory ({e})")),
                })
            }
        };
        let st = stat_at(fd.as_fd(), &at)?;
        judge(&st, &at, trusted, disk)?;
        dir = fd;
    }
    // O_PATH opened the jail without asking to search it: ask now, with the
    // rights the jail is entered with, so a jail its user may not enter is
    // refused here rather than after the chroot
    if let Err(e) = sys::openat_nofollow(dir.as_fd(), c".", libc::O_PATH | libc::O_DIRECTORY, 0) {
        return Err(Refused::Denied(format!("{at}: the user may not enter it ({e})")));
    }
    Ok(dir)
}

/// Judges an open `jail.key` (the descriptor then read).
pub(crate) fn judge_key(key: BorrowedFd<'_>, jail: &str, trusted: u32) -> Result<(), Refused> {
    let at = format!("/{jail}/jail.key");
    let st = stat_at(key, &at)?;
    if st.st_mode & libc::S_IFMT != libc::S_IFREG {
        return Err(Refused::Missing(format!("{at} is not a regular file")));
    }
    judge(&st, &at, trusted, None)
}

/// fstat of a jail's directory or key, its failure said at `at` (the path as
/// the jail names it).
fn stat_at(fd: BorrowedFd<'_>, at: &str) -> Result<libc::stat, Refused> {
    sys::fstat(fd).map_err(|e| Refused::Missing(format!("{at}: {e}")))
}

/// True when the pinned path `p` names, or leads by a symlink to, the key
/// file at the top of `root` (the jail): a jailed session may not touch it.
pub(crate) fn names_the_key(root: &Root, p: &RelPath) -> bool {
    let Some(Pin::At(e)) = p.pinned() else {
        return false;
    };
    let Ok(top) = sys::fstat(root.fd()) else {
        return true;
    };
    let is_key = |dir: BorrowedFd<'_>, name: &CStr| {
        name == JAIL_KEY && sys::fstat(dir).is_ok_and(|st| (st.st_dev, st.st_ino) == (top.st_dev, top.st_ino))
    };
    is_key(e.dir.as_fd(), &e.name) || matches!(&e.follow, Some(Ok((d, n))) if is_key(d.as_fd(), n))
}
