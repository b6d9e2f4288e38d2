//! The proofs `tf backup verify` asks for: each snapshot `tf backup`
//! makes has [`KEYS`] secret random keys (or, where at least
//! [`MIN_CARRIED`] of the previous snapshot's are unspent, those: see
//! [`Carried`]) and keeps, for every file it sends or links, the file's
//! SHA-256 and its HMAC-SHA256 under each key (computed from the bytes it
//! reads for the index anyway, or carried for a file unchanged since).
//! The server never sees a key until a verify spends it, so it cannot have
//! an answer ready: it must hold the bytes. A key is recorded spent in the
//! name's ledger ([`spend`]) and marked spent in the file, atomically,
//! before it is sent: a key is asked once, whichever snapshot holds it,
//! and an answer kept from an earlier verify never serves a later one.
//!
//! One file a snapshot, in `$XDG_STATE_HOME/tf/backups` (else
//! `~/.local/state/tf/backups`), named by a digest of the server, login,
//! jail, backup name and snapshot; the directory 0700 and the file 0600,
//! both checked on their descriptors as ssh checks its own (a key others
//! can read is no secret), the file replaced whole by the private-file
//! writer. Its text:
//!
//! ```text
//! tf-backup-proofs 1
//! for <the server, login, jail, name and snapshot, hex>
//! key <0 unspent | 1 spent> <key, hex>          (KEYS lines)
//! file <path in the tree, hex> <sha256 hex> <mac hex> ...   (one a file)
//! ```
//!
//! Each mac is the HMAC's first [`MAC_LEN`] bytes (RFC 2104 allows cutting
//! to half the hash's length).

pub use super::index::{cut, MAC_LEN};
use super::index::{Entry, Mac, Scanned};
use super::remote::Sentence;
use crate::secret_files::{self, Rule};
use crate::ClientConfig;
use sha2::{Digest, Sha256};
use std::collections::HashSet;
use std::ffi::CString;
use std::fs::File;
use std::io::Read;
use std::os::fd::{AsFd, OwnedFd};
use std::path::PathBuf;
use tfd_sys as sys;
use tfp_wire::hex;

/// Keys a snapshot gets: each verify spends one.
pub const KEYS: usize = 8;
const HEAD: &str = "tf-backup-proofs 1";
const WHAT: &str = "the directory of tf's backup proofs";

/// One file's proofs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileProof {
    /// The path below the snapshot's tree.
    pub path: Vec<u8>,
    /// Its contents' SHA-256.
    pub sha256: [u8; 32],
    /// One a key, in the keys' order.
    pub macs: Vec<Mac>,
}

/// A snapshot's proofs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Proofs {
    /// (key, spent).
    pub keys: Vec<([u8; 32], bool)>,
    /// One a file of the snapshot.
    pub files: Vec<FileProof>,
}

/// Where a snapshot's proofs live: the checked directory and the name.
pub struct Place {
    dir: OwnedFd,
    path: PathBuf,
    name: CString,
    id: String,
}

/// `KEYS` fresh random keys.
pub fn new_keys() -> std::io::Result<Vec<[u8; 32]>> {
    (0..KEYS)
        .map(|_| {
            let mut k = [0u8; 32];
            sys::fill_random(&mut k)?;
            Ok(k)
        })
        .collect()
}

fn base() -> Option<PathBuf> {
    Some(crate::state_home::dir()?.join("backups"))
}

impl Place {
    /// The place of `name`@`snap` on `cfg`'s server and login; the error is
    /// one sentence.
    pub fn of(cfg: &ClientConfig, name: &str, snap: &str) -> Result<Place, Sentence> {
        let dir = base().ok_or_else(|| {
            Sentence("neither XDG_STATE_HOME nor HOME is set: tf has nowhere to keep backup proofs".into())
        })?;
        let user = cfg.login.as_ref().map_or("", |c| c.user.as_str());
        let jail = cfg.jail.as_ref().map_or(String::new(), |(u, d)| format!("{u}:{d}"));
        let id = format!("{}\n{user}\n{jail}\n{}\n{snap}", cfg.server, name.trim_matches('/'));
        let file = hex::encode(&Sha256::digest(id.as_bytes())[..16]);
        Ok(Place {
            dir: secret_files::open_dir(WHAT, &dir).map_err(Sentence)?,
            path: dir.join(&file),
            // hex digits: never a NUL
            name: CString::new(file).unwrap_or_default(),
            id,
        })
    }

    /// The file's path, for sentences.
    pub fn path(&self) -> &std::path::Path {
        &self.path
    }

    /// Writes `p` whole (0600, replacing the file atomically).
    pub fn store(&self, p: &Proofs) -> std::io::Result<()> {
        let text = render(&self.id, p);
        sys::private_file::Writer::new(0o600).write_at(self.dir.as_fd(), &self.name, text.as_bytes())
    }

