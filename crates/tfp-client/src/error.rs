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

use crate::escape::shown_text;
use crate::tree::{MAX_ENTRIES, MAX_LISTING_BYTES};
use std::io;
use std::path::{Path, PathBuf};
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
    /// This local file could not be used: Display names it and the cause in
    /// one sentence (a full disk or quota plainly: [`Error::is_no_space`]);
    /// `source` keeps the errno to match on.
    File {
        /// The file (or the directory it was to be made in).
        path: PathBuf,
        /// What the system said.
        source: io::Error,
    },
    /// The operation cannot be carried out as asked, e.g. a download of a
    /// name that is not a regular file on the server. Nothing was changed.
    Usage(String),
    /// What was received is not what the server said it is: not its SHA-256,
    /// twice (it is moved again once before this), or not the size it
    /// announced. The target was left as it was; the session goes on.
    Mismatch(String),
    /// An answer was over the client's bound (a listing too long or with too
    /// many entries). The rest of it may still be on the wire, so the session
    /// is not used again.
    TooBig(TooBig),
    /// The server cancelled a transfer it had started (`HPFCANCEL`): its read
    /// or write failed. The session goes on; the file may be incomplete.
    Cancelled {
        /// The command, e.g. `"PUT"`.
        command: &'static str,
    },
    /// `error` ended a download after some data had landed: it is kept in
    /// `kept` so that a resume continues it instead of starting again. The
    /// target is as it was. [`Error::code`], [`Error::session_usable`] and the
    /// like answer for `error`.
    Partial {
        /// Why the download stopped.
        error: Box<Error>,
        /// What it left for a resume.
        kept: Kept,
    },
    /// The server refused the command (FAILED or UNKNOWN); the session goes on.
    Refused(Refusal),
    /// `error` (a lost connection) came after an upload's commit was asked
    /// for (`command`: SNDFILE's last `OK`, `TFDSTAGEDONE`): the server may
    /// have carried it out before its answer was lost, so the target is the
    /// old file or the new one, whole, and which of them is not known here.
    /// A server killed in that window made tf say "as it was" of a file it
    /// had replaced.
    Unsettled {
        /// The command whose answer was lost.
        command: &'static str,
        /// How the connection failed.
        error: Box<Error>,
    },
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

