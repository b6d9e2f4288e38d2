//! The identity transition: a session process confined to a jail and turned
//! into its user for good. The handshake (`defusr`), LOGIN, INJAIL, the FAI
//! entrance, LOCKSYS and FLYCONTEXT all go through [`enter`], so the order is
//! written once:
//!
//! 1. read what lives outside the jail while it is still reachable: CHOWN's
//!    name tables, the zone database, `/proc` (uploads name their temporaries
//!    through it);
//! 2. `chroot` into the jail: it needs root, so it comes before root goes;
//! 3. supplementary groups, then gid, then uid, then proof that root cannot
//!    be regained ([`privs::switch`]): the ids that can still change the others
//!    go last.
//!
//! Fail closed: a failure before the `chroot` leaves the process as it was, and
//! the command may be refused with the session going on; from the `chroot` on,
//! a failure leaves a process that is neither the old session nor the new one,
//! and the session must end ([`SwitchError::Broken`]).

use crate::auth::names::NameTables;
use crate::auth::privs::{self, Identity};
use crate::fsys::Root;
use std::os::fd::{AsRawFd, OwnedFd};
use std::path::Path;

/// What a session becomes.
pub(crate) struct Target<'a> {
    /// The directory to confine the session to (opened and judged by the
    /// caller), if any.
    pub jail: Option<&'a OwnedFd>,
    /// The user to become for good, if any (None: the process stays who it is).
    pub user: Option<&'a Identity>,
    /// CHOWN's name tables are held already (read before an earlier chroot:
    /// after it `/etc` is the jail's own, which must not be read).
    pub have_names: bool,
}

/// A finished transition.
pub(crate) struct Entered {
    /// The session's new root (None: no jail was given).
    pub root: Option<Root>,
    /// The confinement is a real chroot (the process was root), not only the
    /// descriptor tfd's own path resolution honours.
    pub chrooted: bool,
    /// CHOWN's name tables, read before the chroot (None: not chrooted, or
    /// [`Target::have_names`]).
    pub names: Option<NameTables>,
}

/// Why a transition did not finish, and what that left.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum SwitchError {
    /// Nothing that matters changed: the command may be refused and the
    /// session go on as it was.
    Untouched(String),
    /// The process may be part-way (chrooted, or some of its ids changed):
    /// the session must end.
    Broken(String),
}

impl std::fmt::Display for SwitchError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SwitchError::Untouched(e) => write!(f, "{e}"),
            SwitchError::Broken(e) => write!(f, "{e} (part-way: the session cannot go on)"),
        }
    }
}

/// The transition, in its one order (see the module's documentation).
pub(crate) fn enter(to: Target<'_>) -> Result<Entered, SwitchError> {
    use SwitchError::{Broken, Untouched};
    let as_root = tfd_sys::geteuid() == 0;
    let mut done = Entered {
        root: None,
        chrooted: false,
        names: None,
    };
    if let Some(jail) = to.jail {
        nix::unistd::fchdir(jail.as_raw_fd()).map_err(|e| Untouched(format!("fchdir: {e}")))?;
        if as_root {
            // 1: the outside, while it is reachable
            if !to.have_names {
                done.names = Some(NameTables::load());
            }
            crate::services::tz::preload();
            crate::fsys::upload::prepare();
            // 2: the chroot; from here on there is no way back
            nix::unistd::chroot(".").map_err(|e| Untouched(format!("chroot: {e}")))?;
            nix::unistd::chdir("/").map_err(|e| Broken(format!("chdir into the chroot: {e}")))?;
            let root = Root::open_root(Path::new("/")).map_err(|e| Broken(format!("opening the jail's /: {e}")))?;
            done.root = Some(root);
            done.chrooted = true;
        } else {
            // no chroot without root: the directory becomes the descriptor every
            // path resolves beneath
            let root = Root::open_root(Path::new(".")).map_err(|e| Untouched(format!("opening the jail: {e}")))?;
            done.root = Some(root);
        }
    }
    // 3: groups, gid, uid, proof
    if let Some(id) = to.user {
        privs::switch(id).map_err(|e| Broken(format!("switch to {}: {e}", id.name)))?;
    }
    Ok(done)
}

/// The process's ids could not be put back after a step with a user's
/// rights ([`with_rights_of`]): it is neither that user nor itself, and the
/// session must end. Says why in the words of the failed call.
#[derive(Debug)]
pub(crate) struct RightsNotRestored(String);

