//! The keys `connect(user=...)` logs in with, in tf's order (crates/tf's
//! identities): `identity=PATH` alone when given, else the keys of a running
//! ssh-agent (`SSH_AUTH_SOCK`), then `~/.ssh/id_ed25519`, `id_ecdsa` and
//! `id_rsa`. Python has no terminal to ask a passphrase on: a key file's is
//! `passphrase=` (an encrypted key without it is passed over).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use tfp_client::auth::{agent, Identity, KeyLogin};

/// ssh's default key files, in its order.
const DEFAULTS: &[&str] = &["id_ed25519", "id_ecdsa", "id_rsa"];

/// The key login for `user`: `Ok(None)` when there is no key to offer;
/// `Err` when `identity` cannot be used (the file and why).
pub(crate) fn key_login(
    user: &str,
    identity: Option<&Path>,
    passphrase: Option<Vec<u8>>,
) -> Result<Option<Arc<KeyLogin>>, String> {
    let ids = match identity {
        Some(f) => vec![Identity::from_file(f).map_err(|e| format!("identity {e}"))?],
        None => defaults(),
    };
    if ids.is_empty() {
        return Ok(None);
    }
    let ask = Box::new(move |_: &Path| passphrase.clone());
    Ok(Some(KeyLogin::new(user, ids, ask)))
}

/// The key login a single-user server may ask for (its `authorized_keys`):
/// `identity` read now (`Err` when it cannot be used), else the agent's keys
/// and the default files found only when a server asks.
pub(crate) fn when_asked(identity: Option<&Path>, passphrase: Option<Vec<u8>>) -> Result<Arc<KeyLogin>, String> {
    let load: Box<tfp_client::auth::LoadIdentities> = match identity {
        Some(f) => {
            let id = Identity::from_file(f).map_err(|e| format!("identity {e}"))?;
            let slot = std::sync::Mutex::new(Some(id));
            Box::new(move || slot.lock().unwrap_or_else(|p| p.into_inner()).take().into_iter().collect())
        }
        None => Box::new(defaults),
    };
    Ok(KeyLogin::when_asked(load, Box::new(move |_: &Path| passphrase.clone())))
}

/// The agent's keys, then the default key files that exist and read.
fn defaults() -> Vec<Identity> {
    let mut ids = Vec::new();
    // an agent that does not answer, or a default file that does not
    // read, is passed over as tf passes it over (it says so with -v)
    if let Some(keys) = agent::socket().and_then(|sock| Identity::from_agent(&sock).ok()) {
        ids.extend(keys);
    }
    let home = std::env::var_os("HOME").map(PathBuf::from);
    let files = home
        .iter()
        .flat_map(|h| DEFAULTS.iter().map(move |n| h.join(".ssh").join(n)));
    ids.extend(
        files
            .filter(|p| p.exists())
            .filter_map(|p| Identity::from_file(&p).ok()),
    );
    ids
}
