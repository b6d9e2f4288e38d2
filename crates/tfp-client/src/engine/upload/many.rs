//! A plan of many files up (`put -r`, `mirror -R`, the Python package's
//! trees): in one exchange per session where the server has tfd's
//! TFDPUTMANY (doc/compatibility.md "Batch uploads"), so a tree costs its
//! bytes and a few round trips instead of a round trip per file. A server
//! without it (`UNKNOWN`, remembered on the [`Client`] so it is asked once)
//! gets each file by [`upload_one`], the engine's route for a file of a
//! tree; so do files of [`crate::engine::route::STAGED_FROM`] bytes and
//! more, which go through a stage.
//!
//! Each file is read once, hashed as it is sent, and checked after: if its
//! size, mtime or ctime moved while it was read, the batch sends an abort
//! trailer in place of the hash and the server keeps the old file; the run
//! says so and fails, and the next run sends it.

use super::super::events::Done;
use super::super::events::{Progress, Tally};
use super::super::fanout;
use super::super::{pool, route};
use super::answer::Refusal;
use super::batch::{exchange, pipelines, supported, Ahead, Failure};
use super::entries::Entry;
use super::file::{Keep, Up};
use crate::caps::Ext;
use crate::remote::{listing, pipeline};
use crate::tree::names::{self, below};
use crate::{Client, ClientConfig, Error};
use std::sync::atomic::AtomicU64;
use tfp_wire::batch::MAX_FILES;
use tfp_wire::Status;

/// The directories a tree's upload makes (`MKDIR`, parents before
/// children) and the files below one that could not be made.
#[derive(Debug, Default)]
pub(crate) struct Dirs {
    /// To make, parents before children.
    pub make: Vec<Vec<u8>>,
    /// The local source directories' modes, which new ones take less the
    /// server's umask where the batches carry them (with `-p` too).
    pub modes: super::batch::DirModes,
    /// Refused by the server (told once each): what is below is not sent.
    pub failed: Vec<Vec<u8>>,
    /// An archive copy's last step, where the batches can carry it.
    pub closing: Closing,
}

/// An archive copy's last step carried by its batches (no round trip after
/// the data): every batch ends with the directories its files land in, and
/// the first also with every other entry of the step and every directory.
/// A batch sets its directories after its own files are in place, so in
/// each directory the batch that ends last sets it after every file of
/// every batch landed there. Only where every file goes in a batch: a file
/// linked by another route (a stage, a delta) after the batches would move
/// its directory's mtime again.
#[derive(Debug, Default)]
pub(crate) struct Closing {
    /// Directories (remote paths: the copy's root too), set by each batch
    /// that lands a file directly in one, and all of them by the first.
    pub dirs: Vec<Entry>,
    /// The rest (links, FIFOs, attributes alone): the first batch's.
    pub rest: Vec<Entry>,
    /// After the run: whether every batch carried its share.
    pub carried: bool,
    /// After the run: the entries refused, each once (path, code, reason).
    pub refused: Vec<(Vec<u8>, i32, String)>,
}

impl Closing {
    /// What the batch of group `g` (over `files`) ends with.
    fn tail(&self, g: usize, files: &[&Up]) -> Vec<Entry> {
        if g == 0 {
            return self.rest.iter().chain(&self.dirs).cloned().collect();
        }
        let parent = |p: &[u8]| -> Vec<u8> {
            p.iter()
                .rposition(|&b| b == b'/')
                .map_or_else(Vec::new, |i| p[..i].to_vec())
        };
        let parents: std::collections::HashSet<Vec<u8>> = files.iter().map(|u| parent(&u.remote)).collect();
        self.dirs
            .iter()
            .filter(|d| parents.contains(&d.path))
            .cloned()
            .collect()
    }

