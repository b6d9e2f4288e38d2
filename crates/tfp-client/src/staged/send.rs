//! Sending a staged upload's ranges: over one connection or several that
//! share them ([`crate::shares`]).

use super::request::Request;
use crate::replies::Split;
use crate::shares::{LaneReader, Shares};
use crate::spare::Opening;
use crate::transfer::PutOutcome;
use crate::{Client, ClientConfig, Error};
use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::os::fd::AsFd;
use std::sync::atomic::{AtomicU64, Ordering};
use tfd_sys::IO_ALIGN;
use tfp_wire::Status;

/// Sends `[start, end)` of `local` into the stage over `c`; the server's
/// final frame tells how its side went.
fn send_piece(
    c: &mut Client,
    req: &Request<'_>,
    (start, end): (u64, u64),
    progress: &AtomicU64,
    requested: bool,
) -> Result<Result<(), Status>, Error> {
    let mut f = File::open(req.local).map_err(Error::Local)?;
    f.seek(SeekFrom::Start(start)).map_err(Error::Local)?;
    let sent = send_range(
        c,
        req.remote,
        start,
        req.bufsz,
        &mut f.take(end - start),
        progress,
        requested,
    )?;
    Ok(sent.and_then(|n| whole(start, n, end)))
}

/// Ok when `sent` bytes from `start` reached `end`.
fn whole(start: u64, sent: u64, end: u64) -> Result<(), Status> {
    if start + sent == end {
        Ok(())
    } else {
        Err(Status::Failed(7, format!("range {start}..{end} ended early")))
    }
}

/// Sends what `data` holds into the stage from `start` over `c`: the bytes
/// the server stored, or its refusal. `requested`: the TFDSTAGEPUT for
/// `start` and `bufsz` went out already, behind TFDSTAGE ([`open_stage`]).
fn send_range(
    c: &mut Client,
    remote: &[u8],
    start: u64,
    bufsz: i64,
    data: &mut dyn Read,
    progress: &AtomicU64,
    requested: bool,
) -> Result<Result<u64, Status>, Error> {
    let mut last = 0;
    let mut counted = |n| {
        progress.fetch_add(n - last, Ordering::Relaxed);
        last = n;
    };
    let r = if requested {
        c.put_requested("TFDSTAGEPUT", bufsz, data, &mut counted)
    } else {
        c.put_as("TFDSTAGEPUT", remote, start, bufsz, data, &mut counted)
    };
    let r = r.split()?;
    match r {
        // refused before any data: the status is the reply
        Err(st) => Ok(Err(st)),
        Ok(outcome) => {
            let st = Status::parse(&c.chan.rx.recv_frame()?);
            Ok(match (outcome, st) {
                (PutOutcome::ReadFailed(e), _) => return Err(Error::Local(e)),
                (PutOutcome::Done, Status::Ok(_)) => Ok(last),
                (_, Status::Ok(_)) => Err(Status::Failed(7, format!("range from {start} ended early"))),
                (_, st) => Err(st),
            })
        }
    }
}

/// How many pieces the streams share at most: they take them in file order,
/// so what is written is near the front of the file at all times and the
/// server's hash of the stage, which must go in file order, follows close
/// behind the data (its commit is then left little to read back). Each piece
/// is a range in the stage's journal, whose attributes a file system bounds
/// (ext4: one block): fewer than the ranges a stage records (32, tfd's `fsys::stage::MAX_RANGES`),
/// the pieces and the splits of [`crate::shares`] together.
const MAX_PIECES: u64 = 24;
/// The least a piece holds when there are several.
const MIN_PIECE: u64 = 16 << 20;

/// The chunk each of several streams claims and sends at a time: what a
/// stream has claimed is its own, so this bounds what the others cannot
/// take from a slow one (with the bytes its socket holds, see
/// [`UNSENT_MOST`]).
const STREAM_CHUNK: i64 = 128 << 10;
/// The least a stream splits off another's rest (its own range then).
const SPLIT_LEAST: u64 = 256 << 10;
/// What a stream's socket may hold not yet sent (TCP_NOTSENT_LOWAT): left
/// to itself the kernel fills a send buffer of MiBs, the better part of a
/// second of a slow stream's data on a lossy link, out of the others' reach.
/// With the chunk above and what is in flight, about 0.5 MB a stream holds
/// that no other can take: at 200 Mbit/s, 20 ms and 0.5% loss the slowest
/// of four (45 Mbit/s) sent its last 1 MB alone for 0.17 s with 512 KiB
/// chunks and 256 KiB unsent.
const UNSENT_MOST: u32 = 128 << 10;

