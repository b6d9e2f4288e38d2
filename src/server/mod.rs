//! The daemon: listeners, the accept loop, one forked process per session, signals.
#![forbid(unsafe_code)]

pub mod control;
pub mod demo;
pub mod listener;
pub mod notify;
pub mod proxy;
pub mod registry;
pub mod tlb;
pub mod udp;

use crate::config::Config;
use openssl::pkey::Private;
use openssl::rsa::Rsa;

pub use listener::{run, RunOptions};

/// Loads and checks the server's private key (RSA-2048, as the protocol requires).
pub fn load_key(cfg: &Config) -> Result<Rsa<Private>, String> {
    let pem = cfg
        .privkey_pem
        .as_deref()
        .ok_or("no private key configured (privkey or privkey_file)")?;
    let rsa = Rsa::private_key_from_pem(pem)
        .or_else(|_| openssl::pkey::PKey::private_key_from_pem(pem).and_then(|k| k.rsa()))
        .map_err(|e| format!("private key is not a readable RSA PEM key: {e}"))?;
    if rsa.size() != 256 {
        return Err(format!(
            "private key is {} bits; the TF protocol requires RSA-2048",
            rsa.size() * 8
        ));
    }
    if !rsa.check_key().unwrap_or(false) {
        return Err("private key failed its consistency check".into());
    }
    warm_up(&rsa)?;
    Ok(rsa)
}

/// One full OAEP round trip, so the key's cached Montgomery contexts exist before
/// the listener forks and no session pays for them (sessions re-blind themselves:
/// see [`crate::sys::rsa_reblind`]).
fn warm_up(rsa: &Rsa<Private>) -> Result<(), String> {
    let public = Rsa::from_public_components(
        rsa.n().to_owned().map_err(|e| e.to_string())?,
        rsa.e().to_owned().map_err(|e| e.to_string())?,
    )
    .map_err(|e| e.to_string())?;
    let probe = [0x5au8; 16];
    let enc = crate::wire::handshake::encrypt_session_key(&public, &probe).map_err(|e| e.to_string())?;
    match crate::wire::handshake::decrypt_session_key(rsa, &enc) {
        Ok(k) if k == probe => Ok(()),
        _ => Err("private key does not decrypt what its public half encrypts".into()),
    }
}
