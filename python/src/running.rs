//! How a [`Session`] runs a library call: the GIL released, refused in
//! notification mode, long operations on a worker thread that Ctrl-C stops,
//! and a broken channel closing the session.
//!
//! A call holds the session's connection while it runs, callbacks included
//! (a progress or PUTCAN callback, a file object PUTCAN reads). A second
//! call of the same session meanwhile (from such a callback, or from another
//! thread) never waits for it, which from a callback would be for ever: it
//! raises `tfd_client.SessionBusy` at once ([`Session::held`]).

use crate::errors::{busy, py_err, py_err_at};
use crate::state::{Conn, Session};
use pyo3::prelude::*;
use std::sync::{MutexGuard, TryLockError};
use std::time::Duration;
use tfp_client::interrupt::Cancel;
use tfp_client::notify::Notifications;
use tfp_client::{Client, ClientConfig, Error};

/// What a command gets in notification mode, where the server would take it
/// for an answer.
pub(crate) fn notifying() -> Error {
    Error::Protocol("the session is in notification mode: it takes no command".into())
}

/// What a call found: the session held by another call of it.
pub(crate) struct Busy;

/// A call's result, and whether its connection broke before a byte of the
/// answer came (a server restarted or gone: nothing of the command was
/// answered, so a call that only reads may be sent again elsewhere).
pub(crate) struct Said<T> {
    result: Result<T, Error>,
    unanswered: bool,
}

impl<T> Said<T> {
    /// `f` on `c`, with what its channel received meanwhile.
    fn of(c: &mut Client, f: impl FnOnce(&mut Client) -> Result<T, Error>) -> Said<T> {
        let before = c.received();
        let result = f(c);
        let unanswered =
            c.received() == before && result.as_ref().is_err_and(|e| matches!(e.cause(), Error::Channel(_)));
        Said { result, unanswered }
    }

    fn nothing(result: Result<T, Error>) -> Said<T> {
        Said {
            result,
            unanswered: false,
        }
    }
}

