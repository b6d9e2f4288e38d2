//! The configuration file, in the reference server's `key value` format.
//!
//! The reference (init.c) concatenates the file and finds each key with `strstr`
//! anywhere in the text, so a key name inside a value or an indented comment
//! switches things on, and nothing is trimmed. tfd reads the same files one line at
//! a time instead, refuses unknown and repeated keys so that typos cannot silently
//! fall back to defaults, and reports every problem as `file:line: message` so the
//! operator can fix the file rather than guess.
//!
//! The keys themselves are one table (keys/): see doc/architecture.md, "The
//! config key table", for how to add one.

use std::collections::HashMap;
use std::fmt;
use std::fs;
use tfd_sys::{read_capped, CappedError};

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::Duration;

pub mod docs;
mod error;
mod keys;
mod kind;
mod parse;
mod plausible;
#[cfg(test)]
mod tests;

pub use error::ConfigError;
pub use keys::{key, keys, Key, Section};
pub use kind::Kind;
use kind::{check_host, check_pem, check_private_pem, check_text, check_user, KeyInvalid};

/// Larger files are refused before parsing, so a wrong path (a log, a device)
/// cannot make the daemon read an unbounded amount into memory.
pub const MAX_FILE_SIZE: u64 = 1 << 20;

/// Where the default `fai_dir`s are: each config file gets a directory of its
/// own beneath it ([`default_fai_dir`]).
pub const DEFAULT_FAI_DIR: &str = "/var/lib/tfd/fai";
/// Default for `control_socket` when tfd starts as root (none otherwise).
pub const DEFAULT_CONTROL_SOCKET: &str = "/run/tfd/ctl.sock";
/// Default for `tfd --daemon --pidfile`.
pub const DEFAULT_PIDFILE: &str = "/run/tfd.pid";

/// `p` with symbolic links resolved as far as it exists, the rest as written.
fn resolved(p: &Path) -> PathBuf {
    if let Ok(c) = fs::canonicalize(p) {
        return c;
    }
    match (p.parent(), p.file_name()) {
        (Some(parent), Some(name)) => resolved(parent).join(name),
        _ => p.to_path_buf(),
    }
}

/// The `fai_dir` of the config file at `source` (canonical) when it sets none:
/// [`DEFAULT_FAI_DIR`]`/<the first 16 hex digits of the SHA-256 of the path>`.
/// Two instances on one host (two config files) then never share tokens by
/// default, and an instance keeps its directory across restarts.
pub fn default_fai_dir(source: &Path) -> PathBuf {
    let digest = openssl::sha::sha256(source.as_os_str().as_encoded_bytes());
    let name = tfp_wire::hex::encode(&digest[..8]);
    Path::new(DEFAULT_FAI_DIR).join(name)
}

/// RUNBASH when it is enabled (`runbash`): the limits every script runs under.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RunBash {
    /// `runbash_timeout`: wall-clock limit; then the script's process group is killed.
    pub timeout: Duration,
    /// `runbash_cpu_seconds`: RLIMIT_CPU (SIGXCPU, then SIGKILL a second later).
    pub cpu_seconds: u64,
    /// `runbash_memory`: RLIMIT_AS in bytes.
    pub memory: u64,
    /// `runbash_nproc`: RLIMIT_NPROC (every process and thread of the user counts).
    pub nproc: u64,
    /// `runbash_file_max`: RLIMIT_FSIZE in bytes, the largest file a script writes.
    pub file_max: u64,
    /// `runbash_output_max`: output bytes sent back; the rest is dropped.
    pub output_max: u64,
}

impl RunBash {
    /// Limits before the table's defaults are applied (they always are).
    pub(crate) fn unset() -> RunBash {
        RunBash {
            timeout: Duration::ZERO,
            cpu_seconds: 0,
            memory: 0,
            nproc: 0,
            file_max: 0,
            output_max: 0,
        }
    }
}

/// Name used in messages when the text did not come from a file.
const NO_FILE: &str = "<config>";

