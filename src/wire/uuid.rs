//! UUID text (RFC 9562): GENUUID's answer. Pure; the random bytes come from the caller.

/// The version-4 UUID made of `random` (version and variant bits set), as 36
/// lower-case characters `xxxxxxxx-xxxx-4xxx-[89ab]xxx-xxxxxxxxxxxx`.
pub fn v4_text(mut random: [u8; 16]) -> String {
    random[6] = (random[6] & 0x0f) | 0x40;
    random[8] = (random[8] & 0x3f) | 0x80;
    let mut out = String::with_capacity(36);
    for (i, b) in random.iter().enumerate() {
        if matches!(i, 4 | 6 | 8 | 10) {
            out.push('-');
        }
        out.push_str(&format!("{b:02x}"));
    }
    out
}

/// True for text of the form [`v4_text`] produces.
pub fn is_v4_text(s: &[u8]) -> bool {
    s.len() == 36
        && s.iter().enumerate().all(|(i, &c)| match i {
            8 | 13 | 18 | 23 => c == b'-',
            14 => c == b'4',
            19 => matches!(c, b'8' | b'9' | b'a' | b'b'),
            _ => c.is_ascii_digit() || (b'a'..=b'f').contains(&c),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout() {
        let t = v4_text([0xff; 16]);
        assert_eq!(t, "ffffffff-ffff-4fff-bfff-ffffffffffff");
        assert!(is_v4_text(t.as_bytes()));
        let t = v4_text([0; 16]);
        assert_eq!(t, "00000000-0000-4000-8000-000000000000");
        assert!(is_v4_text(t.as_bytes()));
        assert!(!is_v4_text(b"00000000-0000-1000-8000-000000000000"));
        assert!(!is_v4_text(b"00000000-0000-4000-8000-00000000000"));
    }
}
