//! SNDFILE/RCVFILE (framed, CONT/BREAK/OK flow), SUP/SDOWN (raw i32 headers) and
//! FSIZE/FSIZELS. Uploads go through [`Upload`]: a temporary file renamed into
//! place only when complete.

use super::{CmdError, CmdResult, Reply};
use crate::channel::{read_full, ChannelError};
use crate::fsys::upload::Upload;
use crate::fsys::{FsError, Kind, RelPath};
use crate::session::{denied_or, Session};
use crate::sys;
use crate::wire::{command, Failed, FrameError, MAX_FRAME};
use crate::xferlog::Direction;
use log::{info, warn};
use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::os::fd::AsFd;
use std::time::Instant;

/// What one transfer moved, for the transfer log.
#[derive(Default)]
pub(crate) struct Track {
    /// Set once the transfer really started (the target was opened).
    pub path: Option<RelPath>,
    pub bytes: u64,
    pub complete: bool,
}

/// Runs a transfer handler and records it in the transfer log on every exit path
/// (complete, refused mid-way, broken off, connection lost).
pub(crate) fn logged(
    s: &mut Session,
    arg: &[u8],
    command: &str,
    direction: Direction,
    f: fn(&mut Session, &[u8], &mut Track) -> CmdResult,
) -> CmdResult {
    let started = Instant::now();
    let mut t = Track::default();
    let r = f(s, arg, &mut t);
    if let Some(p) = &t.path {
        s.xfer(command, p, direction, t.bytes, t.complete && r.is_ok(), started);
    }
    r
}

/// Splits `<flag> <path>`; the flag is true when its first byte is `1`.
fn flag_and_path(arg: &[u8]) -> Result<(bool, &[u8]), Failed> {
    let (flag, path) = command::split_space(arg).ok_or(Failed::MissingParameter)?;
    Ok((flag.first() == Some(&b'1'), path))
}

/// The upload target's checks shared by SNDFILE and SUP.
fn check_target(s: &Session, p: &RelPath, overwrite: bool) -> Result<(), Failed> {
    if p.is_root() {
        return Err(Failed::IsDirectory);
    }
    s.check_lock_parent(p)?;
    match s.root.stat(p) {
        Ok(st) if Kind::of(&st) == Kind::Dir => Err(Failed::IsDirectory),
        Ok(_) if !overwrite => Err(Failed::FileExists),
        Ok(_) | Err(FsError::NotFound) => Ok(()),
        Err(e) if e.is_denied() => Err(Failed::AccessDenied),
        Err(_) => Ok(()),
    }
}

fn upload_error(e: FsError) -> Failed {
    match e {
        FsError::NoSpace => Failed::Quota,
        FsError::Exists => Failed::FileExists,
        e if e.is_denied() => Failed::AccessDenied,
        _ => Failed::TransferApi,
    }
}

/// `SNDFILE <0|1> <path>`: the client uploads in `CONT <data>` frames and ends
/// with `OK` (keep) or `BREAK` (discard).
pub fn sndfile(s: &mut Session, arg: &[u8]) -> CmdResult {
    logged(s, arg, "SNDFILE", Direction::Incoming, sndfile_t)
}

fn sndfile_t(s: &mut Session, arg: &[u8], t: &mut Track) -> CmdResult {
    let (overwrite, path) = flag_and_path(arg)?;
    let p = s.path(path)?;
    check_target(s, &p, overwrite)?;
    let mut room = super::quota::room(s, overwrite.then_some(&p));
    let mut up = Upload::begin(&s.root, &p).map_err(upload_error)?;
    t.path = Some(p.clone());
    s.chan.tx.send_frame(b"CONT")?;
    // A chunk is acknowledged before it is written, so the client ciphers the next
    // one while this one goes to disk (the flow is stop-and-wait per chunk). A
    // write that fails is answered at the next frame, whatever it is, in place of
    // its CONT or OK, and the upload is dropped.
    let mut failed: Option<FsError> = None;
    loop {
        let frame = s.chan.rx.recv_frame()?;
        let (word, data) = match command::split_space(&frame) {
            Some((w, d)) => (w, d),
            None => (&frame[..], &frame[frame.len()..]),
        };
        if word == b"BREAK" {
            up.abort();
            info!("{} SNDFILE broken off by the client", s.peer);
            return Ok(Reply::Ok);
        }
        if let Some(e) = failed.take() {
            warn!("{} SNDFILE write failed: {e}", s.peer);
            up.abort();
            return Err(upload_error(e).into());
        }
        match word {
            b"OK" => {
                let n = up.written;
                return match up.commit(overwrite) {
                    Ok(()) => {
                        info!("{} SNDFILE stored {} bytes", s.peer, n);
                        t.complete = true;
                        Ok(Reply::Ok)
                    }
                    Err(e) => Err(upload_error(e).into()),
                };
            }
            _ => {
                // the reference appends after any first word; so do we
                if !super::quota::take(&mut room, data.len() as u64) {
                    super::quota::refused(s, "SNDFILE");
                    return Err(Failed::Quota.into());
                }
                s.chan.tx.send_frame(b"CONT")?;
                match up.write(data) {
                    Ok(()) => t.bytes += data.len() as u64,
                    Err(e) => failed = Some(e),
                }
            }
        }
    }
}

