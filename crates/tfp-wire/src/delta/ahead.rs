//! Reading a file ahead for a delta: its block signatures, window by
//! window ([`signatures_ahead`]), or its bytes and their SHA-256 for the
//! differ ([`read_ahead`]), on a second thread.

#[cfg(test)]
use super::ENTRY;
use super::{signature_entries, MAX_BLOCK};
use sha2::{Digest, Sha256};

/// Why [`signatures_ahead`] stopped short.
#[derive(Debug)]
pub enum SigStop<E> {
    /// Reading the file failed (it shrank meanwhile, an I/O error).
    Read(std::io::Error),
    /// `emit` said stop.
    Emit(E),
}

/// The block signatures of a file of `size` bytes (what `S` frames carry),
/// handed to `emit` a window of whole blocks at a time, in order, `read`
/// (bytes at an offset) filling each window on a second thread while this
/// one makes the last window's signatures: the reads (a copy through the
/// page cache, a quarter of a signature's CPU) no longer leave a core idle
/// between the MD4 halves of [`signature_entries`]. At most two windows
/// of about `window` bytes are held: the reader hands each over only when
/// the last is signed and reads the next into the buffer that one gave
/// back (a third, fresh, cost the first windows' signatures a window of
/// page faults more: 1.4 ms of CPU for 4 MiB on the test machine, issue 43).
pub fn signatures_ahead<E>(
    size: u64,
    block: u32,
    window: usize,
    read: &(dyn Fn(&mut [u8], u64) -> std::io::Result<()> + Sync),
    emit: &mut dyn FnMut(&[u8]) -> Result<(), E>,
) -> Result<(), SigStop<E>> {
    signatures_ahead_from(size, block, (window, 0), window, read, emit)
}

/// [`signatures_ahead`], in windows of `small.0` bytes over the first
/// `small.1` bytes of the file, then of `window`: the first signatures
/// come after a small read, and a window of them is signed by one thread
/// while the reader fills the buffer the last one gave back, so a peer
/// that probes them early has the other core (issue 43: a file that
/// changed entirely, forced as a delta download on loopback, had tf fault
/// in and sign 4 MiB windows on both cores while tfd's probe waited for
/// one).
pub fn signatures_ahead_from<E>(
    size: u64,
    block: u32,
    small: (usize, u64),
    window: usize,
    read: &(dyn Fn(&mut [u8], u64) -> std::io::Result<()> + Sync),
    emit: &mut dyn FnMut(&[u8]) -> Result<(), E>,
) -> Result<(), SigStop<E>> {
    let b = block.max(1) as usize;
    // whole blocks per window, so the windows' signatures join into the file's
    let whole = |w: usize| ((w / b).max(1) * b) as u64;
    let (window, first, first_span) = (whole(window), whole(small.0), small.1);
    let (tx, rx) = std::sync::mpsc::sync_channel::<std::io::Result<(u64, Vec<u8>)>>(0);
    let (back, spare) = std::sync::mpsc::channel::<Vec<u8>>();
    std::thread::scope(|s| {
        s.spawn(move || {
            let mut at = 0u64;
            while at < size {
                let w = if at < first_span { first } else { window };
                let n = (size - at).min(w) as usize;
                let mut buf = spare.try_recv().unwrap_or_default();
                buf.resize(n, 0);
                let r = read(&mut buf, at).map(|()| (at, buf));
                let failed = r.is_err();
                // a receiver gone (emit stopped) ends the reader
                if tx.send(r).is_err() || failed {
                    return;
                }
                at += n as u64;
            }
        });
        // moved in, so a return drops it before the scope waits for the
        // reader: one blocked on a full queue sees it gone and stops
        let rx = rx;
        let mut done = 0u64;
        while done < size {
            let (at, buf) = match rx.recv() {
                Ok(Ok(w)) => w,
                Ok(Err(e)) => return Err(SigStop::Read(e)),
                Err(_) => return Err(SigStop::Read(std::io::Error::other("the reader stopped"))),
            };
            if at != done {
                return Err(SigStop::Read(std::io::Error::other("windows out of order")));
            }
            emit(&signature_entries(&buf, block)).map_err(SigStop::Emit)?;
            done += buf.len() as u64;
            let _ = back.send(buf);
        }
        Ok(())
    })
}

