//! Holes of sparse files (`-S`): where a file holds no data, found with
//! `SEEK_DATA`/`SEEK_HOLE`, and made again with `FALLOC_FL_PUNCH_HOLE`, so
//! a copy allocates no more than its source.

use std::io;
use std::os::fd::{AsRawFd, BorrowedFd};

/// Most holes looked for in one file: a file cut finer than this (a
/// pathological one) has its first ones told, the rest taken for data.
const MAX_SCAN: usize = 1 << 16;

fn seek(fd: BorrowedFd<'_>, at: u64, whence: libc::c_int) -> io::Result<Option<u64>> {
    let Ok(off) = libc::off_t::try_from(at) else {
        return Ok(None);
    };
    // SAFETY: lseek on a descriptor we borrow; no memory is passed.
    let r = unsafe { libc::lseek(fd.as_raw_fd(), off, whence) };
    if r < 0 {
        let e = io::Error::last_os_error();
        // ENXIO: no data (or hole) at or after `at`
        return match e.raw_os_error() {
            Some(libc::ENXIO) => Ok(None),
            _ => Err(e),
        };
    }
    Ok(Some(r as u64))
}

/// The holes of the file open as `fd` within `[0, size)`, in order, each
/// `[start, end)`; empty where the file system tells none (one that knows
/// no holes says the whole file is data).
pub fn holes(fd: BorrowedFd<'_>, size: u64) -> io::Result<Vec<(u64, u64)>> {
    let mut out = Vec::new();
    let mut at = 0;
    while at < size && out.len() < MAX_SCAN {
        let data = seek(fd, at, libc::SEEK_DATA)?.unwrap_or(size).min(size);
        if data > at {
            out.push((at, data));
        }
        if data >= size {
            break;
        }
        at = seek(fd, data, libc::SEEK_HOLE)?.unwrap_or(size);
    }
    Ok(out)
}

/// Makes `[start, end)` of the file open as `fd` a hole, its size kept.
pub fn punch_hole(fd: BorrowedFd<'_>, start: u64, end: u64) -> io::Result<()> {
    if end <= start {
        return Ok(());
    }
    let (Ok(off), Ok(len)) = (libc::off_t::try_from(start), libc::off_t::try_from(end - start)) else {
        return Err(io::ErrorKind::InvalidInput.into());
    };
    let mode = libc::FALLOC_FL_PUNCH_HOLE | libc::FALLOC_FL_KEEP_SIZE;
    // SAFETY: fallocate on a descriptor we borrow; no memory is passed.
    super::cvt(unsafe { libc::fallocate(fd.as_raw_fd(), mode, off, len) }).map(drop)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Seek, SeekFrom, Write};
    use std::os::fd::AsFd;

    #[test]
    fn finds_and_punches_holes() {
        let dir = std::env::temp_dir().join(format!("tfd-holes-{}", std::process::id()));
        let _ = std::fs::create_dir_all(&dir);
        let p = dir.join("f");
        let mut f = std::fs::File::options()
            .create(true)
            .truncate(true)
            .read(true)
            .write(true)
            .open(&p)
            .unwrap();
        f.write_all(&[1u8; 4096]).unwrap();
        f.seek(SeekFrom::Start(4 << 20)).unwrap();
        f.write_all(&[2u8; 4096]).unwrap();
        f.set_len(8 << 20).unwrap();
        let size = 8 << 20;
        let h = holes(f.as_fd(), size).unwrap();
        // tmpfs and ext4 alike report the two holes (a file system without
        // holes reports none)
        if !h.is_empty() {
            assert_eq!(h.first().map(|x| x.0), Some(4096));
            assert_eq!(h.last().map(|x| x.1), Some(size));
            assert!(h.iter().all(|&(a, b)| a < b && b <= size));
        }
        punch_hole(f.as_fd(), 0, 4096).unwrap();
        let mut back = vec![9u8; 4096];
        std::os::unix::fs::FileExt::read_exact_at(&f, &mut back, 0).unwrap();
        assert!(back.iter().all(|&b| b == 0));
        assert_eq!(f.metadata().unwrap().len(), size);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