    /// The proofs kept, `Ok(None)` when there are none; an error is one
    /// sentence (a file others could read or change is refused, not used).
    pub fn load(&self) -> Result<Option<Proofs>, Sentence> {
        let shown = crate::escape::path(&self.path);
        let said = |m: String| Sentence(m);
        let fd = match sys::openat_nofollow(self.dir.as_fd(), &self.name, libc::O_RDONLY | libc::O_NONBLOCK, 0) {
            Ok(fd) => fd,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(said(format!("the backup proofs {shown}: {e}"))),
        };
        let mut f = File::from(fd);
        let mut text = String::new();
        let read = f.metadata().and_then(|meta| {
            let refused = secret_files::refusal("the backup proofs", &self.path, &meta, Rule::Private);
            if !meta.is_file() {
                return Ok(Some(format!("the backup proofs {shown} are not a regular file")));
            }
            if refused.is_some() {
                return Ok(refused);
            }
            f.read_to_string(&mut text).map(|_| None)
        });
        match read {
            Err(e) => return Err(said(format!("the backup proofs {shown}: {e}"))),
            Ok(Some(why)) => return Err(said(why)),
            Ok(None) => {}
        }
        parse(&self.id, &text).map(Some).ok_or_else(|| {
            said(format!(
                "the backup proofs {shown} are damaged or belong to another snapshot"
            ))
        })
    }

    /// Forgets the proofs (the snapshot is gone).
    pub fn remove(&self) {
        let _ = sys::unlinkat(self.dir.as_fd(), &self.name, false);
        let _ = sys::unlinkat(self.dir.as_fd(), &self.index_name(), false);
    }

    /// The name of the snapshot's index kept beside its proofs.
    fn index_name(&self) -> CString {
        let mut n = self.name.as_bytes().to_vec();
        n.extend_from_slice(b".index");
        CString::new(n).unwrap_or_default()
    }

    /// Keeps a copy of the snapshot's index here (0600, replaced
    /// atomically): the next backup reads it instead of downloading it,
    /// once the server's SHA-256 of its own says it is the same.
    pub fn store_index(&self, text: &[u8]) -> std::io::Result<()> {
        sys::private_file::Writer::new(0o600).write_at(self.dir.as_fd(), &self.index_name(), text)
    }

    /// The index copy kept, if there is one this user alone can change (no
    /// link followed); anything else is as if none were kept.
    pub fn load_index(&self) -> Option<Vec<u8>> {
        let fd = sys::openat_nofollow(
            self.dir.as_fd(),
            &self.index_name(),
            libc::O_RDONLY | libc::O_NONBLOCK,
            0,
        )
        .ok()?;
        let mut f = File::from(fd);
        let meta = f.metadata().ok()?;
        if !meta.is_file() || secret_files::refusal("a backup index", &self.path, &meta, Rule::Private).is_some() {
            return None;
        }
        let mut text = Vec::new();
        std::io::Read::read_to_end(&mut f, &mut text).ok()?;
        Some(text)
    }
}

fn render(id: &str, p: &Proofs) -> String {
    let mut out = format!("{HEAD}\nfor {}\n", hex::encode(id.as_bytes()));
    for (k, spent) in &p.keys {
        out.push_str(&format!("key {} {}\n", u8::from(*spent), hex::encode(k)));
    }
    for f in &p.files {
        out.push_str(&format!("file {} {}", hex::encode(&f.path), hex::encode(&f.sha256)));
        for m in &f.macs {
            out.push(' ');
            out.push_str(&hex::encode(m));
        }
        out.push('\n');
    }
    out
}

fn fixed<const N: usize>(w: &str) -> Option<[u8; N]> {
    hex::decode(w)?.try_into().ok()
}

fn parse(id: &str, text: &str) -> Option<Proofs> {
    let mut lines = text.lines();
    (lines.next()? == HEAD).then_some(())?;
    (lines.next()?.strip_prefix("for ")? == hex::encode(id.as_bytes())).then_some(())?;
    let mut p = Proofs {
        keys: Vec::new(),
        files: Vec::new(),
    };
    for l in lines {
        let w: Vec<&str> = l.split(' ').collect();
        match w.as_slice() {
            ["key", spent, k] => p.keys.push((fixed(k)?, *spent == "1")),
            ["file", path, sum, macs @ ..] if macs.len() == p.keys.len() => p.files.push(FileProof {
                path: hex::decode(path).filter(|p| !p.is_empty())?,
                sha256: fixed(sum)?,
                macs: macs.iter().map(|m| fixed(m)).collect::<Option<_>>()?,
            }),
            _ => return None,
        }
    }
    (!p.keys.is_empty()).then_some(p)
}

