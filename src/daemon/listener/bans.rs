//! `tfd ctl bans` and `unban`: every refusal an operator may see and lift in
//! one place — admin bans (this node's and the shared ones) and the LOGIN
//! throttle's address bans and name locks (this node's table and the shared
//! file).

use super::*;
use crate::auth::shared_state::{self, SharedThrottle};
use crate::auth::throttle::{self, Held, HeldKind, Policy};
use crate::daemon::control::Target;

impl Listener {
    fn policy(&self) -> Policy {
        Policy::from_config(&self.ctx.cfg)
    }

    fn shared_throttle(&self) -> Option<SharedThrottle> {
        self.ctx.shared_state.clone().map(SharedThrottle::new)
    }

    /// One line per ban or lock: what, kind, cause, seconds left, scope.
    pub(super) fn bans_text(&mut self) -> String {
        let mut rows: Vec<(String, &str, &str, u64, &str)> = Vec::new();
        for (ip, left) in self.bans.list() {
            rows.push((ip.to_string(), "address", "ctl ban", left.as_secs(), "this node"));
        }
        if let Some(c) = &self.shared_bans {
            for (ip, left) in c.list() {
                rows.push((ip.to_string(), "address", "ctl ban", left.as_secs(), "every node"));
            }
        }
        let p = self.policy();
        let held = |h: Held, scope: &'static str| {
            let (kind, cause) = match h.kind {
                HeldKind::Address => ("address", "failed logins"),
                HeldKind::Name => ("name", "failed logins"),
            };
            (h.label, kind, cause, h.left as u64, scope)
        };
        let sh = self.shared_throttle();
        for h in self.ctx.throttle.held(&p, throttle::now()) {
            if sh.as_ref().is_some_and(|sh| self.lifted_elsewhere(sh, &h, &p)) {
                continue;
            }
            rows.push(held(h, "this node"));
        }
        let mut trouble = String::new();
        if let Some(sh) = sh {
            match sh.held(&p, shared_state::unix_now()) {
                Ok(hs) => rows.extend(hs.into_iter().map(|h| held(h, "every node"))),
                Err(e) => trouble = format!("# the shared throttle state could not be read: {e}\n"),
            }
        }
        rows.sort();
        let mut out = String::from("WHAT\tKIND\tCAUSE\tSECONDS_LEFT\tSCOPE\n");
        for (what, kind, cause, left, scope) in rows {
            out.push_str(&format!("{what}\t{kind}\t{cause}\t{left}\t{scope}\n"));
        }
        out.push_str(&trouble);
        out
    }

    /// True when this node's ban or lock `h` began before an operator lifted
    /// it on some node; it is then lifted here too. Only labels that name
    /// their address or name whole can be matched.
    fn lifted_elsewhere(&self, sh: &SharedThrottle, h: &Held, p: &Policy) -> bool {
        let now = throttle::now();
        let began = |len: u32| crate::auth::login_throttle::began(shared_state::unix_now(), h.left, len);
        match h.kind {
            HeldKind::Address => {
                let Ok(ip) = h.label.trim_end_matches("/64").parse::<IpAddr>() else {
                    return false;
                };
                let lifted = matches!(sh.lifted_at(Some(ip), b""), Ok(Some(at)) if began(p.ip.ban) <= at);
                lifted && self.ctx.throttle.lift_ip(ip, p, now)
            }
            HeldKind::Name => {
                if h.label.ends_with('…') || h.label.contains('?') {
                    return false;
                }
                let name = h.label.as_bytes();
                let lifted = matches!(sh.lifted_at(None, name), Ok(Some(at)) if began(p.account.ban) <= at);
                lifted && self.ctx.throttle.lift_name(name, p, now)
            }
        }
    }

    /// Lifts every ban of an address, or a name's lock, here and in the
    /// shared state; says what was lifted.
    pub(super) fn unban(&mut self, target: &Target) -> String {
        let p = self.policy();
        let sh = self.shared_throttle();
        let mut lifted: Vec<&str> = Vec::new();
        let mut failed: Vec<String> = Vec::new();
        let shown = match target {
            Target::Ip(ip) => {
                if self.bans.unban(ip) {
                    lifted.push("admin ban");
                }
                match self.shared_bans.as_mut().map(|c| c.unban(*ip)) {
                    Some(Ok(true)) => lifted.push("admin ban on every node"),
                    Some(Err(e)) => failed.push(format!("the shared admin bans: {e}")),
                    _ => {}
                }
                if self.ctx.throttle.lift_ip(*ip, &p, throttle::now()) {
                    lifted.push("failed-login ban");
                }
                match sh.map(|s| s.lift_ip(*ip, &p, shared_state::unix_now())) {
                    Some(Ok(true)) => lifted.push("failed-login ban on every node"),
                    Some(Err(e)) => failed.push(format!("the shared throttle state: {e}")),
                    _ => {}
                }
                ip.to_string()
            }
            Target::Name(name) => {
                // the name as typed, and the bytes it stands for when it is
                // the escaped form `ctl bans` shows (`\u{200b}alice`)
                let mut names = vec![name.as_bytes().to_vec()];
                names.extend(tfp_wire::escape::unescape(name).filter(|u| u != name.as_bytes()));
                for n in &names {
                    if self.ctx.throttle.lift_name(n, &p, throttle::now()) {
                        lifted.push("failed-login lock");
                    }
                    match sh.as_ref().map(|s| s.lift_name(n, &p, shared_state::unix_now())) {
                        Some(Ok(true)) => lifted.push("failed-login lock on every node"),
                        Some(Err(e)) => failed.push(format!("the shared throttle state: {e}")),
                        _ => {}
                    }
                }
                // as typed (already the shown form when it was copied from
                // `ctl bans`), its controls escaped
                format!("name \"{}\"", tfp_wire::escape::shown_text(name))
            }
        };
        if !failed.is_empty() {
            let why = failed.join("; ");
            error!("control: unban of {shown} not written to the shared state: {why}");
            return format!(
                "error: {shown} may stay refused on the other nodes: {why}{}",
                if lifted.is_empty() {
                    String::new()
                } else {
                    format!(" (lifted here: {})", lifted.join(", "))
                }
            );
        }
        if lifted.is_empty() {
            return format!("error: {shown} was not banned or locked");
        }
        warn!("control: unbanned {shown}: {}", lifted.join(", "));
        format!("ok: unbanned {shown}: {}", lifted.join(", "))
    }
}
