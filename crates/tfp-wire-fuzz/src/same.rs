//! The body of target `same`: TFDSTATID's answer, TFDDELIF's argument
//! (`tfp_wire::same`) and TFDMODE's answer (`tfp_wire::mode`).

use tfp_wire::same::Ident;

/// No input panics; an identity taken re-encodes to text that parses to
/// itself; a TFDDELIF argument taken re-encodes (identity, path) to one
/// that splits the same, its path non-empty; a mode taken is within the
/// twelve bits and re-encodes to the very input.
pub fn same(data: &[u8]) {
    if let Some(id) = Ident::parse(data) {
        assert_eq!(Ident::parse(id.text().as_bytes()), Some(id));
        assert!(id.mtime.1 < 1_000_000_000 && id.ctime.1 < 1_000_000_000);
    }
    if let Some((id, path)) = Ident::split_del_if(data) {
        assert!(!path.is_empty());
        let again = id.del_if(path);
        assert_eq!(Ident::split_del_if(&again), Some((id, path)));
    }
    if let Some(m) = tfp_wire::mode::parse(data) {
        assert!(m <= tfp_wire::mode::BITS);
        assert_eq!(tfp_wire::mode::encode(m), data);
    }
}
