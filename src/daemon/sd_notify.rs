//! sd_notify(3) without libsystemd: with `Type=notify`, systemd passes a unix
//! datagram socket in `$NOTIFY_SOCKET` and waits for `READY=1` before it calls
//! the service started (so units ordered after tfd start only once it listens).
//! The protocol is one datagram of `KEY=value` lines; a name starting with `@`
//! is in the abstract namespace. Without the variable (started by hand, by
//! another supervisor, or `Type=simple`) every call does nothing.
//!
//! Only the listener (systemd's main pid) notifies: with the default
//! `NotifyAccess=main` systemd ignores anyone else.

use std::ffi::OsStr;
use std::io;
use std::os::linux::net::SocketAddrExt;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::net::{SocketAddr, UnixDatagram};
use std::time::Duration;

/// systemd reads its socket promptly; a stuck manager must not stall the
/// listener for longer than this.
const SEND_TIMEOUT: Duration = Duration::from_secs(1);

/// The service is up: every socket is bound and connections are accepted.
pub fn ready() {
    send_logged("READY=1");
}

/// A reload (SIGHUP) has begun; follow with [`ready`] when it is done (applied
/// or refused). `MONOTONIC_USEC` lets systemd ≥ 253 match the two.
pub(crate) fn reloading() {
    send_logged(&format!("RELOADING=1\nMONOTONIC_USEC={}", monotonic_usec()));
}

/// The service is shutting down (SIGTERM/SIGINT), so systemd shows
/// "deactivating" while sessions drain.
pub fn stopping() {
    send_logged("STOPPING=1");
}

/// A one-line status for `systemctl status` (e.g. "3 sessions"). Newlines would
/// start another assignment, so they become blanks.
pub fn status(text: &str) {
    send_logged(&format!("STATUS={}", text.replace('\n', " ")));
}

/// Sends `state` to `$NOTIFY_SOCKET`. `Ok(false)` when the variable is unset.
pub fn notify(state: &str) -> io::Result<bool> {
    match std::env::var_os("NOTIFY_SOCKET") {
        Some(socket) => send_to(&socket, state).map(|()| true),
        None => Ok(false),
    }
}

fn send_logged(state: &str) {
    if let Err(e) = notify(state) {
        log::warn!("sd_notify {:?}: {e}", state.lines().next().unwrap_or_default());
    }
}

/// Sends one datagram to the socket named like `$NOTIFY_SOCKET`: an absolute
/// path, or `@name` for an abstract socket.
pub fn send_to(socket: &OsStr, state: &str) -> io::Result<()> {
    let addr = address(socket)?;
    let sock = UnixDatagram::unbound()?;
    sock.set_write_timeout(Some(SEND_TIMEOUT))?;
    let n = sock.send_to_addr(state.as_bytes(), &addr)?;
    if n != state.len() {
        return Err(io::Error::other(format!("short send ({n} of {} bytes)", state.len())));
    }
    Ok(())
}

fn address(socket: &OsStr) -> io::Result<SocketAddr> {
    let bytes = socket.as_bytes();
    match bytes.first() {
        Some(b'@') => SocketAddr::from_abstract_name(&bytes[1..]),
        Some(b'/') => SocketAddr::from_pathname(socket),
        _ => Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!(
                "NOTIFY_SOCKET {:?} is neither an absolute path nor @abstract",
                socket.to_string_lossy()
            ),
        )),
    }
}

/// CLOCK_MONOTONIC in microseconds, as systemd's `MONOTONIC_USEC` wants.
fn monotonic_usec() -> u64 {
    match nix::time::clock_gettime(nix::time::ClockId::CLOCK_MONOTONIC) {
        Ok(ts) => (ts.tv_sec() as u64).saturating_mul(1_000_000) + (ts.tv_nsec() as u64) / 1000,
        Err(_) => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::OsString;

    fn recv(sock: &UnixDatagram) -> String {
        sock.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let mut buf = [0u8; 512];
        let n = sock.recv(&mut buf).unwrap();
        String::from_utf8(buf[..n].to_vec()).unwrap()
    }

    #[test]
    fn path_socket() {
        let dir = std::env::temp_dir().join(format!("tfd-notify-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("notify");
        let sock = UnixDatagram::bind(&path).unwrap();
        send_to(path.as_os_str(), "READY=1").unwrap();
        assert_eq!(recv(&sock), "READY=1");
        send_to(path.as_os_str(), "STATUS=a b\nX=1").unwrap();
        assert_eq!(recv(&sock), "STATUS=a b\nX=1");
        std::fs::remove_dir_all(&dir).unwrap();
        // nobody listening any more
        assert!(send_to(path.as_os_str(), "READY=1").is_err());
    }

    #[test]
    fn abstract_socket() {
        let name = format!("tfd-notify-test-{}", std::process::id());
        let sock = UnixDatagram::bind_addr(&SocketAddr::from_abstract_name(name.as_bytes()).unwrap()).unwrap();
        let var = OsString::from(format!("@{name}"));
        send_to(&var, "STOPPING=1").unwrap();
        assert_eq!(recv(&sock), "STOPPING=1");
    }

    #[test]
    fn bad_addresses() {
        for bad in ["", "relative/path", "vsock:2:1234"] {
            let e = send_to(OsStr::new(bad), "READY=1").unwrap_err();
            assert_eq!(e.kind(), io::ErrorKind::InvalidInput, "{bad:?}");
        }
    }

    #[test]
    fn monotonic_clock_moves() {
        let a = monotonic_usec();
        std::thread::sleep(Duration::from_millis(2));
        assert!(monotonic_usec() > a && a > 0);
    }
}