/// Transparent-proxy target; one enum because the reference used only the first
/// kind it found, and tfd refuses ambiguity instead.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Trp {
    V4(Ipv4Addr),
    V6(Ipv6Addr),
    Dns(String),
}

/// `secure_transport`: whether the TFDSECURE upgrade is offered, and whether a
/// session must take it before anything else.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecureTransport {
    /// TFDSECURE answers UNKNOWN, as an older server would.
    Off,
    /// Offered; legacy clients go on as before (the default).
    Allow,
    /// Every command but TFDSECURE, KEEPALIVE and PROCKEY fails until it is on.
    Require,
}

/// `proxy_protocol`: which PROXY protocol header connections from a trusted
/// balancer must begin with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProxyProtocol {
    /// No header is read (the default).
    Off,
    /// Version 1 (text) only.
    V1,
    /// Version 2 (binary) only.
    V2,
    /// Either.
    Any,
}

impl ProxyProtocol {
    /// Whether a header of `v` is what this setting asks for.
    pub fn accepts(self, v: tfp_wire::proxy::Version) -> bool {
        use tfp_wire::proxy::Version;
        matches!(
            (self, v),
            (ProxyProtocol::Any, _) | (ProxyProtocol::V1, Version::V1) | (ProxyProtocol::V2, Version::V2)
        )
    }
}

/// Where users' authorized keys live when tfd.conf does not say: beside the
/// user file, root's to manage (`tfpasswd key add`).
pub const DEFAULT_AUTHORIZED_KEYS_DIR: &str = "/etc/tfd/authorized_keys";

/// One `proxy_from` entry: an address range.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    /// The network's address.
    pub addr: IpAddr,
    /// How many leading bits must match.
    pub bits: u8,
}

impl Cidr {
    /// Parses `ip` or `ip/bits`.
    pub fn parse(s: &str) -> Option<Cidr> {
        let (ip, bits) = match s.split_once('/') {
            Some((ip, b)) => (ip, Some(b)),
            None => (s, None),
        };
        let addr: IpAddr = ip.parse().ok()?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let bits = match bits {
            Some(b) if !b.is_empty() && b.len() <= 3 && b.bytes().all(|c| c.is_ascii_digit()) => b.parse().ok()?,
            Some(_) => return None,
            None => max,
        };
        (bits <= max).then_some(Cidr { addr, bits })
    }

    /// True if `ip` lies in the range (an IPv4-mapped IPv6 address counts as its
    /// IPv4 address).
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(ip),
            v4 => v4,
        };
        let (a, b, width) = match (self.addr, ip) {
            (IpAddr::V4(a), IpAddr::V4(b)) => (u32::from(a) as u128, u32::from(b) as u128, 32),
            (IpAddr::V6(a), IpAddr::V6(b)) => (u128::from(a), u128::from(b), 128),
            _ => return false,
        };
        let shift = width - u32::from(self.bits);
        shift >= width || (a >> shift) == (b >> shift)
    }
}

