//! Before a timed command: what earlier removals and writes left the disk to
//! do is done first, so no tool pays for another's.

use super::run::SAME_FS;
use std::fs;
use std::path::Path;
use std::time::{Duration, Instant};

/// When a tree was last removed ([`clear_tree`]).
pub(crate) static REMOVED: std::sync::Mutex<Option<Instant>> = std::sync::Mutex::new(None);

/// Removes a tree and, when it held [`MANY`] entries or more, notes when:
/// the file system takes a while to settle after ([`settle`]). The smaller
/// trees (`--smoke`'s, the 300-file case) cost nothing measurable after.
pub(crate) fn clear_tree(path: &Path) {
    let many = SAME_FS.load(std::sync::atomic::Ordering::Relaxed) && entries(path, MANY) >= MANY;
    crate::support::race::clear(path);
    if many {
        *REMOVED.lock().unwrap_or_else(|p| p.into_inner()) = Some(Instant::now());
    }
}

/// How many removed entries make the next timed command wait.
pub(crate) const MANY: usize = 2000;

/// When this bench started ([`prior_removals`]).
pub(crate) static STARTED: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();

/// Before a case that creates [`MANY`] files or more: a tree removed just
/// before this bench started (an earlier run removes its copies as it ends,
/// a test or another bench theirs) slows their creation as much as one it
/// removed itself, whichever tool comes first. With no removal of its own
/// noted, the bench's start stands for one, so its first timed command
/// waits as [`settle`] waits after any.
pub(crate) fn prior_removals() {
    if !SAME_FS.load(std::sync::atomic::Ordering::Relaxed) {
        return;
    }
    let mut at = REMOVED.lock().unwrap_or_else(|p| p.into_inner());
    if at.is_none() {
        *at = Some(*STARTED.get_or_init(Instant::now));
    }
}

/// The entries below `dir`, counted up to `most`.
pub(crate) fn entries(dir: &Path, most: usize) -> usize {
    let (mut n, mut stack) = (0, vec![dir.to_path_buf()]);
    while let Some(d) = stack.pop() {
        for e in fs::read_dir(&d).into_iter().flatten().flatten() {
            n += 1;
            if n >= most {
                return n;
            }
            if e.file_type().is_ok_and(|t| t.is_dir()) {
                stack.push(e.path());
            }
        }
    }
    n
}

/// How long ext4 without a journal keeps a freed inode from reuse (its
/// inode table block clean: `RECENTCY_MIN`), and a second.
pub(crate) const RECENTLY_FREED: Duration = Duration::from_secs(61);

/// Before a timed command: everything written so far on disk (`sync`), and,
/// with `--same-fs`, the file system past the last tree's removal: on an
/// ext4 without a journal (this machine's root) the inode allocator skips
/// every inode freed in the last 60 s (360 s while its inode table block is
/// dirty), scanning past each at every creation, so 10,000 files created
/// just after 10,000 were removed took twice as long or more, whichever tool
/// made them. The wait covers the 60 s; the fresh file system (the default,
/// [`crate::support::fresh_fs`]) has a journal and needs none.
pub(crate) fn settle() {
    nix::unistd::sync();
    let Some(at) = *REMOVED.lock().unwrap_or_else(|p| p.into_inner()) else {
        return;
    };
    let wait = RECENTLY_FREED.saturating_sub(at.elapsed());
    if !wait.is_zero() {
        println!(
            "    (waiting {:.0} s for the file system to settle)",
            wait.as_secs_f64()
        );
        std::thread::sleep(wait);
        nix::unistd::sync();
    }
}
