//! tfd's batch upload (doc/compatibility.md "Batch uploads"): many files in
//! one exchange, so a tree costs its bytes and a few round trips rather than
//! a round trip per file.
//!
//! `TFDPUTMANY <n>` (`n` at most [`MAX_FILES`]; `0` is a probe answered `OK
//! dirs`: besides files the batch may make directories, `D <path>` frames
//! ahead of the files, [`super::putmany_dirs`]; the frames are typed in [`tfp_wire::batch::put`]). After `OK` the
//! client sends, without waiting, per file a header frame `F <size> <flags>
//! <mode, octal> <mtime> <path>` (flags: 1 = set the mode, 2 = set the
//! mtime), the data in frames holding exactly `size` bytes
//! together, and a trailer `S <sha-256 of the data, hex>` or `A` (abort: the
//! local file changed while it was read), then the end frame `E`. Only then
//! does the server answer: `OK <stored> <failed>`, followed by one frame
//! `<index> <FAILED code> <reason>` per failed file. The server writes each
//! file as SNDFILE with overwrite does ([`Upload`]: a temporary beside the
//! target renamed over it), hashes what arrives, and commits only when the
//! hash is the client's; a failed file leaves the old one whole. A batch out
//! of step (a header or trailer that does not parse, more files than
//! announced) is answered `FAILED` at once and the session ends.
//!
//! `TFDPUTMANY <n> z` (and `<n> a z`): each data frame is one compressed
//! block, all of one stream across the batch (`super::compress::Inflow`),
//! the file's size counted by the blocks' announced lengths. A block
//! refused (announcing more than its file has left, decoding to more or
//! less than it announced, beyond the window offered) fails its file alone
//! and the batch stays in step.

use super::compress::{Inflow, Piece};
use super::putmany_archive::{self as archive, Refusal};
use super::putmany_dirs::{self as dirs, Unmade};
use super::putmany_frames::{header_with_land, Source};
use super::putmany_heads::{header, FileEntry, Header};
use super::quota::Pending;
use super::transfer::{check_target, logged, Track};
use super::{CmdResult, Reply};
use crate::dispatch::Held;
use crate::fsys::upload::Upload;
use crate::fsys::FsError;
use crate::session::Session;
use crate::xferlog::Direction;
use log::{info, warn};
use sha2::{Digest, Sha256};
use std::borrow::Cow;
use std::net::SocketAddr;
use std::os::fd::{AsFd, OwnedFd};
use std::sync::mpsc::{sync_channel, SyncSender};
use std::thread::JoinHandle;
use tfp_wire::batch::put::{probe_ok, probe_scope_word};
use tfp_wire::batch::put::{Failure, PutMany, Stored, MAX_TRAILER};
use tfp_wire::batch::{is_end, Trailer, MAX_FILES, PUTMANY};
use tfp_wire::compress::Offer;
use tfp_wire::entry::Head;
use tfp_wire::{Failed, MAX_FRAME};

/// Opens a batch of `n` files, for both directions: refused past
/// [`MAX_FILES`], else `OK` at once; false for the probe (`0`), which
/// `probe` answers: TFDPUTMANY's says what its batches take (`dirs`, or for
/// the archive probe whether the session may keep owners, [`probe_ok`]),
/// TFDGETMANY's is `OK` alone, as clients compare it.
pub(super) fn open_batch(s: &mut Session, n: u64, probe: Vec<u8>) -> Result<bool, super::CmdError> {
    if n > MAX_FILES {
        return Err(super::CmdError::Told(
            Failed::MissingParameter,
            format!("at most {MAX_FILES} files in one batch"),
        ));
    }
    let ok = if n == 0 { probe } else { b"OK".to_vec() };
    s.chan_mut().tx.send_frame(&ok)?;
    s.chan_mut().tx.release()?;
    Ok(n > 0)
}

fn upload_error(e: &FsError) -> Failed {
    match e {
        FsError::NoSpace | FsError::QuotaFull => Failed::Quota,
        e if e.is_denied() => Failed::AccessDenied,
        _ => Failed::TransferApi,
    }
}

