//! Every path a client names resolves inside the served root, here and nowhere else.
//!
//! Two layers: [`RelPath::parse`] normalises the argument lexically (leading `/` is
//! relative to the root, `.` dropped, `..` pops a component and may never climb above
//! the root), then the kernel resolves it beneath the root's descriptor with
//! `openat2(RESOLVE_BENEATH)`, so no symlink — absolute, relative or swapped in
//! during the operation — can lead out. Name-level operations (unlink, rename, mkdir)
//! act on the confined parent descriptor plus the final name, never following a
//! final symlink.
#![forbid(unsafe_code)]

pub mod direct;
pub mod quota;
pub mod secfs;
pub mod upload;
pub mod walk;
pub mod write_behind;

use crate::sys;
use std::ffi::{CStr, CString};
use std::fs::File;
use std::io;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::Path;

/// Longest argument path accepted (PATH_MAX).
pub const MAX_PATH: usize = 4096;
/// Longest single component (NAME_MAX).
pub const MAX_NAME: usize = 255;

/// Why a path operation failed, before a command maps it to its FAILED code.
#[non_exhaustive]
#[derive(Debug)]
pub enum FsError {
    /// The path would leave the root (`..` above it, or a symlink out of it).
    Escape,
    /// The path is malformed: a NUL byte, or too long.
    Invalid,
    /// Something on the path does not exist.
    NotFound,
    /// The OS refused access (EACCES/EPERM/EROFS).
    Access,
    /// The target exists.
    Exists,
    /// A directory was required.
    NotDir,
    /// A non-directory was required.
    IsDir,
    /// The directory is not empty.
    NotEmpty,
    /// A regular file was required and this is a FIFO, socket or device (which
    /// could block an open or a read for ever).
    NotRegular,
    /// The disk or quota is full.
    NoSpace,
    /// The path names TFPSFS metadata, which no command may reach.
    Reserved,
    /// Any other OS error.
    Other(io::Error),
}

impl FsError {
    /// Maps errno the way every command needs it.
    pub fn from_io(e: io::Error) -> FsError {
        // the errors a FAILED code does not tell apart (EACCES/EROFS/EIO…), for
        // the command's FAILED log line; not the answers of a probe (ENOENT…)
        if !matches!(
            e.raw_os_error(),
            Some(
                libc::ENOENT
                    | libc::EEXIST
                    | libc::ENOTDIR
                    | libc::EISDIR
                    | libc::ENOTEMPTY
                    | libc::EXDEV
                    | libc::ELOOP
            )
        ) {
            crate::logging::note_os_error(&e);
        }
        match e.raw_os_error() {
            Some(libc::EXDEV) | Some(libc::ELOOP) => FsError::Escape,
            Some(libc::ENAMETOOLONG) | Some(libc::EINVAL) => FsError::Invalid,
            Some(libc::ENOENT) => FsError::NotFound,
            Some(libc::EACCES) | Some(libc::EPERM) | Some(libc::EROFS) => FsError::Access,
            Some(libc::EEXIST) => FsError::Exists,
            Some(libc::ENOTDIR) => FsError::NotDir,
            Some(libc::EISDIR) => FsError::IsDir,
            Some(libc::ENOTEMPTY) => FsError::NotEmpty,
            Some(libc::ENOSPC) | Some(libc::EDQUOT) => FsError::NoSpace,
            _ => FsError::Other(e),
        }
    }

    /// True for the errors every command reports as `FAILED 1`.
    pub fn is_denied(&self) -> bool {
        matches!(
            self,
            FsError::Escape | FsError::Invalid | FsError::Access | FsError::Reserved
        )
    }
}

impl From<io::Error> for FsError {
    fn from(e: io::Error) -> Self {
        FsError::from_io(e)
    }
}

impl std::fmt::Display for FsError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FsError::Escape => write!(f, "path leaves the root"),
            FsError::Invalid => write!(f, "invalid path"),
            FsError::NotFound => write!(f, "not found"),
            FsError::Access => write!(f, "access denied"),
            FsError::Exists => write!(f, "exists"),
            FsError::NotDir => write!(f, "not a directory"),
            FsError::IsDir => write!(f, "is a directory"),
            FsError::NotEmpty => write!(f, "directory not empty"),
            FsError::NotRegular => write!(f, "not a regular file"),
            FsError::NoSpace => write!(f, "no space"),
            FsError::Reserved => write!(f, "names secure-FS metadata"),
            FsError::Other(e) => write!(f, "{e}"),
        }
    }
}

