//! The periodic sweep of upload temporaries: where `O_TMPFILE` is missing
//! (NFS, GlusterFS, CephFS: the file systems tfd scales out on) an upload
//! writes a hidden `.tfd-part-*` file, and a session killed mid-upload
//! (SIGKILL, OOM, a node's crash) leaves it behind. The quota walk removed the
//! ones it passed; without quotas nothing did. [`Sweeper`] walks the whole
//! tree instead, a bounded number of entries per pass, resuming where the last
//! pass stopped, and removes what [`super::upload::sweep_if_stale`] judges
//! stale (old and not locked: a live upload holds its temporary locked, on
//! every node of a shared file system).
//!
//! The walk never follows a symlink (each directory is opened beneath its
//! parent with `O_NOFOLLOW`) and stops at [`super::walk::MAX_DEPTH`].

use super::walk::MAX_DEPTH;
use super::{cname, upload, Kind};
use nix::dir::Dir;
use std::ffi::CString;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use tfd_sys as sys;

/// What one pass did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Pass {
    /// Entries looked at.
    pub examined: u64,
    /// Stale temporaries removed.
    pub removed: u64,
    /// The pass reached the end of the tree (the next starts at the root).
    pub round_done: bool,
}

/// A walk over the tree beneath a root, spread over passes.
pub struct Sweeper {
    root: OwnedFd,
    /// Directories still to visit in this round, as names from the root.
    pending: Vec<Vec<CString>>,
}

impl Sweeper {
    /// A sweeper over the directory `root` (any descriptor of it).
    pub fn new(root: OwnedFd) -> Sweeper {
        Sweeper {
            root,
            pending: Vec::new(),
        }
    }

    /// Looks at up to `budget` entries, from where the last pass stopped, and
    /// removes the stale upload temporaries among them.
    pub fn pass(&mut self, budget: u64) -> Pass {
        let mut out = Pass::default();
        if self.pending.is_empty() {
            self.pending.push(Vec::new());
        }
        while let Some(path) = self.pending.pop() {
            if out.examined >= budget {
                self.pending.push(path);
                return out;
            }
            // a directory that went away or may not be opened is skipped
            if let Ok(dir) = self.open(&path) {
                self.sweep_dir(dir.as_fd(), &path, &mut out);
            }
        }
        out.round_done = true;
        out
    }

    /// Opens `path` beneath the root, no symlink followed.
    fn open(&self, path: &[CString]) -> std::io::Result<OwnedFd> {
        let mut cur = sys::openat_nofollow(self.root.as_fd(), c".", libc::O_PATH | libc::O_DIRECTORY, 0)?;
        for name in path {
            cur = sys::openat_nofollow(cur.as_fd(), name, libc::O_PATH | libc::O_DIRECTORY, 0)?;
        }
        sys::openat_nofollow(cur.as_fd(), c".", libc::O_RDONLY | libc::O_DIRECTORY, 0)
    }

    /// Looks at one directory's entries (all of them: one directory is the
    /// unit of work, so a pass may overrun its budget by one directory's size);
    /// queues its subdirectories.
    fn sweep_dir(&mut self, dir: BorrowedFd<'_>, path: &[CString], out: &mut Pass) {
        let Ok(handle) = sys::openat_nofollow(dir, c".", libc::O_PATH | libc::O_DIRECTORY, 0) else {
            return;
        };
        let Ok(reader) = sys::openat_nofollow(dir, c".", libc::O_RDONLY | libc::O_DIRECTORY, 0) else {
            return;
        };
        let Ok(mut d) = Dir::from(reader) else { return };
        for ent in d.iter() {
            let Ok(ent) = ent else { break };
            let name = ent.file_name();
            if name.to_bytes() == b"." || name.to_bytes() == b".." {
                continue;
            }
            out.examined += 1;
            let is_dir = match ent.file_type() {
                Some(nix::dir::Type::Directory) => true,
                Some(nix::dir::Type::File) | None => {
                    let Ok(st) = sys::fstatat(handle.as_fd(), name, false) else {
                        continue;
                    };
                    if upload::sweep_if_stale(handle.as_fd(), name, &st) {
                        out.removed += 1;
                        continue;
                    }
                    Kind::of(&st) == Kind::Dir
                }
                Some(_) => false,
            };
            if is_dir && path.len() < MAX_DEPTH {
                if let Ok(n) = cname(name.to_bytes()) {
                    let mut sub = path.to_vec();
                    sub.push(n);
                    self.pending.push(sub);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Old unlocked temporaries go, at any depth; fresh ones, other files and
    /// what a symlink leads to stay; a small budget spreads the round over passes.
    #[test]
    fn sweeps_old_temporaries_over_passes() {
        let tmp = std::env::temp_dir().join(format!("tfd-sweep-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&tmp);
        let outside = tmp.join("outside");
        std::fs::create_dir_all(&outside).unwrap();
        let root = tmp.join("root");
        let old = std::time::SystemTime::now() - std::time::Duration::from_secs(3600);
        let mut olds = Vec::new();
        let mut kept = Vec::new();
        let mark = |p: &std::path::Path| {
            let f = std::fs::File::open(p).unwrap();
            crate::fsys::tempmark::mark(f.as_fd(), crate::fsys::tempmark::TempKind::Upload).unwrap();
        };
        for d in ["", "a", "a/b", "c"] {
            let dir = root.join(d);
            std::fs::create_dir_all(&dir).unwrap();
            for i in 0..3 {
                std::fs::write(dir.join(format!("f{i}")), b"x").unwrap();
            }
            let t = dir.join(".tfd-part-00000000000000aa");
            std::fs::write(&t, b"left").unwrap();
            mark(&t);
            // the same name and age, not made by tfd: never swept
            let u = dir.join(".tfd-part-00000000000000dd");
            std::fs::write(&u, b"a user's").unwrap();
            std::fs::File::options()
                .write(true)
                .open(&u)
                .unwrap()
                .set_modified(old)
                .unwrap();
            kept.push(u);
            std::fs::File::options()
                .write(true)
                .open(&t)
                .unwrap()
                .set_modified(old)
                .unwrap();
            olds.push(t);
            std::fs::write(dir.join(".tfd-part-00000000000000bb"), b"fresh").unwrap();
        }
        let far = outside.join(".tfd-part-00000000000000cc");
        std::fs::write(&far, b"not ours").unwrap();
        mark(&far);
        std::fs::File::options()
            .write(true)
            .open(&far)
            .unwrap()
            .set_modified(old)
            .unwrap();
        std::os::unix::fs::symlink(&outside, root.join("link")).unwrap();

        let fd: OwnedFd = std::fs::File::open(&root).unwrap().into();
        let mut s = Sweeper::new(fd);
        let mut passes = 0;
        let mut removed = 0;
        loop {
            let p = s.pass(4);
            passes += 1;
            removed += p.removed;
            if p.round_done {
                break;
            }
            assert!(passes < 50);
        }
        assert!(passes > 1, "a budget of 4 takes several passes");
        assert_eq!(removed, 4);
        for t in &olds {
            assert!(!t.exists(), "{}", t.display());
        }
        assert!(far.exists(), "not through a symlink");
        for u in &kept {
            assert!(u.exists(), "unmarked: {}", u.display());
        }
        assert!(root.join("a/b/.tfd-part-00000000000000bb").exists(), "fresh");
        assert!(root.join("a/b/f2").exists());
        std::fs::remove_dir_all(&tmp).unwrap();
    }
}
