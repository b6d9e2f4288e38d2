//! The body of target `framed`: a framed batch's wire frames
//! (`tfp_wire::batch::framed`) as a hostile client sends them.

use tfp_wire::batch::framed::{Unframer, MAX_DECODED, RECORD_LEN};

/// The most a record may announce here (a batch header's bound is smaller).
const MAX_RECORD: usize = 64 << 10;

/// No input panics; the reader never holds more than one frame's decoded
/// bytes beyond a record's, and every record it returns is within `max`.
/// The input is frames, each a 2-byte big-endian length and its bytes.
pub fn framed(data: &[u8]) {
    let Some(mut u) = Unframer::new(17) else {
        return;
    };
    let mut rest = data;
    let mut next = move || -> Result<Vec<u8>, ()> {
        let (len, body) = rest.split_first_chunk::<2>().ok_or(())?;
        let n = (u16::from_be_bytes(*len) as usize).min(body.len());
        let frame = body[..n].to_vec();
        rest = &body[n..];
        Ok(frame)
    };
    for _ in 0..64 {
        match u.record(MAX_RECORD, &mut next) {
            Ok(Ok(r)) => assert!(r.len() <= MAX_RECORD),
            Ok(Err(_)) | Err(()) => break,
        }
        assert!(u.leftover() <= MAX_DECODED + RECORD_LEN + MAX_RECORD);
    }
}
