//! Runs one program confined and bounded, for RUNBASH: the session's own user,
//! groups and root (inherited: the caller checks they are the ones it wants), a
//! new session and process group, resource limits, only stdin (empty), stdout and
//! stderr (one pipe, read here) as descriptors, an environment given in full by
//! the caller, and a wall-clock limit after which the whole process group is
//! killed. When the program ends its process group is killed too, so nothing it
//! started in the background outlives the run; no process of it can leave the
//! group (setsid and setpgid fail). The syscalls live in
//! [`tfd_sys::confine_child`].
#![forbid(unsafe_code)]

use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sys::signal::{killpg, Signal};
use nix::unistd::Pid;
use std::ffi::OsStr;
use std::io::{self, Read};
use std::os::fd::AsFd;
use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use tfd_sys as sys;

/// How long output is still read after the program ended and its group was
/// killed: only a process that left the group can keep the pipe open that long.
const DRAIN_AFTER_EXIT: Duration = Duration::from_millis(500);

/// Everything that bounds one run.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Wall-clock limit, from spawn to the end of the program.
    pub timeout: Duration,
    /// Most output bytes kept; the rest is read and dropped (so the program
    /// never blocks on a full pipe) and the outcome says `truncated`.
    pub output_max: usize,
    /// The kernel's limits on the child.
    pub child: sys::ChildLimits,
}

/// How the program ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ending {
    /// It exited with this status.
    Exit(i32),
    /// A signal ended it (SIGXCPU or SIGKILL at the CPU limit, for example).
    Signal(i32),
    /// The wall-clock limit ran out and its process group was killed.
    Timeout,
    /// The watched descriptor (the client's connection) closed: nobody is left
    /// to read the result, so its process group was killed.
    Abandoned,
}

impl std::fmt::Display for Ending {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Ending::Exit(n) => write!(f, "exit {n}"),
            Ending::Signal(n) => write!(f, "signal {n}"),
            Ending::Timeout => f.write_str("timeout"),
            Ending::Abandoned => f.write_str("abandoned"),
        }
    }
}

/// What a run produced.
#[derive(Debug)]
pub struct Outcome {
    /// How it ended.
    pub ending: Ending,
    /// stdout and stderr interleaved as written, at most `output_max` bytes.
    pub output: Vec<u8>,
    /// Every byte written, kept or not.
    pub output_bytes: u64,
    /// Output was dropped beyond `output_max`.
    pub truncated: bool,
    /// From spawn to reaping.
    pub elapsed: Duration,
}

/// Collects output up to a bound, counting the rest.
struct Sink {
    kept: Vec<u8>,
    total: u64,
    max: usize,
}

impl Sink {
    fn push(&mut self, b: &[u8]) {
        self.total += b.len() as u64;
        let room = self.max.saturating_sub(self.kept.len());
        self.kept.extend_from_slice(&b[..b.len().min(room)]);
    }
}

