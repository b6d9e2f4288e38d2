//! The batch route's runner: files up in one TFDPUTMANY exchange
//! (doc/compatibility.md "Batch uploads"), a file alone (`put` over a slow
//! link or with `--verify`) or a plan's batch ([`super::many`], which groups
//! them). Each file is read once, hashed as it is sent, and checked after:
//! if its size, mtime or ctime moved while it was read, the batch sends an
//! abort trailer in place of the hash and the server keeps the old file.

use super::answer::{refusals, Refusal};
use super::entries::Entry;
use super::file::{Keep, Up};
use crate::compress::send::{block, delivery, on_link};
use crate::engine::land_attrs::{self, Carry};
use crate::engine::mtime;
use crate::engine::route::{self, Link};
use crate::engine::zpays::{self, Wire};
use crate::transfer::moved;
use crate::{Client, Error};
use sha2::{Digest, Sha256};
use std::io::Read;
use std::os::fd::AsFd;
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;
use tfp_wire::batch::framed::Framer;
use tfp_wire::batch::put::{AttrsHead, DirHead, FileHead, PutMany};
use tfp_wire::batch::{Trailer, DATA_FRAME, END, MAX_FILES};
use tfp_wire::compress::{Squeeze, HEADER_LEN};
use tfp_wire::entry::{Extra, Head, Mtime};
use tfp_wire::fstat::FileType;
use tfp_wire::xattr::Scope;
use tfp_wire::Status;

/// Whether the server takes batches (told as the session entered).
pub fn supported(c: &mut Client) -> Result<bool, Error> {
    Ok(c.caps().has(crate::caps::Ext::PutMany))
}

/// Why one file of a batch was not stored.
#[derive(Debug)]
pub enum Failure {
    /// The server refused the whole batch with this status.
    Batch(Status),
    /// The server refused this file: FAILED code and text.
    Refused(i32, String),
    /// Here: the file could not be read, or changed while it was read
    /// (nothing of it committed).
    Local(String),
}

/// One file up in a batch of its own. `tf put` takes it over a link with
/// latency, where SNDFILE waits a round trip for the server's CONT after
/// every chunk and this streams, and for `--verify`, since the server then
/// commits the file only when the SHA-256 of what it stored is the one of
/// what was read here (and never a file that changed while it was read).
/// `Ok(None)` when the server takes no batches: send it another way.
/// With `new_mode`, a new file takes the local file's mode less the
/// server's umask where the server says its batches carry it.
pub fn put_one(
    c: &mut Client,
    (local, new_mode): (&Path, bool),
    remote: &[u8],
    compress: tfp_wire::compress::Choice,
    bytes: &AtomicU64,
) -> Result<Option<Result<(), Failure>>, Error> {
    if !supported(c)? {
        return Ok(None);
    }
    let u = Up {
        local: local.to_path_buf(),
        remote: remote.to_vec(),
        size: None,
        theirs: None,
    };
    let keep = Keep {
        compress,
        new_mode: new_mode && c.caps().has(crate::caps::Ext::BatchModes),
        ..Keep::default()
    };
    Ok(exchange(c, (&[&u], &[]), Ahead::Mkdirs(&[]), keep, bytes)?.and_then(|x| x.files.into_iter().next()))
}

/// Whether a batch of `n` files on `c` leaves without waiting for its
/// command's `OK`: a session told it has batches answers this OK (a batch
/// of at most MAX_FILES).
pub(crate) fn pipelines(c: &mut Client, n: usize) -> bool {
    c.caps().has(crate::caps::Ext::PutMany) && n as u64 <= MAX_FILES
}

/// The directories a batch makes before its files, parents before
/// children.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Ahead<'a> {
    /// MKDIRs in front of the command, answered first, in order (only where
    /// the batch [`pipelines`]; at most a window of them, whose answers
    /// cannot fill the socket buffers while the files are sent).
    Mkdirs(&'a [Vec<u8>]),
    /// `D <path>` entries at the batch's head, in its stream (compressed
    /// where the batch is): for a session whose probe said it takes them
    /// ([`crate::caps::Ext::BatchDirs`]). Any number, within the batch's
    /// [`MAX_FILES`] with its files.
    Entries(&'a [Vec<u8>], &'a DirModes),
}