/// `TFDPUTMANY <n>`.
pub fn putmany(s: &mut Session, arg: &[u8]) -> CmdResult {
    logged(s, arg, PUTMANY, Direction::Incoming, putmany_t)
}

/// How one file of the batch went.
enum Outcome {
    /// Received whole and verified: to be committed with its group.
    Ready(Upload, u64),
    Failed(Failed, String),
}

/// Files received and verified, committed together: their file systems are
/// synced once before any gets its name (which also covers the previous
/// group's names) and once more before the answer, instead of two fsyncs
/// per file (10,000 files of 1 KiB took 17 s over one session with
/// sync_uploads yes, 0.6 s without) or two syncs per group (four sessions
/// of a 10,000-file `put -r` waited 0.73 s in syncfs, 0.33 s with one). The client hears
/// nothing before the batch's end, so committing later changes no answer,
/// and every upload is still on stable storage before the batch is
/// acknowledged. At most [`GROUP_FILES`] in a group (fewer where the
/// descriptors allowed are few: [`group_files`]).
const GROUP_FILES: usize = 256;

/// The files a group holds: [`GROUP_FILES`], or fewer when this process may
/// not open the descriptors of the three groups a batch can hold at once (one
/// committing, one waiting, one filling; two descriptors a file).
fn group_files() -> usize {
    let soft = nix::sys::resource::getrlimit(nix::sys::resource::Resource::RLIMIT_NOFILE).map_or(1024, |l| l.0);
    let allowed = usize::try_from(soft.saturating_sub(64) / 6).unwrap_or(usize::MAX);
    GROUP_FILES.min(allowed).max(1)
}

/// ... and no file waits longer than this for its commit, so a batch cut
/// off midway leaves little that was received but not yet in place.
const GROUP_AGE: std::time::Duration = std::time::Duration::from_millis(500);

/// A file of a group: its index in the batch, its upload, its bytes and
/// their quota reservation, settled once the file is linked.
struct Ready {
    i: u64,
    up: Upload,
    n: u64,
    quota: Option<Pending>,
}

/// The files of a group.
type Group = Vec<Ready>;

/// What a batch committed so far, and the file systems whose names (the
/// links of their last group) no sync has covered yet.
#[derive(Default)]
struct Commits {
    failures: Vec<(u64, Failed, String)>,
    stored: u64,
    bytes: u64,
    /// The next group's data sync of the same file system covers these
    /// names too: one sync a group, not two ([`Commits::finish`] syncs what
    /// is left before the answer).
    unsynced: Vec<(u64, OwnedFd)>,
}

impl Commits {
    /// Commits `group`: each file system of its groupable uploads synced
    /// once (their data, and the previous group's names), every upload
    /// named; uploads on other file systems, or all of them when a sync
    /// fails, commit with their own fsyncs.
    fn group(&mut self, peer: SocketAddr, group: &mut Group) {
        // everything but the names first: data written, attributes set
        let mut readied: Group = Vec::with_capacity(group.len());
        for mut r in group.drain(..) {
            match r.up.ready_for_group(true) {
                Ok(()) => readied.push(r),
                Err(e) => self.failures.push((r.i, upload_error(&e), e.to_string())),
            }
        }
        *group = readied;
        let mut known = Vec::new();
        let keys: Vec<Option<u64>> = group.iter().map(|r| r.up.groupable(&mut known)).collect();
        let mut systems: Vec<(u64, OwnedFd)> = Vec::new();
        let mut grouped = true;
        for (Ready { up, .. }, key) in group.iter().zip(&keys) {
            let Some(dev) = key else { continue };
            if systems.iter().any(|(d, _)| d == dev) {
                continue;
            }
            match up.fs_handle().and_then(|fd| tfd_sys::syncfs(fd.as_fd()).map(|()| fd)) {
                Ok(fd) => systems.push((*dev, fd)),
                Err(e) => {
                    warn!("{peer} TFDPUTMANY: syncfs: {e}; committing file by file");
                    grouped = false;
                }
            }
        }
        self.unsynced
            .retain(|(d, _)| !systems.iter().any(|(synced, _)| synced == d));
        for (Ready { i, up, n, quota }, key) in group.drain(..).zip(&keys) {
            let r = if grouped && key.is_some() {
                up.commit_grouped(true)
            } else {
                up.commit(true)
            };
            match r {
                Ok(()) => {
                    self.stored += 1;
                    self.bytes += n;
                    if let Some(q) = quota {
                        q.settle();
                    }
                }
                // dropped unsettled: its reservation is given back
                Err(e) => self.failures.push((i, upload_error(&e), e.to_string())),
            }
        }
        if grouped {
            self.unsynced.extend(systems);
        }
    }

