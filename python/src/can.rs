//! PUTCAN/GETCAN's cancellation points as a Python callback answers them.

use crate::pyio::Raised;
use crate::state::Session;
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use tfp_client::{CanEvent, CanOutcome, Client, Error, Flow};

impl Session {
    /// Runs a PUTCAN/GETCAN flow `f` as a long operation (Ctrl-C stops it),
    /// its steps answered by the Python callback `on` through the `cb` it is
    /// handed; an exception raised by `on`, or by the file object `f` wraps
    /// with the `Raised` it is handed, is what the caller gets.
    pub(crate) fn can_run(
        &self,
        py: Python<'_>,
        on: Option<PyObject>,
        f: impl FnOnce(&mut Client, &Raised, &mut dyn FnMut(CanEvent) -> Flow) -> Result<CanOutcome, Error> + Send,
    ) -> PyResult<(&'static str, u64)> {
        let raised = Raised::default();
        let r = self.run_long(py, |c, _| {
            let mut cb = |e| can_flow(on.as_ref(), &raised, e);
            f(c, &raised, &mut cb)
        });
        raised.over(r).map(can_outcome)
    }
}

/// A PUTCAN/GETCAN step for the Python callback `cb(kind, n, total)` and
/// its answer (None or "continue", "end", "stop", "cancel"). A callback that
/// raises, or answers anything else, stops the transfer (its exception is
/// kept for the caller).
fn can_flow(cb: Option<&PyObject>, raised: &Raised, e: CanEvent) -> Flow {
    let Some(cb) = cb else { return Flow::Continue };
    let (kind, n, total) = match e {
        CanEvent::Granted { grant } => ("granted", grant as u64, 0),
        CanEvent::Chunk { len, total } => ("chunk", len as u64, total),
        CanEvent::Window { total } => ("window", 0, total),
        CanEvent::DataEnd { total } => ("data_end", 0, total),
        _ => return Flow::Continue,
    };
    Python::with_gil(|py| {
        let answer = cb
            .call1(py, (kind, n, total))
            .and_then(|v| v.extract::<Option<String>>(py));
        match answer.as_ref().map(|a| a.as_deref()) {
            Ok(None | Some("continue")) => Flow::Continue,
            Ok(Some("end")) => Flow::End,
            Ok(Some("stop")) => Flow::Stop,
            Ok(Some("cancel")) => Flow::Cancel,
            Ok(Some(other)) => {
                raised.keep(PyValueError::new_err(format!(
                    "a PUTCAN/GETCAN callback answers None, 'continue', 'end', 'stop' or 'cancel', not '{other}'"
                )));
                Flow::Stop
            }
            Err(_) => {
                if let Err(e) = answer {
                    raised.keep(e);
                }
                Flow::Stop
            }
        }
    })
}

/// How a PUTCAN/GETCAN ended, for Python: ("completed" or the callback's
/// "end", "stop", "cancel"; the bytes moved).
fn can_outcome(o: CanOutcome) -> (&'static str, u64) {
    let how = match o {
        CanOutcome::Completed { .. } => "completed",
        CanOutcome::Ended { by: Flow::End, .. } => "end",
        CanOutcome::Ended { by: Flow::Stop, .. } => "stop",
        CanOutcome::Ended { by: Flow::Cancel, .. } => "cancel",
        CanOutcome::Ended { by: Flow::Continue, .. } => "continue",
    };
    (how, o.bytes())
}
