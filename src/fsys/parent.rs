//! A pinned path's directory and final name lent rather than duplicated:
//! TFDLINKS makes tens of thousands of links a command, and a descriptor
//! duplicated and closed for each side of each was a quarter of its system
//! calls.

use super::{names, FsError, Pin, RelPath, Root};
use std::ffi::{CStr, CString};
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};

impl Root {
    /// [`Root::parent`] lent where `p` is pinned at a name, else looked up
    /// as [`Root::parent`] does.
    pub(crate) fn parent_lent<'a>(&self, p: &'a RelPath) -> Result<Parent<'a>, FsError> {
        match p.pin.as_deref() {
            Some(Pin::At(e)) => Ok(Parent::Lent(e.dir.as_fd(), e.name.as_c_str())),
            _ => self.parent(p).map(|(d, n)| Parent::Owned(d, n)),
        }
    }

    /// [`Root::parent_lent`] for a name about to be created, refused as
    /// [`Root::parent_new`] refuses it.
    pub(crate) fn parent_new_lent<'a>(&self, p: &'a RelPath) -> Result<Parent<'a>, FsError> {
        if p.name().is_some_and(names::has_control) {
            return Err(FsError::BadName);
        }
        self.parent_lent(p)
    }
}

/// A path's directory and final name ([`Root::parent_lent`]).
pub(crate) enum Parent<'a> {
    /// The pin's own.
    Lent(BorrowedFd<'a>, &'a CStr),
    /// Looked up.
    Owned(OwnedFd, CString),
}

impl Parent<'_> {
    pub(crate) fn dir(&self) -> BorrowedFd<'_> {
        match self {
            Parent::Lent(d, _) => *d,
            Parent::Owned(d, _) => d.as_fd(),
        }
    }

    pub(crate) fn name(&self) -> &CStr {
        match self {
            Parent::Lent(_, n) => n,
            Parent::Owned(_, n) => n.as_c_str(),
        }
    }
}
