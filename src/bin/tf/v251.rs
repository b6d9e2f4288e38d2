//! The `tf` forms of the protocol 2.5.1 commands, in one table: name, arguments
//! and a one-line summary beside the function that runs it, so `tf --help`, the
//! shell's `help` and the dispatcher read the same rows (tf(1) lists the same
//! commands by hand). The families live in their own files: v251_fs.rs,
//! intrw.rs, locks.rs, secfs.rs, tz.rs, layer.rs, confine.rs.

use super::{confine, intrw, layer, locks, secfs, tz, v251_fs};
use super::{explain, report, ExitCode};
use tfd::client::{Client, ClientConfig, ClientError};
use tfd::wire::Status;

/// What a command runs: the session, its config, the command's name as typed
/// and its arguments.
pub type Run = fn(&mut Client, &ClientConfig, &str, &[String]) -> Result<ExitCode, ClientError>;

/// One row: a tf command for a 2.5.1 protocol command.
pub struct Cmd {
    /// The name typed (lower case).
    pub name: &'static str,
    /// The arguments, for usage lines.
    pub args: &'static str,
    /// What it does, in a few words.
    pub summary: &'static str,
    /// Runs it.
    pub run: Run,
}

const fn cmd(name: &'static str, args: &'static str, summary: &'static str, run: Run) -> Cmd {
    Cmd {
        name,
        args,
        summary,
        run,
    }
}

/// Every 2.5.1 command `tf` reaches (the XS database subsystems excepted).
#[rustfmt::skip]
pub static TABLE: &[Cmd] = &[
    cmd("lsv2", "DIR [--to FILE]", "DIR's paths, one a line; --to: into server's FILE", v251_fs::lsv2),
    cmd("lsrv2", "DIR [--to FILE]", "the same, recursively", v251_fs::lsv2),
    cmd("lsv2down", "DIR", "list DIR (LSV2DOWN, what lsv2 DIR does)", v251_fs::lsv2),
    cmd("lsrv2down", "DIR", "list DIR recursively (LSRV2DOWN)", v251_fs::lsv2),
    cmd("rmkdir", "PATH", "make PATH and every missing parent", v251_fs::rmkdir),
    cmd("ftype", "PATH...", "the type of each PATH (directory, regular, ...)", v251_fs::ftype),
    cmd("ftypels", "LISTFILE", "TYPE PATH for each path in the server's LISTFILE", v251_fs::ftypels),
    cmd("fstatls", "LISTFILE", "TYPE SIZE ATIME MTIME PATH for each path in it", v251_fs::fstatls),
    cmd("intread", "REMOTE LOCAL", "download REMOTE whole with its SHA-256, checked", intrw::intread),
    cmd("intwrite", "LOCAL REMOTE [--expect HASH]", "replace REMOTE only if it still has HASH", intrw::intwrite),
    cmd("netlock", "TIMEOUT PATH", "lock PATH for the session (waits); print its id", locks::netlock),
    cmd("netlock_try", "TIMEOUT PATH", "the same, but fail at once if PATH is locked", locks::netlock),
    cmd("netunlock", "[ID]", "release lock ID (default: the session's last)", locks::netunlock),
    cmd("netmutacq_try", "PATH TOKEN", "acquire the persistent mutex in PATH as TOKEN", locks::netmut),
    cmd("netmutrel", "PATH TOKEN", "release it", locks::netmut),
    cmd("setfsid", "ID | --file FILE", "this session's secure-filesystem identity", secfs::setfsid),
    cmd("setfsperm", "ID MASK DIR", "give ID the rights MASK (number or rfile,...)", secfs::setfsperm),
    cmd("remfsperm", "ID DIR", "remove ID's entry from DIR ('' is everybody else)", secfs::remfsperm),
    cmd("getfsperm", "ID DIR", "ID's rights in DIR: the mask and its names", secfs::getfsperm),
    cmd("issecfs", "DIR", "is DIR in the secure FS? (exit 0 yes, 2 no)", secfs::issecfs),
    cmd("gettz", "", "the session's time zone", tz::plain),
    cmd("settz", "ZONE", "set it (Europe/Paris, EST+5EDT,M3.2.0/2,...)", tz::zone),
    cmd("localtime", "", "the date and time in the session's zone", tz::plain),
    cmd("dateftz", "ZONE", "the date and time in ZONE", tz::zone),
    cmd("genuuid", "", "a fresh random UUID", tz::plain),
    cmd("goaes", "", "switch the session to AES-256-CBC", layer::goaes),
    cmd("tfpcrypto", "", "back to the protocol's own cipher", layer::goaes),
    cmd("ciaon", "", "send an identity token before each unit; print it", layer::ciaon),
    cmd("ciaoff", "", "stop sending it", layer::ciaon),
    cmd("faitok", "[MINUTES]", "a Fast Access token for tf --fai (default 60 min)", layer::faitok),
    cmd("faimq", "", "the longest Fast Access token lifetime, minutes", layer::faimq),
    cmd("locksys", "DIR", "confine this session to DIR for good", confine::confine),
    cmd("flycontext", "DIR", "make DIR and confine this session to it", confine::confine),
    cmd("runbash", "SCRIPT", "run SCRIPT on the server, print its output", confine::runbash),
];

