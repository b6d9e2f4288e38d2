//! Files and directories: confined opens, metadata, links, locks and the
//! page-cache and direct-I/O switches the transfer paths use, and the capped
//! read of a whole configuration file.

use super::{cvt, cvt_fd};
use std::ffi::CStr;
use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, OwnedFd};

/// openat2(2) with `RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS`: the kernel refuses
/// (EXDEV/ELOOP) any resolution — `..`, absolute symlink, relative symlink — that
/// would leave `dir`. This is the one primitive path confinement rests on.
pub fn openat2_beneath(dir: BorrowedFd<'_>, path: &CStr, flags: i32, mode: u32) -> io::Result<OwnedFd> {
    openat2_resolve(dir, path, flags, mode, 0)
}

/// [`openat2_beneath`] that also refuses (ELOOP) every symlink, final one
/// included: for acting on a name inside a directory already judged, where a
/// link swapped in after the judgement must not lead anywhere else.
pub fn openat2_beneath_nolinks(dir: BorrowedFd<'_>, path: &CStr, flags: i32, mode: u32) -> io::Result<OwnedFd> {
    openat2_resolve(dir, path, flags, mode, libc::RESOLVE_NO_SYMLINKS)
}

fn openat2_resolve(dir: BorrowedFd<'_>, path: &CStr, flags: i32, mode: u32, extra: u64) -> io::Result<OwnedFd> {
    let mut how: libc::open_how = open_how_zeroed();
    how.flags = (flags | libc::O_CLOEXEC) as u64;
    how.mode = if flags & (libc::O_CREAT | libc::O_TMPFILE) != 0 {
        mode as u64
    } else {
        0
    };
    how.resolve = libc::RESOLVE_BENEATH | libc::RESOLVE_NO_MAGICLINKS | extra;
    loop {
        // SAFETY: `how` is a valid open_how whose size we pass; `path` is NUL-terminated
        // and outlives the call; `dir` is a live descriptor.
        let r = unsafe {
            libc::syscall(
                libc::SYS_openat2,
                dir.as_raw_fd(),
                path.as_ptr(),
                &how as *const libc::open_how,
                std::mem::size_of::<libc::open_how>(),
            )
        };
        if r < 0 {
            let e = io::Error::last_os_error();
            // EAGAIN: a concurrent rename raced the resolution; the kernel asks to retry.
            if e.raw_os_error() == Some(libc::EAGAIN) || e.raw_os_error() == Some(libc::EINTR) {
                continue;
            }
            return Err(e);
        }
        return cvt_fd(r as libc::c_int);
    }
}

fn open_how_zeroed() -> libc::open_how {
    // SAFETY: open_how is a plain C struct of integers; all-zero is a valid value.
    unsafe { std::mem::zeroed() }
}

/// openat(2) of one name in `dir`, never following a final symlink.
pub fn openat_nofollow(dir: BorrowedFd<'_>, name: &CStr, flags: i32, mode: u32) -> io::Result<OwnedFd> {
    // SAFETY: valid fd and NUL-terminated name; the result is checked by cvt_fd.
    cvt_fd(unsafe {
        libc::openat(
            dir.as_raw_fd(),
            name.as_ptr(),
            flags | libc::O_NOFOLLOW | libc::O_CLOEXEC,
            mode as libc::c_uint,
        )
    })
}

/// fstatat(2); `follow` false adds AT_SYMLINK_NOFOLLOW. An empty name stats `dir`.
pub fn fstatat(dir: BorrowedFd<'_>, name: &CStr, follow: bool) -> io::Result<libc::stat> {
    let mut flags = if follow { 0 } else { libc::AT_SYMLINK_NOFOLLOW };
    if name.is_empty() {
        flags |= libc::AT_EMPTY_PATH;
    }
    // SAFETY: zeroed stat is valid; the kernel fills it on success.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY: valid fd, NUL-terminated name, and a writable stat buffer.
    cvt(unsafe { libc::fstatat(dir.as_raw_fd(), name.as_ptr(), &mut st, flags) })?;
    Ok(st)
}

/// fstat(2).
pub fn fstat(fd: BorrowedFd<'_>) -> io::Result<libc::stat> {
    fstatat(fd, c"", true)
}

