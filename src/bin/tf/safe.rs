//! Downloads that cannot damage the file they replace: the data goes to a
//! hidden temporary beside the target (same directory, so the rename is
//! atomic; created O_EXCL, mode 0600 while incomplete) and only a complete,
//! verified download is renamed over it. Every other ending, an error, a
//! panic or SIGINT/SIGTERM/SIGHUP, removes the temporary and leaves the target
//! byte for byte as it was.

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::Once;
use tfd::client::interrupt;
use tfd::client::temporaries::{self, forget};

/// On SIGINT, SIGTERM or SIGHUP: remove the pending temporaries, say which
/// partial downloads are kept for `--resume`, and exit as the signal would
/// have (128 + its number). Installed only once a temporary exists (or by
/// `tf shell`), so every other command keeps the default actions. The
/// temporaries of `get -r` and `mirror` (client::tree::landing) go too.
/// In `tf shell` (client::interrupt armed) SIGINT only stops the running
/// command: its connections are shut down and the shell carries on.
pub fn clean_on_signals() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
        let Ok(mut signals) = signal_hook::iterator::Signals::new([SIGINT, SIGTERM, SIGHUP]) else {
            return;
        };
        std::thread::spawn(move || {
            for sig in signals.forever() {
                if sig == SIGINT && interrupt::armed() {
                    interrupt::fire();
                    continue;
                }
                temporaries::remove_pending();
                eprintln!("\ntf: interrupted; the local file is left as it was");
                for note in temporaries::kept_notes() {
                    eprintln!("tf: {note}");
                }
                std::process::exit(128 + sig);
            }
        });
    });
}

/// Where a download goes.
pub enum Dest {
    /// `-`: standard output, written as it arrives.
    Stdout,
    /// Something that is not a regular file (a device, a FIFO): written in
    /// place, since renaming over it would replace the device node.
    Special(PathBuf),
    /// A regular file, new or existing: through a [`Temp`].
    File(PathBuf),
}

/// What `local` names as a download's destination. An existing directory
/// receives the remote file's last name inside it (as cp does); a symlink
/// to a file is followed, so the file it points to is replaced, not the link.
pub fn dest(local: &str, remote: &str) -> Dest {
    if local == "-" {
        return Dest::Stdout;
    }
    let mut p = PathBuf::from(local);
    if p.is_dir() {
        let name = remote.trim_end_matches('/').rsplit('/').next().unwrap_or("");
        p = p.join(if name.is_empty() || name == ".." {
            "download"
        } else {
            name
        });
    }
    match std::fs::metadata(&p) {
        Ok(m) if m.is_file() => Dest::File(std::fs::canonicalize(&p).unwrap_or(p)),
        Ok(m) if !m.is_dir() => Dest::Special(p),
        _ => Dest::File(p),
    }
}

/// A download's temporary beside its target; removed when dropped unless
/// [`Temp::commit`] renamed it into place.
pub struct Temp {
    path: PathBuf,
    target: PathBuf,
    file: Option<File>,
}

impl Temp {
    /// Creates `.NAME.tf-PID-RANDOM` in the target's directory, exclusively,
    /// readable by its owner only.
    pub fn create(target: &Path) -> io::Result<Temp> {
        clean_on_signals();
        let dir = match target.parent() {
            Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
            _ => PathBuf::from("."),
        };
        let name = target
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        for _ in 0..16 {
            let path = dir.join(format!(".{name}{}", temporaries::suffix()?));
            // registered before it exists, so a signal between the two cannot miss it
            temporaries::remember(&path);
            match OpenOptions::new().write(true).create_new(true).mode(0o600).open(&path) {
                Ok(file) => {
                    return Ok(Temp {
                        path,
                        target: target.to_path_buf(),
                        file: Some(file),
                    })
                }
                Err(e) => {
                    forget(&path);
                    if e.kind() != io::ErrorKind::AlreadyExists {
                        return Err(e);
                    }
                }
            }
        }
        Err(io::Error::other("no free temporary name"))
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The open temporary (once: the writer owns it from then on).
    pub fn take_file(&mut self) -> Option<File> {
        self.file.take()
    }

    /// Renames the temporary over the target. It gets the target's mode (and,
    /// for root, its owner) when the target existed, else what a new file
    /// would get (0666 less the umask).
    pub fn commit(mut self) -> io::Result<()> {
        drop(self.file.take());
        let mode = match std::fs::metadata(&self.target) {
            Ok(m) => {
                if let Ok(t) = std::fs::metadata(&self.path) {
                    if (t.uid(), t.gid()) != (m.uid(), m.gid()) {
                        // best effort: only root may give a file away
                        let _ = std::os::unix::fs::chown(&self.path, Some(m.uid()), Some(m.gid()));
                    }
                }
                m.permissions().mode() & 0o7777
            }
            Err(_) => temporaries::new_file_mode(),
        };
        std::fs::set_permissions(&self.path, std::fs::Permissions::from_mode(mode))?;
        std::fs::rename(&self.path, &self.target)?;
        forget(&self.path);
        Ok(())
    }
}

impl Drop for Temp {
    fn drop(&mut self) {
        if temporaries::is_pending(&self.path) {
            let _ = std::fs::remove_file(&self.path);
            forget(&self.path);
        }
    }
}

/// A writer that hashes what passes through it (for `--verify` of a stream).
/// `hash` is `None` without `--verify`: SHA-256 costs as much CPU as the
/// session's cipher, half of a big transfer's CPU when nobody asked for it.
pub struct Hashing<W> {
    pub inner: W,
    pub hash: Option<sha2::Sha256>,
}

impl<W: Write> Write for Hashing<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        if let Some(h) = self.hash.as_mut() {
            sha2::Digest::update(h, &buf[..n]);
        }
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// A reader that hashes what it reads (for `--verify` of an upload from stdin).
/// `hash` is `None` when nothing will be verified (see [`Hashing`]).
pub struct HashingReader<R> {
    pub inner: R,
    pub hash: Option<sha2::Sha256>,
}

impl<R: io::Read> io::Read for HashingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        if let Some(h) = self.hash.as_mut() {
            sha2::Digest::update(h, &buf[..n]);
        }
        Ok(n)
    }
}

/// `0x` and the hex digest, as the server's SHA256 answers.
pub fn hex(h: sha2::Sha256) -> String {
    let d = sha2::Digest::finalize(h);
    format!("0x{}", d.iter().map(|b| format!("{b:02x}")).collect::<String>())
}
