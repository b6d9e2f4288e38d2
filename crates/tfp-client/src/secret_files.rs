//! tf's own files checked as ssh checks its own (StrictModes): a file holding a
//! secret (a `--password-file`, the Fast Access token cache) must be the
//! user's and closed to everyone else, and a file that decides where the
//! secrets go (the config, which names `server`, `key`, `hash` and the password
//! file) must be writable by nobody but the user (or root). Anything else is
//! refused before it is used, in one sentence naming the file and the command
//! that fixes it: a password another user can read is already known to them,
//! and a config another user can write sends the password to their server.
//!
//! Every check is made on the descriptor that is then read (fstat, never a
//! second lookup of the path), so a file swapped between check and use is the
//! file checked.

use std::fs::{File, Metadata, OpenOptions};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::Path;

/// What a file holds, and so who may read or write it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rule {
    /// A secret: the user's own, no permission for group or others.
    Private,
    /// It says where secrets go: the user's or root's, writable by neither
    /// group nor others.
    Trusted,
}

/// The user's name for `uid`, else the number.
fn who(uid: u32) -> String {
    match nix::unistd::User::from_uid(uid.into()) {
        Ok(Some(u)) => format!("{} (uid {uid})", u.name),
        _ => format!("uid {uid}"),
    }
}

/// The name `chown` takes for this process's user.
fn me() -> String {
    let uid = tfd_sys::geteuid();
    match nix::unistd::User::from_uid(uid.into()) {
        Ok(Some(u)) => u.name,
        _ => uid.to_string(),
    }
}

/// Why `meta` (the file `what` at `path`) breaks `rule`: one sentence with
/// the command that fixes it; `None` when it is fine.
pub fn refusal(what: &str, path: &Path, meta: &Metadata, rule: Rule) -> Option<String> {
    let (uid, mode) = (meta.uid(), meta.mode() & 0o7777);
    let me_uid = tfd_sys::geteuid();
    let p = path.display();
    let owner_ok = uid == me_uid || (rule == Rule::Trusted && uid == 0);
    if !owner_ok {
        let whose = if rule == Rule::Trusted { "you or root" } else { "you" };
        return Some(format!(
            "{what} {p} is refused: it belongs to {}, not to {whose}, so they could read or change it \
             (`chown {} {p}` makes it yours)",
            who(uid),
            me()
        ));
    }
    match rule {
        Rule::Private if mode & 0o077 != 0 => Some(format!(
            "{what} {p} is refused: its mode {mode:04o} lets others {} it (`chmod go-rwx {p}` closes it)",
            if mode & 0o044 != 0 { "read" } else { "reach" }
        )),
        Rule::Trusted if mode & 0o022 != 0 => Some(format!(
            "{what} {p} is refused: its mode {mode:04o} lets others write it, and so redirect the server, \
             key, hash and password (`chmod go-w {p}` closes it)"
        )),
        _ => None,
    }
}

/// Opens `path` for reading and checks the open file against `rule`; the
/// error is one sentence naming `what` and `path`.
pub fn open(what: &str, path: &Path, rule: Rule) -> Result<File, String> {
    let f = OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_CLOEXEC | libc::O_NOCTTY)
        .open(path)
        .map_err(|e| format!("{what} {}: {e}", path.display()))?;
    let meta = f.metadata().map_err(|e| format!("{what} {}: {e}", path.display()))?;
    // a pipe is fine (`--password-file <(pass show x)`): its owner and mode are checked too
    if meta.is_dir() {
        return Err(format!("{what} {} is a directory", path.display()));
    }
    match refusal(what, path, &meta, rule) {
        Some(why) => Err(why),
        None => Ok(f),
    }
}