/// The device `fd`'s file lives on, without asking a network file system's
/// servers (statx with `AT_STATX_DONT_SYNC` and no attribute wanted: the
/// device comes from the mount, never from the file's attributes).
pub fn device_of(fd: BorrowedFd<'_>) -> io::Result<u64> {
    // SAFETY: statx is plain old data; all-zero is a valid value.
    let mut stx: libc::statx = unsafe { std::mem::zeroed() };
    // SAFETY: valid fd, an empty NUL-terminated path with AT_EMPTY_PATH, and a
    // pointer to a live statx the kernel fills.
    cvt(unsafe {
        libc::statx(
            fd.as_raw_fd(),
            c"".as_ptr(),
            libc::AT_EMPTY_PATH | libc::AT_STATX_DONT_SYNC,
            0,
            &mut stx,
        )
    })?;
    Ok(libc::makedev(stx.stx_dev_major, stx.stx_dev_minor))
}

/// mkdirat(2).
pub fn mkdirat(dir: BorrowedFd<'_>, name: &CStr, mode: u32) -> io::Result<()> {
    // SAFETY: valid fd and NUL-terminated name.
    cvt(unsafe { libc::mkdirat(dir.as_raw_fd(), name.as_ptr(), mode as libc::mode_t) }).map(drop)
}

/// unlinkat(2); `dir_entry` true removes a directory (AT_REMOVEDIR).
pub fn unlinkat(dir: BorrowedFd<'_>, name: &CStr, dir_entry: bool) -> io::Result<()> {
    let flags = if dir_entry { libc::AT_REMOVEDIR } else { 0 };
    // SAFETY: valid fd and NUL-terminated name.
    cvt(unsafe { libc::unlinkat(dir.as_raw_fd(), name.as_ptr(), flags) }).map(drop)
}

/// renameat2(2); `noreplace` adds RENAME_NOREPLACE (fails with EEXIST atomically).
pub fn renameat2(
    from_dir: BorrowedFd<'_>,
    from: &CStr,
    to_dir: BorrowedFd<'_>,
    to: &CStr,
    noreplace: bool,
) -> io::Result<()> {
    let flags = if noreplace { libc::RENAME_NOREPLACE } else { 0 };
    // SAFETY: valid fds and NUL-terminated names.
    cvt(unsafe {
        libc::renameat2(
            from_dir.as_raw_fd(),
            from.as_ptr(),
            to_dir.as_raw_fd(),
            to.as_ptr(),
            flags,
        )
    })
    .map(drop)
}

/// symlinkat(2).
pub fn symlinkat(target: &CStr, dir: BorrowedFd<'_>, name: &CStr) -> io::Result<()> {
    // SAFETY: NUL-terminated strings and a valid fd.
    cvt(unsafe { libc::symlinkat(target.as_ptr(), dir.as_raw_fd(), name.as_ptr()) }).map(drop)
}

/// mknodat(2): `name` in `dir`, of the type and permission bits of `mode`
/// (`S_IFIFO`, `S_IFSOCK`, `S_IFCHR`, `S_IFBLK`), a device numbered `rdev`.
pub fn mknodat(dir: BorrowedFd<'_>, name: &CStr, mode: u32, rdev: u64) -> io::Result<()> {
    // SAFETY: valid fd and NUL-terminated name; integer arguments.
    cvt(unsafe {
        libc::mknodat(
            dir.as_raw_fd(),
            name.as_ptr(),
            mode as libc::mode_t,
            rdev as libc::dev_t,
        )
    })
    .map(drop)
}

/// fchmodat(2) of `name` in `dir`, following it: for a name that is a
/// process's `/proc/self/fd` entry (a magic link to the file a descriptor
/// holds, never looked up again by path).
pub fn fchmodat_following(dir: BorrowedFd<'_>, name: &CStr, mode: u32) -> io::Result<()> {
    // SAFETY: valid fd and NUL-terminated name.
    cvt(unsafe { libc::fchmodat(dir.as_raw_fd(), name.as_ptr(), mode as libc::mode_t, 0) }).map(drop)
}

/// readlinkat(2), returning the raw target bytes.
pub fn readlinkat(dir: BorrowedFd<'_>, name: &CStr) -> io::Result<Vec<u8>> {
    let mut buf = vec![0u8; libc::PATH_MAX as usize];
    // SAFETY: the buffer is writable for buf.len() bytes; fd and name are valid.
    let n = unsafe { libc::readlinkat(dir.as_raw_fd(), name.as_ptr(), buf.as_mut_ptr().cast(), buf.len()) };
    if n < 0 {
        return Err(io::Error::last_os_error());
    }
    buf.truncate(n as usize);
    Ok(buf)
}

