//! Many files down in one exchange per session: tfd's TFDGETMANY
//! (doc/compatibility.md "Batch downloads"), what `get -r` uses when the
//! server has it (and `--resume` is not asked: a batch keeps no journal). A
//! server without it (`UNKNOWN`, remembered on the [`Client`]) gets the
//! transfer engine file by file ([`super::one::receive`]).
//!
//! Each file lands as the engine lands one: its partial beside its name in
//! the landing ([`Partial::open_at`], no symlink followed, nothing outside
//! the target), exactly the size the server announced (a server sending
//! more is cut off: the session is dropped), renamed over the name with the
//! server's mtime only when the SHA-256 of what came is the trailer's.
//!
//! Where [`route::compresses`] says so and the server offers compression,
//! a batch asks for its data as blocks (`z`): one zstd stream per batch,
//! each block decoded within what the file has left (a block announcing
//! more, decoding to more or less, or corrupt drops the session and leaves
//! nothing of the file; memory holds one block and zstd's default window),
//! and where the server sends framed batches (`z f`, asked once per
//! session) everything it sends after its `OK` comes as one zstd stream
//! ([`super::frames`]): headers and trailers compress with the data.

use super::super::beside::Beside;
use super::super::events::Done;
use super::super::events::{Events, Progress, Tally};
use super::super::fanout;
use super::super::keep;
use super::super::partial::Partial;
use super::super::{pool, route};
use super::frames::{Frames, Rx};
use super::one::{self, Partials};
use super::plan::{finer, File};
use crate::compress::Blocks;
use crate::remote::listing;
use crate::{Client, ClientConfig, Error};
use sha2::{Digest, Sha256};
use std::io::Write;
use std::sync::atomic::Ordering;
use tfp_wire::batch::get::{self, GetMany, Sent};
use tfp_wire::batch::{Trailer, END, MAX_FILES};
use tfp_wire::compress::Choice;
use tfp_wire::Status;

/// A file left to the engine: its index, and the server's permission bits
/// when it said them and they are to be kept.
pub(crate) type Big = (usize, Option<u32>);

/// What one file of a batch came to.
enum Fetched {
    /// Moved, or failed.
    Done(Done),
    /// Over the batch's size: left to the engine; the server's permission
    /// bits when it said them.
    Big(Option<u32>),
    /// Not landed: its directory could not be made (told once, for the
    /// directory, by whoever made the [`super::plan::Dir`]s).
    Unmade,
}

/// Whether the server takes download batches (as it told).
pub fn supported(c: &mut Client) -> Result<bool, Error> {
    Ok(c.caps().has(crate::caps::Ext::GetMany))
}

/// How many neighbouring files (a listing's order: mostly one directory's)
/// go to one session before the next session's turn. Creating a file holds
/// its directory's lock for the file system's whole inode allocation (on
/// ext4 without a journal a scan past every inode freed in the last minute),
/// so sessions dealt files one by one all wait on the same directory; runs
/// let them land in different directories at once, and still share a tree
/// of unknown sizes out evenly.
const RUN: usize = 64;

