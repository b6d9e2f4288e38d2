//! The command table and the handlers, one file per family. Handlers never touch
//! the socket directly except through the [`Session`]'s channel for commands that
//! stream; plain commands return a [`Reply`] and the session sends it.
#![forbid(unsafe_code)]

pub mod basic;
pub mod confine;
pub mod fai;
pub mod fs;
pub mod hpf;
pub mod intrw;
pub mod layer;
pub mod listing;
pub mod liveness;
pub mod netlock;
pub mod notify;
pub mod quota;
pub mod runbash;
pub mod secfs;
pub mod secure;
pub mod security;
pub mod stat;
pub mod time;
pub mod transfer;
pub mod tz;
pub mod xcmds;

use crate::channel::ChannelError;
use crate::session::Session;
use crate::wire::secfs as bits;
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

/// How a command meets TFPSFS, the document's secure filesystem ("TFProtocol
/// Secure Filesystem"). The session enforces it in one place: every path a
/// handler resolves through [`Session::path`] is checked against the secure
/// directory it lands in (see [`crate::fsys::secfs::judge`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tfpsfs {
    /// Not tagged `[Supports TFPSFS]`: every path it names fails with `FAILED 1`
    /// in (or for an entry of) a secure directory. Right for commands without paths.
    Untagged,
    /// Tagged: the n-th path the handler resolves needs every bit of `bits[n]`
    /// (the last entry repeats: COPY is `[RFILE, WFILE]`, source then target;
    /// FSIZELS `[RFILE, STAT]`, the list then each line).
    Needs(&'static [u32]),
    /// SETFSPERM, REMFSPERM, GETFSPERM, ISSECFS: they apply the document's own
    /// rules to the directory they manage, so paths pass unchecked.
    Manages,
}

/// A command the document does not tag `[Supports TFPSFS]`.
pub const NOT_TFPSFS: Tfpsfs = Tfpsfs::Untagged;

/// Shorthand for a tagged command's row.
const fn needs(b: &'static [u32]) -> Tfpsfs {
    Tfpsfs::Needs(b)
}

/// One row of the command table.
pub struct Spec {
    /// Upper-case name as on the wire.
    pub name: &'static str,
    /// The handler.
    pub handler: Handler,
    /// Gating.
    pub gate: Gate,
    /// TFPSFS: whether the command is tagged and which permission bits it needs.
    pub tfpsfs: Tfpsfs,
}

/// Commands answered from memory at once, which need no OOB thread running
/// (see [`crate::session::Session::ensure_oob_thread`]): the session is back to
/// waiting for input, where its reader answers urgent bytes, within microseconds.
pub fn answers_at_once(name: &str) -> bool {
    matches!(
        name,
        "ECHO"
            | "DATE"
            | "UDATE"
            | "NDATE"
            | "DATEF"
            | "DTOF"
            | "FTOD"
            | "PROCKEY"
            | "KEEPALIVE"
            | "GETTZ"
            | "LOCALTIME"
            | "GENUUID"
            // a few X25519 and HKDF steps: no waiting on anything
            | "TFDSECURE"
    )
}

/// The raw units a client sends right after the command, before any reply
/// (GOAES: the key, then the IV). A command refused at the gate still has them
/// read, so the stream stays in step with the client.
pub fn trailing_units(name: &str) -> &'static [usize] {
    match name {
        "GOAES" => &[crate::wire::aes::KEY_LEN, crate::wire::aes::IV_LEN],
        _ => &[],
    }
}

