//! A read of a file as one `bytes`: a range deciphered straight into the
//! object (`parallel::get_range_into`: no copy after the wire), or from an
//! offset to the end in the GET's two round trips: the FSTAT that sizes the object goes out with the GET
//! (`tfp_client::parallel::SizedGet`), where a stat first and then the GET
//! cost three (fsspec's `cat_file` of a small file). The data is deciphered
//! straight into the object, which is zeroed a chunk ahead of the data
//! rather than all before it (`tfd_sys::pybytes`). Either is a long
//! operation (`Session::run_long_at`): a Ctrl-C ends it within a tenth of a
//! second, not after the rest of the data.

use crate::state::Session;
use pyo3::prelude::*;
use pyo3::types::PyBytes;
use tfp_client::parallel::{self, Landing, SizedGet};
use tfp_client::Error;

/// `length` bytes of `remote` from `offset` (None: to the end); a file
/// shorter than asked gives fewer.
pub(crate) fn read(
    s: &Session,
    py: Python<'_>,
    remote: Vec<u8>,
    offset: u64,
    length: Option<u64>,
    bufsz: i64,
) -> PyResult<Py<PyBytes>> {
    let n = match length {
        Some(0) => return Ok(PyBytes::new(py, b"").unbind()),
        Some(n) => {
            usize::try_from(n).map_err(|_| pyo3::exceptions::PyValueError::new_err(format!("length {n}: too large")))?
        }
        None => return read_to_end(s, py, remote, offset, bufsz),
    };
    let mut got = 0usize;
    let b = tfd_sys::pybytes::new_filled(py, n, |buf| {
        got = s.run_long_at(py, &[&remote], |c, _| {
            parallel::get_range_into(c, &remote, offset, buf, bufsz)
        })?;
        Ok(())
    })?;
    if got < n {
        // the file ended first
        return Ok(PyBytes::new(py, &b.as_bytes()[..got]).unbind());
    }
    Ok(b.unbind())
}

/// The bytes of `remote` from `offset` to its end (empty past it). A file
/// that shrank between the FSTAT and the GET gives what it still holds; one
/// that grew, what it held at the FSTAT.
fn read_to_end(s: &Session, py: Python<'_>, remote: Vec<u8>, offset: u64, bufsz: i64) -> PyResult<Py<PyBytes>> {
    let (made, got) = s.run_long_at(py, &[&remote], |c, _| {
        let get = SizedGet::open(c, &remote, offset, bufsz)?;
        let Ok(n) = usize::try_from(get.len()) else {
            let len = get.len();
            get.recv_into(c, &mut &mut [][..])?;
            let e = pyo3::exceptions::PyValueError::new_err(format!("{len} bytes: too large"));
            return Ok((Err(e), 0));
        };
        // the GET is left to end here when the object could not be made
        let mut pending = Some(get);
        let mut wire: Result<usize, Error> = Ok(0);
        let made = Python::with_gil(|py| {
            tfd_sys::pybytes::new_filled_lazily(py, n, |lazy| {
                if let Some(get) = pending.take() {
                    wire = py.allow_threads(|| get.recv_into(c, &mut Zeroed(lazy)));
                }
                // a wire error is returned below, through `run`
                wire.as_ref()
                    .map(|_| ())
                    .map_err(|_| pyo3::exceptions::PyOSError::new_err("GET failed"))
            })
            .map(Bound::unbind)
        });
        if let Some(get) = pending.take() {
            get.recv_into(c, &mut &mut [][..])?;
        }
        let got = wire?;
        Ok((made, got))
    })?;
    let b = made?;
    let whole = b.as_bytes(py);
    if got < whole.len() {
        // the file shrank since the FSTAT
        return Ok(PyBytes::new(py, &whole[..got]).unbind());
    }
    Ok(b)
}

/// The bytes object being filled, as the GET's landing: each chunk's room
/// zeroed as it comes.
struct Zeroed<'a, 'b>(&'a mut tfd_sys::pybytes::Lazy<'b>);

impl Landing for Zeroed<'_, '_> {
    fn size(&self) -> usize {
        self.0.size()
    }

    fn room(&mut self, off: usize, len: usize) -> &mut [u8] {
        self.0.room(off, len)
    }
}
