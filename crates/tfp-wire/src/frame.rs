//! Framing: a signed 32-bit big-endian length header, then the payload.
//!
//! Header and payload are two separate cipher units (wire-notes §1, §2.4), which is
//! why encoding takes the cipher: the caller cannot get the unit boundaries wrong.

use super::cipher::Cipher;

/// The largest payload any frame may carry (the reference's COMMBUFLEN).
pub const MAX_FRAME: usize = 524_288;

/// Payload room in a `CONT <data>` chunk: the frame minus `CONT `.
pub const MAX_CHUNK: usize = MAX_FRAME - 5;

/// Why a frame header was refused.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FrameError {
    /// The header holds a negative length; the reference re-ran stale bytes here.
    Negative(i32),
    /// The header exceeds the bound in force (the global or a tighter pre-auth one).
    TooLarge {
        /// The length the peer sent.
        len: i32,
        /// The bound in force.
        max: usize,
    },
}

impl std::fmt::Display for FrameError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FrameError::Negative(n) => write!(f, "negative frame length {n}"),
            FrameError::TooLarge { len, max } => write!(f, "frame length {len} exceeds {max}"),
        }
    }
}

impl std::error::Error for FrameError {}

/// Checks a decrypted header against `max` and returns the payload length.
pub fn decode_len(hdr: [u8; 4], max: usize) -> Result<usize, FrameError> {
    let len = i32::from_be_bytes(hdr);
    if len < 0 {
        return Err(FrameError::Negative(len));
    }
    if len as usize > max.min(MAX_FRAME) {
        return Err(FrameError::TooLarge {
            len,
            max: max.min(MAX_FRAME),
        });
    }
    Ok(len as usize)
}

/// Appends one frame (header unit + payload unit) to `out`, encrypting each unit
/// separately when a cipher is given. Panics only on a caller bug (payload over
/// [`MAX_FRAME`]), never on peer input.
pub fn encode_frame(cipher: Option<&mut Cipher>, payload: &[u8], out: &mut Vec<u8>) {
    assert!(payload.len() <= MAX_FRAME, "frame payload over MAX_FRAME");
    encode_frame_parts(cipher, &[payload], out)
}

/// Like [`encode_frame`] for a payload given in pieces (e.g. `CONT ` + data), which
/// still form one payload unit.
pub fn encode_frame_parts(cipher: Option<&mut Cipher>, parts: &[&[u8]], out: &mut Vec<u8>) {
    let len: usize = parts.iter().map(|p| p.len()).sum();
    assert!(len <= MAX_FRAME, "frame payload over MAX_FRAME");
    let start = out.len();
    out.extend_from_slice(&(len as i32).to_be_bytes());
    let body = out.len();
    for p in parts {
        out.extend_from_slice(p);
    }
    if let Some(c) = cipher {
        c.pack(&mut out[start..body]);
        c.pack(&mut out[body..]);
    }
}

/// Appends one raw unit (no header), encrypted as a single unit.
pub fn encode_raw(cipher: Option<&mut Cipher>, data: &[u8], out: &mut Vec<u8>) {
    let start = out.len();
    out.extend_from_slice(data);
    if let Some(c) = cipher {
        c.pack(&mut out[start..]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounds() {
        assert_eq!(decode_len(0i32.to_be_bytes(), MAX_FRAME), Ok(0));
        assert_eq!(decode_len(524_288i32.to_be_bytes(), MAX_FRAME), Ok(524_288));
        assert!(matches!(
            decode_len(524_289i32.to_be_bytes(), MAX_FRAME),
            Err(FrameError::TooLarge { .. })
        ));
        assert!(matches!(
            decode_len((-1i32).to_be_bytes(), MAX_FRAME),
            Err(FrameError::Negative(-1))
        ));
        assert!(matches!(
            decode_len(300i32.to_be_bytes(), 256),
            Err(FrameError::TooLarge { max: 256, .. })
        ));
        // a bound above the global one never widens it
        assert!(decode_len(600_000i32.to_be_bytes(), usize::MAX).is_err());
    }

    #[test]
    fn frame_is_two_units() {
        let key: Vec<u8> = (0u8..16).collect();
        let mut out = Vec::new();
        encode_frame(Some(&mut Cipher::new(&key)), b"testhash", &mut out);
        assert_eq!(
            out,
            [0x07, 0x33, 0xbf, 0xa6, 0x2f, 0x62, 0xd1, 0x02, 0x66, 0xc5, 0x7c, 0xf3]
        );
        let mut parts = Vec::new();
        encode_frame_parts(Some(&mut Cipher::new(&key)), &[b"test", b"hash"], &mut parts);
        assert_eq!(out, parts);
    }

    #[test]
    fn plaintext_frame() {
        let mut out = Vec::new();
        encode_frame(None, b"OK", &mut out);
        assert_eq!(out, b"\0\0\0\x02OK");
    }
}
