//! Delta downloads: a remote file onto an old local copy of it, as rsync
//! fetches one (tfd's `TFDDELTAGET`, doc/compatibility.md "Delta
//! transfers"). This side sends the old copy's block signatures (read in
//! windows through its own descriptor, no symlink followed), the server the
//! copy and literal records that build its file from them; the new file is
//! built in the engine's [`Partial`] beside the target, every record bounded
//! (no copy past the old copy's end, nothing past the size announced), its
//! SHA-256 compared with the server's, and renamed over the target only
//! then, as a download is. The target is never written: a delta that fails
//! leaves it as it was.
//!
//! Where compression pays over the session's link and the server offers it,
//! the request is `TFDDELTAGETZ <choice> ...`: the literals may come as `Z`
//! blocks of one zstd stream, each decoded within the room the new file has
//! left ([`wire::Literals`]); a server from before it answers `UNKNOWN` and
//! is asked `TFDDELTAGET`.
//!
//! A server without the command (`UNKNOWN`), one that refuses it or says
//! that a delta would not pay (`FAILED`), a missing, small or unreadable
//! local copy: [`Outcome::Whole`], and the caller downloads the file whole.
//! A server whose records break the bounds or whose hash does not hold:
//! `Err` (the session is hung up when it is out of step).

use super::outcome::{whole, Outcome};
use crate::caps::Ext;
use crate::engine::job::Target;
use crate::engine::partial::Partial;
use crate::engine::route;
use crate::engine::route::MIN_SIZE;
use crate::remote::listing::hang_up;
use crate::{Client, Error};
use sha2::{Digest, Sha256};
use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{mpsc, Arc};
use tfd_sys::direct::ChunkWriter;
use tfd_sys::write_behind::{Fill, Gather, WriteBehind};
use tfp_wire::compress::{Choice, DEFAULT_WINDOW_LOG};
use tfp_wire::delta::{self as wire, Op};
use tfp_wire::{Status, MAX_FRAME};

/// Bytes of the old copy read at once (signatures and copies).
const READ: usize = 4 << 20;
/// Bytes of the old copy read at once for the signatures of its first
/// [`SMALL_SPAN`] bytes: the server probes after those of its first 4 MiB,
/// and they come sooner, with a core left for its probe, from 1 MiB reads
/// signed by one thread (wire::signatures_ahead_from).
const SMALL_READ: usize = 1 << 20;
/// Bytes of the old copy signed in [`SMALL_READ`] windows: the server's
/// early probe (4 MiB) and what tf signs while it runs.
const SMALL_SPAN: u64 = 8 << 20;

/// What TFDDELTAGET answered first: the server's file.
struct Head {
    size: u64,
    mtime: i64,
}

fn parse_head(data: &[u8]) -> Option<Head> {
    let text = std::str::from_utf8(data).ok()?;
    let mut w = text.split(' ');
    let size: u64 = w.next()?.parse().ok()?;
    let mtime = w.next()?.parse().ok()?;
    u32::from_str_radix(w.next()?, 8).ok()?;
    (w.next().is_none() && size <= i64::MAX as u64).then_some(Head { size, mtime })
}

/// A server whose answer breaks the exchange: the session is out of step.
fn liar(c: &Client, why: &str) -> Error {
    hang_up(c);
    Error::Protocol(format!("TFDDELTAGET: the server sent {why}; nothing written"))
}

