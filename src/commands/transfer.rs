//! SNDFILE/RCVFILE (framed, CONT/BREAK/OK flow), SUP/SDOWN (raw i32 headers) and
//! FSIZE/FSIZELS. Uploads go through [`crate::fsys::upload::Upload`]: a temporary file renamed into
//! place only when complete.

use super::{CmdError, CmdResult, Reply};
use crate::fsys::{FsError, Kind, RelPath, Root};
use crate::session::{denied_or, Session};
use crate::xferlog::Direction;
use log::{info, warn};
use std::fs::File;
use std::os::fd::AsFd;
use std::time::Instant;
use tfd_sys::direct::{ReadAhead, ReadAheadStream};
use tfd_sys::write_behind::WriteBehind;
use tfd_sys::{self as sys, AlignedBuf};
use tfp_channel::{read_full, ChannelError};
use tfp_wire::{command, Failed, FrameError, MAX_FRAME};

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
pub(crate) fn check_target(s: &Session, p: &RelPath, overwrite: bool) -> Result<(), Failed> {
    if p.is_root() {
        return Err(Failed::IsDirectory);
    }
    s.check_lock_parent(p)?;
    if Root::pinned_absent(p) {
        // the pin found no such name a moment ago; one made since is met by
        // the commit (no overwrite: FAILED 15 there; overwrite: replaced)
        return Ok(());
    }
    match s.stat(p) {
        Ok(st) if Kind::of(&st) == Kind::Dir => Err(Failed::IsDirectory),
        Ok(_) if !overwrite => Err(Failed::FileExists),
        Ok(_) | Err(FsError::NotFound) => Ok(()),
        Err(e) if e.is_denied() => Err(Failed::AccessDenied),
        Err(_) => Ok(()),
    }
}

/// Uploads written in pieces of at least this size bypass the page cache
/// (`direct_io_min`; 0 = never).
pub(crate) fn direct_io_min(s: &Session) -> usize {
    usize::try_from(s.ctx().cfg.direct_io_min).unwrap_or(usize::MAX)
}

fn upload_error(e: FsError) -> super::CmdError {
    if let Some(full) = super::no_room(&e) {
        return full;
    }
    if matches!(e, FsError::BadName) {
        // another client than tf sends such a name: say why, not only "API error"
        return super::CmdError::Told(
            Failed::TransferApi,
            "The new name holds a control character, which tfd does not store.".into(),
        );
    }
    match e {
        FsError::Exists => Failed::FileExists,
        e if e.is_denied() => Failed::AccessDenied,
        _ => Failed::TransferApi,
    }
    .into()
}

/// `SNDFILE <0|1> <path>`: the client uploads in `CONT <data>` frames and ends
/// with `OK` (keep) or `BREAK` (discard).
pub fn sndfile(s: &mut Session, arg: &[u8]) -> CmdResult {
    logged(s, arg, "SNDFILE", Direction::Incoming, sndfile_t)
}

/// How a SNDFILE's frame loop ended.
enum SndEnd {
    /// The client's BREAK.
    Break,
    /// The client's OK: commit, unless a write failed.
    Done,
    /// A write failed (reported in place of a CONT).
    Failed(FsError),
    /// The quota would be exceeded by the next chunk.
    Quota,
}

/// Bytes of a SNDFILE frame read before it is acknowledged: enough for its
/// first word (`CONT`, `OK`, `BREAK`) and the space after it.
const SNDFILE_HEAD: usize = 16;

/// The disk-side chunk of the framed flows (SNDFILE gathers frames into it,
/// RCVFILE and SDOWN read ahead by it): two frames, or `direct_io_min` if that
/// is more, so the chunks go direct. Each such transfer holds two. Measured on
/// the VM, 1 MiB moved as fast as 4 MiB.
fn disk_chunk(s: &Session) -> usize {
    direct_io_min(s)
        .clamp(1 << 20, 64 << 20)
        .next_multiple_of(sys::IO_ALIGN)
}

/// SNDFILE's frames gathered into the writer's buffers: the one being filled
/// and how much of it is.
struct Gather {
    cur: AlignedBuf,
    used: usize,
}

impl Gather {
    /// Copies `data` in, handing each buffer over as it fills.
    fn append(&mut self, mut data: &[u8], behind: &mut WriteBehind<'_, '_, FsError>) {
        while !data.is_empty() {
            let n = data.len().min(self.cur.len() - self.used);
            self.cur[self.used..self.used + n].copy_from_slice(&data[..n]);
            self.used += n;
            data = &data[n..];
            self.hand_over_if_full(behind);
        }
    }

    fn hand_over_if_full(&mut self, behind: &mut WriteBehind<'_, '_, FsError>) {
        if self.used == self.cur.len() {
            self.hand_over(behind);
        }
    }

