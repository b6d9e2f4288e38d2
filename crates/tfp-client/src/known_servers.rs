//! The known servers file, as ssh's known_hosts: one line per server whose
//! key the user accepted, `host:port ssh-rsa <Base64 key blob>` (the key in
//! OpenSSH's encoding, so `ssh-keygen -lf` prints its fingerprint too),
//! blank lines and `#` comments skipped. A pinned key is what the handshake
//! encrypts to, so a server that does not hold it learns nothing; a server
//! whose key changed is refused, naming the line to remove.
//!
//! The file decides which server the password goes to, so it is trusted as
//! the config is (tfd-sys's `check_file`, as sshd's StrictModes: owned by the
//! user or root, writable by nobody else, nor any directory above it), and
//! checked again on the descriptor read; it is rewritten whole through a
//! temporary renamed over it (`private_file::Writer`).

use crate::host_key::HostKey;
use crate::secret_files::{self, Rule};
use std::io::Read;
use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};

/// What the file is called in tf's sentences.
pub const WHAT: &str = "the known servers file";
/// The longest file read (a line is under 400 bytes: thousands of servers).
const MAX_FILE: u64 = 1 << 20;

/// tf's configuration directory, which holds its config and this file:
/// `$XDG_CONFIG_HOME/tf`, else `$HOME/.config/tf`.
pub fn config_dir() -> Option<PathBuf> {
    let base = std::env::var_os("XDG_CONFIG_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".config")))?;
    Some(base.join("tf"))
}

/// `known_servers` in [`config_dir`].
pub fn default_path() -> Option<PathBuf> {
    config_dir().map(|d| d.join("known_servers"))
}

/// A server's pin: its key and the line (from 1) that holds it.
#[derive(Debug, Clone)]
pub struct Pin {
    /// The pinned key.
    pub key: HostKey,
    /// Its line in the file.
    pub line: usize,
}

/// The file as read: its path and text (empty when it does not exist yet).
pub struct KnownServers {
    path: PathBuf,
    text: String,
}

impl KnownServers {
    /// Reads the file at `path`, refused (one sentence naming it and the
    /// command that mends it) when another account could have changed it or
    /// a directory above it. A missing file holds no pins.
    pub fn load(path: &Path) -> Result<KnownServers, String> {
        let missing =
            |p: &Path| matches!(std::fs::symlink_metadata(p), Err(e) if e.kind() == std::io::ErrorKind::NotFound);
        if missing(path) {
            return Ok(KnownServers {
                path: path.to_path_buf(),
                text: String::new(),
            });
        }
        if let Some(why) = tfd_sys::private_file::check_file(path, WHAT) {
            return Err(format!("{why} (it decides which server gets your password)"));
        }
        let file = secret_files::open(WHAT, path, Rule::Trusted)?;
        let mut text = String::new();
        file.take(MAX_FILE + 1)
            .read_to_string(&mut text)
            .map_err(|e| format!("{WHAT} {}: {e}", path.display()))?;
        if text.len() as u64 > MAX_FILE {
            return Err(format!("{WHAT} {} is over {MAX_FILE} bytes", path.display()));
        }
        Ok(KnownServers {
            path: path.to_path_buf(),
            text,
        })
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The pin of `server` (`host:port` as given), if any: the first line
    /// naming it. A malformed line for it is an error naming the line.
    pub fn find(&self, server: &str) -> Result<Option<Pin>, String> {
        for (i, line) in self.text.lines().enumerate() {
            let mut words = line.split_whitespace();
            match words.next() {
                Some(w) if w == server => {}
                _ => continue,
            }
            let at = |why: String| {
                format!(
                    "{}:{}: {why} (remove the line to pin the key again)",
                    self.path.display(),
                    i + 1
                )
            };
            let key = match (words.next(), words.next()) {
                (Some("ssh-rsa"), Some(b64)) => {
                    tfp_wire::keylogin::decode_b64(b64.as_bytes(), tfp_wire::keylogin::blob::MAX_KEY_BLOB)
                        .map_err(|e| at(format!("the key is not Base64 ({e})")))
                        .and_then(|b| HostKey::from_blob(&b).map_err(at))?
                }
                _ => return Err(at("expected `host:port ssh-rsa KEY`".into())),
            };
            return Ok(Some(Pin { key, line: i + 1 }));
        }
        Ok(None)
    }

    /// Pins `key` for `server`: the file with one more line, written whole
    /// through a temporary (its directory made 0700 when missing, and
    /// checked as [`KnownServers::load`] checks it). Returns the new line's
    /// number.
    pub fn add(&mut self, server: &str, key: &HostKey) -> Result<usize, String> {
        if server.is_empty() || server.contains(|c: char| c.is_whitespace() || c.is_control() || c == '#') {
            return Err(format!("{server:?} cannot be pinned: a server name has no spaces"));
        }
        let said = |e: std::io::Error| format!("{WHAT} {}: {e}", self.path.display());
        if let Some(dir) = self.path.parent() {
            std::fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(dir)
                .map_err(said)?;
        }
        let mut text = self.text.clone();
        if !text.is_empty() && !text.ends_with('\n') {
            text.push('\n');
        }
        text.push_str(&format!(
            "{server} ssh-rsa {}\n",
            tfp_wire::keylogin::encode_b64(key.blob())
        ));
        tfd_sys::private_file::Writer::new(0o600)
            .write(&self.path, text.as_bytes())
            .map_err(said)?;
        self.text = text;
        Ok(self.text.lines().count())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    /// A fresh directory of this test's own under the temporary directory.
    fn scratch(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("tf-known-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir(&d).unwrap();
        std::fs::set_permissions(&d, std::fs::Permissions::from_mode(0o700)).unwrap();
        d
    }

    fn key() -> HostKey {
        let rsa = openssl::rsa::Rsa::generate(2048).unwrap();
        HostKey::from_pem(&rsa.public_key_to_pem().unwrap()).unwrap()
    }

    #[test]
    fn a_pin_is_found_again_and_others_are_kept() {
        let d = scratch("pins");
        let path = d.join("tf/known_servers");
        let mut k = KnownServers::load(&path).unwrap();
        assert!(k.find("h:1").unwrap().is_none());
        let (a, b) = (key(), key());
        assert_eq!(k.add("h:1", &a).unwrap(), 1);
        assert_eq!(k.add("h:2", &b).unwrap(), 2);
        let k = KnownServers::load(&path).unwrap();
        let pin = k.find("h:2").unwrap().unwrap();
        assert_eq!((pin.key, pin.line), (b, 2));
        assert_eq!(k.find("h:1").unwrap().unwrap().key, a);
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!((mode(&path), mode(path.parent().unwrap())), (0o600, 0o700));
        std::fs::remove_dir_all(d).unwrap();
    }

    #[test]
    fn a_file_others_can_write_or_a_bad_line_is_refused() {
        let d = scratch("refused");
        let path = d.join("known_servers");
        std::fs::write(&path, "# pins\n\nh:1 ssh-rsa !!!\n").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        let k = KnownServers::load(&path).unwrap();
        let e = k.find("h:1").unwrap_err();
        assert!(e.contains(":3: the key is not Base64"), "{e}");
        assert!(k.find("h:2").unwrap().is_none());
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o620)).unwrap();
        let e = KnownServers::load(&path).err().unwrap();
        assert!(e.contains("chmod go-w"), "{e}");
        std::fs::remove_dir_all(d).unwrap();
    }
}
