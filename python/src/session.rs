//! The `Session` class: one TF Protocol session, each method one tfp-client
//! call (`crate::running` says how a call runs).

use crate::engine::Ask;
use crate::errors::py_err;
use crate::notifications::answer_named;
use crate::pyio::{progress_fn, PyRead, PyWrite};
use crate::raw;
use crate::shapes::{fai_tuple, fstat_tuples, kind_name, type_code};
use crate::shapes::{FstatTuple, StatTuple};
use crate::state::{Conn, Session};
use pyo3::prelude::*;
use pyo3::types::PyBytes;
use std::path::PathBuf;
use tfp_client::notify::Answer;
use tfp_client::Error;

/// Chunk size asked for PUT/GET when the caller names none (4 MiB).
const BUFSZ: i64 = 4 << 20;

#[pymethods]
impl Session {
    /// Whether tfd's secure transport is on.
    #[getter]
    fn secure(&self, py: Python<'_>) -> PyResult<bool> {
        Ok(self.held(py)?.as_ref().map(|c| c.client().secure()).unwrap_or(false))
    }

    /// The transport's name ("secure" or "legacy").
    #[getter]
    fn transport(&self, py: Python<'_>) -> PyResult<&'static str> {
        Ok(self
            .held(py)?
            .as_ref()
            .map(|c| c.client().transport_name())
            .unwrap_or("closed"))
    }

    #[getter]
    fn closed(&self) -> bool {
        // held by a running call, or lent to a file open for writing: open
        !self.is_lent() && self.grab().map(|g| g.is_none()).unwrap_or(false)
    }

    /// The key of the next FAI entrance kept by the session: (token, expiry, key).
    fn next_fai_token(&self, py: Python<'_>) -> PyResult<Option<(String, u64, Vec<u8>)>> {
        Ok(self
            .held(py)?
            .as_ref()
            .and_then(|c| c.client().next_fai_token().map(fai_tuple)))
    }

    /// Stops the long operation (a transfer, a tree run) running now on
    /// another thread as a Ctrl-C does: its connections are shut down, it
    /// returns at once raising SessionClosed, and the session is closed.
    /// Takes no lock, so it works while the operation holds the session.
    /// A file of the session open for writing is given up instead (BREAK:
    /// the server keeps its old file; its next write raises) and the
    /// session goes on. False when neither runs (a short command just ends).
    fn interrupt(&self) -> bool {
        if let Some(c) = self.running.lock().unwrap_or_else(|p| p.into_inner()).as_ref() {
            c.fire();
            return true;
        }
        match self.uploading.lock().unwrap_or_else(|p| p.into_inner()).as_ref() {
            Some(up) => {
                crate::upload::abandon(
                    up,
                    "interrupted (interrupt(): an asyncio cancellation); not sent, the server keeps its old copy",
                );
                true
            }
            None => false,
        }
    }

    /// END, and closes the session.
    fn end(&self, py: Python<'_>) -> PyResult<()> {
        self.not_lent(py)?;
        self.closing("it was closed");
        let c = self.held(py)?.take();
        match c {
            Some(Conn::Commands(c)) => py.allow_threads(|| c.end()).map_err(|e| py_err(py, e))?,
            // notification mode ends with END as the answer to a notification
            Some(Conn::Notify(mut n)) => drop(n.answer(Answer::End)),
            None => {}
        }
        Ok(())
    }

    /// ADDNTFY: watch `dir` for files whose names start with `token`, once
    /// notification mode starts.
    fn addntfy(&self, py: Python<'_>, token: Vec<u8>, dir: Vec<u8>) -> PyResult<()> {
        self.run_at(py, &[&dir], |c| c.addntfy(&token, &dir))
    }

    /// STARTNTFY: the session enters notification mode, for good
    /// (tfp_client::notify); no command is taken after it.
    fn start_notifications(&self, py: Python<'_>, interval: String) -> PyResult<()> {
        self.start_notify(py, &interval)
    }

    /// Waits for the next notification: (index, name). An unanswered one is
    /// kept first.
    fn notification_wait(&self, py: Python<'_>) -> PyResult<(u32, Py<PyBytes>)> {
        let n = self.notifying(py, |n| n.wait())?;
        Ok((n.index, PyBytes::new(py, &n.name).unbind()))
    }

    /// Answers the last notification: "keep", "delete" or "end".
    fn notification_answer(&self, py: Python<'_>, answer: &str) -> PyResult<()> {
        let a = answer_named(answer)?;
        self.notifying(py, |n| n.answer(a))
    }

    /// Closes the connection without END (SessionBusy while a call of the
    /// session runs: from its callback, let the call return first).
    fn close(&self, py: Python<'_>) -> PyResult<()> {
        self.not_lent(py)?;
        let mut g = self.held(py)?;
        if g.is_some() {
            self.closing("it was closed");
        }
        g.take();
        Ok(())
    }

    fn echo(&self, py: Python<'_>, text: Vec<u8>) -> PyResult<Py<PyBytes>> {
        let v = self.run(py, |c| c.echo(&text))?;
        Ok(PyBytes::new(py, &v).unbind())
    }
    fn mkdir(&self, py: Python<'_>, path: Vec<u8>) -> PyResult<()> {
        self.run_at(py, &[&path], |c| c.mkdir(&path))
    }
    fn rmkdir(&self, py: Python<'_>, path: Vec<u8>) -> PyResult<()> {
        self.run_at(py, &[&path], |c| c.rmkdir(&path))
    }
    fn delete(&self, py: Python<'_>, path: Vec<u8>) -> PyResult<()> {
        self.run_at(py, &[&path], |c| c.del(&path))
    }
    /// RMDIR of an empty directory (tfp_client's rmdir_empty: LS first);
    /// DirectoryNotEmpty (ENOTEMPTY) otherwise, nothing removed.
    fn rmdir(&self, py: Python<'_>, path: Vec<u8>) -> PyResult<()> {
        match self.run_at(py, &[&path], |c| c.rmdir_empty(&path))? {
            None => Ok(()),
            Some(n) => Err(crate::errors::not_empty(py, &path, n)),
        }
    }
    /// RMDIR: the directory and everything below it.
    fn rmtree(&self, py: Python<'_>, path: Vec<u8>) -> PyResult<()> {
        self.run_at(py, &[&path], |c| c.rmdir(&path))
    }
    fn touch(&self, py: Python<'_>, path: Vec<u8>) -> PyResult<()> {
        self.run_at(py, &[&path], |c| c.touch(&path))
    }
    fn fupd(&self, py: Python<'_>, path: Vec<u8>) -> PyResult<()> {
        self.run_at(py, &[&path], |c| c.fupd(&path))
    }
    fn copy(&self, py: Python<'_>, src: Vec<u8>, dst: Vec<u8>) -> PyResult<()> {
        self.run_at(py, &[&src, &dst], |c| c.copy(&src, &dst))
    }
    fn cpdir(&self, py: Python<'_>, src: Vec<u8>, dst: Vec<u8>) -> PyResult<()> {
        self.run_at(py, &[&src, &dst], |c| c.cpdir(&src, &dst))
    }
    fn rename(&self, py: Python<'_>, old: Vec<u8>, new: Vec<u8>) -> PyResult<()> {
        self.run_at(py, &[&old, &new], |c| c.rename(&old, &new))
    }
    fn sha256(&self, py: Python<'_>, path: Vec<u8>) -> PyResult<String> {
        self.run_at(py, &[&path], |c| {
            c.sha256(&path)
                .map(|d| d.0.iter().map(|b| format!("{b:02x}")).collect())
        })
    }
    /// FSTAT: (kind, size, mtime).
    fn stat(&self, py: Python<'_>, path: Vec<u8>) -> PyResult<StatTuple> {
        self.run_at(py, &[&path], |c| {
            c.stat(&path).map(|s| (kind_name(s.kind), s.size, s.mtime))
        })
    }
    fn exists(&self, py: Python<'_>, path: Vec<u8>) -> PyResult<bool> {
        self.run_at(py, &[&path], |c| c.exists(&path))
    }
    fn freesp(&self, py: Python<'_>) -> PyResult<u64> {
        self.run(py, |c| c.freesp())
    }
    fn lock(&self, py: Python<'_>, name: Vec<u8>) -> PyResult<()> {
        self.run_at(py, &[&name], |c| c.lock(&name))
    }
    fn date(&self, py: Python<'_>) -> PyResult<i64> {
        self.run(py, |c| c.date())
    }
    fn udate(&self, py: Python<'_>) -> PyResult<f64> {
        self.run(py, |c| c.udate().map(|d| d.as_secs_f64()))
    }
    fn ndate(&self, py: Python<'_>) -> PyResult<(u64, u32)> {
        self.run(py, |c| c.ndate().map(|d| (d.as_secs(), d.subsec_nanos())))
    }
    fn datef(&self, py: Python<'_>) -> PyResult<String> {
        self.run(py, |c| c.datef())
    }
    fn dtof(&self, py: Python<'_>, seconds: i64) -> PyResult<String> {
        self.run(py, |c| c.dtof(seconds))
    }
    fn ftod(&self, py: Python<'_>, date: String) -> PyResult<i64> {
        self.run(py, |c| c.ftod(&date))
    }
    fn prockey(&self, py: Python<'_>) -> PyResult<String> {
        self.run(py, |c| c.prockey())
    }
    fn tlb(&self, py: Python<'_>) -> PyResult<String> {
        self.run(py, |c| c.tlb())
    }
    fn keepalive(&self, py: Python<'_>, on: bool, idle: u32, interval: u32, count: u32) -> PyResult<()> {
        self.run(py, |c| c.keepalive(on, idle, interval, count))
    }
    fn chmod(&self, py: Python<'_>, path: Vec<u8>, mode: u32) -> PyResult<()> {
        self.run_at(py, &[&path], |c| c.chmod(&path, mode))
    }
    fn chown(&self, py: Python<'_>, path: Vec<u8>, user: String, group: String) -> PyResult<()> {
        self.run_at(py, &[&path], |c| c.chown(&path, &user, &group))
    }
    /// LS/LSR, parsed and checked: [(kind, rel)], rel as bytes.
    #[pyo3(signature = (dir, recursive=false))]
    fn listdir(&self, py: Python<'_>, dir: Vec<u8>, recursive: bool) -> PyResult<Vec<(&'static str, Vec<u8>)>> {
        self.run_at(py, &[&dir], |c| {
            let l = if recursive {
                c.listdir_recursive(&dir)?
            } else {
                c.listdir(&dir)?
            };
            Ok(l.entries.into_iter().map(|e| (kind_name(e.kind), e.rel)).collect())
        })
    }
    /// FSTAT of every path in one pipelined exchange
    /// (tfp_client::tree::sync::fstat_all: a round trip per window of
    /// paths, not per path): (kind, size, mtime) each, None for a path the
    /// server refused (gone since it was listed).
    fn stat_many(&self, py: Python<'_>, paths: Vec<Vec<u8>>) -> PyResult<Vec<Option<StatTuple>>> {
        self.run(py, |c| {
            let all = tfp_client::tree::sync::fstat_all(c, &paths)?;
            Ok(all
                .into_iter()
                .map(|r| r.ok().map(|s| (kind_name(s.kind), s.size, s.mtime)))
                .collect())
        })
    }
    /// LS/LSR as the server sent it.
    #[pyo3(signature = (dir, recursive=false))]
    fn list_raw(&self, py: Python<'_>, dir: Vec<u8>, recursive: bool) -> PyResult<Py<PyBytes>> {
        let v = self.run_at(py, &[&dir], |c| c.list(recursive, &dir))?;
        Ok(PyBytes::new(py, &v).unbind())
    }

    /// One local file up through tfp-client's upload engine, what `tf put`
    /// runs (tfp_client::engine::upload: the engine alone chooses the
    /// route, so the same request sends the same commands as tf): into
    /// `remote`, or into it under the file's name when it is a directory;
    /// with `streams` > 1 or `resume`, a staged upload (in place with PUT on
    /// a server without them); a delta onto a changed file over a slow
    /// link; with `verify`, a batch whose commit checks the SHA-256.
    /// `whole_file` as rsync's: None lets the link decide whether a delta
    /// may go, True never, False whatever the link.
    /// `progress` hears the running count as the bytes move (each 256 KiB a
    /// connection moves) and at the end.
    /// Returns the remote name the file landed at.
    #[pyo3(signature = (local, remote, streams=1, bufsz=BUFSZ, resume=false, verify=false, whole_file=None, progress=None))]
    #[allow(clippy::too_many_arguments)]
    fn put(
        &self,
        py: Python<'_>,
        local: PathBuf,
        remote: Vec<u8>,
        streams: usize,
        bufsz: i64,
        resume: bool,
        verify: bool,
        whole_file: Option<bool>,
        progress: Option<PyObject>,
    ) -> PyResult<Py<PyBytes>> {
        let ask = Ask::new(streams, bufsz, resume, verify, whole_file);
        let landed = self.send_file(py, &local, &remote, &ask, progress)?;
        Ok(PyBytes::new(py, &landed).unbind())
    }

    /// One file down as `tf get` takes it (tfp_client::engine::fetch, which
    /// alone chooses the route): onto a local copy over a slow link a delta
    /// (`whole_file` as rsync's: None lets the link decide, True never,
    /// False always), else the download engine: a partial beside the
    /// target, journaled for `resume`, `streams` connections, checked end to
    /// end with `verify`, renamed into place when complete. `progress` hears
    /// the running count as the bytes move and at the end.
    #[pyo3(signature = (remote, local, streams=1, bufsz=BUFSZ, resume=false, verify=false, whole_file=None, progress=None))]
    #[allow(clippy::too_many_arguments)]
    fn download(
        &self,
        py: Python<'_>,
        remote: Vec<u8>,
        local: PathBuf,
        streams: usize,
        bufsz: i64,
        resume: bool,
        verify: bool,
        whole_file: Option<bool>,
        progress: Option<PyObject>,
    ) -> PyResult<()> {
        let ask = Ask::new(streams, bufsz, resume, verify, whole_file);
        self.fetch_file(py, &remote, &local, &ask, progress)
    }

    /// A remote file open for writing (crate::upload): SNDFILE of `remote`
    /// with overwrite, fed as Python writes; the session's connection is
    /// lent to it until it is closed or aborted.
    /// `overwrite=False`: SNDFILE 0, refused when the file exists.
    /// `append_at`: PUT from that offset instead (mode "ab": the file's end).
    #[pyo3(signature = (remote, overwrite=true, append_at=None))]
    fn upload(
        slf: Bound<'_, Self>,
        remote: Vec<u8>,
        overwrite: bool,
        append_at: Option<u64>,
    ) -> PyResult<crate::upload::Upload> {
        crate::upload::Upload::start(slf.py(), slf.unbind(), remote, overwrite, append_at)
    }

    /// GET from `offset` to the end into the binary writer `sink` (any
    /// object with `write`), as it comes. Returns the bytes written. An
    /// exception of `sink` stops the download and is raised.
    #[pyo3(signature = (remote, sink, offset=0, bufsz=BUFSZ, progress=None))]
    fn get_to(
        &self,
        py: Python<'_>,
        remote: Vec<u8>,
        sink: PyObject,
        offset: u64,
        bufsz: i64,
        progress: Option<PyObject>,
    ) -> PyResult<u64> {
        self.get_into_writer(py, &remote, &sink, offset, bufsz, progress)
    }

    /// PUT of bytes at `offset`.
    #[pyo3(signature = (remote, data, offset=0, bufsz=BUFSZ))]
    fn put_bytes(&self, py: Python<'_>, remote: Vec<u8>, data: Vec<u8>, offset: u64, bufsz: i64) -> PyResult<()> {
        self.run_at(py, &[&remote], |c| {
            c.put(&remote, offset, bufsz, &mut &data[..], &mut |_| {})
        })
    }

    /// GET from `offset` to the end into a local file (written from `offset`;
    /// truncated there first). Returns the bytes received.
    #[pyo3(signature = (remote, local, offset=0, bufsz=BUFSZ, progress=None))]
    fn get_file(
        &self,
        py: Python<'_>,
        remote: Vec<u8>,
        local: PathBuf,
        offset: u64,
        bufsz: i64,
        progress: Option<PyObject>,
    ) -> PyResult<u64> {
        self.get_into_file(py, &remote, &local, offset, bufsz, progress)
    }

    /// GET of `length` bytes from `offset` (None: to the end, sized by an
    /// FSTAT sent with it: `whole.rs`) as bytes, deciphered straight into
    /// the bytes object returned (`parallel::get_range_into`: no copy after
    /// the wire); a file shorter than asked gives fewer.
    #[pyo3(signature = (remote, offset=0, length=None, bufsz=BUFSZ))]
    fn get_bytes(
        &self,
        py: Python<'_>,
        remote: Vec<u8>,
        offset: u64,
        length: Option<u64>,
        bufsz: i64,
    ) -> PyResult<Py<PyBytes>> {
        crate::whole::read(self, py, remote, offset, length, bufsz)
    }

    /// PUT of bytes at `offset`, `progress` called with the running count
    /// after each chunk.
    fn put_progress(
        &self,
        py: Python<'_>,
        remote: Vec<u8>,
        data: Vec<u8>,
        offset: u64,
        bufsz: i64,
        progress: Option<PyObject>,
    ) -> PyResult<()> {
        let mut cb = progress_fn(progress);
        self.run_at(py, &[&remote], |c| {
            c.put(&remote, offset, bufsz, &mut &data[..], &mut cb)
        })
    }

    /// GET from `offset` to the end as bytes, `progress` called with the
    /// running count after each chunk.
    fn get_progress(
        &self,
        py: Python<'_>,
        remote: Vec<u8>,
        offset: u64,
        bufsz: i64,
        progress: Option<PyObject>,
    ) -> PyResult<Py<PyBytes>> {
        let mut cb = progress_fn(progress);
        let v = self.run_at(py, &[&remote], |c| {
            let mut out = Vec::new();
            c.get(&remote, offset, bufsz, &mut out, &mut cb)?;
            Ok(out)
        })?;
        Ok(PyBytes::new(py, &v).unbind())
    }

    /// FSTATLS (2.5.1): the records as the protocol encodes them (26 bytes each,
    /// the end record last).
    fn fstatls(&self, py: Python<'_>, list: Vec<u8>) -> PyResult<Vec<Py<PyBytes>>> {
        let recs = self.run_at(py, &[&list], |c| c.fstatls(&list))?;
        let mut out: Vec<Py<PyBytes>> = recs.iter().map(|r| PyBytes::new(py, &r.encode()).unbind()).collect();
        if recs.last() != Some(&tfp_wire::fstat::StatRecord::End) {
            out.push(PyBytes::new(py, &tfp_wire::fstat::StatRecord::End.encode()).unbind());
        }
        Ok(out)
    }

    /// PUT that stops after `data` with `code` (-1 keep, -2 cancel)
    /// (tfp_client::Client::put_cancel).
    fn put_cancel(&self, py: Python<'_>, remote: Vec<u8>, bufsz: i64, data: Vec<u8>, code: i64) -> PyResult<()> {
        self.run_at(py, &[&remote], |c| c.put_cancel(&remote, bufsz, &data, code))
    }

    /// PUTCAN (tfp_client::Client::putcan): writes what the binary reader
    /// `data` yields at `offset`, the server answering after every `canpt`
    /// chunks; `on(kind, n, total)` hears each step ("granted" with the
    /// grant, "chunk" with its length, "window", "data_end") and may answer
    /// "end", "stop" or "cancel" (None: go on). Returns (how, bytes): how is
    /// "completed" or the callback's answer. An exception of `on` or `data`
    /// stops the upload (HPFSTOP) and is raised.
    #[pyo3(signature = (remote, data, offset=0, bufsz=BUFSZ, canpt=1, on=None))]
    fn putcan(
        &self,
        py: Python<'_>,
        remote: Vec<u8>,
        data: PyObject,
        offset: u64,
        bufsz: i64,
        canpt: u64,
        on: Option<PyObject>,
    ) -> PyResult<(&'static str, u64)> {
        self.can_run(py, on, |c, raised, cb| {
            let mut src = PyRead { obj: &data, raised };
            c.putcan(&remote, offset, bufsz, canpt, &mut src, cb)
        })
    }

    /// GETCAN (tfp_client::Client::getcan): writes the file from `offset`
    /// to the binary writer `sink`, answering the server after every
    /// `canpt` chunks; `on(kind, n, total)` hears each step ("granted",
    /// "chunk", "window") and may answer "stop" (or "end", "cancel"): the
    /// server is stopped at the next window. Returns (how, bytes written).
    /// An exception of `on` or `sink` stops the download and is raised.
    #[pyo3(signature = (remote, sink, offset=0, bufsz=BUFSZ, canpt=1, on=None))]
    fn getcan(
        &self,
        py: Python<'_>,
        remote: Vec<u8>,
        sink: PyObject,
        offset: u64,
        bufsz: i64,
        canpt: u64,
        on: Option<PyObject>,
    ) -> PyResult<(&'static str, u64)> {
        self.can_run(py, on, |c, raised, cb| {
            let mut out = PyWrite { obj: &sink, raised };
            c.getcan(&remote, offset, bufsz, canpt, &mut out, cb)
        })
    }

    /// NIGMA: a new session key of `n` bytes.
    fn nigma(&self, py: Python<'_>, n: u32) -> PyResult<()> {
        self.run(py, move |c| c.nigma(n))
    }

    /// FSIZE.
    fn fsize(&self, py: Python<'_>, remote: Vec<u8>) -> PyResult<u64> {
        self.run_at(py, &[&remote], |c| c.fsize(&remote))
    }

    /// SNDFILE of bytes.
    #[pyo3(signature = (remote, data, overwrite=true))]
    fn sndfile(&self, py: Python<'_>, remote: Vec<u8>, data: Vec<u8>, overwrite: bool) -> PyResult<()> {
        self.run_at(py, &[&remote], |c| {
            c.sndfile(&remote, overwrite, &mut &data[..], &mut |_| {})
        })
    }
    /// SNDFILE of bytes, `progress` called with the running count as the
    /// server acknowledges each data frame.
    fn sndfile_progress(
        &self,
        py: Python<'_>,
        remote: Vec<u8>,
        data: Vec<u8>,
        overwrite: bool,
        progress: Option<PyObject>,
    ) -> PyResult<()> {
        let mut cb = progress_fn(progress);
        self.run_at(py, &[&remote], |c| {
            c.sndfile(&remote, overwrite, &mut &data[..], &mut cb)
        })
    }
    /// RCVFILE: the file's bytes.
    #[pyo3(signature = (remote, delete=false))]
    fn rcvfile(&self, py: Python<'_>, remote: Vec<u8>, delete: bool) -> PyResult<Py<PyBytes>> {
        let v = self.run_at(py, &[&remote], |c| {
            let mut out = Vec::new();
            c.rcvfile(&remote, delete, &mut out)?;
            Ok(out)
        })?;
        Ok(PyBytes::new(py, &v).unbind())
    }
    /// SUP of bytes.
    fn sup(&self, py: Python<'_>, remote: Vec<u8>, data: Vec<u8>) -> PyResult<()> {
        self.run_at(py, &[&remote], |c| c.sup(&remote, &mut &data[..]))
    }
    /// SUP of what the binary reader `data` yields (`read(n)`), sent as it
    /// is read. An exception of the reader cancels the upload (the server
    /// discards what came) and is raised; the session goes on.
    fn sup_from(&self, py: Python<'_>, remote: Vec<u8>, data: PyObject) -> PyResult<()> {
        self.sup_from_reader(py, &remote, &data)
    }
    /// SDOWN: the file's bytes.
    fn sdown(&self, py: Python<'_>, remote: Vec<u8>) -> PyResult<Py<PyBytes>> {
        let v = self.run_at(py, &[&remote], |c| {
            let mut out = Vec::new();
            c.sdown(&remote, &mut out)?;
            Ok(out)
        })?;
        Ok(PyBytes::new(py, &v).unbind())
    }

    /// LSV2DOWN (2.5.1): (lines, complete).
    #[pyo3(signature = (dir, recursive=false))]
    fn lsv2down(&self, py: Python<'_>, dir: Vec<u8>, recursive: bool) -> PyResult<(Vec<Vec<u8>>, bool)> {
        self.run_at(py, &[&dir], |c| {
            c.lsv2down(recursive, &dir).map(|l| (l.lines, l.complete))
        })
    }
    /// FTYPE (2.5.1): the document's type byte (−1: the server could not tell).
    fn ftype(&self, py: Python<'_>, path: Vec<u8>) -> PyResult<i8> {
        self.run_at(py, &[&path], |c| c.ftype(&path).map(type_code))
    }
    /// FTYPELS (2.5.1): a type byte per line, as `ftype`.
    fn ftypels(&self, py: Python<'_>, list: Vec<u8>) -> PyResult<Vec<i8>> {
        self.run_at(py, &[&list], |c| {
            c.ftypels(&list).map(|v| v.into_iter().map(type_code).collect())
        })
    }
    /// FSIZELS: per line a size, −1 (could not) or −2 (not a regular file).
    fn fsizels(&self, py: Python<'_>, list: Vec<u8>) -> PyResult<Vec<i64>> {
        self.run_at(py, &[&list], |c| {
            c.fsizels(&list).map(|v| v.into_iter().map(|s| s.code()).collect())
        })
    }
    /// INTREAD (2.5.1): (data, sha256 text).
    fn intread(&self, py: Python<'_>, path: Vec<u8>) -> PyResult<(Py<PyBytes>, Vec<u8>)> {
        let (h, d) = self.run_at(py, &[&path], |c| c.intread(&path))?;
        Ok((PyBytes::new(py, &d).unbind(), h))
    }
    /// INTWRITE (2.5.1).
    fn intwrite(&self, py: Python<'_>, path: Vec<u8>, expected: Vec<u8>, data: Vec<u8>) -> PyResult<()> {
        self.run_at(py, &[&path], |c| c.intwrite(&path, &expected, &data))
    }
    /// FAITOK: (token, expiry, key).
    fn faitok(&self, py: Python<'_>, minutes: u32) -> PyResult<(String, u64, Vec<u8>)> {
        self.run(py, move |c| c.faitok(minutes).map(|t| fai_tuple(&t)))
    }
    fn goaes(&self, py: Python<'_>) -> PyResult<()> {
        self.run(py, |c| c.goaes())
    }
    fn ciaon(&self, py: Python<'_>) -> PyResult<String> {
        self.run(py, |c| c.ciaon())
    }
    fn ciaoff(&self, py: Python<'_>) -> PyResult<()> {
        self.run(py, |c| c.ciaoff())
    }
    /// NETLOCK / NETLOCK_TRY (2.5.1): the lock id. A timeout the line cannot
    /// carry (not a number of seconds from 1 ms to a week) is a usage error.
    fn netlock(&self, py: Python<'_>, timeout: f64, path: Vec<u8>, wait: bool) -> PyResult<u32> {
        self.run_at(py, &[&path], |c| {
            let t = std::time::Duration::try_from_secs_f64(timeout)
                .map_err(|_| Error::Usage(format!("NETLOCK: timeout {timeout}: a number of seconds")))?;
            let id = if wait {
                c.netlock(t, &path)
            } else {
                c.netlock_try(t, &path)
            }?;
            Ok(id.0)
        })
    }
    /// NETUNLOCK (2.5.1).
    fn netunlock(&self, py: Python<'_>, id: String) -> PyResult<()> {
        self.run(py, move |c| c.netunlock(id.parse()?))
    }
    /// NETMUTACQ_TRY / NETMUTREL (2.5.1).
    fn netmut(&self, py: Python<'_>, path: Vec<u8>, token: Vec<u8>, release: bool) -> PyResult<()> {
        self.run_at(py, &[&path], |c| {
            if release {
                c.netmutrel(&path, &token)
            } else {
                c.netmutacq_try(&path, &token)
            }
        })
    }
    /// SETFSID (2.5.1).
    fn setfsid(&self, py: Python<'_>, id: String) -> PyResult<()> {
        self.run(py, move |c| c.setfsid(&id))
    }
    /// SETFSPERM (2.5.1).
    fn setfsperm(&self, py: Python<'_>, id: String, mask: u32, path: Vec<u8>) -> PyResult<()> {
        self.run_at(py, &[&path], |c| c.setfsperm(&id, mask, &path))
    }
    /// REMFSPERM (2.5.1).
    fn remfsperm(&self, py: Python<'_>, id: String, path: Vec<u8>) -> PyResult<()> {
        self.run_at(py, &[&path], |c| c.remfsperm(&id, &path))
    }
    /// GETFSPERM (2.5.1): the mask.
    fn getfsperm(&self, py: Python<'_>, id: String, path: Vec<u8>) -> PyResult<u32> {
        self.run_at(py, &[&path], |c| c.getfsperm(&id, &path))
    }
    /// ISSECFS (2.5.1): FAILED 60 is False, not an error.
    fn issecfs(&self, py: Python<'_>, path: Vec<u8>) -> PyResult<bool> {
        self.run_at(py, &[&path], |c| c.issecfs(&path))
    }
    /// LOCKSYS (2.5.1).
    fn locksys(&self, py: Python<'_>, path: Vec<u8>) -> PyResult<()> {
        self.run_at(py, &[&path], |c| c.locksys(&path))
    }
    /// GETTZ (2.5.1).
    fn gettz(&self, py: Python<'_>) -> PyResult<String> {
        self.run(py, |c| c.gettz())
    }
    /// SETTZ (2.5.1).
    fn settz(&self, py: Python<'_>, zone: String) -> PyResult<()> {
        self.run(py, move |c| c.settz(&zone))
    }
    /// Sends one command line and returns the reply frame as it came
    /// (tfp_client::Client::raw): the escape hatch for commands without a typed method.
    fn raw(&self, py: Python<'_>, line: Vec<u8>) -> PyResult<Py<PyBytes>> {
        let v = self.run_raw(py, move |c| c.raw(&line))?;
        Ok(PyBytes::new(py, &v).unbind())
    }
    /// `NAME args` through tfp-client's Client::call: the data of its OK (a
    /// FAILED or UNKNOWN is the mapped exception; any other reply comes back whole).
    fn call(&self, py: Python<'_>, name: String, args: Vec<u8>) -> PyResult<Py<PyBytes>> {
        let v = self.run(py, move |c| raw::call(c, &name, &args))?;
        Ok(PyBytes::new(py, &v).unbind())
    }

    /// FSTATLS (2.5.1), typed: one (kind, size, atime, mtime) per line of the
    /// server-side list, None for a path that could not be stat'ed.
    fn fstatls_typed(&self, py: Python<'_>, list: Vec<u8>) -> PyResult<Vec<Option<FstatTuple>>> {
        let recs = self.run_at(py, &[&list], |c| c.fstatls(&list))?;
        Ok(fstat_tuples(recs))
    }

    /// Sends one frame (header and payload) on the session's channel.
    fn send_frame(&self, py: Python<'_>, payload: Vec<u8>) -> PyResult<()> {
        self.run_raw(py, move |c| Ok(c.chan.tx.send_frame(&payload)?))
    }
    /// Sends units as they are (each enciphered as one unit).
    fn send_units(&self, py: Python<'_>, units: Vec<Vec<u8>>) -> PyResult<()> {
        self.run_raw(py, move |c| raw::send_units(c, &units))
    }
    /// Receives one unit of `n` bytes, deciphered.
    fn recv_unit(&self, py: Python<'_>, n: usize) -> PyResult<Py<PyBytes>> {
        let v = self.run_raw(py, move |c| raw::recv_unit(c, n))?;
        Ok(PyBytes::new(py, &v).unbind())
    }
    /// Receives one frame's payload.
    fn recv_frame(&self, py: Python<'_>) -> PyResult<Py<PyBytes>> {
        let v = self.run_raw(py, move |c| Ok(c.chan.rx.recv_frame()?))?;
        Ok(PyBytes::new(py, &v).unbind())
    }
    /// The socket's read/write timeout in seconds (None: block).
    #[pyo3(signature = (seconds=None))]
    fn set_timeout(&self, py: Python<'_>, seconds: Option<f64>) -> PyResult<()> {
        self.run_raw(py, move |c| raw::set_timeout(c, seconds))
    }
    /// Reads up to `n` bytes from the socket as they come (no cipher): b"" at EOF.
    fn recv_socket(&self, py: Python<'_>, n: usize) -> PyResult<Py<PyBytes>> {
        let v = self.run_raw(py, move |c| raw::recv_socket(c, n))?;
        Ok(PyBytes::new(py, &v).unbind())
    }

    /// One command whose answer is chunked data then a status (LS, RCVFILE...):
    /// (data, status frame).
    fn raw_chunks(&self, py: Python<'_>, line: Vec<u8>) -> PyResult<(Py<PyBytes>, Py<PyBytes>)> {
        let (d, s) = self.run_raw(py, move |c| raw::chunks(c, &line))?;
        Ok((PyBytes::new(py, &d).unbind(), PyBytes::new(py, &s).unbind()))
    }
}
