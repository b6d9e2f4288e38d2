//! The high-performance file interface: PUT, GET, PUTCAN, GETCAN (wire-notes
//! §3.20). After the `OK <i64 grant>` reply everything is raw: each 8-byte header
//! and each payload is its own cipher unit. PUT writes in place at the offset
//! without truncating, so resumes and parallel streams work (decisions.md).

use super::quota::Budget;
use super::transfer::{logged, Track};
use super::{CmdError, CmdResult, Reply};
use crate::fsys::RelPath;
use crate::session::Session;
use crate::xferlog::Direction;
use log::{info, warn};
use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::os::fd::AsFd;
use std::sync::atomic::{AtomicBool, Ordering};
use tfd_sys::direct::{ChunkWriter, ReadAhead};
use tfd_sys::write_behind::WriteBehind;
use tfd_sys::{self as sys, AlignedBuf};
use tfp_channel::{ChannelError, NetStream, RxHalf, TxHalf};
use tfp_wire::compress as z;
use tfp_wire::hpf::{self, code, HpfRequest};
use tfp_wire::{Failed, FrameError};

/// An open HPF target and the granted buffer.
struct Opened {
    file: File,
    /// Where the transfer starts (the file is positioned there).
    offset: u64,
    grant: usize,
    /// PUT created the file (so a server-side cancel may remove it).
    created: bool,
    path: RelPath,
}

fn violation(len: i64, grant: usize) -> CmdError {
    let len = len.clamp(i32::MIN as i64, i32::MAX as i64) as i32;
    CmdError::Channel(ChannelError::Frame(FrameError::TooLarge { len, max: grant }))
}

/// Parses, opens, seeks and grants; sends nothing.
fn open(s: &Session, arg: &[u8], can: bool, write: bool) -> Result<Opened, Failed> {
    let req: HpfRequest<'_> = hpf::parse(arg, can).ok_or(Failed::MissingParameter)?;
    let p = s.path(req.path)?;
    // refuse bad numbers before opening: a refused PUT must not create a file
    if req.offset > i64::MAX as u64 {
        return Err(Failed::HpfSeek);
    }
    if req.bufsz <= 0 {
        return Err(Failed::HpfBuffer);
    }
    let existed = s.stat(&p).is_ok();
    // a write in place keeps no old file: with backups on (TFDBACKUP) it is refused
    if write && existed && super::backup::on(s) {
        log::info!("{} PUT in place refused: the session keeps backups", s.peer());
        return Err(Failed::AccessDenied);
    }
    let flags = if write {
        libc::O_WRONLY | libc::O_CREAT
    } else {
        libc::O_RDONLY
    };
    // a FIFO, socket or device: HpfOpen at once (PUT used to block in open())
    let mut file = match s.open_file(&p, flags, 0o644) {
        Ok((file, _)) => file,
        Err(e) if e.is_denied() => return Err(Failed::AccessDenied),
        Err(e) => {
            log::warn!(
                "{} HPF open of {:?} failed: {e}",
                s.peer(),
                String::from_utf8_lossy(&p.to_bytes())
            );
            return Err(Failed::HpfOpen);
        }
    };
    if file.seek(SeekFrom::Start(req.offset)).is_err() {
        // a refused PUT leaves nothing behind, even when the open created the file
        if write && !existed {
            remove(s, &p);
        }
        return Err(Failed::HpfSeek);
    }
    let grant = (req.bufsz as u64).min(s.ctx().cfg.hpf_max_buffer) as usize;
    Ok(Opened {
        file,
        offset: req.offset,
        grant,
        created: write && !existed,
        path: p,
    })
}

pub(crate) fn send_grant(s: &mut Session, grant: usize) -> Result<(), ChannelError> {
    s.chan_mut()
        .tx
        .send_frame_parts(&[b"OK ", &(grant as i64).to_be_bytes()])
}

fn remove(s: &Session, p: &RelPath) {
    if let Ok((dir, name)) = s.root().parent(p) {
        let _ = sys::unlinkat(dir.as_fd(), &name, false);
    }
}

/// Reads one data unit of `len` bytes, which must fit the grant (else the
/// connection closes: the reference overflowed its heap here).
fn recv_chunk<'b>(rx: &mut RxHalf<NetStream>, buf: &'b mut [u8], len: i64, grant: usize) -> Result<&'b [u8], CmdError> {
    if len as u64 > grant as u64 || len as usize > buf.len() {
        return Err(violation(len, grant));
    }
    let chunk = &mut buf[..len as usize];
    rx.recv_unit(chunk)?;
    Ok(chunk)
}

