//! The extended attributes and POSIX ACLs an upload lands with (`tf -X`,
//! `-A`; doc/compatibility.md "Extended attributes"): given to the
//! temporary after its mode, owner and mtime and before its rename, so no
//! one sees the file with its new data and its old (or no) attributes.
//! Which names a session may give is judged once, when the sets arrive
//! ([`Landing::of`]); the kernel judges the rest on the temporary, which
//! is the session user's own file.

use std::io;
use std::os::fd::BorrowedFd;
use tfp_wire::xattr::{self as wire, Land, Scope};

/// The prefix of tfd's own attributes (upload marks, a stage's journal):
/// never shown, set or removed for a client.
pub(crate) const OWN: &[u8] = b"user.tfd.";

/// Whether a session of `scope` sees and sets `name`: within its scope,
/// not tfd's own.
pub(crate) fn shown(scope: Scope, name: &[u8]) -> bool {
    scope.takes(name) && !name.starts_with(OWN)
}

/// Why a name may not be given by a session of `scope` (None: it may).
pub(crate) fn refused_name(scope: Scope, name: &[u8]) -> Option<&'static str> {
    if shown(scope, name) {
        return None;
    }
    Some(if name.starts_with(OWN) {
        "user.tfd. attributes are tfd's own"
    } else if scope == Scope::Acl {
        "only system.posix_acl_access and system.posix_acl_default are ACLs"
    } else if wire::is_acl(name) {
        "ACLs are set with TFDSETACLS"
    } else {
        "only a session tfd serves as root, unjailed, may set trusted. and security. attributes"
    })
}

/// Names and values.
type Pairs = Vec<(Vec<u8>, Vec<u8>)>;

/// The sets an upload is to land with, judged: per kind carried, its scope
/// and the names and values its file is to hold in it (every other name
/// of that scope removed).
#[derive(Debug, Clone, Default)]
pub struct Landing {
    sets: Vec<(Scope, Pairs)>,
}

impl Landing {
    /// `land` as a session whose attribute scope is `scope` (`User`, or
    /// `All` for a root session) may give it; the first name it may not,
    /// with why.
    pub(crate) fn of(land: Land, scope: Scope) -> Result<Landing, &'static str> {
        let mut sets = Vec::new();
        let pairs = land.list.pairs();
        let kind = |on: bool, s: Scope, sets: &mut Vec<_>| {
            if on {
                sets.push((s, pairs.iter().filter(|(n, _)| s.takes(n)).cloned().collect()));
            }
        };
        kind(land.xattrs, scope, &mut sets);
        kind(land.acls, Scope::Acl, &mut sets);
        for (n, _) in pairs {
            let judged = |s: Scope| refused_name(s, n);
            let why = match (land.xattrs, land.acls && wire::is_acl(n)) {
                (_, true) => judged(Scope::Acl),
                (true, false) => judged(scope),
                (false, false) => Some("a name of a kind the upload does not carry"),
            };
            if let Some(why) = why {
                return Err(why);
            }
        }
        Ok(Landing { sets })
    }

    /// Makes the sets on `fd` (the upload's temporary), ACLs last.
    pub(crate) fn give(&self, fd: BorrowedFd<'_>) -> io::Result<()> {
        for (scope, want) in &self.sets {
            tfd_sys::freplace_xattrs(fd, |n| shown(*scope, n), want, (wire::MAX_VALUE, wire::MAX_VALUES))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tfp_wire::xattr::Xattrs;

    fn land(xattrs: bool, acls: bool, names: &[&str]) -> Land {
        let pairs = names.iter().map(|n| (n.as_bytes().to_vec(), b"1".to_vec())).collect();
        Land {
            xattrs,
            acls,
            list: Xattrs::new(pairs).unwrap(),
        }
    }

    #[test]
    fn a_session_gives_only_its_scope() {
        let acl = "system.posix_acl_access";
        assert!(Landing::of(land(true, true, &["user.a", acl]), Scope::User).is_ok());
        assert!(Landing::of(land(true, false, &["trusted.a"]), Scope::User).is_err());
        assert!(Landing::of(land(true, false, &["trusted.a", "security.b"]), Scope::All).is_ok());
        assert!(Landing::of(land(true, false, &["user.tfd.x"]), Scope::All).is_err());
        assert!(Landing::of(land(false, true, &["user.a"]), Scope::All).is_err());
        let l = Landing::of(land(true, true, &["user.a", acl]), Scope::User).unwrap();
        assert_eq!(l.sets.len(), 2);
        assert_eq!(l.sets[0].1.len(), 1);
        assert_eq!(l.sets[1], (Scope::Acl, vec![(acl.as_bytes().to_vec(), b"1".to_vec())]));
    }
}
