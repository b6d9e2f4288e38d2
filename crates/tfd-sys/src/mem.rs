//! Memory: the shared counters region and page-aligned transfer buffers.

use std::io;

/// A zero-filled anonymous `MAP_SHARED` region viewed as atomic 64-bit words.
/// Created by the listener before it forks, it is the same memory in every
/// session and helper process, so counters and tables in it are shared without
/// files (nothing is left in /dev/shm when tfd dies) and without locks.
pub struct SharedWords {
    ptr: std::ptr::NonNull<std::sync::atomic::AtomicU64>,
    len: usize,
}

// SAFETY: the region is only ever accessed through atomics.
unsafe impl Send for SharedWords {}
// SAFETY: as above; &SharedWords hands out only &[AtomicU64].
unsafe impl Sync for SharedWords {}

impl SharedWords {
    /// Maps `words` zeroed 64-bit words.
    pub fn new(words: usize) -> io::Result<SharedWords> {
        let bytes = words.max(1) * 8;
        // SAFETY: an anonymous shared mapping with no address hint; the result is
        // checked against MAP_FAILED before use.
        let p = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                bytes,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED | libc::MAP_ANONYMOUS,
                -1,
                0,
            )
        };
        if p == libc::MAP_FAILED {
            return Err(io::Error::last_os_error());
        }
        let ptr = std::ptr::NonNull::new(p.cast()).ok_or_else(|| io::Error::other("mmap returned NULL"))?;
        Ok(SharedWords { ptr, len: words.max(1) })
    }

    /// The words.
    pub fn words(&self) -> &[std::sync::atomic::AtomicU64] {
        // SAFETY: the mapping is `len` AtomicU64-sized, page-aligned, zero-initialised
        // (a valid AtomicU64 bit pattern), and lives as long as `self`.
        unsafe { std::slice::from_raw_parts(self.ptr.as_ptr(), self.len) }
    }
}

impl Drop for SharedWords {
    fn drop(&mut self) {
        // SAFETY: unmapping exactly the region mapped in `new`; no borrows outlive self.
        unsafe { libc::munmap(self.ptr.as_ptr().cast(), self.len * 8) };
    }
}

/// Alignment of [`AlignedBuf`]: the page size, which every Linux block device's
/// logical block size divides, so direct I/O accepts these buffers everywhere.
pub const IO_ALIGN: usize = 4096;

/// A zero-filled buffer whose address is [`IO_ALIGN`]-aligned, for O_DIRECT
/// (a `Vec<u8>` gives no alignment guarantee: glibc puts large blocks 16 bytes
/// past a page boundary).
///
/// Buffers of [`MAP_MIN`] bytes or more are anonymous mappings: the kernel hands
/// out zeroed pages as they are first touched, so a 1 MiB transfer buffer that
/// carries a 16 KiB file costs four page faults. An over-aligned `alloc_zeroed`
/// memsets the whole block instead (256 page faults and 1 MiB cleared per
/// transfer: most of a small upload's cost on a VM, measured with perf).
pub struct AlignedBuf {
    ptr: std::ptr::NonNull<u8>,
    len: usize,
    /// Mapped with mmap (else from the global allocator).
    mapped: bool,
}

/// Buffers at least this large are mapped, not allocated.
pub const MAP_MIN: usize = 64 << 10;

// SAFETY: AlignedBuf owns its allocation exclusively, like a Vec<u8>.
unsafe impl Send for AlignedBuf {}
// SAFETY: shared access only hands out &[u8].
unsafe impl Sync for AlignedBuf {}

impl AlignedBuf {
    /// A buffer of `len` zero bytes (`len` 0 allocates one aligned block, unused).
    pub fn zeroed(len: usize) -> AlignedBuf {
        let layout = Self::layout(len);
        if layout.size() >= MAP_MIN {
            // SAFETY: an anonymous private mapping with no address hint; the result
            // is checked against MAP_FAILED before use. Mappings are page-aligned
            // (at least IO_ALIGN) and zero-filled by the kernel.
            let p = unsafe {
                libc::mmap(
                    std::ptr::null_mut(),
                    layout.size(),
                    libc::PROT_READ | libc::PROT_WRITE,
                    libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                    -1,
                    0,
                )
            };
            if p != libc::MAP_FAILED {
                if let Some(ptr) = std::ptr::NonNull::new(p.cast::<u8>()) {
                    return AlignedBuf { ptr, len, mapped: true };
                }
            }
            std::alloc::handle_alloc_error(layout);
        }
        // SAFETY: the layout has a non-zero size.
        let p = unsafe { std::alloc::alloc_zeroed(layout) };
        match std::ptr::NonNull::new(p) {
            Some(ptr) => AlignedBuf {
                ptr,
                len,
                mapped: false,
            },
            None => std::alloc::handle_alloc_error(layout),
        }
    }

    fn layout(len: usize) -> std::alloc::Layout {
        let size = len.max(1).next_multiple_of(IO_ALIGN);
        match std::alloc::Layout::from_size_align(size, IO_ALIGN) {
            Ok(l) => l,
            // only for sizes near usize::MAX, which no caller can allocate anyway
            Err(_) => std::alloc::handle_alloc_error(std::alloc::Layout::new::<[u8; IO_ALIGN]>()),
        }
    }
}

impl std::ops::Deref for AlignedBuf {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        // SAFETY: `ptr` points to at least `len` initialised (zeroed) bytes we own.
        unsafe { std::slice::from_raw_parts(self.ptr.as_ptr(), self.len) }
    }
}

impl std::ops::DerefMut for AlignedBuf {
    fn deref_mut(&mut self) -> &mut [u8] {
        // SAFETY: as in deref, and `&mut self` makes the access exclusive.
        unsafe { std::slice::from_raw_parts_mut(self.ptr.as_ptr(), self.len) }
    }
}

impl Drop for AlignedBuf {
    fn drop(&mut self) {
        let layout = Self::layout(self.len);
        if self.mapped {
            // SAFETY: unmapping exactly the mapping made in `zeroed`; no borrow of
            // it outlives self.
            unsafe { libc::munmap(self.ptr.as_ptr().cast(), layout.size()) };
        } else {
            // SAFETY: allocated in `zeroed` with exactly this layout.
            unsafe { std::alloc::dealloc(self.ptr.as_ptr(), layout) };
        }
    }
}
