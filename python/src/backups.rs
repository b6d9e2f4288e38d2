//! Backups with history (`Session.backup`, `snapshots`, `restore`): module
//! functions on a [`Session`], each one `tfp_client::backup` call, what
//! `tf backup`, `tf backup list` and `tf restore` run. A failure of the
//! backup itself (one sentence) becomes `tfd_client.BackupError`; a
//! session's error the usual exception.

use crate::state::Session;
use pyo3::prelude::*;
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
type Listed = (String, Option<(usize, u64)>, Option<String>);

/// `snapshots`: each complete snapshot of `name`, oldest first: (its time,
/// (files, bytes) or None, why its index could not be read or None).
#[pyfunction]
pub(crate) fn snapshots(py: Python<'_>, session: PyRef<'_, Session>, name: String) -> PyResult<Vec<Listed>> {
    let l = session.run_long(py, |c, _| snapshots_of::list(c, &name))?;
    Ok(l.into_iter()
        .map(|l| match l.held {
            Ok(h) => (l.snapshot, Some(h), None),
            Err(why) => (l.snapshot, None, Some(why.0)),
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