    /// Notes a batch's tail outcomes.
    fn note(&mut self, tail: &[Entry], outcomes: &[Option<Refusal>]) {
        for (e, o) in tail.iter().zip(outcomes) {
            if let Some((code, why)) = o {
                if !self.refused.iter().any(|r| r.0 == e.path) {
                    self.refused.push((e.path.clone(), *code, why.clone()));
                }
            }
        }
    }

    fn wanted(&self) -> bool {
        !self.dirs.is_empty() || !self.rest.is_empty()
    }
}

impl Dirs {
    /// Notes the answers to MKDIRs of `self.make` (in order, from one
    /// session): a directory that exists is made; any other refusal is told
    /// once, and nothing below it is told again.
    pub(crate) fn note(&mut self, t: &mut Tally<'_>, answers: &[Status]) {
        let make = std::mem::take(&mut self.make);
        self.note_of(t, &make, answers);
        self.make = make;
    }

    /// [`Dirs::note`] of the directories `made` (a batch's share of them).
    fn note_of(&mut self, t: &mut Tally<'_>, made: &[Vec<u8>], answers: &[Status]) {
        for (d, st) in made.iter().zip(answers) {
            if self.failed.iter().any(|f| f == d || below(d, f)) {
                continue;
            }
            match st {
                Status::Ok(_) => {}
                Status::Failed(n, _) if *n == i32::from(tfp_wire::Failed::DirExists.code()) => {}
                st => {
                    t.refused(format!(
                        "{}: mkdir {}: {}",
                        t.verb,
                        names::shown(d),
                        listing::status_text(st)
                    ));
                    self.failed.push(d.clone());
                }
            }
        }
    }

    /// Makes them over `c` now, each window of them in one round trip.
    pub(crate) fn make_now(&mut self, c: &mut Client, t: &mut Tally<'_>) -> Result<(), Error> {
        let answers = pipeline::pipelined(c, "MKDIR", &self.make)?;
        self.note(t, &answers);
        self.make.clear();
        Ok(())
    }

    /// Whether they go in the batches' streams, as `D` entries: where the
    /// server takes them ([`Ext::BatchDirs`]) and they fit one batch with
    /// `files` files.
    fn in_batches(&self, c: &mut Client, files: usize) -> Result<bool, Error> {
        if self.make.is_empty() || (self.make.len() + files) as u64 > MAX_FILES {
            return Ok(false);
        }
        Ok(c.caps().has(Ext::BatchDirs))
    }

    /// Makes them over `c` now, in one batch of their own (its entries
    /// compressed where the batch is): a plan none of whose files goes in
    /// a batch.
    fn make_in_batch(&mut self, c: &mut Client, keep: Keep, t: &mut Tally<'_>) -> Result<(), Error> {
        let none = AtomicU64::new(0);
        match exchange(c, (&[], &[]), Ahead::Entries(&self.make, &self.modes), keep, &none)? {
            Some(x) => self.note(t, &x.made),
            None => return self.make_now(c, t),
        }
        self.make.clear();
        Ok(())
    }

    /// What the batch of `files` makes first: those of [`Dirs::make`] its
    /// files lie in, parents before children (the first batch makes them
    /// all, empty ones too; another session's batch may make its own
    /// first, and one made meanwhile is fine).
    fn share<'a>(&self, files: impl Iterator<Item = &'a [u8]>) -> Vec<Vec<u8>> {
        let mut above: std::collections::HashSet<&[u8]> = std::collections::HashSet::new();
        for f in files {
            for (i, _) in f.iter().enumerate().filter(|(_, &b)| b == b'/') {
                above.insert(&f[..i]);
            }
        }
        self.make
            .iter()
            .filter(|d| above.contains(d.as_slice()))
            .cloned()
            .collect()
    }

    /// Whether `remote` lies below a directory that could not be made.
    pub(crate) fn lost(&self, remote: &[u8]) -> bool {
        self.failed.iter().any(|d| below(remote, d))
    }
}

