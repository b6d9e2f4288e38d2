//! tf: a command-line TF Protocol client.
#![forbid(unsafe_code)]

use std::process::ExitCode;
// server text goes to the terminal escaped (tfp-client escape.rs)
use tfp_client::escape::shown;
use tfp_client::{Client, ClientConfig};
use tfp_wire::Status;

mod complete;
mod confine;
mod conn;
mod df;
mod editline;
mod ended;
mod explain;
mod formats;
mod info;
mod into_dir;
mod intrw;
mod layer;
mod locks;
mod mirror;
mod probe;
mod put_staged;
mod remote;
mod rglob;
mod safe;
mod secfs;
mod shell;
mod tree;
mod tz;
mod v251;
mod v251_fs;
mod watch;
mod xfer;

/// The head of `tf --help`, before the options (from the option table).
const USAGE_HEAD: &str = "\
usage: tf --server HOST:PORT --key PUB.pem --hash HASH [--user NAME] COMMAND [ARGS...]
       tf -s NAME [--user NAME] [--jail TOKEN:DIR] COMMAND [ARGS...] | shell | -b FILE
       tf --version | tf completion bash|zsh|fish
";

/// The commands part of `tf --help`, after the options and before the
/// command options.
const USAGE_TAIL: &str = "\
Options come before the command; words after it are the command's arguments.

