//! What compressing a block cost the sender: the CPU time of its thread,
//! not the wall clock. On a loaded machine (two cores, four sessions and
//! the receivers' processes) a block's wall time is mostly the time the
//! thread waited for a core: one session's decider once judged zstd's
//! level 1 at 3 MB/s from it, and sent a tree raw. Waiting for a core
//! slows sending raw just as much, so it is no cost of compressing.

use std::time::{Duration, Instant};

/// A running measurement of the calling thread's CPU time (its wall time
/// where the system cannot tell).
pub(crate) struct Clock {
    cpu: Option<Duration>,
    wall: Instant,
}

impl Clock {
    pub(crate) fn start() -> Clock {
        Clock {
            cpu: thread_cpu(),
            wall: Instant::now(),
        }
    }

    /// The thread's CPU time since [`Clock::start`], and the clock's.
    pub(crate) fn elapsed(&self) -> (Duration, Duration) {
        let wall = self.wall.elapsed();
        match (self.cpu, thread_cpu()) {
            (Some(a), Some(b)) => (b.saturating_sub(a), wall),
            _ => (wall, wall),
        }
    }
}

/// The calling thread's CPU time so far.
fn thread_cpu() -> Option<Duration> {
    let t = nix::time::clock_gettime(nix::time::ClockId::CLOCK_THREAD_CPUTIME_ID).ok()?;
    Some(Duration::from(t))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sleep_costs_no_cpu_and_work_does() {
        let c = Clock::start();
        std::thread::sleep(Duration::from_millis(30));
        let (cpu, wall) = c.elapsed();
        assert!(cpu < Duration::from_millis(15), "{cpu:?}");
        assert!(wall >= Duration::from_millis(30), "{wall:?}");
        let c = Clock::start();
        let mut x = 0u64;
        while c.elapsed().0 < Duration::from_millis(5) {
            x = std::hint::black_box(x.wrapping_add(1));
        }
        assert!(x > 0);
    }
}
