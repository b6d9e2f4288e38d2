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

/// Reading standard input failed (status 1).
struct Stdin(io::Error);

impl From<io::Error> for Stdin {
    fn from(e: io::Error) -> Stdin {
        Stdin(e)
    }
}

impl From<Stdin> for Error {
    fn from(Stdin(e): Stdin) -> Error {
        Error::Failed(format!("reading the password from standard input: {e}"))
    }
}

/// One line of standard input (`--stdin`): for scripts and tests.
fn password_from_stdin() -> Result<Vec<u8>, Error> {
    check_password(strip_eol(stdin_line()?))
}

/// The first line of standard input, at most a password's length (and its
/// end of line) read.
fn stdin_line() -> Result<Vec<u8>, Stdin> {
    let mut line = Vec::new();
    io::stdin()
        .lock()
        .take(MAX_PASSWORD as u64 + 2)
        .read_until(b'\n', &mut line)?;
    Ok(line)
}

/// A step on the terminal failed: `terminal: ...`, status 1.
struct Terminal(io::Error);

impl From<io::Error> for Terminal {
    fn from(e: io::Error) -> Terminal {
        Terminal(e)
    }
}

impl From<Terminal> for Error {
    fn from(Terminal(e): Terminal) -> Error {
        Error::Failed(format!("terminal: {e}"))
    }
}

fn prompt(tty: &std::fs::File, text: &str) -> Result<Vec<u8>, Terminal> {
    let mut out = tty;
    out.write_all(text.as_bytes())?;
    out.flush()?;
    let was_on = tfd_sys::set_tty_echo(tty.as_fd(), false)?;
    let guard = NoEcho { tty, was_on };
    let mut line = Vec::new();
    io::BufReader::new(tty)
        .take(MAX_PASSWORD as u64 + 2)
        .read_until(b'\n', &mut line)?;
    drop(guard);
    out.write_all(b"\n")?;
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

/// Shorter passwords are called weak.
pub(super) const MIN_STRONG: usize = 8;

/// Why `pw` is weak, if it is: shorter than [`MIN_STRONG`] characters, or of
/// one class of character alone (all lower-case letters, all digits, ...).
/// A warning, not a refusal: the operator may have reasons (a test account),
/// and the throttle bounds the guesses either way.
pub(super) fn weakness(pw: &[u8]) -> Option<String> {
    let chars = String::from_utf8_lossy(pw).chars().count();
    if chars < MIN_STRONG {
        return Some(format!("only {chars} character(s), fewer than {MIN_STRONG}"));
    }
    let classes = [
        pw.iter().any(u8::is_ascii_lowercase),
        pw.iter().any(u8::is_ascii_uppercase),
        pw.iter().any(u8::is_ascii_digit),
        pw.iter().any(|b| !b.is_ascii_alphanumeric()),
    ];
    (classes.iter().filter(|c| **c).count() < 2)
        .then(|| "one class of character alone (mix letters with digits, capitals or other characters)".to_string())
}

pub(super) fn read_password(a: &Args) -> Result<Vec<u8>, Error> {
    let pw = if a.stdin {
        password_from_stdin()?
    } else {
        password_from_tty()?
    };
    if let Some(why) = weakness(&pw) {
        eprintln!(
            "tfpasswd: warning: weak password: {why}; it is set anyway (LOGIN's throttle bounds the guesses, \
             not what they find)"
        );
    }
    Ok(pw)
}

#[cfg(test)]
mod tests {
    use super::weakness;

    #[test]
    fn weak_passwords() {
        assert!(weakness(b"abc12").is_some(), "short");
        assert!(weakness(b"abcdefghij").is_some(), "letters alone");
        assert!(weakness(b"1234567890").is_some(), "digits alone");
        assert!(weakness(b"correct horse").is_none(), "letters and spaces");
        assert!(weakness(b"s3cretpw").is_none());
        assert!(
            weakness("abcdäöüäö".as_bytes()).is_none(),
            "non-ASCII counts as another class"
        );
        assert!(
            weakness("äöüäöüäöü".as_bytes()).is_some(),
            "non-ASCII alone is one class, as letters alone are"
        );
    }
}