/// Bytes each window of [`read_ahead`] repeats of the one before it: a
/// differ leaves at most a block less one byte of a window unsettled.
pub const OVERLAP: u64 = MAX_BLOCK as u64;

/// What [`read_ahead`]'s reader hands on.
pub enum Ahead {
    /// The file's bytes from this offset (a window; it repeats the last
    /// [`OVERLAP`] bytes of the one before).
    Window(u64, Vec<u8>),
    /// The SHA-256 of the whole file, after its last window.
    Sum(Sha256),
    /// Reading failed.
    Failed(std::io::Error),
}

/// The reader of [`read_ahead`], seen from the differ.
pub struct Reader {
    rx: std::sync::mpsc::Receiver<Ahead>,
    back: std::sync::mpsc::Sender<Vec<u8>>,
    go: std::sync::mpsc::Sender<()>,
}

impl Reader {
    /// The next window (or the sum, or the failure); `None` when the
    /// reader is gone.
    pub fn next(&self) -> Option<Ahead> {
        self.rx.recv().ok()
    }

    /// Gives a window's buffer back for the reader to fill again.
    pub fn give_back(&self, buf: Vec<u8>) {
        let _ = self.back.send(buf);
    }

    /// Lets the reader go on past the first window: the differ has probed
    /// it and the delta pays. Until then only the first window is read and
    /// hashed, so a file that goes whole after the probe (it changed
    /// entirely) cost one window, not `ahead` of them (issue 43: a forced
    /// delta of a changed file hashed 56 of its 64 MiB for nothing).
    pub fn go(&self) {
        let _ = self.go.send(());
    }
}

/// Runs `body` with a reader that reads a file of `size` bytes with `read`
/// (bytes at an offset) on a second thread, in windows of `window` bytes
/// (the first of `first` bytes: what the differ's probe needs, so a file
/// that goes whole after it was not read and hashed further for nothing),
/// at most `ahead` of them waiting, hashing every byte once as it goes: the
/// hash is done while the differ waits for signatures or diffs, and the
/// file is read once. Past the first window it waits for [`Reader::go`].
/// The reader stops when `body` returns.
pub fn read_ahead<T>(
    size: u64,
    first: usize,
    window: usize,
    ahead: usize,
    read: &(dyn Fn(&mut [u8], u64) -> std::io::Result<()> + Sync),
    body: impl FnOnce(&Reader) -> T,
) -> T {
    let (tx, rx) = std::sync::mpsc::sync_channel(ahead.max(1));
    let (back, spare) = std::sync::mpsc::channel::<Vec<u8>>();
    let (go, gate) = std::sync::mpsc::channel::<()>();
    // every window holds more than it repeats of the last
    let window = (window as u64).max(OVERLAP + 1);
    let first = (first as u64).max(OVERLAP + 1);
    std::thread::scope(|s| {
        s.spawn(move || {
            let mut hash = Sha256::new();
            let mut at = 0u64;
            // (the first window starts at 0; each next one OVERLAP before
            // where the last one ended)
            let mut start = 0u64;
            let mut gate = Some(gate);
            while at < size || size == 0 {
                // past the first window only once the differ says go (a
                // `body` that returned first drops the sender: stop)
                if start > 0 {
                    if let Some(g) = gate.take() {
                        if g.recv().is_err() {
                            return;
                        }
                    }
                }
                let end = (start + if start == 0 { first } else { window }).min(size);
                let mut buf = spare.try_recv().unwrap_or_default();
                buf.resize((end - start) as usize, 0);
                if let Err(e) = read(&mut buf, start) {
                    let _ = tx.send(Ahead::Failed(e));
                    return;
                }
                hash.update(&buf[(at - start) as usize..]);
                at = end;
                if tx.send(Ahead::Window(start, buf)).is_err() {
                    return;
                }
                if end == size {
                    break;
                }
                start = end - OVERLAP;
            }
            let _ = tx.send(Ahead::Sum(hash));
        });
        let reader = Reader { rx, back, go };
        let r = body(&reader);
        // the reader sees it gone and stops
        drop(reader);
        r
    })
}