/// futimens(2) with "now" for both times. Works on O_PATH descriptors too on Linux
/// via utimensat(fd, NULL) semantics is not guaranteed, so callers pass a real fd.
pub fn touch_now(fd: BorrowedFd<'_>) -> io::Result<()> {
    // SAFETY: a NULL times pointer means "now"; fd is valid.
    cvt(unsafe { libc::futimens(fd.as_raw_fd(), std::ptr::null()) }).map(drop)
}

/// fchmodat(2) without following a final symlink is not supported by Linux for
/// symlinks themselves, so callers open the file first and use fchmod.
pub fn fchmod(fd: BorrowedFd<'_>, mode: u32) -> io::Result<()> {
    // SAFETY: valid fd.
    cvt(unsafe { libc::fchmod(fd.as_raw_fd(), mode as libc::mode_t) }).map(drop)
}

/// fchown(2).
pub fn fchown(fd: BorrowedFd<'_>, uid: u32, gid: u32) -> io::Result<()> {
    // SAFETY: valid fd.
    cvt(unsafe { libc::fchown(fd.as_raw_fd(), uid, gid) }).map(drop)
}

/// fchmodat2(2) with AT_EMPTY_PATH: changes the mode of what `fd` names, which may
/// be an O_PATH descriptor (so a file nobody may open can still be chmod'ed without
/// resolving its path again). ENOSYS before Linux 6.6; callers then reopen.
pub fn fchmod_path_fd(fd: BorrowedFd<'_>, mode: u32) -> io::Result<()> {
    loop {
        // SAFETY: a valid fd, an empty NUL-terminated path and integer arguments.
        let r = unsafe {
            libc::syscall(
                libc::SYS_fchmodat2,
                fd.as_raw_fd(),
                c"".as_ptr(),
                mode as libc::mode_t,
                libc::AT_EMPTY_PATH,
            )
        };
        if r >= 0 {
            return Ok(());
        }
        let e = io::Error::last_os_error();
        if e.raw_os_error() != Some(libc::EINTR) {
            return Err(e);
        }
    }
}

/// fchownat(2) with AT_EMPTY_PATH: changes the owner of what `fd` (possibly an
/// O_PATH descriptor) names, never following anything.
pub fn fchown_path_fd(fd: BorrowedFd<'_>, uid: u32, gid: u32) -> io::Result<()> {
    // SAFETY: a valid fd and an empty NUL-terminated path.
    cvt(unsafe { libc::fchownat(fd.as_raw_fd(), c"".as_ptr(), uid, gid, libc::AT_EMPTY_PATH) }).map(drop)
}

/// flock(2) `LOCK_EX | LOCK_NB`: Ok(true) when the lock was taken, Ok(false)
/// when another open file description holds one. The lock lives as long as the
/// open file description: a process that dies, even by SIGKILL, lets it go.
pub fn try_lock_exclusive(fd: BorrowedFd<'_>) -> io::Result<bool> {
    match flock(fd, libc::LOCK_EX | libc::LOCK_NB) {
        Ok(()) => Ok(true),
        Err(e) if e.raw_os_error() == Some(libc::EWOULDBLOCK) => Ok(false),
        Err(e) => Err(e),
    }
}

/// linkat(2) with `AT_EMPTY_PATH`: gives the file `fd` a name. Linux 6.10
/// and later let the process that opened `fd` (with the credentials it has
/// now) do it without CAP_DAC_READ_SEARCH; elsewhere it fails with ENOENT
/// (or EPERM), and [`link_following`] through `/proc/self/fd` does the same
/// at the cost of a walk through procfs. Fails with EEXIST, atomically,
/// when `to` exists.
pub fn link_fd(fd: BorrowedFd<'_>, to_dir: BorrowedFd<'_>, to: &CStr) -> io::Result<()> {
    // SAFETY: valid fds and NUL-terminated names.
    cvt(unsafe {
        libc::linkat(
            fd.as_raw_fd(),
            c"".as_ptr(),
            to_dir.as_raw_fd(),
            to.as_ptr(),
            libc::AT_EMPTY_PATH,
        )
    })
    .map(drop)
}

/// linkat(2) with `AT_SYMLINK_FOLLOW`: gives a name to what `from_dir`/`from`
/// leads to. Used on `/proc/self/fd/N` to link an `O_TMPFILE` file into place,
/// which needs no privilege (unlike `AT_EMPTY_PATH`). Fails with EEXIST,
/// atomically, when `to` exists.
pub fn link_following(from_dir: BorrowedFd<'_>, from: &CStr, to_dir: BorrowedFd<'_>, to: &CStr) -> io::Result<()> {
    // SAFETY: valid fds and NUL-terminated names.
    cvt(unsafe {
        libc::linkat(
            from_dir.as_raw_fd(),
            from.as_ptr(),
            to_dir.as_raw_fd(),
            to.as_ptr(),
            libc::AT_SYMLINK_FOLLOW,
        )
    })
    .map(drop)
}

