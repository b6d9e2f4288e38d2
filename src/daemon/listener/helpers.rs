//! The helper processes the listener starts and restarts: the UDP responder,
//! the upload sweeper, the FAI store and the key process (their pids and
//! restarts: supervisor.rs).

use super::*;

impl Listener {
    /// Starts (or restarts) the UDP responder process.
    pub(super) fn spawn_udp(&mut self) {
        // not even its own sockets' originals: it works on clones made before fork
        let keep_out = self.helper_must_close();
        match crate::daemon::udp::spawn(&self.udp, self.udp_user.as_ref(), &keep_out) {
            Ok(pid) => self.helpers.started(Helper::Udp, pid),
            Err(e) => error!("cannot start the UDP responder: {e}"),
        }
    }

    /// Descriptors a helper process forked now must not inherit: the listening
    /// sockets, the UDP sockets, the control socket, the signal pipe and the key
    /// process's request end. A process holding any of them after the listener
    /// died would keep the port (or the control socket) busy and block a restart.
    /// Sessions keep only the request end ([`Listener::session_must_close`]).
    pub(super) fn helper_must_close(&self) -> Vec<std::os::fd::RawFd> {
        use std::os::fd::AsRawFd;
        let mut fds: Vec<_> = self.listeners.iter().map(|l| l.as_raw_fd()).collect();
        fds.extend(self.udp.sockets.iter().map(|s| s.as_raw_fd()));
        fds.extend(self.control.iter().map(|c| c.as_raw_fd()));
        fds.extend(self.control_conn);
        // other clients' connections still waiting for their PROXY header
        fds.extend(self.waiting.fds().map(|fd| fd.as_raw_fd()));
        fds.push(self.sig_rx.as_raw_fd());
        fds.extend(self.ctx.services.keys.raw_fd());
        fds.extend(self.ctx.services.fai.raw_fd());
        fds.extend(crate::services::tz::database_fd());
        fds.extend(self.ctx.shared_state.as_ref().map(|d| d.raw_fd()));
        fds
    }

    /// [`Listener::helper_must_close`] less what a session needs: the key
    /// process's request end for its handshake (closed right after it) and the
    /// time zone database directory for SETTZ (opened before any chroot).
    pub(super) fn session_must_close(&self) -> Vec<std::os::fd::RawFd> {
        let keep = [
            self.ctx.services.keys.raw_fd(),
            self.ctx.services.fai.raw_fd(),
            crate::services::tz::database_fd(),
            self.ctx.shared_state.as_ref().map(|d| d.raw_fd()),
        ];
        self.helper_must_close()
            .into_iter()
            .filter(|fd| !keep.contains(&Some(*fd)))
            .collect()
    }
}

impl Listener {
    /// Restarts the helpers whose restart is due (never while stopping), and
    /// sweeps the cgroups when that is due.
    pub(super) fn respawn_due(&mut self) {
        let now = Instant::now();
        if let Some((at, tries)) = self.sweep_cgroups_at {
            if at <= now {
                self.sweep_cgroups(tries);
            }
        }
        if self.stopping {
            return;
        }
        for h in self.helpers.take_due(now) {
            match h {
                Helper::Keys => {
                    self.ctx
                        .services
                        .metrics
                        .inc(crate::services::metrics::Counter::KeyRestarts);
                    self.respawn_keys();
                }
                Helper::Fai => self.spawn_fai(),
                Helper::Sweeper => self.spawn_sweeper(),
                Helper::Udp => {
                    self.ctx
                        .services
                        .metrics
                        .inc(crate::services::metrics::Counter::UdpRestarts);
                    self.spawn_udp();
                    info!("UDP responder restarted (pid {})", self.helpers.pid(Helper::Udp));
                }
            }
        }
    }

    /// Starts the sweeper of upload temporaries, unless `sweep_interval` is 0.
    pub(super) fn spawn_sweeper(&mut self) {
        let Some(every) = self.ctx.cfg.sweep_interval else {
            return;
        };
        let close = self.helper_must_close();
        match crate::daemon::sweeper::spawn(&self.ctx.cfg.dbdir, every, &close) {
            Ok(pid) => self.helpers.started(Helper::Sweeper, pid),
            Err(e) => error!("cannot start the sweeper of upload temporaries: {e}"),
        }
    }

    /// Starts the FAI issuer and gives sessions forked from now on its request
    /// end. Without it FAITOK fails (FAILED 67); entrances still work.
    pub(super) fn spawn_fai(&mut self) {
        let close = self.helper_must_close();
        match crate::services::fai::spawn(self.ctx.services.fai.store(), &close) {
            Ok((pid, link)) => {
                self.helpers.started(Helper::Fai, pid);
                self.ctx = Arc::new(self.ctx.with_fai(Arc::new(link)));
            }
            Err(e) => error!("cannot start the FAI issuer; FAITOK fails until a restart: {e}"),
        }
    }

    /// Starts a key process for `rsa`; the caller drops its copy of the key next.
    pub(super) fn spawn_keys(
        &mut self,
        rsa: &openssl::rsa::Rsa<openssl::pkey::Private>,
    ) -> Result<crate::services::keys::KeyLink, StartError> {
        let close = self.helper_must_close();
        let (pid, link) = crate::services::keys::spawn(
            rsa,
            crate::auth::replay::ReplayPolicy::from_config(&self.ctx.cfg),
            self.udp_user.as_ref(),
            &close,
        )
        .map_err(StartError::KeyProcess)?;
        self.helpers.started(Helper::Keys, pid);
        Ok(link)
    }

    /// The key process died on its own: start another from the key's source (the
    /// listener keeps no copy of the key), and give sessions forked from now on
    /// its request end.
    pub(super) fn respawn_keys(&mut self) {
        let link = match self.key_again().and_then(|rsa| self.spawn_keys(&rsa)) {
            Ok(l) => l,
            Err(e) => {
                error!("cannot restart the key process; new handshakes fail until a reload: {e}");
                return;
            }
        };
        info!("key process restarted (pid {})", self.helpers.pid(Helper::Keys));
        self.ctx = Arc::new(self.ctx.with_keys(link));
    }

    /// The key read again from its source (the listener keeps no copy): the
    /// key file, or the config that holds it inline.
    fn key_again(&self) -> Result<openssl::rsa::Rsa<openssl::pkey::Private>, StartError> {
        let (mut pem, from) = match (&self.ctx.cfg.privkey_file, &self.opts.config_path) {
            (Some(file), _) => (
                std::fs::read(file).map_err(|e| StartError::KeyFile(file.clone(), e))?,
                file.clone(),
            ),
            (None, Some(conf)) => (
                Config::load(conf)?.privkey_pem.clone().ok_or(StartError::NoPrivkey)?,
                conf.clone(),
            ),
            (None, None) => return Err(StartError::InlineKey),
        };
        let k = crate::daemon::key_from_pem(&pem);
        pem.iter_mut().for_each(|b| *b = 0);
        std::hint::black_box(&pem);
        k.map_err(|e| StartError::KeyAt(from, e))
    }
}