/// Downloads `remote` onto the old local copy at `target` as a delta, or
/// says why not ([`Outcome::Whole`]: then download it whole). `progress`
/// counts the bytes of the new file built.
/// `compress` is the run's choice, whether its literals may come compressed.
pub fn get(
    c: &mut Client,
    remote: &[u8],
    target: Target<'_>,
    progress: &AtomicU64,
    compress: Choice,
) -> Result<Outcome, Error> {
    let Ok(place) = target.place() else {
        return whole("the target's directory cannot be opened");
    };
    let flags = libc::O_RDONLY | libc::O_NONBLOCK | libc::O_NOCTTY;
    let Ok(old) = place.open_target(flags).map(File::from) else {
        return whole("no local copy");
    };
    let old_size = match old.metadata() {
        Ok(m) if m.is_file() => m.len(),
        _ => return whole("the local copy is not a regular file"),
    };
    if old_size < MIN_SIZE {
        return whole("a small local copy");
    }
    if !c.caps().has(Ext::DeltaGet) {
        return whole("the server has no delta transfers");
    }
    if crate::engine::partial::has_journal(&place) {
        // an interrupted download's partial: the engine resumes it, or says
        // it is discarded
        return whole("a partial download is kept beside it");
    }
    let block = wire::block_size(old_size);
    if wire::entries(old_size, block).saturating_mul(wire::ENTRY as u64) > wire::MAX_GET_SIGNATURE {
        return whole("too many signatures");
    }
    let mut arg = format!("{old_size} {block} {} ", wire::STRONG).into_bytes();
    arg.extend_from_slice(remote);
    // the signatures are made while the command makes its round trip (at
    // most MAX_GET_SIGNATURE bytes of them, checked above), and sent as
    // they come; the signer stops when it is dropped
    let signer = match old.try_clone() {
        Ok(f) => Signer::start(f, old_size, block),
        Err(e) => return whole(format!("the local copy could not be read: {e}")),
    };
    let (answer, lits) = ask(c, &arg, compress)?;
    let head = match answer {
        Status::Ok(d) => match parse_head(&d) {
            Some(h) => h,
            None => return Err(liar(c, "a malformed TFDDELTAGET answer")),
        },
        Status::Unknown => return Err(crate::caps::contradicted(Ext::DeltaGet)),
        other => return whole(format!("refused: {other:?}")),
    };
    if head.size < MIN_SIZE {
        c.chan.tx.send_frame(b"A")?;
        return whole("a small file on the server");
    }
    // the signatures, then the partial where the new file is built: a
    // server that answers early that a delta would not pay (a file that
    // changed entirely) costs no partial made and removed
    let partial = match send_signatures(c, signer, || {
        Partial::open_at(place).and_then(|mut p| p.reset().map(|()| p))
    }) {
        Ok(Sent::Ended(p)) => p,
        Ok(Sent::Stopped) => return early_answer(c),
        // a refusal is the whole download's to tell
        Ok(Sent::NoPartial(e)) => return whole(format!("no partial: {e}")),
        Err(Error::Local(e)) => {
            c.chan.tx.send_frame(b"A")?;
            return whole(format!("the local copy could not be read: {e}"));
        }
        Err(e) => return Err(e),
    };
    // no journal makes it resumable: a signal (tf's handler) removes it
    let _pending = Pending::new(&partial.data);
    let writer = match partial.writer() {
        Ok(f) => f,
        Err(e) => {
            // the records are still read, so the session stays in step
            let mut b = Build::new(&old, old_size, head.size, None);
            b.failed = Some(e);
            return finish_build(c, partial, target, &head, (b, lits), progress);
        }
    };
    std::thread::scope(|scope| {
        let mut out = ChunkWriter::new(writer, 0, crate::DIRECT_WRITE_MIN);
        let behind = WriteBehind::start(scope, CHUNK, move |c: &[u8]| out.write_chunk(c));
        let b = Build::new(&old, old_size, head.size, Some(Gather::new(behind)));
        finish_build(c, partial, target, &head, (b, lits), progress)
    })
}

/// Asks for the delta (`TFDDELTAGETZ` where `compress` pays over this
/// session's link and the server offers compression, else `TFDDELTAGET`):
/// the answer and the reader of its literals.
fn ask(c: &mut Client, arg: &[u8], compress: Choice) -> Result<(Status, wire::Literals), Error> {
    let packed = c.caps().has(Ext::DeltaGetZ) && route::compressed_offer(c, compress)?.is_some();
    if packed {
        if let Some(lits) = wire::Literals::packed(DEFAULT_WINDOW_LOG) {
            let mut z = compress.word().into_bytes();
            z.push(b' ');
            z.extend_from_slice(arg);
            return match c.call(wire::GET_PACKED, &z)? {
                Status::Unknown => Err(crate::caps::contradicted(Ext::DeltaGetZ)),
                answer => Ok((answer, lits)),
            };
        }
    }
    Ok((c.call("TFDDELTAGET", arg)?, wire::Literals::plain()))
}