/// Writes a chunk at the file position once the quota has paid for what it
/// makes the file grow (see [`super::quota::Budget::grow_to`]).
pub(crate) fn write_within(w: &mut ChunkWriter, chunk: &[u8], budget: &mut Option<Budget>) -> std::io::Result<()> {
    if let Some(b) = budget {
        let size = w.file().metadata()?.len();
        if !b.grow_to(size, w.position().saturating_add(chunk.len() as u64)) {
            return Err(std::io::Error::other("quota exceeded"));
        }
    }
    w.write_chunk(chunk)
}

/// The upload writer for an opened PUT/PUTCAN target: full-grant chunks of at
/// least `direct_io_min` bypass the page cache.
pub(crate) fn chunk_writer(s: &Session, file: File, offset: u64) -> ChunkWriter {
    ChunkWriter::new(file, offset, super::transfer::direct_io_min(s))
}

/// With `sync_uploads`, puts a finished PUT/PUTCAN on stable storage before it
/// is acknowledged: the file's data, and the directory entry of a file the
/// command created.
fn make_durable(s: &Session, file: &File, created: bool, path: &RelPath) -> std::io::Result<()> {
    if !s.ctx().cfg.sync_uploads {
        return Ok(());
    }
    // fdatasync: the data and what finding it needs (size, blocks), not the
    // times; a PUT that overwrites in place then costs a cache flush instead of
    // a journal commit
    file.sync_data()?;
    if created {
        let (dir, _) = s
            .root()
            .parent(path)
            .map_err(|e| std::io::Error::other(e.to_string()))?;
        crate::fsys::upload::sync_dir(dir.as_fd(), file.as_fd())?;
    }
    Ok(())
}

/// Reads `[len][data]` pairs until the client's HPFFIN, discarding the data.
fn drain_to_fin(rx: &mut RxHalf<NetStream>, grant: usize) -> Result<(), CmdError> {
    Ok(rx.drain_to_fin(grant)?)
}

/// `PUT <path> <hpfile>`.
pub fn put(s: &mut Session, arg: &[u8]) -> CmdResult {
    logged(s, arg, "PUT", Direction::Incoming, put_t)
}

/// What ended PUT's receive loop.
pub(crate) enum PutEnd {
    /// The client's end code (0, −1, −2) or its FIN (−127).
    Client(i64),
    /// A write failed: the server cancels.
    WriteFailed(std::io::Error),
}

/// PUT's receive loop (shared with TFDSTAGEPUT): `[len][data]` units until
/// the client's end code, each chunk deciphered while the last one is stored
/// by `write` on a writer thread. Every chunk taken is stored (or failed)
/// before it returns.
pub(crate) fn receive<W>(rx: &mut RxHalf<NetStream>, grant: usize, write: W) -> Result<PutEnd, CmdError>
where
    W: FnMut(&[u8]) -> std::io::Result<()> + Send,
{
    std::thread::scope(|scope| -> Result<PutEnd, CmdError> {
        let mut behind = WriteBehind::start(scope, grant, write);
        let end = loop {
            if let Some(e) = behind.failure() {
                break PutEnd::WriteFailed(e);
            }
            let len = rx.recv_i64()?;
            if len <= 0 {
                match len {
                    code::END | code::STOP | code::CANCEL | code::FIN => break PutEnd::Client(len),
                    other => return Err(violation(other, grant)),
                }
            }
            let mut buf = behind.buffer();
            let n = recv_chunk(rx, &mut buf, len, grant)?.len();
            behind.submit(buf, n);
        };
        Ok(match (end, behind.finish()) {
            (PutEnd::Client(_), Some(e)) => PutEnd::WriteFailed(e),
            (end, _) => end,
        })
    })
}

/// The server's side of a PUT's end once its data is stored or failed: the
/// cancel (HPFCANCEL, HPFFIN, then the client's FIN) or the HPFFIN exchange.
pub(crate) fn finish_put(s: &mut Session, ended: &PutEnd, grant: usize) -> Result<(), CmdError> {
    match ended {
        PutEnd::WriteFailed(_) => {
            s.chan_mut()
                .tx
                .send_units(&[&code::CANCEL.to_be_bytes(), &code::FIN.to_be_bytes()])?;
            drain_to_fin(&mut s.chan_mut().rx, grant)
        }
        PutEnd::Client(code::FIN) => Ok(s.chan_mut().tx.send_i64(code::FIN)?),
        PutEnd::Client(_) => {
            s.chan_mut().tx.send_i64(code::FIN)?;
            drain_to_fin(&mut s.chan_mut().rx, grant)
        }
    }
}

