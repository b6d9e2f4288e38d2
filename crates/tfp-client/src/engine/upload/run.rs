//! The runners of [`super::super::route`]'s routes: each carries one upload by its
//! route, or hands it to the next rung where the server does not take the
//! route (an extension it lacks, a delta that would not pay).

use super::super::route::{self, Link, Offset, Route};
use super::super::{delta, staged};
use super::batch::{self, Failure as BatchFailure};
use super::outcome::{Failure, Sent};
use super::request::{file_name, in_dir, Dest, Note, Progress, Request, Source};
use crate::caps::Ext;
use crate::remote::listing::{self, Kind as FileKind};
use crate::{parallel, Client, ClientConfig, Error};
use std::fs::File;
use std::io::{Seek, SeekFrom};
use std::sync::atomic::{AtomicU64, Ordering};
use tfp_wire::{Code, Failed, Status};

/// How one rung ended.
enum Rung {
    /// The file landed.
    Landed(Option<staged::Report>),
    /// The server does not take this route: try the next.
    Next,
}

/// Tries `ladder`'s routes in order until one lands or fails.
pub(super) fn ladder(
    c: &mut Client,
    cfg: &ClientConfig,
    req: &mut Request<'_>,
    mut remote: Vec<u8>,
    ladder: &[Route],
    progress: &Progress<'_>,
    note: &mut dyn FnMut(Note),
) -> Result<Sent, Failure> {
    let mut last = Route::Whole { overwrite: true };
    for &route in ladder {
        last = route;
        let before = progress.done.load(Ordering::Relaxed);
        if req.dest == Dest::Deferred && !matches!(route, Route::Staged { .. }) {
            // only a stage's TFDSTAGE tells a directory at no cost
            remote = resolve(c, req, &remote);
        }
        if let (Some(carry), Source::File(path, _), Route::Staged { .. } | Route::Delta) =
            (req.land, &req.source, route)
        {
            // the sets its commit gives the file before the rename
            let landed = crate::engine::land_attrs::register(c, path, &remote, carry);
            landed.map_err(|error| Failure {
                route,
                remote: remote.clone(),
                error: Box::new(error),
            })?;
        }
        let r = match route {
            Route::Staged { streams, resume } => stage(c, cfg, req, &mut remote, (streams, resume), progress),
            Route::Delta => delta_put(c, req, &remote, progress),
            Route::Batch => batch_put(c, req, &remote, progress),
            Route::InPlace { from, streams } => in_place(c, cfg, req, &remote, (from, streams), progress),
            Route::Sup => sup(c, req, &remote),
            Route::Whole { overwrite } => whole(c, req, &remote, overwrite, progress),
        };
        let r = r.map_err(|error| Failure {
            route,
            remote: remote.clone(),
            error: Box::new(error),
        })?;
        match r {
            Rung::Landed(staged) => return Ok(Sent { remote, staged }),
            Rung::Next => {
                if matches!(route, Route::Staged { .. }) && !req.member {
                    note(Note::NoStages);
                }
                if route == Route::Delta {
                    // what it counted of the local file is sent again whole
                    progress.done.store(before, Ordering::Relaxed);
                }
            }
        }
    }
    Err(Failure {
        route: last,
        remote,
        error: Box::new(Error::Usage("no route could carry this upload".into())),
    })
}

/// The local file of a route that needs one.
fn local<'p>(req: &'p Request<'_>) -> Result<(&'p std::path::Path, u64), Error> {
    match req.source {
        Source::File(p, n) => Ok((p, n)),
        Source::Stream(_) => Err(Error::Usage(
            "a stream is read once: no --resume, --offset, --streams or delta".into(),
        )),
    }
}

/// A [`Dest::Deferred`] destination as FSTAT tells it: inside when it is a
/// directory; `req.dest` becomes what FSTAT said of the name it returns.
pub(super) fn resolve(c: &mut Client, req: &mut Request<'_>, remote: &[u8]) -> Vec<u8> {
    let name = match &req.source {
        Source::File(p, _) => p.to_str().and_then(file_name),
        Source::Stream(_) => None,
    };
    req.dest = Dest::Known;
    match (name, std::str::from_utf8(remote), listing::fstat(c, remote)) {
        (Some(name), Ok(dest), Ok(st)) if st.kind == FileKind::Dir => in_dir(dest, name).into_bytes(),
        (_, _, Err(e)) if absent(&e) => {
            req.dest = Dest::Absent;
            remote.to_vec()
        }
        _ => remote.to_vec(),
    }
}

/// Whether FSTAT's refusal says nothing is there.
fn absent(e: &Error) -> bool {
    e.refusal()
        .is_some_and(|r| matches!(r.code, Code::Known(Failed::NoSuchFile) | Code::Known(Failed::NoSuchDir)))
}

fn stage(
    c: &mut Client,
    cfg: &ClientConfig,
    req: &mut Request<'_>,
    remote: &mut Vec<u8>,
    (streams, resume): (usize, bool),
    progress: &Progress<'_>,
) -> Result<Rung, Error> {
    let (path, _) = local(req)?;
    if !c.caps().has(Ext::Stage) {
        return Ok(Rung::Next);
    }
    let compress = match req.compress {
        choice if route::compresses(choice, Link::of(c)) => crate::compress::offer(c)?.map(|o| (choice, o)),
        _ => None,
    };
    let sreq = staged::Request {
        local: path,
        remote,
        streams,
        bufsz: req.bufsz,
        resume,
        overwrite: true,
        attrs: with_new_mode(req.attrs, req.new_mode),
        compress,
    };
    match staged::put(c, cfg, &sreq, progress.done) {
        Ok(r) => Ok(Rung::Landed(Some(r))),
        Err(e) if staged::unsupported(&e) => Err(crate::caps::contradicted(Ext::Stage)),
        Err(Error::Refused(r))
            if req.dest == Dest::Deferred && r.command == "TFDSTAGE" && r.code == Code::Known(Failed::IsDirectory) =>
        {
            // the destination is a directory: into it, as `put FILE DIR` goes
            let inside = path
                .to_str()
                .and_then(file_name)
                .zip(std::str::from_utf8(remote).ok())
                .map(|(name, dest)| in_dir(dest, name));
            let Some(inside) = inside else {
                return Err(Error::Refused(r));
            };
            *remote = inside.into_bytes();
            req.dest = Dest::Known;
            stage(c, cfg, req, remote, (streams, resume), progress)
        }
        Err(e) => Err(e),
    }
}

