//! `TFDBACKUP`, tfd's own (doc/compatibility.md "Backups"): the session's
//! setting for rsync's `--backup`, `--backup-dir` and `--suffix`
//! ([`tfp_wire::backup`]). Once set, every upload that replaces a file
//! keeps the old one at its backup name ([`crate::fsys::backup`]), and DEL
//! moves the file there instead of removing it. A backup that cannot be
//! made fails the upload or the DEL, which then changes nothing.

use super::{CmdResult, Reply};
use crate::fsys::backup::{Keep, Setting};
use crate::fsys::upload::Upload;
use crate::fsys::{FsError, RelPath};
use crate::session::Session;
use log::{info, warn};
use std::os::fd::{AsFd, BorrowedFd};
use tfd_sys as sys;
use tfp_wire::backup::Backup;
use tfp_wire::Failed;

/// The session's backup setting (None: off, the session's start).
#[derive(Default)]
pub(crate) struct Backups(Option<Setting>);

/// `TFDBACKUP off | <suffix> | <suffix> <base> | <dir>`: `FAILED 16` for
/// an argument the grammar does not hold, `FAILED 1` for a path that
/// leaves the root (or names what no command may reach).
pub fn tfdbackup(s: &mut Session, arg: &[u8]) -> CmdResult {
    let b = Backup::parse(arg).ok_or(Failed::MissingParameter)?;
    let setting = match Setting::new(b) {
        Ok(x) => x,
        Err(e) => {
            info!("{} TFDBACKUP refused: {e:?}", s.peer());
            return Err(Failed::AccessDenied.into());
        }
    };
    info!("{} TFDBACKUP {}", s.peer(), String::from_utf8_lossy(arg));
    s.family_mut::<Backups>().0 = setting;
    Ok(Reply::Ok)
}

/// Whether the session keeps what it replaces (the quota then gives no
/// replaced file's size back: the backup still holds it).
pub(crate) fn on(s: &Session) -> bool {
    s.family::<Backups>().is_some_and(|b| b.0.is_some())
}

/// [`Upload::begin`] for `p`, the file it replaces to be kept as the
/// session's setting says.
pub(crate) fn begin(s: &Session, p: &RelPath, direct_min: usize) -> Result<Upload, FsError> {
    let keep = keep_for(s, p)?;
    let mut up = Upload::begin(s.root(), p, direct_min, s.ctx().cfg.sync_uploads)?;
    up.keep_replaced(keep);
    Ok(up)
}

/// Where the file at `p` is to be kept when it is replaced or removed
/// (None: the session keeps nothing).
pub(crate) fn keep_for(s: &Session, p: &RelPath) -> Result<Option<Keep>, FsError> {
    match s.family::<Backups>().and_then(|b| b.0.as_ref()) {
        Some(setting) => setting.keep_for(Box::new(s.confined()?), p).map(Some),
        None => Ok(None),
    }
}

/// `TFDPRIVDIR <path>` ([`tfp_wire::backup::PRIVATE_DIR`]): MKDIR's
/// directory, private to the session's user from the moment it exists
/// (made 0700, so no other user can open it while it is made), then
/// exactly 0700 on the directory made, not on a name looked up again: no
/// set-group-ID bit taken from its parent, no default ACL's rights for
/// others. A directory that is not the session's user's (another put it
/// there meanwhile) is refused. Answered as MKDIR answers.
pub fn tfdprivdir(s: &mut Session, arg: &[u8]) -> CmdResult {
    let (dir, name) = super::make_dir::make_dir(s, arg, 0o700)?;
    let made = sys::openat_nofollow(dir.as_fd(), &name, libc::O_RDONLY | libc::O_DIRECTORY, 0);
    match made.and_then(|d| private(d.as_fd())) {
        Ok(()) => Ok(Reply::Ok),
        Err(e) => {
            warn!(
                "{} {}: the directory made could not be made private: {e}",
                s.peer(),
                tfp_wire::backup::PRIVATE_DIR
            );
            Err(Failed::AccessDenied.into())
        }
    }
}

/// Makes the directory `d` the session's user's alone: its own, mode 0700,
/// no ACL.
fn private(d: BorrowedFd<'_>) -> std::io::Result<()> {
    if sys::fstat(d)?.st_uid != sys::geteuid() {
        return Err(std::io::Error::from_raw_os_error(libc::EPERM));
    }
    sys::fchmod(d, 0o700)?;
    for acl in [c"system.posix_acl_access", c"system.posix_acl_default"] {
        match sys::fremovexattr(d, acl) {
            Err(e) if !matches!(e.raw_os_error(), Some(libc::ENODATA | libc::EOPNOTSUPP)) => return Err(e),
            _ => {}
        }
    }
    Ok(())
}
