//! rsync's `--backup`, `--backup-dir` and `--suffix` on this machine's
//! side (downloads, and a mirror's removals here): a file a download
//! replaces gets its backup name as one more hard link just before the
//! complete file is renamed over its name, so the name holds the old or the
//! new file at every instant and the backup holds the old one once the new
//! is in place; a removal is a rename to the backup name. An older backup
//! at that name is replaced, as rsync replaces it. The server's side is
//! tfd's (TFDBACKUP, [`tfp_wire::backup`]).
//!
//! Below the backup directory each level is made when missing and none is
//! followed if it is a symlink; the directory itself is the user's (made
//! and opened by path, once).

use crate::{Client, ClientConfig, Error};
use std::ffi::{CStr, CString};
use std::io;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::Path;
use tfd_sys as sys;
use tfp_wire::Status;

/// What rsync's options ask for, before any path is resolved: the words
/// both sides start from.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Wanted {
    /// `--suffix` (None: rsync's default, `~` without a backup directory,
    /// none with one).
    pub suffix: Option<String>,
    /// `--backup-dir`: relative to the destination's root, as rsync's.
    pub dir: Option<String>,
}

impl Wanted {
    /// The suffix in effect.
    pub fn suffix(&self) -> &str {
        match (&self.suffix, &self.dir) {
            (Some(s), _) => s,
            (None, None) => "~",
            (None, Some(_)) => "",
        }
    }

    /// Why these words cannot be a backup (a `/` in the suffix, an empty
    /// suffix beside the file), in one sentence.
    pub fn check(&self) -> Result<(), String> {
        let s = self.suffix();
        if !tfp_wire::backup::suffix_ok(s.as_bytes()) {
            return Err(format!("--suffix {s:?}: a suffix holds no / and at most 255 bytes"));
        }
        if s.is_empty() && self.dir.is_none() {
            return Err("--suffix '' without --backup-dir would back a file up onto itself".into());
        }
        if self.dir.as_deref() == Some("") {
            return Err("--backup-dir needs a directory".into());
        }
        Ok(())
    }

    /// The server's setting for a destination rooted at `base` (a path
    /// below the session's root): the backup directory below `base` unless
    /// it starts with `/` (then below the session's root).
    pub fn remote(&self, base: &[u8]) -> Option<tfp_wire::backup::Backup> {
        use tfp_wire::backup::Backup;
        let suffix = self.suffix().as_bytes().to_vec();
        let Some(dir) = &self.dir else {
            return Some(Backup::Beside(suffix));
        };
        let base = trimmed(base);
        let dir = match dir.strip_prefix('/') {
            Some(abs) => abs.as_bytes().to_vec(),
            None if base == b"." => dir.as_bytes().to_vec(),
            None => [base, b"/", dir.as_bytes()].concat(),
        };
        Some(Backup::Into {
            suffix,
            base: base.to_vec(),
            dir,
        })
    }

    /// This machine's side for a destination rooted at `base`.
    pub fn local(&self, base: &Path) -> io::Result<Backups> {
        let into = match &self.dir {
            None => None,
            Some(d) => {
                let dir = base.join(d);
                std::fs::create_dir_all(&dir)?;
                Some(std::fs::File::open(&dir)?.into())
            }
        };
        Ok(Backups {
            suffix: self.suffix().as_bytes().to_vec(),
            into,
        })
    }
}

/// Why a server without TFDBACKUP refuses `--backup` (rather than replacing
/// files without keeping them).
pub const UNSUPPORTED: &str = "this server keeps no backup of what an upload replaces or a removal removes \
     (tfd's TFDBACKUP): --backup was refused so that nothing is replaced without its backup";

/// Sets where the server keeps what this session's uploads replace and
/// its DELs remove (`Backup::Off`: nowhere): [`Error::Usage`] with
/// [`UNSUPPORTED`] from a server without it, the server's refusal as it
/// came (a path out of the root: FAILED 1).
pub fn set_remote(c: &mut Client, b: &tfp_wire::backup::Backup) -> Result<(), Error> {
    let line = b
        .line()
        .ok_or_else(|| Error::Usage("--backup-dir or --suffix cannot be sent as they are".into()))?;
    match c.command(&line)? {
        Status::Ok(_) => Ok(()),
        Status::Unknown => Err(Error::Usage(UNSUPPORTED.into())),
        st => Err(Error::refused(tfp_wire::backup::COMMAND, st)),
    }
}

/// What every connection of `cfg` does once entered: TFDBACKUP as
/// `cfg.backup` says (nothing when it says nothing).
pub(crate) fn on_entry(c: &mut Client, cfg: &ClientConfig) -> Result<(), Error> {
    match &cfg.backup {
        Some(b) => set_remote(c, b),
        None => Ok(()),
    }
}

/// A remote path without its leading and trailing slashes (`.`: the root).
fn trimmed(p: &[u8]) -> &[u8] {
    let start = p.iter().position(|&b| b != b'/').unwrap_or(p.len());
    let end = p.iter().rposition(|&b| b != b'/').map_or(start, |i| i + 1);
    if start >= end {
        b"."
    } else {
        &p[start..end]
    }
}

/// Where this machine keeps what downloads replace and removals remove.
#[derive(Debug)]
pub struct Backups {
    suffix: Vec<u8>,
    /// The backup directory; None: beside each file.
    into: Option<OwnedFd>,
}

