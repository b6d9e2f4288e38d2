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
    let switched = unistd::setresuid(id.uid, id.uid, id.uid).map_err(|e| format!("setresuid: {e}"));
    // the kernel dropped the die-with-the-listener request with the old ids
    tfd_sys::die_with_parent();
    switched?;
    verify(id.uid, id.gid)
}

/// Runs `f` with the effective uid, gid and groups of `id`, keeping root as the
/// saved uid, then takes root back. This is for the one step that must happen
/// with the user's rights but before a chroot that needs root: INJAIL opening the
/// jail and reading its key file. An error means the process could not be put
/// back as it was; the caller must end the session.
pub fn as_user<T>(id: &Identity, f: impl FnOnce() -> T) -> Result<T, String> {
    let groups = unistd::getgroups().map_err(|e| format!("getgroups: {e}"))?;
    let u = unistd::getresuid().map_err(|e| format!("getresuid: {e}"))?;
    let g = unistd::getresgid().map_err(|e| format!("getresgid: {e}"))?;
    let dropped = unistd::setgroups(&id.groups)
        .and_then(|_| unistd::setresgid(g.real, id.gid, g.saved))
        .and_then(|_| unistd::setresuid(u.real, id.uid, u.saved));
    let out = dropped.is_ok().then(f);
    // back in reverse order: the effective uid first (allowed: the saved uid is
    // root), which makes the rest possible
    let restored = unistd::setresuid(u.real, u.effective, u.saved)
        .and_then(|_| unistd::setresgid(g.real, g.effective, g.saved))
        .and_then(|_| unistd::setgroups(&groups))
        .map_err(|e| format!("taking the original ids back: {e}"));
    // each id change above made the kernel forget the die-with-the-listener request
    tfd_sys::die_with_parent();
    restored?;
    if unistd::geteuid() != u.effective || unistd::getegid() != g.effective {
        return Err("the original ids did not come back".into());
    }
    dropped.map_err(|e| format!("taking on {}'s ids: {e}", id.name))?;
    out.ok_or_else(|| "not run".to_string())
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