/// Runs `program` with `args` (argv[0] is the program), exactly the
/// environment `env`, in `cwd`, bounded by `limits`, and waits for it;
/// `spawned` learns its process group as soon as it exists. While it runs,
/// `watch` (the client's socket) is watched too: when it reports end of file,
/// a hang-up or an error, the group is killed and the ending is
/// [`Ending::Abandoned`]. An error means it never ran (it could not be spawned
/// or watched).
pub fn run(
    program: &Path,
    args: &[&OsStr],
    env: &[(&str, &str)],
    cwd: &Path,
    limits: &Limits,
    watch: Option<std::os::fd::BorrowedFd<'_>>,
    spawned: impl FnOnce(libc::pid_t),
) -> io::Result<Outcome> {
    let cloexec = nix::fcntl::OFlag::O_CLOEXEC;
    // stdin: a pipe whose write end is already closed reads as empty, like
    // /dev/null, which a jail need not have
    let (stdin_r, stdin_w) = nix::unistd::pipe2(cloexec)?;
    drop(stdin_w);
    let (out_r, out_w) = nix::unistd::pipe2(cloexec)?;
    let mut cmd = Command::new(program);
    cmd.args(args)
        .env_clear()
        .envs(env.iter().copied())
        .current_dir(cwd)
        .stdin(Stdio::from(stdin_r))
        .stdout(Stdio::from(out_w.try_clone()?))
        .stderr(Stdio::from(out_w));
    sys::confine_child(&mut cmd, limits.child);
    let started = Instant::now();
    let mut child = cmd.spawn()?;
    // the parent's copies of the child's stdio ends: without this the pipe
    // never reaches end-of-file
    drop(cmd);
    let pid = child.id() as libc::pid_t;
    spawned(pid);
    // the child called setsid: its pid is its process group
    let group = Pid::from_raw(pid);
    let kill_group = || {
        let _ = killpg(group, Signal::SIGKILL);
    };
    let pidfd = match sys::pidfd_open(pid) {
        Ok(fd) => fd,
        Err(e) => {
            kill_group();
            let _ = child.wait();
            return Err(e);
        }
    };
    let mut out = std::fs::File::from(out_r);
    let mut sink = Sink {
        kept: Vec::new(),
        total: 0,
        max: limits.output_max,
    };
    let mut buf = vec![0u8; 16 << 10];
    let deadline = started + limits.timeout;
    let mut pipe_open = true;
    let mut timed_out = false;
    let mut abandoned = false;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            timed_out = true;
            break;
        }
        let ms = left.as_millis().clamp(1, 60_000) as i32;
        let (exited, readable, gone) = {
            let mut fds = vec![PollFd::new(pidfd.as_fd(), PollFlags::POLLIN)];
            // only POLLRDHUP (HUP and ERR always come): a frame the client sent
            // ahead stays unread and cannot make this loop spin
            if let Some(w) = watch {
                fds.push(PollFd::new(w, PollFlags::from_bits_retain(libc::POLLRDHUP)));
            }
            if pipe_open {
                fds.push(PollFd::new(out.as_fd(), PollFlags::POLLIN));
            }
            match poll(&mut fds, PollTimeout::try_from(ms).unwrap_or(PollTimeout::ZERO)) {
                Ok(_) => {}
                Err(nix::errno::Errno::EINTR) => continue,
                Err(e) => {
                    kill_group();
                    let _ = child.wait();
                    return Err(e.into());
                }
            }
            let ready = |f: &PollFd<'_>| f.revents().is_some_and(|r| !r.is_empty());
            // `revents()` is None when a bit nix does not name (POLLRDHUP) is set
            let any = |f: &PollFd<'_>| f.revents() != Some(PollFlags::empty());
            let w = usize::from(watch.is_some());
            (
                ready(&fds[0]),
                pipe_open && fds.get(1 + w).is_some_and(ready),
                w == 1 && any(&fds[1]),
            )
        };
        if readable {
            pipe_open = read_some(&mut out, &mut buf, &mut sink);
        }
        if exited {
            break;
        }
        if gone {
            abandoned = true;
            break;
        }
    }
    // the program ended or ran out of time: nothing of its group survives it
    kill_group();
    if pipe_open {
        let until = Instant::now() + DRAIN_AFTER_EXIT;
        while pipe_open {
            let left = until.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            let mut fds = [PollFd::new(out.as_fd(), PollFlags::POLLIN)];
            let ms = PollTimeout::try_from(left.as_millis().clamp(1, 60_000) as i32).unwrap_or(PollTimeout::ZERO);
            match poll(&mut fds, ms) {
                Ok(0) => break,
                Ok(_) => pipe_open = read_some(&mut out, &mut buf, &mut sink),
                Err(nix::errno::Errno::EINTR) => {}
                Err(_) => break,
            }
        }
    }
    let status = child.wait()?;
    let ending = if abandoned {
        Ending::Abandoned
    } else if timed_out {
        Ending::Timeout
    } else if let Some(code) = status.code() {
        Ending::Exit(code)
    } else {
        Ending::Signal(status.signal().unwrap_or(0))
    };
    Ok(Outcome {
        ending,
        truncated: sink.total > sink.kept.len() as u64,
        output_bytes: sink.total,
        output: sink.kept,
        elapsed: started.elapsed(),
    })
}

