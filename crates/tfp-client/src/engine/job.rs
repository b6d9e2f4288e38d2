//! What one download is: its [`Request`] and [`Target`], the journal as
//! the range writers share it ([`Book`]) and the writers ([`RangeSink`]),
//! used by the download over one session and by its streams alike.

use super::beside::Beside;
use super::journal::{Journal, Range};
use super::partial::{Partial, Slot};
use crate::engine::capped;
use crate::engine::landing::Landing;
use crate::Error;
use sha2::{Digest, Sha256};
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use tfd_sys::direct::ChunkWriter;

/// Bytes of one range between two journal updates (or a second, whichever
/// comes first): what an interruption may cost a resume.
const CHECKPOINT: u64 = 16 << 20;
const CHECKPOINT_EVERY: std::time::Duration = std::time::Duration::from_secs(1);

/// One download.
pub struct Request<'a> {
    /// The remote file.
    pub remote: &'a [u8],
    /// The local file it replaces (a regular file or nothing yet).
    pub target: Target<'a>,
    /// Connections to use (1: the caller's session only).
    pub streams: usize,
    /// The GET buffer size asked for.
    pub bufsz: i64,
    /// Continue a partial the journal proves.
    pub resume: bool,
    /// Compare end to end even when neither resumed nor parallel.
    pub verify: bool,
    /// Skip the end-to-end comparison even where the engine would make it.
    /// Only for measuring what the comparison costs (scripts/bench's verify
    /// bench); `tf` never sets it.
    pub unverified: bool,
    /// Bytes landed so far (for a progress display).
    pub progress: &'a Arc<AtomicU64>,
}

/// Where a download lands.
#[derive(Clone, Copy)]
pub enum Target<'a> {
    /// A file the user named (its directory is looked up by path once).
    Path(&'a Path),
    /// File `rel` below a tree's landing (`get -r`, `mirror`): reached only
    /// through the landing's descriptor, given the server's mtime.
    Within(&'a Landing, &'a [u8]),
    /// A file the user named whose replaced file is kept (`--backup`).
    Keeping(&'a Path, &'a std::sync::Arc<crate::engine::backup::Backups>),
}

impl<'a> From<&'a Path> for Target<'a> {
    fn from(p: &'a Path) -> Target<'a> {
        Target::Path(p)
    }
}

impl Target<'_> {
    pub(crate) fn place(&self) -> io::Result<Beside> {
        match *self {
            Target::Path(p) => Beside::path(p),
            Target::Within(l, rel) => Beside::within(l, rel),
            Target::Keeping(p, b) => Beside::path_keeping(p, Some(b.clone())),
        }
    }

    /// The mtime the landed file gets: the server's for a tree's file.
    pub(crate) fn mtime(&self, server: i64) -> Option<i64> {
        matches!(self, Target::Within(..)).then_some(server)
    }

    pub(super) fn shown(&self) -> PathBuf {
        match *self {
            Target::Path(p) | Target::Keeping(p, _) => p.to_path_buf(),
            Target::Within(l, rel) => l.path().join(std::ffi::OsStr::from_bytes(rel)),
        }
    }
}

/// A session error, with a failure of the local writes named by the file.
pub(super) fn session_or_local(e: Error, partial: &Path) -> Error {
    match e {
        Error::Local(io) => Error::file(partial, io),
        other => other,
    }
}

/// Shared by the range writers: the journal as it stands.
pub(super) struct Book {
    pub(super) journal: Journal,
    pub(super) slot: Slot,
}

impl Book {
    /// Records that `done` bytes of range `i` landed, hashing to `digest`
    /// (None: not hashed).
    pub(super) fn record(&mut self, i: usize, done: u64, digest: Option<[u8; 32]>) -> io::Result<()> {
        self.journal.ranges[i].done = done;
        self.journal.ranges[i].digest = digest;
        self.slot.store(&self.journal)
    }
}

/// The writer of one range: its own descriptor, its own hasher.
pub(super) struct RangeSink<'a> {
    pub(super) i: usize,
    pub(super) w: ChunkWriter,
    pub(super) start: u64,
    pub(super) end: u64,
    pub(super) done: u64,
    pub(super) since: u64,
    pub(super) last: std::time::Instant,
    /// The range's hash, when this download is checked end to end.
    pub(super) hash: Option<Sha256>,
    /// The whole file's hash, when the ranges are moved in file order.
    pub(super) whole: Option<Sha256>,
    pub(super) excess: u64,
    pub(super) book: &'a Mutex<Book>,
    pub(super) progress: &'a AtomicU64,
}

impl<'a> RangeSink<'a> {
    /// The writer of journal range `i`, `r` as it stands, going on from
    /// what of it landed; chunks of `direct` bytes or more written direct.
    pub(super) fn open(
        i: usize,
        r: &Range,
        partial: &Partial,
        hash: Option<Sha256>,
        book: &'a Mutex<Book>,
        progress: &'a AtomicU64,
        direct: usize,
    ) -> Result<RangeSink<'a>, Error> {
        let f = partial.writer().map_err(|e| Error::file(&partial.data, e))?;
        Ok(RangeSink {
            i,
            w: ChunkWriter::new(f, r.start + r.done, direct),
            start: r.start,
            end: r.end,
            done: r.done,
            since: 0,
            last: std::time::Instant::now(),
            hash,
            whole: None,
            excess: 0,
            book,
            progress,
        })
    }

    pub(super) fn take(&mut self, buf: &[u8]) -> io::Result<()> {
        let room = (self.end - self.start - self.done) as usize;
        let n = buf.len().min(room);
        if n > 0 {
            self.w.write_chunk(&buf[..n])?;
            if let Some(h) = self.hash.as_mut() {
                h.update(&buf[..n]);
            }
            if let Some(h) = self.whole.as_mut() {
                h.update(&buf[..n]);
            }
            self.done += n as u64;
            self.since += n as u64;
            self.progress.fetch_add(n as u64, Ordering::Relaxed);
            if self.since >= CHECKPOINT || self.last.elapsed() >= CHECKPOINT_EVERY {
                self.checkpoint()?;
            }
        }
        self.excess += (buf.len() - n) as u64;
        if self.excess > capped::MAX_EXCESS {
            return Err(io::Error::other(format!(
                "the server sent more than the {} bytes it announced; broken off",
                self.end
            )));
        }
        Ok(())
    }

    pub(super) fn checkpoint(&mut self) -> io::Result<()> {
        self.since = 0;
        self.last = std::time::Instant::now();
        let digest = self.hash.clone().map(|h| h.finalize().into());
        let mut b = self.book.lock().unwrap_or_else(|p| p.into_inner());
        b.record(self.i, self.done, digest)
    }
}

pub(super) fn req_size(book: &Mutex<Book>) -> u64 {
    book.lock().unwrap_or_else(|p| p.into_inner()).journal.source.size
}

/// After one range's GET: its last bytes journaled, its outcome judged.
pub(super) fn finish_range(st: Result<(), Error>, sink: &mut RangeSink<'_>, partial: &Partial) -> Result<(), Error> {
    // what landed is recorded whatever happened, for a resume
    let rec = sink.checkpoint();
    match st {
        Ok(()) => {}
        Err(e) => return Err(session_or_local(e, &partial.data)),
    }
    rec.map_err(|e| Error::file(&partial.journal, e))?;
    let want = sink.end - sink.start;
    if sink.done != want || sink.excess > 0 {
        return Err(Error::Mismatch(format!(
            "the server announced {} bytes and sent {}; not kept (changed during the transfer?)",
            sink.end,
            sink.start + sink.done + sink.excess
        )));
    }
    Ok(())
}
