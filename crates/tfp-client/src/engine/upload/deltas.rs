//! The files of a plan up that go as deltas ([`super::super::delta`]):
//! changed files the server has an old copy of, as [`route::tree_file`]
//! chooses them; one at a time on the run's pool of sessions. Those a delta
//! would not take go whole, with the others.

use super::super::delta;
use super::super::events::Done;
use super::super::events::{Progress, Tally};
use super::super::fanout;
use super::super::route::{self, TreeRoute};
use super::file::{Keep, Up};
use super::request::DeltaRule;
use crate::{Client, ClientConfig, Error};
use std::sync::Mutex;

/// Splits an upload's files into those sent whole and those tried as a
/// delta ([`route::tree_file`]): a file the server has (as a file of known
/// size, [`Up::theirs`]), that differs, to a server that keeps mtimes
/// (`stamps`, so the next run sees it unchanged), where `rule` allows
/// over this link ([`route::deltas`]).
pub(crate) fn by_delta(c: &Client, rule: DeltaRule, stamps: bool, jobs: Vec<Up>) -> (Vec<Up>, Vec<Up>) {
    if !(stamps && route::deltas(rule, route::Link::of(c))) {
        return (jobs, Vec::new());
    }
    jobs.into_iter().partition(|u| {
        let size = std::fs::symlink_metadata(&u.local).map_or(0, |m| if m.is_file() { m.len() } else { 0 });
        route::tree_file(size, u.theirs, true) != TreeRoute::Delta
    })
}

/// Sends `files` as deltas over a pool of `jobs` sessions (entering with
/// Fast Access when `fai`), stamped as `keep` says.
/// Returns the files done, those to send whole (a delta that would not
/// pay or did not land: the server's file is as it was) and the remote
/// paths of those that landed as deltas (stamped to the second: TFDDELTAPUT's
/// `,t` is seconds, so an archive copy stamps their nanoseconds after).
pub(crate) fn send_deltas(
    c: &mut Client,
    cfg: &ClientConfig,
    (jobs, fai): (usize, bool),
    files: Vec<Up>,
    keep: Keep,
    what: &(dyn Fn(&Up) -> String + Sync),
    t: &mut Tally<'_>,
) -> (usize, Vec<Up>, Vec<Vec<u8>>) {
    if files.is_empty() {
        return (0, Vec::new(), Vec::new());
    }
    let whole = Mutex::new(Vec::new());
    let landed = Mutex::new(Vec::new());
    let one = |c: &mut Client, u: &Up, p: &Progress| -> Result<Done, Error> {
        if let Some(carry) = keep.land {
            // the sets TFDDELTAPUT's commit gives the file before the rename
            crate::engine::land_attrs::register(c, &u.local, &u.remote, carry)?;
        }
        let counter = p.begin();
        let r = delta::put_keeping(c, &u.local, &u.remote, &counter.at, keep);
        p.end(&counter, matches!(r, Ok(delta::Outcome::Delta { .. })));
        match r {
            Ok(delta::Outcome::Delta { .. }) => {
                if let Ok(mut l) = landed.lock() {
                    l.push(u.remote.clone());
                }
                Ok(Done::Ok)
            }
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
    let done = fanout::run_pool(c, cfg, jobs, fai, &files, what, &one, t);
    let whole = whole.into_inner().unwrap_or_default();
    // those counted as done go whole now: the batch counts them
    t.report.transferred -= whole.len();
    let rest = files.into_iter().filter(|u| whole.contains(&u.remote)).collect();
    (done - whole.len(), rest, landed.into_inner().unwrap_or_default())
}
