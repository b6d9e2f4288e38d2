//! tf's commands, in one table: a row per command with its arguments, which of
//! them are remote or local paths, what a failure of each is checked against,
//! a summary, its part of the help, whether its effect outlives the command,
//! and the function that runs it. The dispatcher (`run`), `tf --help` and the
//! shell's `help`, the shell's path mapping, the hints after a FAILED reply and
//! completion all read these rows, and a test holds tf(1) to them, so a new
//! command is one row and one function (doc/architecture.md, "Adding a tf
//! command").

use super::ctx::Ctx;
use super::exit::Exit;
use super::explain;
use super::reply::fail;
pub use super::row::Part;
use super::row::{row, special, Cmd, Does, Failure};
use super::{basic, confine, info, intrw, layer, netlock, remote, secfs, stages, tz, v251_fs};
use std::process::ExitCode;

/// A function of the shape `(client, config, name, args)` as a [`Run`](super::row::Run).
macro_rules! on_session {
    ($f:path) => {
        |x: &mut Ctx<'_>, r: &Cmd, a: &[String]| $f(x.c, x.cfg, r.name, a)
    };
}

/// A function of the shape `(client, name, args)` as a [`Run`](super::row::Run).
macro_rules! on_client {
    ($f:path) => {
        |x: &mut Ctx<'_>, r: &Cmd, a: &[String]| $f(x.c, r.name, a)
    };
}

/// A function of the shape `(context, name, args)` as a [`Run`](super::row::Run).
macro_rules! in_ctx {
    ($f:path) => {
        |x: &mut Ctx<'_>, r: &Cmd, a: &[String]| $f(x, r.name, a)
    };
}

/// Words only `tf shell` knows (its `help` and tf(1)'s "Shell and batch" say
/// what they do).
pub const SHELL_ONLY: &[&str] = &["cd", "pwd", "lcd", "lpwd", "help", "quit", "exit", "bye"];

