//! The one safe way to write a file of tfd's own whole (the pidfile, the
//! Fast Access tokens and the client's token cache, the user file,
//! `--init-secrets`' key and config), in a directory only trusted accounts
//! can change:
//! - the directory, and every one above it, is owned by root or by the
//!   effective user and writable by no one else, unless it is sticky (as
//!   /tmp and /run/lock are: others may add names there but never remove or
//!   rename ours) — what [`check_dir`] says, with the command that mends it;
//! - the contents go to a fresh temporary created `O_CREAT|O_EXCL|O_NOFOLLOW`
//!   under a new name each try (a name planted there, as a file or a symlink,
//!   is never opened, only skipped), with the mode set through the
//!   descriptor, fsync'd, and renamed over the final name (a reader never
//!   sees it half written, and a symlink planted at the final name is
//!   replaced, never followed); the directory is fsync'd after;
//! - an owner, when given, is set through the descriptor before the mode
//!   and before a byte is written (the temporary is created 0600, so it is
//!   never more open than the final file while it is still ours).
//!
//! [`Writer`] holds the choices the callers differ in: the mode, the owner,
//! whether the directory is checked here (a caller that opened and checked
//! it itself, more strictly, passes its descriptor to [`Writer::write_at`]
//! or says [`Writer::dir_checked`]), and whether an existing file may be
//! replaced ([`Writer::no_replace`]: `--init-secrets` never replaces a key).

use std::ffi::CStr;
use std::ffi::CString;
use std::io::{self, Write};
use std::os::fd::{AsFd, BorrowedFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// Why `dir` (or one above it) could be changed by another account: None when
/// it is owned by root or the effective user and writable by no one else (or
/// sticky). The reason names the directory and the command that mends it.
pub fn check_dir(dir: &Path) -> Option<String> {
    check_dir_of(dir, crate::geteuid())
}

/// [`check_dir`] for a file of `user`'s (a user's authorized keys): owned by
/// root or `user`, writable by no one else (or sticky).
pub fn check_dir_of(dir: &Path, user: u32) -> Option<String> {
    let me = user;
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
                "{shown} is owned by {}, another account, which could replace what tfd writes below it; \
                 chown {me} {shown}",
                crate::named_uid(m.uid()),
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
    check_file_of(path, what, crate::geteuid())
}

/// [`check_file`] for a file of `user`'s that tfd trusts (a user's
/// authorized keys, as sshd's StrictModes judges them): owned by root or
/// `user`, in directories [`check_dir_of`] takes.
pub fn check_file_of(path: &Path, what: &str, user: u32) -> Option<String> {
    let me = user;
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
            "{what} {shown} is owned by {}, another account, which could rewrite it; chown {me} {shown}",
            crate::named_uid(m.uid()),
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
    check_dir_of(dir, me).map(|why| format!("{what} {}: {why}", full.display()))
}

/// A secret (the private key, the user file's hashes) that group or others
/// can read is refused, as sshd refuses a host key others can read: whoever
/// reads the key can pose as the server, whoever reads the hashes can guess
/// passwords offline. The message ends with the chmod that mends it.
pub fn check_secret(path: &Path, key: &str, holds: &str) -> Option<String> {
    let mode = std::fs::metadata(path).ok()?.mode();
    (mode & 0o044 != 0).then(|| {
        format!(
            "{key} {shown} is mode {:o}: group or others can read {holds}, which tfd refuses (as sshd \
             refuses a readable host key); chmod go-rwx {shown}",
            mode & 0o7777,
            shown = path.display(),
        )
    })
}

/// How a private file is written: see the module. `Writer::new(0o600)` is
/// the common case.
#[derive(Debug, Clone, Copy)]
pub struct Writer {
    mode: u32,
    owner: Option<(u32, u32)>,
    check_dir: bool,
    replace: bool,
}

impl Writer {
    /// A file of mode `mode` (the umask does not apply), owned by whoever
    /// writes it, replacing one already there, in a directory [`check_dir`]
    /// accepts.
    pub fn new(mode: u32) -> Writer {
        Writer {
            mode: mode & 0o7777,
            owner: None,
            check_dir: true,
            replace: true,
        }
    }

    /// The file is given to `uid`:`gid` (through the descriptor, before its
    /// mode is set and before it is written).
    pub fn owner(self, uid: u32, gid: u32) -> Writer {
        Writer {
            owner: Some((uid, gid)),
            ..self
        }
    }

    /// The caller has checked the directory itself (more strictly than
    /// [`check_dir`], or it is a path it was told to use as given): it is
    /// not checked again here.
    pub fn dir_checked(self) -> Writer {
        Writer {
            check_dir: false,
            ..self
        }
    }

    /// An existing file of that name is never replaced: the write fails
    /// with `AlreadyExists` and leaves both it and no temporary behind.
    pub fn no_replace(self) -> Writer {
        Writer { replace: false, ..self }
    }

    /// Writes `contents` to `path` whole, as the module says.
    pub fn write(&self, path: &Path, contents: &[u8]) -> io::Result<()> {
        let dir: PathBuf = match path.parent() {
            Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
            _ => PathBuf::from("."),
        };
        let name = path
            .file_name()
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "no file name"))?;
        if self.check_dir {
            if let Some(why) = check_dir(&dir) {
                return Err(io::Error::new(io::ErrorKind::PermissionDenied, why));
            }
        }
        let dirfd = std::fs::File::open(&dir)?;
        let name = CString::new(name.as_bytes())?;
        self.write_in(dirfd.as_fd(), &name, contents)
    }

    /// Writes `contents` to `name` in the directory `dir` (a descriptor the
    /// caller opened and checked: it is not checked again here).
    pub fn write_at(&self, dir: BorrowedFd<'_>, name: &CStr, contents: &[u8]) -> io::Result<()> {
        self.write_in(dir, name, contents)
    }

    fn write_in(&self, dir: BorrowedFd<'_>, name: &CStr, contents: &[u8]) -> io::Result<()> {
        let flags = libc::O_CREAT | libc::O_EXCL | libc::O_WRONLY;
        let mut last = None;
        for attempt in 0..16u32 {
            let tmp = temp_name(name, attempt)?;
            let fd = match crate::openat_nofollow(dir, &tmp, flags, 0o600) {
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
                if let Some((uid, gid)) = self.owner {
                    crate::fchown(f.as_fd(), uid, gid)?;
                }
                // after the owner: chown clears the set-id bits
                f.set_permissions(std::fs::Permissions::from_mode(self.mode))?;
                f.write_all(contents)?;
                f.sync_all()?;
                self.rename(dir, &tmp, name)
            })();
            if done.is_err() {
                let _ = crate::unlinkat(dir, &tmp, false);
                return done;
            }
            // the rename is only durable once the directory is
            return crate::fsync_dir(dir);
        }
        Err(last.unwrap_or_else(|| io::Error::other("no free temporary name")))
    }

    fn rename(&self, dir: BorrowedFd<'_>, tmp: &CStr, name: &CStr) -> io::Result<()> {
        if self.replace {
            return crate::renameat2(dir, tmp, dir, name, false);
        }
        match crate::renameat2(dir, tmp, dir, name, true) {
            // a file system without RENAME_NOREPLACE (NFS): a hard link is
            // as exclusive, and the temporary's name is removed after
            Err(e) if e.raw_os_error() == Some(libc::EINVAL) => {
                crate::linkat(dir, tmp, dir, name)?;
                let _ = crate::unlinkat(dir, tmp, false);
                Ok(())
            }
            other => other,
        }
    }
}

