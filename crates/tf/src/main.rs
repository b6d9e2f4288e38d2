//! tf: a command-line TF Protocol client.

use reply::fail;
use std::process::ExitCode;
use tf::exit::{self, Exit};
use tfp_client::{Client, ClientConfig};

#[macro_use]
mod out;

mod basic;
mod complete;
mod confine;
mod conn;
mod ctx;
mod df;
mod editline;
mod ended;
mod explain;
mod formats;
mod help;
mod identities;
mod info;
mod into_dir;
mod intrw;
mod items;
mod layer;
mod long;
mod mirror;
mod netlock;
mod partials;
mod probe;
mod progress;
mod put_staged;
mod remote;
mod reply;
mod retry;
mod rglob;
mod row;
mod safe;
mod secfs;
mod server_key;
mod shell;
mod snap;
mod stages;
mod table;
mod tree;
mod tz;
mod user_keys;
mod v251;
mod v251_fs;
mod watch;
mod xfer;
mod xfer_error;
mod xfer_moves;
mod xfer_parents;
mod xfer_select;
mod xfer_shown;

/// The head of `tf --help`, before the options (from the option table).
const USAGE_HEAD: &str = "\
usage: tf --server HOST:PORT [--key PUB.pem] --hash HASH [--user NAME] COMMAND [ARGS...]
       tf -s NAME [--user NAME] [--jail TOKEN:DIR] COMMAND [ARGS...] | shell | -b FILE
       tf --version | tf completion bash|zsh|fish
";

/// Between the options and the commands in `tf --help`.
const USAGE_COMMANDS: &str = "Options come before the command; words after it are the command's arguments.";

