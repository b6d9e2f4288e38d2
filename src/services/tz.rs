//! The system's time zone database, opened once by the daemon before any session
//! chroots (INJAIL) or drops privileges (LOGIN), and read beneath that directory
//! descriptor (`openat2` `RESOLVE_BENEATH`), so a jailed session still finds
//! `Europe/Paris` and no name can reach another file. The commands that use it
//! (GETTZ, SETTZ, LOCALTIME, DATEFTZ) are in `commands/tz.rs`.

use log::{debug, warn};
use std::ffi::CString;
use std::io::Read;
use std::os::fd::{AsFd, OwnedFd};
use std::sync::OnceLock;
use tfd_sys as sys;
use tz::TimeZone;

/// Where the zone database is unless `TZDIR` says otherwise.
pub(crate) const DEFAULT_ZONEINFO: &str = "/usr/share/zoneinfo";

/// Largest zone file read (real ones are a few KiB).
const MAX_ZONE_FILE: u64 = 256 * 1024;

static ZONEINFO: OnceLock<Option<OwnedFd>> = OnceLock::new();

/// Opens the zone database directory (`$TZDIR`, else [`DEFAULT_ZONEINFO`]) once.
/// Called by the listener before it forks sessions, and again (a no-op then) by
/// INJAIL before its chroot, so that every session inherits a way to its zones.
pub(crate) fn preload() {
    ZONEINFO.get_or_init(|| {
        let dir = std::env::var_os("TZDIR").unwrap_or_else(|| DEFAULT_ZONEINFO.into());
        let path = std::path::Path::new(&dir);
        use std::os::unix::fs::OpenOptionsExt;
        let opened = std::fs::OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_DIRECTORY | libc::O_CLOEXEC)
            .open(path);
        match opened {
            Ok(f) => Some(OwnedFd::from(f)),
            Err(e) => {
                warn!(
                    "time zone database {}: {e}; SETTZ and DATEFTZ take POSIX TZ rules only",
                    path.display()
                );
                None
            }
        }
    });
}

/// The zone database's descriptor, for helper processes (UDP responder, key
/// process) to close: only sessions need it.
pub(crate) fn database_fd() -> Option<std::os::fd::RawFd> {
    use std::os::fd::AsRawFd;
    ZONEINFO.get()?.as_ref().map(|fd| fd.as_raw_fd())
}

/// True for text that may name a file of the zone database: plain components of
/// letters, digits and `_ + - .`, none empty, `.` or `..`, no leading `/`.
pub(crate) fn is_zone_name(s: &str) -> bool {
    !s.is_empty()
        && s.split('/').all(|c| {
            !c.is_empty()
                && c != "."
                && c != ".."
                && c.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'+' | b'-' | b'.'))
        })
}

/// Reads a zone by name from the database, beneath its descriptor.
pub(crate) fn from_database(name: &str) -> Option<TimeZone> {
    let dir = ZONEINFO.get()?.as_ref()?;
    let c = CString::new(name).ok()?;
    let fd = sys::openat2_beneath(dir.as_fd(), &c, libc::O_RDONLY | libc::O_NONBLOCK | libc::O_NOCTTY, 0).ok()?;
    let st = sys::fstat(fd.as_fd()).ok()?;
    if st.st_mode & libc::S_IFMT != libc::S_IFREG {
        return None;
    }
    let mut bytes = Vec::new();
    std::fs::File::from(fd)
        .take(MAX_ZONE_FILE)
        .read_to_end(&mut bytes)
        .ok()?;
    match TimeZone::from_tz_data(&bytes) {
        Ok(z) => Some(z),
        Err(e) => {
            debug!("zone file {name}: {e}");
            None
        }
    }
}
