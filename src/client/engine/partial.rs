//! A resumable partial beside its target: `.NAME.tf-partial` holds the data,
//! `.NAME.tf-partial.journal` what it proves ([`super::journal`]). Both live
//! in the target's directory, so the final rename is atomic and a later run
//! (`--resume`) finds them by the target's name alone. The partial is created
//! mode 0600 and `flock`ed while a transfer uses it: two tf processes never
//! write one partial, and a killed one lets the lock go with its descriptor.
//! Unlike a scratch temporary it survives an interruption on purpose.

use super::journal::Journal;
use crate::client::temporaries;
use crate::sys;
use std::fs::{File, OpenOptions};
use std::io;
use std::os::fd::AsFd;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// The partial of one target, locked by this process.
pub struct Partial {
    /// Where the data lands.
    pub data: PathBuf,
    /// Where its journal is.
    pub journal: PathBuf,
    target: PathBuf,
    file: File,
}

/// The partial's and the journal's paths for `target`.
pub fn paths_for(target: &Path) -> (PathBuf, PathBuf) {
    let dir = match target.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let name = target
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    // a long name leaves room for the suffix within NAME_MAX
    let short: String = name.chars().take(200).collect();
    (
        dir.join(format!(".{short}.tf-partial")),
        dir.join(format!(".{short}.tf-partial.journal")),
    )
}

impl Partial {
    /// Opens (or creates) the partial of `target` and locks it. Fails with
    /// `WouldBlock` when another process holds it.
    pub fn open(target: &Path) -> io::Result<Partial> {
        let (data, journal) = paths_for(target);
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .custom_flags(libc::O_NOFOLLOW)
            .open(&data)?;
        if !file.metadata()?.is_file() {
            return Err(io::Error::other(format!("{}: not a regular file", data.display())));
        }
        if !sys::try_lock_exclusive(file.as_fd())? {
            return Err(io::Error::new(
                io::ErrorKind::WouldBlock,
                format!("{}: another tf is downloading to it", target.display()),
            ));
        }
        Ok(Partial {
            data,
            journal,
            target: target.to_path_buf(),
            file,
        })
    }

    /// The open partial (for reading back what a journal claims).
    pub fn file(&mut self) -> &mut File {
        &mut self.file
    }

    /// A new descriptor on the partial, for one writer (O_DIRECT is a flag
    /// of the open file, so writers must not share one).
    pub fn writer(&self) -> io::Result<File> {
        OpenOptions::new()
            .write(true)
            .custom_flags(libc::O_NOFOLLOW)
            .open(&self.data)
    }

    /// A new read-only descriptor on the partial (hashing what is there).
    pub fn reader(&self) -> io::Result<File> {
        OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_NOFOLLOW)
            .open(&self.data)
    }

    /// The journal, when there is one that parses.
    pub fn journal(&self) -> Option<Journal> {
        Journal::load(&self.journal)
    }

    /// Empties the partial and forgets its journal: the next transfer starts
    /// from nothing.
    pub fn reset(&mut self) -> io::Result<()> {
        let _ = std::fs::remove_file(&self.journal);
        self.file.set_len(0)
    }

    /// Removes the partial and its journal (a transfer that proved wrong).
    pub fn discard(self) {
        let _ = std::fs::remove_file(&self.journal);
        let _ = std::fs::remove_file(&self.data);
    }

    /// Renames the complete partial over the target. It gets the target's
    /// mode (and, for root, its owner) when the target is a regular file,
    /// else what a new file would get (0666 less the umask).
    pub fn commit(self) -> io::Result<()> {
        let mode = match std::fs::metadata(&self.target) {
            Ok(m) if m.is_file() => {
                if sys::geteuid() == 0 {
                    let _ = sys::fchown(self.file.as_fd(), m.uid(), m.gid());
                }
                m.permissions().mode() & 0o7777
            }
            _ => temporaries::new_file_mode(),
        };
        self.file.set_permissions(std::fs::Permissions::from_mode(mode))?;
        std::fs::rename(&self.data, &self.target)?;
        let _ = std::fs::remove_file(&self.journal);
        Ok(())
    }
}
