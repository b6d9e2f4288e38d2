//! A client's Fast Access token cache: one file per server, hash, user and jail under the
//! user's cache directory (`$XDG_CACHE_HOME/tf`, else `~/.cache/tf`), mode 0600
//! in a 0700 directory, so the next connection skips RSA. The file always holds
//! the key of the next entrance: it is rewritten (temporary file, rename) as
//! soon as an entrance has sent the next key, before anything else happens.

use super::{Client, ClientConfig, Error, FaiToken};
use sha2::{Digest, Sha256};
use std::ffi::CString;
use std::fs::File;
use std::io::{self, Read};
use std::os::fd::{AsFd, OwnedFd};

use std::path::{Path, PathBuf};
use std::sync::Arc;
use tfd_sys as sys;

/// The cache file of one server and hash, reached only through its checked
/// directory's descriptor: a directory another user owns or can enter could
/// hand tf a file of theirs (a planted temporary the token is written into),
/// so the directory is checked once, on the descriptor every later open,
/// rename and removal goes through.
#[derive(Debug, Clone)]
pub struct FaiCache {
    path: PathBuf,
    dir: Arc<OwnedFd>,
    name: CString,
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

/// Opens the cache directory `dir` (made 0700 when missing), checked the
/// user's and closed to others ([`super::secret_files::open_dir`]).
fn open_dir(dir: &Path) -> Result<OwnedFd, String> {
    super::secret_files::open_dir("the Fast Access token cache directory", dir)
}

impl FaiCache {
    /// The cache file for `cfg`'s server and hash inside `dir`, whose
    /// directory is opened and checked here (see `open_dir`).
    pub fn open(dir: &Path, cfg: &ClientConfig) -> Result<FaiCache, String> {
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
        let name = tfp_wire::hex::encode(&h.finalize()[..12]);
        let name = format!("fai-{name}");
        Ok(FaiCache {
            path: dir.join(&name),
            dir: Arc::new(open_dir(dir)?),
            name: CString::new(name).map_err(|e| e.to_string())?,
        })
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The cached token, if any, readable and not expired. A file others can
    /// read, or that is not the user's, is not trusted (checked on the
    /// descriptor it is read from).
    pub fn load(&self, now: u64) -> Option<FaiToken> {
        let fd = sys::openat_nofollow(self.dir.as_fd(), &self.name, libc::O_RDONLY | libc::O_NONBLOCK, 0).ok()?;
        let f = File::from(fd);
        let meta = f.metadata().ok()?;
        let private = super::secret_files::refusal("", &self.path, &meta, super::secret_files::Rule::Private);
        if !meta.is_file() || private.is_some() {
            return None;
        }
        let mut text = String::new();
        f.take(4096).read_to_string(&mut text).ok()?;
        let mut w = text.trim_end().split(' ');
        let (token, expiry, key) = (w.next()?, w.next()?.parse().ok()?, w.next()?);
        let key = tfp_wire::fai::decode_key(key.as_bytes())?;
        if now >= expiry || !tfp_wire::uuid::is_v4_text(token.as_bytes()) {
            return None;
        }
        Some(FaiToken {
            token: token.to_string(),
            expiry,
            key,
        })
    }

    /// Stores `t` (0600), replacing the file atomically, through tfd-sys's
    /// private-file writer on the checked directory's descriptor: a temporary
    /// of a random name created O_EXCL|O_NOFOLLOW (never a file that was
    /// there), synced, renamed over the file.
    pub fn store(&self, t: &FaiToken) -> io::Result<()> {
        let line = format!("{} {} {}\n", t.token, t.expiry, openssl::base64::encode_block(&t.key));
        sys::private_file::Writer::new(0o600).write_at(self.dir.as_fd(), &self.name, line.as_bytes())
    }

    /// Forgets the token.
    pub fn remove(&self) {
        let _ = sys::unlinkat(self.dir.as_fd(), &self.name, false);
    }
}

/// Connects through the cached token when there is one, else with the ordinary
/// handshake followed by FAITOK (whose token is cached for next time). A token
/// the server refuses, or an entrance that fails half-way (its key may be used
/// up), is forgotten and the ordinary handshake follows.
pub fn connect_cached(cfg: &ClientConfig, cache: &FaiCache) -> Result<(Client, Entered), Error> {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
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
    match crate::replies::Split::split(c.faitok(0))? {
        Ok(t) => match cache.store(&t) {
            Ok(()) => Ok((c, Entered::RsaNewToken)),
            Err(e) => Ok((
                c,
                Entered::Rsa(format!(
                    "the token could not be kept in {}: {e}",
                    crate::escape::path(cache.path())
                )),
            )),
        },
        Err(st) => Ok((
            c,
            Entered::Rsa(format!("the server answered FAITOK with {:?}", status_text(&st))),
        )),
    }
}

/// A status as the server sent it, escaped, for a message.
fn status_text(st: &tfp_wire::Status) -> String {
    super::escape::status_text(st)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;
    use std::os::unix::fs::MetadataExt;

    #[test]
    fn store_load_modes_and_expiry() {
        let d = std::env::temp_dir().join(format!("tf-fai-cache-{}", std::process::id()));
        let _ = fs::remove_dir_all(&d);
        let cfg = ClientConfig::new("127.0.0.1:1", Vec::new(), "h");
        let c = FaiCache::open(&d.join("tf"), &cfg).unwrap();
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
        let other = FaiCache::open(&d.join("tf"), &ClientConfig::new("127.0.0.1:2", Vec::new(), "h")).unwrap();
        assert_ne!(other.path(), c.path());
        fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn links_and_open_files_in_the_cache_are_not_followed_or_trusted() {
        use std::os::unix::fs::PermissionsExt;
        let d = std::env::temp_dir().join(format!("tf-fai-links-{}", std::process::id()));
        let _ = fs::remove_dir_all(&d);
        fs::create_dir(&d).unwrap();
        let victim = d.join("victim");
        fs::write(&victim, "untouched").unwrap();
        let cfg = ClientConfig::new("127.0.0.1:1", Vec::new(), "h");
        let c = FaiCache::open(&d.join("tf"), &cfg).unwrap();
        let t = FaiToken {
            token: "9570a411-7512-422b-a260-2f608aa5ef91".into(),
            expiry: 100,
            key: vec![9u8; 150],
        };
        // a link in the file's place is neither read nor written through
        std::os::unix::fs::symlink(&victim, c.path()).unwrap();
        assert_eq!(c.load(0), None);
        c.store(&t).unwrap();
        assert_eq!(fs::read_to_string(&victim).unwrap(), "untouched");
        assert!(fs::symlink_metadata(c.path()).unwrap().is_file());
        assert_eq!(c.load(0), Some(t));
        // a token file others can read is not trusted
        fs::set_permissions(c.path(), fs::Permissions::from_mode(0o644)).unwrap();
        assert_eq!(c.load(0), None);
        // the directory open to others is refused, by name
        fs::set_permissions(d.join("tf"), fs::Permissions::from_mode(0o755)).unwrap();
        let e = FaiCache::open(&d.join("tf"), &cfg).unwrap_err();
        assert!(
            e.contains(&d.join("tf").display().to_string()) && e.contains("chmod go-rwx"),
            "{e}"
        );
        fs::remove_dir_all(&d).unwrap();
    }
}
