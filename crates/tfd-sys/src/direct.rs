//! Bulk transfers bypass the page cache (O_DIRECT), as nginx's `directio` does
//! for large reads. Moving a gigabyte through fresh page-cache pages is most of a
//! transfer's CPU after the cipher (on a VM whose host reclaims free guest memory:
//! 1.4 s per GiB written against 0.1 s direct, measured), the cipher already takes
//! a whole core, and one big transfer would otherwise push the hot files of every
//! other session out of the cache.
//!
//! Writes: only chunks that are large enough (`direct_io_min`) and aligned in
//! memory, file offset and length go direct. Reads ([`ReadAhead`]): a chunk goes
//! direct only when most of its pages are not cached already (cachestat(2)), so
//! hot files are still served from memory. Anything else, and all I/O on a
//! filesystem or kernel without these calls, goes through the page cache as
//! usual. The kernel keeps the two coherent (direct I/O first writes back and, for
//! writes, drops the cached pages of its range).

use crate::{AlignedBuf, IO_ALIGN};
use std::fs::File;
use std::io::{self, Read, Write};
use std::os::fd::AsFd;
use std::os::unix::fs::FileExt;
use std::sync::mpsc::{self, Receiver, SyncSender};

/// File systems where direct I/O gains nothing or costs a round trip: those
/// kept in memory (the cache is the storage) and network ones (the NFS client
/// commits every direct write to stable storage before it returns; FUSE, SMB,
/// CephFS and 9p hand each request to someone else). Magic numbers of statfs(2).
const CACHE_ONLY_FS: &[u32] = &[
    0x0102_1994, // tmpfs
    0x8584_58f6, // ramfs
    0x6969,      // NFS
    0x517b,      // SMB
    0xff53_4d42, // CIFS
    0xfe53_4d42, // SMB2
    0x00c3_6400, // CephFS
    0x6573_5546, // FUSE
    0x5346_414f, // AFS
    0x0102_1997, // 9p
];

/// Whether direct I/O is worth trying on the file system holding `file`.
///
/// Remembered per device for the process (a session serves one tree): on a
/// network file system each statfs is a round trip to the servers, and small
/// uploads would pay it every time.
fn direct_io_suits(file: &File) -> bool {
    use std::os::fd::AsFd;
    static SEEN: std::sync::Mutex<Vec<(u64, bool)>> = std::sync::Mutex::new(Vec::new());
    let dev = crate::device_of(file.as_fd()).ok();
    if let (Some(dev), Ok(seen)) = (dev, SEEN.lock()) {
        if let Some((_, suits)) = seen.iter().find(|(d, _)| *d == dev) {
            return *suits;
        }
    }
    // the magic is 32 bits wide whatever the width of the field (signed on some ABIs)
    let suits =
        nix::sys::statfs::fstatfs(file).is_ok_and(|st| !CACHE_ONLY_FS.contains(&(st.filesystem_type().0 as u32)));
    if let (Some(dev), Ok(mut seen)) = (dev, SEEN.lock()) {
        if seen.len() < 64 {
            seen.push((dev, suits));
        }
    }
    suits
}

/// Writes a file sequentially from its position at creation, choosing per chunk
/// between direct and buffered I/O.
pub struct ChunkWriter {
    file: File,
    pos: u64,
    /// Smallest chunk written direct; 0 = never.
    min: usize,
    flag: DirectFlag,
}

impl ChunkWriter {
    /// Takes `file`, whose position is `pos`; `min` 0, or a file system where
    /// direct I/O does not pay, writes everything through the page cache.
    pub fn new(file: File, pos: u64, min: usize) -> ChunkWriter {
        let min = if min > 0 && direct_io_suits(&file) { min } else { 0 };
        ChunkWriter {
            file,
            pos,
            min,
            flag: DirectFlag::default(),
        }
    }

    /// The file written.
    pub fn file(&self) -> &File {
        &self.file
    }

