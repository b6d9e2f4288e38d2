//! Connections from a trusted balancer (`proxy_from`) wait here, in the
//! listener and without a process of their own, until their PROXY protocol
//! header has arrived: only then is the client's real address known, and every
//! per-address rule (bans, `max_sessions_per_ip`), the registry, the logs, the
//! metrics and the session itself see that address instead of the balancer's.
//!
//! The listener stays single-threaded and never blocks on a client: the sockets
//! are non-blocking, polled with the listening ones, peeked at (so not one byte
//! of the client's own stream is taken) and parsed by the pure
//! [`crate::wire::proxy::parse`]; exactly the header is then consumed. A
//! connection waits at most [`HEADER_WAIT`], and at most [`MAX_WAITING`] wait at
//! once: a flood from a balancer costs bounded memory and no process.

use crate::config::{Config, ProxyProtocol};
use crate::wire::proxy::{self, Parsed};
use log::{debug, warn};
use std::io::Read;
use std::net::{SocketAddr, TcpStream};
use std::os::fd::{AsFd, BorrowedFd};
use std::time::{Duration, Instant};

/// How long a balancer's connection may take to deliver its header.
pub const HEADER_WAIT: Duration = Duration::from_secs(5);
/// How many connections may wait for their header at once.
pub const MAX_WAITING: usize = 256;

struct Conn {
    stream: TcpStream,
    balancer: SocketAddr,
    deadline: Instant,
}

/// The connections waiting for their header.
#[derive(Default)]
pub struct Waiting {
    conns: Vec<Conn>,
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
    pub fn next_deadline(&self) -> Option<Instant> {
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
        for (i, c) in std::mem::take(&mut self.conns).into_iter().enumerate() {
            let step = if readable.contains(&i) {
                read_header(&c, mode)
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

fn read_header(c: &Conn, mode: ProxyProtocol) -> Step {
    let mut buf = [0u8; proxy::MAX_HEADER];
    let n = match c.stream.peek(&mut buf) {
        Ok(0) => return Step::Closed,
        Ok(n) => n,
        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => return Step::Wait,
        Err(e) => return Step::Refuse(format!("reading its PROXY header: {e}")),
    };
    let header = match proxy::parse(&buf[..n]) {
        Ok(Parsed::Incomplete) => return Step::Wait,
        Ok(Parsed::Complete(h)) => h,
        Err(e) => return Step::Refuse(format!("{e} (proxy_protocol requires one from this balancer)")),
    };
    if !mode.accepts(header.version) {
        return Step::Refuse(format!(
            "a PROXY {:?} header where proxy_protocol asks for {mode:?}",
            header.version
        ));
    }
    // the header is in the socket's buffer (just peeked): take exactly it
    let mut consumed = vec![0u8; header.len];
    if let Err(e) = (&c.stream).read_exact(&mut consumed) {
        return Step::Refuse(format!("consuming its PROXY header: {e}"));
    }
    Step::Ready(header.addrs.map(|(client, _)| client).unwrap_or(c.balancer))
}