#[cfg(test)]
mod tests {
    use super::super::noise;
    use super::*;

    #[test]
    fn signatures_read_ahead_are_the_files() {
        let data = noise(21, (9 << 20) + 4321);
        let block = 3000;
        let read = |buf: &mut [u8], at: u64| {
            buf.copy_from_slice(&data[at as usize..at as usize + buf.len()]);
            Ok(())
        };
        let mut got = Vec::new();
        let r = signatures_ahead(data.len() as u64, block, 4 << 20, &read, &mut |e: &[u8]| {
            got.extend_from_slice(e);
            Ok::<(), ()>(())
        });
        assert!(r.is_ok());
        assert_eq!(
            got,
            signature_entries(&data, block),
            "windows join into the file's signatures"
        );
        // small windows first, then big ones: the same signatures, and the
        // small ones' each in a window of its own
        let (mut small, mut sizes) = (Vec::new(), Vec::new());
        let r = signatures_ahead_from(data.len() as u64, block, (1 << 20, 3 << 20), 4 << 20, &read, &mut |e| {
            small.extend_from_slice(e);
            sizes.push(e.len() / ENTRY * block as usize);
            Ok::<(), ()>(())
        });
        assert!(r.is_ok());
        assert_eq!(small, signature_entries(&data, block));
        let w = |n: usize| n / block as usize * block as usize;
        // (whole blocks: the fourth small one still starts before 3 MiB)
        let (one, four) = (w(1 << 20), w(4 << 20));
        assert_eq!(sizes[..5], [one, one, one, one, four]);
        let short = |_: &mut [u8], at: u64| match at {
            0 => Ok(()),
            _ => Err(std::io::Error::other("shrank")),
        };
        let r = signatures_ahead(9 << 20, block, 4 << 20, &short, &mut |_: &[u8]| Ok::<(), ()>(()));
        assert!(matches!(r, Err(SigStop::Read(_))));
        let r = signatures_ahead(9 << 20, block, 1 << 20, &read, &mut |_: &[u8]| Err("stop"));
        assert!(matches!(r, Err(SigStop::Emit("stop"))));
    }

    #[test]
    fn a_small_first_window_then_the_rest_joins_into_the_file() {
        let data = noise(22, (3 << 20) + 777);
        let read = |buf: &mut [u8], at: u64| {
            buf.copy_from_slice(&data[at as usize..at as usize + buf.len()]);
            Ok(())
        };
        let (mut joined, mut sum) = (Vec::new(), None);
        read_ahead(data.len() as u64, 1 << 20, 1 << 21, 2, &read, |r| {
            r.go();
            while let Some(a) = r.next() {
                match a {
                    Ahead::Window(start, buf) => {
                        assert!(
                            start == 0 || start + OVERLAP == joined.len() as u64,
                            "each repeats OVERLAP"
                        );
                        if start == 0 {
                            assert_eq!(buf.len(), 1 << 20, "the first window is the probe's");
                        }
                        joined.truncate(start as usize);
                        joined.extend_from_slice(&buf);
                    }
                    Ahead::Sum(h) => sum = Some(h.finalize()),
                    Ahead::Failed(e) => panic!("{e}"),
                }
            }
        });
        assert!(joined == data, "the windows join into the file");
        assert_eq!(sum, Some(Sha256::digest(&data)), "every byte hashed once");
    }
}