/// Reads the records into `b` and commits the new file when it is whole and
/// its SHA-256 is the server's.
fn finish_build(
    c: &mut Client,
    partial: Partial,
    target: Target<'_>,
    head: &Head,
    (mut b, mut lits): (Build<'_, '_, '_>, wire::Literals),
    progress: &AtomicU64,
) -> Result<Outcome, Error> {
    let end = loop {
        let f = match c.chan.rx.recv_frame_max(MAX_FRAME) {
            Ok(f) => f,
            Err(e) => {
                partial.discard();
                return Err(e.into());
            }
        };
        match f.first() {
            Some(b'C' | b'L' | b'Z') => {
                if let Err(why) = b.apply(&f, &mut lits) {
                    partial.discard();
                    return Err(liar(c, why));
                }
                progress.store(b.built, Ordering::Relaxed);
            }
            Some(b'E') => break Ok(f[1..].to_vec()),
            _ => match Status::parse(&f) {
                st @ Status::Failed(..) => break Err(st),
                _ => {
                    partial.discard();
                    return Err(liar(c, "an answer that is neither records nor their end"));
                }
            },
        }
    };
    let sum = match end {
        Ok(sum) => sum,
        Err(st) => {
            partial.discard();
            return whole(format!("the server made no delta: {st:?}"));
        }
    };
    if let Some(e) = b.finish() {
        let shown = partial.data.clone();
        partial.discard();
        return Err(Error::file(&shown, e));
    }
    let here: String = b.hash.finalize().iter().map(|x| format!("{x:02x}")).collect();
    let shown = partial.place().shown();
    if b.built != head.size || !sum.eq_ignore_ascii_case(here.as_bytes()) {
        partial.discard();
        let name = crate::escape::shown(shown.as_os_str().as_encoded_bytes());
        return Err(Error::Mismatch(format!(
            "MISMATCH: {name}: the delta built {} bytes hashing to {here}, the server announced {} \
             bytes hashing to {}; not kept, {name} left as it was",
            b.built,
            head.size,
            crate::escape::shown(&sum)
        )));
    }
    partial
        .commit(target.mtime(head.mtime))
        .map_err(|e| Error::file(&shown, e))?;
    Ok(Outcome::Delta {
        sent: b.received,
        reused: b.reused,
    })
}

/// A partial that tf's signal handler removes until it is committed or
/// discarded.
struct Pending(std::path::PathBuf);

impl Pending {
    fn new(p: &std::path::Path) -> Pending {
        crate::temporaries::remember(p);
        Pending(p.to_path_buf())
    }
}

impl Drop for Pending {
    fn drop(&mut self) {
        crate::temporaries::forget(&self.0);
    }
}

/// Signature frames sent at most ahead of the session (a frame per window).
const FRAMES_AHEAD: usize = 16;
/// How often the session is looked at for the server's early answer while
/// the signatures are made.
const ANSWER_LOOK: std::time::Duration = std::time::Duration::from_millis(1);

/// The old copy's block signatures in `S` frames, made on a thread of their
/// own (reading in windows, the next one on a second thread while this one's
/// are made) and handed on as they come. Dropping it stops the thread at
/// its next window and waits for it.
struct Signer {
    rx: Option<mpsc::Receiver<io::Result<Vec<u8>>>>,
    stop: Arc<AtomicBool>,
    made: Option<std::thread::JoinHandle<()>>,
}

impl Signer {
    fn start(old: File, size: u64, block: u32) -> Signer {
        let (tx, rx) = mpsc::sync_channel(FRAMES_AHEAD);
        let stop = Arc::new(AtomicBool::new(false));
        let stopped = Arc::clone(&stop);
        let made = std::thread::Builder::new().name("tf-signatures".into()).spawn(move || {
            if let Err(e) = signature_frames(&old, size, block, &stopped, &tx) {
                let _ = tx.send(Err(e));
            }
        });
        match made {
            Ok(h) => Signer {
                rx: Some(rx),
                stop,
                made: Some(h),
            },
            Err(e) => {
                // no thread: the frames are made here, now
                let (tx, rx) = mpsc::sync_channel(1);
                let _ = tx.send(Err(e));
                Signer {
                    rx: Some(rx),
                    stop,
                    made: None,
                }
            }
        }
    }

    /// The next frame (`Some(None)` after the last), or `None` when none
    /// came within `wait`.
    fn next_within(&self, wait: std::time::Duration) -> Option<Option<io::Result<Vec<u8>>>> {
        let rx = self.rx.as_ref()?;
        match rx.recv_timeout(wait) {
            Ok(f) => Some(Some(f)),
            Err(mpsc::RecvTimeoutError::Disconnected) => Some(None),
            Err(mpsc::RecvTimeoutError::Timeout) => None,
        }
    }

    /// Stops the thread without waiting for it: it ends at its next window
    /// (what it reads and hashes then is thrown away), while the caller
    /// goes on (issue 43: waiting for it cost the whole download that
    /// follows an early refusal a window's read and MD4).
    fn abandon(mut self) {
        self.stop.store(true, Ordering::Relaxed);
        self.rx.take();
        self.made.take();
    }
}

impl Drop for Signer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        // a thread blocked on a full queue sees it gone
        self.rx.take();
        if let Some(h) = self.made.take() {
            let _ = h.join();
        }
    }
}

