//! What every phase uses: the tf binary, the private sshd, the two tfd (with
//! and without `sync_uploads`) and the scratch directory.

use super::options::GCM;
use crate::support::sshd::Sshd;
use crate::support::Server;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

/// What every phase uses.
pub(crate) struct Bed {
    pub(crate) tf: PathBuf,
    pub(crate) sshd: Sshd,
    /// sync_uploads yes (the default) and no.
    pub(crate) sync: Server,
    pub(crate) nosync: Server,
    /// The bench's own directory: local sources and destinations, batch files.
    pub(crate) dir: PathBuf,
    pub(crate) jobs: Vec<String>,
}

impl Drop for Bed {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.dir);
    }
}

impl Bed {
    pub(crate) fn tf(&self, server: &Server, args: &[&str]) -> Result<Command, String> {
        let mut c = Command::new(&self.tf);
        c.args(server.tf_args()?).args(args);
        Ok(c)
    }

    /// `tf CMD [--jobs N] REST...` for the tree commands.
    pub(crate) fn tf_tree(&self, server: &Server, cmd: &[&str], rest: &[&Path]) -> Result<Command, String> {
        let mut c = self.tf(server, cmd)?;
        c.args(&self.jobs).args(rest);
        Ok(c)
    }

    /// `sftp -b` of one command line (written to a batch file here).
    pub(crate) fn sftp(&self, cipher: Option<&str>, line: &str) -> Result<Command, String> {
        let batch = self.dir.join("sftp.batch");
        fs::write(&batch, format!("{line}\n")).map_err(|e| e.to_string())?;
        let mut c = Command::new("sftp");
        c.arg("-b").arg(&batch).arg("-P").arg(self.sshd.port().to_string());
        if let Some(ci) = cipher {
            c.args(["-c", ci]);
        }
        c.args(self.sshd.client_options()).arg(self.sshd.login());
        Ok(c)
    }

    pub(crate) fn scp(&self, from: String, to: String) -> Command {
        let mut c = Command::new("scp");
        c.args(["-q", "-c", GCM, "-P"]).arg(self.sshd.port().to_string());
        c.args(self.sshd.client_options()).arg(from).arg(to);
        c
    }

    pub(crate) fn rsync(&self, from: String, to: String) -> Command {
        let mut c = Command::new("rsync");
        c.args(["-a", "-e"]).arg(self.sshd.rsync_shell()).arg(from).arg(to);
        c
    }

    pub(crate) fn remote(&self, path: &Path) -> String {
        format!("{}:{}", self.sshd.login(), path.display())
    }
}

pub(crate) fn p(path: &Path) -> String {
    path.display().to_string()
}