/// [`finish_put`] for a command whose status frame follows its FIN
/// (TFDSTAGEPUT): the FIN is held back to leave with that status, and the
/// client's FIN is read before the next command (by the session), not
/// here. A client sends its FIN before it reads the status either way, so
/// nothing changes for it but the wait: the status arrives a round trip
/// sooner (a staged upload's streams and its commit wait for it).
pub(crate) fn finish_put_owing(s: &mut Session, ended: &PutEnd, grant: usize) -> Result<(), CmdError> {
    let tx = &mut s.chan_mut().tx;
    tx.hold();
    match ended {
        PutEnd::WriteFailed(_) => tx.send_units(&[&code::CANCEL.to_be_bytes(), &code::FIN.to_be_bytes()])?,
        PutEnd::Client(code::FIN) => return Ok(tx.send_i64(code::FIN)?),
        PutEnd::Client(_) => tx.send_i64(code::FIN)?,
    }
    s.owe_fin(grant);
    Ok(())
}

fn put_t(s: &mut Session, arg: &[u8], t: &mut Track) -> CmdResult {
    let o = open(s, arg, false, true)?;
    t.path = Some(o.path.clone());
    let mut budget = super::quota::budget(s, None);
    let mut writer = chunk_writer(s, o.file, o.offset);
    send_grant(s, o.grant)?;
    let (grant, created, path) = (o.grant, o.created, o.path.clone());
    let mut written = 0u64;
    let ended = receive(&mut s.chan_mut().rx, grant, |chunk: &[u8]| {
        write_within(&mut writer, chunk, &mut budget)?;
        written += chunk.len() as u64;
        Ok(())
    });
    t.bytes = written;
    let ended = match ended? {
        // HPFFIN acknowledges the data: it goes out once the data is durable
        PutEnd::Client(len @ (code::END | code::STOP)) => match make_durable(s, writer.file(), created, &path) {
            Ok(()) => PutEnd::Client(len),
            Err(e) => PutEnd::WriteFailed(e),
        },
        other => other,
    };
    match &ended {
        PutEnd::WriteFailed(e) => {
            warn!("{} PUT write failed after {written} bytes: {e}", s.peer());
            // remove first, so a client that has seen the cancel finds no file
            if created {
                remove(s, &path);
            }
        }
        PutEnd::Client(code::FIN) => {}
        PutEnd::Client(len) => {
            t.complete = *len != code::CANCEL;
            if *len == code::CANCEL {
                remove(s, &path);
            }
            info!("{} PUT stored {written} bytes (end code {len})", s.peer());
        }
    }
    finish_put(s, &ended, grant)?;
    Ok(Reply::Sent)
}

/// `PUTCAN <path> <hpfilecan>`: like PUT, but after every `canpt` chunks the server
/// answers −3 (continue) or −2 (write failed); no HPFFIN, no final reply.
pub fn putcan(s: &mut Session, arg: &[u8]) -> CmdResult {
    logged(s, arg, "PUTCAN", Direction::Incoming, putcan_t)
}

fn putcan_t(s: &mut Session, arg: &[u8], t: &mut Track) -> CmdResult {
    let canpt = hpf::parse(arg, true).and_then(|r| r.canpt).unwrap_or(0);
    let o = open(s, arg, true, true)?;
    t.path = Some(o.path.clone());
    let mut budget = super::quota::budget(s, None);
    let mut writer = chunk_writer(s, o.file, o.offset);
    send_grant(s, o.grant)?;
    let mut buf = AlignedBuf::zeroed(o.grant);
    let mut chunks = 0u64;
    let mut failed = false;
    loop {
        let len = s.chan_mut().rx.recv_i64()?;
        match len {
            n if n > 0 => {
                let chunk = recv_chunk(&mut s.chan_mut().rx, &mut buf, n, o.grant)?;
                if !failed && write_within(&mut writer, chunk, &mut budget).is_err() {
                    warn!("{} PUTCAN write failed", s.peer());
                    failed = true;
                    if o.created {
                        remove(s, &o.path);
                    }
                } else if !failed {
                    t.bytes += n as u64;
                }
                chunks += 1;
                if canpt > 0 && chunks % canpt == 0 {
                    if failed {
                        s.chan_mut().tx.send_i64(code::CANCEL)?;
                        return Ok(Reply::Sent);
                    }
                    s.chan_mut().tx.send_i64(code::CONT)?;
                }
            }
            code::END | code::STOP => {
                t.complete = !failed;
                if !failed {
                    if let Err(e) = make_durable(s, writer.file(), o.created, &o.path) {
                        warn!("{} PUTCAN could not make the file durable: {e}", s.peer());
                        t.complete = false;
                    }
                }
                return Ok(Reply::Sent);
            }
            code::CANCEL => {
                remove(s, &o.path);
                return Ok(Reply::Sent);
            }
            other => return Err(violation(other, o.grant)),
        }
    }
}