    /// The file offset the next chunk goes to.
    pub fn position(&self) -> u64 {
        self.pos
    }

    /// Whether a chunk of `len` bytes at the current position, whose buffer starts
    /// at `addr`, may go direct.
    fn may_go_direct(&self, addr: usize, len: usize) -> bool {
        self.min > 0
            && !self.flag.refused
            && len >= self.min
            && addr % IO_ALIGN == 0
            && len % IO_ALIGN == 0
            && self.pos % IO_ALIGN as u64 == 0
    }

    /// Writes all of `data` at the position (pwrite: the descriptor's own
    /// offset is left alone). A direct write the kernel refuses (EINVAL: no
    /// direct I/O here, or a short write left the rest unaligned) is retried
    /// through the page cache.
    pub fn write_chunk(&mut self, data: &[u8]) -> io::Result<()> {
        let direct = self.may_go_direct(data.as_ptr() as usize, data.len());
        self.flag.set(&self.file, direct);
        let mut done = 0;
        while done < data.len() {
            match self.file.write_at(&data[done..], self.pos) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(n) => {
                    done += n;
                    self.pos += n as u64;
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) if e.raw_os_error() == Some(libc::EINVAL) && self.flag.on => {
                    self.flag.refused = true;
                    self.flag.set(&self.file, false);
                }
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }
}

/// Each `write` is one chunk, so a download received in aligned buffers can be
/// written direct through any `Write` consumer (the `tf` client's GET).
impl Write for ChunkWriter {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        self.write_chunk(data).map(|()| data.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// A [`ChunkWriter`] for a stream of small appends (SUP's frames are at most
/// 512 KiB): data is gathered in an aligned buffer of the direct-write size and
/// written when it is full; [`Staged::flush`] writes the rest. Callers that
/// gather their own aligned chunks (SNDFILE) use [`Staged::write_chunk`].
pub struct Staged {
    w: ChunkWriter,
    /// The stage's size; 0 = write straight through.
    size: usize,
    /// Allocated at the first [`Staged::write`] (SNDFILE gathers its own).
    stage: Option<AlignedBuf>,
    used: usize,
}

impl Staged {
    /// Gathers writes to `file` (at position `pos`) in `min` bytes, rounded up
    /// to the alignment, when `min` is not 0; otherwise writes straight through.
    pub fn new(file: File, pos: u64, min: usize) -> Staged {
        Staged {
            w: ChunkWriter::new(file, pos, min),
            size: min.next_multiple_of(IO_ALIGN),
            stage: None,
            used: 0,
        }
    }

    /// The file being written (to set its mode or sync it).
    pub fn file(&self) -> &File {
        &self.w.file
    }

    /// Appends `data`; it may reach the file only at a later write or the flush.
    pub fn write(&mut self, mut data: &[u8]) -> io::Result<()> {
        if self.size == 0 {
            return self.w.write_chunk(data);
        }
        let size = self.size;
        let stage = self.stage.get_or_insert_with(|| AlignedBuf::zeroed(size));
        while !data.is_empty() {
            let n = data.len().min(stage.len() - self.used);
            stage[self.used..self.used + n].copy_from_slice(&data[..n]);
            self.used += n;
            data = &data[n..];
            if self.used == stage.len() {
                self.used = 0;
                self.w.write_chunk(stage)?;
            }
        }
        Ok(())
    }

    /// Writes a whole chunk the caller has gathered itself (an aligned buffer
    /// goes direct), after whatever is gathered here.
    pub fn write_chunk(&mut self, data: &[u8]) -> io::Result<()> {
        self.flush()?;
        self.w.write_chunk(data)
    }

    /// Writes whatever is gathered.
    pub fn flush(&mut self) -> io::Result<()> {
        if let Some(stage) = self.stage.as_ref() {
            let n = std::mem::take(&mut self.used);
            self.w.write_chunk(&stage[..n])?;
        }
        Ok(())
    }
}

/// Toggles O_DIRECT on a descriptor this module owns, remembering the state and
/// whether the filesystem refused it.
#[derive(Default)]
struct DirectFlag {
    /// Whether O_DIRECT is set on the descriptor now.
    on: bool,
    /// Direct I/O was refused once (no support, or EINVAL on an I/O):
    /// through the page cache from then on.
    refused: bool,
}

impl DirectFlag {
    fn set(&mut self, file: &File, on: bool) {
        if self.on == on || (on && self.refused) {
            return;
        }
        match crate::set_direct_io(file.as_fd(), on) {
            Ok(()) => self.on = on,
            Err(_) if on => self.refused = true,
            // clearing a flag we set cannot fail short of a closed descriptor,
            // and then the I/O reports it
            Err(_) => {}
        }
    }
}

/// Reads `buf.len()` bytes at `pos` (fewer only at the end of the file). A
/// direct read that ends off the alignment has met the end of the file: asking
/// again there would be refused (EINVAL), not answered 0.
fn read_full_at(file: &File, buf: &mut [u8], pos: u64, direct: bool) -> io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match file.read_at(&mut buf[n..], pos + n as u64) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
        if direct && n % IO_ALIGN != 0 {
            break;
        }
    }
    Ok(n)
}

/// Reads one chunk at `pos` into `buf`: direct when the chunk is big enough,
/// aligned and mostly not cached; through the page cache otherwise.
fn read_chunk(file: &File, flag: &mut DirectFlag, min: usize, pos: u64, buf: &mut [u8]) -> io::Result<usize> {
    let len = buf.len() - buf.len() % IO_ALIGN;
    let pages = (len / IO_ALIGN) as u64;
    let direct = min > 0
        && !flag.refused
        && len >= min
        && pos % IO_ALIGN as u64 == 0
        && buf.as_ptr() as usize % IO_ALIGN == 0
        && crate::cached_pages(file.as_fd(), pos, len as u64).is_some_and(|c| c * 2 < pages);
    flag.set(file, direct);
    if flag.on {
        match read_full_at(file, &mut buf[..len], pos, true) {
            Err(e) if e.raw_os_error() == Some(libc::EINVAL) => {
                flag.refused = true;
                flag.set(file, false);
            }
            r => return r,
        }
    }
    read_full_at(file, buf, pos, false)
}

/// What the reader thread hands over: a buffer and how many bytes of it are
/// data (0 at the end of the file), or the read's failure.
type Filled = io::Result<(AlignedBuf, usize)>;

/// A file read sequentially in chunks, one chunk ahead of its consumer on a
/// thread of its own, so the disk works while the session ciphers. Two buffers
/// circulate: the consumer's and the one being filled. What is left of a file
/// from the start position fits one chunk is read on the caller's thread
/// instead (no thread, no second buffer).
pub struct ReadAhead {
    mode: Mode,
}

enum Mode {
    Inline {
        file: File,
        pos: u64,
        chunk: usize,
        min: usize,
        flag: DirectFlag,
        done: bool,
        spare: Option<AlignedBuf>,
    },
    Thread {
        full: Option<Receiver<Filled>>,
        empty: Option<SyncSender<AlignedBuf>>,
        thread: Option<std::thread::JoinHandle<()>>,
    },
}

impl ReadAhead {
    /// Reads `file` from `pos` in chunks of `chunk` bytes; `size` is the file's
    /// size as last seen (it only chooses between the two modes), `min` the
    /// smallest chunk read direct (0: never).
    pub fn new(file: File, pos: u64, size: u64, chunk: usize, min: usize) -> ReadAhead {
        let chunk = chunk.max(1);
        let min = if min > 0 && direct_io_suits(&file) { min } else { 0 };
        if size.saturating_sub(pos) > chunk as u64 {
            let (full_tx, full_rx) = mpsc::sync_channel::<Filled>(2);
            let (empty_tx, empty_rx) = mpsc::sync_channel::<AlignedBuf>(2);
            let spawned = file.try_clone().and_then(|reader| {
                std::thread::Builder::new()
                    .name("read-ahead".into())
                    .spawn(move || read_ahead(reader, pos, chunk, min, empty_rx, full_tx))
            });
            // without a thread, read on the caller's, one chunk at a time
            if let Ok(thread) = spawned {
                for _ in 0..2 {
                    let _ = empty_tx.send(AlignedBuf::zeroed(chunk));
                }
                return ReadAhead {
                    mode: Mode::Thread {
                        full: Some(full_rx),
                        empty: Some(empty_tx),
                        thread: Some(thread),
                    },
                };
            }
        }
        // a small file gets a buffer of its size, not a whole chunk
        let fits = size.saturating_sub(pos).max(1).next_multiple_of(IO_ALIGN as u64);
        ReadAhead {
            mode: Mode::Inline {
                file,
                pos,
                chunk: chunk.min(usize::try_from(fits).unwrap_or(chunk)),
                min,
                flag: DirectFlag::default(),
                done: false,
                spare: None,
            },
        }
    }