/// Makes the old copy's signature frames for `tx`. Stops early (an error)
/// once `stop` is set or `tx`'s receiver is gone.
fn signature_frames(
    old: &File,
    size: u64,
    block: u32,
    stop: &AtomicBool,
    tx: &mpsc::SyncSender<io::Result<Vec<u8>>>,
) -> io::Result<()> {
    let mut frame = Vec::with_capacity(wire::FRAME_DATA + wire::ENTRY);
    let gone = || io::Error::other("not wanted");
    let read = |buf: &mut [u8], at: u64| old.read_exact_at(buf, at);
    let small = (SMALL_READ, SMALL_SPAN);
    wire::signatures_ahead_from(size, block, small, READ, &read, &mut |entries: &[u8]| {
        if stop.load(Ordering::Relaxed) {
            return Err(gone());
        }
        for entry in entries.chunks(wire::ENTRY) {
            if frame.is_empty() {
                frame.push(b'S');
            }
            frame.extend_from_slice(entry);
            if frame.len() >= wire::FRAME_DATA {
                tx.send(Ok(std::mem::take(&mut frame))).map_err(|_| gone())?;
            }
        }
        // every window's go as it is made: the server probes after the
        // first and may answer early that a delta would not pay, which tf
        // sees only between frames (issue 43: with one frame for all past
        // 16 MiB, a 64 MiB file's every signature was made before the
        // answer was seen)
        if !frame.is_empty() {
            tx.send(Ok(std::mem::take(&mut frame))).map_err(|_| gone())?;
        }
        Ok(())
    })
    .map_err(|e| match e {
        wire::SigStop::Read(e) | wire::SigStop::Emit(e) => e,
    })?;
    if !frame.is_empty() {
        tx.send(Ok(frame)).map_err(|_| gone())?;
    }
    Ok(())
}

/// How the signatures ended.
enum Sent {
    /// All sent, then `E`: the records come, built in this partial.
    Ended(Partial),
    /// The server answered before the end (early: a delta would not pay);
    /// `A` was sent, the answer is still to be read.
    Stopped,
    /// No partial could be made for the new file: `A` was sent, nothing
    /// more comes.
    NoPartial(io::Error),
}

/// Sends the signature frames as they are made, then, with the partial
/// `open` makes, `E`; or `A` as soon as the server has answered (it said
/// early that a delta would not pay) or when no partial could be made.
/// `Err(Error::Local)` when the copy could not be read (nothing is ended).
fn send_signatures(c: &mut Client, signer: Signer, open: impl FnOnce() -> io::Result<Partial>) -> Result<Sent, Error> {
    use std::os::fd::AsFd as _;
    loop {
        // the server says nothing before the end but its early refusal:
        // looked for between frames and while a window is made, so that a
        // file that changed entirely is not signed further than needed
        let next = signer.next_within(ANSWER_LOOK);
        if tfd_sys::readable_now(c.chan.stream().as_fd()) {
            signer.abandon();
            c.chan.tx.send_frame(b"A")?;
            return Ok(Sent::Stopped);
        }
        match next {
            Some(Some(f)) => {
                c.chan.tx.send_frame(&f.map_err(Error::Local)?)?;
            }
            Some(None) => break,
            None => {}
        }
    }
    drop(signer);
    match open() {
        Ok(p) => {
            c.chan.tx.send_frame(b"E")?;
            Ok(Sent::Ended(p))
        }
        Err(e) => {
            c.chan.tx.send_frame(b"A")?;
            Ok(Sent::NoPartial(e))
        }
    }
}

