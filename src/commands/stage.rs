//! tfd's staged-upload extension (doc/compatibility.md "Staged uploads"):
//! uploads that many connections write at once and that resume after any
//! interruption, and still replace their target in one rename, only once the
//! whole file is there and its SHA-256 matches the client's.
//!
//! - `TFDSTAGE <size> <identity> <0|1> <path>`: opens the stage of `path` for
//!   a source of `size` bytes; `1` (or another identity than the stage holds)
//!   starts it empty. Answers `OK <n> <a-b>…`: the `n` ranges already written
//!   for this same source.
//! - `TFDSTAGEPUT <path> <hpfile>`: PUT's flow (wire-notes §3.20) into the
//!   stage at the offset, never past `size`; after the HPFFIN exchange one
//!   more frame, `OK` or `FAILED <n> : <the real reason>` (quota, disk full…),
//!   which PUT has no room for.
//! - `TFDSTAGEDONE <sha256> <0|1> <path>[\0<flags> <mode> <mtime>]`: the
//!   commit, with the file's own mode and mtime when the client sends them
//!   (`tfp_wire::stage::Attrs`, a batch's attributes). The stage must hold
//!   every byte; its SHA-256 must equal the client's, else the stage is
//!   emptied and the answer says so; then it replaces the target by rename
//!   (`0`: only if the target does not exist), with the target's mode and
//!   owner. While bytes are missing and another connection's TFDSTAGEPUT
//!   still writes into the stage (its mark, [`Stage::writing`]), the commit
//!   waits for it, bounded by [`WRITERS_STALL`] without progress: a client
//!   commits as soon as its own connection has nothing more to send, a
//!   round trip sooner than after all its streams ended.
//!
//! The data is written like PUT's (direct, past the page cache, in full
//! chunks), and what a session writes in order from offset 0 is hashed on the
//! way to the disk ([`InFlight`]): TFDSTAGEDONE on that session hashes only
//! what it did not write itself (another connection's ranges, an earlier
//! run's), reading it back.
//!
//! - `TFDSTAGES <0|1> <dir>`: the session user's own stages in `dir` (`1`:
//!   and below), each line `<counted> <written> <size> <mtime> <n> <stage
//!   path> <m> <target path>`, paths raw with their length before them, in
//!   LSR's chunks: what the quota and `tf df` count of them, and what they are
//!   stages of (issue 47 finding 8: they were invisible to their owner).
//! - `TFDSTAGEDROP <path>`: removes the user's own stage of target `path`
//!   (or the stage `path` names by its own name, as TFDSTAGES lists it).
//!
//! Clients that never send these commands see nothing of them.

use super::compress::Inflow;
use super::hpf::{self, PutEnd};
use super::transfer::{check_target, logged, Track};
use super::{CmdResult, DeniedOr, OrFailed, Reply};
use crate::fsys::stage::{Stage, StageError};
use crate::fsys::stage_owned::{self as fstage, DiscardError};
use crate::fsys::{FsError, RelPath};
use crate::session::Session;
use crate::xferlog::Direction;
use log::{info, warn};
use sha2::{Digest, Sha256};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use tfp_wire::hpf::code;
use tfp_wire::stage::{self as wire, listing::Listed};
use tfp_wire::Failed;

/// The SHA-256 of the stage's bytes `[0, end)` as this session hashed them:
/// in order as it wrote them, then (when other connections write the rest)
/// by a thread that reads back behind the writers what the journal records
/// as written ([`follow`]). Kept between TFDSTAGEPUT and TFDSTAGEDONE. It
/// stands for the file only while the stage is the same file of the same
/// epoch (not emptied since): anything else is hashed from the disk. A
/// restarted server or session has none, so a resume proves what an earlier
/// run left by reading it back.
pub struct InFlight {
    key: (u64, u64),
    epoch: Option<Vec<u8>>,
    /// The stage's generation when this hash began: a rewrite by another
    /// writer since changes it (issue 47 finding 6), and the hash is dropped.
    generation: Option<Vec<u8>>,
    sum: Sum,
}

enum Sum {
    /// Hashed as written, up to `end`.
    Here(u64, Sha256),
    /// A thread goes on from there; stopped, it returns how far it got.
    Following(Arc<AtomicBool>, std::thread::JoinHandle<(u64, Sha256)>),
}