/// The end of `tf --help`, after the command options and before the 2.5.1
/// commands: how errors are written, then the statuses ([`exit::help_text`]).
const USAGE_ERRORS: &str = "\
Errors: the server's FAILED line as sent, then what it means (\"tf: ...\") and a
hint (\"hint: ...\"), both on stderr.";

/// The usage text: the options and command options parts from their tables.
fn usage() -> String {
    format!(
        "{USAGE_HEAD}\n{}\n{USAGE_COMMANDS}\n\n{}\n\n{}\n\n{USAGE_ERRORS}\n{}\n\n{}",
        tf::options::docs::help_text(),
        table::commands_help(),
        tf::options::docs::command_help_text(),
        exit::help_text(),
        table::part_help(table::Part::V251)
    )
}

/// The command line as UTF-8; `Err` names (escaped) the first argument that is
/// not (args() would panic on it, and a file name may be any bytes).
fn utf8_args() -> Result<Vec<String>, ExitCode> {
    let mut raw: Vec<String> = Vec::new();
    for (i, a) in std::env::args_os().skip(1).enumerate() {
        match a.into_string() {
            Ok(a) => raw.push(a),
            Err(a) => {
                return Err(fail(format!(
                    "argument {} ({}) is not UTF-8: tf takes names and options as UTF-8 text",
                    i + 1,
                    tfp_client::escape::shown(std::os::unix::ffi::OsStrExt::as_bytes(a.as_os_str()))
                )))
            }
        }
    }
    Ok(raw)
}

/// The connection options before the command, and the command with its
/// arguments; `Err` is the exit of `--help`, `--version` or a wrong option.
fn split_options(raw: &[String]) -> Result<(conn::Settings, Vec<String>), ExitCode> {
    let mut given = conn::Settings::default();
    let mut rest: Vec<String> = Vec::new();
    let mut args = raw.iter().cloned();
    while let Some(a) = args.next() {
        if !rest.is_empty() {
            rest.push(a);
            continue;
        }
        match given.take(&a, &mut args) {
            Ok(true) if given.help => {
                println!("{}", usage());
                return Err(ExitCode::SUCCESS);
            }
            Ok(true) if given.version => {
                println!("tf {}", env!("CARGO_PKG_VERSION"));
                return Err(ExitCode::SUCCESS);
            }
            Ok(true) => {}
            Ok(false) if a.starts_with('-') && a.len() > 1 => {
                explain::unknown_option(&a).print();
                return Err(ExitCode::from(Exit::Error));
            }
            Ok(false) => rest.push(a),
            Err(e) => return Err(fail(e)),
        }
    }
    late_bwlimit(&mut given, &mut rest)?;
    Ok((given, rest))
}

/// `--bwlimit` among a transfer command's words, as rsync takes it anywhere
/// on its line: taken out of them into the settings, as if given before the
/// command (a word after `--` is the command's, whatever it says).
fn late_bwlimit(given: &mut conn::Settings, rest: &mut Vec<String>) -> Result<(), ExitCode> {
    let transfer = rest
        .first()
        .and_then(|c| table::find(&c.to_ascii_lowercase()))
        .is_some_and(|r| r.part == table::Part::Transfers);
    if !transfer {
        return Ok(());
    }
    let mut words = std::mem::take(rest).into_iter();
    while let Some(w) = words.next() {
        if w == "--" {
            rest.push(w);
            rest.extend(words.by_ref());
        } else if w == "--bwlimit" || w.starts_with("--bwlimit=") {
            given.take(&w, &mut words).map_err(fail)?;
        } else {
            rest.push(w);
        }
    }
    Ok(())
}

/// `tf completion SHELL`: prints the script (no server needed).
fn completion(rest: &[String]) -> ExitCode {
    match rest
        .get(1)
        .and_then(|s| complete::script(s))
        .filter(|_| rest.len() == 2)
    {
        Some(script) => {
            print!("{script}");
            ExitCode::SUCCESS
        }
        None => fail("usage: tf completion bash|zsh|fish (prints the script for that shell)"),
    }
}

/// The client's configuration for a session that does not log in: the
/// server's key (PEM, settled by [`server_key::settle`]), the protocol and
/// cipher options.
fn session_config(settings: &conn::Settings, server: &str, pem: Vec<u8>, hash: &str) -> ClientConfig {
    let mut cfg = ClientConfig::new(server, pem, hash);
    cfg.proto = settings.proto.clone().unwrap_or_else(|| "2.4.1".into());
    cfg.key_len = settings.keylen.unwrap_or(32);
    cfg.aes = settings.aes;
    cfg.transport = settings.transport.unwrap_or(tfp_client::Transport::Prefer);
    cfg.timeout = Some(std::time::Duration::from_secs(settings.timeout.unwrap_or(30)));
    cfg.compress = settings.compress.unwrap_or_default();
    cfg.family = settings.family;
    cfg
}

/// The client's configuration from the settings: [`session_config`]'s, the
/// jail and the login.
fn client_config(settings: &conn::Settings, server: &str, pem: Vec<u8>, hash: &str) -> Result<ClientConfig, ExitCode> {
    let mut cfg = session_config(settings, server, pem, hash);
    let none = tfp_client::bwlimit::Limit::Rate(0);
    cfg.pace = tfp_client::bwlimit::limit(settings.bwlimit.as_ref().unwrap_or(&none))
        .map_err(|e| fail(format!("--bwlimit: cannot set the limit up: {e}")))?;
    if let Some(j) = &settings.jail {
        match conn::jail(j) {
            Ok(j) => cfg.jail = Some(j),
            Err(e) => return Err(fail(e)),
        }
    }
    if let Some(user) = &settings.user {
        if user.is_empty() || user.contains(char::is_whitespace) {
            return Err(fail(format!("--user {user:?}: a login name has no spaces")));
        }
        cfg.keys = identities::key_login(user, settings.identity.as_deref(), settings.verbose).map_err(fail)?;
        // with keys to offer, a password is asked only once none was
        // accepted ([`connect_by_key`]); one from a file or TF_PASSWORD is
        // sent only then too
        let given = settings.password_file.is_some() || std::env::var_os("TF_PASSWORD").is_some();
        if cfg.keys.is_none() || given || settings.fai {
            match conn::password(user, settings.password_file.as_deref()) {
                Ok(password) => {
                    cfg.login = Some(tfp_client::Credentials {
                        user: user.clone(),
                        password,
                    })
                }
                Err(e) => return Err(fail(e)),
            }
        }
    } else if settings.password_file.is_some() {
        return Err(fail(
            "--password-file needs --user (or TF_USER, or user in the config file)",
        ));
    } else {
        // a single-user server with authorized_keys asks for a key login
        cfg.keys = Some(identities::when_asked(settings.identity.as_deref(), settings.verbose).map_err(fail)?);
    }
    Ok(cfg)
}

/// The first session when keys are offered and no password is at hand: by
/// key, else (no key accepted) with the password asked now, kept in `cfg`
/// for the command's other sessions.
fn connect_by_key(cfg: &mut ClientConfig, pinned: Option<&tfp_client::pinned::Pinned>) -> Result<Client, ExitCode> {
    match Client::connect(cfg) {
        Err(tfp_client::Error::Handshake("login", _)) => {
            let user = cfg.keys.as_ref().map(|k| k.user.clone()).unwrap_or_default();
            let password = conn::password(&user, None).map_err(fail)?;
            cfg.login = Some(tfp_client::Credentials { user, password });
            connect(cfg, false, pinned)
        }
        Ok(c) => Ok(c),
        Err(e) => Err(connect_failed(&e, cfg, pinned)),
    }
}

/// The exit of a first session that failed: a changed server key refused
/// loudly, anything else explained.
fn connect_failed(e: &tfp_client::Error, cfg: &ClientConfig, pinned: Option<&tfp_client::pinned::Pinned>) -> ExitCode {
    if let Some(code) = pinned.and_then(|p| server_key::changed(p, e, cfg)) {
        return code;
    }
    explain::connect_error(e, cfg).print();
    ExitCode::from(Exit::Error)
}

/// The command's session: through the Fast Access cache with `--fai`, else
/// with RSA; `Err` is the exit, the failure explained.
fn connect(cfg: &ClientConfig, fai: bool, pinned: Option<&tfp_client::pinned::Pinned>) -> Result<Client, ExitCode> {
    let connected = if fai {
        let Some(dir) = tfp_client::fai_cache::default_dir() else {
            return Err(fail("--fai: neither XDG_CACHE_HOME nor HOME is set"));
        };
        let cache = match tfp_client::fai_cache::FaiCache::open(&dir, cfg) {
            Ok(c) => c,
            Err(e) => return Err(fail(format!("--fai: {e}"))),
        };
        tfp_client::fai_cache::connect_cached(cfg, &cache).map(|(c, how)| {
            if let tfp_client::fai_cache::Entered::Rsa(why) = how {
                eprintln!("tf: --fai: no Fast Access token: {why}; RSA next time too");
            }
            c
        })
    } else {
        Client::connect(cfg)
    };
    connected.map_err(|e| connect_failed(&e, cfg, pinned))
}

fn main() -> ExitCode {
    match run() {
        Ok(code) | Err(code) => code,
    }
}

/// tf's whole run; an early exit is `Err`, the command's own status `Ok`.
fn run() -> Result<ExitCode, ExitCode> {
    let raw = utf8_args()?;
    let (mut given, rest) = split_options(&raw)?;
    let first = rest.first().map(|c| c.to_ascii_lowercase());
    if first
        .as_deref()
        .and_then(table::find)
        .is_some_and(|r| matches!(r.does, row::Does::Completion))
    {
        return Ok(completion(&rest));
    }
    if first
        .as_deref()
        .and_then(table::find)
        .is_some_and(|r| matches!(r.does, row::Does::Partials))
    {
        return Ok(partials::run(&rest[1..]));
    }
    if first.as_deref() == Some("help") {
        return Ok(help::run(&rest[1..], &usage()));
    }
    let batch = given.batch.take();
    let mut settings = given;
    if let Some(n) = settings.named.take() {
        match conn::named(&n) {
            Ok(s) => settings = settings.or(s),
            Err(e) => return Err(fail(e)),
        }
    }
    let settings = match conn::Settings::from_env() {
        Ok(env) => settings.or(env),
        Err(e) => return Err(fail(e)),
    };
    if settings.progress {
        progress::force();
    }
    let (Some(server), Some(hash)) = (settings.server.clone(), settings.hash.clone()) else {
        if let Some(e) = explain::misplaced_options(&rest) {
            e.print();
            return Err(ExitCode::from(Exit::Error));
        }
        match (&settings.server, &settings.hash) {
            (Some(s), None) => eprintln!(
                "tf: no hash given: --server {} needs the server's --hash too (tfd prints it when it starts)",
                tfp_client::escape::shown_str(s)
            ),
            (None, Some(_)) => eprintln!("tf: no server given: --hash needs --server HOST:PORT too (or -s NAME)"),
            _ => eprintln!("tf: no server given: --server and --hash (or -s NAME) are required"),
        }
        eprintln!(
            "hint: or TF_SERVER and TF_HASH; --key too unless the server's key is pinned; tf --help shows the usage"
        );
        return Err(ExitCode::from(Exit::Error));
    };
    let cmd = rest.first().map(|c| c.to_ascii_lowercase());
    if cmd.is_none() && batch.is_none() {
        eprintln!("tf: no command given");
        eprintln!("hint: tf --help lists the commands; tf ... shell runs many on one session");
        return Err(ExitCode::from(Exit::Error));
    }
    if batch.is_some() && cmd.is_some() {
        return Err(fail("-b runs the commands of its file: give no command after it"));
    }
    if let Err(e) = explain::check_server(&server) {
        e.print();
        return Err(ExitCode::from(Exit::Error));
    }
    if cmd
        .as_deref()
        .and_then(table::find)
        .is_some_and(|r| matches!(r.does, row::Does::Probe))
    {
        return Ok(probe::udp_probe(&server, &rest[1..]));
    }
    let key = server_key::settle(&server, settings.key.as_deref(), settings.accept_new, settings.timeout)?;
    let pinned = key.pinned;
    if let Some(r) = cmd
        .as_deref()
        .and_then(table::find)
        .filter(|r| matches!(r.does, row::Does::UserKeys) && batch.is_none())
    {
        return Ok(user_keys::run(
            session_config(&settings, &server, key.pem, &hash),
            settings.user.as_deref(),
            settings.password_file.as_deref(),
            settings.identity.as_deref(),
            r.name,
            &rest[1..],
            ctx::Invoked::of(&raw[..raw.len() - rest.len()]),
        ));
    }
    let mut cfg = client_config(&settings, &server, key.pem, &hash)?;
    let first = match &cfg.keys {
        // (a single-user server's key login, when asked, needs no password)
        Some(kl) if cfg.login.is_none() && !kl.when_asked => Some(connect_by_key(&mut cfg, pinned.as_ref())?),
        _ => None,
    };
    // the sessions of `--streams N` open beside the command's own
    if !settings.fai {
        if let Some(n) = stream_sessions(cmd.as_deref(), &rest) {
            tfp_client::spare::start(&cfg, n);
        }
    }
    // a tree command's other sessions open beside this one
    let opening = match cmd.as_deref().and_then(table::find) {
        Some(r) if batch.is_none() => tree::opening(r.name, &rest[1..], &cfg, settings.fai),
        _ => Default::default(),
    };
    let mut client = match first {
        Some(c) => c,
        None => connect(&cfg, settings.fai, pinned.as_ref())?,
    };
    if settings.verbose {
        eprintln!("tf: transport: {}", client.transport_name());
        if let Some(k) = client.key_name() {
            eprintln!("tf: logged in by key: {k}");
        }
    }
    let mut x = ctx::Ctx::new(&mut client, &cfg, settings.fai);
    x.opening = opening;
    x.retries = settings.retries.unwrap_or(0);
    x.verbose = settings.verbose;
    // everything before the command is a connection option
    x.invoked = ctx::Invoked::of(&raw[..raw.len() - rest.len()]);
    let code = match (cmd.as_deref(), &batch) {
        (_, Some(file)) => shell::batch(&mut x, file),
        (Some(cmd), None) if table::find(cmd).is_some_and(|r| matches!(r.does, row::Does::Shell)) => {
            shell::interactive(&mut x)
        }
        (Some(cmd), None) => table::run(&mut x, cmd, &rest[1..]),
        (None, None) => ExitCode::from(Exit::Error),
    };
    tfp_client::spare::end();
    let _ = client.end();
    Ok(code)
}

/// The sessions `put`/`get --streams N` open besides the command's own: the
/// streams of an upload but the first (which is the command's session), the
/// streams of a download and the one asking the server's hash.
fn stream_sessions(cmd: Option<&str>, rest: &[String]) -> Option<usize> {
    let at = rest.iter().position(|a| a == "--streams")?;
    let n: usize = rest.get(at + 1)?.parse().ok()?;
    match cmd? {
        _ if n <= 1 => None,
        "put" => Some(n - 1),
        "get" => Some(n + 1),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::stream_sessions;

    #[test]
    fn spares_for_the_streams_of_put_and_get_only() {
        let a = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(
            stream_sessions(Some("put"), &a(&["put", "--streams", "4", "f"])),
            Some(3)
        );
        assert_eq!(
            stream_sessions(Some("get"), &a(&["get", "f", "--streams", "4"])),
            Some(5)
        );
        assert_eq!(stream_sessions(Some("get"), &a(&["get", "--streams", "1", "f"])), None);
        assert_eq!(stream_sessions(Some("put"), &a(&["put", "--streams", "x", "f"])), None);
        assert_eq!(stream_sessions(Some("ls"), &a(&["ls", "--streams", "4"])), None);
        assert_eq!(stream_sessions(Some("put"), &a(&["put", "f"])), None);
    }
}