    /// Syncs the names no sync covered yet: everything the batch stored is
    /// on stable storage after it.
    fn sync_names(&mut self, peer: SocketAddr) {
        for (_, fd) in self.unsynced.drain(..) {
            if let Err(e) = tfd_sys::syncfs(fd.as_fd()) {
                // the files are in place; only their names' durability is in doubt
                warn!("{peer} TFDPUTMANY: syncfs after the commits: {e}");
            }
        }
    }
}

/// Who commits a batch's groups: a thread of its own while the batch goes
/// on arriving, so that a group's syncs are waited on while the next files
/// are received and written (the sessions of a 10,000-file `put -r`, each
/// blocked in its syncfs while nothing arrived, left the CPUs idle a tenth of
/// the time); the session's own thread where none could be started.
enum Committer {
    Thread(SyncSender<Group>, JoinHandle<Commits>),
    Inline(Commits),
}

impl Committer {
    fn start(peer: SocketAddr) -> Committer {
        // one group waits while one is committed: the receiving stops there
        let (tx, rx) = sync_channel::<Group>(1);
        let spawned = std::thread::Builder::new().name("commit".into()).spawn(move || {
            let mut commits = Commits::default();
            for mut group in rx {
                commits.group(peer, &mut group);
            }
            commits.sync_names(peer);
            commits
        });
        match spawned {
            Ok(handle) => Committer::Thread(tx, handle),
            Err(e) => {
                warn!("{peer} TFDPUTMANY: no commit thread ({e}); committing as the files arrive");
                Committer::Inline(Commits::default())
            }
        }
    }

    /// Hands `group` (emptied) on to be committed.
    fn commit(&mut self, peer: SocketAddr, group: &mut Group) {
        let group = std::mem::take(group);
        match self {
            Committer::Thread(tx, _) => {
                // the thread gone (a panic) takes nothing more: the group's
                // temporaries go with it, its old files stay, and
                // [`Committer::finish`] tells the batch failed
                if tx.send(group).is_err() {
                    warn!("{peer} TFDPUTMANY: the commit thread ended early");
                }
            }
            Committer::Inline(commits) => commits.group(peer, &mut { group }),
        }
    }

    /// Commits what `group` holds, waits for every commit and syncs the
    /// names no sync covered yet: everything the batch stored is on stable
    /// storage after it. None when the commit thread failed (a panic): what
    /// it committed is then unknown.
    fn finish(mut self, peer: SocketAddr, group: &mut Group) -> Option<Commits> {
        if !group.is_empty() {
            self.commit(peer, group);
        }
        match self {
            Committer::Thread(tx, handle) => {
                drop(tx);
                let done = handle.join().ok();
                if done.is_none() {
                    warn!("{peer} TFDPUTMANY: the commit thread failed");
                }
                done
            }
            Committer::Inline(mut commits) => {
                commits.sync_names(peer);
                Some(commits)
            }
        }
    }
}

