//! `tfd demo`: a zero-setup server for trying tfd out. First run creates a key
//! pair, a random hash, a config and a data directory under one folder; every run
//! serves that folder on 127.0.0.1 as the invoking user and prints how to connect.

use crate::config::Config;
use openssl::error::ErrorStack;
use openssl::rsa::Rsa;
use std::fmt;
use std::fs;
use std::io::{self, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

/// The default demo folder and port.
pub(crate) const DEFAULT_DIR: &str = "tfd-demo";
/// See [`DEFAULT_DIR`].
pub(crate) const DEFAULT_PORT: u16 = 10345;

/// Why the demo could not be set up (after `tfd: `).
#[derive(Debug)]
pub enum DemoError {
    /// A file or folder of the demo could not be made: which, and why.
    At(PathBuf, io::Error),
    /// OpenSSL failed making the key pair.
    Openssl(ErrorStack),
    /// No randomness for the hash.
    Random(getrandom::Error),
    /// The port is taken: the message with the way out, worked out when the
    /// bind failed (it probes the ports after it).
    PortTaken(String),
}

impl fmt::Display for DemoError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DemoError::At(p, e) => write!(f, "{}: {e}", p.display()),
            DemoError::Openssl(e) => write!(f, "{e}"),
            DemoError::Random(e) => write!(f, "{e}"),
            DemoError::PortTaken(why) => f.write_str(why),
        }
    }
}

impl std::error::Error for DemoError {}

impl From<ErrorStack> for DemoError {
    fn from(e: ErrorStack) -> DemoError {
        DemoError::Openssl(e)
    }
}

impl From<getrandom::Error> for DemoError {
    fn from(e: getrandom::Error) -> DemoError {
        DemoError::Random(e)
    }
}

/// Writes `data` to `path` whole or not at all, unless `path` is there
/// already (another demo started from the same folder made it first, and
/// its file stands): written under a name of this process's, then linked
/// to `path`, which fails where it exists. A demo killed midway leaves a
/// stray temporary at most, never a half-written file that the next run
/// would take as made.
fn write_once(path: &Path, mode: u32, data: &[u8]) -> Result<(), DemoError> {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(format!(".{}.tmp", std::process::id()));
    let tmp = PathBuf::from(tmp);
    let write = || -> io::Result<()> {
        let _ = fs::remove_file(&tmp);
        let mut f = fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(mode)
            .open(&tmp)?;
        f.write_all(data)?;
        f.sync_all()?;
        match fs::hard_link(&tmp, path) {
            Err(e) if e.kind() != io::ErrorKind::AlreadyExists => Err(e),
            _ => Ok(()),
        }
    };
    let r = write();
    let _ = fs::remove_file(&tmp);
    r.map_err(|e| DemoError::At(path.to_path_buf(), e))
}

/// Creates what is missing in `dir` and returns the config path. Each
/// file is made whole or not at all ([`write_once`]); a public key missing
/// beside a private one (a run killed between the two) is made again from
/// it, so an interrupted first run never leaves a folder the next cannot
/// serve.
pub fn prepare(dir: &Path, port: u16) -> Result<PathBuf, DemoError> {
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir.join("data"))
        .map_err(|e| DemoError::At(dir.to_path_buf(), e))?;
    let key = dir.join("key.pem");
    let public = dir.join("pub.pem");
    if !key.exists() {
        let pkey = openssl::pkey::PKey::from_rsa(Rsa::generate(2048)?)?;
        write_once(&key, 0o600, &pkey.private_key_to_pem_pkcs8()?)?;
        let _ = fs::remove_file(&public);
        eprintln!("tfd demo: generated a new RSA-2048 key pair in {}", dir.display());
    }
    if !public.exists() {
        let pem = match fs::read(&key) {
            Ok(pem) => pem,
            Err(e) => return Err(DemoError::At(key, e)),
        };
        let pkey = openssl::pkey::PKey::private_key_from_pem(&pem)?;
        write_once(&public, 0o644, &pkey.public_key_to_pem()?)?;
    }
    let conf = dir.join("tfd.conf");
    if !conf.exists() {
        let mut h = [0u8; 16];
        getrandom::getrandom(&mut h)?;
        let hash = tfp_wire::hex::encode(&h);
        let text = format!(
            "# tfd demo configuration (generated; see conf/tfd.conf for every key)\n\
             proto 2.4.1\nproto 2.5.1\nhash {hash}\ndbdir data\nport {port}\nlisten 127.0.0.1\nprivkey_file key.pem\n\
             # Fast Access tokens stay in the demo's folder, not in /var/lib/tfd\nfai_dir fai\n"
        );
        write_once(&conf, 0o600, text.as_bytes())?;
    }
    Ok(conf)
}

