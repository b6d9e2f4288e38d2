//! Sparse files (`-S`, doc/compatibility.md "Sparse files"), the client's
//! side: the holes of a local file, which a staged upload records on the
//! server without sending (`TFDSTAGEHOLE`), and the holes of a server's
//! file, which a download leaves unfetched in its partial (`TFDHOLES`).
//! Where the server has neither, the data goes whole and lands dense.

use crate::engine::journal::Range;
use crate::{Client, Error};
use std::fs::File;
use std::os::fd::AsFd;
use std::sync::atomic::{AtomicBool, Ordering};
use tfp_wire::sparse::{self as wire, Holes, StageHole};
use tfp_wire::Status;

/// Set when a server could not take or tell holes, until a run tells it
/// ([`unkept_taken`]): the sessions of a run's pool each meet it alone.
static UNKEPT: AtomicBool = AtomicBool::new(false);

/// Whether holes went unkept since the last call (the run says so once).
pub fn unkept_taken() -> bool {
    UNKEPT.swap(false, Ordering::Relaxed)
}

/// The holes of the local file `f` of `size` bytes worth not sending
/// ([`wire::bounded`]); none where its file system tells none.
pub fn local_holes(f: &File, size: u64) -> Vec<(u64, u64)> {
    tfd_sys::holes::holes(f.as_fd(), size)
        .map(|h| wire::bounded(&h))
        .unwrap_or_default()
}

/// Whether a file of metadata `m` allocates less than its size: it may
/// have holes (a file compressed by its file system too, which then goes
/// as a sparse one would, at no cost but its route).
pub fn allocates_less(m: &std::fs::Metadata) -> bool {
    use std::os::unix::fs::MetadataExt;
    m.is_file() && m.blocks().saturating_mul(512) < m.len()
}

/// [`allocates_less`] of the local file `p` (followed, as its upload opens it).
pub fn has_holes(p: &std::path::Path) -> bool {
    std::fs::metadata(p).is_ok_and(|m| allocates_less(&m))
}

/// The holes of the server's file `remote`; None where the server cannot
/// tell them (no such command, or a refusal: the file is fetched whole).
pub fn remote_holes(c: &mut Client, remote: &[u8]) -> Result<Option<Holes>, Error> {
    Ok(match c.call(wire::HOLES, remote)? {
        Status::Ok(d) => Holes::parse(&d),
        Status::Unknown => {
            UNKEPT.store(true, Ordering::Relaxed);
            None
        }
        _ => None,
    })
}

/// Tells the stage of `remote` that `holes` hold no data, every request in
/// one write and then every answer read; returns the holes it took (none
/// from a server without the command: their zeros are sent as data).
pub fn stage_holes(c: &mut Client, remote: &[u8], holes: &[(u64, u64)]) -> Result<Vec<(u64, u64)>, Error> {
    if holes.is_empty() {
        return Ok(Vec::new());
    }
    c.chan.tx.hold();
    for &(start, end) in holes {
        let arg = StageHole {
            start,
            end,
            path: remote,
        }
        .encode();
        c.chan
            .tx
            .send_frame(&[wire::STAGE_HOLE.as_bytes(), b" ", &arg].concat())?;
    }
    c.chan.tx.release()?;
    let mut took = Vec::with_capacity(holes.len());
    for &h in holes {
        match Status::parse(&c.chan.rx.recv_frame()?) {
            Status::Ok(_) => took.push(h),
            Status::Unknown => UNKEPT.store(true, Ordering::Relaxed),
            _ => {}
        }
    }
    Ok(took)
}

/// Writes `data` at `f`'s position, seeking over each run of zeros of a
/// block or more instead of writing it, as rsync -S's receiver does: the
/// file gets holes there once its size is set at the end.
pub fn write_sparse(f: &mut File, data: &[u8]) -> std::io::Result<()> {
    use std::io::{Seek, SeekFrom, Write};
    let block = wire::MIN_HOLE as usize;
    let mut at = 0;
    while at < data.len() {
        let zeros = data[at..].iter().take_while(|&&b| b == 0).count();
        if zeros >= block {
            f.seek(SeekFrom::Current(zeros as i64))?;
            at += zeros;
            continue;
        }
        // up to the next run of a block of zeros (or the end)
        let mut end = at + zeros.max(1);
        while end < data.len() {
            let run = data[end..].iter().take(block).take_while(|&&b| b == 0).count();
            if run == block {
                break;
            }
            end += run.max(1);
        }
        f.write_all(&data[at..end])?;
        at = end;
    }
    Ok(())
}

/// `done` and `more` as sorted, disjoint ranges.
pub fn merged(done: &[(u64, u64)], more: &[(u64, u64)]) -> Vec<(u64, u64)> {
    let mut v: Vec<(u64, u64)> = done.iter().chain(more).copied().filter(|(a, b)| b > a).collect();
    v.sort_unstable();
    let mut out: Vec<(u64, u64)> = Vec::with_capacity(v.len());
    for (a, b) in v {
        match out.last_mut() {
            Some(last) if a <= last.1 => last.1 = last.1.max(b),
            _ => out.push((a, b)),
        }
    }
    out
}

/// A download's ranges for a file of `holes.size` bytes: its data, each
/// stretch between holes a range to fetch (cut in `pieces` when long), and
/// its holes, complete already (the partial is made that long, so they
/// read as zeros and take no room).
pub(crate) fn download_ranges(holes: &Holes, pieces: &dyn Fn(u64, u64) -> Vec<(u64, u64)>) -> Vec<Range> {
    let mut out = Vec::new();
    let mut at = 0;
    for &(a, b) in holes.list.iter().chain(std::iter::once(&(holes.size, holes.size))) {
        if a > at {
            out.extend(pieces(at, a).into_iter().map(|(x, y)| Range::fresh(x, y)));
        }
        if b > a {
            out.push(Range {
                start: a,
                end: b,
                done: b - a,
                digest: None,
            });
        }
        at = b;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn write_sparse_writes_the_bytes_and_skips_the_zeros() {
        let p = std::env::temp_dir().join(format!("tfp-sparse-{}", std::process::id()));
        let mut data = vec![7u8; 10];
        data.extend(vec![0u8; 3 * 4096]);
        data.extend([1u8, 0, 0, 2]);
        data.extend(vec![0u8; 5000]);
        let mut f = File::options()
            .create(true)
            .truncate(true)
            .read(true)
            .write(true)
            .open(&p)
            .unwrap();
        write_sparse(&mut f, &data[..100]).unwrap();
        write_sparse(&mut f, &data[100..]).unwrap();
        f.set_len(data.len() as u64).unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), data);
        let _ = std::fs::remove_file(&p);
    }

    #[test]
    fn merged_sorts_and_joins() {
        assert_eq!(merged(&[(10, 20)], &[(0, 5), (5, 10), (30, 40)]), [(0, 20), (30, 40)]);
        assert_eq!(merged(&[], &[(3, 3)]), []);
    }

    #[test]
    fn download_ranges_cover_the_file() {
        let h = Holes {
            size: 100,
            list: vec![(10, 50), (90, 100)],
        };
        let r = download_ranges(&h, &|a, b| vec![(a, b)]);
        let got: Vec<(u64, u64, u64)> = r.iter().map(|r| (r.start, r.end, r.done)).collect();
        assert_eq!(got, [(0, 10, 0), (10, 50, 40), (50, 90, 0), (90, 100, 10)]);
        let all_hole = Holes {
            size: 8,
            list: vec![(0, 8)],
        };
        assert_eq!(download_ranges(&all_hole, &|a, b| vec![(a, b)]).len(), 1);
    }
}