/// One read after poll said the pipe is ready; false at end of file or error.
fn read_some(out: &mut std::fs::File, buf: &mut [u8], sink: &mut Sink) -> bool {
    loop {
        match out.read(buf) {
            Ok(0) => return false,
            Ok(n) => {
                sink.push(&buf[..n]);
                return true;
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(_) => return false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sink_keeps_the_bound_and_counts_the_rest() {
        let mut s = Sink {
            kept: Vec::new(),
            total: 0,
            max: 5,
        };
        s.push(b"abc");
        s.push(b"defg");
        s.push(b"h");
        assert_eq!(s.kept, b"abcde");
        assert_eq!(s.total, 8);
        assert_eq!(Ending::Exit(3).to_string(), "exit 3");
        assert_eq!(Ending::Signal(9).to_string(), "signal 9");
        assert_eq!(Ending::Timeout.to_string(), "timeout");
    }

    #[test]
    fn cgroup_hierarchies_come_from_mountinfo() {
        let info = "\
31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
32 31 0:29 / /sys/fs/cgroup/cpu,cpuacct rw,relatime shared:9 - cgroup cgroup rw,cpu,cpuacct
35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
39 31 0:36 / /sys/fs/cgroup/my\\040pids rw,relatime master:3 - cgroup cgroup rw,pids
40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
";
        let m = cgroup_mounts(info);
        let dirs: Vec<_> = m.iter().map(|m| m.dir.to_str().unwrap()).collect();
        assert_eq!(
            dirs,
            [
                "/sys/fs/cgroup/cpu,cpuacct",
                "/sys/fs/cgroup/memory",
                "/sys/fs/cgroup/my pids",
                "/sys/fs/cgroup/systemd",
                "/sys/fs/cgroup/unified"
            ]
        );
        assert!(m[1].has("memory") && !m[1].has("pids"));
        assert!(m[2].has("pids"));
        assert!(m[0].has("cpuacct") && !m[0].has("memory"));
        // the unified hierarchy is not a v1 controller's, whatever its options
        assert!(m[4].v2 && !m[4].has("memory"));
        assert_eq!(unescape_mount_path(r"a\134b\011c\9"), b"a\\b\tc\\9");
    }
}

/// A session's script host: process 1 of a PID namespace of its own, in the
/// session's chroot and with its user's ids, which runs each script through
/// [`run`] on the session's request. Started as root right before the session
/// confines itself ([`Host::spawn`]: a new PID namespace needs root, and
/// neither a chrooted nor an unprivileged session could make one later).
/// What a script starts lives in that namespace: it cannot see or signal any
/// other process on the host (another session of the same system user among
/// them), and after each run every process left in it is killed, so nothing
/// a script started survives the run. The host dies with its session
/// (PDEATHSIG), and the kernel then kills whatever is left in its namespace.
#[derive(Debug)]
pub struct Host {
    link: std::os::unix::net::UnixStream,
    pid: libc::pid_t,
}

/// Largest request or reply on a host link (a script is at most 128 KiB,
/// output at most 256 KiB).
const HOST_MAX_MESSAGE: usize = 1 << 20;

/// Extra time the session gives the host beyond the run's own limit.
const HOST_GRACE: Duration = Duration::from_secs(10);

fn put(out: &mut Vec<u8>, b: &[u8]) {
    out.extend_from_slice(&(b.len() as u32).to_le_bytes());
    out.extend_from_slice(b);
}

/// Takes length-prefixed fields and integers off a message.
struct Fields<'a>(&'a [u8]);

impl<'a> Fields<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if self.0.len() < n {
            return None;
        }
        let (a, b) = self.0.split_at(n);
        self.0 = b;
        Some(a)
    }
    fn u32(&mut self) -> Option<u32> {
        Some(u32::from_le_bytes(self.take(4)?.try_into().ok()?))
    }
    fn u64(&mut self) -> Option<u64> {
        Some(u64::from_le_bytes(self.take(8)?.try_into().ok()?))
    }
    fn bytes(&mut self) -> Option<&'a [u8]> {
        let n = self.u32()? as usize;
        self.take(n)
    }
    fn text(&mut self) -> Option<String> {
        String::from_utf8(self.bytes()?.to_vec()).ok()
    }
}

fn send_message(w: &mut impl io::Write, body: &[u8]) -> io::Result<()> {
    w.write_all(&(body.len() as u32).to_le_bytes())?;
    w.write_all(body)
}

/// None at a clean end of the stream.
fn read_message(r: &mut impl Read) -> io::Result<Option<Vec<u8>>> {
    let mut len = [0u8; 4];
    match r.read_exact(&mut len) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(None),
        Err(e) => return Err(e),
    }
    let len = u32::from_le_bytes(len) as usize;
    if len > HOST_MAX_MESSAGE {
        return Err(io::Error::other("message too large"));
    }
    let mut body = vec![0u8; len];
    r.read_exact(&mut body)?;
    Ok(Some(body))
}

