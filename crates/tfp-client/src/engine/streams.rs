//! A download's streams (`get --streams N`): sessions sharing its ranges
//! through [`lanes`], each lane's range taken in the journal before a byte
//! of it lands.

use super::job::{finish_range, req_size, Book, RangeSink, Request};
use super::journal::Range;
use super::lanes;
use super::partial::Partial;
use crate::remote::listing;
use crate::shares::Shares;
use crate::{ClientConfig, Error};
use sha2::{Digest, Sha256};
use std::io;
use std::sync::Mutex;

/// Pieces a fresh download of several streams starts from, per stream,
/// taken in file order. The whole file's hash can only follow the landed
/// bytes from the file's start: with one piece a stream, the first
/// stream's quarter of a 64 MiB file (4 streams) landed in full only at the
/// end, leaving the other three quarters to hash after the last byte (47 ms
/// of a 3.1 s download at 200 Mbit/s, 20 ms). With two, half the file is
/// landed, and hashed, by about half time; each stream pays one GETCAN's
/// round trip more.
pub(super) const PIECES_PER_STREAM: usize = 2;

/// Ranges a download's journal may be split into by its streams (each a
/// line of a small text file).
const MOST_RANGES: usize = 64;

/// Moves the incomplete ranges over `req.streams` sessions sharing them
/// ([`lanes`]): a stream that runs dry splits off the back half of the
/// largest rest, in the journal too (the range ends at the cut, a new one
/// goes on from it) before a byte of it lands; each lane compressed under
/// `z` where the server has the ranged form ([`lanes::Squeezed`]). Returns
/// the whole file's SHA-256, hashed in file order as the bytes land, when
/// `hash`.
#[allow(clippy::too_many_arguments)]
pub(super) fn share_ranges(
    cfg: &ClientConfig,
    req: &Request<'_>,
    partial: &Partial,
    book: &Mutex<Book>,
    hashers: Vec<Option<Sha256>>,
    hash: bool,
    ranges: &[Range],
    z: Option<tfp_wire::compress::Choice>,
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
        // the next lane, taken (in the journal too) when the lane before
        // it is all asked for, its GETCAN sent behind that lane's stop
        let mut then: Option<(lanes::Asked, usize, Range)> = None;
        let mut squeezed = lanes::Squeezed { choice: z, size };
        loop {
            let (asked, i, range) = match then.take() {
                Some((a, i, r)) => (Some(a), i, r),
                None => {
                    let Some(s) = shares.next_grained(me, lanes::WINDOW) else {
                        break;
                    };
                    let (i, r) = take_range(book, &landed, s).map_err(|e| Error::file(&partial.journal, e))?;
                    (None, i, r)
                }
            };
            let s = range.start + range.done;
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
            let mut taken = None;
            let mut next = || shares.next_grained(me, lanes::WINDOW);
            let mut took = |s: u64| -> Result<(), Error> {
                taken = Some(take_range(book, &landed, s).map_err(|e| Error::file(&partial.journal, e))?);
                Ok(())
            };
            let mut asked_next = None;
            let st = lanes::get_lane(
                &mut cc,
                req.remote,
                &shares,
                me,
                s,
                req.bufsz,
                asked,
                &mut next,
                &mut took,
                &mut asked_next,
                &mut squeezed,
                &mut |b| {
                    sink.take(b)?;
                    landed.set(sink.i, sink.start + sink.done);
                    Ok(())
                },
            );
            // the lane's end, where no stream can split it any more
            sink.end = match &st {
                Ok(m) => m.end,
                Err(_) => shares.end(me),
            };
            if st.is_err() {
                listing::hang_up(&cc);
            }
            finish_range(st.map(drop), &mut sink, partial)?;
            then = asked_next.zip(taken).map(|(a, (i, r))| (a, i, r));
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
