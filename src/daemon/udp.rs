//! The UDP probe responder: its own process, forked by the listener first, running
//! as an unprivileged user, one dedicated thread answering HOSTCHECK, PROCHECK,
//! SOCKCHECK and UDP_TLB from the shared registry. Malformed, oversize or unknown
//! datagrams are dropped; replies always go to the sender of that datagram.

use crate::services::registry::{self, Registry};
use log::{debug, info, warn};
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use std::net::{SocketAddr, UdpSocket};
use std::os::fd::AsFd;
use std::sync::Arc;
use tfd_sys::{self as sys, Fork};
use tfp_wire::udp::{self, Probe, MAX_DATAGRAM};

/// What the responder needs; cloned into the child at fork time.
pub struct Responder {
    /// Bound sockets (the listener keeps its copies to respawn the responder).
    pub sockets: Vec<UdpSocket>,
    /// The shared session table.
    pub registry: Arc<Registry>,
    /// The TLB tuples.
    pub tlb: Arc<Vec<String>>,
    /// Relay probes to this transparent-proxy target (and port) instead.
    pub trp: Option<(crate::config::Trp, u16)>,
}

/// Binds one UDP socket per TCP listen address (same port; IPv6 V6ONLY).
pub fn bind(addrs: &[SocketAddr]) -> std::io::Result<Vec<UdpSocket>> {
    use nix::sys::socket::{self, sockopt, AddressFamily, SockFlag, SockType, SockaddrStorage};
    let mut out = Vec::new();
    for addr in addrs {
        let family = if addr.is_ipv6() {
            AddressFamily::Inet6
        } else {
            AddressFamily::Inet
        };
        let fd = socket::socket(family, SockType::Datagram, SockFlag::SOCK_CLOEXEC, None)?;
        if addr.is_ipv6() {
            socket::setsockopt(&fd, sockopt::Ipv6V6Only, &true)?;
        }
        socket::bind(std::os::fd::AsRawFd::as_raw_fd(&fd), &SockaddrStorage::from(*addr))?;
        out.push(UdpSocket::from(fd));
    }
    Ok(out)
}

/// True unless the process has already died (gone, or a zombie the listener has
/// not reaped yet): a killed session reads as dead the moment the kernel says so,
/// not only once the listener got round to reaping it.
fn process_running(pid: u32) -> bool {
    if pid == 0 {
        return true; // not recorded yet: the slot's state decides
    }
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => stat
            .rfind(')')
            .and_then(|i| stat[i + 1..].split_whitespace().next())
            .is_some_and(|st| st != "Z" && st != "X"),
        Err(_) => false,
    }
}

/// The reply to one datagram, or None to stay silent.
pub fn answer(datagram: &[u8], reg: &Registry, tlb: &[String]) -> Option<Vec<u8>> {
    let slot = |k: &[u8]| {
        registry::parse_key(k)
            .and_then(|k| reg.find(&k))
            .filter(|&s| process_running(reg.pid(s)))
    };
    Some(match udp::parse(datagram)? {
        Probe::Host => udp::reply_flag(true),
        Probe::Proc(k) => udp::reply_flag(slot(k).is_some()),
        Probe::Sock(k) => udp::reply_sock(slot(k).map(|s| reg.oob(s))),
        Probe::Tlb => {
            let t = if tlb.is_empty() {
                None
            } else {
                Some(tlb[(reg.tlb_next() % tlb.len() as u64) as usize].as_str())
            };
            udp::reply_tlb(t)
        }
    })
}

