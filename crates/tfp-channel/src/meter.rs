//! The byte counts a half shows while it runs: `tfd ctl sessions` read them
//! from the session's registry slot, which was written only between commands,
//! so a 300 MB download showed its first 87 bytes until it ended.

/// Bytes moved between two shows: a plain store to shared memory every 256 KiB
/// (a frame is up to 512 KiB), never a syscall.
pub const STEP: u64 = 256 * 1024;

/// Where a half shows its running byte count (the session's slot in the live
/// registry). `show` must be cheap: a relaxed store, no syscall, no lock.
pub trait Meter: Send + Sync {
    /// The half's total bytes so far.
    fn show(&self, bytes: u64);
}

/// A half's meter and the count it last showed.
#[derive(Default)]
pub struct Shown {
    last: u64,
    meter: Option<std::sync::Arc<dyn Meter>>,
}

impl Shown {
    /// Shows counts on `meter` from now on, starting with `bytes`.
    pub fn attach(&mut self, meter: std::sync::Arc<dyn Meter>, bytes: u64) {
        meter.show(bytes);
        self.last = bytes;
        self.meter = Some(meter);
    }

    /// After the half's count moved to `bytes`: shows it when it moved a [`STEP`].
    #[inline]
    pub fn moved(&mut self, bytes: u64) {
        if bytes.wrapping_sub(self.last) >= STEP {
            self.last = bytes;
            if let Some(m) = &self.meter {
                m.show(bytes);
            }
        }
    }
}

impl<R: std::io::Read> super::RxHalf<R> {
    /// Shows the bytes received on `meter` as they come, not only when asked.
    pub fn set_meter(&mut self, meter: std::sync::Arc<dyn Meter>) {
        self.shown.attach(meter, self.bytes);
    }
}

impl<W: std::io::Write> super::TxHalf<W> {
    /// Shows the bytes sent on `meter` as they go, not only when asked.
    pub fn set_meter(&mut self, meter: std::sync::Arc<dyn Meter>) {
        self.shown.attach(meter, self.bytes);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::sync::Arc;

    struct Seen(AtomicU64);
    impl Meter for Seen {
        fn show(&self, bytes: u64) {
            self.0.store(bytes, Ordering::Relaxed);
        }
    }

    /// A long send shows its count while it runs, every STEP.
    #[test]
    fn a_long_send_shows_its_count_as_it_goes() {
        let mut tx = super::super::TxHalf::new(Vec::new());
        let seen = Arc::new(Seen(AtomicU64::new(u64::MAX)));
        tx.set_meter(seen.clone());
        assert_eq!(seen.0.load(Ordering::Relaxed), 0);
        let chunk = vec![7u8; 64 * 1024];
        for _ in 0..40 {
            tx.send_frame(&chunk).unwrap();
            let shown = seen.0.load(Ordering::Relaxed);
            assert!(tx.bytes - shown < STEP, "{} sent, {shown} shown", tx.bytes);
        }
        assert!(seen.0.load(Ordering::Relaxed) > 2 * 1024 * 1024);
    }
}
