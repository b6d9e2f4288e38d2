//! Turns the library's one [`Error`] into the `tfd_client.Error` hierarchy
//! (tfd_client/_errors.py builds the exception: one place for the mapping).

use pyo3::exceptions::PyRuntimeError;
use pyo3::prelude::*;
use pyo3::types::PyBytes;
use tfp_client::Error;

/// The tfd_client exception for a tfp-client error.
pub(crate) fn py_err(py: Python<'_>, e: Error) -> PyErr {
    py_err_at(py, e, &[])
}

/// The tfd_client exception for a tfp-client error of a call on the remote
/// paths `at` (its OSError's filename and filename2; a local file's error
/// names its own path).
pub(crate) fn py_err_at(py: Python<'_>, e: Error, at: &[&[u8]]) -> PyErr {
    let local = match e.cause() {
        Error::File { path, .. } => Some(path.clone()),
        _ => None,
    };
    let kept = e.kept().map(|k| (k.partial.clone(), k.bytes));
    let (kind, code, command, text): (&str, Option<i64>, String, String) = match e.cause() {
        Error::Refused(r) => {
            let code = r.code.number().map(i64::from);
            ("refused", code, r.command.clone(), r.text.clone())
        }
        Error::Declined { command, answer } => ("declined", Some(*answer), command.to_string(), e.to_string()),
        Error::Channel(_) => ("channel", os_error(e.cause()), String::new(), e.to_string()),
        Error::Handshake(step, st) => {
            let (code, text) = match st {
                tfp_client::Status::Failed(n, t) => (Some(*n as i64), t.clone()),
                _ => (None, e.to_string()),
            };
            ("handshake", code, step.to_string(), text)
        }
        Error::Key(_) => ("key", None, String::new(), e.to_string()),
        Error::Protocol(_) => ("protocol", None, String::new(), e.to_string()),
        Error::Local(io) | Error::File { source: io, .. } => (
            "local",
            io.raw_os_error().map(|n| n as i64),
            String::new(),
            e.to_string(),
        ),
        Error::Mismatch(_) => ("mismatch", None, String::new(), e.to_string()),
        Error::Cancelled { command } => ("cancelled", None, command.to_string(), e.to_string()),
        Error::Usage(_) => ("usage", None, String::new(), e.to_string()),
        Error::TooBig(_) => ("protocol", None, String::new(), e.to_string()),
        _ => ("other", None, String::new(), e.to_string()),
    };
    let msg = e.to_string();
    let name = |i: usize| at.get(i).map(|p| PyBytes::new(py, p).into_any());
    let (filename, filename2) = match local {
        Some(path) => (path.into_pyobject(py).ok().map(Bound::into_any), None),
        None => (name(0), name(1)),
    };
    match py
        .import("tfd_client._errors")
        .and_then(|m| m.getattr("_from_native"))
        .and_then(|f| f.call1((kind, code, command, text, msg.clone(), filename, filename2)))
    {
        Ok(v) => {
            if let Some(k) = kept {
                // a download that failed after data landed: where, for a resume
                let _ = v.setattr("kept", k);
            }
            PyErr::from_value(v)
        }
        Err(_) => PyRuntimeError::new_err(msg),
    }
}

/// The system's error number a broken channel carries (its socket's), if any.
fn os_error(e: &Error) -> Option<i64> {
    let mut at: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(x) = at {
        if let Some(io) = x.downcast_ref::<std::io::Error>() {
            return io.raw_os_error().map(i64::from);
        }
        at = x.source();
    }
    None
}

/// The `tfd_client` exception `_errors._from_native` builds for `kind`
/// (about the remote path `at`).
fn native(py: Python<'_>, kind: &str, code: Option<i64>, msg: &str, at: Option<&[u8]>) -> PyErr {
    let filename = at.map(|p| PyBytes::new(py, p));
    match py
        .import("tfd_client._errors")
        .and_then(|m| m.getattr("_from_native"))
        .and_then(|f| f.call1((kind, code, "", msg, msg, filename)))
    {
        Ok(v) => PyErr::from_value(v),
        Err(_) => PyRuntimeError::new_err(msg.to_string()),
    }
}

/// `tfd_client.HostKeyError`: the server's key is not pinned and was not
/// accepted, or is not the pinned one (`msg` names the fingerprints).
pub(crate) fn host_key(py: Python<'_>, msg: &str) -> PyErr {
    native(py, "hostkey", None, msg, None)
}

/// `tfd_client.BackupError`: a backup, a listing of snapshots or a restore
/// that could not do what it was asked, `msg` saying why in one sentence.
pub(crate) fn backup(py: Python<'_>, msg: &str) -> PyErr {
    native(py, "backup", None, msg, None)
}

/// `tfd_client.SessionBusy`: a call of a session while another call of it
/// runs (from its callback, or another thread), raised instead of waiting.
pub(crate) fn busy(py: Python<'_>) -> PyErr {
    let msg = "session busy: another call of this session is running (this is its callback, \
               or another thread's call); call again once it has returned, or use a session of its own";
    native(py, "busy", None, msg, None)
}

/// `tfd_client.SessionBusy` while a file of the session opened for writing
/// holds its connection.
pub(crate) fn lent(py: Python<'_>) -> PyErr {
    let msg = "session busy: a file of this session is open for writing and holds its connection; \
               close the file first, or use a session of its own";
    native(py, "busy", None, msg, None)
}

/// `tfd_client.SessionClosed`: a call of a closed session, `why` saying what
/// closed it.
pub(crate) fn closed(py: Python<'_>, why: &str) -> PyErr {
    native(
        py,
        "closed",
        None,
        &format!("the session is closed ({why}): connect again"),
        None,
    )
}

/// `tfd_client.DirectoryNotEmpty` (ENOTEMPTY): rmdir of a directory holding
/// `n` entries; nothing was removed.
pub(crate) fn not_empty(py: Python<'_>, path: &[u8], n: usize) -> PyErr {
    let msg = format!(
        "{}: the directory is not empty ({n} entr{}); nothing removed (rmtree removes it and everything in it)",
        tfp_client::escape::shown(path),
        if n == 1 { "y" } else { "ies" }
    );
    native(py, "notempty", Some(n as i64), &msg, Some(path))
}
