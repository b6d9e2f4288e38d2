//! Bytes of a Python object up as one file, each function one tfp-client
//! call on the object's own memory (no copy on this side): by the client
//! engine's route for bytes in memory (`tfp_client::engine::memory`, what
//! `tf put` of a file of them sends), or into a stage whose commit waits
//! (`tfp_client::engine::staged::held`: a transaction's files).

use crate::state::Session;
use pyo3::prelude::*;
use std::sync::atomic::AtomicU64;
use tfp_client::engine::staged::held::{self, Held};
use tfp_client::engine::{memory, upload};

/// `data` up to `remote` (`overwrite`: replace an existing file; else a
/// file there is refused) by the engine's route. A long operation: Ctrl-C
/// ends it.
#[pyfunction]
#[pyo3(signature = (session, remote, data, overwrite=true))]
pub(crate) fn write_whole(
    py: Python<'_>,
    session: PyRef<'_, Session>,
    remote: Vec<u8>,
    data: &[u8],
    overwrite: bool,
) -> PyResult<()> {
    let (done, total) = (AtomicU64::new(0), AtomicU64::new(data.len() as u64));
    let progress = upload::Progress {
        done: &done,
        total: &total,
    };
    session.run_long_at(py, &[&remote], |c, cfg| {
        memory::put(c, cfg, data, &remote, overwrite, &progress)
            .map(|_| ())
            .map_err(|f| *f.error)
    })
}

/// `data` staged for `remote`, not visible there until `stage_commit`:
/// what the commit needs, (remote, sha256, overwrite).
#[pyfunction]
#[pyo3(signature = (session, remote, data, overwrite=true))]
pub(crate) fn stage_whole(
    py: Python<'_>,
    session: PyRef<'_, Session>,
    remote: Vec<u8>,
    data: &[u8],
    overwrite: bool,
) -> PyResult<(Vec<u8>, String, bool)> {
    let h = session.run_long_at(py, &[&remote], |c, _| held::stage(c, &remote, data, overwrite))?;
    Ok((h.remote, h.sha256, h.overwrite))
}

/// Puts a file `stage_whole` staged in place.
#[pyfunction]
pub(crate) fn stage_commit(
    py: Python<'_>,
    session: PyRef<'_, Session>,
    remote: Vec<u8>,
    sha256: String,
    overwrite: bool,
) -> PyResult<()> {
    let h = Held {
        remote,
        sha256,
        overwrite,
    };
    session.run_at(py, &[&h.remote], |c| held::commit(c, &h))
}

/// Gives a file `stage_whole` staged up (its stage removed).
#[pyfunction]
pub(crate) fn stage_drop(py: Python<'_>, session: PyRef<'_, Session>, remote: Vec<u8>) -> PyResult<()> {
    session.run_at(py, &[&remote], |c| tfp_client::engine::staged::discard(c, &remote))
}