/// The local source directories' permission bits by remote path: what a
/// new directory of a plain batch takes less the server's umask, where the
/// server's probe said it takes them ([`crate::caps::Ext::BatchModes`]).
pub(crate) type DirModes = std::collections::HashMap<Vec<u8>, u32>;

/// What a batch's exchange came to.
pub(crate) struct Exchanged {
    /// What became of the directories made ahead, in order (the MKDIRs'
    /// answers, or each entry's as one).
    pub made: Vec<Status>,
    /// Each file's outcome.
    pub files: Vec<Result<(), Failure>>,
    /// Each trailing entry's refusal, if it was refused.
    pub tail: Vec<Option<Refusal>>,
}

/// TFDPUTMANY with `files` and, in an archive batch, the entries of `tail`
/// after them (what the batch ends with: directories' attributes, set once
/// its files are in place), the directories of `ahead` made first; None
/// when the server does not know the command (remembered on the client).
pub(crate) fn exchange(
    c: &mut Client,
    (files, tail): (&[&Up], &[Entry]),
    ahead: Ahead<'_>,
    keep: Keep,
    bytes: &AtomicU64,
) -> Result<Option<Exchanged>, Error> {
    if !c.caps().has(crate::caps::Ext::PutMany) {
        return Ok(None);
    }
    let tail = if keep.archive { tail } else { &[] };
    let none = DirModes::new();
    let (ahead, dirs, modes) = match ahead {
        Ahead::Entries(d, m) => (&[][..], d, m),
        Ahead::Mkdirs(d) => (d, &[][..], &none),
    };
    let n = dirs.len() + files.len() + tail.len();
    // each file's attributes before its header, where the server takes them
    let land = match keep.land {
        Some(carry) if !files.is_empty() => land_attrs::scope(c)?.map(|scope| (carry, scope)),
        _ => None,
    };
    let mut z = squeeze(c, keep, files)?;
    // headers, data and trailers in one stream where the server takes it
    let framed = z.is_some() && crate::compress::framed(c)?;
    let line = PutMany {
        n: n as u64,
        archive: keep.archive,
        blocks: z.is_some(),
        framed,
        attrs: land.is_some(),
    }
    .line();
    // the files follow at once, the OK is read after them
    let pipelined = pipelines(c, n);
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
            Status::Ok(_) => {}
            Status::Unknown => return Err(crate::caps::contradicted(crate::caps::Ext::PutMany)),
            st => {
                let why = crate::remote::listing::status_text(&st);
                return Ok(Some(Exchanged {
                    made: dirs.iter().map(|_| st.clone()).collect(),
                    files: files.iter().map(|_| Err(Failure::Batch(st.clone()))).collect(),
                    tail: tail.iter().map(|_| Some((-1, why.clone()))).collect(),
                }));
            }
        }
    }
    let mut out: Vec<Option<Failure>> = files.iter().map(|_| None).collect();
    // nothing comes back before the end frame: gather the small frames
    c.chan.tx.hold();
    let framer = if framed { z.take().map(Framer::new) } else { None };
    let mut data = Data {
        buf: vec![0u8; DATA_FRAME + if z.is_some() { HEADER_LEN } else { 0 }],
        z: z.as_mut().map(|sq| (sq, Vec::new())),
        framer,
    };
    // a new directory's mode (its source's less the umask, with -p too)
    // only to a server whose probe said it takes them
    let modes_taken = c.caps().has(crate::caps::Ext::BatchModes);
    for d in dirs {
        let mode = modes.get(d).copied().filter(|_| modes_taken);
        data.frame(c, &dir_head(keep, d, mode))?;
    }
    for (i, u) in files.iter().enumerate() {
        if let Some(why) = send_file(c, (u, land), keep, &mut data, bytes)? {
            out[i] = Some(Failure::Local(why));
        }
    }
    for e in tail {
        data.frame(c, &e.head())?;
    }
    data.frame(c, END)?;
    data.finish(c)?;
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
    let mut tail_out: Vec<Option<Refusal>> = tail.iter().map(|_| None).collect();
    made.extend(dirs.iter().map(|_| Status::Ok(Vec::new())));
    for (i, (code, why)) in refusals(c, n)? {
        if i < dirs.len() {
            made[ahead.len() + i] = Status::Failed(code, why);
            continue;
        }
        let i = i - dirs.len();
        match i.checked_sub(files.len()) {
            Some(t) => tail_out[t] = Some((code, why)),
            None if out[i].is_none() => out[i] = Some(Failure::Refused(code, why)),
            None => {}
        }
    }
    Ok(Some(Exchanged {
        made,
        files: out.into_iter().map(|o| o.map_or(Ok(()), Err)).collect(),
        tail: tail_out,
    }))
}

