//! tfd's delta uploads (doc/compatibility.md "Delta transfers"): a changed
//! file goes as the blocks of the old one it reuses and the bytes it does
//! not, rsync's algorithm.
//!
//! - `TFDDELTASIG <path>`: answers `OK <size> <block> <strong> <identity>`,
//!   then the old file's block signatures in `S` frames (read in windows: a
//!   big file never sits in memory) and a final status frame (`OK`, or
//!   `FAILED <n> : <reason>` when reading failed midway).
//! - `TFDDELTAPUT <size> <identity>[,m<mode>][,t<mtime>][,z] <path>`:
//!   answers `OK` (go on) or FAILED; the optional suffixes (mode in octal,
//!   mtime in seconds) are stamped on the new file before it takes the
//!   name, as TFDPUTMANY's flags do, so mirror's next run sees it
//!   unchanged, and `,z` (where `TFDZSTD` offers compression) lets the
//!   literals come as `Z` blocks of one zstd stream; then the client's
//!   delta frames (copy and literal records, `tfp_wire::delta`), the end
//!   frame `E<sha256 of the new file>`, and one status frame.
//!   The new file is built in an upload temporary beside the target
//!   ([`crate::fsys::upload::Upload`]: the old one is never touched), every copy bounded by the
//!   old file's size and every byte by `size`, hashed on the way; it
//!   replaces the target only if its SHA-256 is the client's and the target
//!   is still the version named by `identity`, keeping its mode and owner as
//!   SNDFILE's overwrite does.

use super::transfer::{check_target, direct_io_min, logged, Track};
use super::{CmdResult, OrFailed, Reply};
use crate::fsys::{FsError, RelPath};
use crate::session::{denied_or, Session};
use crate::xferlog::Direction;
use log::{info, warn};
use sha2::{Digest, Sha256};
use std::fs::File;
use std::os::unix::fs::FileExt;
use tfd_sys::write_behind::{Fill, Gather, WriteBehind};
use tfp_wire::delta::{self as wire, Op};
use tfp_wire::{command, Failed, MAX_FRAME};

/// Bytes of the old file read at once for its signatures.
const WINDOW: usize = 4 << 20;
/// Bytes of the old file whose signatures TFDDELTASIGP sends a window at a
/// time (the client probes after 4 MiB of them), not a full frame at a time.
const FRAME_EACH_WINDOW: u64 = 16 << 20;
/// Bytes of each buffer the new file is gathered in (two of them).
const CHUNK: usize = 4 << 20;

fn failed_frame(f: Failed, why: &str) -> Vec<u8> {
    format!("FAILED {} : {why}", f.code()).into_bytes()
}

fn identity_of(st: &libc::stat) -> String {
    wire::identity(st.st_size as u64, st.st_mtime, st.st_mtime_nsec, st.st_ino)
}

/// Opens the old file: a regular file the session may read.
fn open_old(s: &Session, p: &RelPath) -> Result<(File, libc::stat), Failed> {
    match s.open_file(p, libc::O_RDONLY, 0) {
        Ok(f) => Ok(f),
        Err(FsError::NotFound) | Err(FsError::NotDir) => Err(Failed::NoSuchFile),
        Err(FsError::IsDir) => Err(Failed::IsDirectory),
        Err(e) => Err(denied_or(e, Failed::TransferApi)),
    }
}

/// Reads exactly `buf.len()` bytes at `at`; a file that shrank meanwhile
/// is an error.
fn read_exact_at(f: &File, buf: &mut [u8], at: u64) -> std::io::Result<()> {
    f.read_exact_at(buf, at)
}

/// `TFDDELTASIG <path>`.
pub fn sig(s: &mut Session, arg: &[u8]) -> CmdResult {
    signatures(s, arg, false)
}

/// `TFDDELTASIGP <path>`: TFDDELTASIG, the client saying `G` (go on) or `A`
/// (stop: its first MiB reuses too little of what came) once it has probed;
/// an `A` that comes while the signatures are made ends them, answered
/// `FAILED 7` in place of the final `OK`, so a file that changed entirely
/// is not signed to its end for nothing.
pub(crate) fn sig_probed(s: &mut Session, arg: &[u8]) -> CmdResult {
    signatures(s, arg, true)
}

