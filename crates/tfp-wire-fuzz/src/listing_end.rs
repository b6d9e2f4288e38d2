//! The body of target `listing_end`: the data of a tree listing's `OK`
//! (`tfp_wire::listing_end`).

use tfp_wire::listing_end::{Partial, MAX_NAMED, PARTIAL};

/// No input panics; data that is not tfd's `partial` answer is a listing
/// cut short, never a whole one (nothing is removed for its absence); one
/// taken as partial re-encodes to data read back the same, never naming
/// more directories than it counts; [`tfp_wire::listing_end::Unread::note`]
/// keeps no more names than fit.
pub fn listing_end(data: &[u8]) {
    let p = Partial::of_ok(data);
    if !data.is_empty() && !data.starts_with(PARTIAL.as_bytes()) {
        assert!(!p.is_whole());
    }
    assert!(p.unread.named.len() as u64 <= p.unread.count);
    match p.encode() {
        Some(again) => assert_eq!(Partial::of_ok(&again), p),
        None => assert!(p.is_whole()),
    }
    let mut u = tfp_wire::listing_end::Unread::default();
    for name in data.split(|&b| b == b'/').take(64) {
        u.note(name);
    }
    let held: usize = u.named.iter().map(|n| n.len() + 12).sum();
    assert!(held <= MAX_NAMED && u.named.len() as u64 <= u.count);
}
