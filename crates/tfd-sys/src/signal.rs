//! Signal dispositions and the session's wall-clock alarm.

/// Restores the default disposition of a signal (in a forked child).
pub fn default_signal(sig: libc::c_int) {
    // SAFETY: SIG_DFL is always a valid disposition.
    unsafe { libc::signal(sig, libc::SIG_DFL) };
}

/// Ignores a signal (SIGPIPE: writes to a closed socket return EPIPE instead).
pub fn ignore_signal(sig: libc::c_int) {
    // SAFETY: SIG_IGN is always a valid disposition.
    unsafe { libc::signal(sig, libc::SIG_IGN) };
}

/// alarm(2): SIGALRM (default action: terminate) after `secs`, 0 cancels. Bounds the
/// pre-login phase of a session process as a whole, whatever the client trickles.
pub fn alarm(secs: u32) {
    // SAFETY: alarm cannot fail.
    unsafe { libc::alarm(secs) };
}
