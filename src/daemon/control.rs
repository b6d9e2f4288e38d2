//! The admin control socket (the admin-db seed's "list clients, kick, ban"): a
//! root-only Unix socket served by the listener between accepts. One request
//! line, one response, then close; requests are small and answered from the
//! listener's own state and the shared registry, so serving them never blocks
//! the accept loop for long.

use crate::auth::shared_state::StateError;
use std::collections::HashMap;
use std::fmt;
use std::io::{self, Read, Write};
use std::net::IpAddr;
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::time::{Duration, Instant};

/// Longest request line.
pub(crate) const MAX_REQUEST: u64 = 1024;

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
    /// Lift every ban or lock of an address or a LOGIN name.
    Unban(Target),
    /// List every ban and lock in force.
    Bans,
    /// Reload the configuration.
    Reload,
    /// Counters.
    Stats,
    /// Counters in the Prometheus text format.
    Metrics,
    /// The requests, from [`COMMANDS`].
    Help,
}

/// `tfd ctl help`: every request of [`COMMANDS`], one a line.
pub fn help_text() -> String {
    let mut out = String::from("requests (tfd ctl [-c FILE] [--socket PATH] REQUEST):\n");
    let usage = |c: &Command| format!("{} {}", c.name, c.args).trim_end().to_string();
    let width = COMMANDS.iter().map(|c| usage(c).len()).max().unwrap_or(0);
    for c in COMMANDS {
        out.push_str(&format!("  {:<width$}  {}\n", usage(c), c.summary));
    }
    out
}

/// What `unban` lifts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// An address: admin bans and the LOGIN throttle's address ban.
    Ip(IpAddr),
    /// A LOGIN name: the throttle's lock of it.
    Name(String),
}

/// One request of the control socket: its name, its arguments as `tfd ctl
/// help` shows them, one line saying what it does, and its parser (given the
/// words after the name). `parse` and the list in its error come from this
/// table, and so can any help text.
pub struct Command {
    /// The first word.
    pub name: &'static str,
    /// The arguments, as shown.
    pub args: &'static str,
    /// What it does.
    pub summary: &'static str,
    /// The request from the other words.
    pub parse: fn(&[&str]) -> Result<Request, ArgError>,
}

/// Why a request's arguments were not taken (after its name, in the answer).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ArgError {
    /// Words after a request that takes none.
    NoArgument,
    /// The wrong number of words: what the request needs.
    Needs(&'static str),
    /// `kick`'s word is neither.
    NotPidOrIp(String),
    /// Not an IP address.
    NotIp(String),
    /// Not a duration [`parse_duration`] reads.
    NotDuration(String),
}

impl fmt::Display for ArgError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ArgError::NoArgument => f.write_str("takes no argument"),
            ArgError::Needs(what) => write!(f, "needs {what}"),
            ArgError::NotPidOrIp(w) => write!(f, "{w:?} is neither a pid nor an IP"),
            ArgError::NotIp(w) => write!(f, "{w:?} is not an IP address"),
            ArgError::NotDuration(w) => write!(f, "{w:?} is not a duration like 30s, 10m, 2h, 1d"),
        }
    }
}

/// Why a request line was not taken, answered as `error: …`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RequestError {
    /// The first word (or none) names no request: the line as sent.
    Unknown(String),
    /// A request whose arguments do not fit: its name and why.
    Arguments(&'static str, ArgError),
}

impl fmt::Display for RequestError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RequestError::Unknown(line) => {
                let list: Vec<String> = COMMANDS
                    .iter()
                    .map(|c| format!("{} {}", c.name, c.args).trim_end().to_string())
                    .collect();
                write!(
                    f,
                    "unknown request {line:?} ({}; tfd ctl help says more)",
                    list.join(", ")
                )
            }
            RequestError::Arguments(name, why) => write!(f, "{name}: {why}"),
        }
    }
}

impl std::error::Error for RequestError {}

/// An address as typed, in the one form every rule uses (IPv4-mapped IPv6
/// becomes IPv4, as every client address does where it enters).
fn address(word: &str) -> Option<IpAddr> {
    word.parse::<IpAddr>().ok().map(|ip| ip.to_canonical())
}