/// The answer the server sent before the signatures ended: only its early
/// "a delta would not pay" may come then.
fn early_answer(c: &mut Client) -> Result<Outcome, Error> {
    let f = c.chan.rx.recv_frame_max(MAX_FRAME)?;
    match Status::parse(&f) {
        st @ Status::Failed(..) => whole(format!("the server made no delta: {st:?}")),
        _ => Err(liar(c, "an answer before the signatures' end that is no refusal")),
    }
}

/// Bytes of each buffer the new file is gathered in (two of them): the
/// least that is written direct, so the partial grows as the build goes.
const CHUNK: usize = crate::DIRECT_WRITE_MIN;

/// The new file as the records build it: every byte placed straight in the
/// writer's aligned buffers and hashed here, while the writer thread writes
/// the last buffer direct.
struct Build<'a, 'scope, 'env> {
    old: &'a File,
    old_size: u64,
    /// The size the server announced.
    size: u64,
    /// Where the bytes go; `None` when nothing could be opened to write.
    out: Option<Gather<'scope, 'env, io::Error>>,
    /// The first local failure (the rest of the records are still read and
    /// bounded, so the session stays in step).
    failed: Option<io::Error>,
    built: u64,
    hash: Sha256,
    /// Bytes of record frames received.
    received: u64,
    /// Bytes copied from the old copy.
    reused: u64,
}

impl<'a, 'scope, 'env> Build<'a, 'scope, 'env> {
    fn new(old: &'a File, old_size: u64, size: u64, out: Option<Gather<'scope, 'env, io::Error>>) -> Self {
        Build {
            old,
            old_size,
            size,
            out,
            failed: None,
            built: 0,
            hash: Sha256::new(),
            received: 0,
            reused: 0,
        }
    }

    /// Places the next `len` bytes of the new file, `fill` writing each
    /// piece of room with the bytes from `at` of the record (a literal's
    /// bytes, a read of the old copy).
    fn place(&mut self, len: u64, fill: &mut Fill<'_, io::Error>) {
        let (Some(out), None) = (self.out.as_mut(), &self.failed) else {
            return;
        };
        let hash = &mut self.hash;
        if let Err(e) = out.place(len, fill, &mut |b| hash.update(b)) {
            self.failed = Some(e);
        } else if let Some(e) = out.failure() {
            self.failed = Some(e);
        }
    }

    /// Writes what is gathered; the first failure, if any.
    fn finish(&mut self) -> Option<io::Error> {
        let late = self.out.take().and_then(Gather::finish);
        self.failed.take().or(late)
    }

    /// Applies one frame of records; `Err` names what broke the bounds.
    fn apply(&mut self, frame: &[u8], lits: &mut wire::Literals) -> Result<(), &'static str> {
        self.received += frame.len() as u64;
        for op in wire::ops(frame) {
            let op = op.map_err(|()| "a malformed delta record")?;
            let d = lits
                .bytes(&op, self.size.saturating_sub(self.built))
                .map_err(wire::Refused::reason)?;
            let len = match op {
                Op::Copy { len, .. } => len,
                Op::Literal(_) | Op::Packed(_) => d.len() as u64,
            };
            if len == 0 {
                return Err("an empty delta record");
            }
            if !matches!(self.built.checked_add(len), Some(e) if e <= self.size) {
                return Err("more than the size it announced");
            }
            match op {
                Op::Literal(_) | Op::Packed(_) => self.place(len, &mut |room, at| {
                    room.copy_from_slice(&d[at as usize..at as usize + room.len()]);
                    Ok(())
                }),
                Op::Copy { offset, len } => {
                    if !matches!(offset.checked_add(len), Some(e) if e <= self.old_size) {
                        return Err("a copy past the end of the local copy");
                    }
                    self.reused += len;
                    // a local copy that shrank meanwhile fails the read: nothing built is kept
                    let old = self.old;
                    self.place(len, &mut |room, at| old.read_exact_at(room, offset + at));
                }
            }
            self.built += len;
        }
        Ok(())
    }
}
