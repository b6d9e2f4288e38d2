//! The download engine: one remote file into a local target, through a
//! resumable [`Partial`] beside it, over one session or several streams.
//!
//! - The data lands in the partial, each range's bytes hashed as they are
//!   written; the journal records the ranges' progress (only bytes written)
//!   every few MiB, so an interrupted download, whatever stopped it, leaves
//!   the target untouched and a partial a later resume can prove.
//! - A resume continues only ranges whose bytes still hash to the journal's
//!   digests, and only while the remote file has the identity (size, mtime)
//!   the journal recorded; anything else is moved again, never spliced.
//! - Only the size the server announced (FSTAT) is kept: a server that sends
//!   less fails the transfer, more is dropped and, past
//!   [`capped::MAX_EXCESS`], broken off.
//! - A resumed or parallel download (and any with `verify`) is compared end
//!   to end with the server's SHA256 before it replaces the target; a mismatch
//!   moves the file again once, then fails with the target as it was.
//! - Complete and verified, the partial is renamed over the target.

use super::beside::Beside;
use super::journal::{self, Identity, Journal, Range};
use super::lanes;
use super::partial::{Partial, Slot};
use crate::shares::Shares;
use crate::tree::landing::Landing;
use crate::tree::{capped, listing};
use crate::{parallel, temporaries, Client, ClientConfig, Error, Kept, DIRECT_WRITE_MIN};
use sha2::{Digest, Sha256};
use std::io::{self, Read, Seek, SeekFrom};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use tfd_sys::direct::ChunkWriter;
use tfp_wire::Status;

/// Bytes of one range between two journal updates (or a second, whichever
/// comes first): what an interruption may cost a resume.
const CHECKPOINT: u64 = 16 << 20;
const CHECKPOINT_EVERY: std::time::Duration = std::time::Duration::from_secs(1);

/// One download.
pub struct Request<'a> {
    /// The remote file.
    pub remote: &'a [u8],
    /// The local file it replaces (a regular file or nothing yet).
    pub target: Target<'a>,
    /// Connections to use (1: the caller's session only).
    pub streams: usize,
    /// The GET buffer size asked for.
    pub bufsz: i64,
    /// Continue a partial the journal proves.
    pub resume: bool,
    /// Compare end to end even when neither resumed nor parallel.
    pub verify: bool,
    /// Skip the end-to-end comparison even where the engine would make it.
    /// Only for measuring what the comparison costs (scripts/bench's verify
    /// bench); `tf` never sets it.
    pub unverified: bool,
    /// Bytes landed so far (for a progress display).
    pub progress: &'a Arc<AtomicU64>,
}

/// Where a download lands.
#[derive(Clone, Copy)]
pub enum Target<'a> {
    /// A file the user named (its directory is looked up by path once).
    Path(&'a Path),
    /// File `rel` below a tree's landing (`get -r`, `mirror`): reached only
    /// through the landing's descriptor, given the server's mtime.
    Within(&'a Landing, &'a [u8]),
}

impl<'a> From<&'a Path> for Target<'a> {
    fn from(p: &'a Path) -> Target<'a> {
        Target::Path(p)
    }
}

impl Target<'_> {
    pub(crate) fn place(&self) -> io::Result<Beside> {
        match *self {
            Target::Path(p) => Beside::path(p),
            Target::Within(l, rel) => Beside::within(l, rel),
        }
    }

    /// The mtime the landed file gets: the server's for a tree's file.
    pub(crate) fn mtime(&self, server: i64) -> Option<i64> {
        matches!(self, Target::Within(..)).then_some(server)
    }

    fn shown(&self) -> PathBuf {
        match *self {
            Target::Path(p) => p.to_path_buf(),
            Target::Within(l, rel) => l.path().join(std::ffi::OsStr::from_bytes(rel)),
        }
    }
}

/// A session error, with a failure of the local writes named by the file.
fn session_or_local(e: Error, partial: &Path) -> Error {
    match e {
        Error::Local(io) => Error::file(partial, io),
        other => other,
    }
}

/// Shared by the range writers: the journal as it stands.
struct Book {
    journal: Journal,
    slot: Slot,
}

