//! A session's script host and the messages between it and its session.

use super::cgroup::{join_cgroup, GroupLimits};
use super::run::{run, Ending, Limits, Outcome};
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sys::signal::Signal;
use nix::unistd::Pid;
use std::ffi::OsStr;
use std::fmt;
use std::io::{self, Read};
use std::os::fd::AsFd;
use std::path::Path;
use std::time::{Duration, Instant};
use tfd_sys as sys;

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
            let code = i32::from_le_bytes(f.take(4).and_then(|b| b.try_into().ok()).ok_or_else(bad)?);
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

/// Why a session has no script host (logged with the session's peer).
#[derive(Debug)]
pub enum HostError {
    /// The link to the host could not be made.
    Socketpair(io::Error),
    /// The host's PID namespace could not be made.
    PidNamespace(io::Error),
    /// The host's first message did not come.
    Link(io::Error),
    /// The host ended before it said anything.
    EndedAtStart,
    /// The host could not set itself up: why, in its words ([`SetupError`]).
    Refused(String),
    /// The host's first message was empty.
    Silent,
}

impl fmt::Display for HostError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HostError::Socketpair(e) => write!(f, "socketpair: {e}"),
            HostError::PidNamespace(e) => write!(f, "new PID namespace: {e}"),
            HostError::Link(e) => write!(f, "script host: {e}"),
            HostError::EndedAtStart => f.write_str("the script host ended at its start"),
            HostError::Refused(why) => f.write_str(why),
            HostError::Silent => f.write_str("the script host answered nothing"),
        }
    }
}

impl std::error::Error for HostError {}

/// Why the new host could not confine itself: the step and the OS's error
/// (sent to the session as text, which logs it).
#[derive(Debug)]
enum SetupError {
    /// A step of tfd-sys's, which speaks `io::Error`.
    Os(&'static str, io::Error),
    /// A step of nix's, whose errors read as errno names.
    Nix(&'static str, nix::errno::Errno),
    /// The switch to the session's user.
    Switch(crate::auth::privs::PrivError),
}

impl fmt::Display for SetupError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SetupError::Os(step, e) => write!(f, "{step}: {e}"),
            SetupError::Nix(step, e) => write!(f, "{step}: {e}"),
            SetupError::Switch(e) => write!(f, "{e}"),
        }
    }
}

impl From<crate::auth::privs::PrivError> for SetupError {
    fn from(e: crate::auth::privs::PrivError) -> SetupError {
        SetupError::Switch(e)
    }
}

/// Names the set-up step an error came from: `.step("chroot")?`.
trait Step<T> {
    /// The error as a [`SetupError`] of `step`.
    fn step(self, step: &'static str) -> Result<T, SetupError>;
}

impl<T> Step<T> for io::Result<T> {
    fn step(self, step: &'static str) -> Result<T, SetupError> {
        self.map_err(|e| SetupError::Os(step, e))
    }
}

impl<T> Step<T> for nix::Result<T> {
    fn step(self, step: &'static str) -> Result<T, SetupError> {
        self.map_err(|e| SetupError::Nix(step, e))
    }
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
    ) -> Result<(Host, String), HostError> {
        use std::os::fd::AsRawFd;
        let (mine, theirs) = std::os::unix::net::UnixStream::pair().map_err(HostError::Socketpair)?;
        let session = std::process::id();
        match sys::fork_in_new_pid_ns().map_err(HostError::PidNamespace)? {
            sys::Fork::Parent(pid) => {
                let mut host = Host { link: mine, pid };
                // the host's first message says how it is set up (it does not
                // log itself: see sys::fork_in_new_pid_ns)
                let hello = host
                    .link
                    .set_read_timeout(Some(HOST_GRACE))
                    .and_then(|_| read_message(&mut host.link))
                    .map_err(HostError::Link)?
                    .ok_or(HostError::EndedAtStart)?;
                match hello.split_first() {
                    Some((0, how)) => Ok((host, String::from_utf8_lossy(how).into_owned())),
                    Some((_, why)) => Err(HostError::Refused(String::from_utf8_lossy(why).into_owned())),
                    None => Err(HostError::Silent),
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
                        let _ = send_message(&mut link, &[&[1u8][..], why.to_string().as_bytes()].concat());
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
) -> Result<String, SetupError> {
    sys::forget_listener();
    sys::kill_me_with_parent().step("PDEATHSIG")?;
    sys::close_all_but(&[jail, link]).step("closing descriptors")?;
    // before the chroot hides /sys/fs/cgroup and the switch takes root away
    let how = match group.map(|g| join_cgroup(session, g)) {
        Some(Ok(how)) => how,
        Some(Err(why)) => format!("per-process rlimits only ({why})"),
        None => "per-process rlimits only".into(),
    };
    nix::unistd::fchdir(jail).step("fchdir")?;
    nix::unistd::chroot(".").step("chroot")?;
    nix::unistd::chdir("/").step("chdir")?;
    sys::close_fd(jail);
    crate::auth::privs::switch(id)?;
    // the id change dropped the request made above
    sys::kill_me_with_parent().step("PDEATHSIG")?;
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
