//! Entries other than files, made in place, and attributes given, for an
//! archive batch upload (TFDPUTMANY `a`): a link, FIFO, socket or device is
//! made at a fresh hidden name in its directory (held by descriptor) and
//! renamed over what the name holds, so the name never shows a half-made
//! entry and a file, link or special there is replaced at once; a directory
//! there is never replaced. Nothing here follows a link: attributes are given
//! through an `O_PATH | O_NOFOLLOW` descriptor of what the name holds (a link
//! gets its own owner and mtime and never a mode), and no FIFO or device is
//! ever opened for reading or writing.

#[cfg(test)]
use super::upload::TEMP_PREFIX;
use super::upload::{proc_fd, temp_name};
use super::{cname, FsError, Kind};
use std::ffi::CStr;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use tfd_sys as sys;
use tfp_wire::entry::Mtime;

/// What to make at a name.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Special<'a> {
    /// A symlink holding this text (any text: it is never resolved here).
    Link(&'a CStr),
    Fifo,
    Socket,
    /// A character (`block` false) or block device of this number.
    Device {
        block: bool,
        rdev: u64,
    },
}

/// The attributes an entry is to be given, each when asked.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Attrs {
    /// Permission, set-id and sticky bits.
    pub mode: Option<u32>,
    pub mtime: Option<Mtime>,
    /// `(uid, gid)`.
    pub owner: Option<(u32, u32)>,
}

/// Makes `what` at `name` in `dir` with the permission bits `perm` less the
/// umask (the final mode comes with [`give`]): at a hidden name first, then
/// renamed over what `name` holds. A directory at `name` is left as it is
/// (`IsDir`).
pub(crate) fn make_at(dir: BorrowedFd<'_>, name: &CStr, what: Special<'_>, perm: u32) -> Result<(), FsError> {
    if let Ok(st) = sys::fstatat(dir, name, false) {
        if Kind::of(&st) == Kind::Dir {
            return Err(FsError::IsDir);
        }
    }
    let perm = perm & 0o777;
    for _ in 0..8 {
        let tmp = temp_name()?;
        let made = match what {
            Special::Link(target) => sys::symlinkat(target, dir, &tmp),
            Special::Fifo => sys::mknodat(dir, &tmp, libc::S_IFIFO | perm, 0),
            Special::Socket => sys::mknodat(dir, &tmp, libc::S_IFSOCK | perm, 0),
            Special::Device { block, rdev } => {
                let kind = if block { libc::S_IFBLK } else { libc::S_IFCHR };
                sys::mknodat(dir, &tmp, kind | perm, rdev)
            }
        };
        match made {
            Ok(()) => {}
            Err(e) if e.raw_os_error() == Some(libc::EEXIST) => continue,
            Err(e) => return Err(e.into()),
        }
        // a directory swapped in meanwhile: rename(2) of a non-directory over
        // it fails (EISDIR), and the directory stays
        return match sys::renameat2(dir, &tmp, dir, name, false) {
            Ok(()) => Ok(()),
            Err(e) => {
                let _ = sys::unlinkat(dir, &tmp, false);
                Err(match e.raw_os_error() {
                    Some(libc::EISDIR | libc::ENOTEMPTY | libc::EEXIST) => FsError::IsDir,
                    _ => e.into(),
                })
            }
        };
    }
    Err(FsError::Exists)
}

/// Opens what `name` in `dir` holds, never following it: a path-only
/// descriptor (no FIFO or device is opened) and its lstat.
pub(crate) fn hold_at(dir: BorrowedFd<'_>, name: &CStr) -> Result<(OwnedFd, libc::stat), FsError> {
    let fd = sys::openat_nofollow(dir, name, libc::O_PATH, 0)?;
    let st = sys::fstat(fd.as_fd())?;
    Ok((fd, st))
}

