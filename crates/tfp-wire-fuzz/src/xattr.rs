//! The body of target `xattr`: `TFDXATTRS`'s and `TFDACLS`' answer and
//! `TFDSETXATTRS`'s and `TFDSETACLS`' argument, and what an upload lands
//! with (`TFDLANDXATTRS`'s argument, a batch's `X` frame's list)
//! (`tfp_wire::xattr`).

use tfp_wire::xattr::{carried, is_acl, Land, LandAt, Listing, Set, MAX_LIST, MAX_VALUE, MAX_VALUES};

/// No input panics; a list taken is within the kernel's bounds, every name
/// within its scope, and re-encodes to exactly the input.
pub fn xattr(data: &[u8]) {
    if let Some(l) = Listing::parse(data) {
        assert!(l.xattrs.pairs().iter().all(|(n, _)| l.scope.takes(n)));
        assert_eq!(l.encode(), data);
    }
    if let Some(s) = Set::parse(data) {
        let p = s.xattrs.pairs();
        assert!(p
            .iter()
            .all(|(n, v)| (carried(n, true) || is_acl(n)) && v.len() <= MAX_VALUE));
        assert!(p.iter().map(|(n, _)| n.len() + 1).sum::<usize>() <= MAX_LIST);
        assert!(p.iter().map(|(_, v)| v.len()).sum::<usize>() <= MAX_VALUES);
        assert!(!s.path.is_empty());
        assert_eq!(s.encode(), data);
    }
    if let Some((l, rest)) = Land::parse(data) {
        assert!(l.xattrs || l.acls);
        assert!(l
            .list
            .pairs()
            .iter()
            .all(|(n, _)| (l.xattrs && carried(n, true)) || (l.acls && is_acl(n))));
        let e = l.encode().expect("what parses encodes");
        assert!(e.len() <= Land::MAX);
        assert_eq!([&e[..], rest].concat(), data);
    }
    if let Some(at) = LandAt::parse(data) {
        assert!(!at.path.is_empty());
        assert_eq!(at.encode().as_deref(), Some(data));
    }
}
