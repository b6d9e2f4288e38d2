//! The only module allowed `unsafe`: thin, typed wrappers over the syscalls tfd
//! needs that neither std nor nix expose with owned file descriptors. Each wrapper
//! does one call and turns errno into `io::Error`; policy lives in the callers.
#![allow(unsafe_code)]
#![deny(clippy::undocumented_unsafe_blocks)]

use std::ffi::CStr;
use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};

fn cvt(r: libc::c_int) -> io::Result<libc::c_int> {
    if r < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(r)
    }
}

fn cvt_fd(r: libc::c_int) -> io::Result<OwnedFd> {
    let fd = cvt(r)?;
    // SAFETY: the kernel just returned this descriptor to us and nobody else owns it.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

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
    loop {
        // SAFETY: flock takes a descriptor and integer flags; no pointers.
        let r = unsafe { libc::flock(fd.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
        if r == 0 {
            return Ok(true);
        }
        let e = io::Error::last_os_error();
        match e.raw_os_error() {
            Some(libc::EWOULDBLOCK) => return Ok(false),
            Some(libc::EINTR) => continue,
            _ => return Err(e),
        }
    }
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

/// Turns a terminal's echo off or on (tfpasswd reads passwords without echo) and
/// returns whether it was on. Fails with ENOTTY when `fd` is not a terminal.
pub fn set_tty_echo(fd: BorrowedFd<'_>, on: bool) -> io::Result<bool> {
    // SAFETY: an all-zero termios is a valid value; tcgetattr overwrites it.
    let mut t: libc::termios = unsafe { std::mem::zeroed() };
    // SAFETY: valid fd and a writable termios.
    cvt(unsafe { libc::tcgetattr(fd.as_raw_fd(), &mut t) })?;
    let was = t.c_lflag & libc::ECHO != 0;
    if on {
        t.c_lflag |= libc::ECHO;
    } else {
        t.c_lflag &= !libc::ECHO;
    }
    // SAFETY: valid fd and the termios read above.
    cvt(unsafe { libc::tcsetattr(fd.as_raw_fd(), libc::TCSAFLUSH, &t) })?;
    Ok(was)
}

/// A terminal's settings as [`set_tty_cbreak`] found them, to put back.
pub struct TtyMode(libc::termios);

/// Turns off a terminal's line discipline (canonical mode and echo; signals
/// and output processing stay), one byte a read, for `tf shell`'s own line
/// editor; returns the settings to restore with [`restore_tty`].
pub fn set_tty_cbreak(fd: BorrowedFd<'_>) -> io::Result<TtyMode> {
    // SAFETY: an all-zero termios is a valid value; tcgetattr overwrites it.
    let mut t: libc::termios = unsafe { std::mem::zeroed() };
    // SAFETY: valid fd and a writable termios.
    cvt(unsafe { libc::tcgetattr(fd.as_raw_fd(), &mut t) })?;
    let old = TtyMode(t);
    t.c_lflag &= !(libc::ICANON | libc::ECHO);
    t.c_cc[libc::VMIN] = 1;
    t.c_cc[libc::VTIME] = 0;
    // SAFETY: valid fd and the termios read above, changed.
    cvt(unsafe { libc::tcsetattr(fd.as_raw_fd(), libc::TCSANOW, &t) })?;
    Ok(old)
}

/// Puts back what [`set_tty_cbreak`] changed.
pub fn restore_tty(fd: BorrowedFd<'_>, mode: &TtyMode) -> io::Result<()> {
    // SAFETY: valid fd and a termios tcgetattr filled.
    cvt(unsafe { libc::tcsetattr(fd.as_raw_fd(), libc::TCSANOW, &mode.0) }).map(drop)
}

/// Result of [`fork`].
pub enum Fork {
    /// In the parent, with the child's pid.
    Parent(libc::pid_t),
    /// In the child.
    Child,
}

/// fork(2). The caller guarantees the process is single-threaded (the listener
/// never starts threads), so the child may run arbitrary code afterwards.
pub fn fork() -> io::Result<Fork> {
    // SAFETY: tfd's listener is single-threaded when it forks (see server::listener),
    // so no lock can be held by a thread that does not exist in the child.
    let pid = cvt(unsafe { libc::fork() })?;
    Ok(if pid == 0 { Fork::Child } else { Fork::Parent(pid) })
}

/// Number of threads in this process (from /proc), to assert fork-safety.
pub fn thread_count() -> usize {
    std::fs::read_dir("/proc/self/task").map(|d| d.count()).unwrap_or(1)
}

/// Runs `f` when the process exits normally (exit(3), or returning from
/// main): how the test suite removes the system users it created once every
/// test of a binary that may share them is done. False if it could not be
/// registered.
pub fn at_exit(f: extern "C" fn()) -> bool {
    // SAFETY: `f` is a plain function with the C ABI that atexit expects; it
    // lives for the whole program.
    unsafe { libc::atexit(f) == 0 }
}

/// Sets the process umask.
pub fn umask(mask: u32) {
    // SAFETY: umask cannot fail.
    unsafe { libc::umask(mask as libc::mode_t) };
}

/// Restores the default disposition of a signal (in a forked child).
pub fn default_signal(sig: libc::c_int) {
    // SAFETY: SIG_DFL is always a valid disposition.
    unsafe { libc::signal(sig, libc::SIG_DFL) };
}

/// Ignores a signal (SIGPIPE: writes to a closed socket return EPIPE instead).
pub fn ignore_signal(sig: libc::c_int) {
    // SAFETY: SIG_IGN is always a valid disposition.
    unsafe { libc::signal(sig, libc::SIG_IGN) };
}

/// The pid of the listener that forked this helper through [`fork_helper`]
/// (0 in the listener itself and in processes not forked that way).
static LISTENER_PID: std::sync::atomic::AtomicI32 = std::sync::atomic::AtomicI32::new(0);

/// fork(2) for every process the listener starts (key process, UDP responder,
/// sessions), with the one lifecycle rule they all follow, applied before the
/// child runs any code of its own:
/// - every signal is blocked across the fork, and the child restores `reset` to
///   their default action before unblocking, so a SIGTERM sent to a brand-new
///   child (the listener's shutdown, a Ctrl-C to the process group) kills it
///   instead of reaching the listener's inherited handlers and being lost;
/// - the child dies with the listener ([`die_with_parent`]), and exits at once if
///   the listener has already died in between.
pub fn fork_helper(reset: &[libc::c_int]) -> io::Result<Fork> {
    // SAFETY: both sigset_t values are plain data initialised by sigfillset /
    // pthread_sigmask before use; no pointers escape.
    let old = unsafe {
        let mut all: libc::sigset_t = std::mem::zeroed();
        let mut old: libc::sigset_t = std::mem::zeroed();
        libc::sigfillset(&mut all);
        libc::pthread_sigmask(libc::SIG_SETMASK, &all, &mut old);
        old
    };
    // SAFETY: getpid cannot fail.
    let listener = unsafe { libc::getpid() };
    let forked = fork();
    if let Ok(Fork::Child) = forked {
        for sig in reset {
            default_signal(*sig);
        }
        LISTENER_PID.store(listener, std::sync::atomic::Ordering::SeqCst);
        die_with_parent();
    }
    // SAFETY: restores the mask saved above (in parent and child alike).
    unsafe { libc::pthread_sigmask(libc::SIG_SETMASK, &old, std::ptr::null_mut()) };
    forked
}

/// Asks the kernel to SIGKILL this process when the listener dies, then checks the
/// listener is still its parent (it may have died before the request): a killed
/// listener never leaves helpers holding its sockets. The kernel forgets the
/// request whenever the process's user or group ids change, so every id switch
/// ([`crate::auth::privs`]) calls this again. A no-op outside [`fork_helper`]'s
/// children.
pub fn die_with_parent() {
    let listener = LISTENER_PID.load(std::sync::atomic::Ordering::SeqCst);
    if listener == 0 {
        return;
    }
    // SAFETY: PR_SET_PDEATHSIG takes a signal number; no pointers.
    unsafe { libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL as libc::c_ulong, 0, 0, 0) };
    // SAFETY: getppid cannot fail.
    if unsafe { libc::getppid() } != listener {
        exit_now(1);
    }
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

/// The effective uid.
pub fn geteuid() -> u32 {
    // SAFETY: cannot fail.
    unsafe { libc::geteuid() }
}

/// alarm(2): SIGALRM (default action: terminate) after `secs`, 0 cancels. Bounds the
/// pre-login phase of a session process as a whole, whatever the client trickles.
pub fn alarm(secs: u32) {
    // SAFETY: alarm cannot fail.
    unsafe { libc::alarm(secs) };
}

/// TCP_QUICKACK on: acknowledge the next segments at once instead of delaying the
/// ACK. Clients that write a frame's header and payload in two sends without
/// TCP_NODELAY (the Python client does) otherwise wait ~40 ms per command for our
/// delayed ACK. Linux clears the mode by itself, so it is set before each command.
pub fn set_quickack(fd: BorrowedFd<'_>) {
    let one: libc::c_int = 1;
    // SAFETY: valid fd; the option value is a c_int we pass by pointer with its size.
    unsafe {
        libc::setsockopt(
            fd.as_raw_fd(),
            libc::IPPROTO_TCP,
            libc::TCP_QUICKACK,
            (&one as *const libc::c_int).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
}

/// Sends SIGURG for `fd`'s urgent data to the calling thread alone
/// (F_SETOWN_EX, F_OWNER_TID). The libc crate has no constants for it on glibc
/// targets: these are the kernel's ABI (include/uapi/asm-generic/fcntl.h).
pub fn own_urgent_signal(fd: BorrowedFd<'_>) -> io::Result<()> {
    const F_SETOWN_EX: libc::c_int = 15;
    const F_OWNER_TID: libc::c_int = 0;
    #[repr(C)]
    struct FOwnerEx {
        kind: libc::c_int,
        pid: libc::pid_t,
    }
    let owner = FOwnerEx {
        kind: F_OWNER_TID,
        pid: nix::unistd::gettid().as_raw(),
    };
    // SAFETY: F_SETOWN_EX reads one struct f_owner_ex through the pointer,
    // which outlives the call.
    cvt(unsafe { libc::fcntl(fd.as_raw_fd(), F_SETOWN_EX, &owner as *const FOwnerEx) }).map(drop)
}

fn urgent_signal_set() -> nix::sys::signal::SigSet {
    let mut set = nix::sys::signal::SigSet::empty();
    set.add(nix::sys::signal::Signal::SIGURG);
    set
}

/// Blocks SIGURG in the calling thread, so that [`wait_urgent_signal`] takes it.
pub fn block_urgent_signal() -> io::Result<()> {
    urgent_signal_set().thread_block().map_err(io::Error::from)
}

/// Waits for a SIGURG sent to this thread (blocked by [`block_urgent_signal`]).
pub fn wait_urgent_signal() -> io::Result<()> {
    urgent_signal_set().wait().map(drop).map_err(io::Error::from)
}

/// The calling thread's nice value (getpriority(2); threads created afterwards
/// inherit it).
pub fn nice() -> io::Result<i32> {
    // getpriority may legitimately return -1: errno tells the error apart
    // SAFETY: no pointers; errno is thread-local.
    unsafe { *libc::__errno_location() = 0 };
    // SAFETY: PRIO_PROCESS with who = 0 names the calling thread.
    let v = unsafe { libc::getpriority(libc::PRIO_PROCESS, 0) };
    let err = io::Error::last_os_error();
    if v == -1 && err.raw_os_error().unwrap_or(0) != 0 {
        return Err(err);
    }
    Ok(v)
}

/// Sets the calling thread's nice value (setpriority(2)); lowering it needs
/// CAP_SYS_NICE.
pub fn set_nice(value: i32) -> io::Result<()> {
    // SAFETY: no pointers.
    cvt(unsafe { libc::setpriority(libc::PRIO_PROCESS, 0, value) }).map(drop)
}

/// _exit(2): ends a session process without running atexit handlers (OpenSSL's
/// global cleanup alone costs more than the rest of a short session). Logs go to
/// stderr unbuffered, so nothing is lost.
pub fn exit_now(code: i32) -> ! {
    // SAFETY: _exit never returns and touches no Rust state.
    unsafe { libc::_exit(code) }
}

/// A zero-filled anonymous `MAP_SHARED` region viewed as atomic 64-bit words.
/// Created by the listener before it forks, it is the same memory in every
/// session and helper process, so counters and tables in it are shared without
/// files (nothing is left in /dev/shm when tfd dies) and without locks.
pub struct SharedWords {
    ptr: std::ptr::NonNull<std::sync::atomic::AtomicU64>,
    len: usize,
}

// SAFETY: the region is only ever accessed through atomics.
unsafe impl Send for SharedWords {}
// SAFETY: as above; &SharedWords hands out only &[AtomicU64].
unsafe impl Sync for SharedWords {}

impl SharedWords {
    /// Maps `words` zeroed 64-bit words.
    pub fn new(words: usize) -> io::Result<SharedWords> {
        let bytes = words.max(1) * 8;
        // SAFETY: an anonymous shared mapping with no address hint; the result is
        // checked against MAP_FAILED before use.
        let p = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                bytes,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED | libc::MAP_ANONYMOUS,
                -1,
                0,
            )
        };
        if p == libc::MAP_FAILED {
            return Err(io::Error::last_os_error());
        }
        let ptr = std::ptr::NonNull::new(p.cast()).ok_or_else(|| io::Error::other("mmap returned NULL"))?;
        Ok(SharedWords { ptr, len: words.max(1) })
    }

    /// The words.
    pub fn words(&self) -> &[std::sync::atomic::AtomicU64] {
        // SAFETY: the mapping is `len` AtomicU64-sized, page-aligned, zero-initialised
        // (a valid AtomicU64 bit pattern), and lives as long as `self`.
        unsafe { std::slice::from_raw_parts(self.ptr.as_ptr(), self.len) }
    }
}

impl Drop for SharedWords {
    fn drop(&mut self) {
        // SAFETY: unmapping exactly the region mapped in `new`; no borrows outlive self.
        unsafe { libc::munmap(self.ptr.as_ptr().cast(), self.len * 8) };
    }
}

/// openlog(3). glibc keeps the `ident` pointer for every later syslog(3) call,
/// hence `&'static`. With `LOG_NDELAY` the socket to /dev/log is connected now,
/// so processes forked afterwards (sessions that chroot) inherit a live one.
pub fn openlog(ident: &'static CStr, option: libc::c_int, facility: libc::c_int) {
    // SAFETY: `ident` is NUL-terminated and lives for the whole program, as
    // openlog requires; the other arguments are plain integers.
    unsafe { libc::openlog(ident.as_ptr(), option, facility) }
}

/// syslog(3) of one message. The format is a constant `"%s"`, so a `%` in the
/// message (a client's file name, say) is never read as a conversion.
pub fn syslog(priority: libc::c_int, msg: &CStr) {
    // SAFETY: the format is a NUL-terminated literal with exactly one `%s`, matched
    // by one NUL-terminated string argument that outlives the call.
    unsafe { libc::syslog(priority, c"%s".as_ptr(), msg.as_ptr()) }
}

/// Detaches from the terminal the classic way: fork, setsid (no controlling
/// terminal), fork again (the daemon can never reacquire one), chdir("/"),
/// stdin/stdout/stderr on /dev/null. The launching process waits until the daemon
/// reports itself ready through the returned pipe end ([`daemon_ready`]), so that
/// when it exits (0, or 1 if the daemon died first) the pidfile is written and
/// tfd accepts connections: what an init system's Type=forking expects.
/// Returns in the final daemon process only. Call before any thread exists.
pub fn daemonize() -> io::Result<OwnedFd> {
    let (ready_rx, ready_tx) = nix::unistd::pipe().map_err(io::Error::from)?;
    for step in 0..2 {
        match fork()? {
            Fork::Parent(_) if step == 0 => {
                drop(ready_tx);
                let mut b = [0u8; 1];
                let code = match nix::unistd::read(ready_rx.as_raw_fd(), &mut b) {
                    Ok(1) => 0,
                    _ => {
                        eprintln!("tfd: the daemon ended before it was ready; see its log");
                        1
                    }
                };
                exit_now(code)
            }
            Fork::Parent(_) => exit_now(0),
            Fork::Child => {
                if step == 0 {
                    nix::unistd::setsid().map_err(io::Error::from)?;
                }
            }
        }
    }
    drop(ready_rx);
    std::env::set_current_dir("/")?;
    let null = std::fs::OpenOptions::new().read(true).write(true).open("/dev/null")?;
    for fd in 0..3 {
        // SAFETY: dup2 onto the standard descriptors, which this process owns;
        // `null` stays open for the duration of the call.
        if unsafe { libc::dup2(null.as_raw_fd(), fd) } < 0 {
            return Err(io::Error::last_os_error());
        }
    }
    Ok(ready_tx)
}

/// Tells the launching process that the daemon is ready, so it exits with 0.
pub fn daemon_ready(ready: OwnedFd) {
    let _ = nix::unistd::write(&ready, b"1");
}

/// Takes ownership of a descriptor that SCM_RIGHTS has just installed in this
/// process, so it is closed when dropped.
pub fn own_received_fd(fd: RawFd) -> OwnedFd {
    // SAFETY: the kernel installed `fd` for this recvmsg only; no other owner exists.
    unsafe { OwnedFd::from_raw_fd(fd) }
}

/// close(2) on a descriptor a forked child inherited but must not keep (the
/// owning object lives on in the parent's copy of memory; the child never uses it).
pub fn close_fd(fd: RawFd) {
    // SAFETY: closing an fd number has no memory effects; at worst EBADF.
    unsafe { libc::close(fd) };
}

/// PR_SET_DUMPABLE 0: no core dumps, and no ptrace or /proc/PID/mem access by
/// processes of the same user (the key process holds the private key).
pub fn set_nondumpable() {
    // SAFETY: PR_SET_DUMPABLE takes an integer; no pointers.
    unsafe { libc::prctl(libc::PR_SET_DUMPABLE, 0 as libc::c_ulong, 0, 0, 0) };
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

/// Alignment of [`AlignedBuf`]: the page size, which every Linux block device's
/// logical block size divides, so direct I/O accepts these buffers everywhere.
pub const IO_ALIGN: usize = 4096;

/// A zero-filled buffer whose address is [`IO_ALIGN`]-aligned, for O_DIRECT
/// (a `Vec<u8>` gives no alignment guarantee: glibc puts large blocks 16 bytes
/// past a page boundary).
///
/// Buffers of [`MAP_MIN`] bytes or more are anonymous mappings: the kernel hands
/// out zeroed pages as they are first touched, so a 1 MiB transfer buffer that
/// carries a 16 KiB file costs four page faults. An over-aligned `alloc_zeroed`
/// memsets the whole block instead (256 page faults and 1 MiB cleared per
/// transfer: most of a small upload's cost on a VM, measured with perf).
pub struct AlignedBuf {
    ptr: std::ptr::NonNull<u8>,
    len: usize,
    /// Mapped with mmap (else from the global allocator).
    mapped: bool,
}

/// Buffers at least this large are mapped, not allocated.
pub const MAP_MIN: usize = 64 << 10;

// SAFETY: AlignedBuf owns its allocation exclusively, like a Vec<u8>.
unsafe impl Send for AlignedBuf {}
// SAFETY: shared access only hands out &[u8].
unsafe impl Sync for AlignedBuf {}

impl AlignedBuf {
    /// A buffer of `len` zero bytes (`len` 0 allocates one aligned block, unused).
    pub fn zeroed(len: usize) -> AlignedBuf {
        let layout = Self::layout(len);
        if layout.size() >= MAP_MIN {
            // SAFETY: an anonymous private mapping with no address hint; the result
            // is checked against MAP_FAILED before use. Mappings are page-aligned
            // (at least IO_ALIGN) and zero-filled by the kernel.
            let p = unsafe {
                libc::mmap(
                    std::ptr::null_mut(),
                    layout.size(),
                    libc::PROT_READ | libc::PROT_WRITE,
                    libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                    -1,
                    0,
                )
            };
            if p != libc::MAP_FAILED {
                if let Some(ptr) = std::ptr::NonNull::new(p.cast::<u8>()) {
                    return AlignedBuf { ptr, len, mapped: true };
                }
            }
            std::alloc::handle_alloc_error(layout);
        }
        // SAFETY: the layout has a non-zero size.
        let p = unsafe { std::alloc::alloc_zeroed(layout) };
        match std::ptr::NonNull::new(p) {
            Some(ptr) => AlignedBuf {
                ptr,
                len,
                mapped: false,
            },
            None => std::alloc::handle_alloc_error(layout),
        }
    }

    fn layout(len: usize) -> std::alloc::Layout {
        let size = len.max(1).next_multiple_of(IO_ALIGN);
        match std::alloc::Layout::from_size_align(size, IO_ALIGN) {
            Ok(l) => l,
            // only for sizes near usize::MAX, which no caller can allocate anyway
            Err(_) => std::alloc::handle_alloc_error(std::alloc::Layout::new::<[u8; IO_ALIGN]>()),
        }
    }
}

impl std::ops::Deref for AlignedBuf {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        // SAFETY: `ptr` points to at least `len` initialised (zeroed) bytes we own.
        unsafe { std::slice::from_raw_parts(self.ptr.as_ptr(), self.len) }
    }
}

impl std::ops::DerefMut for AlignedBuf {
    fn deref_mut(&mut self) -> &mut [u8] {
        // SAFETY: as in deref, and `&mut self` makes the access exclusive.
        unsafe { std::slice::from_raw_parts_mut(self.ptr.as_ptr(), self.len) }
    }
}

impl Drop for AlignedBuf {
    fn drop(&mut self) {
        let layout = Self::layout(self.len);
        if self.mapped {
            // SAFETY: unmapping exactly the mapping made in `zeroed`; no borrow of
            // it outlives self.
            unsafe { libc::munmap(self.ptr.as_ptr().cast(), layout.size()) };
        } else {
            // SAFETY: allocated in `zeroed` with exactly this layout.
            unsafe { std::alloc::dealloc(self.ptr.as_ptr(), layout) };
        }
    }
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
    // SAFETY: flock is plain old data; all-zero is a valid value for every field.
    let mut fl: libc::flock = unsafe { std::mem::zeroed() };
    fl.l_type = match what {
        OfdLock::Shared => libc::F_RDLCK,
        OfdLock::Exclusive => libc::F_WRLCK,
        OfdLock::Unlock => libc::F_UNLCK,
    } as libc::c_short;
    fl.l_whence = libc::SEEK_SET as libc::c_short;
    // l_start 0, l_len 0: the whole file, however it grows; l_pid must be 0 for OFD
    // SAFETY: fd is a live descriptor borrowed for the call; fl outlives it.
    match cvt(unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_OFD_SETLK, &fl) }) {
        Ok(_) => Ok(true),
        Err(e) if matches!(e.raw_os_error(), Some(libc::EAGAIN) | Some(libc::EACCES)) => Ok(false),
        Err(e) => Err(e),
    }
}

/// Tries once to take an exclusive whole-file open-file-description lock:
/// Ok(false) when another holder has it (TFPSFS metadata edits).
pub fn ofd_try_lock_exclusive(fd: BorrowedFd<'_>) -> io::Result<bool> {
    ofd_setlk(fd, OfdLock::Exclusive)
}

/// A resource limit a sandboxed child gets (soft = hard, except CPU where the
/// hard limit is one second later so SIGXCPU comes first).
#[derive(Debug, Clone, Copy)]
pub struct ChildLimits {
    /// RLIMIT_CPU soft limit in seconds.
    pub cpu_seconds: u64,
    /// RLIMIT_AS in bytes.
    pub memory: u64,
    /// RLIMIT_NPROC (processes and threads of the real uid, system-wide).
    pub nproc: u64,
    /// RLIMIT_FSIZE in bytes.
    pub file_max: u64,
    /// RLIMIT_NOFILE.
    pub open_files: u64,
}

/// Signals whose disposition a session may have changed and that an `exec`
/// would keep if ignored: the child puts them back to their defaults.
const CHILD_DEFAULT_SIGNALS: &[libc::c_int] = &[
    libc::SIGHUP,
    libc::SIGINT,
    libc::SIGQUIT,
    libc::SIGTERM,
    libc::SIGALRM,
    libc::SIGCHLD,
    libc::SIGPIPE,
    libc::SIGUSR1,
    libc::SIGUSR2,
    libc::SIGURG,
    libc::SIGXCPU,
    libc::SIGXFSZ,
];

/// Makes `cmd`'s child, between fork and exec: the leader of a new session and
/// process group (setsid), so one `kill(-pgid)` reaches everything it starts,
/// and no process of it may leave that group (a seccomp filter fails setsid and
/// setpgid with EPERM); killed if the forking thread dies (PR_SET_PDEATHSIG);
/// unable to gain privileges by exec (PR_SET_NO_NEW_PRIVS, so a set-id file in
/// a jail is inert); bound by `limits` plus no core dumps; with the default
/// action for every signal a session changes; and with every descriptor above
/// 2 marked close-on-exec (close_range CLOSE_RANGE_CLOEXEC, Linux 5.11), so
/// exactly stdin, stdout and stderr survive the exec. Any step that fails makes
/// the spawn fail: nothing runs half-confined.
pub fn confine_child(cmd: &mut std::process::Command, limits: ChildLimits) {
    use std::os::unix::process::CommandExt;
    let rl = |r: libc::__rlimit_resource_t, soft: u64, hard: u64| (r, soft, hard);
    let table = [
        rl(
            libc::RLIMIT_CPU,
            limits.cpu_seconds,
            limits.cpu_seconds.saturating_add(1),
        ),
        rl(libc::RLIMIT_AS, limits.memory, limits.memory),
        rl(libc::RLIMIT_NPROC, limits.nproc, limits.nproc),
        rl(libc::RLIMIT_FSIZE, limits.file_max, limits.file_max),
        rl(libc::RLIMIT_NOFILE, limits.open_files, limits.open_files),
        rl(libc::RLIMIT_CORE, 0, 0),
    ];
    let filter = stay_in_group_filter();
    let hook = move || -> io::Result<()> {
        // SAFETY: setsid takes no arguments; async-signal-safe.
        cvt(unsafe { libc::setsid() })?;
        // SAFETY: prctl with integer arguments only; async-signal-safe.
        cvt(unsafe { libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL as libc::c_ulong, 0, 0, 0) })?;
        // SAFETY: as above.
        cvt(unsafe { libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1 as libc::c_ulong, 0, 0, 0) })?;
        for (resource, soft, hard) in table {
            let lim = libc::rlimit {
                rlim_cur: soft as libc::rlim_t,
                rlim_max: hard as libc::rlim_t,
            };
            // SAFETY: a valid resource number and a pointer to a live rlimit.
            cvt(unsafe { libc::setrlimit(resource, &lim) })?;
        }
        // after setsid (which it forbids) and NO_NEW_PRIVS (which lets an
        // unprivileged process install it)
        let Some(mut filter) = filter else {
            return Err(io::Error::from_raw_os_error(libc::ENOSYS));
        };
        let prog = libc::sock_fprog {
            len: filter.len() as libc::c_ushort,
            filter: filter.as_mut_ptr(),
        };
        // SAFETY: `prog` points at `filter`, a valid BPF program that lives in
        // this closure for the whole call; the kernel copies it.
        cvt(unsafe {
            libc::prctl(
                libc::PR_SET_SECCOMP,
                libc::SECCOMP_MODE_FILTER as libc::c_ulong,
                &prog as *const libc::sock_fprog,
                0,
                0,
            )
        })?;
        for &sig in CHILD_DEFAULT_SIGNALS {
            // SAFETY: SIG_DFL is always a valid disposition; async-signal-safe.
            unsafe { libc::signal(sig, libc::SIG_DFL) };
        }
        // SAFETY: close_range takes integers only; with CLOSE_RANGE_CLOEXEC it
        // closes nothing now (std's exec-error pipe keeps working) and the
        // kernel closes every marked descriptor at exec.
        let r = unsafe {
            libc::syscall(
                libc::SYS_close_range,
                3 as libc::c_uint,
                libc::c_uint::MAX,
                libc::CLOSE_RANGE_CLOEXEC,
            )
        };
        if r < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(())
    };
    // SAFETY: the hook runs in the forked child before exec and only makes
    // async-signal-safe system calls (setsid, prctl, setrlimit, signal,
    // close_range) on values copied into it: no allocation, no lock, no access to
    // state another thread of the parent may have left inconsistent.
    unsafe { cmd.pre_exec(hook) };
}

