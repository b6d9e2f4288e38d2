//! Runs one program confined and bounded, for RUNBASH: the session's own user,
//! groups and root (inherited: the caller checks they are the ones it wants), a
//! new session and process group, resource limits, only stdin (empty), stdout and
//! stderr (one pipe, read here) as descriptors, an environment given in full by
//! the caller, and a wall-clock limit after which the whole process group is
//! killed. When the program ends its process group is killed too, so nothing it
//! started in the background outlives the run; no process of it can leave the
//! group (setsid and setpgid fail). The syscalls live in
//! [`tfd_sys::confine_child`].

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
pub(super) fn run(
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
}
