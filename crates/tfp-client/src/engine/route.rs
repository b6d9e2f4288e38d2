//! The one place an upload's protocol route is chosen (rsync's generator
//! deciding once per file), from what the caller asked ([`Request`]), what
//! the session's link is ([`Link`]) and nothing else: tf's `put`, `sndfile`
//! and `sup`, a file of a tree, and the Python package all reach the server
//! through [`choose`], so the same request sends the same commands.
//!
//! A server that lacks an extension (tfd's own, or any 2.4.1 server) is not
//! known before it answers, so the choice is a ladder: each rung is tried in
//! order, and a rung the server does not take hands the file to the next
//! ([`super::run`]). Only the last rung is plain 2.4.1.

use super::upload::request::{DeltaRule, Dest, Kind, Request};

/// How the bytes of one upload travel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    /// tfd's staged upload (TFDSTAGE, TFDSTAGEPUT, TFDSTAGEDONE): resumable,
    /// over `streams` connections, the target replaced only by a complete,
    /// verified file.
    Staged {
        /// Connections for the data.
        streams: usize,
        /// Continue what the stage holds for this same source.
        resume: bool,
    },
    /// tfd's delta upload onto the existing file (TFDDELTASIG(P),
    /// TFDDELTAPUT): what changed, verified, replacing the file whole.
    Delta,
    /// A batch of one (TFDPUTMANY): streamed without a round trip per chunk,
    /// committed only on the SHA-256 of what was read here.
    Batch,
    /// PUT in place from `from` (2.4.1): what `--offset` and a resume
    /// without stages ask; with `streams` > 1 from 0, over that many
    /// connections.
    InPlace {
        /// Where the writing starts.
        from: Offset,
        /// Connections, used only when the writing starts at 0.
        streams: usize,
    },
    /// SUP (2.4.1): streamed, no overwrite check of its own.
    Sup,
    /// SNDFILE (2.4.1): with overwrite, tfd writes a temporary renamed over
    /// the target.
    Whole {
        /// SNDFILE's overwrite flag.
        overwrite: bool,
    },
}

/// Where an in-place PUT starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Offset {
    /// At this byte (`--offset`), or 0.
    At(u64),
    /// After what the server's file holds (a resume without stages: FSIZE,
    /// 0 when the server declines; the whole file when the server's is
    /// longer than the local one).
    ServerSize,
}

/// Files smaller than this go whole: a delta's round trips cost more than
/// sending them.
pub const MIN_SIZE: u64 = 256 << 10;

/// Round trips from which a delta is worth its reading and diffing: below
/// it (loopback, a LAN) the link moves the whole file faster than the
/// signatures and the diff cost (64 MiB with 1 MiB changed: 0.10-0.17 s
/// whole, 0.33-0.47 s as a delta on the development VM's loopback).
pub const SLOW_LINK_RTT: std::time::Duration = std::time::Duration::from_millis(1);

/// Whether the session's link is slow enough for a delta (or a streamed
/// upload) to pay, by the least round trip TCP saw on its socket; a peer on
/// loopback never is (the same machine: its round trip is only its load), and
/// a socket that cannot tell counts as slow, so the delta still guards the
/// bytes.
pub fn link_is_slow(c: &crate::Client) -> bool {
    use std::os::fd::AsFd as _;
    let stream = c.chan.stream();
    if stream.peer_addr().is_ok_and(|a| a.ip().to_canonical().is_loopback()) {
        return false;
    }
    !matches!(tfd_sys::tcp_rtt(stream.as_fd()), Some(rtt) if rtt < SLOW_LINK_RTT)
}

/// What the chooser knows of the session's link.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Link {
    /// Latency enough that a round trip per chunk costs more than a delta's
    /// or a batch's work ([`link_is_slow`]).
    pub slow: bool,
}

impl Link {
    /// What the session's socket tells of its link.
    pub fn of(c: &crate::Client) -> Link {
        Link { slow: link_is_slow(c) }
    }
}

/// Whether a transfer asks the server for compression (TFDZSTD) under
/// `choice` over `link`: forced, or by default where the link is slow
/// enough for compressing to pay (on loopback or a LAN the decider would
/// send every block raw, and the probe would cost a round trip for nothing).
pub fn compresses(choice: tfp_wire::compress::Choice, link: Link) -> bool {
    match choice {
        tfp_wire::compress::Choice::Off => false,
        tfp_wire::compress::Choice::Auto => link.slow,
        tfp_wire::compress::Choice::Force(_) => true,
    }
}

/// How a tree's listing is asked ([`crate::remote::zlisting`]): compressed
/// under the run's choice where [`compresses`] says data would go
/// compressed over the session's link (a listing is text: it always
/// shrinks), else plain (None).
pub(crate) fn compressed_listing(c: &crate::Client) -> Option<tfp_wire::compress::Choice> {
    compresses(c.listings, Link::of(c)).then_some(c.listings)
}

