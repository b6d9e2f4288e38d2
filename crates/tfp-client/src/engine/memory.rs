//! Bytes in memory up as one file, by the route [`route::choose`] gives a
//! local file of their size (what `tf put` of the same bytes in a file
//! would send): Python's `pipe_file`, `write_bytes` and every whole-object
//! write. Where that route reads a file (a batch over a slow link, a
//! delta), the bytes are first put in an anonymous memory file
//! (memfd_create) the route reads as any other; where it is SNDFILE, they
//! go from memory as they are.

use super::route::{self, Link, Route};
use super::upload::{self, Dest, Failure, Kind, Progress, Request, Sent, Source};
use crate::{Client, ClientConfig, Error};
use std::io::Write;
use std::path::{Path, PathBuf};

/// `data` up to `remote` (`overwrite`: replace an existing file, else
/// refused when one is there), by the engine's route for bytes of that
/// size over this session's link.
pub fn put(
    c: &mut Client,
    cfg: &ClientConfig,
    data: &[u8],
    remote: &[u8],
    overwrite: bool,
    progress: &Progress<'_>,
) -> Result<Sent, Failure> {
    let kind = if overwrite {
        Kind::Put
    } else {
        Kind::Sndfile { overwrite: false }
    };
    let size = data.len() as u64;
    let as_file = Request::new(Source::File(Path::new(""), size), remote, kind);
    if !reads_a_file(&route::choose(&as_file, Link::of(c))) {
        let mut from = data;
        let mut req = Request::new(Source::Stream(&mut from), remote, kind);
        return upload::send(c, cfg, &mut req, progress, &mut |_| {});
    }
    let (file, path) = memory_file(data).map_err(|e| Failure {
        route: Route::Whole { overwrite },
        remote: remote.to_vec(),
        error: Box::new(Error::Local(e)),
    })?;
    let mut req = Request {
        dest: Dest::Known,
        ..Request::new(Source::File(&path, size), remote, kind)
    };
    let sent = upload::send(c, cfg, &mut req, progress, &mut |_| {});
    drop(file);
    sent
}

/// Whether any route of `ladder` reads its bytes from a local file (only
/// SNDFILE and SUP take a stream).
fn reads_a_file(ladder: &[Route]) -> bool {
    ladder.iter().any(|r| !matches!(r, Route::Whole { .. } | Route::Sup))
}

/// `data` in an anonymous memory file, and the path that opens it while the
/// file is held.
fn memory_file(data: &[u8]) -> std::io::Result<(std::fs::File, PathBuf)> {
    use nix::sys::memfd::{memfd_create, MemFdCreateFlag};
    let fd = memfd_create(c"tfp-client-bytes", MemFdCreateFlag::MFD_CLOEXEC).map_err(std::io::Error::from)?;
    let mut f = std::fs::File::from(fd);
    f.write_all(data)?;
    let path = PathBuf::from(format!("/proc/self/fd/{}", std::os::fd::AsRawFd::as_raw_fd(&f)));
    Ok((f, path))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_go_from_memory_unless_a_route_reads_a_file() {
        assert!(!reads_a_file(&[Route::Whole { overwrite: true }]));
        assert!(reads_a_file(&[Route::Batch, Route::Whole { overwrite: true }]));
        assert!(reads_a_file(&[
            Route::Delta,
            Route::Batch,
            Route::Whole { overwrite: true }
        ]));
    }

    #[test]
    fn a_memory_file_reads_back_through_its_path() {
        let (f, p) = memory_file(b"in memory").unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"in memory");
        assert_eq!(std::fs::metadata(&p).unwrap().len(), 9);
        drop(f);
    }
}
