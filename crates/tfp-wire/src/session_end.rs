//! Why the server ended a session, asked afterwards on a new connection: the
//! protocol has no message for it, and the session's own stream only ends
//! (doc/compatibility.md "Why a session ended").
//!
//! - the client sends the frame `TFDWHY <port>` ([`request`]) in place of the
//!   protocol version, in plaintext; `<port>` is the local port of its
//!   connection that ended (1..=65535, decimal, no sign, no leading zero);
//! - tfd answers one frame `OK <word>` ([`reply`]) and closes. The word is one
//!   of a fixed set ([`End`]), never free text, and tells only of a session
//!   that came from the asker's own address and that port;
//! - a server without the request takes it for a wrong version: `FAILED`.
//!
//! Both sides parse arbitrary bytes without panicking, within small bounds
//! ([`MAX_REQUEST`], [`MAX_REPLY`]).

/// The request's word, in place of the version frame.
pub const WORD: &str = "TFDWHY";
/// The longest request frame: the word, a space and five digits.
pub const MAX_REQUEST: usize = WORD.len() + 1 + 5;
/// The longest reply frame read (`OK EXITED 255` is the longest sent).
pub const MAX_REPLY: usize = 32;

/// How the session the client asks about ended, as the server knows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum End {
    /// The server's operator ended it (`tfd ctl kick`, `tfd ctl ban`).
    Kicked,
    /// Its process was killed by this signal, not by tfd (someone on the
    /// server: `kill -9`, the out-of-memory killer, a crash).
    Signal(u8),
    /// Its process ended on its own with this status: 0 is the session
    /// ending itself (a limit of the server, such as its idle timeout).
    Exited(u8),
    /// The server still counts the session as running: its end is not
    /// seen yet (asking again a moment later may tell).
    Live,
    /// The server has no record of it (from another address, too long ago,
    /// or a server started since).
    Unknown,
}

/// The request about the connection that had local port `port`.
pub fn request(port: u16) -> Vec<u8> {
    format!("{WORD} {port}").into_bytes()
}

/// Whether a version frame is this request (`Some`), and the port it asks
/// about (`None` inside: the word with no valid port).
pub fn parse_request(frame: &[u8]) -> Option<Option<u16>> {
    let rest = frame.strip_prefix(WORD.as_bytes())?;
    if !rest.is_empty() && rest[0] != b' ' {
        return None;
    }
    Some(
        rest.strip_prefix(b" ")
            .and_then(number)
            .and_then(|n| u16::try_from(n).ok())
            .filter(|&p| p != 0),
    )
}

/// A decimal number of at most five digits, no sign, no leading zero.
fn number(b: &[u8]) -> Option<u32> {
    if b.is_empty() || b.len() > 5 || !b.iter().all(u8::is_ascii_digit) || (b.len() > 1 && b[0] == b'0') {
        return None;
    }
    Some(b.iter().fold(0u32, |n, d| n * 10 + u32::from(d - b'0')))
}

/// The server's answer: `OK` and the end's word.
pub fn reply(end: End) -> Vec<u8> {
    match end {
        End::Kicked => "OK KICKED".to_string(),
        End::Signal(n) => format!("OK SIGNAL {n}"),
        End::Exited(n) => format!("OK EXITED {n}"),
        End::Live => "OK LIVE".to_string(),
        End::Unknown => "OK UNKNOWN".to_string(),
    }
    .into_bytes()
}

/// The end a reply names; `None` for anything else (a server without the
/// request answers `FAILED`, a refusal its own text).
pub fn parse_reply(frame: &[u8]) -> Option<End> {
    if frame.len() > MAX_REPLY {
        return None;
    }
    let rest = frame.strip_prefix(b"OK ")?;
    let small = |b: &[u8]| number(b).and_then(|n| u8::try_from(n).ok());
    match rest {
        b"KICKED" => Some(End::Kicked),
        b"LIVE" => Some(End::Live),
        b"UNKNOWN" => Some(End::Unknown),
        _ => {
            if let Some(n) = rest.strip_prefix(b"SIGNAL ") {
                small(n).filter(|&s| s != 0).map(End::Signal)
            } else {
                small(rest.strip_prefix(b"EXITED ")?).map(End::Exited)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_request_round_trips_and_is_bounded() {
        for port in [1u16, 80, 40000, 65535] {
            let r = request(port);
            assert!(r.len() <= MAX_REQUEST);
            assert_eq!(parse_request(&r), Some(Some(port)));
        }
        assert_eq!(parse_request(b"TFDHOSTKEY"), None);
        assert_eq!(parse_request(b"2.4.1"), None);
        assert_eq!(parse_request(b"TFDWHYX 1"), None);
        for bad in [
            &b"TFDWHY"[..],
            b"TFDWHY ",
            b"TFDWHY 0",
            b"TFDWHY 65536",
            b"TFDWHY 012",
            b"TFDWHY +12",
            b"TFDWHY 12 ",
            b"TFDWHY 123456",
            b"TFDWHY 1\0",
        ] {
            assert_eq!(parse_request(bad), Some(None), "{bad:?}");
        }
    }

    #[test]
    fn every_reply_round_trips_and_nothing_else_is_taken() {
        for end in [
            End::Kicked,
            End::Signal(9),
            End::Signal(64),
            End::Exited(0),
            End::Exited(255),
            End::Live,
            End::Unknown,
        ] {
            let r = reply(end);
            assert!(r.len() <= MAX_REPLY);
            assert_eq!(parse_reply(&r), Some(end));
        }
        for bad in [
            &b"FAILED 2 : Incompatible protocol."[..],
            b"OK",
            b"OK kicked",
            b"OK SIGNAL 0",
            b"OK SIGNAL 256",
            b"OK EXITED -1",
            b"OK EXITED 09",
            b"OK KICKED by someone",
        ] {
            assert_eq!(parse_reply(bad), None, "{bad:?}");
        }
    }
}