/// A parsed configuration. Built by [`Config::parse_str`] or [`Config::load`];
/// every field is public so tests and tools can build one by hand, which is why
/// [`Config::validate`] exists separately.
#[derive(Clone, PartialEq, Eq)]
pub struct Config {
    /// The version strings a client may send first; never empty after parsing
    /// (one per `proto` line, in file order).
    pub proto: Vec<String>,
    pub hash: String,
    pub dbdir: PathBuf,
    /// When no `port` key is given (every `listen` has its own port), this is the
    /// port of the first `listen` address, so UDP still has one to use.
    pub port: u16,
    pub privkey_pem: Option<Vec<u8>>,
    /// After [`Config::load`] this is absolute and its content is in `privkey_pem`.
    pub privkey_file: Option<PathBuf>,
    pub pubkey_pem: Option<Vec<u8>>,
    pub defusr: Option<String>,
    pub userdb: Option<PathBuf>,
    /// Where each user's authorized keys live (one file per LOGIN name);
    /// None: [`DEFAULT_AUTHORIZED_KEYS_DIR`].
    pub authorized_keys_dir: Option<PathBuf>,
    /// Single-user mode: the keys that may connect at all; every session
    /// must log in by one of them (TFDKEY, TFDKEYSIG) before any command.
    pub authorized_keys: Option<PathBuf>,
    /// A user file line may map a LOGIN name to uid 0.
    pub userdb_allow_root: bool,
    /// Users may list, add and remove their own authorized keys
    /// (TFDUSERKEYS), proving their password.
    pub user_keys: bool,
    pub tlb: Option<PathBuf>,
    pub injail: bool,
    /// LOCKSYS must come first (after LOGIN and INJAIL).
    pub locksys: bool,
    /// FLYCONTEXT must come first (after LOGIN, INJAIL and LOCKSYS).
    pub flycontext: bool,
    /// RUNBASH and its limits; None: RUNBASH answers `FAILED 64`.
    pub runbash: Option<RunBash>,
    pub trp: Option<Trp>,
    /// Never empty after parsing: the default is both wildcard addresses.
    pub listen: Vec<SocketAddr>,
    pub max_sessions: u32,
    pub max_sessions_per_ip: u32,
    /// Nice levels the listener, key process and FAI issuer run above sessions
    /// (0: all at the nice value tfd was started with).
    pub priority_boost: u8,
    /// Whether the file set `priority_boost`: the default's boost needs
    /// CAP_SYS_NICE, which an ordinary user (`tfd demo`) lacks, and not
    /// getting what nobody asked for is no warning.
    pub priority_boost_asked: bool,
    pub prelogin_timeout: Duration,
    /// Zero means no limit.
    pub idle_timeout: Duration,
    /// How long a session holding memory for what its client sends waits
    /// for the next frame (`Session::holding`).
    pub hold_timeout: Duration,
    /// The memory all sessions together may hold for what their clients
    /// send, in bytes (0: a quarter of the machine's), claimed by the
    /// commands that hold such memory (the services' memory budget).
    pub memory_budget: u64,
    pub hpf_max_buffer: u64,
    /// Uploads written, and uncached downloads read, in pieces of at least this
    /// many bytes use O_DIRECT (0: never).
    pub direct_io_min: u64,
    /// Uploads are fsynced (data, then the directory entry) before they are
    /// acknowledged; off trades that durability for speed.
    pub sync_uploads: bool,
    /// Whether clients may (or must) move to the secure transport.
    pub secure_transport: SecureTransport,
    /// The PROXY protocol header trusted balancers send.
    pub proxy_protocol: ProxyProtocol,
    /// The balancers trusted to send one.
    pub proxy_from: Vec<Cidr>,
    /// Largest file INTREAD sends (held in memory) or INTWRITE accepts.
    pub intrw_max: u64,
    pub walk_limit: u64,
    /// `replay_cache`: handshake ciphertexts remembered (0 = off).
    pub replay_cache: usize,
    /// `replay_window`: how long each is remembered.
    pub replay_window: Duration,
    /// Bandwidth limits in bytes per second per direction (0: none).
    pub rate_limits: tfp_channel::bandwidth::Rates,
    /// Failed LOGINs per address before a ban; 0 turns the rule off.
    pub login_max_failures_ip: u32,
    /// Failed LOGINs per name before a lock; 0 turns the rule off.
    pub login_max_failures_user: u32,
    /// The period over which failed LOGINs are counted.
    pub login_window: Duration,
    /// How long an address stays banned.
    pub login_ban: Duration,
    /// How long a name stays locked.
    pub login_lock: Duration,
    /// Quota of every session user without one of their own in the user file.
    pub quota_default: Option<u64>,
    /// Clients may send compressed blocks (TFDZSTD answers; else UNKNOWN).
    pub compression: bool,
    /// Clients may send framed batches (`TFDPUTMANY <n> z f`).
    pub compression_framed: bool,
    /// The highest zstd level TFDZSTD offers.
    pub compression_level_max: u8,
    /// Memory one compressed transfer may hold (the window is half of it).
    pub compression_memory: u64,
    /// Lower case, one of error, warn, info, debug, trace.
    pub log_level: Option<String>,
    /// Where log records go (`log_target`).
    pub log_target: crate::logging::LogTarget,
    /// The transfer log (`xferlog`); absolute after [`Config::load`].
    pub xferlog: Option<PathBuf>,
    /// The log as a file (`log_file`), in place of `log_target`; absolute
    /// after [`Config::load`].
    pub log_file: Option<PathBuf>,
    /// `shared_state_dir`: throttle counts and bans shared by every node
    /// (None: each node keeps its own); absolute after [`Config::load`].
    pub shared_state_dir: Option<PathBuf>,
    /// The unprivileged user of the UDP responder (when started as root).
    pub udp_user: String,
    /// The admin control socket (None: the default for how tfd was started).
    pub control_socket: Option<PathBuf>,
    /// How long sessions may finish after SIGTERM.
    pub shutdown_grace: Duration,
    /// `fai_max_minutes`: FAITOK's cap (0: the Fast Access Interface is off).
    pub fai_max_minutes: u32,
    /// `fai_dir`: where the Fast Access tokens live; absolute after [`Config::load`].
    pub fai_dir: PathBuf,
    /// `sweep_interval`: between two passes of the temporaries' sweep (None: off).
    pub sweep_interval: Option<Duration>,
    /// Canonical path of the file, so a reload reads the same file whatever the cwd.
    pub source: Option<PathBuf>,
}

