//! Processes: fork in its forms, the lifecycle bond with the listener,
//! daemonizing, descriptors a child inherits, and PID namespaces.

use super::signal::default_signal;
use super::{cvt, cvt_fd};
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

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
    // SAFETY: tfd's listener is single-threaded when it forks (see daemon::listener),
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
/// (`auth::privs`) calls this again. A no-op outside [`fork_helper`]'s
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

/// The effective uid.
pub fn geteuid() -> u32 {
    // SAFETY: cannot fail.
    unsafe { libc::geteuid() }
}

/// Clock ticks per second, the unit of the CPU times in `/proc` (sysconf
/// `_SC_CLK_TCK`); None if the system does not say.
pub fn clock_ticks_per_second() -> Option<u64> {
    // SAFETY: sysconf only reads a system constant.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    u64::try_from(hz).ok().filter(|&hz| hz > 0)
}

/// The machine's physical memory in bytes (sysconf `_SC_PHYS_PAGES` times
/// the page size); None if the system does not say.
pub fn physical_memory() -> Option<u64> {
    // SAFETY: sysconf only reads system constants.
    let (pages, page) = unsafe { (libc::sysconf(libc::_SC_PHYS_PAGES), libc::sysconf(libc::_SC_PAGESIZE)) };
    let (pages, page) = (u64::try_from(pages).ok()?, u64::try_from(page).ok()?);
    pages.checked_mul(page).filter(|&b| b > 0)
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
