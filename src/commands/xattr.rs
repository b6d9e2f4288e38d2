//! Extended attributes (`tf -X`, doc/compatibility.md "Extended
//! attributes"): `TFDXATTRS <path>` tells a file's or directory's attributes
//! and `TFDSETXATTRS <list><path>` makes them the list
//! ([`tfp_wire::xattr`]).
//!
//! The path's directory resolves beneath the root and its last name is
//! opened with `O_NOFOLLOW`: a symlink is refused, never followed (Linux
//! keeps no `user.` attributes on a symlink, and rsync `-X` skips them
//! alike). Every read and change goes through that one descriptor, as the
//! session's user, so the kernel's check (write permission or ownership for
//! `user.`, `CAP_SYS_ADMIN` for `trusted.`) is made on the file changed.
//! A session sees and sets `user.` names alone unless tfd serves it as root
//! and unjailed, as it keeps owners ([`super::putmany_archive::privileged`]);
//! tfd's own bookkeeping (`user.tfd.*`: upload marks, a stage's journal) is
//! never listed, never set and never removed.
//!
//! `TFDACLS` and `TFDSETACLS` (`tf -A`) do the same for the POSIX ACLs
//! alone (`system.posix_acl_access`, `system.posix_acl_default`), for any
//! session: the kernel lets only the file's owner (or root) set them, and
//! checks the value (a malformed ACL is `EINVAL`).

use super::land::scope;
use super::stage::failed;
use super::{CmdResult, Reply};
use crate::fsys::land::{refused_name, shown};
use crate::fsys::{FsError, RelPath};
use crate::session::Session;
use log::info;
use std::io;
use std::os::fd::{AsFd, OwnedFd};
use tfd_sys as sys;
use tfp_wire::xattr::{self as wire, Listing, Scope, Set, Xattrs};
use tfp_wire::Failed;

/// `TFDXATTRS <path>` → `OK <scope> <list>`: the attributes of the file or
/// directory `path` the session may see.
pub fn get(s: &mut Session, arg: &[u8]) -> CmdResult {
    let scope = scope(s);
    told(s, arg, (wire::GET, scope))
}

/// `TFDACLS <path>` → `OK acl <list>`: the POSIX ACLs of the file or
/// directory `path` (an access ACL the mode says alone is not told).
pub fn get_acls(s: &mut Session, arg: &[u8]) -> CmdResult {
    told(s, arg, (wire::ACL_GET, Scope::Acl))
}

/// `TFDSETXATTRS <list><path>` → `OK`: the attributes of `path` in the
/// session's scope become the list; those it does not name are removed.
pub fn set(s: &mut Session, arg: &[u8]) -> CmdResult {
    let scope = scope(s);
    made(s, arg, (wire::SET, scope))
}

/// `TFDSETACLS <list><path>` → `OK`: the POSIX ACLs of `path` become the
/// list's, as the session's user: the kernel lets the file's owner set
/// them, or root (a session tfd serves as root); a default ACL is a
/// directory's alone.
pub fn set_acls(s: &mut Session, arg: &[u8]) -> CmdResult {
    made(s, arg, (wire::ACL_SET, Scope::Acl))
}

/// The names of `scope` the file or directory `arg` has, answered.
fn told(s: &Session, arg: &[u8], (cmd, scope): (&str, Scope)) -> CmdResult {
    let fd = match opened(s, arg) {
        Ok(fd) => fd,
        Err(r) => return r,
    };
    let mut pairs = match sys::fxattrs(fd.as_fd(), |n| shown(scope, n), (wire::MAX_VALUE, wire::MAX_VALUES)) {
        Ok(p) => p,
        Err(e) => return refused(s, cmd, &e, "could not be read"),
    };
    pairs.retain(|(n, v)| wire::acl_carried(n, v));
    match Xattrs::new(pairs) {
        Ok(xattrs) => Ok(Reply::Data(Listing { scope, xattrs }.encode())),
        Err(_) => refused(s, cmd, &io::Error::from_raw_os_error(libc::E2BIG), "are too many"),
    }
}