/// syncfs(2): commits the whole file system holding `fd` (the fallback when a
/// directory cannot be opened for fsync).
pub fn syncfs(fd: BorrowedFd<'_>) -> io::Result<()> {
    // SAFETY: valid fd; no pointers.
    cvt(unsafe { libc::syncfs(fd.as_raw_fd()) }).map(drop)
}

/// fstatvfs(2): (available bytes to unprivileged users, fragment size).
pub fn free_bytes(fd: BorrowedFd<'_>) -> io::Result<u64> {
    // SAFETY: zeroed statvfs is valid; filled by the kernel.
    let mut st: libc::statvfs = unsafe { std::mem::zeroed() };
    // SAFETY: valid fd and writable buffer.
    cvt(unsafe { libc::fstatvfs(fd.as_raw_fd(), &mut st) })?;
    Ok((st.f_bavail as u64).saturating_mul(st.f_frsize as u64))
}

/// Clears O_NONBLOCK on a descriptor that was opened non-blocking only so the
/// open itself could not hang (see `fsys::open_regular`).
pub fn clear_nonblock(fd: BorrowedFd<'_>) -> io::Result<()> {
    // SAFETY: F_GETFL/F_SETFL on a valid descriptor take and return integers.
    unsafe {
        let fl = cvt(libc::fcntl(fd.as_raw_fd(), libc::F_GETFL))?;
        cvt(libc::fcntl(fd.as_raw_fd(), libc::F_SETFL, fl & !libc::O_NONBLOCK))?;
    }
    Ok(())
}

/// Sets or clears O_DIRECT on an open file (fcntl F_SETFL). Fails with EINVAL
/// where the filesystem has no direct I/O.
pub fn set_direct_io(fd: BorrowedFd<'_>, on: bool) -> io::Result<()> {
    // SAFETY: F_GETFL takes no argument; valid fd.
    let flags = cvt(unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_GETFL) })?;
    let want = if on {
        flags | libc::O_DIRECT
    } else {
        flags & !libc::O_DIRECT
    };
    if want == flags {
        return Ok(());
    }
    // SAFETY: F_SETFL takes an int; valid fd.
    cvt(unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_SETFL, want) }).map(drop)
}

/// cachestat(2)'s number: 451 in the syscall table every architecture Rust
/// targets has shared since Linux 5.1, except MIPS (offset per ABI). The libc
/// crate lacks the constant for glibc targets.
const SYS_CACHESTAT: Option<libc::c_long> = if cfg!(any(
    target_arch = "mips",
    target_arch = "mips32r6",
    target_arch = "mips64",
    target_arch = "mips64r6"
)) {
    None
} else {
    Some(451)
};

/// cachestat(2) (Linux 6.5): how many of the pages of `len` bytes at `offset` are
/// in the page cache. `None` where the kernel or architecture lacks it.
pub fn cached_pages(fd: BorrowedFd<'_>, offset: u64, len: u64) -> Option<u64> {
    #[repr(C)]
    struct Range {
        off: u64,
        len: u64,
    }
    #[repr(C)]
    #[derive(Default)]
    struct Stat {
        nr_cache: u64,
        nr_dirty: u64,
        nr_writeback: u64,
        nr_evicted: u64,
        nr_recently_evicted: u64,
    }
    let nr = SYS_CACHESTAT?;
    let range = Range { off: offset, len };
    let mut st = Stat::default();
    // SAFETY: both structs match the kernel's layout (two and five u64s) and
    // outlive the call; valid fd; flags must be 0.
    let r = unsafe {
        libc::syscall(
            nr,
            fd.as_raw_fd(),
            &range as *const Range,
            &mut st as *mut Stat,
            0 as libc::c_uint,
        )
    };
    (r == 0).then_some(st.nr_cache)
}

/// What an open file description lock does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OfdLock {
    /// A shared (read) lock on the whole file.
    Shared,
    /// An exclusive (write) lock on the whole file.
    Exclusive,
    /// Releases this description's lock.
    Unlock,
}

