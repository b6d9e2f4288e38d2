//! Random (version 4) UUIDs in the reference's text form (RFC 9562): 36 lower-case
//! characters, as `uuid_unparse_lower` writes them. GENUUID's answer and CIAON's
//! identity token. Pure; the random bytes come from the caller.

/// Length of a UUID's text form.
pub const TEXT_LEN: usize = 36;

/// The text form of a version-4 UUID made from 16 random bytes (the version and
/// variant bits are set here): `xxxxxxxx-xxxx-4xxx-[89ab]xxx-xxxxxxxxxxxx`.
pub fn v4_text(mut b: [u8; 16]) -> [u8; TEXT_LEN] {
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let mut out = [0u8; TEXT_LEN];
    let mut o = 0;
    for (i, group) in [&b[..4], &b[4..6], &b[6..8], &b[8..10], &b[10..]]
        .into_iter()
        .enumerate()
    {
        if i > 0 {
            out[o] = b'-';
            o += 1;
        }
        crate::hex::encode_into(group, &mut out[o..]);
        o += 2 * group.len();
    }
    out
}

/// True for text of the form [`v4_text`] produces.
pub fn is_v4_text(s: &[u8]) -> bool {
    s.len() == TEXT_LEN
        && s.iter().enumerate().all(|(i, &c)| match i {
            8 | 13 | 18 | 23 => c == b'-',
            14 => c == b'4',
            19 => matches!(c, b'8' | b'9' | b'a' | b'b'),
            _ => c.is_ascii_digit() || (b'a'..=b'f').contains(&c),
        })
}

/// Compares two tokens without an early exit.
pub fn same(a: &[u8; TEXT_LEN], b: &[u8; TEXT_LEN]) -> bool {
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_form() {
        let t = v4_text([0xff; 16]);
        assert_eq!(&t, b"ffffffff-ffff-4fff-bfff-ffffffffffff");
        assert!(is_v4_text(&t));
        let t = v4_text([0; 16]);
        assert_eq!(&t, b"00000000-0000-4000-8000-000000000000");
        assert!(is_v4_text(&t));
        assert!(same(&t, &v4_text([0; 16])));
        assert!(!same(&t, &v4_text([1; 16])));
        assert!(!is_v4_text(b"00000000-0000-1000-8000-000000000000"));
        assert!(!is_v4_text(b"00000000-0000-4000-8000-00000000000"));
    }
}
