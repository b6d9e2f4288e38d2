//! One safe way to write a file of tfd's own (a pidfile, and in time every
//! private file) whole, in a directory only trusted accounts can change:
//! - the directory, and every one above it, is owned by root or by the
//!   effective user and writable by no one else, unless it is sticky (as
//!   /tmp and /run/lock are: others may add names there but never remove or
//!   rename ours) — what [`check_dir`] says, with the command that mends it;
//! - the contents go to a fresh temporary created `O_CREAT|O_EXCL|O_NOFOLLOW`
//!   under a new name each try (a name planted there, as a file or a symlink,
//!   is never opened, only skipped), with the mode set through the
//!   descriptor, fsync'd, and renamed over the final name (a reader never
//!   sees it half written, and a symlink planted at the final name is
//!   replaced, never followed); the directory is fsync'd after.

use std::ffi::CString;
use std::io::{self, Write};
use std::os::fd::AsFd;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// Why `dir` (or one above it) could be changed by another account: None when
/// it is owned by root or the effective user and writable by no one else (or
/// sticky). The reason names the directory and the command that mends it.
pub fn check_dir(dir: &Path) -> Option<String> {
    let me = crate::geteuid();
    let full = match std::fs::canonicalize(dir) {
        Ok(p) => p,
        Err(e) => return Some(format!("{}: {e}", dir.display())),
    };
    let mut at: Option<&Path> = Some(&full);
    while let Some(d) = at {
        let m = match std::fs::metadata(d) {
            Ok(m) => m,
            Err(e) => return Some(format!("{}: {e}", d.display())),
        };
        let sticky = m.mode() & 0o1000 != 0;
        if m.uid() != 0 && m.uid() != me {
            return Some(format!(
                "{shown} is owned by uid {}, another account, which could replace what tfd writes below it; \
                 chown {me} {shown}",
                m.uid(),
                shown = d.display()
            ));
        }
        if m.mode() & 0o022 != 0 && !sticky {
            return Some(format!(
                "{shown} is mode {:o}: other accounts can write in it and plant or replace what tfd writes \
                 below it; chmod go-w {shown} (or chmod +t {shown} for a shared directory)",
                m.mode() & 0o7777,
                shown = d.display()
            ));
        }
        at = d.parent();
    }
    None
}

/// Why the file `path`, one tfd trusts (the user file, the private key, the
/// config), could be changed by another account, as sshd's StrictModes
/// asks: owned by another account than root or the effective user, writable
/// by group or others, or below a directory [`check_dir`] refuses. `what`
/// names it; the reason ends with the command that mends it. None when it
/// is sound, or missing (its reader says so).
pub fn check_file(path: &Path, what: &str) -> Option<String> {
    let me = crate::geteuid();
    let full = match std::fs::canonicalize(path) {
        Ok(p) => p,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return None,
        Err(e) => return Some(format!("{what} {}: {e}", path.display())),
    };
    let m = match std::fs::metadata(&full) {
        Ok(m) => m,
        Err(e) => return Some(format!("{what} {}: {e}", path.display())),
    };
    if m.uid() != 0 && m.uid() != me {
        return Some(format!(
            "{what} {shown} is owned by uid {}, another account, which could rewrite it; chown {me} {shown}",
            m.uid(),
            shown = full.display()
        ));
    }
    if m.mode() & 0o022 != 0 {
        return Some(format!(
            "{what} {shown} is mode {:o}: other accounts can write it; chmod go-w {shown}",
            m.mode() & 0o7777,
            shown = full.display()
        ));
    }
    let dir = full.parent().unwrap_or(Path::new("/"));
    check_dir(dir).map(|why| format!("{what} {}: {why}", full.display()))
}

/// Writes `contents` to `path` whole, mode `mode`, as the module says: after
/// [`check_dir`] of its directory, through a fresh `O_EXCL|O_NOFOLLOW`
/// temporary renamed into place.
pub fn write(path: &Path, contents: &[u8], mode: u32) -> io::Result<()> {
    let dir: PathBuf = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let name = path
        .file_name()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "no file name"))?;
    if let Some(why) = check_dir(&dir) {
        return Err(io::Error::new(io::ErrorKind::PermissionDenied, why));
    }
    let dirfd = std::fs::File::open(&dir)?;
    let final_name = CString::new(name.as_bytes())?;
    let flags = libc::O_CREAT | libc::O_EXCL | libc::O_WRONLY;
    let mut last = None;
    for attempt in 0..16u32 {
        let nonce = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0)
            ^ attempt.wrapping_mul(0x9e37_79b9)
            ^ std::process::id().rotate_left(16);
        let tmp = CString::new(format!(".{}.{nonce:08x}.tmp", name.to_string_lossy()))?;
        let fd = match crate::openat_nofollow(dirfd.as_fd(), &tmp, flags, mode & 0o7777) {
            Ok(fd) => fd,
            // planted, or someone else's: never opened, another name is tried
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists || e.raw_os_error() == Some(libc::ELOOP) => {
                last = Some(e);
                continue;
            }
            Err(e) => return Err(e),
        };
        let mut f = std::fs::File::from(fd);
        let done = (|| {
            f.set_permissions(std::fs::Permissions::from_mode(mode & 0o7777))?;
            f.write_all(contents)?;
            f.sync_all()?;
            crate::renameat2(dirfd.as_fd(), &tmp, dirfd.as_fd(), &final_name, false)
        })();
        if done.is_err() {
            let _ = crate::unlinkat(dirfd.as_fd(), &tmp, false);
            return done;
        }
        let _ = dirfd.sync_all();
        return Ok(());
    }
    Err(last.unwrap_or_else(|| io::Error::other("no free temporary name")))
}
