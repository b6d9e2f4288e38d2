//! One file up or down through tfp-client's client engine, what `tf put`
//! and `tf get` run (the engine alone chooses the route, so the same request
//! sends the same commands as tf), as a long operation whose running count
//! `pyio::with_progress` hands to the Python progress callback as the bytes move.

use crate::pyio::with_progress;
use crate::state::Session;
use pyo3::prelude::*;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use tfp_client::engine::events::Said;
use tfp_client::engine::upload::DeltaRule;
use tfp_client::engine::{download, fetch, upload};
use tfp_client::Error;

/// rsync's `--whole-file` as Python says it (None: the link decides) in the
/// engine's words.
fn whole_file_rule(whole_file: Option<bool>) -> DeltaRule {
    match whole_file {
        None => DeltaRule::Auto,
        Some(true) => DeltaRule::Never,
        Some(false) => DeltaRule::Always,
    }
}

/// How one file moves: what Python's `put` and `get` were given.
pub(crate) struct Ask {
    pub(crate) streams: usize,
    pub(crate) bufsz: i64,
    pub(crate) resume: bool,
    pub(crate) verify: bool,
    pub(crate) whole_file: Option<bool>,
}

impl Ask {
    pub(crate) fn new(streams: usize, bufsz: i64, resume: bool, verify: bool, whole_file: Option<bool>) -> Ask {
        Ask {
            streams,
            bufsz,
            resume,
            verify,
            whole_file,
        }
    }
}

impl Session {
    /// `local` up to `remote` (`Session.put`): the remote name it landed at.
    pub(crate) fn send_file(
        &self,
        py: Python<'_>,
        local: &Path,
        remote: &[u8],
        ask: &Ask,
        progress: Option<PyObject>,
    ) -> PyResult<Vec<u8>> {
        let done = AtomicU64::new(0);
        self.run_long_at(py, &[remote], |c, cfg| {
            with_progress(
                c,
                cfg,
                || done.load(Ordering::Relaxed),
                progress.as_ref(),
                |c, cfg| {
                    let size = std::fs::metadata(local).map_err(Error::Local)?.len();
                    let mut req = upload::Request {
                        resume: ask.resume,
                        streams: ask.streams.max(1),
                        bufsz: ask.bufsz,
                        verify: ask.verify,
                        delta: whole_file_rule(ask.whole_file),
                        dest: upload::Dest::Deferred,
                        ..upload::Request::new(upload::Source::File(local, size), remote, upload::Kind::Put)
                    };
                    let total = AtomicU64::new(size);
                    let progress = upload::Progress {
                        done: &done,
                        total: &total,
                    };
                    upload::send(c, cfg, &mut req, &progress, &mut |_| {})
                        .map(|sent| sent.remote)
                        .map_err(|f| *f.error)
                },
            )
        })
    }

    /// `remote` down to `local` (`Session.get`).
    pub(crate) fn fetch_file(
        &self,
        py: Python<'_>,
        remote: &[u8],
        local: &Path,
        ask: &Ask,
        progress: Option<PyObject>,
    ) -> PyResult<()> {
        let counter = Arc::new(AtomicU64::new(0));
        let messages = Mutex::new(Vec::<String>::new());
        self.run_long_at(py, &[remote], |c, cfg| {
            with_progress(
                c,
                cfg,
                || counter.load(Ordering::Relaxed),
                progress.as_ref(),
                |c, cfg| {
                    let req = download::Request {
                        remote,
                        target: download::Target::Path(local),
                        streams: ask.streams.max(1),
                        bufsz: ask.bufsz,
                        resume: ask.resume,
                        verify: ask.verify,
                        unverified: false,
                        progress: &counter,
                    };
                    let told = AtomicU64::new(0);
                    fetch::fetch(c, cfg, &req, whole_file_rule(ask.whole_file), &told, &mut |m| {
                        let m = match m {
                            Said::Note(text) => text.to_string(),
                            Said::Verified(sha256) => format!("verified: SHA-256 {sha256}"),
                        };
                        messages.lock().unwrap_or_else(|p| p.into_inner()).push(m)
                    })
                    .map(|_| ())
                },
            )
        })
    }
}
