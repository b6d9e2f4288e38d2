//! One file up, whoever asks: tf's `put`, `sndfile` and `sup`, a file of a
//! tree that no batch carries, and the Python package's `put`. The caller
//! describes the upload ([`Request`]); [`route::choose`] alone picks the
//! protocol route from that and the link; [`send`] carries it out, falling
//! to the next route where the server lacks an extension. So tf and Python
//! send the same commands for the same request, and a rule that belongs to
//! every route (what is kept of the file, how it is verified) is written in
//! one place.

pub(crate) mod answer;
pub mod batch;
pub(crate) mod deltas;
pub(crate) mod entries;
pub mod file;
pub mod many;
pub mod outcome;
pub mod request;
mod run;

pub use file::Keep;
pub use outcome::{Failure, Sent};
pub use request::{file_name, in_dir, DeltaRule, Dest, Kind, Note, Progress, Request, Source};

use super::route::{self, Link, Route};
use crate::{Client, ClientConfig};

/// Carries out `req` by the routes [`route::choose`] gives, in order.
pub fn send(
    c: &mut Client,
    cfg: &ClientConfig,
    req: &mut Request<'_>,
    progress: &Progress<'_>,
    note: &mut dyn FnMut(Note),
) -> Result<Sent, Failure> {
    if let (Source::File(p, _), Kind::Put, None) = (&req.source, req.kind, req.new_mode) {
        use std::os::unix::fs::MetadataExt;
        req.new_mode = std::fs::metadata(p).ok().map(|m| m.mode() & 0o777);
    }
    let link = Link::of(c);
    let mut ladder = route::choose(req, link);
    if req.dest == Dest::Deferred && !matches!(ladder.first(), Some(Route::Staged { .. })) {
        // FSTAT tells a directory, and a name with nothing there, which
        // takes no delta
        let remote = run::resolve(c, req, req.remote);
        ladder = route::choose(req, link);
        return run::ladder(c, cfg, req, remote, &ladder, progress, note);
    }
    run::ladder(c, cfg, req, req.remote.to_vec(), &ladder, progress, note)
}
