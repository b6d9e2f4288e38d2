//! A snapshot's index (`NAME/<time>/index`): the first line
//! `tf-backup-index 1`, then one line an entry of the tree, parents before
//! their children:
//!
//! `<type> <size> <mode, octal> <uid> <gid> <mtime ns> <sha256 hex | -> <path, hex>`
//!
//! type `f` file, `d` directory, `l` symlink (its SHA-256 is the target's
//! bytes'), `o` anything else; the path is relative to the tree, in hex so
//! any byte a name holds stays on its line. A file's SHA-256 is computed
//! from the source as it is read for the index, before the copy: a file
//! changed while the run copies it is told by `tf restore`'s check.
//!
//! It is kept compressed ([`stored`]: one zstd frame, `zstd -d` reads it):
//! 31,000 files' text is 8 MB, 1.5 MB compressed, and each snapshot keeps
//! its own. [`parse`] reads either, so snapshots kept as text still read.

use sha2::{Digest, Sha256};
use std::fs;
use std::io::Read;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use tfp_wire::compress::whole;
use tfp_wire::prove::{Hasher, Key};

const HEAD: &[u8] = b"tf-backup-index 1";

/// One entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// `f`, `d`, `l` or `o`.
    pub kind: u8,
    /// A file's bytes (0 for the others).
    pub size: u64,
    /// `mode & 07777`.
    pub mode: u32,
    /// The owner, by number.
    pub uid: u32,
    /// The group, by number.
    pub gid: u32,
    /// The mtime in nanoseconds since the epoch.
    pub mtime_ns: i128,
    /// A file's contents' SHA-256, a symlink's target's.
    pub sha256: Option<[u8; 32]>,
    /// Relative to the tree (empty: the tree itself).
    pub path: Vec<u8>,
}

impl Entry {
    /// The quick check: size, mtime, mode and owners the same. Owners too:
    /// a linked file is one inode with the older snapshot's, which the
    /// mirror would otherwise chown under it.
    pub fn same_quick(&self, o: &Entry) -> bool {
        self.kind == o.kind
            && self.size == o.size
            && self.mode == o.mode
            && (self.uid, self.gid) == (o.uid, o.gid)
            && self.mtime_ns == o.mtime_ns
    }
}

/// The lines of `entries`.
pub fn render(entries: &[Entry]) -> Vec<u8> {
    let mut out = HEAD.to_vec();
    out.push(b'\n');
    for e in entries {
        let sum = e.sha256.map_or("-".to_string(), |s| tfp_wire::hex::encode(&s));
        let line = format!(
            "{} {} {:o} {} {} {} {} {}\n",
            e.kind as char,
            e.size,
            e.mode,
            e.uid,
            e.gid,
            e.mtime_ns,
            sum,
            tfp_wire::hex::encode(&e.path)
        );
        out.extend_from_slice(line.as_bytes());
    }
    out
}

/// The most text an index may decode to (some five million entries): a
/// server's file cannot make tf hold more.
const MAX_TEXT: u64 = 1 << 30;

/// The index of `entries` as it is kept: its lines in one zstd frame (level
/// 1: 40 ms for 8 MB), or the lines themselves where zstd fails.
pub fn stored(entries: &[Entry]) -> Vec<u8> {
    let text = render(entries);
    whole::frame(&text, 1).unwrap_or(text)
}

/// The lines of a kept index, compressed or not; None for a frame that
/// does not decode within [`MAX_TEXT`].
pub fn text(kept: &[u8]) -> Option<std::borrow::Cow<'_, [u8]>> {
    if whole::is_frame(kept) {
        whole::unframe(kept, MAX_TEXT).map(std::borrow::Cow::Owned)
    } else {
        Some(std::borrow::Cow::Borrowed(kept))
    }
}

