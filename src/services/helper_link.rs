//! The request/reply link between a session and a long-lived helper (the key
//! process, the FAI issuer): one SEQPACKET datagram per request, carrying a
//! fresh reply socket, so concurrent sessions never read each other's replies
//! and a helper never blocks on a session that went away. Both helpers speak
//! their own payloads over this one mechanism.

use nix::sys::socket::{
    recvmsg, sendmsg, setsockopt, socketpair, sockopt, AddressFamily, ControlMessage, ControlMessageOwned, MsgFlags,
    SockFlag, SockType, UnixCredentials,
};
use nix::sys::time::TimeVal;
use std::io::{IoSlice, IoSliceMut};
use std::os::fd::{AsFd, AsRawFd, OwnedFd, RawFd};
use std::time::Duration;
use tfd_sys as sys;

/// Sends `req` over `link` with a new reply socket and returns our end of it,
/// whose reads time out after `timeout`. The caller may release `link` (and
/// its lock) before waiting for the reply. The error names the failed step.
pub(crate) fn send_request(
    link: &OwnedFd,
    req: &[u8],
    timeout: Duration,
) -> Result<OwnedFd, (&'static str, nix::Error)> {
    let (mine, theirs) = socketpair(AddressFamily::Unix, SockType::SeqPacket, None, SockFlag::SOCK_CLOEXEC)
        .map_err(|e| ("socketpair", e))?;
    let tv = TimeVal::new(timeout.as_secs() as _, timeout.subsec_micros() as _);
    setsockopt(&mine, sockopt::ReceiveTimeout, &tv).map_err(|e| ("timeout", e))?;
    sendmsg::<()>(
        link.as_raw_fd(),
        &[IoSlice::new(req)],
        &[ControlMessage::ScmRights(&[theirs.as_raw_fd()])],
        MsgFlags::MSG_NOSIGNAL,
        None,
    )
    .map_err(|e| ("request", e))?;
    Ok(mine)
}

/// Waits on our end of a request's reply socket ([`send_request`]'s) for
/// the reply, into `buf`; its length. The error names the step, as
/// [`send_request`]'s does, so each helper's error type maps both with one
/// `From`.
pub fn reply(mine: &OwnedFd, buf: &mut [u8]) -> Result<usize, (&'static str, nix::Error)> {
    nix::sys::socket::recv(mine.as_raw_fd(), buf, MsgFlags::empty()).map_err(|e| ("reply", e))
}

/// What a helper's request socket gave.
pub enum Received {
    /// A request.
    Request {
        /// Bytes of the buffer it filled.
        len: usize,
        /// It did not fit the buffer (or its control data was cut).
        truncated: bool,
        /// The socket to answer on.
        reply_to: OwnedFd,
        /// The sender's uid, when it passed credentials (SO_PASSCRED).
        uid: Option<u32>,
    },
    /// A datagram without exactly one reply socket (dropped; the count).
    Malformed(usize),
    /// Every request end is closed: the helper's work is done.
    HungUp,
}

/// Waits for the next request on `service` into `buf`. Interrupted waits are
/// retried; other errors (a receive timeout among them) are returned.
pub fn receive(service: &OwnedFd, buf: &mut [u8]) -> nix::Result<Received> {
    loop {
        let mut cmsg = nix::cmsg_space!([RawFd; 1], UnixCredentials);
        let mut iov = [IoSliceMut::new(buf)];
        let msg = match recvmsg::<()>(
            service.as_raw_fd(),
            &mut iov,
            Some(&mut cmsg),
            MsgFlags::MSG_CMSG_CLOEXEC,
        ) {
            Ok(m) => m,
            Err(nix::errno::Errno::EINTR) => continue,
            Err(e) => return Err(e),
        };
        let mut fds: Vec<OwnedFd> = Vec::new();
        let mut uid = None;
        if let Ok(cmsgs) = msg.cmsgs() {
            for c in cmsgs {
                match c {
                    ControlMessageOwned::ScmRights(raw) => fds.extend(raw.into_iter().map(sys::own_received_fd)),
                    ControlMessageOwned::ScmCredentials(cred) => uid = Some(cred.uid()),
                    _ => {}
                }
            }
        }
        let truncated = msg.flags.intersects(MsgFlags::MSG_TRUNC | MsgFlags::MSG_CTRUNC);
        let len = msg.bytes;
        if len == 0 && fds.is_empty() {
            if hung_up(service) {
                return Ok(Received::HungUp);
            }
            continue;
        }
        if fds.len() != 1 {
            return Ok(Received::Malformed(fds.len()));
        }
        let reply_to = fds.remove(0);
        return Ok(Received::Request {
            len,
            truncated,
            reply_to,
            uid,
        });
    }
}

/// True once the peer side of the request socket is gone.
fn hung_up(service: &OwnedFd) -> bool {
    use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
    let mut fds = [PollFd::new(service.as_fd(), PollFlags::POLLIN)];
    match poll(&mut fds, PollTimeout::ZERO) {
        Ok(_) => fds[0]
            .revents()
            .is_some_and(|r| r.intersects(PollFlags::POLLHUP | PollFlags::POLLERR)),
        Err(_) => true,
    }
}