fn encode_request(program: &Path, args: &[&OsStr], env: &[(&str, &str)], cwd: &Path, l: &Limits) -> Vec<u8> {
    use std::os::unix::ffi::OsStrExt;
    let mut m = Vec::new();
    put(&mut m, program.as_os_str().as_bytes());
    m.extend_from_slice(&(args.len() as u32).to_le_bytes());
    for a in args {
        put(&mut m, a.as_bytes());
    }
    m.extend_from_slice(&(env.len() as u32).to_le_bytes());
    for (k, v) in env {
        put(&mut m, k.as_bytes());
        put(&mut m, v.as_bytes());
    }
    put(&mut m, cwd.as_os_str().as_bytes());
    let c = l.child;
    for n in [
        l.timeout.as_millis() as u64,
        l.output_max as u64,
        c.cpu_seconds,
        c.memory,
        c.nproc,
        c.file_max,
        c.open_files,
    ] {
        m.extend_from_slice(&n.to_le_bytes());
    }
    m
}

/// Runs one request in the host; the reply's body.
fn serve_request(req: &[u8]) -> Vec<u8> {
    use std::os::unix::ffi::OsStrExt;
    let parsed = (|| {
        let mut f = Fields(req);
        let program = f.bytes()?.to_vec();
        let args: Vec<Vec<u8>> = (0..f.u32()?)
            .map(|_| f.bytes().map(<[u8]>::to_vec))
            .collect::<Option<_>>()?;
        let env: Vec<(String, String)> = (0..f.u32()?)
            .map(|_| Some((f.text()?, f.text()?)))
            .collect::<Option<_>>()?;
        let cwd = f.bytes()?.to_vec();
        let limits = Limits {
            timeout: Duration::from_millis(f.u64()?),
            output_max: f.u64()? as usize,
            child: sys::ChildLimits {
                cpu_seconds: f.u64()?,
                memory: f.u64()?,
                nproc: f.u64()?,
                file_max: f.u64()?,
                open_files: f.u64()?,
            },
        };
        f.0.is_empty().then_some((program, args, env, cwd, limits))
    })();
    let Some((program, args, env, cwd, limits)) = parsed else {
        return [&[1u8][..], b"malformed request"].concat();
    };
    let args: Vec<&OsStr> = args.iter().map(|a| OsStr::from_bytes(a)).collect();
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let ran = run(
        Path::new(OsStr::from_bytes(&program)),
        &args,
        &env,
        Path::new(OsStr::from_bytes(&cwd)),
        &limits,
        None,
        |_| {},
    );
    // whatever the script left behind (it could not leave this namespace)
    sys::kill_and_reap_namespace();
    match ran {
        Ok(o) => {
            let (kind, code) = match o.ending {
                Ending::Exit(n) => (0u8, n),
                Ending::Signal(n) => (1, n),
                Ending::Timeout => (2, 0),
                // the host watches no client: never here, but the wire form has a place
                Ending::Abandoned => (3, 0),
            };
            let mut m = vec![0u8, kind];
            m.extend_from_slice(&code.to_le_bytes());
            m.extend_from_slice(&o.output_bytes.to_le_bytes());
            m.push(o.truncated as u8);
            m.extend_from_slice(&(o.elapsed.as_micros() as u64).to_le_bytes());
            m.extend_from_slice(&o.output);
            m
        }
        Err(e) => [&[1u8][..], e.to_string().as_bytes()].concat(),
    }
}

fn decode_reply(m: &[u8]) -> io::Result<Outcome> {
    let bad = || io::Error::other("malformed reply from the script host");
    match m.split_first() {
        Some((1, why)) => Err(io::Error::other(String::from_utf8_lossy(why).into_owned())),
        Some((0, rest)) => {
            let mut f = Fields(rest);
            let kind = f.take(1).ok_or_else(bad)?[0];
            let code = i32::from_le_bytes(f.take(4).ok_or_else(bad)?.try_into().map_err(|_| bad())?);
            let output_bytes = f.u64().ok_or_else(bad)?;
            let truncated = f.take(1).ok_or_else(bad)?[0] != 0;
            let elapsed = Duration::from_micros(f.u64().ok_or_else(bad)?);
            let ending = match kind {
                0 => Ending::Exit(code),
                1 => Ending::Signal(code),
                2 => Ending::Timeout,
                3 => Ending::Abandoned,
                _ => return Err(bad()),
            };
            Ok(Outcome {
                ending,
                output: f.0.to_vec(),
                output_bytes,
                truncated,
                elapsed,
            })
        }
        _ => Err(bad()),
    }
}

