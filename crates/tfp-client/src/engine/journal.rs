//! The journal kept beside a partial transfer: what the source was (its
//! name, size and mtime) and, per byte range, how much of it landed and the
//! SHA-256 of exactly those bytes. A resume trusts only what the journal
//! proves: a range whose bytes no longer hash to the recorded digest (a
//! sparse hole, an edited partial) starts again, and a source whose identity
//! changed starts the whole transfer again.
//!
//! A plain one-stream download records no digest (`-`): hashing as it lands
//! costs as much CPU as the cipher (about 0.6 s a GiB), which on two cores
//! halved `tf get`'s speed. Its length is still what the journal claims, and
//! a resume of it is checked end to end against the server's SHA-256 like
//! every resume, so a damaged partial costs one more download, never a
//! wrong file. Generic over the direction: a
//! download journals the remote file it copies, an upload the local one.
//!
//! The journal is small text, replaced whole by rename, so a process killed
//! at any point leaves the previous journal or the next, never half of one;
//! it claims only bytes already written, so it can lag the data but never
//! run ahead of it.

use sha2::{Digest, Sha256};
use std::ffi::{CStr, CString};
use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::os::fd::BorrowedFd;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

/// First line of every journal; a different one is not ours (or too new).
const MAGIC: &str = "tf-journal 1";

/// What the source was when the transfer started. A partial is continued
/// only while the source still has the same identity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// The source's name (a remote path, or a local path for uploads).
    pub name: Vec<u8>,
    /// Its size in bytes.
    pub size: u64,
    /// Its mtime, seconds since the epoch.
    pub mtime: i64,
}

/// One byte range of the transfer: `[start, end)`, of which
/// `[start, start + done)` landed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Range {
    /// First byte of the range.
    pub start: u64,
    /// One past its last byte.
    pub end: u64,
    /// Bytes of it landed, from `start`.
    pub done: u64,
    /// SHA-256 of the `done` bytes from `start`; None where they were not
    /// hashed as they landed (a plain download: see the module's text).
    pub digest: Option<[u8; 32]>,
}

impl Range {
    /// A range nothing of which landed yet.
    pub fn fresh(start: u64, end: u64) -> Range {
        Range {
            start,
            end,
            done: 0,
            digest: Some(Sha256::new().finalize().into()),
        }
    }

    /// Whether all of it landed.
    pub fn complete(&self) -> bool {
        self.start + self.done >= self.end
    }
}

/// A journal: the source's identity and the ranges.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Journal {
    /// The source the ranges are of.
    pub source: Identity,
    /// The transfer's ranges, in any order, not overlapping.
    pub ranges: Vec<Range>,
}

fn hex(b: &[u8]) -> String {
    tfp_wire::hex::encode(b)
}

fn unhex(s: &str) -> Option<Vec<u8>> {
    tfp_wire::hex::decode(s)
}

impl Journal {
    /// The text form (one field a line; names in hex, so any byte is fine).
    pub fn to_text(&self) -> String {
        let mut s = format!(
            "{MAGIC}\nsource {}\nsize {}\nmtime {}\n",
            hex(&self.source.name),
            self.source.size,
            self.source.mtime
        );
        for r in &self.ranges {
            let digest = r.digest.map_or_else(|| "-".to_string(), |d| hex(&d));
            s.push_str(&format!("range {} {} {} {digest}\n", r.start, r.end, r.done));
        }
        s
    }

