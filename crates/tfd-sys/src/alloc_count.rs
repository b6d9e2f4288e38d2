//! The system allocator with a per-thread byte counter, for the tests that bound
//! what a path allocates (tests/client_buffers.rs). Here because installing a
//! global allocator takes an `unsafe impl`, and this is the one crate allowed
//! one; built only with the `alloc-count` feature, which only the daemon
//! package's tests turn on.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Bytes allocated (or grown by realloc) on threads that are counting.
static ALLOCATED: AtomicUsize = AtomicUsize::new(0);

thread_local! {
    static COUNTING: Cell<bool> = const { Cell::new(false) };
}

/// The system allocator, counting the bytes asked for on a thread inside
/// [`allocated_by`]. Install it with `#[global_allocator]`.
pub struct Counting;

fn count(bytes: usize) {
    if COUNTING.with(|c| c.get()) {
        ALLOCATED.fetch_add(bytes, Ordering::Relaxed);
    }
}

// SAFETY: every call is forwarded to the system allocator unchanged.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count(layout.size());
        // SAFETY: the caller's contract for `alloc` is System's.
        unsafe { System.alloc(layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        count(layout.size());
        // SAFETY: the caller's contract for `alloc_zeroed` is System's.
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from System through this allocator, with `layout`.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count(new_size.saturating_sub(layout.size()));
        // SAFETY: `ptr` came from System through this allocator, with `layout`.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

/// Bytes `f` allocates on this thread (with [`Counting`] installed; 0 without).
pub fn allocated_by<T>(f: impl FnOnce() -> T) -> (T, usize) {
    ALLOCATED.store(0, Ordering::Relaxed);
    COUNTING.with(|c| c.set(true));
    let r = f();
    COUNTING.with(|c| c.set(false));
    (r, ALLOCATED.load(Ordering::Relaxed))
}
