//! Where downloads land: below one target directory, held open, and reached
//! only through descriptors with no symlink followed (openat2 with
//! RESOLVE_BENEATH and RESOLVE_NO_SYMLINKS, mkdirat). A symlink planted in
//! the target, by anyone, is never written through: the open fails (ELOOP)
//! and the file is refused. Each file is then landed by the transfer engine
//! (client::engine: its resumable partial and journal beside the final name,
//! in the directory handed out here, renamed over it when complete).

use super::land_attrs::LandAttrs;
use crate::engine::backup::Backups;
use crate::tree::names;
use std::ffi::{CString, OsStr};
use std::io;
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};
use tfd_sys as sys;

fn cstr(b: &[u8]) -> io::Result<CString> {
    CString::new(b).map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "a NUL in a name"))
}

/// Explains the errors a planted link or a file in the way gives.
fn blocked(rel: &[u8], e: io::Error) -> io::Error {
    match e.raw_os_error() {
        Some(libc::ELOOP) | Some(libc::EXDEV) => io::Error::new(
            e.kind(),
            format!(
                "{}: a symlink on the way inside the target; not followed",
                names::shown(rel)
            ),
        ),
        Some(libc::ENOTDIR) => io::Error::new(
            e.kind(),
            format!(
                "{}: a symlink or a file on the way inside the target; not followed",
                names::shown(rel)
            ),
        ),
        _ => io::Error::new(e.kind(), format!("{}: {e}", names::shown(rel))),
    }
}

/// A target directory downloads land in.
pub struct Landing {
    root: OwnedFd,
    path: PathBuf,
    /// Where replaced files are kept (`--backup`), and this landing's path
    /// below the destination's root the backups are placed by.
    backups: Option<(Arc<Backups>, Vec<u8>)>,
    /// The attributes each file is given as it lands (`-X`, `-A`), and
    /// this landing's path below the tree's root they are registered by.
    attrs: Option<(Arc<LandAttrs>, Vec<u8>)>,
}

