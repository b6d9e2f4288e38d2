//! tfd's batch download (doc/compatibility.md "Batch downloads"): many files
//! down in one exchange.
//!
//! `TFDGETMANY <n> [<max>]` (`n` at most [`tfp_wire::batch::MAX_FILES`];
//! `0` is a probe answered `OK` alone; a file over `max` bytes is only
//! announced, `B <size> <mode, octal>`, for the client to fetch otherwise).
//! After `OK` the client sends `n` frames, each a path, then `E`; only then does the server send, per file, either `X <FAILED code>
//! <reason>` or a header `F <size> <mode, octal> <mtime>`, the data in frames
//! holding exactly `size` bytes together and a trailer `S <sha-256 of those
//! bytes, hex>` (or `A` when the file changed while it was read: the bytes
//! sent are no version of it), and at the end `OK <n>`. The paths together may
//! hold at most [`MAX_PATH_BYTES`]; a batch out of step is answered `FAILED`
//! and the session ends. The frames are typed in [`tfp_wire::batch::get`].
//!
//! `z` (`z=yes`, `z=<level>`) after the other words, asked only of a server
//! that answered `TFDZSTD` (`super::compress`): every data frame is one
//! block, raw or a part of one zstd stream across the batch, and a small
//! packed file whose block is compressed goes `z <size> <mode> <mtime> `, its
//! block and its SHA-256 (of the data) in one frame. With `compression no`
//! the request is refused as an unknown one.
//!
//! `z f` (framed): everything the server sends after its `OK`, every
//! reply, data frame, trailer and the closing `OK <n>`, goes as the records
//! of ONE zstd stream in bounded frames (`getmany_frames`); data records
//! are the file's bytes (the stream compresses them), small files packed.
//! With `compression_framed no` it is refused `FAILED`, probe (`TFDGETMANY
//! 0 0 z f`) and batch alike, as a server from before it.

use super::compress::Outflow;
use super::getmany_frames::Sink;
use super::transfer::{logged, Track};
use super::{CmdError, CmdResult, Reply};
use crate::fsys::FsError;
use crate::session::{denied_or, Session};
use crate::xferlog::Direction;
use log::{info, warn};
use sha2::{Digest, Sha256};
use std::borrow::Cow;
use std::io::Read;
use std::time::Instant;
use tfp_wire::batch::get::{self, GetMany, Meta, Sent, MAX_PATH, MAX_PATH_BYTES, PACKED_MAX};
use tfp_wire::batch::{is_end, Trailer, DATA_FRAME, GETMANY};
use tfp_wire::entry::Mtime;
use tfp_wire::Failed;

/// Reads all of `out.len()` bytes of `file` (stat'ed as `st`) and hashes
/// them: `None` when it ended short, failed, or changed while read.
fn read_whole(file: &mut std::fs::File, out: &mut [u8], st: &libc::stat) -> Option<[u8; 32]> {
    let mut got = 0;
    while got < out.len() {
        match file.read(&mut out[got..]) {
            Ok(0) => return None,
            Ok(k) => got += k,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(_) => return None,
        }
    }
    if moved(file, st) {
        return None;
    }
    Some(Sha256::digest(out).into())
}

/// Whether `file` was written to since it was stat'ed as `st`.
fn moved(file: &std::fs::File, st: &libc::stat) -> bool {
    use std::os::unix::fs::MetadataExt;
    file.metadata().map_or(true, |m| {
        (m.size(), m.mtime(), m.mtime_nsec(), m.ctime(), m.ctime_nsec())
            != (
                st.st_size.max(0) as u64,
                st.st_mtime,
                st.st_mtime_nsec,
                st.st_ctime,
                st.st_ctime_nsec,
            )
    })
}

/// `TFDGETMANY <n>`.
pub fn getmany(s: &mut Session, arg: &[u8]) -> CmdResult {
    logged(s, arg, GETMANY, Direction::Outgoing, getmany_t)
}

