//! FTYPE, FTYPELS and FSTATLS (2.5.1): file types and statistics as raw binary
//! answers, one cipher unit per value (the record layout is in
//! [`tfp_wire::fstat`]). Paths follow symlinks only while they stay inside the
//! root, like FSTAT and FSIZE; one that leads out reads as a failure.

use super::{CmdResult, Reply};
use crate::fsys::Kind;
use crate::session::Session;
use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::os::fd::AsFd;
use tfd_sys as sys;
use tfp_wire::fstat::{time_field, FileType, StatRecord, TYPE_END, TYPE_FAIL};

/// Longest line read from a list file (FSIZELS, FTYPELS, FSTATLS); a longer one
/// is read as several lines, as the reference's `fgets` did.
const MAX_LIST_LINE: u64 = 4096;

/// Values gathered before one write: each is still its own unit.
const BATCH: usize = 1024;

/// Every path goes through [`Session::path`], so TFPSFS judges it (the list file
/// needs RFILE, each line STAT) and metadata names are refused.
fn stat_of(s: &Session, path: &[u8]) -> Option<libc::stat> {
    let p = s.path(path).ok()?;
    s.stat(&p).ok()
}

fn type_of(s: &Session, path: &[u8]) -> i8 {
    stat_of(s, path).map_or(TYPE_FAIL, |st| FileType::from_mode(st.st_mode).code())
}

fn record_of(s: &Session, path: &[u8]) -> StatRecord {
    match stat_of(s, path) {
        Some(st) => StatRecord::Stat {
            kind: FileType::from_mode(st.st_mode),
            size: u64::try_from(st.st_size).unwrap_or(0),
            atime: time_field(st.st_atime),
            mtime: time_field(st.st_mtime),
        },
        None => StatRecord::Fail,
    }
}

/// The server-side list file, when it can be read: a regular file inside the
/// root. Anything else gives an empty list (the document: only the end marker).
/// The type is looked at before the file is opened: opening a FIFO completes a
/// writer's blocked open, and opening a device may act on it (a tape rewinds).
fn open_list(s: &Session, arg: &[u8]) -> Option<BufReader<File>> {
    let p = s.path(arg).ok()?;
    if Kind::of(&s.stat(&p).ok()?) != Kind::File {
        return None;
    }
    // swapped since: still checked on the open file, and O_NONBLOCK never waits
    let fd = s.open(&p, libc::O_RDONLY | libc::O_NONBLOCK | libc::O_NOCTTY, 0).ok()?;
    let st = sys::fstat(fd.as_fd()).ok()?;
    (Kind::of(&st) == Kind::File).then(|| BufReader::new(File::from(fd)))
}

/// Calls `each` with every line of the list file (without its `\n` or `\r\n`),
/// at most `walk_limit` lines: the one reading of FSIZELS, FTYPELS and FSTATLS
/// lists.
pub(super) fn for_each_line(
    s: &mut Session,
    arg: &[u8],
    mut each: impl FnMut(&mut Session, &[u8]) -> Result<(), super::CmdError>,
) -> Result<(), super::CmdError> {
    let Some(mut r) = open_list(s, arg) else { return Ok(()) };
    let mut budget = s.ctx().cfg.walk_limit;
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
        each(s, path)?;
    }
    Ok(())
}

/// Sends `values` as units (one each) in one write.
fn flush<const N: usize>(s: &mut Session, values: &mut Vec<[u8; N]>) -> Result<(), super::CmdError> {
    let refs: Vec<&[u8]> = values.iter().map(|v| &v[..]).collect();
    s.chan_mut().tx.send_units(&refs)?;
    values.clear();
    Ok(())
}

/// `FTYPE <path>` → one raw signed byte: the type, or −1.
pub fn ftype(s: &mut Session, arg: &[u8]) -> CmdResult {
    let t = type_of(s, arg);
    s.chan_mut().tx.send_units(&[&[t as u8]])?;
    Ok(Reply::Sent)
}

/// `FTYPELS <listfile>` → one raw byte per line of the server-side list (its
/// type, or −1), then −2. A list that cannot be read gives −2 alone.
pub fn ftypels(s: &mut Session, arg: &[u8]) -> CmdResult {
    let mut out: Vec<[u8; 1]> = Vec::new();
    for_each_line(s, arg, |s, path| {
        out.push([type_of(s, path) as u8]);
        if out.len() >= BATCH {
            flush(s, &mut out)?;
        }
        Ok(())
    })?;
    out.push([TYPE_END as u8]);
    flush(s, &mut out)?;
    Ok(Reply::Sent)
}

/// `FSTATLS <listfile>` → one 26-byte record per line of the server-side list,
/// then an end record (zero-filled: the reference leaked stack bytes there).
pub fn fstatls(s: &mut Session, arg: &[u8]) -> CmdResult {
    let mut out: Vec<[u8; 26]> = Vec::new();
    for_each_line(s, arg, |s, path| {
        out.push(record_of(s, path).encode());
        if out.len() >= BATCH {
            flush(s, &mut out)?;
        }
        Ok(())
    })?;
    out.push(StatRecord::End.encode());
    flush(s, &mut out)?;
    Ok(Reply::Sent)
}
