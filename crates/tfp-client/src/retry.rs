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
/// into `c`), one of a single transfer's lanes (an error that is a
/// connection's end, [`Error::is_end`], while the session answers) or one
/// of the run's pool, as `pool_broke` reads the result (`Report::broken`) — waits and runs `once(c, n)` for try `n`, up to
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
    let tries = Tries {
        cfg,
        retries,
        client: |c: &mut Client| c,
    };
    tries.run(c, |c, n| once(c, n), failed, pool_broke, |_| {})
}

/// What a caller of [`Tries::run`] is told between two tries.
pub enum Told<'e> {
    /// Try `tries` broke its connection: the next starts after `pause`.
    Waiting {
        /// The tries so far.
        tries: u32,
        /// The wait before the next.
        pause: Duration,
    },
    /// A new session could not be connected for the next try (it counts
    /// as one: the next waits again).
    NotConnected(&'e Error),
}

/// The loop of [`run`] over a caller's own state `S` that holds the
/// session (`client` finds it there): what `tf --retries` runs around its
/// command's context.
pub struct Tries<'c, S> {
    /// How to connect a new session.
    pub cfg: &'c ClientConfig,
    /// The tries after the first, at most.
    pub retries: u32,
    /// The session in the state.
    pub client: fn(&mut S) -> &mut Client,
}

impl<S> Tries<'_, S> {
    /// [`run`] over `s`, telling `told` before each wait and of each
    /// session that could not be connected.
    pub fn run<T>(
        &self,
        s: &mut S,
        mut once: impl FnMut(&mut S, u32) -> Result<T, Error>,
        failed: impl Fn(&T) -> bool,
        pool_broke: impl Fn(&T) -> bool,
        mut told: impl FnMut(Told<'_>),
    ) -> (Result<T, Error>, u32) {
        let mut tries = 1;
        let mut r = once(s, tries);
        while r.as_ref().map_or(true, &failed) && tries <= self.retries {
            let own = broke(self.cfg, (self.client)(s));
            // the session answers, yet a connection of the try ended: one
            // of a transfer's lanes (a single file's streams), or one of
            // its pool's as the result says
            let lane = r.as_ref().err().is_some_and(Error::is_end);
            if !own && !lane && !r.as_ref().is_ok_and(&pool_broke) {
                break;
            }
            let pause = wait(tries);
            told(Told::Waiting { tries, pause });
            std::thread::sleep(pause);
            tries += 1;
            if own {
                match Client::connect(self.cfg) {
                    Ok(new) => *(self.client)(s) = new,
                    Err(e) => {
                        told(Told::NotConnected(&e));
                        r = Err(e);
                        continue;
                    }
                }
            }
            r = once(s, tries);
        }
        (r, tries)
    }
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