    /// Parses [`Journal::to_text`]; None for anything else (a damaged or
    /// foreign journal proves nothing).
    pub fn parse(text: &str) -> Option<Journal> {
        let mut lines = text.lines();
        if lines.next()? != MAGIC {
            return None;
        }
        let name = unhex(lines.next()?.strip_prefix("source ")?)?;
        let size = lines.next()?.strip_prefix("size ")?.parse().ok()?;
        let mtime = lines.next()?.strip_prefix("mtime ")?.parse().ok()?;
        let mut ranges = Vec::new();
        for l in lines {
            let f: Vec<&str> = l.strip_prefix("range ")?.split(' ').collect();
            let [a, b, d, h] = f[..] else { return None };
            let r = Range {
                start: a.parse().ok()?,
                end: b.parse().ok()?,
                done: d.parse().ok()?,
                digest: match h {
                    "-" => None,
                    h => Some(unhex(h)?.try_into().ok()?),
                },
            };
            if r.start > r.end || r.done > r.end - r.start || r.end > size {
                return None;
            }
            ranges.push(r);
        }
        Some(Journal {
            source: Identity { name, size, mtime },
            ranges,
        })
    }

    /// Reads the journal at `path`; None when there is none or it proves nothing.
    pub fn load(path: &Path) -> Option<Journal> {
        let text = std::fs::read_to_string(path).ok()?;
        Journal::parse(&text)
    }

    /// Replaces the journal at `path` whole: written beside it, then renamed.
    pub fn store(&self, path: &Path) -> io::Result<()> {
        let mut tmp = PathBuf::from(path);
        tmp.as_mut_os_string().push(".new");
        let written = File::create(&tmp)
            .and_then(|mut f| f.write_all(self.to_text().as_bytes()))
            .and_then(|()| std::fs::rename(&tmp, path));
        if written.is_err() {
            // a full disk fails the write: no half journal is left beside it
            let _ = std::fs::remove_file(&tmp);
        }
        written
    }

    /// Reads the journal `name` in `dir` (no symlink followed, nothing but a
    /// regular file read); None when there is none or it proves nothing.
    pub fn load_at(dir: BorrowedFd<'_>, name: &CStr) -> Option<Journal> {
        let fd = tfd_sys::openat_nofollow(dir, name, libc::O_RDONLY | libc::O_NONBLOCK, 0).ok()?;
        let mut f = File::from(fd);
        // one another user planted (or linked) proves nothing: ignored, and
        // replaced whole by the next store
        let shown = Path::new(std::ffi::OsStr::from_bytes(name.to_bytes()));
        ours(&f.metadata().ok()?, shown, "").ok()?;
        let mut text = String::new();
        // a journal is a few lines; a huge file there is not one
        (&mut f).take(1 << 20).read_to_string(&mut text).ok()?;
        Journal::parse(&text)
    }

    /// Replaces the journal `name` in `dir` whole, as [`Journal::store`]
    /// does, through the directory's descriptor with no symlink followed.
    pub fn store_at(&self, dir: BorrowedFd<'_>, name: &CStr) -> io::Result<()> {
        let mut tmp = name.to_bytes().to_vec();
        tmp.extend_from_slice(b".new");
        let tmp = CString::new(tmp).map_err(|_| io::Error::other("a NUL in a name"))?;
        // a new file each time: whatever was at that name (a link to
        // another file) is never written through
        let _ = tfd_sys::unlinkat(dir, &tmp, false);
        let flags = libc::O_WRONLY | libc::O_CREAT | libc::O_EXCL;
        let written = tfd_sys::openat_nofollow(dir, &tmp, flags, 0o600)
            .and_then(|fd| File::from(fd).write_all(self.to_text().as_bytes()))
            .and_then(|()| tfd_sys::renameat2(dir, &tmp, dir, name, false));
        if written.is_err() {
            // a full disk fails the write: no half journal is left beside it
            let _ = tfd_sys::unlinkat(dir, &tmp, false);
        }
        written
    }

    /// Bytes landed in all ranges.
    pub fn landed(&self) -> u64 {
        self.ranges.iter().map(|r| r.done).sum()
    }
}

