//! A scratch temporary beside a target, for downloads that cannot be resumed
//! (`rcvfile`, `sdown`, `intread`: the server sends the whole file or
//! nothing): `.NAME.tf-PID-RANDOM`, created exclusively, mode 0600 while
//! incomplete, registered with [`temporaries`] so that a signal removes it,
//! and removed when dropped unless [`Scratch::commit`] renamed it over the
//! target. The same place and commit as the resumable partial
//! ([`super::beside`]).

use super::beside::Beside;
use crate::temporaries;
use std::ffi::CString;
use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};

/// One temporary, until committed or dropped.
pub struct Scratch {
    place: Beside,
    name: CString,
    full: PathBuf,
    file: File,
}

impl Scratch {
    /// A temporary beside `target` (named by the user).
    pub fn create(target: &Path) -> io::Result<Scratch> {
        Scratch::create_at(Beside::path(target)?)
    }

    /// A temporary beside a target already located.
    pub fn create_at(place: Beside) -> io::Result<Scratch> {
        for _ in 0..16 {
            let name = place.sibling(&temporaries::suffix()?)?;
            let full = place.shown_of(name.as_bytes());
            // registered before it exists: a signal in between cannot miss it
            temporaries::remember(&full);
            match place.open(&name, libc::O_WRONLY | libc::O_CREAT | libc::O_EXCL, 0o600) {
                Ok(fd) => {
                    return Ok(Scratch {
                        place,
                        name,
                        full,
                        file: File::from(fd),
                    })
                }
                Err(e) => {
                    temporaries::forget(&full);
                    if e.kind() != io::ErrorKind::AlreadyExists {
                        return Err(e);
                    }
                }
            }
        }
        Err(io::Error::other("no free temporary name"))
    }

    /// Where it is (for messages).
    pub fn path(&self) -> &Path {
        &self.full
    }

    /// The open temporary.
    pub fn file(&mut self) -> &mut File {
        &mut self.file
    }

    /// Renames it over the target ([`Beside::commit`]), with `mtime` when given.
    pub fn commit(self, mtime: Option<i64>) -> io::Result<()> {
        self.place.commit(&self.file, &self.name, mtime)?;
        temporaries::forget(&self.full);
        Ok(())
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        if temporaries::is_pending(&self.full) {
            self.place.remove(&self.name);
            temporaries::forget(&self.full);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::landing::Landing;

    fn scratch_dir(tag: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("tfd-scratch-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    #[test]
    fn a_scratch_lands_whole_or_leaves_nothing() {
        let d = scratch_dir("ok");
        let l = Landing::open(&d).unwrap();
        l.create_dir(b"a/b").unwrap();
        let mut f = Scratch::create_at(Beside::within(&l, b"a/b/x y").unwrap()).unwrap();
        io::Write::write_all(f.file(), b"data").unwrap();
        f.commit(Some(1_600_000_000)).unwrap();
        let p = d.join("a/b/x y");
        assert_eq!(std::fs::read(&p).unwrap(), b"data");
        let m = std::fs::metadata(&p).unwrap().modified().unwrap();
        assert_eq!(crate::engine::landing::epoch_secs(m), 1_600_000_000);
        assert_eq!(
            std::fs::read_dir(d.join("a/b")).unwrap().count(),
            1,
            "no temporary left"
        );
        drop(Scratch::create(&d.join("a/gone")).unwrap());
        assert_eq!(std::fs::read_dir(d.join("a")).unwrap().count(), 1);
        std::fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn a_planted_symlink_is_never_followed() {
        let d = scratch_dir("link");
        let outside = scratch_dir("outside");
        std::os::unix::fs::symlink(&outside, d.join("sub")).unwrap();
        std::fs::write(outside.join("victim"), b"keep").unwrap();
        std::os::unix::fs::symlink(outside.join("victim"), d.join("file")).unwrap();
        let l = Landing::open(&d).unwrap();
        assert!(l.create_dir(b"sub/deeper").is_err());
        assert!(Beside::within(&l, b"sub/victim").is_err());
        // a link at the final name is replaced, the file it names untouched
        let mut f = Scratch::create_at(Beside::within(&l, b"file").unwrap()).unwrap();
        io::Write::write_all(f.file(), b"new").unwrap();
        f.commit(None).unwrap();
        assert_eq!(std::fs::read(outside.join("victim")).unwrap(), b"keep");
        assert!(!std::fs::symlink_metadata(d.join("file"))
            .unwrap()
            .file_type()
            .is_symlink());
        assert_eq!(std::fs::read_dir(&outside).unwrap().count(), 1);
        assert!(Beside::within(&l, b"../escape").is_err());
        // a link planted where a partial goes is refused, not written through
        std::os::unix::fs::symlink(outside.join("victim"), d.join(".p.tf-partial")).unwrap();
        assert!(super::super::partial::Partial::open_at(Beside::within(&l, b"p").unwrap()).is_err());
        assert_eq!(std::fs::read(outside.join("victim")).unwrap(), b"keep");
        // so is a hard link to another file
        std::fs::hard_link(outside.join("victim"), d.join(".q.tf-partial")).unwrap();
        assert!(super::super::partial::Partial::open_at(Beside::within(&l, b"q").unwrap()).is_err());
        std::fs::remove_file(d.join(".q.tf-partial")).unwrap();
        // the longest name a directory may hold still lands
        let long = vec![b'n'; 255];
        Scratch::create_at(Beside::within(&l, &long).unwrap())
            .unwrap()
            .commit(None)
            .unwrap();
        assert!(d.join(std::str::from_utf8(&long).unwrap()).is_file());
        std::fs::remove_dir_all(&d).unwrap();
        std::fs::remove_dir_all(&outside).unwrap();
    }
}