/// Opens a file for download: regular files only, following symlinks inside.
fn open_download(s: &Session, p: &RelPath) -> Result<(File, u64), Failed> {
    let fd = match s.root.open(p, libc::O_RDONLY | libc::O_NONBLOCK | libc::O_NOCTTY, 0) {
        Ok(fd) => fd,
        Err(FsError::NotFound) | Err(FsError::NotDir) => return Err(Failed::NoSuchFile),
        Err(e) => return Err(denied_or(e, Failed::TransferApi)),
    };
    let st = sys::fstat(fd.as_fd()).map_err(|_| Failed::TransferApi)?;
    match Kind::of(&st) {
        Kind::Dir => Err(Failed::IsDirectory),
        Kind::Other => Err(Failed::TransferApi),
        Kind::File => Ok((File::from(fd), st.st_size as u64)),
    }
}

/// `RCVFILE <0|1> <path>`: the server sends `CONT <data>` frames, the client
/// answers each (`BREAK` stops), `OK` at the end; flag 1 deletes the file after a
/// complete transfer.
pub fn rcvfile(s: &mut Session, arg: &[u8]) -> CmdResult {
    logged(s, arg, "RCVFILE", Direction::Outgoing, rcvfile_t)
}

fn rcvfile_t(s: &mut Session, arg: &[u8], t: &mut Track) -> CmdResult {
    let (delete, path) = flag_and_path(arg)?;
    let p = s.path(path)?;
    if p.is_root() {
        return Err(Failed::IsDirectory.into());
    }
    s.check_lock_parent(&p)?;
    let (mut file, _) = open_download(s, &p)?;
    t.path = Some(p.clone());
    let mut sent = 0u64;
    let complete = s.send_chunks(|buf, want| {
        let start = buf.len();
        buf.resize(want, 0);
        match read_full(&mut file, &mut buf[start..]) {
            Ok(n) => {
                buf.truncate(start + n);
                sent += n as u64;
                Ok(n > 0)
            }
            // headers are out already: end the stream with the failure status
            Err(_) => Err(CmdError::Failed(Failed::TransferApi)),
        }
    })?;
    t.bytes = sent;
    t.complete = complete;
    info!(
        "{} RCVFILE sent {} bytes{}",
        s.peer,
        sent,
        if complete { "" } else { " (broken off)" }
    );
    if complete && delete {
        if let Ok((dir, name)) = s.root.parent(&p) {
            if let Err(e) = sys::unlinkat(dir.as_fd(), &name, false) {
                warn!("{} RCVFILE could not delete after download: {e}", s.peer);
            }
        }
    }
    Ok(Reply::Ok)
}

/// `SDOWN <path>`: raw `[i32 len][data]` pairs, then 0 (EOF) or −1 (error).
pub fn sdown(s: &mut Session, arg: &[u8]) -> CmdResult {
    logged(s, arg, "SDOWN", Direction::Outgoing, sdown_t)
}

