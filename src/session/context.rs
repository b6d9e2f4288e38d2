//! The session's [`Context`]: what the listener hands every session it forks,
//! put together in one place ([`Context::new`]) from what a configuration
//! load gives ([`Loaded`]) and what lasts the listener's life ([`Lasting`]).

use super::Session;
use crate::dispatch::Spec;
use std::sync::Arc;

/// Everything a session needs from the daemon, fixed at fork time.
pub struct Context {
    /// The configuration in force when the connection was accepted.
    pub cfg: crate::config::Config,
    /// The command table the session dispatches through (the daemon hands
    /// it the commands' `TABLE`: the session never names a command family).
    pub commands: &'static [Spec<Session>],
    /// The shared services: key process, FAI issuer, session registry, metrics.
    pub services: crate::services::Services,
    /// Serve as the invoking user (not root, or demo mode): no LOGIN, no switch.
    pub serve_as_self: bool,
    /// `defusr`, resolved by the listener.
    pub defusr: Option<crate::auth::privs::Identity>,
    /// The listener's own user name (looked up once: an NSS lookup per session
    /// costs more than the rest of a short session's setup).
    pub self_user: String,
    /// The TLB tuples.
    pub tlb: Arc<Vec<String>>,
    /// The transfer log, opened by the listener (so sessions that dropped root
    /// can still append).
    pub xferlog: Option<Arc<crate::xferlog::XferLog>>,
    /// The LOGIN throttle's counters (shared memory, mapped before fork).
    pub throttle: Arc<crate::auth::throttle::Throttle>,
    /// The per-user and node-wide bandwidth buckets (shared memory, mapped before fork).
    pub buckets: Arc<tfp_channel::bandwidth::Buckets>,
    /// `shared_state_dir`, checked and held open by the listener: LOGIN reaches
    /// the shared throttle only through it.
    pub shared_state: Option<Arc<crate::auth::shared_state::StateDir>>,
}

/// What a configuration load gives a [`Context`]: the listener's start and
/// every reload make these anew.
pub struct Loaded {
    /// See [`Context::cfg`].
    pub cfg: crate::config::Config,
    /// See [`Context::defusr`].
    pub defusr: Option<crate::auth::privs::Identity>,
    /// See [`Context::tlb`].
    pub tlb: Arc<Vec<String>>,
    /// See [`Context::xferlog`].
    pub xferlog: Option<Arc<crate::xferlog::XferLog>>,
    /// See [`Context::shared_state`].
    pub shared_state: Option<Arc<crate::auth::shared_state::StateDir>>,
}

/// What a [`Context`] keeps for the listener's life: made at its start, the
/// same through reloads and helper restarts.
#[derive(Clone)]
pub struct Lasting {
    /// See [`Context::commands`].
    pub commands: &'static [Spec<Session>],
    /// See [`Context::serve_as_self`].
    pub serve_as_self: bool,
    /// See [`Context::self_user`].
    pub self_user: String,
    /// See [`Context::throttle`].
    pub throttle: Arc<crate::auth::throttle::Throttle>,
    /// See [`Context::buckets`].
    pub buckets: Arc<tfp_channel::bandwidth::Buckets>,
}

impl Context {
    /// The one place a context is put together (the listener's start, a
    /// reload, a helper's restart), so a new field is given in one place.
    pub fn new(loaded: Loaded, services: crate::services::Services, lasting: Lasting) -> Context {
        let Loaded {
            cfg,
            defusr,
            tlb,
            xferlog,
            shared_state,
        } = loaded;
        let Lasting {
            commands,
            serve_as_self,
            self_user,
            throttle,
            buckets,
        } = lasting;
        Context {
            cfg,
            commands,
            services,
            serve_as_self,
            defusr,
            self_user,
            tlb,
            xferlog,
            throttle,
            buckets,
            shared_state,
        }
    }

    /// What this context keeps through a reload.
    pub fn lasting(&self) -> Lasting {
        Lasting {
            commands: self.commands,
            serve_as_self: self.serve_as_self,
            self_user: self.self_user.clone(),
            throttle: self.throttle.clone(),
            buckets: self.buckets.clone(),
        }
    }

    /// The same context with another key process's request end (after the key
    /// process was restarted).
    pub fn with_keys(&self, keys: crate::services::keys::KeyLink) -> Context {
        self.with(keys, self.services.fai.clone())
    }

    /// The same context with another FAI issuer's request end.
    pub fn with_fai(&self, fai: Arc<crate::services::fai::FaiLink>) -> Context {
        let keys = self.services.keys.moved();
        self.with(keys, fai)
    }

    fn with(&self, keys: crate::services::keys::KeyLink, fai: Arc<crate::services::fai::FaiLink>) -> Context {
        let loaded = Loaded {
            cfg: self.cfg.clone(),
            defusr: self.defusr.clone(),
            tlb: self.tlb.clone(),
            xferlog: self.xferlog.clone(),
            shared_state: self.shared_state.clone(),
        };
        let services = crate::services::Services {
            keys,
            fai,
            registry: self.services.registry.clone(),
            metrics: self.services.metrics.clone(),
        };
        Context::new(loaded, services, self.lasting())
    }
}