/// Logging a config never shows a secret (`hash`, `privkey`): every key is
/// shown by its name in the key table, secrets as `<redacted>`.
impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut s = f.debug_struct("Config");
        for key in keys() {
            let Some(at) = key.at.filter(|_| key.same_as.is_none()) else {
                continue;
            };
            match (at.get)(self) {
                _ if key.secret => s.field(key.name, &format_args!("<redacted>")),
                Some(slot) => s.field(key.name, &format_args!("{}", slot.show())),
                None => s.field(key.name, &format_args!("None")),
            };
        }
        s.field("source", &self.source).finish()
    }
}

/// First line of each key, so that checks done after the whole file is read
/// can still point at a line.
type KeyLines = HashMap<&'static str, usize>;

impl Config {
    /// Parses and checks the text without touching the filesystem; paths stay
    /// as written and `privkey_file` is not read (that is [`Config::load`]).
    pub fn parse_str(text: &str) -> Result<Config, ConfigError> {
        parse::parse_named(text, NO_FILE).map(|(config, _)| config)
    }

    /// Every path tfd started as root with this configuration creates or writes
    /// (not counting `--daemon`'s pidfile), with the key that sets it: a service
    /// manager's sandbox must leave each of them writable, and
    /// `tests/server/install.rs` checks the shipped unit against this list for the
    /// shipped configuration.
    pub fn written_paths(&self) -> Vec<(&'static str, PathBuf)> {
        let mut out = vec![("dbdir", self.dbdir.clone()), ("fai_dir", self.fai_dir.clone())];
        out.push((
            "control_socket",
            self.control_socket
                .clone()
                .unwrap_or_else(|| PathBuf::from(DEFAULT_CONTROL_SOCKET)),
        ));
        out.extend(self.xferlog.clone().map(|p| ("xferlog", p)));
        out.extend(self.log_file.clone().map(|p| ("log_file", p)));
        out.extend(self.shared_state_dir.clone().map(|p| ("shared_state_dir", p)));
        out
    }

    /// Overwrites and drops the private key's PEM text once the key process has
    /// the key, so the listener and the sessions it forks do not carry it.
    pub fn forget_private_key(&mut self) {
        if let Some(mut pem) = self.privkey_pem.take() {
            pem.iter_mut().for_each(|b| *b = 0);
            std::hint::black_box(&pem);
        }
    }

