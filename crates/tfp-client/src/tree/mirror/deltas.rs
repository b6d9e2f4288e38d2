//! The files of a mirror that go as deltas ([`crate::delta`]): changed
//! files the destination has an old copy of, as
//! [`crate::engine::upload::route`] chooses them; one at a time on the run's
//! pool of sessions. Those a delta would not take go whole, as the others.

use crate::delta;
use crate::engine::download::Target;
use crate::engine::upload::file::Up;
use crate::engine::upload::route::{self, TreeRoute};
use crate::engine::upload::DeltaRule;
use crate::tree::copy::{self, Done};
use crate::tree::events::{Progress, Tally};
use crate::tree::landing::Landing;
use crate::tree::listing::Kind;
use crate::tree::sync::Side;
use crate::{Client, ClientConfig, Error};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

/// One file of a download (the engine asks the server for its size and
/// mtime as it starts it).
pub(super) struct Fetch {
    pub(super) rel: Vec<u8>,
    pub(super) remote: Vec<u8>,
    /// Tried as a delta onto the old copy first.
    pub(super) delta: bool,
}

/// Whether changed files the other side has go as deltas
/// ([`route::deltas`]).
pub(super) fn delta_allowed(c: &Client, rule: DeltaRule) -> bool {
    route::deltas(rule, route::Link::of(c))
}

/// One file down as a delta onto its old copy ([`delta::get`]), landed with
/// the server's mtime; `None` when it should come whole (the local file is
/// as it was).
pub(super) fn fetch_delta(c: &mut Client, land: &Landing, f: &Fetch, p: &Progress) -> Result<Option<Done>, Error> {
    let counter = p.begin();
    let r = delta::get(c, &f.remote, Target::Within(land, &f.rel), &counter);
    p.end(&counter);
    match r {
        Ok(delta::Outcome::Delta { .. }) => Ok(Some(Done::Ok)),
        Ok(delta::Outcome::Whole { .. }) => Ok(None),
        Err(e @ (Error::Local(_) | Error::File { .. } | Error::Mismatch(_))) => {
            Ok(Some(Done::Local(crate::escape::shown_str(&e.to_string()))))
        }
        Err(e) => Err(e),
    }
}

/// Splits an upload's files into those sent whole and those tried as a
/// delta ([`route::tree_file`]): a file the server has (as a file of known
/// size), that differs, to a server that keeps mtimes (`stamps`), where
/// [`delta_allowed`].
pub(super) fn by_delta(
    c: &Client,
    rule: DeltaRule,
    stamps: bool,
    jobs: Vec<Up>,
    theirs: &Side,
    dst: &[u8],
) -> (Vec<Up>, Vec<Up>) {
    let allowed = stamps && delta_allowed(c, rule);
    if !allowed {
        return (jobs, Vec::new());
    }
    jobs.into_iter().partition(|u| {
        let rel = u.remote.get(dst.len()..).unwrap_or_default();
        let rel = rel.strip_prefix(b"/").unwrap_or(rel);
        let on_server = theirs
            .get(rel)
            .filter(|m| m.kind == Kind::File && m.size != u64::MAX)
            .map(|m| m.size);
        let size = std::fs::symlink_metadata(&u.local).map_or(0, |m| if m.is_file() { m.len() } else { 0 });
        route::tree_file(size, on_server, true) != TreeRoute::Delta
    })
}

/// Sends `files` as deltas over a pool of `jobs` sessions (entering with
/// Fast Access when `fai`), stamped as `keep` says.
/// Returns the files done and those to send whole (a delta that would not
/// pay or did not land: the server's file is as it was).
pub(super) fn send_deltas(
    c: &mut Client,
    cfg: &ClientConfig,
    (jobs, fai): (usize, bool),
    files: Vec<Up>,
    keep: crate::engine::upload::Keep,
    what: &(dyn Fn(&Up) -> String + Sync),
    t: &mut Tally<'_>,
) -> (usize, Vec<Up>) {
    if files.is_empty() {
        return (0, Vec::new());
    }
    let whole = Mutex::new(Vec::new());
    let one = |c: &mut Client, u: &Up, p: &Progress| -> Result<Done, Error> {
        let at = AtomicU64::new(0);
        let r = delta::put_keeping(c, &u.local, &u.remote, &at, keep);
        p.bytes().fetch_add(at.load(Ordering::Relaxed), Ordering::Relaxed);
        match r {
            Ok(delta::Outcome::Delta { .. }) => Ok(Done::Ok),
            Ok(delta::Outcome::Whole { .. }) => {
                if let Ok(mut w) = whole.lock() {
                    w.push(u.remote.clone());
                }
                Ok(Done::Ok)
            }
            Err(Error::Local(e)) => Ok(Done::Local(e.to_string())),
            Err(e) => Err(e),
        }
    };
    let done = copy::run_pool(c, cfg, jobs, fai, &files, what, &one, t);
    let whole = whole.into_inner().unwrap_or_default();
    // those counted as done go whole now: the batch counts them
    t.report.transferred -= whole.len();
    let rest = files.into_iter().filter(|u| whole.contains(&u.remote)).collect();
    (done - whole.len(), rest)
}
