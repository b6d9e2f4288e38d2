//! The body of target `stage`: the staged uploads' frames
//! (`tfp_wire::stage`) and the sparse files' (`tfp_wire::sparse`).

/// The staged uploads' frames (`tfp_wire::stage`, and the sparse files'
/// `tfp_wire::sparse`; the first byte picks the parser): what parses
/// re-encodes to a frame that parses to the same value, and what TFDSTAGE
/// accepts keeps its bounds.
pub fn stage(data: &[u8]) {
    use tfp_wire::sparse::{Holes, StageHole, MAX_HOLES};
    use tfp_wire::stage::{self as st, listing};
    let Some((&which, arg)) = data.split_first() else {
        return;
    };
    match which % 7 {
        5 => {
            if let Some(h) = Holes::parse(arg) {
                assert!(h.list.len() <= MAX_HOLES && h.data() <= h.size);
                assert_eq!(Holes::parse(&h.encode()), Some(h));
            }
        }
        6 => {
            if let Some(h) = StageHole::parse(arg) {
                assert!(h.start < h.end);
                assert_eq!(StageHole::parse(&h.encode()), Some(h));
            }
        }
        0 => {
            if let Some(o) = st::Open::parse(arg) {
                assert!(st::valid_identity(o.identity) && o.size <= i64::MAX as u64);
                assert_eq!(st::Open::parse(&o.encode()), Some(o));
            }
        }
        1 => {
            if let Some(r) = st::Ranges::parse(arg) {
                assert_eq!(st::Ranges::parse(&r.encode()), Some(r));
            }
        }
        2 => {
            if let Some(d) = st::Done::parse(arg) {
                assert!(!d.sha256.contains(&b' ') && !d.path.contains(&0));
                assert!(d.attrs.and_then(|a| a.mode).unwrap_or(0) <= 0o7777);
                assert_eq!(st::Done::parse(&d.encode()), Some(d));
                let _ = d.matches(arg);
            }
        }
        3 => {
            if let Some(l) = st::List::parse(arg) {
                assert_eq!(st::List::parse(&l.encode()), Some(l));
            }
        }
        _ => {
            if let Some(v) = listing::parse(arg) {
                assert!(v.iter().all(|s| !s.path.is_empty()));
                assert_eq!(listing::parse(&listing::encode(&v)), Some(v));
            }
        }
    }
}
