//! A plan's files spread over the run's sessions (the caller's and the
//! pool's), each file's end told and counted: what every runner of many
//! files (batches, deltas, single files) shares.

use super::events::{Done, Progress, Tally};
use super::opening::Opening;
use super::pool::{self, connector, open_pool};
use crate::{Client, ClientConfig, Error};

/// Starts opening the `jobs - 1` more sessions of a tree run in the
/// background ([`pool::Early`]), unless the
/// caller started them already (`opening`); [`take_pool`] takes them when
/// the files are known.
pub(crate) fn start_pool(t: &mut Tally<'_>, cfg: &ClientConfig, jobs: usize, fai: bool, opening: &Opening) {
    if t.pool.is_none() && jobs > 1 {
        t.pool = Some(
            opening
                .take()
                .unwrap_or_else(|| pool::Early::start(jobs - 1, !fai, connector(cfg, fai))),
        );
    }
}

/// `n` more sessions, each with the caller's caps (`caps`: the same
/// server and user, told the same; [`crate::caps::Caps::adopt`]).
pub(crate) fn take_pool(
    t: &mut Tally<'_>,
    cfg: &ClientConfig,
    n: usize,
    fai: bool,
    caps: crate::caps::Caps,
) -> Result<Vec<Client>, Error> {
    let mut v = pool_of(t, cfg, n, fai)?;
    for c in &mut v {
        c.adopt_caps(&caps);
    }
    Ok(v)
}

/// `n` more sessions: those [`start_pool`] opened (the extra ones ended,
/// any missing opened now), else `n` opened now.
fn pool_of(t: &mut Tally<'_>, cfg: &ClientConfig, n: usize, fai: bool) -> Result<Vec<Client>, Error> {
    let Some(early) = t.pool.take() else {
        return open_pool(cfg, n, fai);
    };
    let mut v = early.join()?;
    for extra in v.drain(n.min(v.len())..) {
        let _ = extra.end();
    }
    if v.len() < n {
        match open_pool(cfg, n - v.len(), fai) {
            Ok(more) => v.extend(more),
            Err(e) => {
                for c in v {
                    let _ = c.end();
                }
                return Err(e);
            }
        }
    }
    Ok(v)
}

/// Runs `jobs` over the caller's session and `jobs_wanted - 1` more, then
/// tells the failures in job order. Returns the files done.
#[allow(clippy::too_many_arguments)]
pub(crate) fn run_pool<J: Sync>(
    c: &mut Client,
    cfg: &ClientConfig,
    jobs_wanted: usize,
    fai: bool,
    jobs: &[J],
    what: &(dyn Fn(&J) -> String + Sync),
    work: &(dyn Fn(&mut Client, &J, &Progress) -> Result<Done, Error> + Sync),
    t: &mut Tally<'_>,
) -> usize {
    if jobs.is_empty() || t.not_sent_when_full(jobs.len()) {
        return 0;
    }
    let extra = jobs_wanted.min(jobs.len()).saturating_sub(1);
    let mut more = match take_pool(t, cfg, extra, fai, c.caps()) {
        Ok(v) => v,
        Err(e) => {
            t.ev.pool_failed(&e);
            t.local(format!(
                "could not open the {extra} more sessions of --jobs; nothing transferred"
            ));
            return 0;
        }
    };
    let moving = t.begin_moving(jobs.iter().map(|_| None));
    let progress = t.progress();
    let results = {
        let mut sessions: Vec<&mut Client> = vec![c];
        sessions.extend(more.iter_mut());
        let p = &*progress;
        pool::run(sessions, jobs, &|c, j| {
            let r = work(c, j, p);
            p.file_done();
            r
        })
    };
    t.end_moving(moving);
    for m in more {
        let _ = m.end();
    }
    let (mut lost, mut done) = (0, 0);
    for (j, r) in jobs.iter().zip(results) {
        match r {
            Some(Ok(d)) => done += usize::from(t.file_ended(&what(j), d)),
            Some(Err(e)) => {
                t.session_failed(&e);
                let why = t.ev.session_error(&e);
                t.local(format!("{}: {why}", what(j)))
            }
            None => lost += 1,
        }
    }
    t.lost(lost);
    t.report.transferred += done;
    done
}
