//! End-to-end test support: every test starts the real `tfd` binary on a fresh
//! loopback port with its own data directory, and talks to it over TCP.
#![allow(dead_code)]

pub mod acl;
pub mod archive;
pub mod gluster;
pub mod intrw;
pub mod java;
pub mod liar;
pub mod need;
pub mod perms;
pub mod procs;
pub use procs::{
    all_children_of, assert_runs_as_nobody, children_of, fai_issuer_of, helper_kind, is_fai_issuer, is_helper,
    is_key_process, is_sweeper, is_udp_responder, key_process_of, proc_stat, proc_stats, sweeper_of, udp_responder_of,
};
pub mod pty;
pub mod reply;
pub mod rounds;
pub mod tmpfs;
pub mod users;
pub mod wan;
pub mod watchdog;
pub mod xattrs;

#[allow(unused_imports)]
pub use need::{require, require_root, require_tool};

use openssl::pkey::PKey;
use openssl::rsa::Rsa;
use std::io::Read;
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};
use tfp_client::{Client, ClientConfig};

/// The checkout: the workspace's root, two levels above this crate.
pub fn repo_root() -> &'static Path {
    let here = Path::new(env!("CARGO_MANIFEST_DIR"));
    here.parent()
        .and_then(Path::parent)
        .expect("crates/tfd-testkit lies two levels down")
}

/// A binary of the daemon's package (`tfd`, `tfpasswd`). Cargo builds them
/// before the package's tests and benches, into the directory above the
/// running test's `deps/`; this crate is a dependency of those tests, not one
/// of them, so Cargo gives it no `CARGO_BIN_EXE_*` to say so.
pub fn daemon_bin(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("the running test's path");
    let dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("a test runs from target/<profile>/deps");
    dir.join(name)
}

/// The `tfd` under test ([`daemon_bin`]).
pub fn tfd_bin() -> &'static Path {
    static TFD: OnceLock<PathBuf> = OnceLock::new();
    TFD.get_or_init(|| daemon_bin("tfd"))
}

static KEYS: OnceLock<(Vec<u8>, Vec<u8>)> = OnceLock::new();

/// One RSA-2048 key pair per test binary (generation is the slow part).
pub fn keys() -> &'static (Vec<u8>, Vec<u8>) {
    KEYS.get_or_init(|| {
        let rsa = Rsa::generate(2048).unwrap();
        let pkey = PKey::from_rsa(rsa).unwrap();
        (
            pkey.private_key_to_pem_pkcs8().unwrap(),
            pkey.public_key_to_pem().unwrap(),
        )
    })
}

/// Writes the test key pair's private half to `path`, mode 0600: tfd
/// refuses a private key group or others can read.
pub fn write_private_key(path: &Path) {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    f.write_all(&keys().0).unwrap();
}

/// The `tf` binary under test. It belongs to the `tf` crate, so Cargo gives the
/// daemon's tests no `CARGO_BIN_EXE_tf`: it is the one built beside `tfd` (a
/// workspace `cargo test` builds it, through crates/tf/tests). A missing one, or
/// one older than the sources it is built from, fails the test saying so, never
/// runs a stale client.
pub fn tf_bin() -> &'static str {
    static TF: OnceLock<String> = OnceLock::new();
    TF.get_or_init(|| {
        let bin = tfd_bin().with_file_name("tf");
        let built = std::fs::metadata(&bin).and_then(|m| m.modified()).unwrap_or_else(|e| {
            panic!(
                "{}: {e}: build it with `cargo build -p tf` (or run `cargo test` at the workspace root)",
                bin.display()
            )
        });
        let root = repo_root();
        let mut newer = Vec::new();
        for krate in ["tf", "tfp-client", "tfp-channel", "tfp-wire", "tfd-sys"] {
            newest_source_after(&root.join("crates").join(krate).join("src"), built, &mut newer);
        }
        assert!(
            newer.is_empty(),
            "{} is older than {}: build it again with `cargo build -p tf`",
            bin.display(),
            newer[0].display()
        );
        bin.to_str().expect("the target directory's path is UTF-8").to_string()
    })
}

