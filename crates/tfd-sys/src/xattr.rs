//! Extended attributes of an open file (the `user.` namespace tfd uses to mark
//! its own upload temporaries and keep a staged upload's journal), and explicit
//! file times.

use super::cvt;
use std::ffi::CStr;
use std::io;
use std::os::fd::{AsRawFd, BorrowedFd};

/// fsetxattr(2): sets `name` to `value` (created or replaced).
pub fn fsetxattr(fd: BorrowedFd<'_>, name: &CStr, value: &[u8]) -> io::Result<()> {
    // SAFETY: valid fd, NUL-terminated name, value readable for its length.
    cvt(unsafe { libc::fsetxattr(fd.as_raw_fd(), name.as_ptr(), value.as_ptr().cast(), value.len(), 0) }).map(drop)
}

/// fgetxattr(2) into a buffer of at most `max` bytes (ERANGE beyond).
pub fn fgetxattr(fd: BorrowedFd<'_>, name: &CStr, max: usize) -> io::Result<Vec<u8>> {
    let mut buf = vec![0u8; max];
    // SAFETY: valid fd, NUL-terminated name, buffer writable for buf.len() bytes.
    let n = unsafe { libc::fgetxattr(fd.as_raw_fd(), name.as_ptr(), buf.as_mut_ptr().cast(), buf.len()) };
    if n < 0 {
        return Err(io::Error::last_os_error());
    }
    buf.truncate(n as usize);
    Ok(buf)
}

/// flistxattr(2): the names, each without its NUL (at most 64 KiB of names,
/// the kernel's own bound).
pub fn flistxattr(fd: BorrowedFd<'_>) -> io::Result<Vec<Vec<u8>>> {
    let mut buf = vec![0u8; 64 * 1024];
    // SAFETY: valid fd, buffer writable for buf.len() bytes.
    let n = unsafe { libc::flistxattr(fd.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len()) };
    if n < 0 {
        return Err(io::Error::last_os_error());
    }
    buf.truncate(n as usize);
    Ok(buf
        .split(|&b| b == 0)
        .filter(|n| !n.is_empty())
        .map(<[u8]>::to_vec)
        .collect())
}

/// The names `want` takes of the open file `fd` and their values: every
/// attribute read through the one descriptor, each value at most `max`
/// bytes and all of them at most `total` (`E2BIG` past it: what is held
/// stays within `total` and one value). A name removed between the list
/// and its read is left out; any other failure is the error.
pub fn fxattrs(
    fd: BorrowedFd<'_>,
    want: impl Fn(&[u8]) -> bool,
    (max, total): (usize, usize),
) -> io::Result<Vec<(Vec<u8>, Vec<u8>)>> {
    let mut out = Vec::new();
    let mut held = 0usize;
    for name in flistxattr(fd)?.into_iter().filter(|n| want(n)) {
        let Ok(c) = std::ffi::CString::new(name.clone()) else {
            continue;
        };
        match fgetxattr(fd, &c, max) {
            Ok(mut v) => {
                v.shrink_to_fit();
                held += v.len();
                if held > total {
                    return Err(io::Error::from_raw_os_error(libc::E2BIG));
                }
                out.push((name, v))
            }
            Err(e) if e.raw_os_error() == Some(libc::ENODATA) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(out)
}

/// Makes the attributes of `fd` that `within` takes equal `want` (names
/// `within` takes): the extra ones removed first (room for the new), then
/// those missing or different set; the others are never touched. Returns
/// whether anything changed. `bounds` as [`fxattrs`]'s.
pub fn freplace_xattrs(
    fd: BorrowedFd<'_>,
    within: impl Fn(&[u8]) -> bool,
    want: &[(Vec<u8>, Vec<u8>)],
    bounds: (usize, usize),
) -> io::Result<bool> {
    let have = fxattrs(fd, within, bounds)?;
    let cstr = |n: &[u8]| std::ffi::CString::new(n).map_err(|_| io::Error::from_raw_os_error(libc::EINVAL));
    let mut changed = false;
    for (n, _) in &have {
        if !want.iter().any(|(w, _)| w == n) {
            changed = true;
            match fremovexattr(fd, &cstr(n)?) {
                Err(e) if e.raw_os_error() != Some(libc::ENODATA) => return Err(e),
                _ => {}
            }
        }
    }
    for (n, v) in want {
        if !have.iter().any(|(h, hv)| h == n && hv == v) {
            changed = true;
            fsetxattr(fd, &cstr(n)?, v)?;
        }
    }
    Ok(changed)
}

/// fremovexattr(2).
pub fn fremovexattr(fd: BorrowedFd<'_>, name: &CStr) -> io::Result<()> {
    // SAFETY: valid fd and NUL-terminated name.
    cvt(unsafe { libc::fremovexattr(fd.as_raw_fd(), name.as_ptr()) }).map(drop)
}

/// futimens(2) setting the modification time to `mtime` seconds, the access
/// time left as it is (an upload temporary's access-time mark survives).
pub fn set_mtime(fd: BorrowedFd<'_>, mtime: i64) -> io::Result<()> {
    set_mtime_ns(fd, mtime, 0)
}

/// [`set_mtime`] to the nanosecond (`nsec` below 1,000,000,000).
pub fn set_mtime_ns(fd: BorrowedFd<'_>, sec: i64, nsec: u32) -> io::Result<()> {
    let times = mtime_only(sec, nsec);
    // SAFETY: valid fd and a two-element timespec array.
    cvt(unsafe { libc::futimens(fd.as_raw_fd(), times.as_ptr()) }).map(drop)
}

/// utimensat(2) with `AT_EMPTY_PATH` of what `fd` names, which may be an
/// `O_PATH` descriptor of a symlink (whose own time is set) or of a FIFO
/// (never opened): the modification time to the nanosecond, the access
/// time left as it is. Nothing is looked up by name.
pub fn set_mtime_ns_path_fd(fd: BorrowedFd<'_>, sec: i64, nsec: u32) -> io::Result<()> {
    let times = mtime_only(sec, nsec);
    // SAFETY: a valid fd, an empty NUL-terminated path and a two-element
    // timespec array.
    cvt(unsafe { libc::utimensat(fd.as_raw_fd(), c"".as_ptr(), times.as_ptr(), libc::AT_EMPTY_PATH) }).map(drop)
}

/// The times of a change of the modification time alone.
fn mtime_only(sec: i64, nsec: u32) -> [libc::timespec; 2] {
    [
        libc::timespec {
            tv_sec: 0,
            tv_nsec: libc::UTIME_OMIT,
        },
        libc::timespec {
            tv_sec: sec as libc::time_t,
            tv_nsec: nsec.min(999_999_999) as libc::c_long,
        },
    ]
}

/// futimens(2) setting the access time to `atime` seconds, the modification
/// time left as it is.
pub fn set_atime(fd: BorrowedFd<'_>, atime: i64) -> io::Result<()> {
    let times = [
        libc::timespec {
            tv_sec: atime as libc::time_t,
            tv_nsec: 0,
        },
        libc::timespec {
            tv_sec: 0,
            tv_nsec: libc::UTIME_OMIT,
        },
    ];
    // SAFETY: valid fd and a two-element timespec array.
    cvt(unsafe { libc::futimens(fd.as_raw_fd(), times.as_ptr()) }).map(drop)
}
