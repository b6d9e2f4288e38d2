//! Where downloads land: below one target directory, held open, and reached
//! only through descriptors with no symlink followed (openat2 with
//! RESOLVE_BENEATH and RESOLVE_NO_SYMLINKS, mkdirat, renameat). A symlink
//! planted in the target, by anyone, is never written through: the open
//! fails (ELOOP) and the file is refused. Each file goes to a hidden
//! temporary beside its final name, renamed over it when complete.

use super::names;
use crate::client::temporaries::{self, forget};
use crate::sys;
use std::ffi::{CString, OsStr};
use std::fs::File;
use std::io;
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

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
        })
    }

    /// The directory `rel` below this one as a landing of its own, reached
    /// with no symlink followed.
    pub fn sub(&self, rel: &[u8]) -> io::Result<Landing> {
        Ok(Landing {
            root: self.dir(rel)?,
            path: self.path.join(OsStr::from_bytes(rel)),
        })
    }

    /// The directory `rel` below the target (`rel` empty: the target).
    fn dir(&self, rel: &[u8]) -> io::Result<OwnedFd> {
        let flags = libc::O_RDONLY | libc::O_DIRECTORY;
        let p = if rel.is_empty() { &b"."[..] } else { rel };
        sys::openat2_beneath_nolinks(self.root.as_fd(), &cstr(p)?, flags, 0).map_err(|e| blocked(rel, e))
    }

    /// Makes directory `rel` (checked by [`names::check`]) and its missing
    /// parents, one component at a time, none followed if a link.
    pub fn create_dir(&self, rel: &[u8]) -> io::Result<()> {
        names::check(rel).map_err(|why| io::Error::new(io::ErrorKind::InvalidInput, why.to_string()))?;
        let mut cur = sys::openat_nofollow(self.root.as_fd(), c".", libc::O_RDONLY | libc::O_DIRECTORY, 0)?;
        for comp in rel.split(|&b| b == b'/') {
            let name = cstr(comp)?;
            match sys::mkdirat(cur.as_fd(), &name, 0o777) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
                Err(e) => return Err(blocked(rel, e)),
            }
            cur = sys::openat_nofollow(cur.as_fd(), &name, libc::O_RDONLY | libc::O_DIRECTORY, 0)
                .map_err(|e| blocked(rel, e))?;
        }
        Ok(())
    }

    /// Starts file `rel`: a temporary `.NAME.tf-PID-RANDOM` in its directory,
    /// created exclusively, mode 0600 while incomplete. The directory must
    /// exist ([`Landing::create_dir`]).
    pub fn begin(&self, rel: &[u8]) -> io::Result<Landed> {
        names::check(rel).map_err(|why| io::Error::new(io::ErrorKind::InvalidInput, why.to_string()))?;
        let (parent, name) = match rel.iter().rposition(|&b| b == b'/') {
            Some(i) => (&rel[..i], &rel[i + 1..]),
            None => (&b""[..], rel),
        };
        let dir = self.dir(parent)?;
        let dir_path = self.path.join(OsStr::from_bytes(parent));
        for _ in 0..16 {
            let mut tmp = b".".to_vec();
            // a long name leaves room for the suffix within NAME_MAX
            tmp.extend_from_slice(&name[..name.len().min(200)]);
            tmp.extend_from_slice(temporaries::suffix()?.as_bytes());
            let full = dir_path.join(OsStr::from_bytes(&tmp));
            // registered before it exists: a signal in between cannot miss it
            temporaries::remember(&full);
            let flags = libc::O_WRONLY | libc::O_CREAT | libc::O_EXCL;
            match sys::openat_nofollow(dir.as_fd(), &cstr(&tmp)?, flags, 0o600) {
                Ok(fd) => {
                    return Ok(Landed {
                        dir,
                        tmp: cstr(&tmp)?,
                        name: cstr(name)?,
                        full,
                        file: Some(fd.into()),
                        rel: rel.to_vec(),
                    })
                }
                Err(e) => {
                    forget(&full);
                    if e.kind() != io::ErrorKind::AlreadyExists {
                        return Err(blocked(rel, e));
                    }
                }
            }
        }
        Err(io::Error::other("no free temporary name"))
    }
}

/// One file being written; its temporary is removed when dropped unless
/// [`Landed::commit`] renamed it into place.
pub struct Landed {
    dir: OwnedFd,
    tmp: CString,
    name: CString,
    full: PathBuf,
    file: Option<File>,
    rel: Vec<u8>,
}

impl Landed {
    /// The open temporary.
    pub fn file(&mut self) -> io::Result<&mut File> {
        self.file.as_mut().ok_or_else(|| io::Error::other("already committed"))
    }

