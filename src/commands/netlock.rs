//! NETLOCK, NETLOCK_TRY, NETUNLOCK (advisory locks held by a session) and
//! NETMUTACQ_TRY, NETMUTREL (a persistent mutex whose owner token lives in a file).
//!
//! Both rest on open file description locks ([`sys::ofd_setlk`]), not POSIX
//! process locks: each NETLOCK is its own open file, so two locks of one session
//! never merge and closing one never drops another, and the kernel (or the NFSv4
//! server, for nodes sharing the data root) sees them like any other fcntl lock.
//! A session's locks end with its descriptors: NETUNLOCK, END, a broken
//! connection, a crash or SIGKILL of the session process.
//!
//! The document's activity timeout: while a session holds locks, its socket's read
//! timeout is the smallest of their timeouts (and `idle_timeout`); a client silent
//! that long has its connection closed, which releases the locks.
//!
//! Waiting is never unbounded: NETLOCK waits at most its own timeout, NETMUT at
//! most [`NETMUT_WAIT`], polling the lock with a growing pause. Between attempts
//! the wait watches the client's socket ([`wait_lock`]): a client that closes the
//! connection (or whose connection breaks) ends the wait and the session at once,
//! so a session never waits out an hour-long NETLOCK for a client that left (it
//! used to, and then took the lock for nobody). The OOB thread runs meanwhile
//! (the dispatcher starts it before any command that may wait), so urgent bytes
//! are answered.

use super::{ArgOr, CmdError, CmdResult, DeniedOr, OrFailed, Reply};
use crate::fsys::Kind;
use crate::session::Session;
use log::{info, warn};
use std::fs::File;
use std::io::{Read, Seek, SeekFrom, Write};
use std::os::fd::{AsFd, OwnedFd};
use std::time::{Duration, Instant};
use tfd_sys::{self as sys, OfdLock};
use tfp_channel::ChannelError;
use tfp_wire::netlock;
use tfp_wire::Failed;

/// Locks one session may hold at once (the reference's table has 8 slots, ids 0..7).
pub(crate) const MAX_LOCKS: usize = 8;

/// Longest wait for the lock guarding a NETMUT file, which other sessions hold
/// only for the length of a command, unless a NETLOCK holder sits on the file.
pub(crate) const NETMUT_WAIT: Duration = Duration::from_secs(10);

/// One held NETLOCK.
pub struct Held {
    /// The open file whose description owns the lock.
    fd: OwnedFd,
    /// (st_dev, st_ino), to refuse a second lock of the same file by this session
    /// (it would wait on itself).
    id: (u64, u64),
    /// Its activity timeout.
    timeout: Duration,
}

/// The session's NETLOCK slots.
#[derive(Default)]
pub struct Locks {
    slots: [Option<Held>; MAX_LOCKS],
}

impl Locks {
    /// The smallest activity timeout of the held locks.
    fn min_timeout(&self) -> Option<Duration> {
        self.slots.iter().flatten().map(|h| h.timeout).min()
    }
}

/// How a wait for a lock ended (other than by an error of the lock itself).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LockWait {
    /// Taken.
    Got,
    /// Still held by someone else when the wait was over.
    Held,
    /// The client closed the connection (or it broke) meanwhile: nobody is
    /// left to take the lock for, so the session ends.
    ClientGone,
}

/// Takes an OFD lock, trying again with a growing pause until `wait` has
/// passed; between attempts it watches `client` (the session's socket), so a
/// client that leaves ends the wait at once instead of after `wait` (which for
/// NETLOCK may be a week). Only a conflicting holder counts as `Held`
/// ([`sys::ofd_setlk`] maps EAGAIN/EACCES); any other error of the lock (ESTALE,
/// EIO, ENOLCK, EBADF…) is returned as itself, for the command's own failure
/// and a log line with the errno, never reported as "locked".
pub(crate) fn wait_lock(
    fd: &OwnedFd,
    what: OfdLock,
    wait: Duration,
    client: Option<std::os::fd::BorrowedFd<'_>>,
) -> std::io::Result<LockWait> {
    let deadline = Instant::now() + wait;
    let mut pause = Duration::from_millis(2);
    loop {
        if sys::ofd_setlk(fd.as_fd(), what)? {
            return Ok(LockWait::Got);
        }
        let now = Instant::now();
        if now >= deadline {
            return Ok(LockWait::Held);
        }
        let nap = pause.min(deadline - now);
        match client {
            Some(sock) if crate::session::liveness::client_gone_within(sock, nap) => return Ok(LockWait::ClientGone),
            Some(_) => {}
            None => std::thread::sleep(nap),
        }
        pause = (pause * 2).min(Duration::from_millis(50));
    }
}

