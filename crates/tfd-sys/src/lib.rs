//! The system layer of tfd and its client: the only crate of the workspace allowed
//! `unsafe` (the workspace's lints forbid it in every other one, so the compiler
//! refuses it there; this crate's own lints are in its Cargo.toml). Thin, typed
//! wrappers over the syscalls that neither std nor nix expose with owned file
//! descriptors: each does one call and turns errno into `io::Error`; policy lives
//! in the callers. Beside them, the file I/O both ends of a
//! transfer share ([`direct`], [`write_behind`], [`dir`]), safe code on top of them.
//!
//! One file per kind of call (fs, process, child, signal, net, mem, tty, syslog);
//! everything public is re-exported here, so callers name `tfd_sys::foo` and
//! never the file it lives in.

use std::io;
use std::os::fd::{FromRawFd, OwnedFd};

fn cvt(r: libc::c_int) -> io::Result<libc::c_int> {
    if r < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(r)
    }
}

fn cvt_fd(r: libc::c_int) -> io::Result<OwnedFd> {
    let fd = cvt(r)?;
    // SAFETY: the kernel just returned this descriptor to us and nobody else owns it.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

#[cfg(feature = "alloc-count")]
pub mod alloc_count;
pub mod dir;
pub mod direct;
pub mod holes;
pub mod private_file;
#[cfg(feature = "python")]
pub mod pybytes;
pub mod write_behind;

mod account;
mod attrs;
mod child;
mod fs;
mod keep;
mod mem;
mod net;
mod process;
mod signal;
mod syslog;
mod tty;
mod xattr;

pub use account::*;
pub use attrs::*;
pub use child::*;
pub use fs::*;
pub use keep::*;
pub use mem::*;
pub use net::*;
pub use process::*;
pub use signal::*;
pub use syslog::*;
pub use tty::*;
pub use xattr::*;
