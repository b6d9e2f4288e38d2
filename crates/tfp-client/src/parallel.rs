//! Parallel streams (the bbftp idea): one file split into N byte ranges moved over
//! N connections at once with PUT/GET at offsets. This works because tfd's PUT
//! writes in place without truncating (decisions.md), and it scales the one thing a
//! single stream cannot: the per-byte cipher runs on one core per connection.

use super::{Client, ClientConfig, Error};
use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::sync::atomic::{AtomicU64, Ordering};
use tfd_sys::{AlignedBuf, IO_ALIGN};
use tfp_wire::hpf::code;
use tfp_wire::Status;

/// The N byte ranges of a file of `size` bytes (empty ranges dropped). Inner
/// boundaries fall on multiples of 4096, so every stream's full chunks stay
/// aligned on disk (and a GET's can be written direct).
pub fn ranges(size: u64, n: usize) -> Vec<(u64, u64)> {
    let n = n.max(1) as u64;
    let cut = |i: u64| {
        if i == n {
            size
        } else {
            (size * i / n) / IO_ALIGN as u64 * IO_ALIGN as u64
        }
    };
    (0..n).map(|i| (cut(i), cut(i + 1))).filter(|(a, b)| b > a).collect()
}

/// Uploads `local` to `remote` over `streams` connections. The remote file is
/// first replaced by an empty one (SNDFILE with overwrite), so no stale tail stays.
/// The first stream's failure is the result: a refusal of the SNDFILE or of a
/// PUT is [`Error::Refused`], a PUT the server cancelled [`Error::Cancelled`].
pub fn put(
    cfg: &ClientConfig,
    local: &std::path::Path,
    remote: &[u8],
    streams: usize,
    bufsz: i64,
    progress: &AtomicU64,
) -> Result<(), Error> {
    let size = std::fs::metadata(local).map_err(Error::Local)?.len();
    let mut c = Client::connect(cfg)?;
    c.sndfile(remote, true, &mut std::io::empty(), &mut |_| {})?;
    let _ = c.end();
    let results: Vec<StreamResult> = std::thread::scope(|scope| {
        let handles: Vec<_> = ranges(size, streams)
            .into_iter()
            .map(|(start, end)| {
                scope.spawn(move || -> StreamResult {
                    let mut f = File::open(local).map_err(Error::Local)?;
                    f.seek(SeekFrom::Start(start)).map_err(Error::Local)?;
                    let mut part = f.take(end - start);
                    let mut c = Client::connect(cfg)?;
                    let mut last = 0;
                    c.put(remote, start, bufsz, &mut part, &mut |n| {
                        progress.fetch_add(n - last, Ordering::Relaxed);
                        last = n;
                    })?;
                    let _ = c.end();
                    Ok(())
                })
            })
            .collect();
        join_all(handles)
    });
    first_failure(results)
}

type StreamResult = Result<(), Error>;

/// Waits for every stream; a panicked one counts as failed.
fn join_all(handles: Vec<std::thread::ScopedJoinHandle<'_, StreamResult>>) -> Vec<StreamResult> {
    handles
        .into_iter()
        .map(|h| h.join().unwrap_or(Err(Error::Protocol("thread panicked".into()))))
        .collect()
}

/// The first failure among the streams, or success when all succeeded.
fn first_failure(results: Vec<StreamResult>) -> StreamResult {
    results.into_iter().collect()
}

/// `GET` of the byte range `[start, end)` of `remote` on `c`, each chunk
/// handed to `sink` in order; what the server sends past `end` (before our
/// cancel arrived) is dropped. The session stays usable afterwards: the
/// cancel is followed through to the server's FIN. [`Error::Refused`] when
/// the server refused, [`Error::Cancelled`] when it cancelled, and
/// [`Error::Mismatch`] when the file ended before `end`.
pub fn get_range(
    c: &mut Client,
    remote: &[u8],
    start: u64,
    end: u64,
    bufsz: i64,
    sink: &mut dyn FnMut(&[u8]) -> std::io::Result<()>,
) -> Result<(), Error> {
    let pos = range(c, remote, start, end, bufsz, Dest::Sink(sink))?;
    if pos < end {
        return Err(Error::Mismatch(format!(
            "the file ended at {pos}, inside the range {start}..{end} (changed on the server?)"
        )));
    }
    Ok(())
}

