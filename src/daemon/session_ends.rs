//! How the sessions the listener reaped lately ended, kept for their clients
//! to ask (`TFDWHY`, tfp_wire::session_end): a client whose stream ended under
//! a command cannot tell an operator's kick from a process killed on the
//! server, and the listener, which reaps every session, knows which.
//!
//! The listener records each end as it reaps the process; a session process
//! forked afterwards holds a copy of the table as it stood at its fork (the
//! listener reaps what is pending just before it forks), so answering needs
//! no channel back to the listener. Records are keyed by the session's peer
//! (the client's address as a PROXY header gave it, where one did), answered
//! only for the asker's own address, kept [`KEEP`] and at most [`MOST`]: what
//! any client can make the listener hold is bounded, whatever it does.

use std::collections::VecDeque;
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};
use tfp_wire::session_end::End;

/// How long an end is kept: long enough for a client to see its stream end
/// and ask, however slowly it says so.
pub(crate) const KEEP: Duration = Duration::from_secs(60);
/// The most ends kept; the oldest goes first.
pub(crate) const MOST: usize = 1024;

/// The ends, oldest first.
#[derive(Default)]
pub(crate) struct SessionEnds {
    recent: VecDeque<(Instant, SocketAddr, End)>,
}

impl SessionEnds {
    /// Records that the session from `peer` ended so, at `now`.
    pub(crate) fn record(&mut self, peer: SocketAddr, end: End, now: Instant) {
        self.forget_old(now);
        if self.recent.len() >= MOST {
            self.recent.pop_front();
        }
        self.recent.push_back((now, peer, end));
    }

    /// How the latest session from `ip` and `port` ended, when it is kept.
    pub(crate) fn find(&self, ip: IpAddr, port: u16, now: Instant) -> Option<End> {
        self.recent
            .iter()
            .rev()
            .take_while(|(at, _, _)| now.saturating_duration_since(*at) <= KEEP)
            .find(|(_, peer, _)| peer.ip() == ip && peer.port() == port)
            .map(|(_, _, end)| *end)
    }

    fn forget_old(&mut self, now: Instant) {
        while self
            .recent
            .front()
            .is_some_and(|(at, _, _)| now.saturating_duration_since(*at) > KEEP)
        {
            self.recent.pop_front();
        }
    }
}

/// How a reaped session process ended: the operator's kick (whatever signal
/// or status followed it), else its signal or exit status.
pub(crate) fn end_of(status: &nix::sys::wait::WaitStatus, kicked: bool) -> Option<End> {
    use nix::sys::wait::WaitStatus;
    match status {
        _ if kicked => Some(End::Kicked),
        WaitStatus::Signaled(_, sig, _) => u8::try_from(*sig as i32).ok().map(End::Signal),
        WaitStatus::Exited(_, code) => Some(End::Exited(*code as u8)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> SocketAddr {
        s.parse().unwrap()
    }

    #[test]
    fn an_end_is_told_for_its_own_address_and_port_only_and_for_a_while() {
        let mut t = SessionEnds::default();
        let t0 = Instant::now();
        t.record(at("10.0.0.1:40000"), End::Signal(9), t0);
        t.record(at("10.0.0.2:40001"), End::Kicked, t0);
        let ip1: IpAddr = "10.0.0.1".parse().unwrap();
        let ip2: IpAddr = "10.0.0.2".parse().unwrap();
        assert_eq!(t.find(ip1, 40000, t0), Some(End::Signal(9)));
        assert_eq!(t.find(ip2, 40000, t0), None, "another address's session");
        assert_eq!(t.find(ip1, 40001, t0), None, "another port");
        assert_eq!(t.find(ip2, 40001, t0 + KEEP), Some(End::Kicked));
        assert_eq!(t.find(ip2, 40001, t0 + KEEP + Duration::from_secs(1)), None);
        // the same port again later: the latest end is told
        t.record(at("10.0.0.1:40000"), End::Exited(0), t0 + Duration::from_secs(2));
        assert_eq!(t.find(ip1, 40000, t0 + Duration::from_secs(3)), Some(End::Exited(0)));
    }

    #[test]
    fn the_table_is_bounded_in_count_and_age() {
        let mut t = SessionEnds::default();
        let t0 = Instant::now();
        for i in 0..(MOST as u16 + 10) {
            t.record(SocketAddr::from(([10, 0, 0, 1], 1000 + i)), End::Exited(0), t0);
        }
        assert_eq!(t.recent.len(), MOST);
        let ip: IpAddr = "10.0.0.1".parse().unwrap();
        assert_eq!(t.find(ip, 1000, t0), None, "the oldest went first");
        assert_eq!(t.find(ip, 1000 + MOST as u16 + 9, t0), Some(End::Exited(0)));
        t.record(at("10.0.0.1:1"), End::Kicked, t0 + KEEP + Duration::from_secs(1));
        assert_eq!(t.recent.len(), 1, "old ends are dropped as new ones come");
    }

    #[test]
    fn a_kick_names_the_end_whatever_followed_it() {
        use nix::sys::signal::Signal;
        use nix::sys::wait::WaitStatus;
        use nix::unistd::Pid;
        let p = Pid::from_raw(7);
        assert_eq!(
            end_of(&WaitStatus::Signaled(p, Signal::SIGKILL, false), false),
            Some(End::Signal(9))
        );
        assert_eq!(
            end_of(&WaitStatus::Signaled(p, Signal::SIGTERM, false), true),
            Some(End::Kicked)
        );
        assert_eq!(end_of(&WaitStatus::Exited(p, 0), true), Some(End::Kicked));
        assert_eq!(end_of(&WaitStatus::Exited(p, 3), false), Some(End::Exited(3)));
        assert_eq!(end_of(&WaitStatus::StillAlive, false), None);
    }
}
