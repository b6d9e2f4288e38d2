//! The sweeper: a small helper process that removes the upload temporaries
//! killed sessions left ([`crate::fsys::sweep`]), at start and then one pass
//! every `sweep_interval`, each pass looking at a bounded number of entries.
//!
//! Why a process: the listener stays single-threaded and never touches the
//! tree (a hung network file system must not stop it accepting), and
//! sessions end with their client. It keeps root, as the listener: the
//! temporaries belong to every user, in directories only they may write; it
//! never reads a protocol byte, opens nothing but directories (no symlink
//! followed) and removes nothing but an old `.tfd-part-*` file nobody holds
//! locked.

use crate::fsys::sweep::Sweeper;
use log::{error, info, warn};
use std::os::fd::{OwnedFd, RawFd};
use std::path::Path;
use std::time::Duration;
use tfd_sys::{self as sys, Fork};

/// Entries one pass looks at (a directory is never split: a pass may look at
/// one directory's worth more).
pub(crate) const PASS_BUDGET: u64 = 20_000;

/// Forks the sweeper over `dbdir`, a pass every `every`; returns its pid.
pub fn spawn(dbdir: &Path, every: Duration, close_in_child: &[RawFd]) -> std::io::Result<i32> {
    use std::os::unix::fs::OpenOptionsExt;
    let root: OwnedFd = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_DIRECTORY | libc::O_CLOEXEC)
        .open(dbdir)?
        .into();
    match sys::fork_helper(&super::SIGNALS)? {
        Fork::Parent(pid) => Ok(pid),
        Fork::Child => {
            crate::services::helper_child_setup(crate::services::Helper::Sweeper, close_in_child, None);
            sys::set_nondumpable();
            sys::exit_now(run(root, every))
        }
    }
}

/// The body, in a thread named `sweep` (how `ps -L` and the tests tell it
/// from a session).
fn run(root: OwnedFd, every: Duration) -> i32 {
    let body = move || {
        let mut s = Sweeper::new(root);
        info!("sweeper ready (a pass every {} s)", every.as_secs());
        loop {
            let p = s.pass(PASS_BUDGET);
            if p.removed > 0 {
                warn!(
                    "sweeper: removed {} upload temporar{} left by ended sessions",
                    p.removed,
                    if p.removed == 1 { "y" } else { "ies" }
                );
            }
            // one bounded pass per interval, finished round or not: a big
            // tree takes several intervals to go round, and never keeps the
            // disk (or a shared volume) busy
            if p.round_done {
                log::debug!("sweeper: round done");
            }
            std::thread::sleep(every);
        }
    };
    match crate::services::Helper::Sweeper.thread_builder().spawn(body) {
        Ok(h) => h.join().map(|()| 0).unwrap_or(1),
        Err(e) => {
            error!("sweeper: cannot start its thread: {e}");
            1
        }
    }
}
