//! The admin control socket (the admin-db seed's "list clients, kick, ban"): a
//! root-only Unix socket served by the listener between accepts. One request
//! line, one response, then close; requests are small and answered from the
//! listener's own state and the shared registry, so serving them never blocks
//! the accept loop for long.

use std::collections::HashMap;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::IpAddr;
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::Path;
use std::time::{Duration, Instant};

/// Longest request line.
pub const MAX_REQUEST: u64 = 1024;

/// A parsed request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Request {
    /// List the sessions.
    Sessions,
    /// End one session by pid.
    KickPid(i32),
    /// End every session from an address.
    KickIp(IpAddr),
    /// Refuse an address for a while (and end its sessions).
    Ban(IpAddr, Duration),
    /// Lift a ban.
    Unban(IpAddr),
    /// Reload the configuration.
    Reload,
    /// Counters.
    Stats,
    /// Counters in the Prometheus text format.
    Metrics,
}

/// Parses `1h`, `30m`, `45s`, `2d` or plain seconds.
pub fn parse_duration(s: &str) -> Option<Duration> {
    let (num, mult) = match s.chars().last()? {
        's' => (&s[..s.len() - 1], 1),
        'm' => (&s[..s.len() - 1], 60),
        'h' => (&s[..s.len() - 1], 3600),
        'd' => (&s[..s.len() - 1], 86_400),
        _ => (s, 1),
    };
    let n: u64 = num.parse().ok()?;
    n.checked_mul(mult)
        .filter(|&v| v > 0 && v <= 366 * 86_400)
        .map(Duration::from_secs)
}

/// Parses one request line.
pub fn parse(line: &str) -> Result<Request, String> {
    let words: Vec<&str> = line.split_whitespace().collect();
    match words.as_slice() {
        ["sessions"] => Ok(Request::Sessions),
        ["stats"] => Ok(Request::Stats),
        ["metrics"] => Ok(Request::Metrics),
        ["reload"] => Ok(Request::Reload),
        ["kick", target] => match target.parse::<i32>() {
            Ok(pid) if pid > 0 => Ok(Request::KickPid(pid)),
            _ => target
                .parse()
                .map(Request::KickIp)
                .map_err(|_| format!("kick: {target:?} is neither a pid nor an IP")),
        },
        ["ban", ip, dur] => {
            let ip = ip.parse().map_err(|_| format!("ban: {ip:?} is not an IP address"))?;
            let d = parse_duration(dur).ok_or(format!("ban: {dur:?} is not a duration like 30s, 10m, 2h, 1d"))?;
            Ok(Request::Ban(ip, d))
        }
        ["unban", ip] => ip
            .parse()
            .map(Request::Unban)
            .map_err(|_| format!("unban: {ip:?} is not an IP address")),
        _ => Err(format!(
            "unknown request {line:?} (sessions, kick PID|IP, ban IP DURATION, unban IP, reload, stats, metrics)"
        )),
    }
}

/// Addresses refused until a deadline.
#[derive(Debug, Default)]
pub struct Bans {
    until: HashMap<IpAddr, Instant>,
}

impl Bans {
    /// Bans `ip` for `d`.
    pub fn ban(&mut self, ip: IpAddr, d: Duration) {
        self.until.insert(ip, Instant::now() + d);
    }

    /// Lifts a ban; false if there was none.
    pub fn unban(&mut self, ip: &IpAddr) -> bool {
        self.until.remove(ip).is_some()
    }

    /// The time left on `ip`'s ban (expired bans are dropped).
    pub fn remaining(&mut self, ip: &IpAddr) -> Option<Duration> {
        let now = Instant::now();
        self.until.retain(|_, t| *t > now);
        self.until.get(ip).map(|t| *t - now)
    }
}

/// Binds the socket: a stale socket file is replaced, the mode is 0600 and the
/// parent directory is created 0700 if missing.
pub fn bind(path: &Path) -> io::Result<UnixListener> {
    use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
    if let Some(dir) = path.parent() {
        if !dir.as_os_str().is_empty() && !dir.exists() {
            std::fs::DirBuilder::new().recursive(true).mode(0o700).create(dir)?;
        }
    }
    if path.exists() {
        // refuse to steal a socket another tfd is serving
        if UnixStream::connect(path).is_ok() {
            return Err(io::Error::new(
                io::ErrorKind::AddrInUse,
                "another process serves this control socket",
            ));
        }
        std::fs::remove_file(path)?;
    }
    let l = UnixListener::bind(path)?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
    l.set_nonblocking(true)?;
    Ok(l)
}

