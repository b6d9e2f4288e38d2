//! SIGTERM/SIGINT: sessions and helpers stopped, in order, within bounds.

use super::*;

impl Listener {
    /// Stops: no more accepting, helpers told to end, sessions given the grace
    /// period, then SIGTERM, then SIGKILL. Every wait here is bounded, so the
    /// listener always exits, whatever state a child is in.
    pub(super) fn shutdown(&mut self) {
        crate::daemon::sd_notify::stopping();
        info!("shutting down: {} session(s) open", self.children.len());
        self.stopping = true;
        self.helpers.cancel_all();
        self.listeners.clear();
        self.control = None;
        // the key process also ends by itself once every request end is closed
        self.ctx.services.keys.close();
        self.ctx.services.fai.close();
        for pid in self.helpers.running() {
            let _ = kill(Pid::from_raw(pid), Signal::SIGTERM);
        }
        // sessions get the grace period to finish on their own, then SIGTERM,
        // then a second later SIGKILL
        let grace = self.ctx.cfg.shutdown_grace;
        for (wait, signal) in [(grace, Signal::SIGTERM), (Duration::from_secs(1), Signal::SIGKILL)] {
            let deadline = Instant::now() + wait;
            while !self.children.is_empty() && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(20));
                self.reap();
            }
            if !self.children.is_empty() {
                info!("ending {} session(s) with {signal:?}", self.children.len());
            }
            for pid in self.children.keys() {
                let _ = kill(Pid::from_raw(*pid), signal);
            }
        }
        // the helpers: SIGTERMed above; SIGKILL whatever is left after a while
        let deadline = Instant::now() + HELPER_STOP_WAIT;
        while !self.helpers.running().is_empty() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
            self.reap();
        }
        for pid in self.helpers.running() {
            warn!("helper process {pid} did not end on SIGTERM; killing it");
            let _ = kill(Pid::from_raw(pid), Signal::SIGKILL);
        }
        // everything left was sent SIGKILL, which no process can ignore: so no tfd
        // process outlives the listener, and this wait ends
        while !self.children.is_empty() || !self.helpers.running().is_empty() {
            match waitpid(Pid::from_raw(-1), None) {
                Ok(s) => {
                    if let Some(p) = s.pid() {
                        let p = p.as_raw();
                        if let Some(info) = self.children.remove(&p) {
                            self.ctx.services.registry.free(info.slot);
                        }
                        self.helpers.ended(p);
                    }
                }
                Err(nix::errno::Errno::EINTR) => {}
                Err(_) => break,
            }
        }
        // the script hosts die with their sessions, a moment later: their
        // groups go once they are empty (a reload may have turned runbash off
        // since they were made)
        let deadline = Instant::now() + CGROUP_SWEEP_DELAY * CGROUP_SWEEPS;
        while crate::sandbox::remove_stale_cgroups() > 0 && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        self.remove_default_fai_dir();
        info!("stopped");
    }

    /// The default `fai_dir` is one directory per config file beneath
    /// /var/lib/tfd/fai, made by this instance: it goes with it when it
    /// holds no live token (issue 44: every tfd ever started left one).
    /// A `fai_dir` the config names is the operator's, and stays.
    fn remove_default_fai_dir(&self) {
        let store = self.ctx.services.fai.store();
        if store.dir().parent() != Some(std::path::Path::new(crate::config::DEFAULT_FAI_DIR)) {
            return;
        }
        match store.remove_if_empty(crate::auth::fai::now()) {
            Ok(true) => info!("removed {} (no live Fast Access token)", store.dir().display()),
            Ok(false) => {}
            // not tfd's to clean (started as another user than the one that made it)
            Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied => {}
            Err(e) => warn!("cleaning {}: {e}", store.dir().display()),
        }
    }
}
