//! Ctrl-C that stops one command and keeps the program: while armed (tf's
//! shell), every connection the library opens is watched, and [`fire`]
//! shuts them all down, so whatever blocks on one of them returns an error
//! at once; the caller then sees [`take`] and carries on (the shell
//! reconnects and keeps its directory). Unarmed, nothing is watched.
//!
//! A program that runs several operations at once (the Python package, whose
//! Ctrl-C reaches one thread) stops one of them with a [`Cancel`] instead:
//! carried by the [`crate::ClientConfig`] the operation connects with, it
//! shuts down that operation's connections and no other.

use std::net::{Shutdown, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

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

/// The connections of one operation, shut down together by [`Cancel::fire`]:
/// every connection opened through a [`crate::ClientConfig`] whose `cancel`
/// is this (the extra streams of a parallel transfer, a tree's pool) and the
/// sessions [`Cancel::watch`]ed. After the fire no new connection opens
/// through it. Whatever blocks on them returns an error at once, and the
/// transfer leaves its files as every failure does (old or new; a partial
/// kept for a resume). Dropping the last clone closes the duplicates.
#[derive(Clone, Default)]
pub struct Cancel(Arc<CancelInner>);

#[derive(Default)]
struct CancelInner {
    fired: AtomicBool,
    streams: Mutex<Vec<TcpStream>>,
}

impl Cancel {
    /// Watches `s` (a duplicate of its descriptor); after a fire it is shut
    /// down at once.
    pub fn watch(&self, s: &TcpStream) {
        let mut streams = self.0.streams.lock().unwrap_or_else(|p| p.into_inner());
        if self.fired() {
            let _ = s.shutdown(Shutdown::Both);
        } else if let Ok(d) = s.try_clone() {
            streams.push(d);
        }
    }

    /// Shuts down every watched connection, and those watched later.
    pub fn fire(&self) {
        let streams = self.0.streams.lock().unwrap_or_else(|p| p.into_inner());
        self.0.fired.store(true, Ordering::SeqCst);
        for s in streams.iter() {
            let _ = s.shutdown(Shutdown::Both);
        }
    }

    /// Whether [`Cancel::fire`] was called.
    pub fn fired(&self) -> bool {
        self.0.fired.load(Ordering::SeqCst)
    }
}

impl std::fmt::Debug for Cancel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cancel")
            .field("fired", &self.fired())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;
    use std::net::TcpListener;

    #[test]
    fn a_fire_shuts_down_what_it_watches_and_what_comes_after() {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let a = TcpStream::connect(l.local_addr().unwrap()).unwrap();
        let (_peer_a, _) = l.accept().unwrap();
        let c = Cancel::default();
        c.watch(&a);
        let blocked = std::thread::spawn(move || (&a).read(&mut [0u8; 8]).unwrap());
        c.fire();
        // the blocked read returns: end of stream
        assert_eq!(blocked.join().unwrap(), 0);
        let b = TcpStream::connect(l.local_addr().unwrap()).unwrap();
        let (_peer_b, _) = l.accept().unwrap();
        c.watch(&b);
        assert_eq!(
            (&b).read(&mut [0u8; 8]).unwrap(),
            0,
            "watched after the fire: shut at once"
        );
        assert!(c.fired() && c.clone().fired());
    }
}
