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

use std::fs::{self, File, Metadata, OpenOptions};
use std::io;
use std::os::fd::OwnedFd;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt};
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

/// Opens `dir`, one of tf's own directories holding secrets (made 0700,
/// with its parents, when missing; never through a symlink), and checks on
/// the descriptor opened that it is the user's and closed to others
/// ([`Rule::Private`]); the error is one sentence naming `what` and `dir`.
pub fn open_dir(what: &str, dir: &Path) -> Result<OwnedFd, String> {
    let err = |e: io::Error| format!("{what} {}: {e}", dir.display());
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(err)?;
    let f = OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_DIRECTORY | libc::O_NOFOLLOW | libc::O_CLOEXEC)
        .open(dir)
        .map_err(|e| match e.raw_os_error() {
            Some(libc::ELOOP) | Some(libc::ENOTDIR) => {
                format!(
                    "{what} {} is refused: it is not a directory (a symbolic link?)",
                    dir.display()
                )
            }
            _ => err(e),
        })?;
    let meta = f.metadata().map_err(err)?;
    if let Some(why) = refusal(what, dir, &meta, Rule::Private) {
        return Err(why);
    }
    Ok(OwnedFd::from(f))
}

/// Why the directory `dir` (one of tf's own, for the user alone) could be
/// changed or read by another account, as ssh's StrictModes checks the way
/// to `~/.ssh`: `dir` must be the user's, no link, with no permission for
/// group or others ([`Rule::Private`]); each directory above it (links
/// resolved) the user's or root's and writable by neither group nor
/// others, since whoever can write one can put another directory in place
/// of what it holds. A sticky one (/tmp) may be writable by all: there the
/// kernel keeps others from renaming or removing what is not theirs.
/// `None` when all hold.
pub fn dir_refusal(what: &str, dir: &Path) -> Option<String> {
    let p = dir.display();
    let meta = match std::fs::symlink_metadata(dir) {
        Ok(m) => m,
        Err(e) => return Some(format!("{what} {p}: {e}")),
    };
    if !meta.is_dir() {
        return Some(format!(
            "{what} {p} is refused: it is not a directory (a symbolic link?)"
        ));
    }
    if let Some(why) = refusal(what, dir, &meta, Rule::Private) {
        return Some(why);
    }
    let real = match dir.canonicalize() {
        Ok(r) => r,
        Err(e) => return Some(format!("{what} {p}: {e}")),
    };
    let me_uid = tfd_sys::geteuid();
    for up in real.ancestors().skip(1) {
        let m = match std::fs::metadata(up) {
            Ok(m) => m,
            Err(e) => return Some(format!("{what} {p}: {}: {e}", up.display())),
        };
        let (uid, mode) = (m.uid(), m.mode() & 0o7777);
        if uid != me_uid && uid != 0 {
            return Some(format!(
                "{what} {p} is refused: {} above it belongs to {}, who could put another directory in its \
                 place",
                up.display(),
                who(uid)
            ));
        }
        let sticky = mode & 0o1000 != 0;
        if mode & 0o022 != 0 && !sticky {
            return Some(format!(
                "{what} {p} is refused: {} above it has mode {mode:04o}, so others could put another \
                 directory in its place (`chmod go-w {}` closes it)",
                up.display(),
                up.display()
            ));
        }
    }
    None
}