Commands (paths are relative to the served root; ls sorts by name, -l adds type,
size and local modification time, -h sizes as ls -h, a FILE shows as itself; del/rm
and ls expand remote patterns (*, ?, [...]); rmdir refuses a non-empty directory
unless -r; sha256 prints sha256sum's lines, fstat and freesp words: --raw prints the
protocol's reply instead):
  echo TEXT...               mkdir PATH               del|rm PATH...
  rmdir [-r] PATH            touch PATH               fstat [--raw] PATH...
  fupd PATH                  sha256 [--raw] PATH...   freesp [--raw]
  df [--raw]                 space left to use: free disk space, quota used and limit
  copy SRC DST               cpdir SRC DST            renam|mv OLD NEW
  ls [-lah] [PATH...]        lsr [-lah] [PATH...]     lock [NAME]
  date | udate | ndate | datef    dtof TIMESTAMP    ftod 'YYYY-MM-DD HH:MM:SS'
  raw 'NAME ARGS'            send one command line as is and print the reply
  shell                      an interactive session: cd, pwd, lcd, lpwd, ls, put,
                             get, mkdir, rm, rmdir [-r], mv, help, quit (and every
                             command here); relative remote paths follow cd; Tab
                             completes commands and names
  completion bash|zsh|fish   print the shell's completion script (no server needed)

Tree commands (best effort; NAME/PATTERN match whole trailing path components):
  xcopy NEWNAME SRC PATTERN  copy file SRC as NEWNAME into every directory matching PATTERN
  xcpdir NEWNAME SRC PATTERN copy directory SRC likewise
  xdel DIR NAME              delete every file below DIR matching NAME
  xrmdir DIR NAME            delete every directory below DIR matching NAME

Notifications:
  watch DIR TOKEN [--interval S] [--del]
                             print DIR/NAME for each file in DIR whose name starts with
                             TOKEN ('' for all), as the server notifies it

Transfers (a progress bar on stderr when it is a terminal). Safe by default: a download
goes to a temporary beside LOCAL, renamed over it only when complete (a failure leaves
LOCAL as it was); an upload replaces REMOTE whole, into REMOTE/NAME when REMOTE is a
directory (or ends with /), as cp does, and a download into a local directory likewise;
LOCAL '-' is stdin / stdout:
  put LOCAL [REMOTE] [--offset N | --resume] [--streams N] [--bufsz N] [--verify] [--parents]
  get REMOTE [LOCAL] [--offset N | --resume] [--streams N] [--bufsz N] [--verify]
  sndfile LOCAL REMOTE [--overwrite] [--verify] [--parents]
  rcvfile REMOTE LOCAL [--delete] [--verify]
  sup LOCAL REMOTE [--parents]
  sdown REMOTE LOCAL
  fsize PATH                 fsizels LISTFILE

Trees and many files (cp -r's rules: a destination that is a directory receives each
source under its own name, else it is created with the source's contents; several
sources or a pattern need an existing directory):
  put [-r] [--jobs N] [--exclude P] [--include P] LOCAL... REMOTE
  get [-r] [--jobs N] [--exclude P] [--include P] REMOTE... LOCAL
                             -r takes directories whole; files move over N sessions
                             (default 4, 1..64) opened once; sources may be patterns
                             (*, ?, [...]; a backslash escapes), expanded by tf itself
                             (remote ones from a listing). Uploads skip symlinks (said
                             so). Downloads keep the server's mtime, land in a temporary
                             renamed when complete, and refuse server names that are
                             absolute, hold '..', a control character or NUL, or go
                             deeper than 256; nothing is written through a symlink in
                             the target; a listing over 1,000,000 entries is refused

Mirroring (SRC remote and DST local; with -R SRC local and DST remote):
  mirror [-R] [--delete] [--checksum] [--dry-run] [--jobs N] [--exclude P] [--include P] SRC DST
                             make DST a copy of SRC, moving only files whose size or
                             mtime differ (over the --jobs pool, with get -r's checks
                             on the server's names); downloads get the server's mtime;
                             uploads are stamped on arrival (no command sets a remote
                             mtime), so a remote file not older than the local one and
                             of the same size is up to date; --checksum compares
                             SHA-256 (the server's SHA256) instead of times; --delete
                             removes what SRC does not hold (never outside DST, never
                             through a symlink; nothing if a listing was not whole);
                             --dry-run prints what it would do and changes nothing;
                             ends with 'mirror: N transferred, N deleted, N unchanged,
                             N failed'
";

/// The end of `tf --help`, after the command options.
const USAGE_END: &str = "\
Liveness:
  probe host | proc KEY | sock KEY | tlb
                             one UDP probe to the server's port (no session needed)
  prockey                    this session's key for the probes
  oob [N]                    send N urgent (OOB) bytes, wait for each echo
  keepalive ON IDLE INTERVAL COUNT
  nigma [N]                  replace the session key (N bytes, default 32)
  tlb                        the next load-balancer entry

Errors: the server's FAILED line as sent, then what it means (\"tf: ...\") and a
hint (\"hint: ...\"), both on stderr.
Exit status: 0 on OK, 2 on a FAILED or UNKNOWN reply (or rmdir of a non-empty directory
without -r; for put/get of trees and mirror: a file or name the server refused), 3 when --verify finds
a SHA-256 mismatch, 1 on a connection, handshake or usage error, or a local file that
cannot be read or written (it wins over 2 when a tree meets both).";

/// The usage text: the options and command options parts from their tables.
fn usage() -> String {
    format!(
        "{USAGE_HEAD}\n{}\n{USAGE_TAIL}\n{}\n\n{USAGE_END}",
        tfp_client::options::docs::help_text(),
        tfp_client::options::docs::command_help_text()
    )
}

fn fail(msg: impl std::fmt::Display) -> ExitCode {
    eprintln!("tf: {msg}");
    ExitCode::from(1)
}

/// Prints a reply; a FAILED or UNKNOWN one is followed by what it means for
/// `cmd` on its remote `targets` (see explain.rs), asked on the session `c`.
fn report(c: &mut Client, cmd: &str, targets: &[(&str, explain::Access)], st: &Status) -> ExitCode {
    let code = print_status(st);
    if matches!(st, Status::Failed(..) | Status::Unknown) {
        if let Some(e) = explain::failed(c, cmd, targets, st) {
            e.print();
        }
    }
    code
}

/// The remote paths a command reads (must exist) or creates (its directory
/// must exist), for explaining its failures.
fn targets<'a>(cmd: &str, args: &'a [String]) -> Vec<(&'a str, explain::Access)> {
    use explain::Access::{Create, Read};
    let arg = |i: usize| args.get(i).map(String::as_str);
    let v: Vec<(Option<&str>, explain::Access)> = match cmd {
        "mkdir" | "touch" => vec![(arg(0), Create)],
        "copy" | "cpdir" | "renam" => vec![(arg(0), Read), (arg(1), Create)],
        "del" | "rmdir" | "fstat" | "fupd" | "sha256" | "ls" | "lsr" | "fsize" => vec![(arg(0), Read)],
        _ => Vec::new(),
    };
    v.into_iter().filter_map(|(p, a)| p.map(|p| (p, a))).collect()
}

fn print_status(st: &Status) -> ExitCode {
    match st {
        Status::Ok(d) if d.is_empty() => {
            println!("OK");
            ExitCode::SUCCESS
        }
        Status::Ok(d) => {
            println!("OK {}", shown(d));
            ExitCode::SUCCESS
        }
        Status::Failed(n, t) => {
            eprintln!("FAILED {n} : {}", shown(t.as_bytes()));
            ExitCode::from(2)
        }
        Status::Unknown => {
            eprintln!("UNKNOWN");
            ExitCode::from(2)
        }
        Status::Other(d) => {
            println!("{}", shown(d));
            ExitCode::SUCCESS
        }
    }
}

fn main() -> ExitCode {
    let mut given = conn::Settings::default();
    let mut rest: Vec<String> = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        if !rest.is_empty() {
            rest.push(a);
            continue;
        }
        match given.take(&a, &mut args) {
            Ok(true) if given.help => {
                println!("{}\n\n{}", usage(), v251::help_text());
                return ExitCode::SUCCESS;
            }
            Ok(true) if given.version => {
                println!("tf {}", env!("CARGO_PKG_VERSION"));
                return ExitCode::SUCCESS;
            }
            Ok(true) => {}
            Ok(false) if a.starts_with('-') && a.len() > 1 => {
                explain::unknown_option(&a).print();
                return ExitCode::from(1);
            }
            Ok(false) => rest.push(a),
            Err(e) => return fail(e),
        }
    }
    if rest.first().map(String::as_str) == Some("completion") {
        return match rest
            .get(1)
            .and_then(|s| complete::script(s))
            .filter(|_| rest.len() == 2)
        {
            Some(script) => {
                print!("{script}");
                ExitCode::SUCCESS
            }
            None => fail("usage: tf completion bash|zsh|fish (prints the script for that shell)"),
        };
    }
    let batch = given.batch.take();
    let mut settings = given;
    if let Some(n) = settings.named.take() {
        match conn::named(&n) {
            Ok(s) => settings = settings.or(s),
            Err(e) => return fail(e),
        }
    }
    let settings = match conn::Settings::from_env() {
        Ok(env) => settings.or(env),
        Err(e) => return fail(e),
    };
    let (Some(server), Some(key), Some(hash)) = (settings.server.clone(), settings.key.clone(), settings.hash.clone())
    else {
        if let Some(e) = explain::misplaced_options(&rest) {
            e.print();
            return ExitCode::from(1);
        }
        eprintln!("tf: no server given: --server, --key and --hash (or -s NAME) are required");
        eprintln!("hint: or TF_SERVER, TF_KEY and TF_HASH; tf --help shows the usage");
        return ExitCode::from(1);
    };
    let cmd = rest.first().map(|c| c.to_ascii_lowercase());
    if cmd.is_none() && batch.is_none() {
        eprintln!("tf: no command given");
        eprintln!("hint: tf --help lists the commands; tf ... shell runs many on one session");
        return ExitCode::from(1);
    }
    if batch.is_some() && cmd.is_some() {
        return fail("-b runs the commands of its file: give no command after it");
    }
    if let Err(e) = explain::check_server(&server) {
        e.print();
        return ExitCode::from(1);
    }
    if cmd.as_deref() == Some("probe") {
        return probe::udp_probe(&server, &rest[1..]);
    }
    let pem = match std::fs::read(&key) {
        Ok(p) => p,
        Err(e) => return fail(format!("--key {key}: {e}")),
    };
    if let Err(e) = explain::check_key_file(&key, &pem) {
        e.print();
        return ExitCode::from(1);
    }
    let mut cfg = ClientConfig::new(&server, pem, &hash);
    cfg.proto = settings.proto.clone().unwrap_or_else(|| "2.4.1".into());
    cfg.key_len = settings.keylen.unwrap_or(32);
    cfg.aes = settings.aes;
    cfg.transport = settings.transport.unwrap_or(tfp_client::Transport::Prefer);
    cfg.timeout = Some(std::time::Duration::from_secs(settings.timeout.unwrap_or(30)));
    if let Some(j) = &settings.jail {
        match conn::jail(j) {
            Ok(j) => cfg.jail = Some(j),
            Err(e) => return fail(e),
        }
    }
    if let Some(user) = &settings.user {
        if user.is_empty() || user.contains(char::is_whitespace) {
            return fail(format!("--user {user:?}: a login name has no spaces"));
        }
        match conn::password(user, settings.password_file.as_deref()) {
            Ok(password) => {
                cfg.login = Some(tfp_client::Credentials {
                    user: user.clone(),
                    password,
                })
            }
            Err(e) => return fail(e),
        }
    } else if settings.password_file.is_some() {
        return fail("--password-file needs --user (or TF_USER, or user in the config file)");
    }
    tree::set_fai(settings.fai);
    let connected = if settings.fai {
        let Some(dir) = tfp_client::fai_cache::default_dir() else {
            return fail("--fai: neither XDG_CACHE_HOME nor HOME is set");
        };
        let cache = match tfp_client::fai_cache::FaiCache::open(&dir, &cfg) {
            Ok(c) => c,
            Err(e) => return fail(format!("--fai: {e}")),
        };
        tfp_client::fai_cache::connect_cached(&cfg, &cache).map(|(c, how)| {
            if let tfp_client::fai_cache::Entered::Rsa(why) = how {
                eprintln!("tf: --fai: no Fast Access token: {why}; RSA next time too");
            }
            c
        })
    } else {
        Client::connect(&cfg)
    };
    let mut client = match connected {
        Ok(c) => c,
        Err(e) => {
            explain::connect_error(&e, &cfg).print();
            return ExitCode::from(1);
        }
    };
    if settings.verbose {
        eprintln!("tf: transport: {}", client.transport_name());
    }
    let code = match (cmd.as_deref(), &batch) {
        (_, Some(file)) => shell::batch(&mut client, &cfg, file),
        (Some("shell"), None) => shell::interactive(&mut client, &cfg),
        (Some(cmd), None) => run(&mut client, &cfg, cmd, &rest[1..]),
        (None, None) => ExitCode::from(1),
    };
    let _ = client.end();
    code
}

fn need(args: &[String], n: usize, what: &str) -> Result<(), ExitCode> {
    if args.len() == n {
        Ok(())
    } else {
        Err(fail(format!("usage: tf ... {what}")))
    }
}

fn run(c: &mut Client, cfg: &ClientConfig, cmd: &str, args: &[String]) -> ExitCode {
    let one = |args: &[String]| args.first().cloned().unwrap_or_default();
    if let Some(code) = v251::run(c, cfg, cmd, args) {
        return code;
    }
    let print_status = |c: &mut Client, st: &Status| report(c, cmd, &targets(cmd, args), st);
    let result = match cmd {
        "echo" => c.raw(format!("ECHO {}", args.join(" ")).as_bytes()).map(|f| {
            println!("{}", shown(&f));
            ExitCode::SUCCESS
        }),
        "ls" | "lsr" => remote::ls(c, cmd, args),
        "del" | "rm" => remote::del(c, cmd, args),
        "sha256" | "fstat" | "freesp" => info::run(c, cmd, args),
        "mv" => {
            if let Err(code) = need(args, 2, "mv OLD NEW") {
                return code;
            }
            c.command(format!("RENAM {} | {}", args[0], args[1]).as_bytes())
                .map(|s| report(c, "renam", &targets("renam", args), &s))
        }
        "rmdir" => remote::rmdir(c, args),
        "copy" | "cpdir" | "renam" => {
            if let Err(code) = need(args, 2, &format!("{cmd} SRC DST")) {
                return code;
            }
            c.command(format!("{} {} | {}", cmd.to_uppercase(), args[0], args[1]).as_bytes())
                .map(|s| print_status(c, &s))
        }
        "xcopy" | "xcpdir" | "xdel" | "xrmdir" => return watch::xcmd(c, cmd, args),
        "watch" => return watch::watch(c, args),
        "raw" => {
            if let Err(code) = need(args, 1, "raw 'NAME ARGS'") {
                return code;
            }
            c.command(args[0].as_bytes()).map(|s| print_status(c, &s))
        }
        "mkdir" | "touch" | "fupd" | "lock" | "dtof" | "ftod" | "date" | "udate" | "ndate" | "datef" => c
            .command(format!("{} {}", cmd.to_uppercase(), args.join(" ")).as_bytes())
            .map(|s| print_status(c, &s)),
        "df" => return df::run(c, cfg, args),
        "mirror" => return mirror::run(c, cfg, args),
        "put" | "get" if tree::wanted(args) => return tree::run(c, cfg, cmd, args),
        "put" => {
            let args = match into_dir::put(c, args) {
                Ok(a) => a,
                Err(e) => {
                    explain::session_error(&e, cfg).print();
                    return ExitCode::from(1);
                }
            };
            return xfer::run(c, cfg, cmd, &args);
        }
        "get" => return xfer::run(c, cfg, cmd, &into_dir::get(args)),
        "sndfile" | "rcvfile" | "sup" | "sdown" => return xfer::run(c, cfg, cmd, args),
        "oob" => return probe::oob(c, args),
        "nigma" => return probe::nigma(c, args),
        "prockey" | "tlb" => c.command(cmd.to_uppercase().as_bytes()).map(|s| print_status(c, &s)),
        "keepalive" => {
            if let Err(code) = need(args, 4, "keepalive ON IDLE INTERVAL COUNT") {
                return code;
            }
            let line = format!("KEEPALIVE {} {} | {} | {}", args[0], args[1], args[2], args[3]);
            c.command(line.as_bytes()).map(|s| print_status(c, &s))
        }
        "fsize" => match c.fsize(one(args).as_bytes()) {
            Ok(v) => Ok(v as i64),
            Err(tfp_client::Error::Declined { answer, .. }) => Ok(answer),
            Err(e) => Err(e),
        }
        .map(|v| {
            println!("{v}");
            if v < 0 {
                eprintln!("tf: {}: no such file on the server, or not readable", one(args));
                ExitCode::from(2)
            } else {
                ExitCode::SUCCESS
            }
        }),
        "fsizels" => c.fsizels(one(args).as_bytes()).map(|v| {
            for x in v {
                println!("{x}");
            }
            ExitCode::SUCCESS
        }),
        other => return fail(format!("unknown command {other:?} (see tf --help)")),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            explain::session_error(&e, cfg).print();
            ExitCode::from(1)
        }
    }
}