/// The proofs of a snapshot being made: `keys` and each file's entry and
/// HMACs from the scan.
pub fn proofs(keys: &[[u8; 32]], scanned: &[Scanned]) -> Proofs {
    Proofs {
        keys: keys.iter().map(|k| (*k, false)).collect(),
        files: scanned
            .iter()
            .filter(|(e, _)| e.kind == b'f')
            .filter_map(|(e, macs)| {
                Some(FileProof {
                    path: e.path.clone(),
                    sha256: e.sha256?,
                    macs: macs.clone(),
                })
            })
            .collect(),
    }
}

/// The index's entries of a scan.
pub fn entries(scanned: &[Scanned]) -> Vec<Entry> {
    scanned.iter().map(|(e, _)| e.clone()).collect()
}

/// Fewer unspent keys than this in the previous snapshot's proofs: the
/// next snapshot draws [`KEYS`] new ones (and reads every file for them)
/// rather than carry the few left.
pub const MIN_CARRIED: usize = 4;

/// What a new snapshot carries from the previous one's proofs: the keys
/// still unspent, and each file's SHA-256 and HMACs under them. A file
/// unchanged since then has the same HMACs under the same keys, so the
/// run does not read it again; the keys are shared by both snapshots, and
/// spent for both at once ([`spend`]).
#[derive(Debug, Default)]
pub struct Carried {
    /// The keys, in the new snapshot's order.
    pub keys: Vec<[u8; 32]>,
    files: std::collections::HashMap<Vec<u8>, ([u8; 32], Vec<Mac>)>,
}

impl Carried {
    /// What `prev` (the previous snapshot's proofs) leaves a new snapshot:
    /// None when fewer than [`MIN_CARRIED`] of its keys are unspent (by
    /// its file or by `spent`, the name's ledger).
    pub fn of(prev: &Proofs, spent: &HashSet<[u8; 32]>) -> Option<Carried> {
        let kept: Vec<usize> = (0..prev.keys.len())
            .filter(|&i| !prev.keys[i].1 && !spent.contains(&prev.keys[i].0))
            .collect();
        if kept.len() < MIN_CARRIED {
            return None;
        }
        let files = prev
            .files
            .iter()
            .filter(|f| f.macs.len() == prev.keys.len())
            .map(|f| (f.path.clone(), (f.sha256, kept.iter().map(|&i| f.macs[i]).collect())))
            .collect();
        Some(Carried {
            keys: kept.iter().map(|&i| prev.keys[i].0).collect(),
            files,
        })
    }

    /// The SHA-256 and HMACs of `path` when its contents' SHA-256 is `sum`.
    pub fn file(&self, path: &[u8], sum: &[u8; 32]) -> Option<([u8; 32], Vec<Mac>)> {
        self.files.get(path).filter(|(s, _)| s == sum).cloned()
    }
}

/// The ledger of `name`'s keys spent on this machine: one place for the
/// name's snapshots, since they share keys ([`Carried`]). A snapshot
/// name holds no `/`, so no snapshot's place is the ledger's.
fn ledger(cfg: &ClientConfig, name: &str) -> Result<Place, Sentence> {
    Place::of(cfg, name, "/spent")
}

/// The keys of `name` spent by any verify on this machine.
pub fn spent(cfg: &ClientConfig, name: &str) -> Result<HashSet<[u8; 32]>, Sentence> {
    Ok(ledger(cfg, name)?
        .load()?
        .map(|p| p.keys.into_iter().map(|(k, _)| k).collect())
        .unwrap_or_default())
}

/// Records `key` spent for every snapshot of `name`, before it is sent: a
/// key the server has seen never proves anything again, whichever
/// snapshot's proofs hold it.
pub fn spend(cfg: &ClientConfig, name: &str, key: [u8; 32]) -> Result<(), Sentence> {
    let place = ledger(cfg, name)?;
    let mut all = place.load()?.unwrap_or(Proofs {
        keys: Vec::new(),
        files: Vec::new(),
    });
    if !all.keys.iter().any(|(k, _)| *k == key) {
        all.keys.push((key, true));
    }
    place
        .store(&all)
        .map_err(|e| Sentence(format!("{}: {e}", crate::escape::path(place.path()))))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proofs_round_trip_and_belong_to_their_snapshot() {
        let p = Proofs {
            keys: vec![([1; 32], true), ([2; 32], false)],
            files: vec![FileProof {
                path: b"a b/c\n".to_vec(),
                sha256: [3; 32],
                macs: vec![[4; MAC_LEN], [5; MAC_LEN]],
            }],
        };
        let t = render("srv\n\n\nbk\n2026", &p);
        assert_eq!(parse("srv\n\n\nbk\n2026", &t), Some(p));
        assert_eq!(parse("srv\n\n\nbk\n2027", &t), None);
        assert_eq!(parse("srv\n\n\nbk\n2026", &t.replace("key 1", "key 1 x")), None);
    }
}
