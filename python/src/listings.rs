//! The one-exchange listings tfd adds to LS: module functions on a
//! [`Session`] (as `crate::memory`'s), each one tfp-client call.

use crate::shapes::{full_tuples, kind_name, FullTuple, StatEntryTuple};
use crate::state::Session;
use pyo3::prelude::*;

/// TFDLIST (tfp_client::remote::listing::list_stat): every entry below
/// `dir` with its size and mtime in one exchange, as (kind, rel, size,
/// mtime); None from a server without it (the caller lists with LSR).
#[pyfunction]
pub(crate) fn list_stat(
    py: Python<'_>,
    session: PyRef<'_, Session>,
    dir: Vec<u8>,
) -> PyResult<Option<Vec<StatEntryTuple>>> {
    session.run_at(py, &[&dir], |c| {
        Ok(tfp_client::remote::listing::list_stat(c, &dir)?.map(|l| {
            l.entries
                .into_iter()
                .map(|e| (kind_name(e.entry.kind), e.entry.rel, e.size, e.mtime))
                .collect()
        }))
    })
}

/// TFDDIRENTRIES of `dir` (tfp_client::remote::dir_entries): one level
/// with modes, mtimes to the nanosecond and owners (shapes::full_tuples),
/// where TFDENTRIES walks the whole tree below; None: not served.
#[pyfunction]
pub(crate) fn list_dir_entries(
    py: Python<'_>,
    session: PyRef<'_, Session>,
    dir: Vec<u8>,
) -> PyResult<Option<Vec<FullTuple>>> {
    session.run_at(py, &[&dir], |c| {
        Ok(tfp_client::remote::dir_entries::list(c, &dir)?.map(full_tuples))
    })
}
