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
//!   [`crate::engine::capped::MAX_EXCESS`], broken off.
//! - A resumed or parallel download (and any with `verify`) is compared end
//!   to end with the server's SHA256 before it replaces the target; a mismatch
//!   moves the file again once, then fails with the target as it was.
//! - Complete and verified, the partial is renamed over the target.

mod ahead;
pub(crate) mod batch;
mod frames;
pub(crate) mod many;
pub mod one;
pub(crate) mod plan;

use self::ahead::Ahead;
use super::events::Said;
use super::job::{finish_range, req_size, Book, RangeSink};
pub use super::job::{Request, Target};
use super::journal::{self, Identity, Journal, Range};
use super::partial::Partial;
use super::{lanes, streams};
use crate::remote::listing;
use crate::remote::same::{self, State};
use crate::{parallel, temporaries, Client, ClientConfig, Error, Kept, DIRECT_WRITE_MIN};
use sha2::{Digest, Sha256};
use std::io::{self, Read, Seek, SeekFrom};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use tfp_wire::Status;

/// Runs one download. `say` hears what the engine decided that the user
/// should know (a resume, a restart and why, a mismatch moved again).
/// A failure after data landed is [`Error::Partial`], naming the partial it
/// kept for a resume; on a full disk or quota the partial is removed instead
/// ([`Error::is_no_space`]), since keeping it would keep the disk full.
pub fn download(
    c: &mut Client,
    cfg: &ClientConfig,
    req: &Request<'_>,
    say: &mut dyn FnMut(Said<'_>),
) -> Result<(), Error> {
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
    stated: Option<Stated>,
    say: &mut dyn FnMut(Said<'_>),
) -> Result<(), Error> {
    download_with(c, cfg, req, stated, Told::default(), say)
}

/// [`download`] that stores the file's size in `told` as soon as the server
/// said it (a progress display's total): `tf get` of a file it has no copy
/// of need not ask FSTAT itself, so the engine's FSTAT goes out with the
/// GET (see [`Ahead::stat_and_get`]).
pub fn download_told(
    c: &mut Client,
    cfg: &ClientConfig,
    req: &Request<'_>,
    told: &AtomicU64,
    say: &mut dyn FnMut(Said<'_>),
) -> Result<(), Error> {
    let told = Told {
        size: Some(told),
        ..Told::default()
    };
    download_with(c, cfg, req, None, told, say)
}

/// [`download`] that stores in `before` how many of the bytes
/// `req.progress` counts an earlier run had moved (those of a partial it
/// continues): a tree run counts what it moved itself.
pub(crate) fn download_counted(
    c: &mut Client,
    cfg: &ClientConfig,
    req: &Request<'_>,
    before: &AtomicU64,
    say: &mut dyn FnMut(Said<'_>),
) -> Result<(), Error> {
    let told = Told {
        before: Some(before),
        ..Told::default()
    };
    download_with(c, cfg, req, None, told, say)
}

/// What a download tells its caller while it runs.
#[derive(Default, Clone, Copy)]
struct Told<'a> {
    /// The file's size, as soon as the server said it.
    size: Option<&'a AtomicU64>,
    /// The bytes of the file already here from an earlier run.
    before: Option<&'a AtomicU64>,
}

fn download_with(
    c: &mut Client,
    cfg: &ClientConfig,
    req: &Request<'_>,
    stated: Option<Stated>,
    told: Told<'_>,
    say: &mut dyn FnMut(Said<'_>),
) -> Result<(), Error> {
    let mut ahead = Ahead::default();
    let r = download_inner(c, cfg, req, stated, told, &mut ahead, say);
    // a GET sent ahead whose data went unused (the download ended before
    // it), and answers behind its FIN still unread: followed to their end,
    // so the session takes commands again
    if let Err(e) = ahead.settle(c) {
        return r.and(Err(e));
    }
    r
}

/// FSTAT's answer with the file's state ([`same::fstat_with_state`]), as
/// a caller had it just now.
pub type Stated = (listing::Stat, Option<State>);

/// Whether a download starts with [`Ahead::stat_and_get`]: one stream,
/// asked of nothing the caller knew, no journal a resume would continue
/// (that one starts where the journal says, known only after FSTAT), and
/// not to be asked compressed (`squeezes`: [`super::route::compresses`],
/// which asks the server's offer first).
fn gets_ahead(req: &Request<'_>, stated: &Option<Stated>, squeezes: bool) -> bool {
    stated.is_none()
        && !squeezes
        && req.streams <= 1
        && match req.target.place() {
            Ok(p) => !(req.resume && super::partial::has_journal(&p)),
            // its error is met where it always was, after FSTAT alone
            Err(_) => false,
        }
}

/// The server's FSTAT of the file and its state before a byte of it is read
/// (the caller's, or asked now, with the GET behind it where the download
/// starts with one: [`gets_ahead`]), told to `told`; a GET the server
/// refused is the error once the file is known to be one.
fn stat_of(
    c: &mut Client,
    cfg: &ClientConfig,
    req: &Request<'_>,
    stated: Option<Stated>,
    told: Option<&AtomicU64>,
    ahead: &mut Ahead,
) -> Result<(listing::Stat, Option<State>), Error> {
    let mut refused_get = None;
    let state;
    let asked = match stated {
        Some((st, s)) => {
            state = s;
            Ok(st)
        }
        None if gets_ahead(
            req,
            &stated,
            // -S asks for the file's holes before its data
            cfg.sparse || super::route::compresses(cfg.compress, super::route::Link::of(c)),
        ) =>
        {
            let (st, s, get) = ahead.stat_and_get(c, req.remote, req.bufsz)?;
            state = s;
            refused_get = get.err();
            st
        }
        None => {
            let (st, s) = same::fstat_with_state(c, req.remote, &[])?;
            state = s;
            st
        }
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
    if let Some(t) = told {
        t.store(st.size, Ordering::Relaxed);
    }
    if let Some(e) = refused_get {
        return Err(e);
    }
    let state = state.or_else(|| State::of_fstat(&st));
    Ok((st, state))
}

/// The server's file as FSTAT says it now, and its state, for a round that
/// moves it again after a mismatch.
fn stated_again(c: &mut Client, remote: &[u8]) -> Result<(Identity, Option<State>), Error> {
    let (st, state) = same::fstat_with_state(c, remote, &[])?;
    match crate::replies::Split::split(st)? {
        Ok(st) => Ok((
            Identity {
                name: remote.to_vec(),
                size: st.size,
                mtime: st.mtime,
            },
            state,
        )),
        Err(st) => Err(Error::refused("FSTAT", st)),
    }
}

/// After the data: an error unless the server's file is still in the state
/// `before` it was in before it was read (a file rewritten meanwhile, even
/// to the same size, landed bytes of two files, or of none that existed).
/// The state the riders behind a GET's FIN told is taken where it compares
/// (no round trip of its own).
fn held_still(
    c: &mut Client,
    remote: &[u8],
    before: Option<State>,
    shown: &str,
    ahead: &mut Ahead,
) -> Result<(), Error> {
    if let Some(was) = before {
        let now = match ahead.state_after(&was) {
            Some(now) => now,
            None => same::state_as(c, remote, &was)?,
        };
        if now == before {
            return Ok(());
        }
    }
    Err(Error::Mismatch(format!(
        "{}: it changed on the server while it was read; not received ({shown} left as it was)",
        crate::tree::names::shown(remote)
    )))
}

#[allow(clippy::too_many_arguments)]
fn download_inner(
    c: &mut Client,
    cfg: &ClientConfig,
    req: &Request<'_>,
    stated: Option<Stated>,
    told: Told<'_>,
    ahead: &mut Ahead,
    say: &mut dyn FnMut(Said<'_>),
) -> Result<(), Error> {
    let target_path = req.target.shown();
    let shown = crate::escape::path(&target_path);
    let (st, mut before) = stat_of(c, cfg, req, stated, told.size, ahead)?;
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
    ahead.ride(c, req.remote, !partial.place().exists());
    let (resumed, mut ranges) = take_up(&mut partial, req, &identity, &shown, say)?;
    let must_verify = (resumed || req.streams > 1 || req.verify) && !req.unverified;
    let mut identity = identity;
    for attempt in 0..2 {
        if attempt == 1 {
            // the file may have changed meanwhile: the next round takes the server's word again
            (identity, before) = stated_again(c, req.remote)?;
        }
        let (list, hashers) = match ranges.take() {
            Some(x) => x,
            None => {
                if let Err(e) = partial.reset() {
                    return Err(Error::file(&partial.data, e));
                }
                let list = fresh_ranges(c, cfg, req, &mut partial, identity.size)?;
                let n = list.len();
                (list, vec![Sha256::new(); n])
            }
        };
        if let Some(b) = told.before {
            b.store(list.iter().map(|r| r.done).sum(), Ordering::Relaxed);
        }
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
            let moved = move_ranges(c, cfg, req, &partial, &book, hashers, must_verify, ahead);
            moving.store(false, Ordering::Relaxed);
            (moved, early.and_then(|h| h.join().ok().flatten()))
        });
        // a GET sent ahead that no range took (an empty file has none) is
        // followed to its end here, and what rode behind its FIN read: the
        // SHA256 below is the next command
        if moved.is_ok() {
            ahead.settle(c)?;
        }
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
        if let Err(e) = held_still(c, req.remote, before, &shown, ahead) {
            partial.discard();
            return Err(e);
        }
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
            say(Said::Verified(&String::from_utf8_lossy(&here)));
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
        say(Said::Note(&format!("{msg}; moving it again")));
    }
    let mtime = req.target.mtime(identity.mtime);
    let mode = new_file_mode(c, req.remote, partial.place(), ahead.mode_answer())?;
    partial
        .commit_as(mtime.map(tfp_wire::entry::Mtime::secs), mode)
        .map_err(|e| Error::file(&target_path, e))
}

/// The mode a new target takes: the server file's permission bits less the
/// umask, as `cp` and `scp` give a new file its source's (TFDMODE, asked
/// once the data is in); None where the target is there (it keeps its own
/// mode) or the server cannot say (the commit's default, 0666 less the
/// umask; a server without TFDMODE is not asked again). `rode`: its answer
/// where it rode behind a GET's FIN.
fn new_file_mode(
    c: &mut Client,
    remote: &[u8],
    place: &super::beside::Beside,
    rode: Option<Status>,
) -> Result<Option<u32>, Error> {
    use crate::caps::Ext;
    if place.exists() || (rode.is_none() && !c.caps().has(Ext::Mode)) {
        return Ok(None);
    }
    let answer = match rode {
        Some(a) => a,
        None => c.call(tfp_wire::mode::MODE, remote)?,
    };
    if matches!(answer, Status::Unknown) && c.caps().has(Ext::Mode) {
        return Err(crate::caps::contradicted(Ext::Mode));
    }
    let mode = match answer {
        Status::Ok(d) => tfp_wire::mode::parse(&d),
        _ => None,
    };
    Ok(mode.map(|m| super::keep::landing_mode(m, false)))
}

/// `[a, b)` of a download cut in the ranges its streams share (one range
/// for one stream).
fn pieces_of(req: &Request<'_>, a: u64, b: u64) -> Vec<(u64, u64)> {
    if req.streams > 1 {
        lanes::pieces(a, b, streams::PIECES_PER_STREAM * req.streams)
    } else {
        parallel::ranges(b - a, 1)
            .into_iter()
            .map(|(x, y)| (a + x, a + y))
            .collect()
    }
}

/// The ranges of a download from nothing into the emptied `partial`: the
/// file's, cut for its streams; with `-S`, its data's alone, its holes
/// already complete (the partial made the file's size: they read as zeros
/// and take no room).
fn fresh_ranges(
    c: &mut Client,
    cfg: &ClientConfig,
    req: &Request<'_>,
    partial: &mut Partial,
    size: u64,
) -> Result<Vec<Range>, Error> {
    Ok(match holes_of(c, cfg, req, size)? {
        Some(h) => {
            if let Err(e) = partial.file().set_len(size) {
                return Err(Error::file(&partial.data, e));
            }
            crate::sparse::download_ranges(&h, &|a, b| pieces_of(req, a, b))
        }
        None => pieces_of(req, 0, size)
            .into_iter()
            .map(|(a, b)| Range::fresh(a, b))
            .collect(),
    })
}

/// `-S`: the holes of the server's file of `size` bytes, which the download
/// leaves unfetched; None without `-S`, without holes, or from a server that
/// cannot tell them (the file then comes whole).
fn holes_of(
    c: &mut Client,
    cfg: &ClientConfig,
    req: &Request<'_>,
    size: u64,
) -> Result<Option<tfp_wire::sparse::Holes>, Error> {
    if !cfg.sparse || size == 0 {
        return Ok(None);
    }
    Ok(crate::sparse::remote_holes(c, req.remote)?.filter(|h| h.size == size && !h.list.is_empty()))
}

/// What of an earlier partial the download takes up (`--resume`: the
/// ranges its journal still proves, each with a hasher holding their bytes)
/// or discards, told through `say`; and whether it resumed (what it keeps,
/// or a file already there, is then verified end to end).
#[allow(clippy::type_complexity)]
fn take_up(
    partial: &mut Partial,
    req: &Request<'_>,
    identity: &Identity,
    shown: &str,
    say: &mut dyn FnMut(Said<'_>),
) -> Result<(bool, Option<(Vec<Range>, Vec<Sha256>)>), Error> {
    let mut resumed = false;
    let mut ranges = None;
    let earlier = partial.journal();
    if req.resume {
        match earlier {
            Some(j) if j.source == *identity => {
                let (proven, hashers) = match prove_all(partial, &j) {
                    Ok(x) => x,
                    Err(e) => return Err(Error::file(&partial.data, e)),
                };
                let had = j.landed();
                let kept: u64 = proven.iter().map(|r| r.done).sum();
                if kept < had {
                    say(Said::Note(&format!(
                        "{shown}: {} of the {had} bytes recorded no longer match what was received; moved again",
                        had - kept
                    )));
                }
                say(Said::Note(&format!(
                    "{shown}: resuming: {kept} of {} bytes already here",
                    identity.size
                )));
                resumed = true;
                ranges = Some((proven, hashers));
            }
            Some(_) => {
                say(Said::Note(&format!(
                    "{shown}: the file on the server changed since the partial download was recorded; downloading it whole"
                )));
                resumed = true;
            }
            None if partial.place().exists() => {
                say(Said::Note(&format!(
                    "{shown}: no partial download of it was recorded, so nothing in it is trusted; downloading the whole file (it is replaced only once complete)"
                )));
                resumed = true;
            }
            None => say(Said::Note(&format!(
                "{shown}: no partial download recorded; downloading the whole file"
            ))),
        }
    } else if let Some(j) = earlier.filter(|j| j.landed() > 0) {
        say(Said::Note(&format!(
            "{shown}: an earlier partial download ({} bytes) is discarded (--resume continues one)",
            j.landed()
        )));
    }
    Ok((resumed, ranges))
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
/// ranges read back), else None. `ahead`: the grant of a GET from the
/// file's start already sent ([`Ahead::stat_and_get`]), taken by the range from 0.
#[allow(clippy::too_many_arguments)]
fn move_ranges(
    c: &mut Client,
    cfg: &ClientConfig,
    req: &Request<'_>,
    partial: &Partial,
    book: &Mutex<Book>,
    hashers: Vec<Sha256>,
    hash: bool,
    ahead: &mut Ahead,
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
        // the range to the file's end may come compressed (TFDGETZ); never
        // asked behind a GET sent ahead, whose data holds the session (the
        // link's round trip, measured again, may have changed meanwhile)
        let z = match todo.is_empty() || ahead.grant.is_some() {
            true => None,
            false => super::route::compressed_download(c, cfg)?,
        };
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
                let take = |buf: &[u8]| sink.take(buf);
                let out = match (ahead.grant.take_if(|_| from == 0), z) {
                    (Some(grant), _) => c.get_granted_riding(grant as usize, take, &mut |_| {}, &mut ahead.riders),
                    (None, Some(choice)) => {
                        c.getz_to_sink(choice, req.remote, from, req.bufsz, r.end - from, take, &mut |_| {})
                    }
                    (None, None) => c.get_to_sink(req.remote, from, req.bufsz, take, &mut |_| {}),
                };
                out.map(drop)
            } else if cfg.sparse {
                // a range before a hole: stopped at its end, not a cancel
                // after what the socket holds (the hole's bytes)
                parallel::get_range_bounded(c, req.remote, from, r.end, req.bufsz, &mut |b| sink.take(b))
            } else {
                parallel::get_range(c, req.remote, from, r.end, req.bufsz, &mut |b| sink.take(b))
            };
            hang_up_if_cut(c, &st);
            finish_range(st, &mut sink, partial)?;
            whole = if first { sink.hash.clone() } else { sink.whole.take() };
        }
        return Ok(whole.map(|h| tfp_wire::sha256_text(&h.finalize().into()).to_vec()));
    }
    // each stream's lanes come compressed where the route chooser says so
    let z = super::route::compressed_download(c, cfg)?;
    streams::share_ranges(cfg, req, partial, book, hashers, hash, &ranges, z)
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
