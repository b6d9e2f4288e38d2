//! The configuration file, in the reference server's `key value` format.
//!
//! The reference (init.c) concatenates the file and finds each key with `strstr`
//! anywhere in the text, so a key name inside a value or an indented comment
//! switches things on, and nothing is trimmed. tfd reads the same files one line at
//! a time instead, refuses unknown and repeated keys so that typos cannot silently
//! fall back to defaults, and reports every problem as `file:line: message` so the
//! operator can fix the file rather than guess.
#![forbid(unsafe_code)]

use crate::sys::{read_capped, CappedError};
use std::collections::HashMap;
use std::fmt;
use std::fs;
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Larger files are refused before parsing, so a wrong path (a log, a device)
/// cannot make the daemon read an unbounded amount into memory.
pub const MAX_FILE_SIZE: u64 = 1 << 20;

/// Default for `max_sessions`.
pub const DEFAULT_MAX_SESSIONS: u32 = 512;
/// Default for `max_sessions_per_ip`.
pub const DEFAULT_MAX_SESSIONS_PER_IP: u32 = 32;
/// Default for `priority_boost`: nice levels the listener, key process and FAI
/// issuer run above sessions (weight ×9.3 in the kernel's fair scheduler).
pub const DEFAULT_PRIORITY_BOOST: u8 = 10;
/// Default for `sweep_interval`, in seconds.
const DEFAULT_SWEEP_INTERVAL: u64 = 60;
/// Default for `fai_max_minutes` (the reference's `faitok_mq` as shipped; that
/// key is read as a synonym).
pub const DEFAULT_FAI_MAX_MINUTES: u32 = 360;
/// Upper bound for `fai_max_minutes`: a year.
const MAX_FAI_MINUTES: u64 = 525_600;
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
    let name: String = digest[..8].iter().map(|b| format!("{b:02x}")).collect();
    Path::new(DEFAULT_FAI_DIR).join(name)
}

/// Default for `prelogin_timeout`.
pub const DEFAULT_PRELOGIN_TIMEOUT: Duration = Duration::from_secs(30);
/// Upper bound for `prelogin_timeout`, in seconds.
pub const MAX_PRELOGIN_TIMEOUT_SECS: u64 = 3600;
/// Upper bound for `idle_timeout`, in seconds (one week).
pub const MAX_IDLE_TIMEOUT_SECS: u64 = 86400 * 7;
/// Default for `hpf_max_buffer`: the reference granted up to 10% of RAM per
/// connection, tfd a fixed few MiB.
pub const DEFAULT_HPF_MAX_BUFFER: u64 = 4 << 20;
/// Upper bound for `hpf_max_buffer`.
pub const MAX_HPF_MAX_BUFFER: u64 = 64 << 20;
/// Upper bound for the `rate_limit_*` keys: 1 TiB/s, far above any link, so a
/// typo is caught while the cost arithmetic stays far from overflow.
pub const MAX_RATE_LIMIT: u64 = 1 << 40;
/// Default for `direct_io_min`: uploads written, and uncached files read, in
/// pieces of at least 1 MiB bypass the page cache.
pub const DEFAULT_DIRECT_IO_MIN: u64 = 1 << 20;
/// Default for `intrw_max`: INTREAD holds a whole file in memory (its hash and
/// its bytes must be one snapshot), so this bounds a session's memory for it.
pub const DEFAULT_INTRW_MAX: u64 = 16 << 20;
/// Upper bound for `intrw_max`: the document's size header is a signed 32-bit int.
pub const MAX_INTRW_MAX: u64 = i32::MAX as u64;
/// Default for `login_max_failures_ip`.
pub const DEFAULT_LOGIN_MAX_FAILURES_IP: u32 = 10;
/// Default for `login_max_failures_user`.
pub const DEFAULT_LOGIN_MAX_FAILURES_USER: u32 = 20;
/// Default for `login_window`.
pub const DEFAULT_LOGIN_WINDOW: Duration = Duration::from_secs(600);
/// Default for `login_ban` and `login_lock`.
pub const DEFAULT_LOGIN_BAN: Duration = Duration::from_secs(900);
/// Upper bound for `login_window`, in seconds (one day).
pub const MAX_LOGIN_WINDOW_SECS: u64 = 86400;
/// Upper bound for `login_ban` and `login_lock`, in seconds (one week).
pub const MAX_LOGIN_BAN_SECS: u64 = 86400 * 7;
/// Default for `replay_cache`: 262,144 fingerprints, about 10 MiB in the key
/// process when full, a day of handshakes at three a second.
pub const DEFAULT_REPLAY_CACHE: usize = 1 << 18;
/// Default for `replay_window`, in seconds (one day).
pub const DEFAULT_REPLAY_WINDOW_SECS: u64 = 86400;
/// Upper bound for `replay_cache` (about 160 MiB when full).
pub const MAX_REPLAY_CACHE: u64 = 1 << 22;
/// Upper bound for `replay_window`, in seconds (thirty days).
pub const MAX_REPLAY_WINDOW_SECS: u64 = 86400 * 30;
/// Default for `walk_limit`.
pub const DEFAULT_WALK_LIMIT: u64 = 1_000_000;
/// Upper bound for `runbash_timeout` and `runbash_cpu_seconds`, in seconds.
pub const MAX_RUNBASH_SECS: u64 = 3600;
/// Smallest `runbash_memory`: below this bash itself cannot start.
pub const MIN_RUNBASH_MEMORY: u64 = 16 << 20;
/// Upper bound for `runbash_output_max`: the output travels in one reply frame.
pub const MAX_RUNBASH_OUTPUT: u64 = 256 << 10;
/// Upper bound for `runbash_nproc`.
pub const MAX_RUNBASH_NPROC: u64 = 65536;

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
    /// The limits of a whole script's cgroup: `runbash_memory`, and
    /// `runbash_nproc` processes plus the script host itself.
    pub fn group_limits(&self) -> crate::sandbox::GroupLimits {
        crate::sandbox::GroupLimits {
            memory: self.memory,
            nproc: self.nproc.saturating_add(1),
        }
    }
}

impl Default for RunBash {
    fn default() -> Self {
        RunBash {
            timeout: Duration::from_secs(30),
            cpu_seconds: 10,
            memory: 256 << 20,
            nproc: 64,
            file_max: 64 << 20,
            output_max: 64 << 10,
        }
    }
}

/// Every key tfd accepts, with a one-line description, so that the man page and
/// the example config can be checked against the parser.
pub const KEYS: &[(&str, &str)] = &[
    (
        "proto",
        "protocol version a client must send first (required, 1..31 bytes); repeatable: any of them is accepted",
    ),
    (
        "hash",
        "shared secret a client must send after the key exchange (required, 1..255 bytes)",
    ),
    ("dbdir", "root directory of the served tree (required)"),
    (
        "port",
        "TCP and UDP port, 1..65535 (required unless every listen has a port)",
    ),
    (
        "listen",
        "address to listen on, optionally with :port; repeatable (default 0.0.0.0 and [::])",
    ),
    ("privkey", "inline RSA private key as a `privkey { PEM }` block"),
    ("privkey_file", "path of a PEM file holding the RSA private key"),
    ("pubkey", "inline public key as a `pubkey { PEM }` block (stored only)"),
    ("defusr", "system user a session switches to after the hash check"),
    ("userdb", "path of the LOGIN user database"),
    ("tlb", "path of the TLB target list"),
    ("injail", "flag: enable the INJAIL command"),
    (
        "locksys",
        "flag: after LOGIN (and INJAIL) a session must send LOCKSYS before anything else",
    ),
    (
        "flycontext",
        "flag: after LOGIN (and INJAIL, LOCKSYS) a session must send FLYCONTEXT before anything else",
    ),
    (
        "runbash",
        "flag: enable RUNBASH (a script inside the session's chroot jail, run as its user, with the runbash_* limits)",
    ),
    (
        "runbash_timeout",
        "seconds a RUNBASH script may run before its process group is killed, 1..3600 (default 30)",
    ),
    (
        "runbash_cpu_seconds",
        "CPU seconds a RUNBASH script may use (RLIMIT_CPU), 1..3600 (default 10)",
    ),
    (
        "runbash_memory",
        "address space of a RUNBASH script (RLIMIT_AS), bytes or K/M/G, at least 16M (default 256M)",
    ),
    (
        "runbash_nproc",
        "processes and threads the script's user may have (RLIMIT_NPROC), 1..65536 (default 64)",
    ),
    (
        "runbash_file_max",
        "largest file a RUNBASH script may write (RLIMIT_FSIZE), bytes or K/M/G (default 64M)",
    ),
    (
        "runbash_output_max",
        "output of a RUNBASH script sent back, bytes or K/M/G up to 256K; the rest is dropped (default 64K)",
    ),
    ("trp_ipv4", "transparent proxy target, IPv4 address"),
    ("trp_ipv6", "transparent proxy target, IPv6 address"),
    ("trp_dns", "transparent proxy target, host name"),
    ("max_sessions", "maximum concurrent sessions (default 512)"),
    (
        "max_sessions_per_ip",
        "maximum concurrent sessions per client IP (default 32)",
    ),
    (
        "priority_boost",
        "nice levels the listener, key process, FAI issuer and session handshakes run above session commands, so that accepting and handshakes keep up under load, 0..19; 0 = off (default 10)",
    ),
    (
        "prelogin_timeout",
        "seconds to finish handshake and hash check, 1..3600 (default 30)",
    ),
    (
        "idle_timeout",
        "seconds a session may stay silent, or not read what it is sent, 0 = no limit, max 604800 (default 0)",
    ),
    (
        "hpf_max_buffer",
        "largest PUT/GET buffer granted, bytes or K/M/G, 1..64M (default 4M)",
    ),
    (
        "direct_io_min",
        "smallest transfer piece moved past the page cache (O_DIRECT): upload writes, and download reads of uncached files; bytes or K/M/G up to 64M; 0 = never (default 1M)",
    ),
    (
        "replay_cache",
        "handshake ciphertexts remembered to refuse a replayed session, 0..4194304; 0 = off (default 262144)",
    ),
    (
        "replay_window",
        "seconds a handshake ciphertext is remembered, 1..2592000 (default 86400)",
    ),
    (
        "rate_limit_session",
        "bandwidth of one session, bytes per second in each direction, or K/M/G (powers of 1024); 0 = no limit (default 0)",
    ),
    (
        "rate_limit_user",
        "bandwidth shared by all sessions of one LOGIN user, bytes per second in each direction, or K/M/G; 0 = no limit (default 0)",
    ),
    (
        "rate_limit_total",
        "bandwidth shared by every session of the node, bytes per second in each direction, or K/M/G; 0 = no limit (default 0)",
    ),
    (
        "secure_transport",
        "off, allow or require: tfd's authenticated, forward-secret transport (TFDSECURE; default allow; require refuses every command but TFDSECURE, KEEPALIVE and PROCKEY until it is on)",
    ),
    (
        "proxy_protocol",
        "off, v1, v2 or any: connections from proxy_from addresses begin with a PROXY protocol header of that version, whose client address then stands for the connection everywhere (default off)",
    ),
    (
        "proxy_from",
        "the balancers trusted to send PROXY headers: addresses or CIDR ranges separated by spaces or commas (required when proxy_protocol is not off)",
    ),
    (
        "sync_uploads",
        "yes or no: an upload is on stable storage (file and directory entry fsynced) before it is acknowledged (default yes)",
    ),
    (
        "intrw_max",
        "largest file INTREAD sends or INTWRITE accepts, bytes or K/M/G up to 2G-1; larger gets -1 (default 16M)",
    ),
    (
        "walk_limit",
        "most entries a recursive listing or tree walk visits (default 1000000)",
    ),
    ("log_level", "error, warn, info, debug or trace"),
    (
        "log_target",
        "where the log goes: stderr (journald-aware) or syslog (facility daemon) (default stderr)",
    ),
    (
        "xferlog",
        "path of the transfer log, one xferlog(5)-style line per upload or download (default none)",
    ),
    (
        "login_max_failures_ip",
        "failed LOGINs from one address (IPv6: one /64) within login_window before it is banned; 0 = off (default 10)",
    ),
    (
        "login_max_failures_user",
        "failed LOGINs for one name within login_window before it is locked; 0 = off (default 20)",
    ),
    (
        "login_window",
        "seconds over which failed LOGINs are counted, 1..86400 (default 600)",
    ),
    (
        "login_ban",
        "seconds an address stays banned after too many failed LOGINs, 1..604800 (default 900)",
    ),
    (
        "login_lock",
        "seconds a name stays locked after too many failed LOGINs, 1..604800 (default 900)",
    ),
    (
        "shared_state_dir",
        "root-only directory on the volume every node mounts, where LOGIN failure counts and `tfd ctl ban` bans are kept for all nodes, so N nodes give an attacker no more attempts than one (default none: per node)",
    ),
    (
        "quota_default",
        "bytes each session user's files may take (K/M/G suffix); 0 = no quota (default 0)",
    ),
    (
        "udp_user",
        "system user the UDP probe responder runs as when tfd starts as root (default nobody)",
    ),
    (
        "control_socket",
        "root-only admin socket for `tfd ctl` (default /run/tfd/ctl.sock when started as root, else off)",
    ),
    (
        "shutdown_grace",
        "seconds sessions get to finish after SIGTERM before they are ended, 0..3600 (default 10)",
    ),
    (
        "fai_max_minutes",
        "longest validity, in minutes, FAITOK grants to a Fast Access token (FAIMQ reports it); 0 = FAI off, 0..525600 (default 360)",
    ),
    (
        "sweep_interval",
        "seconds between passes of the sweep that removes upload temporaries (.tfd-part-*) killed sessions left, where the file system has no O_TMPFILE (NFS, GlusterFS); 0 = off, 0..86400 (default 60)",
    ),
    (
        "fai_dir",
        "root-only (0700) directory of the Fast Access tokens; share it between nodes behind one name (default /var/lib/tfd/fai/<16 hex digits of the SHA-256 of this file's path>)",
    ),
    ("faipath", "accepted for compatibility, ignored"),
    (
        "faitok_mq",
        "the reference's name for fai_max_minutes (the same minutes); give one of the two",
    ),
    ("xsntmex", "accepted for compatibility, ignored"),
    ("xsace", "accepted for compatibility, ignored"),
    ("rpcproxy", "accepted for compatibility, ignored"),
    ("nprocmax", "accepted for compatibility, ignored"),
    ("securefs", "accepted for compatibility, ignored"),
    ("diskspace", "accepted for compatibility, ignored"),
];

