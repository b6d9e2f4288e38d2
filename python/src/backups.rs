//! Backups with history (`Session.backup`, `snapshots`, `restore`): module
//! functions on a [`Session`], each one `tfp_client::backup` call, what
//! `tf backup`, `tf backup list` and `tf restore` run. A failure of the
//! backup itself (one sentence) becomes `tfd_client.BackupError`; a
//! session's error the usual exception.

use crate::state::Session;
use pyo3::prelude::*;
use pyo3::types::PyBytes;
use tfp_client::backup::{self as snapshots_of, Failure};
use tfp_client::engine::events::Quiet;
use tfp_client::Error;

/// The session's error, or the backup's own sentence kept for Python.
fn split<T>(r: Result<T, Failure>) -> Result<Result<T, String>, Error> {
    match r {
        Ok(v) => Ok(Ok(v)),
        Err(Failure::Session(e)) => Err(e),
        Err(Failure::Said(s)) => Ok(Err(s.0)),
    }
}

/// `backup`: a new complete snapshot of the local directory `src` under
/// `name` on the server; (its path `NAME/<time>`, its files, the notes the
/// run made).
#[pyfunction]
pub(crate) fn backup(
    py: Python<'_>,
    session: PyRef<'_, Session>,
    src: String,
    name: String,
) -> PyResult<(String, usize, Vec<String>)> {
    let r = session.run_long(py, |c, cfg| split(snapshots_of::make(c, cfg, &src, &name, &Quiet)))?;
    match r {
        Ok(m) => Ok((m.snapshot, m.files, m.notes)),
        Err(m) => Err(crate::errors::backup(py, &m)),
    }
}

/// One snapshot as `snapshots` gives it.
type Listed = (String, Option<(usize, u64)>, Option<String>, Option<u64>);

/// `snapshots`: each complete snapshot of `name`, oldest first: (its time,
/// (files, bytes) or None, why its index could not be read or None, the
/// bytes it added to the server's disk or None).
#[pyfunction]
pub(crate) fn snapshots(py: Python<'_>, session: PyRef<'_, Session>, name: String) -> PyResult<Vec<Listed>> {
    let l = session.run_long(py, |c, _| snapshots_of::list(c, &name))?;
    Ok(l.into_iter()
        .map(|l| match l.held {
            Ok(h) => (l.snapshot, Some(h), None, l.added),
            Err(why) => (l.snapshot, None, Some(why.0), l.added),
        })
        .collect())
}

/// `restore`: `what` (`NAME` or `NAME@SNAPSHOT`), or its `paths`, into the
/// local `dest`, checked against the snapshot's index: (the snapshot, the
/// paths it does not hold, the copies that failed, the paths that do not
/// match the index).
#[pyfunction]
pub(crate) fn restore(
    py: Python<'_>,
    session: PyRef<'_, Session>,
    what: String,
    paths: Vec<String>,
    dest: String,
) -> PyResult<(String, Vec<String>, usize, Vec<String>)> {
    let r = session.run_long(py, |c, cfg| {
        split(snapshots_of::restore(c, cfg, &what, &paths, &dest, &Quiet))
    })?;
    match r {
        Ok(r) => Ok((r.snapshot, r.missing, r.failed, r.mismatched)),
        Err(m) => Err(crate::errors::backup(py, &m)),
    }
}

/// `prune`: the backup `name`'s snapshots judged by restic's keep rules
/// (`(rule, n)`, rule one of `last`, `daily`, `weekly`, `monthly`), removed
/// unless `dry`: each snapshot, oldest first, with its fate (`kept`,
/// `would_remove`, `removed`, `not_removed`).
#[pyfunction]
pub(crate) fn prune(
    py: Python<'_>,
    session: PyRef<'_, Session>,
    name: String,
    rules: Vec<(String, u64)>,
    dry: bool,
) -> PyResult<Vec<(String, &'static str)>> {
    use snapshots_of::prune::{Fate, Rule};
    let mut typed = Vec::with_capacity(rules.len());
    for (r, n) in rules {
        typed.push((
            match r.as_str() {
                "last" => Rule::Last,
                "daily" => Rule::Daily,
                "weekly" => Rule::Weekly,
                "monthly" => Rule::Monthly,
                _ => return Err(pyo3::exceptions::PyValueError::new_err(format!("no keep rule {r:?}"))),
            },
            n,
        ));
    }
    let r = session.run_long(py, |c, cfg| {
        split(snapshots_of::prune::prune(c, cfg, &name, &typed, dry))
    })?;
    match r {
        Ok(fates) => Ok(fates
            .into_iter()
            .map(|(s, f)| {
                let f = match f {
                    Fate::Kept => "kept",
                    Fate::WouldGo => "would_remove",
                    Fate::Removed => "removed",
                    Fate::NotRemoved => "not_removed",
                };
                (s, f)
            })
            .collect()),
        Err(m) => Err(crate::errors::backup(py, &m)),
    }
}

/// What `verify` gives: (the snapshot, the files asked, the files not
/// held with why, the check's strength `keyed`/`spent`/`unproven`, the keys
/// left, the warning of a weaker check or None).
type Proven = (
    String,
    usize,
    Vec<(Py<PyBytes>, String)>,
    &'static str,
    usize,
    Option<String>,
);

/// `verify`: the server proves it holds `name`'s snapshot `snap` (the
/// newest when None): every file, or a random `sample` percent.
#[pyfunction]
pub(crate) fn verify(
    py: Python<'_>,
    session: PyRef<'_, Session>,
    name: String,
    snap: Option<String>,
    sample: Option<f64>,
) -> PyResult<Proven> {
    use snapshots_of::verify::Strength;
    if sample.is_some_and(|s| !(s > 0.0 && s <= 100.0)) {
        return Err(pyo3::exceptions::PyValueError::new_err(
            "sample is a percentage above 0 and at most 100",
        ));
    }
    let r = session.run_long(py, |c, cfg| {
        split(snapshots_of::verify::verify(c, cfg, &name, snap.as_deref(), sample))
    })?;
    let v = match r {
        Ok(v) => v,
        Err(m) => return Err(crate::errors::backup(py, &m)),
    };
    let warning = v.strength.warning(&v.label);
    let (strength, left) = match v.strength {
        Strength::Keyed { left } => ("keyed", left),
        Strength::Spent => ("spent", 0),
        Strength::Unproven => ("unproven", 0),
    };
    let bad = v
        .bad
        .iter()
        .map(|(p, why)| (PyBytes::new(py, p).unbind(), why.to_string()))
        .collect();
    Ok((v.snapshot, v.files, bad, strength, left, warning))
}
