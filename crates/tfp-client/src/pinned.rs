//! The server's key taken from the known servers file ([`crate::known_servers`]),
//! for tf and the Python package alike: the pin a connection encrypts to, and
//! whether a refused session key means the server's key changed.

use crate::host_key::{self, HostKey};
use crate::known_servers::KnownServers;
use crate::{ClientConfig, Error};
use std::path::PathBuf;

/// A key taken from the known servers file: the file and line that pin it.
pub struct Pinned {
    /// The pinned key.
    pub key: HostKey,
    /// The known servers file.
    pub path: PathBuf,
    /// Its line there.
    pub line: usize,
}

/// The known servers file at `path`, loaded, and the pin for `server` in it.
pub fn lookup(server: &str, path: PathBuf) -> Result<(KnownServers, Option<Pinned>), String> {
    let known = KnownServers::load(&path)?;
    let pinned = known.find(server)?.map(|pin| Pinned {
        key: pin.key,
        path,
        line: pin.line,
    });
    Ok((known, pinned))
}

impl Pinned {
    /// When `e` is the server refusing the session key sealed to the pin,
    /// asks it for its key over `asking`: the key it offers when that is not
    /// the pinned one. `None`: `e` is something else (or the same key).
    pub fn replaced(&self, e: &Error, asking: &ClientConfig) -> Option<HostKey> {
        if !matches!(e, Error::Handshake("session key", _)) {
            return None;
        }
        host_key::fetch(asking).ok().filter(|now| *now != self.key)
    }
}
