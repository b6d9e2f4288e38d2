//! The only module allowed `unsafe`: thin, typed wrappers over the syscalls tfd
//! needs that neither std nor nix expose with owned file descriptors. Each wrapper
//! does one call and turns errno into `io::Error`; policy lives in the callers.
//!
//! One file per kind of call (fs, process, child, signal, net, mem, tty, syslog);
//! everything public is re-exported here, so callers name `crate::sys::foo` and
//! never the file it lives in.
#![allow(unsafe_code)]
#![deny(clippy::undocumented_unsafe_blocks)]

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

mod child;
mod fs;
mod mem;
mod net;
mod process;
mod signal;
mod syslog;
mod tty;
mod xattr;

pub use child::*;
pub use fs::*;
pub use mem::*;
pub use net::*;
pub use process::*;
pub use signal::*;
pub use syslog::*;
pub use tty::*;
pub use xattr::*;
