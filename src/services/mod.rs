//! The shared services below the session: what the daemon sets up before the
//! first fork and every session process then uses through one handle,
//! [`Services`] (in the session's context) — the live session table
//! ([`registry`]), the counters ([`metrics`]), the key process ([`keys`]), the FAI
//! issuer ([`fai`]), the link to such helpers ([`helper_link`]), their scheduling
//! ([`priority`]), the TRP relay ([`proxy`]), the TLB list ([`tlb`]) and the zone
//! database ([`tz`]). Nothing here reaches up into the session, the commands or
//! the daemon: what they need from above comes in as values.
#![forbid(unsafe_code)]

pub mod fai;
pub mod helper_link;
pub mod keys;
pub mod metrics;
pub mod priority;
pub mod proxy;
pub mod registry;
pub mod tlb;
pub mod tz;

use std::sync::Arc;

/// What a session reaches of the shared services, fixed at fork time. The zone
/// database ([`tz`]) is a process-wide descriptor and needs no field.
pub struct Services {
    /// The way to the key process, which alone holds the private key; closed by
    /// each session as soon as its handshake has the session key.
    pub keys: keys::KeyLink,
    /// The way to the FAI issuer (FAITOK) and the token store (entrances).
    pub fai: Arc<fai::FaiLink>,
    /// The live session table (shared memory).
    pub registry: Arc<registry::Registry>,
    /// The counters behind `tfd ctl metrics` (shared memory, mapped before fork).
    pub metrics: Arc<metrics::Metrics>,
}

/// The signals the listener turns into events; every helper process takes their
/// default action back at fork ([`crate::sys::fork_helper`]).
pub(crate) const SIGNALS: [i32; 5] = [libc::SIGCHLD, libc::SIGTERM, libc::SIGINT, libc::SIGHUP, libc::SIGUSR1];

/// The first steps of a long-lived helper process (the key process, the UDP
/// responder) right after [`crate::sys::fork_helper`] (which already restored the
/// default signal actions and tied it to the listener's life): drop the listener's
/// descriptors it must not hold, and switch to `user` (exiting if that fails: a
/// helper never runs with more rights than meant; the switch re-arms the
/// die-with-the-listener request the kernel drops on an id change).
pub(crate) fn helper_child_setup(
    what: &str,
    close_in_child: &[std::os::fd::RawFd],
    user: Option<&crate::auth::privs::Identity>,
) {
    use crate::sys;
    for fd in close_in_child {
        sys::close_fd(*fd);
    }
    if let Some(id) = user {
        if let Err(e) = crate::auth::privs::switch(id) {
            log::error!("{what}: cannot drop privileges to {}: {e}", id.name);
            sys::exit_now(1);
        }
    }
}