/// `GET <path> <hpfile>`: the server streams `[len][data]`, ends with 0 (or −2 on
/// a read error); a reader thread takes the client's −2 (cancel) and −127 (FIN)
/// meanwhile. After the client's FIN the server sends its own.
pub fn get(s: &mut Session, arg: &[u8]) -> CmdResult {
    logged(s, arg, "GET", Direction::Outgoing, get_t)
}

fn get_t(s: &mut Session, arg: &[u8], t: &mut Track) -> CmdResult {
    get_flow(s, arg, t, None)
}

/// `TFDGETZ <choice> <path> <hpfile>` (doc/compatibility.md "Compression"):
/// GET whose every data unit is one block, packed by an
/// [`super::compress::Outflow`] of its own (a zstd stream per request);
/// with `compression no` a request this server does not know.
pub fn getz(s: &mut Session, arg: &[u8]) -> CmdResult {
    logged(s, arg, z::get::GET, Direction::Outgoing, |s, arg, t| {
        let (choice, _) = z::get::parse(arg).ok_or(Failed::MissingParameter)?;
        let flow = super::compress::Outflow::new(s, choice).ok_or(Failed::MissingParameter)?;
        let hpf = z::get::hpf_part(arg).ok_or(Failed::MissingParameter)?;
        get_flow(s, hpf, t, Some(flow))
    })
}

/// GET's flow, each chunk sent as it is or, with `z`, as one block of at
/// most what fits the grant compressed at worst.
fn get_flow(s: &mut Session, arg: &[u8], t: &mut Track, mut z: Option<super::compress::Outflow>) -> CmdResult {
    let o = open(s, arg, false, false)?;
    let chunk = match z {
        Some(_) => z::data_for_frame(o.grant),
        None => o.grant,
    };
    if chunk == 0 {
        return Err(Failed::HpfBuffer.into());
    }
    t.path = Some(o.path.clone());
    let cancel = AtomicBool::new(false);
    let gone = AtomicBool::new(false);
    let size = o.file.metadata().map(|m| m.len()).unwrap_or(u64::MAX);
    // what fits one grant goes out at once: no reader thread to watch for a
    // CANCEL that could only come too late (a thread per GET was a third of a
    // 16 KiB GET's cost); the client's FIN (or CANCEL, then FIN) is read after.
    // The grant, the data and the end leave in one write.
    let one_chunk = size.saturating_sub(o.offset) <= chunk as u64;
    if one_chunk {
        s.chan_mut().tx.hold();
    }
    send_grant(s, o.grant)?;
    let mut chunks = ReadAhead::new(o.file, o.offset, size, chunk, super::transfer::direct_io_min(s));
    let peer = s.peer();
    let chan = s.chan_mut();
    let (tx, rx) = (&mut chan.tx, &mut chan.rx);
    let mut sent = 0u64;
    let mut end = code::END;
    let mut send_all = |tx: &mut TxHalf<NetStream>| {
        while !cancel.load(Ordering::SeqCst) && !gone.load(Ordering::SeqCst) {
            let (mut buf, n) = match chunks.next_chunk() {
                Ok(Some(c)) => c,
                Ok(None) => break,
                Err(e) => {
                    warn!("{peer} GET read failed: {e}");
                    end = code::CANCEL;
                    break;
                }
            };
            let out = match z.as_mut() {
                Some(flow) => flow.send_unit(tx, &buf[..n]),
                None => tx.send_units_in_place(&(n as i64).to_be_bytes(), &mut buf[..n]),
            };
            if out.is_err() {
                gone.store(true, Ordering::SeqCst);
                break;
            }
            chunks.give_back(buf);
            sent += n as u64;
        }
        if !cancel.load(Ordering::SeqCst) && !gone.load(Ordering::SeqCst) && tx.send_i64(end).is_err() {
            gone.store(true, Ordering::SeqCst);
        }
    };
    let mut read_to_fin = || {
        let r = (|| loop {
            match rx.recv_i64()? {
                code::FIN => return Ok::<(), ChannelError>(()),
                code::CANCEL => cancel.store(true, Ordering::SeqCst),
                _ => {}
            }
        })();
        if r.is_err() {
            gone.store(true, Ordering::SeqCst);
        }
        r
    };
    let reader_result = if one_chunk {
        send_all(tx);
        if gone.load(Ordering::SeqCst) || tx.release().is_err() {
            Err(ChannelError::Closed)
        } else {
            read_to_fin()
        }
    } else {
        std::thread::scope(|scope| {
            let reader = scope.spawn(read_to_fin);
            send_all(tx);
            if gone.load(Ordering::SeqCst) {
                // unblock the reader if the peer is half-alive: shut the socket down
                let _ = tx.get_ref().get_ref().shutdown(std::net::Shutdown::Both);
            }
            reader.join().unwrap_or(Err(ChannelError::Closed))
        })
    };
    t.bytes = sent;
    reader_result?;
    s.chan_mut().tx.send_i64(code::FIN)?;
    t.complete = end == code::END && !cancel.load(Ordering::SeqCst);
    let squeezed = match z.as_ref().map(super::compress::Outflow::saved) {
        Some((before, after)) if before > 0 => format!(" ({before} of them compressed into {after})"),
        _ => String::new(),
    };
    info!(
        "{peer} {} sent {sent} bytes{squeezed}{}",
        if z.is_some() { z::get::GET } else { "GET" },
        if cancel.load(Ordering::SeqCst) {
            " (cancelled)"
        } else {
            ""
        }
    );
    Ok(Reply::Sent)
}