impl Session {
    /// The session's connection, never waited for: `Busy` while another call
    /// of this session holds it (a callback of a running call, another
    /// thread).
    pub(crate) fn grab(&self) -> Result<MutexGuard<'_, Option<Conn>>, Busy> {
        match self.client.try_lock() {
            Ok(g) => Ok(g),
            Err(TryLockError::Poisoned(p)) => Ok(p.into_inner()),
            Err(TryLockError::WouldBlock) => Err(Busy),
        }
    }

    /// [`Session::grab`] for Python: `SessionBusy` raised when held.
    pub(crate) fn held(&self, py: Python<'_>) -> PyResult<MutexGuard<'_, Option<Conn>>> {
        self.grab().map_err(|Busy| busy(py))
    }

    /// Runs `f` on the session in notification mode, the GIL released.
    pub(crate) fn notifying<T: Send>(
        &self,
        py: Python<'_>,
        f: impl FnOnce(&mut Notifications<Client>) -> Result<T, Error> + Send,
    ) -> PyResult<T> {
        let r = py.allow_threads(|| {
            Ok(Some(match &mut *self.grab()? {
                Some(Conn::Notify(n)) => f(n),
                Some(Conn::Commands(_)) => Err(Error::Protocol("the session is not in notification mode".into())),
                None => return Ok(None),
            }))
        });
        match r.map_err(|Busy| busy(py))? {
            Some(r) => r.map_err(|e| py_err(py, e)),
            None => Err(self.closed_err(py)),
        }
    }

    /// Runs the command `f` on the client with the GIL released; refused in
    /// notification mode, where the server takes no command.
    pub(crate) fn run<T: Send>(
        &self,
        py: Python<'_>,
        f: impl FnOnce(&mut Client) -> Result<T, Error> + Send,
    ) -> PyResult<T> {
        self.run_on(py, false, &[], f)
    }

    /// [`Session::run`] of a command on the remote paths `at`, which its
    /// error names (filename, and filename2 for a second path).
    pub(crate) fn run_at<T: Send>(
        &self,
        py: Python<'_>,
        at: &[&[u8]],
        f: impl FnOnce(&mut Client) -> Result<T, Error> + Send,
    ) -> PyResult<T> {
        self.run_on(py, false, at, f)
    }

    /// Runs `f`, which sends and reads frames of its own (the compatibility
    /// layer's channel), in either mode.
    pub(crate) fn run_raw<T: Send>(
        &self,
        py: Python<'_>,
        f: impl FnOnce(&mut Client) -> Result<T, Error> + Send,
    ) -> PyResult<T> {
        self.run_on(py, true, &[], f)
    }

    pub(crate) fn run_on<T: Send>(
        &self,
        py: Python<'_>,
        raw: bool,
        at: &[&[u8]],
        f: impl FnOnce(&mut Client) -> Result<T, Error> + Send,
    ) -> PyResult<T> {
        let r = py.allow_threads(|| {
            let mut g = self.grab()?;
            Ok(g.as_mut().map(|conn| match conn {
                Conn::Notify(_) if !raw => Said::nothing(Err(notifying())),
                conn => Said::of(conn.client_mut(), f),
            }))
        });
        self.finish_said(py, r.map_err(|Busy| busy(py))?, at)
    }

    /// Runs a long operation (a transfer, a tree) on a worker thread while
    /// the caller's thread looks for Python's signals ten times a second. A
    /// Ctrl-C (on the main thread, where Python delivers it) fires the
    /// operation's `Cancel`, carried by the config it connects with: every
    /// connection it opened, the session's own too, is shut down, the
    /// worker returns at once, the session is closed and KeyboardInterrupt
    /// is raised. Files are as any failure leaves them: old or new, a
    /// download's partial kept for a resume.
    pub(crate) fn run_long<T: Send>(
        &self,
        py: Python<'_>,
        f: impl FnOnce(&mut Client, &ClientConfig) -> Result<T, Error> + Send,
    ) -> PyResult<T> {
        self.run_long_at(py, &[], f)
    }

    /// [`Session::run_long`] of an operation on the remote path `at`, which
    /// its error names.
    pub(crate) fn run_long_at<T: Send>(
        &self,
        py: Python<'_>,
        at: &[&[u8]],
        f: impl FnOnce(&mut Client, &ClientConfig) -> Result<T, Error> + Send,
    ) -> PyResult<T> {
        use std::sync::mpsc::{channel, RecvTimeoutError};
        let cancel = Cancel::default();
        let mut cfg = self.cfg.clone();
        cfg.cancel = Some(cancel.clone());
        let mut interrupted: Option<PyErr> = None;
        // what interrupt() fires from another thread (an asyncio cancellation)
        *self.running.lock().unwrap_or_else(|p| p.into_inner()) = Some(cancel.clone());
        let r = py.allow_threads(|| {
            let mut g = self.grab()?;
            let Some(conn) = g.as_mut() else { return Ok(None) };
            let c = match conn {
                Conn::Notify(_) => return Ok(Some(Said::nothing(Err(notifying())))),
                Conn::Commands(c) => c,
            };
            cancel.watch(c.chan.stream());
            Ok(Some(std::thread::scope(|s| {
                let (done, ended) = channel::<()>();
                let cfg = &cfg;
                let worker = s.spawn(move || {
                    let r = Said::of(c, |c| f(c, cfg));
                    drop(done);
                    r
                });
                while let Err(RecvTimeoutError::Timeout) = ended.recv_timeout(Duration::from_millis(100)) {
                    if interrupted.is_none() {
                        if let Err(e) = Python::with_gil(|py| py.check_signals()) {
                            interrupted = Some(e);
                            cancel.fire();
                        }
                    }
                }
                worker.join().unwrap_or_else(|p| std::panic::resume_unwind(p))
            })))
        });
        self.running.lock().unwrap_or_else(|p| p.into_inner()).take();
        if interrupted.is_none() && cancel.fired() {
            // interrupt() (an asyncio Task.cancel()) shut its connections down
            if let Ok(mut g) = self.grab() {
                self.closing("interrupt() (an asyncio cancellation) stopped the operation it ran and ended it");
                *g = None;
            }
            return Err(self.closed_err(py));
        }
        if let Some(e) = interrupted {
            // its connection is shut down: the session is over
            if let Ok(mut g) = self.grab() {
                self.closing("a Ctrl-C (KeyboardInterrupt) stopped the operation it ran and ended it");
                *g = None;
            }
            return Err(e);
        }
        self.finish_said(py, r.map_err(|Busy| busy(py))?, at)
    }

    /// [`Session::finish`] of a call that says whether its connection broke
    /// before any byte of the answer came: then its ConnectionError is
    /// `unanswered` (a read may be sent again over a fresh session).
    fn finish_said<T>(&self, py: Python<'_>, r: Option<Said<T>>, at: &[&[u8]]) -> PyResult<T> {
        let unanswered = r.as_ref().is_some_and(|s| s.unanswered);
        self.finish(py, r.map(|s| s.result), at).inspect_err(|e| {
            if unanswered {
                let _ = e.value(py).setattr("unanswered", true);
            }
        })
    }

    /// An operation's result for Python: a broken channel closes the session.
    pub(crate) fn finish<T>(&self, py: Python<'_>, r: Option<Result<T, Error>>, at: &[&[u8]]) -> PyResult<T> {
        match r {
            Some(Ok(v)) => Ok(v),
            Some(Err(e)) => {
                if matches!(e.cause(), Error::Channel(_)) {
                    // a broken channel: the session is gone (unless another
                    // call holds it already: it will find the channel broken)
                    if let Ok(mut g) = self.grab() {
                        if g.is_some() {
                            self.closing("its connection broke");
                        }
                        *g = None;
                    }
                }
                Err(py_err_at(py, e, at))
            }
            None => Err(self.closed_err(py)),
        }
    }

    /// Says what closed the session, for the calls after.
    pub(crate) fn closing(&self, why: &'static str) {
        *self.why.lock().unwrap_or_else(|p| p.into_inner()) = why;
    }

    /// Whether a file open for writing holds the connection.
    pub(crate) fn is_lent(&self) -> bool {
        self.lent.load(std::sync::atomic::Ordering::Acquire)
    }

    /// SessionBusy while a file open for writing holds the connection.
    pub(crate) fn not_lent(&self, py: Python<'_>) -> PyResult<()> {
        if self.is_lent() {
            return Err(crate::errors::lent(py));
        }
        Ok(())
    }

    /// What a call of a session without its connection raises: SessionBusy
    /// while a file open for writing holds it, SessionClosed (saying what
    /// closed it) otherwise.
    pub(crate) fn closed_err(&self, py: Python<'_>) -> PyErr {
        if self.is_lent() {
            return crate::errors::lent(py);
        }
        let why = *self.why.lock().unwrap_or_else(|p| p.into_inner());
        crate::errors::closed(py, why)
    }
}
