//! Uploads land in a temporary file beside their target and are renamed into place
//! only when complete, so a client that breaks off, disconnects or fills the disk
//! never leaves a half-written file under the final name. Without overwrite the
//! rename is `RENAME_NOREPLACE`: a name that appeared meanwhile is never clobbered.

use super::{cname, FsError, RelPath, Root};
use crate::sys;
use std::ffi::CString;
use std::fs::File;
use std::io::Write;
use std::os::fd::{AsFd, OwnedFd};

/// Prefix of temporary upload names; listings hide them.
pub const TEMP_PREFIX: &[u8] = b".tfd-part-";

/// An upload in progress.
pub struct Upload {
    dir: OwnedFd,
    tmp: CString,
    name: CString,
    file: File,
    done: bool,
    /// Bytes written so far.
    pub written: u64,
}

impl Upload {
    /// Creates the temporary file in `p`'s directory (mode 0644 less the umask).
    pub fn begin(root: &Root, p: &RelPath) -> Result<Upload, FsError> {
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
                        file: File::from(fd),
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

    /// Appends data.
    pub fn write(&mut self, data: &[u8]) -> Result<(), FsError> {
        self.file.write_all(data)?;
        self.written += data.len() as u64;
        Ok(())
    }

    /// Moves the finished file into place. `overwrite` false fails with `Exists`
    /// if the name exists now (the temporary file is then removed).
    pub fn commit(mut self, overwrite: bool) -> Result<(), FsError> {
        let r = sys::renameat2(self.dir.as_fd(), &self.tmp, self.dir.as_fd(), &self.name, !overwrite);
        if r.is_ok() {
            self.done = true;
        }
        r.map_err(FsError::from)
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
