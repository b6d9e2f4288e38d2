//! The keys `tf` logs in with ([`tfp_client::auth::offered`]: `-i FILE`
//! alone when given, else ssh-agent's, then `~/.ssh/id_*`); a key file's
//! passphrase is asked on the terminal when the server has accepted the key.

use std::path::Path;
use std::sync::Arc;
use tfp_client::auth::offered::{self, PassedOver};
use tfp_client::auth::KeyLogin;

/// ssh's default key files, in its order.
pub(crate) const DEFAULTS: &[&str] = offered::DEFAULT_FILES;

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
    offered::key_login(user, identity.map(Path::new), &tell(verbose), Box::new(ask)).map_err(BadIdentity)
}

/// The key login a single-user server may ask for (its `authorized_keys`):
/// `-i FILE` read now (`Err` when it cannot be used), else the agent's keys
/// and the default files found only when a server asks.
pub fn when_asked(identity: Option<&str>, verbose: bool) -> Result<Arc<KeyLogin>, BadIdentity> {
    offered::when_asked(identity.map(Path::new), Arc::new(tell(verbose)), Box::new(ask)).map_err(BadIdentity)
}

/// What tf says of a default key passed over: an agent that does not
/// answer with -v, a key file that does not read always.
fn tell(verbose: bool) -> impl Fn(PassedOver) + Send + Sync {
    move |p| match p {
        PassedOver::Agent(sock, e) if verbose => eprintln!("tf: ssh-agent at {}: {e}", sock.display()),
        PassedOver::Agent(..) => {}
        PassedOver::File(e) => eprintln!("tf: not offering {e}"),
    }
}

/// Asks a key file's passphrase on the terminal.
fn ask(path: &Path) -> Option<Vec<u8>> {
    crate::conn::ask(&format!("Enter passphrase for key '{}': ", path.display())).ok()
}
