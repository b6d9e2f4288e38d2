//! syslog(3), for the daemon's log when it runs without a terminal.

use std::ffi::CStr;

/// openlog(3). glibc keeps the `ident` pointer for every later syslog(3) call,
/// hence `&'static`. With `LOG_NDELAY` the socket to /dev/log is connected now,
/// so processes forked afterwards (sessions that chroot) inherit a live one.
pub fn openlog(ident: &'static CStr, option: libc::c_int, facility: libc::c_int) {
    // SAFETY: `ident` is NUL-terminated and lives for the whole program, as
    // openlog requires; the other arguments are plain integers.
    unsafe { libc::openlog(ident.as_ptr(), option, facility) }
}

/// syslog(3) of one message. The format is a constant `"%s"`, so a `%` in the
/// message (a client's file name, say) is never read as a conversion.
pub fn syslog(priority: libc::c_int, msg: &CStr) {
    // SAFETY: the format is a NUL-terminated literal with exactly one `%s`, matched
    // by one NUL-terminated string argument that outlives the call.
    unsafe { libc::syslog(priority, c"%s".as_ptr(), msg.as_ptr()) }
}
