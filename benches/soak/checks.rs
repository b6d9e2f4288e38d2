//! The checks after every client closed: leftovers, locks, secure
//! directories, registry slots, temporary files.

use super::procfs::sessions;
use super::run::KEEP_LOCK;
use super::secure::OWNER_MASK;
use std::collections::HashSet;
use std::fs;
use std::path::{Path, PathBuf};
use std::thread;
use std::time::{Duration, Instant};
use tfp_client::{Client, ClientConfig};
use tfp_wire::Status;

pub(crate) fn raise_nofile(want: u64) -> u64 {
    use nix::sys::resource::{getrlimit, setrlimit, Resource};
    let Ok((soft, hard)) = getrlimit(Resource::RLIMIT_NOFILE) else {
        return 0;
    };
    let target = want.min(hard).max(soft);
    if target > soft {
        let _ = setrlimit(Resource::RLIMIT_NOFILE, target, hard);
    }
    getrlimit(Resource::RLIMIT_NOFILE).map(|(s, _)| s).unwrap_or(soft)
}

pub(crate) fn percentile(sorted: &[u32], q: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    sorted[((sorted.len() as f64 * q) as usize).min(sorted.len() - 1)] as f64 / 1e3
}

/// Waits (bounded) until no session process is left but those in `except`;
/// returns those that are.
pub(crate) fn drain(listener: u32, limit: Duration, except: &[u32]) -> Vec<u32> {
    let until = Instant::now() + limit;
    loop {
        let mut left = sessions(listener);
        left.retain(|p| !except.contains(p));
        if left.is_empty() || Instant::now() >= until {
            return left;
        }
        thread::sleep(Duration::from_millis(50));
    }
}

/// Checks that the keeper's lock is still held (a fresh session's NETLOCK_TRY
/// fails: no waiter ever got it), then the keeper releases it and ends.
pub(crate) fn release_keeper(cfg: &ClientConfig, mut keeper: Client) -> Result<(), String> {
    let mut probe = Client::connect(cfg).map_err(|e| format!("a probe session: {e}"))?;
    let r = probe
        .raw(format!("NETLOCK_TRY 5 {KEEP_LOCK}").as_bytes())
        .map_err(|e| format!("the probe's NETLOCK_TRY: {e}"))?;
    let _ = probe.end();
    if !r.starts_with(b"FAILED 54 ") {
        return Err(format!(
            "a fresh session's NETLOCK_TRY {KEEP_LOCK} -> {:?} while the keeper holds it",
            String::from_utf8_lossy(&r)
        ));
    }
    let r = keeper
        .raw(b"NETUNLOCK 0")
        .map_err(|e| format!("the keeper's NETUNLOCK: {e}"))?;
    if r != b"OK" {
        return Err(format!("the keeper's NETUNLOCK 0 -> {:?}", String::from_utf8_lossy(&r)));
    }
    keeper.end().map_err(|e| format!("the keeper's END: {e}"))
}

/// One fresh session takes (NETLOCK_TRY, then NETUNLOCK) each lock in turn,
/// trying each for at most `limit`; returns how many it took.
pub(crate) fn take_every_lock(cfg: &ClientConfig, locks: &[String], limit: Duration) -> (usize, String) {
    let mut c = match Client::connect(cfg) {
        Ok(c) => c,
        Err(e) => return (0, format!("connect: {e}")),
    };
    let mut took = 0;
    let mut note = String::new();
    for l in locks {
        let until = Instant::now() + limit;
        loop {
            match c.raw(format!("NETLOCK_TRY 5 {l}").as_bytes()) {
                Ok(r) if r.starts_with(b"OK ") => {
                    let id = &r[3..];
                    match c.raw(&[&b"NETUNLOCK "[..], id].concat()) {
                        Ok(u) if u == b"OK" => took += 1,
                        other => note = format!("NETUNLOCK after {l}: {other:?}"),
                    }
                    break;
                }
                Ok(r) if Instant::now() < until && r.starts_with(b"FAILED 54 ") => {
                    thread::sleep(Duration::from_millis(100))
                }
                other => {
                    note = format!("{l} still held after {limit:?}: {other:?}");
                    break;
                }
            }
        }
    }
    let _ = c.end();
    (took, note)
}

/// The owner entry a secure client's directory got at its first connection,
/// still the only one (the refused attempts by other identities changed nothing).
pub(crate) fn owner_entry_intact(data: &Path, id: usize) -> bool {
    let want = format!("own{id}:{OWNER_MASK}\n");
    [".securefs_metadata", ".securefs_metadata.rd"]
        .iter()
        .all(|f| fs::read(data.join(format!("c{id}")).join(f)).is_ok_and(|b| b == want.as_bytes()))
}

/// Opens `n` sessions at once, each asking PROCKEY (which needs its registry
/// slot); returns how many got a key, all distinct.
pub(crate) fn fill_slots(cfg: &ClientConfig, n: usize) -> (usize, String) {
    let mut open = Vec::new();
    let mut keys = HashSet::new();
    let mut note = String::new();
    for i in 0..n {
        match Client::connect(cfg) {
            Ok(mut c) => match c.call("PROCKEY", b"") {
                Ok(Status::Ok(k)) if k.len() == 33 && keys.insert(k.clone()) => open.push(c),
                other => {
                    note = format!("session {i}: PROCKEY -> {other:?}");
                    break;
                }
            },
            Err(e) => {
                note = format!("session {i} of {n}: {e}");
                break;
            }
        }
    }
    let got = open.len();
    for c in open {
        let _ = c.end();
    }
    (got, note)
}

/// Temporary upload files (`.tfd-part-*`) anywhere in the served tree.
pub(crate) fn count_part_files(root: &Path) -> usize {
    let mut n = 0;
    let mut stack: Vec<PathBuf> = vec![root.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in fs::read_dir(&d).into_iter().flatten().flatten() {
            if e.file_name().as_encoded_bytes().starts_with(b".tfd-part-") {
                n += 1;
            }
            if e.file_type().is_ok_and(|t| t.is_dir()) {
                stack.push(e.path());
            }
        }
    }
    n
}

pub(crate) struct RemoveOnDrop(pub(crate) PathBuf);

impl Drop for RemoveOnDrop {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}
