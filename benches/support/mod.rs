//! Shared harness of the benchmarks (`benches/*.rs`): starts the release `tfd` in
//! a private temporary directory with its own config, RSA key and loopback port,
//! and reads its CPU time from `/proc`; `cli` is every bench's command line, `sshd`
//! a private OpenSSH server for the benches that compare with OpenSSH, `floor` the
//! CPU and hash costs the benches that report a floor measure.
//!
//! Each bench uses a different subset of this module.
#![allow(dead_code)]

pub mod cli;
pub mod floor;
pub mod fresh_fs;
pub mod race;
pub mod sshd;
pub mod wan;

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use openssl::pkey::PKey;
use openssl::rsa::Rsa;
use std::fs;
use std::io::{BufRead, BufReader, Write};
use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};
use tfp_client::ClientConfig;

/// A running tfd in a private temporary directory; stopped (SIGTERM) and cleaned
/// up on drop, so a panic part way does not leave a daemon behind.
pub struct Server {
    child: Option<Child>,
    dir: PathBuf,
    addr: SocketAddr,
    pubkey_pem: Vec<u8>,
    hash: String,
    /// The network namespace it runs in (`ip netns exec`), `None`: this one.
    netns: Option<String>,
}

/// The tfd under test: `TFD_BIN`, else Cargo's, else `target/release/tfd`.
pub fn tfd_binary() -> Result<PathBuf, String> {
    let path = match std::env::var_os("TFD_BIN") {
        Some(p) => PathBuf::from(p),
        None => match option_env!("CARGO_BIN_EXE_tfd") {
            Some(p) => PathBuf::from(p),
            None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/release/tfd"),
        },
    };
    let path = if path.is_relative() {
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(path)
    } else {
        path
    };
    if path.is_file() {
        Ok(path)
    } else {
        Err(format!(
            "tfd binary {} not found: run scripts/bench, or set TFD_BIN",
            path.display()
        ))
    }
}

/// The `tf` client beside the tfd under test (`TF_BIN` overrides it): the
/// benches that time whole commands run the real one a user runs.
pub fn tf_binary() -> Result<PathBuf, String> {
    let path = match std::env::var_os("TF_BIN") {
        Some(p) => PathBuf::from(p),
        None => tfd_binary()?.with_file_name("tf"),
    };
    if path.is_file() {
        Ok(path)
    } else {
        Err(format!(
            "tf binary {} not found: run scripts/bench, or set TF_BIN",
            path.display()
        ))
    }
}

/// A fresh private (0700) directory under the system temporary directory.
pub fn private_tempdir(what: &str) -> Result<PathBuf, String> {
    let mut nonce = [0u8; 8];
    getrandom::getrandom(&mut nonce).map_err(|e| e.to_string())?;
    let tag: String = nonce.iter().map(|b| format!("{b:02x}")).collect();
    let dir = std::env::temp_dir().join(format!("tfd-{what}-{}-{tag}", std::process::id()));
    fs::DirBuilder::new()
        .mode(0o700)
        .create(&dir)
        .map_err(|e| format!("{}: {e}", dir.display()))?;
    Ok(dir)
}

fn write_private(path: &Path, data: &[u8]) -> Result<(), String> {
    fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .and_then(|mut f| f.write_all(data))
        .map_err(|e| format!("{}: {e}", path.display()))
}

/// True when something accepts TCP connections at `addr`, seen from this network
/// namespace or from `netns` (there by a shell's `/dev/tcp`, bounded by `timeout`).
pub fn listening(netns: Option<&str>, addr: SocketAddr) -> bool {
    match netns {
        None => TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok(),
        Some(ns) => Command::new("ip")
            .args(["netns", "exec", ns, "timeout", "2", "bash", "-c"])
            .arg(format!("exec 3<>/dev/tcp/{}/{}", addr.ip(), addr.port()))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success()),
    }
}

impl Server {
    /// The server's directory (config, key, log, `data`).
    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

pub fn free_port() -> Result<u16, String> {
    let l = TcpListener::bind("127.0.0.1:0").map_err(|e| format!("cannot find a free port: {e}"))?;
    l.local_addr().map(|a| a.port()).map_err(|e| e.to_string())
}

impl Server {
    /// Starts `bin` with a minimal loopback config and waits until it listens.
    pub fn start(bin: &Path) -> Result<Server, String> {
        Server::start_with(bin, "")
    }

    /// Like [`Server::start`], with extra config lines.
    pub fn start_with(bin: &Path, extra_conf: &str) -> Result<Server, String> {
        Server::start_on(bin, None, extra_conf)
    }

    /// Like [`Server::start_with`], serving `dbdir` (default: its own `data`).
    pub fn start_on(bin: &Path, dbdir: Option<&Path>, extra_conf: &str) -> Result<Server, String> {
        Server::start_at(bin, None, IpAddr::V4(Ipv4Addr::LOCALHOST), dbdir, extra_conf)
    }

