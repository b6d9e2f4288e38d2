//! The soak's lifecycle phase (issue 15): under load (clients connecting, doing
//! their handshake and a few commands, disconnecting, in a loop), the listener is
//! SIGKILLed and a new tfd started on the same port; later the new tfd's whole
//! process group gets SIGINT, as a Ctrl-C in a terminal sends it. Invariants: no
//! process of a killed or stopped tfd is left, the restart binds the port at once
//! and serves clients again, the Ctrl-C stops tfd within a bounded time and
//! restarts nothing on the way.

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use openssl::pkey::PKey;
use openssl::rsa::Rsa;
use std::os::unix::fs::OpenOptionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};
use tfp_client::{Client, ClientConfig};

/// What the phase measured.
pub struct Outcome {
    /// (what, passed, detail) rows for the soak's invariant table.
    pub checks: Vec<(&'static str, bool, String)>,
    /// `key=value` words for the final SOAK line.
    pub kv: Vec<String>,
}

/// Live (not zombie) processes of the process group `pgid`.
fn group_members(pgid: i32) -> Vec<i32> {
    let mut out = Vec::new();
    for e in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let Ok(pid) = e.file_name().to_string_lossy().parse::<i32>() else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        let Some(rest) = stat.rfind(')').and_then(|i| stat.get(i + 2..)) else {
            continue;
        };
        let f: Vec<&str> = rest.split_whitespace().collect();
        if f.get(3).and_then(|p| p.parse::<i32>().ok()) == Some(pgid) && !matches!(f[0], "Z" | "X") {
            out.push(pid);
        }
    }
    out
}

/// Waits up to `limit` for the group to empty; returns who is left.
fn wait_group_gone(pgid: i32, limit: Duration) -> Vec<i32> {
    let until = Instant::now() + limit;
    loop {
        let left = group_members(pgid);
        if left.is_empty() || Instant::now() >= until {
            return left;
        }
        thread::sleep(Duration::from_millis(20));
    }
}

/// One tfd in a process group of its own (as a shell starts a foreground job).
struct Grouped {
    child: Child,
    log: PathBuf,
}

impl Grouped {
    fn pgid(&self) -> i32 {
        self.child.id() as i32
    }

    fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Grouped {
    fn drop(&mut self) {
        // whatever happened, nothing of this tfd outlives the soak
        let _ = kill(Pid::from_raw(-self.pgid()), Signal::SIGKILL);
        let _ = self.child.wait();
    }
}

fn spawn(bin: &Path, dir: &Path, tag: &str) -> Result<Grouped, String> {
    let log = dir.join(format!("tfd-{tag}.log"));
    let out = std::fs::File::create(&log).map_err(|e| e.to_string())?;
    let child = Command::new(bin)
        .arg("-c")
        .arg(dir.join("tfd.conf"))
        .process_group(0)
        .stdin(Stdio::null())
        .stdout(out.try_clone().map_err(|e| e.to_string())?)
        .stderr(out)
        .spawn()
        .map_err(|e| format!("cannot start {}: {e}", bin.display()))?;
    Ok(Grouped { child, log })
}

/// Waits until a handshake succeeds; returns how long it took.
fn wait_serving(cfg: &ClientConfig, limit: Duration) -> Option<Duration> {
    let t = Instant::now();
    while t.elapsed() < limit {
        if Client::connect(cfg).and_then(|mut c| c.raw(b"ECHO up")).is_ok() {
            return Some(t.elapsed());
        }
        thread::sleep(Duration::from_millis(20));
    }
    None
}

/// The load: each client connects, sends a few ECHOs, disconnects, again and
/// again; failures are expected while tfd is down and only counted.
fn load(cfg: ClientConfig, stop: Arc<AtomicBool>, served: Arc<AtomicU64>) {
    while !stop.load(Ordering::Relaxed) {
        let Ok(mut c) = Client::connect(&cfg) else {
            thread::sleep(Duration::from_millis(20));
            continue;
        };
        for _ in 0..10 {
            if c.raw(b"ECHO soak").is_err() {
                break;
            }
            served.fetch_add(1, Ordering::Relaxed);
        }
        let _ = c.end();
    }
}

/// Runs the phase: `clients` load threads for about `secs` seconds in all.
pub fn run(bin: &Path, dir: &Path, clients: usize, secs: u64) -> Result<Outcome, String> {
    let pkey = Rsa::generate(2048)
        .and_then(PKey::from_rsa)
        .map_err(|e| format!("RSA key generation: {e}"))?;
    // 0600: tfd refuses a private key that group or others can read
    let pem = pkey.private_key_to_pem_pkcs8().map_err(|e| e.to_string())?;
    std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(dir.join("key.pem"))
        .and_then(|mut f| std::io::Write::write_all(&mut f, &pem))
        .map_err(|e| format!("key.pem: {e}"))?;
    std::fs::create_dir_all(dir.join("data")).map_err(|e| e.to_string())?;
    // sessions run as nobody: they must reach the served root
    for d in [dir.to_path_buf(), dir.join("data")] {
        std::fs::set_permissions(&d, std::os::unix::fs::PermissionsExt::from_mode(0o755)).map_err(|e| e.to_string())?;
    }
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map_err(|e| e.to_string())?
        .port();
    let root = nix::unistd::geteuid().is_root();
    // as root: the UDP responder and key process run as nobody, sessions switch
    // to nobody too, so every helper has been through an id switch
    let conf = format!(
        "proto 2.4.1\nhash soaklife\ndbdir {}\nport {port}\nlisten 127.0.0.1\nprivkey_file {}\n\
         shutdown_grace 2\ncontrol_socket {}\nmax_sessions {}\nmax_sessions_per_ip {}\n{}",
        dir.join("data").display(),
        dir.join("key.pem").display(),
        dir.join("ctl.sock").display(),
        clients * 4 + 16,
        clients * 4 + 16,
        if root { "defusr nobody\nudp_user nobody\n" } else { "" }
    );
    std::fs::write(dir.join("tfd.conf"), conf).map_err(|e| e.to_string())?;
    let mut cfg = ClientConfig::new(
        &format!("127.0.0.1:{port}"),
        pkey.public_key_to_pem().map_err(|e| e.to_string())?,
        "soaklife",
    );
    cfg.timeout = Some(Duration::from_secs(10));
    cfg.transport = tfp_client::Transport::Legacy;

    let first = spawn(bin, dir, "a")?;
    wait_serving(&cfg, Duration::from_secs(15)).ok_or("the first tfd did not start")?;
    let stop = Arc::new(AtomicBool::new(false));
    let served = Arc::new(AtomicU64::new(0));
    let mut threads = Vec::new();
    for i in 0..clients {
        let (cfg, stop, served) = (cfg.clone(), stop.clone(), served.clone());
        threads.push(
            thread::Builder::new()
                .name(format!("life{i}"))
                .stack_size(256 << 10)
                .spawn(move || load(cfg, stop, served))
                .map_err(|e| e.to_string())?,
        );
    }
    let half = Duration::from_secs((secs / 2).max(3));
    thread::sleep(half);
    let before_kill = served.load(Ordering::Relaxed);

    // 1. SIGKILL of the listener under load, then a restart on the same port
    let _ = kill(Pid::from_raw(first.pgid()), Signal::SIGKILL);
    let killed_left = wait_group_gone(first.pgid(), Duration::from_secs(3));
    let _ = std::fs::remove_file(dir.join("ctl.sock"));
    let t = Instant::now();
    let second = spawn(bin, dir, "b")?;
    let restart = wait_serving(&cfg, Duration::from_secs(10)).map(|_| t.elapsed());
    let after_restart = served.load(Ordering::Relaxed);
    thread::sleep(half);
    let served_after_restart = served.load(Ordering::Relaxed) - after_restart;

    // 2. Ctrl-C: SIGINT to the whole process group, with the load still running
    let t = Instant::now();
    let _ = kill(Pid::from_raw(-second.pgid()), Signal::SIGINT);
    let mut second = second;
    let limit = Duration::from_secs(2 + 8);
    let mut stopped = None;
    while t.elapsed() < limit {
        if let Ok(Some(_)) = second.child.try_wait() {
            stopped = Some(t.elapsed());
            break;
        }
        thread::sleep(Duration::from_millis(20));
    }
    let ctrlc_left = wait_group_gone(second.pgid(), Duration::from_secs(3));
    stop.store(true, Ordering::Relaxed);
    for h in threads {
        let _ = h.join();
    }
    let log_b = second.log_text();
    let restarted_while_stopping = log_b
        .lines()
        .skip_while(|l| !l.contains("shutting down"))
        .any(|l| l.contains(" restarted "));
    drop(second);
    drop(first);

    let ms = |d: Option<Duration>| d.map_or(-1, |d| d.as_millis() as i64);
    let checks = vec![
        (
            "SIGKILLed listener under load: no process of it left (3 s)",
            killed_left.is_empty(),
            format!("{killed_left:?}"),
        ),
        (
            "restart on the same port under load within 10 s",
            restart.is_some(),
            format!("{} ms", ms(restart)),
        ),
        (
            "clients served before the kill and after the restart",
            before_kill > 0 && served_after_restart > 0,
            format!("{before_kill} / {served_after_restart} replies"),
        ),
        (
            "process group Ctrl-C under load: tfd stops within shutdown_grace + 8 s",
            stopped.is_some() && !restarted_while_stopping,
            format!(
                "{} ms, helper restarted while stopping: {restarted_while_stopping}",
                ms(stopped)
            ),
        ),
        (
            "process group Ctrl-C: no process left (3 s)",
            ctrlc_left.is_empty(),
            format!("{ctrlc_left:?}"),
        ),
    ];
    let kv = vec![
        format!("lifecycle_leftovers={}", killed_left.len() + ctrlc_left.len()),
        format!("restart_ms={}", ms(restart)),
        format!("ctrlc_stop_ms={}", ms(stopped)),
    ];
    Ok(Outcome { checks, kv })
}