    /// The next chunk and its length; `None` at the end of the file. After a
    /// failure, the next call answers `None`.
    pub fn next_chunk(&mut self) -> io::Result<Option<(AlignedBuf, usize)>> {
        match &mut self.mode {
            Mode::Inline {
                file,
                pos,
                chunk,
                min,
                flag,
                done,
                spare,
            } => {
                if *done {
                    return Ok(None);
                }
                let mut buf = spare.take().unwrap_or_else(|| AlignedBuf::zeroed(*chunk));
                let r = read_chunk(file, flag, *min, *pos, &mut buf);
                match r {
                    Ok(0) | Err(_) => *done = true,
                    Ok(n) => *pos += n as u64,
                }
                r.map(|n| (n > 0).then_some((buf, n)))
            }
            Mode::Thread { full, .. } => match full.as_ref().map(|f| f.recv()) {
                Some(Ok(Ok((buf, n)))) => Ok((n > 0).then_some((buf, n))),
                Some(Ok(Err(e))) => Err(e),
                // the thread has ended after the last chunk or a failure
                Some(Err(_)) | None => Ok(None),
            },
        }
    }

    /// Returns a chunk's buffer for the next read.
    pub fn give_back(&mut self, buf: AlignedBuf) {
        match &mut self.mode {
            Mode::Inline { spare, .. } => *spare = Some(buf),
            Mode::Thread { empty: Some(e), .. } => _ = e.try_send(buf),
            Mode::Thread { empty: None, .. } => {}
        }
    }
}

impl Drop for ReadAhead {
    fn drop(&mut self) {
        if let Mode::Thread { full, empty, thread } = &mut self.mode {
            // closing both channels ends the thread after its current read
            drop(full.take());
            drop(empty.take());
            if let Some(t) = thread.take() {
                let _ = t.join();
            }
        }
    }
}

/// The reader thread: fills each buffer it is given with the next chunk and
/// hands it over, until the end of the file, a failure, or a closed channel.
fn read_ahead(
    file: File,
    mut pos: u64,
    chunk: usize,
    min: usize,
    empty: Receiver<AlignedBuf>,
    full: SyncSender<Filled>,
) {
    let mut flag = DirectFlag::default();
    for mut buf in empty {
        let r = read_chunk(&file, &mut flag, min, pos, &mut buf[..chunk]);
        let last = !matches!(r, Ok(n) if n > 0);
        if let Ok(n) = r {
            pos += n as u64;
        }
        if full.send(r.map(|n| (buf, n))).is_err() || last {
            return;
        }
    }
}

/// Feeds `each` with `f` from `from` to its end, in order, read one chunk
/// ahead by a [`ReadAhead`] so the disk and `each` (a hash: the end-to-end
/// checks of stages and downloads) overlap. With `drop_cache`, the pages read
/// are given back behind `each` and at the end: data written past the cache
/// (so a big transfer does not evict the machine's files) is checked without
/// undoing that. (Not direct reads: they would set `O_DIRECT` on the open
/// file description `f` shares with its writers.)
pub fn each_chunk(f: &File, from: u64, drop_cache: bool, each: &mut dyn FnMut(&[u8])) -> io::Result<()> {
    const CHUNK: usize = 4 << 20;
    let drop_pages = |start: u64, len: u64| drop_cached(f, start, len);
    let size = f.metadata()?.len();
    let mut ra = ReadAhead::new(f.try_clone()?, from, size, CHUNK, 0);
    let (mut at, mut dropped) = (from, from);
    while let Some((buf, n)) = ra.next_chunk()? {
        each(&buf[..n]);
        ra.give_back(buf);
        at += n as u64;
        // the reader is a chunk or two ahead: what lies further back is used
        if drop_cache && at - dropped >= 64 << 20 {
            let upto = at - 3 * CHUNK as u64;
            drop_pages(dropped, upto - dropped);
            dropped = upto;
        }
    }
    if drop_cache {
        drop_pages(0, 0);
    }
    Ok(())
}

/// Gives the pages of `f` in `[start, start + len)` (`len` 0: to its end)
/// back to the kernel: what a check read back of data written past the cache
/// leaves nothing behind. Only a hint, so its failure changes nothing.
pub fn drop_cached(f: &File, start: u64, len: u64) {
    let _ = nix::fcntl::posix_fadvise(
        std::os::fd::AsRawFd::as_raw_fd(f),
        start as i64,
        len as i64,
        nix::fcntl::PosixFadviseAdvice::POSIX_FADV_DONTNEED,
    );
}

/// [`ReadAhead`] as a byte stream, for transfers that frame the data their own
/// way (RCVFILE, SDOWN): one copy out of the chunk buffers.
pub struct ReadAheadStream {
    ra: ReadAhead,
    cur: Option<(AlignedBuf, usize, usize)>,
    /// Bytes still expected from the size last seen (never negative; a file
    /// that grows is still read to its end).
    expected: u64,
}

impl ReadAheadStream {
    /// Reads `ra` as one stream of bytes; `expected` is what the file's size
    /// promises from the start position.
    pub fn new(ra: ReadAhead, expected: u64) -> ReadAheadStream {
        ReadAheadStream {
            ra,
            cur: None,
            expected,
        }
    }