/// The batch's compression, when `keep` may compress `files` over this
/// session's link ([`route::compresses_batch`]: measured, only where what
/// it saves beats the questions' round trip) and the server offers it
/// (`TFDZSTD`, asked once per session, with the framed batch's probe in
/// the same write): one zstd stream across the batch's files.
fn squeeze(c: &mut Client, keep: Keep, files: &[&Up]) -> Result<Option<Squeeze>, Error> {
    let bytes = || files.iter().map(|u| u.size()).sum();
    if !route::compresses_batch(keep.compress, Link::of(c), || {
        (Wire::of(c), bytes(), zpays::sample(files))
    }) {
        return Ok(None);
    }
    let sq = crate::compress::offer(c)?.and_then(|o| Squeeze::new(keep.compress, o));
    Ok(sq.map(|sq| on_link(c, sq)))
}

/// Where a batch's data frames are made: the file's bytes are read into
/// `buf` (behind room for a block's header when the batch compresses) and
/// sent as they are, or each as one block through the batch's [`Squeeze`]
/// (compressed into the second buffer, or raw in place).
struct Data<'a> {
    buf: Vec<u8>,
    z: Option<(&'a mut Squeeze, Vec<u8>)>,
    /// A framed batch: every frame is a record of its one stream.
    framer: Option<Framer>,
}

/// Sends a framed batch's frames that are ready (all of them with `all`),
/// each write timed for the decider.
fn send_frames(c: &mut Client, framer: &mut Framer, all: bool) -> Result<(), Error> {
    framer.frames(all, |sq, frame| {
        let t = Instant::now();
        c.chan.tx.send_frame(frame)?;
        sq.sent_on(frame.len(), t.elapsed(), || delivery(c));
        Ok(())
    })
}

impl Data<'_> {
    /// Sends one of the batch's frames other than data: as it is, or as a
    /// record of a framed batch's stream.
    fn frame(&mut self, c: &mut Client, frame: &[u8]) -> Result<(), Error> {
        let Some(framer) = self.framer.as_mut() else {
            return Ok(c.chan.tx.send_frame(frame)?);
        };
        framer.push(frame);
        send_frames(c, framer, false)
    }

    /// Sends what a framed batch still holds.
    fn finish(&mut self, c: &mut Client) -> Result<(), Error> {
        match self.framer.as_mut() {
            Some(framer) => send_frames(c, framer, true),
            None => Ok(()),
        }
    }

    /// Where the file's bytes go: after the header's room.
    fn at(&self) -> usize {
        if self.z.is_some() {
            HEADER_LEN
        } else {
            0
        }
    }

    /// Sends `buf[at..at + n]`, the file's next `n` bytes, as one frame.
    fn send(&mut self, c: &mut Client, n: usize) -> Result<(), Error> {
        if let Some(framer) = self.framer.as_mut() {
            framer.push(&self.buf[..n]);
            return send_frames(c, framer, false);
        }
        let Some((sq, out)) = self.z.as_mut() else {
            return Ok(c.chan.tx.send_frame(&self.buf[..n])?);
        };
        let frame = block(sq, out, &mut self.buf[..HEADER_LEN + n]);
        let t = Instant::now();
        c.chan.tx.send_frame(frame)?;
        let sent = frame.len();
        sq.sent_on(sent, t.elapsed(), || delivery(c));
        Ok(())
    }
}

