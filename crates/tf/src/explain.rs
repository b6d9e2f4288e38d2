//! The one place where `tf` turns what went wrong into words a person can act
//! on: a plain sentence and a hint for every handshake refusal, connection
//! error and FAILED reply. The protocol's own `FAILED n : text` line is still
//! printed first (scripts grep for it, and the code is what the reference's
//! clients know); the sentence follows it.
//!
//! Some of the server's codes say little about the cause (the reference's PUT
//! answers "H-P interface failed to open file descriptor." for a missing
//! directory). The wire keeps those codes, so `tf` asks the server afterwards,
//! on a fresh session, whether the path or its parent exists, and names what
//! is missing.

use std::io::ErrorKind;
use std::net::{SocketAddr, ToSocketAddrs};
use std::time::Duration;
use tfp_channel::ChannelError;
use tfp_client::{Client, ClientConfig, Error};
use tfp_wire::status::{Failed, Room};
use tfp_wire::Status;

/// What went wrong, said twice: what happened, and what to try.
pub struct Explained {
    pub what: String,
    pub hint: Option<String>,
}

impl Explained {
    fn new(what: impl Into<String>, hint: impl Into<String>) -> Explained {
        Explained {
            what: what.into(),
            hint: Some(hint.into()),
        }
    }

    fn bare(what: impl Into<String>) -> Explained {
        Explained {
            what: what.into(),
            hint: None,
        }
    }

    /// Prints `tf: WHAT` and `hint: HINT` on stderr, escaped: they name remote
    /// paths and quote server answers (escaping twice changes nothing).
    pub fn print(&self) {
        use tfp_client::escape::shown_text;
        eprintln!("tf: {}", shown_text(&self.what));
        if let Some(h) = &self.hint {
            eprintln!("hint: {}", shown_text(h));
        }
    }
}

/// Checks `--server` before anything is sent: a missing port is the usual slip.
pub fn check_server(server: &str) -> Result<(), Explained> {
    if server.parse::<SocketAddr>().is_ok() {
        return Ok(());
    }
    let has_port = match server.rsplit_once(':') {
        Some((host, port)) => !host.is_empty() && !port.is_empty() && port.bytes().all(|b| b.is_ascii_digit()),
        None => false,
    };
    if !has_port || server.parse::<std::net::IpAddr>().is_ok() {
        return Err(Explained::new(
            format!("--server {server} has no port"),
            format!(
                "write HOST:PORT, e.g. --server {}:10345 (IPv6 in brackets: [::1]:10345)",
                server.trim_end_matches(':')
            ),
        ));
    }
    match server.to_socket_addrs().map(|a| a.count()) {
        Ok(n) if n > 0 => Ok(()),
        _ => Err(Explained::new(
            format!("cannot resolve the host of --server {server}"),
            "check the name, or give an IP address",
        )),
    }
}

/// Checks that `--key` is what it must be, the server's RSA public key, before
/// it is used: a private key or some other file gets a sentence, not OpenSSL's
/// decoder text blamed on the server.
pub fn check_key_file(path: &str, pem: &[u8]) -> Result<(), Explained> {
    let has = |needle: &[u8]| pem.windows(needle.len()).any(|w| w == needle);
    if has(b"PRIVATE KEY-----") {
        return Err(Explained::new(
            format!("--key {path} is a private key"),
            "give the server's public key (tfd demo writes it as pub.pem beside key.pem); \
             the private key stays on the server",
        ));
    }
    if !has(b"-----BEGIN ") {
        return Err(Explained::new(
            format!("--key {path} is not a PEM key file (no -----BEGIN line)"),
            "give the server's RSA public key in PEM, e.g. the pub.pem tfd demo wrote",
        ));
    }
    let rsa =
        openssl::rsa::Rsa::public_key_from_pem(pem).or_else(|_| openssl::rsa::Rsa::public_key_from_pem_pkcs1(pem));
    match rsa {
        Ok(k) if k.size() == 256 => Ok(()),
        Ok(k) => Err(Explained::new(
            format!("--key {path} is a {}-bit RSA key", k.size() * 8),
            "the TF protocol uses RSA-2048: give the server's own public key",
        )),
        Err(_) => Err(Explained::new(
            format!("--key {path} is PEM but not an RSA public key"),
            "give the server's RSA public key (-----BEGIN PUBLIC KEY-----), e.g. tfd demo's pub.pem",
        )),
    }
}

