//! Every path a client names resolves inside the served root, here and nowhere else.
//!
//! Two layers: [`RelPath::parse`] normalises the argument lexically (leading `/` is
//! relative to the root, `.` dropped, `..` pops a component and may never climb above
//! the root), then the kernel resolves it beneath the root's descriptor with
//! `openat2(RESOLVE_BENEATH)`, so no symlink — absolute, relative or swapped in
//! during the operation — can lead out. Name-level operations (unlink, rename, mkdir)
//! act on the confined parent descriptor plus the final name, never following a
//! final symlink.

pub(crate) mod backup;
pub(crate) mod entries;
mod errno;
pub(crate) mod land;
pub mod names;
mod parent;
pub(crate) mod place;
pub mod quota;
pub mod secfs;
pub mod stage;
pub mod stage_owned;
pub mod sweep;
pub mod tempmark;
pub mod upload;
pub mod walk;

use errno::{errno_error, errno_of, Errno};
use std::ffi::{CStr, CString};
use std::fs::File;
use std::io;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::Path;
use std::sync::Arc;
use tfd_sys as sys;

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
    /// The file system is full (ENOSPC).
    NoSpace,
    /// The file system's quota for the user is used up (EDQUOT); tfd's own
    /// quota is the session's ledger (commands/quota.rs), not an FsError.
    QuotaFull,
    /// The path names TFPSFS metadata, which no command may reach.
    Reserved,
    /// A new name holds a control character (newline, CR, tab…): refused on
    /// creation, so no name can forge a line of a listing (decisions in
    /// doc/compatibility.md). Each command answers it with its own code.
    BadName,
    /// A handle went stale (ESTALE): on a shared file system another node
    /// replaced or removed what a lookup or a pin had found. The session looks
    /// the path up, and judges it, once more (the session's `open`).
    Stale,
    /// Any other OS error.
    Other(io::Error),
}

impl FsError {
    /// Maps errno the way every command needs it.
    pub(crate) fn from_io(e: io::Error) -> FsError {
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
            Some(libc::ENOSPC) => FsError::NoSpace,
            Some(libc::EDQUOT) => FsError::QuotaFull,
            Some(libc::ESTALE) => FsError::Stale,
            _ => FsError::Other(e),
        }
    }

    /// True for the errors every command reports as `FAILED 1`.
    pub(crate) fn is_denied(&self) -> bool {
        match self {
            FsError::Escape | FsError::Invalid | FsError::Access | FsError::Reserved => true,
            // the Unix permissions' refusal the TFPSFS judgement met (secfs::judge)
            FsError::Other(e) => matches!(e.raw_os_error(), Some(libc::EACCES) | Some(libc::EPERM)),
            _ => false,
        }
    }
}

impl From<io::Error> for FsError {
    fn from(e: io::Error) -> Self {
        FsError::from_io(e)
    }
}

/// A NUL in a name: no path can hold it.
impl From<std::ffi::NulError> for FsError {
    fn from(_: std::ffi::NulError) -> Self {
        FsError::Invalid
    }
}

/// The system gave no randomness (for a temporary's name).
impl From<getrandom::Error> for FsError {
    fn from(_: getrandom::Error) -> Self {
        FsError::Other(io::Error::other("no randomness"))
    }
}

/// An OS call's result with its error read the way every command needs it
/// ([`FsError::from_io`]).
pub(crate) trait IntoFs<T> {
    /// See [`IntoFs`].
    fn into_fs(self) -> Result<T, FsError>;
}

impl<T> IntoFs<T> for io::Result<T> {
    fn into_fs(self) -> Result<T, FsError> {
        self.map_err(FsError::from_io)
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
            FsError::NoSpace => write!(f, "no space left on the disk"),
            FsError::QuotaFull => write!(f, "disk quota exceeded"),
            FsError::Reserved => write!(f, "names secure-FS metadata or an upload temporary"),
            FsError::BadName => write!(f, "a new name with a control character"),
            FsError::Stale => write!(f, "stale file handle"),
            FsError::Other(e) => write!(f, "{e}"),
        }
    }
}

