//! One file of a tree down outside a batch, through the transfer engine,
//! and the partials such files kept for a later run: what the batches (for
//! a file they leave) and the runner of many share.

use super::super::beside::Beside;
use super::super::events::Done;
use super::super::events::{Events, Progress, Said};
use super::super::landing::Landing;
use super::super::partial;
use crate::remote::listing;
use crate::{escape, Client, ClientConfig, Error};
use std::path::PathBuf;
use std::sync::Mutex;

/// The GET buffer a tree's files ask for (`tf get`'s default).
const TREE_BUFSZ: i64 = 4 << 20;

/// The partial downloads a run kept for a later resume.
#[derive(Default)]
pub struct Partials {
    files: Mutex<Vec<(PathBuf, u64)>>,
}

impl Partials {
    /// Whether the file `rel` has a partial download with a journal (only
    /// those are resumed: the rest are moved whole, unverified, as usual).
    pub(crate) fn resumable(land: &Landing, rel: &[u8]) -> bool {
        Beside::within(land, rel).is_ok_and(|b| partial::has_journal(&b))
    }

    fn add(&self, k: &crate::Kept) {
        self.files
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push((k.partial.clone(), k.bytes));
    }

    pub(crate) fn into_inner(self) -> Vec<(PathBuf, u64)> {
        self.files.into_inner().unwrap_or_else(|p| p.into_inner())
    }
}

/// One file of a tree down through the transfer engine: its partial and
/// journal beside its final name in the landing (never reached by a path
/// looked up again), kept only when exactly the size the server announced
/// came, renamed over the name with the server's mtime; continued as far as
/// its journal proves when `resume`. A failure that kept a partial records
/// it in `kept`.
#[allow(clippy::too_many_arguments)]
pub(crate) fn receive(
    c: &mut Client,
    cfg: &ClientConfig,
    land: &Landing,
    rel: &[u8],
    remote: &[u8],
    resume: bool,
    p: &Progress,
    kept: &Partials,
    ev: &dyn Events,
) -> Result<Done, Error> {
    let counter = p.begin();
    let req = super::Request {
        remote,
        target: super::Target::Within(land, rel),
        streams: 1,
        bufsz: TREE_BUFSZ,
        resume,
        verify: false,
        unverified: false,
        progress: &counter.at,
    };
    // the engine names the file by its local path, which holds the server's name
    let r = super::download_counted(c, cfg, &req, &counter.before, &mut |m| match m {
        Said::Note(m) => ev.note(&escape::shown_text(m)),
        Said::Verified(h) => ev.verified(h),
    });
    p.end(&counter, r.is_ok());
    let e = match r {
        Ok(()) => return Ok(Done::Ok),
        Err(e) => e,
    };
    if let Some(k) = e.kept() {
        kept.add(k);
    }
    // one file's failure is told and the run goes on; a failed session ends it
    Ok(match e.cause() {
        Error::Refused(r) => Done::Refused(listing::status_text(&r.reply)),
        Error::Cancelled { .. } => Done::Refused(e.cause().to_string()),
        Error::Local(_) | Error::File { .. } | Error::Usage(_) | Error::Mismatch(_) => {
            Done::Local(escape::shown_text(&e.cause().to_string()))
        }
        _ => return Err(e.into_cause()),
    })
}