/// Options written after the command are arguments of the command: say so when
/// one of them is a connection option.
pub fn misplaced_options(rest: &[String]) -> Option<Explained> {
    let opt = rest
        .iter()
        .skip(1)
        .find(|a| matches!(a.as_str(), "--server" | "--key" | "--hash" | "--proto" | "--keylen"))?;
    Some(Explained::new(
        format!("{opt} came after the command {:?}", rest[0]),
        "options come before the command: tf --server HOST:PORT --key PUB.pem --hash HASH COMMAND [ARGS...]",
    ))
}

/// A word before the command that looks like an option of no row (a typo,
/// or an option of a command given before it).
pub fn unknown_option(word: &str) -> Explained {
    let near = tf::options::nearest(word).map_or(String::new(), |n| format!("did you mean {n}? "));
    Explained::new(
        format!("unknown option {word}"),
        format!("{near}tf --help lists the options; they come before the command, a command's own options after it"),
    )
}

/// A failed connect or handshake.
pub fn connect_error(e: &Error, cfg: &ClientConfig) -> Explained {
    let server = &cfg.server;
    let running = format!("is tfd running on {server}? (tfd demo starts one on 127.0.0.1:10345)");
    match e {
        Error::Handshake(step, st) => handshake_refused(step, st, cfg),
        Error::Key(why) => Explained::new(
            format!("cannot use the public key: {why}"),
            "give the server's RSA-2048 public key (PEM) with --key",
        ),
        Error::Channel(ChannelError::Closed) => Explained::new(
            format!("{server} closed the connection during the handshake"),
            format!("is {server} a tfd server? A server that banned this address or is full closes at once too"),
        ),
        Error::Channel(ChannelError::Io(io)) => match io.kind() {
            ErrorKind::ConnectionRefused => {
                Explained::new(format!("cannot connect to {server}: connection refused"), running)
            }
            ErrorKind::WouldBlock | ErrorKind::TimedOut => Explained::new(
                format!("{server} timed out after {} s", secs(cfg.timeout)),
                format!("something at {server} accepted the connection, or a firewall dropped it, but no tfd answered: {running}"),
            ),
            ErrorKind::ConnectionReset | ErrorKind::BrokenPipe | ErrorKind::UnexpectedEof => Explained::new(
                format!("{server} closed the connection during the handshake"),
                "a server that refuses this address (banned for a while) or is full closes at once; \
                 an operator lifts a ban with tfd ctl unban ADDRESS",
            ),
            _ => Explained::new(format!("cannot talk to {server}: {io}"), running),
        },
        Error::Channel(ChannelError::Frame(f)) => Explained::new(
            format!("{server} answered something that is not the TF protocol ({f})"),
            format!("is {server} a tfd server, and --proto the version it speaks?"),
        ),
        Error::Protocol(why) if why.contains("does not offer the secure transport") => Explained::new(
            format!("{server} does not offer the secure transport (--secure)"),
            "an older server, or secure_transport off in its tfd.conf; drop --secure to use the protocol's own cipher",
        ),
        Error::Protocol(why) if why.contains("man in the middle") => Explained::new(
            format!("{server}: {why}"),
            "the reply to the secure transport upgrade did not prove knowledge of this session's key: someone may be tampering with the connection; do not retry with --legacy",
        ),
        Error::Protocol(why) => Explained::bare(format!("{server}: {why}")),
        Error::Channel(ChannelError::Secure(why)) => Explained::new(
            format!("{server}: the secure transport failed: {why}"),
            "a record did not authenticate: the connection was tampered with or broke; try again",
        ),
        other => Explained::bare(format!("{server}: {other}")),
    }
}

