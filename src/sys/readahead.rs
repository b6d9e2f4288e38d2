//! A file read from an offset to its end by a thread of its own, one block
//! ahead of the caller, so the disk and the caller's work on each block (a
//! hash, for the end-to-end checks of stages and downloads) overlap. Where
//! the data was written past the page cache (direct I/O, so a big transfer
//! does not evict the machine's files), the read can give the pages back as
//! it goes, and its check does not undo that.

use std::fs::File;
use std::io;
use std::os::fd::AsRawFd;
use std::os::unix::fs::FileExt;

const BLOCK: usize = 4 << 20;

/// Feeds `each` with the bytes of `f` from `from` to its end, block by block,
/// in order. With `drop_cache`, the pages read are given back behind the
/// caller and once more at the end.
pub fn each_block(f: &File, from: u64, drop_cache: bool, each: &mut dyn FnMut(&[u8])) -> io::Result<()> {
    let (tx, rx) = std::sync::mpsc::sync_channel::<io::Result<Vec<u8>>>(2);
    let (back_tx, back_rx) = std::sync::mpsc::channel::<Vec<u8>>();
    std::thread::scope(|scope| {
        scope.spawn(move || {
            let (mut at, mut dropped) = (from, from);
            loop {
                let mut buf = back_rx.try_recv().unwrap_or_else(|_| vec![0u8; BLOCK]);
                buf.resize(BLOCK, 0);
                let n = loop {
                    match f.read_at(&mut buf, at) {
                        Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                        r => break r,
                    }
                };
                match n {
                    Ok(0) => break,
                    Ok(n) => {
                        buf.truncate(n);
                        at += n as u64;
                        if tx.send(Ok(buf)).is_err() {
                            break;
                        }
                    }
                    Err(e) => {
                        let _ = tx.send(Err(e));
                        break;
                    }
                }
                if drop_cache && at - dropped >= 64 << 20 {
                    // the caller is two blocks behind at most: long since used
                    let upto = at.saturating_sub(3 * BLOCK as u64);
                    if upto > dropped {
                        drop_pages(f, dropped, upto - dropped);
                        dropped = upto;
                    }
                }
            }
        });
        for b in rx {
            let b = b?;
            each(&b);
            let _ = back_tx.send(b);
        }
        Ok::<(), io::Error>(())
    })?;
    if drop_cache {
        drop_pages(f, 0, 0);
    }
    Ok(())
}

/// Gives the page cache of `len` bytes at `start` back (0: to the end).
fn drop_pages(f: &File, start: u64, len: u64) {
    let _ = nix::fcntl::posix_fadvise(
        f.as_raw_fd(),
        start as i64,
        len as i64,
        nix::fcntl::PosixFadviseAdvice::POSIX_FADV_DONTNEED,
    );
}
