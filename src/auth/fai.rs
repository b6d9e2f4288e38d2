//! The Fast Access token store: one file per token, `<fai_dir>/<uuid>`, holding
//! a [`Record`] (the issuing server, expiry, the user and jail it was issued
//! to, the next key).
//!
//! A token opens only the server that issued it: each record names the
//! server's identity ([`server_id`], derived from its key), and a store redeems
//! only records of its own identity. Another tfd on the same host (or one that
//! shares the directory by mistake) with its own key, root and user file sees
//! such a token as unknown and leaves it alone; nodes behind one name, which
//! share the key, the user file and the directory, honour each other's.
//!
//! Tokens are credentials, so the directory is mode 0700 and each file 0600,
//! both owned by the user tfd starts as (root); a directory that is anyone
//! else's, or open to others, is refused rather than used. A new token is
//! written whole to a temporary name, synced and renamed into place. An
//! entrance reads, checks and rewrites the record in place while it holds an
//! exclusive `flock` on the token file, and every other reader (entrances,
//! the purge, on this node or another sharing the directory) takes that lock
//! first: so each key is read by exactly one entrance, and the next one finds
//! the next key (or, after an expiry, an unlinked file).

use nix::fcntl::{Flock, FlockArg};
use std::fs::{self, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use tfp_wire::{fai as wire, fai::Record, uuid};

/// Why an entrance was refused (the session maps these to FAILED 68 and 69).
#[derive(Debug, PartialEq, Eq)]
pub enum Refusal {
    /// No such token (never issued, consumed concurrently, or purged).
    Unknown,
    /// The token was issued by another server (another key): unknown here,
    /// and its record is left as it is for the server it belongs to.
    OtherServer,
    /// The token's time is over (its file is deleted).
    Expired,
    /// The token exists but cannot be honoured: unreadable record, or the
    /// binding check refused it (the reason is for the log, never the token).
    Invalid(String),
    /// The store itself failed (ours, not the client's).
    Store(String),
}

/// A step of the store that failed on I/O: the store's fault, as the error
/// says; except a directory or file that is not there, which holds no token.
impl From<io::Error> for Refusal {
    fn from(e: io::Error) -> Refusal {
        match e.kind() {
            io::ErrorKind::NotFound => Refusal::Unknown,
            _ => Refusal::Store(e.to_string()),
        }
    }
}

/// The binding check's refusal: the reason is for the log (see
/// [`Store::redeem`]).
impl From<String> for Refusal {
    fn from(why: String) -> Refusal {
        Refusal::Invalid(why)
    }
}

/// A successful entrance: the record as it was (its key opens this session)
/// and the key that replaced it (sent to the client for the next one).
pub struct Entry<T> {
    /// The record, with the key of this session.
    pub record: Record,
    /// The next session's key.
    pub next_key: Vec<u8>,
    /// What the binding check produced.
    pub bound: T,
}

/// The token directory.
#[derive(Debug, Clone)]
pub struct Store {
    dir: PathBuf,
    server: [u8; wire::SERVER_ID_LEN],
}

/// The identity tokens are bound to: the SHA-256 of a label and the server's
/// public key (PKCS#1 DER). The key is what clients know the server by, so a
/// server with another key is another server, whatever it shares; the label
/// keeps the value from being any other use's hash of the key.
pub(crate) fn server_id(key: &openssl::rsa::RsaRef<openssl::pkey::Private>) -> io::Result<[u8; wire::SERVER_ID_LEN]> {
    let der = key.public_key_to_der_pkcs1()?;
    let mut h = openssl::sha::Sha256::new();
    h.update(b"tfd FAI server id\0");
    h.update(&der);
    Ok(h.finish())
}

/// Seconds since the epoch.
pub fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// A fresh random FAI key of a random length in the document's range.
pub(crate) fn new_key() -> io::Result<Vec<u8>> {
    let mut len = [0u8; 1];
    openssl::rand::rand_bytes(&mut len)?;
    let span = (wire::KEY_MAX - wire::KEY_MIN + 1) as u8;
    let mut key = vec![0u8; wire::KEY_MIN + (len[0] % span) as usize];
    openssl::rand::rand_bytes(&mut key)?;
    Ok(key)
}

impl Store {
    /// The store at `dir` for the server `server` (nothing is touched until it
    /// is used).
    pub fn new(dir: &Path, server: [u8; wire::SERVER_ID_LEN]) -> Store {
        Store {
            dir: dir.to_path_buf(),
            server,
        }
    }

    /// The identity of the server this store issues and redeems for.
    pub fn server(&self) -> [u8; wire::SERVER_ID_LEN] {
        self.server
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Checks that the directory is ours alone; creates it (0700) when `create`.
    fn check_dir(&self, create: bool) -> io::Result<()> {
        if create {
            fs::DirBuilder::new().recursive(true).mode(0o700).create(&self.dir)?;
        }
        let meta = fs::symlink_metadata(&self.dir)?;
        if !meta.is_dir() {
            return Err(io::Error::other(format!("{} is not a directory", self.dir.display())));
        }
        if meta.uid() != tfd_sys::geteuid() || meta.mode() & 0o077 != 0 {
            return Err(io::Error::other(format!(
                "{} must be mode 0700 and owned by {} (it is {:o}, owned by {}); refusing to keep tokens there",
                self.dir.display(),
                tfd_sys::named_uid(tfd_sys::geteuid()),
                meta.mode() & 0o7777,
                tfd_sys::named_uid(meta.uid())
            )));
        }
        Ok(())
    }

    /// Creates the directory if needed and checks that a token could be
    /// written there now, by creating and removing a file: a read-only file
    /// system (a service manager's sandbox), a full disk or a directory of the
    /// wrong owner would otherwise show only when a client asks for a token.
    /// (A probe left by a crash is a stale `.tmp-` file to [`Store::purge`].)
    pub(crate) fn check_writable(&self) -> io::Result<()> {
        self.check_dir(true)?;
        let mut nonce = [0u8; 8];
        openssl::rand::rand_bytes(&mut nonce)?;
        let probe = self.dir.join(format!(".tmp-probe-{}", tfp_wire::hex::encode(&nonce)));
        OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
            .open(&probe)?;
        fs::remove_file(&probe)
    }

    fn path(&self, token: &[u8; uuid::TEXT_LEN]) -> PathBuf {
        // a v4 UUID's text is [0-9a-f-]: never a path separator or `..`
        self.dir.join(String::from_utf8_lossy(token).as_ref())
    }

    /// Writes a new token's `rec` to a temporary file, syncs it, renames it to
    /// its name and syncs the directory: the token appears whole, and survives
    /// a crash.
    fn write_atomic(&self, final_path: &Path, rec: &Record) -> io::Result<()> {
        let mut line = rec.encode();
        // the directory was checked (ours alone, 0700) by check_dir
        let written = tfd_sys::private_file::Writer::new(0o600)
            .dir_checked()
            .write(final_path, &line);
        line.fill(0);
        written
    }

    /// Stores a new token for `rec` and returns its name; `rec` must name this
    /// store's server.
    pub fn issue(&self, rec: &Record) -> io::Result<[u8; uuid::TEXT_LEN]> {
        if rec.server != self.server {
            return Err(io::Error::other("the record names another server"));
        }
        self.check_dir(true)?;
        let mut b = [0u8; 16];
        openssl::rand::rand_bytes(&mut b)?;
        let token = uuid::v4_text(b);
        let path = self.path(&token);
        if fs::symlink_metadata(&path).is_ok() {
            return Err(io::Error::other("token name collision"));
        }
        self.write_atomic(&path, rec)?;
        Ok(token)
    }

    /// An entrance with `token` at time `now`: checks the record, lets `bind`
    /// decide whether it may still be honoured (the user and jail it names),
    /// then replaces its key with a fresh one. All of it under the token file's
    /// lock, so two entrances with one key cannot both succeed.
    pub fn redeem<T, E>(
        &self,
        token: &[u8; uuid::TEXT_LEN],
        now: u64,
        bind: impl FnOnce(&Record) -> Result<T, E>,
    ) -> Result<Entry<T>, Refusal>
    where
        Refusal: From<E>,
    {
        self.check_dir(false)?;
        let path = self.path(token);
        let file = match OpenOptions::new()
            .read(true)
            .write(true)
            .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC | libc::O_NONBLOCK)
            .open(&path)
        {
            Ok(f) => f,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Err(Refusal::Unknown),
            Err(e) => return Err(Refusal::Invalid(format!("cannot open the token file: {e}"))),
        };
        let mut locked = Flock::lock(file, FlockArg::LockExclusive)
            .map_err(|(_, e)| Refusal::Store(format!("cannot lock the token file: {e}")))?;
        let meta = locked.metadata()?;
        if meta.nlink() == 0 {
            // another entrance used this key while we waited for the lock
            return Err(Refusal::Unknown);
        }
        if !meta.is_file() || meta.uid() != tfd_sys::geteuid() || meta.mode() & 0o077 != 0 {
            return Err(Refusal::Invalid("the token file is not a private regular file".into()));
        }
        let mut bytes = Vec::new();
        (&mut *locked)
            .take(wire::MAX_RECORD as u64 + 1)
            .read_to_end(&mut bytes)?;
        let parsed = Record::parse(&bytes);
        bytes.fill(0);
        let Some(record) = parsed else {
            return Err(Refusal::Invalid("the token file does not hold a record".into()));
        };
        // before anything else: another server's token is neither used,
        // rewritten nor deleted here
        if record.server != self.server {
            return Err(Refusal::OtherServer);
        }
        if now >= record.expiry {
            let _ = fs::remove_file(&path);
            return Err(Refusal::Expired);
        }
        let bound = bind(&record)?;
        let next_key = new_key()?;
        let next = Record {
            key: next_key.clone(),
            ..record.clone()
        };
        // Rewritten in place, under the lock every reader takes, and not
        // synced: a temporary file renamed over the token costs ext4 about a
        // millisecond (it flushes the new file's data on a replacing rename), as
        // much as the RSA step an entrance saves. Only a crash of the machine
        // can tear or lose the write; the token then reads as invalid (or the
        // used key, which only its client knows, opens one more session) and
        // the client falls back to RSA.
        let mut line = next.encode();
        let written = (|| {
            locked.seek(SeekFrom::Start(0))?;
            locked.write_all(&line)?;
            locked.set_len(line.len() as u64)
        })();
        line.fill(0);
        written.map_err(|e| Refusal::Store(format!("cannot replace the key: {e}")))?;
        drop(locked);
        Ok(Entry {
            record,
            next_key,
            bound,
        })
    }

    /// When the instance stops: expired tokens purged, then the directory
    /// removed if nothing is left in it (live tokens outlive a restart, so a
    /// directory holding one stays). True when it was removed.
    pub(crate) fn remove_if_empty(&self, now: u64) -> io::Result<bool> {
        self.purge(now)?;
        match fs::remove_dir(&self.dir) {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
            Err(e) if e.raw_os_error() == Some(libc::ENOTEMPTY) || e.raw_os_error() == Some(libc::EEXIST) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Deletes expired and unreadable tokens and stale temporary files;
    /// returns how many. A directory that does not exist yet holds nothing.
    pub fn purge(&self, now: u64) -> io::Result<usize> {
        match self.check_dir(false) {
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(0),
            other => other?,
        }
        let mut removed = 0;
        for entry in fs::read_dir(&self.dir)? {
            let entry = entry?;
            let name = entry.file_name();
            let bytes = name.as_encoded_bytes();
            let stale = if uuid::is_v4_text(bytes) {
                // judged under the token's lock (an entrance rewrites it in
                // place); a token in use now is judged next time
                let opened = OpenOptions::new()
                    .read(true)
                    .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC | libc::O_NONBLOCK)
                    .open(entry.path());
                let Ok(f) = opened else { continue };
                let Ok(mut locked) = Flock::lock(f, FlockArg::LockExclusiveNonblock) else {
                    continue;
                };
                let mut text = Vec::new();
                let read = (&mut *locked).take(wire::MAX_RECORD as u64 + 1).read_to_end(&mut text);
                let expired = read.is_ok() && Record::parse(&text).map_or(true, |r| now >= r.expiry);
                text.fill(0);
                if expired && fs::remove_file(entry.path()).is_ok() {
                    removed += 1;
                }
                continue;
            } else if bytes.starts_with(b".tmp-") || tfd_sys::private_file::is_temp_name(bytes) {
                // a writer that died between create and rename, an hour ago
                entry
                    .metadata()
                    .ok()
                    .and_then(|m| m.modified().ok())
                    .and_then(|t| t.elapsed().ok())
                    .is_some_and(|age| age.as_secs() > 3600)
            } else {
                false
            };
            if stale && fs::remove_file(entry.path()).is_ok() {
                removed += 1;
            }
        }
        Ok(removed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp(tag: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("tfd-fai-unit-{tag}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&d);
        d
    }

    const ID: [u8; wire::SERVER_ID_LEN] = [7; wire::SERVER_ID_LEN];

    fn rec(expiry: u64) -> Record {
        Record {
            server: ID,
            expiry,
            uid: 1234,
            login: Some("alice".into()),
            jail: None,
            key: new_key().unwrap(),
        }
    }

    #[test]
    fn issue_redeem_rotate_and_modes() {
        let d = temp("rotate");
        let s = Store::new(&d.join("fai"), ID);
        let r = rec(now() + 60);
        let t = s.issue(&r).unwrap();
        assert_eq!(fs::metadata(s.dir()).unwrap().mode() & 0o7777, 0o700);
        let f = s.dir().join(std::str::from_utf8(&t).unwrap());
        assert_eq!(fs::metadata(&f).unwrap().mode() & 0o7777, 0o600);
        let e = s.redeem(&t, now(), |_| Ok::<_, String>(())).unwrap();
        assert_eq!(e.record, r);
        assert_ne!(e.next_key, r.key);
        let e2 = s.redeem(&t, now(), |rec| Ok::<_, String>(rec.key.clone())).unwrap();
        assert_eq!(e2.record.key, e.next_key);
        assert_eq!(fs::metadata(&f).unwrap().mode() & 0o7777, 0o600);
        // the binding check can refuse
        assert!(matches!(
            s.redeem(&t, now(), |_| Err::<(), String>("no".into())),
            Err(Refusal::Invalid(_))
        ));
        // expiry deletes the file
        assert_eq!(
            s.redeem(&t, e2.record.expiry, |_| Ok::<_, String>(())).err(),
            Some(Refusal::Expired)
        );
        assert!(!f.exists());
        assert_eq!(
            s.redeem(&t, now(), |_| Ok::<_, String>(())).err(),
            Some(Refusal::Unknown)
        );
        fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn another_servers_token_is_unknown_and_left_alone() {
        let d = temp("other");
        let mine = Store::new(&d, ID);
        let theirs = Store::new(&d, [8; wire::SERVER_ID_LEN]);
        assert!(theirs.issue(&rec(now() + 60)).is_err(), "a record of another server");
        let t = mine.issue(&rec(now() + 60)).unwrap();
        let f = d.join(std::str::from_utf8(&t).unwrap());
        let before = fs::read(&f).unwrap();
        assert_eq!(
            theirs.redeem(&t, now(), |_| Ok::<_, String>(())).err(),
            Some(Refusal::OtherServer)
        );
        // not even an expiry seen from there deletes it
        assert_eq!(
            theirs.redeem(&t, now() + 3600, |_| Ok::<_, String>(())).err(),
            Some(Refusal::OtherServer)
        );
        assert_eq!(theirs.purge(now()).unwrap(), 0);
        assert_eq!(fs::read(&f).unwrap(), before);
        assert!(mine.redeem(&t, now(), |_| Ok::<_, String>(())).is_ok());
        fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn server_id_is_the_key_s() {
        let a = openssl::rsa::Rsa::generate(2048).unwrap();
        let b = openssl::rsa::Rsa::generate(2048).unwrap();
        let pem = a.private_key_to_pem().unwrap();
        let again = openssl::rsa::Rsa::private_key_from_pem(&pem).unwrap();
        assert_eq!(server_id(&a).unwrap(), server_id(&again).unwrap());
        assert_ne!(server_id(&a).unwrap(), server_id(&b).unwrap());
    }

    #[test]
    fn purge_and_open_dir_refused() {
        let d = temp("purge");
        let s = Store::new(&d, ID);
        assert_eq!(s.purge(now()).unwrap(), 0);
        let live = s.issue(&rec(now() + 600)).unwrap();
        let dead = s.issue(&rec(now() - 1)).unwrap();
        fs::write(
            s.dir().join(std::str::from_utf8(&uuid::v4_text([3; 16])).unwrap()),
            b"junk",
        )
        .unwrap();
        assert_eq!(s.purge(now()).unwrap(), 2);
        assert!(s.redeem(&live, now(), |_| Ok::<_, String>(())).is_ok());
        assert_eq!(
            s.redeem(&dead, now(), |_| Ok::<_, String>(())).err(),
            Some(Refusal::Unknown)
        );
        fs::set_permissions(&d, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
        assert!(s.issue(&rec(now() + 600)).is_err());
        assert!(matches!(
            s.redeem(&live, now(), |_| Ok::<_, String>(())),
            Err(Refusal::Store(_))
        ));
        fs::remove_dir_all(&d).unwrap();
    }
}
