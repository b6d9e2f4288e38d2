//! The daemon: listeners, the accept loop, one forked process per session,
//! signals, the control socket and the helper processes it starts. It is the top
//! floor: it builds the [`crate::services`] and hands them to every session.

pub mod checks;
pub mod cli;
pub mod control;
pub mod control_socket;
pub mod demo;
pub mod error;
pub mod listener;
pub mod proxy_header;
pub mod rootcheck;
pub mod sd_notify;
pub mod secrets;
pub mod session_ends;
pub mod sweeper;
pub mod udp;

use crate::config::Config;
pub use error::{DbdirError, KeyError};
use openssl::pkey::Private;
use openssl::rsa::Rsa;

pub(crate) use crate::services::SIGNALS;
pub use listener::{run, RunOptions};

/// Loads and checks the server's private key (RSA-2048, as the protocol requires).
pub(crate) fn load_key(cfg: &Config) -> Result<Rsa<Private>, KeyError> {
    let pem = cfg.privkey_pem.as_deref().ok_or(KeyError::Missing)?;
    key_from_pem(pem)
}

/// The fingerprint of the server's key as tf shows it on first contact and
/// `ssh-keygen -lf` prints it: `SHA256:…` of its OpenSSH key blob
/// (tfp_wire::hostkey).
pub(crate) fn fingerprint<T: openssl::pkey::HasPublic>(rsa: &Rsa<T>) -> String {
    tfp_wire::hostkey::fingerprint(&tfp_wire::hostkey::rsa_blob(&rsa.e().to_vec(), &rsa.n().to_vec()))
}

/// Parses and checks an RSA-2048 private key in PEM (PKCS#1 or PKCS#8).
pub(crate) fn key_from_pem(pem: &[u8]) -> Result<Rsa<Private>, KeyError> {
    let rsa = Rsa::private_key_from_pem(pem)
        .or_else(|_| openssl::pkey::PKey::private_key_from_pem(pem).and_then(|k| k.rsa()))
        .map_err(KeyError::Unreadable)?;
    if rsa.size() != 256 {
        return Err(KeyError::Size(rsa.size() as usize * 8));
    }
    if !rsa.check_key().unwrap_or(false) {
        return Err(KeyError::Inconsistent);
    }
    warm_up(&rsa)?;
    Ok(rsa)
}

/// One full OAEP round trip: proves the two halves match, and computes the key's
/// cached Montgomery contexts before the key process forks off with it.
fn warm_up(rsa: &Rsa<Private>) -> Result<(), KeyError> {
    let public = Rsa::from_public_components(rsa.n().to_owned()?, rsa.e().to_owned()?)?;
    let probe = [0x5au8; 16];
    let enc = tfp_wire::handshake::encrypt_session_key(&public, &probe)?;
    match tfp_wire::handshake::decrypt_session_key(rsa, &enc) {
        Ok(k) if k == probe => Ok(()),
        _ => Err(KeyError::Mismatch),
    }
}

/// Start-up check of the served root: a directory anyone may write to (without the
/// sticky bit) lets any local user plant files and symlinks in every session's tree,
/// so tfd refuses it; a root owned by an account tfd does not serve as is only warned about.
pub(crate) fn check_dbdir(cfg: &Config) -> Result<Option<String>, DbdirError> {
    use std::os::unix::fs::MetadataExt;
    let m = std::fs::metadata(&cfg.dbdir).map_err(|e| DbdirError::Stat(cfg.dbdir.clone(), e))?;
    if !m.is_dir() {
        return Err(DbdirError::NotDir(cfg.dbdir.clone()));
    }
    if m.mode() & 0o002 != 0 && m.mode() & 0o1000 == 0 {
        return Err(DbdirError::Open(cfg.dbdir.clone(), m.mode() & 0o7777));
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
        let named = tfd_sys::named_uid;
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