/// The directory, in each cgroup hierarchy tfd uses, that holds one group per
/// session's script host: `<hierarchy>/tfd-runbash/s<session pid>`.
pub const GROUP_DIR: &str = "tfd-runbash";

/// Where a cgroup v2 hierarchy with controllers is looked for (the unified
/// layout; on a hybrid host the cgroup2 at `unified` has none).
const CGROUP_V2_ROOT: &str = "/sys/fs/cgroup";

/// What bounds a whole script, besides the per-process rlimits.
#[derive(Debug, Clone, Copy)]
pub struct GroupLimits {
    /// The group's memory limit (`runbash_memory`).
    pub memory: u64,
    /// The group's pids.max (`runbash_nproc`, plus the host itself).
    pub nproc: u64,
}

impl GroupLimits {
    /// The limits of a whole script's cgroup: `runbash_memory`, and
    /// `runbash_nproc` processes plus the script host itself.
    pub fn of(rb: &crate::config::RunBash) -> GroupLimits {
        GroupLimits {
            memory: rb.memory,
            nproc: rb.nproc.saturating_add(1),
        }
    }
}

/// A mounted cgroup hierarchy, from /proc/self/mountinfo.
#[derive(Debug, PartialEq, Eq)]
struct CgroupMount {
    dir: std::path::PathBuf,
    v2: bool,
    /// The super options: for v1, the controllers it holds (`rw,memory`).
    options: String,
}

impl CgroupMount {
    fn has(&self, controller: &str) -> bool {
        !self.v2 && self.options.split(',').any(|o| o == controller)
    }
}

/// The cgroup hierarchies in a mountinfo text, in mount order.
fn cgroup_mounts(mountinfo: &str) -> Vec<CgroupMount> {
    use std::os::unix::ffi::OsStringExt;
    mountinfo
        .lines()
        .filter_map(|l| {
            let (left, right) = l.split_once(" - ")?;
            let dir = left.split(' ').nth(4)?;
            let mut r = right.split(' ');
            let v2 = match r.next()? {
                "cgroup2" => true,
                "cgroup" => false,
                _ => return None,
            };
            let options = r.nth(1).unwrap_or("").to_string();
            let dir = std::ffi::OsString::from_vec(unescape_mount_path(dir)).into();
            Some(CgroupMount { dir, v2, options })
        })
        .collect()
}

/// mountinfo writes space, tab, newline and backslash in a path as `\ooo`.
fn unescape_mount_path(s: &str) -> Vec<u8> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let octal = b
            .get(i + 1..i + 4)
            .filter(|d| b[i] == b'\\' && d.iter().all(|c| (b'0'..=b'7').contains(c)));
        match octal {
            Some(d) => {
                out.push(d.iter().fold(0u8, |n, c| n.wrapping_mul(8).wrapping_add(c - b'0')));
                i += 4;
            }
            None => {
                out.push(b[i]);
                i += 1;
            }
        }
    }
    out
}

fn read_cgroup_mounts() -> Result<Vec<CgroupMount>, String> {
    std::fs::read_to_string("/proc/self/mountinfo")
        .map(|m| cgroup_mounts(&m))
        .map_err(|e| format!("/proc/self/mountinfo: {e}"))
}

/// Writes one control file of a group.
fn set(group: &Path, file: &str, value: &str) -> Result<(), String> {
    std::fs::write(group.join(file), value).map_err(|e| format!("{}/{file}: {e}", group.display()))
}

/// `<hierarchy>/tfd-runbash`, made if missing.
fn group_parent(hierarchy: &Path) -> Result<std::path::PathBuf, String> {
    let parent = hierarchy.join(GROUP_DIR);
    match std::fs::create_dir(&parent) {
        Err(e) if e.kind() != io::ErrorKind::AlreadyExists => Err(format!("{}: {e}", parent.display())),
        _ => Ok(parent),
    }
}

/// A fresh `<parent>/s<session>` (one left by an earlier session of this pid
/// is empty and made anew, or in use and an error).
fn new_group(parent: &Path, session: u32) -> Result<std::path::PathBuf, String> {
    use std::fs;
    let group = parent.join(format!("s{session}"));
    if let Err(e) = fs::create_dir(&group) {
        let again = || fs::remove_dir(&group).and_then(|_| fs::create_dir(&group));
        if e.kind() != io::ErrorKind::AlreadyExists || again().is_err() {
            return Err(format!("{}: {e}", group.display()));
        }
    }
    Ok(group)
}