/// Reads an index, kept compressed or not; `None` for bytes that are not one.
pub fn parse(kept: &[u8]) -> Option<Vec<Entry>> {
    let text = text(kept)?;
    let text = std::str::from_utf8(&text).ok()?;
    let mut lines = text.lines();
    (lines.next()?.as_bytes() == HEAD).then_some(())?;
    lines
        .map(|l| {
            let w: Vec<&str> = l.split(' ').collect();
            let [k, size, mode, uid, gid, mtime, sum, path] = w.as_slice() else {
                return None;
            };
            let sha256 = match *sum {
                "-" => None,
                s => Some(tfp_wire::hex::decode(s)?.try_into().ok()?),
            };
            Some(Entry {
                kind: *k.as_bytes().first()?,
                size: size.parse().ok()?,
                mode: u32::from_str_radix(mode, 8).ok()?,
                uid: uid.parse().ok()?,
                gid: gid.parse().ok()?,
                mtime_ns: mtime.parse().ok()?,
                sha256,
                path: if path.is_empty() {
                    Vec::new()
                } else {
                    tfp_wire::hex::decode(path)?
                },
            })
        })
        .collect()
}

/// A file's SHA-256 and its HMAC-SHA256 under each of `keys` (the proofs
/// `tf backup verify` asks the server for, their kept part), from one read
/// of its bytes.
fn hash_file(p: &Path, keys: &[[u8; 32]]) -> std::io::Result<([u8; 32], Vec<Mac>)> {
    let crypto = |e: openssl::error::ErrorStack| std::io::Error::other(e.to_string());
    let mut f = fs::File::open(p)?;
    let mut h = Sha256::new();
    let mut macs = keys
        .iter()
        .map(|k| Hasher::new(&Key::Hmac(*k)))
        .collect::<Result<Vec<_>, _>>()
        .map_err(crypto)?;
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = f.read(&mut buf)?;
        if n == 0 {
            let macs = macs
                .into_iter()
                .map(|m| m.finish().map(|full| cut(&full)))
                .collect::<Result<_, _>>();
            return Ok((h.finalize().into(), macs.map_err(crypto)?));
        }
        h.update(&buf[..n]);
        for m in &mut macs {
            m.update(&buf[..n]).map_err(crypto)?;
        }
    }
}

fn entry_of(p: &Path, rel: Vec<u8>) -> std::io::Result<Entry> {
    entry_proved(p, rel, &[]).map(|(e, _)| e)
}

/// The bytes of an HMAC kept.
pub const MAC_LEN: usize = 16;

/// A file's HMAC under one key, its kept part (RFC 2104 allows cutting to
/// half the hash's length).
pub type Mac = [u8; MAC_LEN];

/// The kept part of an HMAC.
pub fn cut(mac: &[u8; 32]) -> Mac {
    let mut m = [0u8; MAC_LEN];
    m.copy_from_slice(&mac[..MAC_LEN]);
    m
}

/// An entry scanned, with a file's HMACs under the snapshot's keys.
pub type Scanned = (Entry, Vec<Mac>);

/// What a scan may take as known instead of reading a file: its SHA-256
/// and HMACs as the previous snapshot has them (None: read it).
pub type Known<'a> = &'a dyn Fn(&Entry) -> Option<([u8; 32], Vec<Mac>)>;

/// The entry at `p` (a file's SHA-256 left for [`hash_files`]).
fn entry_at(p: &Path, rel: Vec<u8>) -> std::io::Result<Entry> {
    let m = fs::symlink_metadata(p)?;
    let ft = m.file_type();
    let (kind, sha256) = if ft.is_file() {
        (b'f', None)
    } else if ft.is_dir() {
        (b'd', None)
    } else if ft.is_symlink() {
        let t = fs::read_link(p)?;
        (b'l', Some(Sha256::digest(t.as_os_str().as_bytes()).into()))
    } else {
        (b'o', None)
    };
    Ok(Entry {
        kind,
        size: if kind == b'f' { m.len() } else { 0 },
        mode: m.mode() & 0o7777,
        uid: m.uid(),
        gid: m.gid(),
        mtime_ns: m.mtime() as i128 * 1_000_000_000 + m.mtime_nsec() as i128,
        sha256,
        path: rel,
    })
}

/// The entry at `p` and, for a file, its HMACs under `keys`.
fn entry_proved(p: &Path, rel: Vec<u8>, keys: &[[u8; 32]]) -> std::io::Result<Scanned> {
    let mut e = entry_at(p, rel)?;
    let mut macs = Vec::new();
    if e.kind == b'f' {
        let (sum, m) = hash_file(p, keys)?;
        e.sha256 = Some(sum);
        macs = m;
    }
    Ok((e, macs))
}

