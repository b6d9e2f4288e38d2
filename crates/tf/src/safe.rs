//! What downloads need on tf's side around the engine (tfp_client::engine,
//! which lands every download file beside its target and renames it over it
//! only when complete): the signal handler that removes pending temporaries
//! and says which partials are kept, what a LOCAL argument names, and the
//! hashing adapters of `--verify` for streams.

use std::io::{self, Write};
use std::path::PathBuf;
use std::sync::Once;
use tfp_client::interrupt;
use tfp_client::temporaries;

/// On SIGINT, SIGTERM or SIGHUP: remove the pending temporaries, say which
/// partial downloads are kept for `--resume`, and exit as the signal would
/// have (128 + its number). Installed only once a temporary exists (or by
/// `tf shell`), so every other command keeps the default actions. The
/// temporaries of `get -r` and `mirror` (client::engine::landing) go too.
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
                eprintln!("\ntf: interrupted; {}", left());
                for note in temporaries::kept_notes() {
                    eprintln!("tf: {note}");
                }
                std::process::exit(super::exit::by_signal(sig));
            }
        });
    });
}

/// What an interruption leaves, said by the signal thread; a download's
/// unless the command said otherwise ([`interrupt_leaves`]).
static LEFT: std::sync::Mutex<Option<String>> = std::sync::Mutex::new(None);

fn left() -> String {
    LEFT.lock()
        .unwrap_or_else(|p| p.into_inner())
        .clone()
        .unwrap_or_else(|| "the local file is left as it was".into())
}

/// Says what an interruption from now on leaves (the sentence after
/// "interrupted;"), and makes sure a signal says it: for uploads, whose
/// files tf does not clean up itself.
pub fn interrupt_leaves(text: impl Into<String>) {
    *LEFT.lock().unwrap_or_else(|p| p.into_inner()) = Some(text.into());
    clean_on_signals();
}

/// Where a download goes.
pub enum Dest {
    /// `-`: standard output, written as it arrives.
    Stdout,
    /// Something that is not a regular file (a device, a FIFO): written in
    /// place, since renaming over it would replace the device node.
    Special(PathBuf),
    /// A regular file, new or existing: through the engine (a partial or a
    /// scratch temporary beside it, renamed over it when complete).
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
    format!("0x{}", tfp_wire::hex::encode(&d))
}
