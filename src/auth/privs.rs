//! Dropping root for good: supplementary groups, then gid, then uid (the order
//! sudo-rs and OpenSSH use), then proof that root cannot be regained.

use nix::unistd::{self, Gid, Uid, User};
use std::ffi::CString;

/// Looks a system user up (before any chroot, while /etc is reachable).
pub fn lookup(name: &str) -> Result<User, String> {
    match User::from_name(name) {
        Ok(Some(u)) => Ok(u),
        Ok(None) => Err(format!("system user {name:?} does not exist")),
        Err(e) => Err(format!("looking up {name:?}: {e}")),
    }
}

/// A user's identity resolved ahead of time: the listener resolves `defusr` once
/// (at start and reload) so sessions switch without touching NSS, and so that a
/// lookup can happen before a chroot hides /etc.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// The user name.
    pub name: String,
    /// Its uid.
    pub uid: Uid,
    /// Its primary gid.
    pub gid: Gid,
    /// Its supplementary groups (primary included), as initgroups would set them.
    pub groups: Vec<Gid>,
}

/// Resolves a user name into an [`Identity`].
pub fn resolve(name: &str) -> Result<Identity, String> {
    let u = lookup(name)?;
    let cname = CString::new(u.name.as_bytes()).map_err(|_| "user name has a NUL".to_string())?;
    let groups = unistd::getgrouplist(&cname, u.gid).map_err(|e| format!("getgrouplist: {e}"))?;
    Ok(Identity {
        name: u.name,
        uid: u.uid,
        gid: u.gid,
        groups,
    })
}

/// Switches the whole process to `name` irrevocably.
pub fn become_user(name: &str) -> Result<(), String> {
    switch(&resolve(name)?)
}

/// Switches to a resolved identity: supplementary groups, gid, uid, then proof.
pub fn switch(id: &Identity) -> Result<(), String> {
    unistd::setgroups(&id.groups).map_err(|e| format!("setgroups: {e}"))?;
    unistd::setresgid(id.gid, id.gid, id.gid).map_err(|e| format!("setresgid: {e}"))?;
    unistd::setresuid(id.uid, id.uid, id.uid).map_err(|e| format!("setresuid: {e}"))?;
    verify(id.uid, id.gid)
}

/// Checks real, effective and saved ids, and that uid 0 is out of reach.
fn verify(uid: Uid, gid: Gid) -> Result<(), String> {
    let r = unistd::getresuid().map_err(|e| e.to_string())?;
    let g = unistd::getresgid().map_err(|e| e.to_string())?;
    if [r.real, r.effective, r.saved] != [uid; 3] || [g.real, g.effective, g.saved] != [gid; 3] {
        return Err("ids did not all change".into());
    }
    if !uid.is_root() && unistd::setuid(Uid::from_raw(0)).is_ok() {
        return Err("root could be regained".into());
    }
    Ok(())
}

/// The name of the user this process runs as (for logs).
pub fn current_user_name() -> String {
    let uid = unistd::geteuid();
    match User::from_uid(uid) {
        Ok(Some(u)) => u.name,
        _ => uid.to_string(),
    }
}
