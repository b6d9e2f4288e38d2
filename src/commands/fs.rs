//! Filesystem commands: MKDIR, RMKDIR, DEL, RMDIR, COPY, TOUCH, FSTAT, FUPD, CPDIR, RENAM,
//! FREESP, SHA256, LOCK. Every path goes through [`Session::path`] and the confined
//! [`crate::fsys::Root`]; replies follow the document and wire-notes §3, with the
//! reference's false statuses fixed (decisions.md).

use super::{denied_or, CmdError, CmdResult, DeniedOr, OrFailed, Reply};
use crate::fsys::{walk, FsError, IntoFs, Kind, RelPath, MAX_NAME};
use crate::session::Session;
use log::{info, warn};
use sha2::{Digest, Sha256};
use std::fs::File;
use std::io::Read;
use std::os::fd::AsFd;
use tfd_sys as sys;
use tfp_wire::same::Ident;
use tfp_wire::{command, Failed};

/// Splits `a | b`; both sides must be non-empty (FAILED 16 otherwise).
fn two_paths(arg: &[u8]) -> Result<(&[u8], &[u8]), Failed> {
    match command::split_pipe(arg) {
        Some((a, b)) if !a.is_empty() && !b.is_empty() => Ok((a, b)),
        _ => Err(Failed::MissingParameter),
    }
}

/// `MKDIR <path>`.
pub fn mkdir(s: &mut Session, arg: &[u8]) -> CmdResult {
    super::make_dir::make_dir(s, arg, 0o755)?;
    Ok(Reply::Ok)
}

/// `RMKDIR <path>` (2.5.1): creates every missing directory on the path (mode
/// 0755 less the umask), one confined component at a time. What exists is kept.
/// The document: "this command could partially success, in such a case it
/// returns FAILED 63 and the created directories will not be deleted": so once
/// a directory has been made, any failure answers `FAILED 63` (the reason is
/// logged) and what was made stays. Before that, a component that leads out of
/// the root (a symlink) is `FAILED 1`, and LOCK is checked on the final parent
/// (the reference's rule) and on every directory a component is created in (else
/// RMKDIR would make what MKDIR refuses): `FAILED 30`. A component longer than
/// a name may be can never be made: `FAILED 63` before anything is made.
pub fn rmkdir(s: &mut Session, arg: &[u8]) -> CmdResult {
    if arg.split(|&b| b == b'/').any(|c| c.len() > MAX_NAME) {
        info!(
            "{} user={} RMKDIR: a component longer than {MAX_NAME} bytes",
            s.peer(),
            s.user()
        );
        return Err(Failed::RecursiveMkdir.into());
    }
    let p = s.path(arg)?;
    s.check_lock_parent(&p)?;
    let mut made = 0usize;
    let outcome = make_levels(s, &p, &mut made, |s, q| s.secfs().pin_again(s.root(), q));
    match outcome {
        Err(CmdError::Failed(f)) if made > 0 && f != Failed::RecursiveMkdir => {
            info!(
                "{} user={} RMKDIR made {made} level(s), then failed ({}): FAILED 63",
                s.peer(),
                s.user(),
                f.code()
            );
            Err(Failed::RecursiveMkdir.into())
        }
        other => other,
    }
}

/// Makes every missing directory of `p` (RMKDIR's steps, TFDLINKS' parents),
/// counting those made into `made`; each level pinned and judged by `pin`.
pub(crate) fn make_levels(
    s: &Session,
    p: &RelPath,
    made: &mut usize,
    pin: impl Fn(&Session, &RelPath) -> Result<RelPath, FsError>,
) -> CmdResult {
    let mut at = RelPath::default();
    for c in p.components() {
        // each directory made needs MKDIR where it is made: `a/b/c` with `a`
        // secure and `b` missing is judged in `a` too, not only in `b`; judged
        // and made through one pinned descriptor
        at = match pin(s, &at.join(c)) {
            Ok(q) => q,
            Err(_) => return Err(Failed::AccessDenied.into()),
        };
        let (dir, name) = match s.root().parent(&at) {
            Ok(x) => x,
            Err(e) if e.is_denied() => return Err(Failed::AccessDenied.into()),
            Err(_) => return Err(Failed::RecursiveMkdir.into()),
        };
        if sys::fstatat(dir.as_fd(), &name, false).is_err() {
            if crate::fsys::names::has_control(name.as_bytes()) {
                return Err(Failed::RecursiveMkdir.into());
            }
            s.check_lock_dir(&at.parent())?;
        }
        match sys::mkdirat(dir.as_fd(), &name, 0o755).into_fs() {
            Ok(()) => *made += 1,
            Err(FsError::Exists) => {}
            Err(FsError::Escape) => return Err(Failed::AccessDenied.into()),
            Err(_) => return Err(Failed::RecursiveMkdir.into()),
        }
    }
    // pinned again: the last level did not exist when `p` was pinned
    match s.stat(&s.root().pin(p)) {
        Ok(st) if Kind::of(&st) == Kind::Dir => Ok(Reply::Ok),
        Err(FsError::Escape) => Err(Failed::AccessDenied.into()),
        _ => Err(Failed::RecursiveMkdir.into()),
    }
}

