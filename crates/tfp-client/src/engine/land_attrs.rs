//! The extended attributes and POSIX ACLs a file lands with (`-X`, `-A`):
//! set on the temporary after its mode and mtime and before the rename, so
//! a file is never seen with its new data and its old (or no) attributes,
//! whatever interrupts the run; the sets of files no route landed that way
//! are left for the mirror's last step, as those of directories and of
//! files whose data did not change.
//!
//! Down: the mirror asks the server's sets of the files it will fetch
//! before their data ([`LandAttrs::give`]); the landing hands each file's to
//! its [`super::beside::Beside`], which applies them in its commit.
//!
//! Up: each file's sets are read from the descriptor its data is read
//! from ([`land_of`]) and go with it: in a batch as an attributes frame
//! before its header, before a staged or delta commit registered with
//! `TFDLANDXATTRS` ([`register`]); tfd gives them to its temporary. A
//! server without them ([`scope`] None) is given them by the last step.

use crate::caps::Ext;
use crate::{Client, Error};
use std::collections::HashMap;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::Path;
use std::sync::Mutex;
use tfp_wire::xattr::{self as wire, acl_carried, carried, Land, LandAt, Scope, Xattrs};

/// Which kinds an upload's files land with: the run's `-X` and `-A`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Carry {
    /// `-X`: the extended attributes of the session's scope.
    pub xattrs: bool,
    /// `-A`: the POSIX ACLs.
    pub acls: bool,
}

impl Carry {
    /// What `cfg` asks; None: neither.
    pub(crate) fn of(cfg: &crate::ClientConfig) -> Option<Carry> {
        (cfg.xattrs || cfg.acls).then_some(Carry {
            xattrs: cfg.xattrs,
            acls: cfg.acls,
        })
    }
}

/// The session's attribute scope where its server lands uploads with
/// their attributes (as it told); None: it does not.
pub(crate) fn scope(c: &mut Client) -> Result<Option<Scope>, Error> {
    if !c.caps().has(Ext::LandAttrs) {
        return Ok(None);
    }
    Ok(Some(match c.caps().has(Ext::AttrsAll) {
        true => Scope::All,
        false => Scope::User,
    }))
}

/// The sets of `carry`'s kinds the open local file `fd` holds that cross
/// with a session of `scope` (an access ACL the mode says alone is not
/// one); None where they cannot be read (the last step tells it).
pub(crate) fn land_of(fd: BorrowedFd<'_>, carry: Carry, scope: Scope) -> Option<Land> {
    let kinds = [(carry.xattrs, scope), (carry.acls, Scope::Acl)];
    let mut pairs = Vec::new();
    for (_, s) in kinds.into_iter().filter(|(on, _)| *on) {
        pairs.extend(held(fd, s).ok()?);
    }
    Some(Land {
        xattrs: carry.xattrs,
        acls: carry.acls,
        list: Xattrs::new(pairs).ok()?,
    })
}

/// Registers the sets of the local file `local` for the session's next
/// staged or delta commit of `remote` (`TFDLANDXATTRS`); nothing where the
/// server does not land attributes or the sets cannot be read, and a
/// refusal is left to the last step, which tells it.
pub(crate) fn register(c: &mut Client, local: &Path, remote: &[u8], carry: Carry) -> Result<(), Error> {
    let Some(scope) = scope(c)? else {
        return Ok(());
    };
    let Some(land) = open_local(local).ok().and_then(|fd| land_of(fd.as_fd(), carry, scope)) else {
        return Ok(());
    };
    if let Some(arg) = (LandAt { land, path: remote }).encode() {
        let _ = c.call(wire::LAND, &arg)?;
    }
    Ok(())
}

