//! A remote file open for writing (`Session.open(path, "wb")`, `putfo`):
//! the data goes out while Python writes it, memory bounded by a window, not
//! by the file.
//!
//! The session's connection is lent to a worker thread running
//! tfp-client's `sndfile_checked` (SNDFILE with overwrite: the server writes
//! a temporary and renames it into place only at the end), whose reader is a
//! queue Python's `write` fills. `write` waits while [`WINDOW`] bytes are
//! queued (looking for Ctrl-C meanwhile), `close` ends the data and waits for
//! the server's answer, `abort` (or a file dropped without `close`) ends the
//! flow with BREAK: the server discards what came and keeps its old file.
//! The connection then goes back to the session; while it is lent, calls of
//! the session raise SessionBusy.
//!
//! A file opened for appending (`"ab"`) is the same queue fed to PUT at the
//! end the caller found (the protocol's PUT writes in place, no temporary):
//! what was sent stays, even when the file is given up.

use crate::errors::{py_err, py_err_at};
use crate::queue::Shared;
use crate::state::{Conn, Session};
use pyo3::prelude::*;
use pyo3::pybacked::PyBackedBytes;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;
use tfp_client::Error;

/// Bytes queued at most between Python's writes and the wire.
pub(crate) const WINDOW: usize = 8 << 20;
/// The largest piece a write is queued in.
const PIECE: usize = 1 << 20;
/// The chunk an append's PUT asks for: a piece, so the data goes out as
/// it is written.
const APPEND_BUFSZ: i64 = PIECE as i64;

/// The worker's source: what Python queued, EOF at `close` or when given up.
struct Pipe {
    shared: Arc<Shared>,
    cur: Vec<u8>,
    pos: usize,
}