/// Collects the `.rs` files under `dir` modified after `t`.
fn newest_source_after(dir: &Path, t: std::time::SystemTime, out: &mut Vec<PathBuf>) {
    let Ok(rd) = std::fs::read_dir(dir) else { return };
    for e in rd.flatten() {
        let p = e.path();
        if p.is_dir() {
            newest_source_after(&p, t, out);
        } else if p.extension().is_some_and(|x| x == "rs")
            && e.metadata().and_then(|m| m.modified()).is_ok_and(|m| m > t)
        {
            out.push(p);
        }
    }
}

/// The `tf` under test where any user can run it. A test that runs tf as
/// another user cannot count on the checkout being searchable by others (a
/// clone made in `mktemp -d` lies below a 0700 directory), so it runs this
/// name instead: a hard link to [`tf_bin`] (a copy across file systems) in a
/// 0755 [`tempdir`] of its own, made once per process. A link, not a copy
/// where it can be: a copy still open for writing while another test forks
/// could make its exec fail with ETXTBSY.
pub fn tf_bin_for_others() -> &'static Path {
    static LINKED: OnceLock<PathBuf> = OnceLock::new();
    LINKED.get_or_init(|| for_others(Path::new(tf_bin()), "tf"))
}

/// [`tf_bin_for_others`] for tfd: the daemon run by an ordinary user.
pub fn tfd_bin_for_others() -> &'static Path {
    static LINKED: OnceLock<PathBuf> = OnceLock::new();
    LINKED.get_or_init(|| for_others(tfd_bin(), "tfd"))
}

fn for_others(bin: &Path, name: &str) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let d = tempdir(&format!("{name}-for-others"));
    std::fs::set_permissions(&d, std::fs::Permissions::from_mode(0o755)).unwrap();
    let p = d.join(name);
    if std::fs::hard_link(bin, &p).is_err() {
        std::fs::copy(bin, &p).unwrap_or_else(|e| panic!("{} -> {}: {e}", bin.display(), p.display()));
    }
    p
}

pub fn is_root() -> bool {
    tfd_sys::geteuid() == 0
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// A new directory for a test, `$TMPDIR/tfd-test-RUN-TAG-PID-N`, removed when
/// the test process exits (scripts/test fails on one left behind). Not when the
/// test ends: the tests of a binary run in parallel and some hand their
/// directory to helpers that outlive the call, so, as with the system users,
/// the process's exit is the moment none of them needs it. RUN is
/// `$TFD_TEST_RUN`, the id scripts/test gives its run, so that its leak check
/// counts its own run's directories only, never those of another run beside it
/// (`x` when unset).
pub fn tempdir(tag: &str) -> PathBuf {
    static N: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    static REGISTER: std::sync::Once = std::sync::Once::new();
    REGISTER.call_once(|| {
        assert!(
            tfd_sys::at_exit(remove_tempdirs),
            "cannot register the test directories' clean-up"
        );
    });
    let n = N.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    let d = std::env::temp_dir().join(format!("tfd-test-{}-{tag}-{}-{n}", test_run(), std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    // before anything runs in it: a SIGKILLed test binary leaves nothing
    watchdog::watch_dir(&d);
    TEMPDIRS.lock().unwrap_or_else(|p| p.into_inner()).push(d.clone());
    d
}

/// The run id of [`tempdir`]'s names: `$TFD_TEST_RUN` when it is a plain word
/// (letters, digits, `_`), else `x`.
fn test_run() -> String {
    match std::env::var("TFD_TEST_RUN") {
        Ok(r) if !r.is_empty() && r.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') => r,
        _ => "x".to_string(),
    }
}

/// The directories [`tempdir`] made in this process.
static TEMPDIRS: std::sync::Mutex<Vec<PathBuf>> = std::sync::Mutex::new(Vec::new());

/// Removes what [`tempdir`] made, unless `TFD_KEEP_TEST_DIRS` is set (to look
/// at a failed test's files). A directory with a file system still mounted
/// inside it is left, and named: removing it would empty the mount.
extern "C" fn remove_tempdirs() {
    if std::env::var_os("TFD_KEEP_TEST_DIRS").is_some() {
        return;
    }
    let dirs = std::mem::take(&mut *TEMPDIRS.lock().unwrap_or_else(|p| p.into_inner()));
    let mountinfo = std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
    // the fifth field is the mount point (no test path holds a space)
    let mounts: Vec<&Path> = mountinfo
        .lines()
        .filter_map(|l| l.split(' ').nth(4))
        .map(Path::new)
        .collect();
    for d in dirs {
        if let Some(m) = mounts.iter().find(|m| m.starts_with(&d)) {
            eprintln!(
                "test clean-up: leaving {}: {} is mounted inside it",
                d.display(),
                m.display()
            );
            continue;
        }
        let _ = std::fs::remove_dir_all(&d);
    }
}

pub struct Server {
    pub child: Option<Child>,
    pub port: u16,
    pub dir: PathBuf,
    pub data: PathBuf,
    pub conf: PathBuf,
    pub hash: String,
    pub stderr_path: PathBuf,
    /// Where tests connect (the first listen address).
    pub host: std::net::IpAddr,
}

/// Options for starting a server.
pub struct Opts<'a> {
    /// Extra config lines.
    pub extra: &'a str,
    /// When true and running as root, add `defusr root` unless `extra` sets defusr.
    pub default_user: bool,
    /// The `listen` lines' addresses (the first is where tests connect).
    pub listen: &'a [&'a str],
    /// A fixed port (default: a free one).
    pub port: Option<u16>,
}

impl Default for Opts<'_> {
    fn default() -> Self {
        Opts {
            extra: "",
            default_user: true,
            listen: &["127.0.0.1"],
            port: None,
        }
    }
}

