//! What an archive batch upload (`TFDPUTMANY <n> a`, doc/compatibility.md
//! "Archive copies") does with an entry: the rules of who may give what
//! ([`attrs_of`]), and every kind but a file's data, which the batch
//! receives as the plain batch does ([`super::putmany`]).
//!
//! A directory (`D`) is made at once, so the files after it land in it; its
//! attributes, and those of an `A` entry, are given once the batch's files
//! are committed ([`Later`]), so a directory's mtime is set after its
//! contents. A link, FIFO, socket or device is made at once, in place of what
//! the name holds (never a directory). No step follows a link: the path's
//! directories must be directories all the way from the root (a link among
//! them refuses the entry), the final name is never followed, and
//! attributes are given through a descriptor of what the name holds.

use crate::fsys::place::{self, Attrs, Special};
use crate::fsys::{walk, FsError, Kind, RelPath};
use crate::session::Session;
use std::ffi::CString;
use std::os::fd::{AsFd, OwnedFd};
use tfd_sys as sys;
use tfp_wire::entry::Head;
use tfp_wire::fstat::FileType;
use tfp_wire::secfs as bits;
use tfp_wire::Failed;

/// An entry's failure: its code and the sentence the client is told.
#[derive(Debug, Clone)]
pub(super) struct Refusal(pub Failed, pub String);

impl Refusal {
    fn new(f: Failed, why: &str) -> Refusal {
        Refusal(f, why.to_string())
    }
}

/// A path refused (confinement, TFPSFS, a LOCK).
impl From<Failed> for Refusal {
    fn from(f: Failed) -> Refusal {
        Refusal::new(f, "path refused")
    }
}

impl From<FsError> for Refusal {
    fn from(e: FsError) -> Refusal {
        let f = match &e {
            FsError::NoSpace | FsError::QuotaFull => Failed::Quota,
            FsError::IsDir => Failed::IsDirectory,
            FsError::NotFound => Failed::NoSuchFile,
            e if e.is_denied() => Failed::AccessDenied,
            _ => Failed::TransferApi,
        };
        Refusal(f, e.to_string())
    }
}

impl From<std::io::Error> for Refusal {
    fn from(e: std::io::Error) -> Refusal {
        FsError::from(e).into()
    }
}

/// What a session told it may not keep owners hears.
const NO_OWNERS: &str = "only root may keep owners";

/// Whether the session may give owners and set-id bits and make devices:
/// tfd runs as root for it and it is jailed neither by INJAIL nor by its
/// user file (a jailed or ordinary user's session may not, as rsync
/// without `--super`).
pub(super) fn privileged(s: &Session) -> bool {
    sys::geteuid() == 0 && s.state().jail().is_none() && s.auth().jail_base.is_none()
}

/// The attributes `h` asks, as this session may give them: set-id bits
/// stripped where it may not give them; an owner it may not give refuses
/// the entry.
pub(super) fn attrs_of(s: &Session, h: &Head<'_>) -> Result<Attrs, Refusal> {
    let may = privileged(s);
    let owner = h.owner_to_set();
    if owner.is_some() && !may {
        return Err(Refusal::new(Failed::AccessDenied, NO_OWNERS));
    }
    let strip = if may { 0 } else { libc::S_ISUID | libc::S_ISGID };
    Ok(Attrs {
        mode: h.mode_to_set().map(|m| m & 0o7777 & !strip),
        mtime: h.mtime_to_set(),
        owner,
    })
}

/// What one batch holds of [`Later`] entries at most (their paths and
/// attributes): 16 MiB, as TFDGETMANY's paths; past it an entry fails alone
/// ([`TOO_MANY_LATER`]), so a batch of 100,000 long paths cannot hold 400 MB.
pub(super) const MAX_LATER_BYTES: usize = 16 << 20;

/// What an entry past [`MAX_LATER_BYTES`] is told.
pub(super) const TOO_MANY_LATER: &str =
    "too many directories and attribute changes in one batch: send the rest in another";

/// Attributes left for the batch's end: a directory's (`D`) or an `A`
/// entry's.
pub(super) struct Later {
    path: Vec<u8>,
    attrs: Attrs,
    /// A directory's: what the name holds must be one.
    dir: bool,
}

impl Later {
    /// What it holds, counted against [`MAX_LATER_BYTES`].
    pub(super) fn weight(&self) -> usize {
        self.path.len() + std::mem::size_of::<Later>()
    }
}

