//! Many files up in one exchange per session: tfd's TFDPUTMANY
//! (doc/compatibility.md "Batch uploads"), what `put -r` and `mirror -R`
//! use when the server has it, so a tree costs its bytes and a few round
//! trips instead of a round trip per file. A server without it (`UNKNOWN`,
//! remembered on the [`Client`] so it is asked once) gets today's per-file
//! path ([`copy::upload_one`]); so do files of [`crate::engine::upload::STAGED_FROM`] bytes
//! and more, which go through a stage.
//!
//! Each file is read once, hashed as it is sent, and checked after: if its
//! size, mtime or ctime moved while it was read, the batch sends an abort
//! trailer in place of the hash and the server keeps the old file; the run
//! says so and fails, and the next run sends it.

use super::events::{Progress, Tally};
use super::jobs::{self as copy, Done, Up};
use super::{listing, pipeline, pool};
// named here too, where it always was: it lives in batch_flags.rs, below
// the listing that probes with it
pub(crate) use super::batch_flags::Which;
// named here too, where it always was: it lives in transfer.rs, below the
// batch, where a single upload checks it as well
use crate::engine::upload::route;
pub(crate) use crate::transfer::moved;
use crate::{Client, ClientConfig, Error};
use sha2::{Digest, Sha256};
use std::io::Read;
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use tfp_wire::batch::put::{self, FileHead, PutMany, Stored};
use tfp_wire::batch::{Trailer, DATA_FRAME, END, MAX_FILES, PUTMANY};
use tfp_wire::Status;

/// What a batch upload keeps of the local file.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Keep {
    /// The permission bits.
    pub mode: bool,
    /// The modification time.
    pub mtime: bool,
    /// Mirror's guard for its quick check (git's "racy" rule): a file read
    /// within a second of its mtime gets that mtime less one second on the
    /// server, so the next run compares it by SHA-256 ([`super::sync::Rule`])
    /// and an edit made later in that same second is not taken for the copy.
    pub not_fresh: bool,
}

impl Keep {
    /// The mtime the server is to give a file whose local mtime is `mtime`
    /// (seconds): less one second when [`Keep::not_fresh`] and it was read
    /// within a second of it. Batches and mirror's deltas stamp alike.
    pub fn stamped_mtime(&self, mtime: i64) -> i64 {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() as i64);
        if self.not_fresh && now < mtime.saturating_add(2) {
            mtime.saturating_sub(1)
        } else {
            mtime
        }
    }

    /// The mode and mtime of the file `m` describes that a staged commit
    /// gives the file on the server, as a batch's header does.
    pub(crate) fn attrs(&self, m: &std::fs::Metadata) -> Option<tfp_wire::stage::Attrs> {
        (self.mode || self.mtime).then(|| tfp_wire::stage::Attrs {
            mode: self.mode.then(|| m.mode() & 0o777),
            mtime: self.mtime.then(|| self.stamped_mtime(m.mtime())),
        })
    }
}

/// Whether the server takes batches: asked once per session (`TFDPUTMANY 0`).
pub fn supported(c: &mut Client) -> Result<bool, Error> {
    probe(c, PUTMANY, Which::Put)
}

/// Asks a new pool session whether it takes upload batches (in the
/// background, while the caller's session still lists or makes directories).
pub(crate) fn prime(c: &mut Client) {
    let _ = supported(c);
}

/// Asks `cmd 0` (a batch of no files) once per session; the answer is
/// remembered on the session, so it is never asked again, and a session
/// that said `OK` sends its batches without waiting for the command's `OK`.
pub(crate) fn probe(c: &mut Client, cmd: &str, which: Which) -> Result<bool, Error> {
    match c.caps.get(which.ext()) {
        crate::caps::Known::Unknown => {}
        known => return Ok(known == crate::caps::Known::Yes),
    }
    let st = c.call(cmd, b"0")?;
    Ok(which.learn(c, &st))
}

/// The directories a tree's upload makes (`MKDIR`, parents before
/// children) and the files below one that could not be made.
#[derive(Debug, Default)]
pub(crate) struct Dirs {
    /// To make, parents before children.
    pub make: Vec<Vec<u8>>,
    /// Refused by the server (told once each): what is below is not sent.
    pub failed: Vec<Vec<u8>>,
}

