//! The session's rules for a client's path, held by what reaches such a path
//! after the command that named it began: a backup made when its upload
//! commits ([`crate::fsys::backup::Reach`]). The rules are
//! [`Session::path`]'s: beneath the root, pinned, judged by TFPSFS for the
//! need (the session's SETFSID identity), the jail's key refused to a jailed
//! session; and the LOCK the session set.

use super::{jail, Session};
use crate::fsys::backup::Reach;
use crate::fsys::{entry_exists_at, secfs, FsError, RelPath, Root};
use std::os::fd::{BorrowedFd, OwnedFd};

/// [`Session::path`]'s rules, owned.
pub(crate) struct Confined {
    root: Root,
    id: Option<Vec<u8>>,
    jailed: bool,
    lock: Option<std::ffi::CString>,
}

impl Session {
    /// The session's rules for a path reached later ([`Confined`]).
    pub(crate) fn confined(&self) -> Result<Confined, FsError> {
        Ok(Confined {
            root: self.root.try_clone()?,
            id: self.secfs.id().map(<[u8]>::to_vec),
            jailed: self.state.jail().is_some(),
            lock: self.lock.as_deref().map(std::ffi::CString::new).transpose()?,
        })
    }
}

impl Reach for Confined {
    fn root(&self) -> &Root {
        &self.root
    }

    fn pin_in(&self, p: &RelPath, dir: OwnedFd, need: u32) -> Result<RelPath, FsError> {
        let pinned = self.root.pin_in(p, Some(dir));
        secfs::judge(&self.root, &pinned, self.id.as_deref(), Some(need), false)?;
        if self.jailed && jail::names_the_key(&self.root, &pinned) {
            log::warn!(
                "backup refused: {:?} is the jail's key",
                String::from_utf8_lossy(&p.to_bytes())
            );
            return Err(FsError::Access);
        }
        Ok(pinned)
    }

    fn unlocked(&self, dir: BorrowedFd<'_>) -> Result<(), FsError> {
        match &self.lock {
            Some(name) if entry_exists_at(dir, name) => Err(FsError::Access),
            _ => Ok(()),
        }
    }
}