/// A failure after the handshake (the session was up).
pub fn session_error(e: &Error, cfg: &ClientConfig) -> Explained {
    match e {
        Error::Channel(ChannelError::Io(io)) if matches!(io.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
            Explained::new(
                format!(
                    "{} timed out after {} s waiting for the reply",
                    cfg.server,
                    secs(cfg.timeout)
                ),
                "the server is overloaded or the network dropped the connection; try again",
            )
        }
        // Ctrl-C in the shell shut the connection down (tfp_client::interrupt):
        // tf ended it, so neither the server nor the stream is to blame
        e if super::ended::is_end(e) && tfp_client::interrupt::fired() => {
            Explained::bare("stopped by Ctrl-C".to_string())
        }
        e if super::ended::is_end(e) => {
            let (what, hint) = super::ended::words(&cfg.server, &super::ended::probe(&cfg.server));
            Explained::new(what, hint)
        }
        other => Explained::bare(other.to_string()),
    }
}

fn secs(t: Option<Duration>) -> u64 {
    t.map_or(0, |t| t.as_secs())
}

fn handshake_refused(step: &str, st: &Status, cfg: &ClientConfig) -> Explained {
    let code = match st {
        Status::Failed(n, _) => u8::try_from(*n).ok().and_then(Failed::from_code),
        _ => None,
    };
    let user = cfg.login.as_ref().map_or("", |c| c.user.as_str());
    let jail = cfg.jail.as_ref().map_or("", |j| j.1.as_str());
    match (step, code) {
        // a throttle refusal says so in its text (the code is the same)
        (step, Some(Failed::LoginFailed)) if status_text(st).contains("Temporarily refused") => Explained::new(
            format!(
                "{} refused {}: {}",
                cfg.server,
                if step == "login" {
                    format!("the login as {user:?}")
                } else {
                    "this connection".to_string()
                },
                status_text(st)
                    .split_once("Temporarily refused")
                    .map(|(_, t)| format!("temporarily refused{t}"))
                    .unwrap_or_default()
                    .replace(|c: char| c.is_control(), "?")
            ),
            "wait until then, or ask the server's operator to lift it (`tfd ctl unban ADDRESS|NAME`)",
        ),
        ("key login", _) => Explained::new(
            format!(
                "{} lets in only the keys of its authorized_keys file, and {}",
                cfg.server,
                match st {
                    Status::Failed(_, why) => tfp_client::escape::shown_text(why),
                    other => status_text(other),
                }
            ),
            "offer a key it lists with -i FILE, ssh-agent or ~/.ssh/id_*; its operator adds one to \
             the file tfd.conf's authorized_keys names",
        ),
        ("login", Some(Failed::LoginFailed)) => Explained::new(
            format!(
                "{} refused the login as {user:?}: wrong user name or password",
                cfg.server
            ),
            "check --user (or TF_USER) and the password; after several failures the server \
             refuses this address or name for a while",
        ),
        // the password was right: the server could not put the user in the
        // jail its user file names (a jail directory the user can write, a
        // missing or unsafe jail.key): the server's side, not the client's
        ("login", Some(Failed::JailAcl)) => Explained::new(
            format!(
                "{} could not put {user:?} in the jail its user file names: {}",
                cfg.server,
                status_text(st)
            ),
            "the server's operator must fix that jail (a jail directory must be owned by root and \
             writable by no one else, its jail.key likewise); the server's log, and \
             `tfd check-config`, name what is wrong",
        ),
        // tfd answers 40 both without a userdb (a single-user server) and
        // with one it cannot read
        ("login", Some(Failed::UserDb)) => Explained::new(
            format!("{} has no usable user file: {}", cfg.server, status_text(st)),
            "a single-user server (no userdb in its tfd.conf) needs no --user; on a multi-user \
             one its operator must fix the userdb (the server's log says which)",
        ),
        ("login", _) => Explained::new(
            format!("{} refused the login as {user:?}: {}", cfg.server, status_text(st)),
            "is the server multi-user (a userdb in its tfd.conf)? A single-user server needs no --user",
        ),
        ("injail", Some(Failed::AlreadyJailed)) => Explained::new(
            format!("{} does not jail this session ({})", cfg.server, status_text(st)),
            "drop --jail: the server has no `injail` setting",
        ),
        ("injail", _) => Explained::new(
            format!("{} refused the jail {jail:?}: {}", cfg.server, status_text(st)),
            "--jail TOKEN:DIR needs a directory holding a jail.key file with TOKEN as one of its lines",
        ),
        (_, Some(Failed::IncompatibleProtocol)) => Explained::new(
            format!("{} does not speak protocol version {:?}", cfg.server, cfg.proto),
            "check --proto (or TF_PROTO): it must equal the server's `proto` setting (2.4.1 by default)",
        ),
        (_, Some(Failed::BadRsaKey)) => Explained::new(
            format!(
                "{} could not decrypt the session key: wrong key for this server",
                cfg.server
            ),
            "--key must be this server's public key (its pub.pem), not another server's",
        ),
        (_, Some(Failed::InvalidHash)) => Explained::new(
            format!("{} refused the application hash", cfg.server),
            "check --hash (or TF_HASH): it must equal the server's `hash` setting",
        ),
        _ => Explained::new(
            format!(
                "{} refused the handshake at the {step} step: {}",
                cfg.server,
                status_text(st)
            ),
            "check --proto, --key and --hash against the server's settings",
        ),
    }
}