impl Landing {
    /// Opens the target `dir` (given by the user: a symlink naming it is
    /// followed here, and only here).
    pub fn open(dir: &Path) -> io::Result<Landing> {
        use std::os::unix::fs::OpenOptionsExt;
        let root: OwnedFd = std::fs::OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_DIRECTORY)
            .open(dir)?
            .into();
        Ok(Landing {
            root,
            path: dir.to_path_buf(),
            backups: None,
            attrs: None,
        })
    }

    /// This landing keeping every file a download replaces in `backups`
    /// (its own root being the destination's).
    pub fn keeping(self, backups: Option<Arc<Backups>>) -> Landing {
        self.keeping_at(backups, b"")
    }

    /// This landing keeping every file a download replaces in `backups`,
    /// its own root being `at` below the destination's (a tree copied into
    /// a directory of its name: its backups are placed by their paths below
    /// the destination given, as rsync's are).
    pub fn keeping_at(mut self, backups: Option<Arc<Backups>>, at: &[u8]) -> Landing {
        self.backups = backups.map(|b| (b, at.to_vec()));
        self
    }

    /// This landing giving each file the attributes `attrs` holds for it
    /// as it lands ([`LandAttrs`]; its own root being the tree's).
    pub fn giving(mut self, attrs: Arc<LandAttrs>) -> Landing {
        self.attrs = Some((attrs, Vec::new()));
        self
    }

    /// The attributes registered for the file `rel` below this landing,
    /// and its path below the tree's root.
    pub(crate) fn attrs_of(&self, rel: &[u8]) -> Option<(Arc<LandAttrs>, Vec<u8>)> {
        let (a, at) = self.attrs.as_ref()?;
        Some((a.clone(), join(at, rel)))
    }

    /// Where a replaced file `rel` below this landing is kept, and its path
    /// below the destination's root.
    pub fn backup_of(&self, rel: &[u8]) -> Option<(Arc<Backups>, Vec<u8>)> {
        let (b, at) = self.backups.as_ref()?;
        Some((b.clone(), join(at, rel)))
    }

    /// The target directory as the user named it (for messages).
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The directory `rel` below this one as a landing of its own, reached
    /// with no symlink followed.
    pub fn sub(&self, rel: &[u8]) -> io::Result<Landing> {
        Ok(Landing {
            root: self.dir(rel)?,
            path: self.path.join(OsStr::from_bytes(rel)),
            backups: self.backups.as_ref().map(|(b, at)| (b.clone(), join(at, rel))),
            attrs: self.attrs.as_ref().map(|(a, at)| (a.clone(), join(at, rel))),
        })
    }

    /// The directory `rel` below the target (`rel` empty: the target).
    fn dir(&self, rel: &[u8]) -> io::Result<OwnedFd> {
        let flags = libc::O_RDONLY | libc::O_DIRECTORY;
        let p = if rel.is_empty() { &b"."[..] } else { rel };
        sys::openat2_beneath_nolinks(self.root.as_fd(), &cstr(p)?, flags, 0).map_err(|e| blocked(rel, e))
    }

    /// The entry `rel` (empty: the target) opened with `flags`, reached and
    /// opened with no symlink followed (a link is `ELOOP`).
    pub fn open_entry(&self, rel: &[u8], flags: i32) -> io::Result<OwnedFd> {
        if rel.is_empty() {
            return self.dir(rel);
        }
        let (dir, name, _) = self.parent_of(rel)?;
        sys::openat_nofollow(dir.as_fd(), &cstr(name)?, flags, 0)
    }

    /// Makes directory `rel` (checked by [`names::check`]) and its missing
    /// parents, one component at a time, none followed if a link.
    pub fn create_dir(&self, rel: &[u8]) -> io::Result<()> {
        self.create_dir_mode(rel, 0o777)
    }

    /// [`Landing::create_dir`] making `rel` itself, where missing, with
    /// `mode` less the umask (a directory there keeps its own).
    pub fn create_dir_mode(&self, rel: &[u8], mode: u32) -> io::Result<()> {
        names::check(rel).map_err(|why| io::Error::new(io::ErrorKind::InvalidInput, why.to_string()))?;
        let mut cur = sys::openat_nofollow(self.root.as_fd(), c".", libc::O_RDONLY | libc::O_DIRECTORY, 0)?;
        let last = rel.split(|&b| b == b'/').count() - 1;
        for (i, comp) in rel.split(|&b| b == b'/').enumerate() {
            let name = cstr(comp)?;
            let mode = if i == last { mode & 0o777 } else { 0o777 };
            match sys::mkdirat(cur.as_fd(), &name, mode) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
                Err(e) => return Err(blocked(rel, e)),
            }
            cur = sys::openat_nofollow(cur.as_fd(), &name, libc::O_RDONLY | libc::O_DIRECTORY, 0)
                .map_err(|e| blocked(rel, e))?;
        }
        Ok(())
    }

    /// Gives the landing's own directory `mode` (a directory this run made).
    pub fn set_mode(&self, mode: u32) -> io::Result<()> {
        sys::fchmod(self.root.as_fd(), mode)
    }

    /// The directory file `rel` (checked by [`names::check`]) goes in,
    /// reached with no symlink followed, with the file's name in it and the
    /// directory's path for messages. The directory must exist
    /// ([`Landing::create_dir`]).
    pub fn parent_of<'r>(&self, rel: &'r [u8]) -> io::Result<(OwnedFd, &'r [u8], PathBuf)> {
        names::check(rel).map_err(|why| io::Error::new(io::ErrorKind::InvalidInput, why.to_string()))?;
        let (parent, name) = match rel.iter().rposition(|&b| b == b'/') {
            Some(i) => (&rel[..i], &rel[i + 1..]),
            None => (&b""[..], rel),
        };
        Ok((self.dir(parent)?, name, self.path.join(OsStr::from_bytes(parent))))
    }
}

/// `a/b` (`a` empty: `b`).
fn join(a: &[u8], b: &[u8]) -> Vec<u8> {
    if a.is_empty() {
        b.to_vec()
    } else {
        [a, b"/", b].concat()
    }
}

/// Seconds since the epoch of `t` (for comparing with a server's mtime).
pub fn epoch_secs(t: SystemTime) -> i64 {
    match t.duration_since(UNIX_EPOCH) {
        Ok(d) => d.as_secs() as i64,
        Err(e) => -(e.duration().as_secs() as i64),
    }
}
