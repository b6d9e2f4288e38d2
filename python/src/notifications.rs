//! Notification mode (tfp_client::notify): the session entering it for good
//! with STARTNTFY, and the answers Python names.

use crate::errors::py_err;
use crate::state::{Conn, Session};
use pyo3::prelude::*;
use tfp_client::notify::{Answer, Notifications};
use tfp_client::Error;

/// The answer to a notification Python names: "keep", "delete" or "end".
pub(crate) fn answer_named(answer: &str) -> PyResult<Answer> {
    match answer {
        "keep" => Ok(Answer::Keep),
        "delete" => Ok(Answer::Delete),
        "end" => Ok(Answer::End),
        other => Err(pyo3::exceptions::PyValueError::new_err(format!(
            "answer must be 'keep', 'delete' or 'end', not {other:?}"
        ))),
    }
}

impl Session {
    /// STARTNTFY: the connection changes hands from commands to
    /// notifications (`interval` the server's pause between passes).
    pub(crate) fn start_notify(&self, py: Python<'_>, interval: &str) -> PyResult<()> {
        let mut g = self.held(py)?;
        let r = match g.take() {
            Some(Conn::Commands(c)) => py.allow_threads(|| Notifications::start(c, interval)),
            Some(n @ Conn::Notify(_)) => {
                *g = Some(n);
                Err(Error::Protocol("the session is in notification mode already".into()))
            }
            None => {
                drop(g);
                return Err(self.closed_err(py));
            }
        };
        match r {
            Ok(n) => {
                *g = Some(Conn::Notify(n));
                Ok(())
            }
            Err(e) => Err(py_err(py, e)),
        }
    }
}