/// Puts this process (the host, still root and not yet chrooted) into a
/// cgroup v2 group of its own with `limits`, so its scripts together stay
/// within them; the description for the log, or why not.
fn join_cgroup_v2(session: u32, limits: GroupLimits) -> Result<String, String> {
    use std::fs;
    let root = Path::new(CGROUP_V2_ROOT);
    let fs_type = nix::sys::statfs::statfs(root).map_err(|e| format!("{}: {e}", root.display()))?;
    if fs_type.filesystem_type() != nix::sys::statfs::CGROUP2_SUPER_MAGIC {
        return Err(format!("{} is not a cgroup v2 hierarchy", root.display()));
    }
    let enabled =
        fs::read_to_string(root.join("cgroup.subtree_control")).map_err(|e| format!("cgroup.subtree_control: {e}"))?;
    for c in ["memory", "pids"] {
        if !enabled.split_whitespace().any(|w| w == c) {
            return Err(format!("the {c} controller is not enabled at {}", root.display()));
        }
    }
    let parent = group_parent(root)?;
    set(&parent, "cgroup.subtree_control", "+memory +pids")?;
    let group = new_group(&parent, session)?;
    let joined = set(&group, "memory.max", &limits.memory.to_string())
        .and_then(|_| set(&group, "pids.max", &limits.nproc.to_string()))
        .and_then(|_| {
            // no way around memory.max through swap (absent without swap support)
            if group.join("memory.swap.max").exists() {
                set(&group, "memory.swap.max", "0")?;
            }
            set(&group, "cgroup.procs", "0")
        });
    if let Err(e) = joined {
        let _ = fs::remove_dir(&group);
        return Err(e);
    }
    Ok(format!(
        "cgroup v2 {} (memory.max {}, pids.max {})",
        group.display(),
        limits.memory,
        limits.nproc
    ))
}

/// As [`join_cgroup_v2`] for cgroup v1 (hybrid or legacy hosts): a group in
/// the memory hierarchy (memory.limit_in_bytes, and memory.memsw.limit_in_bytes
/// where swap is accounted, so swap is no way around it), and one in the pids
/// hierarchy where that is mounted. Memory is required; without a pids
/// hierarchy RLIMIT_NPROC stays the only process bound, and the description
/// says so.
fn join_cgroup_v1(session: u32, limits: GroupLimits, mounts: &[CgroupMount]) -> Result<String, String> {
    let hierarchy = |c: &str| mounts.iter().find(|m| m.has(c)).map(|m| m.dir.as_path());
    let memory = hierarchy("memory").ok_or("no memory hierarchy is mounted")?;
    let mem_group = new_group(&group_parent(memory)?, session)?;
    let bytes = limits.memory.to_string();
    let memsw = mem_group.join("memory.memsw.limit_in_bytes").exists();
    // the pids group is made before anything is joined, so a failure of the
    // memory group leaves nothing joined
    let pids = hierarchy("pids")
        .ok_or_else(|| "no pids hierarchy is mounted".to_string())
        .and_then(|h| pids_group_v1(h, session, limits.nproc));
    let joined = (|| {
        set(&mem_group, "memory.limit_in_bytes", &bytes)?;
        // memory plus swap, which may not be below memory.limit_in_bytes: after it
        if memsw {
            set(&mem_group, "memory.memsw.limit_in_bytes", &bytes)?;
        }
        set(&mem_group, "cgroup.procs", "0")
    })();
    if let Err(e) = joined {
        let _ = std::fs::remove_dir(&mem_group);
        if let Ok(g) = &pids {
            let _ = std::fs::remove_dir(g);
        }
        return Err(e);
    }
    let mut how = format!(
        "cgroup v1 {} (memory.limit_in_bytes {bytes}{})",
        mem_group.display(),
        if memsw {
            ", memory.memsw.limit_in_bytes the same"
        } else {
            ""
        }
    );
    let pids = pids.and_then(|g| match set(&g, "cgroup.procs", "0") {
        Ok(()) => Ok(g),
        Err(e) => {
            let _ = std::fs::remove_dir(&g);
            Err(e)
        }
    });
    match pids {
        Ok(g) => how += &format!(", {} (pids.max {})", g.display(), limits.nproc),
        Err(why) => how += &format!(", processes bounded by RLIMIT_NPROC only ({why})"),
    }
    Ok(how)
}

