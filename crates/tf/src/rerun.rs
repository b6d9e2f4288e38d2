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
//!
//! A record decides where files land, so it is trusted only in a directory
//! no other account can change (made 0700, the way above it checked as ssh
//! checks `~/.ssh`: secret_files::dir_refusal), and only when it holds the
//! command line its name stands for: a record renamed, copied or planted
//! under another command's name is ignored with a warning.

use sha2::{Digest, Sha256};
use std::fs;
use std::io::{self, Read, Write};
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use tfp_client::ClientConfig;

/// One command line's record.
pub struct Rerun {
    path: Option<PathBuf>,
    /// What the record holds: the parts its name is the hash of, each as
    /// its length and its bytes.
    line: Vec<u8>,
}

/// What a record directory is called in tf's sentences.
const WHAT: &str = "the directory of tf's run records";

/// `$XDG_STATE_HOME/tf/runs`, or `~/.local/state/tf/runs`.
fn dir() -> Option<PathBuf> {
    Some(tfp_client::state_home::dir()?.join("runs"))
}

impl Rerun {
    /// The record of `cmd` (`put` or `get`) from `sources` to `dest` over
    /// `cfg`'s server and login, run from the current directory.
    pub fn of(cfg: &ClientConfig, cmd: &str, sources: &[String], dest: &str) -> Rerun {
        let cwd = std::env::current_dir().unwrap_or_default();
        let mut h = Sha256::new();
        let mut line = b"tf run record 1\n".to_vec();
        let mut part = |b: &[u8]| {
            h.update((b.len() as u64).to_le_bytes());
            h.update(b);
            line.extend_from_slice(format!("{} ", b.len()).as_bytes());
            line.extend_from_slice(b);
            line.push(b'\n');
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
            line,
        }
    }

    /// Whether an earlier run of this command made the destination and did
    /// not end whole: a regular file of this user's, no link, in a directory
    /// no one else can change, holding this command line.
    pub fn pending(&self) -> bool {
        let Some(p) = &self.path else { return false };
        if fs::symlink_metadata(p).is_err() {
            return false;
        }
        let ignored = |why: String| {
            eprintln!(
                "tf: warning: the run record {} is ignored: {why}; this run follows cp -r's rule",
                p.display()
            );
            false
        };
        if let Some(why) = private(p) {
            return ignored(why);
        }
        match self.holds_this_line(p) {
            Ok(true) => true,
            Ok(false) => ignored("it records another command line or destination (moved or copied there)".into()),
            Err(e) => ignored(e.to_string()),
        }
    }

    /// Whether the record at `p` is a regular file of this user's holding
    /// this command line (read no further than the line's length).
    fn holds_this_line(&self, p: &Path) -> io::Result<bool> {
        let f = fs::OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
            .open(p)?;
        let m = f.metadata()?;
        if !m.is_file() || m.uid() != nix::unistd::geteuid().as_raw() {
            return Ok(false);
        }
        let mut held = Vec::new();
        f.take(self.line.len() as u64 + 1).read_to_end(&mut held)?;
        Ok(held == self.line)
    }

    /// Records that this run makes its destination. Best effort: without a
    /// state directory a re-run nests, as cp -r's does.
    pub fn making(&self) {
        if let Err(e) = self.write() {
            unrecorded(&e.to_string());
        }
    }

    /// Writes the record; the error says what it is about.
    fn write(&self) -> io::Result<()> {
        let Some(p) = &self.path else { return Ok(()) };
        let said = |e: io::Error| io::Error::new(e.kind(), format!("{}: {e}", p.display()));
        if let Some(d) = p.parent() {
            fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(d)
                .map_err(said)?;
        }
        if let Some(why) = private(p) {
            return Err(io::Error::new(io::ErrorKind::PermissionDenied, why));
        }
        if self.holds_this_line(p).unwrap_or(false) {
            return Ok(());
        }
        // anything else under this name is the user's own (an older tf's
        // empty record): this run's replaces it
        let _ = fs::remove_file(p);
        let mut f = fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .custom_flags(libc::O_NOFOLLOW)
            .open(p)
            .map_err(said)?;
        f.write_all(&self.line).map_err(said)
    }

    /// The run ended with nothing failed: the next run of the same command
    /// follows cp -r's rule again.
    pub fn done(&self) {
        if let Some(p) = &self.path {
            if private(p).is_none() {
                let _ = fs::remove_file(p);
            }
        }
    }
}

/// Why the directory holding the record `p` is not the user's alone.
fn private(p: &Path) -> Option<String> {
    let d = p.parent()?;
    tfp_client::secret_files::dir_refusal(WHAT, d)
}

fn unrecorded(why: &str) {
    eprintln!("tf: note: cannot record this run for a re-run ({why}); a re-run would copy into the destination by cp -r's rule");
}