impl Server {
    pub fn start() -> Server {
        Server::start_opts(Opts::default())
    }

    pub fn start_with(extra: &str) -> Server {
        Server::start_opts(Opts {
            extra,
            ..Opts::default()
        })
    }

    pub fn start_opts(o: Opts<'_>) -> Server {
        // free_port() only finds a port that was free: a test running beside
        // this one may take it first, and then this tfd cannot listen (and a
        // probe would reach the other test's server). Such a start is retried
        // on another port, in a fresh directory.
        for attempt in 0.. {
            match Server::attempt(&o) {
                Ok(s) => return s,
                Err(log) if o.port.is_some() || attempt == 4 => panic!("tfd did not start:\n{log}"),
                Err(_) => {}
            }
        }
        unreachable!()
    }

    /// A start on the port `o` names, or None when tfd could not listen
    /// there (taken since it was found free): for tests whose servers share
    /// a port, which pick another and try again.
    pub fn start_on_port(o: Opts<'_>) -> Option<Server> {
        assert!(o.port.is_some(), "start_on_port needs a port");
        Server::attempt(&o).ok()
    }

    /// One start; Err(its log) when it ended without listening.
    fn attempt(o: &Opts<'_>) -> Result<Server, String> {
        {
            let dir = tempdir("srv");
            let data = dir.join("data");
            std::fs::create_dir_all(&data).unwrap();
            write_private_key(&dir.join("key.pem"));
            let port = o.port.unwrap_or_else(free_port);
            let host: std::net::IpAddr = o.listen[0].parse().unwrap();
            let listen: String = o.listen.iter().map(|a| format!("listen {a}\n")).collect();
            let hash = format!("testhash{port}");
            let mut conf = format!(
                "proto 2.4.1\nhash {hash}\ndbdir {}\nport {port}\n{listen}privkey_file {}\n",
                data.display(),
                dir.join("key.pem").display()
            );
            if o.default_user && is_root() && !o.extra.contains("defusr") {
                conf.push_str("defusr root\n");
            }
            if !o.extra.contains("shutdown_grace") {
                // tests stop servers with sessions open: do not wait the default 10 s
                conf.push_str("shutdown_grace 1\n");
            }
            if !o.extra.contains("control_socket") {
                // as root tfd binds /run/tfd/ctl.sock by default: the system's,
                // which a test must neither take nor leave behind
                conf.push_str(&format!("control_socket {}\n", dir.join("ctl.sock").display()));
            }
            if !o.extra.contains("fai_dir") {
                // FAI tokens of tests stay in the test's directory
                conf.push_str(&format!("fai_dir {}\n", dir.join("fai").display()));
            }
            conf.push_str(o.extra);
            let conf_path = dir.join("tfd.conf");
            std::fs::write(&conf_path, conf).unwrap();
            let stderr_path = dir.join("stderr.log");
            let child = spawn_tfd(&conf_path, &stderr_path);
            let mut s = Server {
                host,
                child: Some(child),
                port,
                dir,
                data,
                conf: conf_path,
                hash,
                stderr_path,
            };
            if s.wait_ready() && s.log().contains("listening on") {
                Ok(s)
            } else {
                Err(s.log())
            }
        }
    }

