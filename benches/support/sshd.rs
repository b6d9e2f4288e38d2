//! A private OpenSSH server for the benches that compare `tf` with sftp, scp and
//! rsync over ssh: its own config (`-f`), host key and authorised client key in a
//! private temporary directory, on a free port of 127.0.0.1 only (or of an address
//! in a network namespace the bench made itself, `Sshd::start_at`), in the
//! foreground (`-D`) as this process's child, stopped and removed on drop, so a
//! bench that fails half way leaves no daemon and no key behind. Nothing of the
//! machine's own sshd (config, keys, service) is read or touched.

use super::{free_port, listening, private_tempdir};
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use std::fs;
use std::net::{IpAddr, Ipv4Addr};
use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

/// Debian's sshd (openssh-server; `scripts/deps` installs it).
pub const SSHD: &str = "/usr/sbin/sshd";

/// The programs the comparison needs, by package; the first missing one is
/// named, with what installs it.
pub fn missing_tools() -> Option<String> {
    if !Path::new(SSHD).is_file() {
        return Some(format!("no {SSHD} (openssh-server; run scripts/deps)"));
    }
    for (tool, package) in [
        ("ssh", "openssh-client"),
        ("ssh-keygen", "openssh-client"),
        ("sftp", "openssh-client"),
        ("scp", "openssh-client"),
        ("rsync", "rsync"),
    ] {
        let found = std::env::var_os("PATH")
            .map(|p| std::env::split_paths(&p).any(|d| d.join(tool).is_file()))
            .unwrap_or(false);
        if !found {
            return Some(format!("no {tool} ({package}; run scripts/deps)"));
        }
    }
    None
}

pub struct Sshd {
    child: Option<Child>,
    dir: PathBuf,
    port: u16,
    user: String,
    /// The address it listens on, and the network namespace it runs in (`None`: this one).
    ip: IpAddr,
    netns: Option<String>,
}

