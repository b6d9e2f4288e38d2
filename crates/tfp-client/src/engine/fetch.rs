//! One file down, whoever asks: tf's `get` and the Python package's `get`.
//! The caller describes it (the download engine's [`Request`] and whether a
//! delta may go); [`fetch`] alone chooses the route: a delta onto the local
//! copy (TFDDELTAGET) where one may go and pays, else the download engine
//! ([`download`]), so tf and Python send the same commands for the same
//! request.

use super::delta;
use super::download::{self, Request, Target};
use super::events::Said;
use super::route::{self, Link};
use super::upload::DeltaRule;
use crate::remote::same;
use crate::{Client, ClientConfig, Error};
use std::sync::atomic::{AtomicU64, Ordering};

/// How a download landed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fetched {
    /// As a delta onto the old copy, checked end to end on the way.
    Delta,
    /// By the download engine.
    Whole,
}

/// Downloads `req` by the route the request, the local copy and the link
/// call for; `told` gets the file's size as soon as the server said it (a
/// progress display's total), `say` the engine's notes.
pub fn fetch(
    c: &mut Client,
    cfg: &ClientConfig,
    req: &Request<'_>,
    rule: DeltaRule,
    told: &AtomicU64,
    say: &mut dyn FnMut(Said<'_>),
) -> Result<Fetched, Error> {
    // the local copy, looked at once: a delta's basis, or none
    let here = match req.target {
        Target::Path(p) | Target::Keeping(p, _) => Some(p.symlink_metadata()),
        Target::Within(..) => None,
    };
    // no local copy: nothing for a delta to start from, so the size is
    // FSTAT's only use, and the engine asks it with the GET, a round trip
    // less before the first byte
    let fresh = req.streams <= 1 && matches!(&here, Some(Err(e)) if e.kind() == std::io::ErrorKind::NotFound);
    if fresh {
        download::download_told(c, cfg, req, told, say)?;
        return Ok(Fetched::Whole);
    }
    let stated = match same::fstat_with_state(c, req.remote, &[]) {
        Ok((Ok(st), state)) => Some((st, state)),
        _ => None,
    };
    let total = stated.as_ref().map_or(0, |(st, _)| st.size);
    told.store(total, Ordering::Relaxed);
    // onto an old copy, over a slow link (or asked): what changed, as rsync does
    let ours = here.and_then(Result::ok).filter(|m| m.is_file()).map(|m| m.len());
    let delta = req.streams <= 1 && !req.resume && route::delta_down(total, ours, route::deltas(rule, Link::of(c)));
    if delta {
        match delta::get(c, req.remote, req.target, req.progress, cfg.compress)? {
            delta::Outcome::Delta { .. } => return Ok(Fetched::Delta),
            delta::Outcome::Whole { .. } => req.progress.store(0, Ordering::Relaxed),
        }
    }
    download::download_stated(c, cfg, req, stated, say)?;
    Ok(Fetched::Whole)
}
