//! The main loop: poll, signals turned into events, children reaped.

use super::*;

impl Listener {
    /// How long the main loop may sleep before a helper restart is due.
    pub(super) fn poll_timeout(&self) -> PollTimeout {
        let due = [
            self.helpers.next_due(),
            self.sweep_cgroups_at.map(|(at, _)| at),
            self.waiting.next_deadline(),
            self.shared_bans.as_ref().map(|c| c.due()),
        ]
        .into_iter()
        .flatten()
        .min();
        match due {
            None => PollTimeout::NONE,
            Some(at) => {
                let ms = at.saturating_duration_since(Instant::now()).as_millis() + 1;
                PollTimeout::try_from(ms.min(60_000) as i32).unwrap_or(PollTimeout::NONE)
            }
        }
    }

    /// Removes the script hosts' cgroups of sessions that are gone; groups
    /// still busy are tried again after [`CGROUP_SWEEP_DELAY`], `tries` more
    /// times at most.
    pub(super) fn sweep_cgroups(&mut self, tries: u32) {
        let busy = crate::sandbox::remove_stale_cgroups();
        self.sweep_cgroups_at = (busy > 0 && tries > 0).then(|| (Instant::now() + CGROUP_SWEEP_DELAY, tries - 1));
    }
}

impl Listener {
    pub(super) fn main_loop(&mut self) {
        loop {
            let mut signals = Vec::new();
            let mut ready = Vec::new();
            let mut woke = false;
            let mut control_ready = false;
            let mut headers = Vec::new();
            {
                let mut fds: Vec<PollFd> = self
                    .listeners
                    .iter()
                    .map(|l| PollFd::new(l.as_fd(), PollFlags::POLLIN))
                    .collect();
                fds.push(PollFd::new(self.sig_rx.as_fd(), PollFlags::POLLIN));
                if let Some(c) = &self.control {
                    fds.push(PollFd::new(c.as_fd(), PollFlags::POLLIN));
                }
                let first_waiting = fds.len();
                fds.extend(self.waiting.fds().map(|fd| PollFd::new(fd, PollFlags::POLLIN)));
                match poll(&mut fds, self.poll_timeout()) {
                    Ok(_) => {}
                    Err(nix::errno::Errno::EINTR) => {}
                    Err(e) => {
                        error!("poll: {e}");
                        std::thread::sleep(Duration::from_millis(100));
                    }
                }
                for (i, fd) in fds.iter().enumerate() {
                    if fd.revents().is_some_and(|r| !r.is_empty()) {
                        if i >= first_waiting {
                            headers.push(i - first_waiting);
                        } else if i == self.listeners.len() {
                            woke = true;
                        } else if i == self.listeners.len() + 1 {
                            control_ready = true;
                        } else {
                            ready.push(i);
                        }
                    }
                }
            }
            if woke {
                signals = self.drain_signals();
            }
            // a stop first: when one signal to the process group also killed a
            // helper, its SIGCHLD must not make the listener restart it
            if signals.iter().any(|s| matches!(*s, libc::SIGTERM | libc::SIGINT)) {
                self.shutdown();
                return;
            }
            for sig in signals {
                match sig {
                    libc::SIGCHLD => self.reap(),
                    libc::SIGHUP | libc::SIGUSR1 => {
                        // the log says the outcome; a signal has no one to answer
                        let _ = self.reload();
                    }
                    _ => {}
                }
            }
            self.respawn_due();
            self.refresh_shared_bans();
            if control_ready {
                self.serve_control();
            }
            if !self.waiting.is_empty() {
                for (stream, client) in self.waiting.progress(&headers, self.ctx.cfg.proxy_protocol) {
                    self.reap();
                    self.admit(stream, client);
                }
            }
            for i in ready {
                self.accept(i);
            }
        }
    }

    /// Takes in the bans other nodes made, when due, and ends this node's
    /// sessions from the addresses newly banned.
    pub(super) fn refresh_shared_bans(&mut self) {
        let Some(cache) = &mut self.shared_bans else { return };
        for ip in cache.refresh(false) {
            let n = self.kick_ip(ip);
            if n > 0 {
                warn!("{ip} banned through the shared state: kicked {n} session(s)");
            }
        }
    }

    /// Empties the wake-up pipe and returns the signals that arrived.
    pub(super) fn drain_signals(&mut self) -> Vec<i32> {
        let mut buf = [0u8; 64];
        while let Ok(n) = self.sig_rx.read(&mut buf) {
            if n == 0 {
                break;
            }
        }
        self.sig_flags
            .iter()
            .filter(|(_, f)| f.swap(false, Ordering::SeqCst))
            .map(|(s, _)| *s)
            .collect()
    }

    pub(super) fn reap(&mut self) {
        loop {
            match waitpid(Pid::from_raw(-1), Some(WaitPidFlag::WNOHANG)) {
                Ok(WaitStatus::StillAlive) | Err(_) => break,
                Ok(status) => {
                    if let Some(pid) = status.pid() {
                        if let Some(h) = self.helpers.ended(pid.as_raw()) {
                            if !self.stopping {
                                warn!(
                                    "{} ended ({}); restarting it unless tfd is stopping",
                                    h.name(),
                                    ended_how(&status)
                                );
                                self.helpers.schedule(h);
                            }
                        } else if let Some(info) = self.children.remove(&pid.as_raw()) {
                            self.ctx.services.registry.free(info.slot);
                            if self.ctx.cfg.runbash.is_some() {
                                self.sweep_cgroups(CGROUP_SWEEPS);
                            }
                            if let Some(end) = crate::daemon::session_ends::end_of(&status, info.kicked) {
                                self.ends.record(info.peer, end, Instant::now());
                            }
                            match status {
                                // however it ended (a session may catch SIGTERM and exit)
                                other if info.kicked && !self.stopping => {
                                    info!(
                                        "session {} ({}) ended: kicked by tfd ctl ({})",
                                        pid,
                                        info.peer,
                                        ended_how(&other)
                                    )
                                }
                                WaitStatus::Exited(_, 0) => {}
                                WaitStatus::Signaled(_, Signal::SIGTERM | Signal::SIGKILL, _) if self.stopping => {}
                                other => warn!(
                                    "session {} ({}) ended abnormally: {}",
                                    pid,
                                    info.peer,
                                    ended_how(&other)
                                ),
                            }
                        }
                    }
                }
            }
        }
    }
}

/// How a process ended, in words: "exited with status 3", "killed by SIGSEGV
/// (core dumped)" (not `Signaled(Pid(11074), SIGSEGV, true)`).
pub(super) fn ended_how(status: &WaitStatus) -> String {
    match status {
        WaitStatus::Exited(_, code) => format!("exited with status {code}"),
        WaitStatus::Signaled(_, sig, core) => format!(
            "killed by {}{}",
            sig.as_str(),
            if *core { " (core dumped)" } else { "" }
        ),
        other => format!("{other:?}"),
    }
}