/// Reads one request from a connection, checking that the peer is root (or the
/// user tfd runs as, when it is not root).
pub fn read_request(s: &UnixStream) -> Result<String, String> {
    let cred =
        nix::sys::socket::getsockopt(s, nix::sys::socket::sockopt::PeerCredentials).map_err(|e| e.to_string())?;
    let me = crate::sys::geteuid();
    if cred.uid() != 0 && cred.uid() != me {
        return Err(format!("permission denied for uid {}", cred.uid()));
    }
    s.set_read_timeout(Some(Duration::from_secs(1)))
        .map_err(|e| e.to_string())?;
    let mut line = String::new();
    let mut r = BufReader::new(s).take(MAX_REQUEST);
    r.read_line(&mut line)
        .map_err(|e| format!("reading the request: {e}"))?;
    Ok(line.trim().to_string())
}

/// Sends a response and ends the connection. The end of the answer is the end
/// of the stream, so the connection is shut down here rather than left to the
/// drop of this descriptor: a helper forked while the request was served (the
/// key process that a reload starts) holds a copy of it, and the peer would see
/// no end until that helper exits.
pub fn respond(mut s: &UnixStream, text: &str) {
    let _ = s.set_write_timeout(Some(Duration::from_secs(1)));
    let _ = s.write_all(text.as_bytes());
    if !text.ends_with('\n') {
        let _ = s.write_all(b"\n");
    }
    let _ = s.shutdown(std::net::Shutdown::Both);
}

/// How long `tfd ctl` waits for the whole answer.
pub const CALL_TIMEOUT: Duration = Duration::from_secs(10);

/// The client side (`tfd ctl`): one request, the response text.
pub fn call(path: &Path, request: &str) -> io::Result<String> {
    let mut s = UnixStream::connect(path)?;
    s.set_read_timeout(Some(CALL_TIMEOUT))?;
    s.write_all(request.as_bytes())?;
    s.write_all(b"\n")?;
    s.shutdown(std::net::Shutdown::Write)?;
    let mut out = String::new();
    match s.read_to_string(&mut out) {
        Ok(_) => Ok(out),
        // a read timeout reads as EAGAIN, which would say nothing to an admin
        Err(e) if matches!(e.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut) => Err(io::Error::new(
            io::ErrorKind::TimedOut,
            format!(
                "no complete answer within {} s (received {} bytes, and the connection was not closed)",
                CALL_TIMEOUT.as_secs(),
                out.len()
            ),
        )),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests() {
        assert_eq!(parse("sessions"), Ok(Request::Sessions));
        assert_eq!(parse("metrics"), Ok(Request::Metrics));
        assert_eq!(parse(" kick 123 "), Ok(Request::KickPid(123)));
        assert_eq!(parse("kick 10.0.0.1"), Ok(Request::KickIp("10.0.0.1".parse().unwrap())));
        assert_eq!(parse("kick ::1"), Ok(Request::KickIp("::1".parse().unwrap())));
        assert_eq!(
            parse("ban 1.2.3.4 10m"),
            Ok(Request::Ban("1.2.3.4".parse().unwrap(), Duration::from_secs(600)))
        );
        assert_eq!(parse("unban 1.2.3.4"), Ok(Request::Unban("1.2.3.4".parse().unwrap())));
        for bad in [
            "",
            "kick",
            "kick x",
            "ban 1.2.3.4",
            "ban 1.2.3.4 0",
            "ban x 1m",
            "frob",
            "kick -1",
        ] {
            assert!(parse(bad).is_err(), "{bad}");
        }
        assert_eq!(parse_duration("2h"), Some(Duration::from_secs(7200)));
        assert_eq!(parse_duration("99999d"), None);
    }

    #[test]
    fn bans_expire() {
        let mut b = Bans::default();
        let ip: IpAddr = "10.1.1.1".parse().unwrap();
        b.ban(ip, Duration::from_millis(30));
        assert!(b.remaining(&ip).is_some());
        std::thread::sleep(Duration::from_millis(40));
        assert!(b.remaining(&ip).is_none());
        b.ban(ip, Duration::from_secs(60));
        assert!(b.unban(&ip));
        assert!(!b.unban(&ip));
    }
}
