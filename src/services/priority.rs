//! Scheduling priority of the shared processes.
//!
//! Why: every new connection goes through the listener (accept, fork) and every
//! handshake through the key process; under load they compete for the CPU with
//! every busy session, one task among hundreds, and new clients queue behind
//! them (measured on 2 cores with 64 busy clients: 160 ms to get the session
//! key back, 24 ms to be accepted). `priority_boost` runs the listener, the key
//! process and the FAI issuer that many nice levels above sessions, and each
//! session while it is set up (handshake and transport upgrade: a new client's
//! few steps then do not wait behind the busy sessions either). A session's
//! commands and the UDP responder (which any host on the network can keep busy)
//! run at the nice value tfd was started with. The boost needs CAP_SYS_NICE;
//! without it everything simply runs at the starting value.

use log::{info, warn};
use std::sync::OnceLock;
use tfd_sys as sys;

/// The nice value tfd was started with (read once, before any boost).
static BASE: OnceLock<i32> = OnceLock::new();

fn base() -> i32 {
    *BASE.get_or_init(|| sys::nice().unwrap_or(0))
}

/// Puts the calling (single-threaded) listener `levels` nice levels above the
/// starting value; helpers forked afterwards inherit it. Called at start and
/// on every reload, so a changed `priority_boost` applies to what is forked next.
/// A boost the configuration did not ask for (`asked` false: the default)
/// that cannot be had is said at info level: an ordinary user's tfd (`tfd
/// demo`) has no CAP_SYS_NICE, and was warned of a key it never wrote.
pub fn boost(levels: u8, asked: bool) {
    let base = base();
    let want = (base - i32::from(levels)).max(-20);
    match sys::set_nice(want) {
        Ok(()) if levels > 0 => {
            info!("listener and helpers at nice {want}, sessions at {base} (priority_boost {levels})")
        }
        Ok(()) => {}
        Err(e) if asked => {
            warn!("priority_boost {levels}: cannot set nice {want} ({e}); everything runs at nice {base}")
        }
        Err(e) => info!("no priority boost (the default priority_boost {levels} needs CAP_SYS_NICE: {e}); everything runs at nice {base}"),
    }
}

/// Back to the starting value, in a process that must not keep the boost (a
/// session at its first command after set-up, a relay, the UDP responder).
/// Raising one's own nice value never fails for want of privilege.
pub(crate) fn unboost() {
    let _ = sys::set_nice(base());
}