/// Sends one file's header, data and trailer. `Some(why)` when it was not
/// sent whole (could not be read, or changed while read): its trailer then
/// aborts it, and the server keeps the old file.
/// With `land`, the kinds and scope of the attributes the file lands with:
/// read from the descriptor its data is read from, they go in an
/// attributes frame before its header.
fn send_file(
    c: &mut Client,
    (u, land): (&Up, Option<(Carry, Scope)>),
    keep: Keep,
    data: &mut Data,
    bytes: &AtomicU64,
) -> Result<Option<String>, Error> {
    let opened = std::fs::File::open(&u.local).and_then(|f| {
        let m = f.metadata()?;
        Ok((f, m))
    });
    let (mut f, before) = match opened {
        Ok((f, m)) if m.is_file() => (f, m),
        Ok(_) => return abort_empty(c, u, keep, data, "not a regular file".into()),
        Err(e) => return abort_empty(c, u, keep, data, e.to_string()),
    };
    let size = before.len();
    let attrs = land.and_then(|(carry, scope)| land_attrs::land_of(f.as_fd(), carry, scope));
    if let Some(frame) = attrs.and_then(|land| AttrsHead { land }.encode()) {
        data.frame(c, &frame)?;
    }
    data.frame(c, &header(keep, size, Some(&before), &u.remote))?;
    let mut h = Sha256::new();
    let mut left = size;
    let mut short = None;
    let at = data.at();
    while left > 0 {
        let want = (left as usize).min(data.buf.len() - at);
        let buf = &mut data.buf[at..at + want];
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
        buf[got..].fill(0);
        h.update(&*buf);
        data.send(c, want)?;
        bytes.fetch_add(want as u64, Ordering::Relaxed);
        left -= want as u64;
    }
    let changed = match f.metadata() {
        Ok(after) if moved(&before, &after) => Some("it changed while it was read".to_string()),
        Ok(_) => None,
        Err(e) => Some(e.to_string()),
    };
    if let Some(why) = short.or(changed) {
        data.frame(c, &Trailer::Abort.encode())?;
        return Ok(Some(format!("{why}; {}", crate::transfer::NOT_COMMITTED)));
    }
    data.frame(c, &Trailer::Sum(h.finalize().into()).encode())?;
    Ok(None)
}

/// A directory made ahead of a batch's files, as the batch's kind says:
/// `D <path>` (`M <mode> <path>` with the source's `mode`), or an archive
/// `D` entry giving nothing (tfd makes it as MKDIR does; its attributes,
/// where kept, come at the batches' ends).
fn dir_head(keep: Keep, path: &[u8], mode: Option<u32>) -> Vec<u8> {
    if !keep.archive {
        return DirHead { path, mode }.encode();
    }
    Entry {
        kind: Some(FileType::Dir),
        mode: None,
        mtime: None,
        path: path.to_vec(),
        target: None,
        owner: None,
        rdev: None,
    }
    .head()
}

/// A file's header as the batch's kind says: the plain one (`FileHead`)
/// or the archive one (`entry::Head`), keeping what `keep` asks of the
/// local file `m` describes (nothing when there is none: a file that could
/// not be read, whose trailer aborts it).
fn header(keep: Keep, size: u64, m: Option<&std::fs::Metadata>, remote: &[u8]) -> Vec<u8> {
    let mode = m.filter(|_| keep.mode).map(|m| m.mode());
    let mtime = m.filter(|_| keep.mtime).map(|m| keep.stamped_mtime(m.mtime()));
    if !keep.archive {
        return match m {
            Some(m) => FileHead::new(size, mode, mtime, remote)
                .new_mode(Some(m.mode()).filter(|_| keep.new_mode))
                .encode(),
            None => FileHead::unread(remote).encode(),
        };
    }
    let flag = |on: bool, f: u8| if on { f } else { 0 };
    let owner = m.filter(|_| keep.owner).map(|m| (m.uid(), m.gid()));
    Head {
        kind: Some(FileType::Regular),
        size,
        flags: flag(mode.is_some(), Head::SET_MODE)
            | flag(mtime.is_some(), Head::SET_MTIME)
            | flag(owner.is_some(), Head::SET_OWNER),
        mode: mode.map_or(0o644, |m| m & 0o7777),
        mtime: match (m, mtime) {
            (Some(m), Some(_)) => mtime::mtime_of(m),
            _ => Mtime::default(),
        },
        extra: Extra {
            owner,
            ..Extra::default()
        },
        path: remote,
        target: None,
    }
    .encode()
}

/// A file that could not be opened still takes its place in the batch: an
/// empty file, aborted.
fn abort_empty(c: &mut Client, u: &Up, keep: Keep, data: &mut Data, why: String) -> Result<Option<String>, Error> {
    data.frame(c, &header(keep, 0, None, &u.remote))?;
    data.frame(c, &Trailer::Abort.encode())?;
    Ok(Some(why))
}
