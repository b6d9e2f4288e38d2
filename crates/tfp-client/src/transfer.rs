//! Client side of the transfer commands. Each function sends the command and runs
//! the protocol's flow to its end, so the connection is ready for the next command.

use super::{Client, Error};
use std::io::{Read, Write};
use tfd_sys::direct::ChunkWriter;
use tfd_sys::write_behind::WriteBehind;
use tfd_sys::AlignedBuf;
use tfp_channel::{read_append, read_full, PreparedFrame};
use tfp_wire::hpf::{self, code};
use tfp_wire::{Status, MAX_CHUNK, MAX_FRAME};

/// Called with the running byte count as data moves.
pub type Progress<'a> = &'a mut dyn FnMut(u64);

/// What goes out right behind a PUT's end code and FIN, in the same write
/// ([`Client::put_granted_then`]), told how the data went.
pub(crate) type Behind<'a> = &'a mut dyn FnMut(&mut Client, &PutOutcome) -> Result<(), Error>;

/// Sends one chunk of PUT's data (with the room for its header before it).
pub(crate) type SendChunk<'a> = &'a mut dyn FnMut(&mut Client, &mut [u8]) -> Result<(), Error>;

/// What FSIZELS says of one line of its list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LineSize {
    /// A regular file of this many bytes.
    Bytes(u64),
    /// The server could not get the size (missing, refused, outside the root).
    Failed,
    /// The path is not a regular file (a directory, a device, ...).
    NotRegular,
}

impl LineSize {
    /// From the i64 on the wire; `None` for the end marker (−3) and
    /// anything undefined.
    pub fn from_code(v: i64) -> Option<LineSize> {
        match v {
            -1 => Some(LineSize::Failed),
            -2 => Some(LineSize::NotRegular),
            n => u64::try_from(n).ok().map(LineSize::Bytes),
        }
    }

    /// The i64 on the wire (what `tf fsizels` prints).
    pub fn code(self) -> i64 {
        match self {
            LineSize::Bytes(n) => i64::try_from(n).unwrap_or(i64::MAX),
            LineSize::Failed => -1,
            LineSize::NotRegular => -2,
        }
    }
}

/// How a PUT's flow ended (TFDSTAGEPUT reads its final status after any).
#[derive(Debug)]
pub enum PutOutcome {
    /// All data sent and acknowledged with HPFFIN.
    Done,
    /// The server cancelled (write failure); the file may be incomplete.
    ServerCancelled,
    /// Reading the local data failed: the flow was ended with HPFSTOP (the
    /// server keeps what came) and followed through to HPFFIN, so the
    /// session is in step.
    ReadFailed(std::io::Error),
}

impl Client {
    /// `SNDFILE 0|1 remote`: uploads everything `data` yields (`overwrite`:
    /// replace an existing file). `Ok` when the server's final status is `OK`.
    pub fn sndfile(
        &mut self,
        remote: &[u8],
        overwrite: bool,
        data: &mut dyn Read,
        progress: Progress<'_>,
    ) -> Result<(), Error> {
        self.sndfile_checked(remote, overwrite, data, progress, &mut || None)
    }

    /// [`Client::sndfile`] of a local file that must not change while it is
    /// read: at the end its size, mtime and ctime are looked at again, and if
    /// they moved the flow ends with `BREAK` instead of `OK`, so the server
    /// discards what it stored and keeps its old file (a mix of two versions
    /// is never committed). The error names the cause.
    pub fn sndfile_file(
        &mut self,
        remote: &[u8],
        overwrite: bool,
        file: &mut std::fs::File,
        progress: Progress<'_>,
    ) -> Result<(), Error> {
        let before = file.metadata().map_err(Error::Local)?;
        let f = &*file;
        let mut reader = f;
        self.sndfile_checked(remote, overwrite, &mut reader, progress, &mut || {
            changed_while_read(&before, f)
        })
    }

