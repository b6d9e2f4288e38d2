//! LOCKSYS and FLYCONTEXT (document 2.5.1) confine the session to a directory
//! of its root for good, exactly as INJAIL does: a real chroot when the session
//! process is still root, otherwise the directory's descriptor becomes the root
//! every path resolves beneath (openat2 `RESOLVE_BENEATH`). Either way `..`,
//! symlinks and absolute paths stay inside, as for every path.
//!
//! LOCKSYS locks once ("there isn't way back", and a second call is refused);
//! FLYCONTEXT creates the directory (mode 0755, component by component, each
//! resolved beneath the current root) and may be called again to go deeper.

use super::{CmdError, CmdResult, Reply};
use crate::fsys::{FsError, Kind, RelPath};
use crate::session::identity::{self, SwitchError, Target};
use crate::session::{Duty, Session};
use log::{error, info};
use std::os::fd::{AsFd, OwnedFd};
use tfd_sys as sys;
use tfp_wire::Failed;

/// Makes `dir` (a directory descriptor beneath the root) the session's root.
/// An error is the command's refusal, the session as it was; a transition
/// left part-way has ended the session (`Reply::Close` after the answer).
fn enter(s: &mut Session, dir: &OwnedFd, what: &str, p: &RelPath, refusal: Failed) -> Result<Option<Reply>, CmdError> {
    // LOCKSYS and FLYCONTEXT are gated to serving sessions
    if !s.state().serving() {
        return Err(refusal.into());
    }
    let target = Target {
        jail: Some(dir),
        user: None,
        have_names: s.auth().names.is_some(),
    };
    let entered = match identity::enter(target) {
        Ok(e) => e,
        Err(e @ SwitchError::Untouched(_)) => {
            error!("{} {what}: {e}", s.peer());
            return Err(refusal.into());
        }
        Err(e @ SwitchError::Broken(_)) => {
            error!("{} {what}: {e}; closing", s.peer());
            s.chan_mut().tx.send_frame(&refusal.to_wire())?;
            return Ok(Some(Reply::Close));
        }
    };
    if let Some(root) = entered.root {
        s.set_root(root);
    }
    if entered.names.is_some() {
        s.auth_mut().names = entered.names;
    }
    if let Some(next) = s.state().stage.after_confining(entered.chrooted) {
        s.state_mut().stage = next;
    }
    info!(
        "{} {what} into /{} ({}) user={}",
        s.peer(),
        tfp_wire::escape::shown(&p.to_bytes()),
        if entered.chrooted {
            "chroot"
        } else {
            "descriptor only: not root"
        },
        s.user()
    );
    Ok(None)
}

/// `LOCKSYS <dir>`: `dir` must be an existing directory (`FAILED 10`); a path
/// leaving the root is `FAILED 1`; a second LOCKSYS is `FAILED 61`.
pub fn locksys(s: &mut Session, arg: &[u8]) -> CmdResult {
    if s.state().locksys == Duty::Done {
        return Err(Failed::LockSys.into());
    }
    let p = s.path(arg)?;
    let dir = match s.open(&p, libc::O_PATH | libc::O_DIRECTORY, 0) {
        Ok(fd) => fd,
        Err(e) if e.is_denied() => return Err(Failed::AccessDenied.into()),
        Err(_) => return Err(Failed::NoSuchDir.into()),
    };
    if let Some(closed) = enter(s, &dir, "LOCKSYS", &p, Failed::LockSys)? {
        return Ok(closed);
    }
    s.state_mut().locksys = Duty::Done;
    Ok(Reply::Ok)
}

/// One level of [`make_dirs`] pinned under the rule that judged the path;
/// whatever refuses it is `Reserved`.
fn pin(s: &Session, at: &RelPath) -> Result<RelPath, FsError> {
    s.secfs().pin_again(s.root(), at).map_err(|_| FsError::Reserved)
}

/// Creates every missing component of `p` (0755) and opens it, each level
/// pinned and judged by TFPSFS where it is created (`Access` when refused), so
/// no directory appears inside a secure directory the session may not use.
fn make_dirs(s: &Session, p: &RelPath) -> Result<OwnedFd, FsError> {
    let mut at = RelPath::default();
    for c in p.components() {
        at = pin(s, &at.join(c))?;
        let (parent, name) = s.root().parent_new(&at)?;
        match sys::mkdirat(parent.as_fd(), &name, 0o755) {
            Ok(()) => {}
            Err(e) if e.raw_os_error() == Some(libc::EEXIST) => {}
            Err(e) => return Err(e.into()),
        }
    }
    // pinned again: the last level did not exist when it was pinned
    let at = pin(s, &at)?;
    let dir = s.open(&at, libc::O_PATH | libc::O_DIRECTORY, 0)?;
    match sys::fstat(dir.as_fd()) {
        Ok(st) if Kind::of(&st) == Kind::Dir => Ok(dir),
        _ => Err(FsError::NotDir),
    }
}

/// `FLYCONTEXT <dir>`: creates `dir` and confines the session to it; again and
/// again, deeper each time. A path leaving the root is `FAILED 1`; anything else
/// that fails (empty argument, a file in the way, no permission) `FAILED 65`.
pub fn flycontext(s: &mut Session, arg: &[u8]) -> CmdResult {
    let p = s.path(arg)?;
    if p.is_root() {
        return Err(Failed::FlyContext.into());
    }
    let dir = match make_dirs(s, &p) {
        Ok(d) => d,
        Err(FsError::Escape) => return Err(Failed::AccessDenied.into()),
        Err(FsError::Reserved) => {
            info!("{} FLYCONTEXT refused by TFPSFS", s.peer());
            return Err(Failed::AccessDenied.into());
        }
        Err(e) => {
            info!("{} FLYCONTEXT refused: {e}", s.peer());
            return Err(Failed::FlyContext.into());
        }
    };
    if let Some(closed) = enter(s, &dir, "FLYCONTEXT", &p, Failed::FlyContext)? {
        return Ok(closed);
    }
    s.state_mut().flycontext = Duty::Done;
    Ok(Reply::Ok)
}
