//! A Python `bytes` object filled in place, for the Python binding
//! (python/, which forbids `unsafe`; built with the feature `python`).
//!
//! pyo3's `PyBytes::new_with` asks CPython for the object and zeroes it whole
//! before handing it out; for a big read that zeroing is the first touch of a
//! fresh `mmap` (glibc maps every block over 32 MiB anew), all of its page
//! faults before the first byte of data. Here the object is zeroed a piece
//! ahead of the data instead ([`new_filled_lazily`]), so the faults go along
//! with the data arriving. Transparent huge pages (`MADV_HUGEPAGE`) were
//! tried and left out: on this project's KVM machines a 1 GiB `cat_file`
//! ran at 430-2,070 MB/s with them depending on the kernel's free huge
//! pages (median 0.55x `tf get`), 1,090-1,120 MB/s without (0.94-1.07x).

use pyo3::ffi;
use pyo3::prelude::*;
use pyo3::types::PyBytes;

/// A new `bytes` of `len` bytes, zeroed, then handed to `fill` as it would be by
/// `PyBytes::new_with`; an error of `fill` drops the object.
pub fn new_filled<'py, F>(py: Python<'py>, len: usize, fill: F) -> PyResult<Bound<'py, PyBytes>>
where
    F: FnOnce(&mut [u8]) -> PyResult<()>,
{
    new_filled_lazily(py, len, |lazy| {
        let n = lazy.size();
        fill(lazy.room(0, n))
    })
}

/// [`new_filled`] with the zeroing done piece by piece as `fill` asks for
/// room ([`Lazy::room`]), so the first touch of a big object's pages
/// (their faults, the kernel's clearing, ours) goes along with the data
/// arriving instead of before it; what `fill` never asked for is zeroed
/// after it.
pub fn new_filled_lazily<'py, F>(py: Python<'py>, len: usize, fill: F) -> PyResult<Bound<'py, PyBytes>>
where
    F: FnOnce(&mut Lazy<'_>) -> PyResult<()>,
{
    let n = ffi::Py_ssize_t::try_from(len)
        .map_err(|_| pyo3::exceptions::PyOverflowError::new_err(format!("{len} bytes: too large")))?;
    // SAFETY: a NULL source with a length asks CPython for an uninitialised
    // bytes object of that length (documented API); we hold the GIL (`py`).
    // The result is a new (owned) reference, or NULL with an exception set,
    // which `from_owned_ptr_or_err` turns into the error.
    let obj = unsafe { Bound::from_owned_ptr_or_err(py, ffi::PyBytes_FromStringAndSize(std::ptr::null(), n))? };
    let bytes = obj.downcast_into::<PyBytes>()?;
    // SAFETY: `bytes` is a bytes object we own and nobody else has seen, so
    // its buffer (`len` bytes, plus CPython's trailing NUL) is ours to
    // write; `PyBytes_AsString` of a bytes object cannot fail.
    let buf: *mut u8 = unsafe { ffi::PyBytes_AsString(bytes.as_ptr()) }.cast();
    if buf.is_null() {
        return Err(PyErr::fetch(py));
    }
    let mut lazy = Lazy {
        buf,
        len,
        ready: 0,
        _owner: std::marker::PhantomData,
    };
    let r = fill(&mut lazy);
    // every byte initialised before Python can see the object
    lazy.ready_to(len);
    r.map(|()| bytes)
}

/// Pieces at least this big are faulted in by `MADV_POPULATE_WRITE` before
/// they are zeroed ([`Lazy::ready_to`]); smaller ones are not worth a call.
const POPULATE_FROM: usize = 1 << 20;
/// The page size the population rounds to; a bigger real page only makes
/// the call cover its pages in part, which is harmless.
const PAGE: usize = 4096;

/// The buffer of a new bytes object being filled ([`new_filled_lazily`]):
/// its bytes are zeroed from the front as far as room was asked for, and
/// only those are ever handed out.
pub struct Lazy<'a> {
    buf: *mut u8,
    len: usize,
    /// `buf[..ready]` is zeroed (or written since).
    ready: usize,
    _owner: std::marker::PhantomData<&'a mut [u8]>,
}

// SAFETY: a Lazy is a `&mut [u8]` handed out in pieces: exclusive access to
// the new object's buffer, which nothing else (no other thread, not CPython,
// which has not given the object to anyone) touches while it lives; it never
// touches the object itself, only those bytes, so it needs no GIL.
unsafe impl Send for Lazy<'_> {}

impl Lazy<'_> {
    /// The object's length.
    pub fn size(&self) -> usize {
        self.len
    }

    /// The bytes `off..off + len`, clamped to the object's length; zeroed
    /// first if they never were, kept as written if they were.
    pub fn room(&mut self, off: usize, len: usize) -> &mut [u8] {
        let off = off.min(self.len);
        let end = off.saturating_add(len).min(self.len);
        self.ready_to(end);
        // SAFETY: `off <= end <= ready <= len`: the bytes lie in the object's
        // buffer and are initialised; the slice borrows `self` mutably, so
        // no other slice of the buffer lives meanwhile, and `self` cannot
        // outlive the object (`new_filled_lazily` owns both).
        unsafe { std::slice::from_raw_parts_mut(self.buf.add(off), end - off) }
    }

    /// Zeroes `buf[ready..end]` (`end <= len`). The whole pages of a big
    /// piece are first faulted in by one `MADV_POPULATE_WRITE` rather than
    /// one trap each as the zeroing touches them: on this project's KVM
    /// machines that took the first touch of 256 MiB from 0.103 to 0.087
    /// CPU seconds. The contents are not changed by it (and the zeroing
    /// follows anyway); a kernel without it (before 5.14) refuses, which is
    /// ignored: the zeroing faults the pages in as before.
    fn ready_to(&mut self, end: usize) {
        if end > self.ready {
            if end - self.ready >= POPULATE_FROM {
                let from = (self.buf as usize + self.ready).next_multiple_of(PAGE);
                let to = (self.buf as usize + end) / PAGE * PAGE;
                if to > from {
                    // SAFETY: `from..to` lies within `buf[ready..end]`, memory
                    // of the object we own (see above); populating it changes
                    // no byte of it and touches nothing outside it.
                    unsafe { libc::madvise(from as *mut libc::c_void, to - from, libc::MADV_POPULATE_WRITE) };
                }
            }
            // SAFETY: `ready < end <= len`: inside the buffer, writable (we
            // own the new object), and not borrowed (every slice handed out
            // borrowed `self`, which we hold mutably here).
            unsafe { std::ptr::write_bytes(self.buf.add(self.ready), 0, end - self.ready) };
            self.ready = end;
        }
    }
}