/// What the client said of the signatures (TFDDELTASIGP).
#[derive(PartialEq)]
enum Said {
    Nothing,
    Go,
    Stop,
}

/// Why TFDDELTASIGP's signatures stopped short.
enum Halt {
    Channel(tfp_channel::ChannelError),
    /// The client said `A`.
    Stopped,
}

impl From<tfp_channel::ChannelError> for Halt {
    fn from(e: tfp_channel::ChannelError) -> Halt {
        Halt::Channel(e)
    }
}

/// Reads the client's `G` or `A`; anything else is out of step.
fn said(rx: &mut tfp_channel::RxHalf<tfp_channel::NetStream>) -> Result<Said, tfp_channel::ChannelError> {
    match rx.recv_frame_max(MAX_FRAME)?.as_slice() {
        b"G" => Ok(Said::Go),
        b"A" => Ok(Said::Stop),
        _ => Err(tfp_channel::ChannelError::Io(std::io::Error::other(
            "TFDDELTASIGP: neither G nor A after the signatures",
        ))),
    }
}

fn signatures(s: &mut Session, arg: &[u8], probed: bool) -> CmdResult {
    let p = s.path(arg)?;
    if p.is_root() {
        return Err(Failed::IsDirectory.into());
    }
    s.check_lock_parent(&p)?;
    let (file, st) = open_old(s, &p)?;
    let size = st.st_size as u64;
    let block = wire::block_size(size);
    let head = format!("OK {size} {block} {} {}", wire::STRONG, identity_of(&st));
    s.chan_mut().tx.send_frame(head.as_bytes())?;
    let mut frame = Vec::with_capacity(wire::FRAME_DATA + wire::ENTRY);
    let read = |buf: &mut [u8], at: u64| read_exact_at(&file, buf, at);
    // the client's G or A, looked for between windows (its own socket: a dup)
    let sock = match probed {
        true => match s.chan_mut().stream().try_clone() {
            Ok(sock) => Some(sock),
            Err(e) => return Err(tfp_channel::ChannelError::Io(e).into()),
        },
        false => None,
    };
    let mut heard = Said::Nothing;
    let mut covered = 0u64;
    let chan = s.chan_mut();
    let (tx, rx) = (&mut chan.tx, &mut chan.rx);
    let sent = wire::signatures_ahead(size, block, WINDOW, &read, &mut |entries: &[u8]| {
        if let Some(sock) = sock.as_ref().filter(|_| heard == Said::Nothing) {
            use std::os::fd::AsFd as _;
            if tfd_sys::readable_now(sock.as_fd()) {
                heard = said(rx)?;
                if heard == Said::Stop {
                    return Err(Halt::Stopped);
                }
            }
        }
        for entry in entries.chunks(wire::ENTRY) {
            if frame.is_empty() {
                frame.push(b'S');
            }
            frame.extend_from_slice(entry);
            if frame.len() >= wire::FRAME_DATA {
                tx.send_frame(&frame)?;
                frame.clear();
            }
        }
        // the first ones go a window at a time, for the client's early probe
        covered += (entries.len() / wire::ENTRY) as u64 * block as u64;
        if sock.is_some() && covered <= FRAME_EACH_WINDOW && !frame.is_empty() {
            tx.send_frame(&frame)?;
            frame.clear();
        }
        Ok::<(), Halt>(())
    });
    match sent {
        Ok(()) => {}
        Err(wire::SigStop::Emit(Halt::Channel(e))) => return Err(e.into()),
        // a read that failed, or the client's A: FAILED in place of OK
        Err(stop) => {
            let why = match stop {
                wire::SigStop::Read(e) => {
                    warn!("{} TFDDELTASIG: reading: {e}", s.peer());
                    "the server could not read the file (changed meanwhile?)"
                }
                wire::SigStop::Emit(_) => {
                    info!("{} TFDDELTASIGP: the client needs no more signatures", s.peer());
                    "the client needs no more signatures"
                }
            };
            s.chan_mut().tx.send_frame(&failed_frame(Failed::TransferApi, why))?;
            return Ok(Reply::Sent);
        }
    }
    if !frame.is_empty() {
        s.chan_mut().tx.send_frame(&frame)?;
    }
    s.chan_mut().tx.send_frame(b"OK")?;
    if probed && heard == Said::Nothing {
        // all sent before the client probed: its word comes now
        said(&mut s.chan_mut().rx)?;
    }
    info!("{} TFDDELTASIG {size} bytes in blocks of {block}", s.peer());
    Ok(Reply::Sent)
}

