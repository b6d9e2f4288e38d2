//! Directories read and removed by descriptor, for both ends: the server's RMDIR and
//! listings (through `fsys::walk`) and the client's `mirror --delete`. Every step
//! goes down by name from the parent's descriptor without following symlinks, so a
//! symlink swapped in mid-walk never leads out of the tree.

use nix::dir::{Dir, OwningIter, Type};
use std::ffi::{CStr, CString};
use std::io;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};

/// What kind of thing a path names, from lstat-like or stat-like information.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A directory.
    Dir,
    /// A regular file.
    File,
    /// Anything else (symlink, device, fifo, socket).
    Other,
}

impl Kind {
    /// From a stat mode.
    pub fn of(st: &libc::stat) -> Kind {
        match st.st_mode & libc::S_IFMT {
            libc::S_IFDIR => Kind::Dir,
            libc::S_IFREG => Kind::File,
            _ => Kind::Other,
        }
    }
}

fn open_subdir(dir: BorrowedFd<'_>, name: &CStr) -> io::Result<OwnedFd> {
    crate::openat_nofollow(dir, name, libc::O_RDONLY | libc::O_DIRECTORY, 0)
}

/// One directory being read: the entry iterator plus a second descriptor for the
/// `*at` calls (nix's iterator owns its own).
pub struct DirReader {
    iter: OwningIter,
    fd: OwnedFd,
}

impl DirReader {
    /// Reads the directory open at `fd`.
    pub fn open(fd: OwnedFd) -> io::Result<DirReader> {
        let dup = fd.try_clone()?;
        let dir = Dir::from(fd).map_err(io::Error::from)?;
        Ok(DirReader {
            iter: dir.into_iter(),
            fd: dup,
        })
    }

    /// The directory's descriptor, for `*at` calls on its entries.
    pub fn fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }

    /// The next entry other than `.`/`..`, with its kind (never following symlinks).
    pub fn next_entry(&mut self) -> Option<(Vec<u8>, Kind)> {
        loop {
            let ent = match self.iter.next()? {
                Ok(e) => e,
                Err(_) => return None,
            };
            let name = ent.file_name();
            let bytes = name.to_bytes();
            if bytes == b"." || bytes == b".." {
                continue;
            }
            let kind = match ent.file_type() {
                Some(Type::Directory) => Kind::Dir,
                Some(Type::File) => Kind::File,
                Some(_) => Kind::Other,
                None => match crate::fstatat(self.fd.as_fd(), name, false) {
                    Ok(st) => Kind::of(&st),
                    // vanished between readdir and stat: skip it (the reference crashed here)
                    Err(_) => continue,
                },
            };
            return Some((bytes.to_vec(), kind));
        }
    }
}

/// Which directories a removal keeps: called with the parent's descriptor, the
/// entry's raw name and the same name as a C string.
pub type Keep<'a> = &'a dyn Fn(BorrowedFd<'_>, &[u8], &CStr) -> bool;

/// Outcome of a recursive removal.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Removal {
    /// Entries removed.
    pub removed: u64,
    /// Entries kept (secure directories, errors, budget).
    pub kept: u64,
}

/// Removes `parent/name` and everything under it (never following symlinks), at
/// any depth, keeping the directories `keep` names (and so their parents), and
/// removing at most `budget` entries.
pub fn remove_tree(parent: BorrowedFd<'_>, name: &CStr, keep: Keep<'_>, budget: &mut u64) -> Removal {
    let mut r = Removal::default();
    match open_subdir(parent, name) {
        Ok(fd) => {
            r = empty_tree(fd, keep, budget);
            if r.kept == 0 && crate::unlinkat(parent, name, true).is_ok() {
                r.removed += 1;
            } else {
                r.kept += 1;
            }
        }
        Err(e) if e.raw_os_error() == Some(libc::ENOTDIR) || e.raw_os_error() == Some(libc::ELOOP) => {
            if crate::unlinkat(parent, name, false).is_ok() {
                r.removed += 1;
            } else {
                r.kept += 1;
            }
        }
        Err(_) => r.kept += 1,
    }
    r
}

