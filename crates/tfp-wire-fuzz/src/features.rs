//! The body of target `features`: `TFDFEATURES`' answer
//! (`tfp_wire::features`), what a client reads in its first flight.

use tfp_wire::features::{Features, MAX_COMMANDS, MAX_LEN};

/// No input panics; an answer taken is within its bounds, and what it says
/// is encoded within them and read back the same (decode → encode →
/// decode is stable).
pub fn features(data: &[u8]) {
    let Some(f) = Features::parse(data) else {
        return;
    };
    assert!(data.len() <= MAX_LEN && f.commands.len() <= MAX_COMMANDS);
    let text = f.encode();
    assert!(text.len() <= MAX_LEN);
    assert_eq!(Features::parse(&text).as_ref(), Some(&f));
}