fn no_args(r: Request) -> impl Fn(&[&str]) -> Result<Request, ArgError> {
    move |w| {
        if w.is_empty() {
            Ok(r.clone())
        } else {
            Err(ArgError::NoArgument)
        }
    }
}

/// Every request, in the order `tfd ctl help` lists them.
pub(crate) const COMMANDS: &[Command] = &[
    Command {
        name: "sessions",
        args: "",
        summary: "list the sessions (pid, client, login, user, bytes, command)",
        parse: |w| no_args(Request::Sessions)(w),
    },
    Command {
        name: "kick",
        args: "PID|ADDRESS",
        summary: "end one session, or every session from an address",
        parse: |w| match w {
            [target] => match target.parse::<i32>() {
                Ok(pid) if pid > 0 => Ok(Request::KickPid(pid)),
                _ => address(target)
                    .map(Request::KickIp)
                    .ok_or(ArgError::NotPidOrIp(target.to_string())),
            },
            _ => Err(ArgError::Needs("a PID or an ADDRESS")),
        },
    },
    Command {
        name: "ban",
        args: "ADDRESS DURATION",
        summary: "refuse an address for a while (30s, 10m, 2h, 1d), on every node sharing shared_state_dir, and end its sessions",
        parse: |w| match w {
            [ip, dur] => {
                let ip = address(ip).ok_or(ArgError::NotIp(ip.to_string()))?;
                let d = parse_duration(dur).ok_or(ArgError::NotDuration(dur.to_string()))?;
                Ok(Request::Ban(ip, d))
            }
            _ => Err(ArgError::Needs("an ADDRESS and a DURATION")),
        },
    },
    Command {
        name: "unban",
        args: "ADDRESS|NAME",
        summary: "lift every ban of an address (admin or after failed logins) or the lock of a login name, on every node sharing shared_state_dir",
        parse: |w| match w {
            [x] => Ok(Request::Unban(match address(x) {
                Some(ip) => Target::Ip(ip),
                None => Target::Name(x.to_string()),
            })),
            _ => Err(ArgError::Needs("an ADDRESS or a NAME")),
        },
    },
    Command {
        name: "bans",
        args: "",
        summary: "list every ban and lock in force: what, why, seconds left, this node or every node",
        parse: |w| no_args(Request::Bans)(w),
    },
    Command {
        name: "reload",
        args: "",
        summary: "read the configuration again (as SIGHUP)",
        parse: |w| no_args(Request::Reload)(w),
    },
    Command {
        name: "stats",
        args: "",
        summary: "uptime and counters",
        parse: |w| no_args(Request::Stats)(w),
    },
    Command {
        name: "metrics",
        args: "",
        summary: "counters in the Prometheus text format",
        parse: |w| no_args(Request::Metrics)(w),
    },    Command {
        name: "help",
        args: "",
        summary: "this list",
        parse: |w| no_args(Request::Help)(w),
    },
];