impl InFlight {
    /// How far it got and the hash so far (a follower is stopped first).
    fn finish(self) -> (u64, Sha256) {
        match self.sum {
            Sum::Here(end, h) => (end, h),
            Sum::Following(stop, t) => {
                stop.store(true, Ordering::Relaxed);
                // it may be napping: woken now, not at the end of its nap
                t.thread().unpark();
                t.join().unwrap_or((0, Sha256::new()))
            }
        }
    }
}

/// The follower's first nap once it has caught up with the writers.
const FOLLOW_NAP_MIN: std::time::Duration = std::time::Duration::from_millis(5);
/// Its longest nap (issue 47 finding 9: it polled every 5 ms for a minute).
const FOLLOW_NAP_MAX: std::time::Duration = std::time::Duration::from_millis(200);

/// Hashes the stage open as `f` on from `at` (the hash `h` holding the bytes
/// before), in file order, as far as its journal records it written, waiting
/// for the writers when it catches up with them; until the end, `stop`, or a
/// minute without progress.
fn follow(f: std::fs::File, size: u64, mut at: u64, mut h: Sha256, stop: Arc<AtomicBool>) -> (u64, Sha256) {
    use std::os::unix::fs::FileExt;
    use tfd_sys::{AlignedBuf, IO_ALIGN};
    // the descriptor shares its open file with the session's writer, which
    // turns O_DIRECT on and off: reads are aligned, so either way they work
    let mut buf = AlignedBuf::zeroed(4 << 20);
    let mut idle = std::time::Instant::now();
    // caught up with the writers: naps that double while nothing comes (a
    // quiet stage costs a few wake-ups a second, not 200), woken at once by
    // a stop (InFlight::finish unparks it)
    let mut nap = FOLLOW_NAP_MIN;
    while at < size && !stop.load(Ordering::Relaxed) {
        let upto = crate::fsys::stage::written_to(&f, at, size);
        // whole blocks only, but at the end of the file
        if upto <= at || (upto < size && upto - at < IO_ALIGN as u64) {
            if idle.elapsed() > std::time::Duration::from_secs(60) {
                break;
            }
            std::thread::park_timeout(nap);
            nap = (nap * 2).min(FOLLOW_NAP_MAX);
            continue;
        }
        nap = FOLLOW_NAP_MIN;
        while at < upto && !stop.load(Ordering::Relaxed) {
            let left = upto - at;
            // whole blocks, or what is left before the end of the file
            let want = if left >= buf.len() as u64 {
                buf.len()
            } else if upto == size {
                (left as usize).next_multiple_of(IO_ALIGN)
            } else {
                (left as usize) / IO_ALIGN * IO_ALIGN
            };
            if want == 0 || at % IO_ALIGN as u64 != 0 {
                break;
            }
            match f.read_at(&mut buf[..want], at) {
                Ok(0) => return (at, h),
                Ok(n) => {
                    let n = (n as u64).min(left) as usize;
                    h.update(&buf[..n]);
                    at += n as u64;
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => {
                    log::warn!("TFDSTAGE hash: reading the stage at {at}: {e}");
                    return (at, h);
                }
            }
        }
        if at % IO_ALIGN as u64 != 0 && at < size {
            // an unaligned position other than the end: leave the rest to the commit
            break;
        }
        idle = std::time::Instant::now();
    }
    (at, h)
}

/// A FAILED reply with the real reason in words.
pub(super) fn failed(f: Failed, why: &str) -> CmdResult {
    Ok(Reply::Frame(format!("FAILED {} : {why}", f.code()).into_bytes()))
}

/// The reason a stage could not be had, as the client gets it.
pub(super) fn stage_failed(s: &Session, what: &str, e: StageError) -> CmdResult {
    warn!("{} {what}: {e:?}", s.peer());
    match e {
        StageError::Missing => failed(Failed::TransferApi, "no staged upload of this file (TFDSTAGE first)"),
        StageError::NoAttributes => failed(
            Failed::TransferApi,
            "staged uploads need user extended attributes on the server's file system",
        ),
        StageError::Foreign => failed(
            Failed::AccessDenied,
            "a file not made by tfd holds the staged upload's name",
        ),
        StageError::Busy => failed(
            Failed::TransferApi,
            "the staged upload is in use by another connection; try again in a moment",
        ),
        StageError::Fs(e) => fs_failed(&e),
    }
}

fn fs_failed(e: &FsError) -> CmdResult {
    match e {
        FsError::NotFound | FsError::NotDir => failed(Failed::NoSuchDir, "Directory does not exist."),
        FsError::NoSpace => failed(Failed::Quota, tfp_wire::status::DISK_FULL),
        FsError::QuotaFull => failed(Failed::Quota, "Quota exceeded."),
        FsError::Exists => failed(Failed::FileExists, "File already exists."),
        e if e.is_denied() => failed(Failed::AccessDenied, "Access denied to location."),
        e => failed(
            Failed::TransferApi,
            &format!("the server could not write the file: {e}"),
        ),
    }
}

/// Why a write into the stage failed, in words.
pub(super) fn write_reason(e: &std::io::Error) -> (Failed, String) {
    match e.raw_os_error() {
        Some(libc::EDQUOT) => (Failed::Quota, "Quota exceeded.".into()),
        Some(libc::ENOSPC) => (Failed::Quota, tfp_wire::status::DISK_FULL.into()),
        Some(libc::EACCES | libc::EPERM) => (Failed::AccessDenied, "Access denied to location.".into()),
        Some(libc::EFBIG) => (Failed::TransferApi, "File too large for the server.".into()),
        _ if e.to_string() == QUOTA => (Failed::Quota, "Quota exceeded.".into()),
        // a compressed block refused (`super::compress::Inflow`)
        _ if e.kind() == std::io::ErrorKind::InvalidData => (Failed::TransferApi, format!("refused: {e}")),
        _ => (Failed::TransferApi, format!("the server could not write the file: {e}")),
    }
}

/// The text of the quota's refusal inside the write loop.
const QUOTA: &str = "quota exceeded";

/// The target of a stage: a path whose final name may be uploaded to.
pub(super) fn target(s: &Session, path: &[u8]) -> Result<RelPath, Failed> {
    let p = s.path(path)?;
    check_target(s, &p, true)?;
    Ok(p)
}

/// `TFDSTAGE <size> <identity> <0|1> <path>`.
pub fn open(s: &mut Session, arg: &[u8]) -> CmdResult {
    let wire::Open {
        size,
        identity,
        fresh,
        path,
    } = wire::Open::parse(arg).ok_or(Failed::MissingParameter)?;
    let p = target(s, path)?;
    // a stage a cut commit left is held a moment by the killed upload's
    // other connections: wait for them, watching this client
    let gone_by = std::time::Instant::now() + CUT_COMMIT_WAIT;
    let opened = loop {
        match Stage::open(s.root(), &p, size, identity, fresh) {
            Err(StageError::Busy)
                if std::time::Instant::now() < gone_by
                    && !crate::session::liveness::client_gone_within(
                        std::os::fd::AsFd::as_fd(s.chan().stream()),
                        CUT_COMMIT_POLL,
                    ) => {}
            r => break r,
        }
    };
    match opened {
        Ok((stage, done)) => {
            // the whole file must fit beside everything the user stores, the
            // file it will replace included (that is still there until the
            // commit): one that cannot is refused now, holding nothing
            if let Some(b) = super::quota::budget(s, None) {
                let have = stage.file().metadata().map_or(0, |m| m.len());
                let need = size.saturating_sub(have);
                if need > b.room() {
                    super::quota::refused(s, "TFDSTAGE");
                    stage.discard();
                    return failed(
                        Failed::Quota,
                        &format!(
                            "Quota exceeded: the staged upload needs {need} more bytes, the quota leaves {}.",
                            b.room()
                        ),
                    );
                }
            }
            info!("{} TFDSTAGE {size} bytes, {} ranges kept", s.peer(), done.len());
            Ok(Reply::Data(wire::Ranges(done).encode()))
        }
        Err(e) => stage_failed(s, "TFDSTAGE", e),
    }
}

/// `TFDSTAGEPUT <path> <hpfile>`.
pub fn put(s: &mut Session, arg: &[u8]) -> CmdResult {
    logged(s, arg, "TFDSTAGEPUT", Direction::Incoming, |s, arg, t| {
        put_t(s, arg, t, Inflow::plain())
    })
}

/// `TFDSTAGEPUTZ <path> <hpfile>`: TFDSTAGEPUT whose chunks are zstd
/// blocks of one stream within the window the server offers
/// (`super::compress`); `UNKNOWN` with `compression no`.
pub fn put_blocks(s: &mut Session, arg: &[u8]) -> CmdResult {
    logged(s, arg, "TFDSTAGEPUTZ", Direction::Incoming, |s, arg, t| {
        let Some(offer) = super::compress::offer(s) else {
            return Ok(Reply::Unknown);
        };
        // the decoder is made only once its memory is claimed
        let _held = s.hold(super::compress::stream_held(s), "TFDSTAGEPUTZ")?;
        match Inflow::blocks(offer.window_log) {
            Ok(inflow) => put_t(s, arg, t, inflow),
            Err(e) => fs_failed(&e.into()),
        }
    })
}

fn put_t(s: &mut Session, arg: &[u8], t: &mut Track, mut inflow: Inflow) -> CmdResult {
    let req = tfp_wire::hpf::parse(arg, false).ok_or(Failed::MissingParameter)?;
    let p = s.path(req.path)?;
    if req.bufsz <= 0 {
        return Err(Failed::HpfBuffer.into());
    }
    let stage = match Stage::open_existing(s.root(), &p) {
        Ok(st) => st,
        Err(e) => return stage_failed(s, "TFDSTAGEPUT", e),
    };
    if req.offset > stage.size {
        return Err(Failed::HpfSeek.into());
    }
    let file = match stage.file().try_clone() {
        Ok(f) => f,
        Err(e) => return fs_failed(&e.into()),
    };
    t.path = Some(p.clone());
    let grant = (req.bufsz as u64).min(s.ctx().cfg.hpf_max_buffer) as usize;
    // no credit for the target: the stage is charged whole until its commit
    // replaces it (issue 47 finding 7: a stage of an existing file took a
    // user to 1.76× the quota for the stage's 2 days)
    let mut budget = super::quota::budget(s, None);
    // written like PUT's data (direct in full chunks): the bytes are hashed
    // here on their way, so the commit need not read them back
    let mut writer = hpf::chunk_writer(s, file, req.offset);
    let (key, epoch) = match stage.key() {
        Ok(k) => (k, stage.epoch()),
        Err(e) => return stage_failed(s, "TFDSTAGEPUT", e),
    };
    // rewriting bytes already written: a hash another session took of them
    // (in flight or by its follower) no longer proves the stage
    if stage.rewrites_at(req.offset) {
        stage.bump_generation();
    }
    let generation = stage.generation();
    // from 0, or right where this session's earlier range of the same
    // stage ended: the bytes continue the stage's hash (a follower already
    // hashing this stage goes on: it reads these bytes back in turn)
    let mut hash = match s.family_mut::<Option<InFlight>>().take() {
        Some(f) if f.key == key && f.epoch == epoch && f.generation == generation => match f.sum {
            Sum::Here(end, h) if end == req.offset => Some(h),
            Sum::Here(..) => None,
            following => {
                *s.family_mut::<Option<InFlight>>() = Some(InFlight { sum: following, ..f });
                None
            }
        },
        Some(f) => {
            let _ = f.finish();
            (req.offset == 0).then(Sha256::new)
        }
        None => (req.offset == 0).then(Sha256::new),
    };
    // a commit on another connection waits while this one writes (until
    // every chunk taken is written and recorded: let go right after)
    let writing = stage.writing();
    hpf::send_grant(s, grant)?;
    let (start, size) = (req.offset, stage.size);
    let mut written = 0u64;
    let ended = hpf::receive(&mut s.chan_mut().rx, grant, |chunk: &[u8]| {
        let chunk = inflow.data(chunk, size.saturating_sub(writer.position()))?;
        if writer.position() + chunk.len() as u64 > size {
            return Err(std::io::Error::other("data past the size the stage was opened for"));
        }
        hpf::write_within(&mut writer, chunk, &mut budget)?;
        if let Some(h) = hash.as_mut() {
            h.update(chunk);
        }
        written += chunk.len() as u64;
        // the journal names only what is written
        stage.record(start, writer.position());
        Ok(())
    });
    t.bytes = written;
    // a writer that raced this one over the same bytes (neither saw the
    // other's range when it began): every hash of them is void, before the
    // mark goes (a commit waiting for this writer then compares generations)
    if written > 0 && stage.overlaps_others(start, start + written) {
        stage.bump_generation();
    }
    drop(writing);
    let ended = ended?;
    let ended = match ended {
        PutEnd::Client(len @ (code::END | code::STOP)) if s.ctx().cfg.sync_uploads => match writer.file().sync_data() {
            Ok(()) => PutEnd::Client(len),
            Err(e) => PutEnd::WriteFailed(e),
        },
        other => other,
    };
    hpf::finish_put_owing(s, &ended, grant)?;
    match ended {
        PutEnd::WriteFailed(e) => {
            warn!("{} TFDSTAGEPUT write failed after {written} bytes: {e}", s.peer());
            if e.to_string() == QUOTA {
                super::quota::refused(s, "TFDSTAGEPUT");
            }
            let (f, why) = write_reason(&e);
            if matches!(e.raw_os_error(), Some(libc::ENOSPC | libc::EDQUOT)) || e.to_string() == QUOTA {
                // more data cannot cure it: no partial is left to hold the space
                stage.discard();
            }
            failed(f, &why)
        }
        PutEnd::Client(len) => {
            t.complete = len == code::END || len == code::STOP;
            if let Some(hash) = hash {
                let end = start + written;
                // other connections write the rest: a thread follows them,
                // so the commit is left little to read back
                let sum = match stage.clone_file() {
                    Ok(f) if end < size => {
                        let stop = Arc::new(AtomicBool::new(false));
                        let (st, h) = (stop.clone(), hash.clone());
                        match std::thread::Builder::new()
                            .name("stage-hash".into())
                            .spawn(move || follow(f, size, end, h, st))
                        {
                            Ok(t) => Sum::Following(stop, t),
                            Err(e) => {
                                warn!("{} TFDSTAGEPUT: no thread to hash the stage: {e}", s.peer());
                                Sum::Here(end, hash)
                            }
                        }
                    }
                    _ => Sum::Here(end, hash),
                };
                *s.family_mut::<Option<InFlight>>() = Some(InFlight {
                    key,
                    epoch,
                    generation,
                    sum,
                });
            }
            info!("{} TFDSTAGEPUT stored {written} bytes at {start}{inflow}", s.peer());
            Ok(Reply::Ok)
        }
    }
}

/// How long a commit waits for the stage's other writers while the bytes
/// the journal records stop growing. A writer that is alive but stalled (its
/// client stopped sending, a network that went quiet without a reset) would
/// otherwise hold the commit for as long as its session lives; 30 s outlasts
/// any pause of a connection that still moves data, and a client whose
/// commit gave up commits again once its streams end.
const WRITERS_STALL: std::time::Duration = std::time::Duration::from_secs(30);
/// How long TFDSTAGE waits for the holders of a stage left by a cut commit
/// (a killed upload's sessions are gone within moments), looking again every
/// [`CUT_COMMIT_POLL`].
const CUT_COMMIT_WAIT: std::time::Duration = std::time::Duration::from_secs(2);
const CUT_COMMIT_POLL: std::time::Duration = std::time::Duration::from_millis(10);
/// How often a waiting commit looks again (a check of a lock and the journal).
const WRITERS_POLL: std::time::Duration = std::time::Duration::from_millis(2);

/// What the stage still misses (`None`: complete) once no other connection
/// writes into it: the client commits as soon as its own connection has
/// nothing more to send, while its other connections still finish their last
/// ranges, which saves it a round trip at the end of every multi-stream
/// upload. Waits while another `TFDSTAGEPUT` holds its mark on the stage
/// ([`Stage::writing`]), and answers at once when bytes are missing and no
/// one writes; gives up after [`WRITERS_STALL`] without progress.
fn missing_after_writers(s: &Session, stage: &Stage) -> Result<Option<u64>, StageError> {
    let t0 = std::time::Instant::now();
    let (mut least, mut moved, mut waited) = (u64::MAX, t0, false);
    loop {
        // the mark before the journal: a writer records its last range
        // before it lets go, so what is missing once it let go stays missing
        let busy = stage.others_writing();
        let missing = stage.missing()?;
        if waited && (missing.is_none() || !busy) {
            info!(
                "{} TFDSTAGEDONE waited {:.3} s for the stage's other writers: {}",
                s.peer(),
                t0.elapsed().as_secs_f64(),
                missing.map_or("complete".to_string(), |n| format!("{n} bytes still missing"))
            );
        }
        let Some(n) = missing.filter(|_| busy) else {
            return Ok(missing);
        };
        if n < least {
            (least, moved) = (n, std::time::Instant::now());
        } else if moved.elapsed() >= WRITERS_STALL {
            warn!(
                "{} TFDSTAGEDONE waited {:.3} s for the stage's other writers, the last {} s without progress: {n} bytes still missing, not waiting longer",
                s.peer(),
                t0.elapsed().as_secs_f64(),
                WRITERS_STALL.as_secs()
            );
            return Ok(missing);
        }
        waited = true;
        // a commit whose client has gone answers no one: it stops waiting
        if crate::session::liveness::client_gone_within(std::os::fd::AsFd::as_fd(s.chan().stream()), WRITERS_POLL) {
            info!("{} TFDSTAGEDONE: the client left while it waited", s.peer());
            return Ok(missing);
        }
    }
}

/// `TFDSTAGEDONE <sha256> <0|1> <path>[\0<flags> <mode> <mtime>]`.
pub fn done(s: &mut Session, arg: &[u8]) -> CmdResult {
    let want = wire::Done::parse(arg).ok_or(Failed::MissingParameter)?;
    let overwrite = want.overwrite;
    let p = s.path(want.path)?;
    check_target(s, &p, overwrite)?;
    let mut stage = match Stage::open_existing(s.root(), &p) {
        Ok(st) => st,
        Err(e) => return stage_failed(s, "TFDSTAGEDONE", e),
    };
    // before this session's hash is taken: its follower goes on hashing
    // behind the writers waited for
    match missing_after_writers(s, &stage) {
        Ok(None) => {}
        Ok(Some(n)) => {
            return failed(
                Failed::TransferApi,
                &format!("the staged upload is incomplete: {n} bytes not yet sent"),
            )
        }
        Err(e) => return stage_failed(s, "TFDSTAGEDONE", e),
    }
    // what this session hashed on the way in counts while the stage is the
    // same file, not emptied since; the rest is read back
    let key = stage.key().ok();
    let (hash, from) = match s.family_mut::<Option<InFlight>>().take() {
        Some(f) if Some(f.key) == key && f.epoch == stage.epoch() && f.generation == stage.generation() => {
            match f.finish() {
                (end, h) if end <= stage.size => (h, end),
                _ => (Sha256::new(), 0),
            }
        }
        Some(f) => {
            let _ = f.finish();
            (Sha256::new(), 0)
        }
        None => (Sha256::new(), 0),
    };
    let t0 = std::time::Instant::now();
    let have = match stage.sha256_from(hash, from) {
        Ok(h) => h,
        Err(e) => return stage_failed(s, "TFDSTAGEDONE", e),
    };
    info!(
        "{} TFDSTAGEDONE: {} bytes hashed in flight, {} read back in {:.3} s",
        s.peer(),
        from,
        stage.size - from,
        t0.elapsed().as_secs_f64()
    );
    if !want.matches(&have) {
        warn!("{} TFDSTAGEDONE: SHA-256 mismatch; the stage is emptied", s.peer());
        let _ = stage.reset(None);
        return failed(
            Failed::TransferApi,
            &format!(
                "SHA-256 mismatch (server {}): the staged upload is discarded",
                String::from_utf8_lossy(&have)
            ),
        );
    }
    let size = stage.size;
    let keep = match super::backup::keep_for(s, &p) {
        Ok(k) => k,
        Err(e) => return stage_failed(s, "TFDSTAGEDONE", e.into()),
    };
    let land = super::land::landing_for(s, &p);
    match stage.commit(
        (overwrite, s.ctx().cfg.sync_uploads),
        want.attrs.unwrap_or_default(),
        keep.as_ref(),
        land.as_ref(),
    ) {
        Ok(()) => {
            info!("{} TFDSTAGEDONE: {size} bytes verified and in place", s.peer());
            Ok(Reply::Ok)
        }
        Err(e) => stage_failed(s, "TFDSTAGEDONE", e),
    }
}

/// `TFDSTAGES <0|1> <dir>`: the session user's own stages in `dir` (`1`: and
/// in every directory below it), in LSR's chunks, then `OK`. Each line:
/// `<counted> <written> <size> <mtime> <n> <stage path> <m> <target path>`:
/// the stage's apparent size (what the quota counts), the bytes its journal
/// records, the size of the source, its mtime, then its own path and its
/// target's (relative to `dir`, raw, each after its length in bytes; `0` and
/// nothing for a stage that did not record its target). Another user's
/// stages are not listed; TFPSFS and the walk as TFDLIST's.
pub fn list(s: &mut Session, arg: &[u8]) -> CmdResult {
    let wire::List { deep, dir } = wire::List::parse(arg).ok_or(Failed::MissingParameter)?;
    let p = s.path(dir)?;
    let fd = match s.root().open_dir(&p) {
        Ok(fd) => fd,
        Err(e) if e.is_denied() => return Err(Failed::AccessDenied.into()),
        Err(_) => return Err(Failed::NoSuchDir.into()),
    };
    s.check_lock_dir(&p)?;
    let id = s.secfs().id().map(<[u8]>::to_vec);
    let may = move |d: std::os::fd::BorrowedFd<'_>| {
        crate::fsys::secfs::permits(d, id.as_deref(), Some(tfp_wire::secfs::LRDIR))
    };
    let (found, truncated) = fstage::list_owned(fd, deep, s.ctx().cfg.walk_limit, &may);
    if truncated {
        warn!(
            "{} TFDSTAGES incomplete (walk_limit {}, depth or descriptors)",
            s.peer(),
            s.ctx().cfg.walk_limit
        );
    }
    let mut lines = Vec::new();
    for (rel, l) in &found {
        Listed {
            path: [&rel[..], &l.stage].concat(),
            target: l.target.as_ref().map(|t| [&rel[..], t].concat()),
            counted: l.counted,
            written: l.written,
            size: l.size,
            mtime: l.mtime,
        }
        .encode_into(&mut lines);
    }
    info!("{} TFDSTAGES: {} stages of this user", s.peer(), found.len());
    let mut left = &lines[..];
    s.send_chunks(|buf, want| {
        let n = want.saturating_sub(buf.len()).min(left.len());
        buf.extend_from_slice(&left[..n]);
        left = &left[n..];
        Ok(!left.is_empty())
    })?;
    Ok(Reply::Ok)
}