fn keygen(path: &Path, comment: &str) -> Result<(), String> {
    let out = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-C", comment, "-f"])
        .arg(path)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("ssh-keygen: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "ssh-keygen {}: {}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

impl Sshd {
    /// Generates the keys, writes the config and starts sshd on 127.0.0.1;
    /// returns once it accepts connections (at most 10 s).
    pub fn start() -> Result<Sshd, String> {
        Sshd::start_at(None, IpAddr::V4(Ipv4Addr::LOCALHOST))
    }

    /// Like [`Sshd::start`], listening on `ip` inside the network namespace
    /// `netns` (`ip netns exec`), e.g. one end of an emulated WAN link.
    pub fn start_at(netns: Option<&str>, ip: IpAddr) -> Result<Sshd, String> {
        let dir = private_tempdir("sshd")?;
        let user = nix::unistd::User::from_uid(nix::unistd::geteuid())
            .ok()
            .flatten()
            .map(|u| u.name)
            .ok_or("cannot find this user's name")?;
        // Dropped (and so cleaned up) from here on if anything fails.
        let mut sshd = Sshd {
            child: None,
            dir,
            port: 0,
            user,
            ip,
            netns: netns.map(str::to_string),
        };
        if sshd.dir.display().to_string().contains(char::is_whitespace) {
            return Err(format!(
                "{}: rsync's -e cannot take a path with spaces; set TMPDIR",
                sshd.dir.display()
            ));
        }
        sshd.spawn()?;
        Ok(sshd)
    }

    fn spawn(&mut self) -> Result<(), String> {
        let dir = self.dir.clone();
        keygen(&dir.join("host_key"), "tfd-bench-host")?;
        keygen(&dir.join("client_key"), "tfd-bench-client")?;
        fs::copy(dir.join("client_key.pub"), dir.join("authorized_keys")).map_err(|e| e.to_string())?;
        self.port = free_port()?;
        let host_pub = fs::read_to_string(dir.join("host_key.pub")).map_err(|e| e.to_string())?;
        fs::write(
            dir.join("known_hosts"),
            format!("[{}]:{} {}", self.ip, self.port, host_pub.trim()) + "\n",
        )
        .map_err(|e| e.to_string())?;
        let conf = format!(
            "Port {port}\n\
             ListenAddress {ip}\n\
             HostKey {d}/host_key\n\
             PidFile none\n\
             AuthorizedKeysFile {d}/authorized_keys\n\
             AllowUsers {user}\n\
             PermitRootLogin prohibit-password\n\
             PubkeyAuthentication yes\n\
             PasswordAuthentication no\n\
             KbdInteractiveAuthentication no\n\
             UsePAM no\n\
             StrictModes no\n\
             UseDNS no\n\
             PermitTTY no\n\
             X11Forwarding no\n\
             AllowTcpForwarding no\n\
             AllowAgentForwarding no\n\
             PrintMotd no\n\
             Subsystem sftp internal-sftp\n",
            port = self.port,
            ip = self.ip,
            d = dir.display(),
            user = self.user
        );
        fs::write(dir.join("sshd_config"), conf).map_err(|e| e.to_string())?;
        // sshd running as root wants its privilege separation directory, which
        // systemd makes for the machine's own sshd; a container may not have it.
        if nix::unistd::geteuid().is_root() && !Path::new("/run/sshd").is_dir() {
            fs::DirBuilder::new()
                .mode(0o755)
                .create("/run/sshd")
                .map_err(|e| format!("/run/sshd: {e}"))?;
        }
        let log = fs::File::create(dir.join("sshd.log")).map_err(|e| e.to_string())?;
        let mut cmd = match &self.netns {
            Some(ns) => {
                let mut c = Command::new("ip");
                c.args(["netns", "exec", ns, SSHD]);
                c
            }
            None => Command::new(SSHD),
        };
        let child = cmd
            .args(["-D", "-e", "-f"])
            .arg(dir.join("sshd_config"))
            .stdin(Stdio::null())
            .stdout(log.try_clone().map_err(|e| e.to_string())?)
            .stderr(log)
            .spawn()
            .map_err(|e| format!("cannot start {SSHD}: {e}"))?;
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(Ok(Some(status))) = self.child.as_mut().map(Child::try_wait) {
                self.child = None;
                return Err(format!("sshd exited at startup ({status}):\n{}", self.log_text()));
            }
            if listening(self.netns.as_deref(), (self.ip, self.port).into()) {
                return Ok(());
            }
            if Instant::now() > deadline {
                return Err(format!("sshd did not listen in 10 s:\n{}", self.log_text()));
            }
            thread::sleep(Duration::from_millis(20));
        }
    }

    /// Its private directory (config, keys, log).
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// `USER@ADDRESS`, for sftp, scp and rsync.
    pub fn login(&self) -> String {
        format!("{}@{}", self.user, self.ip)
    }

    /// The options every ssh client here takes (ssh, sftp and scp; the port is
    /// `-p` for one and `-P` for the others, so it is not among them): only this
    /// server's key and host key, no user or system config, no agent, no prompt.
    pub fn client_options(&self) -> Vec<String> {
        let d = self.dir.display();
        [
            "-F".to_string(),
            "/dev/null".into(),
            "-i".into(),
            format!("{d}/client_key"),
            "-o".into(),
            "IdentitiesOnly=yes".into(),
            "-o".into(),
            "IdentityAgent=none".into(),
            "-o".into(),
            format!("UserKnownHostsFile={d}/known_hosts"),
            "-o".into(),
            "GlobalKnownHostsFile=/dev/null".into(),
            "-o".into(),
            "StrictHostKeyChecking=yes".into(),
            "-o".into(),
            "BatchMode=yes".into(),
            "-o".into(),
            "ConnectTimeout=10".into(),
            "-o".into(),
            "LogLevel=ERROR".into(),
        ]
        .into()
    }

    /// The remote shell for `rsync -e`: ssh with [`Sshd::client_options`].
    pub fn rsync_shell(&self) -> String {
        let mut v = vec!["ssh".to_string(), "-p".into(), self.port.to_string()];
        v.extend(self.client_options());
        v.join(" ")
    }

    pub fn log_text(&self) -> String {
        fs::read_to_string(self.dir.join("sshd.log")).unwrap_or_default()
    }
}

impl Drop for Sshd {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = kill(Pid::from_raw(child.id() as i32), Signal::SIGTERM);
            let deadline = Instant::now() + Duration::from_secs(5);
            while matches!(child.try_wait(), Ok(None)) && Instant::now() < deadline {
                thread::sleep(Duration::from_millis(20));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
        let _ = fs::remove_dir_all(&self.dir);
    }
}