impl std::fmt::Display for RightsNotRestored {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// [`privs::as_user`]'s failure, which it words itself.
impl From<privs::PrivError> for RightsNotRestored {
    fn from(why: privs::PrivError) -> Self {
        RightsNotRestored(why.to_string())
    }
}

/// Runs `f` with `user`'s effective ids when the process is root (root kept as
/// the saved uid, and taken back after), otherwise as the process is: the jail
/// is opened, and its key read, with the rights of the user who will live in
/// it, before the chroot that still needs root. An error means the ids could
/// not be put back: the session must end.
pub(crate) fn with_rights_of<T>(user: Option<&Identity>, f: impl FnOnce() -> T) -> Result<T, RightsNotRestored> {
    match user {
        Some(id) if tfd_sys::geteuid() == 0 => Ok(privs::as_user(id, f)?),
        _ => Ok(f()),
    }
}

/// RUNBASH's script host for a session about to be confined to `jail` as
/// `user`: a new PID namespace needs root and a process outside the
/// chroot-to-be, so it is made now or never. Without it the session goes on
/// and RUNBASH refuses.
pub(crate) fn script_host(
    jail: &OwnedFd,
    user: Option<&Identity>,
    runbash: Option<crate::config::RunBash>,
    peer: std::net::SocketAddr,
    what: &str,
) -> Option<crate::sandbox::Host> {
    let (Some(id), Some(rb), true) = (user, runbash, tfd_sys::geteuid() == 0) else {
        return None;
    };
    match crate::sandbox::Host::spawn(jail, id, Some(crate::sandbox::GroupLimits::of(&rb))) {
        Ok((host, how)) => {
            log::info!("{peer} RUNBASH script host ready: {how}");
            Some(host)
        }
        Err(e) => {
            log::warn!("{peer} {what}: no RUNBASH script host: {e}");
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use nix::sys::resource::{getrlimit, setrlimit, Resource};
    use nix::sys::wait::{waitpid, WaitStatus};
    use nix::unistd::Pid;

    /// Runs `f` in a child process (a chroot or a descriptor limit must not
    /// reach the test runner) and returns its exit code.
    fn in_child(f: impl FnOnce() -> i32) -> i32 {
        match tfd_sys::fork().unwrap() {
            tfd_sys::Fork::Child => {
                let code = f();
                tfd_sys::exit_now(code)
            }
            tfd_sys::Fork::Parent(pid) => match waitpid(Pid::from_raw(pid), None).unwrap() {
                WaitStatus::Exited(_, code) => code,
                other => panic!("child: {other:?}"),
            },
        }
    }

    fn verdict(r: Result<Entered, SwitchError>) -> i32 {
        match r {
            Ok(_) => 10,
            Err(SwitchError::Untouched(_)) => 11,
            Err(SwitchError::Broken(_)) => 12,
        }
    }

    /// Once the process is chrooted, failing to open the jail's `/` cannot
    /// leave the session going on with its old root descriptor (outside the
    /// jail): the error says the session must end. Root only (the chroot).
    #[test]
    fn a_failure_after_the_chroot_ends_the_session() {
        if tfd_sys::geteuid() != 0 {
            return;
        }
        let dir = std::env::temp_dir().join(format!("tfd-identity-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let jail: OwnedFd = std::fs::File::open(&dir).unwrap().into();
        let code = in_child(|| {
            // no descriptor left: the chroot works, opening `/` in it does not
            let Ok(lowest) = nix::unistd::dup(jail.as_raw_fd()) else {
                return 1;
            };
            let _ = nix::unistd::close(lowest);
            let Ok((_, hard)) = getrlimit(Resource::RLIMIT_NOFILE) else {
                return 1;
            };
            if setrlimit(Resource::RLIMIT_NOFILE, lowest as u64, hard).is_err() {
                return 1;
            }
            verdict(enter(Target {
                jail: Some(&jail),
                user: None,
                have_names: true,
            }))
        });
        let _ = std::fs::remove_dir(&dir);
        assert_eq!(code, 12, "10: entered, 11: untouched, 12: broken");
    }

    /// A jail that cannot be entered at all leaves the process as it was.
    #[test]
    fn a_failure_before_the_chroot_leaves_the_session_as_it_was() {
        let file = std::env::temp_dir().join(format!("tfd-identity-file-{}", std::process::id()));
        std::fs::write(&file, b"").unwrap();
        let not_a_dir: OwnedFd = std::fs::File::open(&file).unwrap().into();
        let code = in_child(|| {
            verdict(enter(Target {
                jail: Some(&not_a_dir),
                user: None,
                have_names: true,
            }))
        });
        let _ = std::fs::remove_file(&file);
        assert_eq!(code, 11, "10: entered, 11: untouched, 12: broken");
    }
}