fn sdown_t(s: &mut Session, arg: &[u8], t: &mut Track) -> CmdResult {
    let opened = s
        .path(arg)
        .ok()
        .and_then(|p| open_download(s, &p).ok().map(|(f, _)| (f, p)));
    let Some((mut file, p)) = opened else {
        s.chan.tx.send_i32(-1)?;
        return Ok(Reply::Sent);
    };
    t.path = Some(p);
    let mut buf = vec![0u8; MAX_FRAME];
    loop {
        match read_full(&mut file, &mut buf) {
            Ok(0) => {
                s.chan.tx.send_i32(0)?;
                t.complete = true;
                return Ok(Reply::Sent);
            }
            Ok(n) => {
                s.chan.tx.send_units(&[&(n as i32).to_be_bytes(), &buf[..n]])?;
                t.bytes += n as u64;
            }
            Err(e) => {
                warn!("{} SDOWN read failed: {e}", s.peer);
                s.chan.tx.send_i32(-1)?;
                return Ok(Reply::Sent);
            }
        }
    }
}

/// `SUP <path>`: the client sends raw `[i32 len][data]` pairs and 0 at the end
/// (answered 0 or −1), or a negative value to cancel (answered with nothing).
pub fn sup(s: &mut Session, arg: &[u8]) -> CmdResult {
    logged(s, arg, "SUP", Direction::Incoming, sup_t)
}

fn sup_t(s: &mut Session, arg: &[u8], t: &mut Track) -> CmdResult {
    let mut room = s.path(arg).ok().and_then(|p| super::quota::room(s, Some(&p)));
    let mut up = s.path(arg).ok().and_then(|p| {
        check_target(s, &p, true).ok()?;
        Upload::begin(&s.root, &p).ok()
    });
    let mut failed = up.is_none();
    if !failed {
        t.path = s.path(arg).ok();
    }
    let mut buf = Vec::new();
    loop {
        let len = s.chan.rx.recv_i32()?;
        if len < 0 {
            drop(up);
            return Ok(Reply::Sent);
        }
        if len == 0 {
            let ok = !failed && up.take().is_some_and(|u| u.commit(true).is_ok());
            t.complete = ok;
            s.chan.tx.send_i32(if ok { 0 } else { -1 })?;
            return Ok(Reply::Sent);
        }
        if len as usize > MAX_FRAME {
            return Err(CmdError::Channel(ChannelError::Frame(FrameError::TooLarge {
                len,
                max: MAX_FRAME,
            })));
        }
        buf.resize(len as usize, 0);
        s.chan.rx.recv_unit(&mut buf)?;
        if up.is_some() && !super::quota::take(&mut room, buf.len() as u64) {
            super::quota::refused(s, "SUP");
            failed = true;
            up = None;
        }
        if let Some(u) = up.as_mut() {
            if u.write(&buf).is_err() {
                failed = true;
                up = None;
            } else {
                t.bytes += buf.len() as u64;
            }
        }
    }
}

/// The FSIZE answer for one path: size, −1 (missing/denied) or −2 (not a file).
fn size_of(s: &Session, path: &[u8]) -> i64 {
    let Ok(p) = RelPath::parse(path) else { return -1 };
    match s.root.stat(&p) {
        Ok(st) if Kind::of(&st) == Kind::File => st.st_size,
        Ok(_) => -2,
        Err(_) => -1,
    }
}

/// `FSIZE <path>` → one raw i64.
pub fn fsize(s: &mut Session, arg: &[u8]) -> CmdResult {
    let v = size_of(s, arg);
    s.chan.tx.send_i64(v)?;
    Ok(Reply::Sent)
}

/// Longest line FSIZELS reads from its list file.
const MAX_LIST_LINE: u64 = 4096;

/// `FSIZELS <listfile>`: one raw i64 per line of the server-side list, then −3.
pub fn fsizels(s: &mut Session, arg: &[u8]) -> CmdResult {
    let list = s.path(arg).ok().and_then(|p| open_download(s, &p).ok());
    if let Some((file, _)) = list {
        let mut r = BufReader::new(file);
        let mut budget = s.ctx.cfg.walk_limit;
        let mut line = Vec::new();
        while budget > 0 {
            line.clear();
            match (&mut r).take(MAX_LIST_LINE).read_until(b'\n', &mut line) {
                Ok(0) | Err(_) => break,
                Ok(_) => {}
            }
            budget -= 1;
            let path = line.strip_suffix(b"\n").unwrap_or(&line);
            let path = path.strip_suffix(b"\r").unwrap_or(path);
            let v = size_of(s, path);
            s.chan.tx.send_i64(v)?;
        }
    }
    s.chan.tx.send_i64(-3)?;
    Ok(Reply::Sent)
}
