//! Attributes of entries that must never be reached through a symlink and
//! that may not be opened (FIFOs, sockets, devices): held by an `O_PATH`
//! descriptor, their mode set through its `/proc/self/fd` name, which names
//! the inode itself, not a path that could be swapped (the client's side;
//! tfd, chrooted, goes through the `/proc/self/fd` it opened before).

use super::cvt;
use std::ffi::{CStr, CString};
use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, OwnedFd};

/// `name` in `dir` opened `O_PATH | O_NOFOLLOW`: the entry itself, a link
/// included, never its target, and never opened for I/O.
pub fn open_path_nofollow(dir: BorrowedFd<'_>, name: &CStr) -> io::Result<OwnedFd> {
    super::openat_nofollow(dir, name, libc::O_PATH, 0)
}

fn proc_name(fd: BorrowedFd<'_>) -> CString {
    CString::new(format!("/proc/self/fd/{}", fd.as_raw_fd())).unwrap_or_default()
}

/// Sets the mode of what the `O_PATH` descriptor `fd` holds (not a link:
/// Linux links have no mode of their own).
pub fn chmod_held(fd: BorrowedFd<'_>, mode: u32) -> io::Result<()> {
    let p = proc_name(fd);
    // SAFETY: a NUL-terminated path.
    cvt(unsafe { libc::chmod(p.as_ptr(), mode as libc::mode_t) }).map(drop)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::fd::AsFd;
    use std::os::unix::fs::MetadataExt;

    #[test]
    fn a_fifo_is_made_and_its_attributes_set_without_opening_it() {
        let d = std::env::temp_dir().join(format!("tfd-sys-attrs-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        let dir: OwnedFd = std::fs::File::open(&d).unwrap().into();
        crate::mknodat(dir.as_fd(), c"p", libc::S_IFIFO | 0o600, 0).unwrap();
        let held = open_path_nofollow(dir.as_fd(), c"p").unwrap();
        chmod_held(held.as_fd(), 0o640).unwrap();
        crate::set_mtime_ns_path_fd(held.as_fd(), 1_600_000_000, 123).unwrap();
        let m = std::fs::symlink_metadata(d.join("p")).unwrap();
        assert!(std::os::unix::fs::FileTypeExt::is_fifo(&m.file_type()));
        assert_eq!(
            (m.mode() & 0o7777, m.mtime(), m.mtime_nsec()),
            (0o640, 1_600_000_000, 123)
        );
        // a link's own mtime, its target untouched
        std::os::unix::fs::symlink("p", d.join("ln")).unwrap();
        let ln = open_path_nofollow(dir.as_fd(), c"ln").unwrap();
        crate::set_mtime_ns_path_fd(ln.as_fd(), 5, 6).unwrap();
        let l = std::fs::symlink_metadata(d.join("ln")).unwrap();
        assert_eq!((l.mtime(), l.mtime_nsec()), (5, 6));
        assert_eq!(std::fs::symlink_metadata(d.join("p")).unwrap().mtime(), 1_600_000_000);
        std::fs::remove_dir_all(&d).unwrap();
    }
}
