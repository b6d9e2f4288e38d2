//! The body of target `link`: TFDLINK's argument (`tfp_wire::link`).

use tfp_wire::link::Link;

/// No input panics; a link taken has two non-empty paths without NUL, the
/// first without ` | `, and re-encodes to an argument that parses to itself.
pub fn link(data: &[u8]) {
    let Some(l) = Link::parse(data) else {
        return;
    };
    assert!(!l.existing.is_empty() && !l.new.is_empty());
    assert!(!l.existing.contains(&0) && !l.new.contains(&0));
    assert!(!l.existing.windows(3).any(|w| w == b" | "));
    let again = l.encode().expect("a parsed link encodes");
    assert_eq!(again, data);
    assert_eq!(Link::parse(&again), Some(l));
}