    /// The file read (at most [`MAX_FILE_SIZE`] bytes, UTF-8) and parsed,
    /// nothing resolved yet: the config, its keys' lines and the file's
    /// canonical path.
    fn read_parsed(path: &Path) -> Result<(Config, KeyLines, PathBuf), ConfigError> {
        let file = path.display().to_string();
        let bytes = read_capped(path, MAX_FILE_SIZE).map_err(|e| match e {
            CappedError::Io(error) => ConfigError::Read {
                file: file.clone(),
                error,
            },
            CappedError::TooLarge => ConfigError::TooLarge { file: file.clone() },
        })?;
        let text = match std::str::from_utf8(&bytes) {
            Ok(text) => text,
            Err(e) => {
                let valid = bytes.get(..e.valid_up_to()).unwrap_or_default();
                return Err(ConfigError::Syntax {
                    file,
                    line: valid.iter().filter(|&&b| b == b'\n').count() + 1,
                    message: "not valid UTF-8".into(),
                });
            }
        };
        let (config, lines) = parse::parse_named(text, &file)?;
        let source = fs::canonicalize(path).map_err(|error| ConfigError::Read { file, error })?;
        Ok((config, lines, source))
    }

    /// The `control_socket` a config file names (relative to its directory),
    /// for `tfd ctl -c FILE`: only the file's syntax is checked, so that a
    /// server whose key is missing can still be asked (its reload then says
    /// why it refuses); None when the file names none.
    pub fn control_socket_in(path: &Path) -> Result<Option<PathBuf>, ConfigError> {
        let (config, _, source) = Config::read_parsed(path)?;
        let base = source.parent().map_or_else(|| PathBuf::from("/"), Path::to_path_buf);
        Ok(config.control_socket.map(|p| base.join(p)))
    }