/// Every entry below `root` (not itself), parents first, names sorted; each
/// file's HMACs under `keys` beside it (none for other entries). A file
/// `known` answers for (unchanged since the previous snapshot by the quick
/// check, as rsync judges, its proofs under the same keys kept) is not
/// read: a daily run reads what changed, not nine passes over every byte.
pub fn scan(root: &Path, keys: &[[u8; 32]], known: Known<'_>) -> std::io::Result<Vec<Scanned>> {
    let mut out = Vec::new();
    let mut todo = vec![Vec::<u8>::new()];
    while let Some(rel) = todo.pop() {
        let dir = root.join(std::ffi::OsStr::from_bytes(&rel));
        let mut names: Vec<_> = fs::read_dir(&dir)?
            .map(|e| e.map(|e| e.file_name()))
            .collect::<Result<_, _>>()?;
        names.sort();
        let mut subdirs = Vec::new();
        for n in names {
            let r = if rel.is_empty() {
                n.as_bytes().to_vec()
            } else {
                [&rel[..], b"/", n.as_bytes()].concat()
            };
            let mut e = entry_at(&dir.join(&n), r.clone())?;
            if e.kind == b'd' {
                subdirs.push(r);
            }
            let mut macs = Vec::new();
            if e.kind == b'f' {
                if let Some((sum, m)) = known(&e) {
                    e.sha256 = Some(sum);
                    macs = m;
                }
            }
            out.push((e, macs));
        }
        todo.extend(subdirs.into_iter().rev());
    }
    hash_files(root, keys, &mut out)?;
    Ok(out)
}

/// Hashes the files of `entries` (their SHA-256 and HMACs under `keys`) on
/// as many threads as there are CPUs: nine SHA-256 passes over every byte
/// (the sum and eight keys) are what a backup of a big tree spends its time
/// on, 374 MB/s a pass on a CPU without SHA instructions.
fn hash_files(root: &Path, keys: &[[u8; 32]], entries: &mut [Scanned]) -> std::io::Result<()> {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Mutex;
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get()).min(8);
    let next = AtomicUsize::new(0);
    let slots: Vec<Mutex<&mut Scanned>> = entries.iter_mut().map(Mutex::new).collect();
    let work = || -> std::io::Result<()> {
        loop {
            let i = next.fetch_add(1, Ordering::Relaxed);
            let Some(slot) = slots.get(i) else { return Ok(()) };
            let mut guard = slot
                .lock()
                .map_err(|_| std::io::Error::other("a hashing thread failed"))?;
            let (e, macs) = &mut **guard;
            // a file known from the previous snapshot is not read
            if e.kind != b'f' || e.sha256.is_some() {
                continue;
            }
            let (sum, m) = hash_file(&root.join(std::ffi::OsStr::from_bytes(&e.path)), keys)?;
            e.sha256 = Some(sum);
            *macs = m;
        }
    };
    std::thread::scope(|s| {
        let helpers: Vec<_> = (1..threads).map(|_| s.spawn(work)).collect();
        let mut r = work();
        for h in helpers {
            let done = h
                .join()
                .unwrap_or_else(|_| Err(std::io::Error::other("a hashing thread failed")));
            r = r.and(done);
        }
        r
    })
}

/// The paths below `dest` restored from `wanted` (empty: all) that differ
/// from the index: contents (SHA-256), type, mode or mtime.
pub fn check(dest: &Path, index: &[Entry], wanted: &[String]) -> Vec<String> {
    let mut wrong = Vec::new();
    for e in index {
        let rel = String::from_utf8_lossy(&e.path).into_owned();
        let inside = wanted
            .iter()
            .any(|w| w.is_empty() || rel == *w || rel.starts_with(&format!("{w}/")));
        if !inside || e.kind == b'o' {
            continue;
        }
        let p = dest.join(std::ffi::OsStr::from_bytes(&e.path));
        let same = entry_of(&p, e.path.clone()).is_ok_and(|got| {
            got.kind == e.kind
                && got.sha256 == e.sha256
                && got.size == e.size
                && (e.kind == b'l' || got.mode == e.mode)
                && (e.kind != b'f' || got.mtime_ns == e.mtime_ns)
        });
        if !same {
            wrong.push(rel);
        }
    }
    wrong
}