/// `DEL <path>`: removes a file (or symlink); the lock file itself may always go.
pub fn del(s: &mut Session, arg: &[u8]) -> CmdResult {
    remove_file(s, arg, None)
}

/// The identity of the file `st` describes.
pub(crate) fn ident_of(st: &libc::stat) -> Ident {
    Ident {
        size: st.st_size as u64,
        mtime: (st.st_mtime, st.st_mtime_nsec as u32),
        ctime: (st.st_ctime, st.st_ctime_nsec as u32),
        ino: st.st_ino,
    }
}

/// DEL of `arg`; with `want` (TFDDELIF), only while the file, looked at
/// through the directory it is removed from, has that identity.
pub(crate) fn remove_file(s: &mut Session, arg: &[u8], want: Option<&Ident>) -> CmdResult {
    let p = s.path(arg)?;
    if p.is_root() {
        return Err(Failed::IsDirectory.into());
    }
    let is_lock_file = matches!((s.lock(), p.name()), (Some(l), Some(n)) if l == n);
    if !is_lock_file {
        s.check_lock_parent(&p)?;
    }
    let st = match s.root().lstat(&p) {
        Ok(st) => st,
        Err(FsError::NotFound) | Err(FsError::NotDir) => return Err(Failed::NoSuchFile.into()),
        Err(e) => return Err(denied_or(e, Failed::NoSuchFile).into()),
    };
    if Kind::of(&st) == Kind::Dir {
        return Err(Failed::IsDirectory.into());
    }
    let (dir, name) = s.root().parent(&p).denied_or(Failed::NoSuchFile)?;
    let keep = super::backup::keep_for(s, &p);
    // TFDDELIF: looked at last, right before it goes
    if let Some(want) = want {
        let now = sys::fstatat(dir.as_fd(), &name, false).map(|st| ident_of(&st));
        if now.ok().as_ref() != Some(want) {
            return Err(CmdError::Told(Failed::TransferApi, tfp_wire::same::CHANGED.into()));
        }
    }
    // TFDBACKUP: the file moves to its backup name instead
    let removed = match keep {
        Ok(Some(keep)) => keep.move_away(dir.as_fd(), &name),
        Ok(None) => sys::unlinkat(dir.as_fd(), &name, false).into_fs(),
        Err(e) => Err(e),
    };
    match removed {
        Ok(()) => Ok(Reply::Ok),
        Err(FsError::NotFound) => Err(Failed::NoSuchFile.into()),
        Err(e) if e.is_denied() => Err(Failed::AccessDenied.into()),
        Err(e) => Err(CmdError::Bare(e.to_string())),
    }
}

