//! tf's one progress bar: a line on stderr redrawn every 200 ms from a thread
//! while a transfer or a tree run moves bytes, only when stderr is a terminal
//! (a script reading stderr gets no carriage returns) or `--progress` asked
//! for it ([`force`]). What the line says is
//! the caller's (a transfer's bytes, rate and ETA; a tree run's files and
//! bytes); how it is drawn, stopped and ended with a newline is here.

use std::io::IsTerminal;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tfp_client::engine::events::Said;

/// `--progress`: bars are drawn whatever stderr is.
static FORCED: AtomicBool = AtomicBool::new(false);

/// How wide the bar on the screen is (0: none): a message said while it is
/// drawn blanks it first, and the next redraw puts it back below.
static SHOWN: Mutex<usize> = Mutex::new(0);

/// Prints `line` on stderr, over the bar if one is drawn, so a message
/// told while a tree's files move stands on a line of its own.
pub fn say(line: &str) {
    let mut shown = SHOWN.lock().unwrap_or_else(|p| p.into_inner());
    if *shown > 0 {
        eprint!("\r{:w$}\r", "", w = *shown);
        *shown = 0;
    }
    eprintln!("{line}");
}

/// Prints a note the library told during a transfer as `tf: TEXT`.
/// `text` is already escaped for the terminal.
pub fn note(text: &str) {
    say(&format!("tf: {text}"));
}

/// Prints the outcome of `--verify` bare (`verified: SHA-256 0x…`), as an
/// upload prints it, so a script reads the same line whichever way the
/// file went.
pub fn verified(sha256: &str) {
    say(&format!("verified: SHA-256 {sha256}"));
}

/// Prints what the download engine told during a transfer.
pub fn said(m: Said<'_>) {
    match m {
        Said::Note(text) => note(text),
        Said::Verified(sha256) => verified(sha256),
    }
}

/// Draws `line` after a carriage return (its width remembered); with
/// `last`, ends the bar's line.
fn draw(line: &str, last: bool) {
    let mut shown = SHOWN.lock().unwrap_or_else(|p| p.into_inner());
    eprint!("\r{line}");
    if last {
        eprintln!();
        *shown = 0;
    } else {
        *shown = line.chars().count();
    }
}

/// Draws every bar from now on, even when stderr is not a terminal.
pub fn force() {
    FORCED.store(true, Ordering::Relaxed);
}

/// Whether a bar is drawn: stderr is a terminal, or [`force`]d.
pub fn drawn() -> bool {
    std::io::stderr().is_terminal() || FORCED.load(Ordering::Relaxed)
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
        if !drawn() {
            return Bar { done, handle: None };
        }
        let d = done.clone();
        let handle = std::thread::spawn(move || {
            let t0 = Instant::now();
            loop {
                let stop = d.load(Ordering::Relaxed);
                draw(&line(t0.elapsed().as_secs_f64().max(1e-3)), stop);
                if stop {
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
