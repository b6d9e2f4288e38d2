//! tfd's command table: every command's row (its name, handler, gate and
//! TFPSFS bits), and the lookup the session dispatches through.

use super::{
    access, backup, basic, compress, confine, connection, delta, delta_get, fai, features, fs, getmany, hpf, intrw,
    keylogin, land, layer, link, listing, netlock, notify, prove, putmany, runbash, same, secfs, sparse, stage, stat,
    time, transfer, transport, tz, user_keys, xattr, xcmds, Gate, Tfpsfs,
};
use crate::dispatch::row;
use crate::session::Session;
use tfp_wire::secfs as bits;

/// A row of tfd's command table: a handler given the session.
pub type Spec = crate::dispatch::Spec<Session>;

/// A command handler.
pub type Handler = crate::dispatch::Handler<Session>;

const ANY: Gate = Gate {
    before_login: false,
    before_jail: false,
    single_user_jail: false,
    before_secure: false,
    locksys: false,
    flycontext: false,
    before_key: false,
};

/// KEEPALIVE, PROCKEY: usable before LOGIN, before INJAIL in multi-user mode,
/// and before the secure upgrade a server requires.
pub(crate) const PRE: Gate = Gate {
    before_login: true,
    before_jail: true,
    before_secure: true,
    ..ANY
};

/// TFDSECURE: as [`PRE`], and also in single-user mode before INJAIL (it
/// protects INJAIL's token).
const UPGRADE: Gate = Gate {
    single_user_jail: true,
    before_key: true,
    ..PRE
};

/// TFDKEY and TFDKEYSIG: as LOGIN, and also while a single-user server's
/// `authorized_keys` waits for the key login.
const KEY_LOGIN: Gate = Gate {
    before_key: true,
    ..access::LOGIN_GATE
};

/// A command the document does not tag `[Supports TFPSFS]`.
pub(crate) const NOT_TFPSFS: Tfpsfs = Tfpsfs::Untagged;

/// Shorthand for a tagged command's row.
const fn needs(b: &'static [u32]) -> Tfpsfs {
    Tfpsfs::Needs(b)
}

/// LOCKSYS's gate.
const LOCKSYS: Gate = Gate { locksys: true, ..ANY };
/// FLYCONTEXT's gate.
const FLYCONTEXT: Gate = Gate {
    flycontext: true,
    ..ANY
};

