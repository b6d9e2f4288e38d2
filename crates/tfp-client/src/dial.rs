//! Where a session's TCP connection goes: the server's name resolved, kept
//! to one address family when asked (`tf -4`/`-6`, as ssh and rsync take
//! them), and the socket opened from a given local address when asked.

use crate::Error;
use std::io;
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};

/// One IP address family.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    /// IPv4 only.
    V4,
    /// IPv6 only.
    V6,
}

impl Family {
    fn holds(self, a: &SocketAddr) -> bool {
        a.is_ipv4() == (self == Family::V4)
    }

    fn name(self) -> &'static str {
        match self {
            Family::V4 => "IPv4",
            Family::V6 => "IPv6",
        }
    }
}

/// The address `server` (`host:port`) names: its first, or its first of
/// `family`. A name without one of `family` is a sentence, not a
/// connection made over the other family.
pub fn address(server: &str, family: Option<Family>) -> Result<SocketAddr, Error> {
    let mut all = server.to_socket_addrs()?;
    match family {
        None => all
            .next()
            .ok_or_else(|| Error::Protocol(format!("cannot resolve {server}"))),
        Some(f) => all.find(|a| f.holds(a)).ok_or_else(|| {
            Error::Protocol(format!(
                "the name has no {} address, and only {} was asked for",
                f.name(),
                f.name()
            ))
        }),
    }
}

/// A TCP connection to `to` from the local address `from` (any port).
pub(crate) fn connect_from(from: std::net::IpAddr, to: SocketAddr) -> io::Result<TcpStream> {
    use nix::sys::socket::{bind, connect, socket, AddressFamily, SockFlag, SockType, SockaddrStorage};
    let family = if to.is_ipv4() {
        AddressFamily::Inet
    } else {
        AddressFamily::Inet6
    };
    let fd = socket(family, SockType::Stream, SockFlag::SOCK_CLOEXEC, None)?;
    bind(
        std::os::fd::AsRawFd::as_raw_fd(&fd),
        &SockaddrStorage::from(SocketAddr::new(from, 0)),
    )?;
    connect(std::os::fd::AsRawFd::as_raw_fd(&fd), &SockaddrStorage::from(to))?;
    Ok(TcpStream::from(fd))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_family_keeps_to_its_addresses() {
        assert!(address("127.0.0.1:1", Some(Family::V4)).is_ok());
        assert!(address("[::1]:1", Some(Family::V6)).is_ok());
        let e = address("127.0.0.1:1", Some(Family::V6)).unwrap_err();
        assert_eq!(
            e.to_string(),
            Error::Protocol("the name has no IPv6 address, and only IPv6 was asked for".into()).to_string()
        );
        assert!(address("[::1]:1", Some(Family::V4)).is_err());
        assert_eq!(address("[::1]:1", None).unwrap().to_string(), "[::1]:1");
    }
}
