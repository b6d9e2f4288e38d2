//! Why the daemon's own start-up checks fail: the server's key ([`KeyError`])
//! and the served root ([`DbdirError`]). Each says what it was checking, and
//! its `Display` is the operator's message, written here once (the steps say
//! `?`; `tfd --check`, the start and a reload print the same text).

use openssl::error::ErrorStack;
use std::fmt;
use std::io;
use std::path::PathBuf;

/// Why the server's private key cannot be used.
#[derive(Debug)]
pub enum KeyError {
    /// The config names no key.
    Missing,
    /// The PEM is neither a PKCS#1 nor a PKCS#8 RSA key.
    Unreadable(ErrorStack),
    /// The key's size in bits (the protocol requires 2048).
    Size(usize),
    /// OpenSSL's consistency check refused it.
    Inconsistent,
    /// A step of the warm-up round trip failed in OpenSSL.
    Openssl(ErrorStack),
    /// The round trip did not give back what it encrypted.
    Mismatch,
}

impl fmt::Display for KeyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KeyError::Missing => f.write_str("no private key configured (privkey or privkey_file)"),
            KeyError::Unreadable(e) => write!(f, "private key is not a readable RSA PEM key: {e}"),
            KeyError::Size(bits) => write!(f, "private key is {bits} bits; the TF protocol requires RSA-2048"),
            KeyError::Inconsistent => f.write_str("private key failed its consistency check"),
            KeyError::Openssl(e) => write!(f, "{e}"),
            KeyError::Mismatch => f.write_str("private key does not decrypt what its public half encrypts"),
        }
    }
}

impl std::error::Error for KeyError {}

impl From<ErrorStack> for KeyError {
    fn from(e: ErrorStack) -> KeyError {
        KeyError::Openssl(e)
    }
}

/// Why the served root (`dbdir`) is refused.
#[derive(Debug)]
pub enum DbdirError {
    /// It cannot be looked at.
    Stat(PathBuf, io::Error),
    /// It is no directory.
    NotDir(PathBuf),
    /// Anyone may write to it, without the sticky bit: its mode.
    Open(PathBuf, u32),
}

impl fmt::Display for DbdirError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DbdirError::Stat(p, e) => write!(f, "dbdir {}: {e}", p.display()),
            DbdirError::NotDir(p) => write!(f, "dbdir {} is not a directory", p.display()),
            DbdirError::Open(p, mode) => write!(
                f,
                "dbdir {} is writable by everyone (mode {mode:o}); chmod o-w it (or set the sticky bit)",
                p.display()
            ),
        }
    }
}

impl std::error::Error for DbdirError {}