fn getmany_t(s: &mut Session, arg: &[u8], t: &mut Track) -> CmdResult {
    // `packed` (`p`): a small file in one frame, its hash raw ([`PACKED_MAX`])
    // `archive` (`a`): the mtime to the nanosecond
    // `compress` (`z`): the data as blocks, one zstd stream across the batch
    let GetMany {
        n,
        max,
        packed,
        archive,
        compress,
        framed,
    } = GetMany::parse(arg).ok_or(Failed::MissingParameter)?;
    // a server with `compression no` knows no such request
    let mut z = match compress {
        Some(choice) => Some(Outflow::new(s, choice).ok_or(Failed::MissingParameter)?),
        None => None,
    };
    // framed (`z f`): everything after the `OK` as one zstd stream; the
    // probe's FAILED tells a client this server sends none
    let mut sink = match (framed, z.as_mut()) {
        (false, _) | (true, None) => Sink::plain(),
        (true, Some(_)) if !s.ctx().cfg.compression_framed => {
            return Err(CmdError::Told(Failed::MissingParameter, FRAMED_OFF.into()))
        }
        (true, Some(_)) if n == 0 => Sink::plain(),
        (true, Some(z)) => Sink::framed(z)
            .ok_or_else(|| CmdError::Told(Failed::TransferApi, "no room for a compressed stream now".into()))?,
    };
    // a framed batch's data are records of the stream, never blocks
    if sink.is_framed() {
        z = None;
    }
    // files larger than this are only announced (`B <size>`): the client
    // fetches them through its resumable engine
    let max = max.unwrap_or(u64::MAX);
    if !super::putmany::open_batch(s, n, b"OK".to_vec())? {
        return Ok(Reply::Sent);
    }
    let _held = match s.hold(super::batch_budget::getmany_held(n), GETMANY) {
        Ok(held) => held,
        Err(e) => return super::batch_budget::refuse_getmany(s, n, e),
    };
    let mut paths = Vec::with_capacity(n.min(4096) as usize);
    let mut held = 0usize;
    for i in 0..n {
        let p = s.chan_mut().rx.recv_frame_max(MAX_PATH)?;
        held += p.len();
        if held > MAX_PATH_BYTES {
            return out_of_step(s, &format!("path {i}: the paths hold more than {MAX_PATH_BYTES} bytes"));
        }
        paths.push(p);
    }
    if !is_end(&s.chan_mut().rx.recv_frame_max(16)?) {
        return out_of_step(s, "no end frame after the announced paths");
    }
    let mut buf = vec![0u8; DATA_FRAME];
    let (mut sent, mut bytes) = (0u64, 0u64);
    s.chan_mut().tx.hold();
    for path in &paths {
        match open(s, path) {
            Err((f, why)) => {
                info!(
                    "{} TFDGETMANY {:?}: FAILED {} ({why})",
                    s.peer(),
                    String::from_utf8_lossy(path),
                    f.code()
                );
                let refused = get::Reply::Refused {
                    code: i32::from(f.code()),
                    reason: Cow::Owned(why),
                };
                sink.send(s, &[&refused.encode()])?;
            }
            Ok((file, st)) => {
                let how = How { max, packed, archive };
                if let Some(size) = send_file(s, file, &st, how, (&mut buf, &mut sink), z.as_mut())? {
                    sent += 1;
                    bytes += size;
                }
            }
        }
    }
    sink.send(s, &[&Sent { sent }.encode()])?;
    sink.finish(s)?;
    s.chan_mut().tx.release()?;
    t.bytes = bytes;
    t.complete = true;
    if let Ok(p) = s.path(b"/") {
        t.path = Some(p);
    }
    let squeezed = match z.map(|z| z.saved()) {
        Some((before, after)) if before > 0 => format!(" ({before} of them compressed into {after})"),
        _ => String::new(),
    };
    info!(
        "{} TFDGETMANY sent {sent} of {n} files, {bytes} bytes{squeezed}{sink}",
        s.peer()
    );
    Ok(Reply::Sent)
}

/// How a batch sends its files: those over `max` only announced, small ones
/// packed, the mtime to the nanosecond.
#[derive(Clone, Copy)]
struct How {
    max: u64,
    packed: bool,
    archive: bool,
}

