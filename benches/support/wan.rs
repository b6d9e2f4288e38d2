//! An emulated WAN link for `benches/wan.rs`: two network namespaces joined by
//! the user-space link of `shared/wan` (`wan-up`, `wan-down`, `wanlink.c`: a
//! rate, a delay, a random loss and a drop-tail queue), servers in one
//! namespace and clients in the other. The link is taken down on drop, and by
//! [`on_signal_clean_up`] when the bench is interrupted (Ctrl-C, SIGTERM,
//! SIGHUP), so no namespace, wanlink or server is left behind.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Where `wan-up` and `wan-down` are: `TFD_WAN_DIR`, else `shared/wan` beside
/// the checkout (CI clones the repository with `shared/` beside it), or beside
/// its parent (a git worktree in a directory of worktrees).
pub fn wan_dir() -> Result<PathBuf, String> {
    let here = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let candidates = match std::env::var_os("TFD_WAN_DIR") {
        Some(d) => vec![PathBuf::from(d)],
        None => vec![here.join("../shared/wan"), here.join("../../shared/wan")],
    };
    candidates
        .iter()
        .find(|d| d.join("wan-up").is_file() && d.join("wan-down").is_file())
        .cloned()
        .ok_or_else(|| {
            format!(
                "no wan-up and wan-down in {} (the shared/ directory beside the checkout; set TFD_WAN_DIR)",
                candidates[0].display()
            )
        })
}

/// The links up right now and the directories to remove, for the signal handler.
struct Live {
    /// name, and wanlink's process id
    links: BTreeSet<(String, u32)>,
    dirs: BTreeSet<PathBuf>,
}

static LIVE: Mutex<Live> = Mutex::new(Live {
    links: BTreeSet::new(),
    dirs: BTreeSet::new(),
});

/// Records a directory that the signal handler removes if the bench is
/// interrupted before it removes it itself ([`forget_dir`]).
pub fn remember_dir(dir: &Path) {
    if let Ok(mut l) = LIVE.lock() {
        l.dirs.insert(dir.to_path_buf());
    }
}

pub fn forget_dir(dir: &Path) {
    if let Ok(mut l) = LIVE.lock() {
        l.dirs.remove(dir);
    }
}

/// Set by the signal handler: the bench stops starting commands and cases.
static STOPPING: AtomicBool = AtomicBool::new(false);

/// True once the bench was interrupted.
pub fn stopping() -> bool {
    STOPPING.load(Ordering::Relaxed)
}

/// Ctrl-C, SIGTERM or SIGHUP: [`stopping`] turns true, every link still up is
/// taken down (which ends the commands, tfd and sshd in it), the bench's own
/// clean-up runs as it stops (at most 30 s are given to it), then what is
/// left of the remembered directories is removed and the bench exits with
/// 128 + the signal.
pub fn on_signal_clean_up() -> Result<(), String> {
    use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
    let mut signals =
        signal_hook::iterator::Signals::new([SIGINT, SIGTERM, SIGHUP]).map_err(|e| format!("signals: {e}"))?;
    let dir = wan_dir()?;
    std::thread::spawn(move || {
        if let Some(sig) = signals.forever().next() {
            eprintln!("wan bench: signal {sig}: taking the links down and cleaning up");
            STOPPING.store(true, Ordering::Relaxed);
            let links: Vec<(String, u32)> = LIVE
                .lock()
                .map(|l| l.links.iter().cloned().collect())
                .unwrap_or_default();
            for (name, pid) in &links {
                wan_down(&dir, name, *pid);
            }
            let deadline = Instant::now() + Duration::from_secs(30);
            while Instant::now() < deadline && LIVE.lock().map(|l| !l.dirs.is_empty()).unwrap_or(false) {
                std::thread::sleep(Duration::from_millis(50));
            }
            if let Ok(l) = LIVE.lock() {
                for d in &l.dirs {
                    let _ = std::fs::remove_dir_all(d);
                }
            }
            super::fresh_fs::release();
            std::process::exit(128 + sig);
        }
    });
    Ok(())
}

/// `wan-down NAME PID` (ends every process in both namespaces and deletes
/// them, and wanlink, which runs outside them: without its PID wan-down
/// leaves it running, busy, for ever); returns what it printed (the link's
/// own counters) and removes its log.
fn wan_down(dir: &Path, name: &str, pid: u32) -> String {
    let mut cmd = Command::new(dir.join("wan-down"));
    cmd.arg(name);
    if pid > 0 {
        cmd.arg(pid.to_string());
    }
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
        .unwrap_or_default();
    // wanlink prints its counters on SIGTERM: wait for it (bounded), then make sure
    let is_wanlink =
        || std::fs::read(format!("/proc/{pid}/cmdline")).is_ok_and(|c| c.windows(7).any(|w| w == b"wanlink"));
    let deadline = Instant::now() + Duration::from_secs(3);
    while pid > 0 && is_wanlink() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    if pid > 0 && is_wanlink() {
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(pid as i32),
            nix::sys::signal::Signal::SIGKILL,
        );
    }
    let tmp = std::env::var_os("TMPDIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| "/tmp".into());
    let _ = std::fs::remove_file(tmp.join(format!("wanlink-{name}.log")));
    out
}

