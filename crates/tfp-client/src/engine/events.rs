//! What a tree run ([`super::copy`], [`super::mirror`]) tells the program
//! that runs it while it works, and what it returns at the end.
//!
//! The run decides and words every message (the same sentences for `tf`, the
//! Python package and any application); the program decides where they go:
//! `tf` prints them on stderr and draws a progress bar from [`Progress`], the
//! Python package collects them. Every method has a default that does
//! nothing, so an application overrides only what it shows.

use crate::Error;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

/// Whose a failure is; a local failure weighs more (exit status 1 in `tf`)
/// than a refusal (2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Here: a local file, a local directory, the connection.
    Local,
    /// The server refused a command, or sent a name that was refused.
    Refused,
}

/// What the download engine tells while it moves one file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Said<'a> {
    /// What it decided that the user should know (a partial continued or
    /// discarded, a file moved again after a mismatch), names escaped by
    /// whoever shows it.
    Note(&'a str),
    /// `verify`'s outcome: the file landed is the server's, by SHA-256
    /// (`0x…`, the local hash), a line of its own wherever it is shown.
    Verified(&'a str),
}

/// Hooks a tree run calls as it goes. `Sync`: the pool's threads call them
/// at the same time.
pub trait Events: Sync {
    /// Something failed; `text` names the file and the cause (names
    /// escaped). It is counted in the [`Report`] too.
    fn failed(&self, _fault: Fault, _text: &str) {}
    /// Something left out on purpose or worth telling (a symlink skipped, a
    /// partial download continued), escaped like [`Events::failed`].
    fn note(&self, _text: &str) {}
    /// What a run left undone because an end does not allow it, which
    /// rsync leaves undone silently (owners a receiving side may not
    /// give): worth a line only when asked (`tf -v`), escaped like
    /// [`Events::failed`].
    fn detail(&self, _text: &str) {}
    /// A file's download was verified: its SHA-256 (`0x…`) is the
    /// server's ([`Said::Verified`]).
    fn verified(&self, _sha256: &str) {}
    /// How the failure of a session that ended under some files is worded
    /// in their messages. The default names the error itself; `tf` asks the
    /// server's port what happened ("tfd is stopping", "kicked"), as for a
    /// single transfer, rather than naming the transport's broken stream.
    fn session_error(&self, e: &Error) -> String {
        format!("the session failed: {e}")
    }
    /// The extra sessions of the pool could not be opened (followed by a
    /// [`Events::failed`] that says nothing moved).
    fn pool_failed(&self, _e: &Error) {}
    /// The files of a plan start moving: `total` of them, counted in
    /// `progress` (told once a plan, as soon as the plan is made, with the
    /// bytes it moves where the listings said every size).
    fn transferring(&self, _total: usize, _progress: &Arc<Progress>) {}
    /// The plan's files stopped moving.
    fn transferred(&self) {}
    /// An entry changes (a dry run: would change), and why, as rsync's
    /// `--itemize-changes` says it: told as the plan is settled, before
    /// the entry moves.
    fn item(&self, _item: &super::item::Item) {}
}

/// [`Events`] that tell nothing: the [`Report`] alone says what happened.
pub struct Quiet;

impl Events for Quiet {}

/// Files done and bytes moved while the files of a run move, and the bytes
/// of the files that landed (a run's summary counts those: not the bytes of
/// a file the server refused half way).
#[derive(Default)]
pub struct Progress {
    files: AtomicU64,
    bytes: AtomicU64,
    landed: AtomicU64,
    /// The counters of the files under way (the engine counts each file's
    /// own bytes), read with `bytes` and added to it when done.
    live: Mutex<Vec<Arc<FileCount>>>,
    /// The bytes the files to move hold, where the plan knows their sizes
    /// (0: not known): a progress line's whole.
    total: AtomicU64,
}

/// One file's bytes as the engine counts them while it moves.
#[derive(Default)]
pub(crate) struct FileCount {
    /// The file's bytes here (a resumed download's counted from those an
    /// earlier run left).
    pub(crate) at: Arc<AtomicU64>,
    /// Of `at`, the bytes an earlier run had moved: not moved by this one.
    pub(crate) before: AtomicU64,
}

impl FileCount {
    fn moved(&self) -> u64 {
        let at = self.at.load(Ordering::Relaxed);
        at.saturating_sub(self.before.load(Ordering::Relaxed))
    }
}

impl Progress {
    /// Files done (moved or failed).
    pub fn files(&self) -> u64 {
        self.files.load(Ordering::Relaxed)
    }

    /// Bytes moved, the files under way included.
    pub fn moved(&self) -> u64 {
        let live = self.live.lock().unwrap_or_else(|p| p.into_inner());
        self.bytes.load(Ordering::Relaxed) + live.iter().map(|c| c.moved()).sum::<u64>()
    }

    /// The bytes of the files to move, where the plan knew every size (0
    /// otherwise): what [`Progress::moved`] goes to.
    pub fn total(&self) -> u64 {
        self.total.load(Ordering::Relaxed)
    }

    /// A progress for files of these `sizes` (`None`: not known, and so
    /// no total).
    pub(crate) fn of_sizes(mut sizes: impl Iterator<Item = Option<u64>>) -> Progress {
        let total = sizes.try_fold(0u64, |a, s| s.map(|s| a.saturating_add(s))).unwrap_or(0);
        Progress {
            total: AtomicU64::new(total),
            ..Progress::default()
        }
    }

    /// Bytes of the files that landed, moved by this run.
    pub fn landed(&self) -> u64 {
        self.landed.load(Ordering::Relaxed)
    }

    pub(crate) fn file_done(&self) {
        self.files.fetch_add(1, Ordering::Relaxed);
    }

    /// The counter a batch adds its files' bytes to as they go.
    pub(crate) fn bytes(&self) -> &AtomicU64 {
        &self.bytes
    }

    /// `n` bytes of a file (of a batch) landed.
    pub(crate) fn land(&self, n: u64) {
        self.landed.fetch_add(n, Ordering::Relaxed);
    }

    /// A counter for one file, read while it moves.
    pub(crate) fn begin(&self) -> Arc<FileCount> {
        let c = Arc::new(FileCount::default());
        self.live.lock().unwrap_or_else(|p| p.into_inner()).push(c.clone());
        c
    }

    /// The file of `c` stopped moving: its bytes join the total, and the
    /// landed bytes when it `landed`.
    pub(crate) fn end(&self, c: &Arc<FileCount>, landed: bool) {
        let mut live = self.live.lock().unwrap_or_else(|p| p.into_inner());
        live.retain(|x| !Arc::ptr_eq(x, c));
        let n = c.moved();
        self.bytes.fetch_add(n, Ordering::Relaxed);
        if landed {
            self.land(n);
        }
    }
}

/// What a tree run did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Report {
    /// Files moved.
    pub transferred: usize,
    /// Failures here (local files, the connection), as told to
    /// [`Events::failed`]; one may stand for many files.
    pub local: usize,
    /// Refusals by the server and names refused from its listings.
    pub refused: usize,
    /// Partial downloads kept for a later run to continue (`resume`), with
    /// the bytes each holds.
    pub kept: Vec<(PathBuf, u64)>,
    /// Entries left out on purpose, as told to [`Events::note`] (a symlink,
    /// a special file, a download's partial).
    pub skipped: usize,
    /// A session of the run (the caller's, or one of the pool's other
    /// sessions) broke under some of its files: a try on new sessions may
    /// continue them, as after the caller's session broke (`--retries`).
    pub broken: bool,
}