/// [`wait_lock`] for a command of this session: watches its socket, logs an
/// error of the lock with its errno and maps it to `bad`, and ends the session
/// when the client left.
fn session_lock(s: &Session, fd: &OwnedFd, wait: Duration, cmd: &str, bad: Failed) -> Result<bool, CmdError> {
    match wait_lock(fd, OfdLock::Exclusive, wait, Some(s.chan().stream().as_fd())) {
        Ok(LockWait::Got) => Ok(true),
        Ok(LockWait::Held) => Ok(false),
        Ok(LockWait::ClientGone) => {
            info!("{} user={} left while {cmd} waited for a lock", s.peer(), s.user());
            Err(CmdError::Channel(ChannelError::Closed))
        }
        Err(e) => {
            warn!("{} user={} {cmd}: the lock failed: {e}", s.peer(), s.user());
            Err(bad.into())
        }
    }
}

/// Sets the socket's read timeout to the shortest lock timeout, or back to
/// `idle_timeout` when no lock is held.
fn apply_timeout(s: &Session) {
    let idle = s.ctx().cfg.idle_timeout;
    let idle = (!idle.is_zero()).then_some(idle);
    let t = match (s.family::<Locks>().and_then(Locks::min_timeout), idle) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    };
    let _ = s.chan().stream().set_read_timeout(t);
}

/// Opens an existing regular file for a lock; the path is confined like any
/// other. Write access is needed (an exclusive fcntl lock needs a writable
/// descriptor, as in the reference).
fn open_lockable(s: &Session, path: &[u8], bad: Failed) -> Result<(File, libc::stat), Failed> {
    let p = s.path(path)?;
    if p.is_root() {
        return Err(bad);
    }
    let fd = s
        .open(&p, libc::O_RDWR | libc::O_NOCTTY | libc::O_NONBLOCK, 0)
        .denied_or(bad)?;
    let st = sys::fstat(fd.as_fd()).or_failed(bad)?;
    if Kind::of(&st) != Kind::File {
        return Err(bad);
    }
    Ok((File::from(fd), st))
}

fn netlock_common(s: &mut Session, arg: &[u8], wait: bool) -> CmdResult {
    let a = netlock::parse_lock(arg).arg_or(Failed::NetLock)?;
    let Some(slot) = s.family_mut::<Locks>().slots.iter().position(Option::is_none) else {
        info!("{} NETLOCK refused: all {MAX_LOCKS} locks held", s.peer());
        return Err(Failed::NetLock.into());
    };
    let (file, st) = open_lockable(s, a.path, Failed::NetLock)?;
    let id = (st.st_dev, st.st_ino);
    if s.family_mut::<Locks>().slots.iter().flatten().any(|h| h.id == id) {
        return Err(Failed::NetLock.into());
    }
    let fd = OwnedFd::from(file);
    let timeout = Duration::from_millis(a.timeout_ms);
    let name = if wait { "NETLOCK" } else { "NETLOCK_TRY" };
    let got = session_lock(
        s,
        &fd,
        if wait { timeout } else { Duration::ZERO },
        name,
        Failed::NetLock,
    )?;
    if !got {
        return Err(Failed::NetLock.into());
    }
    s.family_mut::<Locks>().slots[slot] = Some(Held { fd, id, timeout });
    apply_timeout(s);
    info!(
        "{} NETLOCK {slot} on {:?} timeout={}s",
        s.peer(),
        String::from_utf8_lossy(a.path),
        netlock::format_timeout(a.timeout_ms)
    );
    Ok(Reply::Data(slot.to_string().into_bytes()))
}

