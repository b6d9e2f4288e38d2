//! The keys `tf` logs in with, in ssh's order: `-i FILE` alone when given,
//! else the keys of a running ssh-agent (`SSH_AUTH_SOCK`), then
//! `~/.ssh/id_ed25519`, `id_ecdsa` and `id_rsa`; a key file's passphrase
//! is asked on the terminal when the server has accepted the key.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use tfp_client::auth::{Identity, KeyLogin};

/// ssh's default key files, in its order.
pub(crate) const DEFAULTS: &[&str] = &["id_ed25519", "id_ecdsa", "id_rsa"];

/// `-i FILE` cannot be used: the file and why.
#[derive(Debug)]
pub struct BadIdentity(String);

impl std::fmt::Display for BadIdentity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "-i {}", self.0)
    }
}

/// The key login for `user`: `Ok(None)` when there is no key to offer;
/// `Err` when `-i FILE` cannot be used.
pub fn key_login(user: &str, identity: Option<&str>, verbose: bool) -> Result<Option<Arc<KeyLogin>>, BadIdentity> {
    let ids = match identity {
        Some(f) => vec![Identity::from_file(Path::new(f)).map_err(BadIdentity)?],
        None => defaults(verbose),
    };
    if ids.is_empty() {
        return Ok(None);
    }
    Ok(Some(KeyLogin::new(user, ids, Box::new(ask))))
}

/// The key login a single-user server may ask for (its `authorized_keys`):
/// `-i FILE` read now (`Err` when it cannot be used), else the agent's keys
/// and the default files found only when a server asks.
pub fn when_asked(identity: Option<&str>, verbose: bool) -> Result<Arc<KeyLogin>, BadIdentity> {
    let load: Box<tfp_client::auth::LoadIdentities> = match identity {
        Some(f) => {
            let id = Identity::from_file(Path::new(f)).map_err(BadIdentity)?;
            let slot = std::sync::Mutex::new(Some(id));
            Box::new(move || {
                slot.lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .take()
                    .into_iter()
                    .collect()
            })
        }
        None => Box::new(move || defaults(verbose)),
    };
    Ok(KeyLogin::when_asked(load, Box::new(ask)))
}

/// The agent's keys, then the default key files that exist.
fn defaults(verbose: bool) -> Vec<Identity> {
    let mut ids = Vec::new();
    if let Some(sock) = tfp_client::auth::agent::socket() {
        match Identity::from_agent(&sock) {
            Ok(keys) => ids.extend(keys),
            Err(e) if verbose => eprintln!("tf: ssh-agent at {}: {e}", sock.display()),
            Err(_) => {}
        }
    }
    let home = std::env::var_os("HOME").map(PathBuf::from);
    for name in DEFAULTS {
        let Some(path) = home.as_ref().map(|h| h.join(".ssh").join(name)) else {
            break;
        };
        if !path.exists() {
            continue;
        }
        match Identity::from_file(&path) {
            Ok(id) => ids.push(id),
            Err(e) => eprintln!("tf: not offering {e}"),
        }
    }
    ids
}

/// Asks a key file's passphrase on the terminal.
fn ask(path: &Path) -> Option<Vec<u8>> {
    crate::conn::ask(&format!("Enter passphrase for key '{}': ", path.display())).ok()
}
