//! The new password: asked twice on the controlling terminal with echo off
//! (restored whatever happens), or one line of standard input for scripts;
//! bounded and checked before it is hashed.

use super::{Args, Error};
use std::io::{self, BufRead, Read, Write};
use std::os::fd::AsFd;

/// Longest password accepted: a LOGIN frame before login is at most 4096 bytes.
const MAX_PASSWORD: usize = 1024;

/// Echo off until dropped (also on errors and panics).
struct NoEcho<'a> {
    tty: &'a std::fs::File,
    was_on: bool,
}

impl Drop for NoEcho<'_> {
    fn drop(&mut self) {
        if self.was_on {
            let _ = tfd_sys::set_tty_echo(self.tty.as_fd(), true);
        }
    }
}

fn check_password(pw: Vec<u8>) -> Result<Vec<u8>, Error> {
    if pw.is_empty() {
        return Err(Error::Failed("empty password refused".into()));
    }
    if pw.len() > MAX_PASSWORD {
        return Err(Error::Failed(format!("password longer than {MAX_PASSWORD} bytes")));
    }
    if pw.contains(&0) {
        return Err(Error::Failed("password contains a NUL byte".into()));
    }
    Ok(pw)
}

fn strip_eol(mut line: Vec<u8>) -> Vec<u8> {
    if line.last() == Some(&b'\n') {
        line.pop();
    }
    if line.last() == Some(&b'\r') {
        line.pop();
    }
    line
}

/// One line of standard input (`--stdin`): for scripts and tests.
fn password_from_stdin() -> Result<Vec<u8>, Error> {
    let mut line = Vec::new();
    io::stdin()
        .lock()
        .take(MAX_PASSWORD as u64 + 2)
        .read_until(b'\n', &mut line)
        .map_err(|e| Error::Failed(format!("reading the password from standard input: {e}")))?;
    check_password(strip_eol(line))
}

fn prompt(tty: &std::fs::File, text: &str) -> Result<Vec<u8>, Error> {
    let io_err = |e: io::Error| Error::Failed(format!("terminal: {e}"));
    let mut out = tty;
    out.write_all(text.as_bytes()).map_err(io_err)?;
    out.flush().map_err(io_err)?;
    let was_on = tfd_sys::set_tty_echo(tty.as_fd(), false).map_err(io_err)?;
    let guard = NoEcho { tty, was_on };
    let mut line = Vec::new();
    io::BufReader::new(tty)
        .take(MAX_PASSWORD as u64 + 2)
        .read_until(b'\n', &mut line)
        .map_err(io_err)?;
    drop(guard);
    out.write_all(b"\n").map_err(io_err)?;
    Ok(strip_eol(line))
}

/// Asks twice on the controlling terminal, without echo.
fn password_from_tty() -> Result<Vec<u8>, Error> {
    let tty = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/tty")
        .map_err(|e| Error::Failed(format!("no terminal to ask for the password ({e}); use --stdin")))?;
    let first = check_password(prompt(&tty, "New password: ")?)?;
    let again = prompt(&tty, "Retype new password: ")?;
    if first != again {
        return Err(Error::Failed("the passwords differ; nothing changed".into()));
    }
    Ok(first)
}

pub(super) fn read_password(a: &Args) -> Result<Vec<u8>, Error> {
    if a.stdin {
        password_from_stdin()
    } else {
        password_from_tty()
    }
}