/// `NETLOCK <timeout> <path>`: waits for the lock at most `timeout`.
pub fn netlock(s: &mut Session, arg: &[u8]) -> CmdResult {
    netlock_common(s, arg, true)
}

/// `NETLOCK_TRY <timeout> <path>`: `FAILED 54` at once when the lock is held.
pub fn netlock_try(s: &mut Session, arg: &[u8]) -> CmdResult {
    netlock_common(s, arg, false)
}

/// `NETUNLOCK <lock-id>`.
pub fn netunlock(s: &mut Session, arg: &[u8]) -> CmdResult {
    let id = netlock::parse_id(arg, MAX_LOCKS).or_failed(Failed::NetLock)?;
    let held = s.family_mut::<Locks>().slots[id].take().ok_or(Failed::NetLock)?;
    // closing the only descriptor of the description releases the lock; unlock
    // first anyway so nothing depends on when the descriptor is dropped
    let _ = sys::ofd_setlk(held.fd.as_fd(), OfdLock::Unlock);
    drop(held);
    apply_timeout(s);
    info!("{} NETUNLOCK {id}", s.peer());
    Ok(Reply::Ok)
}

/// Reads the file's whole content if it is at most `max` bytes (`None` if longer).
fn content_upto(f: &mut File, max: usize) -> std::io::Result<Option<Vec<u8>>> {
    f.seek(SeekFrom::Start(0))?;
    let mut buf = Vec::with_capacity(max + 1);
    Read::by_ref(f).take(max as u64 + 1).read_to_end(&mut buf)?;
    Ok((buf.len() <= max).then_some(buf))
}

/// Opens and locks a NETMUT file for the length of a command.
fn mutex_file(s: &Session, path: &[u8]) -> Result<File, CmdError> {
    let (file, _) = open_lockable(s, path, Failed::NetMut)?;
    let fd = OwnedFd::from(file);
    if !session_lock(s, &fd, NETMUT_WAIT, "NETMUT", Failed::NetMut)? {
        return Err(Failed::NetMut.into());
    }
    Ok(File::from(fd))
}

/// `NETMUTACQ_TRY <path> <token>`: the mutex is this token's when the file is
/// empty (the token is then written and synced, so it outlives a crash) or
/// already holds exactly the token.
pub fn netmutacq_try(s: &mut Session, arg: &[u8]) -> CmdResult {
    let a = netlock::parse_mut(arg).arg_or(Failed::NetMut)?;
    let mut f = mutex_file(s, a.path)?;
    let content = content_upto(&mut f, netlock::MAX_TOKEN).or_failed(Failed::NetMut)?;
    match content {
        Some(c) if c.is_empty() => {
            f.seek(SeekFrom::Start(0))
                .and_then(|_| f.write_all(a.token))
                .and_then(|_| f.sync_data())
                .map_err(|_| {
                    // never leave a partial token behind
                    let _ = f.set_len(0);
                    Failed::NetMut
                })?;
        }
        Some(c) if c == a.token => {}
        _ => return Err(Failed::NetMut.into()),
    }
    info!(
        "{} NETMUTACQ_TRY {:?} acquired",
        s.peer(),
        String::from_utf8_lossy(a.path)
    );
    Ok(Reply::Ok)
}

/// `NETMUTREL <path> <token>`: empties the file when it is empty or holds
/// exactly the token.
pub fn netmutrel(s: &mut Session, arg: &[u8]) -> CmdResult {
    let a = netlock::parse_mut(arg).arg_or(Failed::NetMut)?;
    let mut f = mutex_file(s, a.path)?;
    let content = content_upto(&mut f, netlock::MAX_TOKEN).or_failed(Failed::NetMut)?;
    match content {
        Some(c) if c.is_empty() => {}
        Some(c) if c == a.token => {
            f.set_len(0).and_then(|_| f.sync_data()).or_failed(Failed::NetMut)?;
        }
        _ => return Err(Failed::NetMut.into()),
    }
    info!("{} NETMUTREL {:?} released", s.peer(), String::from_utf8_lossy(a.path));
    Ok(Reply::Ok)
}
