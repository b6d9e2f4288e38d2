//! What an `authorized_keys` line's options mean to tfd: `from="…"` and
//! `expiry-time="…"` are honoured, options that only restrict what ssh does
//! (a pty, forwarding) change nothing, and a line with any other option (a
//! forced command, principals, a certificate authority…) is not used: tfd
//! could not honour it, and a key meant for less must not give more.

use crate::config::Cidr;
use std::net::IpAddr;

/// Options that restrict ssh's own features, which tfd does not have.
const SSH_ONLY: &[&str] = &[
    "agent-forwarding",
    "no-agent-forwarding",
    "port-forwarding",
    "no-port-forwarding",
    "pty",
    "no-pty",
    "user-rc",
    "no-user-rc",
    "x11-forwarding",
    "no-x11-forwarding",
    "restrict",
    "no-touch-required",
];

/// The most patterns one `from=` may hold.
const MAX_PATTERNS: usize = 64;

/// Why a line does not let this login in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refused {
    /// `from=` does not take the client's address.
    From(String),
    /// `expiry-time=` is past (the time as written).
    Expired(String),
    /// An option tfd cannot honour (its name), or a value it cannot read.
    Unusable(String),
}

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Refused::From(p) => write!(f, "from=\"{p}\" does not take this address"),
            Refused::Expired(t) => write!(f, "expired (expiry-time=\"{t}\")"),
            Refused::Unusable(o) => write!(f, "option {o} cannot be honoured; the line is not used"),
        }
    }
}

/// Judges a line's options for a login from `ip` at `now` (Unix seconds).
pub fn judge(options: &[(String, Option<String>)], ip: IpAddr, now: i64) -> Result<(), Refused> {
    for (name, value) in options {
        let shown = || tfp_wire::escape::shown(value.as_deref().unwrap_or("").as_bytes());
        match (name.as_str(), value) {
            ("from", Some(list)) => {
                if !from_takes(list, ip).ok_or_else(|| Refused::Unusable(format!("from=\"{}\"", shown())))? {
                    return Err(Refused::From(shown()));
                }
            }
            ("expiry-time", Some(t)) => {
                let at = expiry(t).ok_or_else(|| Refused::Unusable(format!("expiry-time=\"{}\"", shown())))?;
                if now >= at {
                    return Err(Refused::Expired(shown()));
                }
            }
            (n, None) if SSH_ONLY.contains(&n) => {}
            (n, _) => return Err(Refused::Unusable(tfp_wire::escape::shown(n.as_bytes()))),
        }
    }
    Ok(())
}

/// `from="pattern-list"` as sshd reads it for an address (tfd looks up no
/// host names, so a name pattern never matches): a pattern is an address
/// with `*` and `?`, or a range `addr/bits`; `!` before one refuses what it
/// matches, whatever else matches. None: the list cannot be read.
pub fn from_takes(list: &str, ip: IpAddr) -> Option<bool> {
    let ip = ip.to_canonical();
    let text = ip.to_string();
    let mut taken = false;
    let patterns: Vec<&str> = list.split(',').collect();
    if patterns.len() > MAX_PATTERNS {
        return None;
    }
    for p in patterns {
        let (negated, p) = match p.strip_prefix('!') {
            Some(rest) => (true, rest),
            None => (false, p),
        };
        if p.is_empty() {
            return None;
        }
        let hit = if p.contains('/') {
            Cidr::parse(p)?.contains(ip)
        } else {
            wildcard(p.as_bytes(), text.as_bytes())
        };
        if hit && negated {
            return Some(false);
        }
        taken |= hit;
    }
    Some(taken)
}

