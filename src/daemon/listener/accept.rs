//! New connections: the limits applied, then a session process forked.

use super::*;

/// The most connections one pass of the main loop accepts from one listening
/// socket. Under a steady stream of connections the backlog never empties: a
/// loop taking them until `accept` would block stayed for seconds (31,000
/// connections in 10 s on the test bed), and meanwhile no signal, control
/// request, PROXY header or shared ban was seen (issue 47, finding 14: a
/// node went on admitting an address banned on another node for 7 s).
pub(super) const ACCEPT_BATCH: usize = 64;

impl Listener {
    pub(super) fn refuse_reason(&mut self, ip: IpAddr) -> Option<(Refusal, String)> {
        if let Some(left) = self.bans.remaining(&ip) {
            return Some((Refusal::Banned, format!("banned for {}s more", left.as_secs())));
        }
        if let Some(left) = self.shared_bans.as_ref().and_then(|c| c.remaining(&ip)) {
            return Some((
                Refusal::Banned,
                format!("banned on every node for {}s more", left.as_secs()),
            ));
        }
        let cfg = &self.ctx.cfg;
        if self.children.len() >= cfg.max_sessions as usize {
            return Some((
                Refusal::MaxSessions,
                format!("max_sessions {} reached", cfg.max_sessions),
            ));
        }
        let from_ip = self.children.values().filter(|c| c.peer.ip() == ip).count();
        if from_ip >= cfg.max_sessions_per_ip as usize {
            return Some((
                Refusal::MaxSessionsPerIp,
                format!("max_sessions_per_ip {} reached", cfg.max_sessions_per_ip),
            ));
        }
        None
    }

    /// Takes at most [`ACCEPT_BATCH`] connections waiting on listening
    /// socket `i`; the main loop comes back for the rest (poll says so at once).
    pub(super) fn accept(&mut self, i: usize) {
        for _ in 0..ACCEPT_BATCH {
            let (stream, peer) = match self.listeners[i].accept() {
                Ok((s, p)) => (s, crate::daemon::proxy_header::client_address(p)),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    warn!("accept: {e}");
                    return;
                }
            };
            // Reap first so limits count only live sessions.
            self.reap();
            if crate::daemon::proxy_header::expected(&self.ctx.cfg, peer) {
                // the client's address comes with the header: everything waits for it
                if !self.waiting.add(stream, peer) {
                    self.refused += 1;
                    self.ctx.services.metrics.refused(Refusal::MaxSessions);
                    warn!(
                        "{peer} refused: {} balancer connections already wait for their PROXY header",
                        crate::daemon::proxy_header::MAX_WAITING
                    );
                }
                continue;
            }
            self.admit(stream, peer);
        }
    }

    /// Applies the connection limits to a client (its own address, or the one a
    /// balancer's PROXY header gave) and forks its session.
    pub(super) fn admit(&mut self, stream: std::net::TcpStream, peer: SocketAddr) {
        // the shared bans as fresh as promised, whatever this pass of the
        // main loop did before (a no-op until a look at the file is due)
        self.refresh_shared_bans();
        if let Some((kind, why)) = self.refuse_reason(peer.ip()) {
            self.refused += 1;
            self.ctx.services.metrics.refused(kind);
            warn!("{peer} refused: {why}");
            if kind == Refusal::Banned {
                tell_refused(stream, peer, &why);
            }
            return;
        }
        let Some(slot) = self.ctx.services.registry.reserve(peer) else {
            warn!("{peer} refused: session registry full");
            self.ctx.services.metrics.refused(Refusal::RegistryFull);
            return;
        };
        debug_assert_eq!(sys::thread_count(), 1, "the listener must be single-threaded to fork");
        match sys::fork_helper(&SIGNALS) {
            Ok(Fork::Child) => {
                for fd in self.session_must_close() {
                    sys::close_fd(fd);
                }
                if stream.set_nonblocking(false).is_ok() {
                    let ends = |ip, port| self.session_end(ip, port);
                    session::serve(stream, peer, self.ctx.clone(), slot, &ends);
                }
                sys::exit_now(0);
            }
            Ok(Fork::Parent(pid)) => {
                self.accepted += 1;
                self.ctx
                    .services
                    .metrics
                    .inc(crate::services::metrics::Counter::Accepted);
                self.ctx.services.registry.set_pid(slot, pid as u32);
                self.children.insert(
                    pid,
                    ChildInfo {
                        peer,
                        slot,
                        kicked: false,
                    },
                );
            }
            Err(e) => {
                self.ctx.services.registry.free(slot);
                error!("{peer} fork failed: {e}");
            }
        }
    }
}

impl Listener {
    /// How the session from `ip` and `port` ended, as this process knows it
    /// (a session process asks its copy, made at its fork): still running
    /// when a child has that peer, else the end recorded at its reap.
    fn session_end(&self, ip: IpAddr, port: u16) -> tfp_wire::session_end::End {
        use tfp_wire::session_end::End;
        if self
            .children
            .values()
            .any(|c| c.peer.ip() == ip && c.peer.port() == port)
        {
            return End::Live;
        }
        self.ends.find(ip, port, Instant::now()).unwrap_or(End::Unknown)
    }
}

/// Tells a banned client why, in plain words, where its first answer would
/// be: one plaintext `FAILED 37` frame (what clients know as a refused
/// login) written without waiting, then the connection closed. What the
/// client already sent is read first (a little, without waiting), so the
/// close does not reset the connection before the answer is read.
fn tell_refused(stream: std::net::TcpStream, peer: SocketAddr, why: &str) {
    use std::io::Write;
    if stream.set_nonblocking(true).is_err() {
        return;
    }
    let text = format!(
        "FAILED {} : Temporarily refused: the address {} is {why}.",
        tfp_wire::Failed::LoginFailed.code(),
        peer.ip()
    );
    let mut out = Vec::new();
    tfp_wire::frame::encode_frame(None, text.as_bytes(), &mut out);
    let _ = (&stream).write(&out);
    let mut sink = [0u8; 4096];
    let _ = (&stream).read(&mut sink);
    let _ = stream.shutdown(std::net::Shutdown::Write);
}
