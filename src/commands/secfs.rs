//! SETFSID, SETFSPERM, REMFSPERM, GETFSPERM, ISSECFS: the document's TFPSFS
//! commands; and RMSECDIR, which removes an entry of a secure (`*.sd`)
//! directory. The checks every other command meets live in the session's path
//! resolution (see [`crate::dispatch::SecfsState`]); the files in [`crate::fsys::secfs`].

use super::{denied_or, ArgOr, CmdResult, DeniedOr, Reply};
use crate::fsys::names::is_secure_name;
use crate::fsys::{secfs, walk, FsError, Kind};
use crate::session::Session;
use log::{info, warn};
use std::os::fd::{AsFd, OwnedFd};
use tfd_sys as sys;
use tfp_wire::secfs as fmt;
use tfp_wire::{command, Failed};

/// `SETFSID <identity>`: always OK (the document); an empty identity clears it.
pub fn setfsid(s: &mut Session, arg: &[u8]) -> CmdResult {
    s.secfs_mut().set_id((!arg.is_empty()).then(|| arg.to_vec()));
    Ok(Reply::Ok)
}

/// Resolves the directory a TFPSFS command manages: a path leaving the root or
/// naming metadata is `FAILED 1`, anything but a directory is `otherwise`.
fn managed_dir(s: &Session, path: &[u8], otherwise: Failed) -> Result<OwnedFd, Failed> {
    let p = s.path(path)?;
    s.root().dir_handle(&p).denied_or(otherwise)
}

/// Changes a managed directory's entries (SETFSPERM, REMFSPERM); a refusal
/// is logged under `command`'s name and answered `failed`.
fn update(
    s: &Session,
    dir: &OwnedFd,
    command: &str,
    failed: Failed,
    change: impl FnOnce(&mut fmt::Perms) -> Result<(), ()>,
) -> Result<(), Failed> {
    secfs::update(dir.as_fd(), change).map_err(|e| {
        info!("{} {command} refused: {e}", s.peer());
        failed
    })
}

/// `SETFSPERM <id>:<mask> <dir>`: the first entry of a directory makes it secure
/// and names its owner; afterwards only a SETFSID identity whose own entry holds
/// SETPERM may set (never through everybody-else). Setting an identity that has
/// an entry replaces its mask.
///
/// The first entry takes the directory from everybody who could use it, so only
/// the system user owning the directory (or root) may set it: another user of a
/// shared, sticky directory cannot lock its other users out of their own files.
pub fn setfsperm(s: &mut Session, arg: &[u8]) -> CmdResult {
    let (id, mask, path) = fmt::parse_setfsperm(arg).arg_or(Failed::SetFsPerm)?;
    let dir = managed_dir(s, path, Failed::SetFsPerm)?;
    let me = s.secfs().id();
    let euid = sys::geteuid();
    let owns = euid == 0 || sys::fstat(dir.as_fd()).is_ok_and(|st| st.st_uid == euid);
    update(s, &dir, "SETFSPERM", Failed::SetFsPerm, |perms| {
        if perms.is_empty() && !owns {
            return Err(());
        }
        if !perms.is_empty() && !perms.own_entry_allows(me, fmt::SETPERM) {
            return Err(());
        }
        perms.set(id, mask);
        Ok(())
    })?;
    Ok(Reply::Ok)
}

/// `REMFSPERM <id> <dir>` (`REMFSPERM  <dir>` for everybody-else): needs the
/// session's own entry to hold REMPERM. Removing an identity without an entry
/// is OK, as the reference answers.
pub fn remfsperm(s: &mut Session, arg: &[u8]) -> CmdResult {
    let (id, path) = fmt::split_id(arg).arg_or(Failed::RemFsPerm)?;
    let dir = managed_dir(s, path, Failed::RemFsPerm)?;
    if !secfs::is_secure(dir.as_fd()) {
        return Err(Failed::RemFsPerm.into());
    }
    let me = s.secfs().id();
    update(s, &dir, "REMFSPERM", Failed::RemFsPerm, |perms| {
        if !perms.own_entry_allows(me, fmt::REMPERM) {
            return Err(());
        }
        perms.remove(id);
        Ok(())
    })?;
    Ok(Reply::Ok)
}

/// `GETFSPERM <id> <dir>` → `OK <mask>`; an identity without an entry, or a
/// directory outside the domain, reads `OK 0` (as the reference answers).
pub fn getfsperm(s: &mut Session, arg: &[u8]) -> CmdResult {
    let (id, path) = fmt::split_id(arg).arg_or(Failed::GetFsPerm)?;
    let dir = managed_dir(s, path, Failed::GetFsPerm)?;
    let perms = secfs::load(dir.as_fd()).map_err(|e| {
        warn!("{} GETFSPERM: unreadable metadata: {e}", s.peer());
        Failed::GetFsPerm
    })?;
    let mask = perms.and_then(|p| p.get(id)).unwrap_or(0);
    Ok(Reply::Data(mask.to_string().into_bytes()))
}

/// `ISSECFS <dir>`: OK when the directory is in the domain.
pub fn issecfs(s: &mut Session, arg: &[u8]) -> CmdResult {
    let dir = managed_dir(s, arg, Failed::NotADirectory)?;
    if secfs::is_secure(dir.as_fd()) {
        Ok(Reply::Ok)
    } else {
        Err(Failed::NotSecureFs.into())
    }
}

/// `RMSECDIR <token> | <dir>`: removes a secure directory and everything in it,
/// only if `dir` is a `*.sd` directory and the token is the name of an entry in it
/// (decisions.md: the reference removed any directory for an empty token). The
/// root (an empty `dir`) is never removed: FAILED 15, as the document says.
pub fn rmsecdir(s: &mut Session, arg: &[u8]) -> CmdResult {
    let (token, dir) = command::split_pipe(arg).ok_or(Failed::MissingParameter)?;
    if token.is_empty() {
        return Err(Failed::MissingParameter.into());
    }
    let p = s.path(dir)?;
    if p.is_root() {
        return Err(Failed::DirStillExists.into());
    }
    if !p.name().is_some_and(is_secure_name) {
        info!("{} RMSECDIR refused: not a secure (*.sd) directory", s.peer());
        return Err(Failed::RmSecDir.into());
    }
    match s.root().lstat(&p) {
        Ok(st) if Kind::of(&st) == Kind::Dir => {}
        Ok(_) => return Err(Failed::RmSecDir.into()),
        Err(FsError::NotFound) | Err(FsError::NotDir) => return Err(Failed::NoSuchDir.into()),
        Err(e) => return Err(denied_or(e, Failed::RmSecDir).into()),
    }
    s.check_lock_dir(&p)?;
    let token_ok = token != b"." && token != b".." && !token.contains(&b'/') && !token.contains(&0);
    if !token_ok || !s.root().entry_exists(&p, token) {
        info!("{} RMSECDIR refused: token not found", s.peer());
        return Err(Failed::RmSecDir.into());
    }
    let (parent, name) = s.root().parent(&p).denied_or(Failed::RmSecDir)?;
    let mut budget = s.ctx().cfg.walk_limit;
    let r = walk::remove_tree(parent.as_fd(), &name, false, &mut budget);
    if sys::fstatat(parent.as_fd(), &name, false).is_ok() {
        info!("{} RMSECDIR left {} entries", s.peer(), r.kept);
        return Err(Failed::DirStillExists.into());
    }
    Ok(Reply::Ok)
}