/// The `AUDIT_ARCH_*` value of the architecture tfd is built for (linux/audit.h),
/// which a seccomp filter must check before trusting a syscall number.
const AUDIT_ARCH: Option<u32> = if cfg!(target_arch = "x86_64") {
    Some(0xC000_003E)
} else if cfg!(target_arch = "aarch64") {
    Some(0xC000_00B7)
} else {
    None
};

/// A seccomp filter that makes setsid(2) and setpgid(2) fail with EPERM, so no
/// process of a sandboxed child can leave the process group that a wall-clock
/// kill reaches; every other syscall is allowed. Calls from another ABI (32-bit
/// `int 0x80`, x32), whose numbers differ, fail with EPERM too. None on an
/// architecture this build does not know (the spawn is then refused).
fn stay_in_group_filter() -> Option<[libc::sock_filter; 9]> {
    let arch = AUDIT_ARCH?;
    let stmt = |code: u32, k: u32| libc::sock_filter {
        code: code as u16,
        jt: 0,
        jf: 0,
        k,
    };
    let jump = |code: u32, k: u32, jt: u8, jf: u8| libc::sock_filter {
        code: code as u16,
        jt,
        jf,
        k,
    };
    let deny = libc::SECCOMP_RET_ERRNO | libc::EPERM as u32;
    let load = libc::BPF_LD | libc::BPF_W | libc::BPF_ABS;
    let jeq = libc::BPF_JMP | libc::BPF_JEQ | libc::BPF_K;
    let jge = libc::BPF_JMP | libc::BPF_JGE | libc::BPF_K;
    let ret = libc::BPF_RET | libc::BPF_K;
    // struct seccomp_data: nr at offset 0, arch at offset 4
    Some([
        stmt(load, 4),
        jump(jeq, arch, 1, 0),
        stmt(ret, deny),
        stmt(load, 0),
        // x32 numbers carry bit 30 (__X32_SYSCALL_BIT)
        jump(jge, 0x4000_0000, 3, 0),
        jump(jeq, libc::SYS_setsid as u32, 2, 0),
        jump(jeq, libc::SYS_setpgid as u32, 1, 0),
        stmt(ret, libc::SECCOMP_RET_ALLOW),
        stmt(ret, deny),
    ])
}

