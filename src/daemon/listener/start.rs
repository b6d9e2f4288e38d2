//! Why the daemon could not start serving: each step of [`super::run`] says
//! `?`, and this type writes the message the operator sees once.

use crate::auth::privs::PrivError;
use crate::config::ConfigError;
use crate::daemon::KeyError;
use crate::services::tlb::TlbError;
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
    /// The user a config key (`udp_user`, `defusr`) names is not usable.
    User(&'static str, PrivError),
    /// An address of `listen` could not be bound.
    Listen(SocketAddr, io::Error),
    /// The `control_socket` the config names could not be bound.
    Control(PathBuf, io::Error),
    /// The pid file could not be written.
    Pidfile(PathBuf, io::Error),
    /// The server's key is unusable.
    Key(KeyError),
    /// The key read again (for a new key process) from this file is unusable.
    KeyAt(PathBuf, KeyError),
    /// The key file could not be read again (for a new key process).
    KeyFile(PathBuf, io::Error),
    /// The config read again (for the key) does not load.
    Config(ConfigError),
    /// The config read again names no key.
    NoPrivkey,
    /// The key was inline and no config file is there to read it again from.
    InlineKey,
    /// The key process could not be started.
    KeyProcess(io::Error),
    /// The FAI server identity could not be derived from the key.
    FaiIdentity(io::Error),
    /// The TLB list is refused.
    Tlb(TlbError),
    /// The transfer log cannot be opened.
    Xferlog(io::Error),
    /// `shared_state_dir` is refused: why, in the state directory's words.
    SharedState(crate::auth::shared_state::DirError),
}

impl fmt::Display for StartError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StartError::Step(what, e) => write!(f, "{what}: {e}"),
            StartError::Io(e) => write!(f, "{e}"),
            StartError::User(key, e) => write!(f, "{key}: {e}"),
            StartError::Listen(addr, e) => write!(f, "cannot listen on {addr}: {e}"),
            StartError::Control(p, e) => write!(f, "control_socket {}: {e}", p.display()),
            StartError::Pidfile(p, e) => write!(f, "pidfile {}: {e}", p.display()),
            StartError::Key(e) => write!(f, "{e}"),
            StartError::KeyAt(p, e) => write!(f, "{}: {e}", p.display()),
            StartError::KeyFile(p, e) => write!(f, "{}: {e}", p.display()),
            StartError::Config(e) => write!(f, "{e}"),
            StartError::NoPrivkey => f.write_str("no privkey"),
            StartError::InlineKey => {
                f.write_str("the key was given inline and there is no config file to read it from")
            }
            StartError::KeyProcess(e) => write!(f, "cannot start the key process: {e}"),
            StartError::FaiIdentity(e) => write!(f, "FAI server identity: {e}"),
            StartError::Tlb(e) => write!(f, "{e}"),
            StartError::Xferlog(e) => write!(f, "xferlog: {e}"),
            StartError::SharedState(why) => write!(f, "shared_state_dir: {why}"),
        }
    }
}

impl std::error::Error for StartError {}

impl From<io::Error> for StartError {
    fn from(e: io::Error) -> StartError {
        StartError::Io(e)
    }
}

impl From<KeyError> for StartError {
    fn from(e: KeyError) -> StartError {
        StartError::Key(e)
    }
}

impl From<crate::auth::shared_state::DirError> for StartError {
    fn from(e: crate::auth::shared_state::DirError) -> Self {
        StartError::SharedState(e)
    }
}

impl From<TlbError> for StartError {
    fn from(e: TlbError) -> StartError {
        StartError::Tlb(e)
    }
}

impl From<ConfigError> for StartError {
    fn from(e: ConfigError) -> StartError {
        StartError::Config(e)
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
