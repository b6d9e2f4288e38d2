//! Python objects and callbacks seen from the library's side: readers and
//! writers, progress callbacks, and the first exception Python code raised
//! while the library ran with the GIL released.

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::pybacked::PyBackedBytes;
use pyo3::types::PyBytes;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::thread::Thread;
use tfp_client::Meter;
use tfp_client::{Client, ClientConfig};

/// A progress callback called with the running byte count (the GIL taken for it).
pub(crate) fn progress_fn(cb: Option<PyObject>) -> impl FnMut(u64) {
    move |n| {
        if let Some(cb) = &cb {
            Python::with_gil(|py| {
                if let Err(e) = cb.call1(py, (n,)) {
                    e.print(py);
                }
            })
        }
    }
}

/// What wakes the progress thread: bytes moving on a connection of the
/// transfer (a [`Meter`] on each half: every 256 KiB), or its end. Lock
/// free, as a meter must be: a wake is an unpark, a syscall only while the
/// thread sleeps.
#[derive(Default)]
struct Tick {
    /// The progress thread, once it runs.
    waiter: OnceLock<Thread>,
    ended: AtomicBool,
}

impl Tick {
    fn wake(&self) {
        if let Some(t) = self.waiter.get() {
            t.unpark();
        }
    }

    fn end(&self) {
        self.ended.store(true, Ordering::Release);
        self.wake();
    }
}

impl Meter for Tick {
    /// The thread it wakes reads the transfer's own counter.
    fn show(&self, _bytes: u64) {
        self.wake();
    }
}

/// Runs the transfer `f` on `c` while a thread hands what `read` counts to
/// the Python callback `cb` (the GIL taken for each call): a running byte
/// count, or a tree's (files done, files) pair. The thread sleeps until the
/// transfer wakes it: bytes moving on the session's connection or on any
/// connection `f` opens with the config it is given (each half's meter),
/// or the transfer's end, after which `f`'s result is returned at once. A
/// callback slower than the ticks hears the latest count, not each one.
/// The session's connection keeps showing on the tick after the call (an
/// unpark of a thread that has ended) until a later call's replaces it.
pub(crate) fn with_progress<N, T>(
    c: &mut Client,
    cfg: &ClientConfig,
    read: impl Fn() -> N + Sync,
    cb: Option<&PyObject>,
    f: impl FnOnce(&mut Client, &ClientConfig) -> T,
) -> T
where
    N: PartialEq + Copy + for<'py> IntoPyObject<'py>,
{
    let Some(cb) = cb else { return f(c, cfg) };
    let tick = Arc::new(Tick::default());
    let mut cfg = cfg.clone();
    cfg.meter = Some(tick.clone());
    c.set_meter(tick.clone());
    std::thread::scope(|scope| {
        let (tick_, read) = (&tick, &read);
        scope.spawn(move || {
            let _ = tick_.waiter.set(std::thread::current());
            let mut last: Option<N> = None;
            loop {
                let finished = tick_.ended.load(Ordering::Acquire);
                let n = read();
                if last != Some(n) {
                    last = Some(n);
                    Python::with_gil(|py| {
                        if let Err(e) = cb.call1(py, (n,)) {
                            e.print(py);
                        }
                    });
                }
                if finished {
                    break;
                }
                // a wake since the count was read returns at once
                std::thread::park();
            }
        });
        let r = f(c, &cfg);
        tick.end();
        r
    })
}

/// The first Python exception a transfer's Python code raised (its
/// callback, reader or writer): the library saw only that the step failed,
/// so this, not the library's error, is what the caller gets.
#[derive(Default)]
pub(crate) struct Raised(Mutex<Option<PyErr>>);

impl Raised {
    pub(crate) fn keep(&self, e: PyErr) {
        let mut g = self.0.lock().unwrap_or_else(|p| p.into_inner());
        if g.is_none() {
            *g = Some(e);
        }
    }

    pub(crate) fn take(&self) -> Option<PyErr> {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).take()
    }

    /// `r`, unless Python code raised meanwhile: then that exception.
    pub(crate) fn over<T>(&self, r: PyResult<T>) -> PyResult<T> {
        match self.take() {
            Some(e) => Err(e),
            None => r,
        }
    }
}