/// A fresh group with pids.max `max` in the v1 pids hierarchy at `hierarchy`.
fn pids_group_v1(hierarchy: &Path, session: u32, max: u64) -> Result<std::path::PathBuf, String> {
    let group = new_group(&group_parent(hierarchy)?, session)?;
    if let Err(e) = set(&group, "pids.max", &max.to_string()) {
        let _ = std::fs::remove_dir(&group);
        return Err(e);
    }
    Ok(group)
}

/// Puts this process (the host, still root and not yet chrooted) into groups
/// of its own bounding all its scripts together: cgroup v2 where
/// `/sys/fs/cgroup` is usable, else cgroup v1. The description for the log,
/// or why neither (the rlimits alone are then in force).
fn join_cgroup(session: u32, limits: GroupLimits) -> Result<String, String> {
    let v2 = match join_cgroup_v2(session, limits) {
        Ok(how) => return Ok(how),
        Err(why) => why,
    };
    let v1 = read_cgroup_mounts().and_then(|m| join_cgroup_v1(session, limits, &m));
    v1.map_err(|v1| format!("cgroup v2: {v2}; cgroup v1: {v1}"))
}

/// Removes the script hosts' groups, in every cgroup hierarchy, whose session
/// process no longer exists (the listener, as root, after reaping sessions).
/// A group whose host is still exiting is busy and stays; so does the group
/// of a session of another tfd on this host. Returns how many groups of gone
/// sessions are still busy, for the caller to try again a little later.
pub fn remove_stale_cgroups() -> usize {
    let Ok(mounts) = read_cgroup_mounts() else {
        return 0;
    };
    let mut busy = 0;
    let mut seen = std::collections::HashSet::new();
    for m in mounts {
        let parent = m.dir.join(GROUP_DIR);
        if !seen.insert(parent.clone()) {
            continue;
        }
        let Ok(dir) = std::fs::read_dir(&parent) else {
            continue;
        };
        for e in dir.flatten() {
            let name = e.file_name();
            let pid = name
                .to_str()
                .and_then(|n| n.strip_prefix('s'))
                .and_then(|n| n.parse::<u32>().ok());
            let gone = pid.is_some_and(|p| !Path::new(&format!("/proc/{p}")).exists());
            if gone {
                match std::fs::remove_dir(e.path()) {
                    Err(e) if e.raw_os_error() == Some(libc::EBUSY) => busy += 1,
                    _ => {}
                }
            }
        }
    }
    busy
}

impl Host {
    /// Starts the host for a session about to chroot into `jail` and become
    /// `id` (the caller is still root and not yet confined); with `group`, in
    /// cgroups bounding all its scripts together where they can be made (v2,
    /// else v1). Returns the host and what bounds its scripts, for the log.
    pub fn spawn(
        jail: &std::os::fd::OwnedFd,
        id: &crate::auth::privs::Identity,
        group: Option<GroupLimits>,
    ) -> Result<(Host, String), String> {
        use std::os::fd::AsRawFd;
        let (mine, theirs) = std::os::unix::net::UnixStream::pair().map_err(|e| format!("socketpair: {e}"))?;
        let session = std::process::id();
        match sys::fork_in_new_pid_ns().map_err(|e| format!("new PID namespace: {e}"))? {
            sys::Fork::Parent(pid) => {
                let mut host = Host { link: mine, pid };
                // the host's first message says how it is set up (it does not
                // log itself: see sys::fork_in_new_pid_ns)
                let hello = host
                    .link
                    .set_read_timeout(Some(HOST_GRACE))
                    .and_then(|_| read_message(&mut host.link))
                    .map_err(|e| format!("script host: {e}"))?
                    .ok_or("the script host ended at its start")?;
                match hello.split_first() {
                    Some((0, how)) => Ok((host, String::from_utf8_lossy(how).into_owned())),
                    Some((_, why)) => Err(String::from_utf8_lossy(why).into_owned()),
                    None => Err("the script host answered nothing".into()),
                }
            }
            sys::Fork::Child => {
                drop(mine);
                let mut link = theirs;
                let code = match host_setup(jail.as_raw_fd(), link.as_raw_fd(), id, session, group) {
                    Ok(how) => {
                        if send_message(&mut link, &[&[0u8][..], how.as_bytes()].concat()).is_ok() {
                            host_serve(link)
                        } else {
                            1
                        }
                    }
                    Err(why) => {
                        let _ = send_message(&mut link, &[&[1u8][..], why.as_bytes()].concat());
                        1
                    }
                };
                sys::exit_now(code)
            }
        }
    }