/// `GETCAN <path> <hpfilecan>`: after every `canpt` chunks the client answers −3 to
/// continue (anything else stops silently); 0 at EOF (−2 on a read error); no FIN.
pub fn getcan(s: &mut Session, arg: &[u8]) -> CmdResult {
    logged(s, arg, "GETCAN", Direction::Outgoing, getcan_t)
}

fn getcan_t(s: &mut Session, arg: &[u8], t: &mut Track) -> CmdResult {
    getcan_flow(s, arg, t, None)
}

/// `TFDGETCANZ <choice> <path> <hpfilecan>` (doc/compatibility.md
/// "Compression"): GETCAN whose every chunk is one block of the grant's
/// data (the grant at most one block's), packed by an
/// [`super::compress::Outflow`] of its own: one zstd stream per request,
/// across the windows of a `get --streams` lane. With `compression no` a
/// request this server does not know.
pub fn getcanz(s: &mut Session, arg: &[u8]) -> CmdResult {
    logged(s, arg, z::get::GET_CAN, Direction::Outgoing, |s, arg, t| {
        let (choice, _) = z::get::parse_can(arg).ok_or(Failed::MissingParameter)?;
        let flow = super::compress::Outflow::new(s, choice).ok_or(Failed::MissingParameter)?;
        let hpf = z::get::hpf_can_part(arg).ok_or(Failed::MissingParameter)?;
        getcan_flow(s, hpf, t, Some(flow))
    })
}

/// GETCAN's flow, each chunk sent as it is or, with `z`, as one block of
/// exactly the grant's data (fewer at the end of the file).
fn getcan_flow(s: &mut Session, arg: &[u8], t: &mut Track, mut z: Option<super::compress::Outflow>) -> CmdResult {
    let canpt = hpf::parse(arg, true).and_then(|r| r.canpt).unwrap_or(0);
    let mut o = open(s, arg, true, false)?;
    if z.is_some() {
        o.grant = z::get::can_grant(o.grant);
    }
    t.path = Some(o.path.clone());
    send_grant(s, o.grant)?;
    let mut buf = vec![0u8; o.grant];
    let mut chunks = 0u64;
    let r = loop {
        let n = match o.file.read(&mut buf) {
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(_) => break s.chan_mut().tx.send_i64(code::CANCEL),
        };
        if n == 0 {
            t.complete = true;
            break s.chan_mut().tx.send_i64(code::END);
        }
        let sent = match z.as_mut() {
            Some(flow) => flow.send_unit(&mut s.chan_mut().tx, &buf[..n]),
            None => s
                .chan_mut()
                .tx
                .send_units_in_place(&(n as i64).to_be_bytes(), &mut buf[..n]),
        };
        if let Err(e) = sent {
            break Err(e);
        }
        t.bytes += n as u64;
        chunks += 1;
        if canpt > 0 && chunks % canpt == 0 {
            match s.chan_mut().rx.recv_i64() {
                Ok(code::CONT) => {}
                Ok(_) => break Ok(()),
                Err(e) => break Err(e),
            }
        }
    };
    if let Some(flow) = &z {
        let (before, after) = flow.saved();
        info!(
            "{} {} sent {} bytes ({before} of them compressed into {after})",
            s.peer(),
            z::get::GET_CAN,
            t.bytes
        );
    }
    r?;
    Ok(Reply::Sent)
}