/// Every command tfd implements. END is handled by the session loop itself.
#[rustfmt::skip]
pub static TABLE: &[Spec] = &[
    Spec { name: "ECHO", handler: basic::echo, gate: ANY, tfpsfs: NOT_TFPSFS },
    Spec { name: "MKDIR", handler: fs::mkdir, gate: ANY, tfpsfs: needs(&[bits::MKDIR]) },
    Spec { name: "DEL", handler: fs::del, gate: ANY, tfpsfs: needs(&[bits::DFILE]) },
    Spec { name: "RMDIR", handler: fs::rmdir, gate: ANY, tfpsfs: needs(&[bits::RMDIR]) },
    Spec { name: "COPY", handler: fs::copy, gate: ANY, tfpsfs: needs(&[bits::RFILE, bits::WFILE]) },
    Spec { name: "TOUCH", handler: fs::touch, gate: ANY, tfpsfs: needs(&[bits::WFILE]) },
    Spec { name: "DATE", handler: time::date, gate: ANY, tfpsfs: NOT_TFPSFS },
    Spec { name: "UDATE", handler: time::udate, gate: ANY, tfpsfs: NOT_TFPSFS },
    Spec { name: "NDATE", handler: time::ndate, gate: ANY, tfpsfs: NOT_TFPSFS },
    Spec { name: "DATEF", handler: time::datef, gate: ANY, tfpsfs: NOT_TFPSFS },
    Spec { name: "DTOF", handler: time::dtof, gate: ANY, tfpsfs: NOT_TFPSFS },
    Spec { name: "FTOD", handler: time::ftod, gate: ANY, tfpsfs: NOT_TFPSFS },
    Spec { name: "FSTAT", handler: fs::fstat, gate: ANY, tfpsfs: needs(&[bits::STAT]) },
    Spec { name: "FUPD", handler: fs::fupd, gate: ANY, tfpsfs: needs(&[bits::FDUPD]) },
    Spec { name: "CPDIR", handler: fs::cpdir, gate: ANY, tfpsfs: needs(&[bits::RFILE, bits::WFILE | bits::MKDIR]) },
    Spec { name: "RENAM", handler: fs::renam, gate: ANY, tfpsfs: needs(&[bits::RFILE, bits::WFILE]) },
    Spec { name: "LS", handler: listing::ls, gate: ANY, tfpsfs: needs(&[bits::LDIR]) },
    Spec { name: "LSR", handler: listing::lsr, gate: ANY, tfpsfs: needs(&[bits::LRDIR]) },
    Spec { name: "FREESP", handler: fs::freesp, gate: ANY, tfpsfs: NOT_TFPSFS },
    Spec { name: "SHA256", handler: fs::sha256, gate: ANY, tfpsfs: needs(&[bits::RFILE]) },
    Spec { name: "LOCK", handler: fs::lock, gate: ANY, tfpsfs: NOT_TFPSFS },
    Spec { name: "SNDFILE", handler: transfer::sndfile, gate: ANY, tfpsfs: needs(&[bits::WFILE]) },
    Spec { name: "RCVFILE", handler: transfer::rcvfile, gate: ANY, tfpsfs: needs(&[bits::RFILE]) },
    Spec { name: "SUP", handler: transfer::sup, gate: ANY, tfpsfs: needs(&[bits::WFILE]) },
    Spec { name: "SDOWN", handler: transfer::sdown, gate: ANY, tfpsfs: needs(&[bits::RFILE]) },
    Spec { name: "FSIZE", handler: transfer::fsize, gate: ANY, tfpsfs: needs(&[bits::STAT]) },
    Spec { name: "FSIZELS", handler: transfer::fsizels, gate: ANY, tfpsfs: needs(&[bits::RFILE, bits::STAT]) },
    Spec { name: "PUT", handler: hpf::put, gate: ANY, tfpsfs: needs(&[bits::WFILE]) },
    Spec { name: "GET", handler: hpf::get, gate: ANY, tfpsfs: needs(&[bits::RFILE]) },
    Spec { name: "PUTCAN", handler: hpf::putcan, gate: ANY, tfpsfs: needs(&[bits::WFILE]) },
    Spec { name: "GETCAN", handler: hpf::getcan, gate: ANY, tfpsfs: needs(&[bits::RFILE]) },
    Spec { name: "LOGIN", handler: security::login, gate: security::LOGIN_GATE, tfpsfs: NOT_TFPSFS },
    Spec { name: "INJAIL", handler: security::injail, gate: security::INJAIL_GATE, tfpsfs: NOT_TFPSFS },
    Spec { name: "CHMOD", handler: security::chmod, gate: ANY, tfpsfs: needs(&[bits::UXPERM]) },
    Spec { name: "CHOWN", handler: security::chown, gate: ANY, tfpsfs: needs(&[bits::UXPERM]) },
    Spec { name: "RMSECDIR", handler: security::rmsecdir, gate: ANY, tfpsfs: needs(&[bits::RMDIR]) },
    Spec { name: "XCOPY", handler: xcmds::xcopy, gate: ANY, tfpsfs: NOT_TFPSFS },
    Spec { name: "XCPDIR", handler: xcmds::xcpdir, gate: ANY, tfpsfs: NOT_TFPSFS },
    Spec { name: "XDEL", handler: xcmds::xdel, gate: ANY, tfpsfs: NOT_TFPSFS },
    Spec { name: "XRMDIR", handler: xcmds::xrmdir, gate: ANY, tfpsfs: NOT_TFPSFS },
    Spec { name: "ADDNTFY", handler: notify::addntfy, gate: ANY, tfpsfs: NOT_TFPSFS },
    Spec { name: "STARTNTFY", handler: notify::startntfy, gate: ANY, tfpsfs: NOT_TFPSFS },
    Spec { name: "KEEPALIVE", handler: liveness::keepalive, gate: PRE, tfpsfs: NOT_TFPSFS },
    Spec { name: "PROCKEY", handler: liveness::prockey, gate: PRE, tfpsfs: NOT_TFPSFS },
    Spec { name: "NIGMA", handler: liveness::nigma, gate: ANY, tfpsfs: NOT_TFPSFS },
    Spec { name: "TLB", handler: liveness::tlb, gate: ANY, tfpsfs: NOT_TFPSFS },
    Spec { name: "SETFSID", handler: secfs::setfsid, gate: ANY, tfpsfs: Tfpsfs::Manages },
    Spec { name: "SETFSPERM", handler: secfs::setfsperm, gate: ANY, tfpsfs: Tfpsfs::Manages },
    Spec { name: "REMFSPERM", handler: secfs::remfsperm, gate: ANY, tfpsfs: Tfpsfs::Manages },
    Spec { name: "GETFSPERM", handler: secfs::getfsperm, gate: ANY, tfpsfs: Tfpsfs::Manages },
    Spec { name: "ISSECFS", handler: secfs::issecfs, gate: ANY, tfpsfs: Tfpsfs::Manages },
    // protocol 2.5.1
    Spec { name: "LSV2", handler: listing::lsv2, gate: ANY, tfpsfs: needs(&[bits::LDIR, bits::WFILE]) },
    Spec { name: "LSRV2", handler: listing::lsrv2, gate: ANY, tfpsfs: needs(&[bits::LRDIR, bits::WFILE]) },
    Spec { name: "LSV2DOWN", handler: listing::lsv2down, gate: ANY, tfpsfs: needs(&[bits::LDIR]) },
    Spec { name: "LSRV2DOWN", handler: listing::lsrv2down, gate: ANY, tfpsfs: needs(&[bits::LRDIR]) },
    Spec { name: "FTYPE", handler: stat::ftype, gate: ANY, tfpsfs: needs(&[bits::STAT]) },
    Spec { name: "FTYPELS", handler: stat::ftypels, gate: ANY, tfpsfs: needs(&[bits::RFILE, bits::STAT]) },
    Spec { name: "FSTATLS", handler: stat::fstatls, gate: ANY, tfpsfs: needs(&[bits::RFILE, bits::STAT]) },
    Spec { name: "RMKDIR", handler: fs::rmkdir, gate: ANY, tfpsfs: needs(&[bits::MKDIR]) },
    Spec { name: "GETTZ", handler: tz::gettz, gate: ANY, tfpsfs: NOT_TFPSFS },
    Spec { name: "SETTZ", handler: tz::settz, gate: ANY, tfpsfs: NOT_TFPSFS },
    Spec { name: "LOCALTIME", handler: tz::localtime, gate: ANY, tfpsfs: NOT_TFPSFS },
    Spec { name: "DATEFTZ", handler: tz::dateftz, gate: ANY, tfpsfs: NOT_TFPSFS },
    Spec { name: "GENUUID", handler: basic::genuuid, gate: ANY, tfpsfs: NOT_TFPSFS },
    // the 2.5.1 session layer (no paths)
    Spec { name: "GOAES", handler: layer::goaes, gate: ANY, tfpsfs: NOT_TFPSFS },
    Spec { name: "TFPCRYPTO", handler: layer::tfpcrypto, gate: ANY, tfpsfs: NOT_TFPSFS },
    Spec { name: "CIAON", handler: layer::ciaon, gate: ANY, tfpsfs: NOT_TFPSFS },
    Spec { name: "CIAOFF", handler: layer::ciaoff, gate: ANY, tfpsfs: NOT_TFPSFS },
    // the Fast Access Interface (its entrance is in the handshake)
    Spec { name: "FAITOK", handler: fai::faitok, gate: ANY, tfpsfs: NOT_TFPSFS },
    Spec { name: "FAIMQ", handler: fai::faimq, gate: ANY, tfpsfs: NOT_TFPSFS },
    // 2.5.1 locks, integrity transfers, confinement
    Spec { name: "NETLOCK", handler: netlock::netlock, gate: ANY, tfpsfs: NOT_TFPSFS },
    Spec { name: "NETLOCK_TRY", handler: netlock::netlock_try, gate: ANY, tfpsfs: NOT_TFPSFS },
    Spec { name: "NETUNLOCK", handler: netlock::netunlock, gate: ANY, tfpsfs: NOT_TFPSFS },
    Spec { name: "NETMUTACQ_TRY", handler: netlock::netmutacq_try, gate: ANY, tfpsfs: needs(&[bits::RFILE | bits::WFILE]) },
    Spec { name: "NETMUTREL", handler: netlock::netmutrel, gate: ANY, tfpsfs: needs(&[bits::RFILE | bits::WFILE]) },
    Spec { name: "INTREAD", handler: intrw::intread, gate: ANY, tfpsfs: needs(&[bits::RFILE]) },
    Spec { name: "INTWRITE", handler: intrw::intwrite, gate: ANY, tfpsfs: needs(&[bits::WFILE]) },
    Spec { name: "LOCKSYS", handler: confine::locksys, gate: ANY, tfpsfs: NOT_TFPSFS },
    Spec { name: "FLYCONTEXT", handler: confine::flycontext, gate: ANY, tfpsfs: NOT_TFPSFS },
    Spec { name: "RUNBASH", handler: runbash::runbash, gate: ANY, tfpsfs: NOT_TFPSFS },
    // tfd's own: the secure transport (doc/secure-transport.md)
    Spec { name: "TFDSECURE", handler: secure::tfdsecure, gate: PRE, tfpsfs: NOT_TFPSFS },
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