/// `.NAME.XXXXXXXX.tmp`, XXXXXXXX random (the clock and the pid when the
/// kernel has no randomness to give): a name no one can guess ahead, and one
/// a crash leaves recognisable ([`is_temp_name`]).
fn temp_name(name: &CStr, attempt: u32) -> io::Result<CString> {
    let mut r = [0u8; 4];
    let nonce = if crate::fill_random(&mut r).is_ok() {
        u32::from_ne_bytes(r)
    } else {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0)
            ^ std::process::id().rotate_left(16)
    } ^ attempt.wrapping_mul(0x9e37_79b9);
    CString::new(format!(".{}.{nonce:08x}.tmp", name.to_string_lossy())).map_err(io::Error::other)
}

/// Whether `name` is one of [`Writer`]'s temporaries (a writer that died
/// between create and rename left it; a sweep may remove it once old).
pub fn is_temp_name(name: &[u8]) -> bool {
    let Some(inner) = name.strip_prefix(b".").and_then(|n| n.strip_suffix(b".tmp")) else {
        return false;
    };
    match inner.len().checked_sub(9).map(|at| inner.split_at(at)) {
        Some((base, nonce)) => !base.is_empty() && nonce[0] == b'.' && nonce[1..].iter().all(u8::is_ascii_hexdigit),
        None => false,
    }
}

