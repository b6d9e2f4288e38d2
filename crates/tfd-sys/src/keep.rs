//! Keeping the file a replacement or a removal would lose, as rsync's
//! `--backup` keeps it: a hard link at the backup name before the new file
//! is renamed over the old one, or one rename to the backup name in place
//! of a removal. tfd (the server's uploads and DEL) and tf (its landing)
//! keep files the same way; each finds the backup's directory its own way.

use super::{fstatat, linkat, renameat2, unlinkat};
use std::ffi::CStr;
use std::io;
use std::os::fd::BorrowedFd;

/// Whether `dir/name` holds something a backup keeps: anything but a
/// directory (no replacement replaces one), and not nothing.
pub fn keepable(dir: BorrowedFd<'_>, name: &CStr) -> io::Result<bool> {
    match fstatat(dir, name, false) {
        Ok(st) => Ok(st.st_mode & libc::S_IFMT != libc::S_IFDIR),
        Err(e) if e.raw_os_error() == Some(libc::ENOENT) => Ok(false),
        Err(e) => Err(e),
    }
}

/// Links `dir/name` at `bdir/bname`, replacing an older backup there.
/// `EISDIR`: a directory is at the backup name (never removed); `EEXIST`:
/// the name kept being taken again.
pub fn link_kept(dir: BorrowedFd<'_>, name: &CStr, bdir: BorrowedFd<'_>, bname: &CStr) -> io::Result<()> {
    for _ in 0..4 {
        match linkat(dir, name, bdir, bname) {
            Err(e) if e.raw_os_error() == Some(libc::EEXIST) => clear(bdir, bname)?,
            r => return r,
        }
    }
    Err(io::Error::from_raw_os_error(libc::EEXIST))
}

/// Moves `dir/name` to `bdir/bname` in one rename, replacing an older
/// backup there. `EISDIR`: a directory is at the backup name.
pub fn move_kept(dir: BorrowedFd<'_>, name: &CStr, bdir: BorrowedFd<'_>, bname: &CStr) -> io::Result<()> {
    if let Ok(st) = fstatat(bdir, bname, false) {
        if st.st_mode & libc::S_IFMT == libc::S_IFDIR {
            return Err(io::Error::from_raw_os_error(libc::EISDIR));
        }
    }
    renameat2(dir, name, bdir, bname, false)
}

/// Removes an older backup at `bdir/bname` (never a directory: `EISDIR`).
fn clear(bdir: BorrowedFd<'_>, bname: &CStr) -> io::Result<()> {
    match fstatat(bdir, bname, false) {
        Ok(st) if st.st_mode & libc::S_IFMT == libc::S_IFDIR => Err(io::Error::from_raw_os_error(libc::EISDIR)),
        Ok(_) => match unlinkat(bdir, bname, false) {
            Err(e) if e.raw_os_error() != Some(libc::ENOENT) => Err(e),
            _ => Ok(()),
        },
        Err(_) => Ok(()),
    }
}
