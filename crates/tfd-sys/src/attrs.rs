//! Attributes of entries that must never be reached through a symlink and
//! that may not be opened (FIFOs, sockets, devices): made with mknodat, their
//! mode and times set through an `O_PATH` descriptor's `/proc/self/fd` name,
//! which names the inode itself, not a path that could be swapped.

use super::cvt;
use std::ffi::{CStr, CString};
use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, OwnedFd};

/// mknodat(2): a FIFO, a socket or a device `name` in `dir`, of `mode`
/// (type and permission bits) and device number `dev`.
pub fn mknodat(dir: BorrowedFd<'_>, name: &CStr, mode: u32, dev: u64) -> io::Result<()> {
    // SAFETY: a NUL-terminated name and a valid fd.
    cvt(unsafe { libc::mknodat(dir.as_raw_fd(), name.as_ptr(), mode as libc::mode_t, dev as libc::dev_t) }).map(drop)
}

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

fn times(sec: i64, nsec: u32) -> [libc::timespec; 2] {
    let t = libc::timespec {
        tv_sec: sec as libc::time_t,
        tv_nsec: i64::from(nsec) as _,
    };
    // the access time is left as it is
    let keep = libc::timespec {
        tv_sec: 0,
        tv_nsec: libc::UTIME_OMIT,
    };
    [keep, t]
}

/// Sets the mtime of what the `O_PATH` descriptor `fd` holds (not a link:
/// [`set_mtime_nofollow`]).
pub fn set_mtime_held(fd: BorrowedFd<'_>, sec: i64, nsec: u32) -> io::Result<()> {
    let p = proc_name(fd);
    let t = times(sec, nsec);
    // SAFETY: a NUL-terminated path and two timespecs.
    cvt(unsafe { libc::utimensat(libc::AT_FDCWD, p.as_ptr(), t.as_ptr(), 0) }).map(drop)
}

/// Sets the mtime of `name` in `dir` itself, a link's own included, never
/// following one.
pub fn set_mtime_nofollow(dir: BorrowedFd<'_>, name: &CStr, sec: i64, nsec: u32) -> io::Result<()> {
    let t = times(sec, nsec);
    // SAFETY: a NUL-terminated name, a valid fd and two timespecs.
    cvt(unsafe { libc::utimensat(dir.as_raw_fd(), name.as_ptr(), t.as_ptr(), libc::AT_SYMLINK_NOFOLLOW) }).map(drop)
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
        mknodat(dir.as_fd(), c"p", libc::S_IFIFO | 0o600, 0).unwrap();
        let held = open_path_nofollow(dir.as_fd(), c"p").unwrap();
        chmod_held(held.as_fd(), 0o640).unwrap();
        set_mtime_held(held.as_fd(), 1_600_000_000, 123).unwrap();
        let m = std::fs::symlink_metadata(d.join("p")).unwrap();
        assert!(std::os::unix::fs::FileTypeExt::is_fifo(&m.file_type()));
        assert_eq!(
            (m.mode() & 0o7777, m.mtime(), m.mtime_nsec()),
            (0o640, 1_600_000_000, 123)
        );
        // a link's own mtime, its target untouched
        std::os::unix::fs::symlink("p", d.join("ln")).unwrap();
        set_mtime_nofollow(dir.as_fd(), c"ln", 5, 6).unwrap();
        let l = std::fs::symlink_metadata(d.join("ln")).unwrap();
        assert_eq!((l.mtime(), l.mtime_nsec()), (5, 6));
        assert_eq!(std::fs::symlink_metadata(d.join("p")).unwrap().mtime(), 1_600_000_000);
        std::fs::remove_dir_all(&d).unwrap();
    }
}