impl Book {
    /// Records that `done` bytes of range `i` landed, hashing to `digest`
    /// (None: not hashed).
    fn record(&mut self, i: usize, done: u64, digest: Option<[u8; 32]>) -> io::Result<()> {
        self.journal.ranges[i].done = done;
        self.journal.ranges[i].digest = digest;
        self.slot.store(&self.journal)
    }
}

/// The writer of one range: its own descriptor, its own hasher.
struct RangeSink<'a> {
    i: usize,
    w: ChunkWriter,
    start: u64,
    end: u64,
    done: u64,
    since: u64,
    last: std::time::Instant,
    /// The range's hash, when this download is checked end to end.
    hash: Option<Sha256>,
    /// The whole file's hash, when the ranges are moved in file order.
    whole: Option<Sha256>,
    excess: u64,
    book: &'a Mutex<Book>,
    progress: &'a AtomicU64,
}

impl<'a> RangeSink<'a> {
    /// The writer of journal range `i`, `r` as it stands, going on from
    /// what of it landed; chunks of `direct` bytes or more written direct.
    fn open(
        i: usize,
        r: &Range,
        partial: &Partial,
        hash: Option<Sha256>,
        book: &'a Mutex<Book>,
        progress: &'a AtomicU64,
        direct: usize,
    ) -> Result<RangeSink<'a>, Error> {
        let f = partial.writer().map_err(|e| Error::file(&partial.data, e))?;
        Ok(RangeSink {
            i,
            w: ChunkWriter::new(f, r.start + r.done, direct),
            start: r.start,
            end: r.end,
            done: r.done,
            since: 0,
            last: std::time::Instant::now(),
            hash,
            whole: None,
            excess: 0,
            book,
            progress,
        })
    }

    fn take(&mut self, buf: &[u8]) -> io::Result<()> {
        let room = (self.end - self.start - self.done) as usize;
        let n = buf.len().min(room);
        if n > 0 {
            self.w.write_chunk(&buf[..n])?;
            if let Some(h) = self.hash.as_mut() {
                h.update(&buf[..n]);
            }
            if let Some(h) = self.whole.as_mut() {
                h.update(&buf[..n]);
            }
            self.done += n as u64;
            self.since += n as u64;
            self.progress.fetch_add(n as u64, Ordering::Relaxed);
            if self.since >= CHECKPOINT || self.last.elapsed() >= CHECKPOINT_EVERY {
                self.checkpoint()?;
            }
        }
        self.excess += (buf.len() - n) as u64;
        if self.excess > capped::MAX_EXCESS {
            return Err(io::Error::other(format!(
                "the server sent more than the {} bytes it announced; broken off",
                self.end
            )));
        }
        Ok(())
    }

    fn checkpoint(&mut self) -> io::Result<()> {
        self.since = 0;
        self.last = std::time::Instant::now();
        let digest = self.hash.clone().map(|h| h.finalize().into());
        let mut b = self.book.lock().unwrap_or_else(|p| p.into_inner());
        b.record(self.i, self.done, digest)
    }
}

/// Runs one download. `say` hears what the engine decided that the user
/// should know (a resume, a restart and why, a mismatch moved again).
/// A failure after data landed is [`Error::Partial`], naming the partial it
/// kept for a resume; on a full disk or quota the partial is removed instead
/// ([`Error::is_no_space`]), since keeping it would keep the disk full.
pub fn download(c: &mut Client, cfg: &ClientConfig, req: &Request<'_>, say: &mut dyn FnMut(&str)) -> Result<(), Error> {
    download_stated(c, cfg, req, None, say)
}

