//! The one way a handler's failure reaches the wire. A handler returns a
//! [`CmdError`] (a step says `?`: a [`Failed`] code, a broken channel), and the
//! session's `answer` writes each kind of it, once: `FAILED <n> : <text>` with
//! the code's text from `tfp_wire::status`, or a text of its own, or the bare
//! `FAILED `. What code a step's failure is belongs to the command (the
//! document gives each command its own codes), so the step names it once with
//! [`OrFailed::or_failed`], or [`DeniedOr::denied_or`] for a file system error,
//! which answers `FAILED 1` for the refusals every command shares.

use crate::fsys::FsError;
use tfp_channel::ChannelError;
use tfp_wire::Failed;

/// Why a handler failed.
#[derive(Debug)]
pub enum CmdError {
    /// Answer `FAILED <n> : <text>`; the session continues.
    Failed(Failed),
    /// Answer `FAILED <n> : <text>` with a text of its own: the code's meaning
    /// for clients that read only the code, the real cause in plain words for
    /// people (a LOGIN refused for a while is not a wrong password).
    Told(Failed, String),
    /// Answer the bare `FAILED ` the document lists for DEL's unexpected errors.
    Bare(String),
    /// The connection broke; the session ends.
    Channel(ChannelError),
}

impl From<Failed> for CmdError {
    fn from(f: Failed) -> Self {
        CmdError::Failed(f)
    }
}

impl From<ChannelError> for CmdError {
    fn from(e: ChannelError) -> Self {
        CmdError::Channel(e)
    }
}

/// `FAILED 13` for an upload that found no room, with its cause in words: a
/// full file system says so ([`tfp_wire::status::DISK_FULL`]), a file
/// system quota keeps the code's own text ("Quota exceeded."). The code is
/// the document's for either, so a reference client reads it as before.
/// `None` when `e` is neither.
pub(crate) fn no_room(e: &FsError) -> Option<CmdError> {
    match e {
        FsError::NoSpace => Some(CmdError::Told(Failed::Quota, tfp_wire::status::DISK_FULL.into())),
        FsError::QuotaFull => Some(CmdError::Failed(Failed::Quota)),
        _ => None,
    }
}

/// Maps the common filesystem errors; callers handle the command-specific ones first.
pub fn denied_or(e: FsError, otherwise: Failed) -> Failed {
    if e.is_denied() {
        Failed::AccessDenied
    } else {
        otherwise
    }
}

/// A step whose every failure is one FAILED code of its command.
pub trait OrFailed<T> {
    /// Any failure of the step is `code` (the cause is not the client's to
    /// read: a FAILED line in the log says which command failed).
    fn or_failed(self, code: Failed) -> Result<T, Failed>;
}

impl<T, E> OrFailed<T> for Result<T, E> {
    fn or_failed(self, code: Failed) -> Result<T, Failed> {
        self.map_err(|_| code)
    }
}

/// A file system step: `FAILED 1` for the refusals every command answers so
/// ([`FsError::is_denied`]: an escape, a bad path, the OS's EACCES), else the
/// command's own `code`.
pub trait DeniedOr<T> {
    /// See [`DeniedOr`].
    fn denied_or(self, code: Failed) -> Result<T, Failed>;
}

impl<T> DeniedOr<T> for Result<T, FsError> {
    fn denied_or(self, code: Failed) -> Result<T, Failed> {
        self.map_err(|e| denied_or(e, code))
    }
}

/// A 2.5.1 argument the grammar refused: `FAILED 16` when a part is missing
/// (NETLOCK's and TFPSFS's commands alike), else the command's own `code`.
pub trait ArgOr<T> {
    /// See [`ArgOr`].
    fn arg_or(self, code: Failed) -> Result<T, Failed>;
}

/// A grammar's refusal of a 2.5.1 argument: whether a part is missing (the
/// one refusal [`ArgOr`] answers apart).
pub trait ArgRefusal {
    /// A part of the argument is missing.
    fn missing(&self) -> bool;
}

impl ArgRefusal for tfp_wire::netlock::ArgError {
    fn missing(&self) -> bool {
        matches!(self, tfp_wire::netlock::ArgError::Missing)
    }
}

impl ArgRefusal for tfp_wire::secfs::ArgError {
    fn missing(&self) -> bool {
        matches!(self, tfp_wire::secfs::ArgError::Missing)
    }
}

impl<T, E: ArgRefusal> ArgOr<T> for Result<T, E> {
    fn arg_or(self, code: Failed) -> Result<T, Failed> {
        self.map_err(|e| if e.missing() { Failed::MissingParameter } else { code })
    }
}