/// `RMDIR <path>`: recursive, keeping secure directories; the root is emptied
/// but kept, and answered FAILED 15 (the document).
pub fn rmdir(s: &mut Session, arg: &[u8]) -> CmdResult {
    let p = s.path(arg)?;
    let mut budget = s.ctx().cfg.walk_limit;
    if p.is_root() {
        s.check_lock_dir(&p)?;
        let r = walk::empty_dir(s.root().fd(), true, &mut budget);
        log::info!(
            "{} RMDIR of the root removed {} entries, kept {}",
            s.peer(),
            r.removed,
            r.kept
        );
        return Err(Failed::DirStillExists.into());
    }
    s.check_lock_parent(&p)?;
    match s.root().lstat(&p) {
        Ok(st) if Kind::of(&st) == Kind::Dir => {}
        Ok(_) => return Err(Failed::NotADirectory.into()),
        Err(FsError::NotFound) | Err(FsError::NotDir) => return Err(Failed::NoSuchDir.into()),
        Err(e) => return Err(denied_or(e, Failed::AccessDenied).into()),
    }
    // a secure directory goes only with its token (RMSECDIR), never by RMDIR
    if p.name().is_some_and(crate::fsys::names::is_secure_name) {
        log::info!(
            "{} RMDIR refused on a secure directory (RMSECDIR removes those)",
            s.peer()
        );
        return Err(Failed::DirStillExists.into());
    }
    let (dir, name) = s.root().parent(&p).denied_or(Failed::AccessDenied)?;
    walk::remove_tree(dir.as_fd(), &name, true, &mut budget);
    if sys::fstatat(dir.as_fd(), &name, false).is_ok() {
        return Err(Failed::DirStillExists.into());
    }
    Ok(Reply::Ok)
}

/// Opens a source file for COPY-like commands: regular files only, never
/// blocking on a FIFO.
fn open_source(s: &Session, p: &RelPath) -> Result<(File, libc::stat), FsError> {
    s.open_file(p, libc::O_RDONLY, 0)
}

/// `COPY <src> | <dst>`: an independent copy (the reference's hard link made the two
/// names share data, which surprises every user); never overwrites.
pub fn copy(s: &mut Session, arg: &[u8]) -> CmdResult {
    let (a, b) = two_paths(arg)?;
    let src = s.path(a)?;
    let dst = s.path(b)?;
    s.check_lock_parent(&src)?;
    s.check_lock_parent(&dst)?;
    let (file, st) = match open_source(s, &src) {
        Ok(x) => x,
        Err(FsError::NotFound) | Err(FsError::NotDir) => return Err(Failed::NoSource.into()),
        Err(FsError::IsDir) => return Err(Failed::CannotLinkDir.into()),
        Err(e) => return Err(denied_or(e, Failed::CopyError).into()),
    };
    if dst.is_root() {
        return Err(Failed::FileExists.into());
    }
    let mut budget = super::quota::budget(s, None);
    if !super::quota::reserve(&mut budget, st.st_size.max(0) as u64) {
        super::quota::refused(s, "COPY");
        return Err(Failed::Quota.into());
    }
    let (dir, name) = s.root().parent_new(&dst).denied_or(Failed::CopyError)?;
    match walk::copy_file(&file, dir.as_fd(), &name, st.st_mode) {
        Ok(_) => {
            super::quota::settle(&mut budget);
            Ok(Reply::Ok)
        }
        Err(FsError::Exists) => Err(Failed::FileExists.into()),
        Err(e @ (FsError::NoSpace | FsError::QuotaFull)) => {
            Err(super::no_room(&e).unwrap_or_else(|| Failed::Quota.into()))
        }
        Err(e) => Err(denied_or(e, Failed::CopyError).into()),
    }
}

/// `TOUCH <path>`: creates the file or says why not (never a false OK).
pub fn touch(s: &mut Session, arg: &[u8]) -> CmdResult {
    let p = s.path(arg)?;
    if p.is_root() {
        return Err(Failed::FileExists.into());
    }
    s.check_lock_parent(&p)?;
    let (dir, name) = match s.root().parent_new(&p) {
        Ok(x) => x,
        Err(e) => return Err(denied_or(e, Failed::CreateFile).into()),
    };
    match sys::openat_nofollow(dir.as_fd(), &name, libc::O_WRONLY | libc::O_CREAT | libc::O_EXCL, 0o644).into_fs() {
        Ok(_) => Ok(Reply::Ok),
        Err(FsError::Exists) => Err(Failed::FileExists.into()),
        Err(e) => Err(denied_or(e, Failed::CreateFile).into()),
    }
}

/// stat for FSTAT/FUPD plus their lock rule: a directory is checked itself, a
/// file through its parent.
fn stat_checked(s: &Session, arg: &[u8]) -> Result<(RelPath, libc::stat), Failed> {
    if arg.is_empty() {
        return Err(Failed::MissingParameter);
    }
    let p = s.path(arg)?;
    let st = match s.stat(&p) {
        Ok(st) => st,
        Err(FsError::NotFound) | Err(FsError::NotDir) => return Err(Failed::NoSuchFile),
        Err(e) => return Err(denied_or(e, Failed::NoSuchFile)),
    };
    if Kind::of(&st) == Kind::Dir {
        s.check_lock_dir(&p)?;
    } else {
        s.check_lock_parent(&p)?;
    }
    Ok((p, st))
}