    /// Renames the temporary over the final name (a symlink there is replaced,
    /// never followed; a directory there is an error). The file gets the mode
    /// of the regular file it replaces, else 0666 less the umask, and `mtime`
    /// when given.
    pub fn commit(mut self, mtime: Option<i64>) -> io::Result<()> {
        let rel = self.rel.clone();
        let file = self.file.take().ok_or_else(|| io::Error::other("already committed"))?;
        let mode = match sys::fstatat(self.dir.as_fd(), &self.name, false) {
            Ok(st) if st.st_mode & libc::S_IFMT == libc::S_IFREG => {
                if sys::geteuid() == 0 {
                    let _ = sys::fchown(file.as_fd(), st.st_uid, st.st_gid);
                }
                st.st_mode & 0o7777
            }
            _ => temporaries::new_file_mode(),
        };
        sys::fchmod(file.as_fd(), mode).map_err(|e| blocked(&rel, e))?;
        if let Some(t) = mtime {
            let when = if t >= 0 {
                UNIX_EPOCH + Duration::from_secs(t as u64)
            } else {
                UNIX_EPOCH - Duration::from_secs(t.unsigned_abs())
            };
            file.set_modified(when).map_err(|e| blocked(&rel, e))?;
        }
        drop(file);
        sys::renameat2(self.dir.as_fd(), &self.tmp, self.dir.as_fd(), &self.name, false)
            .map_err(|e| blocked(&rel, e))?;
        forget(&self.full);
        Ok(())
    }
}

impl Drop for Landed {
    fn drop(&mut self) {
        if temporaries::is_pending(&self.full) {
            let _ = sys::unlinkat(self.dir.as_fd(), &self.tmp, false);
            forget(&self.full);
        }
    }
}

/// Seconds since the epoch of `t` (for comparing with a server's mtime).
pub fn epoch_secs(t: SystemTime) -> i64 {
    match t.duration_since(UNIX_EPOCH) {
        Ok(d) => d.as_secs() as i64,
        Err(e) => -(e.duration().as_secs() as i64),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(tag: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("tfd-landing-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    #[test]
    fn files_land_below_the_target_and_keep_the_mtime() {
        let d = scratch("ok");
        let l = Landing::open(&d).unwrap();
        l.create_dir(b"a/b").unwrap();
        let mut f = l.begin(b"a/b/x y").unwrap();
        io::Write::write_all(f.file().unwrap(), b"data").unwrap();
        f.commit(Some(1_600_000_000)).unwrap();
        let p = d.join("a/b/x y");
        assert_eq!(std::fs::read(&p).unwrap(), b"data");
        assert_eq!(
            epoch_secs(std::fs::metadata(&p).unwrap().modified().unwrap()),
            1_600_000_000
        );
        assert_eq!(
            std::fs::read_dir(d.join("a/b")).unwrap().count(),
            1,
            "no temporary left"
        );
        // dropped uncommitted: nothing stays
        drop(l.begin(b"a/gone").unwrap());
        assert_eq!(std::fs::read_dir(d.join("a")).unwrap().count(), 1);
        std::fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn a_planted_symlink_is_never_followed() {
        let d = scratch("link");
        let outside = scratch("outside");
        std::os::unix::fs::symlink(&outside, d.join("sub")).unwrap();
        std::fs::write(outside.join("victim"), b"keep").unwrap();
        std::os::unix::fs::symlink(outside.join("victim"), d.join("file")).unwrap();
        let l = Landing::open(&d).unwrap();
        assert!(l.create_dir(b"sub/deeper").is_err());
        assert!(l.begin(b"sub/victim").is_err());
        // a link at the final name is replaced, the file it names untouched
        let mut f = l.begin(b"file").unwrap();
        io::Write::write_all(f.file().unwrap(), b"new").unwrap();
        f.commit(None).unwrap();
        assert_eq!(std::fs::read(outside.join("victim")).unwrap(), b"keep");
        assert!(!std::fs::symlink_metadata(d.join("file"))
            .unwrap()
            .file_type()
            .is_symlink());
        assert_eq!(std::fs::read_dir(&outside).unwrap().count(), 1);
        assert!(l.begin(b"../escape").is_err());
        // the longest name a directory may hold still lands
        let long = vec![b'n'; 255];
        l.begin(&long).unwrap().commit(None).unwrap();
        assert!(d.join(std::str::from_utf8(&long).unwrap()).is_file());
        std::fs::remove_dir_all(&d).unwrap();
        std::fs::remove_dir_all(&outside).unwrap();
    }
}