/// Reference flags for features tfd leaves out on purpose (none left: RUNBASH
/// is sandboxed, LOCKSYS and FLYCONTEXT confine like INJAIL).
const UNSUPPORTED_KEYS: &[&str] = &[];

/// Reference keys that tfd reads past so old config files keep working.
const IGNORED_KEYS: &[&str] = &[
    "faipath",
    "xsntmex",
    "xsace",
    "rpcproxy",
    "nprocmax",
    "securefs",
    "diskspace",
];

const LOG_LEVELS: &[&str] = &["error", "warn", "info", "debug", "trace"];

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
    pub fn accepts(self, v: crate::wire::proxy::Version) -> bool {
        use crate::wire::proxy::Version;
        matches!(
            (self, v),
            (ProxyProtocol::Any, _) | (ProxyProtocol::V1, Version::V1) | (ProxyProtocol::V2, Version::V2)
        )
    }
}

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
    pub prelogin_timeout: Duration,
    /// Zero means no limit.
    pub idle_timeout: Duration,
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
    pub rate_limits: crate::bandwidth::Rates,
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
    /// Lower case, one of error, warn, info, debug, trace.
    pub log_level: Option<String>,
    /// Where log records go (`log_target`).
    pub log_target: crate::logging::LogTarget,
    /// The transfer log (`xferlog`); absolute after [`Config::load`].
    pub xferlog: Option<PathBuf>,
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

/// Hand-written so that logging a config never leaks the private key or the
/// shared hash.
impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let redact = |v: &Option<Vec<u8>>| v.as_ref().map(|b| format!("<{} bytes>", b.len()));
        f.debug_struct("Config")
            .field("proto", &self.proto)
            .field("hash", &"<redacted>")
            .field("dbdir", &self.dbdir)
            .field("port", &self.port)
            .field("privkey_pem", &redact(&self.privkey_pem))
            .field("privkey_file", &self.privkey_file)
            .field("pubkey_pem", &redact(&self.pubkey_pem))
            .field("defusr", &self.defusr)
            .field("userdb", &self.userdb)
            .field("tlb", &self.tlb)
            .field("injail", &self.injail)
            .field("locksys", &self.locksys)
            .field("flycontext", &self.flycontext)
            .field("runbash", &self.runbash)
            .field("trp", &self.trp)
            .field("listen", &self.listen)
            .field("max_sessions", &self.max_sessions)
            .field("max_sessions_per_ip", &self.max_sessions_per_ip)
            .field("priority_boost", &self.priority_boost)
            .field("prelogin_timeout", &self.prelogin_timeout)
            .field("idle_timeout", &self.idle_timeout)
            .field("hpf_max_buffer", &self.hpf_max_buffer)
            .field("direct_io_min", &self.direct_io_min)
            .field("sync_uploads", &self.sync_uploads)
            .field("secure_transport", &self.secure_transport)
            .field("proxy_protocol", &self.proxy_protocol)
            .field("proxy_from", &self.proxy_from)
            .field("intrw_max", &self.intrw_max)
            .field("walk_limit", &self.walk_limit)
            .field("replay_cache", &self.replay_cache)
            .field("replay_window", &self.replay_window)
            .field("rate_limits", &self.rate_limits)
            .field("login_max_failures_ip", &self.login_max_failures_ip)
            .field("login_max_failures_user", &self.login_max_failures_user)
            .field("login_window", &self.login_window)
            .field("login_ban", &self.login_ban)
            .field("login_lock", &self.login_lock)
            .field("quota_default", &self.quota_default)
            .field("log_level", &self.log_level)
            .field("log_target", &self.log_target)
            .field("xferlog", &self.xferlog)
            .field("shared_state_dir", &self.shared_state_dir)
            .field("fai_max_minutes", &self.fai_max_minutes)
            .field("sweep_interval", &self.sweep_interval)
            .field("fai_dir", &self.fai_dir)
            .field("source", &self.source)
            .finish()
    }
}

/// Why a configuration was refused. Displays as `file:line: message` (or
/// `file: message` when no single line is to blame), the form editors and
/// operators can jump to.
#[derive(Debug)]
#[non_exhaustive]
pub enum ConfigError {
    /// The file (or the key file it names) could not be opened or read; the
    /// `io::Error` is kept so callers can tell "missing" from "forbidden".
    Read { file: String, error: io::Error },
    /// The file is larger than [`MAX_FILE_SIZE`]; no real config is, so it is
    /// probably the wrong path.
    TooLarge { file: String },
    /// A malformed line with no more specific variant: invalid UTF-8, a flag
    /// given a value, text after a closing `}`, a key block without `{`.
    Syntax { file: String, line: usize, message: String },
    /// A key tfd does not know; refused so a typo is not silently a default.
    UnknownKey { file: String, line: usize, key: String },
    /// A key that needs a value was given none.
    MissingValue { file: String, line: usize, key: String },
    /// A key given twice; the reference silently took the first, which hides
    /// edits appended at the end of a file.
    DuplicateKey {
        file: String,
        line: usize,
        key: String,
        first_line: usize,
    },
    /// A reference feature tfd leaves out on purpose (none today); refused rather than ignored because a deployment relying
    /// on it would otherwise behave differently without notice.
    Unsupported { file: String, line: usize, key: String },
    /// A `{` block with no closing `}`. The line is where the block opened,
    /// because that is where the mistake is, not at the end of the file.
    UnterminatedBlock { file: String, line: usize, key: String },
    /// A value that does not parse or is out of range. `line` is `None` when
    /// [`Config::validate`] finds it in a config not built by the parser.
    InvalidValue {
        file: String,
        line: Option<usize>,
        key: String,
        message: String,
    },
    /// A required key is absent.
    MissingKey { file: String, key: String },
    /// Keys that contradict each other (two private keys, two proxy targets, a
    /// listen address without any port, ...).
    Conflict {
        file: String,
        line: Option<usize>,
        message: String,
    },
    /// [`Config::load`] could not resolve a path on the filesystem (dbdir
    /// missing or not a directory, key file unreadable).
    Resolve {
        file: String,
        line: Option<usize>,
        key: String,
        message: String,
    },
}

impl ConfigError {
    /// The line to blame, when there is one.
    pub fn line(&self) -> Option<usize> {
        match self {
            Self::Syntax { line, .. }
            | Self::UnknownKey { line, .. }
            | Self::MissingValue { line, .. }
            | Self::DuplicateKey { line, .. }
            | Self::Unsupported { line, .. }
            | Self::UnterminatedBlock { line, .. } => Some(*line),
            Self::InvalidValue { line, .. } | Self::Conflict { line, .. } | Self::Resolve { line, .. } => *line,
            Self::Read { .. } | Self::TooLarge { .. } | Self::MissingKey { .. } => None,
        }
    }

    /// The file name used in the message (`<config>` for [`Config::parse_str`]).
    pub fn file(&self) -> &str {
        match self {
            Self::Read { file, .. }
            | Self::TooLarge { file }
            | Self::Syntax { file, .. }
            | Self::UnknownKey { file, .. }
            | Self::MissingValue { file, .. }
            | Self::DuplicateKey { file, .. }
            | Self::Unsupported { file, .. }
            | Self::UnterminatedBlock { file, .. }
            | Self::InvalidValue { file, .. }
            | Self::MissingKey { file, .. }
            | Self::Conflict { file, .. }
            | Self::Resolve { file, .. } => file,
        }
    }

    fn message(&self) -> String {
        match self {
            Self::Read { error, .. } => format!("cannot read: {error}"),
            Self::TooLarge { .. } => format!("larger than {MAX_FILE_SIZE} bytes"),
            Self::Syntax { message, .. } | Self::Conflict { message, .. } => message.clone(),
            Self::UnknownKey { key, .. } => format!("unknown key {key:?}"),
            Self::MissingValue { key, .. } => format!("{key}: missing value"),
            Self::DuplicateKey { key, first_line, .. } => {
                format!("duplicate key {key:?} (first given on line {first_line})")
            }
            Self::Unsupported { key, .. } => format!("{key:?} is not supported by tfd"),
            Self::UnterminatedBlock { key, .. } => {
                format!("{key} block opened here is never closed with \"}}\"")
            }
            Self::InvalidValue { key, message, .. } | Self::Resolve { key, message, .. } => {
                format!("{key}: {message}")
            }
            Self::MissingKey { key, .. } => format!("missing required key {key}"),
        }
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line() {
            Some(line) => write!(f, "{}:{}: {}", self.file(), line, self.message()),
            None => write!(f, "{}: {}", self.file(), self.message()),
        }
    }
}

/// The I/O error text is already part of the Display message, so it is not
/// also returned as a source (that would print it twice in error chains).
impl std::error::Error for ConfigError {}

/// First line of each key, so that checks done after the whole file is read
/// can still point at a line.
type KeyLines = HashMap<&'static str, usize>;

impl Config {
    /// Parses and checks the text without touching the filesystem; paths stay
    /// as written and `privkey_file` is not read (that is [`Config::load`]).
    pub fn parse_str(text: &str) -> Result<Config, ConfigError> {
        parse_named(text, NO_FILE).map(|(config, _)| config)
    }