/// A normalised path relative to the root: components without `.`, `..` or `/`.
/// Empty means the root itself.
///
/// A path may be *pinned* ([`Root::pin`]): its directory was opened once, and
/// every [`Root`] operation on it then acts through that descriptor instead of
/// looking the name up again from the root. A permission judged on the pinned
/// directory is thus a permission on the directory acted in, whatever another
/// client renames in between. Equality and the text ignore the pin.
#[derive(Clone, Default)]
pub struct RelPath {
    comps: Vec<Vec<u8>>,
    pin: Option<Arc<Pin>>,
}

impl PartialEq for RelPath {
    fn eq(&self, other: &Self) -> bool {
        self.comps == other.comps
    }
}

impl Eq for RelPath {}

impl std::fmt::Debug for RelPath {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "RelPath({:?}", String::from_utf8_lossy(&self.to_bytes()))?;
        if self.pin.is_some() {
            write!(f, ", pinned")?;
        }
        write!(f, ")")
    }
}

/// What a pinned path holds (see [`RelPath`]).
#[derive(Debug)]
pub enum Pin {
    /// The directory did not resolve when the path was pinned: every operation
    /// fails with this errno, as it would have then (a later lookup by name could
    /// find another directory there, never judged).
    Missing(i32),
    /// The final component `name` in the directory `dir`.
    At(Entry),
    /// The path is exactly this directory (the parent of a pinned path).
    Dir(OwnedFd),
}

/// A pinned final component (see [`Pin::At`]).
#[derive(Debug)]
pub struct Entry {
    /// The directory the name lives in (O_PATH, opened beneath the root).
    pub dir: OwnedFd,
    /// The final component.
    pub name: CString,
    /// What the name led to when pinned, if a directory (O_PATH, symlinks
    /// followed): operations on the path as a directory act on this one.
    pub object: Option<OwnedFd>,
    /// When the name was a symlink: where it led (its directory and final name,
    /// themselves pinned), or the errno of a link that leads nowhere allowed.
    /// Operations that follow links act there; name-level ones on the link.
    pub follow: Option<Result<(OwnedFd, CString), i32>>,
    /// The name did not exist when pinned (ENOENT): a command creating it need
    /// not look it up again to know (each lookup is a round trip to the
    /// servers on a network file system).
    pub absent: bool,
}

impl Entry {
    /// Where operations that follow a final symlink act.
    fn followed(&self) -> Result<(BorrowedFd<'_>, &CStr), FsError> {
        match &self.follow {
            None => Ok((self.dir.as_fd(), &self.name)),
            Some(Ok((d, n))) => Ok((d.as_fd(), n)),
            Some(Err(errno)) => Err(errno_error(*errno)),
        }
    }
}

/// How many symlinks [`Root::pin`] follows for one path before it gives up
/// (ELOOP), as the kernel's own bound keeps a loop of links from running for ever.
const MAX_LINKS: usize = 16;

