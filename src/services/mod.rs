//! The shared services below the session: what the daemon sets up before the
//! first fork and every session process then uses through one handle,
//! [`Services`] (in the session's context) — the live session table
//! ([`registry`]), the counters ([`metrics`]), the key process ([`keys`]), the FAI
//! issuer ([`fai`]), the link to such helpers ([`helper_link`]), their scheduling
//! ([`priority`]), the TRP relay ([`proxy`]), the TLB list ([`tlb`]) and the zone
//! database ([`tz`]). Nothing here reaches up into the session, the commands or
//! the daemon: what they need from above comes in as values.

pub mod fai;
pub mod helper_link;
pub mod keys;
pub mod memory_budget;
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
/// default action back at fork ([`tfd_sys::fork_helper`]).
pub(crate) const SIGNALS: [i32; 5] = [libc::SIGCHLD, libc::SIGTERM, libc::SIGINT, libc::SIGHUP, libc::SIGUSR1];

/// The listener's long-lived helper processes, the one list of them. Each runs
/// its work in threads named after its kind ([`Helper::thread`]): that name is
/// how `ps -L`, `tfd`'s own tests and the soak tell a helper from a session
/// process, so they read this table rather than keep copies that go stale (the
/// soak once counted the newer sweeper as a session left behind). The RUNBASH
/// host is not here: it is a session's child, never the listener's.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Helper {
    /// The key process ([`keys`]), which alone holds the private key.
    Keys,
    /// The UDP responder (the daemon's `udp`).
    Udp,
    /// The FAI issuer ([`fai`]).
    Fai,
    /// The sweeper of upload temporaries (the daemon's `sweeper`).
    Sweeper,
}

impl Helper {
    /// Every helper the listener may start.
    pub const ALL: [Helper; 4] = [Helper::Keys, Helper::Udp, Helper::Fai, Helper::Sweeper];

    /// The name of the helper's worker threads (at most 15 bytes: the kernel's
    /// `comm`).
    pub const fn thread(self) -> &'static str {
        match self {
            Helper::Keys => "keys",
            Helper::Udp => "udp",
            Helper::Fai => "fai",
            Helper::Sweeper => "sweep",
        }
    }

    /// What the logs call it.
    pub const fn what(self) -> &'static str {
        match self {
            Helper::Keys => "key process",
            Helper::Udp => "udp responder",
            Helper::Fai => "FAI issuer",
            Helper::Sweeper => "sweeper",
        }
    }

    /// The helper whose threads are named `thread`.
    pub fn named(thread: &str) -> Option<Helper> {
        Helper::ALL.into_iter().find(|h| h.thread() == thread)
    }

    /// Which helper process `pid` is, judged by its threads' names in /proc;
    /// None for a session process (or one that is gone).
    pub fn of_process(pid: u32) -> Option<Helper> {
        std::fs::read_dir(format!("/proc/{pid}/task"))
            .ok()?
            .flatten()
            .find_map(|t| Helper::named(std::fs::read_to_string(t.path().join("comm")).ok()?.trim()))
    }

    /// A builder for one of the helper's worker threads, named so.
    pub(crate) fn thread_builder(self) -> std::thread::Builder {
        std::thread::Builder::new().name(self.thread().into())
    }
}

/// The first steps of a long-lived helper process (the key process, the UDP
/// responder) right after [`tfd_sys::fork_helper`] (which already restored the
/// default signal actions and tied it to the listener's life): drop the listener's
/// descriptors it must not hold, and switch to `user` (exiting if that fails: a
/// helper never runs with more rights than meant; the switch re-arms the
/// die-with-the-listener request the kernel drops on an id change).
pub(crate) fn helper_child_setup(
    what: Helper,
    close_in_child: &[std::os::fd::RawFd],
    user: Option<&crate::auth::privs::Identity>,
) {
    use tfd_sys as sys;
    for fd in close_in_child {
        sys::close_fd(*fd);
    }
    if let Some(id) = user {
        if let Err(e) = crate::auth::privs::switch(id) {
            log::error!("{}: cannot drop privileges to {}: {e}", what.what(), id.name);
            sys::exit_now(1);
        }
    }
}