    /// How many bytes a consumer should make room for next: what the size
    /// promises, at least `floor` (the end may not be known yet), at most `cap`.
    /// Sizing buffers by this keeps a 16 KiB download from zeroing a 512 KiB
    /// frame for each chunk.
    pub fn room(&self, floor: usize, cap: usize) -> usize {
        usize::try_from(self.expected)
            .unwrap_or(usize::MAX)
            .clamp(floor.min(cap), cap)
    }
}

impl Read for ReadAheadStream {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        if out.is_empty() {
            return Ok(0);
        }
        if self.cur.is_none() {
            self.cur = self.ra.next_chunk()?.map(|(buf, n)| (buf, n, 0));
        }
        let Some((buf, n, off)) = self.cur.as_mut() else {
            return Ok(0);
        };
        let k = out.len().min(*n - *off);
        out[..k].copy_from_slice(&buf[*off..*off + k]);
        *off += k;
        self.expected = self.expected.saturating_sub(k as u64);
        if *off == *n {
            if let Some((buf, _, _)) = self.cur.take() {
                self.ra.give_back(buf);
            }
        }
        Ok(k)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::FileExt;

    fn create(path: &std::path::Path) -> File {
        std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(true)
            .open(path)
            .expect("open")
    }

    fn temp_file(tag: &str) -> (std::path::PathBuf, File) {
        let dir = std::env::temp_dir().join(format!("tfd-direct-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("temp dir");
        let f = create(&dir.join("f"));
        (dir, f)
    }

    fn pattern(len: usize, seed: u8) -> Vec<u8> {
        (0..len)
            .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed))
            .collect()
    }

