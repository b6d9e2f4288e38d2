//! Sending a staged upload's ranges: over one connection or several that
//! share them ([`crate::shares`]), each range's end, FIN and the next
//! range's request in one write, and the commit behind the last range of the
//! session that commits.

use super::request::Request;
use crate::replies::Split;
use crate::shares::{LaneReader, Shares};
use crate::spare::Opening;
use crate::transfer::PutOutcome;
use crate::{Client, ClientConfig, Error};
use std::fs::File;
use std::io::Read;
use std::os::fd::AsFd;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicU8, Ordering};
use tfd_sys::IO_ALIGN;
use tfp_wire::compress::Squeeze;
use tfp_wire::stage as wire;
use tfp_wire::Status;

/// Where one stream's ranges come from, one after the other: `next` deals
/// the next range's start (None: nothing left for this stream), `end` says
/// where the range being sent ends now (another stream may have moved it),
/// and `data` reads a range from its start.
struct StreamRanges<'r, 'd> {
    next: &'r mut dyn FnMut() -> Option<u64>,
    end: &'r dyn Fn() -> u64,
    data: &'r dyn Fn(u64) -> Box<dyn Read + 'd>,
}

/// Sends the commit behind a stream's last range, when it can go: whether
/// it went.
pub(super) type Commit<'a> = &'a mut dyn FnMut(&mut Client) -> Result<bool, Error>;

/// How a stream's ranges went, and whether the commit went behind its last.
pub(super) struct Sent {
    pub(super) result: Result<(), Status>,
    pub(super) committed: bool,
    /// The commit's answer, when it was read already.
    pub(super) reply: Option<Status>,
}

/// An error once the commit went out: the target may be the new file.
pub(super) fn unsettled(e: Error) -> Error {
    match e {
        e @ Error::Unsettled { .. } => e,
        e => Error::Unsettled {
            command: wire::DONE,
            error: Box::new(e),
        },
    }
}

/// Sends a stream's ranges into the stage over `c`, from `first` on
/// (`requested`: its TFDSTAGEPUT went out already, behind TFDSTAGE). Each
/// range's end goes with the next range's request in one write, so the
/// server's status and its grant come back together: one round trip between
/// ranges instead of two. Behind the last range, `commit` may send the
/// commit (it says whether it did) in that same write. Stops at the first
/// refusal, or when `failed` says another stream failed.
#[allow(clippy::too_many_arguments)]
fn send_ranges(
    c: &mut Client,
    req: &Request<'_>,
    bufsz: i64,
    ranges: StreamRanges<'_, '_>,
    (first, requested): (Option<u64>, bool),
    progress: &AtomicU64,
    failed: &AtomicBool,
    mut commit: Option<Commit<'_>>,
    mut granted: impl FnMut(),
) -> Result<Sent, Error> {
    let (mut at, mut requested) = (first, requested);
    let mut committed = false;
    let (cmd, remote) = (req.put_command(), req.remote);
    let mut squeeze = match req.compress {
        Some((choice, offer)) => Some(
            Squeeze::new(choice, offer)
                .map(|sq| crate::compress::send::on_link(c, sq))
                .ok_or_else(|| Error::Local(std::io::Error::other("no memory for a zstd stream")))?,
        ),
        None => None,
    };
    while let Some(start) = at {
        let grant = if requested {
            c.hpf_granted(cmd, bufsz)
        } else {
            c.hpf_open(cmd, remote, start, bufsz, None)
        };
        let grant = match grant.split()? {
            Ok(g) => g,
            Err(st) => {
                return Ok(Sent {
                    result: Err(st),
                    committed,
                    reply: None,
                })
            }
        };
        granted();
        let mut last = 0;
        let mut counted = |n| {
            progress.fetch_add(n - last, Ordering::Relaxed);
            last = n;
        };
        let (mut end, mut next, mut asked) = (start, None, false);
        let mut behind = |c: &mut Client, outcome: &PutOutcome| -> Result<(), Error> {
            end = (ranges.end)();
            if !matches!(outcome, PutOutcome::Done) || failed.load(Ordering::Relaxed) {
                return Ok(());
            }
            next = (ranges.next)();
            match next {
                Some(n) => {
                    c.hpf_request(cmd, remote, n, bufsz, None)?;
                    asked = true;
                }
                None => {
                    if let Some(commit) = commit.as_mut() {
                        committed = commit(c)?;
                    }
                }
            }
            Ok(())
        };
        let data = &mut (ranges.data)(start);
        let ended = match squeeze.as_mut() {
            Some(sq) => c.put_blocks_then(grant, data, &mut counted, Some(&mut behind), sq),
            None => c.put_granted_then(grant, data, &mut counted, Some(&mut behind)),
        };
        let ended = ended.and_then(|o| Ok((o, Status::parse(&c.chan.rx.recv_frame()?))));
        let (outcome, st) = match ended {
            Ok(x) => x,
            Err(e) if committed => return Err(unsettled(e)),
            Err(e) => return Err(e),
        };
        let r = match (outcome, st) {
            (PutOutcome::ReadFailed(e), _) => return Err(Error::Local(e)),
            (PutOutcome::Done, Status::Ok(_)) => whole(start, last, end),
            (_, Status::Ok(_)) => Err(Status::Failed(7, format!("range from {start} ended early"))),
            (_, st) => Err(st),
        };
        if let Err(st) = r {
            if asked {
                settle_request(c, req, bufsz)?;
            }
            return Ok(Sent {
                result: Err(st),
                committed,
                reply: None,
            });
        }
        (at, requested) = (next, asked);
    }
    Ok(Sent {
        result: Ok(()),
        committed,
        reply: None,
    })
}