    /// Every path tfd started as root with this configuration creates or writes
    /// (not counting `--daemon`'s pidfile), with the key that sets it: a service
    /// manager's sandbox must leave each of them writable, and
    /// `tests/install.rs` checks the shipped unit against this list for the
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
        out.extend(self.shared_state_dir.clone().map(|p| ("shared_state_dir", p)));
        out
    }

    /// The key process's replay cache limits.
    pub fn replay_policy(&self) -> crate::auth::replay::ReplayPolicy {
        crate::auth::replay::ReplayPolicy {
            capacity: self.replay_cache,
            window: self.replay_window.as_secs(),
        }
    }

    /// Overwrites and drops the private key's PEM text once the key process has
    /// the key, so the listener and the sessions it forks do not carry it.
    pub fn forget_private_key(&mut self) {
        if let Some(mut pem) = self.privkey_pem.take() {
            pem.iter_mut().for_each(|b| *b = 0);
            std::hint::black_box(&pem);
        }
    }

    /// Reads, parses and resolves a config file: relative paths are taken from
    /// the file's own directory (not the cwd, which differs between a shell and
    /// a service manager), `dbdir` is canonicalized and must be a directory,
    /// and `privkey_file` is read into `privkey_pem`.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
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
        let (mut config, lines) = parse_named(text, &file)?;
        let source = fs::canonicalize(path).map_err(|error| ConfigError::Read {
            file: file.clone(),
            error,
        })?;
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
            let pem = read_capped(&key_file, MAX_FILE_SIZE).map_err(|e| {
                let why = match e {
                    CappedError::Io(e) => e.to_string(),
                    CappedError::TooLarge => format!("larger than {MAX_FILE_SIZE} bytes"),
                };
                resolve_err("privkey_file", format!("{}: {why}", key_file.display()))
            })?;
            check_private_pem(&pem).map_err(|m| resolve_err("privkey_file", format!("{}: {m}", key_file.display())))?;
            warn_if_readable_by_others(&key_file, "private key file");
            config.privkey_pem = Some(pem);
            config.privkey_file = Some(key_file);
        } else if config.privkey_pem.is_some() {
            warn_if_readable_by_others(&source, "config file holding a private key");
        }
        config.userdb = config.userdb.take().map(|p| base.join(p));
        config.tlb = config.tlb.take().map(|p| base.join(p));
        config.xferlog = config.xferlog.take().map(|p| base.join(p));
        config.shared_state_dir = config.shared_state_dir.take().map(|p| base.join(p));
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

    /// Checks the invariants the rest of tfd relies on (ranges, exactly one
    /// private key source, ...). The parser already enforces all of them; this
    /// is for configs built or modified by hand.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let file = self
            .source
            .as_ref()
            .map_or_else(|| NO_FILE.to_string(), |p| p.display().to_string());
        self.check(&file, &KeyLines::new())
    }

    fn check(&self, file: &str, lines: &KeyLines) -> Result<(), ConfigError> {
        let invalid = |key: &'static str, message: String| ConfigError::InvalidValue {
            file: file.into(),
            line: lines.get(key).copied(),
            key: key.into(),
            message,
        };
        if self.proto.is_empty() {
            return Err(invalid("proto", "missing value".into()));
        }
        for p in &self.proto {
            check_text("proto", p, 31).map_err(|m| invalid("proto", m))?;
        }
        check_text("hash", &self.hash, 255).map_err(|m| invalid("hash", m))?;
        if self.dbdir.as_os_str().is_empty() {
            return Err(invalid("dbdir", "missing value".into()));
        }
        if self.port == 0 {
            return Err(invalid("port", "must be 1..65535, not 0".into()));
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
            return Err(ConfigError::MissingKey {
                file: file.into(),
                key: "privkey or privkey_file".into(),
            });
        }
        if let Some(pem) = &self.privkey_pem {
            check_private_pem(pem).map_err(|m| invalid("privkey", m))?;
        }
        if let Some(pem) = &self.pubkey_pem {
            check_pem(pem).map_err(|m| invalid("pubkey", m))?;
        }
        if let Some(user) = &self.defusr {
            check_user(user).map_err(|m| invalid("defusr", m))?;
        }
        for (key, path) in [
            ("userdb", &self.userdb),
            ("tlb", &self.tlb),
            ("xferlog", &self.xferlog),
            ("shared_state_dir", &self.shared_state_dir),
        ] {
            if path.as_ref().is_some_and(|p| p.as_os_str().is_empty()) {
                return Err(invalid(key, "missing value".into()));
            }
        }
        if let Some(Trp::Dns(host)) = &self.trp {
            check_host(host).map_err(|m| invalid("trp_dns", m))?;
        }
        if self.max_sessions == 0 {
            return Err(invalid("max_sessions", "must be at least 1".into()));
        }
        if self.proxy_protocol != ProxyProtocol::Off && self.proxy_from.is_empty() {
            return Err(invalid(
                "proxy_from",
                "proxy_protocol is on: name the balancers trusted to send the header".into(),
            ));
        }
        if self.max_sessions_per_ip == 0 {
            return Err(invalid("max_sessions_per_ip", "must be at least 1".into()));
        }
        let pre = self.prelogin_timeout;
        if pre < Duration::from_secs(1) || pre > Duration::from_secs(MAX_PRELOGIN_TIMEOUT_SECS) {
            return Err(invalid(
                "prelogin_timeout",
                format!("must be 1..{MAX_PRELOGIN_TIMEOUT_SECS} seconds"),
            ));
        }
        if self.idle_timeout > Duration::from_secs(MAX_IDLE_TIMEOUT_SECS) {
            return Err(invalid(
                "idle_timeout",
                format!("must be 0..{MAX_IDLE_TIMEOUT_SECS} seconds"),
            ));
        }
        if !(1..=MAX_HPF_MAX_BUFFER).contains(&self.hpf_max_buffer) {
            return Err(invalid(
                "hpf_max_buffer",
                format!("must be 1..{MAX_HPF_MAX_BUFFER} bytes"),
            ));
        }
        if self.direct_io_min > MAX_HPF_MAX_BUFFER {
            return Err(invalid(
                "direct_io_min",
                format!("must be 0..{MAX_HPF_MAX_BUFFER} bytes"),
            ));
        }
        if !(1..=MAX_INTRW_MAX).contains(&self.intrw_max) {
            return Err(invalid("intrw_max", format!("must be 1..{MAX_INTRW_MAX} bytes")));
        }
        if self.walk_limit == 0 {
            return Err(invalid("walk_limit", "must be at least 1".into()));
        }
        if let Some(rb) = &self.runbash {
            for (key, secs) in [
                ("runbash_timeout", rb.timeout.as_secs()),
                ("runbash_cpu_seconds", rb.cpu_seconds),
            ] {
                if !(1..=MAX_RUNBASH_SECS).contains(&secs) {
                    return Err(invalid(key, format!("must be 1..{MAX_RUNBASH_SECS} seconds")));
                }
            }
            if rb.memory < MIN_RUNBASH_MEMORY {
                return Err(invalid("runbash_memory", "must be at least 16M".into()));
            }
            if !(1..=MAX_RUNBASH_NPROC).contains(&rb.nproc) {
                return Err(invalid("runbash_nproc", format!("must be 1..{MAX_RUNBASH_NPROC}")));
            }
            if rb.output_max > MAX_RUNBASH_OUTPUT {
                return Err(invalid("runbash_output_max", "must be 0..256K".into()));
            }
        }
        let secs = |d: Duration| d.as_secs();
        if !(1..=MAX_LOGIN_WINDOW_SECS).contains(&secs(self.login_window)) {
            return Err(invalid(
                "login_window",
                format!("must be 1..{MAX_LOGIN_WINDOW_SECS} seconds"),
            ));
        }
        for (key, d) in [("login_ban", self.login_ban), ("login_lock", self.login_lock)] {
            if !(1..=MAX_LOGIN_BAN_SECS).contains(&secs(d)) {
                return Err(invalid(key, format!("must be 1..{MAX_LOGIN_BAN_SECS} seconds")));
            }
        }
        if self.quota_default == Some(0) {
            return Err(invalid("quota_default", "no quota is None, not 0".into()));
        }
        if let Some(level) = &self.log_level {
            if !LOG_LEVELS.contains(&level.as_str()) {
                return Err(invalid("log_level", log_level_message(level)));
            }
        }
        Ok(())
    }
}

/// Values collected while reading lines; turned into a [`Config`] once the
/// whole file is known, since `port` may come after the `listen` lines using it.
#[derive(Default)]
struct Draft {
    proto: Vec<String>,
    hash: Option<String>,
    dbdir: Option<PathBuf>,
    port: Option<u16>,
    privkey_pem: Option<Vec<u8>>,
    privkey_file: Option<PathBuf>,
    pubkey_pem: Option<Vec<u8>>,
    defusr: Option<String>,
    userdb: Option<PathBuf>,
    tlb: Option<PathBuf>,
    injail: bool,
    locksys: bool,
    flycontext: bool,
    runbash: bool,
    runbash_limits: RunBash,
    trp: Option<(Trp, &'static str, usize)>,
    listen: Vec<(IpAddr, Option<u16>, usize)>,
    max_sessions: Option<u32>,
    max_sessions_per_ip: Option<u32>,
    priority_boost: Option<u8>,
    prelogin_timeout: Option<Duration>,
    idle_timeout: Option<Duration>,
    hpf_max_buffer: Option<u64>,
    direct_io_min: Option<u64>,
    rate_limits: crate::bandwidth::Rates,
    sync_uploads: Option<bool>,
    secure_transport: Option<SecureTransport>,
    proxy_protocol: Option<ProxyProtocol>,
    proxy_from: Option<Vec<Cidr>>,
    intrw_max: Option<u64>,
    walk_limit: Option<u64>,
    replay_cache: Option<usize>,
    replay_window: Option<Duration>,
    login_max_failures_ip: Option<u32>,
    login_max_failures_user: Option<u32>,
    login_window: Option<Duration>,
    login_ban: Option<Duration>,
    login_lock: Option<Duration>,
    quota_default: Option<u64>,
    log_level: Option<String>,
    log_target: Option<crate::logging::LogTarget>,
    xferlog: Option<PathBuf>,
    shared_state_dir: Option<PathBuf>,
    udp_user: Option<String>,
    control_socket: Option<PathBuf>,
    shutdown_grace: Option<Duration>,
    fai_max_minutes: Option<u32>,
    fai_dir: Option<PathBuf>,
    sweep_interval: Option<u64>,
}

fn parse_named(text: &str, file: &str) -> Result<(Config, KeyLines), ConfigError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut lines = text.split('\n').enumerate().map(|(i, l)| (i + 1, l));
    let mut seen = KeyLines::new();
    let mut d = Draft::default();

    while let Some((lineno, raw)) = lines.next() {
        let trimmed = raw.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        let (word, value) = split_key(trimmed);
        if UNSUPPORTED_KEYS.contains(&word) {
            return Err(ConfigError::Unsupported {
                file: file.into(),
                line: lineno,
                key: word.into(),
            });
        }
        let Some(&(key, _)) = KEYS.iter().find(|(k, _)| *k == word) else {
            return Err(ConfigError::UnknownKey {
                file: file.into(),
                line: lineno,
                key: word.into(),
            });
        };
        // the reference's name for the same setting counts as the same key
        let setting = if key == "faitok_mq" { "fai_max_minutes" } else { key };
        if key != "listen" && key != "proto" {
            if let Some(&first_line) = seen.get(setting) {
                return Err(ConfigError::DuplicateKey {
                    file: file.into(),
                    line: lineno,
                    key: if setting == key {
                        key.into()
                    } else {
                        format!("{setting}\" (or its synonym \"{key}")
                    },
                    first_line,
                });
            }
        }
        seen.entry(setting).or_insert(lineno);

        if IGNORED_KEYS.contains(&key) {
            log::warn!("{file}:{lineno}: {key} is accepted for compatibility and ignored");
            continue;
        }
        if key == "injail" || key == "locksys" || key == "flycontext" || key == "runbash" {
            if !value.is_empty() {
                return Err(ConfigError::Syntax {
                    file: file.into(),
                    line: lineno,
                    message: format!("{key} is a flag and takes no value"),
                });
            }
            match key {
                "injail" => d.injail = true,
                "locksys" => d.locksys = true,
                "runbash" => d.runbash = true,
                _ => d.flycontext = true,
            }
            continue;
        }
        if value.is_empty() {
            return Err(ConfigError::MissingValue {
                file: file.into(),
                line: lineno,
                key: key.into(),
            });
        }
        if let Some(at) = inline_comment(value) {
            return Err(ConfigError::InvalidValue {
                file: file.into(),
                line: Some(lineno),
                key: key.into(),
                message: format!(
                    "{:?} after the value looks like a comment, but comments must be on a line of \
                     their own (the format takes the rest of the line as the value): move it to \
                     the line above",
                    value.get(at..).unwrap_or_default()
                ),
            });
        }
        if key == "privkey" || key == "pubkey" {
            let pem = read_block(file, key, value, lineno, &mut lines)?;
            if key == "privkey" {
                d.privkey_pem = Some(pem);
            } else {
                d.pubkey_pem = Some(pem);
            }
            continue;
        }
        parse_value(&mut d, key, value, lineno).map_err(|message| ConfigError::InvalidValue {
            file: file.into(),
            line: Some(lineno),
            key: key.into(),
            message,
        })?;
        if key.starts_with("trp_") {
            if let Some((_, first, first_line)) = &d.trp {
                if *first != key {
                    return Err(ConfigError::Conflict {
                        file: file.into(),
                        line: Some(lineno),
                        message: format!(
                            "{key} conflicts with {first} on line {first_line}: \
                             at most one transparent proxy target"
                        ),
                    });
                }
            }
        }
    }
    let config = finish(d, file, &seen)?;
    config.check(file, &seen)?;
    Ok((config, seen))
}

