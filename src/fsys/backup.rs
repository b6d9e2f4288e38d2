//! Backups of the files a session replaces or removes (TFDBACKUP, rsync's
//! `--backup`): the old file gets its backup name as one more hard link
//! before the replacement is renamed over its name, so the name holds the
//! old file or the new one at every instant, and the backup holds the old
//! one from before the new one is in place. A removal (DEL) is a rename to
//! the backup name. An older backup at that name is replaced, as rsync
//! replaces it.
//!
//! Every directory on the way to a backup is reached by descriptor from the
//! served root, one component at a time, made when missing (mode 0755 less
//! the umask) and never through a symlink: a symlink or a file on the way
//! is refused, and so is a directory at the backup name.

use super::{cname, FsError, RelPath};
use std::ffi::{CStr, CString};
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use tfd_sys as sys;
use tfp_wire::backup::Backup;

/// A session's backup setting, its paths parsed below the served root.
#[derive(Debug, Clone)]
pub(crate) struct Setting {
    suffix: Vec<u8>,
    /// `(base, dir)`: kept in `dir` at the file's path below `base`; None:
    /// beside the file.
    into: Option<(RelPath, RelPath)>,
}

impl Setting {
    /// The setting `b` asks for (None: off); a path that leaves the root, or
    /// names what no command may reach, is the parse's error.
    pub(crate) fn new(b: Backup) -> Result<Option<Setting>, FsError> {
        Ok(match b {
            Backup::Off => None,
            Backup::Beside(suffix) => Some(Setting { suffix, into: None }),
            Backup::Into { suffix, base, dir } => Some(Setting {
                suffix,
                into: Some((RelPath::parse(&base)?, RelPath::parse(&dir)?)),
            }),
        })
    }

    /// Where the file at `target` is kept: `Invalid` for a name the suffix
    /// makes too long, a target outside the base, or a backup that would
    /// be the target itself.
    pub(crate) fn keep_for(&self, root: BorrowedFd<'_>, target: &RelPath) -> Result<Keep, FsError> {
        let name = target.name().ok_or(FsError::Invalid)?;
        let kept = [name, &self.suffix].concat();
        if kept.len() > super::MAX_NAME {
            return Err(FsError::Invalid);
        }
        let levels = match &self.into {
            None => None,
            Some((base, dir)) => {
                let parent = target.parent();
                if !parent.starts_with(base) {
                    return Err(FsError::Invalid);
                }
                let below = parent.components().skip(base.components().count());
                let levels: Vec<Vec<u8>> = dir.components().chain(below).map(<[u8]>::to_vec).collect();
                if self.suffix.is_empty() && levels.iter().map(Vec::as_slice).eq(parent.components()) {
                    return Err(FsError::Invalid);
                }
                Some(levels)
            }
        };
        Ok(Keep {
            root: root.try_clone_to_owned()?,
            levels,
            name: cname(&kept)?,
        })
    }
}

/// Where one file is kept, its directories looked up (and made) only when
/// there is something to keep.
pub struct Keep {
    root: OwnedFd,
    /// The backup's directory below the root; None: the file's own.
    levels: Option<Vec<Vec<u8>>>,
    name: CString,
}

impl Keep {
    /// Links what `dir/name` holds (a file or a symlink) at the backup name.
    /// Nothing there: nothing to keep. A directory there is left to the
    /// caller, whose replacement fails on it.
    pub(crate) fn link(&self, dir: BorrowedFd<'_>, name: &CStr) -> Result<(), FsError> {
        if !sys::keepable(dir, name)? {
            return Ok(());
        }
        let bdir = self.open_dir(dir)?;
        match sys::link_kept(dir, name, bdir.as_fd(), &self.name) {
            // gone meanwhile: nothing replaced, nothing to keep
            Err(e) if e.raw_os_error() == Some(libc::ENOENT) && sys::fstatat(dir, name, false).is_err() => Ok(()),
            r => Ok(r?),
        }
    }

    /// Moves what `dir/name` holds (a file or a symlink) to the backup name
    /// in one rename: a removal that keeps it. `NotFound` when nothing is
    /// there.
    pub(crate) fn move_away(&self, dir: BorrowedFd<'_>, name: &CStr) -> Result<(), FsError> {
        if !sys::keepable(dir, name)? {
            return Err(FsError::NotFound);
        }
        let bdir = self.open_dir(dir)?;
        Ok(sys::move_kept(dir, name, bdir.as_fd(), &self.name)?)
    }