/// Fetches `files` in one batch per session (the caller's and up to
/// `jobs - 1` more). `None` when the server has no batches (nothing done:
/// the caller takes the per-file path). Returns the files done and the
/// indices of those of [`route::ENGINE_FROM`] bytes and more, left to the caller,
/// each with the server's permission bits when it said them.
#[allow(clippy::too_many_arguments)]
pub(crate) fn download(
    c: &mut Client,
    cfg: &ClientConfig,
    jobs: usize,
    fai: bool,
    files: &[&File<'_>],
    what: &(dyn Fn(&File<'_>) -> String + Sync),
    ev: &dyn Events,
    t: &mut Tally<'_>,
) -> Result<Option<(usize, Vec<Big>)>, Error> {
    if files.is_empty() {
        return Ok(Some((0, Vec::new())));
    }
    if !supported(c)? {
        return Ok(None);
    }
    let z = route::compressed_download(c, cfg)?;
    // everything the server sends as one stream where it can
    let framed = z.is_some() && crate::compress::framed_get(c)?;
    let z = Asked { z, framed };
    let n = jobs.clamp(1, files.len());
    let groups = deal(files.len(), n);
    let mut more = match fanout::take_pool(t, cfg, n - 1, fai, c.caps()) {
        Ok(v) => v,
        Err(e) => {
            t.ev.pool_failed(&e);
            t.local(format!(
                "could not open the {} more sessions of --jobs; nothing transferred",
                n - 1
            ));
            return Ok(Some((0, Vec::new())));
        }
    };
    let moving = t.begin_moving(files.iter().map(|f| f.size));
    let progress = t.progress();
    let results = {
        let mut sessions: Vec<&mut Client> = vec![c];
        sessions.extend(more.iter_mut());
        let p = &*progress;
        pool::run(sessions, &groups, &|c, g: &Vec<usize>| {
            let batch: Vec<&File<'_>> = g.iter().map(|&i| files[i]).collect();
            fetch_batch(c, cfg, &batch, p, ev, z)
        })
    };
    t.end_moving(moving);
    for m in more {
        let _ = m.end();
    }
    let (mut lost, mut done, mut big) = (0, 0, Vec::new());
    for (g, r) in groups.iter().zip(results) {
        match r {
            Some(Ok(outcomes)) => {
                for (&i, o) in g.iter().zip(outcomes) {
                    let o = match o {
                        Fetched::Done(o) => o,
                        Fetched::Big(mode) => {
                            big.push((i, mode));
                            continue;
                        }
                        Fetched::Unmade => continue,
                    };
                    done += usize::from(t.file_ended(&what(files[i]), o));
                }
            }
            Some(Err(e)) => {
                t.session_failed(&e);
                t.local(format!(
                    "{} file(s) from {} on: {}",
                    g.len(),
                    what(files[g[0]]),
                    t.ev.session_error(&e)
                ))
            }
            None => lost += g.len(),
        }
    }
    t.lost(lost);
    t.report.transferred += done;
    big.sort_unstable_by_key(|b| b.0);
    Ok(Some((done, big)))
}

/// The indices of `files` files dealt to `n` sessions (`n` at most
/// `files`) in turn (the sizes are not known before the answers), a run of
/// neighbours at a time: [`RUN`], or less so that each session has at least
/// four turns (a 300-file tree stays even).
fn deal(files: usize, n: usize) -> Vec<Vec<usize>> {
    let run = (files / (n * 4)).clamp(1, RUN);
    (0..n)
        .map(|g| (0..files).filter(|i| (i / run) % n == g).collect())
        .collect()
}

/// The path bytes of the first part of a session's files, asked for alone:
/// they leave in the connection's first flight, so the server (which reads
/// a batch's every path before its first answer) starts sending at once;
/// each later part holds twice as many, ahead of the server as the window
/// opens. All 2,500 paths (72 KB) of a 10,000-file tree's session in one
/// batch took three round trips of a fresh connection's slow start to reach
/// the server before any data came back. A session's batch of less is sent
/// whole, as before.
const FIRST_PART: usize = 8 << 10;

/// A session's files, given their paths' lengths, as consecutive parts of
/// [`FIRST_PART`] path bytes (a frame's 4 counted) and doubling, each at
/// least one file and at most [`MAX_FILES`].
fn parts(lens: impl Iterator<Item = usize>) -> Vec<std::ops::Range<usize>> {
    let (mut out, mut start, mut held, mut room) = (Vec::new(), 0, 0, FIRST_PART);
    let mut n = 0;
    for (i, len) in lens.enumerate() {
        if i > start && (held + len + 4 > room || (i - start) as u64 == MAX_FILES) {
            out.push(start..i);
            (start, held, room) = (i, 0, room.saturating_mul(2));
        }
        held += len + 4;
        n = i + 1;
    }
    if n > start {
        out.push(start..n);
    }
    out
}

/// One batch over one session. A server that turns out not to know the
/// command gets the files one by one through the engine.
fn fetch_batch(
    c: &mut Client,
    cfg: &ClientConfig,
    files: &[&File<'_>],
    p: &Progress,
    ev: &dyn Events,
    z: Asked,
) -> Result<Vec<Fetched>, Error> {
    // a session told it has batches answers every batch OK: the parts are
    // sent at once, one after the other, while their answers are read
    let ok = c.caps().has(crate::caps::Ext::GetMany);
    if ok {
        let parts = parts(files.iter().map(|w| w.remote.len()));
        if parts.len() > 1 {
            return fetch_parts(c, files, &parts, p, z);
        }
    }
    if !ok {
        let kept = Partials::default();
        let mut v = Vec::with_capacity(files.len());
        for w in files {
            if w.dir.is_some_and(|d| d.make().is_err()) {
                v.push(Fetched::Unmade);
            } else {
                v.push(Fetched::Done(one::receive(
                    c, cfg, w.land, w.rel, w.remote, false, p, &kept, ev,
                )?));
            }
            p.file_done();
        }
        return Ok(v);
    }
    c.chan.tx.hold();
    c.chan.tx.send_frame(&command(files.len(), z))?;
    for w in files {
        c.chan.tx.send_frame(w.remote)?;
    }
    c.chan.tx.send_frame(END)?;
    c.chan.tx.release()?;
    answered_ok(&mut c.chan.rx)?;
    receive_part(&mut c.chan.rx, files, p, z)
}

/// The command of a batch of `n` files: those of [`route::ENGINE_FROM`] bytes and
/// more only announced, the small ones packed, compressed as `z` asks.
fn command(n: usize, z: Asked) -> Vec<u8> {
    GetMany {
        n: n as u64,
        max: Some(route::ENGINE_FROM - 1),
        packed: true,
        archive: false,
        compress: z.z,
        framed: z.framed && z.z.is_some(),
    }
    .line()
}

/// What a batch asks of compression: blocks as `z` chooses (None: the data
/// as they are), and with `framed` everything the server sends as one
/// stream.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Asked {
    z: Option<Choice>,
    framed: bool,
}

/// Reads a pipelined batch's first answer, `OK`.
fn answered_ok(rx: &mut Rx) -> Result<(), Error> {
    let first = rx.recv_frame()?;
    if matches!(Status::parse(&first), Status::Ok(_)) {
        Ok(())
    } else {
        Err(protocol(&format!(
            "the batch was answered {:?}",
            String::from_utf8_lossy(&first)
        )))
    }
}

/// Every file of `files` in pipelined batches ([`parts`]): the commands and
/// paths written by a thread of their own while this one reads the answers,
/// so neither side waits on the other however many paths there are (the
/// server sends one batch's files while the next batch's paths arrive).
fn fetch_parts(
    c: &mut Client,
    files: &[&File<'_>],
    parts: &[std::ops::Range<usize>],
    p: &Progress,
    z: Asked,
) -> Result<Vec<Fetched>, Error> {
    let stream = c.chan.stream().try_clone().ok();
    let (tx, rx) = (&mut c.chan.tx, &mut c.chan.rx);
    std::thread::scope(|s| {
        let writer = s.spawn(move || -> Result<(), Error> {
            for r in parts {
                tx.hold();
                tx.send_frame(&command(r.len(), z))?;
                for w in &files[r.clone()] {
                    tx.send_frame(w.remote)?;
                }
                tx.send_frame(END)?;
                tx.release()?;
            }
            Ok(())
        });
        let mut out = Vec::with_capacity(files.len());
        let read = (|| {
            for r in parts {
                answered_ok(rx)?;
                out.extend(receive_part(rx, &files[r.clone()], p, z)?);
            }
            Ok(())
        })();
        if read.is_err() {
            // the writer may be blocked on a server that reads no more:
            // the session is dropped anyway
            if let Some(st) = &stream {
                let _ = st.shutdown(std::net::Shutdown::Both);
            }
        }
        let wrote = writer
            .join()
            .unwrap_or_else(|_| Err(protocol("the thread sending the paths panicked")));
        read.and(wrote).map(|()| out)
    })
}

/// The answers to one batch whose `OK` has been read: each file, then the
/// closing `OK`. A batch that asked `z` decodes its blocks in one stream.
fn receive_part(rx: &mut Rx, files: &[&File<'_>], p: &Progress, z: Asked) -> Result<Vec<Fetched>, Error> {
    let mut out = Vec::with_capacity(files.len());
    // a framed batch's data are records of its stream, never blocks
    let mut blocks =
        z.z.filter(|_| !z.framed)
            .map(|_| Blocks::new("TFDGETMANY"))
            .transpose()?;
    let mut rx = Frames::new(rx, z.framed && z.z.is_some())?;
    for w in files {
        let f = fetch_one(&mut rx, w, p, blocks.as_mut())?;
        // a big file is done when the engine has it, not when announced
        if !matches!(f, Fetched::Big(_)) {
            p.file_done();
        }
        out.push(f);
    }
    let last = rx.frame()?;
    match Sent::parse(&last) {
        Some(_) => rx.end().map(|()| out),
        None => Err(Error::Protocol(format!(
            "TFDGETMANY: {}",
            listing::status_text(&Status::parse(&last))
        ))),
    }
}

fn protocol(what: &str) -> Error {
    Error::Protocol(format!("TFDGETMANY: {what}"))
}

/// The data of one file into its partial (the packed form's, or the long
/// form's frames, each a block in a compressed batch), hashed as it comes,
/// and its trailer. `Err` when the server is out of step: the caller
/// discards the partial.
#[allow(clippy::too_many_arguments)]
fn receive_data(
    rx: &mut Frames,
    packed: Option<(&[u8], [u8; 32])>,
    (size, sparse): (u64, bool),
    part: &mut Result<Partial, String>,
    h: &mut Sha256,
    p: &Progress,
    mut blocks: Option<&mut Blocks>,
) -> Result<Trailer, Error> {
    let mut write = |data: &[u8], part: &mut Result<Partial, String>| {
        h.update(data);
        p.bytes().fetch_add(data.len() as u64, Ordering::Relaxed);
        if let Ok(pt) = part.as_mut() {
            let wrote = match sparse {
                true => crate::sparse::write_sparse(pt.file(), data),
                false => pt.file().write_all(data),
            };
            if let Err(e) = wrote {
                *part = Err(e.to_string());
            }
        }
    };
    // a packed file holds exactly its announced size (tfp-wire's parser
    // refuses any other)
    if let Some((data, raw)) = packed {
        write(data, part);
        return Ok(Trailer::Sum(raw));
    }
    let mut left = size;
    while left > 0 {
        let frame = rx.frame()?;
        let data = match blocks.as_mut() {
            Some(b) => b.data(&frame, left)?,
            None if frame.is_empty() || frame.len() as u64 > left => {
                return Err(protocol("more data than the size it announced"))
            }
            None => &frame[..],
        };
        left -= data.len() as u64;
        write(data, part);
    }
    Trailer::parse(&rx.frame()?).ok_or_else(|| protocol("a trailer that does not parse"))
}

/// Receives one file into its partial and commits it when its hash holds.
/// `Err` when the server is out of step (the session is dropped).
fn fetch_one(rx: &mut Frames, w: &File<'_>, p: &Progress, mut blocks: Option<&mut Blocks>) -> Result<Fetched, Error> {
    let head = rx.frame()?;
    let reply =
        get::Reply::parse(&head).ok_or_else(|| protocol(&format!("a header {:?}", String::from_utf8_lossy(&head))))?;
    // its directory, made by the first file in it (while the other
    // sessions' data keeps arriving)
    let unmade = || w.dir.is_some_and(|d| d.make().is_err());
    // a small file packed in one frame (its bytes and its SHA-256 raw) or
    // the long form's header
    let mut small = Vec::new();
    let (meta, packed) = match reply {
        get::Reply::Refused { code, reason } => {
            return Ok(Fetched::Done(Done::Refused(format!("FAILED {code}: {reason}"))))
        }
        get::Reply::Big { .. } if unmade() => return Ok(Fetched::Unmade),
        // big: left to the engine (an older tfd says no mode)
        get::Reply::Big { mode, .. } => return Ok(Fetched::Big(mode.map(|m| keep::landing_mode(m, w.keep_mode)))),
        get::Reply::File(meta) => (meta, None),
        get::Reply::Packed { meta, data, sum } => (meta, Some((data, sum))),
        // a small file's one compressed block, exactly its size (tfp-wire's
        // parser refuses any other announced length)
        get::Reply::Squeezed { meta, block, sum } => {
            let b = blocks
                .as_mut()
                .ok_or_else(|| protocol("a compressed file not asked for"))?;
            b.small(block, meta.size, &mut small)?;
            (meta, Some((&small[..], sum)))
        }
    };
    let unmade = unmade();
    let get::Meta { size, mode, mtime } = meta;
    // where it lands; a refusal here still reads the data to stay in step
    let mut part: Result<Partial, String> = if unmade {
        Err(String::new())
    } else {
        Beside::within(w.land, w.rel)
            .and_then(Partial::open_at)
            .and_then(|mut pt| pt.reset().map(|()| pt))
            .map_err(|e| e.to_string())
    };
    let mut h = Sha256::new();
    // a server out of step (more data than announced, a packed file of
    // another size, a trailer that does not parse) leaves nothing behind
    let received = receive_data(rx, packed, (size, w.sparse), &mut part, &mut h, p, blocks);
    if let (true, Ok(pt)) = (w.sparse, part.as_mut()) {
        // the zeros at its end were never written
        if let Err(e) = pt.file().set_len(size) {
            part = Err(e.to_string());
        }
    }
    let sum = match received {
        Ok(sum) => sum,
        Err(e) => {
            if let Ok(pt) = part {
                pt.discard();
            }
            return Err(e);
        }
    };
    let digest: [u8; 32] = h.finalize().into();
    let verdict = match sum {
        Trailer::Sum(s) if s == digest => Ok(()),
        Trailer::Sum(_) => Err(Done::Refused(
            "the data does not hash to the server's SHA-256; not written".into(),
        )),
        Trailer::Abort => Err(Done::Refused(
            "it changed on the server while it was read; not written, a later run fetches it".into(),
        )),
    };
    let pt = match part {
        Ok(pt) => pt,
        Err(_) if unmade => return Ok(Fetched::Unmade),
        Err(why) => return Ok(Fetched::Done(Done::Local(why))),
    };
    if let Err(d) = verdict {
        pt.discard();
        return Ok(Fetched::Done(d));
    }
    Ok(Fetched::Done(
        match pt.commit_as(Some(finer(mtime, w.mtime)), Some(keep::landing_mode(mode, w.keep_mode))) {
            Ok(()) => {
                p.land(size);
                Done::Ok
            }
            Err(e) => Done::Local(e.to_string()),
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_are_dealt_in_runs_of_neighbours_each_once() {
        for (files, n) in [(10_000, 4), (300, 4), (5, 4), (7, 7), (5, 1)] {
            let g = deal(files, n);
            assert_eq!(g.len(), n);
            assert!(g.iter().all(|g| !g.is_empty()), "{files} files, {n} sessions");
            let mut all: Vec<usize> = g.concat();
            all.sort_unstable();
            assert_eq!(all, (0..files).collect::<Vec<_>>());
        }
        let g = deal(10_000, 4);
        assert_eq!(g[0][..RUN], (0..RUN).collect::<Vec<_>>()[..]);
        assert_eq!(g[0][RUN], 4 * RUN);
        assert_eq!(g[1][0], RUN);
        // 300 files: runs of 18, at most one run apart
        let sizes: Vec<usize> = deal(300, 4).iter().map(Vec::len).collect();
        assert_eq!(sizes, [84, 72, 72, 72]);
        assert_eq!(deal(5, 4), vec![vec![0, 4], vec![1], vec![2], vec![3]]);
    }

    #[test]
    fn a_sessions_files_go_in_parts_of_doubling_path_bytes() {
        assert_eq!(parts([].into_iter()), vec![]);
        // a small batch stays whole
        assert_eq!(parts([25; 75].into_iter()), vec![0..75]);
        // 2,500 paths of 25 bytes: 8, 16, 32 KiB, the rest
        assert_eq!(
            parts(std::iter::repeat(25).take(2500)),
            vec![0..282, 282..846, 846..1975, 1975..2500]
        );
        // a path longer than the first part starts the second
        assert_eq!(parts([10, 9000, 10].into_iter()), vec![0..1, 1..3]);
        for n in [1, 281, 282, 283, 1000, 250_000] {
            let p = parts(std::iter::repeat(25).take(n));
            assert_eq!(p.first().map(|r| r.start), Some(0));
            assert_eq!(p.last().map(|r| r.end), Some(n));
            assert!(p.windows(2).all(|w| w[0].end == w[1].start));
            assert!(p.iter().all(|r| !r.is_empty() && r.len() as u64 <= MAX_FILES));
        }
    }
}
