//! The `tf` forms of the protocol 2.5.1 commands, in one table: name, arguments
//! and a one-line summary beside the function that runs it, so `tf --help`, the
//! shell's `help` and the dispatcher read the same rows (tf(1) lists the same
//! commands by hand). The families live in their own files: v251_fs.rs,
//! intrw.rs, locks.rs, secfs.rs, tz.rs, layer.rs, confine.rs.

use super::{confine, intrw, layer, locks, secfs, tz, v251_fs};
use super::{explain, report, ExitCode};
use tfp_client::options::commands;
use tfp_client::{Client, ClientConfig, ClientError};
use tfp_wire::Status;

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
    /// Which arguments name remote paths (`tf shell` and `tf -b` join them
    /// to the remote directory of `cd`).
    pub paths: Paths,
    /// Runs it.
    pub run: Run,
}

/// Which of a command's positional arguments (options and their values not
/// counted) are remote paths; an option's value is one if [`VALUED`] says so.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Paths {
    /// None of them.
    No,
    /// Every one.
    All,
    /// Those at these places, counted from 0.
    At(&'static [usize]),
}

/// The options of the 2.5.1 commands that take a value, and whether the value
/// is a remote path; those of the other commands are in the command option
/// table (none a remote path). Any other word starting with `-` (and longer
/// than `-`, which is stdin or stdout) stands alone.
const VALUED: &[(&str, bool)] = &[("--to", true), ("--expect", false), ("--file", false)];

/// Whether option `a` takes a value, and whether that value is a remote path.
fn valued(a: &str) -> Option<bool> {
    let tabled = commands::COMMAND_OPTIONS
        .iter()
        .any(|o| o.name == a && !matches!(o.kind, commands::Kind::Flag));
    VALUED
        .iter()
        .find(|(o, _)| *o == a)
        .map(|&(_, remote)| remote)
        .or(tabled.then_some(false))
}

/// `args` with the remote paths among them (per `paths`) passed through `at`.
pub fn map_paths(args: &[String], paths: Paths, at: &dyn Fn(&str) -> String) -> Vec<String> {
    let mut out = Vec::with_capacity(args.len());
    let mut pos = 0;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        if let Some(remote) = valued(a) {
            out.push(a.clone());
            out.extend(it.next().map(|v| if remote { at(v) } else { v.clone() }));
        } else if a.starts_with('-') && a.len() > 1 {
            out.push(a.clone());
        } else {
            let remote = match paths {
                Paths::No => false,
                Paths::All => true,
                Paths::At(places) => places.contains(&pos),
            };
            out.push(if remote { at(a) } else { a.clone() });
            pos += 1;
        }
    }
    out
}

/// The row of `cmd`, if it is one of the table's.
pub fn row(cmd: &str) -> Option<&'static Cmd> {
    TABLE.iter().find(|r| r.name == cmd)
}

const fn cmd(name: &'static str, args: &'static str, summary: &'static str, paths: Paths, run: Run) -> Cmd {
    Cmd {
        name,
        args,
        summary,
        paths,
        run,
    }
}

