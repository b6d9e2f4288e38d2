//! Socket options: delayed ACKs and the SIGURG delivery behind TCP urgent data.

use super::cvt;
use std::io;
use std::os::fd::{AsRawFd, BorrowedFd};

/// TCP_QUICKACK on: acknowledge the next segments at once instead of delaying the
/// ACK. Clients that write a frame's header and payload in two sends without
/// TCP_NODELAY (the Python client does) otherwise wait ~40 ms per command for our
/// delayed ACK. Linux clears the mode by itself, so it is set before each command.
pub fn set_quickack(fd: BorrowedFd<'_>) {
    let one: libc::c_int = 1;
    // SAFETY: valid fd; the option value is a c_int we pass by pointer with its size.
    unsafe {
        libc::setsockopt(
            fd.as_raw_fd(),
            libc::IPPROTO_TCP,
            libc::TCP_QUICKACK,
            (&one as *const libc::c_int).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
}

/// TCP_NOTSENT_LOWAT: how much `fd` may hold not yet sent before a write
/// waits (0: the system's default, unbounded unless set). Bytes a socket
/// holds are out of the sender's hands; one of several streams sharing a
/// file keeps them few, so the others can take over its rest.
pub fn set_notsent_lowat(fd: BorrowedFd<'_>, bytes: u32) {
    let v: libc::c_uint = bytes;
    // SAFETY: valid fd; the option value is a c_uint we pass by pointer with its size.
    unsafe {
        libc::setsockopt(
            fd.as_raw_fd(),
            libc::IPPROTO_TCP,
            libc::TCP_NOTSENT_LOWAT,
            (&v as *const libc::c_uint).cast(),
            std::mem::size_of::<libc::c_uint>() as libc::socklen_t,
        )
    };
}

/// Sends SIGURG for `fd`'s urgent data to the calling thread alone
/// (F_SETOWN_EX, F_OWNER_TID). The libc crate has no constants for it on glibc
/// targets: these are the kernel's ABI (include/uapi/asm-generic/fcntl.h).
pub fn own_urgent_signal(fd: BorrowedFd<'_>) -> io::Result<()> {
    const F_SETOWN_EX: libc::c_int = 15;
    const F_OWNER_TID: libc::c_int = 0;
    #[repr(C)]
    struct FOwnerEx {
        kind: libc::c_int,
        pid: libc::pid_t,
    }
    let owner = FOwnerEx {
        kind: F_OWNER_TID,
        pid: nix::unistd::gettid().as_raw(),
    };
    // SAFETY: F_SETOWN_EX reads one struct f_owner_ex through the pointer,
    // which outlives the call.
    cvt(unsafe { libc::fcntl(fd.as_raw_fd(), F_SETOWN_EX, &owner as *const FOwnerEx) }).map(drop)
}

fn urgent_signal_set() -> nix::sys::signal::SigSet {
    let mut set = nix::sys::signal::SigSet::empty();
    set.add(nix::sys::signal::Signal::SIGURG);
    set
}

/// Blocks SIGURG in the calling thread, so that [`wait_urgent_signal`] takes it.
pub fn block_urgent_signal() -> io::Result<()> {
    urgent_signal_set().thread_block().map_err(io::Error::from)
}

/// Waits for a SIGURG sent to this thread (blocked by [`block_urgent_signal`]).
pub fn wait_urgent_signal() -> io::Result<()> {
    urgent_signal_set().wait().map(drop).map_err(io::Error::from)
}

/// TCP_INFO of the connection `fd` and how many of its bytes the kernel
/// filled (an older kernel fills fewer: the caller checks its fields lie
/// within them); None where it cannot be read.
fn tcp_info(fd: BorrowedFd<'_>) -> Option<(libc::tcp_info, usize)> {
    // SAFETY: tcp_info is plain old data; all zeroes is a valid value.
    let mut info: libc::tcp_info = unsafe { std::mem::zeroed() };
    let mut len = std::mem::size_of::<libc::tcp_info>() as libc::socklen_t;
    // SAFETY: valid fd; the kernel writes at most `len` bytes into `info`,
    // which is that large, and stores the length it wrote in `len`.
    let r = unsafe {
        libc::getsockopt(
            fd.as_raw_fd(),
            libc::IPPROTO_TCP,
            libc::TCP_INFO,
            (&mut info as *mut libc::tcp_info).cast(),
            &mut len,
        )
    };
    (r == 0).then_some((info, len as usize))
}

/// The least round-trip time the kernel saw on the TCP connection `fd`
/// (TCP_INFO's `tcpi_min_rtt`, else the smoothed `tcpi_rtt` on kernels
/// without it), or None where it cannot be read. tf uses it to
/// decide whether a delta pays: on loopback or a LAN the link outruns the
/// signature and diff work, as rsync assumes when it sends local copies whole.
pub fn tcp_rtt(fd: BorrowedFd<'_>) -> Option<std::time::Duration> {
    let (info, len) = tcp_info(fd)?;
    // tcpi_rtt lies well within the first bytes every kernel fills
    let filled = std::mem::offset_of!(libc::tcp_info, tcpi_rtt) + std::mem::size_of::<u32>();
    if len < filled {
        return None;
    }
    // the least round trip seen (Linux 4.9 on) says what the link is: the
    // smoothed one also holds the time a loaded machine took to answer, so
    // loopback on a busy host read as a slow link
    let has_min = std::mem::offset_of!(libc::tcp_info, tcpi_min_rtt) + std::mem::size_of::<u32>();
    let us = if len >= has_min && info.tcpi_min_rtt != 0 {
        info.tcpi_min_rtt.min(info.tcpi_rtt)
    } else {
        info.tcpi_rtt
    };
    Some(std::time::Duration::from_micros(u64::from(us)))
}

/// The rate the TCP connection `fd` delivers data at, as the kernel last
/// measured it (TCP_INFO's `tcpi_delivery_rate`, Linux 4.9 on), in bytes
/// per second, and whether that sample was limited by the sender having
/// too little to send rather than by the network (then the link is at least
/// that fast). None where the kernel does not say. A sender that times its
/// own socket writes learns the link only while they block: one slowed by
/// its own work (compressing) sees writes return at once and takes a 100
/// Mbit/s link for a fast one; the kernel's acknowledged bytes do not lie.
pub fn tcp_delivery_rate(fd: BorrowedFd<'_>) -> Option<(u64, bool)> {
    let (info, len) = tcp_info(fd)?;
    let filled = std::mem::offset_of!(libc::tcp_info, tcpi_delivery_rate) + std::mem::size_of::<u64>();
    if len < filled || info.tcpi_delivery_rate == 0 {
        return None;
    }
    // the kernel's `tcpi_delivery_rate_app_limited` is the low bit of the
    // byte after the window scales, a byte libc's struct leaves as padding
    let flags_at = std::mem::offset_of!(libc::tcp_info, tcpi_snd_rcv_wscale) + 1;
    // SAFETY: `flags_at` lies within `info` (before `tcpi_rto`), whose
    // bytes were all initialised (zeroed, then written by the kernel).
    let flags = unsafe { *(&info as *const libc::tcp_info).cast::<u8>().add(flags_at) };
    Some((info.tcpi_delivery_rate, flags & 1 != 0))
}

/// What [`tcp_delivery`] tells: the kernel's rate and whether the sender
/// limited it, and the connection's busy time and the part of it the
/// receiver's window limited (microseconds since the connection began).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TcpDelivery {
    /// Bytes per second, the kernel's last sample.
    pub rate: u64,
    /// The sample was limited by the sender having too little to send.
    pub app_limited: bool,
    /// Time the connection had data in flight.
    pub busy_us: u64,
    /// Of it, the time the receiver's window limited.
    pub rwnd_limited_us: u64,
}

impl TcpDelivery {
    /// Its fields in order: rate, app-limited, busy and receiver-limited time.
    pub fn parts(&self) -> (u64, bool, u64, u64) {
        (self.rate, self.app_limited, self.busy_us, self.rwnd_limited_us)
    }
}

/// [`tcp_delivery_rate`] with the kernel's chronograph of the connection
/// (`tcpi_busy_time`, `tcpi_rwnd_limited`, Linux 4.10 on; 0 before): a
/// window whose busy time the receiver's window limited was paced by the
/// receiver (its reading, its disk), not by the link.
pub fn tcp_delivery(fd: BorrowedFd<'_>) -> Option<TcpDelivery> {
    let (rate, app_limited) = tcp_delivery_rate(fd)?;
    let (info, len) = tcp_info(fd)?;
    let chrono = std::mem::offset_of!(libc::tcp_info, tcpi_rwnd_limited) + std::mem::size_of::<u64>();
    let (busy_us, rwnd_limited_us) = if len >= chrono {
        (info.tcpi_busy_time, info.tcpi_rwnd_limited)
    } else {
        (0, 0)
    };
    Some(TcpDelivery {
        rate,
        app_limited,
        busy_us,
        rwnd_limited_us,
    })
}

/// The bytes the TCP connection `fd` may have in flight now: its congestion
/// window times its segment size (TCP_INFO's `tcpi_snd_cwnd` and
/// `tcpi_snd_mss`), or None where the kernel does not say. Before a link's
/// rate is known, a transfer of n bytes on a long round trip takes about
/// log2(n / window + 1) round trips of slow start: what fewer bytes (a
/// compressed batch) save there, whatever the link's rate.
pub fn tcp_window(fd: BorrowedFd<'_>) -> Option<u64> {
    let (info, len) = tcp_info(fd)?;
    let filled = std::mem::offset_of!(libc::tcp_info, tcpi_snd_cwnd) + std::mem::size_of::<u32>();
    if len < filled || info.tcpi_snd_cwnd == 0 || info.tcpi_snd_mss == 0 {
        return None;
    }
    Some(u64::from(info.tcpi_snd_cwnd) * u64::from(info.tcpi_snd_mss))
}

/// Whether the peer has sent something on `fd` that is waiting to be read,
/// without waiting: a delta download's client stops making signatures the
/// server already answered (it said early that a delta would not pay).
pub fn readable_now(fd: BorrowedFd<'_>) -> bool {
    let mut p = libc::pollfd {
        fd: fd.as_raw_fd(),
        events: libc::POLLIN,
        revents: 0,
    };
    // SAFETY: one valid pollfd, a timeout of zero: poll only fills `revents`.
    let r = unsafe { libc::poll(&mut p, 1, 0) };
    r > 0 && p.revents & (libc::POLLIN | libc::POLLHUP | libc::POLLERR) != 0
}

/// A TCP listener bound to `addr` inside the network namespace `netns`
/// (a descriptor of /run/netns/NAME), made by this thread, which returns to
/// its own namespace before this answers: the socket keeps the namespace it
/// was made in, so the caller accepts there and connects here (the tests'
/// slow link relays from one namespace to the other). Needs CAP_SYS_ADMIN.
/// An error that says the thread could not return means it must end.
pub fn listen_in_netns(netns: BorrowedFd<'_>, addr: std::net::SocketAddr) -> std::io::Result<std::net::TcpListener> {
    let own = std::fs::File::open("/proc/thread-self/ns/net")?;
    // SAFETY: `netns` is an open descriptor; an integer flag; affects only
    // this thread, which returns to `own` below before anything else runs.
    if unsafe { libc::setns(netns.as_raw_fd(), libc::CLONE_NEWNET) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    let bound = std::net::TcpListener::bind(addr);
    // SAFETY: `own` is an open namespace descriptor; an integer flag.
    if unsafe { libc::setns(own.as_raw_fd(), libc::CLONE_NEWNET) } != 0 {
        let e = std::io::Error::last_os_error();
        return Err(std::io::Error::other(format!(
            "returning to the thread's own network namespace: {e} (the thread must end: its sockets would be made there)"
        )));
    }
    bound
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};
    use std::os::fd::AsFd;

    #[test]
    fn a_connection_that_carried_data_tells_its_delivery_rate() {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = l.local_addr().unwrap();
        let reader = std::thread::spawn(move || {
            let (mut s, _) = l.accept().unwrap();
            let mut buf = vec![0u8; 1 << 16];
            while s.read(&mut buf).unwrap() > 0 {}
        });
        let mut c = std::net::TcpStream::connect(addr).unwrap();
        let chunk = vec![7u8; 1 << 16];
        for _ in 0..64 {
            c.write_all(&chunk).unwrap();
        }
        let got = tcp_delivery_rate(c.as_fd());
        drop(c);
        reader.join().unwrap();
        let (rate, _) = got.expect("Linux 4.9 on tells the rate");
        assert!(rate > 0);
        // a socket that is not TCP cannot tell
        let u = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        assert_eq!(tcp_delivery_rate(u.as_fd()), None);
    }
}