/// `TFDSTAGEDROP <path>`: removes the session user's own stage of the target
/// `path`, or, when the last component is a stage's own name
/// (`.tfd-part-s<16 hex>`, as TFDSTAGES lists it), that stage. Only a stage
/// proven the user's on the descriptor opened (owner uid, mode 0600, one
/// link, tfd's stage mark) and held by no running upload; any other file of
/// that name, another user's stage included, answers as a missing one
/// (`FAILED 9`), and a stage an upload holds `FAILED 7`. TFPSFS: DFILE.
pub fn discard(s: &mut Session, arg: &[u8]) -> CmdResult {
    let (dir_arg, last) = match arg.iter().rposition(|&b| b == b'/') {
        Some(i) => (&arg[..i], &arg[i + 1..]),
        None => (&b""[..], arg),
    };
    let (dir, name, dir_path) = if fstage::is_stage_name(last) {
        let p = s.path(dir_arg)?;
        let fd = s.root().open_dir(&p).denied_or(Failed::NoSuchFile)?;
        let name = crate::fsys::cname(last).or_failed(Failed::NoSuchFile)?;
        (fd, name, p)
    } else {
        let p = s.path(arg)?;
        if p.is_root() {
            return Err(Failed::NoSuchFile.into());
        }
        let (fd, target) = s.root().parent(&p).denied_or(Failed::NoSuchFile)?;
        let name = crate::fsys::stage::stage_name(tfd_sys::geteuid(), target.as_bytes());
        (fd, name, p.parent())
    };
    s.check_lock_dir(&dir_path)?;
    match fstage::discard_owned(std::os::fd::AsFd::as_fd(&dir), &name) {
        Ok(l) => {
            info!(
                "{} TFDSTAGEDROP: removed a stage of {} bytes ({} of {} written)",
                s.peer(),
                l.counted,
                l.written,
                l.size
            );
            Ok(Reply::Ok)
        }
        Err(DiscardError::NotOwned) => failed(Failed::NoSuchFile, "no staged upload of yours by that name"),
        Err(DiscardError::InUse) => failed(
            Failed::TransferApi,
            "the staged upload is in use by a running upload; nothing removed",
        ),
        Err(DiscardError::Io(e)) => {
            let e = std::io::Error::from_raw_os_error(e);
            warn!("{} TFDSTAGEDROP: {e}", s.peer());
            fs_failed(&e.into())
        }
    }
}
