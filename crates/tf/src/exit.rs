//! tf's exit statuses, each named with why it is given, and turned into an
//! [`ExitCode`] here only: a command says `Exit::Refused`, never a number, so a
//! status means the same in every file (tf(1) EXIT STATUS, README "Exit
//! statuses" and `tf --help` describe these). A new status is one variant here
//! and its line in those three texts.

use std::process::ExitCode;

/// Why tf ends as it does. 0 is `ExitCode::SUCCESS`: everything asked was done
/// (the server answered OK, the transfer succeeded and was verified).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum Exit {
    /// 1: tf's own side failed — a usage error, no connection (refused, timed
    /// out, a handshake with the wrong version, key or hash), a refused login
    /// or jail, a protocol error, a local file or directory that could not be
    /// read or written. It wins over [`Exit::Refused`] when a tree meets both.
    Error = 1,
    /// 2: the server refused (FAILED or UNKNOWN), a transfer failed, `rmdir`
    /// found the directory not empty, `fsize` printed a negative value, or a
    /// tree command or mirror skipped something the server refused or sent.
    Refused = 2,
    /// 3: `--verify` found the SHA-256 digests of the local and the remote
    /// file differ.
    Mismatch = 3,
    /// 130 (128 + SIGINT, as a shell reports it): `tf shell`'s last command was
    /// interrupted with Ctrl-C and the shell went on in a new session.
    Interrupted = 130,
}

impl From<Exit> for ExitCode {
    /// The one place a status becomes the process's exit code.
    fn from(e: Exit) -> ExitCode {
        ExitCode::from(e as u8)
    }
}

/// The status of tf ended by signal `sig` (SIGINT, SIGTERM, SIGHUP) after it
/// cleaned up: 128 + the signal's number, as a shell reports a process the
/// signal killed, so a script sees an interruption, not a failure of tf's.
pub fn by_signal(sig: i32) -> i32 {
    128 + sig
}
