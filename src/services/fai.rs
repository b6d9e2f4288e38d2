//! The FAI issuer: the one process that writes Fast Access tokens.
//!
//! Why a process: FAITOK comes after LOGIN, when the session process has
//! become its user for good, yet tokens are credentials kept root-only
//! ([`crate::auth::fai`]). So a small helper forked by the listener keeps the
//! listener's user (root), never reads a protocol byte, and answers one
//! request: "issue a token of n minutes for me, LOGIN name L, jail J". Which
//! uid "me" is comes from the kernel (SO_PASSCRED: the sender's credentials
//! ride on every message), not from the session: a request from uid 0 is
//! refused, so no token ever opens a root session. Entrances need no helper:
//! before authentication the session is still root and redeems the token
//! itself ([`crate::auth::fai::Store::redeem`]).
//!
//! Transport as for the key process: one `SOCK_SEQPACKET` pair; each request
//! carries, as SCM_RIGHTS, one end of a fresh pair on which the single reply
//! comes back. Sessions keep their request end for their whole life. The
//! helper also purges expired tokens at start and every minute.

use super::helper_link::Received;
use crate::auth::fai::Store;
use log::{error, info, warn};
use nix::sys::socket::{send, setsockopt, socketpair, sockopt, AddressFamily, MsgFlags, SockFlag, SockType};
use nix::sys::time::TimeVal;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::sync::Mutex;
use std::time::Duration;
use tfd_sys::{self as sys, Fork};
use tfp_wire::{fai::Record, uuid};

/// Largest request: minutes, a LOGIN name and a jail path.
const MAX_REQUEST: usize = 4 + 2 + 256 + 4096;
/// Largest reply: a status byte and FAITOK's answer.
const MAX_REPLY: usize = 1 + 512;
/// A session waits this long for its token.
const REPLY_TIMEOUT: Duration = Duration::from_secs(10);
/// How often expired tokens are purged.
const PURGE_EVERY: Duration = Duration::from_secs(60);
/// A lifetime no configuration allows: the helper's own bound.
const MAX_MINUTES: u32 = 525_600;

const OK: u8 = 0;
const REFUSED: u8 = 1;

/// What FAITOK hands the client.
pub struct Issued {
    /// Seconds since the epoch at which the token expires.
    pub expiry: u64,
    /// The token.
    pub token: [u8; uuid::TEXT_LEN],
    /// The key of the first entrance.
    pub key: Vec<u8>,
}

/// Why a token was not issued: on the session's side, why FAITOK got none; on
/// the issuer's, why it refused a request. Only logged (FAITOK answers its one
/// code), so a kind is its words.
#[derive(Debug)]
pub enum FaiError {
    /// A reason in fixed words.
    Said(&'static str),
    /// The link to the issuer failed at this step.
    Link(&'static str, nix::Error),
    /// The issuer's reply was neither a token nor a refusal: its length.
    Malformed(usize),
    /// No key for the token.
    Key(std::io::Error),
    /// The token could not be stored.
    Store(std::io::Error),
}

impl std::fmt::Display for FaiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FaiError::Said(why) => f.write_str(why),
            FaiError::Link(what, e) => write!(f, "{what}: {e}"),
            FaiError::Malformed(n) => write!(f, "malformed reply of {n} bytes"),
            FaiError::Key(e) => write!(f, "{e}"),
            FaiError::Store(e) => write!(f, "cannot store the token: {e}"),
        }
    }
}

/// The link's lock was poisoned (a thread panicked holding it).
impl<T> From<std::sync::PoisonError<T>> for FaiError {
    fn from(_: std::sync::PoisonError<T>) -> Self {
        FaiError::Said("poisoned")
    }
}

impl From<&'static str> for FaiError {
    fn from(why: &'static str) -> Self {
        FaiError::Said(why)
    }
}

