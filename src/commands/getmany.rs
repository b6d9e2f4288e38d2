//! tfd's batch download (doc/compatibility.md "Batch downloads"): many files
//! down in one exchange.
//!
//! `TFDGETMANY <n> [<max>]` (`n` at most [`MAX_FILES`]; `0` is a probe
//! answered `OK` alone; a file over `max` bytes is only announced, `B
//! <size> <mode, octal>`, for the client to fetch otherwise). After `OK` the client sends `n` frames, each a path, then `E`;
//! only then does the server send, per file, either `X <FAILED code>
//! <reason>` or a header `F <size> <mode, octal> <mtime>`, the data in frames
//! holding exactly `size` bytes together and a trailer `S <sha-256 of those
//! bytes, hex>` (or `A` when the file changed while it was read: the bytes
//! sent are no version of it), and at the end `OK <n>`. The paths together may
//! hold at most [`MAX_PATH_BYTES`]; a batch out of step is answered `FAILED`
//! and the session ends.

use super::transfer::{logged, Track};
use super::{CmdResult, OrFailed, Reply};
use crate::fsys::FsError;
use crate::session::{denied_or, Session};
use crate::xferlog::Direction;
use log::{info, warn};
use sha2::{Digest, Sha256};
use std::io::Read;
use tfp_wire::Failed;

pub use super::putmany::MAX_FILES;

/// The most bytes all the paths of one batch may hold.
pub const MAX_PATH_BYTES: usize = 16 << 20;

/// The longest path frame.
const MAX_PATH: usize = 4096;

/// The data frames sent.
const DATA_FRAME: usize = 256 << 10;

/// The largest file a packed batch (`TFDGETMANY <n> <max> p`) sends in one
/// frame, `f <size> <mode> <mtime> `, its bytes and its SHA-256 raw (32
/// bytes): 58 bytes of framing where the long form's three frames and hex
/// trailer take 99, a tenth of a 1 KiB file's bytes on the wire.
const PACKED_MAX: usize = 64 << 10;

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
    logged(s, arg, "TFDGETMANY", Direction::Outgoing, getmany_t)
}

fn getmany_t(s: &mut Session, arg: &[u8], t: &mut Track) -> CmdResult {
    let text = std::str::from_utf8(arg).or_failed(Failed::MissingParameter)?;
    let mut words = text.split_whitespace();
    let n: u64 = words
        .next()
        .and_then(|w| w.parse().ok())
        .ok_or(Failed::MissingParameter)?;
    // files larger than this are only announced (`B <size>`): the client
    // fetches them through its resumable engine
    let max: u64 = match words.next() {
        Some(w) => w.parse().or_failed(Failed::MissingParameter)?,
        None => u64::MAX,
    };
    // `p`: a small file in one frame, its hash raw ([`PACKED_MAX`])
    let packed = words.next() == Some("p");
    if !super::putmany::open_batch(s, n)? {
        return Ok(Reply::Sent);
    }
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
    if s.chan_mut().rx.recv_frame_max(16)? != b"E" {
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
                s.chan_mut().tx.send_frame(format!("X {} {why}", f.code()).as_bytes())?;
            }
            Ok((mut file, st)) => {
                let size = st.st_size.max(0) as u64;
                if size > max {
                    s.chan_mut()
                        .tx
                        .send_frame(format!("B {size} {:o}", st.st_mode & 0o7777).as_bytes())?;
                    continue;
                }
                if packed && size <= PACKED_MAX as u64 {
                    if let Some(sum) = read_whole(&mut file, &mut buf[..size as usize], &st) {
                        let head = format!("f {size} {:o} {} ", st.st_mode & 0o7777, st.st_mtime);
                        s.chan_mut()
                            .tx
                            .send_frame_parts(&[head.as_bytes(), &buf[..size as usize], &sum])?;
                        sent += 1;
                        bytes += size;
                        continue;
                    }
                    // short or changed: told in the long form, whose trailer aborts
                    // (a rewind that fails reads short: aborted too)
                    let _ = std::io::Seek::rewind(&mut file);
                }
                let head = format!("F {size} {:o} {}", st.st_mode & 0o7777, st.st_mtime);
                s.chan_mut().tx.send_frame(head.as_bytes())?;
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
                    s.chan_mut().tx.send_frame(&buf[..want])?;
                    left -= want as u64;
                }
                // written to while read: the bytes sent are no version of it
                if short || moved(&file, &st) {
                    s.chan_mut().tx.send_frame(b"A")?;
                } else {
                    let sum: String = h.finalize().iter().map(|b| format!("{b:02x}")).collect();
                    s.chan_mut().tx.send_frame(format!("S {sum}").as_bytes())?;
                    sent += 1;
                    bytes += size;
                }
            }
        }
    }
    s.chan_mut().tx.send_frame(format!("OK {sent}").as_bytes())?;
    s.chan_mut().tx.release()?;
    t.bytes = bytes;
    t.complete = true;
    if let Ok(p) = s.path(b"/") {
        t.path = Some(p);
    }
    info!("{} TFDGETMANY sent {sent} of {n} files, {bytes} bytes", s.peer());
    Ok(Reply::Sent)
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

/// A batch that cannot be read on: answered and the session ended.
fn out_of_step(s: &mut Session, why: &str) -> CmdResult {
    warn!("{} TFDGETMANY out of step: {why}; ending the session", s.peer());
    s.chan_mut()
        .tx
        .send_frame(format!("FAILED {} : {why}", Failed::MissingParameter.code()).as_bytes())?;
    Ok(Reply::Close)
}