    fn o_direct_set(f: &File) -> bool {
        let flags =
            nix::fcntl::fcntl(std::os::fd::AsRawFd::as_raw_fd(f), nix::fcntl::FcntlArg::F_GETFL).expect("F_GETFL");
        flags & libc::O_DIRECT != 0
    }

    /// Aligned chunks go direct, an unaligned tail goes buffered, and the bytes
    /// on disk are exactly what was written, at the right offsets.
    #[test]
    fn mixes_direct_and_buffered_chunks_exactly() {
        let (dir, f) = temp_file("mix");
        let mut w = ChunkWriter::new(f.try_clone().expect("clone"), 0, 64 << 10);
        let mut a = AlignedBuf::zeroed(128 << 10);
        a.copy_from_slice(&pattern(128 << 10, 1));
        w.write_chunk(&a).expect("direct chunk");
        let direct_fs = w.min > 0 && !w.flag.refused;
        assert_eq!(o_direct_set(&f), direct_fs, "O_DIRECT is on for the aligned chunk");
        let tail = pattern(5000, 2);
        w.write_chunk(&tail).expect("tail");
        assert!(!o_direct_set(&f), "the unaligned tail goes through the page cache");
        assert_eq!(w.position(), (128 << 10) + 5000);
        let mut back = vec![0u8; (128 << 10) + 5000];
        f.read_exact_at(&mut back, 0).expect("read back");
        assert_eq!(&back[..128 << 10], &a[..]);
        assert_eq!(&back[128 << 10..], &tail[..]);
        let _ = std::fs::remove_dir_all(dir);
    }