/// pidfd_open(2) (Linux 5.3): a descriptor that becomes readable when the
/// process exits, so a wait can be polled together with its output pipe.
pub fn pidfd_open(pid: libc::pid_t) -> io::Result<OwnedFd> {
    // SAFETY: integer arguments only; the result is checked by cvt_fd.
    let r = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0 as libc::c_uint) };
    if r < 0 {
        return Err(io::Error::last_os_error());
    }
    cvt_fd(r as libc::c_int)
}

/// Forks a child that is process 1 of a new PID namespace (CLONE_NEWPID needs
/// root), for RUNBASH's script host: what runs in it sees and signals only its
/// own namespace, and the kernel kills every process of it when that process 1
/// ends. The caller's own namespace for later children (and threads, which
/// may not differ from it) is restored at once; if that fails the caller must
/// end, since it could not start a thread any more.
///
/// The caller may have other threads: the child uses only glibc's fork-safe
/// allocator and no lock another thread may hold (it does not log).
pub fn fork_in_new_pid_ns() -> io::Result<Fork> {
    let own = std::fs::File::open("/proc/thread-self/ns/pid")?;
    // SAFETY: an integer flag; affects only this thread's next children.
    cvt(unsafe { libc::unshare(libc::CLONE_NEWPID) })?;
    // SAFETY: see the doc comment: the child touches no lock held elsewhere.
    let forked = cvt(unsafe { libc::fork() });
    if let Ok(0) = forked {
        return Ok(Fork::Child);
    }
    // SAFETY: `own` is an open namespace descriptor; an integer flag.
    if unsafe { libc::setns(own.as_raw_fd(), libc::CLONE_NEWPID) } != 0 {
        let e = io::Error::last_os_error();
        if let Ok(pid) = forked {
            // SAFETY: signals the child just forked (not reaped: its pid is ours).
            unsafe { libc::kill(pid, libc::SIGKILL) };
        }
        return Err(io::Error::other(format!("restoring the PID namespace: {e}")));
    }
    forked.map(Fork::Parent)
}