fn putmany_t(s: &mut Session, arg: &[u8], t: &mut Track) -> CmdResult {
    let batch = PutMany::parse(arg).ok_or(Failed::MissingParameter)?;
    let PutMany { n, archive, .. } = batch;
    if batch.framed && (super::compress::offer(s).is_none() || !s.ctx().cfg.compression_framed) {
        // the probe's FAILED tells a client this server takes no framed
        // batch; a framed batch sent all the same cannot be read
        let why = if s.ctx().cfg.compression {
            FRAMED_OFF
        } else {
            COMPRESSION_OFF
        };
        if n == 0 {
            return Err(super::CmdError::Told(Failed::MissingParameter, why.into()));
        }
        return out_of_step(s, why);
    }
    // the archive probe says whether this session may keep owners, so a
    // tree copy learns it in the round trip that asks for archive batches
    let owners = archive.then(|| archive::privileged(s));
    let mut probe = probe_ok(owners);
    if batch.attrs {
        // which names an attributes frame may carry for this session
        let scope = probe_scope_word(super::land::scope(s));
        probe.extend_from_slice(format!(" {scope}").as_bytes());
    }
    if !open_batch(s, n, probe)? {
        return Ok(Reply::Sent);
    }
    let (mut inflow, mut src, _held) = match admit(s, batch) {
        Ok(admitted) => admitted,
        // a framed batch's records cannot be read without its decoder
        Err(e) if batch.framed => return out_of_step(s, &format!("refused: {}", told_text(&e))),
        Err(e) => return super::batch_budget::refuse_putmany(s, batch, e),
    };
    match receive(s, batch, t, &mut inflow, &mut src) {
        Err(_) if src.refused().is_some() => out_of_step(s, &src.refused().unwrap_or_default()),
        r => r,
    }
}

/// Why compressed batches are refused here.
const COMPRESSION_OFF: &str = "compressed data are off on this server (compression no)";
/// Why a framed batch is refused here.
const FRAMED_OFF: &str = "framed batches are off on this server (compression_framed no)";

/// The reason of an admission's refusal.
fn told_text(e: &super::CmdError) -> String {
    match e {
        super::CmdError::Told(_, why) => why.clone(),
        _ => "the batch could not be admitted".into(),
    }
}

