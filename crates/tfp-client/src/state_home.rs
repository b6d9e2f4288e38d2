//! Where tf and the library keep state between runs: `$XDG_STATE_HOME/tf`,
//! else `~/.local/state/tf` (the XDG base directory rule): the backup proofs.

use std::path::PathBuf;

/// `$XDG_STATE_HOME/tf`, or `~/.local/state/tf`; `None` with neither set.
pub fn dir() -> Option<PathBuf> {
    let base = match std::env::var_os("XDG_STATE_HOME").filter(|v| !v.is_empty()) {
        Some(v) => PathBuf::from(v),
        None => PathBuf::from(std::env::var_os("HOME").filter(|v| !v.is_empty())?).join(".local/state"),
    };
    Some(base.join("tf"))
}