/// Splits a trimmed line into key and value. A `{` glued to the key
/// (`privkey{`) starts the value, so that spelling still opens a block.
fn split_key(line: &str) -> (&str, &str) {
    let mut end = line.find(char::is_whitespace).unwrap_or(line.len());
    if let Some(brace) = line.get(..end).and_then(|w| w.find('{')) {
        if brace > 0 {
            end = brace;
        }
    }
    let key = line.get(..end).unwrap_or(line);
    let value = line.get(end..).unwrap_or("").trim();
    (key, value)
}

/// Reads a `key { PEM }` block. Lines are trimmed (indentation and CR are not
/// part of PEM) and comment lines are dropped as the reference does; interior
/// blank lines are kept because they separate PEM headers from the body.
fn read_block<'a>(
    file: &str,
    key: &str,
    value: &str,
    start: usize,
    lines: &mut impl Iterator<Item = (usize, &'a str)>,
) -> Result<Vec<u8>, ConfigError> {
    let Some(first) = value.strip_prefix('{') else {
        let hint = if key == "privkey" {
            " (for a key file use privkey_file)"
        } else {
            ""
        };
        return Err(ConfigError::Syntax {
            file: file.into(),
            line: start,
            message: format!("{key}: expected \"{{\" opening a PEM block{hint}"),
        });
    };
    let mut pem = String::new();
    let mut push = |part: &str| {
        pem.push_str(part.trim());
        pem.push('\n');
    };
    let (close_line, after) = match first.split_once('}') {
        Some((inside, after)) => {
            push(inside);
            (start, after)
        }
        None => {
            push(first);
            loop {
                let Some((n, line)) = lines.next() else {
                    return Err(ConfigError::UnterminatedBlock {
                        file: file.into(),
                        line: start,
                        key: key.into(),
                    });
                };
                if let Some((inside, after)) = line.split_once('}') {
                    push(inside);
                    break (n, after);
                }
                if !line.trim_start().starts_with('#') {
                    push(line);
                }
            }
        }
    };
    if !after.trim().is_empty() {
        return Err(ConfigError::Syntax {
            file: file.into(),
            line: close_line,
            message: format!("{key}: unexpected text after the closing \"}}\""),
        });
    }
    let mut pem = pem.trim().to_string();
    pem.push('\n');
    let checked = if key == "privkey" {
        check_private_pem(pem.as_bytes())
    } else {
        check_pem(pem.as_bytes())
    };
    checked.map_err(|message| ConfigError::InvalidValue {
        file: file.into(),
        line: Some(start),
        key: key.into(),
        message,
    })?;
    Ok(pem.into_bytes())
}

/// Parses one non-empty value into the draft; the error is the message part
/// (the caller adds file, line and key).
fn parse_value(d: &mut Draft, key: &'static str, value: &str, line: usize) -> Result<(), String> {
    let u32_max = u64::from(u32::MAX);
    match key {
        "proto" => {
            if d.proto.iter().any(|p| p == value) {
                return Err(format!("{value:?} given twice"));
            }
            d.proto.push(value.into());
        }
        "hash" => d.hash = Some(value.into()),
        "dbdir" => d.dbdir = Some(value.into()),
        "privkey_file" => d.privkey_file = Some(value.into()),
        "userdb" => d.userdb = Some(value.into()),
        "tlb" => d.tlb = Some(value.into()),
        "defusr" => {
            check_user(value)?;
            d.defusr = Some(value.into());
        }
        "port" => d.port = Some(number(value, 1, 65535)? as u16),
        "listen" => {
            let (ip, port) = parse_listen(value).ok_or_else(|| {
                format!(
                    "{value:?} is not an IP address with an optional :port \
                     (IPv6 with a port in brackets, e.g. [::1]:10345)"
                )
            })?;
            if port == Some(0) {
                return Err(format!("{value:?}: port must be 1..65535"));
            }
            d.listen.push((ip, port, line));
        }
        "trp_ipv4" => {
            let ip = value.parse().map_err(|_| format!("{value:?} is not an IPv4 address"))?;
            d.trp.get_or_insert((Trp::V4(ip), key, line));
        }
        "trp_ipv6" => {
            let ip = value.parse().map_err(|_| format!("{value:?} is not an IPv6 address"))?;
            d.trp.get_or_insert((Trp::V6(ip), key, line));
        }
        "trp_dns" => {
            check_host(value)?;
            d.trp.get_or_insert((Trp::Dns(value.into()), key, line));
        }
        "max_sessions" => d.max_sessions = Some(number(value, 1, u32_max)? as u32),
        "max_sessions_per_ip" => d.max_sessions_per_ip = Some(number(value, 1, u32_max)? as u32),
        "priority_boost" => d.priority_boost = Some(number(value, 0, 19)? as u8),
        "prelogin_timeout" => {
            let secs = number(value, 1, MAX_PRELOGIN_TIMEOUT_SECS)
                .map_err(|_| format!("{value:?} is not a number of seconds 1..3600"))?;
            d.prelogin_timeout = Some(Duration::from_secs(secs));
        }
        "idle_timeout" => {
            let secs = number(value, 0, MAX_IDLE_TIMEOUT_SECS).map_err(|_| {
                format!(
                    "{value:?} is not a number of seconds 0..{MAX_IDLE_TIMEOUT_SECS} \
                     (0 = no limit)"
                )
            })?;
            d.idle_timeout = Some(Duration::from_secs(secs));
        }
        "hpf_max_buffer" => {
            let size = parse_size(value)
                .filter(|n| (1..=MAX_HPF_MAX_BUFFER).contains(n))
                .ok_or_else(|| {
                    format!(
                        "{value:?} is not a size 1..64M \
                         (bytes, or a number with a K, M or G suffix)"
                    )
                })?;
            d.hpf_max_buffer = Some(size);
        }
        "direct_io_min" => {
            let size = parse_size(value).filter(|n| *n <= MAX_HPF_MAX_BUFFER).ok_or_else(|| {
                format!(
                    "{value:?} is not a size 0..64M \
                         (bytes, or a number with a K, M or G suffix; 0 = never)"
                )
            })?;
            d.direct_io_min = Some(size);
        }
        "secure_transport" => {
            d.secure_transport = Some(match value {
                "off" => SecureTransport::Off,
                "allow" => SecureTransport::Allow,
                "require" => SecureTransport::Require,
                _ => return Err(format!("{value:?} is not off, allow or require")),
            })
        }
        "proxy_protocol" => {
            d.proxy_protocol = Some(match value {
                "off" => ProxyProtocol::Off,
                "v1" => ProxyProtocol::V1,
                "v2" => ProxyProtocol::V2,
                "any" => ProxyProtocol::Any,
                _ => return Err(format!("{value:?} is not off, v1, v2 or any")),
            })
        }
        "proxy_from" => {
            let mut list = Vec::new();
            for item in value.split([' ', ',', '\t']).filter(|s| !s.is_empty()) {
                list.push(
                    Cidr::parse(item).ok_or_else(|| format!("{item:?} is not an address or address/bits range"))?,
                );
            }
            if list.is_empty() {
                return Err("no address given".into());
            }
            d.proxy_from = Some(list);
        }
        "sync_uploads" => {
            d.sync_uploads = Some(match value {
                "yes" | "on" | "true" => true,
                "no" | "off" | "false" => false,
                _ => return Err(format!("{value:?} is not yes or no")),
            })
        }
        "intrw_max" => {
            let size = parse_size(value)
                .filter(|n| (1..=MAX_INTRW_MAX).contains(n))
                .ok_or_else(|| {
                    format!("{value:?} is not a size 1..2G-1 (bytes, or a number with a K, M or G suffix)")
                })?;
            d.intrw_max = Some(size);
        }
        "walk_limit" => d.walk_limit = Some(number(value, 1, u64::MAX)?),
        "replay_cache" => {
            let n = number(value, 0, MAX_REPLAY_CACHE)
                .map_err(|_| format!("{value:?} is not a number of entries 0..{MAX_REPLAY_CACHE}"))?;
            d.replay_cache = Some(n as usize);
        }
        "replay_window" => {
            let secs = number(value, 1, MAX_REPLAY_WINDOW_SECS)
                .map_err(|_| format!("{value:?} is not a number of seconds 1..{MAX_REPLAY_WINDOW_SECS}"))?;
            d.replay_window = Some(Duration::from_secs(secs));
        }
        "login_max_failures_ip" => d.login_max_failures_ip = Some(number(value, 0, 1_000_000)? as u32),
        "login_max_failures_user" => d.login_max_failures_user = Some(number(value, 0, 1_000_000)? as u32),
        "login_window" => {
            let secs = number(value, 1, MAX_LOGIN_WINDOW_SECS)
                .map_err(|_| format!("{value:?} is not a number of seconds 1..{MAX_LOGIN_WINDOW_SECS}"))?;
            d.login_window = Some(Duration::from_secs(secs));
        }
        "login_ban" | "login_lock" => {
            let secs = number(value, 1, MAX_LOGIN_BAN_SECS)
                .map_err(|_| format!("{value:?} is not a number of seconds 1..{MAX_LOGIN_BAN_SECS}"))?;
            if key == "login_ban" {
                d.login_ban = Some(Duration::from_secs(secs));
            } else {
                d.login_lock = Some(Duration::from_secs(secs));
            }
        }
        "rate_limit_session" | "rate_limit_user" | "rate_limit_total" => {
            let rate = parse_size(value).filter(|n| *n <= MAX_RATE_LIMIT).ok_or_else(|| {
                format!("{value:?} is not a rate 0..1T (bytes per second, or a number with a K, M or G suffix; 0 = no limit)")
            })?;
            match key {
                "rate_limit_session" => d.rate_limits.session = rate,
                "rate_limit_user" => d.rate_limits.user = rate,
                _ => d.rate_limits.total = rate,
            }
        }
        "runbash_timeout" | "runbash_cpu_seconds" => {
            let secs = number(value, 1, MAX_RUNBASH_SECS)
                .map_err(|_| format!("{value:?} is not a number of seconds 1..{MAX_RUNBASH_SECS}"))?;
            if key == "runbash_timeout" {
                d.runbash_limits.timeout = Duration::from_secs(secs);
            } else {
                d.runbash_limits.cpu_seconds = secs;
            }
        }
        "runbash_memory" => {
            d.runbash_limits.memory = parse_size(value).filter(|n| *n >= MIN_RUNBASH_MEMORY).ok_or_else(|| {
                format!("{value:?} is not a size of at least 16M (bytes, or a number with a K, M or G suffix)")
            })?;
        }
        "runbash_nproc" => d.runbash_limits.nproc = number(value, 1, MAX_RUNBASH_NPROC)?,
        "runbash_file_max" => {
            d.runbash_limits.file_max = parse_size(value)
                .ok_or_else(|| format!("{value:?} is not a size (bytes, or a number with a K, M or G suffix)"))?;
        }
        "runbash_output_max" => {
            d.runbash_limits.output_max = parse_size(value).filter(|n| *n <= MAX_RUNBASH_OUTPUT).ok_or_else(|| {
                format!("{value:?} is not a size 0..256K (bytes, or a number with a K, M or G suffix)")
            })?;
        }
        "quota_default" => {
            let size = parse_size(value).ok_or_else(|| {
                format!("{value:?} is not a size (bytes, or a number with a K, M or G suffix; 0 = no quota)")
            })?;
            d.quota_default = Some(size);
        }
        "log_level" => {
            let level = value.to_ascii_lowercase();
            if !LOG_LEVELS.contains(&level.as_str()) {
                return Err(log_level_message(value));
            }
            d.log_level = Some(level);
        }
        "log_target" => {
            let target =
                crate::logging::LogTarget::parse(value).ok_or_else(|| format!("{value:?} is not stderr or syslog"))?;
            d.log_target = Some(target);
        }
        "xferlog" => d.xferlog = Some(value.into()),
        "shared_state_dir" => d.shared_state_dir = Some(value.into()),
        "udp_user" => {
            if value.chars().any(|c| c.is_whitespace() || c.is_control()) {
                return Err("udp_user: a user name has no blanks".into());
            }
            d.udp_user = Some(value.to_string());
        }
        "control_socket" => d.control_socket = Some(PathBuf::from(value)),
        "shutdown_grace" => {
            d.shutdown_grace = Some(Duration::from_secs(number(value, 0, 3600)?));
        }
        "fai_max_minutes" | "faitok_mq" => d.fai_max_minutes = Some(number(value, 0, MAX_FAI_MINUTES)? as u32),
        "fai_dir" => d.fai_dir = Some(value.into()),
        "sweep_interval" => d.sweep_interval = Some(number(value, 0, 86_400)?),
        // Every other key in KEYS is handled before this is called; reaching
        // here means KEYS grew without a parser arm, which the tests catch.
        _ => return Err("key has no parser (tfd bug)".into()),
    }
    Ok(())
}

