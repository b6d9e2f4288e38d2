//! A plan of many files down (`get -r`, `mirror`, the Python package's
//! trees): each file routed by [`route::tree_down`], those a batch carries
//! in one exchange per session (TFDGETMANY), the rest (and those a batch
//! leaves: big files, or every file where the server has no batches) one by
//! one over the run's sessions, through a delta where the file may be one,
//! else through the transfer engine.

use super::super::beside::Beside;
use super::super::delta;
use super::super::events::Done;
use super::super::events::{Events, Progress, Tally};
use super::super::fanout;
use super::super::keep;
use super::super::landing::Landing;
use super::super::route::{self, DownRoute, Link};
use super::super::upload::DeltaRule;
use super::batch;
use super::one::{self, Partials};
use super::plan::{finer, File};
use super::Target;
use crate::{Client, ClientConfig, Error};
use tfp_wire::entry::Mtime;

/// How many sessions a run uses, and how they enter.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Sessions {
    /// The caller's and `jobs - 1` more.
    pub(crate) jobs: usize,
    /// The caller's entered with Fast Access: the pool's do too.
    pub(crate) fai: bool,
}

/// Whether a plan's directories may be made as their files land: the
/// batches make each one as its first file lands (making them all first
/// held the data back); the engine's files want them made before, and so
/// does a run that keeps journals (`journal`), which takes no batch.
pub(crate) fn dirs_as_files_land(c: &mut Client, journal: bool) -> Result<bool, Error> {
    Ok(route::tree_down(journal, false) == DownRoute::Batch && batch::supported(c)?)
}

/// Fetches every file of `files`, each failure told in `t` (named by
/// `what`), changed files that may as deltas under `rule`; `made` runs between the batches and the files that go alone
/// (the engine's files need their directories made). The partials kept for
/// a later run are recorded in `t.report.kept`. Returns the files done.
/// The plan is counted as one from the start ([`Tally::begin_moving`]):
/// its total is the bytes of the files the listings sized.
#[allow(clippy::too_many_arguments)]
pub(crate) fn fetch(
    c: &mut Client,
    cfg: &ClientConfig,
    run: Sessions,
    files: &[File<'_>],
    rule: DeltaRule,
    what: &(dyn Fn(&File<'_>) -> String + Sync),
    made: &mut dyn FnMut(&mut Tally<'_>),
    ev: &dyn Events,
    t: &mut Tally<'_>,
) -> Result<usize, Error> {
    let moving = t.begin_moving(files.iter().map(|f| f.size));
    let r = fetch_counted(c, cfg, run, files, rule, what, made, ev, t);
    t.end_moving(moving);
    r
}

/// [`fetch`] once its plan is counted.
#[allow(clippy::too_many_arguments)]
fn fetch_counted(
    c: &mut Client,
    cfg: &ClientConfig,
    run: Sessions,
    files: &[File<'_>],
    rule: DeltaRule,
    what: &(dyn Fn(&File<'_>) -> String + Sync),
    made: &mut dyn FnMut(&mut Tally<'_>),
    ev: &dyn Events,
    t: &mut Tally<'_>,
) -> Result<usize, Error> {
    // a changed file of which an old copy is here may come as a delta
    let deltas = route::deltas(rule, Link::of(c));
    let delta = |f: &File<'_>| f.size.is_some_and(|n| route::delta_down(n, f.ours, deltas));
    let (batchable, mut alone): (Vec<&File<'_>>, Vec<&File<'_>>) = files
        .iter()
        .partition(|f| route::tree_down(f.journal, delta(f)) == DownRoute::Batch);
    // the permission bits a batch said of a file it left, to give it once landed
    let mut modes: Vec<Option<u32>> = vec![None; alone.len()];
    let mut batched = 0;
    if !batchable.is_empty() {
        match batch::download(c, cfg, run.jobs, run.fai, &batchable, what, ev, t)? {
            Some((done, big)) => {
                batched = done;
                for (i, mode) in big {
                    alone.push(batchable[i]);
                    modes.push(mode);
                }
            }
            None => {
                modes.extend(batchable.iter().map(|_| None));
                alone.extend(batchable);
            }
        }
    }
    made(t);
    let jobs: Vec<(&File<'_>, Option<u32>)> = alone.into_iter().zip(modes).collect();
    let kept = Partials::default();
    let work = |c: &mut Client, (f, mode): &(&File<'_>, Option<u32>), p: &Progress| {
        if delta(f) && !f.resume {
            if let Some(done) = fetch_delta(c, cfg, f.land, f.rel, f.remote, p)? {
                return Ok(done);
            }
        }
        let done = one::receive(c, cfg, f.land, f.rel, f.remote, f.resume, p, &kept, ev)?;
        Ok(match done {
            Done::Ok => match landed(f, *mode) {
                Ok(()) => Done::Ok,
                Err(e) => Done::Local(format!("its mode or mtime: {e}")),
            },
            done => done,
        })
    };
    let what_job = |(f, _): &(&File<'_>, Option<u32>)| what(f);
    let alone_done = fanout::run_pool(c, cfg, run.jobs, run.fai, &jobs, &what_job, &work, t);
    t.report.kept = kept.into_inner();
    Ok(batched + alone_done)
}

/// What a file that came alone is given once landed: the mode a batch said
/// of it, and the nanoseconds of its listed mtime when it landed with that
/// second ([`finer`]).
fn landed(f: &File<'_>, mode: Option<u32>) -> std::io::Result<()> {
    if mode.is_none() && !f.mtime.is_some_and(|t| t.nsec != 0) {
        return Ok(());
    }
    let b = Beside::within(f.land, f.rel)?;
    if let Some(mode) = mode {
        b.set_mode(mode)?;
    }
    let Some(listed) = f.mtime else { return Ok(()) };
    let st = tfd_sys::fstatat(b.dir(), b.name(), false)?;
    let now = Mtime::of(st.st_mtime, st.st_mtime_nsec).unwrap_or(Mtime::secs(st.st_mtime));
    let t = finer(now, Some(listed));
    if t != now {
        keep::set_attrs(
            &b,
            keep::Attrs {
                mtime: Some(t),
                ..keep::Attrs::default()
            },
        )?;
    }
    Ok(())
}

/// One file down as a delta onto its old copy ([`delta::get`]), landed with
/// the server's mtime; `None` when it should come whole (the local file is
/// as it was).
fn fetch_delta(
    c: &mut Client,
    cfg: &ClientConfig,
    land: &Landing,
    rel: &[u8],
    remote: &[u8],
    p: &Progress,
) -> Result<Option<Done>, Error> {
    let counter = p.begin();
    let r = delta::get(c, remote, Target::Within(land, rel), &counter.at, cfg.compress);
    p.end(&counter, matches!(r, Ok(delta::Outcome::Delta { .. })));
    match r {
        Ok(delta::Outcome::Delta { .. }) => Ok(Some(Done::Ok)),
        Ok(delta::Outcome::Whole { .. }) => Ok(None),
        Err(e @ (Error::Local(_) | Error::File { .. } | Error::Mismatch(_))) => {
            Ok(Some(Done::Local(crate::escape::shown_text(&e.to_string()))))
        }
        Err(e) => Err(e),
    }
}
