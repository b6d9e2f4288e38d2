//! Ctrl-C that stops one command and keeps the program: while armed (tf's
//! shell), every connection the library opens is watched, and [`fire`]
//! shuts them all down, so whatever blocks on one of them returns an error
//! at once; the caller then sees [`take`] and carries on (the shell
//! reconnects and keeps its directory). Unarmed, nothing is watched.

use std::net::{Shutdown, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, MutexGuard};

static ARMED: AtomicBool = AtomicBool::new(false);
static FIRED: AtomicBool = AtomicBool::new(false);
static WATCHED: Mutex<Vec<TcpStream>> = Mutex::new(Vec::new());

fn watched() -> MutexGuard<'static, Vec<TcpStream>> {
    WATCHED.lock().unwrap_or_else(|p| p.into_inner())
}

/// Turns watching on for the rest of the process.
pub fn arm() {
    ARMED.store(true, Ordering::Relaxed);
}

/// Whether watching is on.
pub fn armed() -> bool {
    ARMED.load(Ordering::Relaxed)
}

/// Watches `s` (a duplicate of its descriptor) when armed.
pub fn watch(s: &TcpStream) {
    if armed() {
        if let Ok(d) = s.try_clone() {
            watched().push(d);
        }
    }
}

/// Interrupts: every watched connection is shut down.
pub fn fire() {
    FIRED.store(true, Ordering::Relaxed);
    for s in watched().iter() {
        let _ = s.shutdown(Shutdown::Both);
    }
}

/// Whether [`fire`] was called since the last [`take`].
pub fn fired() -> bool {
    FIRED.load(Ordering::Relaxed)
}

/// Ends a command: forgets the watched connections (closing the duplicates)
/// and returns whether it was interrupted.
pub fn take() -> bool {
    watched().clear();
    FIRED.swap(false, Ordering::Relaxed)
}
