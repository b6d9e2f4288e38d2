//! The writer every download of a tree goes through: it keeps exactly the
//! size the server announced (by FSTAT) before the transfer. A server that
//! sends more is not believed: what comes past the size is never written, and
//! past [`MAX_EXCESS`] the transfer is broken off, so a lying or changing
//! server can neither grow a local file nor keep a session streaming for ever.

use std::io::{self, Write};
use std::sync::atomic::{AtomicU64, Ordering};

/// Most bytes a server may send past the size it announced before the
/// transfer (and with it the session) is given up.
pub const MAX_EXCESS: u64 = 1 << 20;

/// Writes at most `size` bytes to `inner`; counts the rest and drops it.
pub struct Capped<'a, W> {
    inner: W,
    size: u64,
    got: u64,
    excess: u64,
    /// Bytes written, for a progress display shared between sessions.
    moved: &'a AtomicU64,
}

impl<'a, W: Write> Capped<'a, W> {
    /// A writer for a file announced as `size` bytes.
    pub fn new(inner: W, size: u64, moved: &'a AtomicU64) -> Self {
        Capped {
            inner,
            size,
            got: 0,
            excess: 0,
            moved,
        }
    }

    /// After the transfer: `Ok` when exactly the announced size came, else
    /// why the file must not be kept.
    pub fn verdict(&self) -> Result<(), String> {
        if self.excess > 0 || self.got != self.size {
            return Err(format!(
                "the server announced {} bytes and sent {}; not kept (changed during the transfer?)",
                self.size,
                self.got + self.excess
            ));
        }
        Ok(())
    }
}

impl<W: Write> Write for Capped<'_, W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let take = (buf.len() as u64).min(self.size - self.got) as usize;
        self.inner.write_all(&buf[..take])?;
        self.got += take as u64;
        self.moved.fetch_add(take as u64, Ordering::Relaxed);
        self.excess += (buf.len() - take) as u64;
        if self.excess > MAX_EXCESS {
            return Err(io::Error::other(format!(
                "the server sent more than the {} bytes it announced; broken off",
                self.size
            )));
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_the_announced_size_and_breaks_off_a_flood() {
        let moved = AtomicU64::new(0);
        let mut out = Vec::new();
        let mut w = Capped::new(&mut out, 4, &moved);
        w.write_all(b"ab").unwrap();
        assert!(w.verdict().is_err(), "short");
        w.write_all(b"cdEXTRA").unwrap();
        assert!(w.verdict().is_err(), "long");
        assert!(w.write_all(&vec![0; MAX_EXCESS as usize]).is_err());
        assert_eq!(out, b"abcd");
        assert_eq!(moved.load(Ordering::Relaxed), 4);
        let mut exact = Capped::new(Vec::new(), 3, &moved);
        exact.write_all(b"xyz").unwrap();
        assert!(exact.verdict().is_ok());
    }
}
