//! Uploads are written behind the cipher: the session deciphers the next chunk
//! into one aligned buffer while a writer thread stores the last one from the
//! other, so disk time overlaps cipher time (which takes a whole core). PUT hands
//! over one chunk per buffer; SNDFILE gathers its frames into them. At most two
//! buffers exist, so a session's memory stays bounded whatever the client sends.
#![forbid(unsafe_code)]

use crate::sys::AlignedBuf;
use std::sync::mpsc::{self, Receiver, SyncSender};
use std::thread::Scope;

/// A written buffer coming back, with the outcome of its write.
type Returned<E> = (AlignedBuf, Result<(), E>);

/// The session's side of a writer thread. Dropping it (on an error path) lets
/// the thread end after its current chunk; [`WriteBehind::finish`] waits.
pub struct WriteBehind<E> {
    work: SyncSender<(AlignedBuf, usize)>,
    done: Receiver<Returned<E>>,
    /// Buffers back from the writer, free for the next chunks.
    free: Vec<AlignedBuf>,
    allocated: usize,
    size: usize,
    /// The first failure the writer reported and nobody has taken yet.
    failure: Option<E>,
}

impl<E: Send> WriteBehind<E> {
    /// Starts the writer thread on `scope`, with buffers of `size` bytes;
    /// `write` stores one chunk, and the thread stops at its first failure.
    pub fn start<'scope, W>(scope: &'scope Scope<'scope, '_>, size: usize, mut write: W) -> WriteBehind<E>
    where
        W: FnMut(&[u8]) -> Result<(), E> + Send + 'scope,
        E: 'scope,
    {
        let (work, work_rx) = mpsc::sync_channel::<(AlignedBuf, usize)>(1);
        let (done_tx, done) = mpsc::channel::<Returned<E>>();
        scope.spawn(move || {
            for (buf, n) in work_rx {
                let r = write(&buf[..n]);
                let failed = r.is_err();
                if done_tx.send((buf, r)).is_err() || failed {
                    return;
                }
            }
        });
        WriteBehind {
            work,
            done,
            free: Vec::new(),
            allocated: 0,
            size,
            failure: None,
        }
    }

    fn take_back(&mut self, (buf, r): Returned<E>) {
        self.free.push(buf);
        if let Err(e) = r {
            self.failure.get_or_insert(e);
        }
    }

    /// The first write failure reported so far, without waiting.
    pub fn failure(&mut self) -> Option<E> {
        while let Ok(r) = self.done.try_recv() {
            self.take_back(r);
        }
        self.failure.take()
    }

    /// An empty buffer for the next chunk; when both are out, waits for the
    /// writer to hand one back.
    pub fn buffer(&mut self) -> AlignedBuf {
        if let Some(b) = self.free.pop() {
            return b;
        }
        if self.allocated < 2 {
            self.allocated += 1;
            return AlignedBuf::zeroed(self.size);
        }
        match self.done.recv() {
            Ok(r) => {
                self.take_back(r);
                self.free.pop().unwrap_or_else(|| AlignedBuf::zeroed(self.size))
            }
            // the writer has stopped at a failure it reported; the data is
            // dropped from here on
            Err(_) => AlignedBuf::zeroed(self.size),
        }
    }

    /// Hands `buf[..len]` to the writer (dropped if it has stopped at a failure,
    /// which [`WriteBehind::failure`] or [`WriteBehind::finish`] reports).
    pub fn submit(&mut self, buf: AlignedBuf, len: usize) {
        let len = len.min(buf.len());
        let _ = self.work.send((buf, len));
    }

    /// Waits until every chunk handed over is written (or failed) and returns
    /// the first failure.
    pub fn finish(self) -> Option<E> {
        let WriteBehind {
            work,
            done,
            mut failure,
            ..
        } = self;
        // closing the queue ends the thread once it is empty
        drop(work);
        for (_, r) in done.iter() {
            if let Err(e) = r {
                failure.get_or_insert(e);
            }
        }
        failure
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Chunks arrive in order and whole; a failure stops the writer, is
    /// reported once, and later chunks are dropped without blocking.
    #[test]
    fn writes_in_order_and_stops_at_the_first_failure() {
        let mut got: Vec<u8> = Vec::new();
        let failure = std::thread::scope(|scope| {
            let sink = &mut got;
            let mut wb = WriteBehind::start(scope, 8, move |c: &[u8]| {
                if c.first() == Some(&b'!') {
                    return Err("disk full");
                }
                sink.extend_from_slice(c);
                Ok(())
            });
            for piece in [&b"abcdefgh"[..], b"ij", b"klm"] {
                let mut b = wb.buffer();
                b[..piece.len()].copy_from_slice(piece);
                wb.submit(b, piece.len());
            }
            let mut b = wb.buffer();
            b[0] = b'!';
            wb.submit(b, 1);
            // the writer has stopped: buffers still come, submits do not block
            for _ in 0..4 {
                let b = wb.buffer();
                wb.submit(b, 3);
            }
            wb.finish()
        });
        assert_eq!(failure, Some("disk full"));
        assert_eq!(got, b"abcdefghijklm");
    }
}