/// Receives an admitted batch's files and answers it.
fn receive(s: &mut Session, batch: PutMany, t: &mut Track, inflow: &mut Inflow, src: &mut Source) -> CmdResult {
    let PutMany { n, archive, .. } = batch;
    let peer = s.peer();
    let mut committer = Committer::start(peer);
    let most = group_files();
    // files that failed before their commit
    let mut failures = Vec::new();
    let mut group: Group = Vec::new();
    let mut budget = super::quota::budget(s, None);
    // the directory the file before was pinned in (see Session::path_near)
    let mut held = None;
    // what was received whole and verified is committed whatever ends the
    // batch (a cut connection, a batch out of step), as file by file it was
    let mut started = std::time::Instant::now();
    // an archive batch's entries other than files: made as they come, and
    // those whose attributes wait for the batch's end
    let mut made = 0;
    let mut later = Vec::new();
    let mut later_bytes = 0;
    // a plain batch's directories: those made, and those refused (what
    // lies below them is refused untried)
    let mut dirs_made = 0;
    let mut unmade = Unmade::default();
    for i in 0..n {
        let (head, land) = match header_with_land(batch, |max| src.next(s, max)) {
            Ok(Ok(read)) => read,
            Ok(Err(why)) => {
                committer.finish(peer, &mut group);
                return out_of_step(s, &format!("file {i}: {why}"));
            }
            Err(e) => {
                committer.finish(peer, &mut group);
                return Err(e);
            }
        };
        let mut h = match header(s, &head, archive, land) {
            Some(Header::File(h)) => h,
            Some(Header::Dir(path, mode)) => {
                dirs_made += dir_entry(s, (i, path, mode), &mut unmade, &mut failures);
                continue;
            }
            Some(Header::Other(h)) => {
                made += other_entry(s, (i, &h), (&mut later, &mut later_bytes), &mut failures);
                continue;
            }
            None => {
                committer.finish(peer, &mut group);
                let why = "a header that does not parse (or no file's after an attributes frame)";
                return out_of_step(s, &format!("file {i}: {why}"));
            }
        };
        if h.attrs.is_ok() {
            if let Some(r) = unmade.covers(h.path) {
                h.attrs = Err(r);
            }
        }
        let r = match one(s, &h, &mut budget, &mut held, (&mut *inflow, &mut *src)) {
            Ok(r) => r,
            Err(e) => {
                committer.finish(peer, &mut group);
                return Err(e);
            }
        };
        // each file's reservation ends with it: a received file's waits for
        // its link, a failed one's is given back (it held room the next
        // files may need)
        if !matches!(r, Ok(Outcome::Ready(..))) {
            super::quota::release(&mut budget);
        }
        match r {
            Ok(Outcome::Ready(up, n)) => {
                if group.is_empty() {
                    started = std::time::Instant::now();
                }
                let quota = budget.as_mut().map(super::quota::Budget::defer);
                group.push(Ready { i, up, n, quota });
                if group.len() >= most || started.elapsed() >= GROUP_AGE {
                    committer.commit(peer, &mut group);
                }
            }
            Ok(Outcome::Failed(f, why)) => {
                info!(
                    "{} TFDPUTMANY {:?}: FAILED {} ({why})",
                    s.peer(),
                    String::from_utf8_lossy(h.path),
                    f.code()
                );
                failures.push((i, f, why));
            }
            Err(why) => {
                committer.finish(peer, &mut group);
                return out_of_step(s, &format!("file {i}: {why}"));
            }
        }
    }
    let end = src.next(s, MAX_TRAILER);
    let commits = committer.finish(peer, &mut group);
    let end = end?;
    let Some(commits) = commits else {
        // no count could be told true: the session ends, and the client's
        // next run compares and sends again what did not land
        s.chan_mut()
            .tx
            .send_frame(format!("FAILED {} : the batch's commits failed", Failed::TransferApi.code()).as_bytes())?;
        return Ok(Reply::Close);
    };
    let Commits {
        failures: failed,
        stored,
        bytes,
        ..
    } = commits;
    failures.extend(failed);
    if !is_end(&end) {
        return out_of_step(s, "no end frame after the announced files");
    }
    if let Some(why) = src.refused() {
        return out_of_step(s, &why);
    }
    // directories' and attributes' changes, after every file is in place
    for (i, l) in later {
        match archive::finish(s, &l) {
            Ok(()) => made += 1,
            Err(Refusal(f, why)) => failures.push((i, f, why)),
        }
    }
    let stored = stored + made + dirs_made;
    failures.sort_by_key(|f| f.0);
    t.bytes = bytes;
    t.complete = failures.is_empty();
    if let Ok(p) = s.path(b"/") {
        t.path = Some(p);
    }
    let dirs_told = of_them_directories(dirs_made);
    info!(
        "{} TFDPUTMANY stored {stored} of {n} files{dirs_told}, {bytes} bytes{inflow}{src}",
        s.peer()
    );
    told(s, stored, failures)
}

/// The batch's answer: what was stored, then each failure.
fn told(s: &mut Session, stored: u64, failures: Failures) -> CmdResult {
    s.chan_mut().tx.hold();
    let failed = failures.len() as u64;
    s.chan_mut().tx.send_frame(&Stored { stored, failed }.encode())?;
    for (index, f, why) in failures {
        let failure = Failure {
            index,
            code: i32::from(f.code()),
            reason: Cow::Owned(why),
        };
        s.chan_mut().tx.send_frame(&failure.encode())?;
    }
    s.chan_mut().tx.release()?;
    Ok(Reply::Sent)
}

/// The batch's claim on the memory budget (held until it is dropped), then
/// its way of reading data frames ([`inflow`]): the decoder is made only
/// once its memory is claimed.
fn admit(s: &Session, batch: PutMany) -> Result<(Inflow, Source, impl Sized), super::CmdError> {
    let offer = offered(s, batch.blocks)?;
    let held = s.hold(super::batch_budget::putmany_held(s, batch), PUTMANY)?;
    // a framed batch's data records are as a plain batch's frames: the
    // stream around them is what is decoded
    match offer.filter(|_| batch.framed) {
        Some(o) => Ok((Inflow::plain(), Source::framed(o.window_log)?, held)),
        None => Ok((inflow(offer)?, Source::plain(), held)),
    }
}

