//! The keys `connect()` logs in with, in tf's order
//! ([`tfp_client::auth::offered`]): `identity=PATH` alone when given, else
//! the keys of a running ssh-agent, then `~/.ssh/id_*`. Python has no
//! terminal to ask a passphrase on: a key file's is `passphrase=` (an
//! encrypted key without it is passed over).

use std::path::Path;
use std::sync::Arc;
use tfp_client::auth::offered::{self, PassedOver};
use tfp_client::auth::KeyLogin;

/// An agent that does not answer, or a default file that does not read, is
/// passed over silently (tf says so with -v).
fn quiet(_: PassedOver) {}

/// The key login for `user`: `Ok(None)` when there is no key to offer;
/// `Err` when `identity` cannot be used (the file and why).
pub(crate) fn key_login(
    user: &str,
    identity: Option<&Path>,
    passphrase: Option<Vec<u8>>,
) -> Result<Option<Arc<KeyLogin>>, String> {
    let ask = Box::new(move |_: &Path| passphrase.clone());
    offered::key_login(user, identity, &quiet, ask).map_err(|e| format!("identity {e}"))
}

/// The key login a single-user server may ask for (its `authorized_keys`):
/// `identity` read now (`Err` when it cannot be used), else the agent's keys
/// and the default files found only when a server asks.
pub(crate) fn when_asked(identity: Option<&Path>, passphrase: Option<Vec<u8>>) -> Result<Arc<KeyLogin>, String> {
    let ask = Box::new(move |_: &Path| passphrase.clone());
    offered::when_asked(identity, Arc::new(quiet), ask).map_err(|e| format!("identity {e}"))
}
