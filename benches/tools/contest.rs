//! Timed commands: contenders run alternately, round by round, and their
//! outcome (median times and ratios).

use super::options::COMMAND_LIMIT;
use crate::support::race::{median, timed, Failure};
use std::path::Path;
use std::process::Command;
use std::time::Instant;

pub(crate) type Step<'a, T> = Box<dyn FnMut(usize) -> Result<T, String> + 'a>;
/// The command that writes the given destination.
pub(crate) type ToDst<'a> = Box<dyn Fn(&Path) -> Result<Command, String> + 'a>;

/// One command of a phase: the untimed set-up of round `r` (clear the
/// destination, flush the disk) returns the command to time; `check` verifies
/// what it made (untimed).
pub(crate) struct Contender<'a> {
    pub(crate) name: &'static str,
    pub(crate) is_tf: bool,
    /// Runs in the first round only (a slow figure, for information).
    pub(crate) first_only: bool,
    pub(crate) prepare: Step<'a, Command>,
    pub(crate) check: Step<'a, ()>,
}

/// Times of each contender, by round, or why it has none (then the phase
/// stopped there).
pub(crate) struct Outcome {
    pub(crate) names: Vec<&'static str>,
    pub(crate) times: Vec<Vec<f64>>,
    pub(crate) failed: Option<(usize, Failure)>,
}

impl Outcome {
    pub(crate) fn index(&self, name: &str) -> usize {
        self.names.iter().position(|n| *n == name).unwrap_or(usize::MAX)
    }

    /// The median of `other`'s time ÷ `tf`'s over the rounds both finished,
    /// with the median times of each over those rounds, or why there is none.
    pub(crate) fn ratio(&self, tf: &str, other: &str) -> Result<(f64, f64, f64), Failure> {
        let (a, b) = (self.index(tf), self.index(other));
        if let Some((i, f)) = &self.failed {
            if *i == a || *i == b {
                return Err(f.clone());
            }
        }
        let (Some(ta), Some(tb)) = (self.times.get(a), self.times.get(b)) else {
            return Err(Failure::Broken("not measured".into()));
        };
        match &self.failed {
            Some((_, f)) if ta.is_empty() || tb.is_empty() => return Err(f.clone()),
            _ => {}
        }
        let n = ta.len().min(tb.len());
        let (ta, tb) = (&ta[..n], &tb[..n]);
        match (
            median(tb.iter().zip(ta).map(|(o, t)| o / t).collect()),
            median(ta.to_vec()),
            median(tb.to_vec()),
        ) {
            (Some(r), Some(t), Some(o)) => Ok((r, t, o)),
            _ => Err(Failure::Broken("no round finished".into())),
        }
    }
}

/// Runs the contenders in turn, `rounds` times (fewer past `deadline`, at least
/// one), and stops at the first failure.
pub(crate) fn alternate(rounds: usize, deadline: Instant, dir: &Path, mut cs: Vec<Contender<'_>>) -> Outcome {
    let mut o = Outcome {
        names: cs.iter().map(|c| c.name).collect(),
        times: vec![Vec::new(); cs.len()],
        failed: None,
    };
    'rounds: for r in 0..rounds {
        if r > 0 && Instant::now() > deadline {
            println!("    (time budget reached: {r} round(s))");
            break;
        }
        for (i, c) in cs.iter_mut().enumerate() {
            if c.first_only && r > 0 {
                continue;
            }
            let run = (|| {
                let mut cmd = (c.prepare)(r).map_err(|e| Failure::Broken(format!("{}: set-up: {e}", c.name)))?;
                let secs = timed(&mut cmd, dir, c.name, c.is_tf, COMMAND_LIMIT)?;
                (c.check)(r).map_err(|e| Failure::Broken(format!("{}: wrong copy: {e}", c.name)))?;
                Ok::<f64, Failure>(secs)
            })();
            match run {
                Ok(s) => o.times[i].push(s),
                Err(f) => {
                    o.failed = Some((i, f));
                    break 'rounds;
                }
            }
        }
    }
    o
}
