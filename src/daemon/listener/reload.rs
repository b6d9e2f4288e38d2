//! SIGHUP/SIGUSR1: the configuration read again and applied to a running daemon.

use super::*;

/// What a reload came to, as `tfd ctl reload` answers it and the log says it.
pub(super) enum ReloadOutcome {
    /// The new configuration is in force; the keys named (if any) changed but
    /// take effect on restart only, their old values still in force.
    Done(Vec<&'static str>),
    /// The old configuration stays, for this reason.
    Refused(String),
}

impl ReloadOutcome {
    /// The control socket's answer: `ok:` when the whole configuration is in
    /// force, `restart:` when some of it waits for one, `error:` when refused.
    pub(super) fn answer(&self) -> String {
        match self {
            ReloadOutcome::Done(keys) if keys.is_empty() => "ok: reload done, the new configuration is in force".into(),
            ReloadOutcome::Done(keys) => {
                let (verb, values, it) = match keys.len() {
                    1 => ("takes", "value stays", "it"),
                    _ => ("take", "values stay", "them"),
                };
                format!(
                    "restart: reload done, but {} changed and {verb} effect on restart only (the old {values} \
                     until then); restart tfd to apply {it}",
                    keys.join(", ")
                )
            }
            ReloadOutcome::Refused(why) => format!("error: reload refused, keeping the old configuration: {why}"),
        }
    }
}

/// Why a reload was refused, in words (each step's own error, shown).
struct Refused(String);

impl<E: std::fmt::Display> From<E> for Refused {
    fn from(e: E) -> Refused {
        Refused(e.to_string())
    }
}

impl Listener {
    pub(super) fn reload(&mut self) -> ReloadOutcome {
        crate::daemon::sd_notify::reloading();
        let outcome = match self.apply_reload() {
            Ok(restart) => {
                for key in &restart {
                    warn!("reload: {key} changed; it takes effect on restart only");
                }
                ReloadOutcome::Done(restart)
            }
            Err(Refused(why)) => {
                error!("reload refused, keeping the old configuration: {why}");
                ReloadOutcome::Refused(why)
            }
        };
        // whether applied or refused, the old or new configuration is in force
        crate::daemon::sd_notify::ready();
        outcome
    }

    /// The keys of `cfg` a running tfd cannot take (its sockets, the UDP
    /// responder's user, the token store are set up at start) that differ
    /// from those in force; each is given its running value back, so that
    /// the next reload compares against what is really in force.
    fn restart_only(&self, cfg: &mut Config) -> Vec<&'static str> {
        let old = &self.ctx.cfg;
        let mut changed = Vec::new();
        if cfg.listen != old.listen {
            changed.push("listen");
        }
        cfg.listen = old.listen.clone();
        // a demo's socket is set by the demo, not its file: only a socket the
        // file names is compared
        if cfg.control_socket.is_some() && cfg.control_socket != old.control_socket {
            changed.push("control_socket");
        }
        cfg.control_socket = old.control_socket.clone();
        if cfg.udp_user != old.udp_user {
            changed.push("udp_user");
        }
        cfg.udp_user = old.udp_user.clone();
        let fai_dir = self.ctx.services.fai.store().dir();
        if cfg.fai_dir != fai_dir {
            changed.push("fai_dir");
        }
        cfg.fai_dir = fai_dir.to_path_buf();
        changed
    }

    /// Applies the configuration file afresh: Ok(the keys that wait for a
    /// restart), or Err(why it was refused) with the old configuration kept.
    fn apply_reload(&mut self) -> Result<Vec<&'static str>, Refused> {
        let Some(path) = self.opts.config_path.clone() else {
            return Err(Refused("tfd was started without a config file".into()));
        };
        let mut cfg = Config::load(&path).and_then(|c| c.validate().map(|_| c))?;
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
            return Err(Refused(errors.replace('\n', "; ")));
        }
        let defusr = resolve_defusr(&cfg, self.opts.serve_as_self)?;

        let tlb = load_tlb(&cfg)?;
        // checked again even when unchanged: an ancestor may have become
        // writable, or the directory been swapped, since the start
        let (shared_state, shared_bans) = match shared_bans(&cfg, self.ctx.shared_state.as_ref()) {
            Ok(c) => c,
            Err(e) => return Err(Refused(format!("{e} (the state directory is held open)"))),
        };
        // the same directory keeps its cache (None here)
        let same_dir = shared_state.is_some() && shared_bans.is_none();
        // rotation: rename the log, then SIGHUP; a new file is opened here
        let xferlog = open_xferlog(&cfg)?;
        let log_file = match cfg.log_file.as_deref().map(crate::logging::open_append).transpose() {
            Ok(f) => f,
            Err(e) => {
                let path = cfg.log_file.as_deref().unwrap_or(std::path::Path::new(""));
                return Err(Refused(format!("log_file {}: {e}", path.display())));
            }
        };
        let rsa = crate::daemon::load_key(&cfg)?;
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
            Err(e) => return Err(Refused(format!("FAI server identity: {e}"))),
        };
        // the old key process answers the sessions still holding its request end,
        // and ends once they have all closed it; the new one starts at the new boost
        crate::services::priority::boost(cfg.priority_boost, cfg.priority_boost_asked);
        let keys = match self.spawn_keys(&rsa) {
            Ok(k) => k,
            Err(e) => {
                crate::services::priority::boost(self.ctx.cfg.priority_boost, self.ctx.cfg.priority_boost_asked);
                return Err(e.into());
            }
        };
        drop(rsa);
        // the same directory keeps its cache (the bans it knew, should the
        // file be damaged later); another one starts from what it holds
        if !same_dir {
            self.shared_bans = shared_bans;
        }
        let restart = self.restart_only(&mut cfg);
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
            _ if log_file.is_some() => crate::logging::LogTarget::File,
            (true, crate::logging::LogTarget::Stderr) => crate::logging::LogTarget::Syslog,
            (_, t) => t,
        };
        if let Some(file) = log_file {
            // rotation: the renamed file is left, the new one takes its place
            if let Err(e) = crate::logging::to_file(file) {
                warn!("reload: log_file: {e}; logging goes on to the file opened before");
            }
        }
        crate::logging::init(target, self.ctx.cfg.log_level.as_deref().and_then(|l| l.parse().ok()));
        info!("configuration reloaded from {}", path.display());
        Ok(restart)
    }
}
