//! Terminal modes for the interactive tools (password prompts, `tf shell`).

use super::cvt;
use std::io;
use std::os::fd::{AsRawFd, BorrowedFd};

/// Turns a terminal's echo off or on (tfpasswd reads passwords without echo) and
/// returns whether it was on. Fails with ENOTTY when `fd` is not a terminal.
pub fn set_tty_echo(fd: BorrowedFd<'_>, on: bool) -> io::Result<bool> {
    // SAFETY: an all-zero termios is a valid value; tcgetattr overwrites it.
    let mut t: libc::termios = unsafe { std::mem::zeroed() };
    // SAFETY: valid fd and a writable termios.
    cvt(unsafe { libc::tcgetattr(fd.as_raw_fd(), &mut t) })?;
    let was = t.c_lflag & libc::ECHO != 0;
    if on {
        t.c_lflag |= libc::ECHO;
    } else {
        t.c_lflag &= !libc::ECHO;
    }
    // SAFETY: valid fd and the termios read above.
    cvt(unsafe { libc::tcsetattr(fd.as_raw_fd(), libc::TCSAFLUSH, &t) })?;
    Ok(was)
}

/// A terminal's settings as [`set_tty_cbreak`] found them, to put back.
pub struct TtyMode(libc::termios);

/// Turns off a terminal's line discipline (canonical mode and echo; signals
/// and output processing stay), one byte a read, for `tf shell`'s own line
/// editor; returns the settings to restore with [`restore_tty`].
pub fn set_tty_cbreak(fd: BorrowedFd<'_>) -> io::Result<TtyMode> {
    // SAFETY: an all-zero termios is a valid value; tcgetattr overwrites it.
    let mut t: libc::termios = unsafe { std::mem::zeroed() };
    // SAFETY: valid fd and a writable termios.
    cvt(unsafe { libc::tcgetattr(fd.as_raw_fd(), &mut t) })?;
    let old = TtyMode(t);
    t.c_lflag &= !(libc::ICANON | libc::ECHO);
    t.c_cc[libc::VMIN] = 1;
    t.c_cc[libc::VTIME] = 0;
    // SAFETY: valid fd and the termios read above, changed.
    cvt(unsafe { libc::tcsetattr(fd.as_raw_fd(), libc::TCSANOW, &t) })?;
    Ok(old)
}

/// Puts back what [`set_tty_cbreak`] changed.
pub fn restore_tty(fd: BorrowedFd<'_>, mode: &TtyMode) -> io::Result<()> {
    // SAFETY: valid fd and a termios tcgetattr filled.
    cvt(unsafe { libc::tcsetattr(fd.as_raw_fd(), libc::TCSANOW, &mode.0) }).map(drop)
}