fn cstr(b: &[u8]) -> io::Result<CString> {
    CString::new(b).map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "a NUL in a name"))
}

impl Backups {
    /// Links what `dir/name` holds (a file or a link; not a directory) at
    /// its backup name; `rel` is its path below the destination's root.
    /// Nothing there: nothing to keep.
    pub fn link(&self, dir: BorrowedFd<'_>, name: &CStr, rel: &[u8]) -> io::Result<()> {
        if !sys::keepable(dir, name)? {
            return Ok(());
        }
        let (bdir, bname) = self.place(dir, name, rel)?;
        sys::link_kept(dir, name, bdir.as_fd(), &bname).map_err(said)
    }

    /// Moves what `dir/name` holds (not a directory) to its backup name in
    /// one rename.
    pub fn move_away(&self, dir: BorrowedFd<'_>, name: &CStr, rel: &[u8]) -> io::Result<()> {
        let (bdir, bname) = self.place(dir, name, rel)?;
        sys::move_kept(dir, name, bdir.as_fd(), &bname).map_err(said)
    }

    /// The backup's directory and name.
    fn place(&self, dir: BorrowedFd<'_>, name: &CStr, rel: &[u8]) -> io::Result<(OwnedFd, CString)> {
        let bname = cstr(&[name.to_bytes(), &self.suffix].concat())?;
        let Some(into) = &self.into else {
            return Ok((dir.try_clone_to_owned()?, bname));
        };
        let mut at = into.try_clone()?;
        let parent = rel.iter().rposition(|&b| b == b'/').map_or(&rel[..0], |i| &rel[..i]);
        for level in parent.split(|&b| b == b'/').filter(|l| !l.is_empty() && *l != b".") {
            if level == b".." {
                return Err(io::Error::new(io::ErrorKind::InvalidInput, "a .. in a backup's path"));
            }
            let c = cstr(level)?;
            match sys::mkdirat(at.as_fd(), &c, 0o777) {
                Err(e) if e.kind() != io::ErrorKind::AlreadyExists => return Err(e),
                _ => {}
            }
            at = sys::openat_nofollow(at.as_fd(), &c, libc::O_RDONLY | libc::O_DIRECTORY, 0).map_err(|e| {
                io::Error::new(
                    e.kind(),
                    "a symlink or a file on the way in the backup directory; not followed",
                )
            })?;
        }
        Ok((at, bname))
    }
}

/// What keeping a file met, in words: a directory at the backup name, or
/// the name taken again and again ([`sys::link_kept`]).
fn said(e: io::Error) -> io::Error {
    match e.raw_os_error() {
        Some(libc::EISDIR) => io::Error::other("a directory is at the backup name"),
        Some(libc::EEXIST) => io::Error::other("the backup name keeps being taken"),
        _ => e,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tfp_wire::backup::Backup;

    #[test]
    fn rsyncs_defaults_and_the_servers_setting() {
        let plain = Wanted::default();
        assert_eq!(plain.suffix(), "~");
        assert_eq!(plain.remote(b"/dst/"), Some(Backup::Beside(b"~".to_vec())));
        let into = Wanted {
            suffix: None,
            dir: Some("../old".into()),
        };
        assert_eq!(into.suffix(), "");
        assert_eq!(
            into.remote(b"dst"),
            Some(Backup::Into {
                suffix: vec![],
                base: b"dst".to_vec(),
                dir: b"dst/../old".to_vec()
            })
        );
        let abs = Wanted {
            suffix: Some(".b".into()),
            dir: Some("/bak".into()),
        };
        assert_eq!(
            abs.remote(b"/"),
            Some(Backup::Into {
                suffix: b".b".to_vec(),
                base: b".".to_vec(),
                dir: b"bak".to_vec()
            })
        );
        assert!(Wanted {
            suffix: Some(String::new()),
            dir: None
        }
        .check()
        .is_err());
        assert!(Wanted {
            suffix: Some("a/b".into()),
            dir: None
        }
        .check()
        .is_err());
    }

    #[test]
    fn a_replaced_file_is_linked_and_a_removed_one_moved() {
        use std::os::unix::fs::MetadataExt;
        let d = std::env::temp_dir().join(format!("tfp-backups-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(d.join("dst/a")).unwrap();
        std::fs::write(d.join("dst/a/f"), b"old").unwrap();
        let b = Wanted {
            suffix: None,
            dir: Some("../bak".into()),
        }
        .local(&d.join("dst"))
        .unwrap();
        let dir = std::fs::File::open(d.join("dst/a")).unwrap();
        b.link(dir.as_fd(), c"f", b"a/f").unwrap();
        let ino = |p: &str| std::fs::metadata(d.join(p)).unwrap().ino();
        assert_eq!(ino("bak/a/f"), ino("dst/a/f"));
        std::fs::write(d.join("dst/a/g"), b"gone").unwrap();
        b.move_away(dir.as_fd(), c"g", b"a/g").unwrap();
        assert_eq!(std::fs::read(d.join("bak/a/g")).unwrap(), b"gone");
        assert!(!d.join("dst/a/g").exists());
        let _ = std::fs::remove_dir_all(&d);
    }
}
