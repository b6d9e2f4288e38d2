//! Uploads land in a temporary file beside their target and are renamed into place
//! only when complete, so a client that breaks off, disconnects or fills the disk
//! never leaves a half-written file under the final name. Without overwrite the
//! rename is `RENAME_NOREPLACE`: a name that appeared meanwhile is never clobbered.

use super::direct::Staged;
use super::{cname, FsError, RelPath, Root};
use crate::sys;
use std::ffi::CString;
use std::fs::File;
use std::os::fd::{AsFd, OwnedFd};

/// Prefix of temporary upload names; listings hide them.
pub const TEMP_PREFIX: &[u8] = b".tfd-part-";

/// An upload in progress.
pub struct Upload {
    dir: OwnedFd,
    tmp: CString,
    name: CString,
    file: Staged,
    done: bool,
    /// Bytes written so far.
    pub written: u64,
}

impl Upload {
    /// Creates the temporary file in `p`'s directory (mode 0644 less the umask).
    /// With `direct_min` not 0, data is gathered and written in pieces of that
    /// size that bypass the page cache (see [`super::direct`]).
    pub fn begin(root: &Root, p: &RelPath, direct_min: usize) -> Result<Upload, FsError> {
        let (dir, name) = root.parent(p)?;
        for _ in 0..8 {
            let mut r = [0u8; 8];
            getrandom::getrandom(&mut r).map_err(|_| FsError::Other(std::io::Error::other("no randomness")))?;
            let mut t = TEMP_PREFIX.to_vec();
            t.extend(r.iter().flat_map(|b| format!("{b:02x}").into_bytes()));
            let tmp = cname(&t)?;
            match sys::openat_nofollow(dir.as_fd(), &tmp, libc::O_WRONLY | libc::O_CREAT | libc::O_EXCL, 0o644) {
                Ok(fd) => {
                    return Ok(Upload {
                        dir,
                        tmp,
                        name,
                        file: Staged::new(File::from(fd), 0, direct_min),
                        done: false,
                        written: 0,
                    })
                }
                Err(e) if e.raw_os_error() == Some(libc::EEXIST) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Err(FsError::Exists)
    }

    /// Appends data (which may reach the disk only at a later write or the
    /// commit, so a failure may show there).
    pub fn write(&mut self, data: &[u8]) -> Result<(), FsError> {
        self.file.write(data)?;
        self.written += data.len() as u64;
        Ok(())
    }

    /// Appends a chunk gathered by the caller (in an aligned buffer, to go
    /// direct: see [`Staged::write_chunk`]).
    pub fn write_chunk(&mut self, data: &[u8]) -> Result<(), FsError> {
        self.file.write_chunk(data)?;
        self.written += data.len() as u64;
        Ok(())
    }

    /// Writes what is gathered, gives the temporary file `mode` (and `owner`,
    /// when given) and syncs it, so that a replacement keeps the replaced file's
    /// attributes and is on disk before its name is.
    pub fn finish_like(&mut self, mode: u32, owner: Option<(u32, u32)>) -> Result<(), FsError> {
        self.file.flush()?;
        let f = self.file.file();
        if let Some((uid, gid)) = owner {
            sys::fchown(f.as_fd(), uid, gid)?;
        }
        sys::fchmod(f.as_fd(), mode)?;
        f.sync_all()?;
        Ok(())
    }

    /// Writes what is gathered and moves the finished file into place.
    /// `overwrite` false fails with `Exists` if the name exists now (the
    /// temporary file is then removed).
    pub fn commit(mut self, overwrite: bool) -> Result<(), FsError> {
        self.file.flush()?;
        let mut r = sys::renameat2(self.dir.as_fd(), &self.tmp, self.dir.as_fd(), &self.name, !overwrite);
        if !overwrite && r.as_ref().err().and_then(|e| e.raw_os_error()) == Some(libc::EINVAL) {
            // The Linux NFS and CephFS clients refuse every rename flag (EINVAL),
            // and a shared data root on them is how tfd scales out.
            r = self.link_into_place();
        }
        if r.is_ok() {
            self.done = true;
        }
        r.map_err(FsError::from)
    }

    /// `RENAME_NOREPLACE` by other means: link(2) fails with EEXIST, atomically
    /// (on the NFS server too), when the name exists; then the temporary name goes.
    fn link_into_place(&self) -> std::io::Result<()> {
        let dir = Some(std::os::fd::AsRawFd::as_raw_fd(&self.dir));
        nix::unistd::linkat(
            dir,
            self.tmp.as_c_str(),
            dir,
            self.name.as_c_str(),
            nix::fcntl::AtFlags::empty(),
        )?;
        let _ = sys::unlinkat(self.dir.as_fd(), &self.tmp, false);
        Ok(())
    }

    /// Throws the upload away.
    pub fn abort(self) {}
}

impl Drop for Upload {
    fn drop(&mut self) {
        if !self.done {
            let _ = sys::unlinkat(self.dir.as_fd(), &self.tmp, false);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn setup(tag: &str) -> (std::path::PathBuf, Root) {
        let tmp = std::env::temp_dir().join(format!("tfd-upload-{}-{tag}", std::process::id()));
        let _ = std::fs::remove_dir_all(&tmp);
        std::fs::create_dir_all(&tmp).unwrap();
        let root = Root::open_root(&tmp).unwrap();
        (tmp, root)
    }

    fn temp_files(dir: &std::path::Path) -> usize {
        std::fs::read_dir(dir)
            .unwrap()
            .flatten()
            .filter(|e| e.file_name().as_encoded_bytes().starts_with(TEMP_PREFIX))
            .count()
    }

    /// The NFS/CephFS fallback, run directly (local file systems take the
    /// RENAME_NOREPLACE path): never replaces, leaves no temporary file.
    #[test]
    fn link_fallback_never_replaces() {
        let (tmp, root) = setup("link");
        let p = RelPath::parse(b"f").unwrap();
        let mut up = Upload::begin(&root, &p, 0).unwrap();
        up.write(b"new").unwrap();
        up.link_into_place().unwrap();
        up.done = true;
        drop(up);
        assert_eq!(std::fs::read(tmp.join("f")).unwrap(), b"new");
        assert_eq!(temp_files(&tmp), 0);

        let mut up = Upload::begin(&root, &p, 0).unwrap();
        up.write(b"newer").unwrap();
        let e = up.link_into_place().unwrap_err();
        assert_eq!(e.raw_os_error(), Some(libc::EEXIST));
        drop(up);
        assert_eq!(std::fs::read(tmp.join("f")).unwrap(), b"new");
        assert_eq!(temp_files(&tmp), 0);
        std::fs::remove_dir_all(&tmp).unwrap();
    }

    #[test]
    fn commit_without_overwrite_keeps_an_existing_file() {
        let (tmp, root) = setup("commit");
        std::fs::write(tmp.join("f"), b"old").unwrap();
        let p = RelPath::parse(b"f").unwrap();
        let mut up = Upload::begin(&root, &p, 0).unwrap();
        up.write(b"new").unwrap();
        assert!(matches!(up.commit(false), Err(FsError::Exists)));
        assert_eq!(std::fs::read(tmp.join("f")).unwrap(), b"old");
        let mut up = Upload::begin(&root, &p, 0).unwrap();
        up.write(b"new").unwrap();
        up.commit(true).unwrap();
        assert_eq!(std::fs::read(tmp.join("f")).unwrap(), b"new");
        assert_eq!(temp_files(&tmp), 0);
        std::fs::remove_dir_all(&tmp).unwrap();
    }
}