/// Every command tfd implements. END is handled by the session loop itself.
#[rustfmt::skip]
pub static TABLE: &[Spec] = &[
    row("ECHO", basic::echo, ANY, NOT_TFPSFS).at_once(),
    row("MKDIR", fs::mkdir, ANY, needs(&[bits::MKDIR])),
    row("DEL", fs::del, ANY, needs(&[bits::DFILE])),
    row("RMDIR", fs::rmdir, ANY, needs(&[bits::RMDIR])),
    row("COPY", fs::copy, ANY, needs(&[bits::RFILE, bits::WFILE])),
    row("TOUCH", fs::touch, ANY, needs(&[bits::WFILE])),
    row("DATE", time::date, ANY, NOT_TFPSFS).at_once(),
    row("UDATE", time::udate, ANY, NOT_TFPSFS).at_once(),
    row("NDATE", time::ndate, ANY, NOT_TFPSFS).at_once(),
    row("DATEF", time::datef, ANY, NOT_TFPSFS).at_once(),
    row("DTOF", time::dtof, ANY, NOT_TFPSFS).at_once(),
    row("FTOD", time::ftod, ANY, NOT_TFPSFS).at_once(),
    row("FSTAT", fs::fstat, ANY, needs(&[bits::STAT])),
    row("FUPD", fs::fupd, ANY, needs(&[bits::FDUPD])),
    row("CPDIR", fs::cpdir, ANY, needs(&[bits::RFILE, bits::WFILE | bits::MKDIR])),
    row("RENAM", fs::renam, ANY, needs(&[bits::RFILE, bits::WFILE])),
    row("LS", listing::ls, ANY, needs(&[bits::LDIR])),
    row("LSR", listing::lsr, ANY, needs(&[bits::LRDIR])),
    row("FREESP", fs::freesp, ANY, NOT_TFPSFS),
    row("SHA256", fs::sha256, ANY, needs(&[bits::RFILE])),
    row("LOCK", fs::lock, ANY, NOT_TFPSFS),
    row("SNDFILE", transfer::sndfile, ANY, needs(&[bits::WFILE])).transfer(),
    row("RCVFILE", transfer::rcvfile, ANY, needs(&[bits::RFILE])).transfer(),
    row("SUP", transfer::sup, ANY, needs(&[bits::WFILE])).transfer(),
    row("SDOWN", transfer::sdown, ANY, needs(&[bits::RFILE])).transfer(),
    row("FSIZE", transfer::fsize, ANY, needs(&[bits::STAT])),
    row("FSIZELS", transfer::fsizels, ANY, needs(&[bits::RFILE, bits::STAT])),
    row("PUT", hpf::put, ANY, needs(&[bits::WFILE])).transfer(),
    row("GET", hpf::get, ANY, needs(&[bits::RFILE])).transfer(),
    row("PUTCAN", hpf::putcan, ANY, needs(&[bits::WFILE])).transfer(),
    row("GETCAN", hpf::getcan, ANY, needs(&[bits::RFILE])).transfer(),
    row("LOGIN", access::login, access::LOGIN_GATE, NOT_TFPSFS),
    row("INJAIL", access::injail, access::INJAIL_GATE, NOT_TFPSFS),
    // tfd's own: key login over the secure transport (doc/compatibility.md "Key login")
    row(tfp_wire::keylogin::OFFER, keylogin::tfdkey, KEY_LOGIN, NOT_TFPSFS),
    row(tfp_wire::keylogin::SIGN, keylogin::tfdkeysig, KEY_LOGIN, NOT_TFPSFS),
    // tfd's own: a user's own keys, before LOGIN (doc/compatibility.md "Users' own keys")
    row(tfp_wire::keylogin::user_keys::PROVE, user_keys::prove, access::LOGIN_GATE, NOT_TFPSFS),
    row(tfp_wire::keylogin::user_keys::LIST, user_keys::list, access::LOGIN_GATE, NOT_TFPSFS),
    row(tfp_wire::keylogin::user_keys::ADD, user_keys::add, access::LOGIN_GATE, NOT_TFPSFS),
    row(tfp_wire::keylogin::user_keys::DEL, user_keys::del, access::LOGIN_GATE, NOT_TFPSFS),
    row("CHMOD", access::chmod, ANY, needs(&[bits::UXPERM])),
    row("CHOWN", access::chown, ANY, needs(&[bits::UXPERM])),
    row("RMSECDIR", secfs::rmsecdir, ANY, needs(&[bits::RMDIR])),
    row("XCOPY", xcmds::xcopy, ANY, NOT_TFPSFS),
    row("XCPDIR", xcmds::xcpdir, ANY, NOT_TFPSFS),
    row("XDEL", xcmds::xdel, ANY, NOT_TFPSFS),
    row("XRMDIR", xcmds::xrmdir, ANY, NOT_TFPSFS),
    row("ADDNTFY", notify::addntfy, ANY, NOT_TFPSFS),
    row("STARTNTFY", notify::startntfy, ANY, NOT_TFPSFS),
    row("KEEPALIVE", connection::keepalive, PRE, NOT_TFPSFS).at_once(),
    row("PROCKEY", connection::prockey, PRE, NOT_TFPSFS).at_once(),
    row("NIGMA", connection::nigma, ANY, NOT_TFPSFS),
    row("TLB", connection::tlb, ANY, NOT_TFPSFS),
    row("SETFSID", secfs::setfsid, ANY, Tfpsfs::Manages),
    row("SETFSPERM", secfs::setfsperm, ANY, Tfpsfs::Manages),
    row("REMFSPERM", secfs::remfsperm, ANY, Tfpsfs::Manages),
    row("GETFSPERM", secfs::getfsperm, ANY, Tfpsfs::Manages),
    row("ISSECFS", secfs::issecfs, ANY, Tfpsfs::Manages),
    // protocol 2.5.1
    row("LSV2", listing::lsv2, ANY, needs(&[bits::LDIR, bits::WFILE])),
    row("LSRV2", listing::lsrv2, ANY, needs(&[bits::LRDIR, bits::WFILE])),
    row("LSV2DOWN", listing::lsv2down, ANY, needs(&[bits::LDIR])),
    row("LSRV2DOWN", listing::lsrv2down, ANY, needs(&[bits::LRDIR])),
    row("FTYPE", stat::ftype, ANY, needs(&[bits::STAT])),
    row("FTYPELS", stat::ftypels, ANY, needs(&[bits::RFILE, bits::STAT])),
    row("FSTATLS", stat::fstatls, ANY, needs(&[bits::RFILE, bits::STAT])),
    row("RMKDIR", fs::rmkdir, ANY, needs(&[bits::MKDIR])),
    row("GETTZ", tz::gettz, ANY, NOT_TFPSFS).at_once(),
    row("SETTZ", tz::settz, ANY, NOT_TFPSFS),
    row("LOCALTIME", tz::localtime, ANY, NOT_TFPSFS).at_once(),
    row("DATEFTZ", tz::dateftz, ANY, NOT_TFPSFS),
    row("GENUUID", tz::genuuid, ANY, NOT_TFPSFS).at_once(),
    // the 2.5.1 session layer (no paths)
    row("GOAES", layer::goaes, ANY, NOT_TFPSFS).trailing(&[tfp_wire::aes::KEY_LEN, tfp_wire::aes::IV_LEN]),
    row("TFPCRYPTO", layer::tfpcrypto, ANY, NOT_TFPSFS),
    row("CIAON", layer::ciaon, ANY, NOT_TFPSFS),
    row("CIAOFF", layer::ciaoff, ANY, NOT_TFPSFS),
    // the Fast Access Interface (its entrance is in the handshake)
    row("FAITOK", fai::faitok, ANY, NOT_TFPSFS),
    row("FAIMQ", fai::faimq, ANY, NOT_TFPSFS),
    // 2.5.1 locks, integrity transfers, confinement
    row("NETLOCK", netlock::netlock, ANY, NOT_TFPSFS),
    row("NETLOCK_TRY", netlock::netlock_try, ANY, NOT_TFPSFS),
    row("NETUNLOCK", netlock::netunlock, ANY, NOT_TFPSFS),
    row("NETMUTACQ_TRY", netlock::netmutacq_try, ANY, needs(&[bits::RFILE | bits::WFILE])),
    row("NETMUTREL", netlock::netmutrel, ANY, needs(&[bits::RFILE | bits::WFILE])),
    row("INTREAD", intrw::intread, ANY, needs(&[bits::RFILE])),
    row("INTWRITE", intrw::intwrite, ANY, needs(&[bits::WFILE])),
    row("LOCKSYS", confine::locksys, LOCKSYS, NOT_TFPSFS),
    row("FLYCONTEXT", confine::flycontext, FLYCONTEXT, NOT_TFPSFS),
    row("RUNBASH", runbash::runbash, ANY, NOT_TFPSFS),
    // tfd's own: the secure transport (doc/secure-transport.md)
    row("TFDSECURE", transport::tfdsecure, UPGRADE, NOT_TFPSFS).at_once().setup().offered_if(transport::offered),
    // tfd's own: an entry's mode, which FSTAT does not say (doc/compatibility.md "Modes")
    row("TFDMODE", fs::tfdmode, ANY, needs(&[bits::STAT])),
    // tfd's own: the space a session may use, quota apart (`tf df`)
    row("TFDSPACE", fs::tfdspace, ANY, NOT_TFPSFS),
    // tfd's own: staged uploads (doc/compatibility.md "Staged uploads")
    row("TFDSTAGE", stage::open, ANY, needs(&[bits::WFILE])),
    row("TFDSTAGEPUT", stage::put, ANY, needs(&[bits::WFILE])).transfer(),
    row("TFDSTAGEDONE", stage::done, ANY, needs(&[bits::WFILE])),
    // tfd's own: sparse files' holes, neither listed nor sent as data
    // (doc/compatibility.md "Sparse files")
    row(tfp_wire::sparse::STAGE_HOLE, sparse::stage_hole, ANY, needs(&[bits::WFILE])),
    row(tfp_wire::sparse::HOLES, sparse::holes, ANY, needs(&[bits::RFILE])),
    // tfd's own: extended attributes (doc/compatibility.md "Extended attributes")
    row(tfp_wire::xattr::GET, xattr::get, ANY, needs(&[bits::RFILE])),
    row(tfp_wire::xattr::SET, xattr::set, ANY, needs(&[bits::WFILE])),
    row(tfp_wire::xattr::ACL_GET, xattr::get_acls, ANY, needs(&[bits::RFILE])),
    row(tfp_wire::xattr::ACL_SET, xattr::set_acls, ANY, needs(&[bits::WFILE])),
    row(tfp_wire::xattr::LAND, land::land, ANY, needs(&[bits::WFILE])),
    // tfd's own: compressed data (doc/compatibility.md "Compression")
    row(tfp_wire::compress::PROBE, compress::tfdzstd, ANY, NOT_TFPSFS).offered_if(compress::offered),
    row(tfp_wire::compress::STAGE_PUT, stage::put_blocks, ANY, needs(&[bits::WFILE])).transfer().offered_if(compress::offered),
    row(tfp_wire::compress::get::GET, hpf::getz, ANY, needs(&[bits::RFILE])).transfer().offered_if(compress::offered),
    row(tfp_wire::compress::get::GET_CAN, hpf::getcanz, ANY, needs(&[bits::RFILE])).transfer().offered_if(compress::offered),
    // the user's own stages: listed, removed (issue 47 finding 8)
    row("TFDSTAGES", stage::list, ANY, needs(&[bits::LRDIR])),
    row("TFDSTAGEDROP", stage::discard, ANY, needs(&[bits::DFILE])),
    // tfd's own: what uploads replace and DEL removes is kept (doc/compatibility.md "Backups")
    row(tfp_wire::backup::COMMAND, backup::tfdbackup, ANY, NOT_TFPSFS),
    row(tfp_wire::backup::PRIVATE_DIR, backup::tfdprivdir, ANY, needs(&[bits::MKDIR])),
    row(tfp_wire::link::COMMAND, link::tfdlink, ANY, needs(&[bits::RFILE, bits::WFILE])),
    row(tfp_wire::link::LINKS, link::tfdlinks, ANY, needs(&[bits::RFILE, bits::WFILE])),
    row(tfp_wire::prove::COMMAND, prove::tfdhmac, ANY, needs(&[bits::RFILE])),
    // tfd's own: a file's identity, and DEL only while it keeps it
    // (doc/compatibility.md "Removal of the same file only")
    row(tfp_wire::same::STAT, same::statid, ANY, needs(&[bits::STAT])),
    row(tfp_wire::same::DEL_IF, same::del_if, ANY, needs(&[bits::DFILE])),
    // tfd's own: delta uploads (doc/compatibility.md "Delta transfers")
    row("TFDDELTASIG", delta::sig, ANY, needs(&[bits::RFILE])),
    row("TFDDELTASIGP", delta::sig_probed, ANY, needs(&[bits::RFILE])),
    row("TFDDELTAPUT", delta::put, ANY, needs(&[bits::RFILE | bits::WFILE])).transfer(),
    // and delta downloads, the other way
    row("TFDDELTAGET", delta_get::get, ANY, needs(&[bits::RFILE])).transfer(),
    row(tfp_wire::delta::GET_PACKED, delta_get::getz, ANY, needs(&[bits::RFILE])).transfer().offered_if(compress::offered),
    // tfd's own: many files up in one exchange (doc/compatibility.md "Batch uploads")
    row(tfp_wire::batch::PUTMANY, putmany::putmany, ANY, needs(&[bits::WFILE])).transfer(),
    // tfd's own: many files down in one exchange (doc/compatibility.md "Batch downloads")
    row(tfp_wire::batch::GETMANY, getmany::getmany, ANY, needs(&[bits::RFILE])).transfer(),
    // tfd's own: a tree listed with sizes, mtimes and modes in one exchange
    // (doc/compatibility.md "Listings with metadata")
    row("TFDLIST", listing::tfdlist, ANY, needs(&[bits::LRDIR])),
    // and the same names alone, what a tree's download lists
    row("TFDNAMES", listing::tfdnames, ANY, needs(&[bits::LRDIR])),
    // and what a faithful copy keeps of each entry (doc/compatibility.md
    // "Archive copies")
    row(tfp_wire::entry::ENTRIES, listing::tfdentries, ANY, needs(&[bits::LRDIR])),
    // and the same of one level, what `tf ls -l` shows
    row(tfp_wire::entry::DIR_ENTRIES, listing::tfddirentries, ANY, needs(&[bits::LRDIR])),
    // any of the four compressed, where the server offers compression
    // (doc/compatibility.md "Compressed listings")
    row(tfp_wire::compress::listing::LISTZ, listing::tfdlistz, ANY, needs(&[bits::LRDIR])).offered_if(compress::offered),
    // tfd's own: what this session may use of the rows above, in one answer
    // (doc/compatibility.md "Features"); asked in the handshake's flight or
    // behind the LOGIN and answered from memory, it is set-up: the session
    // keeps the listener's priority through it
    row(tfp_wire::features::COMMAND, features::tfdfeatures, ANY, NOT_TFPSFS).at_once().setup(),
];

