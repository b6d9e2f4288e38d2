//! The LOGIN throttle's policy: one attempt judged against this node's table
//! ([`throttle`]) and every node's ([`shared_state`], with `shared_state_dir`),
//! the stricter winning (the shared file only ever adds refusals), and an
//! operator's `tfd ctl unban` on another node honoured here. LOGIN (the
//! session's command) and the listener's `tfd ctl bans` both ask it; the
//! counters themselves live in [`throttle`] and [`shared_state`].

use super::shared_state::{self, SharedThrottle};
use super::throttle::{self, Blocked, FailureEffect, Policy, Throttle};
use log::{error, info};
use std::net::{IpAddr, SocketAddr};

/// When a ban of `len` seconds with `left` seconds to go began, in Unix seconds.
pub fn began(unix_now: u64, left: u32, len: u32) -> u64 {
    unix_now.saturating_sub(len.saturating_sub(left) as u64)
}

/// What a client refused by the throttle is told: still `FAILED 37` (what
/// clients know as "login failed"), with the cause and the time left in plain
/// words, never a wrong password.
pub(crate) fn refusal_text(b: Blocked, ip: IpAddr, who: &str) -> String {
    match b {
        Blocked::Ip(left) => format!(
            "Temporarily refused: the address {} is banned for {left} more seconds after too many failed logins.",
            throttle::ip_label(ip)
        ),
        Blocked::Account(left) => format!(
            "Temporarily refused: the name {who:?} is locked for {left} more seconds after too many failed logins."
        ),
    }
}

/// One LOGIN attempt as the throttle sees it: this node's counts, then every
/// node's.
pub(crate) struct Attempt<'a> {
    /// This node's table.
    throttle: &'a Throttle,
    /// The client, for the log lines.
    peer: SocketAddr,
    /// The name as sent.
    pub name: &'a [u8],
    /// The name made safe for a log line.
    pub who: String,
    /// The configured limits.
    pub policy: Policy,
    /// This node's clock (the throttle's).
    now: u32,
    /// Every node's counts, with `shared_state_dir`.
    shared: Option<SharedThrottle>,
    /// The shared file's clock.
    unix: u64,
}

impl<'a> Attempt<'a> {
    /// An attempt by `peer` for `name` (`who` is the name as logged), now.
    pub(crate) fn new(
        throttle: &'a Throttle,
        policy: Policy,
        shared: Option<SharedThrottle>,
        peer: SocketAddr,
        name: &'a [u8],
        who: String,
    ) -> Attempt<'a> {
        Attempt {
            throttle,
            peer,
            name,
            who,
            policy,
            now: throttle::now(),
            shared,
            unix: shared_state::unix_now(),
        }
    }

    /// True when this node's ban or lock `b` began before an operator lifted
    /// the same ban on some node (`tfd ctl unban` there), as the shared state says.
    fn lifted_elsewhere(&self, b: Blocked) -> bool {
        let Some(sh) = &self.shared else { return false };
        let (at, left, len) = match b {
            Blocked::Ip(left) => (sh.lifted_at(Some(self.peer.ip()), self.name), left, self.policy.ip.ban),
            Blocked::Account(left) => (sh.lifted_at(None, self.name), left, self.policy.account.ban),
        };
        match at {
            Ok(Some(at)) => began(self.unix, left, len) <= at,
            _ => false,
        }
    }

    /// Whether the address or the name is banned or locked, here or on any
    /// node: LOGIN is then refused before any password is checked.
    pub(crate) fn blocked(&self) -> Option<Blocked> {
        let peer = self.peer;
        let who = &self.who;
        let mut local = self.throttle.check(peer.ip(), self.name, &self.policy, self.now);
        // an operator lifted it on another node: this node's own ban goes too
        while let Err(b) = local {
            if !self.lifted_elsewhere(b) {
                break;
            }
            match b {
                Blocked::Ip(_) => self.throttle.lift_ip(peer.ip(), &self.policy, self.now),
                Blocked::Account(_) => self.throttle.lift_name(self.name, &self.policy, self.now),
            };
            info!("{peer} LOGIN {who:?}: {b} here, lifted by an operator on another node; lifted here too");
            local = self.throttle.check(peer.ip(), self.name, &self.policy, self.now);
        }
        match local {
            Err(b) => Some(b),
            Ok(()) => match self
                .shared
                .as_ref()
                .map(|sh| sh.check(peer.ip(), self.name, &self.policy, self.unix))
            {
                Some(Ok(b)) => b,
                Some(Err(e)) => {
                    error!("{peer} LOGIN {who:?}: shared throttle state unusable ({e}); this node's own counts apply");
                    None
                }
                None => None,
            },
        }
    }

    /// Counts a failed LOGIN here and in the shared tables, merging what it
    /// started (a ban or lock started by either table is reported once).
    /// Failing to reach the shared file is logged; this node's count is
    /// already taken.
    pub(crate) fn failure(&self) -> FailureEffect {
        let peer = self.peer;
        let mut effect = self.throttle.failure(peer.ip(), self.name, &self.policy, self.now);
        let Some(sh) = &self.shared else { return effect };
        match sh.failure(peer.ip(), self.name, &self.policy, self.unix) {
            Ok(c) => {
                effect.ip_banned = effect.ip_banned.or(c.ip.banned);
                effect.account_locked = effect.account_locked.or(c.account.banned);
                if c.ip.evicted && self.throttle.first_eviction(2) {
                    effect.first_eviction.push("address (shared)");
                }
                if c.account.evicted && self.throttle.first_eviction(3) {
                    effect.first_eviction.push("name (shared)");
                }
                if c.damaged > 0 {
                    error!(
                        "{peer} LOGIN: {} damaged record(s) in the shared throttle state read as empty and \
                         rewritten; this node's own counts still apply",
                        c.damaged
                    );
                }
            }
            Err(e) => {
                error!("{peer} LOGIN: shared throttle state unusable ({e}); the failure counts on this node only")
            }
        }
        effect
    }

    /// The right password: the name's failures are forgiven, on this node and
    /// on all.
    pub(crate) fn forgive(&self) {
        self.throttle.success(self.name);
        if let Some(Err(e)) = self.shared.as_ref().map(|sh| sh.success(self.name)) {
            error!(
                "{} LOGIN {:?}: could not clear the name's failures in the shared throttle state: {e}",
                self.peer, self.who
            );
        }
    }
}
