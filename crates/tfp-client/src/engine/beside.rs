//! Where a download's target is: its directory, held open, and its name in
//! it. Everything the engine writes beside the target (a partial, its
//! journal, a scratch temporary) is created, read, renamed and removed
//! through that descriptor, one name at a time with no symlink followed, so
//! a tree's target (`get -r`, `mirror`), which may hold links planted by
//! others, is as safe to land in as a file the user named.
//!
//! One commit for all of them: the complete file gets the mode (and, for
//! root, the owner) of the regular file it replaces, else what a new file
//! would get, optionally the server's mtime, and is renamed over the name.

use crate::engine::backup::Backups;
use crate::engine::landing::Landing;
use crate::engine::mtime::system_time;
use crate::temporaries;
use std::ffi::{CStr, CString, OsStr};
use std::fs::File;
use std::io;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tfd_sys as sys;
use tfp_wire::entry::Mtime;

/// A target: the directory it is in (open) and its name there.
pub struct Beside {
    dir: OwnedFd,
    name: CString,
    /// The directory as the user would name it (for messages only).
    dir_shown: PathBuf,
    /// Where the file a commit replaces is kept (`--backup`), and its path
    /// below the destination's root.
    keep: Option<(Arc<Backups>, Vec<u8>)>,
    /// The attributes its commit gives the file before the rename (`-X`,
    /// `-A`: [`super::land_attrs`]), and its path below the tree.
    given: Option<(Arc<super::land_attrs::LandAttrs>, Vec<u8>)>,
}

/// The first 200 bytes of `name` (never half a UTF-8 character): a long
/// name leaves room for a suffix within NAME_MAX.
pub fn short(name: &[u8]) -> &[u8] {
    let mut cut = name.len().min(200);
    while cut > 0 && cut < name.len() && (name[cut] & 0xc0) == 0x80 {
        cut -= 1;
    }
    &name[..cut]
}

fn cstr(b: &[u8]) -> io::Result<CString> {
    CString::new(b).map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "a NUL in a name"))
}