    /// Memory-backed (and network) file systems never go direct.
    #[test]
    fn tmpfs_stays_in_the_page_cache() {
        let dir = std::path::Path::new("/dev/shm");
        let Ok(st) = nix::sys::statfs::statfs(dir) else { return };
        if st.filesystem_type() != nix::sys::statfs::TMPFS_MAGIC {
            return;
        }
        let path = dir.join(format!("tfd-direct-{}", std::process::id()));
        let f = create(&path);
        assert!(!direct_io_suits(&f));
        let mut w = ChunkWriter::new(f.try_clone().expect("clone"), 0, 4096);
        w.write_chunk(&AlignedBuf::zeroed(1 << 20)).expect("write");
        assert!(!o_direct_set(&f));
        let _ = std::fs::remove_file(path);
    }

    /// A small aligned chunk stays buffered; `min` 0 never goes direct.
    #[test]
    fn below_the_threshold_stays_buffered() {
        let (dir, f) = temp_file("small");
        let mut w = ChunkWriter::new(f.try_clone().expect("clone"), 0, 1 << 20);
        let a = AlignedBuf::zeroed(64 << 10);
        w.write_chunk(&a).expect("write");
        assert!(!o_direct_set(&f));
        let mut off = ChunkWriter::new(f.try_clone().expect("clone"), 64 << 10, 0);
        let big = AlignedBuf::zeroed(2 << 20);
        off.write_chunk(&big).expect("write");
        assert!(!o_direct_set(&f));
        assert_eq!(f.metadata().expect("stat").len(), (64 << 10) + (2 << 20));
        let _ = std::fs::remove_dir_all(dir);
    }

    fn read_all(ra: ReadAhead) -> Vec<u8> {
        let mut out = Vec::new();
        ReadAheadStream::new(ra, 0).read_to_end(&mut out).expect("read");
        out
    }

