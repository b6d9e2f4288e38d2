//! Writing a user's key file: read whole, rewritten whole and atomically,
//! owned by root, mode 0644, in a directory made 0755 when missing. Both
//! `tfpasswd key` and a user's own changes write through here.

use std::os::unix::fs::DirBuilderExt;
use std::path::Path;
use tfp_wire::keylogin::line::KeyLine;

/// Why a key file could not be read or written (names the file).
#[derive(Debug)]
pub struct StoreError(pub String);

impl std::fmt::Display for StoreError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// The key file's text ("" when there is none yet).
pub fn current(path: &Path) -> Result<String, StoreError> {
    match tfd_sys::read_capped(path, super::MAX_FILE) {
        Ok(b) => String::from_utf8(b)
            .ok()
            .ok_or_else(|| StoreError(format!("{} is not UTF-8", path.display()))),
        Err(tfd_sys::CappedError::Io(e)) if e.kind() == std::io::ErrorKind::NotFound => Ok(String::new()),
        Err(tfd_sys::CappedError::Io(e)) => Err(StoreError(format!("{}: {e}", path.display()))),
        Err(tfd_sys::CappedError::TooLarge) => Err(StoreError(format!("{} is too large", path.display()))),
    }
}

/// Writes the key file: root's, 0644, in a directory made 0755 if missing.
pub fn save(dir: &Path, path: &Path, text: &str) -> Result<(), StoreError> {
    if !dir.exists() {
        if let Err(e) = std::fs::DirBuilder::new().recursive(true).mode(0o755).create(dir) {
            return Err(StoreError(format!("{}: {e}", dir.display())));
        }
    }
    match tfd_sys::private_file::Writer::new(0o644).write(path, text.as_bytes()) {
        Ok(()) => Ok(()),
        Err(e) => Err(StoreError(format!("{}: {e}", path.display()))),
    }
}

/// Runs `change` on the key file at `path` (in `dir`) under the keys lock,
/// an exclusive flock(2) on the directory itself that `tfpasswd key` and
/// every session take, so concurrent changes lose none; writes the text
/// `change` returns (None: nothing to write). The outer error: the file or
/// the lock; the inner: `change`'s refusal.
pub fn edit<T, E>(
    dir: &Path,
    path: &Path,
    change: impl FnOnce(&str) -> Result<(Option<String>, T), E>,
) -> Result<Result<T, E>, StoreError> {
    if !dir.exists() {
        if let Err(e) = std::fs::DirBuilder::new().recursive(true).mode(0o755).create(dir) {
            return Err(StoreError(format!("{}: {e}", dir.display())));
        }
    }
    let locked = std::fs::File::open(dir).and_then(|lock| {
        tfd_sys::lock_exclusive(std::os::fd::AsFd::as_fd(&lock))?;
        Ok(lock)
    });
    let _lock = match locked {
        Ok(lock) => lock,
        Err(e) => return Err(StoreError(format!("locking {}: {e}", dir.display()))),
    };
    let text = current(path)?;
    match change(&text) {
        Ok((Some(new), out)) => save(dir, path, &new).map(|()| Ok(out)),
        Ok((None, out)) => Ok(Ok(out)),
        Err(e) => Ok(Err(e)),
    }
}

/// The key blobs of a file's lines that parse.
pub fn blobs(text: &str) -> Vec<Vec<u8>> {
    text.lines()
        .filter_map(|l| tfp_wire::keylogin::line::parse(l).ok().flatten())
        .map(|k| k.blob)
        .collect()
}

/// Appends a line to a file's text, on a line of its own.
pub fn append(text: &mut String, line: &str) {
    if !text.is_empty() && !text.ends_with('\n') {
        text.push('\n');
    }
    text.push_str(line.trim());
    text.push('\n');
}

/// The file's text without the lines `hit` takes (given each line's number
/// from 1 and its key, when it parses), and how many went.
pub fn remove(text: &str, hit: impl Fn(usize, Option<&KeyLine>) -> bool) -> (String, usize) {
    let mut kept = String::new();
    let mut removed = 0;
    for (n, l) in text.lines().enumerate() {
        let k = tfp_wire::keylogin::line::parse(l).ok().flatten();
        if hit(n + 1, k.as_ref()) {
            removed += 1;
        } else {
            kept.push_str(l);
            kept.push('\n');
        }
    }
    (kept, removed)
}
