//! Delta uploads: a file that exists on the server goes as rsync sends it,
//! the blocks of the old file it reuses (found at any offset, by a rolling
//! checksum and a strong hash, `fast_rsync`) and the bytes it does not
//! (tfd's extension, doc/compatibility.md "Delta transfers").
//!
//! [`put`] asks for the old file's block signatures, reads the local file
//! once, in windows (memory stays bounded whatever its size), diffs each
//! window against them and streams copy and literal records; the server
//! builds the new file beside the target, checks its SHA-256 against the one
//! this side sent at the end, and replaces the target in one rename only if
//! it matches and the target is still the version the signatures came from.
//! Whenever a delta cannot or would not pay (a server without the extension,
//! no old file, a small file, most of its first MiB changed) or fails on
//! the server (a mismatch, the old file changed meanwhile, a full disk),
//! [`put`] answers [`Outcome::Whole`] and the caller sends the file whole,
//! once: the target is never touched by a failed delta.
//!
//! [`get`] is the other direction (`get.rs`): the old copy is local.

use crate::caps::Ext;
use crate::engine::route;
use crate::engine::upload::file::Keep;
use crate::{Client, Error};
use fast_rsync::Signature;
pub use get::get;
use sha2::{Digest, Sha256};
use std::fs::File;
use std::os::unix::fs::{FileExt, MetadataExt};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use tfp_wire::compress::Squeeze;
use tfp_wire::delta as wire;
use tfp_wire::Status;

mod get;
mod outcome;

pub use crate::engine::route::MIN_SIZE;
use outcome::whole;
pub use outcome::Outcome;

/// The most signature bytes held (a 1 TiB file in 128 KiB blocks has 96 MiB).
const MAX_SIGNATURE: u64 = 128 << 20;
/// Bytes of the local file read (and diffed) at once.
const WINDOW: usize = 8 << 20;
/// Windows read and hashed ahead of the diff at most (once the probe says
/// the delta pays; before it, only the first): memory stays under
/// `(AHEAD + 2) * WINDOW`.
const AHEAD: usize = 6;
/// Bytes at the front of the file diffed first to decide whether a delta
/// pays: the reader's first window, all it reads and hashes before the probe.
const PROBE: usize = 1 << 20;
/// The probe must reuse at least this share (in percent) of its bytes, or
/// the file goes whole.
const MIN_REUSED_PERCENT: u64 = 20;

/// What TFDDELTASIG answered first.
struct SigHead {
    size: u64,
    block: u32,
    identity: String,
}

fn parse_head(data: &[u8]) -> Option<SigHead> {
    let text = std::str::from_utf8(data).ok()?;
    let mut w = text.split(' ');
    let size = w.next()?.parse().ok()?;
    let block: u32 = w.next()?.parse().ok()?;
    let strong: u32 = w.next()?.parse().ok()?;
    let identity = w.next()?.to_string();
    let ok = w.next().is_none()
        && strong == wire::STRONG
        && (wire::MIN_BLOCK..=wire::MAX_BLOCK).contains(&block)
        && !identity.is_empty()
        && identity.len() <= 128
        && identity.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
    ok.then_some(SigHead { size, block, identity })
}

/// Bytes of the old file whose signatures are enough for the early probe
/// (TFDDELTASIGP): a first MiB that reuses too little of them stops the
/// server's signatures there. One server window (4 MiB): the probe waits
/// for no second one (a file that changed entirely, 64 MiB forced as a
/// delta on loopback, lost 0.84-0.90 of whole-file's speed with 8 MiB and an
/// 8 MiB first read; a first MiB moved up to 3 MiB still finds its blocks).
const EARLY: u64 = 4 << 20;

/// The early probe of a TFDDELTASIGP: given the signatures so far (with
/// their header) and the bytes of the old file they cover, whether the
/// delta goes on (`G` is then sent, and what must follow it).
type Probe<'a> = &'a mut dyn FnMut(&mut Client, &[u8], u64) -> Result<bool, Error>;