/// A normalised path relative to the root: components without `.`, `..` or `/`.
/// Empty means the root itself.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RelPath {
    comps: Vec<Vec<u8>>,
}

impl RelPath {
    /// Normalises a client argument. `..` pops a component; one above the root is
    /// an escape attempt and refused (decisions.md: `FAILED 1`). A component naming
    /// TFPSFS metadata is refused here, where every client path passes, so no
    /// command (present or future) can read, write, rename onto or delete it.
    pub fn parse(arg: &[u8]) -> Result<RelPath, FsError> {
        if arg.contains(&0) || arg.len() > MAX_PATH {
            return Err(FsError::Invalid);
        }
        let mut comps: Vec<Vec<u8>> = Vec::new();
        for c in arg.split(|&b| b == b'/') {
            match c {
                b"" | b"." => {}
                b".." => {
                    if comps.pop().is_none() {
                        return Err(FsError::Escape);
                    }
                }
                c if c.len() > MAX_NAME => return Err(FsError::Invalid),
                c if crate::wire::command::find(c, secfs::META_MARK).is_some() => return Err(FsError::Reserved),
                c => comps.push(c.to_vec()),
            }
        }
        Ok(RelPath { comps })
    }

    /// True for the root itself.
    pub fn is_root(&self) -> bool {
        self.comps.is_empty()
    }

    /// The final component, if any.
    pub fn name(&self) -> Option<&[u8]> {
        self.comps.last().map(|c| c.as_slice())
    }

    /// The parent (the root's parent is the root: callers check [`is_root`] first).
    ///
    /// [`is_root`]: RelPath::is_root
    pub fn parent(&self) -> RelPath {
        let mut comps = self.comps.clone();
        comps.pop();
        RelPath { comps }
    }

    /// This path with one more component.
    pub fn join(&self, name: &[u8]) -> RelPath {
        let mut comps = self.comps.clone();
        comps.push(name.to_vec());
        RelPath { comps }
    }

    /// The components.
    pub fn components(&self) -> impl Iterator<Item = &[u8]> {
        self.comps.iter().map(|c| c.as_slice())
    }

    /// True if `self` is `other` or lies below it.
    pub fn starts_with(&self, other: &RelPath) -> bool {
        self.comps.len() >= other.comps.len() && self.comps[..other.comps.len()] == other.comps[..]
    }

    /// The path as bytes (`a/b/c`; empty for the root).
    pub fn to_bytes(&self) -> Vec<u8> {
        self.comps.join(&b'/')
    }

    /// The path for a syscall relative to the root (`.` for the root).
    pub fn to_cstring(&self) -> CString {
        let b = if self.comps.is_empty() {
            b".".to_vec()
        } else {
            self.to_bytes()
        };
        // Components never contain NUL (parse refuses it).
        CString::new(b).unwrap_or_else(|_| c".".to_owned())
    }
}

/// Converts one name (no NUL by construction) for a syscall.
pub fn cname(name: &[u8]) -> Result<CString, FsError> {
    CString::new(name).map_err(|_| FsError::Invalid)
}

/// The served root: a directory descriptor everything resolves beneath.
pub struct Root {
    fd: OwnedFd,
}

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

