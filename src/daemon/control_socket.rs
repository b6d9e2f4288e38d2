//! The control socket's file: bound at start, and removed at a clean stop
//! only while it is still the one this tfd bound (a second tfd may have
//! replaced it since), with the directories this tfd made for it when they
//! are empty. Where no systemd removes the runtime directory, a stopped tfd
//! leaves neither a dead socket nor an empty `/run/tfd` behind.

use std::io;
use std::os::unix::fs::MetadataExt;
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};

/// The socket file one tfd bound: where, which inode, and the directories it
/// created for it (deepest first).
#[derive(Debug)]
pub struct SocketFile {
    path: PathBuf,
    id: (u64, u64),
    made_dirs: Vec<PathBuf>,
}

/// Binds the socket: a stale socket file is replaced, the mode is 0600 and the
/// parent directory is created 0700 if missing.
pub fn bind(path: &Path) -> io::Result<(UnixListener, SocketFile)> {
    use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
    let mut made_dirs = Vec::new();
    if let Some(dir) = path.parent() {
        if !dir.as_os_str().is_empty() && !dir.exists() {
            made_dirs = dir
                .ancestors()
                .take_while(|d| !d.as_os_str().is_empty() && !d.exists())
                .map(Path::to_path_buf)
                .collect();
            std::fs::DirBuilder::new().recursive(true).mode(0o700).create(dir)?;
        }
    }
    if path.exists() {
        // refuse to steal a socket another tfd is serving
        if UnixStream::connect(path).is_ok() {
            return Err(io::Error::new(
                io::ErrorKind::AddrInUse,
                "another process serves this control socket",
            ));
        }
        std::fs::remove_file(path)?;
    }
    let l = UnixListener::bind(path)?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
    l.set_nonblocking(true)?;
    let meta = std::fs::symlink_metadata(path)?;
    let file = SocketFile {
        path: path.to_path_buf(),
        id: (meta.dev(), meta.ino()),
        made_dirs,
    };
    Ok((l, file))
}

impl SocketFile {
    /// Removes the socket if the path still names the inode bound here, then
    /// each directory made for it while it is empty (another tfd's socket in
    /// it keeps it).
    pub fn remove(&self) {
        let ours = std::fs::symlink_metadata(&self.path).is_ok_and(|m| (m.dev(), m.ino()) == self.id);
        if ours {
            let _ = std::fs::remove_file(&self.path);
        }
        for dir in &self.made_dirs {
            if std::fs::remove_dir(dir).is_err() {
                break;
            }
        }
    }
}