/// What this server offers a batch whose data come as blocks (`blocks`),
/// None for one whose data come as they are; refused (every file of the
/// batch failed with the reason) with `compression no`.
fn offered(s: &Session, blocks: bool) -> Result<Option<Offer>, super::CmdError> {
    match (blocks, super::compress::offer(s)) {
        (false, _) => Ok(None),
        (true, Some(offer)) => Ok(Some(offer)),
        (true, None) => Err(super::CmdError::Told(Failed::TransferApi, COMPRESSION_OFF.into())),
    }
}

/// How a batch's data frames come: as they are, or as a zstd stream's
/// blocks within the window `offer` gives; refused where zstd has no memory.
fn inflow(offer: Option<Offer>) -> Result<Inflow, super::CmdError> {
    let Some(offer) = offer else {
        return Ok(Inflow::plain());
    };
    match Inflow::blocks(offer.window_log) {
        Ok(inflow) => Ok(inflow),
        Err(e) => Err(super::CmdError::Told(Failed::TransferApi, e.to_string())),
    }
}

/// A batch that cannot be read on: answered and the session ended (what the
/// client sends next cannot be told from commands).
fn out_of_step(s: &mut Session, why: &str) -> CmdResult {
    warn!("{} TFDPUTMANY out of step: {why}; ending the session", s.peer());
    s.chan_mut()
        .tx
        .send_frame(format!("FAILED {} : {why}", Failed::MissingParameter.code()).as_bytes())?;
    Ok(Reply::Close)
}

/// The upload for `path`, checked as SNDFILE with overwrite checks its
/// target, or why not; `true` with a reason when the upload could not begin
/// in a directory that is gone (removed, or replaced on a shared file system
/// by another node: ESTALE).
fn open_target(s: &Session, path: &[u8], held: &mut Option<Held>) -> Result<Upload, (Failed, String, bool)> {
    let p = match s.path_near(path, held) {
        Ok(p) => p,
        Err(f) => return Err((f, "path refused".into(), false)),
    };
    if let Err(f) = check_target(s, &p, true) {
        return Err((f, "target refused".into(), false));
    }
    match super::backup::begin(s, &p, 0) {
        Ok(u) => Ok(u),
        Err(e) => {
            let gone = matches!(e, FsError::Stale)
                || held
                    .as_ref()
                    .is_some_and(|h| tfd_sys::fstat(h.dir()).map_or(true, |st| st.st_nlink == 0));
            Err((upload_error(&e), e.to_string(), gone))
        }
    }
}

/// [`open_target`], looked up afresh when the directory held from the file
/// before is gone (as the path names it now).
fn target(s: &Session, path: &[u8], held: &mut Option<Held>) -> Result<Upload, Refusal> {
    let was_held = held.is_some();
    let mut opened = open_target(s, path, held);
    if let (true, Err((_, _, true))) = (was_held, &opened) {
        *held = None;
        opened = open_target(s, path, held);
    }
    match opened {
        Ok(u) => Ok(u),
        Err((f, why, _)) => {
            *held = None;
            Err(Refusal(f, why))
        }
    }
}

/// What the batch's log line adds when it made directories.
fn of_them_directories(n: u64) -> String {
    if n == 0 {
        return String::new();
    }
    format!(" ({n} of them directories)")
}

/// The failures of a batch's entries: index, code, reason.
type Failures = Vec<(u64, Failed, String)>;

/// A plain batch's directory `i` made (1) or refused (0, its failure noted).
fn dir_entry(
    s: &Session,
    (i, path, mode): (u64, &[u8], Option<u32>),
    unmade: &mut Unmade,
    failures: &mut Failures,
) -> u64 {
    match dirs::make(s, path, mode, unmade) {
        Ok(()) => 1,
        Err(Refusal(f, why)) => {
            info!(
                "{} TFDPUTMANY directory {:?}: FAILED {} ({why})",
                s.peer(),
                String::from_utf8_lossy(path),
                f.code()
            );
            failures.push((i, f, why));
            0
        }
    }
}