    /// Reads, parses and resolves a config file: relative paths are taken from
    /// the file's own directory (not the cwd, which differs between a shell and
    /// a service manager), `dbdir` is canonicalized and must be a directory,
    /// and `privkey_file` is read into `privkey_pem`.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let file = path.display().to_string();
        let (mut config, lines, source) = Config::read_parsed(path)?;
        let base = source.parent().map_or_else(|| PathBuf::from("/"), Path::to_path_buf);
        let resolve_err = |key: &'static str, message: String| ConfigError::Resolve {
            file: file.clone(),
            line: lines.get(key).copied(),
            key: key.into(),
            message,
        };

        let dbdir = base.join(&config.dbdir);
        let dbdir = fs::canonicalize(&dbdir).map_err(|e| resolve_err("dbdir", format!("{}: {e}", dbdir.display())))?;
        if !dbdir.is_dir() {
            return Err(resolve_err("dbdir", format!("{} is not a directory", dbdir.display())));
        }
        config.dbdir = dbdir;

        if let Some(key_file) = config.privkey_file.take() {
            let key_file = base.join(key_file);
            let pem = read_private_key(&key_file).map_err(|why| {
                // the usual first start: the example's key is not made yet
                let missing = matches!(&why, KeyFileError::Read(CappedError::Io(e)) if e.kind() == std::io::ErrorKind::NotFound);
                let hint = if missing {
                    format!(
                        "; `tfd -c {} --init-secrets` makes the key pair there (and a random hash in place of the example's placeholder)",
                        path.display()
                    )
                } else {
                    String::new()
                };
                resolve_err("privkey_file", format!("{}: {why}{hint}", key_file.display()))
            })?;
            config.privkey_pem = Some(pem);
            config.privkey_file = Some(key_file);
        }
        config.userdb = config.userdb.take().map(|p| base.join(p));
        config.tlb = config.tlb.take().map(|p| base.join(p));
        config.xferlog = config.xferlog.take().map(|p| base.join(p));
        config.log_file = config.log_file.take().map(|p| base.join(p));
        config.shared_state_dir = config.shared_state_dir.take().map(|p| base.join(p));
        config.authorized_keys_dir = config.authorized_keys_dir.take().map(|p| base.join(p));
        config.authorized_keys = config.authorized_keys.take().map(|p| base.join(p));
        for (key, place) in [
            ("authorized_keys_dir", &config.authorized_keys_dir),
            ("authorized_keys", &config.authorized_keys),
        ] {
            if let Some(dir) = place.as_deref().filter(|d| resolved(d).starts_with(&config.dbdir)) {
                return Err(resolve_err(
                    key,
                    format!(
                        "{} is inside dbdir {}: clients could reach it; keep it outside the served tree",
                        dir.display(),
                        config.dbdir.display()
                    ),
                ));
            }
        }
        if let Some(dir) = &config.shared_state_dir {
            if resolved(dir).starts_with(&config.dbdir) {
                return Err(resolve_err(
                    "shared_state_dir",
                    format!(
                        "{} is inside dbdir {}: clients could reach it; put it beside the served tree",
                        dir.display(),
                        config.dbdir.display()
                    ),
                ));
            }
        }
        config.fai_dir = if lines.contains_key("fai_dir") {
            base.join(&config.fai_dir)
        } else {
            default_fai_dir(&source)
        };
        config.control_socket = config.control_socket.take().map(|p| base.join(p));
        config.source = Some(source);
        config.check(&file, &lines)?;
        if is_placeholder_hash(&config.hash) {
            return Err(ConfigError::InvalidValue {
                file,
                line: lines.get("hash").copied(),
                key: "hash".into(),
                message: format!(
                    "{:?} is the example's placeholder, which anyone can read: set a long random \
                     secret (e.g. the output of `openssl rand -hex 24`) and give it to your clients",
                    config.hash
                ),
            });
        }
        Ok(config)
    }

    /// Checks the invariants the rest of tfd relies on: every numeric key
    /// within its range in the key table, exactly one private key source,
    /// ... The parser already enforces all of them; this is for configs built
    /// or modified by hand.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let file = self
            .source
            .as_ref()
            .map_or_else(|| NO_FILE.to_string(), |p| p.display().to_string());
        self.check(&file, &KeyLines::new())
    }

    fn check(&self, file: &str, lines: &KeyLines) -> Result<(), ConfigError> {
        self.check_keys().map_err(|refused| refused.place(file, lines))
    }

    /// [`Config::check`]'s checks, in order; the error names the key, and
    /// `check` places it in the file.
    fn check_keys(&self) -> Result<(), Unplaced> {
        let invalid = |key: &'static str, message: String| Unplaced::from(KeyInvalid::new(key, message));
        if self.proto.is_empty() {
            return Err(invalid("proto", "missing value".into()));
        }
        for p in &self.proto {
            check_text("proto", p, 31)?;
        }
        check_text("hash", &self.hash, 255)?;
        if self.dbdir.as_os_str().is_empty() {
            return Err(invalid("dbdir", "missing value".into()));
        }
        if self.listen.is_empty() {
            return Err(invalid("listen", "no address to listen on".into()));
        }
        if let Some(addr) = self.listen.iter().find(|a| a.port() == 0) {
            return Err(invalid("listen", format!("{addr} has port 0")));
        }
        // Both set is the normal state after load(): the file's content is in
        // privkey_pem. Only the parser can tell the two sources apart, so it
        // rejects a file giving both.
        if self.privkey_pem.is_none() && self.privkey_file.is_none() {
            return Err(Unplaced::MissingKey("privkey or privkey_file"));
        }
        if let Some(pem) = &self.privkey_pem {
            check_private_pem("privkey", pem)?;
        }
        if let Some(pem) = &self.pubkey_pem {
            check_pem("pubkey", pem)?;
        }
        if let Some(user) = &self.defusr {
            check_user("defusr", user)?;
        }
        for (key, path) in [
            ("userdb", &self.userdb),
            ("tlb", &self.tlb),
            ("xferlog", &self.xferlog),
            ("log_file", &self.log_file),
            ("shared_state_dir", &self.shared_state_dir),
            ("authorized_keys_dir", &self.authorized_keys_dir),
            ("authorized_keys", &self.authorized_keys),
        ] {
            if path.as_ref().is_some_and(|p| p.as_os_str().is_empty()) {
                return Err(invalid(key, "missing value".into()));
            }
        }
        if let Some(Trp::Dns(host)) = &self.trp {
            check_host("trp_dns", host)?;
        }
        if self.proxy_protocol != ProxyProtocol::Off && self.proxy_from.is_empty() {
            return Err(invalid(
                "proxy_from",
                "proxy_protocol is on: name the balancers trusted to send the header".into(),
            ));
        }
        if self.authorized_keys.is_some() && self.secure_transport == SecureTransport::Off {
            return Err(invalid(
                "authorized_keys",
                "a key login needs the secure transport, which secure_transport off turns off: nobody could connect"
                    .into(),
            ));
        }
        if self.quota_default == Some(0) {
            return Err(invalid("quota_default", "no quota is None, not 0".into()));
        }
        if let Some(level) = &self.log_level {
            let known = key("log_level")
                .is_some_and(|k| matches!(k.kind.parse("log_level", level), Ok(kind::Value::Word(w)) if w == level));
            if !known {
                return Err(invalid(
                    "log_level",
                    format!("{level:?} is not one of error, warn, info, debug, trace"),
                ));
            }
        }
        // every number within its range, as the table gives it
        for key in keys() {
            let (Some((min, max)), Some(at)) = (key.kind.range(), key.at) else {
                continue;
            };
            if let Some(n) = (at.get)(self).and_then(|slot| slot.num()) {
                if !(min..=max).contains(&n) {
                    return Err(invalid(key.name, key.kind.out_of_range()));
                }
            }
        }
        Ok(())
    }
}