    /// [`Client::sndfile`] whose end asks `changed` first: `Some(why)` ends
    /// the flow with `BREAK` instead of `OK`, so the server discards what it
    /// stored and keeps its old file, and the error is `why`. For a source
    /// that can be abandoned midway (a file object the caller stops writing
    /// to): it ends its data early and says why here.
    pub fn sndfile_checked(
        &mut self,
        remote: &[u8],
        overwrite: bool,
        data: &mut dyn Read,
        progress: Progress<'_>,
        changed: &mut dyn FnMut() -> Option<String>,
    ) -> Result<(), Error> {
        let cmd = [
            if overwrite {
                &b"SNDFILE 1 "[..]
            } else {
                &b"SNDFILE 0 "[..]
            },
            remote,
        ]
        .concat();
        let first = Status::parse(&self.raw(&cmd)?);
        if first != Status::Other(b"CONT".to_vec()) {
            return done("SNDFILE", first);
        }
        // Stop-and-wait: while the server deciphers and stores a chunk, the next
        // one is read and enciphered ahead with a copy of the cipher state, and
        // goes out as soon as the CONT comes (the same bytes as the plain flow).
        // Data is read straight into the frame's buffer, which is reused.
        let mut total = 0u64;
        let Some((first, mut n)) = self.next_data_frame(data)? else {
            return self.sndfile_end(changed);
        };
        self.chan.tx.send_prepared(first)?;
        loop {
            let sent = n;
            let ahead = self.next_data_frame(data)?;
            let reply = self.chan.rx.recv_frame()?;
            if reply != b"CONT" {
                return done("SNDFILE", Status::parse(&reply));
            }
            total += sent as u64;
            progress(total);
            match ahead {
                Some((f, k)) => {
                    n = k;
                    self.chan.tx.send_prepared(f)?;
                }
                None => return self.sndfile_end(changed),
            }
        }
    }

    /// SNDFILE's last word: `OK`, or `BREAK` when `changed` says why not.
    fn sndfile_end(&mut self, changed: &mut dyn FnMut() -> Option<String>) -> Result<(), Error> {
        match changed() {
            None => {
                let reply = self.raw(b"OK").map_err(|e| Error::Unsettled {
                    command: "SNDFILE",
                    error: Box::new(e),
                })?;
                done("SNDFILE", Status::parse(&reply))
            }
            Some(why) => {
                // the server answers a BREAK with OK, having discarded the data
                let _ = Status::parse(&self.raw(b"BREAK")?);
                Err(Error::Local(std::io::Error::other(why)))
            }
        }
    }

    /// The next `CONT <data>` frame of a SNDFILE, enciphered ahead, and its data
    /// length; `None` at the end of `data`.
    fn next_data_frame(&mut self, data: &mut dyn Read) -> Result<Option<(PreparedFrame, usize)>, Error> {
        const HEAD: usize = 4 + b"CONT ".len();
        let mut frame = self.chan.tx.frame_buffer(HEAD - 4);
        frame[4..HEAD].copy_from_slice(b"CONT ");
        let n = read_append(data, MAX_CHUNK, &mut frame).map_err(Error::Local)?;
        if n == 0 {
            self.chan.tx.recycle_frame_buffer(frame);
            return Ok(None);
        }
        Ok(Some((self.chan.tx.prepare_frame_buffer(frame)?, n)))
    }

    /// `RCVFILE 0|1 remote`: downloads into `out` (`delete`: the server
    /// removes the file after sending it). `Ok` when the final status is `OK`.
    pub fn rcvfile(&mut self, remote: &[u8], delete: bool, out: &mut dyn Write) -> Result<(), Error> {
        let cmd = [if delete { &b"RCVFILE 1 "[..] } else { &b"RCVFILE 0 "[..] }, remote].concat();
        self.chan.tx.send_frame(&cmd)?;
        let st = self.recv_chunks(out)?;
        done("RCVFILE", st)
    }

    /// Sends the HPF request `name remote <struct>` and returns the granted
    /// buffer; a refusal is [`Error::Refused`].
    pub(crate) fn hpf_open(
        &mut self,
        name: &str,
        remote: &[u8],
        offset: u64,
        bufsz: i64,
        canpt: Option<u64>,
    ) -> Result<usize, Error> {
        self.hpf_request(name, remote, offset, bufsz, canpt)?;
        self.hpf_granted(name, bufsz)
    }

    /// Sends the HPF request `name remote <struct>` without waiting: its
    /// answer is [`Client::hpf_granted`]'s to read, so the request can go
    /// behind another command and both answers come in one round trip.
    pub(crate) fn hpf_request(
        &mut self,
        name: &str,
        remote: &[u8],
        offset: u64,
        bufsz: i64,
        canpt: Option<u64>,
    ) -> Result<(), Error> {
        let mut cmd = name.as_bytes().to_vec();
        cmd.push(b' ');
        cmd.extend_from_slice(&hpf::encode(remote, offset, bufsz, canpt));
        Ok(self.chan.tx.send_frame(&cmd)?)
    }