/// Whether the server keeps the mtimes a plan's files carry (a server with
/// batches does, and so does its staged commit): what lets a mirror's quick
/// check see a file it sent as unchanged on the next run.
pub(crate) fn keeps_mtimes(c: &mut Client) -> Result<bool, Error> {
    supported(c)
}

/// Uploads `files` over the caller's session and up to `jobs - 1` more:
/// in batches where the server takes them, else one by one. Tells each
/// failure in `t` (named by `what`) and returns the files done.
///
/// `dirs.make` are made first. Where the files go in batches and there are
/// at most [`pipeline::WINDOW`] of them, every batch's session sends them in
/// front of its batch, in the same write, instead of the caller's session
/// making them and waiting for the answers before any batch leaves: two
/// round trips less before the data (the server runs a session's commands
/// in order, so a session's files find their directories; a directory
/// another session made first answers "exists", which is fine). Their
/// answers, tens of bytes each, are read after the batch is sent.
/// The plan is counted as one from the start ([`Tally::begin_moving`]).
#[allow(clippy::too_many_arguments)]
pub(crate) fn upload(
    c: &mut Client,
    cfg: &ClientConfig,
    jobs: usize,
    fai: bool,
    files: &[Up],
    dirs: &mut Dirs,
    keep: Keep,
    what: &(dyn Fn(&Up) -> String + Sync),
    t: &mut Tally<'_>,
) -> Result<usize, Error> {
    let moving = t.begin_moving(files.iter().map(|u| u.size));
    let r = upload_counted(c, cfg, (jobs, fai), files, dirs, keep, what, t);
    t.end_moving(moving);
    r
}

/// [`upload`] once its plan is counted.
#[allow(clippy::too_many_arguments)]
fn upload_counted(
    c: &mut Client,
    cfg: &ClientConfig,
    (jobs, fai): (usize, bool),
    files: &[Up],
    dirs: &mut Dirs,
    mut keep: Keep,
    what: &(dyn Fn(&Up) -> String + Sync),
    t: &mut Tally<'_>,
) -> Result<usize, Error> {
    let batched = (!files.is_empty() || !dirs.make.is_empty()) && supported(c)?;
    // a new entry's mode only to a server whose probe said it takes them
    keep.new_mode &= !keep.mode && c.caps().has(Ext::BatchModes);
    let per_file = |c: &mut Client, u: &Up, p: &Progress| upload_one(c, cfg, u, keep, p);
    let small = |u: &&Up| in_batch(u, cfg.sparse);
    // the directories in the batches' streams where the server takes them
    // there, else MKDIRs: in front of the batches (a window of them at
    // most), or made first
    let entries = batched && dirs.in_batches(c, files.len())?;
    let ahead = batched && files.iter().all(|u| small(&u)) && dirs.make.len() <= pipeline::WINDOW;
    if entries && !files.iter().any(|u| small(&u)) {
        dirs.make_in_batch(c, keep, t)?;
    } else if !entries && !ahead && !dirs.make.is_empty() {
        dirs.make_now(c, t)?;
    }
    let kept: Vec<Up>;
    let files = if dirs.failed.is_empty() {
        files
    } else {
        kept = files.iter().filter(|u| !dirs.lost(&u.remote)).cloned().collect();
        not_sent(t, files.len() - kept.len());
        &kept
    };
    if files.is_empty() {
        return Ok(0);
    }
    if !batched {
        return Ok(fanout::run_pool(c, cfg, jobs, fai, files, what, &per_file, t));
    }
    let (small, big): (Vec<&Up>, Vec<&Up>) = files.iter().partition(small);
    let mut done = 0;
    if !small.is_empty() {
        done += batches(c, cfg, jobs, fai, &small, dirs, (keep, entries), what, t);
    }
    // a big file below a directory the batches could not make is not sent
    let n_big = big.len();
    let big: Vec<Up> = big.into_iter().filter(|u| !dirs.lost(&u.remote)).cloned().collect();
    not_sent(t, n_big - big.len());
    if !big.is_empty() {
        done += fanout::run_pool(c, cfg, jobs, fai, &big, what, &per_file, t);
    }
    Ok(done)
}

