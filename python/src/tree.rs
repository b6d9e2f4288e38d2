//! Tree runs (put_tree, get_tree, mirror) for Python: what they tell through
//! [`Events`] kept in order, and their report as `tfd_client.TreeReport`.

use crate::pyio::with_progress;
use crate::state::Session;
use pyo3::prelude::*;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use tfp_client::engine::backup::Wanted;
use tfp_client::engine::events::{Events, Fault, Progress, Report};
use tfp_client::tree::filter::Filter;
use tfp_client::tree::mirror::{MirrorReport, Planned};
use tfp_client::{Client, ClientConfig, Error};

/// What a tree run told through [`Events`], kept for the Python side, and
/// the run's [`Progress`] once its files start moving.
#[derive(Default)]
pub(crate) struct Heard {
    said: Mutex<Vec<(&'static str, String)>>,
    progress: Mutex<Option<Arc<Progress>>>,
    /// The files the run moves, once it knows.
    files: AtomicU64,
}

impl Events for Heard {
    fn failed(&self, fault: Fault, text: &str) {
        let kind = match fault {
            Fault::Local => "local",
            Fault::Refused => "refused",
        };
        self.said
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push((kind, text.to_string()));
    }
    fn note(&self, text: &str) {
        self.said
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(("note", text.to_string()));
    }
    fn transferring(&self, total: usize, progress: &Arc<Progress>) {
        self.files.store(total as u64, Ordering::Relaxed);
        *self.progress.lock().unwrap_or_else(|p| p.into_inner()) = Some(progress.clone());
    }
}

/// A tree run's report as Python reads it (tfd_client.TreeReport).
#[pyclass(module = "tfd_client._native", get_all)]
#[derive(Default)]
pub(crate) struct TreeRun {
    /// Files moved (a dry run: to move).
    pub(crate) transferred: usize,
    /// Extra entries removed by a mirror's `delete`.
    pub(crate) deleted: usize,
    /// Files a mirror found the same on both sides.
    pub(crate) unchanged: usize,
    /// Failures here and refusals by the server, counted.
    pub(crate) local: usize,
    pub(crate) refused: usize,
    /// What the run told, in order: (kind, text), kind "local", "refused" or "note".
    pub(crate) said: Vec<(&'static str, String)>,
    /// Partial downloads kept for a resume: (path, bytes).
    pub(crate) kept: Vec<(PathBuf, u64)>,
    /// A mirror's dry run: (step, relative path) in the order it would run.
    pub(crate) planned: Vec<(&'static str, Vec<u8>)>,
    /// A mirror stopped before it had a plan (a side could not be read).
    pub(crate) stopped: bool,
}

/// The rules from `(is_include, pattern)` pairs in the order given.
pub(crate) fn filter(given: &[(bool, String)]) -> Filter {
    Filter::new(given.iter().map(|(inc, p)| (*inc, p.as_str())))
}

/// `(backup, backup_dir, suffix, remove_source_files)` as the Python
/// package passes them: rsync's meanings (`backup_dir` implies `backup`).
pub(crate) type Moves = Option<(bool, Option<String>, Option<String>, bool)>;

/// The tree options [`Moves`] asks for; a suffix that cannot be is a
/// ValueError.
pub(crate) fn moves_of(m: Moves) -> PyResult<(Option<Wanted>, bool)> {
    let Some((backup, dir, suffix, remove)) = m else {
        return Ok((None, false));
    };
    let wanted = (backup || dir.is_some()).then_some(Wanted { suffix, dir });
    if let Some(Err(why)) = wanted.as_ref().map(Wanted::check) {
        return Err(pyo3::exceptions::PyValueError::new_err(why));
    }
    Ok((wanted, remove))
}

impl TreeRun {
    pub(crate) fn of(r: Report) -> TreeRun {
        TreeRun {
            transferred: r.transferred,
            local: r.local,
            refused: r.refused,
            kept: r.kept,
            ..TreeRun::default()
        }
    }

    /// A mirror's report: its dry run's plan as (step, relative path), and
    /// `stopped` when it ended before it had a plan (no summary).
    pub(crate) fn of_mirror(m: MirrorReport) -> TreeRun {
        let mut r = TreeRun::of(m.report);
        r.planned = m
            .planned
            .into_iter()
            .map(|p| match p {
                Planned::Delete(rel) => ("delete", rel),
                Planned::Replace(rel) => ("replace", rel),
                Planned::Mkdir(rel) => ("mkdir", rel),
                Planned::Copy(rel) => ("copy", rel),
            })
            .collect();
        if let Some(sum) = m.summary {
            r.transferred = sum.transferred;
            r.deleted = sum.deleted;
            r.unchanged = sum.unchanged;
        } else {
            r.stopped = true;
        }
        r
    }
}

impl Session {
    /// Runs a tree run as a long operation (Ctrl-C stops it), its progress
    /// handed to `cb` as it moves (the bytes moved, or with `per_file` the pair (files
    /// done, files): what fsspec's Callbacks count), and what it told
    /// attached to its report.
    pub(crate) fn tree_run(
        &self,
        py: Python<'_>,
        cb: Option<PyObject>,
        per_file: bool,
        f: impl FnOnce(&mut Client, &ClientConfig, &Heard) -> Result<TreeRun, Error> + Send,
    ) -> PyResult<TreeRun> {
        let heard = Heard::default();
        let progress = || heard.progress.lock().unwrap_or_else(|p| p.into_inner()).clone();
        let mut r = if per_file {
            let files = || {
                let done = progress().map_or(0, |p| p.files());
                (done, heard.files.load(Ordering::Relaxed))
            };
            self.run_long(py, |c, cfg| {
                with_progress(c, cfg, files, cb.as_ref(), |c, cfg| f(c, cfg, &heard))
            })?
        } else {
            let moved = || progress().map_or(0, |p| p.moved());
            self.run_long(py, |c, cfg| {
                with_progress(c, cfg, moved, cb.as_ref(), |c, cfg| f(c, cfg, &heard))
            })?
        };
        r.said = std::mem::take(&mut *heard.said.lock().unwrap_or_else(|p| p.into_inner()));
        Ok(r)
    }
}