/// Parses `1h`, `30m`, `45s`, `2d` or plain seconds.
pub(crate) fn parse_duration(s: &str) -> Option<Duration> {
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

/// Parses one request line through [`COMMANDS`].
pub fn parse(line: &str) -> Result<Request, RequestError> {
    let words: Vec<&str> = line.split_whitespace().collect();
    let unknown = || RequestError::Unknown(line.to_string());
    let Some((first, rest)) = words.split_first() else {
        return Err(unknown());
    };
    match COMMANDS.iter().find(|c| c.name == *first) {
        Some(c) => (c.parse)(rest).map_err(|e| RequestError::Arguments(c.name, e)),
        None => Err(unknown()),
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

    /// Every ban in force, with its time left.
    pub fn list(&mut self) -> Vec<(IpAddr, Duration)> {
        let now = Instant::now();
        self.until.retain(|_, t| *t > now);
        self.until.iter().map(|(ip, t)| (*ip, *t - now)).collect()
    }

    /// The time left on `ip`'s ban (expired bans are dropped).
    pub(crate) fn remaining(&mut self, ip: &IpAddr) -> Option<Duration> {
        let now = Instant::now();
        self.until.retain(|_, t| *t > now);
        self.until.get(ip).map(|t| *t - now)
    }
}

/// How often the listener looks at the shared bans file's attributes.
pub(crate) const SHARED_BANS_STAT: Duration = Duration::from_millis(250);
/// How often it reads the file even when its attributes look unchanged (a
/// network file system may cache them, and a write within one timestamp tick
/// leaves them as they were): a ban or unban holds on every node within a
/// second whatever the file system caches (32 KiB under a shared lock).
pub(crate) const SHARED_BANS_READ: Duration = Duration::from_millis(750);
/// The longest the listener waits for the bans file's lock: it must not stall
/// accepting behind another node.
pub(crate) const SHARED_BANS_WAIT: Duration = Duration::from_millis(20);
/// How long a `tfd ctl ban`/`unban` waits for it.
pub(crate) const SHARED_BANS_WRITE_WAIT: Duration = Duration::from_millis(500);
/// After a read that failed, the next try comes this soon, then twice as late
/// each time up to [`SHARED_BANS_STAT`]: the usual failure is the lock held by
/// a node writing a ban (seen on GlusterFS when the file had just changed:
/// the writer still syncing), and the next try usually reads it.
pub(crate) const SHARED_BANS_RETRY: Duration = Duration::from_millis(25);
/// How long reads may keep failing before the node says, at error level and
/// again every [`SHARED_BANS_RETELL`], that bans made elsewhere are not applied.
pub(crate) const SHARED_BANS_UNREAD: Duration = Duration::from_secs(5);
/// See [`SHARED_BANS_UNREAD`].
pub(crate) const SHARED_BANS_RETELL: Duration = Duration::from_secs(60);

/// Reads of the shared bans failing since `since`.
#[derive(Debug, Clone, Copy)]
struct Failing {
    since: Instant,
    /// The wait before the next try.
    retry: Duration,
    /// When the node last said how long the reads have been failing.
    told: Option<Instant>,
}

/// The listener's copy of the bans every node shares (`shared_state_dir`): an
/// accept looks only at this map; the file behind it is read when its size,
/// time or inode change, checked at most every [`SHARED_BANS_STAT`], and read
/// anyway every [`SHARED_BANS_READ`]. When the file cannot be read, or has
/// damaged records, the bans already known are kept until they end (a ban is
/// dropped only when a sound file no longer holds it), so trouble with the file
/// never lets a banned address in.
pub(crate) struct SharedBanCache {
    file: crate::auth::shared_state::SharedBans,
    until: HashMap<IpAddr, u64>,
    checked: Option<Instant>,
    read: Option<Instant>,
    seen: Option<(u64, u64, i64, i64, i64, i64)>,
    /// The last problem logged, so a lasting one is logged once.
    trouble: Option<String>,
    /// Reads failing: retried sooner, and said when it lasts.
    failing: Option<Failing>,
}

impl SharedBanCache {
    /// The bans in `dir` (prepared), not read yet.
    pub(crate) fn new(dir: std::sync::Arc<crate::auth::shared_state::StateDir>) -> SharedBanCache {
        SharedBanCache {
            file: crate::auth::shared_state::SharedBans::new(dir),
            until: HashMap::new(),
            checked: None,
            read: None,
            seen: None,
            trouble: None,
            failing: None,
        }
    }

    /// When [`SharedBanCache::refresh`] next has something to do: a look at
    /// the file every [`SHARED_BANS_STAT`], sooner after a failed read.
    pub(crate) fn due(&self) -> Instant {
        let wait = self.failing.map_or(SHARED_BANS_STAT, |f| f.retry);
        self.checked.map_or_else(Instant::now, |t| t + wait)
    }

    /// Re-reads the file if it is due and changed (or not read for a while);
    /// returns the addresses banned since the last read, whose sessions on this
    /// node the caller ends.
    pub(crate) fn refresh(&mut self, force: bool) -> Vec<IpAddr> {
        let now = Instant::now();
        if !force && self.checked.is_some() && now < self.due() {
            return Vec::new();
        }
        self.checked = Some(now);
        let sig = self.file.signature();
        let stale = self.read.map_or(true, |t| now >= t + SHARED_BANS_READ) || self.failing.is_some();
        if !force && !stale && sig.is_some() && sig == self.seen {
            return Vec::new();
        }
        let unix = crate::auth::shared_state::unix_now();
        let list = match self.file.read(unix, SHARED_BANS_WAIT) {
            Ok(l) => l,
            Err(e) => {
                self.trouble(format!(
                    "shared bans {}: {e}; keeping the {} ban(s) already known",
                    self.file.path().display(),
                    self.until.len()
                ));
                self.failed(now);
                return Vec::new();
            }
        };
        if let Some(f) = self.failing.take() {
            if f.told.is_some() {
                log::warn!(
                    "shared bans {}: read again after failing for {} s",
                    self.file.path().display(),
                    now.duration_since(f.since).as_secs()
                );
            }
        }
        self.read = Some(now);
        self.seen = sig;
        let mut new = Vec::new();
        let mut next: HashMap<IpAddr, u64> = list.bans.iter().map(|b| (b.ip, b.until)).collect();
        for (ip, until) in &next {
            if self.until.get(ip) != Some(until) {
                new.push(*ip);
            }
        }
        if list.damaged > 0 {
            // a damaged record may have held one of the bans known: keep them
            // all, and write back the missing ones so that every node has them
            let lost: Vec<(IpAddr, u64)> = self
                .until
                .iter()
                .filter(|(ip, until)| **until > unix && !next.contains_key(ip))
                .map(|(ip, until)| (*ip, *until))
                .collect();
            let mut restored = 0;
            for (ip, until) in &lost {
                if self.file.ban(*ip, *until, unix, SHARED_BANS_WAIT).is_ok() {
                    restored += 1;
                }
                next.insert(*ip, *until);
            }
            self.trouble(format!(
                "shared bans {}: {} damaged record(s); keeping the bans already known until they end \
                 (wrote {restored} of {} missing back)",
                self.file.path().display(),
                list.damaged,
                lost.len()
            ));
        } else if self.trouble.take().is_some() {
            log::info!("shared bans {}: readable again", self.file.path().display());
        }
        self.until = next;
        new
    }

    /// A read failed at `now`: the next try comes sooner than a look would
    /// ([`SHARED_BANS_RETRY`], doubling), and reads failing for
    /// [`SHARED_BANS_UNREAD`] are said at error level, every
    /// [`SHARED_BANS_RETELL`]: meanwhile bans and unbans made on other nodes
    /// do not reach this one (the bans it knew keep refusing).
    fn failed(&mut self, now: Instant) {
        let f = self.failing.get_or_insert(Failing {
            since: now,
            retry: SHARED_BANS_RETRY / 2,
            told: None,
        });
        f.retry = (f.retry * 2).min(SHARED_BANS_STAT);
        let failing_for = now.duration_since(f.since);
        if failing_for >= SHARED_BANS_UNREAD && f.told.map_or(true, |t| now >= t + SHARED_BANS_RETELL) {
            f.told = Some(now);
            log::error!(
                "shared bans {}: not read for {} s: bans and unbans made on other nodes since then are not \
                 applied on this node (the {} ban(s) it knew still refuse)",
                self.file.path().display(),
                failing_for.as_secs(),
                self.until.len()
            );
        }
    }

    fn trouble(&mut self, what: String) {
        if self.trouble.as_deref() != Some(&what) {
            log::error!("{what}");
        }
        self.trouble = Some(what);
    }

    /// Every shared ban in force, as last read, with its time left.
    pub(crate) fn list(&self) -> Vec<(IpAddr, Duration)> {
        let now = crate::auth::shared_state::unix_now();
        self.until
            .iter()
            .filter(|(_, u)| **u > now)
            .map(|(ip, u)| (*ip, Duration::from_secs(u - now)))
            .collect()
    }

    /// The time left on `ip`'s shared ban, as last read.
    pub(crate) fn remaining(&self, ip: &IpAddr) -> Option<Duration> {
        let until = *self.until.get(&ip.to_canonical())?;
        let now = crate::auth::shared_state::unix_now();
        (until > now).then(|| Duration::from_secs(until - now))
    }

    /// Bans `ip` on every node (and at once in this copy).
    pub(crate) fn ban(&mut self, ip: IpAddr, d: Duration) -> Result<(), StateError> {
        let now = crate::auth::shared_state::unix_now();
        let until = now.saturating_add(d.as_secs());
        let evicted = self.file.ban(ip, until, now, SHARED_BANS_WRITE_WAIT)?;
        if evicted {
            log::warn!(
                "shared bans: all {} slots held bans; the one ending soonest was dropped",
                crate::auth::shared_state::BAN_SLOTS
            );
        }
        self.until.insert(ip.to_canonical(), until);
        Ok(())
    }

    /// Lifts `ip`'s ban on every node; whether one was in force there.
    pub(crate) fn unban(&mut self, ip: IpAddr) -> Result<bool, StateError> {
        let now = crate::auth::shared_state::unix_now();
        let found = self.file.unban(ip, now, SHARED_BANS_WRITE_WAIT)?;
        let here = self.until.remove(&ip.to_canonical()).is_some();
        Ok(found || here)
    }
}

/// Reads one request from a connection, checking that the peer is root (or the
/// user tfd runs as, when it is not root).
pub(crate) fn read_request(s: &UnixStream) -> Result<String, ReadError> {
    let cred = nix::sys::socket::getsockopt(s, nix::sys::socket::sockopt::PeerCredentials)?;
    let me = tfd_sys::geteuid();
    if cred.uid() != 0 && cred.uid() != me {
        return Err(ReadError::Denied(cred.uid()));
    }
    read_line_by(s, Instant::now() + REQUEST_DEADLINE)
}

/// How long a whole request may take to arrive, however it trickles in: the
/// listener answers between accepts, so a slow (or stuck) control client may
/// hold it up this long at most, and is then dropped.
pub(crate) const REQUEST_DEADLINE: Duration = Duration::from_secs(2);

/// Why no request line was read (logged, and answered as `error: …`).
#[derive(Debug)]
pub(crate) enum ReadError {
    /// The peer's credentials could not be asked for.
    Peer(nix::errno::Errno),
    /// The peer is neither root nor tfd's own user: its uid.
    Denied(u32),
    /// [`REQUEST_DEADLINE`] passed first: the bytes received.
    Late(usize),
    /// The socket's read timeout could not be set.
    Timeout(io::Error),
    /// Reading failed.
    Read(io::Error),
    /// The line is not UTF-8.
    NotUtf8,
}

/// The one nix call of [`read_request`] asks for the peer's credentials.
impl From<nix::errno::Errno> for ReadError {
    fn from(e: nix::errno::Errno) -> ReadError {
        ReadError::Peer(e)
    }
}

impl From<std::str::Utf8Error> for ReadError {
    fn from(_: std::str::Utf8Error) -> ReadError {
        ReadError::NotUtf8
    }
}

impl fmt::Display for ReadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReadError::Peer(e) => write!(f, "{e}"),
            ReadError::Denied(uid) => write!(f, "permission denied for uid {uid}"),
            ReadError::Late(got) => write!(
                f,
                "reading the request: not complete within {} s ({got} bytes received)",
                REQUEST_DEADLINE.as_secs()
            ),
            ReadError::Timeout(e) => write!(f, "{e}"),
            ReadError::Read(e) => write!(f, "reading the request: {e}"),
            ReadError::NotUtf8 => f.write_str("reading the request: not UTF-8"),
        }
    }
}

