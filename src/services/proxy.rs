//! The transparent proxy (the document's optional TRP): with `trp_ipv4`,
//! `trp_ipv6` or `trp_dns` set, each accepted connection is relayed byte for byte
//! to the target on the same port, TCP urgent (OOB) bytes included, and UDP
//! probes are relayed too. The session process becomes the relay; it never
//! parses a protocol byte.

use crate::config::Trp;
use log::{debug, info, warn};
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sys::socket::{recv, send, MsgFlags};
use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream, ToSocketAddrs, UdpSocket};
use std::os::fd::{AsFd, AsRawFd};
use std::time::Duration;

/// How long connecting to the target may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a relayed UDP probe waits for the target's answer.
const UDP_TIMEOUT: Duration = Duration::from_millis(500);

/// The target's addresses for `port` (DNS names resolved now, so a changed
/// record is followed without a restart).
pub fn target(trp: &Trp, port: u16) -> io::Result<Vec<SocketAddr>> {
    Ok(match trp {
        Trp::V4(ip) => vec![SocketAddr::from((*ip, port))],
        Trp::V6(ip) => vec![SocketAddr::from((*ip, port))],
        Trp::Dns(host) => (host.as_str(), port).to_socket_addrs()?.collect(),
    })
}

fn connect(addrs: &[SocketAddr]) -> io::Result<TcpStream> {
    let mut last = io::Error::other("no address for the proxy target");
    for a in addrs {
        match TcpStream::connect_timeout(a, CONNECT_TIMEOUT) {
            Ok(s) => return Ok(s),
            Err(e) => last = e,
        }
    }
    Err(last)
}

/// Relays one client connection to the target until both sides are done.
pub fn relay(client: TcpStream, peer: SocketAddr, trp: &Trp, port: u16) {
    let server = match target(trp, port).and_then(|a| connect(&a)) {
        Ok(s) => s,
        Err(e) => {
            warn!("{peer} proxy target unreachable: {e}");
            return;
        }
    };
    let _ = client.set_nodelay(true);
    let _ = server.set_nodelay(true);
    info!(
        "{peer} relayed to {}",
        server.peer_addr().map(|a| a.to_string()).unwrap_or_default()
    );
    match pump(&client, &server) {
        Ok((up, down)) => info!("{peer} relay end bytes_in={up} bytes_out={down}"),
        Err(e) => debug!("{peer} relay ended: {e}"),
    }
}

/// One loop over both sockets. Urgent data is checked before normal data on each
/// side, so a normal read never passes (and so drops) an urgent byte.
fn pump(a: &TcpStream, b: &TcpStream) -> io::Result<(u64, u64)> {
    let mut buf = vec![0u8; 64 * 1024];
    let mut open = [true, true]; // a→b, b→a still flowing
    let mut moved = [0u64, 0u64];
    while open[0] || open[1] {
        let flags = |on: bool| {
            if on {
                PollFlags::POLLIN | PollFlags::POLLPRI
            } else {
                PollFlags::POLLPRI
            }
        };
        let mut fds = [
            PollFd::new(a.as_fd(), flags(open[0])),
            PollFd::new(b.as_fd(), flags(open[1])),
        ];
        match poll(&mut fds, PollTimeout::NONE) {
            Ok(_) => {}
            Err(nix::errno::Errno::EINTR) => continue,
            Err(e) => return Err(e.into()),
        }
        let ev = [
            fds[0].revents().unwrap_or(PollFlags::empty()),
            fds[1].revents().unwrap_or(PollFlags::empty()),
        ];
        for (i, (from, to)) in [(a, b), (b, a)].into_iter().enumerate() {
            if ev[i].contains(PollFlags::POLLPRI) {
                let mut byte = [0u8; 1];
                if let Ok(1) = recv(from.as_raw_fd(), &mut byte, MsgFlags::MSG_OOB | MsgFlags::MSG_DONTWAIT) {
                    let _ = send(to.as_raw_fd(), &byte, MsgFlags::MSG_OOB | MsgFlags::MSG_NOSIGNAL);
                }
                continue;
            }
            let readable = ev[i].intersects(PollFlags::POLLIN | PollFlags::POLLHUP | PollFlags::POLLERR);
            if open[i] && readable {
                let mut r = from;
                match r.read(&mut buf) {
                    Ok(0) | Err(_) => {
                        open[i] = false;
                        let _ = to.shutdown(Shutdown::Write);
                    }
                    Ok(n) => {
                        let mut w = to;
                        if w.write_all(&buf[..n]).is_err() {
                            open[i] = false;
                            let _ = from.shutdown(Shutdown::Read);
                        }
                        moved[i] += n as u64;
                    }
                }
            }
            if ev[i].contains(PollFlags::POLLNVAL) {
                return Ok((moved[0], moved[1]));
            }
        }
    }
    Ok((moved[0], moved[1]))
}

/// Relays one UDP probe to the target and returns its answer (None: no answer in
/// time, and the client gets none either).
pub(crate) fn relay_datagram(d: &[u8], trp: &Trp, port: u16) -> Option<Vec<u8>> {
    let to = target(trp, port).ok()?.into_iter().next()?;
    let bind: SocketAddr = if to.is_ipv6() {
        "[::]:0".parse().ok()?
    } else {
        "0.0.0.0:0".parse().ok()?
    };
    let s = UdpSocket::bind(bind).ok()?;
    s.set_read_timeout(Some(UDP_TIMEOUT)).ok()?;
    s.connect(to).ok()?;
    s.send(d).ok()?;
    let mut buf = [0u8; 1024];
    let n = s.recv(&mut buf).ok()?;
    Some(buf[..n].to_vec())
}