impl Root {
    /// Opens a directory as the root.
    pub fn open_root(path: &Path) -> io::Result<Root> {
        use std::os::unix::fs::OpenOptionsExt;
        let fd: OwnedFd = std::fs::OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_DIRECTORY | libc::O_CLOEXEC)
            .open(path)?
            .into();
        let st = sys::fstat(fd.as_fd())?;
        if Kind::of(&st) != Kind::Dir {
            return Err(io::Error::from_raw_os_error(libc::ENOTDIR));
        }
        Ok(Root { fd })
    }

    /// The root's descriptor.
    pub fn fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }

    /// Opens `p` beneath the root, following symlinks only while they stay inside.
    pub fn open(&self, p: &RelPath, flags: i32, mode: u32) -> Result<OwnedFd, FsError> {
        Ok(sys::openat2_beneath(self.fd(), &p.to_cstring(), flags, mode)?)
    }

    /// Opens a regular file beneath the root: the one way every command opens a
    /// file to read or write its data. See [`open_regular_at`].
    pub fn open_file(&self, p: &RelPath, flags: i32, mode: u32) -> Result<(File, libc::stat), FsError> {
        regular_only(self.open(p, flags | NONBLOCKING_OPEN, mode))
    }

    /// Opens a directory for reading (listing, walking).
    pub fn open_dir(&self, p: &RelPath) -> Result<OwnedFd, FsError> {
        self.open(p, libc::O_RDONLY | libc::O_DIRECTORY, 0)
    }

    /// A path-only handle to a directory (for *at calls).
    pub fn dir_handle(&self, p: &RelPath) -> Result<OwnedFd, FsError> {
        self.open(p, libc::O_PATH | libc::O_DIRECTORY, 0)
    }

    /// The confined parent directory and the final name. The root has no parent
    /// name: `Err(Invalid)`.
    pub fn parent(&self, p: &RelPath) -> Result<(OwnedFd, CString), FsError> {
        let name = p.name().ok_or(FsError::Invalid)?;
        let dir = self.dir_handle(&p.parent())?;
        Ok((dir, cname(name)?))
    }

    /// stat, following symlinks inside the root.
    pub fn stat(&self, p: &RelPath) -> Result<libc::stat, FsError> {
        let fd = self.open(p, libc::O_PATH, 0)?;
        Ok(sys::fstat(fd.as_fd())?)
    }

    /// lstat: the final component itself, never followed.
    pub fn lstat(&self, p: &RelPath) -> Result<libc::stat, FsError> {
        if p.is_root() {
            return Ok(sys::fstat(self.fd())?);
        }
        let (dir, name) = self.parent(p)?;
        Ok(sys::fstatat(dir.as_fd(), &name, false)?)
    }

    /// True if the directory `dir` (opened beneath this root) is `ancestor` or lies
    /// below it, by inode rather than by path text, so a link cannot disguise it:
    /// walks `..` up to the root. Errors and over-deep trees read as "within" (the
    /// caller refuses), never as a false "outside".
    pub fn dir_is_within(&self, dir: BorrowedFd<'_>, ancestor: (u64, u64)) -> bool {
        let Ok(root) = sys::fstat(self.fd()) else { return true };
        let root_id = (root.st_dev, root.st_ino);
        let mut cur = match sys::openat_nofollow(dir, c".", libc::O_PATH | libc::O_DIRECTORY, 0) {
            Ok(fd) => fd,
            Err(_) => return true,
        };
        for _ in 0..=walk::MAX_DEPTH + 1 {
            let Ok(st) = sys::fstat(cur.as_fd()) else { return true };
            let id = (st.st_dev, st.st_ino);
            if id == ancestor {
                return true;
            }
            if id == root_id {
                return false;
            }
            cur = match sys::openat_nofollow(cur.as_fd(), c"..", libc::O_PATH | libc::O_DIRECTORY, 0) {
                Ok(fd) => fd,
                Err(_) => return true,
            };
        }
        true
    }

    /// True if `dir/name` exists (not followed). Errors read as "absent".
    pub fn entry_exists(&self, dir: &RelPath, name: &[u8]) -> bool {
        let Ok(d) = self.dir_handle(dir) else { return false };
        let Ok(n) = cname(name) else { return false };
        sys::fstatat(d.as_fd(), &n, false).is_ok()
    }
}

/// Added to every data open: the open of a FIFO (or a device) returns at once
/// instead of waiting for a peer that may never come.
const NONBLOCKING_OPEN: i32 = libc::O_NONBLOCK | libc::O_NOCTTY;

/// Opens `dir/name` (never following a final symlink) as a regular file; the
/// descriptor-relative twin of [`Root::open_file`], for tree walks.
pub fn open_regular_at(dir: BorrowedFd<'_>, name: &CStr, flags: i32, mode: u32) -> Result<(File, libc::stat), FsError> {
    regular_only(sys::openat_nofollow(dir, name, flags | NONBLOCKING_OPEN, mode).map_err(FsError::from))
}

/// The rule behind every data open: the open itself never blocks (O_NONBLOCK),
/// then anything but a regular file is refused (a directory as
/// [`FsError::IsDir`], a FIFO, socket or device as [`FsError::NotRegular`]), and
/// only then is the descriptor made blocking again for ordinary I/O. A FIFO
/// opened for writing with no reader fails with ENXIO, also `NotRegular`.
fn regular_only(opened: Result<OwnedFd, FsError>) -> Result<(File, libc::stat), FsError> {
    let fd = match opened {
        Ok(fd) => fd,
        Err(FsError::Other(e)) if e.raw_os_error() == Some(libc::ENXIO) => return Err(FsError::NotRegular),
        Err(e) => return Err(e),
    };
    let st = sys::fstat(fd.as_fd())?;
    match Kind::of(&st) {
        Kind::File => {}
        Kind::Dir => return Err(FsError::IsDir),
        Kind::Other => return Err(FsError::NotRegular),
    }
    sys::clear_nonblock(fd.as_fd())?;
    Ok((File::from(fd), st))
}

