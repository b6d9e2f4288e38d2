//! Uploads that land whole or not at all, over one connection or many, and
//! that resume only what they can prove: the client side of tfd's staged
//! uploads (doc/compatibility.md "Staged uploads").
//!
//! The server keeps the data in a hidden stage beside the target, with a
//! journal of the source's identity and the ranges written; this side asks
//! which ranges the stage already holds for this same source, sends the
//! others (split over `streams` connections, the first over the session that
//! commits, whose server side hashes what it writes from offset 0 on the way
//! to its disk), and commits with the SHA-256 of the local file, hashed while
//! the data moves. The server renames the stage
//! over the target only when every byte is there and the hashes match; a
//! mismatch empties the stage, and the whole file is moved again once before
//! the upload fails. Whatever interrupts it, the target stays as it was and
//! what was written stays in the stage for the next `--resume`.

pub mod held;
mod request;
mod send;

pub use request::Request;

use crate::replies::Split;
use crate::spare::Opening;
use crate::{Client, ClientConfig, Error};
use send::{first_bufsz, send_all, settle_request, unsettled};
use sha2::{Digest, Sha256};
use std::fs::File;
use std::io::{Seek, SeekFrom};
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::sync::atomic::AtomicU64;
use tfd_sys::IO_ALIGN;
use tfp_wire::stage::{self as wire, listing, listing::Listed};
use tfp_wire::Status;

/// How a staged upload went.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Report {
    /// Bytes the stage already held for this source (kept by a resume).
    pub kept: u64,
    /// Bytes sent.
    pub sent: u64,
    /// The first commit found a mismatch, and everything was moved again.
    pub moved_again: bool,
    /// The local SHA-256 (`0x…`), as the server verified it.
    pub sha256: String,
    /// A resume found the remote file already this file whole (the same
    /// size and SHA-256): nothing was sent, nothing replaced.
    pub unchanged: bool,
    /// `-S`: bytes of holes the stage made without their zeros sent.
    pub holes: u64,
    /// `-S`: the file has holes the server could not make (an older tfd):
    /// their zeros were sent and land allocated.
    pub holes_refused: bool,
}

/// For a resume: whether the remote file is already the local one whole,
/// by its size (FSTAT) and then, only when that matches, both SHA-256s (the
/// server's SHA256). Its hash (`0x…`) when it is; `None` when the remote
/// file is missing, another size or content, or the server cannot hash it:
/// the stage's rules apply then.
pub fn already_there(c: &mut Client, local: &Path, remote: &[u8], size: u64) -> Result<Option<String>, Error> {
    let st = match crate::remote::listing::fstat(c, remote).split()? {
        Ok(st) => st,
        Err(_) => return Ok(None),
    };
    if st.kind != crate::remote::listing::Kind::File || st.size != size {
        return Ok(None);
    }
    let here = crate::engine::digest::sha256_file(local).map_err(Error::Local)?;
    Ok(match c.call("SHA256", remote)? {
        Status::Ok(d) if d == here.as_bytes() => Some(here),
        _ => None,
    })
}

/// Whether `e` says the server has no staged uploads (not tfd, or an older
/// one: it answered `UNKNOWN` to TFDSTAGE). Nothing was sent; a caller that
/// still wants the file there falls back to a plain PUT.
pub fn unsupported(e: &Error) -> bool {
    e.refusal()
        .is_some_and(|r| r.command == wire::OPEN && r.code == tfp_wire::Code::Unknown)
}

/// The source's identity as the stage's journal keeps it: size, modification
/// time, inode and a hash of its first and last 64 KiB. A resume continues
/// only a stage opened for the same identity, and the final SHA-256 catches
/// what the identity cannot (an edit within the same nanosecond).
pub fn identity(f: &File) -> std::io::Result<String> {
    let m = f.metadata()?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 64 * 1024];
    let mut g = f.try_clone()?;
    for at in [0, m.len().saturating_sub(buf.len() as u64)] {
        g.seek(SeekFrom::Start(at))?;
        let n = tfp_channel::read_full(&mut g, &mut buf)?;
        h.update(&buf[..n]);
    }
    let d = h.finalize();
    let probe = tfp_wire::hex::encode(&d[..8]);
    Ok(format!(
        "{}:{}.{}:{}:{probe}",
        m.len(),
        m.mtime(),
        m.mtime_nsec(),
        m.ino()
    ))
}

