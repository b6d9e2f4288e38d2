//! The body of target `backup`: TFDBACKUP's argument
//! (`tfp_wire::backup`).

use tfp_wire::backup::{suffix_ok, Backup};

/// No input panics; a setting taken carries a suffix the server may add
/// (no `/`, no NUL, bounded; never empty beside the file) and paths with no
/// NUL, and re-encodes to an argument that parses to itself.
pub fn backup(data: &[u8]) {
    let Some(b) = Backup::parse(data) else {
        return;
    };
    match &b {
        Backup::Off => {}
        Backup::Beside(s) => assert!(!s.is_empty() && suffix_ok(s)),
        Backup::Into { suffix, base, dir } => {
            assert!(suffix_ok(suffix) && !base.is_empty() && !dir.is_empty());
            assert!(!base.contains(&0) && !dir.contains(&0));
        }
    }
    let again = b.encode().expect("a parsed setting encodes");
    assert_eq!(Backup::parse(&again), Some(b));
}
