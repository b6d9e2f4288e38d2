//! The body of target `link`: TFDLINK's and TFDLINKS' arguments and
//! TFDLINKS' answers (`tfp_wire::link`).

use tfp_wire::link::{self, Link, Links};

/// No input panics; a link taken has two non-empty paths without NUL, the
/// first without ` | `, and re-encodes to an argument that parses to itself;
/// many links taken have 1..=MAX_PATHS relative paths that each fit and
/// re-encode to the same argument; answers taken re-encode to themselves.
pub fn link(data: &[u8]) {
    if let Some(m) = Links::parse(data) {
        assert!(!m.paths.is_empty() && m.paths.len() <= link::MAX_PATHS);
        assert!(m.paths.iter().all(|p| link::relative_fits(p)));
        assert_eq!(m.encode().as_deref(), Some(data));
    }
    let n = data.iter().filter(|&&b| b == b' ').count() + 1;
    if let Some(a) = link::parse_answers(data, n) {
        assert_eq!(link::encode_answers(&a), data);
    }
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