/// [`download`] of a file whose FSTAT answer the caller has just had (`tf
/// get` asks for the size its progress bar shows): asking again would cost
/// a round trip before the first byte (20 ms at 200 Mbit/s, 20 ms; the
/// whole transfer of 64 MiB is 2.8 s). The answer is as fresh as the one
/// asked again would be: a file changing after either is met the same way
/// (the end-to-end check where the download makes one).
pub fn download_stated(
    c: &mut Client,
    cfg: &ClientConfig,
    req: &Request<'_>,
    stated: Option<listing::Stat>,
    say: &mut dyn FnMut(&str),
) -> Result<(), Error> {
    let target_path = req.target.shown();
    let shown = crate::escape::path(&target_path);
    let asked = match stated {
        Some(st) => Ok(st),
        None => listing::fstat(c, req.remote),
    };
    let st = match crate::replies::Split::split(asked) {
        Ok(Ok(st)) => st,
        Ok(Err(st)) => return Err(Error::refused("FSTAT", st)),
        Err(e) => return Err(e),
    };
    if st.kind != listing::Kind::File {
        return Err(Error::Usage(format!(
            "{}: not a regular file on the server (get -r moves a directory)",
            crate::tree::names::shown(req.remote)
        )));
    }
    let identity = Identity {
        name: req.remote.to_vec(),
        size: st.size,
        mtime: st.mtime,
    };
    let mut partial = match req.target.place().and_then(Partial::open_at) {
        Ok(p) => p,
        // the partial's own refusals name it already
        Err(e) if e.kind() == io::ErrorKind::WouldBlock || e.raw_os_error().is_none() => return Err(Error::Local(e)),
        Err(e) => {
            let (data, _) = super::partial::paths_for(&target_path);
            return Err(Error::file(&data, e));
        }
    };
    let mut resumed = false;
    let mut ranges = None;
    let earlier = partial.journal();
    if req.resume {
        match earlier {
            Some(j) if j.source == identity => {
                let (proven, hashers) = match prove_all(&mut partial, &j) {
                    Ok(x) => x,
                    Err(e) => return Err(Error::file(&partial.data, e)),
                };
                let had = j.landed();
                let kept: u64 = proven.iter().map(|r| r.done).sum();
                if kept < had {
                    say(&format!(
                        "{shown}: {} of the {had} bytes recorded no longer match what was received; moved again",
                        had - kept
                    ));
                }
                say(&format!(
                    "{shown}: resuming: {kept} of {} bytes already here",
                    identity.size
                ));
                resumed = true;
                ranges = Some((proven, hashers));
            }
            Some(_) => {
                say(&format!(
                    "{shown}: the file on the server changed since the partial download was recorded; downloading it whole"
                ));
                resumed = true;
            }
            None if partial.place().exists() => {
                say(&format!(
                    "{shown}: no partial download of it was recorded, so nothing in it is trusted; downloading the whole file (it is replaced only once complete)"
                ));
                resumed = true;
            }
            None => say(&format!(
                "{shown}: no partial download recorded; downloading the whole file"
            )),
        }
    } else if let Some(j) = earlier.filter(|j| j.landed() > 0) {
        say(&format!(
            "{shown}: an earlier partial download ({} bytes) is discarded (--resume continues one)",
            j.landed()
        ));
    }
    let must_verify = (resumed || req.streams > 1 || req.verify) && !req.unverified;
    let mut identity = identity;
    for attempt in 0..2 {
        if attempt == 1 {
            // the file may have changed meanwhile: the next round takes the server's word again
            identity = match crate::replies::Split::split(listing::fstat(c, req.remote)) {
                Ok(Ok(st)) => Identity {
                    name: req.remote.to_vec(),
                    size: st.size,
                    mtime: st.mtime,
                },
                Ok(Err(st)) => return Err(Error::refused("FSTAT", st)),
                Err(e) => return Err(e),
            };
        }
        let (list, hashers) = match ranges.take() {
            Some(x) => x,
            None => {
                if let Err(e) = partial.reset() {
                    return Err(Error::file(&partial.data, e));
                }
                let pieces = if req.streams > 1 {
                    lanes::pieces(0, identity.size, PIECES_PER_STREAM * req.streams)
                } else {
                    parallel::ranges(identity.size, 1)
                };
                let list: Vec<Range> = pieces.into_iter().map(|(a, b)| Range::fresh(a, b)).collect();
                let n = list.len();
                (list, vec![Sha256::new(); n])
            }
        };
        let journal = Journal {
            source: identity.clone(),
            ranges: list,
        };
        let slot = match partial.store_journal(&journal).and_then(|()| partial.journal_slot()) {
            Ok(s) => s,
            Err(e) => return Err(Error::file(&partial.journal, e)),
        };
        let hint = temporaries::note_kept(format!(
            "the partial download of {shown} is kept in {}",
            crate::escape::path(&partial.data)
        ));
        let book = Mutex::new(Book { journal, slot });
        // the server hashes its file on a session of its own while the data
        // moves, so the check adds little more than the comparison
        let moving = std::sync::atomic::AtomicBool::new(true);
        let (moved, early) = std::thread::scope(|sc| {
            let early = must_verify.then(|| sc.spawn(|| server_sha(cfg, req.remote, &moving)));
            let moved = move_ranges(c, cfg, req, &partial, &book, hashers, must_verify);
            moving.store(false, Ordering::Relaxed);
            (moved, early.and_then(|h| h.join().ok().flatten()))
        });
        let book = book.into_inner().unwrap_or_else(|p| p.into_inner());
        let whole_hash = match moved {
            Ok(h) => h,
            Err(e) => {
                let bytes = book.journal.landed();
                if bytes == 0 || e.is_no_space() {
                    temporaries::drop_note(hint);
                    partial.discard();
                    return Err(e);
                }
                return Err(Error::Partial {
                    error: Box::new(e),
                    kept: Kept {
                        partial: partial.data.clone(),
                        bytes,
                    },
                });
            }
        };
        temporaries::drop_note(hint);
        if !must_verify {
            break;
        }
        let here = match whole_hash {
            Some(h) => h,
            None => match hash_file(partial.file()) {
                Ok(h) => h,
                Err(e) => return Err(Error::file(&partial.data, e)),
            },
        };
        let answer = match early {
            Some(d) => Ok(Status::Ok(d)),
            None => c.call("SHA256", req.remote),
        };
        let theirs = match answer {
            Ok(Status::Ok(d)) => d,
            Ok(st) => return Err(Error::refused("SHA256", st)),
            Err(e) => return Err(e),
        };
        if theirs == here {
            say(&format!("verified: SHA-256 {}", String::from_utf8_lossy(&here)));
            break;
        }
        let msg = format!(
            "MISMATCH: {shown} received {}, server {}",
            String::from_utf8_lossy(&here),
            String::from_utf8_lossy(&theirs)
        );
        if attempt == 1 {
            partial.discard();
            return Err(Error::Mismatch(format!("{msg}; {shown} left as it was")));
        }
        say(&format!("{msg}; moving it again"));
    }
    let mtime = req.target.mtime(identity.mtime);
    partial.commit(mtime).map_err(|e| Error::file(&target_path, e))
}

