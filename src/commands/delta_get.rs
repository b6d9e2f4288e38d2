//! tfd's delta downloads (doc/compatibility.md "Delta transfers"): the other
//! direction of [`super::delta`]. The client has an old copy of a file; it
//! sends that copy's block signatures, and the server answers with the
//! records that build its file from the old copy (rsync's algorithm).
//!
//! `TFDDELTAGET <size> <block> <strong> <path>`: `size` is the client's old
//! copy's, `block` its signatures' block (what [`wire::block_size`] gives),
//! `strong` [`wire::STRONG`]. Answered `OK <size> <mtime> <mode, octal>` of
//! the server's file (or FAILED, before anything else moves); then the
//! client sends its signatures in `S` frames (exactly as many entries as a
//! file of `size` bytes has in blocks of `block`, at most
//! [`MAX_SIGNATURE`] bytes) and `E`, or `A` when it gives up (nothing more
//! is said). The server then reads its file in windows (no file sits whole
//! in memory), diffs each against the signatures and streams the records
//! (`tfp_wire::delta`) in frames, and ends with `E<SHA-256 hex>` of the
//! bytes the records build, or with `FAILED <n> : <reason>`: signatures that
//! do not describe such a file, a first MiB that would mostly go as literal
//! data or a file shorter than one block (a delta would not pay: the client
//! fetches the file whole; said at the first `S` frame, the rest read and
//! dropped), a read
//! that failed, or a file whose size, mtime or ctime moved while it was
//! read (the records are no version of it).

use super::transfer::{logged, Track};
use super::{CmdError, CmdResult, Reply};
use crate::fsys::FsError;
use crate::session::{denied_or, Session};
use crate::xferlog::Direction;
use log::{info, warn};
use sha2::Digest;
use std::os::unix::fs::{FileExt, MetadataExt};
use tfp_channel::ChannelError;
use tfp_wire::delta as wire;
use tfp_wire::{command, Failed, MAX_FRAME};

/// The most signature bytes a client may send.
pub(crate) const MAX_SIGNATURE: u64 = wire::MAX_GET_SIGNATURE;
/// Bytes of the file read (and diffed) at once, as the client's uploads do.
const WINDOW: usize = 8 << 20;
/// Windows read and hashed ahead at most (while the signatures come, while
/// the diff runs): a session holds at most `(AHEAD + 2) * WINDOW`.
const AHEAD: usize = 2;
/// Bytes at the front of the file diffed first to decide whether a delta pays.
const PROBE: usize = 1 << 20;
/// The probe must reuse at least this share (in percent) of its bytes.
const MIN_REUSED_PERCENT: u64 = 20;
/// Bytes of the client's old copy whose signatures, once they have come,
/// are enough for a first probe: a first MiB that reuses nothing of them is
/// answered FAILED at once, while the client still makes the rest (it stops
/// when it sees the answer), instead of after all of them (issue 43: a
/// forced delta of a file that changed entirely cost 1.4× its whole
/// download, most of it signatures of the old copy). One window of tf's
/// (4 MiB), as an upload's probe waits for one of the server's: 8 MiB cost
/// a second window of MD4 before the answer.
const EARLY: u64 = 4 << 20;

/// `TFDDELTAGET <size> <block> <strong> <path>`.
pub fn get(s: &mut Session, arg: &[u8]) -> CmdResult {
    logged(s, arg, "TFDDELTAGET", Direction::Outgoing, |s, arg, t| {
        get_t(s, arg, t, None)
    })
}

/// `TFDDELTAGETZ <choice> <size> <block> <strong> <path>`: TFDDELTAGET whose
/// literals go as `Z` blocks of one zstd stream where they shrink; refused
/// as unknown where this server offers no compression.
pub fn getz(s: &mut Session, arg: &[u8]) -> CmdResult {
    if super::compress::offer(s).is_none() {
        return Ok(Reply::Unknown);
    }
    logged(s, arg, wire::GET_PACKED, Direction::Outgoing, |s, arg, t| {
        let (choice, rest) = wire::packed_get(arg).ok_or(Failed::MissingParameter)?;
        get_t(s, rest, t, Some(choice))
    })
}

fn word(arg: &[u8]) -> Result<(&[u8], &[u8]), Failed> {
    command::split_space(arg).ok_or(Failed::MissingParameter)
}

fn number<T: std::str::FromStr>(w: &[u8]) -> Result<T, Failed> {
    std::str::from_utf8(w)
        .ok()
        .and_then(|t| t.parse().ok())
        .ok_or(Failed::MissingParameter)
}

