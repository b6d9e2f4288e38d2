//! How a command meets a stale handle (ESTALE): on a shared file system
//! another node replaced the file, or a directory on its path, since this node
//! looked the name up. The node's file system client learns of the replacement
//! a moment later (GlusterFS: an upcall from the brick invalidates its cache),
//! and only then does a fresh lookup find the new file. How long that moment
//! lasts is not ours to know: on a busy machine the client's process waits for a
//! CPU like any other. So the path is looked up (pinned and judged) again with a
//! growing pause, for a bounded time, never just once after a fixed pause (that
//! was `scaling::gluster_stale_handles_are_looked_up_again`'s flake under load).
#![forbid(unsafe_code)]

use crate::fsys::FsError;
use std::time::{Duration, Instant};

/// The first pause before a stale path is looked up again; each further one
/// doubles, up to [`MAX_PAUSE`].
pub const SETTLE: Duration = Duration::from_millis(30);
/// The longest pause between two lookups.
pub const MAX_PAUSE: Duration = Duration::from_millis(250);
/// How long a command goes on looking before a stale handle is its failure
/// (as `fsys::secfs` does for TFPSFS metadata).
pub const WAIT: Duration = Duration::from_secs(2);

/// Runs `first`; while it (or a later try) answers [`FsError::Stale`], pauses
/// and runs `again` (which looks the path up afresh), until `wait` has passed.
/// Any other answer, or an error of `again`'s lookup itself, ends at once.
/// `tried` hears of each pause (for the log). Returns the last answer.
pub fn retry<T>(
    first: impl FnOnce() -> Result<T, FsError>,
    mut again: impl FnMut() -> Result<T, FsError>,
    wait: Duration,
    mut tried: impl FnMut(u32, Duration),
) -> Result<T, FsError> {
    let deadline = Instant::now() + wait;
    let mut pause = SETTLE;
    let mut n = 0u32;
    let mut r = first();
    while matches!(r, Err(FsError::Stale)) {
        let now = Instant::now();
        if now >= deadline {
            break;
        }
        n += 1;
        tried(n, pause);
        std::thread::sleep(pause.min(deadline - now));
        r = again();
        pause = (pause * 2).min(MAX_PAUSE);
    }
    r
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;

    /// A client that settles after several looks (a loaded machine) is still
    /// waited for: the old policy looked once more, and failed here.
    #[test]
    fn stale_for_several_looks_still_reads_the_new_file() {
        let looks = Cell::new(0);
        let r = retry(
            || Err(FsError::Stale),
            || {
                looks.set(looks.get() + 1);
                if looks.get() < 4 {
                    Err(FsError::Stale)
                } else {
                    Ok("new")
                }
            },
            WAIT,
            |_, _| {},
        );
        assert_eq!(r.ok(), Some("new"));
        assert_eq!(looks.get(), 4);
    }

    /// Bounded: stale for ever is the command's failure after about `wait`.
    #[test]
    fn stale_for_ever_fails_within_the_bound() {
        let t = Instant::now();
        let wait = Duration::from_millis(300);
        let r: Result<(), _> = retry(|| Err(FsError::Stale), || Err(FsError::Stale), wait, |_, _| {});
        assert!(matches!(r, Err(FsError::Stale)));
        let took = t.elapsed();
        assert!(took >= wait && took < wait + Duration::from_millis(200), "{took:?}");
    }

    /// Any other answer ends it at once: only ESTALE means "look again".
    #[test]
    fn other_errors_are_not_retried() {
        let looks = Cell::new(0);
        let r: Result<(), _> = retry(
            || Err(FsError::Stale),
            || {
                looks.set(looks.get() + 1);
                Err(FsError::NotFound)
            },
            WAIT,
            |_, _| {},
        );
        assert!(matches!(r, Err(FsError::NotFound)));
        assert_eq!(looks.get(), 1);
        let r: Result<(), _> = retry(|| Err(FsError::NotFound), || unreachable!(), WAIT, |_, _| {});
        assert!(matches!(r, Err(FsError::NotFound)));
    }
}
