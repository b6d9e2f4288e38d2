//! The matrix's probes (`matrix.rs`): the harmless argument each command of
//! the table is sent with, and what it does to the session's flow when the
//! gate lets it through.

use super::matrix::{names, MISSING};
use super::matrix_states::USER;
use tfd::commands::table::{Spec, TABLE};
use tfp_wire::hpf::{self};

/// How a command's answer is read when it gets through.
#[derive(Debug, Clone, Copy)]
pub(super) enum Flow {
    /// One reply frame.
    Frame,
    /// `CONT` chunks answered until a status (LS, LSR, RCVFILE).
    Chunks,
    /// SNDFILE: a `CONT` invitation would be answered with BREAK.
    Sndfile,
    /// SUP: raw `[i32 len][data]` pairs ended by 0, answered by one i32.
    Sup,
    /// SDOWN: raw `[i32 len][data]` pairs, then 0 or −1.
    Sdown,
    /// FSIZE: one raw i64.
    Fsize,
    /// FSIZELS: raw i64s until −3.
    Fsizels,
    /// PUT, PUTCAN: a grant would be answered with HPFEND and the FIN exchange.
    Put,
    /// GET, GETCAN: a grant would be drained to the end and the FIN exchange.
    Get,
    /// NIGMA: `OK`, then the new key under the old one; both sides switch.
    Nigma,
    /// LSV2DOWN, LSRV2DOWN: a status; after `OK` raw `[i32 len][line]` pairs
    /// until −10 or −11.
    Down,
    /// FTYPE: one raw byte.
    Ftype,
    /// FTYPELS: raw bytes until −2.
    Ftypels,
    /// FSTATLS: raw 26-byte records until one with code −2.
    Fstatls,
    /// GOAES: key and IV units after the command; on OK both sides switch to
    /// AES, and TFPCRYPTO takes them back.
    Goaes,
    /// CIAON: on OK the client sends the token from then on, and CIAOFF stops it.
    Ciaon,
    /// INTREAD: one raw i32 (−1 for a missing file; else the hash and bytes follow).
    Intread,
    /// INTWRITE: a raw 66-byte hash, an i32 size 0 and an empty payload, answered
    /// by one raw i32.
    Intwrite,
}

pub(super) struct Probe {
    /// The argument, exactly as sent after `NAME `.
    pub(super) arg: Vec<u8>,
    pub(super) flow: Flow,
}

