//! The proof that a hidden `.tfd-part-*` file is one of tfd's own upload
//! temporaries, so the root sweeper never removes a file only because of its
//! name (a user's file renamed so on the host, or by an older tfd's client).
//!
//! Two marks, both set through the descriptor tfd created the file with, as
//! the session's user, so only a writer of the file can set one: a user cannot
//! get another user's file swept, and no protocol command can set or copy
//! either.
//! - A session's named upload temporary (the network file systems without
//!   `O_TMPFILE`) carries the access-time mark [`ATIME_MARK`], which no write
//!   moves and nothing but an explicit utimensat sets. Not the attribute: on
//!   GlusterFS setting and then removing it left the other node failing its
//!   next opens of the replaced name.
//! - An `O_TMPFILE` temporary, which has a hidden name only for the moment it
//!   overwrites a file, gets [`mark`]'s `user.tfd.part` = `upload` (the
//!   access time where the file system keeps no user attributes).
//! - A staged upload, kept for a later resume, carries `user.tfd.part` =
//!   `stage`; it needs attributes for its journal anyway.
//!
//! [`proven`] accepts the attribute, or the access-time mark where the
//! attribute is absent.

use std::ffi::CStr;
use std::os::fd::BorrowedFd;
use tfd_sys as sys;

/// The attribute that marks a temporary.
pub(crate) const MARK: &CStr = c"user.tfd.part";

/// The fallback mark: this access time (1970-01-15 06:56:07 UTC).
pub(crate) const ATIME_MARK: i64 = 1_234_567;

/// What a marked temporary is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TempKind {
    /// A session's upload in progress: stale once nobody holds it.
    Upload,
    /// A staged upload: kept for a later resume, stale after days.
    Stage,
}

impl TempKind {
    fn value(self) -> &'static [u8] {
        match self {
            TempKind::Upload => b"upload",
            TempKind::Stage => b"stage",
        }
    }
}

/// Marks the file `fd` as a temporary of `kind`. An upload temporary on a
/// file system without user attributes gets the access-time mark.
pub fn mark(fd: BorrowedFd<'_>, kind: TempKind) -> std::io::Result<()> {
    match sys::fsetxattr(fd, MARK, kind.value()) {
        Err(e) if kind == TempKind::Upload && is_unsupported(&e) => sys::set_atime(fd, ATIME_MARK),
        r => r,
    }
}

/// Takes the mark off (a committed file keeps no trace of its past).
pub(crate) fn unmark(fd: BorrowedFd<'_>) {
    let _ = sys::fremovexattr(fd, MARK);
}

/// True for the errors of a file system without user attributes.
pub(crate) fn is_unsupported(e: &std::io::Error) -> bool {
    matches!(e.raw_os_error(), Some(libc::ENOTSUP | libc::ENOSYS))
}

/// The kind of temporary `fd` is proven to be, `None` when it bears no mark.
/// `st` is its fstat.
pub(crate) fn proven(fd: BorrowedFd<'_>, st: &libc::stat) -> Option<TempKind> {
    match sys::fgetxattr(fd, MARK, 16) {
        Ok(v) if v == TempKind::Upload.value() => Some(TempKind::Upload),
        Ok(v) if v == TempKind::Stage.value() => Some(TempKind::Stage),
        Ok(_) => None,
        // the access-time mark: file systems without user attributes, and
        // named temporaries (network file systems, see fsys::upload), whose
        // attribute changes left other nodes with a stale view of the file
        Err(e) if (is_unsupported(&e) || e.raw_os_error() == Some(libc::ENODATA)) && st.st_atime == ATIME_MARK => {
            Some(TempKind::Upload)
        }
        Err(_) => None,
    }
}
