//! Per-session liveness: the PROCKEY published in the shared registry, the TCP
//! keepalive settings, and the OOB thread that answers urgent bytes.

use crate::services::registry::{Registry, KEY_BYTES};
use log::debug;
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sys::socket::{recv, send, setsockopt, sockopt, MsgFlags};
use std::net::TcpStream;
use std::os::fd::{AsFd, AsRawFd};
use std::sync::Arc;
use tfd_sys as sys;
use tfp_channel::UrgentHandler;

/// The session's identity in the registry.
#[derive(Debug, Clone, Copy)]
pub struct Liveness {
    /// Registry slot.
    pub slot: usize,
    /// The PROCKEY (random, 128 bits).
    pub key: [u8; KEY_BYTES],
}

/// TCP keepalive parameters (KEEPALIVE's four fields).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Keepalive {
    /// On or off.
    pub on: bool,
    /// Idle seconds before the first probe.
    pub idle: u32,
    /// Seconds between probes.
    pub interval: u32,
    /// Probes before the connection is dropped.
    pub count: u32,
}

/// The defaults set at accept time (the reference's): on, 3600 s, 75 s, 9.
pub(crate) const DEFAULT_KEEPALIVE: Keepalive = Keepalive {
    on: true,
    idle: 3600,
    interval: 75,
    count: 9,
};

/// Applies keepalive settings, with TCP_USER_TIMEOUT matched to them so that
/// unacknowledged data also ends a dead connection in the same time.
pub(crate) fn set_keepalive(s: &TcpStream, k: Keepalive) -> nix::Result<()> {
    let r = (|| {
        if !k.on {
            setsockopt(s, sockopt::KeepAlive, &false)?;
            return setsockopt(s, sockopt::TcpUserTimeout, &0);
        }
        setsockopt(s, sockopt::KeepAlive, &true)?;
        setsockopt(s, sockopt::TcpKeepIdle, &k.idle)?;
        setsockopt(s, sockopt::TcpKeepInterval, &k.interval)?;
        setsockopt(s, sockopt::TcpKeepCount, &k.count)?;
        let total = (k.idle as u64 + k.interval as u64 * k.count as u64) * 1000;
        let timeout = total.saturating_sub(1).min(u32::MAX as u64) as u32;
        setsockopt(s, sockopt::TcpUserTimeout, &timeout)
    })();
    if r.is_err() {
        let _ = setsockopt(s, sockopt::KeepAlive, &false);
    }
    r
}

/// A fresh random key, published in the registry: from now on UDP probes see this
/// session alive.
pub(crate) fn register(registry: &Registry, slot: usize) -> Option<Liveness> {
    let mut key = [0u8; KEY_BYTES];
    getrandom::getrandom(&mut key).ok()?;
    registry.publish(slot, &key);
    Some(Liveness { slot, key })
}

/// Takes one waiting urgent byte, answers it with the same byte and counts it.
/// Both the OOB thread and the session's reader call this (whoever comes first
/// gets the byte); false when there was nothing to take.
pub(crate) fn answer_urgent(sock: &TcpStream, registry: &Registry, slot: usize) -> bool {
    let mut byte = [0u8; 1];
    match recv(sock.as_raw_fd(), &mut byte, MsgFlags::MSG_OOB | MsgFlags::MSG_DONTWAIT) {
        Ok(1) => {
            registry.oob_increment(slot);
            if let Err(e) = send(sock.as_raw_fd(), &byte, MsgFlags::MSG_OOB | MsgFlags::MSG_NOSIGNAL) {
                debug!("oob echo: {e}");
            }
            true
        }
        _ => false,
    }
}

/// The handler the session's reader runs when it sees urgent data.
pub(crate) fn urgent_handler(
    stream: &TcpStream,
    registry: Arc<Registry>,
    slot: usize,
) -> std::io::Result<UrgentHandler> {
    let sock = stream.try_clone()?;
    Ok(Arc::new(move || answer_urgent(&sock, &registry, slot)))
}