impl Report {
    /// Whether everything asked for was done.
    pub fn ok(&self) -> bool {
        self.local == 0 && self.refused == 0
    }
}

/// How one file's transfer ended (a session failure is the pool's `Err`).
pub(crate) enum Done {
    Ok,
    Refused(String),
    /// Refused for want of room (`FAILED 13`: the server's disk or the
    /// user's quota is full): every file after it would be refused the same.
    NoRoom(String),
    Local(String),
}

impl Done {
    /// A refusal of the file: `code` and the server's `text`.
    pub(crate) fn refused(code: i32, text: &str) -> Done {
        let why = format!("FAILED {code}: {text}");
        match code == tfp_wire::Failed::Quota.code() as i32 {
            true => Done::NoRoom(why),
            false => Done::Refused(why),
        }
    }

    /// A refusal of the file, as the server's status said it.
    pub(crate) fn refused_as(st: &tfp_wire::Status) -> Done {
        match st {
            tfp_wire::Status::Failed(code, text) => Done::refused(*code, text),
            st => Done::Refused(crate::remote::listing::status_text(st)),
        }
    }
}

/// Counts failures as they are told: one [`Report`] built by the threads
/// of a run.
pub(crate) struct Tally<'e> {
    pub(crate) ev: &'e dyn Events,
    pub(crate) report: Report,
    /// The pool opening in the background, if the run started one
    /// ([`super::copy::take_pool`] takes it).
    pub(crate) pool: Option<super::pool::Early>,
    /// The command the run's messages start with (`put`, `get`, `mirror`):
    /// `put -r -a` runs the mirror's code and still speaks as `put`.
    pub(crate) verb: &'static str,
    /// The counters of the plan moving now ([`Tally::begin_moving`]): every
    /// part of a plan (batches, big files, deltas) counts into the one
    /// line its plan started.
    moving: Option<Arc<Progress>>,
    /// The server refused a file for want of room (its disk or the user's
    /// quota): the run sends nothing more ([`Tally::no_room`]).
    pub(crate) full: bool,
    /// The files refused so, of batches already on their way.
    roomless: usize,
}

