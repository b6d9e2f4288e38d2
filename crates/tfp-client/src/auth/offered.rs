//! Which keys a client offers, in ssh's order, for tf and the Python package
//! alike: one key file when given, else the keys of a running ssh-agent
//! (`SSH_AUTH_SOCK`), then `~/.ssh/id_ed25519`, `id_ecdsa` and `id_rsa`.

use super::{AskPassphrase, Identity, KeyLogin, LoadIdentities};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// ssh's default key files in `~/.ssh`, in its order.
pub const DEFAULT_FILES: &[&str] = &["id_ed25519", "id_ecdsa", "id_rsa"];

/// A default key passed over (the caller says it, or not).
pub enum PassedOver {
    /// The agent at this socket did not answer.
    Agent(PathBuf, std::io::Error),
    /// A default key file that exists did not read (the file and why).
    File(String),
}

/// Told each default key passed over.
pub type Tell = dyn Fn(PassedOver) + Send + Sync;

/// The agent's keys, then the default key files that exist and read.
pub fn defaults(tell: &Tell) -> Vec<Identity> {
    let mut ids = Vec::new();
    if let Some(sock) = super::agent::socket() {
        match Identity::from_agent(&sock) {
            Ok(keys) => ids.extend(keys),
            Err(e) => tell(PassedOver::Agent(sock, e)),
        }
    }
    let home = std::env::var_os("HOME").map(PathBuf::from);
    let files = home
        .iter()
        .flat_map(|h| DEFAULT_FILES.iter().map(move |n| h.join(".ssh").join(n)));
    for path in files.filter(|p| p.exists()) {
        match Identity::from_file(&path) {
            Ok(id) => ids.push(id),
            Err(e) => tell(PassedOver::File(e)),
        }
    }
    ids
}

/// The key login as `user`: `file` alone when given (`Err`: it cannot be
/// used, the file and why), else [`defaults`]; `Ok(None)` when there is no
/// key to offer.
pub fn key_login(
    user: &str,
    file: Option<&Path>,
    tell: &Tell,
    ask: Box<AskPassphrase>,
) -> Result<Option<Arc<KeyLogin>>, String> {
    let ids = match file {
        Some(f) => vec![Identity::from_file(f)?],
        None => defaults(tell),
    };
    Ok((!ids.is_empty()).then(|| KeyLogin::new(user, ids, ask)))
}

/// The key login a single-user server may ask for (its `authorized_keys`):
/// `file` read now (`Err`: it cannot be used), else [`defaults`] found only
/// when a server asks.
pub fn when_asked(file: Option<&Path>, tell: Arc<Tell>, ask: Box<AskPassphrase>) -> Result<Arc<KeyLogin>, String> {
    let load: Box<LoadIdentities> = match file {
        Some(f) => {
            let slot = std::sync::Mutex::new(Some(Identity::from_file(f)?));
            Box::new(move || {
                slot.lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .take()
                    .into_iter()
                    .collect()
            })
        }
        None => Box::new(move || defaults(&*tell)),
    };
    Ok(KeyLogin::when_asked(load, ask))
}
