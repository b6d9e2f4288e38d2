//! Backups of the files a session replaces or removes (TFDBACKUP, rsync's
//! `--backup`): the old file gets its backup name as one more hard link
//! before the replacement is renamed over its name, so the name holds the
//! old file or the new one at every instant, and the backup holds the old
//! one from before the new one is in place. A removal (DEL) is a rename to
//! the backup name. An older backup at that name is replaced, as rsync
//! replaces it.
//!
//! A backup's paths are a client's paths, reached as the session reaches a
//! command's ([`Reach`]): every directory on the way to a backup is pinned
//! in the one before it, by descriptor from the served root, judged as
//! RMKDIR judges its levels (TFPSFS's MKDIR, the LOCK where one is made),
//! made when missing (mode 0755 less the umask) and never entered through a
//! symlink: a symlink or a file on the way is refused, and so is a
//! directory at the backup name. The backup's name is judged as an upload's
//! target (WFILE in its directory, the LOCK, the jail's key).

use super::{FsError, RelPath, Root};
use std::ffi::{CStr, CString};
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use tfd_sys as sys;
use tfp_wire::backup::Backup;
use tfp_wire::secfs::{MKDIR, WFILE};

/// How a backup reaches the paths it makes and writes: as the session
/// reaches a command's path (beneath the root, pinned, judged by TFPSFS,
/// the jail's key refused), though a backup is made when its upload
/// commits, after the command that named the path began.
pub(crate) trait Reach: Send + Sync {
    /// The served root.
    fn root(&self) -> &Root;
    /// `p` pinned in `dir` (its directory, held by the caller) and judged
    /// for `need`; `Access` where the session may not.
    fn pin_in(&self, p: &RelPath, dir: OwnedFd, need: u32) -> Result<RelPath, FsError>;
    /// `Access` where the session's LOCK holds the directory `dir`.
    fn unlocked(&self, dir: BorrowedFd<'_>) -> Result<(), FsError>;
}

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
    /// names what no command may reach, is the parse's error. The paths are
    /// only read here: each use reaches them through the session's [`Reach`].
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