/// `TFDDELTAPUT <size> <identity> <path>`.
pub fn put(s: &mut Session, arg: &[u8]) -> CmdResult {
    logged(s, arg, "TFDDELTAPUT", Direction::Incoming, put_t)
}

fn word(arg: &[u8]) -> Result<(&[u8], &[u8]), Failed> {
    command::split_space(arg).ok_or(Failed::MissingParameter)
}

/// Why the build failed.
enum Stop {
    /// The client's records are not a delta of this old file into `size`.
    Bad(&'static str),
    Write(FsError),
    Read(std::io::Error),
}

impl From<wire::Refused> for Stop {
    fn from(e: wire::Refused) -> Stop {
        Stop::Bad(e.reason())
    }
}

impl From<std::io::Error> for Stop {
    fn from(e: std::io::Error) -> Stop {
        Stop::Read(e)
    }
}

/// The build: the new file gathered for the writer thread, its hash, what arrived.
struct Build<'a, 'scope, 'env> {
    out: Gather<'scope, 'env, FsError>,
    old: &'a File,
    old_size: u64,
    size: u64,
    /// Bytes placed so far.
    built: u64,
    hash: Sha256,
}

impl Build<'_, '_, '_> {
    /// Places the next `len` bytes of the new file, `fill` writing each
    /// piece of room with the bytes from `at` of the record, and hashes them.
    fn place(&mut self, len: u64, fill: &mut Fill<'_, Stop>) -> Result<(), Stop> {
        let hash = &mut self.hash;
        self.out.place(len, fill, &mut |b| hash.update(b))?;
        self.built += len;
        match self.out.failure() {
            Some(e) => Err(Stop::Write(e)),
            None => Ok(()),
        }
    }

    fn apply(&mut self, frame: &[u8], lits: &mut wire::Literals) -> Result<(), Stop> {
        for op in wire::ops(frame) {
            let op = op.map_err(|()| Stop::Bad("a malformed delta record"))?;
            let room = self.size.saturating_sub(self.built);
            let d = lits.bytes(&op, room)?;
            let len = match op {
                Op::Copy { len, .. } => len,
                Op::Literal(_) | Op::Packed(_) => d.len() as u64,
            };
            if len == 0 {
                return Err(Stop::Bad("an empty delta record"));
            }
            if !matches!(self.built.checked_add(len), Some(e) if e <= self.size) {
                return Err(Stop::Bad("the delta builds more than the size it announced"));
            }
            match op {
                Op::Literal(_) | Op::Packed(_) => self.place(len, &mut |room, at| {
                    room.copy_from_slice(&d[at as usize..at as usize + room.len()]);
                    Ok(())
                })?,
                Op::Copy { offset, len } => {
                    if !matches!(offset.checked_add(len), Some(e) if e <= self.old_size) {
                        return Err(Stop::Bad("a copy past the end of the old file"));
                    }
                    let old = self.old;
                    self.place(len, &mut |room, at| Ok(read_exact_at(old, room, offset + at)?))?;
                }
            }
        }
        Ok(())
    }
}

/// The identity word: the identity, then optional `,m<octal mode>`,
/// `,t<mtime>` and `,z` (compressed literals; an identity never holds a
/// comma).
type Stamp = (Option<u32>, Option<i64>);

