//! The server's key when `connect()` is given none, as tf settles it
//! (crates/tf's server_key): the key pinned for the server in tf's known
//! servers file (tfp_client::known_servers), else, on a first contact, the
//! key the server sends (tfp_client::host_key), pinned when the caller said
//! `accept_new=True` (Python has no terminal to ask on: without it the call
//! refuses, naming the fingerprint to compare).

use std::time::Duration;
use tfp_client::host_key;
use tfp_client::known_servers;
use tfp_client::pinned::{self, Pinned};
use tfp_client::{ClientConfig, Error};

/// A config for asking `server` its key: the connection options only.
fn asking(server: &str, timeout: Option<Duration>) -> ClientConfig {
    let mut cfg = ClientConfig::new(server, Vec::new(), "");
    cfg.timeout = Some(timeout.unwrap_or(Duration::from_secs(30)));
    cfg
}

/// The key (PEM) to encrypt to and its pin when it came from one; `Err` is
/// the sentence `tfd_client.HostKeyError` carries.
pub(crate) fn settle(
    server: &str,
    accept_new: bool,
    timeout: Option<Duration>,
) -> Result<(Vec<u8>, Option<Pinned>), String> {
    let Some(path) = known_servers::default_path() else {
        return Err(
            "no key given, and neither XDG_CONFIG_HOME nor HOME is set to find the known \
                    servers file: give key="
                .into(),
        );
    };
    let (mut known, pin) = pinned::lookup(server, path.clone())?;
    if let Some(pin) = pin {
        return Ok((pin.key.pem().to_vec(), Some(pin)));
    }
    let offered = host_key::fetch(&asking(server, timeout))
        .map_err(|e| format!("{server}: its key could not be had on a first contact ({e}); give key="))?;
    let (fp, shown) = (offered.fingerprint(), path.display());
    if !accept_new {
        return Err(format!(
            "{server} is not in {shown}: compare its key {fp} with the server's (tfd \
             --print-fingerprint) and connect with accept_new=True to pin it, or give key="
        ));
    }
    known.add(server, &offered)?;
    Ok((offered.pem().to_vec(), None))
}

/// When `e` is the server refusing the session key sealed to `pin`, asks
/// it for its key: one other than the pinned key is the sentence naming both
/// fingerprints and the line to remove. `None`: `e` is something else,
/// raised as it is.
pub(crate) fn changed(pin: &Pinned, e: &Error, cfg: &ClientConfig) -> Option<String> {
    let now = pin.replaced(e, &asking(&cfg.server, cfg.timeout))?;
    let (server, shown, line) = (&cfg.server, pin.path.display(), pin.line);
    Some(format!(
        "REFUSED: the key of {server} is not the one pinned for it (someone may be posing as the \
         server, or its key was replaced): pinned {} ({shown}, line {line}), offered {}; nothing \
         was sent but the handshake; if the key was replaced on purpose (compare with tfd \
         --print-fingerprint), remove line {line} of {shown} and connect again",
        pin.key.fingerprint(),
        now.fingerprint()
    ))
}