impl std::io::Read for Pipe {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        while self.pos == self.cur.len() {
            let mut st = self.shared.lock();
            loop {
                if st.abandoned.is_some() {
                    return Ok(0);
                }
                if let Some(v) = st.queue.pop_front() {
                    st.queued -= v.len();
                    self.cur = v;
                    self.pos = 0;
                    self.shared.moved.notify_all();
                    break;
                }
                if st.ended {
                    return Ok(0);
                }
                st = self.shared.moved.wait(st).unwrap_or_else(|p| p.into_inner());
            }
        }
        let n = buf.len().min(self.cur.len() - self.pos);
        buf[..n].copy_from_slice(&self.cur[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

type Outcome = (Conn, Result<(), Error>);

/// A remote file open for writing (see the module's text).
#[pyclass(module = "tfd_client._native")]
pub(crate) struct Upload {
    session: Py<Session>,
    /// The remote path, which its errors name.
    remote: Vec<u8>,
    shared: Arc<Shared>,
    worker: Mutex<Option<JoinHandle<Outcome>>>,
    /// Bytes taken by `write`.
    written: std::sync::atomic::AtomicU64,
}

impl Upload {
    /// Starts SNDFILE of `remote` (`overwrite`: replace an existing file),
    /// or with `append_at` PUT from that offset, on the session's
    /// connection, lent to a worker thread.
    pub(crate) fn start(
        py: Python<'_>,
        session: Py<Session>,
        remote: Vec<u8>,
        overwrite: bool,
        append_at: Option<u64>,
    ) -> PyResult<Upload> {
        let conn = {
            let s = session.borrow(py);
            s.not_lent(py)?;
            let mut g = s.held(py)?;
            match g.take() {
                Some(Conn::Commands(c)) => {
                    s.lent.store(true, Ordering::Release);
                    c
                }
                Some(n @ Conn::Notify(_)) => {
                    *g = Some(n);
                    return Err(py_err(py, crate::running::notifying()));
                }
                None => {
                    drop(g);
                    return Err(s.closed_err(py));
                }
            }
        };
        let shared = Arc::new(Shared::default());
        let pipe_shared = shared.clone();
        let named = remote.clone();
        let worker = std::thread::Builder::new().name("tfd-upload".into()).spawn(move || {
            let mut c = conn;
            let mut pipe = Pipe {
                shared: pipe_shared.clone(),
                cur: Vec::new(),
                pos: 0,
            };
            let r = match append_at {
                // PUT writes in place: what came stays, given up or not
                Some(at) => c.put(&remote, at, APPEND_BUFSZ, &mut pipe, &mut |_| {}),
                None => c.sndfile_checked(&remote, overwrite, &mut pipe, &mut |_| {}, &mut || {
                    pipe_shared.lock().abandoned.clone()
                }),
            };
            let mut st = pipe_shared.lock();
            st.finished = true;
            // a refusal before the data ends: the writer's queue is dropped
            st.queue.clear();
            st.queued = 0;
            pipe_shared.moved.notify_all();
            drop(st);
            (Conn::Commands(c), r)
        });
        if worker.is_ok() {
            *session.borrow(py).uploading.lock().unwrap_or_else(|p| p.into_inner()) = Some(shared.clone());
        }
        match worker {
            Ok(w) => Ok(Upload {
                session,
                remote: named,
                shared,
                worker: Mutex::new(Some(w)),
                written: Default::default(),
            }),
            Err(e) => {
                // the thread never ran: the connection it was to take is lost
                let s = session.borrow(py);
                s.lent.store(false, Ordering::Release);
                s.closing("a thread for a file open for writing could not start");
                Err(py_err(py, Error::Local(e)))
            }
        }
    }

    /// Waits for the worker and gives the connection back to the session:
    /// the flow's result.
    fn join(&self, py: Python<'_>) -> PyResult<()> {
        let w = self.worker.lock().unwrap_or_else(|p| p.into_inner()).take();
        let Some(w) = w else { return Ok(()) };
        let (conn, r) = py
            .allow_threads(|| w.join())
            .unwrap_or_else(|p| std::panic::resume_unwind(p));
        let s = self.session.borrow(py);
        s.uploading.lock().unwrap_or_else(|p| p.into_inner()).take();
        let broken = matches!(&r, Err(e) if matches!(e.cause(), Error::Channel(_)));
        if let Ok(mut g) = s.grab() {
            if broken {
                s.closing("its connection broke");
            } else {
                *g = Some(conn);
            }
        }
        s.lent.store(false, Ordering::Release);
        r.map_err(|e| py_err_at(py, e, &[&self.remote]))
    }

    fn abandon(&self, why: &str) {
        abandon(&self.shared, why);
    }
}

/// Gives the upload of `shared` up (`why` is its error): the worker ends
/// the flow with BREAK at its next read. What `Session.interrupt()` does to a
/// file of the session open for writing.
pub(crate) fn abandon(shared: &Shared, why: &str) {
    {
        let mut st = shared.lock();
        if !st.ended && st.abandoned.is_none() {
            st.abandoned = Some(why.to_string());
        }
        st.queue.clear();
        st.queued = 0;
    }
    shared.moved.notify_all();
}

#[pymethods]
impl Upload {
    /// Queues `data`; waits while the window is full (a Ctrl-C meanwhile
    /// gives the upload up and raises KeyboardInterrupt). A refusal of the
    /// server (or a broken connection) is raised here, by the next write.
    fn write(&self, py: Python<'_>, data: PyBackedBytes) -> PyResult<usize> {
        let mut off = 0;
        while off < data.len() {
            let end = (off + PIECE).min(data.len());
            let piece = data[off..end].to_vec();
            let mut piece = Some(piece);
            loop {
                let finished = py.allow_threads(|| {
                    let mut st = self.shared.lock();
                    let mut waited = Duration::ZERO;
                    loop {
                        if st.finished || st.abandoned.is_some() || st.ended {
                            return Some(true);
                        }
                        let n = piece.as_ref().map_or(0, Vec::len);
                        if st.queued == 0 || st.queued + n <= WINDOW {
                            if let Some(p) = piece.take() {
                                st.queued += p.len();
                                st.queue.push_back(p);
                            }
                            self.shared.moved.notify_all();
                            return Some(false);
                        }
                        if waited >= Duration::from_millis(100) {
                            return None;
                        }
                        let (g, _) = self
                            .shared
                            .moved
                            .wait_timeout(st, Duration::from_millis(100))
                            .unwrap_or_else(|p| p.into_inner());
                        st = g;
                        waited += Duration::from_millis(100);
                    }
                });
                match finished {
                    Some(false) => break,
                    Some(true) => {
                        let st = self.shared.lock();
                        let (ended, given_up) = (st.ended, st.abandoned.is_some());
                        drop(st);
                        if ended {
                            return Err(pyo3::exceptions::PyValueError::new_err("write to a closed file"));
                        }
                        // the flow ended early (a refusal, interrupt()): its
                        // error, or a plain word
                        self.join(py)?;
                        if given_up {
                            return Err(pyo3::exceptions::PyValueError::new_err("write to a file given up"));
                        }
                        return Err(pyo3::exceptions::PyValueError::new_err(
                            "write to a file whose upload has ended",
                        ));
                    }
                    None => {
                        if let Err(e) = py.check_signals() {
                            self.abandon("interrupted (KeyboardInterrupt); not sent, the server keeps its old copy");
                            let _ = self.join(py);
                            return Err(e);
                        }
                    }
                }
            }
            off = end;
        }
        self.written.fetch_add(data.len() as u64, Ordering::Relaxed);
        Ok(data.len())
    }

    /// Ends the data and waits for the server's answer: the file is in
    /// place when this returns.
    fn close(&self, py: Python<'_>) -> PyResult<()> {
        {
            let mut st = self.shared.lock();
            st.ended = true;
            self.shared.moved.notify_all();
        }
        self.join(py)
    }

    /// Gives the upload up: SNDFILE ends with BREAK, the server discards
    /// what came and keeps its old file. The session goes on.
    #[pyo3(signature = (why=None))]
    fn abort(&self, py: Python<'_>, why: Option<String>) -> PyResult<()> {
        self.abandon(
            why.as_deref()
                .unwrap_or("the file was not closed; not sent, the server keeps its old copy"),
        );
        // the flow's error is the abandonment itself (or moot: given up)
        let _ = self.join(py);
        Ok(())
    }

    /// Bytes written so far.
    #[getter]
    fn written(&self) -> u64 {
        self.written.load(Ordering::Relaxed)
    }
}

impl Drop for Upload {
    fn drop(&mut self) {
        // dropped unclosed: give it up (the worker ends with BREAK, the
        // server keeps its old file) and give the connection back
        let unfinished = self.worker.lock().map(|w| w.is_some()).unwrap_or(false);
        if unfinished {
            self.abandon("the file was dropped without close(); not sent, the server keeps its old copy");
            Python::with_gil(|py| {
                let _ = self.join(py);
            });
        }
    }
}