impl RelPath {
    /// Normalises a client argument. `..` pops a component; one above the root is
    /// an escape attempt and refused (decisions.md: `FAILED 1`). A component naming
    /// TFPSFS metadata or an upload temporary (`.tfd-part-*`) is refused here,
    /// where every client path passes, so no command (present or future) can
    /// read, write, rename onto or delete it.
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
                c if tfp_wire::command::find(c, secfs::META_MARK).is_some() => return Err(FsError::Reserved),
                // upload temporaries: no client may make, rename to or reach one
                c if c.starts_with(upload::TEMP_PREFIX) => return Err(FsError::Reserved),
                c => comps.push(c.to_vec()),
            }
        }
        Ok(RelPath { comps, pin: None })
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
    ///
    /// The parent of a pinned path is pinned to the very directory the path's
    /// name was judged in.
    pub fn parent(&self) -> RelPath {
        let mut comps = self.comps.clone();
        comps.pop();
        let pin = match self.pin.as_deref() {
            Some(Pin::At(e)) => e.dir.try_clone().ok().map(|d| Arc::new(Pin::Dir(d))),
            Some(Pin::Missing(errno)) => Some(Arc::new(Pin::Missing(*errno))),
            _ => None,
        };
        RelPath { comps, pin }
    }

    /// This path with one more component (not pinned: a new name is looked up).
    pub fn join(&self, name: &[u8]) -> RelPath {
        let mut comps = self.comps.clone();
        comps.push(name.to_vec());
        RelPath { comps, pin: None }
    }

    /// The pin, if [`Root::pin`] made one.
    pub fn pinned(&self) -> Option<&Pin> {
        self.pin.as_deref()
    }

    /// The same path without its pin: looked up by name again.
    pub(crate) fn unpinned(&self) -> RelPath {
        RelPath {
            comps: self.comps.clone(),
            pin: None,
        }
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
pub(crate) fn cname(name: &[u8]) -> Result<CString, FsError> {
    Ok(CString::new(name)?)
}

/// The served root: a directory descriptor everything resolves beneath.
pub struct Root {
    fd: OwnedFd,
}

pub use tfd_sys::dir::Kind;

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
    /// A pinned path opens through its pin (`O_NOFOLLOW` opens the link itself).
    pub fn open(&self, p: &RelPath, flags: i32, mode: u32) -> Result<OwnedFd, FsError> {
        if flags & libc::O_CREAT != 0 && p.name().is_some_and(names::has_control) {
            return Err(FsError::BadName);
        }
        let Some(pin) = p.pin.as_deref() else {
            return Ok(sys::openat2_beneath(self.fd(), &p.to_cstring(), flags, mode)?);
        };
        match pin {
            Pin::Missing(errno) => Err(errno_error(*errno)),
            Pin::Dir(d) => reopen_dir(d.as_fd(), flags),
            Pin::At(e) => {
                let (dir, name) = if flags & libc::O_NOFOLLOW != 0 {
                    (e.dir.as_fd(), e.name.as_c_str())
                } else if let Some(o) = &e.object {
                    return reopen_dir(o.as_fd(), flags);
                } else {
                    e.followed()?
                };
                let fd = sys::openat2_beneath_nolinks(dir, name, flags, mode)?;
                // Not a directory when judged: a directory renamed onto the name
                // since then was never judged, and is not entered (an open asking
                // for a directory got one; a data open refuses directories itself,
                // and `stat` checks what it got)
                if e.object.is_none() && flags & (libc::O_DIRECTORY | libc::O_NOFOLLOW) == libc::O_DIRECTORY {
                    return Err(FsError::NotFound);
                }
                Ok(fd)
            }
        }
    }

    /// Pins `p` (see [`RelPath`]): opens its directory beneath the root once,
    /// notes what the final name is (a directory is opened too; a symlink is
    /// followed, by its text relative to the link's path, each step pinned
    /// alike), and returns the path with those descriptors. Never fails: a
    /// directory that does not resolve is pinned as missing.
    pub(crate) fn pin(&self, p: &RelPath) -> RelPath {
        self.pin_in(p, None)
    }

    /// [`Root::pin`] with `p`'s directory given where the caller holds it
    /// (pinned for a path in it earlier in the running command): a batch's
    /// files in one directory resolve it once.
    pub(crate) fn pin_in(&self, p: &RelPath, dir: Option<OwnedFd>) -> RelPath {
        let Some(name) = p.name() else {
            return p.unpinned();
        };
        let dir = dir.map_or_else(|| self.dir_handle(&p.parent().unpinned()), Ok);
        let entry = match dir.and_then(|dir| Ok((dir, cname(name)?))) {
            Ok((dir, name)) => self.entry(dir, name, p, 0),
            Err(e) => Pin::Missing(errno_of(&e)),
        };
        RelPath {
            comps: p.comps.clone(),
            pin: Some(Arc::new(entry)),
        }
    }

    /// The pin of `name` in `dir`, which `p` names; `hops` links followed so far.
    fn entry(&self, dir: OwnedFd, name: CString, p: &RelPath, hops: usize) -> Pin {
        let st = sys::fstatat(dir.as_fd(), &name, false);
        let mut e = Entry {
            dir,
            name,
            object: None,
            follow: None,
            absent: st.as_ref().err().and_then(|e| e.raw_os_error()) == Some(libc::ENOENT),
        };
        match st {
            Ok(st) if Kind::of(&st) == Kind::Dir => {
                e.object = sys::openat_nofollow(e.dir.as_fd(), &e.name, libc::O_PATH | libc::O_DIRECTORY, 0).ok();
            }
            Ok(st) if st.st_mode & libc::S_IFMT == libc::S_IFLNK => {
                let target = self.link_target(&e, p, hops);
                e.follow = Some(match target {
                    Ok(Pin::At(t)) => {
                        e.object = t.object;
                        match t.follow {
                            Some(f) => f,
                            None => Ok((t.dir, t.name)),
                        }
                    }
                    Ok(Pin::Missing(errno)) => Err(errno),
                    Ok(Pin::Dir(d)) => {
                        e.object = Some(d);
                        Err(libc::EISDIR)
                    }
                    Err(Errno(errno)) => Err(errno),
                });
            }
            _ => {}
        }
        Pin::At(e)
    }

    /// Where the symlink `e` (named by `p`) leads, pinned. An absolute link, one
    /// climbing above the root, or too many links are refused as the kernel's
    /// `RESOLVE_BENEATH` refuses them.
    fn link_target(&self, e: &Entry, p: &RelPath, hops: usize) -> Result<Pin, Errno> {
        if hops >= MAX_LINKS {
            return Err(Errno(libc::ELOOP));
        }
        let text = sys::readlinkat(e.dir.as_fd(), &e.name)?;
        if text.first() == Some(&b'/') {
            return Err(Errno(libc::EXDEV));
        }
        let mut joined = p.parent().to_bytes();
        joined.push(b'/');
        joined.extend_from_slice(&text);
        // the metadata mark is refused for links too: no link reaches it either
        let q = RelPath::parse(&joined)?;
        let Some(name) = q.name() else {
            return Ok(Pin::Dir(self.dir_handle(&q)?));
        };
        let dir = self.dir_handle(&q.parent())?;
        let name = cname(name)?;
        Ok(self.entry(dir, name, &q, hops + 1))
    }

    /// Opens a regular file beneath the root: the one way every command opens a
    /// file to read or write its data. See [`open_regular_at`].
    pub(crate) fn open_file(&self, p: &RelPath, flags: i32, mode: u32) -> Result<(File, libc::stat), FsError> {
        regular_only(self.open(p, flags | NONBLOCKING_OPEN, mode))
    }

    /// Opens a directory for reading (listing, walking).
    pub fn open_dir(&self, p: &RelPath) -> Result<OwnedFd, FsError> {
        self.open(p, libc::O_RDONLY | libc::O_DIRECTORY, 0)
    }

    /// A path-only handle to a directory (for *at calls).
    pub(crate) fn dir_handle(&self, p: &RelPath) -> Result<OwnedFd, FsError> {
        self.open(p, libc::O_PATH | libc::O_DIRECTORY, 0)
    }

    /// The confined parent directory and the final name. The root has no parent
    /// name: `Err(Invalid)`.
    pub fn parent(&self, p: &RelPath) -> Result<(OwnedFd, CString), FsError> {
        let name = p.name().ok_or(FsError::Invalid)?;
        match p.pin.as_deref() {
            Some(Pin::At(e)) => Ok((e.dir.try_clone()?, e.name.clone())),
            Some(Pin::Missing(errno)) => Err(errno_error(*errno)),
            // the directory itself is pinned, not its parent: looked up by name
            Some(Pin::Dir(_)) | None => {
                let dir = self.dir_handle(&p.parent().unpinned())?;
                Ok((dir, cname(name)?))
            }
        }
    }

    /// [`Root::parent`] for a name about to be created (or renamed onto):
    /// refuses a name with a control character ([`FsError::BadName`]).
    pub(crate) fn parent_new(&self, p: &RelPath) -> Result<(OwnedFd, CString), FsError> {
        if p.name().is_some_and(names::has_control) {
            return Err(FsError::BadName);
        }
        self.parent(p)
    }

    /// stat, following symlinks inside the root.
    pub fn stat(&self, p: &RelPath) -> Result<libc::stat, FsError> {
        let fd = self.open(p, libc::O_PATH, 0)?;
        let st = sys::fstat(fd.as_fd())?;
        // as in `open`: a directory where none was judged is not looked at
        if let Some(Pin::At(e)) = p.pin.as_deref() {
            if e.object.is_none() && Kind::of(&st) == Kind::Dir {
                return Err(FsError::NotFound);
            }
        }
        Ok(st)
    }

    /// lstat: the final component itself, never followed.
    pub fn lstat(&self, p: &RelPath) -> Result<libc::stat, FsError> {
        if p.is_root() {
            return Ok(sys::fstat(self.fd())?);
        }
        if let Some(Pin::Dir(d)) = p.pin.as_deref() {
            return Ok(sys::fstat(d.as_fd())?);
        }
        let (dir, name) = self.parent(p)?;
        Ok(sys::fstatat(dir.as_fd(), &name, false)?)
    }

    /// True if the directory `dir` (opened beneath this root) is `ancestor` or lies
    /// below it, by inode rather than by path text, so a link cannot disguise it:
    /// walks `..` up to the root. Errors and over-deep trees read as "within" (the
    /// caller refuses), never as a false "outside".
    pub(crate) fn dir_is_within(&self, dir: BorrowedFd<'_>, ancestor: (u64, u64)) -> bool {
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

    /// True when `p` is pinned and its name did not exist when it was pinned
    /// (moments ago, in the running command).
    pub(crate) fn pinned_absent(p: &RelPath) -> bool {
        matches!(p.pin.as_deref(), Some(Pin::At(e)) if e.absent)
    }

    /// True if `dir/name` exists (not followed). Errors read as "absent".
    ///
    /// On a shared file system the kernel may answer from a cached entry that
    /// another node has removed (GlusterFS's FUSE client trusts entries for a
    /// second); a regular file or directory found is therefore opened, which
    /// asks the file system itself: gone (ENOENT, ESTALE) reads as absent.
    /// Nothing else is opened (a device's open can act).
    pub(crate) fn entry_exists(&self, dir: &RelPath, name: &[u8]) -> bool {
        let Ok(d) = self.dir_handle(dir) else { return false };
        let Ok(n) = cname(name) else { return false };
        entry_exists_at(d.as_fd(), &n)
    }

    /// Another descriptor of the root, for what acts on a client's path after
    /// the command that named it (a backup made when an upload commits).
    pub(crate) fn try_clone(&self) -> io::Result<Root> {
        Ok(Root {
            fd: self.fd.try_clone()?,
        })
    }
}

/// [`Root::entry_exists`] in an open directory.
pub(crate) fn entry_exists_at(d: BorrowedFd<'_>, n: &CStr) -> bool {
    match sys::fstatat(d, n, false) {
        Ok(st) if matches!(Kind::of(&st), Kind::File | Kind::Dir) => {
            match sys::openat_nofollow(d, n, libc::O_RDONLY | NONBLOCKING_OPEN, 0) {
                Ok(_) => true,
                Err(e) => !matches!(e.raw_os_error(), Some(libc::ENOENT | libc::ESTALE)),
            }
        }
        Ok(_) => true,
        Err(_) => false,
    }
}

/// Opens a pinned directory again with `flags`: `.` beneath it, never a name.
fn reopen_dir(dir: BorrowedFd<'_>, flags: i32) -> Result<OwnedFd, FsError> {
    if flags & (libc::O_CREAT | libc::O_EXCL) == libc::O_CREAT | libc::O_EXCL {
        return Err(FsError::Exists);
    }
    Ok(sys::openat_nofollow(
        dir,
        c".",
        flags & !(libc::O_CREAT | libc::O_NOFOLLOW),
        0,
    )?)
}

/// Added to every data open: the open of a FIFO (or a device) returns at once
/// instead of waiting for a peer that may never come.
const NONBLOCKING_OPEN: i32 = libc::O_NONBLOCK | libc::O_NOCTTY;

/// Opens `dir/name` (never following a final symlink) as a regular file; the
/// descriptor-relative twin of [`Root::open_file`], for tree walks.
pub(crate) fn open_regular_at(
    dir: BorrowedFd<'_>,
    name: &CStr,
    flags: i32,
    mode: u32,
) -> Result<(File, libc::stat), FsError> {
    regular_only(sys::openat_nofollow(dir, name, flags | NONBLOCKING_OPEN, mode).into_fs())
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

/// Empty name helper for fstatat on the descriptor itself.
pub const SELF: &CStr = c"";

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> Result<Vec<String>, FsError> {
        RelPath::parse(s.as_bytes()).map(|r| {
            r.components()
                .map(|c| String::from_utf8_lossy(c).into_owned())
                .collect()
        })
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