fn failed_frame(f: Failed, why: &str) -> Vec<u8> {
    format!("FAILED {} : {why}", f.code()).into_bytes()
}

/// The signature bytes a file of `size` bytes in blocks of `block` has,
/// when the arguments are sane.
fn signature_len(size: u64, block: u32, strong: u32) -> Option<u64> {
    let ok = size <= i64::MAX as u64 && (wire::MIN_BLOCK..=wire::MAX_BLOCK).contains(&block) && strong == wire::STRONG;
    let n = wire::entries(size, block).checked_mul(wire::ENTRY as u64)?;
    (ok && n <= MAX_SIGNATURE).then_some(n)
}

/// The memory a TFDDELTAGET may hold, claimed of the budget: `want` bytes
/// of signatures with their index (none for a file of `size` bytes shorter
/// than a `block`: nothing is kept), and the windows of the file read ahead.
fn held(want: u64, size: u64, block: u32) -> u64 {
    let signatures = if size < u64::from(block) {
        0
    } else {
        want.saturating_mul(wire::HELD_PER_SIGNATURE_BYTE)
    };
    let windows = ((AHEAD + 2) as u64).saturating_mul(size.min(WINDOW as u64));
    signatures.saturating_add(windows)
}

/// The early probe: the file's first window (what the reader gave, to be
/// used again) and whether its first MiB reuses enough of the blocks of the
/// first `covers` bytes of the old copy, whose signatures `sig` holds,
/// judged on samples of it ([`wire::Diff::early_pays`]) (a
/// failed read or a signature that does not parse: it pays, the full
/// probe and the diff will tell).
fn early_probe(reader: &wire::Reader, sig: &[u8], covers: u64, block: u32) -> (Option<wire::Ahead>, bool) {
    let first = reader.next();
    let Some(wire::Ahead::Window(0, buf)) = &first else {
        return (first, true);
    };
    let Ok(sig) = fast_rsync::Signature::deserialize(sig.to_vec()) else {
        return (first, true);
    };
    let probe = buf.len().min(PROBE);
    let pays = wire::Diff::new(&sig, covers, block).early_pays(&buf[..probe], MIN_REUSED_PERCENT);
    (first, pays)
}

