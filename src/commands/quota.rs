//! Quota checks for the commands that add data (SNDFILE, SUP, PUT, PUTCAN, COPY,
//! CPDIR). A session's quota (the user file's, else `quota_default`) bounds the
//! apparent size of the regular files its uid owns beneath the session's root.
//! Usage is measured once when a command starts (a bounded walk); the command then
//! counts what it writes against the room left, and stops the way a full disk
//! stops it (FAILED 13, −1, or the HPF server cancel), leaving no partial file.

use crate::fsys::{quota, Kind, RelPath};
use crate::session::Session;
use log::{info, warn};
use std::fs::File;

/// Bytes the session may still add (None: no quota). `replacing` is a file the
/// command will replace: its size is given back if the quota's uid owns it.
pub fn room(s: &Session, replacing: Option<&RelPath>) -> Option<u64> {
    let q = s.auth.quota?;
    let u = quota::usage(s.root.fd(), q.uid, s.ctx.cfg.walk_limit);
    if u.truncated {
        warn!(
            "{} quota: the usage walk stopped at walk_limit {}; usage counted as {} bytes",
            s.peer, s.ctx.cfg.walk_limit, u.bytes
        );
    }
    let mut used = u.bytes;
    if let Some(p) = replacing {
        if let Ok(st) = s.root.lstat(p) {
            if Kind::of(&st) == Kind::File && st.st_uid == q.uid {
                used = used.saturating_sub(st.st_size.max(0) as u64);
            }
        }
    }
    Some(q.limit.saturating_sub(used))
}

/// Takes `n` bytes from the room; false (and nothing taken) if they do not fit.
pub fn take(room: &mut Option<u64>, n: u64) -> bool {
    match room {
        None => true,
        Some(r) if *r >= n => {
            *r -= n;
            true
        }
        Some(_) => false,
    }
}

/// For writes in place (PUT, PUTCAN): the file may grow up to this offset.
pub fn end_limit(s: &Session, file: &File) -> Option<u64> {
    let size = file.metadata().map(|m| m.len()).unwrap_or(0);
    room(s, None).map(|r| size.saturating_add(r))
}

/// Logs a quota refusal.
pub fn refused(s: &Session, what: &str) {
    info!("{} {what}: quota of user {} exceeded", s.peer, s.user);
}