/// The attributes a stage's commit gives the file: the caller's, and the
/// local file's bits for a new file where the caller keeps no mode.
fn with_new_mode(attrs: Option<tfp_wire::stage::Attrs>, new_mode: Option<u32>) -> Option<tfp_wire::stage::Attrs> {
    match (attrs, new_mode) {
        (Some(a), _) if a.mode.is_some() => Some(a),
        (a, Some(m)) => Some(tfp_wire::stage::Attrs {
            new_mode: Some(m),
            ..a.unwrap_or_default()
        }),
        (a, None) => a,
    }
}

fn delta_put(c: &mut Client, req: &Request<'_>, remote: &[u8], progress: &Progress<'_>) -> Result<Rung, Error> {
    let (path, _) = local(req)?;
    let keep = super::file::Keep {
        compress: req.compress,
        ..super::file::Keep::default()
    };
    match delta::put_keeping(c, path, remote, progress.done, keep)? {
        delta::Outcome::Delta { .. } => Ok(Rung::Landed(None)),
        delta::Outcome::Whole { .. } => Ok(Rung::Next),
    }
}

fn batch_put(c: &mut Client, req: &Request<'_>, remote: &[u8], progress: &Progress<'_>) -> Result<Rung, Error> {
    let (path, _) = local(req)?;
    match batch::put_one(c, (path, req.new_mode.is_some()), remote, req.compress, progress.done)? {
        None => Ok(Rung::Next),
        Some(Ok(())) => Ok(Rung::Landed(None)),
        Some(Err(BatchFailure::Refused(code, text))) => Err(Error::refused("TFDPUTMANY", Status::Failed(code, text))),
        Some(Err(BatchFailure::Batch(st))) => Err(Error::refused("TFDPUTMANY", st)),
        Some(Err(BatchFailure::Local(why))) => Err(Error::Local(std::io::Error::other(why))),
    }
}

fn in_place(
    c: &mut Client,
    cfg: &ClientConfig,
    req: &mut Request<'_>,
    remote: &[u8],
    (from, streams): (Offset, usize),
    progress: &Progress<'_>,
) -> Result<Rung, Error> {
    let (path, size) = local(req)?;
    let offset = match from {
        Offset::At(n) => n,
        Offset::ServerSize => match c.fsize(remote) {
            Ok(n) if n <= size => n,
            // longer than this file: no prefix of it, and PUT would leave
            // its tail; SNDFILE with overwrite replaces it whole
            Ok(_) => return whole(c, req, remote, true, progress),
            Err(e) if e.is_declined() => 0,
            Err(e) => return Err(e),
        },
    };
    progress.total.store(size.saturating_sub(offset), Ordering::Relaxed);
    if streams > 1 && offset == 0 {
        // SNDFILE with overwrite empties the remote file first: no stale tail
        parallel::put(cfg, path, remote, streams, req.bufsz, progress.done)?;
        return Ok(Rung::Landed(None));
    }
    let mut f = File::open(path).map_err(Error::Local)?;
    f.seek(SeekFrom::Start(offset)).map_err(Error::Local)?;
    c.put(remote, offset, req.bufsz, &mut f, &mut adding(progress.done))?;
    Ok(Rung::Landed(None))
}

fn sup(c: &mut Client, req: &mut Request<'_>, remote: &[u8]) -> Result<Rung, Error> {
    let r = match &mut req.source {
        Source::Stream(r) => c.sup(remote, *r),
        Source::File(p, _) => {
            let mut f = File::open(p).map_err(Error::Local)?;
            c.sup(remote, &mut f)
        }
    };
    match r {
        Ok(()) => Ok(Rung::Landed(None)),
        Err(Error::Declined { answer, .. }) => Err(Error::refused(
            "SUP",
            Status::Failed(answer as i32, "SUP failed on the server".into()),
        )),
        Err(e) => Err(e),
    }
}

fn whole(
    c: &mut Client,
    req: &mut Request<'_>,
    remote: &[u8],
    overwrite: bool,
    progress: &Progress<'_>,
) -> Result<Rung, Error> {
    let mut on = adding(progress.done);
    match &mut req.source {
        Source::Stream(r) => c.sndfile(remote, overwrite, *r, &mut on)?,
        Source::File(p, _) => {
            // a file that changes while it is read is broken off, not committed
            let mut f = File::open(p).map_err(Error::Local)?;
            c.sndfile_file(remote, overwrite, &mut f, &mut on)?
        }
    }
    Ok(Rung::Landed(None))
}

/// A 2.4.1 transfer's progress callback (the running count of this file)
/// adding to `done`, which other files may share.
fn adding(done: &AtomicU64) -> impl FnMut(u64) + '_ {
    let mut last = 0;
    move |n| {
        done.fetch_add(n.saturating_sub(last), Ordering::Relaxed);
        last = n;
    }
}