    /// Like [`Server::start_on`], listening on `ip` inside the network
    /// namespace `netns` (`ip netns exec`), e.g. one end of an emulated WAN link.
    pub fn start_at(
        bin: &Path,
        netns: Option<&str>,
        ip: IpAddr,
        dbdir: Option<&Path>,
        extra_conf: &str,
    ) -> Result<Server, String> {
        let dir = private_tempdir("bench")?;
        let mut server = Server {
            child: None,
            dir,
            addr: SocketAddr::from((ip, 0)),
            pubkey_pem: Vec::new(),
            hash: String::new(),
            netns: netns.map(str::to_string),
        };
        server.configure_and_spawn(bin, dbdir, extra_conf)?;
        Ok(server)
    }

    fn configure_and_spawn(&mut self, bin: &Path, dbdir: Option<&Path>, extra_conf: &str) -> Result<(), String> {
        let dir = &self.dir;
        fs::DirBuilder::new()
            .mode(0o700)
            .create(dir.join("data"))
            .map_err(|e| e.to_string())?;
        let pkey = Rsa::generate(2048)
            .and_then(PKey::from_rsa)
            .map_err(|e| format!("RSA key generation: {e}"))?;
        let pem = pkey.private_key_to_pem_pkcs8().map_err(|e| e.to_string())?;
        write_private(&dir.join("key.pem"), &pem)?;
        self.pubkey_pem = pkey.public_key_to_pem().map_err(|e| e.to_string())?;
        let mut h = [0u8; 16];
        getrandom::getrandom(&mut h).map_err(|e| e.to_string())?;
        self.hash = h.iter().map(|b| format!("{b:02x}")).collect();
        let port = free_port()?;
        self.addr = SocketAddr::from((self.addr.ip(), port));
        let mut conf = format!(
            "proto 2.4.1\nhash {}\ndbdir {}\nport {port}\nlisten {}\nprivkey_file key.pem\n",
            self.hash,
            dbdir.map(|d| d.display().to_string()).unwrap_or_else(|| "data".into()),
            self.addr.ip()
        );
        // As root tfd is multi-user and wants LOGIN unless a default user is set.
        if nix::unistd::geteuid().is_root() && !extra_conf.contains("defusr") {
            conf.push_str("defusr root\n");
        }
        if !extra_conf.contains("fai_dir") {
            // Fast Access tokens stay in the bench's own directory
            conf.push_str("fai_dir fai\n");
        }
        if !extra_conf.contains("control_socket") {
            // so does its control socket (tfd's default, /run/tfd/ctl.sock,
            // is one socket for every bench's server and leaves /run/tfd)
            conf.push_str(&format!("control_socket {}\n", dir.join("ctl.sock").display()));
        }
        conf.push_str(extra_conf);
        // TFD_BENCH_CONF: more configuration lines for every server a bench
        // starts (e.g. "priority_boost 0" or "sync_uploads no", to compare;
        // a key may not be given twice)
        if let Ok(more) = std::env::var("TFD_BENCH_CONF") {
            conf.push_str(&more.replace("\\n", "\n"));
            conf.push('\n');
        }
        let conf_path = dir.join("tfd.conf");
        write_private(&conf_path, conf.as_bytes())?;
        let log = fs::File::create(dir.join("tfd.log")).map_err(|e| e.to_string())?;
        let mut cmd = match &self.netns {
            Some(ns) => {
                let mut c = Command::new("ip");
                c.args(["netns", "exec", ns]).arg(bin);
                c
            }
            None => Command::new(bin),
        };
        let child = cmd
            .arg("-c")
            .arg(&conf_path)
            .stdin(Stdio::null())
            .stdout(log.try_clone().map_err(|e| e.to_string())?)
            .stderr(log)
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", bin.display()))?;
        self.child = Some(child);
        self.wait_ready()
    }

    fn wait_ready(&mut self) -> Result<(), String> {
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            if let Some(child) = self.child.as_mut() {
                if let Ok(Some(status)) = child.try_wait() {
                    self.child = None;
                    return Err(format!("tfd exited at startup ({status}):\n{}", self.log_text()));
                }
            }
            if listening(self.netns.as_deref(), self.addr) {
                return Ok(());
            }
            if Instant::now() > deadline {
                return Err(format!(
                    "tfd did not listen on {} in 15 s:\n{}",
                    self.addr,
                    self.log_text()
                ));
            }
            thread::sleep(Duration::from_millis(20));
        }
    }

    /// Client parameters for this server (10 s I/O timeouts).
    pub fn client_config(&self) -> ClientConfig {
        let mut c = ClientConfig::new(&self.addr.to_string(), self.pubkey_pem.clone(), &self.hash);
        c.timeout = Some(Duration::from_secs(10));
        // the legacy cipher unless a phase asks for the secure transport
        c.transport = tfp_client::Transport::Legacy;
        c
    }

