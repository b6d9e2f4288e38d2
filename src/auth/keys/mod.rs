//! Users' authorized keys for key login (TFDKEY, TFDKEYSIG): one file per
//! LOGIN name in `authorized_keys_dir`, in OpenSSH's `authorized_keys`
//! format, judged as sshd's StrictModes judges it, read at every login (a key
//! removed or expired refuses the next login without a restart).

pub mod options;
pub mod store;
pub mod verify;

use std::net::IpAddr;
use std::path::{Path, PathBuf};
use tfp_wire::keylogin::line;

/// The largest key file read.
pub const MAX_FILE: u64 = 256 << 10;

/// Why no line lets a key in.
#[derive(Debug)]
pub enum Refusal {
    /// The file could be changed by another account (sshd's StrictModes).
    Untrusted(String),
    /// The file could not be read (not there: the user has no keys).
    Unreadable(String),
    /// No line holds the key.
    NotListed,
    /// The line holding it refuses this login (its line number).
    Line(usize, options::Refused),
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Refusal::Untrusted(why) => write!(f, "the key file is refused: {why}"),
            Refusal::Unreadable(why) => write!(f, "no key file: {why}"),
            Refusal::NotListed => write!(f, "the key is not in the user's key file"),
            Refusal::Line(n, why) => write!(f, "key file line {n}: {why}"),
        }
    }
}

/// The file of `name`'s keys in `dir`. The name is a user file name
/// (letters, digits, `.`, `_`, `-`, `@`, never starting with `-`), so it is one
/// path component; `.` and `..` are refused here.
pub fn file_of(dir: &Path, name: &str) -> Option<PathBuf> {
    let ok = crate::auth::userdb::check_name(name).is_ok() && name != "." && name != "..";
    ok.then(|| dir.join(name))
}

/// Reads `path` if only root or `owner` (the user's system user) could
/// have written it and the directories above it.
pub fn read(path: &Path, owner: u32) -> Result<String, Refusal> {
    if let Some(why) = tfd_sys::private_file::check_file_of(path, "key file", owner) {
        return Err(Refusal::Untrusted(why));
    }
    match std::fs::metadata(path) {
        Ok(m) if !m.is_file() => return Err(Refusal::Untrusted(format!("{} is not a regular file", path.display()))),
        Err(e) => return Err(Refusal::Unreadable(format!("{}: {e}", path.display()))),
        Ok(_) => {}
    }
    let bytes = match tfd_sys::read_capped(path, MAX_FILE) {
        Ok(b) => b,
        Err(tfd_sys::CappedError::Io(e)) => return Err(Refusal::Unreadable(format!("{}: {e}", path.display()))),
        Err(tfd_sys::CappedError::TooLarge) => {
            return Err(Refusal::Untrusted(format!(
                "{} is larger than {MAX_FILE} bytes",
                path.display()
            )))
        }
    };
    String::from_utf8(bytes)
        .ok()
        .ok_or_else(|| Refusal::Untrusted(format!("{} is not UTF-8", path.display())))
}

/// The line of `text` holding `blob`, judged for a login from `ip` at `now`:
/// its number (from 1) when it lets the key in. Lines that do not parse are
/// passed over (`tfpasswd key list` names them).
pub fn find(text: &str, blob: &[u8], ip: IpAddr, now: i64) -> Result<usize, Refusal> {
    let mut refused = None;
    for (i, l) in text.lines().enumerate() {
        let Ok(Some(k)) = line::parse(l) else { continue };
        if k.blob != blob {
            continue;
        }
        match options::judge(&k.options, ip, now) {
            Ok(()) => return Ok(i + 1),
            Err(why) => refused = refused.or(Some(Refusal::Line(i + 1, why))),
        }
    }
    Err(refused.unwrap_or(Refusal::NotListed))
}