/// Whether `reply` to a commit with the file's attributes is a tfd's that
/// does not know them: it takes the NUL before them for part of the path,
/// and refuses such a path as invalid (`FAILED 1`) before anything else; or
/// one that knows them but not a new file's mode
/// ([`tfp_wire::stage::Attrs::new_mode`]), which refuses the command as
/// malformed, also before anything else.
fn older_commit(reply: &Status) -> bool {
    use tfp_wire::Failed;
    let older = |code: i32| {
        [Failed::AccessDenied, Failed::MissingParameter]
            .iter()
            .any(|f| code == i32::from(f.code()))
    };
    matches!(reply, Status::Failed(code, _) if older(*code))
}

/// The ranges of `[0, size)` not in `done` (sorted, disjoint), cut into
/// about `streams` pieces of similar size, inner cuts on 4 KiB boundaries.
pub fn pieces(size: u64, done: &[(u64, u64)], streams: usize) -> Vec<(u64, u64)> {
    let mut gaps = Vec::new();
    let mut at = 0;
    for &(a, b) in done {
        if a > at {
            gaps.push((at, a.min(size)));
        }
        at = at.max(b);
    }
    if at < size {
        gaps.push((at, size));
    }
    let missing: u64 = gaps.iter().map(|(a, b)| b - a).sum();
    let each = missing
        .div_ceil(streams.max(1) as u64)
        .next_multiple_of(IO_ALIGN as u64)
        .max(IO_ALIGN as u64);
    let mut out = Vec::new();
    for (mut a, b) in gaps {
        while b - a > each {
            out.push((a, a + each));
            a += each;
        }
        if b > a {
            out.push((a, b));
        }
    }
    out
}

/// Byte ranges `[start, end)`.
type Ranges = Vec<(u64, u64)>;

/// Opens the stage: the ranges it holds for this source. With `ahead`
/// (a fresh upload), the first range's TFDSTAGEPUT (from 0, with that
/// buffer) goes in the same write, right behind TFDSTAGE: a fresh stage
/// holds nothing, so what to send first is known before the answer, and
/// the data leaves a round trip sooner. On a refusal that request is
/// answered too (refused in turn, as there is no stage; or granted onto an
/// older stage, and then ended at once, nothing written), so the session
/// stays in step.
fn open_stage(
    c: &mut Client,
    req: &Request<'_>,
    size: u64,
    id: &str,
    fresh: bool,
    ahead: Option<i64>,
) -> Result<Ranges, Error> {
    let open = wire::Open {
        size,
        identity: id.as_bytes(),
        fresh,
        path: req.remote,
    };
    c.chan.tx.hold();
    c.chan.tx.send_frame(&wire::frame(wire::OPEN, &open.encode()))?;
    if let Some(bufsz) = ahead {
        c.hpf_request(req.put_command(), req.remote, 0, bufsz, None)?;
    }
    c.chan.tx.release()?;
    match Status::parse(&c.chan.rx.recv_frame()?) {
        Status::Ok(d) => wire::Ranges::parse(&d)
            .map(|r| r.0)
            .ok_or_else(|| Error::Protocol("TFDSTAGE: unreadable ranges".into())),
        st => {
            if let Some(bufsz) = ahead {
                settle_request(c, req, bufsz)?;
            }
            Err(Error::refused(wire::OPEN, st))
        }
    }
}

/// The ranges the stage holds (`done`) and the `holes` of the local file
/// it takes as holes (TFDSTAGEHOLE), those told in `report`.
fn with_holes(
    c: &mut Client,
    req: &Request<'_>,
    done: Ranges,
    holes: &[(u64, u64)],
    report: &mut Report,
) -> Result<Ranges, Error> {
    let inside = |&(a, b): &(u64, u64)| done.iter().any(|&(x, y)| x <= a && b <= y);
    let todo: Ranges = holes.iter().copied().filter(|h| !inside(h)).collect();
    let took = crate::sparse::stage_holes(c, req.remote, &todo)?;
    report.holes = took.iter().map(|(a, b)| b - a).sum();
    report.holes_refused = took.len() < todo.len();
    Ok(crate::sparse::merged(&done, &took))
}

