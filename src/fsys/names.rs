//! What tfd makes of a name: which new names it refuses, how a listing
//! shows one, and which names listings and walks leave out.

/// True if `name` holds a control character (C0, DEL or C1), which no new
/// name may.
pub(crate) fn has_control(name: &[u8]) -> bool {
    (0..name.len()).any(|i| control_len(name, i) > 0)
}

/// The bytes of the control character `name` holds at `i`: 1 for C0 or DEL,
/// 2 for a C1 control (U+0080 to U+009F in UTF-8, `C2 80` to `C2 9F`, which
/// a UTF-8 terminal obeys as it does ESC: U+009B starts a sequence), else 0.
fn control_len(name: &[u8], i: usize) -> usize {
    match name[i..] {
        [b, ..] if b < 0x20 || b == 0x7f => 1,
        [0xc2, 0x80..=0x9f, ..] => 2,
        _ => 0,
    }
}

/// What a listing shows of a name: each byte of a control character as `?`
/// (as `ls -q` does), so a name made outside the protocol cannot forge a
/// line or drive a terminal.
pub(crate) fn shown_name(name: &mut [u8]) {
    let mut i = 0;
    while i < name.len() {
        let n = control_len(name, i);
        name[i..i + n].fill(b'?');
        i += n.max(1);
    }
}

/// True for a secure directory's name (`*.sd`), which listings and tree walks hide.
pub(crate) fn is_secure_name(name: &[u8]) -> bool {
    name.len() > 3 && name.ends_with(b".sd")
}

/// True for names listings never show: the reference's secure-FS metadata and
/// uploads still in progress.
pub(crate) fn is_hidden_meta(name: &[u8]) -> bool {
    tfp_wire::command::find(name, super::secfs::META_MARK).is_some() || name.starts_with(super::upload::TEMP_PREFIX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn controls_c0_del_and_c1_are_refused_and_shown_as_question_marks() {
        for bad in [
            &b"a\nb"[..],
            b"\x1b[2J",
            b"del\x7f",
            "c1\u{9b}x".as_bytes(),
            "\u{85}".as_bytes(),
        ] {
            assert!(has_control(bad), "{bad:?}");
        }
        // letters whose UTF-8 holds 0x80..0x9f after another lead byte
        for ok in ["é", "Ā", "日本", "a?b", "\u{a0}"] {
            assert!(!has_control(ok.as_bytes()), "{ok}");
        }
        let mut shown = "a\u{9b}b\x1bé\u{85}".as_bytes().to_vec();
        shown_name(&mut shown);
        assert_eq!(shown, "a??b?é??".as_bytes());
    }

    #[test]
    fn secure_names() {
        assert!(is_secure_name(b"k.sd"));
        assert!(!is_secure_name(b".sd"));
        assert!(!is_secure_name(b"sd"));
    }
}