/// One directory on the way down of [`empty_tree`]: what is left to remove in it.
struct Pending {
    /// Its name in its parent (empty for the top).
    name: CString,
    /// Its (device, inode): checked when the walk comes back up through `..`.
    id: (u64, u64),
    /// Entries not handled yet (read whole first: removing while reading a
    /// directory may skip entries).
    entries: Vec<(Vec<u8>, Kind)>,
    /// Entries that had to stay (so this directory stays too).
    kept: u64,
}

impl Pending {
    fn read(fd: BorrowedFd<'_>, name: CString) -> io::Result<Pending> {
        let st = crate::fstat(fd)?;
        let mut level = DirReader::open(open_subdir(fd, c".")?)?;
        let mut entries = Vec::new();
        while let Some(e) = level.next_entry() {
            entries.push(e);
        }
        Ok(Pending {
            name,
            id: (st.st_dev, st.st_ino),
            entries,
            kept: 0,
        })
    }
}

/// Empties the directory `top`, at any depth, without recursion and with a
/// bounded number of descriptors: it holds only the directory it is in (plus a
/// moment's second one), goes down by name without following symlinks and comes
/// back up through `..`, checking that `..` is the directory it came from (by
/// device and inode) and stopping — keeping the rest — if a rename moved it.
/// Memory is the entry lists of the directories on the current path. A client
/// can build a chain deeper than any fixed limit (MKDIR, then RENAME into
/// another chain): RMDIR must still remove it.
pub fn empty_tree(top: OwnedFd, keep: Keep<'_>, budget: &mut u64) -> Removal {
    let mut r = Removal::default();
    let mut cur = top;
    let mut path = match Pending::read(cur.as_fd(), CString::default()) {
        Ok(p) => vec![p],
        Err(_) => return Removal { removed: 0, kept: 1 },
    };
    loop {
        let Some(here) = path.last_mut() else { return r };
        let Some((name, kind)) = here.entries.pop() else {
            // this directory is done: go back up and remove it from its parent
            let Some(done) = path.pop() else { return r };
            let Some(parent) = path.last_mut() else {
                r.kept += done.kept;
                return r;
            };
            let up = match crate::openat_nofollow(cur.as_fd(), c"..", libc::O_RDONLY | libc::O_DIRECTORY, 0) {
                Ok(fd) => fd,
                Err(_) => {
                    r.kept += 1 + done.kept + path.len() as u64;
                    return r;
                }
            };
            match crate::fstat(up.as_fd()) {
                Ok(st) if (st.st_dev, st.st_ino) == parent.id => {}
                // moved away while we were below: stop, keep what is left
                _ => {
                    r.kept += 1 + done.kept + path.len() as u64;
                    return r;
                }
            }
            cur = up;
            if done.kept == 0 && crate::unlinkat(cur.as_fd(), &done.name, true).is_ok() {
                r.removed += 1;
            } else {
                r.kept += done.kept;
                parent.kept += 1;
            }
            continue;
        };
        let Ok(c) = CString::new(name.clone()) else { continue };
        if *budget == 0 || (kind == Kind::Dir && keep(cur.as_fd(), &name, &c)) {
            here.kept += 1;
            continue;
        }
        *budget -= 1;
        if kind == Kind::Dir {
            match open_subdir(cur.as_fd(), &c) {
                Ok(sub) => match Pending::read(sub.as_fd(), c) {
                    Ok(p) => {
                        path.push(p);
                        cur = sub;
                    }
                    Err(_) => here.kept += 1,
                },
                // replaced by a file or symlink since readdir: remove that
                Err(e) if matches!(e.raw_os_error(), Some(libc::ENOTDIR) | Some(libc::ELOOP)) => {
                    if crate::unlinkat(cur.as_fd(), &c, false).is_ok() {
                        r.removed += 1;
                    } else {
                        here.kept += 1;
                    }
                }
                Err(_) => here.kept += 1,
            }
        } else if crate::unlinkat(cur.as_fd(), &c, false).is_ok() {
            r.removed += 1;
        } else {
            here.kept += 1;
        }
    }
}