impl std::error::Error for ReadError {}

/// One line (at most [`MAX_REQUEST`] bytes) read before `deadline`: each read
/// waits only for what is left of the whole, not for a fresh second.
fn read_line_by(mut s: &UnixStream, deadline: Instant) -> Result<String, ReadError> {
    let mut got: Vec<u8> = Vec::new();
    let mut buf = [0u8; 256];
    while !got.contains(&b'\n') && (got.len() as u64) < MAX_REQUEST {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(ReadError::Late(got.len()));
        }
        s.set_read_timeout(Some(left)).map_err(ReadError::Timeout)?;
        match s.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) if matches!(e.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut) => {}
            Err(e) => return Err(ReadError::Read(e)),
        }
    }
    let end = got
        .iter()
        .position(|&b| b == b'\n')
        .unwrap_or(got.len())
        .min(MAX_REQUEST as usize);
    let line = std::str::from_utf8(&got[..end])?;
    Ok(line.trim().to_string())
}

/// Sends a response and ends the connection. The end of the answer is the end
/// of the stream, so the connection is shut down here rather than left to the
/// drop of this descriptor: a helper forked while the request was served (the
/// key process that a reload starts) holds a copy of it, and the peer would see
/// no end until that helper exits.
pub(crate) fn respond(mut s: &UnixStream, text: &str) {
    let _ = s.set_write_timeout(Some(Duration::from_secs(1)));
    let _ = s.write_all(text.as_bytes());
    if !text.ends_with('\n') {
        let _ = s.write_all(b"\n");
    }
    let _ = s.shutdown(std::net::Shutdown::Both);
}

