//! The 2.5.1 locks: NETLOCK and NETLOCK_TRY (a record lock that lasts as long
//! as the session, released by NETUNLOCK), and NETMUTACQ_TRY / NETMUTREL (a
//! mutex kept in a file, which outlives sessions). The server reads the path
//! of a mutex up to the first space, so a path holding one would name another
//! file: it is [`Error::Usage`] here and never sent.
//!
//! ```no_run
//! use std::time::Duration;
//! use tfp_client::{Error, Failed};
//!
//! let mut c = tfp_client::Client::builder("127.0.0.1:10345")
//!     .key_file("public.pem")
//!     .hash("app-hash")
//!     .connect()?;
//! match c.netlock_try(Duration::from_secs(30), "ledger.db") {
//!     Ok(id) => {
//!         // ... work on ledger.db ...
//!         c.netunlock(id)?;
//!     }
//!     Err(e) if e.failed() == Some(Failed::NetLock) => println!("someone else holds it"),
//!     Err(e) => return Err(e),
//! }
//! # Ok::<(), Error>(())
//! ```

use crate::session::{number, run};
use crate::{Client, Error};
use std::time::Duration;
use tfp_wire::netlock::{format_timeout, MAX_TIMEOUT_MS};

/// A lock NETLOCK handed out: the server's index, which NETUNLOCK takes back.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct LockId(pub u32);

/// The number as the server sent it.
impl std::fmt::Display for LockId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// A lock id as people and scripts write it (decimal).
impl std::str::FromStr for LockId {
    type Err = Error;

    fn from_str(s: &str) -> Result<LockId, Error> {
        s.parse()
            .map(LockId)
            .map_err(|_| Error::Usage(format!("lock id {s:?}: a number NETLOCK answered")))
    }
}

/// The timeout as the server reads it, or `Usage` when it cannot carry it
/// (under a millisecond, or over the protocol's bound).
fn timeout_text(command: &str, t: Duration) -> Result<String, Error> {
    let ms = u64::try_from(t.as_millis()).unwrap_or(u64::MAX);
    if !(1..=MAX_TIMEOUT_MS).contains(&ms) {
        return Err(Error::Usage(format!(
            "{command}: timeout {t:?}: from 1 ms to {} s",
            MAX_TIMEOUT_MS / 1000
        )));
    }
    Ok(format_timeout(ms))
}

/// `Err(Usage)` for a mutex path the server would cut at its first space.
fn check_mutex_path(command: &str, path: &[u8]) -> Result<(), Error> {
    if path.contains(&b' ') {
        return Err(Error::Usage(format!(
            "{command}: {:?}: the protocol separates PATH from TOKEN by a space, so PATH cannot hold one",
            crate::escape::shown(path)
        )));
    }
    Ok(())
}

impl Client {
    /// `NETLOCK timeout path`: waits for the lock on `path`. The server ends
    /// the session (releasing the lock) when it sees no activity for
    /// `timeout`, so a holder must keep talking. A wait that ends without the
    /// lock is [`tfp_wire::Failed::NetLock`].
    pub fn netlock(&mut self, timeout: Duration, path: impl AsRef<[u8]>) -> Result<LockId, Error> {
        self.lock_as("NETLOCK", timeout, path.as_ref())
    }

    /// `NETLOCK_TRY timeout path`: as [`Client::netlock`], but a lock held
    /// elsewhere is [`tfp_wire::Failed::NetLock`] at once.
    pub fn netlock_try(&mut self, timeout: Duration, path: impl AsRef<[u8]>) -> Result<LockId, Error> {
        self.lock_as("NETLOCK_TRY", timeout, path.as_ref())
    }

    fn lock_as(&mut self, command: &str, timeout: Duration, path: &[u8]) -> Result<LockId, Error> {
        let arg = [timeout_text(command, timeout)?.as_bytes(), b" ", path].concat();
        let d = run(self, command, &arg)?;
        number(command, &d).map(LockId)
    }

    /// `NETUNLOCK id`: releases a lock this session took.
    pub fn netunlock(&mut self, id: LockId) -> Result<(), Error> {
        run(self, "NETUNLOCK", id.to_string().as_bytes()).map(drop)
    }

    /// `NETMUTACQ_TRY path token`: takes the mutex kept in the existing file
    /// `path` for `token`. Held by another token: [`tfp_wire::Failed::NetMut`].
    pub fn netmutacq_try(&mut self, path: impl AsRef<[u8]>, token: impl AsRef<[u8]>) -> Result<(), Error> {
        self.mutex_as("NETMUTACQ_TRY", path.as_ref(), token.as_ref())
    }

    /// `NETMUTREL path token`: releases the mutex `token` holds in `path`.
    pub fn netmutrel(&mut self, path: impl AsRef<[u8]>, token: impl AsRef<[u8]>) -> Result<(), Error> {
        self.mutex_as("NETMUTREL", path.as_ref(), token.as_ref())
    }

    fn mutex_as(&mut self, command: &str, path: &[u8], token: &[u8]) -> Result<(), Error> {
        check_mutex_path(command, path)?;
        run(self, command, &[path, b" ", token].concat()).map(drop)
    }
}
