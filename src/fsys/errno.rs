//! OS error numbers for a path's resolution beneath the root: a symlink is
//! followed as the kernel's `RESOLVE_BENEATH` would follow it, so its failures
//! are the kernel's numbers, kept in the pinned entry until a command acts.

use super::FsError;
use std::io;

/// The error a command meets when it acts on an entry whose resolution failed
/// with `errno`.
pub(super) fn errno_error(errno: i32) -> FsError {
    FsError::from_io(io::Error::from_raw_os_error(errno))
}

/// An OS error number, as a symlink's resolution answers it (the kernel's
/// `RESOLVE_BENEATH` would fail the lookup with it): a step's error converts by
/// `?`, the way the kernel would have said it.
pub(super) struct Errno(pub(super) i32);

impl From<FsError> for Errno {
    fn from(e: FsError) -> Errno {
        Errno(errno_of(&e))
    }
}

impl From<io::Error> for Errno {
    fn from(e: io::Error) -> Errno {
        Errno(e.raw_os_error().unwrap_or(libc::EIO))
    }
}

/// The number the kernel would have given for `e`, kept in an entry whose
/// resolution failed.
pub(super) fn errno_of(e: &FsError) -> i32 {
    match e {
        FsError::Escape => libc::EXDEV,
        FsError::Invalid => libc::EINVAL,
        FsError::NotFound => libc::ENOENT,
        FsError::Access | FsError::Reserved => libc::EACCES,
        FsError::BadName => libc::EINVAL,
        FsError::Exists => libc::EEXIST,
        FsError::NotDir => libc::ENOTDIR,
        FsError::IsDir => libc::EISDIR,
        FsError::NotEmpty => libc::ENOTEMPTY,
        FsError::NotRegular => libc::ENXIO,
        FsError::NoSpace => libc::ENOSPC,
        FsError::QuotaFull => libc::EDQUOT,
        FsError::Stale => libc::ESTALE,
        FsError::Other(e) => e.raw_os_error().unwrap_or(libc::EIO),
    }
}
