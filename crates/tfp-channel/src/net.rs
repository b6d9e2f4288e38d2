//! The socket under both halves: urgent data kept from being read past, and
//! bandwidth pacing.

use super::secure::{Opening, Sealing};
use super::*;

/// Called when TCP urgent data is waiting; returns true if it consumed the byte.
pub type UrgentHandler = std::sync::Arc<dyn Fn() -> bool + Send + Sync>;

/// The socket, in either direction. With an urgent-data handler it never lets a normal read
/// run past TCP urgent data: Linux drops the urgent byte (and its POLLPRI) once a
/// normal read passes the mark, so each read first polls for POLLIN|POLLPRI and
/// lets the handler take the urgent byte before any normal data is read. POLLIN
/// without POLLPRI guarantees normal data precedes any urgent byte arriving later,
/// and a normal read stops short of the mark, so no urgent byte is ever lost.
pub struct NetStream {
    pub(super) sock: TcpStream,
    pub(super) urgent: Option<UrgentHandler>,
    /// Bandwidth limits (`rate_limit_*`), if any; None costs nothing.
    pub(super) pace: Option<std::sync::Arc<crate::bandwidth::Pace>>,
    /// The secure transport's sending side, once on: every write is a record.
    pub(super) seal: Option<Box<Sealing>>,
    /// The secure transport's receiving side, once on: reads open records.
    pub(super) open: Option<Box<Opening>>,
}

impl NetStream {
    /// The socket.
    pub fn get_ref(&self) -> &TcpStream {
        &self.sock
    }

    /// Whether the secure transport is on in either direction.
    pub fn secure(&self) -> bool {
        self.seal.is_some() || self.open.is_some()
    }

    fn write_sock(&mut self, buf: &[u8]) -> io::Result<usize> {
        let since = std::time::Instant::now();
        let (r, asked) = match &self.pace {
            None => (self.sock.write(buf), buf.len()),
            Some(p) => {
                let n = buf.len().min(p.quantum());
                p.charge(crate::bandwidth::Dir::Out, n);
                (self.sock.write(&buf[..n]), n)
            }
        };
        self.judged(r, asked, since)
    }

    /// A write that ran out its timeout (the peer stopped reading) ends the
    /// connection: it may have cut a frame in two, so nothing sent after it
    /// could be read, and each later write would wait the timeout out again
    /// (a `tf put` to a peer that hung sat three timeouts, 90 s, before it
    /// said so). A blocking write that timed out after taking some bytes
    /// returns their count, not an error: it counts when it took the whole
    /// timeout. Shut down, later writes fail at once.
    fn judged(&self, r: io::Result<usize>, asked: usize, since: std::time::Instant) -> io::Result<usize> {
        crate::ended::note(&self.sock, &r, asked);
        let short = match &r {
            Ok(n) => *n < asked,
            Err(e) => e.kind() == io::ErrorKind::WouldBlock,
        };
        if !short {
            return r;
        }
        match self.sock.write_timeout() {
            Ok(Some(limit)) if r.is_err() || since.elapsed() >= limit => {
                let _ = self.sock.shutdown(std::net::Shutdown::Both);
                Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    "the other side took nothing for the whole write timeout",
                ))
            }
            _ => r,
        }
    }

    pub(super) fn write_sock_all(&mut self, mut buf: &[u8]) -> io::Result<()> {
        while !buf.is_empty() {
            match self.write_sock(buf) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(n) => buf = &buf[n..],
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }
}

impl NetStream {
    /// Reads at most one pacing quantum and charges what arrived (the sender
    /// is held back by TCP's window while we sleep).
    fn read_paced(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let asked = match &self.pace {
            None => buf.len(),
            Some(p) => buf.len().min(p.quantum()),
        };
        let r = self.sock.read(&mut buf[..asked]);
        crate::ended::note(&self.sock, &r, asked);
        if let (Some(p), Ok(n)) = (&self.pace, &r) {
            p.charge(crate::bandwidth::Dir::In, *n);
        }
        r
    }
}

impl Write for NetStream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.seal.is_none() {
            return self.write_sock(buf);
        }
        // one record per write, sent whole: the count is what it carried
        let n = buf.len().min(record::MAX_DATA);
        self.send_record(record::Kind::Data, &buf[..n])?;
        Ok(n)
    }

    /// One syscall for a header and its data when nothing stands between them
    /// and the socket (no records, no pacing): the default would send the
    /// header alone, as a segment of its own.
    fn write_vectored(&mut self, bufs: &[io::IoSlice<'_>]) -> io::Result<usize> {
        if self.seal.is_none() && self.pace.is_none() {
            let (since, asked) = (std::time::Instant::now(), bufs.iter().map(|b| b.len()).sum());
            let r = self.sock.write_vectored(bufs);
            return self.judged(r, asked, since);
        }
        let first = bufs.iter().find(|b| !b.is_empty()).map_or(&[][..], |b| &**b);
        self.write(first)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.sock.flush()
    }
}

impl Read for NetStream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let Some(mut o) = self.open.take() else {
            return self.read_sock(buf);
        };
        let r = self.read_records(&mut o, buf);
        self.open = Some(o);
        r
    }
}

impl NetStream {
    /// Reads the socket (see the type's comment on urgent data).
    pub(super) fn read_sock(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
        use std::os::fd::AsFd;
        let Some(handler) = self.urgent.as_ref() else {
            return self.read_paced(buf);
        };
        loop {
            let timeout = match self.sock.read_timeout()? {
                None => PollTimeout::NONE,
                Some(d) => {
                    PollTimeout::try_from(d.as_millis().clamp(1, i32::MAX as u128) as i32).unwrap_or(PollTimeout::MAX)
                }
            };
            let mut fds = [PollFd::new(self.sock.as_fd(), PollFlags::POLLIN | PollFlags::POLLPRI)];
            match poll(&mut fds, timeout) {
                Ok(0) => return Err(io::Error::new(io::ErrorKind::TimedOut, "read timed out")),
                Ok(_) => {}
                Err(nix::errno::Errno::EINTR) => continue,
                Err(e) => return Err(e.into()),
            }
            let ev = fds[0].revents().unwrap_or(PollFlags::empty());
            if ev.contains(PollFlags::POLLPRI) {
                // never fall into a blocking read here: if the OOB thread took this
                // byte, a blocking read could skip (and so drop) the *next* urgent
                // byte before anyone reads it. Poll again instead.
                if !handler() {
                    std::thread::sleep(std::time::Duration::from_millis(1));
                }
                continue;
            }
            if ev.intersects(PollFlags::POLLIN | PollFlags::POLLHUP | PollFlags::POLLERR | PollFlags::POLLNVAL) {
                return self.read_paced(buf);
            }
        }
    }
}
