//! What a server's listing of a tree lacked, told (tfp-wire's
//! `listing_end`): each directory the session may not read, listed without
//! its contents; how many more there were past the names the end carries;
//! a walk the server cut short. Each is a refusal, one line, so the run's
//! status says the tree did not come whole, and the caller's `--delete`
//! removes nothing for the absence of what it could not see.

use super::names::{self, rjoin};
use crate::engine::events::Tally;
use crate::remote::listing::Partial;

/// Tells what `p` says the listing of `dir` lacks; `lead` goes before each
/// remote path as the run shows them (`/` in a mirror's lines). True when
/// the listing was whole.
pub(crate) fn told(p: &Partial, dir: &[u8], lead: &str, t: &mut Tally<'_>) -> bool {
    let path = |rel: &[u8]| {
        let p = if rel.is_empty() { dir.to_vec() } else { rjoin(dir, rel) };
        names::shown(&p)
    };
    for rel in &p.unread.named {
        t.refused(format!(
            "{}: {lead}{}: a directory the server may not read (permission denied); its contents were left out",
            t.verb,
            path(rel)
        ));
    }
    let more = p.unread.count.saturating_sub(p.unread.named.len() as u64);
    if more > 0 {
        t.refused(format!(
            "{}: {lead}{}: {more} more directories below it the server may not read; their contents were left out",
            t.verb,
            path(b"")
        ));
    }
    if p.cut {
        t.refused(format!(
            "{}: {lead}{}: the server's listing was cut short (its walk_limit or depth bound); what it lacks was left out",
            t.verb,
            path(b"")
        ));
    }
    p.is_whole()
}