    /// Reads the answer to an HPF request sent with `bufsz`: the granted
    /// buffer, or the refusal.
    pub(crate) fn hpf_granted(&mut self, name: &str, bufsz: i64) -> Result<usize, Error> {
        let f = self.chan.rx.recv_frame()?;
        match f.strip_prefix(b"OK ") {
            Some(g) if g.len() == 8 => {
                let grant = i64::from_be_bytes(g.try_into().unwrap_or([0; 8]));
                if grant <= 0 || grant as u64 > bufsz as u64 {
                    return Err(Error::Protocol(format!("bad grant {grant}")));
                }
                Ok(grant as usize)
            }
            _ => Err(Error::refused(name, Status::parse(&f))),
        }
    }

    /// `PUT` (HPF): writes what `data` yields at `offset` in chunks of at most
    /// `bufsz` (the server may grant less). A write that failed on the
    /// server's side (a full disk, a quota) cancels the flow:
    /// [`Error::Cancelled`], after which the session goes on and the file
    /// holds what was written before.
    pub fn put(
        &mut self,
        remote: &[u8],
        offset: u64,
        bufsz: i64,
        data: &mut dyn Read,
        progress: Progress<'_>,
    ) -> Result<(), Error> {
        match self.put_as("PUT", remote, offset, bufsz, data, progress)? {
            PutOutcome::Done => Ok(()),
            PutOutcome::ServerCancelled => Err(Error::Cancelled { command: "PUT" }),
            PutOutcome::ReadFailed(e) => Err(Error::Local(e)),
        }
    }

    /// PUT's flow under the command `name` (PUT, or tfd's TFDSTAGEPUT; the
    /// extra frame TFDSTAGEPUT answers after it is the caller's to read).
    pub fn put_as(
        &mut self,
        name: &str,
        remote: &[u8],
        offset: u64,
        bufsz: i64,
        data: &mut dyn Read,
        progress: Progress<'_>,
    ) -> Result<PutOutcome, Error> {
        let grant = self.hpf_open(name, remote, offset, bufsz, None)?;
        self.put_granted(grant, data, progress)
    }

    /// [`Client::put_as`] whose request was sent already
    /// ([`Client::hpf_request`] with `bufsz`).
    pub(crate) fn put_requested(
        &mut self,
        name: &str,
        bufsz: i64,
        data: &mut dyn Read,
        progress: Progress<'_>,
    ) -> Result<PutOutcome, Error> {
        let grant = self.hpf_granted(name, bufsz)?;
        self.put_granted(grant, data, progress)
    }

    /// PUT's data flow once `grant` is granted: the chunks, the end code and
    /// the FIN exchange.
    fn put_granted(&mut self, grant: usize, data: &mut dyn Read, progress: Progress<'_>) -> Result<PutOutcome, Error> {
        self.put_granted_then(grant, data, progress, None)
    }

    /// [`Client::put_granted`]; with `then`, this side's FIN leaves right
    /// behind the end code instead of after the server's, and `then` adds
    /// what follows (the next range's request, a commit) to the same write:
    /// the next command reaches the server a round trip sooner. A server reads
    /// them in order either way (tfd reads the FIN it is owed before its next
    /// command; an older one reads it as the FIN it waits for), and a cancel
    /// of the server's still ends in its own FIN.
    pub(crate) fn put_granted_then(
        &mut self,
        grant: usize,
        data: &mut dyn Read,
        progress: Progress<'_>,
        then: Option<Behind<'_>>,
    ) -> Result<PutOutcome, Error> {
        let mut buf = vec![0u8; grant];
        let outcome = self.put_chunks(&mut buf, 0, data, progress, &mut |c, chunk| {
            Ok(c.chan
                .tx
                .send_units_in_place(&(chunk.len() as i64).to_be_bytes(), chunk)?)
        })?;
        self.put_end(outcome, then)
    }

    /// PUT's chunks: `data` read into `buf` after its first `room` bytes
    /// (a header `send` fills) until it ends or the server sends a code
    /// (its cancel), each chunk with its room given to `send`; progress in
    /// bytes of `data`.
    pub(crate) fn put_chunks(
        &mut self,
        buf: &mut [u8],
        room: usize,
        data: &mut dyn Read,
        progress: Progress<'_>,
        send: SendChunk<'_>,
    ) -> Result<PutOutcome, Error> {
        let mut total = 0u64;
        loop {
            let n = match read_full(data, &mut buf[room..]) {
                Ok(0) => return Ok(PutOutcome::Done),
                Ok(n) => n,
                Err(e) => return Ok(PutOutcome::ReadFailed(e)),
            };
            send(self, &mut buf[..room + n])?;
            total += n as u64;
            progress(total);
            if self.server_code_pending()? {
                return Ok(PutOutcome::Done);
            }
        }
    }

