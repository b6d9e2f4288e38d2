//! Dropping root for good: supplementary groups, then gid, then uid (the order
//! sudo-rs and OpenSSH use), then proof that root cannot be regained.

use nix::errno::Errno;
use nix::unistd::{self, Gid, Uid, User};
use std::ffi::CString;
use std::fmt;

/// Why a user could not be looked up or taken on: logged, or told the
/// operator at start, as it displays.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PrivError {
    /// No system user of this name.
    NoUser(String),
    /// The user database could not be asked about this name.
    Lookup(String, Errno),
    /// The name holds a NUL, which no C call can take.
    NulInName,
    /// A system call failed: its name and the error.
    Call(&'static str, Errno),
    /// The ids could not be read back to check them.
    ReadBack(Errno),
    /// Real, effective and saved ids are not all the new ones.
    NotAllChanged,
    /// uid 0 could be taken back after the switch.
    RootRegained,
    /// [`as_user`] could not take on the user's ids: the user and the error.
    TakeOn(String, Errno),
    /// [`as_user`] could not put the original ids back.
    NotBack,
    /// [`as_user`]'s step did not run (the ids were not taken on).
    NotRun,
}

impl fmt::Display for PrivError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PrivError::NoUser(name) => write!(f, "system user {name:?} does not exist"),
            PrivError::Lookup(name, e) => write!(f, "looking up {name:?}: {e}"),
            PrivError::NulInName => f.write_str("user name has a NUL"),
            PrivError::Call(call, e) => write!(f, "{call}: {e}"),
            PrivError::ReadBack(e) => write!(f, "{e}"),
            PrivError::NotAllChanged => f.write_str("ids did not all change"),
            PrivError::RootRegained => f.write_str("root could be regained"),
            PrivError::TakeOn(name, e) => write!(f, "taking on {name}'s ids: {e}"),
            PrivError::NotBack => f.write_str("the original ids did not come back"),
            PrivError::NotRun => f.write_str("not run"),
        }
    }
}

impl std::error::Error for PrivError {}

/// A user name with a NUL, which no C call can take.
impl From<std::ffi::NulError> for PrivError {
    fn from(_: std::ffi::NulError) -> PrivError {
        PrivError::NulInName
    }
}

/// For the callers that still say what failed as a message.
impl From<PrivError> for String {
    fn from(e: PrivError) -> String {
        e.to_string()
    }
}

/// Names the system call (or step) an error came from: `.named("setgroups")?`.
trait Named<T> {
    /// The error as [`PrivError::Call`] of `call`.
    fn named(self, call: &'static str) -> Result<T, PrivError>;
}

impl<T> Named<T> for nix::Result<T> {
    fn named(self, call: &'static str) -> Result<T, PrivError> {
        self.map_err(|e| PrivError::Call(call, e))
    }
}

/// Looks a system user up (before any chroot, while /etc is reachable).
pub fn lookup(name: &str) -> Result<User, PrivError> {
    match User::from_name(name) {
        Ok(Some(u)) => Ok(u),
        Ok(None) => Err(PrivError::NoUser(name.to_string())),
        Err(e) => Err(PrivError::Lookup(name.to_string(), e)),
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
pub fn resolve(name: &str) -> Result<Identity, PrivError> {
    let u = lookup(name)?;
    let cname = CString::new(u.name.as_bytes())?;
    let groups = unistd::getgrouplist(&cname, u.gid).named("getgrouplist")?;
    Ok(Identity {
        name: u.name,
        uid: u.uid,
        gid: u.gid,
        groups,
    })
}

/// Switches the whole process to `name` irrevocably.
pub fn become_user(name: &str) -> Result<(), PrivError> {
    switch(&resolve(name)?)
}

/// Switches to a resolved identity: supplementary groups, gid, uid, then proof.
pub fn switch(id: &Identity) -> Result<(), PrivError> {
    unistd::setgroups(&id.groups).named("setgroups")?;
    unistd::setresgid(id.gid, id.gid, id.gid).named("setresgid")?;
    let switched = unistd::setresuid(id.uid, id.uid, id.uid).named("setresuid");
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
pub fn as_user<T>(id: &Identity, f: impl FnOnce() -> T) -> Result<T, PrivError> {
    let groups = unistd::getgroups().named("getgroups")?;
    let u = unistd::getresuid().named("getresuid")?;
    let g = unistd::getresgid().named("getresgid")?;
    let dropped = unistd::setgroups(&id.groups)
        .and_then(|_| unistd::setresgid(g.real, id.gid, g.saved))
        .and_then(|_| unistd::setresuid(u.real, id.uid, u.saved));
    let out = dropped.is_ok().then(f);
    // back in reverse order: the effective uid first (allowed: the saved uid is
    // root), which makes the rest possible
    let restored = unistd::setresuid(u.real, u.effective, u.saved)
        .and_then(|_| unistd::setresgid(g.real, g.effective, g.saved))
        .and_then(|_| unistd::setgroups(&groups))
        .named("taking the original ids back");
    // each id change above made the kernel forget the die-with-the-listener request
    tfd_sys::die_with_parent();
    restored?;
    if unistd::geteuid() != u.effective || unistd::getegid() != g.effective {
        return Err(PrivError::NotBack);
    }
    match (dropped, out) {
        (Err(e), _) => Err(PrivError::TakeOn(id.name.clone(), e)),
        (Ok(_), Some(out)) => Ok(out),
        (Ok(_), None) => Err(PrivError::NotRun),
    }
}

/// Checks real, effective and saved ids, and that uid 0 is out of reach.
fn verify(uid: Uid, gid: Gid) -> Result<(), PrivError> {
    let (r, g) = unistd::getresuid()
        .and_then(|r| Ok((r, unistd::getresgid()?)))
        .map_err(PrivError::ReadBack)?;
    if [r.real, r.effective, r.saved] != [uid; 3] || [g.real, g.effective, g.saved] != [gid; 3] {
        return Err(PrivError::NotAllChanged);
    }
    if !uid.is_root() && unistd::setuid(Uid::from_raw(0)).is_ok() {
        return Err(PrivError::RootRegained);
    }
    Ok(())
}

/// The name of the user this process runs as (for logs).
pub(crate) fn current_user_name() -> String {
    let uid = unistd::geteuid();
    match User::from_uid(uid) {
        Ok(Some(u)) => u.name,
        _ => uid.to_string(),
    }
}