    /// Runs `program` in the host as [`run`] would here; an error means it
    /// never ran (or the host failed, and is then gone). While it runs, `watch`
    /// (the client's socket) is watched as [`run`] watches it: when the client
    /// leaves, the host is killed, and its namespace with every process of the
    /// script, and the run ends [`Ending::Abandoned`].
    pub fn run(
        &mut self,
        program: &Path,
        args: &[&OsStr],
        env: &[(&str, &str)],
        cwd: &Path,
        limits: &Limits,
        watch: Option<std::os::fd::BorrowedFd<'_>>,
    ) -> io::Result<Outcome> {
        let started = Instant::now();
        let deadline = started + limits.timeout + HOST_GRACE;
        self.link.set_read_timeout(Some(limits.timeout + HOST_GRACE))?;
        send_message(&mut self.link, &encode_request(program, args, env, cwd, limits))?;
        if let Some(w) = watch {
            loop {
                let left = deadline.saturating_duration_since(Instant::now());
                let ms = left.as_millis().clamp(1, 60_000) as i32;
                let mut fds = [
                    PollFd::new(self.link.as_fd(), PollFlags::POLLIN),
                    PollFd::new(w, PollFlags::from_bits_retain(libc::POLLRDHUP)),
                ];
                match poll(&mut fds, PollTimeout::try_from(ms).unwrap_or(PollTimeout::ZERO)) {
                    Ok(_) | Err(nix::errno::Errno::EINTR) => {}
                    Err(e) => return Err(e.into()),
                }
                // `revents()` is None when a bit nix does not name (POLLRDHUP) is set
                if fds[1].revents() != Some(PollFlags::empty()) {
                    let _ = nix::sys::signal::kill(Pid::from_raw(self.pid), Signal::SIGKILL);
                    return Ok(Outcome {
                        ending: Ending::Abandoned,
                        output: Vec::new(),
                        output_bytes: 0,
                        truncated: false,
                        elapsed: started.elapsed(),
                    });
                }
                if fds[0].revents().is_some_and(|r| !r.is_empty()) || left.is_zero() {
                    break;
                }
            }
        }
        match read_message(&mut self.link)? {
            Some(m) => decode_reply(&m),
            None => Err(io::Error::other("the script host ended")),
        }
    }
}

impl Drop for Host {
    fn drop(&mut self) {
        let _ = nix::sys::signal::kill(Pid::from_raw(self.pid), Signal::SIGKILL);
        let _ = nix::sys::wait::waitpid(Pid::from_raw(self.pid), None);
    }
}

/// In the new host: nothing of the session's but the jail and the link, its
/// cgroup where one can be had, the session's root and ids, and death with the
/// session. Returns what bounds the scripts.
fn host_setup(
    jail: std::os::fd::RawFd,
    link: std::os::fd::RawFd,
    id: &crate::auth::privs::Identity,
    session: u32,
    group: Option<GroupLimits>,
) -> Result<String, String> {
    sys::forget_listener();
    sys::kill_me_with_parent().map_err(|e| format!("PDEATHSIG: {e}"))?;
    sys::close_all_but(&[jail, link]).map_err(|e| format!("closing descriptors: {e}"))?;
    // before the chroot hides /sys/fs/cgroup and the switch takes root away
    let how = match group.map(|g| join_cgroup(session, g)) {
        Some(Ok(how)) => how,
        Some(Err(why)) => format!("per-process rlimits only ({why})"),
        None => "per-process rlimits only".into(),
    };
    nix::unistd::fchdir(jail).map_err(|e| format!("fchdir: {e}"))?;
    nix::unistd::chroot(".").map_err(|e| format!("chroot: {e}"))?;
    nix::unistd::chdir("/").map_err(|e| format!("chdir: {e}"))?;
    sys::close_fd(jail);
    crate::auth::privs::switch(id)?;
    // the id change dropped the request made above
    sys::kill_me_with_parent().map_err(|e| format!("PDEATHSIG: {e}"))?;
    Ok(how)
}

fn host_serve(mut link: std::os::unix::net::UnixStream) -> i32 {
    loop {
        let req = match read_message(&mut link) {
            Ok(Some(r)) => r,
            Ok(None) => return 0,
            Err(_) => return 1,
        };
        let reply = serve_request(&req);
        if send_message(&mut link, &reply).is_err() {
            return 1;
        }
    }
}