/// Uploads `req.local` to `req.remote` through a stage. `c` is a logged-in
/// connection (more are opened from `cfg` for the streams). In place and
/// verified, the [`Report`]; a refusal (the server's reason; the target is
/// as it was) is [`Error::Refused`], and a server without staged uploads
/// refuses TFDSTAGE with `UNKNOWN` ([`unsupported`]).
pub fn put(c: &mut Client, cfg: &ClientConfig, req: &Request<'_>, progress: &AtomicU64) -> Result<Report, Error> {
    let f = File::open(req.local).map_err(Error::Local)?;
    let before = f.metadata().map_err(Error::Local)?;
    let size = before.len();
    let id = identity(&f).map_err(Error::Local)?;
    // plain put's rule: a file that changed while it was read is not committed
    let changed = || crate::transfer::changed_while_read(&before, &f);
    let attrs = std::cell::Cell::new(req.attrs);
    // sftp's reput and lftp send nothing onto a file that is already whole
    if req.resume {
        if let Some(sha256) = already_there(c, req.local, req.remote, size)? {
            return Ok(Report {
                kept: size,
                sha256,
                unchanged: true,
                ..Report::default()
            });
        }
    }
    // the streams' sessions open while this one opens the stage: their
    // handshakes cost no round trips of their own before the data
    let mut early = Opening::start(cfg, req.streams.saturating_sub(1));
    // -S: the holes go as TFDSTAGEHOLE, not as zeros
    let holes = match cfg.sparse {
        true => crate::sparse::local_holes(&f, size),
        false => Vec::new(),
    };
    // a fresh upload asks its first range with the stage (unless a hole
    // may stand there)
    let ahead = (!req.resume && holes.is_empty())
        .then(|| pieces(size, &[], req.streams))
        .filter(|todo| todo.first().is_some_and(|&(a, _)| a == 0));
    let mut asked = ahead.as_ref().map(|todo| first_bufsz(req, todo));
    let done = open_stage(c, req, size, &id, !req.resume, asked)?;
    let mut report = Report {
        kept: done.iter().map(|(a, b)| b - a).sum(),
        ..Report::default()
    };
    let mut done = with_holes(c, req, done, &holes, &mut report)?;
    // the local hash runs beside the transfer, not after it; the commit
    // can go behind the last range once it is known
    let local = std::sync::OnceLock::new();
    std::thread::scope(|scope| {
        let hasher = scope.spawn(|| {
            let _ = local.set(crate::engine::digest::sha256_file(req.local)?);
            Ok::<_, std::io::Error>(())
        });
        let mut hasher = Some(hasher);
        let commit_arg = |sha: &str| {
            wire::Done {
                sha256: sha.as_bytes(),
                overwrite: req.overwrite,
                path: req.remote,
                attrs: attrs.get(),
            }
            .encode()
        };
        loop {
            let todo = pieces(size, &done, req.streams);
            report.sent += todo.iter().map(|(a, b)| b - a).sum::<u64>();
            let mut commit = |c: &mut Client| -> Result<bool, Error> {
                // every byte is sent: the hash, reading the same file beside
                // the sending, is moments behind at most, and waiting for it
                // here costs less than the round trip of a commit sent after
                // the stream's answer (a loaded machine lagged it so)
                let sha = loop {
                    if let Some(sha) = local.get() {
                        break sha;
                    }
                    if hasher.as_ref().map_or(true, |h| h.is_finished()) {
                        return Ok(false);
                    }
                    std::thread::sleep(std::time::Duration::from_millis(1));
                };
                if changed().is_some() {
                    return Ok(false);
                }
                c.chan.tx.send_frame(&wire::frame(wire::DONE, &commit_arg(sha)))?;
                Ok(true)
            };
            let sent = send_all(c, cfg, req, &todo, progress, &mut early, asked.take(), &mut commit)?;
            let early_reply = match (sent.reply, sent.committed) {
                (Some(r), _) => Some(r),
                (None, true) => Some(Status::parse(&c.chan.rx.recv_frame().map_err(|e| unsettled(e.into()))?)),
                (None, false) => None,
            };
            // a commit in place speaks for every byte, whatever a stream said
            match (sent.result, &early_reply) {
                (Err(_), Some(Status::Ok(_))) => {}
                (Err(st), _) => return Err(Error::refused(wire::PUT, st)),
                (Ok(()), _) => {}
            }
            match hasher.take().map(|h| h.join()) {
                None | Some(Ok(Ok(()))) => {}
                Some(Ok(Err(e))) => return Err(Error::Local(e)),
                Some(Err(_)) => return Err(Error::Protocol("the hashing thread failed".into())),
            }
            let Some(sha) = local.get().cloned() else {
                return Err(Error::Protocol("the hashing thread failed".into()));
            };
            let reply = match early_reply {
                // an older tfd does not wait for the other streams: once they
                // are done, the commit goes again
                Some(Status::Failed(_, why)) if why.contains("incomplete") => None,
                other => other,
            };
            let mut reply = match reply {
                Some(r) => r,
                None => {
                    if let Some(why) = changed() {
                        return Err(Error::Local(std::io::Error::other(why)));
                    }
                    c.call(wire::DONE, &commit_arg(&sha)).map_err(unsettled)?
                }
            };
            if attrs.get().is_some() && older_commit(&reply) {
                // a tfd before the attributes refused the path they follow,
                // touching nothing: the commit again without them
                attrs.set(None);
                reply = c.call(wire::DONE, &commit_arg(&sha)).map_err(unsettled)?;
            }
            match reply {
                Status::Ok(_) => {
                    report.sha256 = sha;
                    return Ok(report);
                }
                Status::Failed(_, why) if why.contains("mismatch") && !report.moved_again => {
                    // the stage is emptied on the server: everything again, once
                    report.moved_again = true;
                    let fresh = open_stage(c, req, size, &id, true, None)?;
                    done = with_holes(c, req, fresh, &holes, &mut report)?;
                }
                // the stage gone: an earlier run of this upload, cut off
                // after it sent its commit, may have put it in place meanwhile
                Status::Failed(..) if req.resume && already_there(c, req.local, req.remote, size)?.is_some() => {
                    report.sha256 = sha;
                    return Ok(report);
                }
                st => return Err(Error::refused(wire::DONE, st)),
            }
        }
    })
}

