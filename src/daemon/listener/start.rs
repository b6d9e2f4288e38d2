//! Why the daemon could not start serving: each step of [`super::run`] says
//! `?`, and this type writes the message the operator sees once.

use crate::auth::privs::PrivError;
use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::path::PathBuf;

/// Why [`super::run`] returned before (or instead of) serving.
#[derive(Debug)]
pub enum StartError {
    /// A step before the first session (what it made) and the OS's error.
    Step(&'static str, io::Error),
    /// An OS error with nothing to add.
    Io(io::Error),
    /// `udp_user` names no usable user.
    UdpUser(PrivError),
    /// An address of `listen` could not be bound.
    Listen(SocketAddr, io::Error),
    /// The `control_socket` the config names could not be bound.
    Control(PathBuf, io::Error),
    /// The pid file could not be written.
    Pidfile(PathBuf, io::Error),
    /// A step that words its own message (the key, the stores, the config's
    /// files).
    Said(String),
}

impl fmt::Display for StartError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StartError::Step(what, e) => write!(f, "{what}: {e}"),
            StartError::Io(e) => write!(f, "{e}"),
            StartError::UdpUser(e) => write!(f, "udp_user: {e}"),
            StartError::Listen(addr, e) => write!(f, "cannot listen on {addr}: {e}"),
            StartError::Control(p, e) => write!(f, "control_socket {}: {e}", p.display()),
            StartError::Pidfile(p, e) => write!(f, "pidfile {}: {e}", p.display()),
            StartError::Said(s) => f.write_str(s),
        }
    }
}

impl std::error::Error for StartError {}

impl From<io::Error> for StartError {
    fn from(e: io::Error) -> StartError {
        StartError::Io(e)
    }
}

impl From<String> for StartError {
    fn from(s: String) -> StartError {
        StartError::Said(s)
    }
}

/// Names the step an OS error came from: `.step("signal setup")?`.
pub(super) trait Step<T> {
    /// The error as [`StartError::Step`] of `what`.
    fn step(self, what: &'static str) -> Result<T, StartError>;
}

impl<T> Step<T> for io::Result<T> {
    fn step(self, what: &'static str) -> Result<T, StartError> {
        self.map_err(|e| StartError::Step(what, e))
    }
}