    /// The end of PUT's flow once the data is sent (or its reading failed):
    /// the end code, then the FIN exchange, `then` as in
    /// [`Client::put_granted_then`].
    pub(crate) fn put_end(&mut self, mut outcome: PutOutcome, then: Option<Behind<'_>>) -> Result<PutOutcome, Error> {
        let end = match outcome {
            PutOutcome::ReadFailed(_) => code::STOP,
            _ => code::END,
        };
        let early = then.is_some();
        match then {
            Some(then) => {
                self.chan.tx.hold();
                self.chan.tx.send_i64(end)?;
                self.chan.tx.send_i64(code::FIN)?;
                then(self, &outcome)?;
                self.chan.tx.release()?;
            }
            None => self.chan.tx.send_i64(end)?,
        }
        // read codes until the server's FIN, then answer FIN (unless sent)
        loop {
            match self.chan.rx.recv_i64()? {
                code::FIN => break,
                code::CANCEL => {
                    if matches!(outcome, PutOutcome::Done) {
                        outcome = PutOutcome::ServerCancelled
                    }
                }
                other => return Err(Error::Protocol(format!("unexpected PUT code {other}"))),
            }
        }
        if !early {
            self.chan.tx.send_i64(code::FIN)?;
        }
        Ok(outcome)
    }

    /// True when the server has sent something during a PUT (its cancel), without
    /// blocking.
    pub(crate) fn server_code_pending(&mut self) -> Result<bool, Error> {
        if self.chan.rx.buffered() > 0 {
            return Ok(true);
        }
        let s = self.chan.stream();
        s.set_nonblocking(true)?;
        let mut b = [0u8; 1];
        let r = s.peek(&mut b);
        s.set_nonblocking(false)?;
        match r {
            Ok(n) => Ok(n > 0),
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => Ok(false),
            Err(e) => Err(e.into()),
        }
    }

    /// `PUT` that cancels after sending `cancel_after` bytes (tests and `tf`).
    pub fn put_cancel(&mut self, remote: &[u8], bufsz: i64, data: &[u8], cancel_code: i64) -> Result<(), Error> {
        let grant = self.hpf_open("PUT", remote, 0, bufsz, None)?;
        for chunk in data.chunks(grant) {
            self.chan.tx.send_units(&[&(chunk.len() as i64).to_be_bytes(), chunk])?;
        }
        self.chan.tx.send_i64(cancel_code)?;
        while self.chan.rx.recv_i64()? != code::FIN {}
        self.chan.tx.send_i64(code::FIN)?;
        Ok(())
    }

    /// `GET`: reads from `offset` to EOF into `out`. Returns the bytes received.
    pub fn get(
        &mut self,
        remote: &[u8],
        offset: u64,
        bufsz: i64,
        out: &mut dyn Write,
        progress: Progress<'_>,
    ) -> Result<u64, Error> {
        let grant = self.hpf_open("GET", remote, offset, bufsz, None)?;
        // aligned, so a consumer that writes direct can take the chunks as they are
        let mut buf = AlignedBuf::zeroed(grant);
        let mut total = 0u64;
        let failed = loop {
            let len = self.chan.rx.recv_i64()?;
            if len > 0 {
                if len as u64 > grant as u64 {
                    return Err(Error::Protocol(format!("chunk {len} over grant {grant}")));
                }
                self.chan.rx.recv_unit(&mut buf[..len as usize])?;
                out.write_all(&buf[..len as usize]).map_err(Error::Local)?;
                total += len as u64;
                progress(total);
            } else {
                break len == code::CANCEL;
            }
        };
        self.chan.tx.send_i64(code::FIN)?;
        while self.chan.rx.recv_i64()? != code::FIN {}
        if failed {
            return Err(Error::Cancelled { command: "GET" });
        }
        Ok(total)
    }

    /// `GET` into a local file: each chunk is deciphered into one of two
    /// aligned buffers while a writer thread stores the other (direct when
    /// whole), so the disk's time overlaps the network's and the cipher's
    /// instead of adding to them (a direct 4 MiB write waits on the device for
    /// milliseconds; one after each chunk was a third of a 1 GiB download's
    /// time on the VM). A failed write ends the download with
    /// [`Error::Local`], as [`Client::get`] does.
    pub fn get_to_file(
        &mut self,
        remote: &[u8],
        offset: u64,
        bufsz: i64,
        mut out: ChunkWriter,
        progress: Progress<'_>,
    ) -> Result<u64, Error> {
        self.get_to_sink(remote, offset, bufsz, move |c: &[u8]| out.write_chunk(c), progress)
    }