/// Why the stream of records stopped short.
enum Stop {
    Channel(ChannelError),
    /// Said to the client in the end frame.
    Told(&'static str),
}

impl From<ChannelError> for Stop {
    fn from(e: ChannelError) -> Stop {
        Stop::Channel(e)
    }
}

/// The file a TFDDELTAGET names, opened for reading, with its stat.
fn open_target(s: &mut Session, path: &[u8], t: &mut Track) -> Result<(std::fs::File, libc::stat), CmdError> {
    let p = s.path(path)?;
    if p.is_root() {
        return Err(Failed::IsDirectory.into());
    }
    s.check_lock_parent(&p)?;
    let (file, st) = match s.open_file(&p, libc::O_RDONLY, 0) {
        Ok((f, st)) if crate::fsys::Kind::of(&st) == crate::fsys::Kind::File => (f, st),
        Ok(_) => return Err(Failed::NotAFile.into()),
        Err(FsError::NotFound) | Err(FsError::NotDir) => return Err(Failed::NoSuchFile.into()),
        Err(FsError::IsDir) => return Err(Failed::IsDirectory.into()),
        Err(e) => return Err(denied_or(e, Failed::TransferApi).into()),
    };
    t.path = Some(p);
    Ok((file, st))
}

fn get_t(s: &mut Session, arg: &[u8], t: &mut Track, packed: Option<tfp_wire::compress::Choice>) -> CmdResult {
    let (size, rest) = word(arg)?;
    let (block, rest) = word(rest)?;
    let (strong, path) = word(rest)?;
    let (their_size, block, strong): (u64, u32, u32) = (number(size)?, number(block)?, number(strong)?);
    let want = signature_len(their_size, block, strong).ok_or(Failed::MissingParameter)?;
    let (file, st) = open_target(s, path, t)?;
    let size = st.st_size.max(0) as u64;
    // what the signatures and the windows may come to is claimed of the
    // memory budget before any comes (refused: the client fetches whole);
    // reads and sends wait at most hold_timeout meanwhile
    let _held = s.hold(held(want, size, block), "TFDDELTAGET")?;
    let head = format!("OK {size} {} {:o}", st.st_mtime, st.st_mode & 0o7777);
    s.chan_mut().tx.send_frame(head.as_bytes())?;
    // the file is read (and hashed) ahead while the signatures come: first
    // what the probe needs, the rest once it says the delta pays (reading
    // and hashing 8 MiB first took a core from tf's signatures)
    let read = |buf: &mut [u8], at: u64| file.read_exact_at(buf, at);
    wire::read_ahead(size, PROBE, WINDOW, AHEAD, &read, |reader| -> CmdResult {
        let (sig, first) = match hear_signatures(s, reader, block, want, their_size, size)? {
            Heard::Signatures(sig, first) => (sig, first),
            Heard::Done(reply) => return Ok(reply),
        };
        let mut d = wire::Diff::new(&sig, their_size, block);
        // the stream's memory claim lives as long as the records are made
        let (mut out, _stream) = match packed.and_then(|choice| super::compress::sending(s, choice)) {
            Some((Some(sq), held)) => (wire::Records::packing(sq), held),
            _ => (wire::Records::default(), None),
        };
        let r = send_records(s, reader, first, &mut d, &mut out, t, size).and_then(|hash| {
            if moved(&file, &st, size) {
                // written to while read: the records are no version of it
                return Err(Stop::Told(
                    "the file changed while it was read; no delta of it was sent",
                ));
            }
            Ok(hash)
        });
        t.bytes = out.sent;
        match r {
            Ok(hash) => {
                let sum: String = hash.finalize().iter().map(|b| format!("{b:02x}")).collect();
                s.chan_mut().tx.send_frame(format!("E{sum}").as_bytes())?;
                t.complete = true;
                let (before, after) = out.packed();
                info!(
                    "{} TFDDELTAGET {size} bytes as {} of records ({} reused{})",
                    s.peer(),
                    out.sent,
                    out.reused,
                    if before > 0 {
                        format!(", {before} literal bytes as {after} zstd")
                    } else {
                        String::new()
                    }
                );
            }
            Err(Stop::Channel(e)) => return Err(e.into()),
            Err(Stop::Told(why)) => {
                info!("{} TFDDELTAGET: {why}", s.peer());
                s.chan_mut().tx.send_frame(&failed_frame(Failed::TransferApi, why))?;
            }
        }
        Ok(Reply::Sent)
    })
}

/// What the client's signatures came to.
enum Heard {
    /// All of them, as a file of the size it announced has, and the file's
    /// first window if the early probe took it.
    Signatures(fast_rsync::Signature, Option<wire::Ahead>),
    /// The exchange ended (refused, given up, out of step): this reply.
    Done(Reply),
}

/// Takes the client's signatures (never more than `want` bytes) until its
/// `E`, running the early probe once they cover [`EARLY`] bytes (a probe that
/// fails is answered at once and the rest drained; so is a file of `size`
/// bytes shorter than one block, of which no signature could be used).
fn hear_signatures(
    s: &mut Session,
    reader: &wire::Reader,
    block: u32,
    want: u64,
    their_size: u64,
    size: u64,
) -> Result<Heard, CmdError> {
    let mut sig = wire::sig_header(block).to_vec();
    if size >= u64::from(block) {
        // exactly what was claimed: growing by doubling held up to twice it
        sig.reserve_exact(usize::try_from(want).unwrap_or(0));
    }
    let mut wrong = None;
    // the file's first window, once taken for the early probe
    let mut first = None;
    // the answer already sent (the early probe failed): the rest is drained
    let mut told = false;
    loop {
        let f = s.chan_mut().rx.recv_frame_max(MAX_FRAME)?;
        match f.split_first() {
            Some((b'S', _)) if told => {}
            // a file shorter than a block holds no block of the old copy: no
            // signature could be used, so none is kept (an empty file took
            // 32 MiB of them a session)
            Some((b'S', _)) if size < u64::from(block) => {
                info!(
                    "{} TFDDELTAGET: a delta would not pay (a file shorter than a block)",
                    s.peer()
                );
                s.chan_mut().tx.send_frame(&failed_frame(
                    Failed::TransferApi,
                    "a delta would not pay: the file is shorter than one block",
                ))?;
                told = true;
            }
            Some((b'S', entries)) => {
                let held = (sig.len() - wire::SIG_HEADER) as u64;
                if entries.len() % wire::ENTRY != 0 || held + entries.len() as u64 > want {
                    wrong = Some("more signatures than a file of that size has");
                } else if wrong.is_none() {
                    sig.extend_from_slice(entries);
                    let now = (sig.len() - wire::SIG_HEADER) as u64;
                    let covers = (now / wire::ENTRY as u64).saturating_mul(block as u64);
                    if first.is_none() && (covers >= EARLY || now == want) {
                        let (buf, pays) = early_probe(reader, &sig, their_size.min(covers), block);
                        first = buf;
                        if pays {
                            reader.go();
                        } else {
                            info!("{} TFDDELTAGET: a delta would not pay (early probe)", s.peer());
                            s.chan_mut().tx.send_frame(&failed_frame(
                                Failed::TransferApi,
                                "a delta would not pay: most of the file differs",
                            ))?;
                            told = true;
                        }
                    }
                }
            }
            Some((b'E', [])) if told => return Ok(Heard::Done(Reply::Sent)),
            Some((b'E', [])) => break,
            Some((b'A', [])) => {
                info!("{} TFDDELTAGET: the client gave up", s.peer());
                return Ok(Heard::Done(Reply::Sent));
            }
            _ => {
                warn!("{} TFDDELTAGET out of step; ending the session", s.peer());
                s.chan_mut().tx.send_frame(&failed_frame(
                    Failed::MissingParameter,
                    "a frame that is neither signatures nor their end",
                ))?;
                return Ok(Heard::Done(Reply::Close));
            }
        }
    }
    if wrong.is_none() && (sig.len() - wire::SIG_HEADER) as u64 != want {
        wrong = Some("fewer signatures than a file of that size has");
    }
    let sig = match wrong {
        None => fast_rsync::Signature::deserialize(sig).ok(),
        Some(_) => None,
    };
    let Some(sig) = sig else {
        let why = wrong.unwrap_or("signatures that do not parse");
        warn!("{} TFDDELTAGET refused: {why}", s.peer());
        s.chan_mut()
            .tx
            .send_frame(&failed_frame(Failed::MissingParameter, why))?;
        return Ok(Heard::Done(Reply::Sent));
    };
    Ok(Heard::Signatures(sig, first))
}

/// Diffs the file, window by window as the reader gives them, against the
/// signatures and sends the records; the file's SHA-256 when all went.
fn send_records(
    s: &mut Session,
    reader: &wire::Reader,
    mut first: Option<wire::Ahead>,
    d: &mut wire::Diff,
    out: &mut wire::Records,
    t: &mut Track,
    size: u64,
) -> Result<sha2::Sha256, Stop> {
    let bad = || Stop::Told("the delta could not be made");
    let unread = |_| Stop::Told("the server could not read the file (changed meanwhile?)");
    let mut settled = 0u64;
    loop {
        let (start, buf) = match first.take().map_or_else(|| reader.next(), Some) {
            Some(wire::Ahead::Window(start, buf)) => (start, buf),
            Some(wire::Ahead::Failed(e)) => return Err(unread(e)),
            _ => return Err(unread(std::io::Error::other("no reader"))),
        };
        if start == 0 {
            // the first MiB, against all the signatures, decides whether a delta pays
            let probe = buf.len().min(PROBE);
            let literal = d.literal_share(&buf[..probe]).ok_or_else(bad)?;
            if literal * 100 > probe as u64 * (100 - MIN_REUSED_PERCENT) {
                return Err(Stop::Told("a delta would not pay: most of the file differs"));
            }
            reader.go();
        }
        let end = start + buf.len() as u64;
        let last = end == size;
        // each window repeats the end of the last: what it left unsettled
        let from = match settled.checked_sub(start) {
            Some(o) if o <= buf.len() as u64 => o as usize,
            _ => return Err(bad()),
        };
        let tx = &mut s.chan_mut().tx;
        let done = d.feed(&buf[from..], last, out, &mut |f: &[u8]| Ok(tx.send_frame(f)?), &bad)?;
        reader.give_back(buf);
        settled += done as u64;
        t.bytes = out.sent;
        if last {
            break;
        }
    }
    let hash = match reader.next() {
        Some(wire::Ahead::Sum(h)) => h,
        Some(wire::Ahead::Failed(e)) => return Err(unread(e)),
        _ => return Err(unread(std::io::Error::other("no reader"))),
    };
    let tx = &mut s.chan_mut().tx;
    out.finish(&mut |f: &[u8]| Ok::<_, Stop>(tx.send_frame(f)?))?;
    Ok(hash)
}

/// Whether the file's size, mtime or ctime differ from `st`'s (or it cannot
/// be stat'ed): it was written to while read.
fn moved(file: &std::fs::File, st: &libc::stat, size: u64) -> bool {
    file.metadata().map_or(true, |m| {
        (m.size(), m.mtime(), m.mtime_nsec(), m.ctime(), m.ctime_nsec())
            != (size, st.st_mtime, st.st_mtime_nsec, st.st_ctime, st.st_ctime_nsec)
    })
}