    /// The backup's directory: the file's own (`dir`), or the levels below
    /// the root, each made when missing and none a symlink.
    fn open_dir(&self, dir: BorrowedFd<'_>) -> Result<OwnedFd, FsError> {
        let Some(levels) = &self.levels else {
            return Ok(dir.try_clone_to_owned()?);
        };
        let mut at = self.root.try_clone()?;
        for level in levels {
            let c = cname(level)?;
            // a name no listing could show (as a new name's check refuses it)
            if level.iter().any(|b| b.is_ascii_control()) {
                return Err(FsError::BadName);
            }
            match sys::mkdirat(at.as_fd(), &c, 0o755) {
                Err(e) if e.raw_os_error() != Some(libc::EEXIST) => return Err(e.into()),
                _ => {}
            }
            at = match sys::openat_nofollow(at.as_fd(), &c, libc::O_PATH | libc::O_DIRECTORY, 0) {
                Ok(fd) => fd,
                // a symlink (O_NOFOLLOW with O_DIRECTORY: ENOTDIR or ELOOP) or a file
                Err(e) if matches!(e.raw_os_error(), Some(libc::ENOTDIR | libc::ELOOP)) => return Err(FsError::Escape),
                Err(e) => return Err(e.into()),
            };
        }
        Ok(at)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::MetadataExt;

    struct Scratch(std::path::PathBuf);

    impl Scratch {
        fn path(&self) -> &std::path::Path {
            &self.0
        }
    }

    impl Drop for Scratch {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    fn scratch(tag: &str) -> Scratch {
        let d = std::env::temp_dir().join(format!("tfd-backup-{}-{tag}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        Scratch(d)
    }

    fn root(d: &std::path::Path) -> OwnedFd {
        std::fs::File::open(d).unwrap().into()
    }

    fn setting(b: Backup) -> Setting {
        Setting::new(b).unwrap().unwrap()
    }

    #[test]
    fn a_kept_file_is_linked_beside_or_into_the_backup_dir() {
        let t = scratch("beside");
        std::fs::create_dir_all(t.path().join("dst/a")).unwrap();
        std::fs::write(t.path().join("dst/a/f"), b"old").unwrap();
        let r = root(t.path());
        let p = RelPath::parse(b"dst/a/f").unwrap();
        let dir = std::fs::File::open(t.path().join("dst/a")).unwrap();
        let beside = setting(Backup::Beside(b"~".to_vec())).keep_for(r.as_fd(), &p).unwrap();
        beside.link(dir.as_fd(), c"f").unwrap();
        let into = setting(Backup::Into {
            suffix: vec![],
            base: b"dst".to_vec(),
            dir: b"bak".to_vec(),
        });
        into.keep_for(r.as_fd(), &p).unwrap().link(dir.as_fd(), c"f").unwrap();
        let ino = |q: &str| std::fs::metadata(t.path().join(q)).unwrap().ino();
        assert_eq!(ino("dst/a/f~"), ino("dst/a/f"));
        assert_eq!(ino("bak/a/f"), ino("dst/a/f"));
        // an older backup is replaced; nothing at the name: nothing kept
        std::fs::remove_file(t.path().join("dst/a/f")).unwrap();
        std::fs::write(t.path().join("dst/a/f"), b"new").unwrap();
        into.keep_for(r.as_fd(), &p).unwrap().link(dir.as_fd(), c"f").unwrap();
        assert_eq!(ino("bak/a/f"), ino("dst/a/f"));
        into.keep_for(r.as_fd(), &RelPath::parse(b"dst/a/none").unwrap())
            .unwrap()
            .link(dir.as_fd(), c"none")
            .unwrap();
        assert!(!t.path().join("bak/a/none").exists());
    }

    #[test]
    fn a_symlink_or_a_directory_in_the_way_is_refused() {
        let t = scratch("in_the_way");
        std::fs::create_dir_all(t.path().join("dst")).unwrap();
        std::fs::create_dir_all(t.path().join("elsewhere")).unwrap();
        std::fs::write(t.path().join("dst/f"), b"old").unwrap();
        std::os::unix::fs::symlink(t.path().join("elsewhere"), t.path().join("bak")).unwrap();
        std::fs::create_dir_all(t.path().join("bak2/f")).unwrap();
        let r = root(t.path());
        let p = RelPath::parse(b"dst/f").unwrap();
        let dir = std::fs::File::open(t.path().join("dst")).unwrap();
        for (bak, want) in [("bak", "escape"), ("bak2", "dir")] {
            let s = setting(Backup::Into {
                suffix: vec![],
                base: b"dst".to_vec(),
                dir: bak.as_bytes().to_vec(),
            });
            let e = s.keep_for(r.as_fd(), &p).unwrap().link(dir.as_fd(), c"f").unwrap_err();
            assert!(
                matches!((want, &e), ("escape", FsError::Escape) | ("dir", FsError::IsDir)),
                "{bak}: {e:?}"
            );
        }
        assert!(std::fs::read_dir(t.path().join("elsewhere")).unwrap().next().is_none());
        // outside the root, outside the base, the target itself
        assert!(Setting::new(Backup::Beside(b"~".to_vec())).is_ok());
        assert!(matches!(
            Setting::new(Backup::Into {
                suffix: vec![],
                base: b"dst".to_vec(),
                dir: b"../x".to_vec()
            }),
            Err(FsError::Escape)
        ));
        let same = setting(Backup::Into {
            suffix: vec![],
            base: b"dst".to_vec(),
            dir: b"dst".to_vec(),
        });
        assert!(matches!(same.keep_for(r.as_fd(), &p), Err(FsError::Invalid)));
        let other = RelPath::parse(b"other/f").unwrap();
        assert!(matches!(same.keep_for(r.as_fd(), &other), Err(FsError::Invalid)));
    }

    #[test]
    fn a_removal_moves_the_file_to_its_backup() {
        let t = scratch("removal");
        std::fs::create_dir_all(t.path().join("dst")).unwrap();
        std::fs::write(t.path().join("dst/f"), b"old").unwrap();
        let r = root(t.path());
        let dir = std::fs::File::open(t.path().join("dst")).unwrap();
        let k = setting(Backup::Beside(b".bak".to_vec()))
            .keep_for(r.as_fd(), &RelPath::parse(b"dst/f").unwrap())
            .unwrap();
        k.move_away(dir.as_fd(), c"f").unwrap();
        assert!(!t.path().join("dst/f").exists());
        assert_eq!(std::fs::read(t.path().join("dst/f.bak")).unwrap(), b"old");
        assert!(matches!(k.move_away(dir.as_fd(), c"f"), Err(FsError::NotFound)));
    }
}
