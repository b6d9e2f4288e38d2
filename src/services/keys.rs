//! The key process: the only process that holds the server's RSA private key
//! (privilege separation after OpenSSH's monitor). Sessions hand it the 256-byte
//! handshake ciphertext and get the session key back; they never map the key.
//!
//! Why a process of its own, besides privilege separation: OpenSSL blinds each RSA
//! operation with factors it advances cheaply from one use to the next. A forked
//! session starts from its parent's factors, so each session would have to make
//! fresh ones (a modular inverse: as costly as the decryption itself, and more in
//! a cold child). A long-lived process keeps OpenSSL's own blinding schedule and a
//! warm key, which halves the server's CPU per handshake.
//!
//! Transport: one `SOCK_SEQPACKET` socket pair per key process. The listener and
//! every session process before its handshake hold the request end; a request is
//! the ciphertext plus, as SCM_RIGHTS, one end of a fresh socket pair on which the
//! single reply comes back, so replies never cross between sessions. Sessions close
//! the request end as soon as the session key is known: nothing past the handshake
//! can ask for a decryption. The key process drops to an unprivileged user, is not
//! dumpable, and ends when every request end is closed.
//!
//! Every ciphertext passes through here, so this is also where a replayed session
//! is caught: the [`ReplayCache`] of accepted ciphertexts refuses one seen before.

use super::helper_link::Received;
use crate::auth::replay::{ReplayCache, ReplayPolicy};
use log::{error, info, warn};
use nix::sys::socket::{send, socketpair, AddressFamily, MsgFlags, SockFlag, SockType};
use openssl::pkey::Private;
use openssl::rsa::Rsa;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::sync::Mutex;
use std::time::Duration;
use tfd_sys::{self as sys, Fork};

/// The RSA-2048 ciphertext size: the only request size there is.
pub(crate) const CIPHERTEXT: usize = 256;

/// A session waits this long for its answer before giving up on the handshake.
const REPLY_TIMEOUT: Duration = Duration::from_secs(10);

/// Reply status bytes.
const OK: u8 = 0;
const REFUSED: u8 = 1;
const REPLAYED: u8 = 2;

/// Why a decryption through the key process did not produce a key.
#[derive(Debug)]
pub enum KeyError {
    /// The ciphertext does not decrypt to a session key (the client's fault).
    Refused,
    /// The ciphertext was accepted before: a recorded session sent again.
    Replayed,
    /// The key process could not be reached or answered nonsense (ours).
    Unavailable(String),
}

/// The link's lock was poisoned (a thread panicked holding it).
impl<T> From<std::sync::PoisonError<T>> for KeyError {
    fn from(_: std::sync::PoisonError<T>) -> Self {
        KeyError::Unavailable("poisoned".into())
    }
}

/// [`super::helper_link::send_request`]'s error: the step and its errno.
impl From<(&'static str, nix::Error)> for KeyError {
    fn from((what, e): (&'static str, nix::Error)) -> Self {
        KeyError::Unavailable(format!("{what}: {e}"))
    }
}

impl std::fmt::Display for KeyError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            KeyError::Refused => write!(f, "session key refused"),
            KeyError::Replayed => write!(f, "session key replayed: this ciphertext was accepted before"),
            KeyError::Unavailable(e) => write!(f, "key process unavailable: {e}"),
        }
    }
}

/// The request end of a key process, as the listener and sessions hold it.
/// A `Mutex<Option<_>>` so a session can close its inherited copy through the
/// shared context; nothing else ever contends for it.
pub struct KeyLink {
    fd: Mutex<Option<OwnedFd>>,
    /// The public half as an OpenSSH key blob, for `TFDHOSTKEY`
    /// (tfp_wire::hostkey): sessions never hold the private key, but may
    /// show anyone the public one. Empty before the key process starts.
    public: std::sync::Arc<Vec<u8>>,
}

impl KeyLink {
    /// A link that answers nothing (before the key process has started).
    pub fn closed() -> KeyLink {
        KeyLink {
            fd: Mutex::new(None),
            public: Default::default(),
        }
    }

    /// A link that takes over this one's request end (the listener, building
    /// a new context that keeps this key process).
    pub(crate) fn moved(&self) -> KeyLink {
        KeyLink {
            fd: Mutex::new(self.fd.lock().ok().and_then(|mut g| g.take())),
            public: self.public.clone(),
        }
    }

    /// The server's public key as an OpenSSH key blob (empty before the key
    /// process started).
    pub(crate) fn public(&self) -> &[u8] {
        &self.public
    }

    /// Decrypts a handshake ciphertext in the key process.
    pub(crate) fn decrypt(&self, ciphertext: &[u8]) -> Result<Vec<u8>, KeyError> {
        if ciphertext.len() != CIPHERTEXT {
            return Err(KeyError::Refused);
        }
        let guard = self.fd.lock()?;
        let link = guard
            .as_ref()
            .ok_or_else(|| KeyError::Unavailable("request end already closed".into()))?;
        let mine = super::helper_link::send_request(link, ciphertext, REPLY_TIMEOUT)?;
        drop(guard);
        let mut reply = [0u8; 1 + CIPHERTEXT];
        let n = super::helper_link::reply(&mine, &mut reply)?;
        match reply[..n] {
            [OK, ref key @ ..] if !key.is_empty() => Ok(key.to_vec()),
            [REFUSED] => Err(KeyError::Refused),
            [REPLAYED] => Err(KeyError::Replayed),
            [] => Err(KeyError::Unavailable("the key process closed the reply channel".into())),
            _ => Err(KeyError::Unavailable(format!("malformed reply of {n} bytes"))),
        }
    }

