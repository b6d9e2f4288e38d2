//! Contenders and their rounds: each tool in a case, run in turn, round by
//! round, and what it measured.

use super::bed::Bed;
use super::settle::settle;
use crate::support::race::{timed, Failure};
use crate::support::wan::{stopping, Wire};
use std::process::Command;
use std::time::Instant;

pub(crate) type Prep<'a> = Box<dyn FnMut() -> Result<Command, String> + 'a>;
pub(crate) type Check<'a> = Box<dyn FnMut() -> Result<(), String> + 'a>;

/// One tool in a case: the untimed set-up returns the command to time (in the
/// clients' namespace); `check` verifies its copy (untimed).
pub(crate) struct Contender<'a> {
    /// Short, for the keys: tf, tf4, rsync, scp, sftp.
    pub(crate) key: &'static str,
    pub(crate) name: String,
    pub(crate) is_tf: bool,
    pub(crate) prepare: Prep<'a>,
    pub(crate) check: Check<'a>,
}

/// What one contender measured.
pub(crate) struct Stats {
    pub(crate) key: &'static str,
    pub(crate) name: String,
    pub(crate) is_tf: bool,
    pub(crate) times: Vec<f64>,
    pub(crate) wire: Vec<Wire>,
    pub(crate) failed: Option<Failure>,
}

/// One case's outcome on one profile.
pub(crate) struct Case {
    pub(crate) key: String,
    pub(crate) what: String,
    /// The payload of a single-file transfer, for the fraction of the link.
    pub(crate) payload: Option<u64>,
    pub(crate) stats: Vec<Stats>,
}

/// Runs the contenders in turn, `rounds` times (fewer past `deadline`, at
/// least one); a contender that fails is dropped from the later rounds.
pub(crate) fn alternate(b: &Bed, rounds: usize, deadline: Instant, mut cs: Vec<Contender<'_>>) -> Vec<Stats> {
    let mut out: Vec<Stats> = cs
        .iter()
        .map(|c| Stats {
            key: c.key,
            name: c.name.clone(),
            is_tf: c.is_tf,
            times: Vec::new(),
            wire: Vec::new(),
            failed: None,
        })
        .collect();
    for r in 0..rounds {
        if r > 0 && Instant::now() > deadline {
            println!("    (time budget reached: {r} round(s))");
            break;
        }
        // every other round the other way round: what one tool leaves the
        // disk or the link (writeback, a warm cache) falls on each in turn
        let order: Vec<usize> = if r % 2 == 1 {
            (0..cs.len()).rev().collect()
        } else {
            (0..cs.len()).collect()
        };
        for i in order {
            let (c, s) = (&mut cs[i], &mut out[i]);
            if s.failed.is_some() || stopping() {
                continue;
            }
            let run = (|| {
                let mut cmd = (c.prepare)().map_err(|e| Failure::Broken(format!("set-up: {e}")))?;
                settle();
                let before = b.link.wire().map_err(Failure::Broken)?;
                let secs = timed(&mut cmd, &b.dir, &c.name, c.is_tf, b.limit)?;
                let wire = b.link.wire().map_err(Failure::Broken)?.since(before);
                (c.check)().map_err(|e| Failure::Broken(format!("wrong copy: {e}")))?;
                Ok::<_, Failure>((secs, wire))
            })();
            match run {
                Ok((secs, wire)) => {
                    s.times.push(secs);
                    s.wire.push(wire);
                }
                Err(f) => {
                    let why = match &f {
                        Failure::Missing(w) => format!("skipped: {w}"),
                        Failure::Broken(w) => format!("FAILED: {w}"),
                    };
                    println!("    {}: {why}", c.name);
                    s.failed = Some(f);
                }
            }
        }
    }
    out
}