fn identity_word(w: &[u8]) -> Result<(&[u8], Stamp, bool), Failed> {
    let mut parts = w.split(|&b| b == b',');
    let identity = parts.next().unwrap_or_default();
    let (mut mode, mut mtime, mut packed) = (None, None, false);
    for part in parts {
        let text = std::str::from_utf8(part).or_failed(Failed::MissingParameter)?;
        match text.split_at_checked(1) {
            Some(("m", m)) if mode.is_none() => {
                mode = Some(u32::from_str_radix(m, 8).or_failed(Failed::MissingParameter)? & 0o777);
            }
            Some(("t", t)) if mtime.is_none() => {
                mtime = Some(t.parse::<i64>().or_failed(Failed::MissingParameter)?);
            }
            Some(("z", "")) if !packed => packed = true,
            _ => return Err(Failed::MissingParameter),
        }
    }
    Ok((identity, (mode, mtime), packed))
}

/// How the delta's literals come: with `packed` as blocks of one zstd
/// stream, whose memory is claimed of the budget while it lives; refused
/// (FAILED 16) where this server offers no compression, as the client was
/// told by `TFDZSTD`.
fn literals(s: &Session, packed: bool) -> Result<(wire::Literals, Option<crate::session::Hold>), super::CmdError> {
    if !packed {
        return Ok((wire::Literals::plain(), None));
    }
    let offer = super::compress::offer(s).ok_or(Failed::TransferApi)?;
    let held = s.hold(super::compress::stream_held(s), "a compressed delta's stream")?;
    let lits = wire::Literals::packed(offer.window_log).ok_or(Failed::TransferApi)?;
    Ok((lits, Some(held)))
}