/// The journal's ranges with what of them still proves out, and a hasher per
/// range holding the proven bytes.
fn prove_all(partial: &mut Partial, j: &Journal) -> io::Result<(Vec<Range>, Vec<Sha256>)> {
    let mut out = Vec::with_capacity(j.ranges.len());
    let mut hashers = Vec::with_capacity(j.ranges.len());
    for r in &j.ranges {
        match journal::prove(partial.file(), r)? {
            Some(h) => {
                out.push(r.clone());
                hashers.push(h);
            }
            None => {
                out.push(Range::fresh(r.start, r.end));
                hashers.push(Sha256::new());
            }
        }
    }
    Ok((out, hashers))
}

/// SHA-256 of a whole file in the server's text form.
fn hash_file(f: &mut std::fs::File) -> io::Result<Vec<u8>> {
    hash_tail(f, Sha256::new(), 0)
}

/// SHA-256 of a file in the server's text form, `h` holding its bytes before
/// `from`: the rest is read one chunk ahead of the hash, its pages given back
/// as it goes (the data was written past the cache, and its check must not
/// undo that).
fn hash_tail(f: &std::fs::File, mut h: Sha256, from: u64) -> io::Result<Vec<u8>> {
    tfd_sys::direct::each_chunk(f, from, true, &mut |b| h.update(b))?;
    Ok(tfp_wire::sha256_text(&h.finalize().into()).to_vec())
}