/// The probe for a command: an argument that cannot block, change the session's
/// state or leave anything behind (missing paths, refused tokens, wrong
/// passwords), in every state. `None`: the command has no rule yet.
pub(super) fn probe(name: &str) -> Option<Probe> {
    let p = |arg: &[u8], flow| {
        Some(Probe {
            arg: arg.to_vec(),
            flow,
        })
    };
    let flag_missing = [&b"0 "[..], MISSING].concat();
    let pair = [MISSING, b" | ", MISSING].concat();
    match name {
        "ECHO" => p(b"probe", Flow::Frame),
        "MKDIR" | "DEL" | "RMDIR" | "TOUCH" | "FSTAT" | "FUPD" | "SHA256" | "TFDMODE" => p(MISSING, Flow::Frame),
        // an identity no file has, of a path that does not exist
        "TFDDELIF" => p(&[&b"0 0.000000000 0.000000000 0 "[..], MISSING].concat(), Flow::Frame),
        "COPY" | "CPDIR" | "RENAM" => p(&pair, Flow::Frame),
        "DATE" | "UDATE" | "NDATE" | "DATEF" | "FREESP" | "TFDSPACE" | "PROCKEY" | "TLB" => p(b"", Flow::Frame),
        "DTOF" => p(b"0", Flow::Frame),
        "FTOD" => p(b"1970-01-01 00:00:00", Flow::Frame),
        // empty: locking off, as it already is
        "LOCK" => p(b"", Flow::Frame),
        "LS" | "LSR" | "TFDLIST" | "TFDNAMES" | "TFDENTRIES" | "TFDDIRENTRIES" => p(MISSING, Flow::Chunks),
        // the same listing asked compressed: refused before any chunk
        "TFDLISTZ" => p(&[&b"yes TFDNAMES "[..], MISSING].concat(), Flow::Chunks),
        "RCVFILE" => p(&flag_missing, Flow::Chunks),
        "SNDFILE" => p(&flag_missing, Flow::Sndfile),
        "SUP" => p(MISSING, Flow::Sup),
        "SDOWN" => p(MISSING, Flow::Sdown),
        "FSIZE" => p(MISSING, Flow::Fsize),
        "FSIZELS" => p(MISSING, Flow::Fsizels),
        "PUT" => p(&hpf::encode(MISSING, 0, 65536, None), Flow::Put),
        "PUTCAN" => p(&hpf::encode(MISSING, 0, 65536, Some(1 << 20)), Flow::Put),
        "TFDSTAGE" => p(&[&b"5 probe 0 "[..], MISSING].concat(), Flow::Frame),
        "TFDSTAGEPUT" => p(&hpf::encode(MISSING, 0, 65536, None), Flow::Put),
        "TFDSTAGEDONE" => p(&[&b"0x00 1 "[..], MISSING].concat(), Flow::Frame),
        // sparse files: a hole in a missing stage, the holes of a missing file
        "TFDSTAGEHOLE" => p(&[&b"0 4096 "[..], MISSING].concat(), Flow::Frame),
        "TFDHOLES" => p(MISSING, Flow::Frame),
        // extended attributes: of a missing file, an empty set on one
        "TFDXATTRS" => p(MISSING, Flow::Frame),
        "TFDSETXATTRS" => p(&[&b"0 "[..], MISSING].concat(), Flow::Frame),
        // ACLs: of a missing file, none on one
        "TFDACLS" => p(MISSING, Flow::Frame),
        "TFDSETACLS" => p(&[&b"0 "[..], MISSING].concat(), Flow::Frame),
        // the sets a commit of a missing file would land with: none
        "TFDLANDXATTRS" => p(&[&b"x 0 "[..], MISSING].concat(), Flow::Frame),
        // compressed data: the probe, and a range into a missing stage
        // and what the session may use (answered from memory): nothing changes
        "TFDZSTD" | "TFDFEATURES" => p(b"", Flow::Frame),
        "TFDSTAGEPUTZ" => p(&hpf::encode(MISSING, 0, 65536, None), Flow::Put),
        "TFDGETZ" => p(
            &tfp_wire::compress::get::encode(tfp_wire::compress::Choice::Auto, MISSING, 0, 65536),
            Flow::Get,
        ),
        "TFDGETCANZ" => p(
            &tfp_wire::compress::get::encode_can(tfp_wire::compress::Choice::Auto, MISSING, 0, 65536, 1),
            Flow::Get,
        ),
        // a missing directory lists no stage; a missing stage removes nothing
        "TFDSTAGES" => p(&flag_missing, Flow::Chunks),
        "TFDSTAGEDROP" => p(MISSING, Flow::Frame),
        // backups off, as a session starts: nothing changes
        "TFDBACKUP" => p(b"off", Flow::Frame),
        // in a missing directory: FAILED, nothing made
        "TFDPRIVDIR" | "TFDSTATID" => p(MISSING, Flow::Frame),
        // no argument: FAILED 16, nothing linked
        "TFDLINK" => p(MISSING, Flow::Frame),
        // no NUL-separated directories and paths: FAILED 16, nothing linked
        "TFDLINKS" => p(MISSING, Flow::Frame),
        // no argument: FAILED 16, nothing hashed
        "TFDHMAC" => p(MISSING, Flow::Frame),
        // the probe: a batch of no files is answered OK alone
        "TFDPUTMANY" => p(b"0", Flow::Frame),
        "TFDGETMANY" => p(b"0", Flow::Frame),
        // a missing file: refused in one frame before any signature or delta
        "TFDDELTASIG" => p(MISSING, Flow::Frame),
        "TFDDELTASIGP" => p(MISSING, Flow::Frame),
        "TFDDELTAPUT" => p(&[&b"1 probe "[..], MISSING].concat(), Flow::Frame),
        "TFDDELTAGET" => p(&[&b"0 700 8 "[..], MISSING].concat(), Flow::Frame),
        "TFDDELTAGETZ" => p(&[&b"yes 0 700 8 "[..], MISSING].concat(), Flow::Frame),
        "GET" => p(&hpf::encode(MISSING, 0, 65536, None), Flow::Get),
        // a cancel point no probe reaches: no mid-stream answers are due
        "GETCAN" => p(&hpf::encode(MISSING, 0, 65536, Some(1 << 20)), Flow::Get),
        // key login: an offer of no key, and a signature with no offer before
        // it: refused in one frame (no secure transport, or nothing to sign)
        "TFDKEY" => p(format!("{USER} AAAA").as_bytes(), Flow::Frame),
        "TFDKEYSIG" => p(b"AAAA", Flow::Frame),
        // a user's own keys: a wrong password, and the others before any
        // proof (or with user_keys no, the default): refused in one frame
        "TFDUSERKEYS" => p(format!("{USER} not the password").as_bytes(), Flow::Frame),
        "TFDUSERKEYLIST" => p(b"", Flow::Frame),
        "TFDUSERKEYADD" => p(b"ssh-ed25519 AAAA", Flow::Frame),
        "TFDUSERKEYDEL" => p(b"SHA256:none", Flow::Frame),
        // a wrong password (FAILED 37, or 39 once logged in): never logs in
        "LOGIN" => p(format!("{USER} not the password").as_bytes(), Flow::Frame),
        // a wrong token for a missing jail (48; 51 when jailed or not configured)
        "INJAIL" => p(&[&b"wrong-token | "[..], MISSING].concat(), Flow::Frame),
        "CHMOD" => p(&[MISSING, b" 644"].concat(), Flow::Frame),
        "CHOWN" => p(&[MISSING, b" 0 0"].concat(), Flow::Frame),
        "RMSECDIR" => p(&[&b"token | "[..], MISSING].concat(), Flow::Frame),
        "XCOPY" | "XCPDIR" => p(&[&b"copy "[..], MISSING, b" | pattern"].concat(), Flow::Frame),
        "XDEL" | "XRMDIR" => p(&[MISSING, b" name"].concat(), Flow::Frame),
        // a missing directory registers nothing, so STARTNTFY stays in command mode
        "ADDNTFY" => p(&[&b"msg_ "[..], MISSING].concat(), Flow::Frame),
        "STARTNTFY" => p(b"0.01", Flow::Frame),
        // the defaults tfd sets on every connection anyway
        "KEEPALIVE" => p(b"1 3600 | 75 | 9", Flow::Frame),
        "NIGMA" => p(b"32", Flow::Nigma),
        // 2.5.1: a missing directory lists nothing and writes no file
        "LSV2" | "LSRV2" => p(&[MISSING, b"@||@", MISSING].concat(), Flow::Frame),
        "LSV2DOWN" | "LSRV2DOWN" => p(MISSING, Flow::Down),
        "FTYPE" => p(MISSING, Flow::Ftype),
        "FTYPELS" => p(MISSING, Flow::Ftypels),
        "FSTATLS" => p(MISSING, Flow::Fstatls),
        // above the root: FAILED 1, nothing created
        "RMKDIR" => p(b"..", Flow::Frame),
        "GETTZ" | "LOCALTIME" | "GENUUID" => p(b"", Flow::Frame),
        // no such zone: FAILED 26, the session's zone stays
        "SETTZ" => p(b"matrix/none", Flow::Frame),
        "DATEFTZ" => p(b"UTC", Flow::Frame),
        // TFPSFS: an empty identity is the state a session starts in; a missing
        // directory is never made secure (57), and has nothing to remove or read
        "SETFSID" => p(b"", Flow::Frame),
        "SETFSPERM" => p(&[&b"probe:1 "[..], MISSING].concat(), Flow::Frame),
        "REMFSPERM" | "GETFSPERM" => p(&[&b"probe "[..], MISSING].concat(), Flow::Frame),
        "ISSECFS" => p(MISSING, Flow::Frame),
        "GOAES" => p(b"", Flow::Goaes),
        // without AES on: a plain OK
        "TFPCRYPTO" => p(b"", Flow::Frame),
        "CIAON" => p(b"", Flow::Ciaon),
        "CIAOFF" => p(b"", Flow::Frame),
        "FAITOK" => p(b"1", Flow::Frame),
        "FAIMQ" => p(b"", Flow::Frame),
        // a missing file: nothing is locked, nothing waits (FAILED 54 / 55)
        "NETLOCK" | "NETLOCK_TRY" => p(&[&b"1 "[..], MISSING].concat(), Flow::Frame),
        // no lock is held in any state: FAILED 54
        "NETUNLOCK" => p(b"0", Flow::Frame),
        "NETMUTACQ_TRY" | "NETMUTREL" => p(&[MISSING, b" token"].concat(), Flow::Frame),
        "INTREAD" => p(MISSING, Flow::Intread),
        // a missing directory (FAILED 10): nothing is locked
        "LOCKSYS" => p(MISSING, Flow::Frame),
        // empty: nothing to create or enter (FAILED 65)
        "FLYCONTEXT" => p(b"", Flow::Frame),
        // off in every matrix server (no `runbash` flag): FAILED 64
        "RUNBASH" => p(MISSING, Flow::Frame),
        "INTWRITE" => p(MISSING, Flow::Intwrite),
        // an unknown Noise protocol: declined (FAILED 200), nothing changes
        "TFDSECURE" => p(b"none", Flow::Frame),
        _ => None,
    }
}

/// Every table command's probe; panics naming the commands without a rule.
pub(super) fn probes() -> Vec<(&'static str, Option<&'static Spec>, Probe)> {
    let missing: Vec<&str> = TABLE
        .iter()
        .filter(|s| probe(s.name).is_none())
        .map(|s| s.name)
        .collect();
    assert!(
        missing.is_empty(),
        "commands without a probe rule in tests/protocol/matrix.rs: {missing:?}"
    );
    names()
        .into_iter()
        .map(|(name, spec)| {
            let pr = probe(name).unwrap_or(Probe {
                arg: b"x".to_vec(),
                flow: Flow::Frame,
            });
            (name, spec, pr)
        })
        .collect()
}
