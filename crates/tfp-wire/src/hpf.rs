//! The high-performance file interface's binary request (PUT/GET/PUTCAN/GETCAN):
//! `NAME <path><sep><struct>`, where the struct's big-endian integers may contain
//! any byte, so the path ends where the struct begins, counted from the end.

/// HPF stream codes.
pub mod code {
    /// No more data.
    pub const END: i64 = 0;
    /// Stop, keeping what was written.
    pub const STOP: i64 = -1;
    /// Cancel.
    pub const CANCEL: i64 = -2;
    /// Continue (PUTCAN/GETCAN windows).
    pub const CONT: i64 = -3;
    /// The closing handshake.
    pub const FIN: i64 = -127;
}

/// A parsed request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HpfRequest<'a> {
    /// The path argument.
    pub path: &'a [u8],
    /// Offset in the file.
    pub offset: u64,
    /// Proposed buffer size.
    pub bufsz: i64,
    /// Chunks per cancellation window (the *CAN forms only).
    pub canpt: Option<u64>,
}

/// Parses the argument after `NAME ` for the plain (16-byte) or *CAN (24-byte)
/// form. None when the argument is too short to hold separator and struct.
pub fn parse(arg: &[u8], can: bool) -> Option<HpfRequest<'_>> {
    let size = if can { 24 } else { 16 };
    if arg.len() < size + 1 {
        return None;
    }
    let (head, st) = arg.split_at(arg.len() - size);
    let path = &head[..head.len() - 1];
    let u = |i: usize| u64::from_be_bytes(st[i..i + 8].try_into().unwrap_or([0; 8]));
    Some(HpfRequest {
        path,
        offset: u(0),
        bufsz: u(8) as i64,
        canpt: if can { Some(u(16)) } else { None },
    })
}

/// Builds a request argument (for clients and tests).
pub fn encode(path: &[u8], offset: u64, bufsz: i64, canpt: Option<u64>) -> Vec<u8> {
    let mut v = path.to_vec();
    v.push(b' ');
    v.extend_from_slice(&offset.to_be_bytes());
    v.extend_from_slice(&bufsz.to_be_bytes());
    if let Some(c) = canpt {
        v.extend_from_slice(&c.to_be_bytes());
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_with_zero_and_space_bytes() {
        let a = encode(b"dir/a b", 0x20_00_00_00_00_00_00_00, 32, None);
        let r = parse(&a, false).unwrap();
        assert_eq!(r.path, b"dir/a b");
        assert_eq!(r.offset, 0x2000_0000_0000_0000);
        assert_eq!(r.bufsz, 32);
        let a = encode(b"", 5, -1, Some(3));
        let r = parse(&a, true).unwrap();
        assert_eq!((r.path, r.offset, r.bufsz, r.canpt), (&b""[..], 5, -1, Some(3)));
    }

    #[test]
    fn too_short() {
        assert!(parse(&[0u8; 16], false).is_none());
        assert!(parse(&[0u8; 17], false).is_some());
        assert!(parse(&[0u8; 24], true).is_none());
        assert!(parse(b"", false).is_none());
    }
}
