//! A directory made as MKDIR makes it: the one step MKDIR and TFDPRIVDIR
//! share (the path confined, the root refused, the LOCK of its parent, the
//! answers), below both so neither reaches into the other's family.

use super::{CmdError, DeniedOr};
use crate::fsys::{FsError, IntoFs};
use crate::session::Session;
use std::os::fd::AsFd;
use tfd_sys as sys;
use tfp_wire::Failed;

/// MKDIR's step, with MKDIR's rules and answers, the new directory given
/// `mode` (less the umask); the directory it was made in and its name, for
/// a command that goes on with it (TFDPRIVDIR).
pub(super) fn make_dir(
    s: &mut Session,
    arg: &[u8],
    mode: u32,
) -> Result<(std::os::fd::OwnedFd, std::ffi::CString), CmdError> {
    let p = s.path(arg)?;
    if p.is_root() {
        return Err(Failed::DirExists.into());
    }
    s.check_lock_parent(&p)?;
    let (dir, name) = s.root().parent_new(&p).denied_or(Failed::AccessDenied)?;
    match sys::mkdirat(dir.as_fd(), &name, mode).into_fs() {
        Ok(()) => Ok((dir, name)),
        Err(FsError::Exists) => Err(Failed::DirExists.into()),
        Err(_) => Err(Failed::AccessDenied.into()),
    }
}