/// The files refused for want of room that a run names, one line each; the
/// rest are counted in its summary (a quota met early in a backup of
/// thousands of files was thousands of lines).
const NAMED_ROOMLESS: usize = 10;

/// Whether a [`Tally::begin_moving`] started the line (its caller ends it).
#[must_use]
pub(crate) struct Moving(bool);

impl<'e> Tally<'e> {
    pub(crate) fn new(ev: &'e dyn Events, verb: &'static str) -> Self {
        Tally {
            ev,
            report: Report::default(),
            pool: None,
            verb,
            moving: None,
            full: false,
            roomless: 0,
        }
    }

    /// Tells how the file `what` ended; whether it was done.
    pub(crate) fn file_ended(&mut self, what: &str, d: Done) -> bool {
        match d {
            Done::Ok => return true,
            Done::Refused(why) => self.refused(format!("{what}: {why}")),
            Done::NoRoom(why) => self.no_room(what, &why),
            Done::Local(why) => self.local(format!("{what}: {why}")),
        }
        false
    }

    /// A file refused for want of room on the server: the first is told,
    /// saying the run stops there, and nothing more is sent
    /// ([`Tally::not_sent_when_full`]); of the others (of batches already
    /// on their way) the first [`NAMED_ROOMLESS`] are named, the rest
    /// counted in the run's summary.
    pub(crate) fn no_room(&mut self, what: &str, why: &str) {
        self.roomless += 1;
        self.report.refused += 1;
        self.full = true;
        let text = match self.roomless {
            1 => format!("{what}: {why}: the server has no room for more; the run stops there"),
            n if n < NAMED_ROOMLESS => format!("{what}: {why}"),
            n if n == NAMED_ROOMLESS => format!("{what}: {why} (more refused so are counted, not named)"),
            _ => return,
        };
        self.ev.failed(Fault::Refused, &text);
    }

    /// Where the server has no room for more ([`Tally::no_room`]): the `n`
    /// files a part of the run would send are counted as not stored, and
    /// `true` (the part sends nothing).
    pub(crate) fn not_sent_when_full(&mut self, n: usize) -> bool {
        if self.full {
            self.report.refused += n;
        }
        self.full
    }

    /// Starts counting a plan of files of these `sizes` (told to
    /// [`Events::transferring`]) unless a plan around this part of it
    /// already counts, or it moves no file.
    pub(crate) fn begin_moving(&mut self, sizes: impl Iterator<Item = Option<u64>>) -> Moving {
        if self.moving.is_some() {
            return Moving(false);
        }
        let sizes: Vec<Option<u64>> = sizes.collect();
        if sizes.is_empty() {
            return Moving(false);
        }
        let p = Arc::new(Progress::of_sizes(sizes.iter().copied()));
        let n = sizes.len();
        self.ev.transferring(n, &p);
        self.moving = Some(p);
        Moving(true)
    }

    /// The counters of the plan moving now (of nothing, if none was begun).
    pub(crate) fn progress(&self) -> Arc<Progress> {
        self.moving.clone().unwrap_or_default()
    }

    /// Ends the counting `m` started ([`Events::transferred`]).
    pub(crate) fn end_moving(&mut self, m: Moving) {
        if m.0 && self.moving.take().is_some() {
            self.ev.transferred();
        }
    }

    pub(crate) fn local(&mut self, msg: impl std::fmt::Display) {
        self.ev.failed(Fault::Local, &msg.to_string());
        self.report.local += 1;
    }

    pub(crate) fn refused(&mut self, msg: impl std::fmt::Display) {
        self.ev.failed(Fault::Refused, &msg.to_string());
        self.report.refused += 1;
    }

    pub(crate) fn note(&self, msg: impl std::fmt::Display) {
        self.ev.note(&msg.to_string());
    }

    /// [`Events::detail`].
    pub(crate) fn detail(&self, msg: impl std::fmt::Display) {
        self.ev.detail(&msg.to_string());
    }

    /// A note for an entry left out on purpose, counted in
    /// [`Report::skipped`].
    pub(crate) fn skipped(&mut self, msg: impl std::fmt::Display) {
        self.ev.note(&msg.to_string());
        self.report.skipped += 1;
    }

    /// Notes a session's failure `e` under some files: a broken
    /// connection makes the run one to try again ([`Report::broken`]).
    pub(crate) fn session_failed(&mut self, e: &Error) {
        self.report.broken |= !e.session_usable();
    }

    /// Files no session carried (every one of them failed).
    pub(crate) fn lost(&mut self, n: usize) {
        if n > 0 {
            self.report.broken = true;
            self.local(format!("{n} file(s) not transferred: every session failed"));
        }
    }

    pub(crate) fn failures(&self) -> usize {
        self.report.local + self.report.refused
    }
}
