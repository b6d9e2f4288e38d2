//! SIGHUP/SIGUSR1: the configuration read again and applied to a running daemon.

use super::*;

impl Listener {
    pub(super) fn reload(&mut self) {
        crate::daemon::sd_notify::reloading();
        self.apply_reload();
        // whether applied or refused, the old or new configuration is in force
        crate::daemon::sd_notify::ready();
    }

    pub(super) fn apply_reload(&mut self) {
        let Some(path) = self.opts.config_path.clone() else {
            warn!("reload requested but tfd was started without a config file; ignored");
            return;
        };
        let cfg = match Config::load(&path).and_then(|c| c.validate().map(|_| c)) {
            Ok(c) => c,
            Err(e) => {
                error!("reload refused, keeping the old configuration: {e}");
                return;
            }
        };
        // the start's own checks (daemon/checks.rs): a configuration tfd would
        // not start with is not taken on by a running one either
        let how = crate::daemon::checks::Setting {
            is_root: tfd_sys::geteuid() == 0,
            demo: self.opts.serve_as_self,
            pidfile: self.opts.daemon_pidfile.clone(),
            config: self.opts.config_path.clone(),
        };
        let findings = crate::daemon::checks::run(&cfg, &how);
        for f in &findings {
            if let crate::daemon::checks::Finding::Warning(w) = f {
                warn!("reload: {w}");
            }
        }
        if let Some(errors) = crate::daemon::checks::verdict(&findings) {
            error!(
                "reload refused, keeping the old configuration: {}",
                errors.replace('\n', "; ")
            );
            return;
        }
        let defusr = match resolve_defusr(&cfg, self.opts.serve_as_self) {
            Ok(d) => d,
            Err(e) => {
                error!("reload refused, keeping the old configuration: {e}");
                return;
            }
        };

        let tlb = match load_tlb(&cfg) {
            Ok(t) => t,
            Err(e) => {
                error!("reload refused, keeping the old configuration: {e}");
                return;
            }
        };
        // checked again even when unchanged: an ancestor may have become
        // writable, or the directory been swapped, since the start
        let (shared_state, shared_bans) = match shared_bans(&cfg, self.ctx.shared_state.as_ref()) {
            Ok(c) => c,
            Err(e) => {
                error!("reload refused, keeping the old configuration (and the state directory held open): {e}");
                return;
            }
        };
        // the same directory keeps its cache (None here)
        let same_dir = shared_state.is_some() && shared_bans.is_none();
        // rotation: rename the log, then SIGHUP; a new file is opened here
        let xferlog = match open_xferlog(&cfg) {
            Ok(x) => x,
            Err(e) => {
                error!("reload refused, keeping the old configuration: {e}");
                return;
            }
        };
        let rsa = match crate::daemon::load_key(&cfg) {
            Ok(k) => k,
            Err(e) => {
                error!("reload refused, keeping the old configuration: {e}");
                return;
            }
        };
        // a new key is a new server identity: tokens issued from now on are
        // bound to it, and the old key's tokens are unknown (fai_dir stays)
        let fai = match crate::auth::fai::server_id(&rsa) {
            Ok(id) if id != self.ctx.services.fai.store().server() => {
                info!("reload: a new key; FAI tokens issued under the old one are no longer honoured");
                Some(Arc::new(crate::services::fai::FaiLink::closed(
                    crate::auth::fai::Store::new(self.ctx.services.fai.store().dir(), id),
                )))
            }
            Ok(_) => None,
            Err(e) => {
                error!("reload refused, keeping the old configuration: FAI server identity: {e}");
                return;
            }
        };
        // the old key process answers the sessions still holding its request end,
        // and ends once they have all closed it; the new one starts at the new boost
        crate::services::priority::boost(cfg.priority_boost, cfg.priority_boost_asked);
        let keys = match self.spawn_keys(&rsa) {
            Ok(k) => k,
            Err(e) => {
                crate::services::priority::boost(self.ctx.cfg.priority_boost, self.ctx.cfg.priority_boost_asked);
                error!("reload refused, keeping the old configuration: {e}");
                return;
            }
        };
        drop(rsa);
        if cfg.listen != self.ctx.cfg.listen {
            warn!("reload: listen addresses changed; they take effect on restart only");
        }
        // the same directory keeps its cache (the bans it knew, should the
        // file be damaged later); another one starts from what it holds
        if !same_dir {
            self.shared_bans = shared_bans;
        }
        let mut cfg = cfg;
        cfg.listen = self.ctx.cfg.listen.clone();
        cfg.forget_private_key();
        let loaded = Loaded {
            cfg,
            defusr,
            tlb: tlb.clone(),
            xferlog,
            shared_state,
        };
        let services = crate::services::Services {
            keys,
            fai: fai.clone().unwrap_or_else(|| self.ctx.services.fai.clone()),
            registry: self.ctx.services.registry.clone(),
            metrics: self.ctx.services.metrics.clone(),
        };
        // the command table, serve_as_self (the same options), the user name
        // and the shared tables last the listener's life
        self.ctx = Arc::new(Context::new(loaded, services, self.ctx.lasting()));
        if fai.is_some() {
            // the old issuer ends once the sessions holding its request end have
            self.helpers.cancel(Helper::Fai);
            self.spawn_fai();
        }
        // the responder holds the old TLB list: replace it
        self.udp.tlb = tlb;
        self.udp.trp = self.ctx.cfg.trp.clone().map(|t| (t, self.ctx.cfg.port));
        if let Some(old) = self.helpers.forget(Helper::Udp) {
            let _ = kill(Pid::from_raw(old), Signal::SIGTERM);
        }
        self.spawn_udp();
        // a daemon's stderr is /dev/null: it keeps logging to syslog
        let target = match (self.opts.daemon_pidfile.is_some(), self.ctx.cfg.log_target) {
            (true, crate::logging::LogTarget::Stderr) => crate::logging::LogTarget::Syslog,
            (_, t) => t,
        };
        crate::logging::init(target, self.ctx.cfg.log_level.as_deref().and_then(|l| l.parse().ok()));
        info!("configuration reloaded from {}", path.display());
    }
}