/// The demo's admin socket: in its folder, named by port, so two demos from
/// one folder (the second on `--port`) do not contend for it.
pub fn control_socket(dir: &Path, port: u16) -> PathBuf {
    let p = dir.join(format!("ctl-{port}.sock"));
    std::path::absolute(&p).unwrap_or(p)
}

/// Fails with a hint when the demo's port is taken (TCP or UDP, both are
/// served), before anything is created or printed. The real bind follows in
/// the listener; this only turns the common case into a clear message.
pub(crate) fn check_port(port: u16) -> Result<(), DemoError> {
    match bind_both(port) {
        Ok(()) => Ok(()),
        Err(e) => Err(DemoError::PortTaken(port_message(&e.to_string(), port))),
    }
}

/// Binds (and drops) TCP and UDP on 127.0.0.1:`port`, as the demo serves both.
fn bind_both(port: u16) -> std::io::Result<()> {
    let addr = std::net::SocketAddr::from(([127, 0, 0, 1], port));
    let tcp = super::listener::bind(addr).map(drop);
    let udp = std::net::UdpSocket::bind(addr).map(drop);
    tcp.and(udp)
}

/// How many ports after a taken one are tried for the hint.
const PORTS_TRIED: u16 = 100;

/// The first port after `port` that is free now (TCP and UDP), for the hint:
/// suggesting `port + 1` unchecked sent the user from one taken port to the next
/// (two demos side by side).
fn next_free_port(port: u16) -> Option<u16> {
    (1..=PORTS_TRIED)
        .filter_map(|i| port.checked_add(i))
        .find(|p| bind_both(*p).is_ok())
}

/// The message for a failed bind of the demo's port, with the way out.
pub(crate) fn port_message(err: &str, port: u16) -> String {
    let hint = match next_free_port(port) {
        Some(other) => format!("hint: pick another port: tfd demo --port {other} (free just now)"),
        None => format!(
            "hint: no port from {} to {} is free either: pick one with tfd demo --port PORT",
            port.saturating_add(1),
            port.saturating_add(PORTS_TRIED)
        ),
    };
    if err.contains("in use") {
        format!("port {port} on 127.0.0.1 is already in use (another tfd demo, or another program)\n{hint}")
    } else {
        format!("cannot listen on 127.0.0.1:{port}: {err}\n{hint}")
    }
}

/// The warning for a demo started as root: it serves as the invoking user, so
/// every client would act as root in the demo's folder (files it makes are
/// root's, and a RUNBASH or a misconfiguration would be root's too).
pub(crate) fn root_warning(dir: &Path) -> String {
    format!(
        "tfd demo: WARNING: started as root, so this demo serves as root: every client that connects \
         acts as root in {} (the files it makes are root's). The demo needs no privilege: stop it \
         (Ctrl-C) and run it as an ordinary user. (A real server started as root runs each session \
         as its LOGIN user or defusr instead: tfd(8).)",
        dir.display()
    )
}

/// The programs the banner's commands run: the absolute paths of this tfd
/// and of the `tf` beside it (cargo builds both into target/release,
/// scripts/install both into one bin directory), so each line works as
/// printed whatever PATH holds; `None` for a `tf` that is not there.
fn programs() -> (String, Option<String>) {
    let exe = std::env::current_exe().ok();
    let tfd = exe
        .as_ref()
        .map_or_else(|| "tfd".to_string(), |p| p.display().to_string());
    let tf = exe
        .as_ref()
        .map(|p| p.with_file_name("tf"))
        .filter(|p| p.is_file())
        .map(|p| p.display().to_string());
    (tfd, tf)
}

