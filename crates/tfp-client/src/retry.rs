//! Trying a run again after its connection broke (`tf --retries`, the
//! Python package's `retries=`): only a broken connection is tried again
//! (the session no longer answers), after a wait that doubles each time,
//! and each later try continues what the earlier ones left through what
//! the runs keep anyway (partials and their journals, stages, a mirror's
//! comparison), so it costs no protocol of its own.

use crate::{Client, ClientConfig, Error};
use std::time::Duration;

/// The longest wait between two tries.
pub const MOST: Duration = Duration::from_secs(30);

/// The wait before try `tries + 1`: 1 s before the second, twice as long
/// before each next, at most [`MOST`].
pub fn wait(tries: u32) -> Duration {
    Duration::from_secs(1u64 << tries.saturating_sub(1).min(5)).min(MOST)
}

/// Whether the try that just ended on `c` ended because its connection
/// broke: the session no longer answers, and no one interrupted it (tf
/// shell's Ctrl-C and a [`crate::interrupt::Cancel`] shut the connections
/// down too).
pub fn broke(cfg: &ClientConfig, c: &mut Client) -> bool {
    if crate::interrupt::fired() || cfg.cancel.as_ref().is_some_and(|k| k.fired()) {
        return false;
    }
    match c.date() {
        Ok(_) => false,
        Err(e) => !e.session_usable(),
    }
}

/// Runs `once(c, 1)`; while what it returns `failed` (or is an error) and
/// a connection broke — the session's own (then a new session is connected
/// into `c`) or one of the run's pool, as `pool_broke` reads the result
/// (`Report::broken`) — waits and runs `once(c, n)` for try `n`, up to
/// `retries` more times. Returns the last try's result and how many tries
/// it took.
pub fn run<T>(
    cfg: &ClientConfig,
    c: &mut Client,
    retries: u32,
    mut once: impl FnMut(&mut Client, u32) -> Result<T, Error>,
    failed: impl Fn(&T) -> bool,
    pool_broke: impl Fn(&T) -> bool,
) -> (Result<T, Error>, u32) {
    let mut tries = 1;
    let mut r = once(c, tries);
    while r.as_ref().map_or(true, &failed) && tries <= retries {
        let own = broke(cfg, c);
        if !own && !r.as_ref().is_ok_and(&pool_broke) {
            break;
        }
        std::thread::sleep(wait(tries));
        tries += 1;
        if own {
            match Client::connect(cfg) {
                Ok(new) => *c = new,
                Err(e) => {
                    r = Err(e);
                    continue;
                }
            }
        }
        r = once(c, tries);
    }
    (r, tries)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_double_up_to_a_bound() {
        let w: Vec<u64> = (1..=8).map(|n| wait(n).as_secs()).collect();
        assert_eq!(w, [1, 2, 4, 8, 16, 30, 30, 30]);
    }
}