/// An archive batch's entry `i` other than a file: made (1), left for the
/// batch's end within [`archive::MAX_LATER_BYTES`], or refused.
fn other_entry(
    s: &Session,
    (i, h): (u64, &Head<'_>),
    (later, later_bytes): (&mut Vec<(u64, archive::Later)>, &mut usize),
    failures: &mut Failures,
) -> u64 {
    match archive::entry(s, h) {
        Ok(None) => return 1,
        Ok(Some(l)) if *later_bytes + l.weight() <= archive::MAX_LATER_BYTES => {
            *later_bytes += l.weight();
            later.push((i, l));
        }
        Ok(Some(_)) => failures.push((i, Failed::TransferApi, archive::TOO_MANY_LATER.into())),
        Err(Refusal(f, why)) => failures.push((i, f, why)),
    }
    0
}

/// Receives one file's data and trailer. The outer `Err` is the channel's;
/// the inner one a batch out of step.
#[allow(clippy::type_complexity)]
fn one(
    s: &mut Session,
    h: &FileEntry<'_>,
    budget: &mut Option<super::quota::Budget>,
    held: &mut Option<Held>,
    (inflow, src): (&mut Inflow, &mut Source),
) -> Result<Result<Outcome, String>, super::CmdError> {
    // the target, checked as SNDFILE with overwrite checks it (not opened
    // for a file the session may not give what its header asks)
    let (mut up, mut failed) = match &h.attrs {
        Ok(_) => match target(s, h.path, held) {
            Ok(u) => (Some(u), None),
            Err(Refusal(f, why)) => (None, Some((f, why))),
        },
        Err(Refusal(f, why)) => (None, Some((*f, why.clone()))),
    };
    // the whole announced size is reserved before any data (issue 47 finding
    // 7): a file that can never fit is refused at once and holds nothing, so
    // it cannot starve a file of another job that fits, as reserving frame
    // by frame let it
    if failed.is_none() && !super::quota::reserve(budget, h.size) {
        super::quota::refused(s, PUTMANY);
        failed = Some((Failed::Quota, "quota exceeded".into()));
        up = None;
    }
    let mut hash = Sha256::new();
    let mut left = h.size;
    while left > 0 {
        let frame = src.next(s, MAX_FRAME)?;
        let data = match inflow.piece(&frame, left) {
            Ok(Piece::Data(data)) => data,
            Ok(Piece::Refused(n, why)) => {
                left -= n;
                if failed.is_none() {
                    failed = Some((Failed::TransferApi, format!("{why}; old file kept")));
                    up = None;
                }
                continue;
            }
            Err(why) => return Ok(Err(why.to_string())),
        };
        left -= data.len() as u64;
        if failed.is_some() {
            continue;
        }
        hash.update(data);
        if let Some(u) = up.as_mut() {
            if let Err(e) = u.write(data) {
                failed = Some((upload_error(&e), e.to_string()));
                up = None;
            }
        }
    }
    let trailer = src.next(s, MAX_TRAILER)?;
    let Some(sum) = Trailer::parse(&trailer) else {
        return Ok(Err("a trailer that does not parse".into()));
    };
    if let Some((f, why)) = failed {
        return Ok(Ok(Outcome::Failed(f, why)));
    }
    let Some(mut up) = up else {
        return Ok(Ok(Outcome::Failed(Failed::TransferApi, "no upload".into())));
    };
    let Trailer::Sum(sum) = sum else {
        return Ok(Ok(Outcome::Failed(
            Failed::TransferApi,
            "the client's file changed while it was sent; old file kept".into(),
        )));
    };
    if hash.finalize().as_slice() != sum {
        return Ok(Ok(Outcome::Failed(
            Failed::InvalidHash,
            "the data does not hash to the client's SHA-256; old file kept".into(),
        )));
    }
    let attrs = h.attrs.clone().unwrap_or_default();
    up.new_file_mode(h.new_mode);
    let mut stamped = up.stamp_whole(attrs.mode, attrs.mtime, attrs.owner);
    if let (Ok(()), Some(land)) = (&stamped, &h.land) {
        stamped = up.give_land(land);
    }
    Ok(Ok(match stamped {
        Ok(()) => {
            let n = up.written;
            Outcome::Ready(up, n)
        }
        Err(e) => Outcome::Failed(upload_error(&e), e.to_string()),
    }))
}