/// How to connect from Python: tfd's own package when the demo runs in a
/// checkout (`./python`, built with pip), the PyPI client otherwise.
fn python_lines(checkout: bool, addr: &str, host: &str, port: &str, pk: &Path, cfg: &Config) -> String {
    let (proto, hash, pk) = (
        cfg.proto.first().map(String::as_str).unwrap_or_default(),
        &cfg.hash,
        pk.display(),
    );
    if checkout {
        format!(
            "python3 -m venv tfd-venv && tfd-venv/bin/pip install ./python\n  \
             tfd-venv/bin/python -c 'import tfd_client; \
             s = tfd_client.connect(\"{addr}\", key=\"{pk}\", hash=\"{hash}\"); print(s.echo(\"hello\")); s.close()'"
        )
    } else {
        format!(
            "python3 -m venv tfd-venv && tfd-venv/bin/pip install tfprotocol-client==1.2.2\n  \
             tfd-venv/bin/python -c 'from tfprotocol_client.tfprotocol import TfProtocol; \
             t = TfProtocol(\"{proto}\", open(\"{pk}\").read(), \"{hash}\", \"{host}\", {port}); t.connect(); \
             t.echo_command(\"hello\", lambda r: print(r)); t.disconnect()'"
        )
    }
}

/// The connection instructions for a loaded demo config, printed once the
/// server listens (so they are never shown for a server that could not start).
pub(crate) fn instructions(dir: &Path, cfg: &Config) -> String {
    let addr = cfg.listen.first().map(|a| a.to_string()).unwrap_or_default();
    let (host, port) = addr.rsplit_once(':').unwrap_or(("127.0.0.1", "10345"));
    let pubkey = dir.join("pub.pem");
    let d = cfg.dbdir.display();
    let (tfd, tf) = programs();
    let ctl = cfg
        .control_socket
        .as_ref()
        .map(|p| {
            format!(
                "\n\nAdminister it (sessions, kick, ban, stats, reload):\n  {tfd} ctl --socket {} stats",
                p.display()
            )
        })
        .unwrap_or_default();
    let tf_lines = match &tf {
        Some(tf) => format!(
            "  {tf} --server {addr} --key {pk} --hash {hash} ls\n  \
             {tf} --server {addr} --key {pk} --hash {hash} echo hello\n",
            pk = pubkey.display(),
            hash = cfg.hash,
        ),
        None => format!(
            "  (tf is not beside this tfd, in {}: build it with cargo build --release, then)\n  \
             target/release/tf --server {addr} --key {pk} --hash {hash} echo hello\n",
            Path::new(&tfd).parent().unwrap_or(Path::new(".")).display(),
            pk = pubkey.display(),
            hash = cfg.hash,
        ),
    };
    // what tf shows on a first contact without --key, to compare
    let fingerprint = std::fs::read(&pubkey)
        .ok()
        .and_then(|pem| openssl::rsa::Rsa::public_key_from_pem(&pem).ok())
        .map(|rsa| {
            format!(
                "The server's key fingerprint (tf shows it on a first contact without --key):\n  {}\n\n",
                super::fingerprint(&rsa)
            )
        })
        .unwrap_or_default();
    format!(
        "tfd demo: serving {d} on {addr} (protocol {proto}, hash {hash})\n\n\
         Connect with the tf CLI (another terminal, same directory):\n\
         {tf_lines}\n\
         {fingerprint}\
         Connect from Python, in a virtual environment:\n  \
         {python}{ctl}\n\n\
         Stop with Ctrl-C.",
        python = python_lines(
            Path::new("python/pyproject.toml").is_file(),
            &addr,
            host,
            port,
            &pubkey,
            cfg
        ),
        proto = cfg.proto.first().map(String::as_str).unwrap_or_default(),
        hash = cfg.hash,
    )
}
