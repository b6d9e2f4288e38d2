//! What lets a re-run of an interrupted `put -r`/`get -r` continue into the
//! same place. cp -r's rule makes a missing destination receive the source's
//! contents and an existing one receive the source under its own name, so
//! the destination the first run made would receive a second copy, nested,
//! when the same command runs again. A run about to make its destination
//! leaves a record (a file named by the SHA-256 of the server, the login, the
//! working directory and the command line) in tf's state directory and
//! removes it once the run ends with nothing failed; while the record is
//! there, the same command puts the source's contents into the destination
//! itself (tree::options::Options::contents), as the run it continues did.

use sha2::{Digest, Sha256};
use std::fs;
use std::io;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt};
use std::path::PathBuf;
use tfp_client::ClientConfig;

/// One command line's record.
pub struct Rerun {
    path: Option<PathBuf>,
}

/// `$XDG_STATE_HOME/tf/runs`, or `~/.local/state/tf/runs`.
fn dir() -> Option<PathBuf> {
    let base = match std::env::var_os("XDG_STATE_HOME").filter(|v| !v.is_empty()) {
        Some(v) => PathBuf::from(v),
        None => PathBuf::from(std::env::var_os("HOME").filter(|v| !v.is_empty())?).join(".local/state"),
    };
    Some(base.join("tf/runs"))
}

impl Rerun {
    /// The record of `cmd` (`put` or `get`) from `sources` to `dest` over
    /// `cfg`'s server and login, run from the current directory.
    pub fn of(cfg: &ClientConfig, cmd: &str, sources: &[String], dest: &str) -> Rerun {
        let cwd = std::env::current_dir().unwrap_or_default();
        let mut h = Sha256::new();
        let mut part = |b: &[u8]| {
            h.update((b.len() as u64).to_le_bytes());
            h.update(b);
        };
        part(cfg.server.as_bytes());
        part(cfg.login.as_ref().map_or("", |l| l.user.as_str()).as_bytes());
        part(cfg.jail.as_ref().map_or("", |j| j.0.as_str()).as_bytes());
        part(std::os::unix::ffi::OsStrExt::as_bytes(cwd.as_os_str()));
        part(cmd.as_bytes());
        for s in sources {
            part(s.as_bytes());
        }
        part(dest.as_bytes());
        let name = tfp_wire::hex::encode(&h.finalize()[..16]);
        Rerun {
            path: dir().map(|d| d.join(name)),
        }
    }

    /// Whether an earlier run of this command made the destination and did
    /// not end whole: a regular file of this user's, no link.
    pub fn pending(&self) -> bool {
        let Some(p) = &self.path else { return false };
        fs::symlink_metadata(p).is_ok_and(|m| m.is_file() && m.uid() == nix::unistd::geteuid().as_raw())
    }

    /// Records that this run makes its destination. Best effort: without a
    /// state directory a re-run nests, as cp -r's does.
    pub fn making(&self) {
        if let Err(e) = self.write() {
            if let Some(p) = &self.path {
                unrecorded(&format!("{}: {e}", p.display()));
            }
        }
    }

    fn write(&self) -> io::Result<()> {
        let Some(p) = &self.path else { return Ok(()) };
        if let Some(d) = p.parent() {
            fs::DirBuilder::new().recursive(true).mode(0o700).create(d)?;
        }
        match fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .custom_flags(libc::O_NOFOLLOW)
            .open(p)
        {
            Ok(_) => Ok(()),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// The run ended with nothing failed: the next run of the same command
    /// follows cp -r's rule again.
    pub fn done(&self) {
        if let Some(p) = &self.path {
            let _ = fs::remove_file(p);
        }
    }
}

fn unrecorded(why: &str) {
    eprintln!("tf: note: cannot record this run for a re-run ({why}); a re-run would copy into the destination by cp -r's rule");
}