/// Whether every file of a run goes whole in a batch (some, no delta, none
/// alone), so an archive upload's last step can ride at the batches' ends.
pub(crate) fn all_in_batches(jobs: &[Up], deltas: &[Up], sparse: bool) -> bool {
    deltas.is_empty() && !jobs.is_empty() && jobs.iter().all(|u| in_batch(u, sparse))
}

/// Whether `u` goes in a batch where the server takes them (else by the
/// route of a big file: a stage, as a file with holes goes under `sparse`).
pub(crate) fn in_batch(u: &Up, sparse: bool) -> bool {
    route::tree_file(u.size(), None, false) == route::TreeRoute::Batch
        && !(sparse && crate::sparse::has_holes(&u.local))
}

/// Tells the files not sent because their directory could not be made.
fn not_sent(t: &mut Tally<'_>, n: usize) {
    if n > 0 {
        t.refused(format!("put: {n} file(s) not sent: their directory could not be made"));
    }
}

/// Splits `files` into one batch per session (balanced by size) and sends
/// them, a batch per session at once.
#[allow(clippy::too_many_arguments)]
fn batches(
    c: &mut Client,
    cfg: &ClientConfig,
    jobs: usize,
    fai: bool,
    files: &[&Up],
    dirs: &mut Dirs,
    (keep, entries): (Keep, bool),
    what: &(dyn Fn(&Up) -> String + Sync),
    t: &mut Tally<'_>,
) -> usize {
    if t.not_sent_when_full(files.len()) {
        return 0;
    }
    let n = jobs.clamp(1, files.len());
    let mut order: Vec<(usize, u64)> = files.iter().enumerate().map(|(i, u)| (i, u.size())).collect();
    order.sort_by_key(|o| std::cmp::Reverse(o.1));
    let mut groups: Vec<(u64, Vec<usize>)> = (0..n).map(|_| (0, Vec::new())).collect();
    for (i, size) in order {
        // the lightest batch takes the next largest file
        if let Some(g) = groups.iter_mut().min_by_key(|g| g.0) {
            g.0 += size + 4096;
            g.1.push(i);
        }
    }
    for g in &mut groups {
        g.1.sort_unstable();
    }
    let groups: Vec<Vec<usize>> = groups.into_iter().map(|g| g.1).filter(|g| !g.is_empty()).collect();
    let mut more = match fanout::take_pool(t, cfg, groups.len().saturating_sub(1), fai, c.caps()) {
        Ok(v) => v,
        Err(e) => {
            t.ev.pool_failed(&e);
            t.local(format!(
                "could not open the {} more sessions of --jobs; nothing transferred",
                groups.len() - 1
            ));
            return 0;
        }
    };
    let moving = t.begin_moving(files.iter().map(|u| u.size));
    let progress = t.progress();
    let tails: Vec<Vec<Entry>> = if dirs.closing.wanted() && keep.archive {
        groups
            .iter()
            .enumerate()
            .map(|(gi, g)| dirs.closing.tail(gi, &g.iter().map(|&i| files[i]).collect::<Vec<_>>()))
            .collect()
    } else {
        groups.iter().map(|_| Vec::new()).collect()
    };
    // each batch's directories in its stream, or all of them as MKDIRs
    // in front of every batch
    let shares: Vec<Vec<Vec<u8>>> = (groups.iter().enumerate())
        .map(|(gi, g)| match (entries, gi) {
            (false, _) => Vec::new(),
            (true, 0) => dirs.make.clone(),
            (true, _) => dirs.share(g.iter().map(|&i| files[i].remote.as_slice())),
        })
        .collect();
    type Work<'w> = (&'w Vec<usize>, &'w Vec<Entry>, &'w Vec<Vec<u8>>);
    let work: Vec<Work<'_>> = (groups.iter().zip(&tails).zip(&shares))
        .map(|((g, tail), share)| (g, tail, share))
        .collect();
    let results = {
        let mut sessions: Vec<&mut Client> = vec![c];
        sessions.extend(more.iter_mut());
        let p = &*progress;
        let (all, modes) = (&dirs.make, &dirs.modes);
        pool::run(sessions, &work, &|c, (g, tail, share): &Work<'_>| {
            let batch: Vec<&Up> = g.iter().map(|&i| files[i]).collect();
            let ahead = if entries {
                Ahead::Entries(share, modes)
            } else {
                Ahead::Mkdirs(all)
            };
            send_batch(c, cfg, (&batch, tail), ahead, keep, p)
        })
    };
    t.end_moving(moving);
    for m in more {
        let _ = m.end();
    }
    // the directories first: a file below one that could not be made is
    // told as before, in one line with the others
    for (share, r) in shares.iter().zip(&results) {
        if let Some(Ok((answers, _, _))) = r {
            match entries {
                true => dirs.note_of(t, share, answers),
                false => dirs.note(t, answers),
            }
        }
    }
    dirs.make.clear();
    // the last step went with the batches only if every batch carried its share
    let carried = |r: &Option<Result<Sent, Error>>| matches!(r, Some(Ok((_, _, Some(_)))));
    dirs.closing.carried = dirs.closing.wanted() && keep.archive && results.iter().all(carried);
    if dirs.closing.carried {
        for (tail, r) in tails.iter().zip(&results) {
            if let Some(Ok((_, _, Some(outcomes)))) = r {
                dirs.closing.note(tail, outcomes);
            }
        }
    }
    let (mut lost, mut done, mut dirless) = (0, 0, 0);
    for (g, r) in groups.iter().zip(results) {
        match r {
            Some(Ok((_, outcomes, _))) => {
                for (&i, o) in g.iter().zip(outcomes) {
                    match o {
                        Done::Refused(_) | Done::NoRoom(_) if dirs.lost(&files[i].remote) => dirless += 1,
                        d => done += usize::from(t.file_ended(&what(files[i]), d)),
                    }
                }
            }
            Some(Err(e)) => {
                t.session_failed(&e);
                let why = t.ev.session_error(&e);
                for &i in g {
                    t.local(format!("{}: {why}", what(files[i])));
                }
            }
            None => lost += g.len(),
        }
    }
    not_sent(t, dirless);
    t.lost(lost);
    t.report.transferred += done;
    done
}