/// Ok when `sent` bytes from `start` reached `end`.
fn whole(start: u64, sent: u64, end: u64) -> Result<(), Status> {
    if start + sent == end {
        Ok(())
    } else {
        Err(Status::Failed(7, format!("range {start}..{end} ended early")))
    }
}

/// `[at, end)` of a file, read where it lies (streams share one descriptor).
struct Span<'f> {
    file: &'f File,
    at: u64,
    end: u64,
}

impl Read for Span<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = (self.end - self.at).min(buf.len() as u64) as usize;
        let n = std::os::unix::fs::FileExt::read_at(self.file, &mut buf[..n], self.at)?;
        self.at += n as u64;
        Ok(n)
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

/// All of `pieces` over `c` alone, the commit behind the last.
#[allow(clippy::too_many_arguments)]
fn send_alone(
    c: &mut Client,
    req: &Request<'_>,
    pieces: &[(u64, u64)],
    file: &File,
    requested: bool,
    progress: &AtomicU64,
    failed: &AtomicBool,
    commit: Commit<'_>,
) -> Result<Sent, Error> {
    let at = std::cell::Cell::new(0);
    let ranges = StreamRanges {
        next: &mut || {
            at.set(at.get() + 1);
            pieces.get(at.get()).map(|p| p.0)
        },
        end: &|| pieces.get(at.get()).map_or(0, |p| p.1),
        data: &|start| {
            let end = pieces.get(at.get()).map_or(start, |p| p.1);
            Box::new(Span { file, at: start, end })
        },
    };
    let first = (pieces.first().map(|p| p.0), requested);
    send_ranges(c, req, req.bufsz, ranges, first, progress, failed, Some(commit), || {})
}

/// The pieces cut for the streams to take in turn, and the bytes they hold:
/// half the journal's ranges for the pieces, half for the splits.
fn queued(pieces: &[(u64, u64)]) -> (Vec<(u64, u64)>, u64) {
    let missing: u64 = pieces.iter().map(|(a, b)| b - a).sum();
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
    (queue, missing)
}

/// Sends every piece: over `c` and `streams - 1` more connections, each
/// taking the next piece in file order, then splitting the largest rest
/// another has not claimed ([`crate::shares`]); the first failure wins.
/// `commit` sends the commit behind `c`'s last range once every other
/// stream holds its last range granted (their bytes then are all on their
/// way, and tfd's commit waits for them; an older tfd answers that the
/// stage is incomplete, and the caller commits again).
#[allow(clippy::too_many_arguments)]
pub(super) fn send_all(
    c: &mut Client,
    cfg: &ClientConfig,
    req: &Request<'_>,
    pieces: &[(u64, u64)],
    progress: &AtomicU64,
    early: &mut Opening,
    asked: Option<i64>,
    commit: Commit<'_>,
) -> Result<Sent, Error> {
    // what was asked ahead (behind TFDSTAGE) is taken by the first range
    // when it is that range's request; else it is answered and left
    let requested = match asked {
        Some(b) if b == first_bufsz(req, pieces) && pieces.first().is_some_and(|&(a, _)| a == 0) => true,
        Some(b) => {
            settle_request(c, req, b)?;
            false
        }
        None => false,
    };
    let file = File::open(req.local).map_err(Error::Local)?;
    let failed = AtomicBool::new(false);
    if one_stream(req, pieces) {
        return send_alone(c, req, pieces, &file, requested, progress, &failed, commit);
    }
    let (queue, missing) = queued(pieces);
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
    let bufsz = req.bufsz.min(STREAM_CHUNK);
    if requested && first != Some(0) {
        // the shares deal the first piece, from 0, to this stream: a
        // request not taken would leave the session out of step
        settle_request(c, req, bufsz)?;
    }
    let states: Vec<AtomicU8> = (0..lanes).map(|_| AtomicU8::new(ASKED)).collect();
    // one stream: ranges until none is left or another stream failed;
    // `requested`: its first range's TFDSTAGEPUT went out already
    let stream = |c: &mut Client, me: usize, requested: bool, commit: Option<Commit<'_>>| -> Result<Sent, Error> {
        let _leaving = Leaving(&states[me]);
        tfd_sys::set_notsent_lowat(c.chan.stream().as_fd(), UNSENT_MOST);
        let start = if me == 0 { first } else { deal(&shares, &states, me) };
        let ranges = StreamRanges {
            next: &mut || deal(&shares, &states, me),
            end: &|| shares.end(me),
            data: &|_| {
                Box::new(LaneReader {
                    shares: &shares,
                    me,
                    file: &file,
                })
            },
        };
        let granted = || states[me].store(SENDING, Ordering::SeqCst);
        let r = send_ranges(
            c,
            req,
            bufsz,
            ranges,
            (start, requested),
            progress,
            &failed,
            commit,
            granted,
        );
        if !matches!(r, Ok(Sent { result: Ok(()), .. })) {
            failed.store(true, Ordering::Relaxed);
        }
        // back to the system's default for what else the session does
        tfd_sys::set_notsent_lowat(c.chan.stream().as_fd(), 0);
        r
    };
    // the commit goes once no other stream waits for a grant: each holds
    // its last range then (no range is dealt after this one's last)
    let mut commit_last = |c: &mut Client| -> Result<bool, Error> {
        while states[1..].iter().any(|s| s.load(Ordering::SeqCst) == ASKED) {
            if failed.load(Ordering::Relaxed) {
                return Ok(false);
            }
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
        commit(c)
    };
    // the sessions opening since the stage did (only the first time): each
    // stream waits for its own, the others send meanwhile
    let mut opening = std::mem::take(early);
    let results: Vec<Result<Sent, Error>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (1..lanes)
            .map(|me| {
                let (stream, shares, states) = (&stream, &shares, &states);
                let pending = opening.pop();
                scope.spawn(move || {
                    let _leaving = Leaving(&states[me]);
                    let mut c = match pending {
                        Some(p) => match p.wait_while(cfg, || !shares.dry())? {
                            Some(c) => c,
                            // the others sent it all meanwhile
                            None => {
                                return Ok(Sent {
                                    result: Ok(()),
                                    committed: false,
                                    reply: None,
                                })
                            }
                        },
                        None => crate::spare::take(cfg)?,
                    };
                    let r = stream(&mut c, me, false, None);
                    let _ = c.end();
                    r
                })
            })
            .collect();
        let mut out = vec![stream(c, 0, requested && first == Some(0), Some(&mut commit_last))];
        out.extend(
            handles
                .into_iter()
                .map(|h| h.join().unwrap_or(Err(Error::Protocol("thread panicked".into())))),
        );
        out
    });
    settle(c, results)
}