/// Gives what `fd` holds ([`hold_at`]; `st` its stat) the attributes asked:
/// the owner first (a chown clears set-id bits), then the mode (never a
/// link's: Linux has no mode for one), then the mtime. Each acts on the
/// descriptor, never on a name.
pub(crate) fn give(fd: BorrowedFd<'_>, st: &libc::stat, attrs: Attrs) -> Result<(), FsError> {
    let link = st.st_mode & libc::S_IFMT == libc::S_IFLNK;
    let mut chowned = false;
    if let Some((uid, gid)) = attrs.owner {
        if (st.st_uid, st.st_gid) != (uid, gid) {
            sys::fchown_path_fd(fd, uid, gid)?;
            chowned = true;
        }
    }
    if let Some(mode) = attrs.mode.filter(|_| !link) {
        // after a chown the set-id bits are gone: given again whatever the
        // stat said before it
        if st.st_mode & 0o7777 != mode || chowned {
            chmod_fd(fd, mode & 0o7777)?;
        }
    }
    // always, even where it is the same: a client stamps a copy again to
    // move its ctime past the second of its mtime (tf's racy copies)
    if let Some(t) = attrs.mtime {
        sys::set_mtime_ns_path_fd(fd, t.sec, t.nsec)?;
    }
    Ok(())
}

/// chmod of what a path-only descriptor holds: fchmodat2 with
/// `AT_EMPTY_PATH` (Linux 6.6+), else through the process's `/proc/self/fd`
/// (the magic link leads to the descriptor's file, not to a path).
fn chmod_fd(fd: BorrowedFd<'_>, mode: u32) -> Result<(), FsError> {
    match sys::fchmod_path_fd(fd, mode) {
        Err(e) if matches!(e.raw_os_error(), Some(libc::ENOSYS | libc::EINVAL)) => {
            let proc = proc_fd().ok_or(FsError::Access)?;
            let n = cname(fd.as_raw_fd().to_string().as_bytes())?;
            Ok(sys::fchmodat_following(proc, &n, mode)?)
        }
        r => Ok(r?),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::{MetadataExt, PermissionsExt};

    #[test]
    fn made_in_place_and_given_attributes_without_following() {
        let tmp = std::env::temp_dir().join(format!("tfd-place-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&tmp);
        std::fs::create_dir_all(tmp.join("d")).unwrap();
        std::fs::write(tmp.join("victim"), b"v").unwrap();
        std::fs::set_permissions(tmp.join("victim"), std::fs::Permissions::from_mode(0o600)).unwrap();
        let dir = std::fs::File::open(&tmp).unwrap();
        let d = dir.as_fd();
        // a link replaces a file; its target is text, never looked at
        std::fs::write(tmp.join("l"), b"old").unwrap();
        make_at(d, c"l", Special::Link(c"victim"), 0o777).unwrap();
        assert_eq!(std::fs::read_link(tmp.join("l")).unwrap().to_str(), Some("victim"));
        // a link's attributes: the mtime and owner its own, never the mode
        // of what it names
        let (fd, st) = hold_at(d, c"l").unwrap();
        let t = Mtime { sec: 1_000, nsec: 7 };
        let attrs = Attrs {
            mode: Some(0o777),
            mtime: Some(t),
            owner: None,
        };
        give(fd.as_fd(), &st, attrs).unwrap();
        let m = std::fs::symlink_metadata(tmp.join("l")).unwrap();
        assert_eq!((m.mtime(), m.mtime_nsec()), (1_000, 7));
        let v = std::fs::metadata(tmp.join("victim")).unwrap();
        assert_eq!(v.mode() & 0o7777, 0o600);
        assert_ne!(v.mtime(), 1_000);
        // a FIFO made and chmod'ed, never opened
        make_at(d, c"p", Special::Fifo, 0o600).unwrap();
        let (fd, st) = hold_at(d, c"p").unwrap();
        let fifo = Attrs {
            mode: Some(0o1640),
            mtime: Some(t),
            owner: None,
        };
        give(fd.as_fd(), &st, fifo).unwrap();
        let m = std::fs::symlink_metadata(tmp.join("p")).unwrap();
        assert_eq!((m.mode() & libc::S_IFMT, m.mode() & 0o7777), (libc::S_IFIFO, 0o1640));
        // a directory at the name stays
        assert!(matches!(make_at(d, c"d", Special::Socket, 0o600), Err(FsError::IsDir)));
        assert!(tmp.join("d").is_dir());
        // nothing hidden left behind
        let left: Vec<_> = std::fs::read_dir(&tmp)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .filter(|n| n.as_encoded_bytes().starts_with(TEMP_PREFIX))
            .collect();
        assert!(left.is_empty(), "{left:?}");
        std::fs::remove_dir_all(&tmp).unwrap();
    }
}
