//! Writing a user's key file: read whole, rewritten whole and atomically,
//! owned by root, mode 0644, in a directory made 0755 when missing. Both
//! `tfpasswd key` and a user's own changes write through here.

use std::os::unix::fs::DirBuilderExt;
use std::path::Path;

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