/// How long `tfd ctl` waits for the whole answer.
pub(crate) const CALL_TIMEOUT: Duration = Duration::from_secs(10);

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
        assert_eq!(
            parse("unban 1.2.3.4"),
            Ok(Request::Unban(Target::Ip("1.2.3.4".parse().unwrap())))
        );
        // the mapped form is the address itself; a word that is no address a name
        assert_eq!(
            parse("unban ::ffff:1.2.3.4"),
            Ok(Request::Unban(Target::Ip("1.2.3.4".parse().unwrap())))
        );
        assert_eq!(
            parse("kick ::ffff:10.0.0.1"),
            Ok(Request::KickIp("10.0.0.1".parse().unwrap()))
        );
        assert_eq!(parse("unban alice"), Ok(Request::Unban(Target::Name("alice".into()))));
        assert_eq!(parse("bans"), Ok(Request::Bans));
        for bad in [
            "",
            "kick",
            "kick x",
            "ban 1.2.3.4",
            "ban 1.2.3.4 0",
            "ban x 1m",
            "frob",
            "kick -1",
            "bans x",
            "unban",
            "sessions now",
            "help me",
        ] {
            assert!(parse(bad).is_err(), "{bad}");
        }
        assert_eq!(parse("help"), Ok(Request::Help));
        let help = help_text();
        for c in COMMANDS {
            assert!(help.contains(&format!("  {} ", c.name)), "{help}");
        }
        assert_eq!(parse_duration("2h"), Some(Duration::from_secs(7200)));
        assert_eq!(parse_duration("99999d"), None);
    }

    /// A read of the shared bans that fails (the lock held by a node writing)
    /// is tried again 25 ms later, not at the next look 250 ms later, and the
    /// ban is then applied; the bans already known keep refusing meanwhile.
    #[test]
    fn a_failed_read_of_the_shared_bans_is_tried_again_soon() {
        use std::os::fd::AsFd;
        let d = std::env::temp_dir().join(format!("tfd-ctl-retry-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        let dir = crate::auth::shared_state::prepare(&d).unwrap();
        let mut cache = SharedBanCache::new(dir.clone());
        let other = crate::auth::shared_state::SharedBans::new(dir);
        let (known, new): (IpAddr, IpAddr) = ("192.0.2.1".parse().unwrap(), "192.0.2.2".parse().unwrap());
        let now = crate::auth::shared_state::unix_now();
        other.ban(known, now + 600, now, SHARED_BANS_WRITE_WAIT).unwrap();
        assert!(cache.refresh(true).contains(&known));
        // another node bans, and still holds the lock when this one looks
        other.ban(new, now + 600, now, SHARED_BANS_WRITE_WAIT).unwrap();
        let held = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open(d.join(crate::auth::shared_state::BANS_FILE))
            .unwrap();
        assert!(tfd_sys::ofd_setlk(held.as_fd(), tfd_sys::OfdLock::Exclusive).unwrap());
        let looked = Instant::now();
        assert!(cache.refresh(true).is_empty());
        assert!(cache.remaining(&known).is_some() && cache.remaining(&new).is_none());
        let wait = cache.due().saturating_duration_since(looked);
        assert!(
            wait <= SHARED_BANS_RETRY + Duration::from_millis(20),
            "next try in {wait:?}"
        );
        // failing again: later each time, never later than a look
        std::thread::sleep(cache.due().saturating_duration_since(Instant::now()));
        let again = Instant::now();
        assert!(cache.refresh(false).is_empty());
        let wait2 = cache.due().saturating_duration_since(again);
        assert!(wait2 > wait && wait2 <= SHARED_BANS_STAT, "{wait:?} then {wait2:?}");
        drop(held);
        std::thread::sleep(cache.due().saturating_duration_since(Instant::now()));
        assert_eq!(cache.refresh(false), vec![new]);
        assert!(cache.remaining(&known).is_some() && cache.remaining(&new).is_some());
        assert!(cache.due().saturating_duration_since(Instant::now()) > SHARED_BANS_STAT / 2);
        std::fs::remove_dir_all(&d).unwrap();
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
