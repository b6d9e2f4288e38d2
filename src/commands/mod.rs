//! The command table and the handlers, one file per family. Handlers never touch
//! the socket directly except through the [`Session`]'s channel for commands that
//! stream; plain commands return a [`Reply`] and the session sends it.
#![forbid(unsafe_code)]

pub mod basic;
pub mod confine;
pub mod fs;
pub mod hpf;
pub mod intrw;
pub mod listing;
pub mod liveness;
pub mod netlock;
pub mod notify;
pub mod quota;
pub mod security;
pub mod time;
pub mod transfer;
pub mod xcmds;

use crate::channel::ChannelError;
use crate::session::Session;
use crate::wire::Failed;

/// What a handler produced when it did not fail.
#[derive(Debug)]
pub enum Reply {
    /// `OK`.
    Ok,
    /// `OK <data>`.
    Data(Vec<u8>),
    /// A frame sent verbatim (ECHO).
    Frame(Vec<u8>),
    /// `UNKNOWN`.
    Unknown,
    /// The handler already sent everything.
    Sent,
    /// End the session without a reply.
    Close,
}

/// Why a handler failed.
#[derive(Debug)]
pub enum CmdError {
    /// Answer `FAILED <n> : <text>`; the session continues.
    Failed(Failed),
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

/// A handler's result.
pub type CmdResult = Result<Reply, CmdError>;

/// A command handler.
pub type Handler = fn(&mut Session, &[u8]) -> CmdResult;

/// Where in the gating sequence a command is allowed (document, "Security
/// enhancement" and "In-jail").
#[derive(Debug, Clone, Copy)]
pub struct Gate {
    /// Allowed before LOGIN (END, LOGIN, KEEPALIVE, PROCKEY).
    pub before_login: bool,
    /// Allowed before INJAIL in multi-user mode (INJAIL, LOGIN, KEEPALIVE, PROCKEY);
    /// in single-user mode only INJAIL is.
    pub before_jail: bool,
}

const ANY: Gate = Gate {
    before_login: false,
    before_jail: false,
};

/// KEEPALIVE, PROCKEY (and LOGIN): usable before LOGIN and, in multi-user mode,
/// before INJAIL.
pub(crate) const PRE: Gate = Gate {
    before_login: true,
    before_jail: true,
};

/// One row of the command table.
pub struct Spec {
    /// Upper-case name as on the wire.
    pub name: &'static str,
    /// The handler.
    pub handler: Handler,
    /// Gating.
    pub gate: Gate,
}

/// Commands answered from memory at once, which need no OOB thread running
/// (see [`crate::session::Session::ensure_oob_thread`]): the session is back to
/// waiting for input, where its reader answers urgent bytes, within microseconds.
pub fn answers_at_once(name: &str) -> bool {
    matches!(
        name,
        "ECHO" | "DATE" | "UDATE" | "NDATE" | "DATEF" | "DTOF" | "FTOD" | "PROCKEY" | "KEEPALIVE"
    )
}

/// Every command tfd implements. END is handled by the session loop itself.
#[rustfmt::skip]
pub static TABLE: &[Spec] = &[
    Spec { name: "ECHO", handler: basic::echo, gate: ANY },
    Spec { name: "MKDIR", handler: fs::mkdir, gate: ANY },
    Spec { name: "DEL", handler: fs::del, gate: ANY },
    Spec { name: "RMDIR", handler: fs::rmdir, gate: ANY },
    Spec { name: "COPY", handler: fs::copy, gate: ANY },
    Spec { name: "TOUCH", handler: fs::touch, gate: ANY },
    Spec { name: "DATE", handler: time::date, gate: ANY },
    Spec { name: "UDATE", handler: time::udate, gate: ANY },
    Spec { name: "NDATE", handler: time::ndate, gate: ANY },
    Spec { name: "DATEF", handler: time::datef, gate: ANY },
    Spec { name: "DTOF", handler: time::dtof, gate: ANY },
    Spec { name: "FTOD", handler: time::ftod, gate: ANY },
    Spec { name: "FSTAT", handler: fs::fstat, gate: ANY },
    Spec { name: "FUPD", handler: fs::fupd, gate: ANY },
    Spec { name: "CPDIR", handler: fs::cpdir, gate: ANY },
    Spec { name: "RENAM", handler: fs::renam, gate: ANY },
    Spec { name: "LS", handler: listing::ls, gate: ANY },
    Spec { name: "LSR", handler: listing::lsr, gate: ANY },
    Spec { name: "FREESP", handler: fs::freesp, gate: ANY },
    Spec { name: "SHA256", handler: fs::sha256, gate: ANY },
    Spec { name: "LOCK", handler: fs::lock, gate: ANY },
    Spec { name: "SNDFILE", handler: transfer::sndfile, gate: ANY },
    Spec { name: "RCVFILE", handler: transfer::rcvfile, gate: ANY },
    Spec { name: "SUP", handler: transfer::sup, gate: ANY },
    Spec { name: "SDOWN", handler: transfer::sdown, gate: ANY },
    Spec { name: "FSIZE", handler: transfer::fsize, gate: ANY },
    Spec { name: "FSIZELS", handler: transfer::fsizels, gate: ANY },
    Spec { name: "PUT", handler: hpf::put, gate: ANY },
    Spec { name: "GET", handler: hpf::get, gate: ANY },
    Spec { name: "PUTCAN", handler: hpf::putcan, gate: ANY },
    Spec { name: "GETCAN", handler: hpf::getcan, gate: ANY },
    Spec { name: "LOGIN", handler: security::login, gate: security::LOGIN_GATE },
    Spec { name: "INJAIL", handler: security::injail, gate: security::INJAIL_GATE },
    Spec { name: "CHMOD", handler: security::chmod, gate: ANY },
    Spec { name: "CHOWN", handler: security::chown, gate: ANY },
    Spec { name: "RMSECDIR", handler: security::rmsecdir, gate: ANY },
    Spec { name: "XCOPY", handler: xcmds::xcopy, gate: ANY },
    Spec { name: "XCPDIR", handler: xcmds::xcpdir, gate: ANY },
    Spec { name: "XDEL", handler: xcmds::xdel, gate: ANY },
    Spec { name: "XRMDIR", handler: xcmds::xrmdir, gate: ANY },
    Spec { name: "ADDNTFY", handler: notify::addntfy, gate: ANY },
    Spec { name: "STARTNTFY", handler: notify::startntfy, gate: ANY },
    Spec { name: "KEEPALIVE", handler: liveness::keepalive, gate: PRE },
    Spec { name: "PROCKEY", handler: liveness::prockey, gate: PRE },
    Spec { name: "NIGMA", handler: liveness::nigma, gate: ANY },
    Spec { name: "TLB", handler: liveness::tlb, gate: ANY },
    Spec { name: "NETLOCK", handler: netlock::netlock, gate: ANY },
    Spec { name: "NETLOCK_TRY", handler: netlock::netlock_try, gate: ANY },
    Spec { name: "NETUNLOCK", handler: netlock::netunlock, gate: ANY },
    Spec { name: "NETMUTACQ_TRY", handler: netlock::netmutacq_try, gate: ANY },
    Spec { name: "NETMUTREL", handler: netlock::netmutrel, gate: ANY },
    Spec { name: "INTREAD", handler: intrw::intread, gate: ANY },
    Spec { name: "INTWRITE", handler: intrw::intwrite, gate: ANY },
    Spec { name: "LOCKSYS", handler: confine::locksys, gate: ANY },
    Spec { name: "FLYCONTEXT", handler: confine::flycontext, gate: ANY },
    Spec { name: "RUNBASH", handler: confine::runbash, gate: ANY },
];

/// Finds a command by its upper-case name.
pub fn lookup(name: &str) -> Option<&'static Spec> {
    TABLE.iter().find(|s| s.name == name)
}

#[cfg(test)]
mod tests {
    #[test]
    fn names_unique_and_upper() {
        let mut seen = std::collections::HashSet::new();
        for s in super::TABLE {
            assert!(seen.insert(s.name), "duplicate {}", s.name);
            assert_eq!(s.name, s.name.to_ascii_uppercase());
        }
    }
}