/// Forks the responder process; returns its pid.
/// `close_in_child` names descriptors the responder must not inherit.
pub fn spawn(
    r: &Responder,
    user: Option<&crate::auth::privs::Identity>,
    close_in_child: &[std::os::fd::RawFd],
) -> std::io::Result<i32> {
    let sockets: Vec<UdpSocket> = r.sockets.iter().map(|s| s.try_clone()).collect::<Result<_, _>>()?;
    match sys::fork_helper(&super::SIGNALS)? {
        Fork::Parent(pid) => Ok(pid),
        Fork::Child => {
            crate::services::priority::unboost();
            crate::services::helper_child_setup(crate::services::Helper::Udp, close_in_child, user);
            let registry = r.registry.clone();
            let tlb = r.tlb.clone();
            let trp = r.trp.clone();
            let t = crate::services::Helper::Udp
                .thread_builder()
                .spawn(move || serve(&sockets, &registry, &tlb, trp));
            match t.map(|h| h.join()) {
                Ok(Ok(())) => sys::exit_now(0),
                _ => sys::exit_now(1),
            }
        }
    }
}

fn serve(sockets: &[UdpSocket], reg: &Registry, tlb: &[String], trp: Option<(crate::config::Trp, u16)>) {
    info!("udp responder ready on {} socket(s)", sockets.len());
    let mut buf = [0u8; MAX_DATAGRAM + 1];
    loop {
        let mut fds: Vec<PollFd> = sockets
            .iter()
            .map(|s| PollFd::new(s.as_fd(), PollFlags::POLLIN))
            .collect();
        if let Err(e) = poll(&mut fds, PollTimeout::NONE) {
            if e != nix::errno::Errno::EINTR {
                warn!("udp poll: {e}");
            }
            continue;
        }
        let ready: Vec<usize> = fds
            .iter()
            .enumerate()
            .filter(|(_, f)| f.revents().is_some_and(|r| !r.is_empty()))
            .map(|(i, _)| i)
            .collect();
        for i in ready {
            let (n, from) = match sockets[i].recv_from(&mut buf) {
                Ok(x) => x,
                Err(e) => {
                    debug!("udp recv: {e}");
                    continue;
                }
            };
            // n > MAX_DATAGRAM means the datagram was longer than we read: dropped
            if n > MAX_DATAGRAM {
                continue;
            }
            let reply = match &trp {
                Some((t, port)) => crate::services::proxy::relay_datagram(&buf[..n], t, *port),
                None => answer(&buf[..n], reg, tlb),
            };
            if let Some(reply) = reply {
                if let Err(e) = sockets[i].send_to(&reply, from) {
                    debug!("udp reply to {from}: {e}");
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers() {
        let reg = Registry::new(4).unwrap();
        let slot = reg.reserve("127.0.0.1:1".parse().unwrap()).unwrap();
        let key = [0x11u8; registry::KEY_BYTES];
        reg.publish(slot, &key);
        reg.oob_increment(slot);
        let ks = registry::key_string(&key);
        let mut proc_probe = vec![1u8];
        proc_probe.extend_from_slice(ks.as_bytes());
        assert_eq!(answer(&proc_probe, &reg, &[]), Some(vec![1]));
        let mut sock_probe = vec![2u8];
        sock_probe.extend_from_slice(&ks.as_bytes()[1..]);
        assert_eq!(answer(&sock_probe, &reg, &[]), Some(vec![1, b'1', 0]));
        reg.free(slot);
        assert_eq!(answer(&proc_probe, &reg, &[]), Some(vec![0]));
        assert_eq!(answer(&sock_probe, &reg, &[]), Some(vec![0]));
        assert_eq!(answer(&[0], &reg, &[]), Some(vec![1]));
        assert_eq!(answer(&[3], &reg, &[]), Some(vec![0]));
        let tlb = vec!["4 1.2.3.4;5".to_string(), "6 ::1;7".to_string()];
        assert_eq!(answer(&[3], &reg, &tlb), Some(b"\x014 1.2.3.4;5\0".to_vec()));
        assert_eq!(answer(&[3], &reg, &tlb), Some(b"\x016 ::1;7\0".to_vec()));
        assert_eq!(answer(&[9], &reg, &tlb), None);
        assert_eq!(answer(b"\x01garbage", &reg, &tlb), Some(vec![0]));
    }
}
