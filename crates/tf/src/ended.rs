//! Plain words when the server ends a session under a command. tfd ends a
//! session with SIGTERM whether its operator kicks it (`tfd ctl kick`, `ban`)
//! or tfd stops, and the protocol has no message to say which, so tf asks
//! the server's port afterwards: nothing listening is a server that stopped
//! (tfd closes its listeners first when it stops); a connection closed at
//! once, before any handshake, is an address the server refuses (banned, or
//! the server is full); a connection kept open is a server that runs and
//! ended this one session: kicked by its operator, or a limit of its own.

use std::io::{ErrorKind, Read};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::Duration;
use tfp_channel::ChannelError;
use tfp_client::Error;

/// How long the probe waits to connect, and then for the server to hang up.
const PROBE: Duration = Duration::from_millis(700);

/// What the server's port says now.
#[derive(Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Nothing accepts connections there.
    Stopped,
    /// A new connection is closed at once.
    Refused,
    /// A new connection is kept open: the server runs.
    Running,
    /// The probe itself could not tell (no address, a timeout).
    Unknown,
}

/// Whether `e` is the session's stream ending under a command (not a
/// timeout, not a protocol error).
pub fn is_end(e: &Error) -> bool {
    match e {
        Error::Channel(ChannelError::Closed) => true,
        Error::Channel(ChannelError::Secure(why)) => why.contains("truncated"),
        Error::Channel(ChannelError::Io(io)) => matches!(
            io.kind(),
            ErrorKind::ConnectionReset
                | ErrorKind::BrokenPipe
                | ErrorKind::UnexpectedEof
                | ErrorKind::ConnectionAborted
        ),
        _ => false,
    }
}

/// Asks `server` (HOST:PORT) what it does now.
pub fn probe(server: &str) -> Verdict {
    let Some(addr) = server.to_socket_addrs().ok().and_then(|mut a| a.next()) else {
        return Verdict::Unknown;
    };
    let mut s = match TcpStream::connect_timeout(&addr, PROBE) {
        Ok(s) => s,
        Err(e) if e.kind() == ErrorKind::ConnectionRefused => return Verdict::Stopped,
        Err(_) => return Verdict::Unknown,
    };
    let _ = s.set_read_timeout(Some(PROBE));
    let mut b = [0u8; 1];
    match s.read(&mut b) {
        // closed at once, or a refusal sent first (a tfd speaks first only to refuse)
        Ok(_) => Verdict::Refused,
        Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => Verdict::Running,
        Err(e) if e.kind() == ErrorKind::ConnectionReset => Verdict::Refused,
        Err(_) => Verdict::Unknown,
    }
}

/// The sentence and the hint for a session `server` ended, by `v`.
pub fn words(server: &str, v: &Verdict) -> (String, String) {
    match v {
        Verdict::Stopped => (
            "the server closed the session: tfd is stopping (or stopped)".into(),
            format!("nothing accepts connections on {server} now; try again once it is back"),
        ),
        Verdict::Refused => (
            "the server closed the session: this address is refused now (banned, or the server is full)".into(),
            format!("{server} closes new connections at once; an operator lifts a ban with tfd ctl unban"),
        ),
        Verdict::Running => (
            "the server closed the session: kicked by the operator (or a limit of the server, such as its idle timeout)"
                .into(),
            format!("{server} still accepts connections; its log says why this session ended"),
        ),
        Verdict::Unknown => (
            format!("{server} closed the connection"),
            "the server ended the session (idle timeout, a kick, or it stopped); its log says why".into(),
        ),
    }
}
