//! What tfd makes of a name: which new names it refuses, how a listing
//! shows one, and which names listings and walks leave out.

/// True if `name` holds a control character (C0 or DEL), which no new name may.
pub(crate) fn has_control(name: &[u8]) -> bool {
    name.iter().any(|&b| b < 0x20 || b == 0x7f)
}

/// What a listing shows of a name: each control character as `?` (as `ls -q`
/// does), so a name made outside the protocol cannot forge a line.
pub(crate) fn shown_name(name: &mut [u8]) {
    for b in name.iter_mut().filter(|b| **b < 0x20 || **b == 0x7f) {
        *b = b'?';
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
    fn secure_names() {
        assert!(is_secure_name(b"k.sd"));
        assert!(!is_secure_name(b".sd"));
        assert!(!is_secure_name(b"sd"));
    }
}