/// [`super::helper_link::send_request`]'s error: the step and its errno.
impl From<(&'static str, nix::Error)> for FaiError {
    fn from((what, e): (&'static str, nix::Error)) -> Self {
        FaiError::Link(what, e)
    }
}

/// The request end of the issuer, with the store both sides use.
pub struct FaiLink {
    fd: Mutex<Option<OwnedFd>>,
    store: Store,
}

impl FaiLink {
    /// A link that issues nothing (before the issuer has started).
    pub fn closed(store: Store) -> FaiLink {
        FaiLink {
            fd: Mutex::new(None),
            store,
        }
    }

    /// The token store (entrances redeem through it directly).
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Asks the issuer for a token bound to this process's uid.
    pub fn issue(&self, minutes: u32, login: Option<&str>, jail: Option<&[u8]>) -> Result<Issued, FaiError> {
        let login = login.unwrap_or("").as_bytes();
        let jail = jail.unwrap_or(b"");
        let mut req = Vec::with_capacity(MAX_REQUEST);
        req.extend_from_slice(&minutes.to_le_bytes());
        req.extend_from_slice(&(login.len() as u16).to_le_bytes());
        req.extend_from_slice(login);
        req.extend_from_slice(jail);
        if login.len() > 256 || req.len() > MAX_REQUEST {
            return Err("request too long".into());
        }
        let guard = self.fd.lock()?;
        let link = guard.as_ref().ok_or("the FAI issuer is not running")?;
        let mine = super::helper_link::send_request(link, &req, REPLY_TIMEOUT)?;
        drop(guard);
        let mut reply = [0u8; MAX_REPLY];
        let n = super::helper_link::reply(&mine, &mut reply)?;
        let parsed = match reply[..n] {
            [OK, ref text @ ..] => tfp_wire::fai::parse_faitok_reply(text)
                .map(|(expiry, token, key)| Issued { expiry, token, key })
                .ok_or(FaiError::Said("malformed reply")),
            [REFUSED] => Err("refused by the issuer (see its log)".into()),
            _ => Err(FaiError::Malformed(n)),
        };
        reply.fill(0);
        parsed
    }

    /// The raw request end, for a forked helper that must close it.
    pub(crate) fn raw_fd(&self) -> Option<RawFd> {
        self.fd.lock().ok().and_then(|g| g.as_ref().map(|f| f.as_raw_fd()))
    }

    /// Closes this process's request end.
    pub fn close(&self) {
        if let Ok(mut g) = self.fd.lock() {
            g.take();
        }
    }
}

/// Forks the issuer for `store`; returns its pid and the request end.
pub fn spawn(store: &Store, close_in_child: &[RawFd]) -> std::io::Result<(i32, FaiLink)> {
    let (link, service) = socketpair(AddressFamily::Unix, SockType::SeqPacket, None, SockFlag::SOCK_CLOEXEC)?;
    setsockopt(&service, sockopt::PassCred, &true)?;
    match sys::fork_helper(&super::SIGNALS)? {
        Fork::Parent(pid) => {
            drop(service);
            Ok((
                pid,
                FaiLink {
                    fd: Mutex::new(Some(link)),
                    store: store.clone(),
                },
            ))
        }
        Fork::Child => {
            drop(link);
            // keeps root: it writes the root-only store, and does nothing else
            super::helper_child_setup(super::Helper::Fai, close_in_child, None);
            sys::set_nondumpable();
            sys::exit_now(run(store, service))
        }
    }
}

/// The issuer's body, in a thread named `fai` (how `ps -L` and the tests tell
/// the issuer from a session); returns once every request end is closed.
fn run(store: &Store, service: OwnedFd) -> i32 {
    std::thread::scope(|s| {
        super::Helper::Fai
            .thread_builder()
            .spawn_scoped(s, || serve(store, service))
            .map_or_else(
                |e| {
                    error!("FAI issuer: cannot start its thread: {e}");
                    1
                },
                |h| h.join().unwrap_or(1),
            )
    })
}

fn serve(store: &Store, service: OwnedFd) -> i32 {
    match store.check_writable() {
        Ok(()) => info!("FAI issuer ready ({})", store.dir().display()),
        // it stays up: the directory may become writable, and each FAITOK tries again
        Err(e) => error!(
            "FAI issuer: {} is not writable ({e}); every FAITOK answers FAILED 67 until it is \
             (under systemd: StateDirectory=tfd for the default fai_dir, or ReadWritePaths= for another)",
            store.dir().display()
        ),
    }
    purge(store);
    let _ = setsockopt(
        &service,
        sockopt::ReceiveTimeout,
        &TimeVal::new(PURGE_EVERY.as_secs() as _, 0),
    );
    let mut buf = vec![0u8; MAX_REQUEST + 1];
    loop {
        let (bytes, truncated, reply_to, uid) = match super::helper_link::receive(&service, &mut buf) {
            Ok(Received::Request {
                len,
                truncated,
                reply_to,
                uid,
            }) => (len, truncated, reply_to, uid),
            Ok(Received::Malformed(n)) => {
                warn!("FAI issuer: dropped a request with {n} descriptor(s)");
                continue;
            }
            Ok(Received::HungUp) => return 0,
            Err(nix::errno::Errno::EAGAIN) => {
                purge(store);
                continue;
            }
            Err(e) => {
                error!("FAI issuer: receive: {e}");
                return 1;
            }
        };
        let reply = match (truncated, uid) {
            (false, Some(uid)) => answer(store, &buf[..bytes], uid),
            (_, None) => Err(FaiError::Said("no sender credentials")),
            (true, _) => Err(FaiError::Said("request too long")),
        };
        let mut out = match reply {
            Ok(text) => [&[OK][..], &text].concat(),
            Err(why) => {
                warn!("FAI issuer: refused a request: {why}");
                vec![REFUSED]
            }
        };
        let _ = send(
            reply_to.as_raw_fd(),
            &out,
            MsgFlags::MSG_NOSIGNAL | MsgFlags::MSG_DONTWAIT,
        );
        out.fill(0);
        buf.fill(0);
    }
}

/// Issues one token for `uid`; returns FAITOK's answer text.
fn answer(store: &Store, req: &[u8], uid: u32) -> Result<Vec<u8>, FaiError> {
    if uid == 0 {
        return Err("a root session asked for a token (FAI never opens a root session)".into());
    }
    let (minutes, rest) = req.split_first_chunk::<4>().ok_or("short request")?;
    let (login_len, rest) = rest.split_first_chunk::<2>().ok_or("short request")?;
    let minutes = u32::from_le_bytes(*minutes).clamp(1, MAX_MINUTES);
    let login_len = u16::from_le_bytes(*login_len) as usize;
    if rest.len() < login_len {
        return Err("short request".into());
    }
    let (login, jail) = rest.split_at(login_len);
    let login = std::str::from_utf8(login).map_err(|_| "LOGIN name not UTF-8")?;
    let now = crate::auth::fai::now();
    let record = Record {
        server: store.server(),
        expiry: now + minutes as u64 * 60,
        uid,
        login: (!login.is_empty()).then(|| login.to_string()),
        jail: (!jail.is_empty()).then(|| jail.to_vec()),
        key: crate::auth::fai::new_key().map_err(FaiError::Key)?,
    };
    let token = store.issue(&record).map_err(FaiError::Store)?;
    info!(
        "FAI issuer: token for uid {uid}{}, valid {minutes} min",
        record
            .login
            .as_deref()
            .map(|l| format!(" (LOGIN {l:?})"))
            .unwrap_or_default()
    );
    Ok(tfp_wire::fai::faitok_reply(record.expiry, &token, &record.key))
}

fn purge(store: &Store) {
    match store.purge(crate::auth::fai::now()) {
        Ok(0) => {}
        Ok(n) => info!("FAI issuer: purged {n} expired token(s)"),
        Err(e) => warn!("FAI issuer: purging {}: {e}", store.dir().display()),
    }
}