/// The reply as the server sent it, for messages.
pub fn status_text(st: &Status) -> String {
    tfp_client::escape::status_text(st)
}

/// What the command does with its remote path: the cause of a vague failure
/// depends on whether the file had to exist or was to be created.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Access {
    /// The path must exist (get, rcvfile, del, fstat, ...).
    Read,
    /// The path is created; its directory must exist (put, sndfile, mkdir, ...).
    Create,
}

/// Explains a FAILED reply to `cmd` on its remote `targets` (the paths the
/// command reads or creates). When the code alone does not tell the cause, the
/// server is asked about each path or its parent, on the same session `c`
/// (a reply was read, so it is in step; a multi-user or jailed session could
/// not be opened again without asking for the password twice).
pub fn failed(c: &mut Client, cmd: &str, targets: &[(&str, Access)], st: &Status) -> Option<Explained> {
    let Status::Failed(n, text) = st else {
        return matches!(st, Status::Unknown).then(|| {
            Explained::new(
                format!("the server does not know the command {cmd:?}"),
                "it may be an older server, or one that implements another protocol version",
            )
        });
    };
    let code = u8::try_from(*n).ok().and_then(Failed::from_code);
    let p = targets.first().map_or("", |t| t.0);
    use Failed::*;
    // SUP and SDOWN answer a bare -1: no code at all is the vaguest of all
    let vague = code.is_none()
        || matches!(
            code,
            Some(HpfOpen | TransferApi | AccessDenied | CreateFile | TempFile | CopyError | Sha256 | HpfSeek)
        );
    if vague || matches!(code, Some(NoSuchFile | NoSuchDir | NoSource | NoSourcePath)) {
        if let Some(e) = probe_missing(c, cmd, targets) {
            return Some(e);
        }
    }
    Some(match code? {
        NoSuchFile | NoSource | NoSourcePath => Explained::bare(format!("{p}: no such file on the server")),
        NoSuchDir => Explained::bare(format!("{p}: no such directory on the server")),
        AccessDenied => Explained::new(
            format!(
                "{}: access denied",
                if p.is_empty() { "/ (the served root)" } else { p }
            ),
            "the path leaves the served root, or the session's user may not touch it: its Unix \
             permissions or the secure filesystem's (TFPSFS) rules; the server's log says which",
        ),
        DirExists => Explained::bare(format!("{p}: the directory already exists")),
        FileExists => Explained::new(
            format!("{p}: the file already exists on the server"),
            format!("{cmd} does not replace it by default (sndfile: --overwrite)"),
        ),
        IsDirectory => Explained::bare(format!("{p}: is a directory, not a file")),
        NotADirectory => Explained::bare(format!("{p}: is not a directory")),
        NotAFile => Explained::bare(format!("{p}: is not a regular file")),
        Quota => match tfp_wire::status::room_cause(text) {
            Some(Room::Disk) => Explained::new(
                "the server's disk is full",
                "free space on the server's disk (tf ... df shows what is left)",
            ),
            Some(Room::Quota) => Explained::new(
                "your quota on the server is used up",
                "remove files on the server or ask for a larger quota (tf ... df shows the quota and its use)",
            ),
            // the reference's text, or an older tfd's, does not say which
            None => Explained::new(
                "the server's disk or your quota is full (the server does not say which)",
                "free space on the server (tf ... df shows what is left and the quota) or ask for a larger quota",
            ),
        },
        Locked => Explained::new(
            format!("{p}: the directory is locked by another session"),
            "wait for that session to end, or pick another directory",
        ),
        BeforeLogin => Explained::new(
            "this server wants a LOGIN first (multi-user mode)",
            "give --user NAME (or TF_USER, or user in the config file); the password is asked for, \
             or read from TF_PASSWORD or --password-file",
        ),
        BeforeInjail => Explained::new(
            "this server wants INJAIL first (in-jail mode)",
            "give --jail TOKEN:DIR (or TF_JAIL), DIR a directory whose jail.key holds TOKEN",
        ),
        HpfOpen | TransferApi | CreateFile | TempFile => {
            Explained::bare(format!("{p}: the server could not open or create the file"))
        }
        _ => return None,
    })
}

