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
    let mut ids = Vec::new();
    if let Some(f) = identity {
        ids.push(Identity::from_file(f).map_err(|e| format!("identity {e}"))?);
    } else {
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
    }
    if ids.is_empty() {
        return Ok(None);
    }
    let ask = Box::new(move |_: &Path| passphrase.clone());
    Ok(Some(KeyLogin::new(user, ids, ask)))
}