/// Writes `contents` to `path` whole, mode `mode`, as the module says:
/// `Writer::new(mode).write(path, contents)`.
pub fn write(path: &Path, contents: &[u8], mode: u32) -> io::Result<()> {
    Writer::new(mode).write(path, contents)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::MetadataExt;

    fn scratch(tag: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("tfd-sys-private-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir(&d).unwrap();
        std::fs::set_permissions(&d, std::fs::Permissions::from_mode(0o700)).unwrap();
        d
    }

    fn names(d: &Path) -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(d)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    }

    #[test]
    fn the_mode_is_exact_whatever_the_umask() {
        let d = scratch("mode");
        for mode in [0o600, 0o644, 0o640, 0o400] {
            let p = d.join(format!("f{mode:o}"));
            Writer::new(mode).write(&p, b"x").unwrap();
            let m = std::fs::metadata(&p).unwrap();
            assert_eq!(m.mode() & 0o7777, mode);
            assert_eq!(m.uid(), crate::geteuid());
        }
        std::fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn replaces_atomically_and_leaves_no_temporary() {
        let d = scratch("replace");
        let p = d.join("file");
        std::fs::write(&p, b"old").unwrap();
        let before = std::fs::metadata(&p).unwrap().ino();
        // a hard link to the old file keeps its contents: the new one is
        // another inode renamed over the name, not the old one rewritten
        std::fs::hard_link(&p, d.join("held")).unwrap();
        Writer::new(0o600).write(&p, b"new contents").unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"new contents");
        assert_ne!(std::fs::metadata(&p).unwrap().ino(), before);
        assert_eq!(std::fs::read(d.join("held")).unwrap(), b"old");
        assert_eq!(names(&d), ["file", "held"]);
        std::fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn a_failed_write_leaves_the_old_file_and_no_partial_one() {
        let d = scratch("fail");
        let p = d.join("file");
        std::fs::write(&p, b"old").unwrap();
        // the rename cannot happen: the name is a non-empty directory
        let q = d.join("sub");
        std::fs::create_dir(&q).unwrap();
        std::fs::write(q.join("x"), b"").unwrap();
        assert!(Writer::new(0o600).write(&q, b"new").is_err());
        // never replaced, and the temporary is gone
        assert!(Writer::new(0o600).no_replace().write(&p, b"new").unwrap_err().kind() == io::ErrorKind::AlreadyExists);
        assert_eq!(std::fs::read(&p).unwrap(), b"old");
        assert_eq!(names(&d), ["file", "sub"]);
        std::fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn no_replace_writes_a_new_file_whole() {
        let d = scratch("new");
        let p = d.join("key.pem");
        Writer::new(0o600).no_replace().write(&p, b"secret").unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"secret");
        assert_eq!(names(&d), ["key.pem"]);
        std::fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn a_planted_symlink_is_replaced_never_followed() {
        let d = scratch("planted");
        let victim = d.join("victim");
        std::fs::write(&victim, b"root's").unwrap();
        let p = d.join("file");
        std::os::unix::fs::symlink(&victim, &p).unwrap();
        Writer::new(0o644).write(&p, b"ours").unwrap();
        assert_eq!(std::fs::read(&victim).unwrap(), b"root's");
        assert!(std::fs::symlink_metadata(&p).unwrap().is_file());
        std::fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn the_owner_is_set_before_the_mode() {
        let d = scratch("owner");
        let p = d.join("conf");
        if crate::geteuid() != 0 {
            panic!("this test needs root (it gives a file to another account)");
        }
        Writer::new(0o4640).owner(1, 2).write(&p, b"x").unwrap();
        let m = std::fs::metadata(&p).unwrap();
        assert_eq!((m.uid(), m.gid(), m.mode() & 0o7777), (1, 2, 0o4640));
        std::fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn a_directory_others_can_write_is_refused_unless_checked_by_the_caller() {
        let d = scratch("open");
        std::fs::set_permissions(&d, std::fs::Permissions::from_mode(0o777)).unwrap();
        let p = d.join("file");
        let e = Writer::new(0o600).write(&p, b"x").unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::PermissionDenied);
        assert!(e.to_string().contains("chmod go-w"), "{e}");
        assert!(!p.exists());
        Writer::new(0o600).dir_checked().write(&p, b"x").unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"x");
        std::fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn temporaries_are_recognised() {
        let t = temp_name(c"fai-0123", 0).unwrap();
        assert!(is_temp_name(t.as_bytes()), "{t:?}");
        for not in [
            &b"fai-0123"[..],
            b".tmp",
            b"..00000000.tmp",
            b".x.0000000g.tmp",
            b".x.000000000.tmp",
        ] {
            assert!(!is_temp_name(not), "{not:?}");
        }
    }
}
