//! Plain words when the server ends a session under a command. tfd ends a
//! session with SIGTERM whether its operator kicks it (`tfd ctl kick`, `ban`)
//! or tfd stops, and the protocol has no message to say which, so tf asks
//! the server's port afterwards: nothing listening is a server that stopped
//! (tfd closes its listeners first when it stops); a connection closed at
//! once, before any handshake, is an address the server refuses (banned, or
//! the server is full); a connection kept open is a server that runs and
//! ended this one session. On that connection tf then asks how
//! (`TFDWHY`, tfp_wire::session_end): an operator's kick, the session's
//! process killed on the server, or the session ending itself; a server
//! without the question (the reference, an older tfd) answers FAILED, and
//! tf says what the port alone tells.

use std::io::{ErrorKind, Read};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::Duration;
use tfp_channel::ChannelError;
use tfp_client::Error;
use tfp_wire::session_end::End;

/// How long the probe waits to connect, and then for the server to hang up.
const PROBE: Duration = Duration::from_millis(700);

/// What the server's port says now.
#[derive(Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Nothing accepts connections there.
    Stopped,
    /// A new connection is closed at once.
    Refused,
    /// A new connection is kept open: the server runs; and how it says the
    /// session ended, when it says (`None`: a server without the question,
    /// or no answer).
    Running(Option<End>),
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

/// Asks `server` (HOST:PORT) what it does now, and, when it runs, how it
/// ended the session whose connection ended last.
pub fn probe(server: &str) -> Verdict {
    // before the probe's own connections, which the server closes too
    probe_about(server, tfp_channel::last_ended_port())
}

/// [`probe`], asking about the session whose connection had local port
/// `port`.
fn probe_about(server: &str, port: Option<u16>) -> Verdict {
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
        Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
            Verdict::Running(port.and_then(|p| tfp_client::session_end::ask(s, addr, p, PROBE)))
        }
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
        Verdict::Running(Some(End::Kicked)) => (
            "the server closed the session: kicked by the server's operator".into(),
            format!("{server} still accepts connections; its operator ended this session (tfd ctl kick)"),
        ),
        Verdict::Running(Some(End::Signal(n))) => (
            format!("the session was killed on the server (signal {n})"),
            format!(
                "something on the server ended its process (kill, the out-of-memory killer, a crash); {server} still accepts connections"
            ),
        ),
        Verdict::Running(Some(End::Exited(0))) => (
            "the server closed the session: it ended the session itself (a limit of the server, such as its idle timeout)"
                .into(),
            format!("{server} still accepts connections; its log says why this session ended"),
        ),
        Verdict::Running(Some(End::Exited(n))) => (
            format!("the server closed the session: its session process failed (exit status {n})"),
            format!("{server} still accepts connections; its log says why this session ended"),
        ),
        Verdict::Running(_) => (
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    /// A server that keeps a new connection open past the probe's wait, then
    /// answers the first frame it reads with `answer`.
    fn answering(answer: &'static [u8]) -> String {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = l.local_addr().unwrap().to_string();
        std::thread::spawn(move || {
            let (mut s, _) = l.accept().unwrap();
            let mut hdr = [0u8; 4];
            s.read_exact(&mut hdr).unwrap();
            let mut q = vec![0u8; u32::from_be_bytes(hdr) as usize];
            s.read_exact(&mut q).unwrap();
            assert_eq!(q, b"TFDWHY 40000");
            let mut out = Vec::new();
            tfp_wire::frame::encode_frame(None, answer, &mut out);
            s.write_all(&out).unwrap();
        });
        addr
    }

    /// A server without the question (the reference, an older tfd) answers
    /// it as a wrong version: tf says what the port alone tells.
    #[test]
    fn a_server_without_the_question_gets_the_words_of_its_port() {
        let server = answering(b"FAILED 2 : Incompatible protocol.");
        let v = probe_about(&server, Some(40000));
        assert_eq!(v, Verdict::Running(None));
        assert!(words(&server, &v)
            .0
            .contains("kicked by the operator (or a limit of the server"));
    }

    #[test]
    fn a_server_with_it_names_the_end() {
        let server = answering(b"OK SIGNAL 9");
        let v = probe_about(&server, Some(40000));
        assert_eq!(v, Verdict::Running(Some(End::Signal(9))));
        assert_eq!(words(&server, &v).0, "the session was killed on the server (signal 9)");
    }
}