    /// [`Client::get_to_file`] with any consumer of the chunks, called in
    /// order on the writer thread: the download engine's sink also hashes and
    /// journals what it wrote there, off the cipher's core. A failure of the
    /// sink ends the download with [`Error::Local`].
    pub fn get_to_sink<S>(
        &mut self,
        remote: &[u8],
        offset: u64,
        bufsz: i64,
        sink: S,
        progress: Progress<'_>,
    ) -> Result<u64, Error>
    where
        S: FnMut(&[u8]) -> std::io::Result<()> + Send,
    {
        let grant = self.hpf_open("GET", remote, offset, bufsz, None)?;
        self.get_granted_to_sink(grant, sink, progress)
    }

    /// The data of a GET already sent and granted `grant` (the download
    /// engine sends it right behind its FSTAT), as [`Client::get_to_sink`]
    /// takes it.
    pub(crate) fn get_granted_to_sink<S>(&mut self, grant: usize, sink: S, progress: Progress<'_>) -> Result<u64, Error>
    where
        S: FnMut(&[u8]) -> std::io::Result<()> + Send,
    {
        self.get_granted_riding(grant, sink, progress, &mut crate::parallel::Riders::default())
    }

    /// [`Client::get_granted_to_sink`] with `riders` sent behind the
    /// client's FIN.
    pub(crate) fn get_granted_riding<S>(
        &mut self,
        grant: usize,
        sink: S,
        progress: Progress<'_>,
        riders: &mut crate::parallel::Riders,
    ) -> Result<u64, Error>
    where
        S: FnMut(&[u8]) -> std::io::Result<()> + Send,
    {
        std::thread::scope(|scope| {
            let mut behind = WriteBehind::start(scope, grant, sink);
            let mut total = 0u64;
            let failed = loop {
                let len = self.chan.rx.recv_i64()?;
                if len <= 0 {
                    break len == code::CANCEL;
                }
                if len as u64 > grant as u64 {
                    return Err(Error::Protocol(format!("chunk {len} over grant {grant}")));
                }
                let mut buf = behind.buffer();
                self.chan.rx.recv_unit(&mut buf[..len as usize])?;
                behind.submit(buf, len as usize);
                if let Some(e) = behind.failure() {
                    return Err(Error::Local(e));
                }
                total += len as u64;
                progress(total);
            };
            riders.send_with(self, &[code::FIN])?;
            while self.chan.rx.recv_i64()? != code::FIN {}
            if let Some(e) = behind.finish() {
                return Err(Error::Local(e));
            }
            if failed {
                return Err(Error::Cancelled { command: "GET" });
            }
            Ok(total)
        })
    }

    /// `GET` cancelled by the client after the first chunk; returns bytes kept.
    pub fn get_cancel_after_first(&mut self, remote: &[u8], bufsz: i64) -> Result<u64, Error> {
        let grant = self.hpf_open("GET", remote, 0, bufsz, None)?;
        let mut buf = vec![0u8; grant];
        let len = self.chan.rx.recv_i64()?;
        if len > 0 {
            self.chan.rx.recv_unit(&mut buf[..len as usize])?;
        }
        self.chan
            .tx
            .send_units(&[&code::CANCEL.to_be_bytes(), &code::FIN.to_be_bytes()])?;
        loop {
            let l = self.chan.rx.recv_i64()?;
            if l == code::FIN {
                break;
            }
            if l > 0 {
                self.chan.rx.recv_unit(&mut buf[..l as usize])?;
            }
        }
        Ok(len.max(0) as u64)
    }

    /// `SUP remote`: uploads `data` with raw i32 headers, as it reads it.
    /// The server's −1 is [`Error::Declined`]. When reading `data` fails
    /// midway, the upload is cancelled with −1 (the server discards what
    /// came and answers nothing, as the PyPI client does) and the read error
    /// is returned: the session goes on.
    pub fn sup(&mut self, remote: &[u8], data: &mut dyn Read) -> Result<(), Error> {
        self.chan.tx.send_frame(&[&b"SUP "[..], remote].concat())?;
        // the room SNDFILE's frames also use, kept from call to call
        let mut buf = self.chan.tx.spare_buffer();
        loop {
            buf.clear();
            let n = match read_append(data, MAX_FRAME, &mut buf) {
                Ok(n) => n,
                Err(e) => {
                    self.chan.tx.recycle_frame_buffer(buf);
                    self.chan.tx.send_i32(-1)?;
                    return Err(Error::Local(e));
                }
            };
            if n == 0 {
                break;
            }
            self.chan
                .tx
                .send_units_in_place(&(n as i32).to_be_bytes(), &mut buf[..n])?;
        }
        self.chan.tx.recycle_frame_buffer(buf);
        self.chan.tx.send_i32(0)?;
        match self.chan.rx.recv_i32()? {
            0 => Ok(()),
            n => Err(Error::Declined {
                command: "SUP",
                answer: n.into(),
            }),
        }
    }

    /// `SDOWN remote`: downloads into `out`; the server's −1 is
    /// [`Error::Declined`].
    pub fn sdown(&mut self, remote: &[u8], out: &mut dyn Write) -> Result<(), Error> {
        self.chan.tx.send_frame(&[&b"SDOWN "[..], remote].concat())?;
        // grown to the largest chunk seen, not zeroed up front for the largest allowed
        let mut buf = Vec::new();
        loop {
            let len = self.chan.rx.recv_i32()?;
            if len == 0 {
                return Ok(());
            }
            if len < 0 {
                return Err(Error::Declined {
                    command: "SDOWN",
                    answer: len.into(),
                });
            }
            if len as usize > MAX_FRAME {
                return Err(Error::Protocol(format!("SDOWN chunk {len}")));
            }
            if buf.len() < len as usize {
                buf.resize(len as usize, 0);
            }
            self.chan.rx.recv_unit(&mut buf[..len as usize])?;
            out.write_all(&buf[..len as usize]).map_err(Error::Local)?;
        }
    }

    /// `FSIZE remote`: the file's size. The server's −1 (missing or refused)
    /// and −2 (not a regular file) are [`Error::Declined`].
    pub fn fsize(&mut self, remote: &[u8]) -> Result<u64, Error> {
        self.chan.tx.send_frame(&[&b"FSIZE "[..], remote].concat())?;
        let n = self.chan.rx.recv_i64()?;
        u64::try_from(n).map_err(|_| Error::Declined {
            command: "FSIZE",
            answer: n,
        })
    }

    /// `FSIZELS list`: one answer per line of the server-side list file
    /// (none when the list cannot be read). A value the document does not
    /// define is [`Error::Protocol`].
    pub fn fsizels(&mut self, list: &[u8]) -> Result<Vec<LineSize>, Error> {
        self.chan.tx.send_frame(&[&b"FSIZELS "[..], list].concat())?;
        let mut out = Vec::new();
        loop {
            let v = self.chan.rx.recv_i64()?;
            if v == -3 {
                return Ok(out);
            }
            let size = LineSize::from_code(v)
                .ok_or_else(|| Error::Protocol(format!("FSIZELS: answer {v} is not the document's")))?;
            out.push(size);
        }
    }
}

/// `Ok` for a final `OK`, the refusal otherwise.
fn done(command: &str, st: Status) -> Result<(), Error> {
    crate::error::ok(command, st).map(drop)
}

/// What became of a file an upload read that changed meanwhile: true of a
/// new file (the server has none, so it keeps none) and of a replaced one.
pub(crate) const NOT_COMMITTED: &str =
    "nothing of it was committed (a copy the server had stays as it was), a later run sends it";

/// An upload's rule for the local file it read: `Some(why)` when `f`
/// changed since it was looked at (`before`: its size, mtime or ctime moved)
/// or cannot be looked at again. The upload then commits nothing of it,
/// whatever route carried it.
pub(crate) fn changed_while_read(before: &std::fs::Metadata, f: &std::fs::File) -> Option<String> {
    match f.metadata() {
        Ok(after) if moved(before, &after) => Some(format!("it changed while it was read; {NOT_COMMITTED}")),
        Ok(_) => None,
        Err(e) => Some(e.to_string()),
    }
}

/// Whether the file moved between the two looks (a write, a truncation, a
/// `touch`): its size, mtime or ctime.
pub(crate) fn moved(a: &std::fs::Metadata, b: &std::fs::Metadata) -> bool {
    use std::os::unix::fs::MetadataExt;
    (a.len(), a.mtime(), a.mtime_nsec(), a.ctime(), a.ctime_nsec())
        != (b.len(), b.mtime(), b.mtime_nsec(), b.ctime(), b.ctime_nsec())
}
