//! Confinement of the programs a session spawns (RUNBASH): what happens in
//! the child between fork and exec.

use super::cvt;
use std::io;

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
