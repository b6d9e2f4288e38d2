//! The machine's ceiling for a sealed stream over loopback, for
//! benches/python (`tfp_client::ceiling`): measured in the bench's own run, its
//! ratio to sshfs says whether a target such as "5× sshfs" can be reached at
//! all on this machine.

use pyo3::prelude::*;

/// MB/s of data through a sealed loopback stream of `mib` MiB (0.0 when a
/// socket could not be had, so a bench reports it rather than failing).
#[pyfunction]
pub(crate) fn sealed_loopback_mbps(py: Python<'_>, mib: u64) -> f64 {
    py.allow_threads(|| tfp_client::ceiling::sealed_loopback_mbps(mib.clamp(1, 8192)))
}