/// A proven first range followed by a fresh one become one range from 0 (in
/// the journal too): its hasher, holding the bytes already here, goes on
/// with the new ones, so they are hashed once, for the journal and the
/// end-to-end check alike (not once per range and again for the whole file).
fn merge_prefix(book: &Mutex<Book>, hashers: Vec<Sha256>) -> io::Result<Vec<Sha256>> {
    let mut b = book.lock().unwrap_or_else(|p| p.into_inner());
    let rs = &b.journal.ranges;
    let Some(a) = rs.iter().position(|r| r.start == 0 && r.complete() && r.end > 0) else {
        return Ok(hashers);
    };
    let Some(n) = rs.iter().position(|r| r.start == rs[a].end && r.done == 0) else {
        return Ok(hashers);
    };
    let merged = Range {
        start: 0,
        end: rs[n].end,
        done: rs[a].end,
        digest: Some(hashers[a].clone().finalize().into()),
    };
    let mut ranges = Vec::with_capacity(rs.len() - 1);
    let mut hs = Vec::with_capacity(rs.len() - 1);
    for (i, (r, h)) in rs.iter().zip(hashers).enumerate() {
        if i == a {
            ranges.push(merged.clone());
            hs.push(h);
        } else if i != n {
            ranges.push(r.clone());
            hs.push(h);
        }
    }
    b.journal.ranges = ranges;
    b.slot.store(&b.journal)?;
    Ok(hs)
}

/// The server's SHA256 of `remote` on a session of its own; None when that
/// cannot be had (the caller then asks on its own session).
fn server_sha(cfg: &ClientConfig, remote: &[u8], moving: &std::sync::atomic::AtomicBool) -> Option<Vec<u8>> {
    // not waited for past the data (a late session): the caller asks then
    let mut c = crate::spare::take_while(cfg, || moving.load(Ordering::Relaxed)).ok()??;
    let r = match c.call("SHA256", remote) {
        Ok(Status::Ok(d)) => Some(d),
        _ => None,
    };
    let _ = c.end();
    r
}