/// What the streams came to, the first stream's (the committing session's)
/// first: a refusal with the server's reason wins over a lost connection,
/// which says less; a stream lost after the commit went leaves the commit's
/// answer to tell.
fn settle(c: &mut Client, results: Vec<Result<Sent, Error>>) -> Result<Sent, Error> {
    let committed = matches!(results.first(), Some(Ok(Sent { committed: true, .. })));
    let mut lost = None;
    for r in results {
        match r {
            Ok(Sent { result: Ok(()), .. }) => {}
            Ok(Sent { result: Err(st), .. }) => {
                return Ok(Sent {
                    result: Err(st),
                    committed,
                    reply: None,
                })
            }
            Err(e) => lost = lost.or(Some(e)),
        }
    }
    match lost {
        // a stream lost after the commit went: its answer tells (incomplete,
        // once the lost session let go; or in place, had every byte come)
        Some(e) if committed => match c.chan.rx.recv_frame() {
            Ok(f) => match Status::parse(&f) {
                st @ Status::Ok(_) => Ok(Sent {
                    result: Ok(()),
                    committed,
                    reply: Some(st),
                }),
                _ => Err(e),
            },
            Err(lost_too) => Err(unsettled(lost_too.into())),
        },
        Some(e) => Err(e),
        None => Ok(Sent {
            result: Ok(()),
            committed,
            reply: None,
        }),
    }
}

/// A stream's state, for the commit sent behind the first stream's last
/// range: waiting for a range's grant (or not started), sending a granted
/// range, or done.
const ASKED: u8 = 0;
const SENDING: u8 = 1;
const DONE: u8 = 2;

/// Marks a stream done however it leaves.
struct Leaving<'a>(&'a AtomicU8);

impl Drop for Leaving<'_> {
    fn drop(&mut self) {
        self.0.store(DONE, Ordering::SeqCst);
    }
}

/// The next range for stream `me`, its state marked asked before the deal
/// and done when there is none: a stream the deal gave a range is never
/// seen done or sending by the commit before its grant.
fn deal(shares: &Shares, states: &[AtomicU8], me: usize) -> Option<u64> {
    states[me].store(ASKED, Ordering::SeqCst);
    let next = shares.next(me);
    if next.is_none() {
        states[me].store(DONE, Ordering::SeqCst);
    }
    next
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
pub(super) fn settle_request(c: &mut Client, req: &Request<'_>, bufsz: i64) -> Result<(), Error> {
    match c.put_requested(req.put_command(), bufsz, &mut std::io::empty(), &mut |_| {}) {
        Ok(_) => {
            c.chan.rx.recv_frame()?;
            Ok(())
        }
        Err(Error::Refused(_)) => Ok(()),
        Err(e) => Err(e),
    }
}