/// The names of `scope` of the path `arg` names made its list's.
fn made(s: &Session, arg: &[u8], (cmd, scope): (&str, Scope)) -> CmdResult {
    let Some(want) = Set::parse(arg) else {
        info!("{} {cmd}: a malformed or oversized list", s.peer());
        return failed(Failed::MissingParameter, "a malformed or oversized attribute list");
    };
    if let Some(why) = want.xattrs.pairs().iter().find_map(|(n, _)| refused_name(scope, n)) {
        info!("{} {cmd} refused: {why}", s.peer());
        return failed(Failed::AccessDenied, why);
    }
    let fd = match opened(s, want.path) {
        Ok(fd) => fd,
        Err(r) => return r,
    };
    match sys::freplace_xattrs(
        fd.as_fd(),
        |n| shown(scope, n),
        want.xattrs.pairs(),
        (wire::MAX_VALUE, wire::MAX_VALUES),
    ) {
        Ok(_) => Ok(Reply::Ok),
        Err(e) => refused(s, cmd, &e, "could not be set"),
    }
}

/// The file or directory `arg` opened with its last name not followed; a
/// symlink or a special file is refused. `Err` is the command's answer.
fn opened(s: &Session, arg: &[u8]) -> Result<OwnedFd, CmdResult> {
    let p = match s.path(arg).and_then(|p| s.check_lock_parent(&p).map(|()| p)) {
        Ok(p) => p,
        Err(f) => return Err(Err(f.into())),
    };
    let r = open_nofollow(s, &p).and_then(|fd| {
        let st = sys::fstat(fd.as_fd())?;
        match st.st_mode & libc::S_IFMT {
            libc::S_IFREG | libc::S_IFDIR => Ok(fd),
            _ => Err(FsError::NotRegular),
        }
    });
    let e = match r {
        Ok(fd) => return Ok(fd),
        Err(e) => e,
    };
    info!(
        "{} {} refused: {e}",
        s.peer(),
        String::from_utf8_lossy(&p.to_bytes()).escape_debug()
    );
    let code = match e {
        FsError::NotFound | FsError::NotDir => Failed::NoSuchFile,
        FsError::NotRegular | FsError::Escape => Failed::NotAFile,
        _ => Failed::AccessDenied,
    };
    Err(failed(code, "no file or directory there (a symlink is not followed)"))
}

/// `p` opened read-only, its last name never followed.
fn open_nofollow(s: &Session, p: &RelPath) -> Result<OwnedFd, FsError> {
    let flags = libc::O_RDONLY | libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_NOCTTY | libc::O_CLOEXEC;
    if p.is_root() {
        return s.root().open(p, flags | libc::O_DIRECTORY, 0);
    }
    let (dir, name) = s.root().parent(p)?;
    Ok(sys::openat_nofollow(dir.as_fd(), &name, flags, 0)?)
}

/// The answer to an attribute call that failed, logged.
fn refused(s: &Session, cmd: &str, e: &io::Error, what: &str) -> CmdResult {
    info!("{} {cmd}: attributes {what}: {e}", s.peer());
    let (code, why) = match e.raw_os_error() {
        Some(libc::EPERM | libc::EACCES | libc::EROFS) => (Failed::AccessDenied, "not permitted"),
        Some(libc::ENOSPC | libc::EDQUOT) => (Failed::Quota, "no room for the attributes"),
        Some(libc::ENOTSUP) => (Failed::TransferApi, "the file system keeps no such attributes"),
        Some(libc::E2BIG | libc::ERANGE) => (Failed::TransferApi, "more attributes than one list carries"),
        Some(libc::EINVAL) => (
            Failed::TransferApi,
            "a value the file system refuses (a malformed ACL?)",
        ),
        _ => (Failed::TransferApi, "the attributes could not be read or set"),
    };
    failed(code, why)
}
