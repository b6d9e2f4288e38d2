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
    let mut ids = Vec::new();
    if let Some(f) = identity {
        ids.push(Identity::from_file(Path::new(f)).map_err(BadIdentity)?);
    } else {
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
    }
    if ids.is_empty() {
        return Ok(None);
    }
    let ask =
        Box::new(|path: &Path| crate::conn::ask(&format!("Enter passphrase for key '{}': ", path.display())).ok());
    Ok(Some(KeyLogin::new(user, ids, ask)))
}