/// One batch over one session: the directories of `ahead` (MKDIRs
/// answered first, in order, or the batch's first entries), TFDPUTMANY,
/// every file, the end frame, then the outcomes. A session that has not
/// said it takes batches (or directories in them) makes the directories
/// and waits for their answers first; a server that does not know the
/// command gets the files one by one.
pub(crate) fn send_batch(
    c: &mut Client,
    cfg: &ClientConfig,
    (files, tail): (&[&Up], &[Entry]),
    ahead: Ahead<'_>,
    keep: Keep,
    p: &Progress,
) -> Result<Sent, Error> {
    let per_file = |c: &mut Client| -> Result<Vec<Done>, Error> {
        let mut v = Vec::with_capacity(files.len());
        for u in files {
            v.push(upload_one(c, cfg, u, keep, p)?);
            p.file_done();
        }
        Ok(v)
    };
    let mut made = Vec::new();
    let mut ahead = ahead;
    let first = match ahead {
        Ahead::Mkdirs(_) => !pipelines(c, files.len()),
        Ahead::Entries(d, _) => !(supported(c)? && pipelines(c, files.len() + d.len()) && c.caps().has(Ext::BatchDirs)),
    };
    if let (Ahead::Mkdirs(d) | Ahead::Entries(d, _), true) = (ahead, first) {
        if !d.is_empty() {
            made = pipeline::pipelined(c, "MKDIR", d)?;
        }
        ahead = Ahead::Mkdirs(&[]);
    }
    let Some(x) = exchange(c, (files, tail), ahead, keep, p.bytes())? else {
        return Ok((made, per_file(c)?, None));
    };
    made.extend(x.made);
    let carried = (keep.archive || tail.is_empty()).then_some(x.tail);
    let done = x
        .files
        .into_iter()
        .zip(files)
        .map(|(o, u)| {
            p.file_done();
            match o {
                Ok(()) => {
                    p.land(u.size());
                    Done::Ok
                }
                Err(Failure::Batch(st)) => Done::refused_as(&st),
                Err(Failure::Refused(code, text)) => Done::refused(code, &text),
                Err(Failure::Local(why)) => Done::Local(why),
            }
        })
        .collect();
    Ok((made, done, carried))
}