/// Turns the draft into a config: required keys, defaults, and the checks that
/// need the whole file (listen ports, two private key sources).
fn finish(d: Draft, file: &str, seen: &KeyLines) -> Result<Config, ConfigError> {
    let missing = |key: &str| ConfigError::MissingKey {
        file: file.into(),
        key: key.into(),
    };
    if d.proto.is_empty() {
        return Err(missing("proto"));
    }
    let proto = d.proto;
    let hash = d.hash.ok_or_else(|| missing("hash"))?;
    let dbdir = d.dbdir.ok_or_else(|| missing("dbdir"))?;
    if let (Some(block), Some(file_line)) = (seen.get("privkey"), seen.get("privkey_file")) {
        return Err(ConfigError::Conflict {
            file: file.into(),
            line: Some(*block.max(file_line)),
            message: format!(
                "privkey (line {block}) and privkey_file (line {file_line}) are two \
                 private key sources; give exactly one"
            ),
        });
    }
    if d.privkey_pem.is_none() && d.privkey_file.is_none() {
        return Err(missing("privkey or privkey_file"));
    }
    let port = match d.port {
        Some(port) => port,
        None => {
            if let Some((ip, _, line)) = d.listen.iter().find(|(_, p, _)| p.is_none()) {
                return Err(ConfigError::Conflict {
                    file: file.into(),
                    line: Some(*line),
                    message: format!("listen {ip} has no port and there is no port key"),
                });
            }
            match d.listen.first() {
                Some((_, Some(port), _)) => *port,
                _ => return Err(missing("port")),
            }
        }
    };
    let mut listen: Vec<SocketAddr> = Vec::with_capacity(d.listen.len().max(2));
    let mut listen_lines: HashMap<SocketAddr, usize> = HashMap::new();
    for (ip, p, line) in &d.listen {
        let addr = SocketAddr::new(*ip, p.unwrap_or(port));
        if let Some(first) = listen_lines.insert(addr, *line) {
            return Err(ConfigError::Conflict {
                file: file.into(),
                line: Some(*line),
                message: format!("listen address {addr} given twice (first on line {first})"),
            });
        }
        listen.push(addr);
    }
    if listen.is_empty() {
        listen.push(SocketAddr::new(Ipv4Addr::UNSPECIFIED.into(), port));
        listen.push(SocketAddr::new(Ipv6Addr::UNSPECIFIED.into(), port));
    }
    Ok(Config {
        proto,
        hash,
        dbdir,
        port,
        privkey_pem: d.privkey_pem,
        privkey_file: d.privkey_file,
        pubkey_pem: d.pubkey_pem,
        defusr: d.defusr,
        userdb: d.userdb,
        tlb: d.tlb,
        injail: d.injail,
        locksys: d.locksys,
        flycontext: d.flycontext,
        runbash: d.runbash.then_some(d.runbash_limits),
        trp: d.trp.map(|(trp, _, _)| trp),
        listen,
        max_sessions: d.max_sessions.unwrap_or(DEFAULT_MAX_SESSIONS),
        max_sessions_per_ip: d.max_sessions_per_ip.unwrap_or(DEFAULT_MAX_SESSIONS_PER_IP),
        priority_boost: d.priority_boost.unwrap_or(DEFAULT_PRIORITY_BOOST),
        prelogin_timeout: d.prelogin_timeout.unwrap_or(DEFAULT_PRELOGIN_TIMEOUT),
        idle_timeout: d.idle_timeout.unwrap_or(Duration::ZERO),
        hpf_max_buffer: d.hpf_max_buffer.unwrap_or(DEFAULT_HPF_MAX_BUFFER),
        direct_io_min: d.direct_io_min.unwrap_or(DEFAULT_DIRECT_IO_MIN),
        sync_uploads: d.sync_uploads.unwrap_or(true),
        secure_transport: d.secure_transport.unwrap_or(SecureTransport::Allow),
        proxy_protocol: d.proxy_protocol.unwrap_or(ProxyProtocol::Off),
        proxy_from: d.proxy_from.unwrap_or_default(),
        intrw_max: d.intrw_max.unwrap_or(DEFAULT_INTRW_MAX),
        walk_limit: d.walk_limit.unwrap_or(DEFAULT_WALK_LIMIT),
        replay_cache: d.replay_cache.unwrap_or(DEFAULT_REPLAY_CACHE),
        replay_window: d
            .replay_window
            .unwrap_or(Duration::from_secs(DEFAULT_REPLAY_WINDOW_SECS)),
        rate_limits: d.rate_limits,
        login_max_failures_ip: d.login_max_failures_ip.unwrap_or(DEFAULT_LOGIN_MAX_FAILURES_IP),
        login_max_failures_user: d.login_max_failures_user.unwrap_or(DEFAULT_LOGIN_MAX_FAILURES_USER),
        login_window: d.login_window.unwrap_or(DEFAULT_LOGIN_WINDOW),
        login_ban: d.login_ban.unwrap_or(DEFAULT_LOGIN_BAN),
        login_lock: d.login_lock.unwrap_or(DEFAULT_LOGIN_BAN),
        quota_default: d.quota_default.filter(|&q| q > 0),
        log_level: d.log_level,
        log_target: d.log_target.unwrap_or_default(),
        xferlog: d.xferlog,
        shared_state_dir: d.shared_state_dir,
        udp_user: d.udp_user.unwrap_or_else(|| "nobody".to_string()),
        control_socket: d.control_socket,
        shutdown_grace: d.shutdown_grace.unwrap_or(Duration::from_secs(10)),
        fai_max_minutes: d.fai_max_minutes.unwrap_or(DEFAULT_FAI_MAX_MINUTES),
        fai_dir: d.fai_dir.unwrap_or_else(|| PathBuf::from(DEFAULT_FAI_DIR)),
        sweep_interval: match d.sweep_interval.unwrap_or(DEFAULT_SWEEP_INTERVAL) {
            0 => None,
            n => Some(Duration::from_secs(n)),
        },
        source: None,
    })
}

/// Plain decimal digits only: `str::parse` would also take a leading `+`.
fn number(value: &str, min: u64, max: u64) -> Result<u64, String> {
    let ok = !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit());
    ok.then(|| value.parse::<u64>().ok())
        .flatten()
        .filter(|n| (min..=max).contains(n))
        .ok_or_else(|| format!("{value:?} is not a number {min}..{max}"))
}

/// Bytes, or a number with a K, M or G suffix (powers of 1024).
fn parse_size(value: &str) -> Option<u64> {
    let (digits, unit) = match value.as_bytes().last()? {
        b'k' | b'K' => (value.get(..value.len() - 1)?, 1u64 << 10),
        b'm' | b'M' => (value.get(..value.len() - 1)?, 1 << 20),
        b'g' | b'G' => (value.get(..value.len() - 1)?, 1 << 30),
        _ => (value, 1),
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse::<u64>().ok()?.checked_mul(unit)
}

/// `1.2.3.4`, `1.2.3.4:port`, `::1`, `[::1]` or `[::1]:port`; the port is
/// `None` when the address has none.
fn parse_listen(value: &str) -> Option<(IpAddr, Option<u16>)> {
    if let Ok(addr) = value.parse::<SocketAddr>() {
        return Some((addr.ip(), Some(addr.port())));
    }
    if let Ok(ip) = value.parse::<IpAddr>() {
        return Some((ip, None));
    }
    let inner = value.strip_prefix('[')?.strip_suffix(']')?;
    inner.parse::<Ipv6Addr>().ok().map(|ip| (ip.into(), None))
}

/// Control characters would be invisible in the file yet compared byte for
/// byte against what a client sends.
fn check_text(key: &str, value: &str, max: usize) -> Result<(), String> {
    if value.is_empty() {
        return Err("missing value".into());
    }
    if value.len() > max {
        return Err(format!("{} bytes is too long (at most {max})", value.len()));
    }
    if value.chars().any(char::is_control) {
        return Err(format!("{key} must not contain control characters"));
    }
    Ok(())
}

fn check_user(user: &str) -> Result<(), String> {
    if user.is_empty() {
        return Err("missing value".into());
    }
    if user.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(format!("{user:?} is not a user name"));
    }
    Ok(())
}

/// Host names only: an address belongs in trp_ipv4/trp_ipv6, and the check
/// keeps blanks or a `:port` from reaching the resolver.
fn check_host(host: &str) -> Result<(), String> {
    let bad = || format!("{host:?} is not a host name");
    let name = host.strip_suffix('.').unwrap_or(host);
    if name.is_empty() || name.len() > 253 {
        return Err(bad());
    }
    for label in name.split('.') {
        let ok = (1..=63).contains(&label.len())
            && !label.starts_with('-')
            && !label.ends_with('-')
            && label
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if !ok {
            return Err(bad());
        }
    }
    Ok(())
}

/// Only catches a block or file that is plainly not PEM; whether the key is
/// usable is for the crypto code to say.
fn check_pem(pem: &[u8]) -> Result<(), String> {
    let has = |needle: &[u8]| pem.windows(needle.len()).any(|w| w == needle);
    if pem.iter().all(u8::is_ascii_whitespace) {
        return Err("empty PEM block".into());
    }
    if !has(b"-----BEGIN ") || !has(b"-----END ") {
        return Err("not PEM text (no -----BEGIN/-----END lines)".into());
    }
    Ok(())
}

