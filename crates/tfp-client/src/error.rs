//! The one error type of the client: [`Error`]. A command the server refused
//! (a `FAILED n : text` or `UNKNOWN` reply) is [`Error::Refused`] with the
//! [`Refusal`]: the command, the [`Code`] to match on, the server's text and
//! the reply as it came.
//!
//! ```
//! use tfp_client::{Error, Refusal};
//! use tfp_wire::{Code, Failed, Status};
//!
//! let e = Error::refused("MKDIR", Status::parse(b"FAILED 4 : Directory already exist."));
//! assert_eq!(e.code(), Some(Code::Known(Failed::DirExists)));
//! assert_eq!(e.failed(), Some(Failed::DirExists));
//! assert!(e.is_refused());
//! assert_eq!(e.to_string(), "the server refused MKDIR: FAILED 4 : Directory already exist.");
//! match e {
//!     Error::Refused(Refusal { command, code: Code::Known(Failed::DirExists), .. }) => {
//!         assert_eq!(command, "MKDIR")
//!     }
//!     other => panic!("{other}"),
//! }
//! ```
#![forbid(unsafe_code)]

use crate::escape::shown_str;
use std::io;
use tfp_channel::ChannelError;
use tfp_wire::{Code, Failed, Status};

/// Why a client operation failed.
#[non_exhaustive]
#[derive(Debug)]
pub enum Error {
    /// Connecting failed, or the connection did (the session is unusable).
    Channel(ChannelError),
    /// The server refused a handshake step (`"version"`, `"session key"`,
    /// `"hash"`, `"fai"`, `"login"`, `"injail"`, `"secure transport"`) with
    /// this status.
    Handshake(&'static str, Status),
    /// The public key could not be used.
    Key(String),
    /// The server answered something the protocol does not allow here.
    Protocol(String),
    /// Reading or writing a local file failed.
    Local(io::Error),
    /// The server refused the command (FAILED or UNKNOWN); the session goes on.
    Refused(Refusal),
    /// A command whose protocol has no status (SUP, SDOWN, INTREAD, INTWRITE,
    /// FSIZE) got the server's negative answer; the session goes on. For
    /// INTWRITE it means the file changed meanwhile (its hash is no longer the
    /// expected one), or is missing, refused or locked.
    Declined {
        /// The command, e.g. `"INTWRITE"`.
        command: &'static str,
        /// The number the server answered (−1, or FSIZE's −2).
        answer: i64,
    },
}

/// A command the server refused: `FAILED n : text` or `UNKNOWN`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// The command's name as sent, e.g. `"MKDIR"`.
    pub command: String,
    /// What to match on.
    pub code: Code,
    /// The server's text (empty for UNKNOWN), as sent: escape it with
    /// [`crate::escape::shown`] before printing it (Display does).
    pub text: String,
    /// The reply as it came.
    pub reply: Status,
}

impl Error {
    /// The error for `reply` to `command`: [`Error::Refused`] for FAILED and
    /// UNKNOWN, [`Error::Protocol`] for anything else (an `OK` where the
    /// command cannot succeed, a frame that is no status).
    pub fn refused(command: &str, reply: Status) -> Error {
        match Code::of(&reply) {
            Some(code) => Error::Refused(Refusal {
                command: command.to_string(),
                code,
                text: match &reply {
                    Status::Failed(_, t) => t.clone(),
                    _ => String::new(),
                },
                reply,
            }),
            None => Error::Protocol(format!(
                "{command}: unexpected reply {}",
                crate::escape::status_text(&reply)
            )),
        }
    }

    /// The refusal's code, when the server refused the command.
    pub fn code(&self) -> Option<Code> {
        match self {
            Error::Refused(r) => Some(r.code),
            _ => None,
        }
    }

    /// The known FAILED code, when the server refused with one.
    pub fn failed(&self) -> Option<Failed> {
        self.code().and_then(Code::failed)
    }

    /// Whether the server refused the command (the session is still usable).
    pub fn is_refused(&self) -> bool {
        matches!(self, Error::Refused(_))
    }

    /// The refusal, if the server refused the command.
    pub fn refusal(&self) -> Option<&Refusal> {
        match self {
            Error::Refused(r) => Some(r),
            _ => None,
        }
    }

    /// Whether the server declined a command that has no status (SUP, SDOWN,
    /// INTREAD, INTWRITE, FSIZE): for INTWRITE, the file changed meanwhile.
    pub fn is_declined(&self) -> bool {
        matches!(self, Error::Declined { .. })
    }

    /// Whether the session can still be used after this error: a refusal or a
    /// declined command leaves it in step; the other errors may not.
    pub fn session_usable(&self) -> bool {
        matches!(self, Error::Refused(_) | Error::Declined { .. })
    }
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.code {
            Code::Unknown => write!(f, "the server does not know {} (UNKNOWN)", self.command),
            code => write!(
                f,
                "the server refused {}: {code} : {}",
                self.command,
                shown_str(&self.text)
            ),
        }
    }
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Error::Channel(e) => write!(f, "{e}"),
            Error::Handshake(step, s) => write!(f, "handshake refused at {step}: {s:?}"),
            Error::Key(e) => write!(f, "public key: {e}"),
            Error::Protocol(e) => write!(f, "protocol error: {e}"),
            Error::Local(e) => write!(f, "{e}"),
            Error::Refused(r) => write!(f, "{r}"),
            Error::Declined { command, answer } => write!(f, "the server declined {command} ({answer})"),
        }
    }
}

impl std::error::Error for Refusal {}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Channel(e) => Some(e),
            Error::Local(e) => Some(e),
            Error::Refused(r) => Some(r),
            _ => None,
        }
    }
}

impl From<ChannelError> for Error {
    fn from(e: ChannelError) -> Self {
        Error::Channel(e)
    }
}

impl From<io::Error> for Error {
    fn from(e: io::Error) -> Self {
        Error::Channel(e.into())
    }
}

impl From<Refusal> for Error {
    fn from(r: Refusal) -> Self {
        Error::Refused(r)
    }
}

/// `Ok(())` for an `OK` reply (with or without data), the refusal otherwise.
pub(crate) fn ok(command: &str, reply: Status) -> Result<Vec<u8>, Error> {
    match reply {
        Status::Ok(d) => Ok(d),
        other => Err(Error::refused(command, other)),
    }
}