/// [`compresses`] for a batch: forced, or measured where the link is slow
/// and compressing saves time ([`super::zpays::pays`]), from `measure`:
/// the socket's view of the link (None: it cannot tell, and the batch goes
/// as it is), the batch's bytes and their sample's ratio. `measure` is
/// called only then, so a fast link pays nothing for it.
pub fn compresses_batch(
    choice: tfp_wire::compress::Choice,
    link: Link,
    measure: impl FnOnce() -> (Option<super::zpays::Wire>, u64, f64),
) -> bool {
    if !compresses(choice, link) {
        return false;
    }
    if choice != tfp_wire::compress::Choice::Auto {
        return true;
    }
    match measure() {
        (Some(w), bytes, ratio) => super::zpays::pays(&w, bytes, ratio),
        (None, ..) => false,
    }
}

/// The choice a download asks the server to compress by, where
/// [`compressed_offer`] has an offer; None: today's request.
pub(crate) fn compressed_download(
    c: &mut crate::Client,
    cfg: &crate::ClientConfig,
) -> Result<Option<tfp_wire::compress::Choice>, crate::Error> {
    Ok(compressed_offer(c, cfg.compress)?.map(|_| cfg.compress))
}

/// What the server offers, where [`compresses`] says `choice` compresses
/// over the session's link and the server offers compression (TFDZSTD,
/// asked once per session); None: the data go as they are.
pub(crate) fn compressed_offer(
    c: &mut crate::Client,
    choice: tfp_wire::compress::Choice,
) -> Result<Option<tfp_wire::compress::Offer>, crate::Error> {
    if !compresses(choice, Link::of(c)) {
        return Ok(None);
    }
    crate::compress::offer(c)
}

/// Whether a changed file may go as a delta under `rule` over `link`, in
/// either direction (a tree's, a mirror's, a single file's).
pub fn deltas(rule: DeltaRule, link: Link) -> bool {
    match rule {
        DeltaRule::Never => false,
        DeltaRule::Always => true,
        DeltaRule::Auto => link.slow,
    }
}

/// How a file of a tree goes up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TreeRoute {
    /// In a batch with the others (TFDPUTMANY), or whole one by one where
    /// the server has no batches.
    Batch,
    /// As a delta onto the server's old copy, one at a time on the run's
    /// pool; whole in a batch after all where the delta would not pay.
    Delta,
    /// On its own, by [`choose`] for a file of a tree (a big file: a stage).
    Alone,
}

/// The route of a tree's file of `size` bytes whose old copy on the server
/// is `theirs` bytes (None: none, or not a file of a known size), where
/// `deltas` says changed files may go as deltas ([`deltas`], and the server
/// keeps mtimes, so the next run sees the file unchanged).
pub fn tree_file(size: u64, theirs: Option<u64>, deltas: bool) -> TreeRoute {
    if deltas && theirs.is_some_and(|n| n > 0) && size >= MIN_SIZE {
        TreeRoute::Delta
    } else if rides_batch(size) {
        TreeRoute::Batch
    } else {
        TreeRoute::Alone
    }
}

/// Whether a file of `size` bytes comes down as a delta onto the local copy
/// of `ours` bytes (None: none, or not a regular file), where `deltas`
/// ([`deltas`]): both big enough for a delta to pay (`tf get` and `mirror`
/// alike; a delta download also needs one stream and no resume).
pub fn delta_down(size: u64, ours: Option<u64>, deltas: bool) -> bool {
    let min = MIN_SIZE;
    deltas && ours.is_some_and(|n| n >= min) && size >= min
}

/// How a file of a tree comes down.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DownRoute {
    /// In a batch with the others (TFDGETMANY) where the server has them;
    /// a batch leaves files of [`ENGINE_FROM`] bytes and more, and all of
    /// them where the server has none, to [`DownRoute::Alone`].
    Batch,
    /// On its own through the transfer engine (its partial and journal,
    /// resumable), or as a delta where it may be one.
    Alone,
}

/// The route of a tree's file down: a batch keeps no journal, so a file
/// that needs one (`journal`: a partial to continue, or a run that resumes)
/// goes alone, and so does one that may come as a delta (`delta`,
/// [`delta_down`]).
pub fn tree_down(journal: bool, delta: bool) -> DownRoute {
    if journal || delta {
        DownRoute::Alone
    } else {
        DownRoute::Batch
    }
}

/// Files from this size on are left to the engine (the server only
/// announces them): an interrupted run keeps their partials and journals
/// for `--resume`.
pub const ENGINE_FROM: u64 = 8 << 20;

