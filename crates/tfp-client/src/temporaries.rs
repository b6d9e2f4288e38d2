//! The hidden temporaries a download writes before renaming it into place
//! (client::engine::scratch: `rcvfile`, `sdown`, `intread`): the ones still
//! pending, which the signal thread removes before tf exits, how their
//! names end, and the mode a file gets when it replaces none.

use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

/// Temporaries of this process not yet renamed into place or removed.
static PENDING: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());

/// A poisoned lock still holds a good list: a panic never leaves it half-changed.
fn pending() -> MutexGuard<'static, Vec<PathBuf>> {
    PENDING.lock().unwrap_or_else(|p| p.into_inner())
}

/// Registers `p`; called before it is created, so that a signal in between
/// cannot miss it.
pub fn remember(p: &Path) {
    pending().push(p.to_path_buf());
}

/// Once `p` is renamed into place or removed.
pub fn forget(p: &Path) {
    pending().retain(|x| x != p);
}

/// Whether `p` is still a temporary: one renamed into place must not be
/// removed by its owner's drop.
pub fn is_pending(p: &Path) -> bool {
    pending().iter().any(|x| x == p)
}

/// Removes every temporary still pending (from the signal thread, just
/// before the process exits).
pub fn remove_pending() {
    for p in pending().iter() {
        let _ = std::fs::remove_file(p);
    }
}

/// `.tf-PID-RANDOM`, the end of a temporary's name: the PID says whose it is,
/// the random part makes a name no one holds yet likely.
pub fn suffix() -> io::Result<String> {
    let mut r = [0u8; 6];
    getrandom::getrandom(&mut r).map_err(|e| io::Error::other(e.to_string()))?;
    let tag = tfp_wire::hex::encode(&r);
    Ok(format!(".tf-{}-{tag}", std::process::id()))
}

/// 0666 less the process umask: what a new file would get. The umask is read
/// from /proc (umask(2) would change it for a moment) once per process, as
/// tfd reads its own: a tree of 10,000 files read /proc/self/status 10,000
/// times (12 system calls and the whole status text each); 022 where /proc
/// does not say.
pub fn new_file_mode() -> u32 {
    0o666 & !umask()
}

/// This process's umask, read once ([`new_file_mode`] says why from
/// /proc).
pub fn umask() -> u32 {
    static UMASK: std::sync::OnceLock<u32> = std::sync::OnceLock::new();
    *UMASK.get_or_init(|| {
        std::fs::read_to_string("/proc/self/status")
            .ok()
            .and_then(|s| {
                s.lines()
                    .find_map(|l| l.strip_prefix("Umask:"))
                    .and_then(|v| u32::from_str_radix(v.trim(), 8).ok())
            })
            .unwrap_or(0o022)
    })
}

/// What interrupted transfers keep for a resume, said before tf exits on a
/// signal (a partial is kept on purpose, unlike a pending temporary).
static KEPT: Mutex<Vec<(u64, String)>> = Mutex::new(Vec::new());

fn kept() -> MutexGuard<'static, Vec<(u64, String)>> {
    KEPT.lock().unwrap_or_else(|p| p.into_inner())
}

/// Registers a sentence about a partial kept if the process ends now;
/// returns its ticket for [`drop_note`].
pub fn note_kept(text: String) -> u64 {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
    let id = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    kept().push((id, text));
    id
}

/// Once the partial is committed or gone.
pub fn drop_note(id: u64) {
    kept().retain(|(i, _)| *i != id);
}

/// Registers the sentence that says how to continue (the command to run),
/// said after every [`note_kept`] sentence; its ticket for [`drop_note`].
pub fn note_continue(text: String) -> u64 {
    note_kept(format!("{CONTINUE}{text}"))
}

/// Marks a [`note_continue`] sentence in the list (never shown).
const CONTINUE: &str = "\0continue:";

/// The sentences of every partial still kept, then how to continue.
pub fn kept_notes() -> Vec<String> {
    let notes = kept();
    let (last, first): (Vec<&String>, Vec<&String>) =
        notes.iter().map(|(_, t)| t).partition(|t| t.starts_with(CONTINUE));
    first
        .into_iter()
        .cloned()
        .chain(last.into_iter().map(|t| t[CONTINUE.len()..].to_string()))
        .collect()
}