/// A PEM that must hold a private key: a public key or certificate here is the
/// usual slip (pub.pem for key.pem), and is named as such rather than left to
/// the key parser's decoder errors.
fn check_private_pem(pem: &[u8]) -> Result<(), String> {
    check_pem(pem)?;
    let has = |needle: &[u8]| pem.windows(needle.len()).any(|w| w == needle);
    if has(b"PRIVATE KEY-----") {
        return Ok(());
    }
    if has(b"PUBLIC KEY-----") {
        return Err("this is a public key; the server needs its private key here \
                    (key.pem, not pub.pem: clients get the public one)"
            .into());
    }
    Err("no PRIVATE KEY block (a certificate or another PEM?); the server needs its RSA private key".into())
}

/// Where a value holds what looks like an end-of-line comment: a `#` after a
/// blank. (A `#` glued to other characters is part of the value, as in the
/// reference's format.)
fn inline_comment(value: &str) -> Option<usize> {
    value
        .char_indices()
        .find(|&(i, c)| c == '#' && i > 0 && value[..i].ends_with(char::is_whitespace))
        .map(|(i, _)| i)
}

/// The example config's `hash CHANGE-ME-...` and its spellings (which
/// `tfd --init-secrets` replaces with a random hash).
pub fn is_placeholder_hash(hash: &str) -> bool {
    let h = hash.to_ascii_lowercase().replace(['-', '_', ' '], "");
    h.contains("changeme") || h.contains("changethis")
}

fn log_level_message(value: &str) -> String {
    format!("{value:?} is not one of error, warn, info, debug, trace")
}

