//! A client's Fast Access token cache: one file per server, hash, user and jail under the
//! user's cache directory (`$XDG_CACHE_HOME/tf`, else `~/.cache/tf`), mode 0600
//! in a 0700 directory, so the next connection skips RSA. The file always holds
//! the key of the next entrance: it is rewritten (temporary file, rename) as
//! soon as an entrance has sent the next key, before anything else happens.
#![forbid(unsafe_code)]

use super::{Client, ClientConfig, ClientError, FaiToken};
use sha2::{Digest, Sha256};
use std::fs::{self, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

/// The cache file of one server and hash.
#[derive(Debug, Clone)]
pub struct FaiCache {
    path: PathBuf,
}

/// How [`connect_cached`] got its session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Entered {
    /// Through the Fast Access Interface with the cached token.
    Fai,
    /// The ordinary handshake (no usable token); a new token was cached.
    RsaNewToken,
    /// The ordinary handshake, and no token for next time; says why: what the
    /// server answered FAITOK (its log has the reason: a root session, FAI off,
    /// a token store it cannot write...), or why the token could not be kept.
    Rsa(String),
}

/// `$XDG_CACHE_HOME/tf`, else `$HOME/.cache/tf`.
pub fn default_dir() -> Option<PathBuf> {
    let base = std::env::var_os("XDG_CACHE_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))?;
    Some(base.join("tf"))
}

impl FaiCache {
    /// The cache file for `cfg`'s server and hash inside `dir`.
    pub fn new(dir: &Path, cfg: &ClientConfig) -> FaiCache {
        let mut h = Sha256::new();
        h.update(cfg.server.as_bytes());
        h.update([0]);
        h.update(cfg.hash.as_bytes());
        // a token is its user's (and jail's): one file per user and jail
        if let Some(cr) = &cfg.login {
            h.update([0]);
            h.update(cr.user.as_bytes());
        }
        if let Some((_, dir)) = &cfg.jail {
            h.update([1]);
            h.update(dir.as_bytes());
        }
        let name: String = h.finalize()[..12].iter().map(|b| format!("{b:02x}")).collect();
        FaiCache {
            path: dir.join(format!("fai-{name}")),
        }
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The cached token, if any, readable and not expired. A file others can
    /// read, or that is not the user's, is not trusted.
    pub fn load(&self, now: u64) -> Option<FaiToken> {
        let meta = fs::symlink_metadata(&self.path).ok()?;
        if !meta.is_file() || meta.mode() & 0o077 != 0 || meta.uid() != crate::sys::geteuid() {
            return None;
        }
        let text = fs::read_to_string(&self.path).ok()?;
        let mut w = text.trim_end().split(' ');
        let (token, expiry, key) = (w.next()?, w.next()?.parse().ok()?, w.next()?);
        let key = crate::wire::fai::decode_key(key.as_bytes())?;
        if now >= expiry || !crate::wire::uuid::is_v4_text(token.as_bytes()) {
            return None;
        }
        Some(FaiToken {
            token: token.to_string(),
            expiry,
            key,
        })
    }

    /// Stores `t` (0600, directory 0700), replacing the file atomically.
    pub fn store(&self, t: &FaiToken) -> io::Result<()> {
        let dir = self.path.parent().ok_or_else(|| io::Error::other("no directory"))?;
        fs::DirBuilder::new().recursive(true).mode(0o700).create(dir)?;
        let tmp = self.path.with_extension(format!("tmp{}", std::process::id()));
        let line = format!("{} {} {}\n", t.token, t.expiry, openssl::base64::encode_block(&t.key));
        let written = (|| {
            let mut f = OpenOptions::new()
                .write(true)
                .create(true)
                .truncate(true)
                .mode(0o600)
                .custom_flags(libc::O_NOFOLLOW)
                .open(&tmp)?;
            f.write_all(line.as_bytes())?;
            f.sync_all()?;
            fs::rename(&tmp, &self.path)
        })();
        if written.is_err() {
            let _ = fs::remove_file(&tmp);
        }
        written
    }

    /// Forgets the token.
    pub fn remove(&self) {
        let _ = fs::remove_file(&self.path);
    }
}

/// Connects through the cached token when there is one, else with the ordinary
/// handshake followed by FAITOK (whose token is cached for next time). A token
/// the server refuses, or an entrance that fails half-way (its key may be used
/// up), is forgotten and the ordinary handshake follows.
pub fn connect_cached(cfg: &ClientConfig, cache: &FaiCache) -> Result<(Client, Entered), ClientError> {
    let now = crate::auth::fai::now();
    if let Some(t) = cache.load(now) {
        match Client::connect_fai(cfg, &t) {
            Ok((c, next)) => {
                if cache.store(&next).is_err() {
                    cache.remove();
                }
                return Ok((c, Entered::Fai));
            }
            Err(_) => cache.remove(),
        }
    }
    let mut c = Client::connect(cfg)?;
    match c.faitok(0)? {
        Ok(t) => match cache.store(&t) {
            Ok(()) => Ok((c, Entered::RsaNewToken)),
            Err(e) => Ok((
                c,
                Entered::Rsa(format!(
                    "the token could not be kept in {}: {e}",
                    cache.path().display()
                )),
            )),
        },
        Err(st) => Ok((
            c,
            Entered::Rsa(format!("the server answered FAITOK with {:?}", status_text(&st))),
        )),
    }
}

/// A status as the server sent it, for a message.
fn status_text(st: &crate::wire::Status) -> String {
    use crate::wire::Status;
    match st {
        Status::Ok(d) if d.is_empty() => "OK".into(),
        Status::Ok(d) => format!("OK {}", String::from_utf8_lossy(d)),
        Status::Failed(n, text) => format!("FAILED {n} : {text}"),
        Status::Unknown => "UNKNOWN".into(),
        Status::Other(d) => String::from_utf8_lossy(d).into_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn store_load_modes_and_expiry() {
        let d = std::env::temp_dir().join(format!("tf-fai-cache-{}", std::process::id()));
        let _ = fs::remove_dir_all(&d);
        let cfg = ClientConfig::new("127.0.0.1:1", Vec::new(), "h");
        let c = FaiCache::new(&d.join("tf"), &cfg);
        assert!(c.load(0).is_none());
        let t = FaiToken {
            token: "9570a411-7512-422b-a260-2f608aa5ef91".into(),
            expiry: 100,
            key: vec![9u8; 150],
        };
        c.store(&t).unwrap();
        assert_eq!(fs::metadata(c.path()).unwrap().mode() & 0o777, 0o600);
        assert_eq!(fs::metadata(d.join("tf")).unwrap().mode() & 0o777, 0o700);
        assert_eq!(c.load(99), Some(t));
        assert_eq!(c.load(100), None);
        let other = FaiCache::new(&d.join("tf"), &ClientConfig::new("127.0.0.1:2", Vec::new(), "h"));
        assert_ne!(other.path(), c.path());
        fs::remove_dir_all(&d).unwrap();
    }
}