/// `GET` of `dst.len()` bytes of `remote` from `start` into `dst`, each
/// chunk deciphered where it belongs: a big read into memory (the Python
/// binding's bytes) costs no copy after the wire, where [`get_range`]'s
/// sink copied every byte once more. Returns the bytes that came, fewer
/// when the file ends first (a read past the end is a short read, as
/// `read(2)`'s). Errors and the session afterwards as [`get_range`]'s.
pub fn get_range_into(c: &mut Client, remote: &[u8], start: u64, dst: &mut [u8], bufsz: i64) -> Result<usize, Error> {
    if dst.is_empty() {
        return Ok(0);
    }
    let end = start + dst.len() as u64;
    let pos = range(c, remote, start, end, bufsz, Dest::Memory(&mut { dst }))?;
    Ok((pos - start) as usize)
}

/// A GET of a whole file (from an offset to its end) opened together with
/// the FSTAT that says how big it is: both commands leave in one write and
/// both answers are read before any data, so reading a small file costs the
/// GET's two round trips where a stat first cost three (fsspec's
/// `cat_file`, which needs the size to land the data in one bytes object).
/// The data is then taken with [`SizedGet::recv_into`], which must follow
/// on the same client before any other command.
#[derive(Debug)]
pub struct SizedGet {
    /// The file's size when FSTAT answered.
    pub size: u64,
    start: u64,
    grant: i64,
}

impl SizedGet {
    /// Sends `FSTAT remote` and `GET remote` from `start` (chunks of at most
    /// `bufsz`) back to back and reads both answers. A refusal of either is
    /// the error, the session left taking commands (a GET granted after a
    /// refused FSTAT is followed through to its end first).
    pub fn open(c: &mut Client, remote: &[u8], start: u64, bufsz: i64) -> Result<SizedGet, Error> {
        let want = bufsz.max(1);
        let stat = [&b"FSTAT "[..], remote].concat();
        c.chan.tx.hold();
        c.chan.tx.send_frame(&stat)?;
        c.chan.tx.send_frame(&get_command(remote, start, want))?;
        c.chan.tx.release()?;
        let st = crate::remote::listing::parse_fstat_answer(&c.chan.rx.recv_frame()?);
        match (st, get_granted(c, want)) {
            (Ok(st), Ok(grant)) => Ok(SizedGet {
                size: st.size,
                start,
                grant,
            }),
            (Err(e), Ok(grant)) => {
                range_data(
                    c,
                    start,
                    start,
                    grant,
                    Dest::Memory(&mut &mut [][..]),
                    &mut Riders::default(),
                )?;
                Err(e)
            }
            // both refused (no such file): FSTAT's word says why
            (Err(e), Err(_)) | (Ok(_), Err(e)) => Err(e),
        }
    }

    /// The bytes from the offset to the end as FSTAT saw it (0 when the
    /// offset lies past it).
    pub fn len(&self) -> u64 {
        self.size.saturating_sub(self.start)
    }

    /// Whether [`SizedGet::len`] is 0.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The GET's data deciphered into `dst` (normally [`SizedGet::len`]
    /// bytes) as [`get_range_into`] does; what the file holds past `dst`
    /// (it grew) is dropped, and an empty `dst` just ends the GET (when the
    /// bytes could not be had after all). Returns the bytes that came,
    /// fewer when the file shrank meanwhile.
    pub fn recv_into(self, c: &mut Client, dst: &mut dyn Landing) -> Result<usize, Error> {
        let end = self.start + dst.size() as u64;
        let pos = range_data(
            c,
            self.start,
            end,
            self.grant,
            Dest::Memory(dst),
            &mut Riders::default(),
        )?;
        Ok((pos - self.start) as usize)
    }
}

/// Memory a GET's data lands in, asked for one chunk's room at a time, in
/// order: so memory that must be made ready first (the Python binding's
/// bytes object, zeroed before it may be written through a `&mut [u8]`)
/// is made ready just ahead of the data, while the server goes on sending,
/// instead of all of it before the first byte is read.
pub trait Landing {
    /// The bytes it holds.
    fn size(&self) -> usize;
    /// The `len` bytes from `off`, which lie within [`Landing::size`].
    fn room(&mut self, off: usize, len: usize) -> &mut [u8];
}

impl Landing for &mut [u8] {
    fn size(&self) -> usize {
        self.len()
    }

    fn room(&mut self, off: usize, len: usize) -> &mut [u8] {
        &mut self[off..off + len]
    }
}