/// Runs `cmd` if it is one of the table's; None otherwise.
pub fn run(c: &mut Client, cfg: &ClientConfig, cmd: &str, args: &[String]) -> Option<ExitCode> {
    let row = TABLE.iter().find(|r| r.name == cmd)?;
    Some(match (row.run)(c, cfg, cmd, args) {
        Ok(code) => code,
        Err(e) => {
            explain::session_error(&e, cfg).print();
            ExitCode::from(1)
        }
    })
}

/// The table as help text.
pub fn help_text() -> String {
    let mut s = String::from(
        "Protocol 2.5.1 commands (*: the effect lasts for the session, so these belong\n\
         in tf shell or tf -b; see tf(1), \"2.5.1 commands\"):\n",
    );
    for r in TABLE {
        let head = format!("{} {}", r.name, r.args);
        let star = if STATEFUL.contains(&r.name) { "*" } else { " " };
        if head.len() > 26 {
            s.push_str(&format!(" {star}{head}\n{:29}{}\n", "", r.summary));
        } else {
            s.push_str(&format!(" {star}{head:<27} {}\n", r.summary));
        }
    }
    s.pop();
    s
}

/// Commands whose effect lasts for the rest of the session.
const STATEFUL: &[&str] = &[
    "netlock",
    "netlock_try",
    "setfsid",
    "settz",
    "goaes",
    "tfpcrypto",
    "ciaon",
    "ciaoff",
    "locksys",
    "flycontext",
];

/// As many arguments as `n` allows, or the usage error.
pub fn want(cmd: &str, args: &[String], n: std::ops::RangeInclusive<usize>) -> Result<(), ExitCode> {
    if n.contains(&args.len()) {
        return Ok(());
    }
    Err(usage(cmd))
}

/// The usage error of `cmd`, from its row.
pub fn usage(cmd: &str) -> ExitCode {
    let row = TABLE.iter().find(|r| r.name == cmd);
    super::fail(format!("usage: tf ... {cmd} {}", row.map_or("", |r| r.args)))
}

/// Sends `line`; OK prints its data (if any) on a line of its own, anything
/// else is reported with what it means for `targets`.
pub fn simple(
    c: &mut Client,
    cmd: &str,
    line: &[u8],
    targets: &[(&str, explain::Access)],
) -> Result<ExitCode, ClientError> {
    let st = c.command(line)?;
    Ok(match &st {
        Status::Ok(d) => {
            if !d.is_empty() {
                println!("{}", String::from_utf8_lossy(d));
            }
            ExitCode::SUCCESS
        }
        _ => report(c, cmd, targets, &st),
    })
}

/// A Unix time as ISO 8601 UTC (`2026-11-23T14:05:00Z`).
pub fn iso(ts: u64) -> String {
    i64::try_from(ts)
        .ok()
        .and_then(tfd::wire::date::format_utc)
        .map_or_else(|| "?".into(), |t| format!("{}Z", t.replacen(' ', "T", 1)))
}