/// `FSTAT <path>` → `OK <D|F|U> <size> <atime> <mtime>`.
pub fn fstat(s: &mut Session, arg: &[u8]) -> CmdResult {
    let (_, st) = stat_checked(s, arg)?;
    let t = match Kind::of(&st) {
        Kind::Dir => 'D',
        Kind::File => 'F',
        Kind::Other => 'U',
    };
    Ok(Reply::Data(
        format!("{t} {} {} {}", st.st_size as u64, st.st_atime, st.st_mtime).into_bytes(),
    ))
}

/// `TFDMODE <path>` (tfd's extension, doc/compatibility.md "Modes"): the
/// entry's mode bits (permission, set-id, sticky), octal, found as FSTAT
/// finds it: what a client gives a new file it downloads, less its umask,
/// as `cp` gives a new file its source's (FSTAT's answer has no mode).
pub fn tfdmode(s: &mut Session, arg: &[u8]) -> CmdResult {
    let (_, st) = stat_checked(s, arg)?;
    Ok(Reply::Data(tfp_wire::mode::encode(st.st_mode)))
}

/// `FUPD <path>`: both timestamps to now.
pub fn fupd(s: &mut Session, arg: &[u8]) -> CmdResult {
    let (p, _) = stat_checked(s, arg)?;
    let flags = libc::O_NONBLOCK | libc::O_NOCTTY;
    let fd = s
        .open(&p, libc::O_RDONLY | flags, 0)
        .or_else(|_| s.open(&p, libc::O_WRONLY | flags, 0))
        .denied_or(Failed::TimestampUpdate)?;
    sys::touch_now(fd.as_fd()).or_failed(Failed::TimestampUpdate)?;
    Ok(Reply::Ok)
}

/// `CPDIR <src> | <dst>`: a recursive copy into a new directory; all or nothing.
pub fn cpdir(s: &mut Session, arg: &[u8]) -> CmdResult {
    let (a, b) = two_paths(arg)?;
    let src = s.path(a)?;
    let dst = s.path(b)?;
    let fd = match s.root().open_dir(&src) {
        Ok(fd) => fd,
        Err(e) if e.is_denied() => return Err(Failed::AccessDenied.into()),
        Err(_) => return Err(Failed::NotADirectory.into()),
    };
    s.check_lock_dir(&src)?;
    s.check_lock_parent(&dst)?;
    if dst.is_root() || s.root().lstat(&dst).is_ok() {
        return Err(Failed::DirExists.into());
    }
    if dst.starts_with(&src) {
        return Err(Failed::ReplicateTree.into());
    }
    let mut quota = super::quota::budget(s, None);
    if quota.is_some() {
        let size = crate::fsys::quota::tree_size(fd.as_fd(), s.ctx().cfg.walk_limit).bytes;
        if !super::quota::reserve(&mut quota, size) {
            super::quota::refused(s, "CPDIR");
            return Err(Failed::Quota.into());
        }
    }
    let (dir, name) = s.root().parent_new(&dst).denied_or(Failed::ReplicateTree)?;
    // the path check above misses links: compare inodes up the destination's chain
    let src_st = sys::fstat(fd.as_fd()).or_failed(Failed::ReplicateTree)?;
    if s.root().dir_is_within(dir.as_fd(), (src_st.st_dev, src_st.st_ino)) {
        return Err(Failed::ReplicateTree.into());
    }
    let mut budget = s.ctx().cfg.walk_limit;
    match walk::copy_tree(fd, dir.as_fd(), &name, &mut budget) {
        Ok(()) => {
            super::quota::settle(&mut quota);
            Ok(Reply::Ok)
        }
        Err(FsError::Exists) => Err(Failed::DirExists.into()),
        Err(e @ (FsError::NoSpace | FsError::QuotaFull)) => {
            Err(super::no_room(&e).unwrap_or_else(|| Failed::Quota.into()))
        }
        Err(e) => Err(denied_or(e, Failed::ReplicateTree).into()),
    }
}

