//! Connections from a trusted balancer (`proxy_from`) wait here, in the
//! listener and without a process of their own, until their PROXY protocol
//! header has arrived: only then is the client's real address known, and every
//! per-address rule (bans, `max_sessions_per_ip`), the registry, the logs, the
//! metrics and the session itself see that address instead of the balancer's.
//!
//! The listener stays single-threaded and never blocks on a client: the sockets
//! are non-blocking, polled with the listening ones, peeked at and parsed by
//! the pure [`tfp_wire::proxy::parse`]. Bytes are taken out of the socket
//! only when they are surely header (all of an incomplete header; of a complete
//! one exactly its length), so not one byte of the client's own stream is
//! taken; and a partial header is taken into the connection's buffer rather
//! than left in the socket, where poll() would report it readable again at
//! once and the listener (nice −10) would spin until the deadline. A
//! connection waits at most [`HEADER_WAIT`], and at most [`MAX_WAITING`] wait at
//! once: a flood from a balancer costs bounded memory and no process.

use crate::config::{Config, ProxyProtocol};
use log::{debug, warn};
use std::io::Read;
use std::net::{SocketAddr, TcpStream};
use std::os::fd::{AsFd, BorrowedFd};
use std::time::{Duration, Instant};
use tfp_wire::proxy::{self, Parsed};

/// How long a balancer's connection may take to deliver its header.
pub(crate) const HEADER_WAIT: Duration = Duration::from_secs(5);
/// How many connections may wait for their header at once.
pub(crate) const MAX_WAITING: usize = 256;

struct Conn {
    stream: TcpStream,
    balancer: SocketAddr,
    deadline: Instant,
    /// The header's bytes taken so far.
    got: Vec<u8>,
}

/// The connections waiting for their header.
#[derive(Default)]
pub struct Waiting {
    conns: Vec<Conn>,
}

/// The one form of a client's address that every rule, log and counter sees:
/// an IPv4-mapped IPv6 address (`::ffff:a.b.c.d`, what a dual-stack socket or
/// a balancer's `TCP6`/`INET6` header gives for an IPv4 client) becomes the
/// IPv4 address, so a ban, a kick or a per-address cap written for one form
/// holds for the other. Applied once, where an address enters: the accepted
/// socket's peer and the PROXY header's source.
pub(crate) fn client_address(a: SocketAddr) -> SocketAddr {
    SocketAddr::new(a.ip().to_canonical(), a.port())
}

/// True if `cfg` expects a header from a connection coming from `ip`.
pub fn expected(cfg: &Config, peer: SocketAddr) -> bool {
    cfg.proxy_protocol != ProxyProtocol::Off && cfg.proxy_from.iter().any(|r| r.contains(peer.ip()))
}

impl Waiting {
    /// Adds a balancer's fresh connection; false (and the connection closed)
    /// when [`MAX_WAITING`] already wait or the socket cannot be made non-blocking.
    pub fn add(&mut self, stream: TcpStream, balancer: SocketAddr) -> bool {
        if self.conns.len() >= MAX_WAITING || stream.set_nonblocking(true).is_err() {
            return false;
        }
        self.conns.push(Conn {
            stream,
            balancer,
            deadline: Instant::now() + HEADER_WAIT,
            got: Vec::new(),
        });
        true
    }

    /// The descriptors to poll for input, in order.
    pub fn fds(&self) -> impl Iterator<Item = BorrowedFd<'_>> {
        self.conns.iter().map(|c| c.stream.as_fd())
    }

    /// How many wait.
    pub fn len(&self) -> usize {
        self.conns.len()
    }

    /// True when none waits.
    pub fn is_empty(&self) -> bool {
        self.conns.is_empty()
    }

    /// The earliest deadline, for the listener's poll timeout.
    pub(crate) fn next_deadline(&self) -> Option<Instant> {
        self.conns.iter().map(|c| c.deadline).min()
    }

    /// Reads what the connections at `readable` (indices into [`Waiting::fds`])
    /// hold, drops those past their deadline, and returns every connection whose
    /// header is complete and acceptable, with the client's address. Every
    /// refusal is logged with the balancer's address and the reason.
    pub fn progress(&mut self, readable: &[usize], mode: ProxyProtocol) -> Vec<(TcpStream, SocketAddr)> {
        let now = Instant::now();
        let mut done = Vec::new();
        let mut keep = Vec::with_capacity(self.conns.len());
        for (i, mut c) in std::mem::take(&mut self.conns).into_iter().enumerate() {
            let step = if readable.contains(&i) {
                read_header(&mut c, mode)
            } else {
                Step::Wait
            };
            match step {
                Step::Wait if now >= c.deadline => {
                    warn!(
                        "{} refused: no complete PROXY header within {}s",
                        c.balancer,
                        HEADER_WAIT.as_secs()
                    )
                }
                Step::Wait => keep.push(c),
                Step::Ready(client) => done.push((c.stream, client)),
                Step::Refuse(why) => warn!("{} refused: {why}", c.balancer),
                Step::Closed => debug!("{} closed before its PROXY header", c.balancer),
            }
        }
        self.conns = keep;
        done
    }
}

enum Step {
    Wait,
    Ready(SocketAddr),
    Refuse(String),
    Closed,
}

fn read_header(c: &mut Conn, mode: ProxyProtocol) -> Step {
    let mut buf = [0u8; proxy::MAX_HEADER];
    let room = proxy::MAX_HEADER - c.got.len();
    if room == 0 {
        return Step::Refuse(format!("a PROXY header longer than {} bytes", proxy::MAX_HEADER));
    }
    let n = match c.stream.peek(&mut buf[..room]) {
        Ok(0) => return Step::Closed,
        Ok(n) => n,
        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => return Step::Wait,
        Err(e) => return Step::Refuse(format!("reading its PROXY header: {e}")),
    };
    let mut all = c.got.clone();
    all.extend_from_slice(&buf[..n]);
    let header = match proxy::parse(&all) {
        Ok(Parsed::Incomplete) => {
            // all of it is header (no header has ended yet): take it out of
            // the socket, so poll() waits for the next bytes
            if let Err(e) = (&c.stream).read_exact(&mut buf[..n]) {
                return Step::Refuse(format!("reading its PROXY header: {e}"));
            }
            c.got = all;
            return Step::Wait;
        }
        Ok(Parsed::Complete(h)) => h,
        Err(e) => return Step::Refuse(format!("{e} (proxy_protocol requires one from this balancer)")),
    };
    if !mode.accepts(header.version) {
        return Step::Refuse(format!(
            "a PROXY {:?} header where proxy_protocol asks for {mode:?}",
            header.version
        ));
    }
    // the rest of the header is in the socket's buffer (just peeked): take
    // exactly it
    let Some(rest) = header.len.checked_sub(c.got.len()) else {
        return Step::Refuse("a PROXY header shorter than what it sent".into());
    };
    let mut consumed = vec![0u8; rest];
    if let Err(e) = (&c.stream).read_exact(&mut consumed) {
        return Step::Refuse(format!("consuming its PROXY header: {e}"));
    }
    Step::Ready(client_address(
        header.addrs.map(|(client, _)| client).unwrap_or(c.balancer),
    ))
}
