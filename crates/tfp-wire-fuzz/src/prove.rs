//! The body of target `prove`: TFDHMAC's argument and its answers
//! (`tfp_wire::prove`).

use tfp_wire::prove::{self, Request};

/// No input panics; a request taken has a key and 1..=MAX_PATHS paths that
/// each fit, and its line parses to itself; answers taken for any count
/// re-encode to text that parses to the same answers.
pub fn prove(data: &[u8]) {
    if let Some(r) = Request::parse(data) {
        assert!(!r.paths.is_empty() && r.paths.len() <= prove::MAX_PATHS);
        assert!(r.paths.iter().all(|p| prove::path_fits(p)));
        let line = r.line().expect("a parsed request encodes");
        let arg = &line[prove::COMMAND.len() + 1..];
        assert_eq!(Request::parse(arg), Some(r));
    }
    let n = data.iter().filter(|&&b| b == b' ').count() + 1;
    if let Some(a) = prove::parse_answers(data, n) {
        let again = prove::encode_answers(&a);
        assert_eq!(prove::parse_answers(&again, n), Some(a));
    }
}