/// Every command tf has (the XS database subsystems of 2.5.1 excepted).
#[rustfmt::skip]
pub static TABLE: &[Cmd] = {
    use super::explain::Access::{Create as C, Read as R};
    use super::row::Paths as P;
    use Part::*;
    &[
    row("echo", "TEXT...", "the server echoes TEXT", Basic, P::No, basic::echo),
    row("mkdir", "PATH", "make a remote directory", Basic, P::All, basic::line).access(&[C]),
    row("del", "PATH...", "delete remote files (patterns expand)", Basic, P::All, on_client!(remote::del)).access(&[R]),
    row("rm", "PATH...", "the same as del", Basic, P::All, on_client!(remote::del)).access(&[R]),
    row("rmdir", "[-r] PATH", "remove a remote directory (-r: and all it holds)", Basic, P::All, basic::rmdir).access(&[R]),
    row("touch", "PATH", "create an empty remote file", Basic, P::All, basic::line).access(&[C]),
    row("fstat", "[--raw] PATH...", "type, size and times of remote paths", Basic, P::All, |x: &mut Ctx<'_>, r: &Cmd, a: &[String]| info::run(x.c, r, a)).access(&[R]),
    row("fupd", "PATH", "when a remote file last changed", Basic, P::All, basic::line).access(&[R]),
    row("sha256", "[--raw] PATH...", "SHA-256 of remote files, as sha256sum prints it (patterns expand)", Basic, P::All, |x: &mut Ctx<'_>, r: &Cmd, a: &[String]| info::run(x.c, r, a)).access(&[R]),
    row("freesp", "[--raw]", "free space on the server", Basic, P::No, |x: &mut Ctx<'_>, r: &Cmd, a: &[String]| info::run(x.c, r, a)),
    row("df", "[--raw] [BACKUP]", "space left to use: free disk space, quota used and limit (and what each snapshot of BACKUP adds)", Basic, P::No, basic::df),
    row("stages", "[--discard [--all]] [PATH...]", "your staged uploads not committed (tf df counts them)", Basic, P::All, on_client!(stages::run)).access(&[R]),
    row("copy", "SRC DST", "copy a remote file", Basic, P::All, basic::two).access(&[R, C]),
    row("cpdir", "SRC DST", "copy a remote directory", Basic, P::All, basic::two).access(&[R, C]),
    row("renam", "OLD NEW", "rename a remote file or directory", Basic, P::All, basic::two).access(&[R, C]),
    row("mv", "OLD NEW", "the same as renam", Basic, P::All, basic::two).access(&[R, C]),
    row("ls", "[-lah] [PATH...]", "list remote directories (patterns expand)", Basic, P::All, on_client!(remote::ls)).access(&[R]),
    row("lsr", "[-lah] [PATH...]", "list remote directories recursively", Basic, P::All, on_client!(remote::ls)).access(&[R]),
    row("lock", "[NAME]", "the server's LOCK of the session", Basic, P::All, basic::line).stateful(),
    row("date", "", "the server's time, seconds", Basic, P::No, basic::line),
    row("udate", "", "the server's time, microseconds", Basic, P::No, basic::line),
    row("ndate", "", "the server's time, nanoseconds", Basic, P::No, basic::line),
    row("datef", "", "the server's date and time", Basic, P::No, basic::line),
    row("dtof", "TIMESTAMP", "a timestamp as a date", Basic, P::No, basic::line),
    row("ftod", "'YYYY-MM-DD HH:MM:SS'", "a date as a timestamp", Basic, P::No, basic::line),
    row("raw", "'NAME ARGS'", "send one command line as is and print the reply", Basic, P::No, basic::raw),
    special("shell", "", "an interactive session: cd, pwd, lcd, lpwd, ls, put,\n\
                     get, mkdir, rm, rmdir [-r], mv, help, quit (and every\n\
                     command here); relative remote paths follow cd; Tab\n\
                     completes commands and names", Basic, Does::Shell),
    special("copy-id", "[-i KEY]", "add your public key(s) to the server's authorized keys, as\n\
                     ssh-copy-id (-i: KEY.pub; else ssh-agent's and ~/.ssh/id_*.pub);\n\
                     asks the password once (servers with user_keys yes)", Basic, Does::UserKeys),
    special("keys", "[del FINGERPRINT|COMMENT]", "list your authorized keys on the server, or remove one", Basic, Does::UserKeys),
    special("completion", "bash|zsh|fish", "print the shell's completion script (no server needed)", Basic, Does::Completion),
    special("partials", "[--discard] [DIR...]", "the partial downloads below each DIR (default .): size, age,\n\
                     resumable or not; --discard removes them (no server needed)", Basic, Does::Partials),

    row("put", "LOCAL [REMOTE] [--offset N | --resume] [--streams N] [--bufsz N] [--verify] [--parents]",
        "upload a file (or trees and many files: below)", Transfers, P::At(&[1]), basic::put).local(&[0]),
    row("get", "REMOTE [LOCAL] [--offset N | --resume] [--streams N] [--bufsz N] [--verify]",
        "download a file (or trees and many files: below)", Transfers, P::At(&[0]), basic::get).local(&[1]).access(&[R]),
    row("sndfile", "LOCAL REMOTE [--overwrite] [--verify] [--parents]", "upload with SNDFILE",
        Transfers, P::At(&[1]), basic::transfer).local(&[0]),
    row("rcvfile", "REMOTE LOCAL [--delete] [--verify]", "download with RCVFILE",
        Transfers, P::At(&[0]), basic::transfer).local(&[1]).access(&[R]),
    row("sup", "LOCAL REMOTE [--parents]", "upload with SUP", Transfers, P::At(&[1]), basic::transfer).local(&[0]),
    row("sdown", "REMOTE LOCAL", "download with SDOWN", Transfers, P::At(&[0]), basic::transfer).local(&[1]).access(&[R]),
    row("fsize", "PATH", "size of a remote file", Transfers, P::All, basic::fsize).access(&[R]),
    row("fsizels", "LISTFILE", "sizes of the files a remote list names", Transfers, P::All, basic::fsizels),
    row("mirror", "[-R] [-a] [-H] [-X] [-A] [--delete] [--checksum] [--dry-run] [--jobs N] [--exclude P] [--include P] SRC DST",
        "make a directory a copy of another", Transfers, P::At(&[0]), basic::mirror).local(&[1]),

    row("backup", "SRC NAME | list NAME | prune NAME [--keep-last N] [--keep-daily N] [--keep-weekly N] [--keep-monthly N] [--dry-run] | verify NAME[@SNAPSHOT] [--sample PERCENT]", "a snapshot of directory SRC under NAME/<UTC time> on the server:\n\
                     unchanged files linked to the previous snapshot, the rest sent;\n\
                     list: each snapshot's time, files and bytes; prune: restic's keep rules;\n\
                     verify: the server proves it holds the files (HMAC, a fresh key)", Transfers, P::At(&[1]), super::snap::backup).local(&[0]),
    row("restore", "NAME[@SNAPSHOT] [PATH...] DEST", "restore a snapshot (default the newest), or PATHs of it, into\n\
                     DEST as -a keeps them, checked against its index", Transfers, P::At(&[0]), super::snap::restore),

    row("xcopy", "NEWNAME SRC PATTERN", "copy file SRC as NEWNAME into every directory matching PATTERN",
        TreeCommands, P::At(&[1]), basic::xcmd),
    row("xcpdir", "NEWNAME SRC PATTERN", "copy directory SRC likewise", TreeCommands, P::At(&[1]), basic::xcmd),
    row("xdel", "DIR NAME", "delete every file below DIR matching NAME", TreeCommands, P::At(&[0]), basic::xcmd),
    row("xrmdir", "DIR NAME", "delete every directory below DIR matching NAME", TreeCommands, P::At(&[0]), basic::xcmd),

    row("watch", "DIR TOKEN [--interval S] [--del]", "print DIR/NAME for each file in DIR whose name starts with\n\
                     TOKEN ('' for all), as the server notifies it", Notifications, P::At(&[0]), basic::watch),

    special("probe", "host | proc KEY | sock KEY | tlb", "one UDP probe to the server's port (no session needed)",
        Liveness, Does::Probe),
    row("prockey", "", "this session's key for the probes", Liveness, P::No, basic::bare),
    row("oob", "[N]", "send N urgent (OOB) bytes, wait for each echo", Liveness, P::No, basic::oob),
    row("keepalive", "ON IDLE INTERVAL COUNT", "the session's TCP keepalive", Liveness, P::No, basic::keepalive).stateful(),
    row("nigma", "[N]", "replace the session key (N bytes, default 32)", Liveness, P::No, basic::nigma).stateful(),
    row("tlb", "", "the next load-balancer entry", Liveness, P::No, basic::bare),

    row("lsv2", "DIR [--to FILE]", "DIR's paths, one a line; --to: into server's FILE", V251, P::All, on_session!(v251_fs::lsv2)),
    row("lsrv2", "DIR [--to FILE]", "the same, recursively", V251, P::All, on_session!(v251_fs::lsv2)),
    row("lsv2down", "DIR", "list DIR (LSV2DOWN, what lsv2 DIR does)", V251, P::All, on_session!(v251_fs::lsv2)),
    row("lsrv2down", "DIR", "list DIR recursively (LSRV2DOWN)", V251, P::All, on_session!(v251_fs::lsv2)),
    row("rmkdir", "PATH", "make PATH and every missing parent", V251, P::All, on_session!(v251_fs::rmkdir)),
    row("ftype", "PATH...", "the type of each PATH (directory, regular, ...)", V251, P::All, on_session!(v251_fs::ftype)),
    row("ftypels", "LISTFILE", "TYPE PATH for each path in the server's LISTFILE", V251, P::All, on_session!(v251_fs::ftypels)),
    row("fstatls", "LISTFILE", "TYPE SIZE ATIME MTIME PATH for each path in it", V251, P::All, on_session!(v251_fs::fstatls)),
    row("intread", "REMOTE LOCAL", "download REMOTE whole with its SHA-256, checked", V251, P::At(&[0]), on_session!(intrw::intread)).local(&[1]),
    row("intwrite", "LOCAL REMOTE [--expect HASH]", "replace REMOTE only if it still has HASH", V251, P::At(&[1]), in_ctx!(intrw::intwrite)).local(&[0]),
    row("netlock", "TIMEOUT PATH", "lock PATH for the session (waits); print its id", V251, P::At(&[1]), in_ctx!(netlock::netlock)).stateful(),
    row("netlock_try", "TIMEOUT PATH", "the same, but fail at once if PATH is locked", V251, P::At(&[1]), in_ctx!(netlock::netlock)).stateful(),
    row("netunlock", "[ID]", "release lock ID (default: the session's last)", V251, P::No, in_ctx!(netlock::netunlock)),
    row("netmutacq_try", "PATH TOKEN", "acquire the persistent mutex in PATH as TOKEN", V251, P::At(&[0]), on_session!(netlock::netmut)),
    row("netmutrel", "PATH TOKEN", "release it", V251, P::At(&[0]), on_session!(netlock::netmut)),
    row("setfsid", "ID | --file FILE", "this session's secure-filesystem identity", V251, P::No, on_session!(secfs::setfsid)).stateful(),
    row("setfsperm", "ID MASK DIR", "give ID the rights MASK (number or rfile,...)", V251, P::At(&[2]), on_session!(secfs::setfsperm)),
    row("remfsperm", "ID DIR", "remove ID's entry from DIR ('' is everybody else)", V251, P::At(&[1]), on_session!(secfs::remfsperm)),
    row("getfsperm", "ID DIR", "ID's rights in DIR: the mask and its names", V251, P::At(&[1]), on_session!(secfs::getfsperm)),
    row("issecfs", "DIR", "is DIR in the secure FS? (exit 0 yes, 2 no)", V251, P::All, on_session!(secfs::issecfs)),
    row("gettz", "", "the session's time zone", V251, P::No, on_session!(tz::plain)),
    row("settz", "ZONE", "set it (Europe/Paris, EST+5EDT,M3.2.0/2,...)", V251, P::No, on_session!(tz::zone)).stateful(),
    row("localtime", "", "the date and time in the session's zone", V251, P::No, on_session!(tz::plain)),
    row("dateftz", "ZONE", "the date and time in ZONE", V251, P::No, on_session!(tz::zone)),
    row("genuuid", "", "a fresh random UUID", V251, P::No, on_session!(tz::plain)),
    row("goaes", "", "switch the session to AES-256-CBC", V251, P::No, on_session!(layer::goaes)).stateful(),
    row("tfpcrypto", "", "back to the protocol's own cipher", V251, P::No, on_session!(layer::goaes)).stateful(),
    row("ciaon", "", "send an identity token before each unit; print it", V251, P::No, on_session!(layer::ciaon)).stateful(),
    row("ciaoff", "", "stop sending it", V251, P::No, on_session!(layer::ciaon)).stateful(),
    row("faitok", "[MINUTES]", "a Fast Access token for tf --fai (default 60 min)", V251, P::No, on_session!(layer::faitok)),
    row("faimq", "", "the longest Fast Access token lifetime, minutes", V251, P::No, on_session!(layer::faimq)),
    row("locksys", "DIR", "confine this session to DIR for good", V251, P::All, on_session!(confine::confine)).stateful(),
    row("flycontext", "DIR", "make DIR and confine this session to it", V251, P::All, on_session!(confine::confine)).stateful(),
    row("runbash", "SCRIPT", "run SCRIPT on the server, print its output", V251, P::All, on_session!(confine::runbash)),
]
};

/// The row of `cmd` (lower case), if tf has that command.
pub fn find(cmd: &str) -> Option<&'static Cmd> {
    TABLE.iter().find(|r| r.name == cmd)
}

/// Runs `cmd` over the session: its row's function; a session failure is
/// explained and a usage error shows the row's arguments, here alone; an
/// unknown name is a usage error too.
pub fn run(x: &mut Ctx<'_>, cmd: &str, args: &[String]) -> ExitCode {
    let Some(r) = find(cmd) else {
        return fail(format!("unknown command {cmd:?} (see tf --help)"));
    };
    let Does::Session(f) = r.does else {
        return fail(format!("{cmd} cannot run here (see tf --help)"));
    };
    let args = &super::row::gnu_words(r, args);
    match f(x, r, args) {
        Ok(code) => code,
        Err(Failure::Usage) => fail(format!("usage: tf ... {cmd} {}", r.args)),
        Err(Failure::Session(e)) => {
            explain::session_error(&e, x.cfg).print();
            ExitCode::from(Exit::Error)
        }
    }
}

/// The help's text before each part's rows, and after them.
fn part_text(p: Part) -> (&'static str, &'static str) {
    match p {
        Part::Basic => (
            "Commands (paths are relative to the served root; ls sorts by name, -l adds mode,\n\
             owner, group (numeric), size and local modification time, -h sizes as ls -h, a FILE\n\
             shows as itself; del/rm and ls expand remote patterns (*, ?, [...]); rmdir refuses a\n\
             non-empty directory unless -r; sha256 prints sha256sum's lines, fstat and freesp words: --raw prints the\n\
             protocol's reply instead; *: the effect lasts for the session, so these belong in\n\
             tf shell or tf -b):",
            "",
        ),
        Part::Transfers => (
            "Transfers (a progress bar on stderr when it is a terminal). Safe by default: a download\n\
             goes to a temporary beside LOCAL, renamed over it only when complete (a failure leaves\n\
             LOCAL as it was); an upload replaces REMOTE whole, into REMOTE/NAME when REMOTE is a\n\
             directory (or ends with /), as cp does, and a download into a local directory likewise;\n\
             LOCAL '-' is stdin / stdout:",
            "\n\
             Trees and many files (rsync's rule: a directory src lands as DEST/src, src/ its\n\
             contents in DEST, DEST made when missing; a file goes into a directory DEST, else\n\
             becomes DEST; several sources, a pattern or DEST/ make a missing DEST):\n\
             \x20 put [-r] [-p] [--jobs N] [--exclude P] [--include P] LOCAL... REMOTE\n\
             \x20 get [-r] [--jobs N] [--exclude P] [--include P] REMOTE... LOCAL\n\
             \x20                            -r takes directories whole; files move over N sessions\n\
             \x20                            (default 4, 1..64) opened once; sources may be patterns\n\
             \x20                            (*, ?, [...]; a backslash escapes), expanded by tf itself\n\
             \x20                            (remote ones from a listing). Without -l or -a uploads skip\n\
             \x20                            symlinks (said so) and refuse names the server cannot\n\
             \x20                            store (a control character; one line each, exit 1).\n\
             \x20                            Downloads keep the\n\
             \x20                            server's mtime, land in a temporary\n\
             \x20                            renamed when complete, and refuse server names that are\n\
             \x20                            absolute, hold '..', a control character or NUL, or go\n\
             \x20                            deeper than 256; nothing is written through a symlink in\n\
             \x20                            the target; a listing over 1,000,000 entries is refused.\n\
             \x20                            put -p keeps each file's mode and mtime (a server with\n\
             \x20                            tfd's batches: many files in one exchange per session).\n\
             \x20                            A run ends with 'put: N transferred, N skipped, N failed\n\
             \x20                            (BYTES in T s)' ('get:' for get)\n\
             \n\
             Mirroring (mirror: SRC remote and DST local; with -R SRC local and DST remote): make\n\
             DST a copy of SRC, moving only files whose size or mtime differ (over the --jobs pool,\n\
             with get -r's checks on the server's names); downloads get the server's mtime; uploads\n\
             keep the local mode and mtime on a server with tfd's batches, and a file is up to date\n\
             when size and mtime match (rsync -a's check: an older mtime moves too); elsewhere they\n\
             are stamped on arrival, so a remote file not older than the local one and of the same\n\
             size is up to date; a file that changes while it is sent is not committed (the run\n\
             fails, the next one sends it); --checksum compares SHA-256\n\
             (the server's SHA256) instead of times; --delete removes what SRC does not hold (never\n\
             outside DST, never through a symlink; nothing if a listing was not whole); --dry-run\n\
             prints what it would do and changes nothing; ends with 'mirror: N transferred, N\n\
             deleted, N unchanged, N failed'",
        ),
        Part::TreeCommands => (
            "Tree commands (best effort; NAME/PATTERN match whole trailing path components):",
            "",
        ),
        Part::Notifications => ("Notifications:", ""),
        Part::Liveness => ("Liveness:", ""),
        Part::V251 => (
            "Protocol 2.5.1 commands (*: the effect lasts for the session, so these belong\n\
             in tf shell or tf -b; see tf(1), \"2.5.1 commands\"):",
            "",
        ),
    }
}

/// The help of one part: its text and its rows, `name args` then the summary
/// (on the next line when the two do not fit), `*` before a stateful one.
pub fn part_help(p: Part) -> String {
    let (head, tail) = part_text(p);
    let mut s = format!("{head}\n");
    for r in TABLE.iter().filter(|r| r.part == p) {
        let head = format!("{} {}", r.name, r.args);
        let star = if r.stateful { "*" } else { " " };
        let mut lines = r.summary.lines().map(str::trim_start);
        let first = lines.next().unwrap_or_default();
        if head.len() > 26 {
            s.push_str(&format!(" {star}{head}\n{:30}{first}\n", ""));
        } else {
            s.push_str(&format!(" {star}{head:<27} {first}\n"));
        }
        for l in lines {
            s.push_str(&format!("{:30}{l}\n", ""));
        }
    }
    s.push_str(tail);
    s.trim_end().to_string()
}

/// Every part but the 2.5.1 commands, in order, for `tf --help`.
pub fn commands_help() -> String {
    [
        Part::Basic,
        Part::Transfers,
        Part::TreeCommands,
        Part::Notifications,
        Part::Liveness,
    ]
    .iter()
    .map(|p| part_help(*p))
    .collect::<Vec<_>>()
    .join("\n\n")
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
        let row = |c: &str| find(c).map(|r| r.paths).unwrap();
        use super::super::row::map_paths;
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
        assert_eq!(map_paths(&s(&["a", "b"]), row("copy"), &at), ["d/a", "d/b"]);
        assert_eq!(map_paths(&s(&["x", "b"]), row("sndfile"), &at), ["x", "d/b"]);
    }

    #[test]
    fn names_are_unique_lower_case_and_each_row_is_in_the_help() {
        let help = format!("{}\n{}", commands_help(), part_help(Part::V251));
        for (i, r) in TABLE.iter().enumerate() {
            assert!(r.name.bytes().all(name_byte) && !r.name.starts_with('-'), "{}", r.name);
            assert!(TABLE[..i].iter().all(|o| o.name != r.name), "{} twice", r.name);
            let listed = help
                .lines()
                .any(|l| l.get(2..).is_some_and(|l| l.starts_with(&format!("{} ", r.name))));
            assert!(listed, "{} not in the help", r.name);
        }
    }

    #[test]
    fn failures_are_checked_against_positional_words() {
        use super::super::explain::Access;
        let targets = |c: &str, a: &[String]| {
            find(c)
                .unwrap()
                .targets(a)
                .into_iter()
                .map(|(p, a)| (p.to_string(), a))
                .collect::<Vec<_>>()
        };
        assert_eq!(
            targets("copy", &s(&["a", "b"])),
            [("a".to_string(), Access::Read), ("b".to_string(), Access::Create)]
        );
        assert_eq!(targets("fstat", &s(&["--raw", "f"])), [("f".to_string(), Access::Read)]);
        assert!(targets("date", &s(&["x"])).is_empty());
    }

    /// The bold words tagging the entries of tf(1)'s COMMANDS section (`.TP` or
    /// `.TQ` followed by `.B`, `.BI` or `.BR`), up to its "Command options" and
    /// from its "Tree commands" to "Output" (the shell's own words included):
    /// each word of the tag's bold runs that looks like a command name.
    /// A byte of a command's name: lower case, digits, `_`, and `-` inside
    /// (`copy-id`, as ssh-copy-id).
    fn name_byte(b: u8) -> bool {
        b.is_ascii_lowercase() || b == b'_' || b == b'-' || b.is_ascii_digit()
    }

    fn man_commands() -> Vec<String> {
        let page = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../man/tf.1")).unwrap();
        let start = page.find("\n.SH COMMANDS").unwrap();
        let end = page[start..].find("\n.SS Output").unwrap() + start;
        let body = &page[start..end];
        let (a, rest) = body.split_once("\n.SS Command options").unwrap();
        let b = &rest[rest.find("\n.SS Tree commands").unwrap()..];
        let mut names = Vec::new();
        for part in [a, b] {
            let lines: Vec<&str> = part.lines().collect();
            for w in lines.windows(2) {
                if !matches!(w[0].trim_end(), ".TP" | ".TQ") {
                    continue;
                }
                let Some((mac, rest)) = w[1].split_once(' ') else {
                    continue;
                };
                // the tag's first word, and in .BR/.BI (bold alternating with
                // another face) each later bold run after one ending in a
                // comma: `.BR date ", " udate`, `.BR del " \fIpath\fR..., " rm`
                let args = roff_args(rest);
                let mut bold: Vec<&str> = args
                    .first()
                    .and_then(|a| a.split_whitespace().next())
                    .into_iter()
                    .collect();
                if matches!(mac, ".BR" | ".BI") {
                    for i in (2..args.len()).step_by(2) {
                        if plain(&args[i - 1]).trim_end().ends_with(',') {
                            bold.push(&args[i]);
                        }
                    }
                } else if mac != ".B" {
                    continue;
                }
                for word in bold {
                    // roff's `\-` is the hyphen of `copy-id`
                    let word = word.replace("\\-", "-");
                    if word.bytes().all(name_byte) && !word.starts_with('-') {
                        names.push(word);
                    }
                }
            }
        }
        names
    }

    /// Roff text without its font escapes (`\fI`, `\fR`, `\fP`, `\fB`).
    fn plain(s: &str) -> String {
        let mut out = String::new();
        let mut it = s.chars();
        while let Some(c) = it.next() {
            if c == '\\' {
                match it.next() {
                    Some('f') => {
                        it.next();
                    }
                    Some(o) => out.push(o),
                    None => {}
                }
            } else {
                out.push(c);
            }
        }
        out
    }

    /// A roff macro line's arguments (double quotes group words).
    fn roff_args(line: &str) -> Vec<String> {
        let (mut args, mut cur, mut quoted) = (Vec::new(), String::new(), false);
        for c in line.chars() {
            match c {
                '"' => quoted = !quoted,
                ' ' if !quoted => {
                    if !cur.is_empty() {
                        args.push(std::mem::take(&mut cur));
                    }
                }
                c => cur.push(c),
            }
        }
        if !cur.is_empty() {
            args.push(cur);
        }
        args
    }

    /// tf(1) documents every command of the table, and no command it lacks:
    /// the page is written by hand, the table is the truth.
    #[test]
    fn tf_1_documents_exactly_the_table() {
        let man = man_commands();
        let missing: Vec<&str> = TABLE
            .iter()
            .map(|r| r.name)
            .filter(|n| !man.iter().any(|m| m == n))
            .collect();
        assert!(missing.is_empty(), "tf(1) COMMANDS has no entry for {missing:?}");
        let shell = SHELL_ONLY;
        let unknown: Vec<&String> = man
            .iter()
            .filter(|m| find(m).is_none() && !shell.contains(&m.as_str()))
            .collect();
        assert!(
            unknown.is_empty(),
            "tf(1) COMMANDS documents commands tf does not have: {unknown:?}"
        );
    }
}