impl Beside {
    /// The target `target` named by the user: its directory is opened by
    /// path (a symlink the user gave to it is followed, here only).
    pub fn path(target: &Path) -> io::Result<Beside> {
        use std::os::unix::fs::OpenOptionsExt;
        let dir_shown = match target.parent() {
            Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
            _ => PathBuf::from("."),
        };
        let name = target.file_name().map(|n| n.as_bytes()).unwrap_or_default();
        let dir: OwnedFd = std::fs::OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_DIRECTORY)
            .open(&dir_shown)?
            .into();
        Ok(Beside {
            dir,
            name: cstr(name)?,
            dir_shown,
            keep: None,
            given: None,
        })
    }

    /// [`Beside::path`] whose commit keeps the file it replaces in
    /// `backups` (the target's directory being the destination's root).
    pub fn path_keeping(target: &Path, backups: Option<Arc<Backups>>) -> io::Result<Beside> {
        let mut b = Beside::path(target)?;
        b.keep = backups.map(|k| (k, b.name.as_bytes().to_vec()));
        Ok(b)
    }

    /// File `rel` below a tree's target, its directory reached through the
    /// landing with no symlink followed and nothing outside it.
    pub fn within(land: &Landing, rel: &[u8]) -> io::Result<Beside> {
        let (dir, name, dir_shown) = land.parent_of(rel)?;
        Ok(Beside {
            dir,
            name: cstr(name)?,
            dir_shown,
            keep: land.backup_of(rel),
            given: land.attrs_of(rel),
        })
    }

    /// The target's name in its directory.
    pub fn name(&self) -> &CStr {
        &self.name
    }

    /// The directory's descriptor.
    pub fn dir(&self) -> BorrowedFd<'_> {
        self.dir.as_fd()
    }

    /// Another descriptor of the directory (for a writer on another thread).
    pub fn dir_clone(&self) -> io::Result<OwnedFd> {
        self.dir.try_clone()
    }

    /// The target's path as the user would name it.
    pub fn shown(&self) -> PathBuf {
        self.shown_of(self.name.as_bytes())
    }

    /// A name in the target's directory as the user would name it.
    pub fn shown_of(&self, name: &[u8]) -> PathBuf {
        self.dir_shown.join(OsStr::from_bytes(name))
    }

    /// `.NAME` + `suffix`, the name of something kept beside the target
    /// (NAME cut by [`short`]).
    pub fn sibling(&self, suffix: &str) -> io::Result<CString> {
        let mut s = b".".to_vec();
        s.extend_from_slice(short(self.name.as_bytes()));
        s.extend_from_slice(suffix.as_bytes());
        cstr(&s)
    }

    /// Whether the target is there now (as anything, a link not followed).
    pub fn exists(&self) -> bool {
        sys::fstatat(self.dir.as_fd(), &self.name, false).is_ok()
    }

    /// Opens `name` in the directory with no symlink followed.
    pub fn open(&self, name: &CStr, flags: i32, mode: u32) -> io::Result<OwnedFd> {
        sys::openat_nofollow(self.dir.as_fd(), name, flags, mode)
    }

    /// Opens the target itself with no symlink followed (the old copy a
    /// delta download reads).
    pub fn open_target(&self, flags: i32) -> io::Result<OwnedFd> {
        sys::openat_nofollow(self.dir.as_fd(), &self.name, flags, 0)
    }

    /// Gives the target, a regular file reached with no symlink followed,
    /// the mode `mode` (masked by the caller: [`crate::engine::keep`]).
    pub fn set_mode(&self, mode: u32) -> io::Result<()> {
        let fd = self.open(&self.name, libc::O_RDONLY | libc::O_NONBLOCK, 0)?;
        let st = sys::fstat(fd.as_fd())?;
        if st.st_mode & libc::S_IFMT != libc::S_IFREG {
            return Err(io::Error::other("not a regular file"));
        }
        sys::fchmod(fd.as_fd(), mode & 0o7777)
    }

    /// Removes `name` from the directory (a missing one is fine).
    pub fn remove(&self, name: &CStr) {
        let _ = sys::unlinkat(self.dir.as_fd(), name, false);
    }

    /// Renames the complete `file` (named `tmp` in the directory) over the
    /// target: the mode (and, for root, the owner) of the regular file it
    /// replaces, else 0666 less the umask; `mtime` when given. A symlink at
    /// the target is replaced, never followed; a directory there is an error.
    pub fn commit(&self, file: &File, tmp: &CStr, mtime: Option<i64>) -> io::Result<()> {
        self.commit_as(file, tmp, mtime.map(Mtime::secs), None)
    }

    /// [`Beside::commit`] with the mode `mode` (the source's, for `get -r`
    /// and `mirror`, as `cp` keeps it; the caller has masked what may be
    /// kept: [`crate::engine::keep`]) instead of the file replaced's, and
    /// the mtime to the nanosecond.
    pub fn commit_as(&self, file: &File, tmp: &CStr, mtime: Option<Mtime>, mode: Option<u32>) -> io::Result<()> {
        let kept = match sys::fstatat(self.dir.as_fd(), &self.name, false) {
            Ok(st) if st.st_mode & libc::S_IFMT == libc::S_IFREG => {
                if sys::geteuid() == 0 {
                    let _ = sys::fchown(file.as_fd(), st.st_uid, st.st_gid);
                }
                st.st_mode & 0o7777
            }
            _ => temporaries::new_file_mode(),
        };
        let mode = mode.map_or(kept, |m| m & 0o7777);
        sys::fchmod(file.as_fd(), mode)?;
        if let Some(t) = mtime {
            file.set_modified(system_time(t))?;
        }
        // after the mode: an ACL's mask is its file's group bits
        if let Some((attrs, rel)) = &self.given {
            attrs.apply(file.as_fd(), rel);
        }
        if let Some((backups, rel)) = &self.keep {
            backups.link(self.dir.as_fd(), &self.name, rel)?;
        }
        sys::renameat2(self.dir.as_fd(), tmp, self.dir.as_fd(), &self.name, false)?;
        // in a directory others can write, `tmp` may have been swapped for
        // their file between our last look and the rename: say so, never
        // report their inode as the download
        let (ours, there) = (
            sys::fstat(file.as_fd())?,
            sys::fstatat(self.dir.as_fd(), &self.name, false)?,
        );
        if (ours.st_dev, ours.st_ino) != (there.st_dev, there.st_ino) {
            // every caller names the target before the error: not here too
            return Err(io::Error::other(
                "replaced by another file as the download was renamed into place",
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Another file at the name once renamed (here: the committed file is
    /// not the temporary's inode) is one sentence after the caller's path;
    /// it was "PATH: PATH: replaced by another file ...".
    #[test]
    fn a_file_swapped_in_at_the_rename_is_named_once() {
        let dir = std::env::temp_dir().join(format!("tfp-beside-swap-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let target = dir.join("f");
        std::fs::write(dir.join(".tmp"), b"theirs").unwrap();
        let ours = File::create(dir.join("ours")).unwrap();
        let place = Beside::path(&target).unwrap();
        let e = place.commit(&ours, c".tmp", None).unwrap_err();
        let told = crate::Error::file(&target, e).to_string();
        let shown = target.display().to_string();
        assert_eq!(told.matches(&shown).count(), 1, "{told}");
        assert!(
            told.ends_with(": replaced by another file as the download was renamed into place"),
            "{told}"
        );
        let _ = std::fs::remove_dir_all(&dir);
    }
}