/// Sends one opened file (stat'ed as `st`) as `how` says, its data as
/// blocks through `z` when the batch is compressed: its size when it went
/// whole, None when it was only announced or aborted.
fn send_file(
    s: &mut Session,
    mut file: std::fs::File,
    st: &libc::stat,
    how: How,
    (buf, sink): (&mut [u8], &mut Sink),
    mut z: Option<&mut Outflow>,
) -> Result<Option<u64>, CmdError> {
    let size = st.st_size.max(0) as u64;
    let meta = Meta {
        size,
        mode: st.st_mode & 0o7777,
        mtime: match Mtime::of(st.st_mtime, st.st_mtime_nsec) {
            Some(t) if how.archive => t,
            _ => Mtime::secs(st.st_mtime),
        },
    };
    if size > how.max {
        let big = get::Reply::Big {
            size,
            mode: Some(meta.mode),
        };
        sink.send(s, &[&big.encode()])?;
        return Ok(None);
    }
    if how.packed && size <= PACKED_MAX as u64 {
        if let Some(sum) = read_whole(&mut file, &mut buf[..size as usize], st) {
            let data = &buf[..size as usize];
            let t = Instant::now();
            let n = match z.as_mut().and_then(|z| z.squeeze(data)) {
                Some(block) => {
                    let head = meta.squeezed_head();
                    s.chan_mut().tx.send_frame_parts(&[&head, block, &sum])?;
                    head.len() + block.len() + sum.len()
                }
                None => {
                    let head = meta.packed_head();
                    sink.send(s, &[&head, data, &sum])?;
                    head.len() + data.len() + sum.len()
                }
            };
            if let Some(z) = z {
                z.sent(s.chan().stream(), n, t);
            }
            return Ok(Some(size));
        }
        // short or changed: told in the long form, whose trailer aborts
        // (a rewind that fails reads short: aborted too)
        let _ = std::io::Seek::rewind(&mut file);
    }
    sink.send(s, &[&get::Reply::File(meta).encode()])?;
    let mut h = Sha256::new();
    let mut left = size;
    let mut short = false;
    while left > 0 {
        let want = (left as usize).min(buf.len());
        let mut got = 0;
        while got < want && !short {
            match file.read(&mut buf[got..want]) {
                Ok(0) => short = true,
                Ok(k) => got += k,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => {
                    warn!("{} TFDGETMANY read: {e}", s.peer());
                    short = true;
                }
            }
        }
        buf[got..want].fill(0);
        h.update(&buf[..want]);
        match z.as_mut() {
            Some(z) => z.send(s, &buf[..want])?,
            None => sink.send(s, &[&buf[..want]])?,
        }
        left -= want as u64;
    }
    // written to while read: the bytes sent are no version of it
    if short || moved(&file, st) {
        sink.send(s, &[&Trailer::Abort.encode()])?;
        return Ok(None);
    }
    sink.send(s, &[&Trailer::Sum(h.finalize().into()).encode()])?;
    Ok(Some(size))
}

/// Opens one file of the batch as RCVFILE would: regular files only.
fn open(s: &Session, path: &[u8]) -> Result<(std::fs::File, libc::stat), (Failed, String)> {
    let p = s.path(path).map_err(|f| (f, "path refused".to_string()))?;
    match s.open_file(&p, libc::O_RDONLY, 0) {
        Ok((file, st)) if crate::fsys::Kind::of(&st) == crate::fsys::Kind::File => Ok((file, st)),
        Ok(_) => Err((Failed::NotAFile, "not a regular file".into())),
        Err(FsError::NotFound) | Err(FsError::NotDir) => Err((Failed::NoSuchFile, "no such file".into())),
        Err(FsError::IsDir) => Err((Failed::IsDirectory, "a directory".into())),
        Err(e) => {
            let why = e.to_string();
            Err((denied_or(e, Failed::TransferApi), why))
        }
    }
}

/// Why a framed batch is refused here.
const FRAMED_OFF: &str = "framed batches are off on this server (compression_framed no)";

/// A batch that cannot be read on: answered and the session ended.
fn out_of_step(s: &mut Session, why: &str) -> CmdResult {
    warn!("{} TFDGETMANY out of step: {why}; ending the session", s.peer());
    s.chan_mut()
        .tx
        .send_frame(format!("FAILED {} : {why}", Failed::MissingParameter.code()).as_bytes())?;
    Ok(Reply::Close)
}