/// Where [`range`] lands the chunks.
enum Dest<'a> {
    /// Each chunk's part inside the range handed on.
    Sink(&'a mut dyn FnMut(&[u8]) -> std::io::Result<()>),
    /// The range's memory: a chunk that lies inside it is received in place.
    Memory(&'a mut dyn Landing),
}

/// The GET of `[start, end)` behind [`get_range`] and [`get_range_into`]:
/// returns where the data stopped (`end`, or before it when the file is
/// shorter); a server's cancel is [`Error::Cancelled`].
fn range(c: &mut Client, remote: &[u8], start: u64, end: u64, bufsz: i64, dest: Dest<'_>) -> Result<u64, Error> {
    let want = (end - start).clamp(1, bufsz.max(1) as u64) as i64;
    c.chan.tx.send_frame(&get_command(remote, start, want))?;
    let grant = get_granted(c, want)?;
    range_data(c, start, end, grant, dest, &mut Riders::default())
}

/// The frame of `GET remote` from `start` asking for chunks of `want`.
pub(crate) fn get_command(remote: &[u8], start: u64, want: i64) -> Vec<u8> {
    let mut cmd = b"GET ".to_vec();
    cmd.extend_from_slice(&tfp_wire::hpf::encode(remote, start, want, None));
    cmd
}

/// Reads a GET's answer: the grant, or the refusal as [`Error::Refused`].
fn get_granted(c: &mut Client, want: i64) -> Result<i64, Error> {
    let f = c.chan.rx.recv_frame()?;
    granted(&f, want)?.ok_or_else(|| Error::refused("GET", Status::parse(&f)))
}

/// A granted GET whose data is not wanted after all, followed through to
/// the server's FIN (cancelled at its first chunk) so the session takes
/// commands again; `riders` leave with the client's FIN.
pub(crate) fn drain_get(c: &mut Client, grant: i64, riders: &mut Riders) -> Result<(), Error> {
    range_data(c, 0, 0, grant, Dest::Sink(&mut |_| Ok(())), riders).map(drop)
}

/// Commands that leave in the same write as the client's FIN of a GET: the
/// FIN's round trip is paid anyway (the server's FIN answers it), so they
/// cost none of their own (a fresh `get`'s check that the file held still
/// and the new file's mode, asked once the data is in). Their answers
/// follow the server's FIN, the caller's to read once [`Riders::sent`].
#[derive(Debug, Default)]
pub(crate) struct Riders {
    /// The command lines, in order.
    pub lines: Vec<Vec<u8>>,
    /// Whether they went, behind a FIN.
    pub sent: bool,
}

impl Riders {
    /// Sends `codes` (the FIN, a CANCEL before it), then the lines not yet
    /// sent, in one write.
    pub(crate) fn send_with(&mut self, c: &mut Client, codes: &[i64]) -> Result<(), Error> {
        c.chan.tx.hold();
        for code in codes {
            c.chan.tx.send_i64(*code)?;
        }
        if !self.sent {
            for line in &self.lines {
                c.chan.tx.send_frame(line)?;
            }
            self.sent = !self.lines.is_empty();
        }
        c.chan.tx.release()?;
        Ok(())
    }
}

/// The data of a granted GET from `start`, what lies in `[start, end)`
/// landed in `dest`, the rest dropped; through to the server's FIN, so the
/// session takes commands again. Returns where the data stopped.
fn range_data(
    c: &mut Client,
    start: u64,
    end: u64,
    grant: i64,
    mut dest: Dest<'_>,
    riders: &mut Riders,
) -> Result<u64, Error> {
    let mut pos = start;
    // chunks that do not land in place (a sink's, a tail past the range)
    let mut scratch: Option<AlignedBuf> = None;
    let mut cancelled = false;
    let mut fin = false;
    let mut server_cancelled = false;
    loop {
        let len = c.chan.rx.recv_i64()?;
        if len == code::FIN {
            fin = true;
            break;
        }
        if len <= 0 {
            server_cancelled = len == code::CANCEL;
            break;
        }
        if len > grant {
            return Err(Error::Protocol(format!("chunk {len} over grant {grant}")));
        }
        let take = (len as u64).min(end.saturating_sub(pos)) as usize;
        let off = (pos - start) as usize;
        match &mut dest {
            Dest::Memory(m) if take == len as usize => c.chan.rx.recv_unit(m.room(off, take))?,
            dest => {
                let buf = scratch.get_or_insert_with(|| AlignedBuf::zeroed(grant as usize));
                c.chan.rx.recv_unit(&mut buf[..len as usize])?;
                match dest {
                    Dest::Sink(sink) if take > 0 => sink(&buf[..take]).map_err(Error::Local)?,
                    Dest::Memory(m) => m.room(off, take).copy_from_slice(&buf[..take]),
                    Dest::Sink(_) => {}
                }
            }
        }
        pos += take as u64;
        if pos >= end && !cancelled {
            // our range is complete: cancel, then FIN, and drain to the server's FIN
            riders.send_with(c, &[code::CANCEL, code::FIN])?;
            cancelled = true;
        }
    }
    if !cancelled {
        riders.send_with(c, &[code::FIN])?;
    }
    // after a cancel the server sends no end code, only (maybe) chunks then FIN
    while !fin {
        let len = c.chan.rx.recv_i64()?;
        if len == code::FIN {
            fin = true;
        } else if len > 0 {
            if len > grant {
                return Err(Error::Protocol(format!("chunk {len} over grant {grant}")));
            }
            let buf = scratch.get_or_insert_with(|| AlignedBuf::zeroed(grant as usize));
            c.chan.rx.recv_unit(&mut buf[..len as usize])?;
        }
    }
    if pos < end && server_cancelled {
        return Err(Error::Cancelled { command: "GET" });
    }
    Ok(pos)
}

/// The grant of a GET or GETCAN answer (`OK` and 8 bytes), which must lie
/// within `1..=want`; `None` when the answer is no grant at all (a refusal,
/// or UNKNOWN from a server without the command).
pub(crate) fn granted(answer: &[u8], want: i64) -> Result<Option<i64>, Error> {
    let grant = match answer.strip_prefix(b"OK ") {
        Some(g) if g.len() == 8 => i64::from_be_bytes(g.try_into().unwrap_or([0; 8])),
        _ => return Ok(None),
    };
    if grant <= 0 || grant > want {
        return Err(Error::Protocol(format!("bad grant {grant}")));
    }
    Ok(Some(grant))
}

/// The byte range `[start, end)` of `remote` through GETCAN (the 2.4.1
/// HPF download that pauses after every `canpt` chunks for the client's
/// word): asked to pause when the range is in, answered `CONT` while it is
/// not, then stopped, so the server sends at most one grant past `end`. A
/// GET cannot be stopped before what its socket already holds: with
/// `--streams 4` each range but the last ended in a cancel that came after
/// several MiB more had left (a 64 MiB get moved 78 MiB at 100 Mbit/s,
/// 50 ms). A server without GETCAN gets [`get_range`]. Errors as there.
pub fn get_range_bounded(
    c: &mut Client,
    remote: &[u8],
    start: u64,
    end: u64,
    bufsz: i64,
    sink: &mut dyn FnMut(&[u8]) -> std::io::Result<()>,
) -> Result<(), Error> {
    let len = end.saturating_sub(start).max(1);
    let want = len.clamp(1, bufsz.max(1) as u64);
    let canpt = len.div_ceil(want);
    let mut cmd = b"GETCAN ".to_vec();
    cmd.extend_from_slice(&tfp_wire::hpf::encode(remote, start, want as i64, Some(canpt)));
    let f = c.raw(&cmd)?;
    let Some(grant) = granted(&f, want as i64)? else {
        return match Status::parse(&f) {
            Status::Unknown => get_range(c, remote, start, end, bufsz, sink),
            st => Err(Error::refused("GETCAN", st)),
        };
    };
    let mut pos = start;
    let mut buf = AlignedBuf::zeroed(grant as usize);
    let mut chunks = 0u64;
    let mut server_cancelled = false;
    loop {
        let n = c.chan.rx.recv_i64()?;
        if n == code::END {
            break;
        }
        if n < 0 {
            server_cancelled = true;
            break;
        }
        if n > grant {
            return Err(Error::Protocol(format!("chunk {n} over grant {grant}")));
        }
        c.chan.rx.recv_unit(&mut buf[..n as usize])?;
        let take = (n as u64).min(end.saturating_sub(pos)) as usize;
        if take > 0 {
            sink(&buf[..take]).map_err(Error::Local)?;
            pos += take as u64;
        }
        chunks += 1;
        if chunks % canpt == 0 {
            // the server waits for our word: on, or stop (no FIN follows)
            if pos >= end {
                c.chan.tx.send_i64(code::CANCEL)?;
                return Ok(());
            }
            c.chan.tx.send_i64(code::CONT)?;
        }
    }
    if pos < end {
        if server_cancelled {
            return Err(Error::Cancelled { command: "GETCAN" });
        }
        return Err(Error::Mismatch(format!(
            "the file ended at {pos}, inside the range {start}..{end} (changed on the server?)"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::ranges;

    #[test]
    fn ranges_cover_exactly() {
        for (size, n) in [
            (0u64, 4usize),
            (1, 4),
            (10, 3),
            (1 << 28, 4),
            (7, 1),
            ((1 << 28) + 12_345, 3),
            (40_000, 4),
        ] {
            let r = ranges(size, n);
            assert_eq!(r.iter().map(|(a, b)| b - a).sum::<u64>(), size);
            assert_eq!(r.first().map_or(0, |x| x.0), 0);
            assert_eq!(r.last().map_or(0, |x| x.1), size);
            for w in r.windows(2) {
                assert_eq!(w[0].1, w[1].0);
                assert_eq!(w[0].1 % 4096, 0, "inner boundaries aligned: {size} / {n}");
            }
        }
        // big enough files still get every stream
        assert_eq!(ranges((1 << 28) + 12_345, 3).len(), 3);
    }
}