/// `RENAM <old> | <new>`: rename(2) inside the root.
pub fn renam(s: &mut Session, arg: &[u8]) -> CmdResult {
    let (a, b) = two_paths(arg)?;
    let old = s.path(a)?;
    let new = s.path(b)?;
    if old.is_root() || new.is_root() {
        return Err(Failed::Rename.into());
    }
    match s.root().lstat(&old) {
        Ok(st) if Kind::of(&st) == Kind::Dir => s.check_lock_dir(&old)?,
        _ => s.check_lock_parent(&old)?,
    }
    s.check_lock_parent(&new)?;
    let (od, on) = s.root().parent(&old).denied_or(Failed::Rename)?;
    let (nd, nn) = s.root().parent_new(&new).denied_or(Failed::Rename)?;
    match sys::renameat2(od.as_fd(), &on, nd.as_fd(), &nn, false).into_fs() {
        Ok(()) => Ok(Reply::Ok),
        Err(FsError::Access) => Err(Failed::AccessDenied.into()),
        Err(_) => Err(Failed::Rename.into()),
    }
}

/// `FREESP` → `OK <bytes>`: the space this session may still use, the lesser
/// of the root file system's free space and what is left of the user's quota
/// (as the related protocols' backup hub answers "space left to use"); a
/// client told 82 GB under a 50 MB quota would plan uploads that fail.
pub fn freesp(s: &mut Session, _arg: &[u8]) -> CmdResult {
    let space = space(s, "FREESP")?;
    Ok(Reply::Data(space.usable().to_string().into_bytes()))
}

/// What FREESP and TFDSPACE measure.
struct Space {
    /// The root file system's free space (for an unprivileged user).
    disk: u64,
    /// Quota used and limit, when one applies.
    quota: Option<(u64, u64)>,
}

impl Space {
    fn usable(&self) -> u64 {
        match self.quota {
            Some((used, limit)) => self.disk.min(limit.saturating_sub(used)),
            None => self.disk,
        }
    }
}

/// Measures for `command` (FREESP, TFDSPACE); a file system that cannot say
/// its free space is logged under the command's name and refused.
fn space(s: &Session, command: &str) -> Result<Space, Failed> {
    let disk = sys::free_bytes(s.root().fd()).map_err(|e| {
        warn!("{} {command}: {e}", s.peer());
        Failed::AccessDenied
    })?;
    Ok(Space {
        disk,
        quota: super::quota::standing(s),
    })
}

/// `TFDSPACE` (tfd's own, for `tf df`) → `OK <usable> <disk free>` and, when
/// a quota applies, ` <quota used> <quota limit>`: FREESP's one number cannot
/// tell a full quota from a full disk.
pub(crate) fn tfdspace(s: &mut Session, _arg: &[u8]) -> CmdResult {
    let space = space(s, "TFDSPACE")?;
    let mut text = format!("{} {}", space.usable(), space.disk);
    if let Some((used, limit)) = space.quota {
        text.push_str(&format!(" {used} {limit}"));
    }
    Ok(Reply::Data(text.into_bytes()))
}

/// `SHA256 <path>` → `OK 0x<64 hex>`.
pub fn sha256(s: &mut Session, arg: &[u8]) -> CmdResult {
    if arg.is_empty() {
        return Err(Failed::MissingParameter.into());
    }
    let p = s.path(arg)?;
    let (mut file, st) = open_source(s, &p).denied_or(Failed::Sha256)?;
    if Kind::of(&st) != Kind::File {
        return Err(Failed::Sha256.into());
    }
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 256 * 1024];
    loop {
        match file.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => h.update(&buf[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(_) => return Err(Failed::Sha256.into()),
        }
    }
    Ok(Reply::Data(tfp_wire::sha256_text(&h.finalize().into()).to_vec()))
}

/// `LOCK <name>` sets the session's lock-file name; empty turns locking off. An
/// invalid name is refused and not stored (the reference stored it anyway).
pub fn lock(s: &mut Session, arg: &[u8]) -> CmdResult {
    if arg.is_empty() {
        s.set_lock(None);
        return Ok(Reply::Ok);
    }
    if arg.iter().any(|&b| b == b'.' || b == b'/' || b == 0) || arg.len() > crate::fsys::MAX_NAME {
        return Err(Failed::InvalidLockToken.into());
    }
    s.set_lock(Some(arg.to_vec()));
    Ok(Reply::Ok)
}
