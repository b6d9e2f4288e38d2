//! `TFDLINK <existing> | <new>`, tfd's own ([`tfp_wire::link`]): a hard
//! link made inside the served root, for `tf backup`'s unchanged files.
//!
//! Both names are resolved by descriptor beneath the root, never through a
//! symlink: the existing file is opened read-only (`O_NOFOLLOW`) in its
//! directory's descriptor, which is the session's read check and proves a
//! regular file, then `linkat` (no `AT_SYMLINK_FOLLOW`) links that same
//! directory entry to the new name in its own directory's descriptor. The
//! link made is then compared with the opened file (device and inode): a
//! rename between the check and the link that put another file at the name
//! is undone (the new name removed) and refused, so a session can link only
//! a file it could read. The kernel's `protected_hardlinks` applies on top
//! (a user cannot link another user's file it may not write).
//!
//! The new name is never replaced (`FAILED 12` when it exists): a link
//! costs no data, so no quota is reserved, and the quota's usage walk counts
//! a file with several names once ([`crate::fsys::quota`]).

use super::no_room;
use super::{CmdResult, DeniedOr, Reply};
use crate::fsys::{open_regular_at, FsError, IntoFs};
use crate::session::Session;
use log::{info, warn};
use std::os::fd::AsFd;
use tfd_sys as sys;
use tfp_wire::link::Link;
use tfp_wire::Failed;

/// `TFDLINK <existing> | <new>` → `OK`; `FAILED 16` for an argument the
/// grammar does not hold, `FAILED 17` for a missing file, `FAILED 19` for a
/// directory, `FAILED 23` for anything else that is not a regular file,
/// `FAILED 12` for a taken name, `FAILED 1` for a refused path or right.
pub fn tfdlink(s: &mut Session, arg: &[u8]) -> CmdResult {
    let l = Link::parse(arg).ok_or(Failed::MissingParameter)?;
    let old = s.path(&l.existing)?;
    let new = s.path(&l.new)?;
    if old.is_root() {
        return Err(Failed::CannotLinkDir.into());
    }
    if new.is_root() {
        return Err(Failed::FileExists.into());
    }
    s.check_lock_parent(&old)?;
    s.check_lock_parent(&new)?;
    let opened = s
        .root()
        .parent(&old)
        .and_then(|(od, on)| open_regular_at(od.as_fd(), &on, libc::O_RDONLY, 0).map(|f| (od, on, f)));
    let (od, on, (file, st)) = match opened {
        Ok(x) => x,
        Err(e) => return Err(source_failed(s, e).into()),
    };
    let (nd, nn) = s.root().parent_new(&new).denied_or(Failed::AccessDenied)?;
    match sys::linkat(od.as_fd(), &on, nd.as_fd(), &nn).into_fs() {
        Ok(()) => {}
        Err(FsError::Exists) => return Err(Failed::FileExists.into()),
        Err(e @ (FsError::NoSpace | FsError::QuotaFull)) => {
            return Err(no_room(&e).unwrap_or_else(|| Failed::Quota.into()))
        }
        Err(e) => {
            info!("{} TFDLINK refused: {e}", s.peer());
            return Err(Failed::AccessDenied.into());
        }
    }
    let made = sys::fstatat(nd.as_fd(), &nn, false);
    if !made.is_ok_and(|m| m.st_dev == st.st_dev && m.st_ino == st.st_ino) {
        // the name was swapped between the open and the link: undo
        if let Err(e) = sys::unlinkat(nd.as_fd(), &nn, false) {
            warn!(
                "{} TFDLINK: a link to a swapped file could not be removed: {e}",
                s.peer()
            );
        }
        warn!("{} TFDLINK refused: the file changed under the link", s.peer());
        return Err(Failed::AccessDenied.into());
    }
    drop(file);
    Ok(Reply::Ok)
}

/// The FAILED code for an existing file that cannot be linked.
fn source_failed(s: &Session, e: FsError) -> Failed {
    info!("{} TFDLINK source refused: {e}", s.peer());
    match e {
        FsError::NotFound | FsError::NotDir => Failed::NoSource,
        FsError::IsDir => Failed::CannotLinkDir,
        FsError::NotRegular => Failed::NotAFile,
        _ => Failed::AccessDenied,
    }
}
