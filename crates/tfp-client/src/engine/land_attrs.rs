//! The extended attributes and POSIX ACLs a tree download gives each file
//! as it lands (`-X`, `-A`): set on the landing's temporary after its mode
//! and mtime and before the rename, so a file is never seen with its new
//! data and its old (or no) attributes, whatever interrupts the run. The
//! mirror asks the server's sets of the files it will fetch before their
//! data ([`LandAttrs::give`]); the landing hands each file's to its
//! [`super::beside::Beside`], which applies them in its commit; the sets of
//! files no route landed that way are left for the mirror's last step, as
//! those of directories and of files whose data did not change.

use std::collections::HashMap;
use std::os::fd::BorrowedFd;
use std::sync::Mutex;
use tfp_wire::xattr::{self as wire, carried, Scope};

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