/// Re-reads `[r.start, r.start + r.done)` of `file` and returns the hasher
/// holding those bytes when they hash to the recorded digest (or, for a range
/// recorded without one, when they are all there: the end-to-end check then
/// judges them), else None (the range must start again). What a resume does
/// before trusting a range.
pub fn prove(file: &mut File, r: &Range) -> io::Result<Option<Sha256>> {
    let mut h = Sha256::new();
    file.seek(SeekFrom::Start(r.start))?;
    let mut left = r.done;
    let mut buf = vec![0u8; 1 << 20];
    while left > 0 {
        let want = left.min(buf.len() as u64) as usize;
        let n = file.read(&mut buf[..want])?;
        if n == 0 {
            // the partial is shorter than the journal says
            return Ok(None);
        }
        h.update(&buf[..n]);
        left -= n as u64;
    }
    let got: [u8; 32] = h.clone().finalize().into();
    Ok(r.digest.map_or(true, |d| d == got).then_some(h))
}

/// Whether a partial or journal already there (`meta`, from the open
/// descriptor itself) is provably one this user's tf made: a regular file,
/// owned by the effective user, with no permission for group or others
/// (tf creates them 0600) and no other hard link. Anything else was put
/// there by someone else (a planted file in a shared directory, held open
/// to read what lands or to hand root another user's inode) and is refused
/// with one sentence naming it (escaped), never written through: `fix` says
/// what to do.
pub fn ours(meta: &std::fs::Metadata, path: &Path, fix: &str) -> io::Result<()> {
    let why = if !meta.is_file() {
        "not a regular file".to_string()
    } else if meta.uid() != tfd_sys::geteuid() {
        format!("owned by {}, not by you", tfd_sys::named_uid(meta.uid()))
    } else if meta.mode() & 0o077 != 0 {
        format!("mode {:04o}, others may read or write it", meta.mode() & 0o7777)
    } else if meta.nlink() > 1 {
        "it has other hard links".to_string()
    } else {
        return Ok(());
    };
    let shown = crate::escape::shown(path.as_os_str().as_bytes());
    Err(io::Error::new(
        io::ErrorKind::PermissionDenied,
        format!("{shown}: refused, not a partial tf made for you ({why}); remove it to {fix}"),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_round_trips_and_rejects_damage() {
        let j = Journal {
            source: Identity {
                name: b"a dir/\xffname".to_vec(),
                size: 100,
                mtime: -5,
            },
            ranges: vec![
                Range::fresh(0, 50),
                Range {
                    done: 7,
                    ..Range::fresh(50, 100)
                },
            ],
        };
        assert_eq!(Journal::parse(&j.to_text()), Some(j.clone()));
        let t = j.to_text();
        assert_eq!(Journal::parse(&t.replace("range 50 100 7", "range 50 100 70")), None);
        assert_eq!(Journal::parse(&t.replace("size 100", "size 60")), None);
        assert_eq!(Journal::parse(&t[..t.len() - 5]), None);
        // a range recorded without a digest round-trips as such
        let mut plain = j.clone();
        plain.ranges[1].digest = None;
        assert!(plain.to_text().contains("range 50 100 7 -\n"));
        assert_eq!(Journal::parse(&plain.to_text()), Some(plain));
        assert_eq!(Journal::parse(""), None);
    }

    #[test]
    fn a_range_is_proved_by_its_bytes_only() {
        let p = std::env::temp_dir().join(format!("tfd-journal-{}", std::process::id()));
        std::fs::write(&p, b"hello world").unwrap();
        let r = Range {
            done: 5,
            digest: Some(Sha256::digest(b"hello").into()),
            ..Range::fresh(0, 11)
        };
        let mut f = File::open(&p).unwrap();
        assert!(prove(&mut f, &r).unwrap().is_some());
        std::fs::write(&p, b"hellO world").unwrap();
        let mut f = File::open(&p).unwrap();
        assert!(prove(&mut f, &r).unwrap().is_none());
        // a hole where the journal claims data proves nothing
        let f = File::create(&p).unwrap();
        f.set_len(11).unwrap();
        let mut f = File::open(&p).unwrap();
        assert!(prove(&mut f, &r).unwrap().is_none());
        std::fs::remove_file(&p).unwrap();
    }
}