/// A Python binary reader (`read(n)` giving bytes, b"" at the end) as a
/// `Read`, the GIL taken for each call.
pub(crate) struct PyRead<'a> {
    pub(crate) obj: &'a PyObject,
    pub(crate) raised: &'a Raised,
}

impl std::io::Read for PyRead<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        Python::with_gil(|py| {
            let got = self
                .obj
                .call_method1(py, "read", (buf.len(),))
                .and_then(|v| v.extract::<PyBackedBytes>(py))
                .and_then(|b| {
                    if b.len() > buf.len() {
                        return Err(PyValueError::new_err(format!(
                            "read({}) returned {} bytes",
                            buf.len(),
                            b.len()
                        )));
                    }
                    buf[..b.len()].copy_from_slice(&b);
                    Ok(b.len())
                });
            got.map_err(|e| {
                self.raised.keep(e);
                std::io::Error::other("the Python reader raised")
            })
        })
    }
}

/// A Python binary writer (`write(b)`) as a `Write`, the GIL taken for each call.
pub(crate) struct PyWrite<'a> {
    pub(crate) obj: &'a PyObject,
    pub(crate) raised: &'a Raised,
}

impl std::io::Write for PyWrite<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        Python::with_gil(|py| {
            let wrote = self
                .obj
                .call_method1(py, "write", (PyBytes::new(py, buf),))
                .and_then(|n| n.extract::<Option<usize>>(py));
            match wrote {
                // a raw stream may take part (write_all goes on); None: all of it
                Ok(n) => Ok(n.unwrap_or(buf.len()).min(buf.len())),
                Err(e) => {
                    self.raised.keep(e);
                    Err(std::io::Error::other("the Python writer raised"))
                }
            }
        })
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl crate::state::Session {
    /// GET from `offset` to the end into the Python writer `sink` as it
    /// comes (`Session.get_to`). An exception of `sink` is raised and ends
    /// the session: GET cannot stop the server midway, the rest of the file
    /// is still on the wire.
    pub(crate) fn get_into_writer(
        &self,
        py: Python<'_>,
        remote: &[u8],
        sink: &PyObject,
        offset: u64,
        bufsz: i64,
        progress: Option<PyObject>,
    ) -> PyResult<u64> {
        let raised = Raised::default();
        let mut cb = progress_fn(progress);
        let r = self.run_long_at(py, &[remote], |c, _| {
            let mut out = PyWrite {
                obj: sink,
                raised: &raised,
            };
            c.get(remote, offset, bufsz, &mut out, &mut cb)
        });
        if let Some(e) = raised.take() {
            if let Ok(mut g) = self.grab() {
                self.closing("the writer getfo wrote to raised midway, with the rest of the file still on the wire");
                *g = None;
            }
            return Err(e);
        }
        r
    }

    /// GET from `offset` to the end into the local file `local` (written
    /// from `offset`, truncated there first; `Session.get_file`): the bytes
    /// received.
    pub(crate) fn get_into_file(
        &self,
        py: Python<'_>,
        remote: &[u8],
        local: &std::path::Path,
        offset: u64,
        bufsz: i64,
        progress: Option<PyObject>,
    ) -> PyResult<u64> {
        let mut cb = progress_fn(progress);
        self.run_long_at(py, &[remote], |c, _| {
            let f = std::fs::OpenOptions::new()
                .write(true)
                .create(true)
                .truncate(false)
                .open(local)
                .map_err(tfp_client::Error::Local)?;
            f.set_len(offset).map_err(tfp_client::Error::Local)?;
            let w = tfd_sys::direct::ChunkWriter::new(f, offset, tfp_client::DIRECT_WRITE_MIN);
            c.get_to_file(remote, offset, bufsz, w, &mut cb)
        })
    }

    /// SUP of what the Python reader `data` yields, as it is read
    /// (`Session.sup_from`). An exception of the reader cancels the upload
    /// (tfp-client sends -1: the server discards what came) and is raised;
    /// the session goes on.
    pub(crate) fn sup_from_reader(&self, py: Python<'_>, remote: &[u8], data: &PyObject) -> PyResult<()> {
        let raised = Raised::default();
        let r = self.run_long_at(py, &[remote], |c, _| {
            let mut src = PyRead {
                obj: data,
                raised: &raised,
            };
            c.sup(remote, &mut src)
        });
        raised.over(r)
    }
}