/// Asks the server whether each path to read, and the parent directory of each
/// path to create, exists, and names the first that is missing. None when all
/// look fine or the server cannot be asked.
fn probe_missing(c: &mut Client, cmd: &str, targets: &[(&str, Access)]) -> Option<Explained> {
    targets
        .iter()
        .find_map(|&(path, access)| probe_one(c, cmd, path, access))
}

fn probe_one(c: &mut Client, cmd: &str, path: &str, access: Access) -> Option<Explained> {
    let stat = |c: &mut Client, p: &str| c.call("FSTAT", p.as_bytes()).ok();
    let parents = if matches!(cmd, "put" | "sndfile" | "sup") {
        ", or add --parents to create it"
    } else {
        ""
    };
    match access {
        Access::Read => match stat(c, path)? {
            Status::Failed(n, _) if is_missing(n) => Some(Explained::bare(format!(
                "{path}: no such file or directory on the server"
            ))),
            _ => None,
        },
        Access::Create => {
            let trimmed = path.trim_end_matches('/');
            match trimmed.rsplit_once('/') {
                Some((parent, _)) if !parent.trim_matches('/').is_empty() => match stat(c, parent)? {
                    Status::Ok(d) if d.first() == Some(&b'D') => None,
                    Status::Ok(_) => Some(Explained::new(
                        format!("{path}: {parent} is a file on the server, not a directory"),
                        "pick another remote path",
                    )),
                    Status::Failed(n, _) if is_missing(n) => Some(Explained::new(
                        format!("{path}: no such directory on the server: {parent}"),
                        format!("create it first (tf ... mkdir {parent}){parents}"),
                    )),
                    _ => None,
                },
                _ => None,
            }
        }
    }
}

/// FSTAT's answers for a path that does not exist (the others, such as access
/// denied, are not evidence of absence).
fn is_missing(code: i32) -> bool {
    [
        Failed::NoSuchFile,
        Failed::NoSuchDir,
        Failed::NoSource,
        Failed::NoSourcePath,
        Failed::NotADirectory,
    ]
    .iter()
    .any(|f| i32::from(f.code()) == code)
}