/// True for a secure directory's name (`*.sd`), which listings and tree walks hide.
pub fn is_secure_name(name: &[u8]) -> bool {
    name.len() > 3 && name.ends_with(b".sd")
}

/// True for names listings never show: the reference's secure-FS metadata and
/// uploads still in progress.
pub fn is_hidden_meta(name: &[u8]) -> bool {
    crate::wire::command::find(name, secfs::META_MARK).is_some() || name.starts_with(upload::TEMP_PREFIX)
}

/// Empty name helper for fstatat on the descriptor itself.
pub const SELF: &CStr = c"";

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> Result<Vec<String>, String> {
        RelPath::parse(s.as_bytes())
            .map(|r| {
                r.components()
                    .map(|c| String::from_utf8_lossy(c).into_owned())
                    .collect()
            })
            .map_err(|e| e.to_string())
    }

    #[test]
    fn normalisation() {
        assert_eq!(p("").unwrap(), Vec::<String>::new());
        assert_eq!(p("/").unwrap(), Vec::<String>::new());
        assert_eq!(p("/a//b/./c/").unwrap(), vec!["a", "b", "c"]);
        assert_eq!(p("a/../b").unwrap(), vec!["b"]);
        assert_eq!(p("a/b/..").unwrap(), vec!["a"]);
        assert_eq!(p("a b/c d").unwrap(), vec!["a b", "c d"]);
    }

    #[test]
    fn escapes_refused() {
        for bad in ["..", "/..", "../x", "a/../..", "a/../../etc/passwd", "./../"] {
            assert!(matches!(RelPath::parse(bad.as_bytes()), Err(FsError::Escape)), "{bad}");
        }
        assert!(matches!(RelPath::parse(b"a\0b"), Err(FsError::Invalid)));
        for meta in [
            "d/.securefs_metadata",
            ".securefs_metadata.rd",
            "d/x.securefs_metadata.lck/..",
            "/a/.securefs_metadata.swp",
        ] {
            assert!(
                matches!(RelPath::parse(meta.as_bytes()), Err(FsError::Reserved)),
                "{meta}"
            );
        }
        assert!(matches!(RelPath::parse(&vec![b'a'; 256]), Err(FsError::Invalid)));
        assert!(matches!(RelPath::parse(&vec![b'a'; 5000]), Err(FsError::Invalid)));
    }

    #[test]
    fn helpers() {
        let r = RelPath::parse(b"x/y").unwrap();
        assert_eq!(r.name(), Some(&b"y"[..]));
        assert_eq!(r.parent().to_bytes(), b"x");
        assert!(r.starts_with(&RelPath::parse(b"x").unwrap()));
        assert!(!RelPath::parse(b"xy")
            .unwrap()
            .starts_with(&RelPath::parse(b"x").unwrap()));
        assert_eq!(RelPath::default().to_cstring().as_bytes(), b".");
        assert!(is_secure_name(b"k.sd"));
        assert!(!is_secure_name(b".sd"));
        assert!(!is_secure_name(b"sd"));
    }

    #[test]
    fn kernel_confinement() {
        let tmp = std::env::temp_dir().join(format!("tfd-fsys-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&tmp);
        std::fs::create_dir_all(tmp.join("root/d")).unwrap();
        std::fs::write(tmp.join("secret"), b"s").unwrap();
        std::os::unix::fs::symlink("/etc", tmp.join("root/etc")).unwrap();
        std::os::unix::fs::symlink("../../secret", tmp.join("root/d/up")).unwrap();
        std::os::unix::fs::symlink("../d", tmp.join("root/d/ok")).unwrap();
        let root = Root::open_root(&tmp.join("root")).unwrap();
        let rp = |s: &str| RelPath::parse(s.as_bytes()).unwrap();
        assert!(matches!(
            root.open(&rp("etc/passwd"), libc::O_RDONLY, 0),
            Err(FsError::Escape)
        ));
        assert!(matches!(root.stat(&rp("etc")), Err(FsError::Escape)));
        assert!(matches!(
            root.open(&rp("d/up"), libc::O_RDONLY, 0),
            Err(FsError::Escape)
        ));
        assert!(root.stat(&rp("d/ok")).is_ok());
        assert_eq!(Kind::of(&root.lstat(&rp("etc")).unwrap()), Kind::Other);
        std::fs::remove_dir_all(&tmp).unwrap();
    }
}