/// sshd's `match_pattern`: `*` any run, `?` any one character, case-blind.
fn wildcard(p: &[u8], s: &[u8]) -> bool {
    let (mut pi, mut si) = (0, 0);
    let mut back: Option<(usize, usize)> = None;
    while si < s.len() {
        match p.get(pi) {
            Some(b'*') => {
                back = Some((pi, si));
                pi += 1;
            }
            Some(&c) if c == b'?' || c.eq_ignore_ascii_case(&s[si]) => {
                pi += 1;
                si += 1;
            }
            _ => match back {
                Some((bp, bs)) => {
                    pi = bp + 1;
                    si = bs + 1;
                    back = Some((bp, bs + 1));
                }
                None => return false,
            },
        }
    }
    p[pi.min(p.len())..].iter().all(|&c| c == b'*')
}

/// `expiry-time="YYYYMMDD[HHMM[SS]][Z]"` in Unix seconds (UTC, with or
/// without the `Z`).
pub fn expiry(t: &str) -> Option<i64> {
    let t = t.strip_suffix(['Z', 'z']).unwrap_or(t);
    if !matches!(t.len(), 8 | 12 | 14) || !t.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let num = |r: std::ops::Range<usize>| t.get(r).and_then(|s| s.parse::<u32>().ok());
    let (y, mo, d) = (num(0..4)?, num(4..6)?, num(6..8)?);
    let (h, mi, s) = match t.len() {
        8 => (0, 0, 0),
        12 => (num(8..10)?, num(10..12)?, 0),
        _ => (num(8..10)?, num(10..12)?, num(12..14)?),
    };
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || s > 59 {
        return None;
    }
    let days = tfp_wire::date::days_from_civil(i64::from(y), mo, d);
    Some(days * 86400 + i64::from(h * 3600 + mi * 60 + s))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn from_lists_as_sshd_reads_them_for_addresses() {
        assert_eq!(from_takes("127.0.0.1", ip("127.0.0.1")), Some(true));
        assert_eq!(from_takes("127.0.0.2", ip("127.0.0.1")), Some(false));
        assert_eq!(from_takes("10.*,127.0.0.?", ip("127.0.0.5")), Some(true));
        assert_eq!(from_takes("*,!127.0.0.5", ip("127.0.0.5")), Some(false));
        assert_eq!(from_takes("10.0.0.0/8", ip("10.9.8.7")), Some(true));
        assert_eq!(from_takes("10.0.0.0/8", ip("::ffff:10.9.8.7")), Some(true));
        assert_eq!(from_takes("::1", ip("::1")), Some(true));
        assert_eq!(from_takes("host.example", ip("127.0.0.1")), Some(false));
        assert_eq!(from_takes("10.0.0.0/99", ip("10.0.0.1")), None);
        assert_eq!(from_takes("a,,b", ip("10.0.0.1")), None);
        assert_eq!(from_takes(&"1,".repeat(100), ip("10.0.0.1")), None);
    }

    #[test]
    fn expiry_times_and_options() {
        assert_eq!(expiry("19700102"), Some(86400));
        assert_eq!(expiry("197001010001"), Some(60));
        assert_eq!(expiry("19700101000001Z"), Some(1));
        for bad in ["1970010", "19701301", "197001012500", "x9700101", ""] {
            assert_eq!(expiry(bad), None, "{bad}");
        }
        let opts = |v: &[(&str, Option<&str>)]| -> Vec<(String, Option<String>)> {
            v.iter().map(|(n, v)| (n.to_string(), v.map(str::to_string))).collect()
        };
        let here = ip("127.0.0.1");
        assert_eq!(judge(&opts(&[("no-pty", None), ("restrict", None)]), here, 0), Ok(()));
        assert!(matches!(
            judge(&opts(&[("expiry-time", Some("19700102"))]), here, 86400),
            Err(Refused::Expired(_))
        ));
        assert_eq!(judge(&opts(&[("expiry-time", Some("19700102"))]), here, 86399), Ok(()));
        assert!(matches!(
            judge(&opts(&[("from", Some("10.0.0.1"))]), here, 0),
            Err(Refused::From(_))
        ));
        for unusable in [("command", Some("ls")), ("cert-authority", None), ("no-pty", Some("x"))] {
            assert!(matches!(judge(&opts(&[unusable]), here, 0), Err(Refused::Unusable(_))));
        }
    }
}