/// In a process forked by a session (not by the listener): the listener is no
/// longer its parent, so [`die_with_parent`] must not compare with it.
pub fn forget_listener() {
    LISTENER_PID.store(0, std::sync::atomic::Ordering::SeqCst);
}

/// Asks for SIGKILL when the parent ends (the kernel forgets it on every id
/// change, so it is asked again after one).
pub fn kill_me_with_parent() -> io::Result<()> {
    // SAFETY: PR_SET_PDEATHSIG takes a signal number; no pointers.
    cvt(unsafe { libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL as libc::c_ulong, 0, 0, 0) }).map(|_| ())
}

/// Closes every descriptor above 2 except those in `keep`.
pub fn close_all_but(keep: &[RawFd]) -> io::Result<()> {
    let mut keep: Vec<RawFd> = keep.iter().copied().filter(|&f| f > 2).collect();
    keep.sort_unstable();
    let mut from: libc::c_uint = 3;
    for k in keep.into_iter().map(|k| k as libc::c_uint).chain([libc::c_uint::MAX]) {
        if k > from {
            // SAFETY: close_range takes integers only and closes descriptors this
            // process owns; none of them is referenced again (`keep` is kept).
            let r = unsafe { libc::syscall(libc::SYS_close_range, from, k - 1, 0 as libc::c_uint) };
            if r < 0 {
                return Err(io::Error::last_os_error());
            }
        }
        from = k.saturating_add(1);
    }
    Ok(())
}

/// SIGKILLs every process this one may signal in its PID namespace except
/// itself (as its process 1: every process of the namespace), then reaps them
/// all; returns once none is left.
pub fn kill_and_reap_namespace() {
    // SAFETY: getpid cannot fail.
    if unsafe { libc::getpid() } != 1 {
        // kill(-1) anywhere else would reach every process of this user
        return;
    }
    // SAFETY: kill(-1) takes integers only.
    unsafe { libc::kill(-1, libc::SIGKILL) };
    loop {
        let mut status = 0;
        // SAFETY: waitpid with a pointer to a live int.
        let r = unsafe { libc::waitpid(-1, &mut status, 0) };
        if r < 0 && io::Error::last_os_error().raw_os_error() != Some(libc::EINTR) {
            return;
        }
    }
}