fn put_t(s: &mut Session, arg: &[u8], t: &mut Track) -> CmdResult {
    let (size, rest) = word(arg)?;
    let (identity, path) = word(rest)?;
    let (identity, (mode, mtime), packed) = identity_word(identity)?;
    let size: u64 = std::str::from_utf8(size)
        .ok()
        .and_then(|n| n.parse().ok())
        .filter(|&n: &u64| n <= i64::MAX as u64)
        .ok_or(Failed::MissingParameter)?;
    let p = s.path(path)?;
    check_target(s, &p, true)?;
    let (old, st) = open_old(s, &p)?;
    if identity_of(&st).as_bytes() != identity {
        info!("{} TFDDELTAPUT: the file changed since its signatures", s.peer());
        return Ok(Reply::Frame(failed_frame(
            Failed::TransferApi,
            "the file changed since its signatures were sent",
        )));
    }
    // its buffers and a frame of records, claimed of the memory budget
    // (refused: the client sends the file whole); reads wait at most
    // hold_timeout meanwhile
    let _held = s.hold(2 * CHUNK as u64 + MAX_FRAME as u64, "TFDDELTAPUT")?;
    let (mut lits, _stream) = literals(s, packed)?;
    let mut budget = super::quota::budget(s, Some(&p));
    // the whole new file is reserved before any record (issue 47 finding 7):
    // one that can never fit is refused now and holds nothing, where record
    // by record it held room a file of another job needed until it ran out
    if !super::quota::reserve(&mut budget, size) {
        super::quota::refused(s, "TFDDELTAPUT");
        return Ok(Reply::Frame(failed_frame(Failed::Quota, "Quota exceeded.")));
    }
    let mut up = super::backup::begin(s, &p, direct_io_min(s))
        .map_err(|e| super::no_room(&e).unwrap_or_else(|| denied_or(e, Failed::TransferApi).into()))?;
    t.path = Some(p.clone());
    s.chan_mut().tx.send_frame(b"OK")?;
    let old_size = st.st_size as u64;
    // the new file goes through aligned buffers a writer thread writes
    // (direct) while this one reads the old file and hashes
    let (stop, want, wire_bytes, hash, built) = std::thread::scope(|scope| -> Result<_, super::CmdError> {
        let behind = WriteBehind::start(scope, CHUNK, |c: &[u8]| up.write_chunk(c));
        let mut b = Build {
            out: Gather::new(behind),
            old: &old,
            old_size,
            size,
            built: 0,
            hash: Sha256::new(),
        };
        let mut stop = None;
        let mut wire_bytes = 0u64;
        let want = loop {
            let frame = s.chan_mut().rx.recv_frame_max(MAX_FRAME)?;
            if let Some(sum) = frame.strip_prefix(b"E") {
                break sum.to_vec();
            }
            wire_bytes += frame.len() as u64;
            t.bytes = wire_bytes;
            if stop.is_none() {
                // after a failure the rest is read and dropped, so the session stays in step
                stop = b.apply(&frame, &mut lits).err();
            }
        };
        let late = b.out.finish().map(Stop::Write);
        Ok((stop.or(late), want, wire_bytes, b.hash, b.built))
    })?;
    let want = want.strip_prefix(b"0x").unwrap_or(&want);
    let reply = match stop {
        // the client's `Ex`: it gave the delta up (it will not pay, its file
        // moved while read): nothing is built
        _ if want == b"x" => {
            info!("{} TFDDELTAPUT abandoned by the client", s.peer());
            if wire_bytes == 0 {
                // withdrawn before any record (sent ahead, then the delta
                // would not pay): no transfer to log
                t.path = None;
            }
            failed_frame(Failed::TransferApi, "the client abandoned the delta")
        }
        Some(Stop::Bad(why)) => {
            warn!("{} TFDDELTAPUT refused: {why}", s.peer());
            failed_frame(Failed::TransferApi, why)
        }
        Some(Stop::Write(e)) => {
            warn!("{} TFDDELTAPUT write failed: {e}", s.peer());
            match e {
                FsError::NoSpace => failed_frame(Failed::Quota, tfp_wire::status::DISK_FULL),
                FsError::QuotaFull => failed_frame(Failed::Quota, "Quota exceeded."),
                e => failed_frame(
                    Failed::TransferApi,
                    &format!("the server could not write the file: {e}"),
                ),
            }
        }
        Some(Stop::Read(e)) => {
            warn!("{} TFDDELTAPUT: reading the old file: {e}", s.peer());
            failed_frame(Failed::TransferApi, "the old file changed during the delta")
        }
        None if built != size => failed_frame(
            Failed::TransferApi,
            &format!("the delta built {built} bytes, not {size}"),
        ),
        None => {
            let have: String = hash.finalize().iter().map(|x| format!("{x:02x}")).collect();
            let now = s.stat(&p).ok().map(|st| identity_of(&st));
            if !have.as_bytes().eq_ignore_ascii_case(want) {
                warn!("{} TFDDELTAPUT: SHA-256 mismatch", s.peer());
                failed_frame(
                    Failed::TransferApi,
                    &format!("SHA-256 mismatch (server 0x{have}): the delta is discarded"),
                )
            } else if now.as_deref().map(str::as_bytes) != Some(identity) {
                warn!("{} TFDDELTAPUT: the file changed during the delta", s.peer());
                failed_frame(Failed::TransferApi, "the file changed during the delta")
            } else {
                let land = super::land::landing_for(s, &p);
                let mut stamped = up.stamp(mode, mtime);
                if let (Ok(()), Some(l)) = (&stamped, &land) {
                    stamped = up.give_land(l);
                }
                match stamped.and_then(|()| up.commit(true)) {
                    Ok(()) => {
                        super::quota::settle(&mut budget);
                        t.complete = true;
                        info!("{} TFDDELTAPUT built {size} bytes from {wire_bytes} sent", s.peer());
                        s.chan_mut().tx.send_frame(b"OK")?;
                        return Ok(Reply::Sent);
                    }
                    Err(FsError::NoSpace) => failed_frame(Failed::Quota, tfp_wire::status::DISK_FULL),
                    Err(FsError::QuotaFull) => failed_frame(Failed::Quota, "Quota exceeded."),
                    Err(e) => failed_frame(
                        Failed::TransferApi,
                        &format!("the server could not write the file: {e}"),
                    ),
                }
            }
        }
    };
    s.chan_mut().tx.send_frame(&reply)?;
    Ok(Reply::Sent)
}