/// Starts the OOB thread: it answers urgent bytes while the session is busy with
/// a command (when the session is waiting for input, its reader answers first:
/// see [`tfp_channel::NetStream`]). It ends with the connection (or the
/// process).
///
/// Why SIGURG and not poll(POLLPRI): a socket wakes every poller on each
/// arriving segment, whatever events it asked for, so a thread in
/// poll(POLLPRI) ran once per segment of every transfer (measured: a context
/// switch per 16 KiB download, 4% of the server's CPU). The kernel sends SIGURG
/// to the socket's owner once per new urgent pointer, so the thread now sleeps
/// in sigwait and only polls, for at most [`AFTER_SIGNAL_MS`], when a signal came
/// before its byte (a pointer may be announced ahead of the data).
pub(crate) fn start_oob(sock: TcpStream, registry: Arc<Registry>, slot: usize) -> std::io::Result<()> {
    std::thread::Builder::new().name("oob".into()).spawn(move || {
        let signalled = sys::block_urgent_signal().and_then(|()| sys::own_urgent_signal(sock.as_fd()));
        if let Err(e) = &signalled {
            debug!("oob: no SIGURG ({e}); polling instead");
        }
        // first a look at what came before the owner was set
        let mut wait = PollTimeout::ZERO;
        loop {
            let mut fds = [PollFd::new(sock.as_fd(), PollFlags::POLLPRI)];
            match poll(&mut fds, if signalled.is_ok() { wait } else { PollTimeout::NONE }) {
                Ok(_) => {}
                Err(nix::errno::Errno::EINTR) => continue,
                Err(_) => return,
            }
            let ev = fds[0].revents().unwrap_or(PollFlags::empty());
            if ev.intersects(PollFlags::POLLERR | PollFlags::POLLHUP | PollFlags::POLLNVAL) {
                return;
            }
            if ev.contains(PollFlags::POLLPRI) {
                if !answer_urgent(&sock, &registry, slot) {
                    // the reader took it meanwhile: let POLLPRI settle instead of spinning
                    std::thread::sleep(std::time::Duration::from_millis(2));
                }
                wait = PollTimeout::ZERO;
                continue;
            }
            // nothing waiting (or the byte a signal announced never came)
            if signalled.is_ok() {
                if sys::wait_urgent_signal().is_err() {
                    return;
                }
                wait = PollTimeout::from(AFTER_SIGNAL_MS);
            }
        }
    })?;
    Ok(())
}

/// After a SIGURG, how long (ms) the OOB thread waits for the urgent byte itself.
const AFTER_SIGNAL_MS: u16 = 1000;

/// Sleeps up to `d`, waking early when the client has gone: true when it closed
/// its end (a readable end of file), reset the connection, or the socket failed
/// (a keepalive that went unanswered). A command that waits for something other
/// than the client (a lock another session holds) sleeps here instead of in
/// `thread::sleep`, so a session never outlives its client in such a wait.
///
/// Only POLLRDHUP is asked for (POLLHUP and POLLERR always come): a frame the
/// client sent ahead stays unread for the command loop and cannot make the wait
/// spin, as a POLLIN would.
pub(crate) fn client_gone_within(sock: std::os::fd::BorrowedFd<'_>, d: std::time::Duration) -> bool {
    let deadline = std::time::Instant::now() + d;
    loop {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        // whole milliseconds, rounded up: a short pause never becomes a busy poll
        let ms = left.as_nanos().div_ceil(1_000_000).min(60_000) as u16;
        let mut fds = [PollFd::new(sock, PollFlags::from_bits_retain(libc::POLLRDHUP))];
        match poll(&mut fds, PollTimeout::from(ms)) {
            Ok(0) if left.is_zero() => return false,
            Ok(0) => {}
            // every event it can report means the client is gone (nix's
            // `revents()` cannot show POLLRDHUP, a bit its flags do not know)
            Ok(_) => return true,
            Err(nix::errno::Errno::EINTR) => {}
            Err(_) => return true,
        }
        if std::time::Instant::now() >= deadline {
            return false;
        }
    }
}