    /// Where the file at `target` is kept, reached through `reach`:
    /// `Invalid` for a name the suffix makes too long, a target outside the
    /// base, or a backup that would be the target itself.
    pub(crate) fn keep_for(&self, reach: Box<dyn Reach>, target: &RelPath) -> Result<Keep, FsError> {
        let name = target.name().ok_or(FsError::Invalid)?;
        let kept = [name, &self.suffix].concat();
        if kept.len() > super::MAX_NAME {
            return Err(FsError::Invalid);
        }
        let parent = target.parent();
        let levels = match &self.into {
            None => None,
            Some((base, dir)) => {
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
        Ok(Keep(Box::new(Kept {
            reach,
            own: parent,
            levels,
            name: kept,
        })))
    }
}

/// Where one file is kept, its directories looked up (and made) only when
/// there is something to keep. Boxed: every upload holds one.
pub struct Keep(Box<Kept>);

/// What a [`Keep`] holds.
struct Kept {
    reach: Box<dyn Reach>,
    /// The file's own directory below the root.
    own: RelPath,
    /// The backup's directory below the root; None: the file's own.
    levels: Option<Vec<Vec<u8>>>,
    name: Vec<u8>,
}

impl Keep {
    /// Links what `dir/name` holds (a file or a symlink) at the backup name.
    /// Nothing there: nothing to keep. A directory there is left to the
    /// caller, whose replacement fails on it.
    pub(crate) fn link(&self, dir: BorrowedFd<'_>, name: &CStr) -> Result<(), FsError> {
        if !sys::keepable(dir, name)? {
            return Ok(());
        }
        let (bdir, bname) = self.place(dir)?;
        match sys::link_kept(dir, name, bdir.as_fd(), &bname) {
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
        let (bdir, bname) = self.place(dir)?;
        Ok(sys::move_kept(dir, name, bdir.as_fd(), &bname)?)
    }

    /// The backup's directory and name, judged as an upload's target: in
    /// the file's own directory (`dir`), or in the levels below the root.
    fn place(&self, dir: BorrowedFd<'_>) -> Result<(OwnedFd, CString), FsError> {
        let (at, held) = match &self.0.levels {
            None => (self.0.own.clone(), dir.try_clone_to_owned()?),
            Some(levels) => self.open_dir(levels)?,
        };
        let p = self.0.reach.pin_in(&at.join(&self.0.name), held, WFILE)?;
        let (bdir, bname) = self.0.reach.root().parent_new(&p)?;
        self.0.reach.unlocked(bdir.as_fd())?;
        Ok((bdir, bname))
    }

    /// The levels below the root, each pinned in the one before and judged
    /// as MKDIR's path, made when missing and none a symlink.
    fn open_dir(&self, levels: &[Vec<u8>]) -> Result<(RelPath, OwnedFd), FsError> {
        let mut at = RelPath::default();
        let mut held = self.0.reach.root().fd().try_clone_to_owned()?;
        for level in levels {
            // a name no listing could show (as a new name's check refuses it)
            if level.iter().any(|b| b.is_ascii_control()) {
                return Err(FsError::BadName);
            }
            at = at.join(level);
            let p = self.0.reach.pin_in(&at, held, MKDIR)?;
            let (d, c) = self.0.reach.root().parent(&p)?;
            if sys::fstatat(d.as_fd(), &c, false).is_err() {
                self.0.reach.unlocked(d.as_fd())?;
            }
            match sys::mkdirat(d.as_fd(), &c, 0o755) {
                Err(e) if e.raw_os_error() != Some(libc::EEXIST) => return Err(e.into()),
                _ => {}
            }
            held = match sys::openat_nofollow(d.as_fd(), &c, libc::O_PATH | libc::O_DIRECTORY, 0) {
                Ok(fd) => fd,
                // a symlink (O_NOFOLLOW with O_DIRECTORY: ENOTDIR or ELOOP) or a file
                Err(e) if matches!(e.raw_os_error(), Some(libc::ENOTDIR | libc::ELOOP)) => return Err(FsError::Escape),
                Err(e) => return Err(e.into()),
            };
        }
        Ok((at, held))
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

    /// The session's reach without its rules: TFPSFS as a session without
    /// an identity meets it, no LOCK, no jail.
    struct Plain(Root);

    impl Reach for Plain {
        fn root(&self) -> &Root {
            &self.0
        }
        fn pin_in(&self, p: &RelPath, dir: OwnedFd, need: u32) -> Result<RelPath, FsError> {
            let pinned = self.0.pin_in(p, Some(dir));
            super::super::secfs::judge(&self.0, &pinned, None, Some(need), false)?;
            Ok(pinned)
        }
        fn unlocked(&self, _: BorrowedFd<'_>) -> Result<(), FsError> {
            Ok(())
        }
    }

    fn reach(d: &std::path::Path) -> Box<dyn Reach> {
        Box::new(Plain(Root::open_root(d).unwrap()))
    }

    fn setting(b: Backup) -> Setting {
        Setting::new(b).unwrap().unwrap()
    }

    #[test]
    fn a_kept_file_is_linked_beside_or_into_the_backup_dir() {
        let t = scratch("beside");
        std::fs::create_dir_all(t.path().join("dst/a")).unwrap();
        std::fs::write(t.path().join("dst/a/f"), b"old").unwrap();
        let p = RelPath::parse(b"dst/a/f").unwrap();
        let dir = std::fs::File::open(t.path().join("dst/a")).unwrap();
        let beside = setting(Backup::Beside(b"~".to_vec()))
            .keep_for(reach(t.path()), &p)
            .unwrap();
        beside.link(dir.as_fd(), c"f").unwrap();
        let into = setting(Backup::Into {
            suffix: vec![],
            base: b"dst".to_vec(),
            dir: b"bak".to_vec(),
        });
        into.keep_for(reach(t.path()), &p)
            .unwrap()
            .link(dir.as_fd(), c"f")
            .unwrap();
        let ino = |q: &str| std::fs::metadata(t.path().join(q)).unwrap().ino();
        assert_eq!(ino("dst/a/f~"), ino("dst/a/f"));
        assert_eq!(ino("bak/a/f"), ino("dst/a/f"));
        // an older backup is replaced; nothing at the name: nothing kept
        std::fs::remove_file(t.path().join("dst/a/f")).unwrap();
        std::fs::write(t.path().join("dst/a/f"), b"new").unwrap();
        into.keep_for(reach(t.path()), &p)
            .unwrap()
            .link(dir.as_fd(), c"f")
            .unwrap();
        assert_eq!(ino("bak/a/f"), ino("dst/a/f"));
        into.keep_for(reach(t.path()), &RelPath::parse(b"dst/a/none").unwrap())
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
        let p = RelPath::parse(b"dst/f").unwrap();
        let dir = std::fs::File::open(t.path().join("dst")).unwrap();
        for (bak, want) in [("bak", "escape"), ("bak2", "dir")] {
            let s = setting(Backup::Into {
                suffix: vec![],
                base: b"dst".to_vec(),
                dir: bak.as_bytes().to_vec(),
            });
            let e = s
                .keep_for(reach(t.path()), &p)
                .unwrap()
                .link(dir.as_fd(), c"f")
                .unwrap_err();
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
        assert!(matches!(same.keep_for(reach(t.path()), &p), Err(FsError::Invalid)));
        let other = RelPath::parse(b"other/f").unwrap();
        assert!(matches!(same.keep_for(reach(t.path()), &other), Err(FsError::Invalid)));
    }

    #[test]
    fn a_removal_moves_the_file_to_its_backup() {
        let t = scratch("removal");
        std::fs::create_dir_all(t.path().join("dst")).unwrap();
        std::fs::write(t.path().join("dst/f"), b"old").unwrap();
        let dir = std::fs::File::open(t.path().join("dst")).unwrap();
        let k = setting(Backup::Beside(b".bak".to_vec()))
            .keep_for(reach(t.path()), &RelPath::parse(b"dst/f").unwrap())
            .unwrap();
        k.move_away(dir.as_fd(), c"f").unwrap();
        assert!(!t.path().join("dst/f").exists());
        assert_eq!(std::fs::read(t.path().join("dst/f.bak")).unwrap(), b"old");
        assert!(matches!(k.move_away(dir.as_fd(), c"f"), Err(FsError::NotFound)));
    }
}