/// fcntl(F_OFD_SETLK) over the whole file, never waiting: `Ok(false)` when another
/// description holds a conflicting lock. Open file description locks belong to the
/// open file, not the process, so two descriptions in one process contend like two
/// processes do, they work across NFSv4 and other nodes sharing the file system,
/// and they vanish when the last descriptor closes (session end, SIGKILL).
pub fn ofd_setlk(fd: BorrowedFd<'_>, what: OfdLock) -> io::Result<bool> {
    // l_start 0, l_len 0: the whole file, however it grows
    ofd_setlk_range(fd, what, 0, 0)
}

/// The `struct flock` of an open file description lock on `[start, start + len)`.
fn ofd_flock(what: OfdLock, start: i64, len: i64) -> libc::flock {
    // SAFETY: flock is plain old data; all-zero is a valid value for every field.
    let mut fl: libc::flock = unsafe { std::mem::zeroed() };
    fl.l_type = match what {
        OfdLock::Shared => libc::F_RDLCK,
        OfdLock::Exclusive => libc::F_WRLCK,
        OfdLock::Unlock => libc::F_UNLCK,
    } as libc::c_short;
    fl.l_whence = libc::SEEK_SET as libc::c_short;
    fl.l_start = start as libc::off_t;
    fl.l_len = len as libc::off_t;
    // l_pid stays 0, as OFD locks require
    fl
}

/// [`ofd_setlk`] on the bytes `[start, start + len)` only (`len` 0: to the end,
/// however the file grows). A range past the end of the file may be locked: a
/// lock on a byte the data never reaches marks the file without touching the
/// locks of its data, nor any `flock(2)` on it.
pub fn ofd_setlk_range(fd: BorrowedFd<'_>, what: OfdLock, start: i64, len: i64) -> io::Result<bool> {
    let fl = ofd_flock(what, start, len);
    // SAFETY: fd is a live descriptor borrowed for the call; fl outlives it.
    match cvt(unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_OFD_SETLK, &fl) }) {
        Ok(_) => Ok(true),
        Err(e) if matches!(e.raw_os_error(), Some(libc::EAGAIN) | Some(libc::EACCES)) => Ok(false),
        Err(e) => Err(e),
    }
}

/// fcntl(F_OFD_GETLK): whether another open file description holds a lock on
/// `[start, start + len)` that would stop this one from taking `what` there
/// (`Exclusive`: any lock at all). This description's own locks never count.
pub fn ofd_held_range(fd: BorrowedFd<'_>, what: OfdLock, start: i64, len: i64) -> io::Result<bool> {
    let mut fl = ofd_flock(what, start, len);
    // SAFETY: fd is a live descriptor borrowed for the call; the kernel writes
    // into fl, which outlives it.
    cvt(unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_OFD_GETLK, &mut fl) })?;
    Ok(fl.l_type != libc::F_UNLCK as libc::c_short)
}

/// Tries once to take an exclusive whole-file open-file-description lock:
/// Ok(false) when another holder has it (TFPSFS metadata edits).
pub fn ofd_try_lock_exclusive(fd: BorrowedFd<'_>) -> io::Result<bool> {
    ofd_setlk(fd, OfdLock::Exclusive)
}

/// Why [`read_capped`] failed.
#[derive(Debug)]
pub enum CappedError {
    /// The file could not be opened or read.
    Io(io::Error),
    /// The file holds more than the cap.
    TooLarge,
}