    fn hand_over(&mut self, behind: &mut WriteBehind<'_, '_, FsError>) {
        let full = std::mem::replace(&mut self.cur, behind.buffer());
        behind.submit(full, std::mem::take(&mut self.used));
    }
}

fn sndfile_t(s: &mut Session, arg: &[u8], t: &mut Track) -> CmdResult {
    let (overwrite, path) = flag_and_path(arg)?;
    let p = s.path(path)?;
    check_target(s, &p, overwrite)?;
    let mut budget = super::quota::budget(s, overwrite.then_some(&p));
    let mut up = super::backup::begin(s, &p, direct_io_min(s)).map_err(upload_error)?;
    t.path = Some(p.clone());
    let chunk = disk_chunk(s);
    s.chan_mut().tx.send_frame(b"CONT")?;
    // The flow is stop-and-wait per frame, so every moment the client waits for a
    // CONT is lost. A data frame is acknowledged as soon as its first word is
    // read, and the client sends the next one while this one is still deciphered,
    // straight into a buffer that a writer thread stores once full. A write that
    // fails is answered at a later frame (at the latest the OK) in place of its
    // CONT or OK, and the upload is dropped.
    let (end, failure) = std::thread::scope(|scope| -> Result<(SndEnd, Option<FsError>), CmdError> {
        let writer = &mut up;
        let mut behind = WriteBehind::start(scope, chunk, move |c: &[u8]| writer.write_chunk(c));
        let mut g = Gather {
            cur: behind.buffer(),
            used: 0,
        };
        let end = loop {
            let mut head = [0u8; SNDFILE_HEAD];
            let rx = &mut s.chan_mut().rx;
            let mut part = rx.begin_frame(MAX_FRAME, &mut head)?;
            let filled = part.filled();
            // a first word longer than the head: read the (odd) frame whole
            let mut whole = None;
            let mut space = head[..filled].iter().position(|&b| b == b' ');
            if space.is_none() && part.left() > 0 {
                let mut v = head[..filled].to_vec();
                v.resize(part.len(), 0);
                rx.read_frame_part(&mut part, &mut v[filled..])?;
                space = v.iter().position(|&b| b == b' ');
                whole = Some(v);
            }
            let bytes: &[u8] = whole.as_deref().unwrap_or(&head[..filled]);
            // the reference appends after any first word; so do we
            let (word, start) = match space {
                Some(i) => (&bytes[..i], i + 1),
                None => (bytes, bytes.len()),
            };
            let end = if word == b"BREAK" {
                Some(SndEnd::Break)
            } else if let Some(e) = behind.failure() {
                Some(SndEnd::Failed(e))
            } else if word == b"OK" {
                Some(SndEnd::Done)
            } else if !super::quota::reserve(&mut budget, (part.len() - start) as u64) {
                Some(SndEnd::Quota)
            } else {
                None
            };
            if let Some(end) = end {
                // the whole frame is read, so the next command is in step
                s.chan_mut().rx.skip_frame_rest(&mut part)?;
                break end;
            }
            s.chan_mut().tx.send_frame(b"CONT")?;
            g.append(&bytes[start..], &mut behind);
            while part.left() > 0 {
                let used = g.used;
                g.used += s.chan_mut().rx.read_frame_part(&mut part, &mut g.cur[used..])?;
                g.hand_over_if_full(&mut behind);
            }
        };
        if matches!(end, SndEnd::Done) && g.used > 0 {
            behind.submit(g.cur, g.used);
        }
        // every buffer handed over is written (or failed) before anything is answered
        Ok((end, behind.finish()))
    })?;
    t.bytes = up.written;
    match (end, failure) {
        (SndEnd::Break, _) => {
            up.abort();
            info!("{} SNDFILE broken off by the client", s.peer());
            Ok(Reply::Ok)
        }
        (SndEnd::Failed(e), _) | (_, Some(e)) => {
            warn!("{} SNDFILE write failed: {e}", s.peer());
            up.abort();
            Err(upload_error(e))
        }
        (SndEnd::Quota, None) => {
            up.abort();
            super::quota::refused(s, "SNDFILE");
            Err(Failed::Quota.into())
        }
        (SndEnd::Done, None) => {
            let n = up.written;
            match up.commit(overwrite) {
                Ok(()) => {
                    super::quota::settle(&mut budget);
                    info!("{} SNDFILE stored {} bytes", s.peer(), n);
                    t.complete = true;
                    Ok(Reply::Ok)
                }
                Err(e) => Err(upload_error(e)),
            }
        }
    }
}

/// The least a download reads at once once the size it promised is used up
/// (the file may have grown; the end is a read of 0 bytes).
const SMALL_READ: usize = 4096;