impl Dirs {
    /// Notes the answers to MKDIRs of `self.make` (in order, from one
    /// session): a directory that exists is made; any other refusal is told
    /// once, and nothing below it is told again.
    pub(crate) fn learn(&mut self, t: &mut Tally<'_>, answers: &[Status]) {
        for (d, st) in self.make.iter().zip(answers) {
            if self.failed.iter().any(|f| f == d || copy::below(d, f)) {
                continue;
            }
            match st {
                Status::Ok(_) => {}
                Status::Failed(n, _) if *n == i32::from(tfp_wire::Failed::DirExists.code()) => {}
                st => {
                    t.refused(format!(
                        "put: mkdir {}: {}",
                        super::names::shown(d),
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
        self.learn(t, &answers);
        self.make.clear();
        Ok(())
    }

    /// Whether `remote` lies below a directory that could not be made.
    pub(crate) fn lost(&self, remote: &[u8]) -> bool {
        self.failed.iter().any(|d| copy::below(remote, d))
    }
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
    let own = |m: &std::fs::Metadata| keep.attrs(m);
    let per_file = |c: &mut Client, u: &Up, p: &Progress| copy::upload_one(c, cfg, u, &own, p);
    let batched = !files.is_empty() && supported(c)?;
    let small = |u: &&Up| route::tree_file(u.size(), None, false) == route::TreeRoute::Batch;
    let ahead = batched && files.iter().all(|u| small(&u)) && dirs.make.len() <= pipeline::WINDOW;
    if !ahead && !dirs.make.is_empty() {
        dirs.make_now(c, t)?;
    }
    let kept: Vec<Up>;
    let files = if dirs.failed.is_empty() {
        files
    } else {
        kept = files
            .iter()
            .filter(|u| !dirs.lost(&u.remote))
            .map(|u| Up {
                local: u.local.clone(),
                remote: u.remote.clone(),
                size: u.size,
            })
            .collect();
        not_sent(t, files.len() - kept.len());
        &kept
    };
    if files.is_empty() {
        return Ok(0);
    }
    if !batched {
        return Ok(copy::run_pool(c, cfg, jobs, fai, files, what, &per_file, t));
    }
    let (small, big): (Vec<&Up>, Vec<&Up>) = files.iter().partition(small);
    let mut done = 0;
    if !small.is_empty() {
        done += batches(c, cfg, jobs, fai, &small, dirs, keep, what, t);
    }
    if !big.is_empty() {
        let big: Vec<Up> = big
            .into_iter()
            .map(|u| Up {
                local: u.local.clone(),
                remote: u.remote.clone(),
                size: u.size,
            })
            .collect();
        done += copy::run_pool(c, cfg, jobs, fai, &big, what, &per_file, t);
    }
    Ok(done)
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
    keep: Keep,
    what: &(dyn Fn(&Up) -> String + Sync),
    t: &mut Tally<'_>,
) -> usize {
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
    let mut more = match copy::take_pool(t, cfg, groups.len().saturating_sub(1), fai) {
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
    let progress = std::sync::Arc::new(Progress::default());
    t.ev.transferring(files.len(), &progress);
    let results = {
        let mut sessions: Vec<&mut Client> = vec![c];
        sessions.extend(more.iter_mut());
        let p = &*progress;
        let ahead = &dirs.make;
        pool::run(sessions, &groups, &|c, g: &Vec<usize>| {
            let batch: Vec<&Up> = g.iter().map(|&i| files[i]).collect();
            send_batch(c, cfg, &batch, ahead, keep, p)
        })
    };
    t.ev.transferred();
    for m in more {
        let _ = m.end();
    }
    // the directories first: a file below one that could not be made is
    // told as before, in one line with the others
    for (answers, _) in results.iter().flatten().flatten() {
        dirs.learn(t, answers);
    }
    dirs.make.clear();
    let (mut lost, mut done, mut dirless) = (0, 0, 0);
    for (g, r) in groups.iter().zip(results) {
        match r {
            Some(Ok((_, outcomes))) => {
                for (&i, o) in g.iter().zip(outcomes) {
                    match o {
                        Done::Ok => done += 1,
                        Done::Refused(_) if dirs.lost(&files[i].remote) => dirless += 1,
                        Done::Refused(why) => t.refused(format!("{}: {why}", what(files[i]))),
                        Done::Local(why) => t.local(format!("{}: {why}", what(files[i]))),
                    }
                }
            }
            Some(Err(e)) => {
                let why = t.ev.session_error(&e);
                for &i in g {
                    t.local(format!("{}: {why}", what(files[i])));
                }
            }
            None => lost += g.len(),
        }
    }
    not_sent(t, dirless);
    if lost > 0 {
        t.local(format!("{lost} file(s) not transferred: every session failed"));
    }
    t.report.transferred += done;
    done
}

/// One batch over one session: the MKDIRs of `ahead` (answered first, in
/// order), TFDPUTMANY, every file, the end frame, then the outcomes. A
/// session that has not said it takes batches makes the directories and
/// waits for their answers first; a server that does not know the command
/// gets the files one by one.
pub(crate) fn send_batch(
    c: &mut Client,
    cfg: &ClientConfig,
    files: &[&Up],
    ahead: &[Vec<u8>],
    keep: Keep,
    p: &Progress,
) -> Result<(Vec<Status>, Vec<Done>), Error> {
    let per_file = |c: &mut Client| -> Result<Vec<Done>, Error> {
        let mut v = Vec::with_capacity(files.len());
        for u in files {
            v.push(copy::upload_one(c, cfg, u, &|m| keep.attrs(m), p)?);
            p.file_done();
        }
        Ok(v)
    };
    let mut made = Vec::new();
    let mut ahead = ahead;
    if !ahead.is_empty() && !pipelines(c, files.len()) {
        made = pipeline::pipelined(c, "MKDIR", ahead)?;
        ahead = &[];
    }
    let Some((answers, outcomes)) = exchange(c, files, ahead, keep, p.bytes())? else {
        return Ok((made, per_file(c)?));
    };
    made.extend(answers);
    let done = outcomes
        .into_iter()
        .map(|o| {
            p.file_done();
            match o {
                Ok(()) => Done::Ok,
                Err(Failure::Batch(st)) => Done::Refused(listing::status_text(&st)),
                Err(Failure::Refused(code, text)) => Done::Refused(format!("FAILED {code}: {text}")),
                Err(Failure::Local(why)) => Done::Local(why),
            }
        })
        .collect();
    Ok((made, done))
}

/// Why one file of a batch was not stored.
#[derive(Debug)]
pub enum Failure {
    /// The server refused the whole batch with this status.
    Batch(Status),
    /// The server refused this file: FAILED code and text.
    Refused(i32, String),
    /// Here: the file could not be read, or changed while it was read (the
    /// server kept its old copy).
    Local(String),
}

/// One file up in a batch of its own. `tf put` takes it over a link with
/// latency, where SNDFILE waits a round trip for the server's CONT after
/// every chunk and this streams, and for `--verify`, since the server then
/// commits the file only when the SHA-256 of what it stored is the one of
/// what was read here (and never a file that changed while it was read).
/// `Ok(None)` when the server takes no batches: send it another way.
pub fn put_one(
    c: &mut Client,
    local: &Path,
    remote: &[u8],
    bytes: &AtomicU64,
) -> Result<Option<Result<(), Failure>>, Error> {
    if !supported(c)? {
        return Ok(None);
    }
    let u = Up {
        local: local.to_path_buf(),
        remote: remote.to_vec(),
        size: None,
    };
    Ok(exchange(c, &[&u], &[], Keep::default(), bytes)?.and_then(|(_, mut v)| v.pop()))
}

/// Whether a batch of `n` files on `c` leaves without waiting for its
/// command's `OK`: a session that answered the probe OK answers this OK too
/// (a batch of at most MAX_FILES).
fn pipelines(c: &Client, n: usize) -> bool {
    c.caps.get(crate::caps::Ext::PutMany) == crate::caps::Known::Yes && n as u64 <= MAX_FILES
}

/// TFDPUTMANY with `files`, behind MKDIRs of `ahead` (only where the batch
/// [`pipelines`]; at most a window of them, whose answers cannot fill the
/// socket buffers while the files are sent): the MKDIRs' answers and each
/// file's outcome, or None when the server does not know the command
/// (remembered on the client).
#[allow(clippy::type_complexity)]
fn exchange(
    c: &mut Client,
    files: &[&Up],
    ahead: &[Vec<u8>],
    keep: Keep,
    bytes: &AtomicU64,
) -> Result<Option<(Vec<Status>, Vec<Result<(), Failure>>)>, Error> {
    if c.caps.get(crate::caps::Ext::PutMany) == crate::caps::Known::No {
        return Ok(None);
    }
    let line = PutMany { n: files.len() as u64 }.line();
    // the files follow at once, the OK is read after them
    let pipelined = pipelines(c, files.len());
    let ahead = if pipelined { ahead } else { &[] };
    if pipelined {
        c.chan.tx.hold();
        for d in ahead {
            c.chan.tx.send_frame_parts(&[b"MKDIR ", d])?;
        }
        c.chan.tx.send_frame(&line)?;
    } else {
        match Status::parse(&{
            c.chan.tx.send_frame(&line)?;
            c.chan.rx.recv_frame()?
        }) {
            Status::Ok(_) => c.caps.learn(crate::caps::Ext::PutMany, true),
            Status::Unknown => {
                c.caps.learn(crate::caps::Ext::PutMany, false);
                return Ok(None);
            }
            st => {
                return Ok(Some((
                    Vec::new(),
                    files.iter().map(|_| Err(Failure::Batch(st.clone()))).collect(),
                )))
            }
        }
    }
    let mut out: Vec<Option<Failure>> = files.iter().map(|_| None).collect();
    // nothing comes back before the end frame: gather the small frames
    c.chan.tx.hold();
    let mut buf = vec![0u8; DATA_FRAME];
    for (i, u) in files.iter().enumerate() {
        if let Some(why) = send_file(c, u, keep, &mut buf, bytes)? {
            out[i] = Some(Failure::Local(why));
        }
    }
    c.chan.tx.send_frame(END)?;
    c.chan.tx.release()?;
    let mut made = Vec::with_capacity(ahead.len());
    for _ in ahead {
        made.push(Status::parse(&c.chan.rx.recv_frame()?));
    }
    if pipelined {
        let first = c.chan.rx.recv_frame()?;
        if !matches!(Status::parse(&first), Status::Ok(_)) {
            // the server read the files as commands: nothing of it can be trusted
            return Err(Error::Protocol(format!(
                "TFDPUTMANY: the batch was answered {:?}",
                String::from_utf8_lossy(&first)
            )));
        }
    }
    let head = c.chan.rx.recv_frame()?;
    let failed = Stored::parse(&head)
        .and_then(|s| usize::try_from(s.failed).ok())
        .filter(|&n| n <= files.len());
    let failed = match (failed, Status::parse(&head)) {
        (Some(n), _) => n,
        (None, Status::Ok(_)) => {
            return Err(Error::Protocol(format!(
                "TFDPUTMANY: a reply {:?}",
                String::from_utf8_lossy(&head)
            )))
        }
        (None, st) => return Err(Error::Protocol(format!("TFDPUTMANY: {}", listing::status_text(&st)))),
    };
    for _ in 0..failed {
        let f = c.chan.rx.recv_frame()?;
        let outcome = put::Failure::parse(&f)
            .and_then(|o| Some((usize::try_from(o.index).ok().filter(|&i| i < files.len())?, o)));
        let Some((i, o)) = outcome else {
            return Err(Error::Protocol(format!(
                "TFDPUTMANY: an outcome {:?}",
                String::from_utf8_lossy(&f)
            )));
        };
        if out[i].is_none() {
            out[i] = Some(Failure::Refused(o.code, o.reason.into_owned()));
        }
    }
    Ok(Some((made, out.into_iter().map(|o| o.map_or(Ok(()), Err)).collect())))
}

/// Sends one file's header, data and trailer. `Some(why)` when it was not
/// sent whole (could not be read, or changed while read): its trailer then
/// aborts it, and the server keeps the old file.
fn send_file(c: &mut Client, u: &Up, keep: Keep, buf: &mut [u8], bytes: &AtomicU64) -> Result<Option<String>, Error> {
    let opened = std::fs::File::open(&u.local).and_then(|f| {
        let m = f.metadata()?;
        Ok((f, m))
    });
    let (mut f, before) = match opened {
        Ok((f, m)) if m.is_file() => (f, m),
        Ok(_) => return abort_empty(c, u, "not a regular file".into()),
        Err(e) => return abort_empty(c, u, e.to_string()),
    };
    let size = before.len();
    let mode = keep.mode.then(|| before.mode() & 0o777);
    let mtime = keep.mtime.then(|| keep.stamped_mtime(before.mtime()));
    c.chan
        .tx
        .send_frame(&FileHead::new(size, mode, mtime, &u.remote).encode())?;
    let mut h = Sha256::new();
    let mut left = size;
    let mut short = None;
    while left > 0 {
        let want = (left as usize).min(buf.len());
        let mut got = 0;
        while got < want && short.is_none() {
            match f.read(&mut buf[got..want]) {
                Ok(0) => short = Some("it shrank while it was read".to_string()),
                Ok(n) => got += n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => short = Some(e.to_string()),
            }
        }
        // the announced size goes out whatever happened: the trailer aborts
        buf[got..want].fill(0);
        h.update(&buf[..want]);
        c.chan.tx.send_frame(&buf[..want])?;
        bytes.fetch_add(want as u64, Ordering::Relaxed);
        left -= want as u64;
    }
    let changed = match f.metadata() {
        Ok(after) if moved(&before, &after) => Some("it changed while it was read".to_string()),
        Ok(_) => None,
        Err(e) => Some(e.to_string()),
    };
    if let Some(why) = short.or(changed) {
        c.chan.tx.send_frame(&Trailer::Abort.encode())?;
        return Ok(Some(format!(
            "{why}; not sent (the server keeps its old copy), a later run sends it"
        )));
    }
    c.chan.tx.send_frame(&Trailer::Sum(h.finalize().into()).encode())?;
    Ok(None)
}

/// A file that could not be opened still takes its place in the batch: an
/// empty file, aborted.
fn abort_empty(c: &mut Client, u: &Up, why: String) -> Result<Option<String>, Error> {
    c.chan.tx.send_frame(&FileHead::unread(&u.remote).encode())?;
    c.chan.tx.send_frame(&Trailer::Abort.encode())?;
    Ok(Some(why))
}