/// Sends every piece: over `c` and `streams - 1` more connections, each
/// taking the next piece in file order, then splitting the largest rest
/// another has not claimed ([`crate::shares`]); the first failure wins.
pub(super) fn send_all(
    c: &mut Client,
    cfg: &ClientConfig,
    req: &Request<'_>,
    pieces: &[(u64, u64)],
    progress: &AtomicU64,
    early: &mut Opening,
    asked: Option<i64>,
) -> Result<Result<(), Status>, Error> {
    // what was asked ahead (behind TFDSTAGE) is taken by the first range
    // when it is that range's request; else it is answered and left
    let requested = match asked {
        Some(b) if b == first_bufsz(req, pieces) && pieces.first().is_some_and(|&(a, _)| a == 0) => true,
        Some(b) => {
            settle_request(c, b)?;
            false
        }
        None => false,
    };
    if one_stream(req, pieces) {
        for (i, &p) in pieces.iter().enumerate() {
            if let Err(st) = send_piece(c, req, p, progress, requested && i == 0)? {
                return Ok(Err(st));
            }
        }
        return Ok(Ok(()));
    }
    let missing: u64 = pieces.iter().map(|(a, b)| b - a).sum();
    // half the journal's ranges for the pieces, half for the splits
    let piece = missing
        .div_ceil(MAX_PIECES / 2)
        .max(MIN_PIECE)
        .next_multiple_of(IO_ALIGN as u64);
    let mut queue: Vec<(u64, u64)> = Vec::new();
    for &(mut a, b) in pieces {
        while b - a > piece {
            queue.push((a, a + piece));
            a += piece;
        }
        queue.push((a, b));
    }
    // a stream beyond the pieces only has splits to take: worth it on a big enough file
    let lanes = if missing >= 2 * SPLIT_LEAST * req.streams as u64 {
        req.streams
    } else {
        req.streams.min(queue.len())
    };
    let shares = Shares::new(&queue, lanes, MAX_PIECES as usize, SPLIT_LEAST);
    // the first piece (from offset 0 on a fresh upload) goes over `c`, the
    // session that commits: its server side hashes the stage in file order
    let first = shares.next(0);
    let file = File::open(req.local).map_err(Error::Local)?;
    let failed = std::sync::atomic::AtomicBool::new(false);
    let bufsz = req.bufsz.min(STREAM_CHUNK);
    if requested && first != Some(0) {
        // the shares deal the first piece, from 0, to this stream: a
        // request not taken would leave the session out of step
        settle_request(c, bufsz)?;
    }
    // one stream: ranges until none is left or another stream failed;
    // `requested`: its first range's TFDSTAGEPUT went out already
    let stream = |c: &mut Client, me: usize, mut requested: bool| -> Result<Result<(), Status>, Error> {
        tfd_sys::set_notsent_lowat(c.chan.stream().as_fd(), UNSENT_MOST);
        let mut start = if me == 0 { first } else { shares.next(me) };
        let r = loop {
            let Some(at) = start else { break Ok(Ok(())) };
            if failed.load(Ordering::Relaxed) {
                break Ok(Ok(()));
            }
            let mut data = LaneReader {
                shares: &shares,
                me,
                file: &file,
            };
            let r = send_range(c, req.remote, at, bufsz, &mut data, progress, requested);
            requested = false;
            let r = r.map(|sent| sent.and_then(|n| whole(at, n, shares.end(me))));
            if !matches!(r, Ok(Ok(()))) {
                failed.store(true, Ordering::Relaxed);
                break r;
            }
            start = shares.next(me);
        };
        // back to the system's default for what else the session does
        tfd_sys::set_notsent_lowat(c.chan.stream().as_fd(), 0);
        r
    };
    // the sessions opening since the stage did (only the first time): each
    // stream waits for its own, the others send meanwhile
    let mut opening = std::mem::take(early);
    let results: Vec<Result<Result<(), Status>, Error>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (1..lanes)
            .map(|me| {
                let (stream, shares) = (&stream, &shares);
                let pending = opening.pop();
                scope.spawn(move || {
                    let mut c = match pending {
                        Some(p) => match p.wait_while(cfg, || !shares.dry())? {
                            Some(c) => c,
                            // the others sent it all meanwhile
                            None => return Ok(Ok(())),
                        },
                        None => crate::spare::take(cfg)?,
                    };
                    let r = stream(&mut c, me, false);
                    let _ = c.end();
                    r
                })
            })
            .collect();
        let mut out = vec![stream(c, 0, requested && first == Some(0))];
        out.extend(
            handles
                .into_iter()
                .map(|h| h.join().unwrap_or(Err(Error::Protocol("thread panicked".into())))),
        );
        out
    });
    // a refusal with the server's reason before a lost connection: it says why
    let mut lost = None;
    for r in results {
        match r {
            Ok(Ok(())) => {}
            Ok(Err(st)) => return Ok(Err(st)),
            Err(e) => lost = lost.or(Some(e)),
        }
    }
    lost.map_or(Ok(Ok(())), Err)
}

/// Whether `pieces` go over `c` alone, one after the other.
pub(super) fn one_stream(req: &Request<'_>, pieces: &[(u64, u64)]) -> bool {
    pieces.len() <= 1 || req.streams <= 1
}

/// The HPF buffer the first range of `pieces` is asked with.
pub(super) fn first_bufsz(req: &Request<'_>, pieces: &[(u64, u64)]) -> i64 {
    if one_stream(req, pieces) {
        req.bufsz
    } else {
        req.bufsz.min(STREAM_CHUNK)
    }
}

/// Answers a TFDSTAGEPUT sent ahead that is not wanted after all: its
/// refusal is read, or its grant ended before any data (and its final
/// frame read).
pub(super) fn settle_request(c: &mut Client, bufsz: i64) -> Result<(), Error> {
    match c.put_requested("TFDSTAGEPUT", bufsz, &mut std::io::empty(), &mut |_| {}) {
        Ok(_) => {
            c.chan.rx.recv_frame()?;
            Ok(())
        }
        Err(Error::Refused(_)) => Ok(()),
        Err(e) => Err(e),
    }
}