/// A warning, not an error: the file may be protected in other ways (a
/// private directory), but a world-readable key usually is a mistake.
fn warn_if_readable_by_others(path: &Path, what: &str) {
    if let Ok(meta) = fs::metadata(path) {
        if meta.permissions().mode() & 0o044 != 0 {
            log::warn!("{}: {what} is readable by group or others", path.display());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PEM: &str = "-----BEGIN PRIVATE KEY-----\n\
        MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7VJTUt9Us8cKj\n\
        MzEfYyjiWA4R4/M2bS1GB4t7NXp98C3SC6dVMvDuictGeurT8jNbvJZHtCSuYEvu\n\
        -----END PRIVATE KEY-----\n";

    fn reference_config() -> String {
        format!(
            "# reference-style config\n\
             proto 2.4.1\n\
             hash testhash\n\
             dbdir /srv/tfd\n\
             port 10345\n\
             faipath /srv/fai\n\
             defusr tfuser\n\
             userdb /etc/tfd/userdb\n\
             tlb /etc/tfd/tlb\n\
             injail\n\
             privkey {{\n{PEM}}}\n\
             pubkey {{-----BEGIN PUBLIC KEY-----\n\
             MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA\n\
             -----END PUBLIC KEY-----}}\n"
        )
    }

    fn minimal(extra: &str) -> String {
        format!("proto 2.4.1\nhash h\ndbdir /srv\nport 10345\nprivkey_file k.pem\n{extra}")
    }

    fn err(text: &str) -> String {
        match Config::parse_str(text) {
            Ok(c) => panic!("expected an error, got {c:?}"),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn reference_config_parses() {
        let c = Config::parse_str(&reference_config()).unwrap();
        c.validate().unwrap();
        assert_eq!(c.proto, ["2.4.1"]);
        assert_eq!(c.hash, "testhash");
        assert_eq!(c.dbdir, PathBuf::from("/srv/tfd"));
        assert_eq!(c.port, 10345);
        assert_eq!(c.privkey_pem.as_deref(), Some(PEM.as_bytes()));
        let pubkey = String::from_utf8(c.pubkey_pem.clone().unwrap()).unwrap();
        assert!(pubkey.starts_with("-----BEGIN PUBLIC KEY-----\nMIIB"));
        assert!(pubkey.ends_with("-----END PUBLIC KEY-----\n"));
        assert_eq!(c.defusr.as_deref(), Some("tfuser"));
        assert_eq!(c.userdb, Some(PathBuf::from("/etc/tfd/userdb")));
        assert_eq!(c.tlb, Some(PathBuf::from("/etc/tfd/tlb")));
        assert!(c.injail);
        assert_eq!(c.trp, None);
        assert_eq!(
            c.listen,
            vec![
                "0.0.0.0:10345".parse::<SocketAddr>().unwrap(),
                "[::]:10345".parse().unwrap()
            ]
        );
        assert_eq!(c.max_sessions, 512);
        assert_eq!(c.max_sessions_per_ip, 32);
        assert_eq!(c.prelogin_timeout, Duration::from_secs(30));
        assert_eq!(c.idle_timeout, Duration::ZERO);
        assert_eq!(c.hpf_max_buffer, 4 << 20);
        assert_eq!(c.intrw_max, 16 << 20);
        assert_eq!(c.walk_limit, 1_000_000);
        assert_eq!(c.log_level, None);
        assert_eq!(c.source, None);
        let debug = format!("{c:?}");
        assert!(!debug.contains("testhash") && !debug.contains("MIIEvQ"));
    }

    #[test]
    fn example_conf_parses() {
        let c = Config::parse_str(include_str!("../conf/tfd.conf")).unwrap();
        c.validate().unwrap();
        assert_eq!(c.proto, ["2.4.1", "2.5.1"]);
        assert_eq!(c.port, 10345);
        assert_eq!(c.dbdir, PathBuf::from("/srv/tfd"));
        assert_eq!(c.privkey_file, Some(PathBuf::from("/etc/tfd/key.pem")));
    }

    #[test]
    fn example_conf_documents_every_key() {
        let conf = include_str!("../conf/tfd.conf");
        for (key, _) in KEYS {
            assert!(conf.contains(key), "{key} not in conf/tfd.conf");
        }
    }

    #[test]
    fn login_throttle_and_quota_keys() {
        let c = Config::parse_str(&minimal("")).unwrap();
        assert_eq!(
            (c.login_max_failures_ip, c.login_max_failures_user),
            (DEFAULT_LOGIN_MAX_FAILURES_IP, DEFAULT_LOGIN_MAX_FAILURES_USER)
        );
        assert_eq!(
            (c.login_window, c.login_ban, c.login_lock),
            (DEFAULT_LOGIN_WINDOW, DEFAULT_LOGIN_BAN, DEFAULT_LOGIN_BAN)
        );
        assert_eq!(c.quota_default, None);
        let c = Config::parse_str(&minimal(
            "login_max_failures_ip 0\nlogin_max_failures_user 3\nlogin_window 60\nlogin_ban 5\nlogin_lock 7\nquota_default 10M\n",
        ))
        .unwrap();
        assert_eq!((c.login_max_failures_ip, c.login_max_failures_user), (0, 3));
        assert_eq!(c.login_window, Duration::from_secs(60));
        assert_eq!(
            (c.login_ban, c.login_lock),
            (Duration::from_secs(5), Duration::from_secs(7))
        );
        assert_eq!(c.quota_default, Some(10 << 20));
        assert_eq!(
            Config::parse_str(&minimal("quota_default 0\n")).unwrap().quota_default,
            None
        );
        assert!(err(&minimal("login_window 0\n")).contains("login_window"));
        assert!(err(&minimal("login_ban 604801\n")).contains("login_ban"));
        assert!(err(&minimal("login_lock x\n")).contains("login_lock"));
        assert!(err(&minimal("quota_default -1\n")).contains("quota_default"));
        assert!(err(&minimal("login_max_failures_ip 1000001\n")).contains("login_max_failures_ip"));
        assert_eq!(Config::parse_str(&minimal("")).unwrap().shared_state_dir, None);
        assert_eq!(
            Config::parse_str(&minimal("shared_state_dir /srv/tf/.tfd-state\n"))
                .unwrap()
                .shared_state_dir,
            Some(PathBuf::from("/srv/tf/.tfd-state"))
        );
        assert!(err(&minimal("shared_state_dir\n")).contains("shared_state_dir"));
    }

    #[test]
    fn log_target_and_xferlog_keys() {
        use crate::logging::LogTarget;
        let c = Config::parse_str(&minimal("")).unwrap();
        assert_eq!((c.log_target, c.xferlog), (LogTarget::Stderr, None));
        let c = Config::parse_str(&minimal("log_target syslog\nxferlog /var/log/tfd/xferlog\n")).unwrap();
        assert_eq!(c.log_target, LogTarget::Syslog);
        assert_eq!(c.xferlog, Some(PathBuf::from("/var/log/tfd/xferlog")));
        let c = Config::parse_str(&minimal("log_target stderr\n")).unwrap();
        assert_eq!(c.log_target, LogTarget::Stderr);
        for bad in ["journald", "Syslog", "syslog daemon"] {
            let e = err(&minimal(&format!("log_target {bad}\n")));
            assert!(e.starts_with("<config>:6: log_target: "), "{bad}: {e}");
        }
        assert!(err(&minimal("xferlog\n")).starts_with("<config>:6: xferlog: missing value"));
        let mut c = Config::parse_str(&minimal("")).unwrap();
        c.xferlog = Some(PathBuf::new());
        assert!(c.validate().unwrap_err().to_string().contains("xferlog"));
    }

    #[test]
    fn every_key_in_keys_is_accepted() {
        for (key, _) in KEYS {
            let text = minimal(&format!("{key} x\n"));
            if let Err(ConfigError::UnknownKey { .. }) = Config::parse_str(&text) {
                panic!("{key} listed in KEYS but unknown to the parser");
            }
            if let Err(ConfigError::InvalidValue { message, .. }) = Config::parse_str(&text) {
                assert!(!message.contains("tfd bug"), "{key}: {message}");
            }
        }
    }

    #[test]
    fn unknown_key_line_number() {
        let e = err("proto 2.4.1\nhash h\nbogus 1\n");
        assert!(e.starts_with("<config>:3: "), "{e}");
        assert!(e.contains("unknown key \"bogus\""), "{e}");
    }

    #[test]
    fn error_line_numbers() {
        let cases = [
            ("injail yes", 6, "takes no value"),
            ("defusr", 6, "defusr: missing value"),
            ("locksys yes", 6, "takes no value"),
            ("runbash yes", 6, "takes no value"),
            ("runbash_timeout 0", 6, "seconds 1..3600"),
            ("runbash_memory 1M", 6, "at least 16M"),
            ("runbash_output_max 1M", 6, "0..256K"),
            ("runbash_nproc 0", 6, "runbash_nproc"),
            ("flycontext 1", 6, "takes no value"),
            ("max_sessions 0", 6, "max_sessions"),
            ("max_sessions_per_ip 4294967296", 6, "max_sessions_per_ip"),
            ("prelogin_timeout 0", 6, "seconds 1..3600"),
            ("prelogin_timeout 3601", 6, "seconds 1..3600"),
            ("idle_timeout 604801", 6, "idle_timeout"),
            ("walk_limit 0", 6, "walk_limit"),
            ("log_level loud", 6, "log_level"),
            ("trp_ipv4 ::1", 6, "not an IPv4"),
            ("trp_ipv6 1.2.3.4", 6, "not an IPv6"),
            ("trp_dns bad host", 6, "not a host name"),
            ("listen example.com", 6, "not an IP address"),
            ("listen 1.2.3.4:0", 6, "port must be"),
            ("privkey /etc/key.pem", 6, "privkey_file"),
        ];
        for (line, n, want) in cases {
            let e = err(&minimal(&format!("{line}\n")));
            assert!(e.starts_with(&format!("<config>:{n}: ")), "{line}: {e}");
            assert!(e.contains(want), "{line}: {e}");
        }
        let no_port = |port: &str| format!("proto p\nhash h\ndbdir /d\nprivkey_file k\nport {port}\n");
        for port in ["12x", "0", "+80", "65536", "-1", " 8 0"] {
            let e = err(&no_port(port));
            let want = format!("<config>:5: port: {:?} is not a number 1..65535", port.trim());
            assert_eq!(e, want);
        }
        assert_eq!(Config::parse_str(&no_port("65535")).unwrap().port, 65535);
    }

    #[test]
    fn proto_is_repeatable() {
        let base = "hash h\ndbdir /d\nport 1\nprivkey_file k\n";
        let c = Config::parse_str(&format!("proto 2.4.1\n{base}proto 2.5.1\nproto 0.0\n")).unwrap();
        assert_eq!(c.proto, ["2.4.1", "2.5.1", "0.0"]);
        let e = err(&format!("proto 2.4.1\n{base}proto 2.4.1\n"));
        assert!(e.starts_with("<config>:6: proto:") && e.contains("twice"), "{e}");
        let e = err(&format!("proto 2.4.1\n{base}proto {}\n", "p".repeat(32)));
        assert!(e.contains("proto: 32 bytes"), "{e}");
    }

    #[test]
    fn string_value_limits() {
        let text = |proto: &str| format!("proto {proto}\nhash h\ndbdir /d\nport 1\nprivkey_file k\n");
        Config::parse_str(&text(&"p".repeat(31))).unwrap();
        let e = err(&text(&"p".repeat(32)));
        assert!(e.starts_with("<config>:1: proto: 32 bytes"), "{e}");
        let hash = |h: &str| format!("proto p\nhash {h}\ndbdir /d\nport 1\nprivkey_file k\n");
        Config::parse_str(&hash(&"h".repeat(255))).unwrap();
        assert!(err(&hash(&"h".repeat(256))).starts_with("<config>:2: hash:"));
        // Interior blanks and '#' are part of a value; only the ends are trimmed.
        let c = Config::parse_str(&hash("  a b#c  ")).unwrap();
        assert_eq!(c.hash, "a b#c");
    }

    #[test]
    fn missing_keys() {
        assert_eq!(err(""), "<config>: missing required key proto");
        assert!(err("proto p\nhash h\ndbdir /d\nprivkey_file k\n").contains("key port"));
        assert!(err("proto p\nhash h\ndbdir /d\nport 1\n").contains("privkey or privkey_file"));
        assert!(err("proto p\nhash h\ndbdir\n").starts_with("<config>:3: dbdir: missing value"));
    }

    #[test]
    fn duplicate_key() {
        let e = err(&minimal("hash again\n"));
        assert_eq!(e, "<config>:6: duplicate key \"hash\" (first given on line 2)");
        let e = err(&minimal("injail\ninjail\n"));
        assert!(e.starts_with("<config>:7: duplicate key \"injail\""), "{e}");
    }

    #[test]
    fn two_private_key_sources() {
        let e = err(&minimal(&format!("privkey {{\n{PEM}}}\n")));
        assert!(e.starts_with("<config>:6: "), "{e}");
        assert!(e.contains("exactly one"), "{e}");
    }

    #[test]
    fn two_trp_targets() {
        let e = err(&minimal("trp_ipv4 192.0.2.1\ntrp_dns example.net\n"));
        assert!(
            e.starts_with("<config>:7: trp_dns conflicts with trp_ipv4 on line 6"),
            "{e}"
        );
        let c = Config::parse_str(&minimal("trp_ipv6 2001:db8::1\n")).unwrap();
        assert_eq!(c.trp, Some(Trp::V6("2001:db8::1".parse().unwrap())));
        let c = Config::parse_str(&minimal("trp_dns proxy.example.net.\n")).unwrap();
        assert_eq!(c.trp, Some(Trp::Dns("proxy.example.net.".into())));
    }

    #[test]
    fn unterminated_block() {
        let text = "proto p\nhash h\n\nprivkey {\n-----BEGIN PRIVATE KEY-----\nAAAA\n";
        let e = err(text);
        assert_eq!(e, "<config>:4: privkey block opened here is never closed with \"}\"");
        let e = err("proto p\npubkey {\n");
        assert!(e.starts_with("<config>:2: pubkey block"), "{e}");
    }

    #[test]
    fn block_forms() {
        let base = "proto p\nhash h\ndbdir /d\nport 1\n";
        // Text on the `{` and `}` lines belongs to the PEM; CR and indentation go.
        let text = format!(
            "{base}privkey{{-----BEGIN PRIVATE KEY-----\r\n  AAAA\r\n# dropped\r\n\
             -----END PRIVATE KEY-----}}\r\n"
        );
        let c = Config::parse_str(&text).unwrap();
        assert_eq!(
            c.privkey_pem.as_deref(),
            Some(&b"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"[..])
        );
        let e = err(&format!("{base}privkey {{\n{PEM}}} trailing\n"));
        assert!(e.starts_with("<config>:10: privkey: unexpected text"), "{e}");
        let e = err(&format!("{base}privkey {{ }}\n"));
        assert!(e.starts_with("<config>:5: privkey: empty PEM block"), "{e}");
        let e = err(&format!("{base}privkey {{\nnot a key\n}}\n"));
        assert!(e.starts_with("<config>:5: privkey: not PEM"), "{e}");
    }

    #[test]
    fn listen_forms() {
        let c = Config::parse_str(&minimal(
            "listen 192.0.2.1\nlisten 192.0.2.2:8080\nlisten ::1\nlisten [::1]:9090\nlisten [fe80::2]\n",
        ))
        .unwrap();
        let want: Vec<SocketAddr> = [
            "192.0.2.1:10345",
            "192.0.2.2:8080",
            "[::1]:10345",
            "[::1]:9090",
            "[fe80::2]:10345",
        ]
        .iter()
        .map(|s| s.parse().unwrap())
        .collect();
        assert_eq!(c.listen, want);

        // No port key is fine when every listen has its own.
        let text = "proto p\nhash h\ndbdir /d\nprivkey_file k\nlisten [::1]:7000\nlisten 127.0.0.1:7001\n";
        let c = Config::parse_str(text).unwrap();
        assert_eq!(c.port, 7000);
        let text = "proto p\nhash h\ndbdir /d\nprivkey_file k\nlisten [::1]:7000\nlisten 127.0.0.1\n";
        let e = err(text);
        assert!(e.starts_with("<config>:6: listen 127.0.0.1 has no port"), "{e}");

        let e = err(&minimal("listen ::1\nlisten [::1]:10345\n"));
        assert!(
            e.starts_with("<config>:7: listen address [::1]:10345 given twice"),
            "{e}"
        );
    }

    #[test]
    fn rate_limit_keys() {
        let c = Config::parse_str(&minimal("")).unwrap();
        assert_eq!(c.rate_limits, crate::bandwidth::Rates::default());
        assert!(!c.rate_limits.any(), "no limit unless configured");
        let c = Config::parse_str(&minimal(
            "rate_limit_session 10M\nrate_limit_user 512K\nrate_limit_total 1048576\n",
        ))
        .unwrap();
        assert_eq!(c.rate_limits.session, 10 << 20);
        assert_eq!(c.rate_limits.user, 512 << 10);
        assert_eq!(c.rate_limits.total, 1 << 20);
        assert_eq!(
            Config::parse_str(&minimal("rate_limit_total 0\n"))
                .unwrap()
                .rate_limits
                .total,
            0
        );
        for bad in [
            "rate_limit_session -1",
            "rate_limit_user 2T",
            "rate_limit_total 1.5M",
            "rate_limit_total M",
            "rate_limit_session 2048G",
        ] {
            let e = Config::parse_str(&minimal(&format!("{bad}\n")))
                .unwrap_err()
                .to_string();
            assert!(e.contains("not a rate"), "{bad}: {e}");
        }
    }

    #[test]
    fn intrw_max_sizes() {
        let size = |v: &str| Config::parse_str(&minimal(&format!("intrw_max {v}\n")));
        assert_eq!(size("1").unwrap().intrw_max, 1);
        assert_eq!(size("1K").unwrap().intrw_max, 1024);
        assert_eq!(size("2047M").unwrap().intrw_max, 2047 << 20);
        for bad in ["0", "2G", "-1", "x"] {
            assert!(size(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn hpf_max_buffer_sizes() {
        let size = |v: &str| Config::parse_str(&minimal(&format!("hpf_max_buffer {v}\n")));
        assert_eq!(size("1").unwrap().hpf_max_buffer, 1);
        assert_eq!(size("65536").unwrap().hpf_max_buffer, 65536);
        assert_eq!(size("512K").unwrap().hpf_max_buffer, 512 << 10);
        assert_eq!(size("512k").unwrap().hpf_max_buffer, 512 << 10);
        assert_eq!(size("8M").unwrap().hpf_max_buffer, 8 << 20);
        assert_eq!(size("64M").unwrap().hpf_max_buffer, 64 << 20);
        assert_eq!(size("65536K").unwrap().hpf_max_buffer, 64 << 20);
        for bad in [
            "0",
            "0M",
            "65M",
            "67108865",
            "1G",
            "M",
            "4MB",
            "-1",
            "4.5M",
            "99999999999999999999G",
            "18014398509481984K",
        ] {
            let e = size(bad).unwrap_err().to_string();
            assert!(e.starts_with("<config>:6: hpf_max_buffer: "), "{bad}: {e}");
            assert!(e.contains("is not a size 1..64M"), "{bad}: {e}");
        }
    }

    #[test]
    fn proxy_keys() {
        let c = Config::parse_str(&minimal(
            "proxy_protocol v2\nproxy_from 127.0.0.1, 10.0.0.0/8 ::1 fd00::/8\n",
        ))
        .unwrap();
        assert_eq!(c.proxy_protocol, ProxyProtocol::V2);
        assert_eq!(c.proxy_from.len(), 4);
        let has = |ip: &str| c.proxy_from.iter().any(|r| r.contains(ip.parse().unwrap()));
        assert!(has("127.0.0.1") && has("10.200.3.4") && has("::1") && has("fd12::1") && has("::ffff:10.0.0.1"));
        assert!(!has("127.0.0.2") && !has("11.0.0.1") && !has("fe80::1"));
        assert_eq!(
            Config::parse_str(&minimal("")).unwrap().proxy_protocol,
            ProxyProtocol::Off
        );
        assert!(Config::parse_str(&minimal("proxy_protocol v2\n")).is_err());
        assert!(Config::parse_str(&minimal("proxy_protocol v3\nproxy_from ::1\n")).is_err());
        for bad in ["1.2.3.4/33", "::1/129", "1.2.3.4/", "x", "1.2.3.4/-1"] {
            assert!(
                Config::parse_str(&minimal(&format!("proxy_from {bad}\n"))).is_err(),
                "{bad}"
            );
        }
        assert!(Cidr::parse("0.0.0.0/0")
            .unwrap()
            .contains("203.0.113.9".parse().unwrap()));
    }

    #[test]
    fn secure_transport_key() {
        let parse = |v: &str| Config::parse_str(&minimal(&format!("secure_transport {v}\n")));
        assert_eq!(
            Config::parse_str(&minimal("")).unwrap().secure_transport,
            SecureTransport::Allow
        );
        assert_eq!(parse("off").unwrap().secure_transport, SecureTransport::Off);
        assert_eq!(parse("require").unwrap().secure_transport, SecureTransport::Require);
        assert!(parse("yes").is_err());
    }

    #[test]
    fn sync_uploads_flag() {
        let parse = |v: &str| Config::parse_str(&minimal(&format!("sync_uploads {v}\n")));
        assert!(Config::parse_str(&minimal("")).unwrap().sync_uploads);
        assert!(!parse("no").unwrap().sync_uploads);
        assert!(parse("yes").unwrap().sync_uploads);
        assert!(parse("maybe").is_err());
        assert!(parse("").is_err());
    }

    #[test]
    fn direct_io_min_sizes() {
        let size = |v: &str| Config::parse_str(&minimal(&format!("direct_io_min {v}\n")));
        assert_eq!(Config::parse_str(&minimal("")).unwrap().direct_io_min, 1 << 20);
        assert_eq!(size("0").unwrap().direct_io_min, 0);
        assert_eq!(size("512K").unwrap().direct_io_min, 512 << 10);
        assert_eq!(size("64M").unwrap().direct_io_min, 64 << 20);
        for bad in ["65M", "1G", "off", "-1", "1.5M"] {
            let e = size(bad).unwrap_err().to_string();
            assert!(e.starts_with("<config>:6: direct_io_min: "), "{bad}: {e}");
            assert!(e.contains("is not a size 0..64M"), "{bad}: {e}");
        }
    }

    #[test]
    fn numbers_and_durations() {
        let c = Config::parse_str(&minimal(
            "max_sessions 10\nmax_sessions_per_ip 2\npriority_boost 0\nprelogin_timeout 3600\n\
             idle_timeout 604800\nwalk_limit 5\nlog_level DEBUG\n",
        ))
        .unwrap();
        assert_eq!(c.max_sessions, 10);
        assert_eq!(c.max_sessions_per_ip, 2);
        assert_eq!(c.priority_boost, 0);
        assert_eq!(
            Config::parse_str(&minimal("")).unwrap().priority_boost,
            DEFAULT_PRIORITY_BOOST
        );
        assert!(Config::parse_str(&minimal("priority_boost 20\n")).is_err());
        assert!(Config::parse_str(&minimal("priority_boost -1\n")).is_err());
        assert_eq!(c.prelogin_timeout, Duration::from_secs(3600));
        assert_eq!(c.idle_timeout, Duration::from_secs(604800));
        assert_eq!(c.walk_limit, 5);
        assert_eq!(c.log_level.as_deref(), Some("debug"));
    }

    #[test]
    fn crlf_line_endings() {
        let text = minimal("injail\nlisten [::1]:99\n").replace('\n', "\r\n");
        let c = Config::parse_str(&text).unwrap();
        assert_eq!(c.proto, ["2.4.1"]);
        assert_eq!(c.hash, "h");
        assert_eq!(c.privkey_file, Some(PathBuf::from("k.pem")));
        assert!(c.injail);
        let text = format!(
            "proto p\r\nhash h\r\ndbdir /d\r\nport 1\r\nprivkey {{\r\n{}}}\r\n",
            PEM.replace('\n', "\r\n")
        );
        let c = Config::parse_str(&text).unwrap();
        assert_eq!(c.privkey_pem.as_deref(), Some(PEM.as_bytes()));
        // A byte-order mark from a Windows editor is not part of the first key.
        Config::parse_str(&format!("\u{feff}{}", minimal(""))).unwrap();
    }

    #[test]
    fn ignored_keys_accepted() {
        let c = Config::parse_str(&minimal(
            "faipath /srv/fai\nxsntmex /x\nxsace /y\nrpcproxy /z\n\
             nprocmax -1\nsecurefs\ndiskspace 10G\n",
        ))
        .unwrap();
        assert_eq!(c, Config::parse_str(&minimal("")).unwrap());
    }

    /// The reference's `faitok_mq` is FAITOK's cap in minutes, as
    /// `fai_max_minutes` is: a migrated file keeps its cap (it used to be
    /// ignored, so `faitok_mq 500` became 360). Both at once is a duplicate.
    #[test]
    fn faitok_mq_is_fai_max_minutes() {
        assert_eq!(
            Config::parse_str(&minimal("faitok_mq 500\n")).unwrap().fai_max_minutes,
            500
        );
        assert_eq!(Config::parse_str(&minimal("faitok_mq 0\n")).unwrap().fai_max_minutes, 0);
        let both = err(&minimal("fai_max_minutes 30\nfaitok_mq 500\n"));
        assert!(both.contains("fai_max_minutes") && both.contains("faitok_mq"), "{both}");
        assert!(Config::parse_str(&minimal("faitok_mq 525601\n")).is_err());
    }

    #[test]
    fn comments_and_blank_lines() {
        let c = Config::parse_str(&minimal("\n   \n\t# injail\n  #port 1\n")).unwrap();
        assert!(!c.injail);
        assert_eq!(c.port, 10345);
    }

    #[test]
    fn validate_hand_built() {
        let mut c = Config::parse_str(&minimal("")).unwrap();
        c.validate().unwrap();
        c.privkey_file = None;
        assert!(c.validate().unwrap_err().to_string().contains("privkey"));
        c.privkey_pem = Some(PEM.as_bytes().to_vec());
        c.validate().unwrap();
        c.hpf_max_buffer = 0;
        assert_eq!(
            c.validate().unwrap_err().to_string(),
            "<config>: hpf_max_buffer: must be 1..67108864 bytes"
        );
        c.hpf_max_buffer = 1;
        c.listen.clear();
        assert!(c.validate().is_err());
    }

    #[test]
    fn never_panics() {
        // A cheap stand-in for the fuzzer: every prefix of a full config, and
        // pseudo-random mixes of the characters the parser cares about.
        let full = format!("{}listen [::1]:5\nhpf_max_buffer 4M\n", reference_config());
        for (i, _) in full.char_indices() {
            let _ = Config::parse_str(&full[..i]);
        }
        let alphabet: Vec<char> = "privkey pubkey{}#\n\r \t:[]0123456789KMGport listen hash\u{feff}é"
            .chars()
            .collect();
        let mut state: u64 = 0x2545_f491_4f6c_dd1d;
        for _ in 0..2000 {
            let mut s = String::new();
            for _ in 0..(state % 200) {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                s.push(alphabet[(state % alphabet.len() as u64) as usize]);
            }
            let _ = Config::parse_str(&s);
            let _ = Config::parse_str(&minimal(&s));
        }
    }

    #[test]
    fn comment_after_a_value_is_reported_with_its_line() {
        let e = err("proto 2.4.1\nhash h\ndbdir /d\nport 10345 # the port\nprivkey_file k\n");
        assert!(
            e.starts_with("<config>:4: port: \"# the port\" after the value looks like a comment"),
            "{e}"
        );
        let e = err("proto 2.4.1\nhash secret   # not part of it\ndbdir /d\nport 1\nprivkey_file k\n");
        assert!(e.starts_with("<config>:2: hash:"), "{e}");
        assert!(e.contains("on a line of their own"), "{e}");
        // glued to the value it is part of it (the reference's format)
        assert_eq!(Config::parse_str(&minimal("")).unwrap().hash, "h");
        let c = Config::parse_str("proto p\nhash a#b\ndbdir /d\nport 1\nprivkey_file k\n").unwrap();
        assert_eq!(c.hash, "a#b");
    }

    #[test]
    fn public_key_as_private_key_is_named() {
        let public = "-----BEGIN PUBLIC KEY-----\nMIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAu1SU1LfVLPHCozMxH2Mo\n-----END PUBLIC KEY-----\n";
        let text = format!("proto p\nhash h\ndbdir /d\nport 1\nprivkey {{\n{public}}}\n");
        let e = err(&text);
        assert!(e.starts_with("<config>:5: privkey: this is a public key"), "{e}");
        let dir = temp_dir("pubkey-as-private");
        fs::create_dir(dir.join("data")).unwrap();
        fs::write(dir.join("pub.pem"), public).unwrap();
        let conf = dir.join("tfd.conf");
        fs::write(&conf, "proto 2.4.1\nhash h\ndbdir data\nport 1\nprivkey_file pub.pem\n").unwrap();
        let e = Config::load(&conf).unwrap_err().to_string();
        assert!(
            e.starts_with(&format!("{}:5: privkey_file: ", conf.display())) && e.contains("is a public key"),
            "{e}"
        );
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn placeholder_hash_is_refused_by_load() {
        let dir = temp_dir("placeholder");
        fs::create_dir(dir.join("data")).unwrap();
        fs::write(dir.join("key.pem"), PEM).unwrap();
        let conf = dir.join("tfd.conf");
        let text = |h: &str| format!("proto 2.4.1\nhash {h}\ndbdir data\nport 1\nprivkey_file key.pem\n");
        // the example's own line, as conf/tfd.conf ships it
        let example = include_str!("../conf/tfd.conf");
        let line = example.lines().find(|l| l.starts_with("hash ")).unwrap();
        fs::write(&conf, text(line.trim_start_matches("hash "))).unwrap();
        let e = Config::load(&conf).unwrap_err().to_string();
        assert!(
            e.starts_with(&format!("{}:2: hash: ", conf.display())) && e.contains("placeholder"),
            "{e}"
        );
        fs::write(&conf, text("change_me")).unwrap();
        assert!(Config::load(&conf).unwrap_err().to_string().contains("placeholder"));
        fs::write(&conf, text("3f9a0c1b2d")).unwrap();
        Config::load(&conf).unwrap();
        fs::remove_dir_all(&dir).unwrap();
    }

    fn temp_dir(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("tfd-config-{}-{name}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn load_resolves_relative_paths() {
        let dir = temp_dir("load");
        fs::create_dir(dir.join("root")).unwrap();
        fs::create_dir(dir.join("keys")).unwrap();
        fs::write(dir.join("keys/key.pem"), PEM).unwrap();
        let conf = dir.join("tfd.conf");
        fs::write(
            &conf,
            "proto 2.4.1\nhash h\ndbdir root/.\nport 10345\nprivkey_file keys/key.pem\nuserdb users\ntlb /abs/tlb\n",
        )
        .unwrap();
        let canon = fs::canonicalize(&dir).unwrap();
        let c = Config::load(&conf).unwrap();
        assert_eq!(c.dbdir, canon.join("root"));
        assert_eq!(c.privkey_file, Some(canon.join("keys/key.pem")));
        assert_eq!(c.privkey_pem.as_deref(), Some(PEM.as_bytes()));
        assert_eq!(c.userdb, Some(canon.join("users")));
        assert_eq!(c.tlb, Some(PathBuf::from("/abs/tlb")));
        assert_eq!(c.source, Some(canon.join("tfd.conf")));
        c.validate().unwrap();

        // the shared state beside the served tree, never inside it
        let text = fs::read_to_string(&conf).unwrap();
        fs::write(&conf, format!("{text}shared_state_dir state\n")).unwrap();
        assert_eq!(Config::load(&conf).unwrap().shared_state_dir, Some(canon.join("state")));
        fs::write(&conf, format!("{text}shared_state_dir root/new/state\n")).unwrap();
        let e = Config::load(&conf).unwrap_err().to_string();
        assert!(e.contains("shared_state_dir") && e.contains("inside dbdir"), "{e}");
        fs::write(&conf, text).unwrap();

        // A missing key file names the privkey_file line.
        fs::remove_file(dir.join("keys/key.pem")).unwrap();
        let e = Config::load(&conf).unwrap_err().to_string();
        assert!(e.starts_with(&format!("{}:5: privkey_file: ", conf.display())), "{e}");
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn load_errors() {
        let dir = temp_dir("errors");
        let conf = dir.join("tfd.conf");
        fs::write(
            &conf,
            format!("proto p\nhash h\n\ndbdir missing\nport 1\nprivkey {{\n{PEM}}}\n"),
        )
        .unwrap();
        let e = Config::load(&conf).unwrap_err();
        assert!(matches!(e, ConfigError::Resolve { line: Some(4), .. }), "{e}");
        assert!(
            e.to_string().starts_with(&format!("{}:4: dbdir: ", conf.display())),
            "{e}"
        );

        fs::write(dir.join("plain"), "").unwrap();
        fs::write(
            &conf,
            format!("proto p\nhash h\ndbdir plain\nport 1\nprivkey {{\n{PEM}}}\n"),
        )
        .unwrap();
        let e = Config::load(&conf).unwrap_err().to_string();
        assert!(e.contains(":3: dbdir: ") && e.ends_with("is not a directory"), "{e}");

        fs::write(&conf, "proto p\nbogus\n").unwrap();
        let e = Config::load(&conf).unwrap_err().to_string();
        assert_eq!(e, format!("{}:2: unknown key \"bogus\"", conf.display()));

        fs::write(&conf, b"proto p\nhash \xff\n").unwrap();
        let e = Config::load(&conf).unwrap_err().to_string();
        assert_eq!(e, format!("{}:2: not valid UTF-8", conf.display()));

        fs::write(&conf, vec![b'#'; MAX_FILE_SIZE as usize + 1]).unwrap();
        let e = Config::load(&conf).unwrap_err();
        assert!(matches!(e, ConfigError::TooLarge { .. }), "{e}");

        let e = Config::load(&dir.join("absent.conf")).unwrap_err();
        assert!(matches!(&e, ConfigError::Read { error, .. } if error.kind() == io::ErrorKind::NotFound));
        fs::remove_dir_all(&dir).unwrap();
    }
}
