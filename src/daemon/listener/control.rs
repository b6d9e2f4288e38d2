//! The control socket: operators' commands (`tfd ctl`) answered.

use super::*;

impl Listener {
    /// Answers one admin request on the control socket.
    pub(super) fn serve_control(&mut self) {
        let Some(listener) = &self.control else { return };
        let conn = match listener.accept() {
            Ok((c, _)) => c,
            Err(_) => return,
        };
        self.control_conn = Some(std::os::fd::AsRawFd::as_raw_fd(&conn));
        self.answer_control(&conn);
        self.control_conn = None;
    }

    pub(super) fn answer_control(&mut self, conn: &std::os::unix::net::UnixStream) {
        use crate::daemon::control::{self, Request};
        let line = match control::read_request(conn) {
            Ok(l) => l,
            Err(e) => {
                warn!("control: {e}");
                control::respond(conn, &format!("error: {e}"));
                return;
            }
        };
        let req = match control::parse(&line) {
            Ok(r) => r,
            Err(e) => {
                control::respond(conn, &format!("error: {e}"));
                return;
            }
        };
        info!("control: {}", tfp_wire::escape::shown_text(&line));
        let text = match req {
            Request::Help => control::help_text(),
            Request::Sessions => self.sessions_text(),
            Request::KickPid(pid) => {
                if let Some(child) = self.children.get_mut(&pid) {
                    child.kicked = true;
                    let _ = kill(Pid::from_raw(pid), Signal::SIGTERM);
                    format!("ok: kicked session {pid}")
                } else {
                    format!("error: no session with pid {pid}")
                }
            }
            Request::KickIp(ip) => format!("ok: kicked {} session(s) from {ip}", self.kick_ip(ip)),
            Request::Ban(ip, d) => {
                self.ctx
                    .services
                    .metrics
                    .inc(crate::services::metrics::Counter::BansControl);
                let n = self.kick_ip(ip);
                // a shared ban is kept only there, so that an unban on any node
                // lifts it; this node's own list is the fallback
                let shared = match self.shared_bans.as_mut().map(|c| c.ban(ip, d)) {
                    Some(Ok(())) => ", on every node".to_string(),
                    None => {
                        self.bans.ban(ip, d);
                        String::new()
                    }
                    Some(Err(e)) => {
                        self.bans.ban(ip, d);
                        error!("control: ban of {ip} not written to the shared state: {e}");
                        format!(", on this node only (the shared state failed: {e})")
                    }
                };
                warn!(
                    "control: banned {ip} for {}s{shared}, kicked {n} session(s)",
                    d.as_secs()
                );
                format!("ok: banned {ip} for {}s{shared}, kicked {n} session(s)", d.as_secs())
            }
            Request::Unban(target) => self.unban(&target),
            Request::Bans => self.bans_text(),
            Request::Reload => self.reload().answer(),
            Request::Metrics => {
                let phases = self.ctx.services.registry.phases();
                let states: Vec<(&str, u64)> = crate::services::registry::PHASE_NAMES
                    .iter()
                    .copied()
                    .zip(phases)
                    .collect();
                self.ctx
                    .services
                    .metrics
                    .render(&states, self.ctx.services.registry.capacity())
            }
            Request::Stats => format!(
                "uptime_s {}\nsessions {}\naccepted {}\nrefused {}\nregistry_slots {}\nudp_responder_pid {}",
                self.started.elapsed().as_secs(),
                self.children.len(),
                self.accepted,
                self.refused,
                self.ctx.services.registry.capacity(),
                self.helpers.pid(Helper::Udp)
            ),
        };
        control::respond(conn, &text);
    }

    /// Ends every session from `ip`; returns how many.
    pub(super) fn kick_ip(&mut self, ip: IpAddr) -> usize {
        let pids: Vec<i32> = self
            .children
            .iter_mut()
            .filter(|(_, c)| c.peer.ip() == ip)
            .map(|(p, c)| {
                c.kicked = true;
                *p
            })
            .collect();
        for p in &pids {
            let _ = kill(Pid::from_raw(*p), Signal::SIGTERM);
        }
        pids.len()
    }

    /// One line per session: pid, peer, LOGIN name (`-` without one), the
    /// system user and uid it runs as, start time, bytes, current command.
    pub(super) fn sessions_text(&self) -> String {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        let mut out = String::from("PID\tPEER\tLOGIN\tUSER\tUID\tSINCE\tSECONDS\tBYTES_IN\tBYTES_OUT\tCOMMAND\n");
        let mut slots = self.ctx.services.registry.snapshot();
        slots.sort_by_key(|s| s.pid);
        for s in slots.iter().filter(|s| self.children.contains_key(&(s.pid as i32))) {
            let user = nix::unistd::User::from_uid(nix::unistd::Uid::from_raw(s.uid))
                .ok()
                .flatten()
                .map(|u| u.name)
                .unwrap_or_else(|| s.uid.to_string());
            let since = tfp_wire::date::format_utc(s.started as i64)
                .unwrap_or_default()
                .replace(' ', "T");
            out.push_str(&format!(
                "{}\t{}\t{}\t{}\t{}\t{}Z\t{}\t{}\t{}\t{}\n",
                s.pid,
                s.peer,
                if s.login.is_empty() {
                    "-".to_string()
                } else {
                    // one row per session, whatever a name holds
                    tfp_wire::escape::shown_str(&s.login).replace(' ', "?")
                },
                user,
                s.uid,
                since,
                now.saturating_sub(s.started),
                s.bytes.0,
                s.bytes.1,
                if s.command.is_empty() { "-" } else { &s.command }
            ));
        }
        out
    }
}
