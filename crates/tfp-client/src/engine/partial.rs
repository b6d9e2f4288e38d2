//! A resumable partial beside its target: `.NAME.tf-partial` holds the data,
//! `.NAME.tf-partial.journal` what it proves ([`super::journal`]). Both live
//! in the target's directory, so the final rename is atomic and a later run
//! (`--resume`, a re-run of `mirror`) finds them by the target's name alone.
//! They are reached only through the directory's descriptor
//! ([`super::beside`]), never through a path looked up again, so a tree's
//! target with planted links is as safe as a file the user named. The
//! partial is created mode 0600 and `flock`ed while a transfer uses it: two
//! tf processes never write one partial, and a killed one lets the lock go
//! with its descriptor. Unlike a scratch temporary it survives an
//! interruption on purpose.

use super::beside::Beside;
use super::journal::ours;
use super::journal::Journal;
use std::ffi::CString;
use std::fs::File;
use std::io;
use std::os::fd::AsFd;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use tfd_sys as sys;
use tfp_wire::entry::Mtime;

/// The partial's and the journal's names' ends.
const DATA: &str = ".tf-partial";
const JOURNAL: &str = ".tf-partial.journal";

/// The partial of one target, locked by this process.
pub struct Partial {
    /// Where the data lands (for messages).
    pub data: PathBuf,
    /// Where its journal is (for messages).
    pub journal: PathBuf,
    place: Beside,
    data_name: CString,
    journal_name: CString,
    file: File,
    /// Created by this open (O_EXCL): empty, and provably ours.
    fresh: bool,
    /// No journal can be beside it: removed since the lock was taken, and
    /// none stored after (so the commit need not remove it again).
    no_journal: bool,
}

/// The partial's and the journal's paths for `target`.
pub fn paths_for(target: &Path) -> (PathBuf, PathBuf) {
    let dir = match target.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let name = target.file_name().map(|n| n.as_bytes()).unwrap_or_default();
    let named = |end: &str| {
        let mut s = b".".to_vec();
        s.extend_from_slice(super::beside::short(name));
        s.extend_from_slice(end.as_bytes());
        dir.join(std::ffi::OsStr::from_bytes(&s))
    };
    (named(DATA), named(JOURNAL))
}

/// Whether the last component of `rel` is a partial's or a journal's name
/// (`.NAME.tf-partial`, `.NAME.tf-partial.journal`, and the journal's
/// `.new` while it is replaced): what a tree's scan of its target leaves to
/// the engine.
pub fn is_partial_name(rel: &[u8]) -> bool {
    let name = rel.rsplit(|&b| b == b'/').next().unwrap_or(rel);
    name.first() == Some(&b'.')
        && [DATA, JOURNAL, ".tf-partial.journal.new"]
            .iter()
            .any(|end| name.len() > end.len() + 1 && name.ends_with(end.as_bytes()))
}

/// Whether a journal of a partial download of the target is there (a tree
/// resumes only the files that have one).
pub fn has_journal(place: &Beside) -> bool {
    place
        .sibling(JOURNAL)
        .ok()
        .and_then(|n| Journal::load_at(place.dir(), &n))
        .is_some()
}

impl Partial {
    /// Opens (or creates) the partial of `target` and locks it. Fails with
    /// `WouldBlock` when another process holds it.
    pub fn open(target: &Path) -> io::Result<Partial> {
        Partial::open_at(Beside::path(target)?)
    }

