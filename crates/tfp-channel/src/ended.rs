//! The local port of this process's last connection whose peer ended it (an
//! end of stream, a reset, a broken pipe), noted where the socket is read
//! and written: what a client names when it asks the server afterwards how
//! that session ended (`TFDWHY`, tfp_wire::session_end), where the error it
//! holds by then names no connection.

use std::io;
use std::net::TcpStream;
use std::sync::atomic::{AtomicU32, Ordering};

/// The port, 0 for none yet.
static LAST: AtomicU32 = AtomicU32::new(0);

/// The local port of the last connection of this process its peer ended.
pub fn last_ended_port() -> Option<u16> {
    u16::try_from(LAST.load(Ordering::Relaxed)).ok().filter(|&p| p != 0)
}

/// Notes `sock` when `r`, a read of `asked` bytes or a write, says the peer
/// ended the connection.
pub(crate) fn note(sock: &TcpStream, r: &io::Result<usize>, asked: usize) {
    let ended = match r {
        Ok(0) => asked > 0,
        Ok(_) => false,
        Err(e) => matches!(
            e.kind(),
            io::ErrorKind::ConnectionReset | io::ErrorKind::ConnectionAborted | io::ErrorKind::BrokenPipe
        ),
    };
    if ended {
        if let Ok(a) = sock.local_addr() {
            LAST.store(u32::from(a.port()), Ordering::Relaxed);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;
    use std::net::TcpListener;

    #[test]
    fn an_end_of_stream_notes_the_connections_local_port() {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let mut c = TcpStream::connect(l.local_addr().unwrap()).unwrap();
        drop(l.accept().unwrap());
        let mut b = [0u8; 4];
        let r = c.read(&mut b);
        note(&c, &r, 0);
        note(&c, &Ok(4), 4);
        assert_ne!(last_ended_port(), Some(c.local_addr().unwrap().port()));
        note(&c, &r, b.len());
        assert_eq!(last_ended_port(), Some(c.local_addr().unwrap().port()));
    }
}
