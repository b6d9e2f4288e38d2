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
use tfp_client::engine::item::Item;
use tfp_client::tree::filter::Filter;
use tfp_client::tree::listed::Listed;
use tfp_client::tree::mirror::{MirrorReport, Planned};
use tfp_client::tree::select::{parse_size, Select};
use tfp_client::{Client, ClientConfig, Error};

/// What a tree run told through [`Events`], kept for the Python side, and
/// the run's [`Progress`] once its files start moving.
#[derive(Default)]
pub(crate) struct Heard {
    said: Mutex<Vec<(&'static str, String)>>,
    progress: Mutex<Option<Arc<Progress>>>,
    /// The files the run moves, once it knows.
    files: AtomicU64,
    /// The items told ([`Events::item`]), and the callback each is handed
    /// to as it is told.
    items: Mutex<Vec<ItemTuple>>,
    on_item: Option<PyObject>,
}

impl Heard {
    /// A try broke and the run tries again: what the earlier tries said
    /// failed stays told as a note, since the run's outcome is the last
    /// try's (a file the broken try failed lands in the next one).
    fn tried_again(&self) {
        for (kind, text) in self.said.lock().unwrap_or_else(|p| p.into_inner()).iter_mut() {
            if *kind != "note" {
                *text = format!("(an earlier try, tried again) {text}");
                *kind = "note";
            }
        }
    }
}

/// An item as Python gets it: (action, kind, path, size, changes, line):
/// the fields of `tf --json`'s objects and `tf -i`'s line.
pub(crate) type ItemTuple = (&'static str, &'static str, Vec<u8>, u64, Vec<&'static str>, String);

/// `i` as Python gets it.
fn item_tuple(i: &Item) -> ItemTuple {
    (
        i.action.name(),
        i.kind.name(),
        i.path.clone(),
        i.size,
        i.changes.names(),
        i.line(),
    )
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
    fn verified(&self, sha256: &str) {
        self.note(&format!("verified: SHA-256 {sha256}"));
    }
    fn item(&self, item: &Item) {
        let t = item_tuple(item);
        if let Some(cb) = &self.on_item {
            Python::with_gil(|py| {
                let (a, k, p, n, c, l) = t.clone();
                if let Err(e) = cb.call1(py, ((a, k, pyo3::types::PyBytes::new(py, &p), n, c, l),)) {
                    e.print(py);
                }
            });
        }
        self.items.lock().unwrap_or_else(|p| p.into_inner()).push(t);
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
    /// One of the run's pool sessions lost its connection (tried again as
    /// the session's own broken connection is).
    pub(crate) broken: bool,
    /// How many tries the run took (`retries=`: more than one after a
    /// broken connection).
    pub(crate) tries: u32,
    /// Each entry the run changed (a dry run: would change), as
    /// (action, kind, path, size, changes, line).
    pub(crate) items: Vec<ItemTuple>,
}

/// `retries=`: the run tried again after a broken connection, as `tf
/// --retries` does (tfp_client::retry), its tries counted in the report.
pub(crate) fn again(
    cfg: &ClientConfig,
    c: &mut Client,
    retries: u32,
    heard: &Heard,
    mut once: impl FnMut(&mut Client, u32) -> Result<TreeRun, Error>,
) -> Result<TreeRun, Error> {
    let failed = |r: &TreeRun| r.local + r.refused > 0 || r.stopped;
    let each = |c: &mut Client, n: u32| {
        if n > 1 {
            heard.tried_again();
        }
        once(c, n)
    };
    let (r, tries) = tfp_client::retry::run(cfg, c, retries, each, failed, |r| r.broken);
    r.map(|r| TreeRun { tries, ..r })
}

/// What a tree call selects (issue 68), as its keyword arguments give it:
/// `(is_include, pattern)` pairs, then rsync's filter rules, both in the
/// order given; `files_from`'s paths (listed directories taken whole, as a
/// tree call is `-r`); the sizes as rsync writes them; the update modes.
#[derive(Default, FromPyObject)]
#[pyo3(from_item_all)]
pub(crate) struct Selection {
    pub(crate) filters: Vec<(bool, String)>,
    pub(crate) rules: Vec<String>,
    pub(crate) files_from: Option<Vec<String>>,
    pub(crate) max_size: Option<String>,
    pub(crate) min_size: Option<String>,
    pub(crate) update: bool,
    pub(crate) ignore_existing: bool,
    pub(crate) existing: bool,
    pub(crate) delete_excluded: bool,
}

impl Selection {
    /// [`Selection::parts`] of `select` (none given: nothing selected)
    /// with the call's `(is_include, pattern)` pairs.
    pub(crate) fn parts_with(filters: Vec<(bool, String)>, select: Option<Selection>) -> PyResult<(Filter, Select)> {
        Selection {
            filters,
            ..select.unwrap_or_default()
        }
        .parts()
    }

    /// The library's filter and selection; ValueError for a rule, a list
    /// or a size it refuses.
    pub(crate) fn parts(&self) -> PyResult<(Filter, Select)> {
        let bad = pyo3::exceptions::PyValueError::new_err;
        let mut f = Filter::new(self.filters.iter().map(|(inc, p)| (*inc, p.as_str())));
        for r in &self.rules {
            f.push_rule(r).map_err(bad)?;
        }
        if let Some(paths) = &self.files_from {
            let text = paths.join("\n");
            f.set_listed(Listed::parse(text.as_bytes(), true, "files_from").map_err(bad)?);
        }
        let size = |name: &str, v: &Option<String>| -> PyResult<Option<u64>> {
            v.as_deref()
                .map(|s| parse_size(s).ok_or_else(|| bad(format!("{name}={s:?}: not a size (e.g. 500, 100K, 1.5M)"))))
                .transpose()
        };
        let select = Select {
            max_size: size("max_size", &self.max_size)?,
            min_size: size("min_size", &self.min_size)?,
            update: self.update,
            ignore_existing: self.ignore_existing,
            existing: self.existing,
            delete_excluded: self.delete_excluded,
        };
        Ok((f, select))
    }
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
            broken: r.broken,
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
                Planned::Copy(rel) | Planned::Node(rel) => ("copy", rel),
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
        (cb, on_item): (Option<PyObject>, Option<PyObject>),
        per_file: bool,
        f: impl FnOnce(&mut Client, &ClientConfig, &Heard) -> Result<TreeRun, Error> + Send,
    ) -> PyResult<TreeRun> {
        let heard = Heard {
            on_item,
            ..Heard::default()
        };
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
        r.items = std::mem::take(&mut *heard.items.lock().unwrap_or_else(|p| p.into_inner()));
        Ok(r)
    }
}
