//! `tfd --init-secrets`: the host's own secrets, made on the host at first start.
//!
//! Why: a package is built from a staged tree (`DESTDIR=... scripts/install`),
//! and whatever secret is in that tree is on every host that installs the
//! package. So staging writes the example's placeholder hash and no key, and
//! the shipped unit runs `tfd --init-secrets` before every start
//! (`ExecStartPre=`): it fills in what is missing — a random `hash` in place of
//! the placeholder, an RSA-2048 key at `privkey_file`, its public half as
//! `pub.pem` beside it — and changes nothing that is already there, so it costs
//! nothing on later starts and never replaces an admin's key or hash.

use crate::config::{Config, ConfigError};
use openssl::error::ErrorStack;
use openssl::pkey::PKey;
use openssl::rsa::Rsa;
use std::fmt;
use std::fs;
use std::io;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

/// Why a secret could not be made (after `--init-secrets: `).
#[derive(Debug)]
pub enum SecretsError {
    /// A file could not be read, looked at or written.
    File(PathBuf, io::Error),
    /// The config does not parse.
    Config(PathBuf, ConfigError),
    /// The key file holds no usable private key: why.
    Key(PathBuf, super::KeyError),
    /// OpenSSL failed at a step: which, and why.
    Openssl(&'static str, ErrorStack),
}

impl fmt::Display for SecretsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SecretsError::File(p, e) => write!(f, "{}: {e}", p.display()),
            SecretsError::Config(p, e) => write!(f, "{}: {e}", p.display()),
            SecretsError::Key(p, why) => write!(f, "{}: {why}", p.display()),
            SecretsError::Openssl(step, e) => write!(f, "{step}: {e}"),
        }
    }
}

impl std::error::Error for SecretsError {}

/// Names the file an I/O error came from: `.at(path)?`.
trait At<T> {
    /// The error as [`SecretsError::File`] of `p`.
    fn at(self, p: &Path) -> Result<T, SecretsError>;
}

impl<T> At<T> for io::Result<T> {
    fn at(self, p: &Path) -> Result<T, SecretsError> {
        self.map_err(|e| SecretsError::File(p.to_path_buf(), e))
    }
}