/// What a failed download left beside its target for a later resume.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Kept {
    /// The partial file holding the data.
    pub partial: PathBuf,
    /// Bytes its journal proves.
    pub bytes: u64,
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

    /// The error for a local file's `source`.
    pub fn file(path: &Path, source: io::Error) -> Error {
        Error::File {
            path: path.to_path_buf(),
            source,
        }
    }

    /// The error itself, looking through [`Error::Partial`].
    pub fn cause(&self) -> &Error {
        match self {
            Error::Partial { error, .. } | Error::Unsettled { error, .. } => error.cause(),
            e => e,
        }
    }

    /// The error itself, without what [`Error::Partial`] kept.
    pub fn into_cause(self) -> Error {
        match self {
            Error::Partial { error, .. } | Error::Unsettled { error, .. } => error.into_cause(),
            e => e,
        }
    }

    /// What a failed download kept for a resume, if anything.
    pub fn kept(&self) -> Option<&Kept> {
        match self {
            Error::Partial { kept, .. } => Some(kept),
            _ => None,
        }
    }

    /// Whether the local disk or quota is full.
    pub fn is_no_space(&self) -> bool {
        let io = match self.cause() {
            Error::File { source, .. } => source,
            Error::Local(e) => e,
            _ => return false,
        };
        matches!(io.raw_os_error(), Some(libc::ENOSPC | libc::EDQUOT))
    }

    /// The refusal's code, when the server refused the command.
    pub fn code(&self) -> Option<Code> {
        self.refusal().map(|r| r.code)
    }

    /// The known FAILED code, when the server refused with one.
    pub fn failed(&self) -> Option<Failed> {
        self.code().and_then(Code::failed)
    }

    /// Whether the server refused the command (the session is still usable).
    pub fn is_refused(&self) -> bool {
        self.refusal().is_some()
    }

    /// The refusal, if the server refused the command.
    pub fn refusal(&self) -> Option<&Refusal> {
        match self.cause() {
            Error::Refused(r) => Some(r),
            _ => None,
        }
    }

    /// Whether the server declined a command that has no status (SUP, SDOWN,
    /// INTREAD, INTWRITE, FSIZE): for INTWRITE, the file changed meanwhile.
    pub fn is_declined(&self) -> bool {
        matches!(self.cause(), Error::Declined { .. })
    }

    /// Whether the session can still be used after this error: a refusal, a
    /// declined command, a transfer the server cancelled, an operation that
    /// could not apply, or a mismatch leave it in step; the other errors may
    /// not.
    pub fn session_usable(&self) -> bool {
        matches!(
            self.cause(),
            Error::Refused(_) | Error::Declined { .. } | Error::Cancelled { .. } | Error::Usage(_) | Error::Mismatch(_)
        )
    }

    /// Whether the call failed because a connection's peer ended it (an end
    /// of stream, a reset, a broken pipe, a secure channel cut short): not a
    /// timeout, not a protocol error. With the session's own connection
    /// still answering, it was one of the transfer's lanes.
    pub fn is_end(&self) -> bool {
        match self.cause() {
            Error::Channel(tfp_channel::ChannelError::Closed) => true,
            Error::Channel(tfp_channel::ChannelError::Secure(why)) => why.contains("truncated"),
            Error::Channel(tfp_channel::ChannelError::Io(io)) => matches!(
                io.kind(),
                io::ErrorKind::ConnectionReset
                    | io::ErrorKind::BrokenPipe
                    | io::ErrorKind::UnexpectedEof
                    | io::ErrorKind::ConnectionAborted
            ),
            _ => false,
        }
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
                shown_text(&self.text)
            ),
        }
    }
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Error::Channel(e) => write!(f, "{e}"),
            Error::Handshake(step, s) => {
                write!(
                    f,
                    "the server refused the {step} step: {}",
                    crate::escape::status_text(s)
                )
            }
            Error::Key(e) => write!(f, "public key: {e}"),
            Error::Protocol(e) => write!(f, "protocol error: {e}"),
            Error::Local(e) => write!(f, "{e}"),
            Error::Refused(r) => write!(f, "{r}"),
            Error::Declined { command, answer } => write!(f, "the server declined {command} ({answer})"),
            Error::File { path, source } => write!(f, "{}", local_cause(path, source)),
            Error::Usage(m) | Error::Mismatch(m) => write!(f, "{m}"),
            Error::TooBig(t) => write!(f, "{t}"),
            Error::Cancelled { command } => {
                write!(f, "the server cancelled the {command} (its read or write failed)")
            }
            Error::Partial { error, kept } => write!(
                f,
                "{error}; the {} bytes received are kept in {} for a resume",
                kept.bytes,
                crate::escape::path(&kept.partial)
            ),
            Error::Unsettled { command, error } => write!(
                f,
                "{error}, after {command} asked the server to commit: the file on the server is \
                 either as it was or the new one, whole"
            ),
        }
    }
}

impl std::error::Error for Refusal {}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Channel(e) => Some(e),
            Error::Local(e) => Some(e),
            Error::File { source, .. } => Some(source),
            Error::Refused(r) => Some(r),
            Error::Partial { error, .. } | Error::Unsettled { error, .. } => Some(error.as_ref()),
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

/// One sentence for a local I/O error on `what`, naming the usual causes
/// plainly.
pub fn local_cause(what: &Path, e: &io::Error) -> String {
    let why = match e.raw_os_error() {
        Some(libc::ENOSPC) => format!("the local disk is full ({e})"),
        Some(libc::EDQUOT) => format!("the local disk quota is exhausted ({e})"),
        Some(libc::EACCES) | Some(libc::EPERM) => "permission denied".to_string(),
        Some(libc::ENOENT) => "its directory does not exist".to_string(),
        Some(libc::EROFS) => "the file system is read-only".to_string(),
        _ => e.to_string(),
    };
    format!("{}: {why}", crate::escape::path(what))
}

/// `Ok(())` for an `OK` reply (with or without data), the refusal otherwise.
pub(crate) fn ok(command: &str, reply: Status) -> Result<Vec<u8>, Error> {
    match reply {
        Status::Ok(d) => Ok(d),
        other => Err(Error::refused(command, other)),
    }
}

/// Why a listing as a whole is refused ([`Error::TooBig`]): here, below the
/// listing (`remote::listing`) that makes it, so the error room names no room
/// that names it.
#[derive(Debug, PartialEq, Eq)]
pub enum TooBig {
    /// More entries than [`MAX_ENTRIES`] (how many).
    Entries(usize),
    /// More bytes than [`MAX_LISTING_BYTES`].
    Bytes,
}

impl std::fmt::Display for TooBig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TooBig::Entries(n) => write!(f, "the listing names {n} entries, more than the {MAX_ENTRIES} allowed"),
            TooBig::Bytes => write!(f, "the listing is longer than {} MiB", MAX_LISTING_BYTES >> 20),
        }
    }
}