    /// Waits until this tfd listens (its log says so: a probe alone could
    /// reach another test's server on the same port) and its probe session is
    /// gone. False when it ended first (it could not listen).
    fn wait_ready(&mut self) -> bool {
        // a bound, not a timing: a start takes well under a second, but a
        // 2-core machine loaded with builds has taken several
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if let Some(Ok(Some(_))) = self.child.as_mut().map(|c| c.try_wait()) {
                return false;
            }
            if !self.log().contains("listening on") {
                std::thread::sleep(Duration::from_millis(10));
                continue;
            }
            if let Ok(mut probe) = TcpStream::connect((self.host, self.port)) {
                // let the probe's own session process finish, so tests that count
                // session processes see only their own: EOF from the server means
                // that session is ending; then wait until it has been reaped
                let _ = probe.shutdown(std::net::Shutdown::Write);
                let _ = read_to_close(&mut probe);
                while Instant::now() < deadline && children_of(self.pid()) != (vec![], vec![]) {
                    std::thread::sleep(Duration::from_millis(10));
                }
                return true;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!("tfd did not start:\n{}", self.log());
    }

    pub fn pid(&self) -> i32 {
        self.child.as_ref().unwrap().id() as i32
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.stderr_path).unwrap_or_default()
    }

    /// The log once it says `needle`: a session logs a command's line after
    /// its last byte went out, so a client can be done before the line is.
    pub fn wait_log(&self, needle: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let log = self.log();
            if log.contains(needle) {
                return log;
            }
            assert!(Instant::now() < deadline, "the log never said {needle:?}:\n{log}");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// The log once every session that started has ended: what a test reads
    /// after a `tf` run has exited, when the session's own lines (written
    /// after its answers went out) may still be on their way.
    pub fn settled_log(&self) -> String {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let log = self.log();
            if log.matches(" session end ").count() >= log.matches(" session start ").count() {
                return log;
            }
            assert!(Instant::now() < deadline, "sessions still open after 10 s:\n{log}");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn addr(&self) -> String {
        std::net::SocketAddr::new(self.host, self.port).to_string()
    }

    pub fn client_config(&self) -> ClientConfig {
        let mut c = ClientConfig::new(&self.addr(), keys().1.clone(), &self.hash);
        c.timeout = Some(Duration::from_secs(20));
        // the suite tests the protocol's own ciphers; tests/protocol/secure_transport.rs
        // runs every family again over the secure transport
        c.transport = tfp_client::Transport::Legacy;
        c
    }

    pub fn client(&self) -> Client {
        Client::connect(&self.client_config()).unwrap_or_else(|e| panic!("connect: {e}\n{}", self.log()))
    }

    /// A logged-in client that sends only the frames its test writes: no
    /// `TFDFEATURES` rides ahead of its first one (a test that writes raw
    /// frames and reads what the server does with them, to the byte).
    pub fn raw_client(&self) -> Client {
        let mut cfg = self.client_config();
        cfg.negotiate = false;
        Client::connect(&cfg).unwrap_or_else(|e| panic!("connect: {e}\n{}", self.log()))
    }

    /// The server's public key in a file beside it, for clients that take a
    /// path. Written whole under a private name and renamed, so a client
    /// started by another thread never reads it half written.
    pub fn key_file(&self) -> PathBuf {
        let key = self.dir.join("pub.pem");
        if !key.exists() {
            let tmp = self.dir.join(format!(
                "pub.pem.{}.{:?}",
                std::process::id(),
                std::thread::current().id()
            ));
            std::fs::write(&tmp, &keys().1).unwrap();
            std::fs::rename(&tmp, &key).unwrap();
        }
        key
    }

    /// A `tf` command line aimed at this server (its public key written beside it).
    pub fn tf_command(&self, args: &[&str]) -> Command {
        let key = self.key_file();
        let mut c = Command::new(tf_bin());
        // tf's state between runs (backup proofs) stays with this server's test
        c.env("XDG_STATE_HOME", self.dir.join("state"));
        c.arg("--server")
            .arg(self.addr())
            .arg("--key")
            .arg(&key)
            .arg("--hash")
            .arg(&self.hash)
            .args(args);
        c
    }

    /// `tf ARGS` aimed at `addr` (this server, or a relay in front of it) with
    /// this server's key and hash, stdin closed and its output captured.
    pub fn tf_via(&self, addr: &str, args: &[&str]) -> Command {
        let mut c = Command::new(tf_bin());
        c.env("XDG_STATE_HOME", self.dir.join("state"));
        c.arg("--server")
            .arg(addr)
            .arg("--key")
            .arg(self.key_file())
            .arg("--hash")
            .arg(&self.hash)
            .args(args)
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped());
        c
    }

    /// Runs `tf` against this server and returns its output.
    pub fn tf(&self, args: &[&str]) -> std::process::Output {
        self.tf_command(args).output().unwrap()
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.data.join(rel)
    }

    /// Sends SIGTERM and returns the exit status.
    pub fn stop(&mut self) -> std::process::ExitStatus {
        let mut child = self.child.take().unwrap();
        let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(child.id() as i32), nix::sys::signal::SIGTERM);
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            if let Some(st) = child.try_wait().unwrap() {
                return st;
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                panic!("tfd did not stop on SIGTERM");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Stops this tfd and starts it again on its config with a key pair of
    /// its own: to a client, another server (or one whose key was replaced).
    pub fn restart_with_new_key(&mut self) {
        self.stop();
        let rsa = PKey::from_rsa(Rsa::generate(2048).unwrap()).unwrap();
        std::fs::write(self.dir.join("key.pem"), rsa.private_key_to_pem_pkcs8().unwrap()).unwrap();
        self.child = Some(spawn_tfd(&self.conf, &self.stderr_path));
        let deadline = Instant::now() + Duration::from_secs(10);
        while !(self.log().contains("listening on") && TcpStream::connect(self.addr()).is_ok()) {
            assert!(Instant::now() < deadline, "tfd did not restart:\n{}", self.log());
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Waits (up to 10 s) until exactly `n` session processes are live;
    /// `what` names the wait in the failure message.
    pub fn wait_sessions(&self, n: usize, what: &str) {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let (live, _) = self.children();
            if live.len() == n {
                return;
            }
            assert!(Instant::now() < deadline, "{what}: session processes {live:?}");
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// The one live session process (the readiness probe's may still be exiting).
    pub fn session_pid(&self) -> i32 {
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let (live, _) = self.children();
            if live.len() == 1 {
                return live[0];
            }
            assert!(Instant::now() < deadline, "session processes: {live:?}");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Pids of live (non-zombie) and zombie children of tfd.
    pub fn children(&self) -> (Vec<i32>, Vec<i32>) {
        children_of(self.pid())
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(c.id() as i32), nix::sys::signal::SIGTERM);
            let deadline = Instant::now() + Duration::from_secs(5);
            while Instant::now() < deadline {
                if let Ok(Some(_)) = c.try_wait() {
                    break;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            let _ = c.kill();
            let _ = c.wait();
        }
        let log = self.log();
        if log.contains("panicked") {
            eprintln!("{log}");
            if !std::thread::panicking() {
                panic!("tfd panicked");
            }
        }
        if !std::thread::panicking() {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

/// Reads until EOF (or error) and returns what came; used to prove a close.
pub fn read_to_close(s: &mut TcpStream) -> Vec<u8> {
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    out
}

pub fn ok(st: &tfp_wire::Status) -> bool {
    matches!(st, tfp_wire::Status::Ok(_))
}

/// Asserts a FAILED code.
#[track_caller]
pub fn assert_failed(st: tfp_wire::Status, code: i32) {
    assert_eq!(st.failed_code(), Some(code), "expected FAILED {code}, got {st:?}");
}

/// Asserts `OK` (optionally with data) and returns the data as a string.
#[track_caller]
pub fn assert_ok(st: tfp_wire::Status) -> String {
    match st {
        tfp_wire::Status::Ok(d) => String::from_utf8(d).unwrap(),
        other => panic!("expected OK, got {other:?}"),
    }
}

/// The Uid/Gid/Groups lines of a process's /proc status.
pub fn proc_ids(pid: i32) -> (String, String, String) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let field = |k: &str| {
        status
            .lines()
            .find(|l| l.starts_with(k))
            .map(|l| l.split_whitespace().skip(1).collect::<Vec<_>>().join(" "))
            .unwrap_or_default()
    };
    (field("Uid:"), field("Gid:"), field("Groups:"))
}

pub fn data_dir_write(p: &Path, contents: &[u8]) {
    if let Some(parent) = p.parent() {
        std::fs::create_dir_all(parent).unwrap();
    }
    std::fs::write(p, contents).unwrap();
}

/// Every file below the directory `a` is in `b` with the same bytes (a
/// tree that went over the wire, compared with its source).
pub fn same_tree(a: &Path, b: &Path) {
    for e in std::fs::read_dir(a).unwrap().flatten() {
        let there = b.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            same_tree(&e.path(), &there);
        } else {
            assert!(
                std::fs::read(e.path()).unwrap() == std::fs::read(&there).unwrap(),
                "{there:?} differs"
            );
        }
    }
}

/// Deterministic test data: xorshift64 bytes from `seed`, so uploads and their
/// downloads can be compared without storing a copy.
pub fn pattern(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

/// A compressed block (`tfp_wire::compress`) of a fresh zstd stream holding
/// `data`, its header announcing `announced` bytes: a lying sender's bomb
/// (more than announced) or short block (less).
pub fn lying_block(data: &[u8], announced: u32) -> Vec<u8> {
    let mut b = Vec::new();
    let mut enc = tfp_wire::compress::Encoder::new(3, tfp_wire::compress::DEFAULT_WINDOW_LOG).expect("zstd");
    enc.compress(data, &mut b).expect("zstd");
    b[1..5].copy_from_slice(&announced.to_be_bytes());
    b
}

/// The entry names in a directory, sorted: what a failed upload left, the
/// snapshots a backup holds.
pub fn dir_names(d: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(d)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into())
        .collect();
    v.sort();
    v
}

/// The tfd under test with `conf`, debug logs to `log` (created afresh).
pub fn spawn_tfd(conf: &Path, log: &Path) -> Child {
    Command::new(tfd_bin())
        .arg("-c")
        .arg(conf)
        .env("RUST_LOG", "debug")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(log).unwrap())
        .spawn()
        .unwrap()
}

/// `tfd ctl --socket SOCK REQ...`: whether it succeeded, and what it printed
/// (stdout, then stderr).
pub fn tfd_ctl(sock: &Path, req: &[&str]) -> (bool, String) {
    let o = Command::new(tfd_bin())
        .arg("ctl")
        .arg("--socket")
        .arg(sock)
        .args(req)
        .output()
        .unwrap();
    (
        o.status.success(),
        String::from_utf8_lossy(&o.stdout).into_owned() + &String::from_utf8_lossy(&o.stderr),
    )
}

/// Marks `p` as tfd marks its upload temporaries (`user.tfd.part`), so a
/// test can plant the orphan a killed session leaves: the sweeper and the
/// quota walk remove only marked ones (issue 31).
pub fn mark_upload_temporary(p: &Path) {
    let f = std::fs::File::open(p).unwrap();
    tfd_sys::fsetxattr(std::os::fd::AsFd::as_fd(&f), c"user.tfd.part", b"upload").unwrap();
}