/// Reads the signature frames after the head, never more than a file of
/// `head.size` bytes has. `Ok(None)`: too many to hold, or the server's final status was a
/// failure, or `probe` said stop (the session is in step). With `probe`
/// (TFDDELTASIGP) it is asked once the signatures of the first [`EARLY`]
/// bytes (or all) have come, and its answer said: `G`, or `A` and the rest
/// is read and dropped.
fn read_signature(c: &mut Client, head: &SigHead, mut probe: Option<Probe<'_>>) -> Result<Option<Signature>, Error> {
    let max = wire::entries(head.size, head.block).saturating_mul(wire::ENTRY as u64);
    // more than this (a file of over 1 TiB, or a lying head) is not held:
    // the frames are read and dropped, and the file goes whole
    let keep = max <= MAX_SIGNATURE;
    let max = max.min(MAX_SIGNATURE) as usize;
    let mut sig = wire::sig_header(head.block).to_vec();
    let mut stopped = false;
    loop {
        let frame = c.chan.rx.recv_frame()?;
        match frame.split_first() {
            Some((b'S', _)) if !keep || stopped => {}
            Some((b'S', entries)) => {
                if sig.len() - wire::SIG_HEADER + entries.len() > max || entries.len() % wire::ENTRY != 0 {
                    return Err(Error::Protocol(
                        "TFDDELTASIG sent more signatures than its file has".into(),
                    ));
                }
                sig.extend_from_slice(entries);
                let held = sig.len() - wire::SIG_HEADER;
                let covers = (held / wire::ENTRY) as u64 * head.block as u64;
                if covers >= EARLY || held == max {
                    if let Some(p) = probe.take() {
                        let go = p(c, &sig, covers.min(head.size))?;
                        stopped = !go;
                    }
                }
            }
            _ => {
                let st = Status::parse(&frame);
                if matches!(st, Status::Ok(_)) && probe.is_some() {
                    // never probed (nothing held): the server waits for a word
                    c.chan.tx.send_frame(b"A")?;
                    return Ok(None);
                }
                return match st {
                    _ if stopped => Ok(None),
                    Status::Ok(_) if !keep => Ok(None),
                    Status::Ok(_) if sig.len() - wire::SIG_HEADER == max => Signature::deserialize(sig)
                        .map(Some)
                        .map_err(|_| Error::Protocol("TFDDELTASIG sent a malformed signature".into())),
                    Status::Ok(_) => Err(Error::Protocol(
                        "TFDDELTASIG sent fewer signatures than its file has".into(),
                    )),
                    _ => Ok(None),
                };
            }
        }
    }
}

/// Tells a TFDDELTASIGP's server to stop (`A`): no delta follows.
fn stop_signatures(c: &mut Client) -> Result<bool, Error> {
    c.chan.tx.send_frame(b"A")?;
    Ok(false)
}

/// Gives up the TFDDELTAPUT sent ahead: its answer is read and, when it
/// was `OK`, the delta ended with a sum no file has (`Ex`), so the server
/// discards the build and the session stays in step.
fn abandon(c: &mut Client) -> Result<(), Error> {
    if let Status::Ok(_) = Status::parse(&c.chan.rx.recv_frame()?) {
        c.chan.tx.send_frame(b"Ex")?;
        c.chan.rx.recv_frame()?;
    }
    Ok(())
}

/// The delta's compression, where `choice` compresses over this session's
/// link ([`route::compresses`]) and the server offers it (`TFDZSTD`, asked
/// once per session): its literals go as blocks of one zstd stream where
/// they shrink (`,z`).
fn packing(c: &mut Client, choice: tfp_wire::compress::Choice) -> Result<Option<Squeeze>, Error> {
    let sq = route::compressed_offer(c, choice)?.and_then(|o| Squeeze::new(choice, o));
    Ok(sq.map(|sq| crate::compress::send::on_link(c, sq)))
}

/// Sends one frame of records on the session.
fn sender(c: &mut Client) -> impl FnMut(&[u8]) -> Result<(), Error> + '_ {
    move |f: &[u8]| c.chan.tx.send_frame(f).map_err(Error::from)
}

fn unreadable() -> Error {
    Error::Protocol("fast_rsync wrote a delta this side cannot read".into())
}

/// Uploads `local` onto the existing `remote` as a delta, or says why not
/// ([`Outcome::Whole`]: then send it whole). `progress` counts the local
/// bytes done.
pub fn put(c: &mut Client, local: &Path, remote: &[u8], progress: &AtomicU64) -> Result<Outcome, Error> {
    put_keeping(c, local, remote, progress, Keep::default())
}