/// A download's file, read one chunk ahead of the cipher (direct when uncached).
fn read_ahead(s: &Session, (file, size): (File, u64)) -> ReadAheadStream {
    ReadAheadStream::new(ReadAhead::new(file, 0, size, disk_chunk(s), direct_io_min(s)), size)
}

/// Opens a file for download: regular files only, following symlinks inside.
fn open_download(s: &Session, p: &RelPath) -> Result<(File, u64), Failed> {
    match s.open_file(p, libc::O_RDONLY, 0) {
        Ok((file, st)) => Ok((file, st.st_size as u64)),
        Err(FsError::NotFound) | Err(FsError::NotDir) => Err(Failed::NoSuchFile),
        Err(FsError::IsDir) => Err(Failed::IsDirectory),
        Err(e) => Err(denied_or(e, Failed::TransferApi)),
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
    let mut file = read_ahead(s, open_download(s, &p)?);
    t.path = Some(p.clone());
    let mut sent = 0u64;
    let complete = s.send_chunks(|buf, want| {
        let start = buf.len();
        buf.resize(start + file.room(SMALL_READ, want.saturating_sub(start)), 0);
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
        s.peer(),
        sent,
        if complete { "" } else { " (broken off)" }
    );
    if complete && delete {
        if let Ok((dir, name)) = s.root().parent(&p) {
            if let Err(e) = sys::unlinkat(dir.as_fd(), &name, false) {
                warn!("{} RCVFILE could not delete after download: {e}", s.peer());
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
    let opened = s.path(arg).ok().and_then(|p| open_download(s, &p).ok().map(|f| (f, p)));
    let Some((file, p)) = opened else {
        s.chan_mut().tx.send_i32(-1)?;
        return Ok(Reply::Sent);
    };
    t.path = Some(p);
    let mut file = read_ahead(s, file);
    let mut buf = vec![0u8; file.room(SMALL_READ, MAX_FRAME)];
    // the client reads to the end without answering: a small file's data and
    // its end leave in one write (the session releases after the command)
    s.chan_mut().tx.hold();
    loop {
        match read_full(&mut file, &mut buf) {
            Ok(0) => {
                s.chan_mut().tx.send_i32(0)?;
                t.complete = true;
                return Ok(Reply::Sent);
            }
            Ok(n) => {
                s.chan_mut()
                    .tx
                    .send_units_in_place(&(n as i32).to_be_bytes(), &mut buf[..n])?;
                t.bytes += n as u64;
            }
            Err(e) => {
                warn!("{} SDOWN read failed: {e}", s.peer());
                s.chan_mut().tx.send_i32(-1)?;
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
    let mut budget = s.path(arg).ok().and_then(|p| super::quota::budget(s, Some(&p)));
    let mut up = s.path(arg).ok().and_then(|p| {
        check_target(s, &p, true).ok()?;
        super::backup::begin(s, &p, direct_io_min(s)).ok()
    });
    let mut failed = up.is_none();
    if !failed {
        t.path = s.path(arg).ok();
    }
    let mut buf = Vec::new();
    loop {
        let len = s.chan_mut().rx.recv_i32()?;
        if len < 0 {
            drop(up);
            return Ok(Reply::Sent);
        }
        if len == 0 {
            let ok = !failed && up.take().is_some_and(|u| u.commit(true).is_ok());
            if ok {
                super::quota::settle(&mut budget);
            }
            t.complete = ok;
            s.chan_mut().tx.send_i32(if ok { 0 } else { -1 })?;
            return Ok(Reply::Sent);
        }
        if len as usize > MAX_FRAME {
            return Err(CmdError::Channel(ChannelError::Frame(FrameError::TooLarge {
                len,
                max: MAX_FRAME,
            })));
        }
        buf.resize(len as usize, 0);
        s.chan_mut().rx.recv_unit(&mut buf)?;
        if up.is_some() && !super::quota::reserve(&mut budget, buf.len() as u64) {
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
    // through the session, so each line meets TFPSFS like any path (STAT)
    let Ok(p) = s.path(path) else { return -1 };
    match s.stat(&p) {
        Ok(st) if Kind::of(&st) == Kind::File => st.st_size,
        Ok(_) => -2,
        Err(_) => -1,
    }
}

/// `FSIZE <path>` → one raw i64.
pub fn fsize(s: &mut Session, arg: &[u8]) -> CmdResult {
    let v = size_of(s, arg);
    s.chan_mut().tx.send_i64(v)?;
    Ok(Reply::Sent)
}

/// `FSIZELS <listfile>`: one raw i64 per line of the server-side list, then −3.
pub fn fsizels(s: &mut Session, arg: &[u8]) -> CmdResult {
    super::stat::for_each_line(s, arg, |s, path| {
        let v = size_of(s, path);
        Ok(s.chan_mut().tx.send_i64(v)?)
    })?;
    s.chan_mut().tx.send_i64(-3)?;
    Ok(Reply::Sent)
}