    /// Closes this process's request end: after the handshake nothing may decrypt.
    pub fn close(&self) {
        if let Ok(mut g) = self.fd.lock() {
            g.take();
        }
    }

    /// The raw request end, for a forked helper that must close it.
    pub(crate) fn raw_fd(&self) -> Option<RawFd> {
        self.fd.lock().ok().and_then(|g| g.as_ref().map(|f| f.as_raw_fd()))
    }
}

/// Forks a key process that owns `rsa`; returns its pid and the request end.
/// The caller drops its own `rsa` afterwards, so only the key process keeps it.
/// `close_in_child` names descriptors the key process must not inherit.
pub fn spawn(
    rsa: &Rsa<Private>,
    replay: ReplayPolicy,
    user: Option<&crate::auth::privs::Identity>,
    close_in_child: &[RawFd],
) -> std::io::Result<(i32, KeyLink)> {
    let public = std::sync::Arc::new(tfp_wire::hostkey::rsa_blob(&rsa.e().to_vec(), &rsa.n().to_vec()));
    let (link, service) = socketpair(AddressFamily::Unix, SockType::SeqPacket, None, SockFlag::SOCK_CLOEXEC)?;
    match sys::fork_helper(&super::SIGNALS)? {
        Fork::Parent(pid) => {
            drop(service);
            Ok((
                pid,
                KeyLink {
                    fd: Mutex::new(Some(link)),
                    public,
                },
            ))
        }
        Fork::Child => {
            drop(link);
            super::helper_child_setup(super::Helper::Keys, close_in_child, user);
            // after the switch: no same-user process may ptrace it or read its memory
            sys::set_nondumpable();
            sys::exit_now(run(rsa, replay, service))
        }
    }
}

/// The key process's body: one worker per CPU, each answering requests in turn.
/// Returns the exit code once every request end has been closed.
fn run(rsa: &Rsa<Private>, replay: ReplayPolicy, service: OwnedFd) -> i32 {
    let workers = std::thread::available_parallelism().map_or(1, |n| n.get()).clamp(1, 8);
    info!("key process ready ({workers} worker(s))");
    let service = &service;
    let replay = &Mutex::new(ReplayCache::new(replay));
    std::thread::scope(|s| {
        for i in 0..workers {
            let spawned = super::Helper::Keys
                .thread_builder()
                .spawn_scoped(s, move || serve(rsa, replay, service));
            if let Err(e) = spawned {
                error!("key process: worker {i}: {e}");
            }
        }
    });
    0
}

/// Answers requests until every request end is closed.
fn serve(rsa: &Rsa<Private>, replay: &Mutex<ReplayCache>, service: &OwnedFd) {
    let mut buf = [0u8; CIPHERTEXT + 1];
    loop {
        let (bytes, truncated, reply_to) = match super::helper_link::receive(service, &mut buf) {
            Ok(Received::Request {
                len,
                truncated,
                reply_to,
                ..
            }) => (len, truncated, reply_to),
            Ok(Received::Malformed(n)) => {
                warn!("key process: dropped a request with {n} descriptor(s)");
                continue;
            }
            Ok(Received::HungUp) => return, // every request end is closed
            Err(e) => {
                error!("key process: receive: {e}");
                return;
            }
        };
        let mut reply = [0u8; 1 + CIPHERTEXT];
        let len = if truncated || bytes != CIPHERTEXT {
            reply[0] = REFUSED;
            1
        } else {
            match tfp_wire::handshake::decrypt_session_key(rsa, &buf[..bytes]) {
                // only ciphertexts that decrypt are remembered: garbage costs no room
                Ok(key) if key.len() <= CIPHERTEXT && !first_sight(replay, &buf[..bytes]) => {
                    reply[0] = REPLAYED;
                    1
                }
                Ok(key) if key.len() <= CIPHERTEXT => {
                    reply[0] = OK;
                    reply[1..1 + key.len()].copy_from_slice(&key);
                    1 + key.len()
                }
                _ => {
                    reply[0] = REFUSED;
                    1
                }
            }
        };
        // a session that has gone away is no concern of ours
        let _ = send(
            reply_to.as_raw_fd(),
            &reply[..len],
            MsgFlags::MSG_NOSIGNAL | MsgFlags::MSG_DONTWAIT,
        );
        reply.fill(0);
    }
}

/// Records an accepted ciphertext; false when it was accepted before. A poisoned
/// lock (a worker panicked) still holds a usable cache.
fn first_sight(replay: &Mutex<ReplayCache>, ciphertext: &[u8]) -> bool {
    let now = nix::time::clock_gettime(nix::time::ClockId::CLOCK_MONOTONIC).map_or(0, |t| t.tv_sec().max(0) as u64);
    let mut cache = replay.lock().unwrap_or_else(|p| p.into_inner());
    cache.accept(ciphertext, now)
}