/// Why [`Config::check_keys`] refused a config, before it is placed in the
/// file: a key's value, or a required key absent.
#[derive(Debug)]
enum Unplaced {
    /// A value refused.
    Invalid(KeyInvalid),
    /// A required key absent (what the user must give).
    MissingKey(&'static str),
}

impl From<KeyInvalid> for Unplaced {
    fn from(e: KeyInvalid) -> Unplaced {
        Unplaced::Invalid(e)
    }
}

impl Unplaced {
    /// The error the user reads: in `file`, at the key's line when it has one.
    fn place(self, file: &str, lines: &KeyLines) -> ConfigError {
        match self {
            Unplaced::Invalid(KeyInvalid { key, why }) => ConfigError::InvalidValue {
                file: file.into(),
                line: lines.get(key).copied(),
                key: key.into(),
                message: why.0,
            },
            Unplaced::MissingKey(key) => ConfigError::MissingKey {
                file: file.into(),
                key: key.into(),
            },
        }
    }
}

/// Why `privkey_file` cannot be used: the file could not be read, or holds
/// no private key.
enum KeyFileError {
    Read(CappedError),
    Pem(KeyInvalid),
}

impl fmt::Display for KeyFileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KeyFileError::Read(CappedError::Io(e)) => write!(f, "{e}"),
            KeyFileError::Read(CappedError::TooLarge) => write!(f, "larger than {MAX_FILE_SIZE} bytes"),
            KeyFileError::Pem(e) => write!(f, "{}", e.why),
        }
    }
}

impl From<CappedError> for KeyFileError {
    fn from(e: CappedError) -> KeyFileError {
        KeyFileError::Read(e)
    }
}

impl From<KeyInvalid> for KeyFileError {
    fn from(e: KeyInvalid) -> KeyFileError {
        KeyFileError::Pem(e)
    }
}

/// The private key file's text, when it is one (at most [`MAX_FILE_SIZE`]).
fn read_private_key(path: &Path) -> Result<Vec<u8>, KeyFileError> {
    let pem = read_capped(path, MAX_FILE_SIZE)?;
    check_private_pem("privkey_file", &pem)?;
    Ok(pem)
}

/// The example config's `hash CHANGE-ME-...` and its spellings (which
/// `tfd --init-secrets` replaces with a random hash).
pub fn is_placeholder_hash(hash: &str) -> bool {
    let h = hash.to_ascii_lowercase().replace(['-', '_', ' '], "");
    h.contains("changeme") || h.contains("changethis")
}
