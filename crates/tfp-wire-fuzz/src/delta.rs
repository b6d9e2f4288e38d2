//! The body of target `delta`: a delta frame's records (`tfp_wire::delta::ops`)
//! and their literals as the building side reads them (`Literals`), packed
//! (`Z`, blocks of a zstd stream) or not.

use tfp_wire::delta::{ops, Literals, Op};

/// No input panics; records never claim more than the frame holds; a
/// packed literal never yields more than the room it was given, and a delta
/// asked without compression refuses every packed one. The first byte picks
/// the room (the new file's bytes left).
pub fn delta(data: &[u8]) {
    let Some((&r, frame)) = data.split_first() else {
        return;
    };
    let room = [0u64, 1, 1000, 1 << 16, 1 << 30][r as usize % 5];
    let mut plain = Literals::plain();
    let mut packed = Literals::packed(tfp_wire::compress::DEFAULT_WINDOW_LOG);
    let mut held = 0usize;
    for op in ops(frame) {
        let Ok(op) = op else {
            break;
        };
        match op {
            Op::Literal(d) | Op::Packed(d) => {
                held += d.len();
                assert!(held <= frame.len());
            }
            Op::Copy { .. } => {}
        }
        match plain.bytes(&op, room) {
            Ok(d) => assert!(!matches!(op, Op::Packed(_)) && (matches!(op, Op::Literal(l) if l == d) || d.is_empty())),
            Err(_) => assert!(matches!(op, Op::Packed(_))),
        }
        if let (Some(p), Op::Packed(_)) = (packed.as_mut(), &op) {
            if let Ok(d) = p.bytes(&op, room) {
                assert!(d.len() as u64 <= room);
            }
        }
    }
}