/// Feeds `len` bytes of `f` from `start` into `h`.
fn feed(f: &mut std::fs::File, start: u64, len: u64, h: &mut Sha256) -> io::Result<()> {
    f.seek(SeekFrom::Start(start))?;
    let mut left = len;
    let mut buf = vec![0u8; 1 << 20];
    while left > 0 {
        let want = left.min(buf.len() as u64) as usize;
        let n = f.read(&mut buf[..want])?;
        if n == 0 {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        h.update(&buf[..n]);
        left -= n as u64;
    }
    Ok(())
}

/// Moves every incomplete range; returns the whole file's SHA-256 when it
/// could be had on the way (one stream: ranges in file order, each byte
/// hashed once; several: the range from 0's hash, continued over the other
/// ranges read back), else None.
fn move_ranges(
    c: &mut Client,
    cfg: &ClientConfig,
    req: &Request<'_>,
    partial: &Partial,
    book: &Mutex<Book>,
    hashers: Vec<Sha256>,
    hash: bool,
) -> Result<Option<Vec<u8>>, Error> {
    let left = book
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .journal
        .ranges
        .iter()
        .filter(|r| !r.complete())
        .count();
    let hashers = if hash && (req.streams <= 1 || left <= 1) {
        merge_prefix(book, hashers).map_err(|e| Error::file(&partial.journal, e))?
    } else {
        hashers
    };
    let ranges = book.lock().unwrap_or_else(|p| p.into_inner()).journal.ranges.clone();
    let landed: u64 = ranges.iter().map(|r| r.done).sum();
    req.progress.store(landed, Ordering::Relaxed);
    let sink_for = |i: usize, h: Sha256| {
        RangeSink::open(
            i,
            &ranges[i],
            partial,
            hash.then_some(h),
            book,
            req.progress,
            DIRECT_WRITE_MIN,
        )
    };
    let todo: Vec<usize> = (0..ranges.len()).filter(|&i| !ranges[i].complete()).collect();
    let mut hashers: Vec<Option<Sha256>> = hashers.into_iter().map(Some).collect();
    if req.streams <= 1 || todo.len() <= 1 {
        // one range after the other, in file order: the whole file's SHA-256
        // comes along (what is already here read back once, from the cache
        // the proof just filled; the rest as it lands), so the end-to-end
        // check needs no second read of the file
        let mut order: Vec<usize> = (0..ranges.len()).collect();
        order.sort_by_key(|&i| ranges[i].start);
        let mut whole = hash.then(Sha256::new);
        let mut reader = partial.reader().ok();
        for i in order {
            let r = &ranges[i];
            if !hash {
                // unchecked: no whole-file hash to carry along
            } else if r.start == 0 && r.done > 0 {
                // the first range's own hasher already holds the file's beginning
                whole = hashers[i].clone();
            } else if r.done > 0 {
                match (whole.as_mut(), reader.as_mut()) {
                    (Some(h), Some(f)) => {
                        if feed(f, r.start, r.done, h).is_err() {
                            whole = None;
                        }
                    }
                    _ => whole = None,
                }
            }
            if r.complete() {
                continue;
            }
            let mut sink = sink_for(i, hashers[i].take().unwrap_or_default())?;
            // from the file's start, the range's hash is the whole file's: hashed once
            let first = r.start == 0;
            sink.whole = if first { None } else { whole.take() };
            let from = r.start + r.done;
            let st = if r.end == req_size(book) {
                // the last range reads to the end of the file, written behind
                let out = c.get_to_sink(req.remote, from, req.bufsz, |buf: &[u8]| sink.take(buf), &mut |_| {});
                out.map(drop)
            } else {
                parallel::get_range(c, req.remote, from, r.end, req.bufsz, &mut |b| sink.take(b))
            };
            hang_up_if_cut(c, &st);
            finish_range(st, &mut sink, partial)?;
            whole = if first { sink.hash.clone() } else { sink.whole.take() };
        }
        return Ok(whole.map(|h| tfp_wire::sha256_text(&h.finalize().into()).to_vec()));
    }
    share_ranges(cfg, req, partial, book, hashers, hash, &ranges)
}

/// Pieces a fresh download of several streams starts from, per stream,
/// taken in file order. The whole file's hash can only follow the landed
/// bytes from the file's start: with one piece a stream, the first
/// stream's quarter of a 64 MiB file (4 streams) landed in full only at the
/// end, leaving the other three quarters to hash after the last byte (47 ms
/// of a 3.1 s download at 200 Mbit/s, 20 ms). With two, half the file is
/// landed, and hashed, by about half time; each stream pays one GETCAN's
/// round trip more.
const PIECES_PER_STREAM: usize = 2;

/// Ranges a download's journal may be split into by its streams (each a
/// line of a small text file).
const MOST_RANGES: usize = 64;

/// Moves the incomplete ranges over `req.streams` sessions sharing them
/// ([`lanes`]): a stream that runs dry splits off the back half of the
/// largest rest, in the journal too (the range ends at the cut, a new one
/// goes on from it) before a byte of it lands. Returns the whole file's
/// SHA-256, hashed in file order as the bytes land, when `hash`.
fn share_ranges(
    cfg: &ClientConfig,
    req: &Request<'_>,
    partial: &Partial,
    book: &Mutex<Book>,
    hashers: Vec<Option<Sha256>>,
    hash: bool,
    ranges: &[Range],
) -> Result<Option<Vec<u8>>, Error> {
    let size = req_size(book);
    let todo: Vec<(u64, u64)> = ranges
        .iter()
        .filter(|r| !r.complete())
        .map(|r| (r.start + r.done, r.end))
        .collect();
    let shares = Shares::new(&todo, req.streams, MOST_RANGES, lanes::WINDOW);
    let landed = lanes::Landed::new(ranges);
    let mut hashers = hashers;
    // a range from 0 already complete (a resume) is proven: its hasher
    // holds the file's beginning
    let mut from = (0, Sha256::new());
    if let Some(i) = (0..ranges.len()).find(|&i| ranges[i].start == 0 && ranges[i].complete()) {
        if let Some(h) = hashers[i].take() {
            from = (ranges[i].end, h);
        }
    }
    let hashers = Mutex::new(hashers);
    let stream = |me: usize| -> Result<(), Error> {
        // its session before it holds a lane: one that comes late (a lost
        // SYN) leaves the lanes to the others, and is not waited for once
        // nothing is left to take
        let Some(mut cc) = crate::spare::take_while(cfg, || !shares.dry())? else {
            return Ok(());
        };
        while let Some(s) = shares.next_grained(me, lanes::WINDOW) {
            let (i, range) = take_range(book, &landed, s).map_err(|e| Error::file(&partial.journal, e))?;
            let h = hashers
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .get_mut(i)
                .and_then(Option::take)
                .unwrap_or_default();
            // a lane's chunks are its windows: written direct as the bigger
            // chunks of one stream are, past the cache
            let direct = lanes::WINDOW as usize;
            let mut sink = RangeSink::open(i, &range, partial, hash.then_some(h), book, req.progress, direct)?;
            let st = lanes::get_lane(&mut cc, req.remote, &shares, me, s, req.bufsz, &mut |b| {
                sink.take(b)?;
                landed.set(sink.i, sink.start + sink.done);
                Ok(())
            });
            // the lane's end, where no stream can split it any more
            sink.end = shares.end(me);
            if st.is_err() {
                listing::hang_up(&cc);
            }
            finish_range(st.map(drop), &mut sink, partial)?;
        }
        let _ = cc.end();
        Ok(())
    };
    let (results, whole) = std::thread::scope(|sc| {
        let hasher = hash.then(|| {
            let landed = &landed;
            sc.spawn(move || {
                let f = partial.reader().ok()?;
                lanes::hash_in_order(&f, landed, size, from.0, from.1)
            })
        });
        let handles: Vec<_> = (0..req.streams).map(|me| sc.spawn(move || stream(me))).collect();
        let results: Vec<Result<(), Error>> = handles
            .into_iter()
            .map(|h| h.join().unwrap_or(Err(Error::Protocol("a stream panicked".into()))))
            .collect();
        landed.close();
        (results, hasher.and_then(|h| h.join().ok().flatten()))
    });
    for r in results {
        r?;
    }
    Ok(whole.map(|h| tfp_wire::sha256_text(&h.finalize().into()).to_vec()))
}

/// The journal range a stream's lane from `s` continues: one still to
/// finish from there, or, for a split, a new range from `s` cut off the
/// one holding it, stored before anything of it lands.
fn take_range(book: &Mutex<Book>, landed: &lanes::Landed, s: u64) -> io::Result<(usize, Range)> {
    let mut b = book.lock().unwrap_or_else(|p| p.into_inner());
    let rs = &b.journal.ranges;
    if let Some(i) = rs.iter().position(|r| r.start + r.done == s && s < r.end) {
        return Ok((i, rs[i].clone()));
    }
    let Some(i) = rs.iter().position(|r| r.start < s && s < r.end) else {
        return Err(io::Error::other(format!("no range of the download holds {s}")));
    };
    let end = rs[i].end;
    b.journal.ranges[i].end = s;
    b.journal.ranges.push(Range::fresh(s, end));
    landed.split(i, s);
    b.slot.store(&b.journal)?;
    Ok((b.journal.ranges.len() - 1, Range::fresh(s, end)))
}

fn req_size(book: &Mutex<Book>) -> u64 {
    book.lock().unwrap_or_else(|p| p.into_inner()).journal.source.size
}

/// A GET its sink cut off (more than the announced size, a local write
/// failure) leaves the rest of the stream unread: the session is closed at
/// once, as a single `get` that exits closes it, so a flooding server stops
/// within the same bound while the rest of a tree (`get -r`, `mirror`) runs.
fn hang_up_if_cut(c: &Client, st: &Result<(), Error>) {
    if matches!(st, Err(Error::Local(_))) {
        listing::hang_up(c);
    }
}

/// After one range's GET: its last bytes journaled, its outcome judged.
fn finish_range(st: Result<(), Error>, sink: &mut RangeSink<'_>, partial: &Partial) -> Result<(), Error> {
    // what landed is recorded whatever happened, for a resume
    let rec = sink.checkpoint();
    match st {
        Ok(()) => {}
        Err(e) => return Err(session_or_local(e, &partial.data)),
    }
    rec.map_err(|e| Error::file(&partial.journal, e))?;
    let want = sink.end - sink.start;
    if sink.done != want || sink.excess > 0 {
        return Err(Error::Mismatch(format!(
            "the server announced {} bytes and sent {}; not kept (changed during the transfer?)",
            sink.end,
            sink.start + sink.done + sink.excess
        )));
    }
    Ok(())
}