/// What one batch's session came to: the MKDIRs' answers, each file's
/// outcome, and its tail's refusals (None: the tail did not go).
pub(crate) type Sent = (Vec<Status>, Vec<Done>, Option<Vec<Option<Refusal>>>);

/// One file up, replacing the remote file whole or leaving it as it was,
/// by the route the engine chooses for a file of a tree
/// ([`crate::engine::route::choose`]: a big file through a stage, continuing what
/// an earlier run moved of this same source; anything else, or any file on
/// a server without stages, with SNDFILE and overwrite). `keep` gives the
/// mode and mtime the file keeps on the server, from its metadata (they go
/// with a stage's commit), and whether its data may go compressed.
pub(crate) fn upload_one(c: &mut Client, cfg: &ClientConfig, u: &Up, keep: Keep, p: &Progress) -> Result<Done, Error> {
    let m = match std::fs::File::open(&u.local).and_then(|f| f.metadata()) {
        Ok(m) => m,
        Err(e) => return Ok(Done::Local(e.to_string())),
    };
    let size = m.len();
    let mut req = super::Request {
        member: true,
        attrs: keep.attrs(&m),
        compress: keep.compress,
        holes: cfg.sparse && crate::sparse::allocates_less(&m),
        land: keep.land,
        ..super::Request::new(super::Source::File(&u.local, size), &u.remote, super::Kind::Put)
    };
    let total = AtomicU64::new(size);
    let counter = p.begin();
    let progress = super::Progress {
        done: &counter.at,
        total: &total,
    };
    let r = super::send(c, cfg, &mut req, &progress, &mut |_| {});
    p.end(&counter, r.is_ok());
    match r {
        Ok(_) => exact_mtime(c, u, &m, keep),
        Err(f) => match *f.error {
            Error::Refused(r) => Ok(Done::refused_as(&r.reply)),
            e => Err(e),
        },
    }
}

/// An archive copy's file that went alone (a big one, staged): its commit
/// kept the mtime's seconds only, so its nanoseconds follow in one archive
/// entry, as a batch's files carry them (before, the copy was a fraction of
/// a second early and the next run sent it again).
fn exact_mtime(c: &mut Client, u: &Up, m: &std::fs::Metadata, keep: Keep) -> Result<Done, Error> {
    use std::os::unix::fs::MetadataExt;
    if !keep.archive || m.mtime_nsec() == 0 {
        return Ok(Done::Ok);
    }
    let stamp = super::entries::Entry {
        kind: None,
        mode: None,
        mtime: Some(crate::engine::mtime::mtime_of(m)),
        path: u.remote.clone(),
        target: None,
        owner: None,
        rdev: None,
    };
    Ok(match super::entries::send(c, &[stamp])? {
        Some(out) => match out.into_iter().flatten().next() {
            Some((code, why)) => Done::Refused(format!("its mtime: FAILED {code}: {why}")),
            None => Done::Ok,
        },
        None => Done::Ok,
    })
}
