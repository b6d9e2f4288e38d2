//! The body of target `session_end`: `TFDWHY`'s request and reply
//! (`tfp_wire::session_end`), both read before any handshake.

use tfp_wire::session_end::{parse_reply, parse_request, reply, request, MAX_REPLY, MAX_REQUEST};

/// No input panics; a request taken names a port 1..=65535 and is re-encoded
/// to itself within its bound; a reply taken is within its bound and is
/// exactly what the server sends for that end.
pub fn session_end(data: &[u8]) {
    if let Some(Some(port)) = parse_request(data) {
        assert!(port != 0 && data.len() <= MAX_REQUEST);
        assert_eq!(request(port), data);
    }
    if let Some(end) = parse_reply(data) {
        assert!(data.len() <= MAX_REPLY);
        assert_eq!(reply(end), data);
    }
}