/// The names of the open `fd` that cross with a session of `scope` (an
/// access ACL the mode says alone is not one), with their values.
pub(crate) fn held(fd: BorrowedFd<'_>, scope: Scope) -> std::io::Result<Vec<(Vec<u8>, Vec<u8>)>> {
    let mut pairs = tfd_sys::fxattrs(fd, |n| crosses(scope, n), (wire::MAX_VALUE, wire::MAX_VALUES))?;
    pairs.retain(|(n, v)| acl_carried(n, v));
    Ok(pairs)
}

/// How a local file or directory whose attributes cross is opened.
pub(crate) const OPEN: i32 = libc::O_RDONLY | libc::O_NONBLOCK | libc::O_NOCTTY;

/// `fd` if it is a file or a directory (a link, FIFO or device keeps no
/// attributes that cross, and is refused).
pub(crate) fn checked(fd: std::io::Result<OwnedFd>) -> std::io::Result<OwnedFd> {
    let fd = fd?;
    match tfd_sys::fstat(fd.as_fd())?.st_mode & libc::S_IFMT {
        libc::S_IFREG | libc::S_IFDIR => Ok(fd),
        _ => Err(std::io::Error::other("neither a file nor a directory")),
    }
}

/// The local file or directory `p`, opened with no symlink followed
/// ([`checked`]).
pub(crate) fn open_local(p: &Path) -> std::io::Result<OwnedFd> {
    use std::os::unix::fs::OpenOptionsExt;
    let f = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(OPEN | libc::O_NOFOLLOW)
        .open(p)?;
    checked(Ok(f.into()))
}

/// Whether the attribute `name` crosses between a session of `scope` and
/// this end: an ACL whatever the ends' users (the kernel lets the owner
/// set it), `trusted.` and `security.` only where both ends are root.
pub(crate) fn crosses(scope: Scope, name: &[u8]) -> bool {
    match scope {
        Scope::Acl => scope.takes(name),
        _ => carried(name, scope == Scope::All && tfd_sys::geteuid() == 0),
    }
}

/// One kind's set for a file: the server's session scope and the names
/// and values to make (every other crossing name removed).
#[derive(Debug, Clone)]
pub(crate) struct Given {
    pub(crate) scope: Scope,
    pub(crate) want: Vec<(Vec<u8>, Vec<u8>)>,
}

/// The sets waiting for their files, by path below the tree's landing,
/// and what could not be set (told after the run).
#[derive(Debug, Default)]
pub struct LandAttrs {
    sets: Mutex<HashMap<Vec<u8>, Vec<Given>>>,
    failed: Mutex<Vec<(Vec<u8>, String)>>,
}

impl LandAttrs {
    /// Registers `given` for the file `rel` (one set per kind, in the
    /// order they are made: the ACLs after the other attributes).
    pub(crate) fn give(&self, rel: &[u8], given: Given) {
        if let Ok(mut m) = self.sets.lock() {
            m.entry(rel.to_vec()).or_default().push(given);
        }
    }

    /// Makes `rel`'s sets on the open `fd` (the landing's temporary) and
    /// forgets them; what fails is kept for [`LandAttrs::failures`], and the
    /// data lands all the same (as rsync's receiver does).
    pub(crate) fn apply(&self, fd: BorrowedFd<'_>, rel: &[u8]) {
        let Some(sets) = self.sets.lock().ok().and_then(|mut m| m.remove(rel)) else {
            return;
        };
        for g in sets {
            let r = tfd_sys::freplace_xattrs(
                fd,
                |n| crosses(g.scope, n),
                &g.want,
                (wire::MAX_VALUE, wire::MAX_VALUES),
            );
            if let Err(e) = r {
                if let Ok(mut f) = self.failed.lock() {
                    f.push((rel.to_vec(), e.to_string()));
                }
            }
        }
    }

    /// What could not be set, by path, once.
    pub(crate) fn failures(&self) -> Vec<(Vec<u8>, String)> {
        self.failed
            .lock()
            .map(|mut f| std::mem::take(&mut *f))
            .unwrap_or_default()
    }
}
