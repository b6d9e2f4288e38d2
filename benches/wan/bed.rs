//! The test bed of one profile: the link, the namespaces, tfd and sshd, and
//! the scratch directories on both sides.

use super::options::{Options, GCM};
use crate::support::sshd::Sshd;
use crate::support::wan::{forget_dir, Link};
use crate::support::{log_problems, Server};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

pub(crate) struct Bed<'o> {
    pub(crate) o: &'o Options,
    pub(crate) tf: PathBuf,
    /// Dropped before the link (whose wan-down would end them anyway).
    pub(crate) server: Option<Server>,
    pub(crate) sshd: Option<Sshd>,
    pub(crate) link: Link,
    /// The bench's own directory (clients' files).
    pub(crate) dir: PathBuf,
    pub(crate) limit: Duration,
}

impl Bed<'_> {
    pub(crate) fn server(&self) -> &Server {
        self.server.as_ref().expect("the server lives as long as the bed")
    }

    pub(crate) fn sshd(&self) -> &Sshd {
        self.sshd.as_ref().expect("sshd lives as long as the bed")
    }

    pub(crate) fn data(&self) -> PathBuf {
        self.server().data_dir()
    }

    pub(crate) fn tf(&self, args: &[&str]) -> Result<Command, String> {
        self.tf_bin(&self.tf, args)
    }

    /// `tf` as another binary (`--baseline-tf`).
    pub(crate) fn tf_bin(&self, bin: &Path, args: &[&str]) -> Result<Command, String> {
        let mut c = self.link.client(bin);
        c.args(self.server().tf_args()?).args(args);
        Ok(c)
    }

    pub(crate) fn ssh_opts(&self, c: &mut Command) {
        c.args(self.sshd().client_options());
    }

    pub(crate) fn scp(&self, from: String, to: String) -> Command {
        let mut c = self.link.client("scp");
        c.args(["-q", "-c", GCM, "-P"]).arg(self.sshd().port().to_string());
        self.ssh_opts(&mut c);
        c.arg(from).arg(to);
        c
    }

    /// `sftp -b` of one command line (a batch file of its own per line).
    pub(crate) fn sftp(&self, line: &str) -> Result<Command, String> {
        let batch = self.dir.join(format!("sftp-{:016x}.batch", fxhash(line)));
        fs::write(&batch, format!("{line}\n")).map_err(|e| e.to_string())?;
        let mut c = self.link.client("sftp");
        c.arg("-b")
            .arg(&batch)
            .args(["-c", GCM, "-P"])
            .arg(self.sshd().port().to_string());
        self.ssh_opts(&mut c);
        c.arg(self.sshd().login());
        Ok(c)
    }

    /// `ssh HOST CMD`.
    pub(crate) fn ssh(&self, cmd: &str) -> Command {
        let mut c = self.link.client("ssh");
        c.args(["-c", GCM, "-p"]).arg(self.sshd().port().to_string());
        self.ssh_opts(&mut c);
        c.arg(self.sshd().login()).arg(cmd);
        c
    }

    pub(crate) fn rsync(&self, from: String, to: String) -> Command {
        self.rsync_with(&[], from, to)
    }

    /// `rsync -a` with `extra` options (`-z`).
    pub(crate) fn rsync_with(&self, extra: &[&str], from: String, to: String) -> Command {
        let mut c = self.link.client("rsync");
        c.arg("-a")
            .args(extra)
            .arg("-e")
            .arg(self.sshd().rsync_shell())
            .arg(from)
            .arg(to);
        c
    }

    pub(crate) fn remote(&self, path: &Path) -> String {
        format!("{}:{}", self.sshd().login(), path.display())
    }
}

impl Drop for Bed<'_> {
    fn drop(&mut self) {
        if let Some(s) = self.server.as_ref() {
            let problems = log_problems(&s.log_text());
            if !problems.is_empty() {
                println!("  tfd: {} warning/error line(s) in its log", problems.len());
                for l in problems.iter().take(5) {
                    println!("    {l}");
                }
            }
        }
        let dirs: Vec<PathBuf> = [
            self.server.as_ref().map(|s| s.dir().to_path_buf()),
            self.sshd.as_ref().map(|s| s.dir().to_path_buf()),
            Some(self.dir.clone()),
        ]
        .into_iter()
        .flatten()
        .collect();
        self.server.take();
        self.sshd.take();
        let counters = self.link.down();
        if !counters.trim().is_empty() {
            println!("  link {}: {}", self.link.name, counters.trim().replace('\n', "; "));
        }
        let _ = fs::remove_dir_all(&self.dir);
        // only now: an interrupted bench's handler waits for this
        for d in &dirs {
            forget_dir(d);
        }
    }
}

/// A small stable hash, for file names.
pub(crate) fn fxhash(s: &str) -> u64 {
    s.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ b as u64).wrapping_mul(0x100_0000_01b3)
    })
}

pub(crate) fn p(path: &Path) -> String {
    path.display().to_string()
}
