//! tf's one progress bar: a line on stderr redrawn every 200 ms from a thread
//! while a transfer or a tree run moves bytes, only when stderr is a terminal
//! (a script reading stderr gets no carriage returns) or `--progress` asked
//! for it ([`force`]). What the line says is
//! the caller's (a transfer's bytes, rate and ETA; a tree run's files and
//! bytes); how it is drawn, stopped and ended with a newline is here.

use std::io::IsTerminal;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// `--progress`: bars are drawn whatever stderr is.
static FORCED: AtomicBool = AtomicBool::new(false);

/// Draws every bar from now on, even when stderr is not a terminal.
pub fn force() {
    FORCED.store(true, Ordering::Relaxed);
}

/// The time `left` bytes take at `rate` bytes a second, as rsync writes
/// it (`0:01:05`); `--:--:--` while no rate is known.
pub fn eta(left: f64, rate: f64) -> String {
    if rate <= 0.0 || !(left / rate).is_finite() {
        return "--:--:--".into();
    }
    let s = (left / rate).round() as u64;
    format!("{}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60)
}

/// A bar being drawn; [`Bar::finish`] draws it a last time and ends its line.
pub struct Bar {
    done: Arc<AtomicBool>,
    handle: Option<std::thread::JoinHandle<()>>,
}

impl Bar {
    /// Starts drawing `line(seconds since the start)` after a carriage return
    /// (the seconds never below 1 ms, so a rate is never a division by zero);
    /// nothing is drawn when stderr is not a terminal, unless [`force`]d.
    pub fn start(line: impl Fn(f64) -> String + Send + 'static) -> Bar {
        let done = Arc::new(AtomicBool::new(false));
        if !std::io::stderr().is_terminal() && !FORCED.load(Ordering::Relaxed) {
            return Bar { done, handle: None };
        }
        let d = done.clone();
        let handle = std::thread::spawn(move || {
            let t0 = Instant::now();
            loop {
                let stop = d.load(Ordering::Relaxed);
                eprint!("\r{}", line(t0.elapsed().as_secs_f64().max(1e-3)));
                if stop {
                    eprintln!();
                    return;
                }
                std::thread::sleep(Duration::from_millis(200));
            }
        });
        Bar {
            done,
            handle: Some(handle),
        }
    }

    /// Draws the final figures and ends the bar's line; returns when it has.
    pub fn finish(mut self) {
        self.done.store(true, Ordering::Relaxed);
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn eta_as_rsync_writes_it() {
        assert_eq!(eta(65.0, 1.0), "0:01:05");
        assert_eq!(eta(7200.0, 2.0), "1:00:00");
        assert_eq!(eta(10.0, 0.0), "--:--:--");
    }
}