    /// The `tf` options that reach this server (`--server`, `--key`, `--hash`);
    /// the public key is written beside its config the first time.
    pub fn tf_args(&self) -> Result<Vec<String>, String> {
        let key = self.dir.join("pub.pem");
        if !key.exists() {
            fs::write(&key, &self.pubkey_pem).map_err(|e| format!("{}: {e}", key.display()))?;
        }
        Ok(vec![
            "--server".into(),
            self.addr.to_string(),
            "--key".into(),
            key.display().to_string(),
            "--hash".into(),
            self.hash.clone(),
        ])
    }

    /// The server's data directory (the root clients see).
    pub fn data_dir(&self) -> PathBuf {
        self.dir.join("data")
    }

    /// The listener's process id, while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// The session processes (children of the listener but its two helpers) right now.
    pub fn session_pids(&self) -> Vec<u32> {
        let Some(pid) = self.pid() else { return Vec::new() };
        fs::read_to_string(format!("/proc/{pid}/task/{pid}/children"))
            .map(|l| {
                l.split_whitespace()
                    .filter_map(|p| p.parse().ok())
                    .filter(|&p| !is_helper(p))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The log so far (stdout and stderr of tfd).
    pub fn log_text(&self) -> String {
        fs::read_to_string(self.dir.join("tfd.log")).unwrap_or_default()
    }

    /// Waits (bounded) until the session processes of the finished phases have
    /// exited, so the SIGTERM below does not catch one on its way out.
    pub fn drain_sessions(&self, limit: Duration) {
        let Some(pid) = self.pid() else {
            return;
        };
        let children = format!("/proc/{pid}/task/{pid}/children");
        let deadline = Instant::now() + limit;
        while Instant::now() < deadline {
            match fs::read_to_string(&children) {
                Ok(list) if list.split_whitespace().filter_map(|p| p.parse().ok()).all(is_helper) => return,
                Ok(_) => thread::sleep(Duration::from_millis(10)),
                Err(_) => {
                    // No /proc children list on this kernel: a short fixed pause.
                    thread::sleep(Duration::from_millis(200));
                    return;
                }
            }
        }
    }

    /// CPU time used so far by tfd, its reaped session processes and its live
    /// children (the key process and the UDP responder live as long as tfd does),
    /// in seconds (`/proc/PID/stat` utime + stime + cutime + cstime, USER_HZ = 100/s).
    pub fn cpu_seconds(&self) -> Option<f64> {
        let pid = self.pid()?;
        let mut ticks = proc_ticks(pid)?;
        if let Ok(kids) = fs::read_to_string(format!("/proc/{pid}/task/{pid}/children")) {
            // a child that ends between the two reads is counted by neither: noise
            ticks += kids
                .split_whitespace()
                .filter_map(|k| k.parse::<u32>().ok())
                .filter_map(proc_ticks)
                .sum::<u64>();
        }
        Some(ticks as f64 / 100.0)
    }

    /// SIGTERM, then a bounded wait (tfd gives sessions a 10 s grace period).
    pub fn stop(&mut self) -> Option<String> {
        let mut child = self.child.take()?;
        let _ = kill(Pid::from_raw(child.id() as i32), Signal::SIGTERM);
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            match child.try_wait() {
                Ok(Some(status)) => return Some(status.to_string()),
                Ok(None) if Instant::now() < deadline => thread::sleep(Duration::from_millis(20)),
                _ => {
                    let _ = child.kill();
                    let _ = child.wait();
                    return Some("did not stop on SIGTERM within 15 s; killed".into());
                }
            }
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop();
        let _ = fs::remove_dir_all(&self.dir);
    }
}

/// "MET" or "NOT MET".
pub fn met(ok: bool) -> &'static str {
    if ok {
        "MET"
    } else {
        "NOT MET"
    }
}

/// The WARN and ERROR lines of a tfd log.
pub fn log_problems(log: &str) -> Vec<String> {
    BufReader::new(log.as_bytes())
        .lines()
        .map_while(Result::ok)
        .filter(|l| l.contains(" WARN ") || l.contains(" ERROR "))
        .collect()
}

/// utime + stime + cutime + cstime of one process, in USER_HZ ticks.
fn proc_ticks(pid: u32) -> Option<u64> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the parenthesised command name: state is field 3, utime 14.
    let rest = stat.get(stat.rfind(')')? + 2..)?;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    fields
        .get(11..15)?
        .iter()
        .map(|f| f.parse::<u64>().ok())
        .sum::<Option<u64>>()
}

/// True for one of tfd's long-lived helpers, as opposed to a session process:
/// the daemon's own list ([`tfd::services::Helper`]) decides, so a helper added
/// there is never counted as a session left behind.
pub fn is_helper(pid: u32) -> bool {
    tfd::services::Helper::of_process(pid).is_some()
}