/// One link up: clients in namespace `a`, servers in `b` at `addr_b`.
pub struct Link {
    dir: PathBuf,
    pub name: String,
    pub a: String,
    pub b: String,
    pub addr_b: String,
    /// Mbit/s, for the fraction of the link a transfer used.
    pub rate_mbit: f64,
    /// wanlink's process id (outside the namespaces).
    pid: u32,
    up: bool,
}

/// Bytes that crossed the link so far, each way (IP packets, headers included).
#[derive(Clone, Copy, Default, Debug)]
pub struct Wire {
    pub up: u64,
    pub down: u64,
}

impl Wire {
    pub fn since(self, before: Wire) -> Wire {
        Wire {
            up: self.up.saturating_sub(before.up),
            down: self.down.saturating_sub(before.down),
        }
    }
}

impl Link {
    /// `wan-up NAME RATE RTT LOSS`; `name` at most 10 characters. A link of the
    /// same name left by an earlier run that was killed is taken down first.
    pub fn up(dir: &Path, name: &str, rate_mbit: f64, rtt_ms: f64, loss_pct: f64) -> Result<Link, String> {
        let existing = Command::new("ip")
            .args(["netns", "list"])
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
            .unwrap_or_default();
        if existing
            .lines()
            .any(|l| l.split_whitespace().next() == Some(&format!("{name}-a")))
        {
            wan_down(dir, name, 0);
        }
        let mut link = Link {
            dir: dir.to_path_buf(),
            name: name.to_string(),
            a: String::new(),
            b: String::new(),
            addr_b: String::new(),
            rate_mbit,
            pid: 0,
            up: true,
        };
        let out = Command::new(dir.join("wan-up"))
            .args([name, &rate_mbit.to_string(), &rtt_ms.to_string(), &loss_pct.to_string()])
            .stdin(Stdio::null())
            .output()
            .map_err(|e| format!("wan-up: {e}"))?;
        let text = String::from_utf8_lossy(&out.stdout);
        if !out.status.success() {
            return Err(format!(
                "wan-up {}: {}{}",
                out.status,
                text.trim(),
                String::from_utf8_lossy(&out.stderr).trim()
            ));
        }
        for kv in text.split_whitespace() {
            match kv.split_once('=') {
                Some(("WAN_A", v)) => link.a = v.into(),
                Some(("WAN_B", v)) => link.b = v.into(),
                Some(("WAN_ADDR_B", v)) => link.addr_b = v.into(),
                Some(("WAN_PID", v)) => link.pid = v.parse().unwrap_or(0),
                _ => {}
            }
        }
        if let Ok(mut l) = LIVE.lock() {
            l.links.insert((name.to_string(), link.pid));
        }
        if link.a.is_empty() || link.b.is_empty() || link.addr_b.is_empty() || link.pid == 0 {
            return Err(format!(
                "wan-up printed no WAN_A, WAN_B, WAN_ADDR_B and WAN_PID: {text}"
            ));
        }
        Ok(link)
    }

    /// `PROGRAM` to run in the clients' namespace.
    pub fn client(&self, program: impl AsRef<std::ffi::OsStr>) -> Command {
        let mut c = Command::new("ip");
        c.args(["netns", "exec", &self.a]).arg(program);
        c
    }

    /// Bytes each way as they enter the link, each counted at its sending
    /// end (`/proc/net/dev` in either namespace): so a sender's
    /// retransmissions count both ways, the packets the link drops with them.
    /// (Read at the clients' end alone, downloads were counted after the
    /// link's drops and showed none of theirs.)
    pub fn wire(&self) -> Result<Wire, String> {
        Ok(Wire {
            up: self.sent(&self.a, 'a')?,
            down: self.sent(&self.b, 'b')?,
        })
    }

    /// The bytes namespace `ns` has sent into the link (its device `<name>a` or `<name>b`).
    fn sent(&self, ns: &str, end: char) -> Result<u64, String> {
        let out = Command::new("ip")
            .args(["netns", "exec", ns, "cat", "/proc/net/dev"])
            .stdin(Stdio::null())
            .output()
            .map_err(|e| format!("/proc/net/dev in {ns}: {e}"))?;
        let text = String::from_utf8_lossy(&out.stdout);
        let dev = format!("{}{end}:", &self.name[..self.name.len().min(10)]);
        let line = text
            .lines()
            .map(str::trim_start)
            .find(|l| l.starts_with(&dev))
            .ok_or_else(|| format!("no {dev} in /proc/net/dev of {ns}"))?;
        // receive: bytes packets errs drop fifo frame compressed multicast; transmit: bytes ...
        line[dev.len()..]
            .split_whitespace()
            .filter_map(|v| v.parse().ok())
            .nth(8)
            .ok_or_else(|| format!("cannot read {line:?}"))
    }

    /// Takes the link down (every process in its namespaces ends); returns
    /// wanlink's own counters.
    pub fn down(&mut self) -> String {
        if !std::mem::replace(&mut self.up, false) {
            return String::new();
        }
        let out = wan_down(&self.dir, &self.name, self.pid);
        if let Ok(mut l) = LIVE.lock() {
            l.links.remove(&(self.name.clone(), self.pid));
        }
        out
    }
}

impl Drop for Link {
    fn drop(&mut self) {
        self.down();
    }
}
