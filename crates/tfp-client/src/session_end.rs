//! How the server ended one of this process's sessions, asked before any
//! handshake on a connection of its own (`TFDWHY`, tfp_wire::session_end):
//! the session's own stream only ends, whether its operator kicked it or
//! its process was killed on the server.

use std::net::{SocketAddr, TcpStream};
use std::time::Duration;
use tfp_channel::Channel;
use tfp_wire::session_end::{self, End};

/// How many times the question is asked while the server still counts the
/// session as running (its process gone, not yet reaped), and how long
/// apart.
const ASKS: usize = 5;
const ASK_AGAIN: Duration = Duration::from_millis(100);

/// How the server at `addr` says the session whose connection had local
/// port `port` ended: asked on `s`, a fresh connection to it, then, while
/// the answer is [`End::Live`], on new ones a moment later (a bounded number
/// of times, each connect and read bounded by `timeout`). `None`: no answer
/// (a server without the question answers `FAILED`).
pub fn ask(mut s: TcpStream, addr: SocketAddr, port: u16, timeout: Duration) -> Option<End> {
    for _ in 0..ASKS {
        s.set_read_timeout(Some(timeout)).ok()?;
        s.set_write_timeout(Some(timeout)).ok()?;
        let mut chan = Channel::new(s).ok()?;
        chan.tx.send_frame(&session_end::request(port)).ok()?;
        let end = chan
            .rx
            .recv_frame_max(session_end::MAX_REPLY)
            .ok()
            .and_then(|f| session_end::parse_reply(&f))?;
        if end != End::Live {
            return Some(end);
        }
        std::thread::sleep(ASK_AGAIN);
        s = TcpStream::connect_timeout(&addr, timeout).ok()?;
    }
    None
}
