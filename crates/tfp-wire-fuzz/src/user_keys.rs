//! The body of target `user_keys`: a user's own keys
//! (`tfp_wire::keylogin::user_keys`), the line a user sends and the listing
//! a client reads.

use tfp_wire::keylogin::{line, user_keys as uk};

/// The first byte picks the parser: none panics, a line taken carries no
/// option, no control character and a bounded comment, and a listing
/// re-encodes to itself.
pub fn user_keys(data: &[u8]) {
    let Some((&which, arg)) = data.split_first() else {
        return;
    };
    if which % 2 == 0 {
        if let Ok(k) = uk::check_line(arg) {
            assert!(k.options.is_empty() && k.comment.len() <= uk::MAX_COMMENT);
            assert!(!k.comment.chars().any(|c| c.is_control() && c != '\t'));
            let again = line::render("", &k.blob, &k.key, &k.comment);
            assert_eq!(line::parse(&again).map(|l| l.map(|l| l.blob)), Ok(Some(k.blob)));
        }
    } else if let Some(v) = uk::parse_list(arg) {
        assert!(v.len() <= uk::MAX_LISTED);
        assert!(v.iter().all(|k| k.fingerprint.starts_with("SHA256:")));
        assert_eq!(uk::parse_list(&uk::list_reply(&v)).map(|w| w.len()), Some(v.len()));
    }
}
