//! The daemon: listeners, the accept loop, one forked process per session,
//! signals, the control socket and the helper processes it starts. It is the top
//! floor: it builds the [`crate::services`] and hands them to every session.

pub mod checks;
pub mod cli;
pub mod control;
pub mod demo;
pub mod listener;
pub mod proxy_header;
pub mod rootcheck;
pub mod sd_notify;
pub mod secrets;
pub mod sweeper;
pub mod udp;

use crate::config::Config;
use openssl::pkey::Private;
use openssl::rsa::Rsa;

pub(crate) use crate::services::SIGNALS;
pub use listener::{run, RunOptions};

/// Loads and checks the server's private key (RSA-2048, as the protocol requires).
pub fn load_key(cfg: &Config) -> Result<Rsa<Private>, String> {
    let pem = cfg
        .privkey_pem
        .as_deref()
        .ok_or("no private key configured (privkey or privkey_file)")?;
    key_from_pem(pem)
}

/// Parses and checks an RSA-2048 private key in PEM (PKCS#1 or PKCS#8).
pub fn key_from_pem(pem: &[u8]) -> Result<Rsa<Private>, String> {
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

/// One full OAEP round trip: proves the two halves match, and computes the key's
/// cached Montgomery contexts before the key process forks off with it.
fn warm_up(rsa: &Rsa<Private>) -> Result<(), String> {
    let public = Rsa::from_public_components(
        rsa.n().to_owned().map_err(|e| e.to_string())?,
        rsa.e().to_owned().map_err(|e| e.to_string())?,
    )
    .map_err(|e| e.to_string())?;
    let probe = [0x5au8; 16];
    let enc = tfp_wire::handshake::encrypt_session_key(&public, &probe).map_err(|e| e.to_string())?;
    match tfp_wire::handshake::decrypt_session_key(rsa, &enc) {
        Ok(k) if k == probe => Ok(()),
        _ => Err("private key does not decrypt what its public half encrypts".into()),
    }
}

/// Start-up check of the served root: a directory anyone may write to (without the
/// sticky bit) lets any local user plant files and symlinks in every session's tree,
/// so tfd refuses it; a root owned by an account tfd does not serve as is only warned about.
pub fn check_dbdir(cfg: &Config) -> Result<Option<String>, String> {
    use std::os::unix::fs::MetadataExt;
    let m = std::fs::metadata(&cfg.dbdir).map_err(|e| format!("dbdir {}: {e}", cfg.dbdir.display()))?;
    if !m.is_dir() {
        return Err(format!("dbdir {} is not a directory", cfg.dbdir.display()));
    }
    if m.mode() & 0o002 != 0 && m.mode() & 0o1000 == 0 {
        return Err(format!(
            "dbdir {} is writable by everyone (mode {:o}); chmod o-w it (or set the sticky bit)",
            cfg.dbdir.display(),
            m.mode() & 0o7777
        ));
    }
    // a root owned by an account sessions run as (defusr, a LOGIN user's) is
    // what makes a multi-user set-up work; so is one owned by tfd's own
    // account: the user tfd runs as, or the package's system user `tfd`
    // (which owns /srv/tfd whether or not sessions still run as it)
    let own = |uid: u32| {
        uid == tfd_sys::geteuid()
            || nix::unistd::User::from_name("tfd")
                .ok()
                .flatten()
                .is_some_and(|u| u.uid.as_raw() == uid)
    };
    let served = rootcheck::served_uids(cfg);
    let owner_ok = m.uid() == 0 || own(m.uid()) || served.contains(&m.uid());
    Ok((!owner_ok).then(|| {
        let named = |uid: u32| match nix::unistd::User::from_uid(uid.into()) {
            Ok(Some(u)) => format!("{} (uid {uid})", u.name),
            _ => format!("uid {uid} (no such account)"),
        };
        let sessions = served.iter().map(|&u| named(u)).collect::<Vec<_>>().join(", ");
        format!(
            "dbdir {} is owned by {}, which is neither root, tfd's own account (the user it runs as, \
             or the package's tfd) nor an account sessions run as ({})",
            cfg.dbdir.display(),
            named(m.uid()),
            if sessions.is_empty() {
                "none".to_string()
            } else {
                sessions
            }
        )
    }))
}
