//! Why a transfer subcommand (crates/tf/src/xfer.rs, put_staged.rs) stopped
//! before, or instead of, telling the server's answer: one type both say `?`
//! with, printed once.

use std::fmt;
use std::io;
use tfp_client::Error;
use tfp_wire::Status;

/// Why a transfer subcommand stopped before (or instead of) telling the
/// server's answer: printed once, by `fail`, after `tf: `.
#[derive(Debug)]
pub enum XferError {
    /// A sentence made where it happened (a usage mistake, a local cause
    /// already explained).
    Said(String),
    /// A local file (its name as shown) and the error.
    Local(String, io::Error),
    /// The session or the server, as tfp_client says it.
    Client(Error),
    /// The server's SHA256 answered no digest.
    Sha256(Status),
}

impl fmt::Display for XferError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            XferError::Said(s) => f.write_str(s),
            XferError::Local(what, e) => write!(f, "{what}: {e}"),
            XferError::Client(e) => write!(f, "{e}"),
            XferError::Sha256(st) => write!(f, "SHA256 on the server: {st:?}"),
        }
    }
}

impl From<Error> for XferError {
    fn from(e: Error) -> XferError {
        XferError::Client(e)
    }
}

impl From<&str> for XferError {
    fn from(s: &str) -> XferError {
        XferError::Said(s.into())
    }
}