/// Reads a whole file of at most `max` bytes and refuses a longer one, so a
/// wrong path (a device, a log) cannot make tfd read without end. The cap is
/// applied while reading, not taken from the metadata: /proc files and pipes
/// report a length of 0. tfd.conf, its key file and the user file are read so.
pub fn read_capped(path: &std::path::Path, max: u64) -> Result<Vec<u8>, CappedError> {
    use std::io::Read;
    let file = std::fs::File::open(path).map_err(CappedError::Io)?;
    let mut bytes = Vec::new();
    file.take(max.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(CappedError::Io)?;
    if bytes.len() as u64 > max {
        return Err(CappedError::TooLarge);
    }
    Ok(bytes)
}

/// flock(2) `LOCK_SH`, tried for up to a second (a sweeper holds its
/// exclusive lock only for the moment of an unlink): Err(WouldBlock) after.
pub fn lock_shared(fd: BorrowedFd<'_>) -> io::Result<()> {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(1);
    loop {
        // SAFETY: flock takes a descriptor and integer flags; no pointers.
        let r = unsafe { libc::flock(fd.as_raw_fd(), libc::LOCK_SH | libc::LOCK_NB) };
        if r == 0 {
            return Ok(());
        }
        let e = io::Error::last_os_error();
        match e.raw_os_error() {
            Some(libc::EWOULDBLOCK) if std::time::Instant::now() < deadline => {
                std::thread::sleep(std::time::Duration::from_millis(10))
            }
            Some(libc::EINTR) => continue,
            _ => return Err(e),
        }
    }
}

/// flock(2) `LOCK_EX`, waiting for the holder (retried on EINTR); the lock
/// goes with the last descriptor of the open file.
pub fn lock_exclusive(fd: BorrowedFd<'_>) -> io::Result<()> {
    flock(fd, libc::LOCK_EX)
}

/// flock(2) with `op`, retried when a signal interrupts it.
fn flock(fd: BorrowedFd<'_>, op: libc::c_int) -> io::Result<()> {
    loop {
        // SAFETY: flock takes a descriptor and integer flags; no pointers.
        let r = unsafe { libc::flock(fd.as_raw_fd(), op) };
        if r == 0 {
            return Ok(());
        }
        let e = io::Error::last_os_error();
        if e.raw_os_error() != Some(libc::EINTR) {
            return Err(e);
        }
    }
}

/// linkat(2) without following: `to` in `to_dir` becomes another name of
/// `from` in `from_dir`; fails with EEXIST when `to` is there.
pub fn linkat(from_dir: BorrowedFd<'_>, from: &CStr, to_dir: BorrowedFd<'_>, to: &CStr) -> io::Result<()> {
    // SAFETY: valid fds and NUL-terminated names.
    cvt(unsafe { libc::linkat(from_dir.as_raw_fd(), from.as_ptr(), to_dir.as_raw_fd(), to.as_ptr(), 0) }).map(drop)
}

/// fsync(2) of a directory's descriptor, so a rename in it survives a crash;
/// a file system that cannot sync directories (EINVAL) is not an error.
pub fn fsync_dir(dir: BorrowedFd<'_>) -> io::Result<()> {
    // SAFETY: valid fd.
    match cvt(unsafe { libc::fsync(dir.as_raw_fd()) }) {
        Err(e) if e.raw_os_error() == Some(libc::EINVAL) => Ok(()),
        other => other.map(drop),
    }
}

/// Fills `buf` from the kernel's random source (getrandom(2), waiting for
/// it to be seeded).
pub fn fill_random(buf: &mut [u8]) -> io::Result<()> {
    let mut at = 0;
    while at < buf.len() {
        // SAFETY: the pointer and length name the unfilled rest of `buf`.
        let n = unsafe { libc::getrandom(buf[at..].as_mut_ptr().cast(), buf.len() - at, 0) };
        if n < 0 {
            let e = io::Error::last_os_error();
            if e.kind() == io::ErrorKind::Interrupted {
                continue;
            }
            return Err(e);
        }
        at += n as usize;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::fd::AsFd;

    /// A read lock on a byte far past the end marks the file for other open
    /// files only, until let go; it does not meet a `flock` on the file.
    #[test]
    fn a_range_lock_past_the_end_is_seen_by_other_open_files_only() {
        let dir = std::env::temp_dir().join(format!("tfd-sys-ofd-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("temp dir");
        let path = dir.join("f");
        let open = || {
            std::fs::OpenOptions::new()
                .read(true)
                .write(true)
                .create(true)
                .truncate(false)
                .open(&path)
                .expect("open")
        };
        let (a, b) = (open(), open());
        let at = i64::MAX - 1;
        assert!(!ofd_held_range(b.as_fd(), OfdLock::Exclusive, at, 1).unwrap());
        assert!(ofd_setlk_range(a.as_fd(), OfdLock::Shared, at, 1).unwrap());
        assert!(ofd_held_range(b.as_fd(), OfdLock::Exclusive, at, 1).unwrap());
        assert!(
            !ofd_held_range(a.as_fd(), OfdLock::Exclusive, at, 1).unwrap(),
            "its own lock counted"
        );
        assert!(
            !ofd_held_range(b.as_fd(), OfdLock::Exclusive, 0, at).unwrap(),
            "the data's bytes are locked"
        );
        assert!(try_lock_exclusive(b.as_fd()).unwrap(), "the mark met a flock");
        assert!(ofd_setlk_range(a.as_fd(), OfdLock::Unlock, at, 1).unwrap());
        assert!(!ofd_held_range(b.as_fd(), OfdLock::Exclusive, at, 1).unwrap());
        let _ = std::fs::remove_dir_all(&dir);
    }
}