/// [`put`], the new file keeping what `keep` says of the local one (its
/// mode, its mtime: what mirror needs so its next run sees it unchanged).
/// A file whose size, mtime or ctime moved while it was read is never
/// committed: the server discards the build and this answers
/// `Err(Error::Local)`.
pub fn put_keeping(
    c: &mut Client,
    local: &Path,
    remote: &[u8],
    progress: &AtomicU64,
    keep: Keep,
) -> Result<Outcome, Error> {
    let f = File::open(local).map_err(Error::Local)?;
    let before = f.metadata().map_err(Error::Local)?;
    let size = before.len();
    if size < MIN_SIZE {
        return whole("a small file");
    }
    let read = |buf: &mut [u8], at: u64| f.read_exact_at(buf, at);
    wire::read_ahead(size, PROBE, WINDOW, AHEAD, &read, |reader| {
        send_delta(c, reader, &f, &before, remote, progress, keep)
    })
}

/// Feeds the local file's windows, from the `first` one read for the
/// probes, to the diff, sending its records as they come, and returns the
/// SHA-256 of what was read, unless the file moved while it was read.
#[allow(clippy::too_many_arguments)]
fn feed_windows(
    c: &mut Client,
    reader: &wire::Reader,
    d: &mut wire::Diff,
    out: &mut wire::Records,
    first: Vec<u8>,
    f: &File,
    before: &std::fs::Metadata,
    progress: &AtomicU64,
) -> Result<Sha256, Error> {
    let size = before.len();
    let mut settled = 0u64;
    let mut window = Some((0u64, first));
    loop {
        let (start, buf) = match window.take() {
            Some(w) => w,
            None => match reader.next() {
                Some(wire::Ahead::Window(start, buf)) => (start, buf),
                Some(wire::Ahead::Failed(e)) => return Err(Error::Local(e)),
                _ => return Err(Error::Local(std::io::Error::other("the local file could not be read"))),
            },
        };
        let end = start + buf.len() as u64;
        let last = end == size;
        // each window repeats the end of the last: what it left unsettled
        let from = match settled.checked_sub(start) {
            Some(o) if o <= buf.len() as u64 => o as usize,
            _ => return Err(unreadable()),
        };
        let done = d.feed(&buf[from..], last, out, &mut sender(c), &unreadable)?;
        reader.give_back(buf);
        settled += done as u64;
        progress.store(settled, Ordering::Relaxed);
        if last {
            let hash = match reader.next() {
                Some(wire::Ahead::Sum(h)) => h,
                Some(wire::Ahead::Failed(e)) => return Err(Error::Local(e)),
                _ => return Err(Error::Local(std::io::Error::other("the local file could not be read"))),
            };
            let after = f.metadata().map_err(Error::Local)?;
            if crate::transfer::moved(before, &after) {
                return Err(Error::Local(std::io::Error::other(
                    "it changed while it was read; not sent (the server keeps its old copy)",
                )));
            }
            return Ok(hash);
        }
    }
}