/// Every 2.5.1 command `tf` reaches (the XS database subsystems excepted).
#[rustfmt::skip]
pub static TABLE: &[Cmd] = {
    use Paths as P;
    &[
    cmd("lsv2", "DIR [--to FILE]", "DIR's paths, one a line; --to: into server's FILE", P::All, v251_fs::lsv2),
    cmd("lsrv2", "DIR [--to FILE]", "the same, recursively", P::All, v251_fs::lsv2),
    cmd("lsv2down", "DIR", "list DIR (LSV2DOWN, what lsv2 DIR does)", P::All, v251_fs::lsv2),
    cmd("lsrv2down", "DIR", "list DIR recursively (LSRV2DOWN)", P::All, v251_fs::lsv2),
    cmd("rmkdir", "PATH", "make PATH and every missing parent", P::All, v251_fs::rmkdir),
    cmd("ftype", "PATH...", "the type of each PATH (directory, regular, ...)", P::All, v251_fs::ftype),
    cmd("ftypels", "LISTFILE", "TYPE PATH for each path in the server's LISTFILE", P::All, v251_fs::ftypels),
    cmd("fstatls", "LISTFILE", "TYPE SIZE ATIME MTIME PATH for each path in it", P::All, v251_fs::fstatls),
    cmd("intread", "REMOTE LOCAL", "download REMOTE whole with its SHA-256, checked", P::At(&[0]), intrw::intread),
    cmd("intwrite", "LOCAL REMOTE [--expect HASH]", "replace REMOTE only if it still has HASH", P::At(&[1]), intrw::intwrite),
    cmd("netlock", "TIMEOUT PATH", "lock PATH for the session (waits); print its id", P::At(&[1]), locks::netlock),
    cmd("netlock_try", "TIMEOUT PATH", "the same, but fail at once if PATH is locked", P::At(&[1]), locks::netlock),
    cmd("netunlock", "[ID]", "release lock ID (default: the session's last)", P::No, locks::netunlock),
    cmd("netmutacq_try", "PATH TOKEN", "acquire the persistent mutex in PATH as TOKEN", P::At(&[0]), locks::netmut),
    cmd("netmutrel", "PATH TOKEN", "release it", P::At(&[0]), locks::netmut),
    cmd("setfsid", "ID | --file FILE", "this session's secure-filesystem identity", P::No, secfs::setfsid),
    cmd("setfsperm", "ID MASK DIR", "give ID the rights MASK (number or rfile,...)", P::At(&[2]), secfs::setfsperm),
    cmd("remfsperm", "ID DIR", "remove ID's entry from DIR ('' is everybody else)", P::At(&[1]), secfs::remfsperm),
    cmd("getfsperm", "ID DIR", "ID's rights in DIR: the mask and its names", P::At(&[1]), secfs::getfsperm),
    cmd("issecfs", "DIR", "is DIR in the secure FS? (exit 0 yes, 2 no)", P::All, secfs::issecfs),
    cmd("gettz", "", "the session's time zone", P::No, tz::plain),
    cmd("settz", "ZONE", "set it (Europe/Paris, EST+5EDT,M3.2.0/2,...)", P::No, tz::zone),
    cmd("localtime", "", "the date and time in the session's zone", P::No, tz::plain),
    cmd("dateftz", "ZONE", "the date and time in ZONE", P::No, tz::zone),
    cmd("genuuid", "", "a fresh random UUID", P::No, tz::plain),
    cmd("goaes", "", "switch the session to AES-256-CBC", P::No, layer::goaes),
    cmd("tfpcrypto", "", "back to the protocol's own cipher", P::No, layer::goaes),
    cmd("ciaon", "", "send an identity token before each unit; print it", P::No, layer::ciaon),
    cmd("ciaoff", "", "stop sending it", P::No, layer::ciaon),
    cmd("faitok", "[MINUTES]", "a Fast Access token for tf --fai (default 60 min)", P::No, layer::faitok),
    cmd("faimq", "", "the longest Fast Access token lifetime, minutes", P::No, layer::faimq),
    cmd("locksys", "DIR", "confine this session to DIR for good", P::All, confine::confine),
    cmd("flycontext", "DIR", "make DIR and confine this session to it", P::All, confine::confine),
    cmd("runbash", "SCRIPT", "run SCRIPT on the server, print its output", P::All, confine::runbash),
]
};

/// Runs `cmd` if it is one of the table's; None otherwise.
pub fn run(c: &mut Client, cfg: &ClientConfig, cmd: &str, args: &[String]) -> Option<ExitCode> {
    let row = row(cmd)?;
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
                println!("{}", tfp_client::escape::shown(d));
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
        .and_then(tfp_wire::date::format_utc)
        .map_or_else(|| "?".into(), |t| format!("{}Z", t.replacen(' ', "T", 1)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &[&str]) -> Vec<String> {
        v.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn only_remote_paths_are_mapped() {
        let at = |p: &str| format!("d/{p}");
        let row = |c: &str| row(c).map(|r| r.paths).unwrap();
        assert_eq!(
            map_paths(&s(&["t", "--to", "l"]), row("lsv2"), &at),
            ["d/t", "--to", "d/l"]
        );
        assert_eq!(
            map_paths(&s(&["--expect", "0xab", "-", "f"]), row("intwrite"), &at),
            ["--expect", "0xab", "-", "d/f"]
        );
        assert_eq!(map_paths(&s(&["30", "f"]), row("netlock"), &at), ["30", "d/f"]);
        assert_eq!(map_paths(&s(&["Europe/Paris"]), row("settz"), &at), ["Europe/Paris"]);
        assert_eq!(map_paths(&s(&["--file", "id"]), row("setfsid"), &at), ["--file", "id"]);
    }
}