/// Finds a command by its upper-case name.
pub fn lookup(name: &str) -> Option<&'static Spec> {
    crate::dispatch::lookup(TABLE, name)
}

#[cfg(test)]
mod tests {
    #[test]
    fn names_unique_and_upper() {
        // the side facts that once lived in lists of names, still on their rows
        let with =
            |f: fn(&super::Spec) -> bool| super::TABLE.iter().filter(|s| f(s)).map(|s| s.name).collect::<Vec<_>>();
        assert_eq!(
            with(|s| s.transfer),
            [
                "SNDFILE",
                "RCVFILE",
                "SUP",
                "SDOWN",
                "PUT",
                "GET",
                "PUTCAN",
                "GETCAN",
                "TFDSTAGEPUT",
                "TFDSTAGEPUTZ",
                "TFDGETZ",
                "TFDGETCANZ",
                "TFDDELTAPUT",
                "TFDDELTAGET",
                "TFDDELTAGETZ",
                "TFDPUTMANY",
                "TFDGETMANY"
            ]
        );
        assert_eq!(with(|s| !s.trailing.is_empty()), ["GOAES"]);
        assert_eq!(with(|s| s.gate.before_secure), ["KEEPALIVE", "PROCKEY", "TFDSECURE"]);
        assert_eq!(with(|s| s.gate.single_user_jail), ["INJAIL", "TFDSECURE"]);
        assert_eq!(with(|s| s.gate.before_key), ["TFDKEY", "TFDKEYSIG", "TFDSECURE"]);
        assert_eq!(with(|s| s.at_once).len(), 14);
        let mut seen = std::collections::HashSet::new();
        for s in super::TABLE {
            assert!(seen.insert(s.name), "duplicate {}", s.name);
            assert_eq!(s.name, s.name.to_ascii_uppercase());
        }
    }
}