    /// Files read ahead on a thread (several chunks, odd tail) or inline (one
    /// chunk or less), from the start or an offset, direct or not, come back
    /// exactly; an uncached file read with direct I/O stays uncached.
    #[test]
    fn read_ahead_returns_the_file_exactly() {
        let (dir, f) = temp_file("ra");
        let data = pattern((5 << 20) + 777, 3);
        (&f).write_all(&data).expect("write");
        f.sync_all().expect("fsync");
        let path = dir.join("f");
        let open = || File::open(&path).expect("open");
        let size = data.len() as u64;
        for (chunk, min) in [(1 << 20, 64 << 10), (1 << 20, 0), (300_000, 4096), (8 << 20, 4096)] {
            assert!(
                read_all(ReadAhead::new(open(), 0, size, chunk, min)) == data,
                "{chunk} {min}"
            );
            let off = 4096 * 3 + 5;
            assert!(
                read_all(ReadAhead::new(open(), off as u64, size, chunk, min)) == data[off..],
                "{chunk} {min} from {off}"
            );
        }
        // a stale size (the file grew) only picks the mode: all is still read
        assert!(read_all(ReadAhead::new(open(), 0, 10, 1 << 20, 4096)) == data);
        // empty files and reads past the end
        assert!(read_all(ReadAhead::new(open(), size + 100, size, 1 << 20, 4096)).is_empty());
        nix::fcntl::posix_fadvise(
            std::os::fd::AsRawFd::as_raw_fd(&f),
            0,
            0,
            nix::fcntl::PosixFadviseAdvice::POSIX_FADV_DONTNEED,
        )
        .expect("fadvise");
        let pages = size.div_ceil(IO_ALIGN as u64);
        // tmpfs keeps every page in memory: nothing to measure there
        let tmpfs = nix::sys::statfs::fstatfs(&f).is_ok_and(|st| st.filesystem_type() == nix::sys::statfs::TMPFS_MAGIC);
        if let Some(before) = crate::cached_pages(f.as_fd(), 0, size).filter(|_| !tmpfs) {
            assert!(before * 4 < pages, "evicted: {before} of {pages} pages cached");
            assert!(read_all(ReadAhead::new(open(), 0, size, 1 << 20, 4096)) == data);
            let after = crate::cached_pages(f.as_fd(), 0, size).unwrap_or(0);
            assert!(after * 4 < pages, "read direct: {after} of {pages} pages cached");
        }
        let _ = std::fs::remove_dir_all(dir);
    }

    /// A consumer sized by `room` reads small files into small buffers and
    /// still reads a file that grew past its stated size to the end.
    #[test]
    fn stream_room_follows_the_stated_size() {
        let (dir, f) = temp_file("room");
        let data = pattern(20_000, 5);
        (&f).write_all(&data).expect("write");
        let open = || File::open(dir.join("f")).expect("open");
        let mut s = ReadAheadStream::new(ReadAhead::new(open(), 0, 16_384, 1 << 20, 0), 16_384);
        assert_eq!(s.room(4096, 512 << 10), 16_384, "the stated size, not the cap");
        assert_eq!(s.room(4096, 1000), 1000, "never above the cap");
        let mut out = Vec::new();
        loop {
            let mut buf = vec![0u8; s.room(4096, 512 << 10)];
            let mut n = 0;
            while n < buf.len() {
                match s.read(&mut buf[n..]).expect("read") {
                    0 => break,
                    k => n += k,
                }
            }
            if n == 0 {
                break;
            }
            out.extend_from_slice(&buf[..n]);
        }
        assert_eq!(s.room(4096, 512 << 10), 4096, "past the stated size: the floor");
        assert!(out == data, "the grown file is read to its end");
        let _ = std::fs::remove_dir_all(dir);
    }

    /// Staged appends of odd sizes reassemble exactly, whatever the stage size.
    #[test]
    fn staged_appends_reassemble() {
        for (tag, min) in [("s0", 0usize), ("s1", 4096), ("s2", 10_000), ("s3", 1 << 20)] {
            let (dir, f) = temp_file(tag);
            let mut s = Staged::new(f.try_clone().expect("clone"), 0, min);
            let data = pattern(3 * (1 << 20) + 777, 7);
            for piece in data.chunks(524_283) {
                s.write(piece).expect("write");
            }
            s.flush().expect("flush");
            let got = std::fs::read(dir.join("f")).expect("read");
            assert!(got == data, "stage {min}: content differs");
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}