/// [`put_keeping`] once the local file is being read (and hashed) ahead.
fn send_delta(
    c: &mut Client,
    reader: &wire::Reader,
    f: &File,
    before: &std::fs::Metadata,
    remote: &[u8],
    progress: &AtomicU64,
    keep: Keep,
) -> Result<Outcome, Error> {
    let size = before.len();
    // asked before the signatures start (TFDZSTD, once per session): within
    // their exchange only its own words may go
    let squeeze = packing(c, keep.compress)?;
    // TFDDELTASIGP where the server has it (an early probe can stop its
    // signatures), else TFDDELTASIG
    let probed = c.caps().has(Ext::SigProbe);
    let (cmd, ext) = match (probed, c.caps().has(Ext::DeltaSig)) {
        (true, _) => ("TFDDELTASIGP", Ext::SigProbe),
        (false, true) => ("TFDDELTASIG", Ext::DeltaSig),
        (false, false) => return whole("the server has no delta transfers"),
    };
    let head = match c.call(cmd, remote)? {
        Status::Ok(data) => parse_head(&data).ok_or_else(|| Error::Protocol("malformed TFDDELTASIG answer".into()))?,
        Status::Unknown => return Err(crate::caps::contradicted(ext)),
        other => return whole(format!("no signatures: {other:?}")),
    };
    let held = wire::entries(head.size, head.block).saturating_mul(wire::ENTRY as u64) <= MAX_SIGNATURE;
    if head.size == 0 || !held {
        // (a probed one is told A at the end: nothing was probed)
        let mut never = |c: &mut Client, _: &[u8], _: u64| stop_signatures(c);
        read_signature(c, &head, probed.then_some(&mut never as Probe<'_>))?;
        return whole(if held { "an empty target" } else { "too many signatures" });
    }
    // the first window, for the probes
    let first = match reader.next() {
        Some(wire::Ahead::Window(0, buf)) => buf,
        other => {
            let mut never = |c: &mut Client, _: &[u8], _: u64| stop_signatures(c);
            read_signature(c, &head, probed.then_some(&mut never as Probe<'_>))?;
            return Err(Error::Local(match other {
                Some(wire::Ahead::Failed(e)) => e,
                _ => std::io::Error::other("the local file could not be read"),
            }));
        }
    };
    let probe = first.len().min(PROBE);
    // TFDDELTAPUT goes behind TFDDELTASIG (or TFDDELTASIGP's G), before the
    // signatures end: its answer comes after them instead of a round trip
    // later; a delta that will not be made after all is abandoned (`Ex`: no
    // file has that sum)
    let mut stamp = String::new();
    if keep.mode {
        stamp.push_str(&format!(",m{:o}", before.mode() & 0o777));
    }
    if keep.mtime {
        let mtime = keep.stamped_mtime(before.mtime());
        stamp.push_str(&format!(",t{mtime}"));
    }
    if squeeze.is_some() {
        stamp.push_str(",z");
    }
    let mut line = format!("TFDDELTAPUT {size} {}{stamp} ", head.identity).into_bytes();
    line.extend_from_slice(remote);
    let sig = if probed {
        // TFDDELTAPUT goes behind the G (the server reads G or A between
        // its windows): still before the rest of the signatures come
        let mut went = false;
        let mut early = |c: &mut Client, sig: &[u8], covers: u64| -> Result<bool, Error> {
            // a partial signature that does not parse: the full one will tell
            // judged on samples of the first MiB (Diff::early_pays), as tfd
            // judges a download's
            let pays = match Signature::deserialize(sig.to_vec()) {
                Ok(part) => wire::Diff::new(&part, covers, head.block).early_pays(&first[..probe], MIN_REUSED_PERCENT),
                Err(_) => true,
            };
            if !pays {
                return stop_signatures(c);
            }
            c.chan.tx.send_frame(b"G")?;
            c.chan.tx.send_frame(&line)?;
            went = true;
            Ok(true)
        };
        match read_signature(c, &head, Some(&mut early))? {
            Some(sig) => sig,
            // the server could not make them, after G and TFDDELTAPUT
            None if went => {
                abandon(c)?;
                return whole("the server could not make the signatures");
            }
            // stopped early: no TFDDELTAPUT went
            None => return whole("most of the file changed"),
        }
    } else {
        c.chan.tx.send_frame(&line)?;
        let Some(sig) = read_signature(c, &head, None)? else {
            abandon(c)?;
            return whole("the server could not make the signatures");
        };
        sig
    };
    let mut d = wire::Diff::new(&sig, head.size, head.block);
    let Some(literal) = d.literal_share(&first[..probe]) else {
        abandon(c)?;
        return Err(unreadable());
    };
    if literal * 100 > probe as u64 * (100 - MIN_REUSED_PERCENT) {
        abandon(c)?;
        return whole("most of the file changed");
    }
    // the delta pays: the rest of the file is read and hashed ahead
    reader.go();
    match Status::parse(&c.chan.rx.recv_frame()?) {
        Status::Ok(_) => {}
        other => return whole(format!("refused: {other:?}")),
    }
    let mut out = squeeze.map_or_else(wire::Records::default, wire::Records::packing);
    let r = feed_windows(c, reader, &mut d, &mut out, first, f, before, progress);
    let hash = match r {
        Ok(h) => h,
        Err(e) => {
            // the server builds nothing from a sum no file has: it discards the
            // build, and the session stays in step
            if matches!(e, Error::Local(_) | Error::Protocol(_)) {
                c.chan.tx.send_frame(b"Ex")?;
                let _ = c.chan.rx.recv_frame()?;
            }
            return Err(e);
        }
    };
    out.finish(&mut sender(c))?;
    let sum: String = hash.finalize().iter().map(|b| format!("{b:02x}")).collect();
    c.chan.tx.send_frame(format!("E{sum}").as_bytes())?;
    match Status::parse(&c.chan.rx.recv_frame()?) {
        Status::Ok(_) => Ok(Outcome::Delta {
            sent: out.sent,
            reused: out.reused,
        }),
        other => whole(format!("the delta did not land: {other:?}")),
    }
}