    /// [`Partial::open`] beside a target already located.
    pub fn open_at(place: Beside) -> io::Result<Partial> {
        let data_name = place.sibling(DATA)?;
        let journal_name = place.sibling(JOURNAL)?;
        let data = place.shown_of(data_name.as_bytes());
        let journal = place.shown_of(journal_name.as_bytes());
        // a new partial is created exclusively; one already there is
        // continued only when it is provably ours (see `ours`)
        let created = place.open(&data_name, libc::O_RDWR | libc::O_CREAT | libc::O_EXCL, 0o600);
        let (fd, fresh) = match created {
            Ok(fd) => (fd, true),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                // O_NONBLOCK: a planted FIFO must not hold the open
                let fd = place.open(&data_name, libc::O_RDWR | libc::O_NONBLOCK | libc::O_NOCTTY, 0)?;
                (fd, false)
            }
            Err(e) => return Err(e),
        };
        let file = File::from(fd);
        // a file this open created (O_EXCL, no link followed, 0600) is a
        // regular file of ours with one link: no one else can link a 0600
        // file of another user (protected_hardlinks), so only one that was
        // already there is looked at (a stat per file of a 10,000-file tree)
        if !fresh {
            ours(&file.metadata()?, &data, "download again")?;
        }
        if !sys::try_lock_exclusive(file.as_fd())? {
            return Err(io::Error::new(
                io::ErrorKind::WouldBlock,
                format!(
                    "{}: another tf is downloading to it",
                    crate::escape::path(&place.shown())
                ),
            ));
        }
        Ok(Partial {
            data,
            journal,
            place,
            data_name,
            journal_name,
            file,
            fresh,
            no_journal: false,
        })
    }

    /// Where the target is.
    pub fn place(&self) -> &Beside {
        &self.place
    }

    /// The open partial (for reading back what a journal claims).
    pub fn file(&mut self) -> &mut File {
        &mut self.file
    }

    /// A new descriptor on the partial opened with `flags`: the very file
    /// this process locked, or an error if another was swapped in.
    fn reopen(&self, flags: i32) -> io::Result<File> {
        let f = File::from(self.place.open(&self.data_name, flags, 0)?);
        let (a, b) = (f.metadata()?, self.file.metadata()?);
        if (a.dev(), a.ino()) != (b.dev(), b.ino()) {
            // the caller names the target first: this names the partial
            return Err(io::Error::other(format!(
                "its partial {} was replaced by another file during the download",
                crate::escape::path(&self.data)
            )));
        }
        Ok(f)
    }

    /// A new descriptor on the partial, for one writer (O_DIRECT is a flag
    /// of the open file, so writers must not share one).
    pub fn writer(&self) -> io::Result<File> {
        self.reopen(libc::O_WRONLY)
    }

    /// A new read-only descriptor on the partial (hashing what is there).
    pub fn reader(&self) -> io::Result<File> {
        self.reopen(libc::O_RDONLY)
    }

    /// The journal, when there is one that parses.
    pub fn journal(&self) -> Option<Journal> {
        Journal::load_at(self.place.dir(), &self.journal_name)
    }

    /// Replaces the journal whole.
    pub fn store_journal(&mut self, j: &Journal) -> io::Result<()> {
        self.no_journal = false;
        j.store_at(self.place.dir(), &self.journal_name)
    }

    /// Where another thread may replace the journal.
    pub fn journal_slot(&mut self) -> io::Result<Slot> {
        self.no_journal = false;
        Ok(Slot {
            dir: self.place.dir_clone()?,
            name: self.journal_name.clone(),
        })
    }

    /// Empties the partial and forgets its journal: the next transfer starts
    /// from nothing. A journal is removed even beside a partial this open
    /// created (one whose partial was deleted by hand would otherwise claim
    /// the new bytes for a resume); a created partial is empty already.
    pub fn reset(&mut self) -> io::Result<()> {
        self.place.remove(&self.journal_name);
        self.no_journal = true;
        if self.fresh {
            return Ok(());
        }
        self.file.set_len(0)
    }

    /// Removes the partial and its journal (a transfer that proved wrong).
    pub fn discard(self) {
        if !self.no_journal {
            self.place.remove(&self.journal_name);
        }
        self.place.remove(&self.data_name);
    }

    /// Renames the complete partial over the target ([`Beside::commit`]),
    /// with `mtime` when given, and removes the journal.
    pub fn commit(self, mtime: Option<i64>) -> io::Result<()> {
        self.commit_as(mtime.map(Mtime::secs), None)
    }

    /// [`Partial::commit`] with the permission bits `mode` ([`Beside::commit_as`]).
    /// A partial with no journal (a batch's) that cannot be committed is
    /// removed: nothing could resume it.
    pub fn commit_as(self, mtime: Option<Mtime>, mode: Option<u32>) -> io::Result<()> {
        if let Err(e) = self.place.commit_as(&self.file, &self.data_name, mtime, mode) {
            if self.no_journal {
                self.place.remove(&self.data_name);
            }
            return Err(e);
        }
        if !self.no_journal {
            self.place.remove(&self.journal_name);
        }
        Ok(())
    }
}

/// The journal's place, owned: what the range writers replace it through.
pub struct Slot {
    dir: std::os::fd::OwnedFd,
    name: CString,
}

impl Slot {
    /// Replaces the journal whole.
    pub fn store(&self, j: &Journal) -> io::Result<()> {
        j.store_at(self.dir.as_fd(), &self.name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_partial_and_its_journal_are_told_apart_from_files() {
        assert!(is_partial_name(b"a/.big.bin.tf-partial"));
        assert!(is_partial_name(b".x.tf-partial.journal"));
        assert!(is_partial_name(b"d/.x.tf-partial.journal.new"));
        assert!(!is_partial_name(b"x.tf-partial"));
        assert!(!is_partial_name(b".tf-partial"));
        assert!(!is_partial_name(b".x.tf-partial/y"));
        assert_eq!(
            paths_for(Path::new("d/f")),
            (
                PathBuf::from("d/.f.tf-partial"),
                PathBuf::from("d/.f.tf-partial.journal")
            )
        );
    }

    /// A batch's partial (no journal: nothing could resume it) that cannot
    /// be committed is not left behind (issue 64: a lying batch answer left
    /// `.NAME.tf-partial`); here a directory holds the file's name.
    #[test]
    fn a_batch_partial_that_cannot_land_is_not_left_behind() {
        let d = std::env::temp_dir().join(format!("tfd-partial-commit-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(d.join("f/inside")).unwrap();
        let land = crate::engine::landing::Landing::open(&d).unwrap();
        let mut pt = Partial::open_at(Beside::within(&land, b"f").unwrap()).unwrap();
        pt.reset().unwrap();
        std::io::Write::write_all(&mut pt.file(), b"data").unwrap();
        assert!(pt.commit_as(Some(Mtime::secs(1_600_000_000)), None).is_err());
        let left: Vec<_> = std::fs::read_dir(&d).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(left, ["f"], "left behind");
        assert!(d.join("f/inside").is_dir(), "the directory there was touched");
        std::fs::remove_dir_all(&d).unwrap();
    }
}