/// The user's own stages in `dir` (`recursive`: and in every directory
/// below it). A server without the command refuses it with `UNKNOWN`
/// ([`Error::Refused`] of `TFDSTAGES`); another user's stages are never
/// listed.
pub fn list(c: &mut Client, dir: &[u8], recursive: bool) -> Result<Vec<Listed>, Error> {
    let arg = wire::List { deep: recursive, dir }.encode();
    c.chan.tx.send_frame(&wire::frame(wire::LIST, &arg))?;
    let mut out = crate::remote::listing::Bounded(Vec::new());
    match c.recv_chunks(&mut out) {
        Ok(Status::Ok(_)) => {}
        Ok(st) => return Err(Error::refused(wire::LIST, st)),
        Err(Error::Local(_)) => {
            crate::remote::listing::hang_up(c);
            return Err(Error::TooBig(crate::error::TooBig::Bytes));
        }
        Err(e) => return Err(e),
    }
    listing::parse(&out.0).ok_or_else(|| Error::Protocol("TFDSTAGES: an answer that does not parse".into()))
}

/// Removes the user's own stage of the target `path`, or the stage `path`
/// names itself (a [`Listed::path`]). Refused ([`Error::Refused`] of
/// `TFDSTAGEDROP`) when there is none of the user's by that name, or an
/// upload holds it.
pub fn discard(c: &mut Client, path: &[u8]) -> Result<(), Error> {
    match c.call(wire::DROP, path)? {
        Status::Ok(_) => Ok(()),
        st => Err(Error::refused(wire::DROP, st)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pieces_cover_the_gaps_only() {
        assert_eq!(pieces(10, &[], 1), [(0, 10)]);
        assert_eq!(pieces(10, &[(0, 10)], 4), []);
        let p = pieces(1 << 20, &[(4096, 8192)], 2);
        assert_eq!(p.iter().map(|(a, b)| b - a).sum::<u64>(), (1 << 20) - 4096);
        assert!(p.iter().all(|&(a, b)| b <= 4096 || a >= 8192));
        assert!(p.len() >= 2);
    }
}