/// Names the OpenSSL step an error came from: `.step("encoding the key")?`.
trait Step<T> {
    /// The error as [`SecretsError::Openssl`] of `what`.
    fn step(self, what: &'static str) -> Result<T, SecretsError>;
}

impl<T> Step<T> for Result<T, ErrorStack> {
    fn step(self, what: &'static str) -> Result<T, SecretsError> {
        self.map_err(|e| SecretsError::Openssl(what, e))
    }
}

/// Bytes of randomness in a generated hash (hex-encoded: 48 characters, what
/// `openssl rand -hex 24` makes).
const HASH_BYTES: usize = 24;

/// Makes the secrets `config` names and lacks; returns one line per thing done
/// (none when everything was in place).
pub fn init(config: &Path) -> Result<Vec<String>, SecretsError> {
    let text = fs::read_to_string(config).at(config)?;
    let cfg = Config::parse_str(&text).map_err(|e| SecretsError::Config(config.into(), e))?;
    let base = config
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .map_or_else(|| PathBuf::from("."), Path::to_path_buf);
    let mut done = Vec::new();
    if crate::config::is_placeholder_hash(&cfg.hash) {
        replace_hash(config, &text)?;
        done.push(format!(
            "wrote a random hash into {} (clients need it)",
            config.display()
        ));
    }
    if let Some(key_file) = &cfg.privkey_file {
        let key_file = base.join(key_file);
        let public = key_file.with_file_name("pub.pem");
        if !exists(&key_file)? {
            let rsa = Rsa::generate(2048).step("generating an RSA-2048 key")?;
            let pem = PKey::from_rsa(rsa)
                .and_then(|k| k.private_key_to_pem_pkcs8())
                .step("encoding the key")?;
            write_new(&key_file, &pem, 0o600)?;
            done.push(format!("generated {} (RSA-2048, mode 0600)", key_file.display()));
        }
        if !exists(&public)? {
            let pem = fs::read(&key_file).at(&key_file)?;
            let public_pem = super::key_from_pem(&pem)
                .and_then(|k| Ok(k.public_key_to_pem()?))
                .map_err(|why| SecretsError::Key(key_file.clone(), why))?;
            write_new(&public, &public_pem, 0o644)?;
            done.push(format!("wrote {} (give it to clients)", public.display()));
        }
    }
    Ok(done)
}

fn exists(p: &Path) -> Result<bool, SecretsError> {
    match fs::symlink_metadata(p) {
        Ok(_) => Ok(true),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(SecretsError::File(p.into(), e)),
    }
}

/// Writes a new file (never over an existing one: an admin's key stays) and
/// syncs it and its directory, through tfd-sys's private-file writer. The
/// directory is not checked here: the start's checks refuse a key in a
/// directory others can change, naming the chmod that mends it.
fn write_new(p: &Path, bytes: &[u8], mode: u32) -> Result<(), SecretsError> {
    tfd_sys::private_file::Writer::new(mode)
        .dir_checked()
        .no_replace()
        .write(p, bytes)
        .at(p)
}

/// Rewrites the config with a random hash on every `hash` line: a temporary
/// file with the original's mode and owner, synced, renamed over it.
fn replace_hash(config: &Path, text: &str) -> Result<(), SecretsError> {
    let mut raw = [0u8; HASH_BYTES];
    openssl::rand::rand_bytes(&mut raw).step("random hash")?;
    let hash = tfp_wire::hex::encode(&raw);
    let mut out = String::with_capacity(text.len() + hash.len());
    for line in text.split_inclusive('\n') {
        let is_hash = line.split_whitespace().next() == Some("hash");
        if is_hash {
            out.push_str(&format!("hash {hash}\n"));
        } else {
            out.push_str(line);
        }
    }
    let meta = fs::metadata(config).at(config)?;
    // the original's owner and mode; its directory is the start's to judge
    tfd_sys::private_file::Writer::new(meta.mode())
        .owner(meta.uid(), meta.gid())
        .dir_checked()
        .write(config, out.as_bytes())
        .at(config)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn fills_in_what_is_missing_and_nothing_else() {
        let dir = std::env::temp_dir().join(format!("tfd-secrets-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        let conf = dir.join("tfd.conf");
        let text = "proto 2.4.1\nhash CHANGE-ME-to-a-long-random-secret\ndbdir .\nport 1\nprivkey_file key.pem\n";
        fs::write(&conf, text).unwrap();
        fs::set_permissions(&conf, fs::Permissions::from_mode(0o600)).unwrap();
        let done = init(&conf).unwrap();
        assert_eq!(done.len(), 3, "{done:?}");
        let after = fs::read_to_string(&conf).unwrap();
        let hash = after.lines().find_map(|l| l.strip_prefix("hash ")).unwrap();
        assert_eq!(hash.len(), 2 * HASH_BYTES);
        assert!(hash.bytes().all(|b| b.is_ascii_hexdigit()));
        assert_eq!(after.replace(hash, "CHANGE-ME-to-a-long-random-secret"), text);
        assert_eq!(fs::metadata(&conf).unwrap().mode() & 0o777, 0o600);
        assert_eq!(fs::metadata(dir.join("key.pem")).unwrap().mode() & 0o777, 0o600);
        assert_eq!(fs::metadata(dir.join("pub.pem")).unwrap().mode() & 0o777, 0o644);
        let key = fs::read(dir.join("key.pem")).unwrap();
        assert!(crate::daemon::key_from_pem(&key).is_ok());
        assert!(Config::load(&conf).is_ok());
        // a second start changes nothing
        assert_eq!(init(&conf).unwrap(), Vec::<String>::new());
        assert_eq!(fs::read_to_string(&conf).unwrap(), after);
        assert_eq!(fs::read(dir.join("key.pem")).unwrap(), key);
        fs::remove_dir_all(&dir).unwrap();
    }
}