/// Makes or changes the entry `h` names (anything but `F`). `Ok(None)`: done;
/// `Ok(Some)`: its attributes are for the batch's end ([`finish`]).
pub(super) fn entry(s: &Session, h: &Head<'_>) -> Result<Option<Later>, Refusal> {
    let attrs = attrs_of(s, h)?;
    let Some(kind) = h.kind else {
        // attributes alone: judged as CHMOD judges them, when their turn comes
        return Ok(Some(Later {
            path: h.path.to_vec(),
            attrs,
            dir: false,
        }));
    };
    let p = s.path(h.path)?;
    if let Err(f) = s.check_lock_parent(&p) {
        return Err(Refusal::new(f, "the directory is locked"));
    }
    let perm = attrs.mode.unwrap_or(0o644);
    if kind == FileType::Dir {
        if !p.is_root() {
            let (dir, name) = parent_of(s, &p)?;
            // searchable and writable by its owner until its own mode comes at
            // the batch's end: the files after it must land in it; without
            // a mode, as MKDIR makes it (a plain copy's directory made in
            // an archive batch keeps the server's default)
            let made = attrs.mode.map_or(0o755, |m| (m | 0o700) & 0o777);
            match sys::mkdirat(dir.as_fd(), &name, made) {
                Ok(()) => {}
                Err(e) if e.raw_os_error() == Some(libc::EEXIST) => {}
                Err(e) => return Err(e.into()),
            }
        }
        return Ok(Some(Later {
            path: h.path.to_vec(),
            attrs,
            dir: true,
        }));
    }
    let target;
    let what = match kind {
        FileType::Symlink => {
            let Ok(t) = CString::new(h.target.unwrap_or_default()) else {
                return Err(Refusal::new(Failed::TransferApi, "a link's target holds a NUL byte"));
            };
            target = t;
            Special::Link(&target)
        }
        FileType::Fifo => Special::Fifo,
        FileType::Socket => Special::Socket,
        FileType::CharDevice | FileType::BlockDevice if privileged(s) => Special::Device {
            block: kind == FileType::BlockDevice,
            rdev: h.extra.rdev.unwrap_or(0),
        },
        FileType::CharDevice | FileType::BlockDevice => {
            return Err(Refusal::new(Failed::AccessDenied, "only root may make devices"));
        }
        _ => return Err(Refusal::new(Failed::TransferApi, "no such kind of entry")),
    };
    if p.is_root() {
        return Err(Refusal::new(Failed::IsDirectory, "the root is a directory"));
    }
    let (dir, name) = parent_of(s, &p)?;
    place::make_at(dir.as_fd(), &name, what, perm)?;
    let (fd, st) = place::hold_at(dir.as_fd(), &name)?;
    place::give(fd.as_fd(), &st, attrs)?;
    Ok(None)
}

/// Gives a [`Later`] entry its attributes, the batch's files committed.
pub(super) fn finish(s: &Session, later: &Later) -> Result<(), Refusal> {
    let p = if later.dir {
        s.path(&later.path)?
    } else {
        s.path_for(&later.path, bits::UXPERM)?
    };
    let (fd, st) = if p.is_root() {
        let fd = sys::openat_nofollow(s.root().fd(), c".", libc::O_PATH, 0)?;
        let st = sys::fstat(fd.as_fd())?;
        (fd, st)
    } else {
        let (dir, name) = parent_of(s, &p)?;
        place::hold_at(dir.as_fd(), &name)?
    };
    if later.dir && Kind::of(&st) != Kind::Dir {
        return Err(Refusal::new(Failed::NotADirectory, "the path holds no directory"));
    }
    Ok(place::give(fd.as_fd(), &st, later.attrs)?)
}

/// The directory `p` is in, pinned and judged, and its final name; refused
/// when a symbolic link stands among the directories on its way from the
/// root (the pin follows links inside the root; an archive batch never
/// does): the directory opened without following any link must be the one
/// pinned.
pub(super) fn parent_of(s: &Session, p: &RelPath) -> Result<(OwnedFd, CString), Refusal> {
    let (dir, name) = s.root().parent_new(p)?;
    let Ok(plain) = walk::open_dir_nofollow(s.root().fd(), &p.parent()).and_then(|fd| sys::fstat(fd.as_fd())) else {
        return Err(link_refused());
    };
    let pinned = sys::fstat(dir.as_fd())?;
    if (plain.st_dev, plain.st_ino) != (pinned.st_dev, pinned.st_ino) {
        return Err(link_refused());
    }
    Ok((dir, name))
}

/// Refuses a file's path where a symbolic link stands among its
/// directories: an archive batch's file is written only where its path's
/// directories are directories ([`parent_of`]'s rule; the upload then pins
/// and judges the path as the plain batch does).
pub(super) fn no_link_on_way(s: &Session, path: &[u8]) -> Result<(), Refusal> {
    let Ok(p) = RelPath::parse(path) else {
        return Err(Failed::AccessDenied.into());
    };
    match walk::open_dir_nofollow(s.root().fd(), &p.parent()) {
        Ok(_) => Ok(()),
        Err(e) if e.raw_os_error() == Some(libc::ENOENT) => Err(Refusal(Failed::NoSuchDir, e.to_string())),
        Err(_) => Err(link_refused()),
    }
}

fn link_refused() -> Refusal {
    Refusal::new(Failed::AccessDenied, "a symbolic link stands on the path: not followed")
}