/// Files of a tree from this size on go up through a stage (tfd's staged
/// uploads), so an interrupted run keeps what it moved of a big file and the
/// next run continues it, checked end to end before the target is replaced.
/// Smaller files ride in a batch, or are one SNDFILE: moving them again
/// costs less than a stage's two extra round trips and its hash.
pub const STAGED_FROM: u64 = 32 << 20;

/// Whether a file of a tree of `size` bytes rides in a batch (TFDPUTMANY)
/// where the server has them; a bigger one goes by [`choose`] alone.
fn rides_batch(size: u64) -> bool {
    size < STAGED_FROM
}

/// The routes to try for `req` over `link`, in order. Never empty.
pub fn choose(req: &Request<'_>, link: Link) -> Vec<Route> {
    let mut ladder = Vec::with_capacity(3);
    let file = req.source.size();
    let put = req.kind == Kind::Put;
    if let (true, Some(size)) = (put && req.offset.is_none(), file) {
        if req.resume || req.streams > 1 {
            ladder.push(Route::Staged {
                streams: req.streams.max(1),
                resume: req.resume,
            });
        } else if req.member && (size >= STAGED_FROM || req.holes) {
            // a big file of a tree: a later run continues it (a sparse
            // one: its stage makes the holes)
            ladder.push(Route::Staged {
                streams: 1,
                resume: true,
            });
        }
    }
    let in_place = put && (req.resume || req.offset.is_some() || req.streams > 1);
    if in_place {
        let from = match req.offset {
            Some(n) => Offset::At(n),
            None if req.resume => Offset::ServerSize,
            None => Offset::At(0),
        };
        ladder.push(Route::InPlace {
            from,
            streams: req.streams.max(1),
        });
        return ladder;
    }
    if req.kind == Kind::Sup {
        ladder.push(Route::Sup);
        return ladder;
    }
    let delta = deltas(req.delta, link);
    if put && !req.member && delta && req.dest != Dest::Absent && file.is_some_and(|n| n >= MIN_SIZE) {
        ladder.push(Route::Delta);
    }
    // over a link with latency SNDFILE waits a round trip for every chunk's
    // CONT, where a batch streams; and a batch's commit checks the hash; a
    // file whose mode a server's default would not give it (a private one,
    // a script) goes in a batch, which carries it for a new file; and so
    // does one asked to go compressed whatever the link (`-z`), which
    // SNDFILE cannot carry
    let carries = req.new_mode.is_some_and(|m| m & 0o777 != 0o644);
    let forced = matches!(req.compress, tfp_wire::compress::Choice::Force(_));
    if put && !req.member && file.is_some() && (req.verify || link.slow || carries || forced) {
        ladder.push(Route::Batch);
    }
    ladder.push(Route::Whole {
        overwrite: put || req.kind == (Kind::Sndfile { overwrite: true }),
    });
    ladder
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::upload::request::Source;
    use std::path::Path;

    #[test]
    fn compression_is_asked_where_it_can_pay() {
        use tfp_wire::compress::Choice;
        let (slow, fast) = (Link { slow: true }, Link { slow: false });
        assert!(compresses(Choice::Auto, slow) && !compresses(Choice::Auto, fast));
        assert!(compresses(Choice::Force(None), fast) && !compresses(Choice::Off, slow));
        // measured: a compressible megabyte over 10 ms asks, what does not
        // shrink or a fast link does not even measure
        let w = crate::engine::zpays::Wire {
            rtt: std::time::Duration::from_millis(10),
            window: 14480,
            rate: None,
        };
        assert!(compresses_batch(Choice::Auto, slow, || (Some(w), 1 << 20, 0.25)));
        assert!(!compresses_batch(Choice::Auto, slow, || (Some(w), 1 << 20, 0.95)));
        assert!(!compresses_batch(Choice::Auto, slow, || (None, 1 << 20, 0.25)));
        assert!(!compresses_batch(Choice::Auto, fast, || unreachable!()));
        assert!(compresses_batch(Choice::Force(Some(3)), fast, || unreachable!()));
        assert!(!compresses_batch(Choice::Off, slow, || unreachable!()));
    }

    fn file(size: u64) -> Request<'static> {
        Request::new(Source::File(Path::new("f"), size), b"r", Kind::Put)
    }

    const FAST: Link = Link { slow: false };
    const SLOW: Link = Link { slow: true };

    #[test]
    fn a_plain_put_goes_whole_on_a_fast_link_and_as_a_delta_or_batch_on_a_slow_one() {
        let r = file(1 << 20);
        assert_eq!(choose(&r, FAST), [Route::Whole { overwrite: true }]);
        assert_eq!(
            choose(&r, SLOW),
            [Route::Delta, Route::Batch, Route::Whole { overwrite: true }]
        );
        // too small for a delta, and nothing to send a delta against
        assert_eq!(
            choose(&file(100), SLOW),
            [Route::Batch, Route::Whole { overwrite: true }]
        );
        let absent = Request {
            dest: Dest::Absent,
            ..file(1 << 20)
        };
        assert_eq!(choose(&absent, SLOW), [Route::Batch, Route::Whole { overwrite: true }]);
        let whole = Request {
            delta: DeltaRule::Never,
            ..file(1 << 20)
        };
        assert_eq!(choose(&whole, SLOW), [Route::Batch, Route::Whole { overwrite: true }]);
        let asked = Request {
            delta: DeltaRule::Always,
            ..file(1 << 20)
        };
        assert_eq!(choose(&asked, FAST), [Route::Delta, Route::Whole { overwrite: true }]);
    }

    #[test]
    fn resume_and_streams_go_staged_then_in_place() {
        let r = Request {
            resume: true,
            ..file(10)
        };
        assert_eq!(
            choose(&r, SLOW),
            [
                Route::Staged {
                    streams: 1,
                    resume: true
                },
                Route::InPlace {
                    from: Offset::ServerSize,
                    streams: 1
                }
            ]
        );
        let r = Request { streams: 4, ..file(10) };
        assert_eq!(
            choose(&r, FAST),
            [
                Route::Staged {
                    streams: 4,
                    resume: false
                },
                Route::InPlace {
                    from: Offset::At(0),
                    streams: 4
                }
            ]
        );
        let r = Request {
            offset: Some(7),
            ..file(10)
        };
        assert_eq!(
            choose(&r, FAST),
            [Route::InPlace {
                from: Offset::At(7),
                streams: 1
            }]
        );
    }

    #[test]
    fn a_tree_member_is_staged_from_32_mib_and_never_a_delta() {
        let big = Request {
            member: true,
            ..file(STAGED_FROM)
        };
        assert_eq!(
            choose(&big, SLOW),
            [
                Route::Staged {
                    streams: 1,
                    resume: true
                },
                Route::Whole { overwrite: true }
            ]
        );
        let small = Request {
            member: true,
            ..file(STAGED_FROM - 1)
        };
        assert_eq!(choose(&small, SLOW), [Route::Whole { overwrite: true }]);
    }

    #[test]
    fn a_trees_files_ride_in_batches_but_big_or_changed_ones() {
        let min = MIN_SIZE;
        assert_eq!(tree_file(10, None, true), TreeRoute::Batch);
        assert_eq!(tree_file(min, Some(min), false), TreeRoute::Batch);
        assert_eq!(tree_file(min, Some(min), true), TreeRoute::Delta);
        assert_eq!(tree_file(min, Some(0), true), TreeRoute::Batch);
        assert_eq!(tree_file(min - 1, Some(min), true), TreeRoute::Batch);
        assert_eq!(tree_file(STAGED_FROM, None, true), TreeRoute::Alone);
        assert_eq!(tree_file(STAGED_FROM, Some(1), true), TreeRoute::Delta);
        assert!(!deltas(DeltaRule::Auto, FAST) && deltas(DeltaRule::Auto, SLOW));
        assert!(delta_down(min, Some(min), true));
        assert!(!delta_down(min, Some(min), false));
        assert!(!delta_down(min, Some(min - 1), true) && !delta_down(min - 1, Some(min), true));
        assert!(!delta_down(min, None, true));
        assert!(deltas(DeltaRule::Always, FAST) && !deltas(DeltaRule::Never, SLOW));
        assert_eq!(tree_down(false, false), DownRoute::Batch);
        assert_eq!(tree_down(true, false), DownRoute::Alone);
        assert_eq!(tree_down(false, true), DownRoute::Alone);
    }

    #[test]
    fn stdin_sndfile_and_sup_take_the_2_4_1_commands() {
        let mut empty = std::io::empty();
        let r = Request::new(Source::Stream(&mut empty), b"r", Kind::Put);
        assert_eq!(choose(&r, SLOW), [Route::Whole { overwrite: true }]);
        let r = Request::new(
            Source::File(Path::new("f"), 1 << 20),
            b"r",
            Kind::Sndfile { overwrite: false },
        );
        assert_eq!(choose(&r, SLOW), [Route::Whole { overwrite: false }]);
        let r = Request::new(Source::File(Path::new("f"), 1 << 20), b"r", Kind::Sup);
        assert_eq!(choose(&r, SLOW), [Route::Sup]);
        assert_eq!(
            Request::new(Source::File(Path::new("f"), 0), b"r", Kind::Put).dest,
            Dest::Known
        );
    }
}
