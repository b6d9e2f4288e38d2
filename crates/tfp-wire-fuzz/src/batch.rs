//! The bodies of targets `batch_put` and `batch_get`: the frames of
//! TFDPUTMANY and TFDGETMANY (`tfp_wire::batch`).

/// TFDPUTMANY's frames (`wire::batch::put`, and the trailer and end frame
/// both batches share): every parser takes any bytes, and whatever parses
/// encodes to a frame that parses to the same value (a header within its
/// bound, its flags in range (set mode 1, set mtime 2, a new file's mode 4)
/// and its path not empty).
pub fn batch_put(data: &[u8]) {
    use tfp_wire::batch::put::{probe_dirs, AttrsHead, DirHead, Failure, FileHead, PutMany, Stored, MAX_HEADER};
    use tfp_wire::batch::{is_end, Trailer, END};
    if let Some(c) = PutMany::parse(data) {
        assert_eq!(PutMany::parse(&c.encode()), Some(c));
        assert!(c.line().ends_with(&c.encode()));
    }
    if let Some(h) = FileHead::parse(data) {
        assert!(data.len() <= MAX_HEADER && !h.path.is_empty() && h.flags <= 7);
        assert!(h.encode().len() <= data.len());
        assert_eq!(FileHead::parse(&h.encode()), Some(h));
        assert_eq!(DirHead::parse(data), None);
    }
    if let Some(d) = DirHead::parse(data) {
        assert!(data.len() <= MAX_HEADER && !d.path.is_empty());
        assert_eq!(d.encode(), data);
        assert_eq!(DirHead::parse(&d.encode()), Some(d));
    }
    if let Some(a) = AttrsHead::parse(data) {
        assert!(data.len() <= AttrsHead::MAX);
        assert_eq!(a.encode().as_deref(), Some(data));
        assert_eq!(FileHead::parse(data), None);
    }
    let _ = probe_dirs(data);
    if let Some(t) = Trailer::parse(data) {
        assert_eq!(Trailer::parse(&t.encode()), Some(t));
    }
    if let Some(s) = Stored::parse(data) {
        assert_eq!(Stored::parse(&s.encode()), Some(s));
    }
    if let Some(f) = Failure::parse(data) {
        assert_eq!(Failure::parse(&f.encode()), Some(f));
    }
    assert_eq!(is_end(data), data == END);
}

/// TFDGETMANY's frames (`wire::batch::get`): every parser takes any bytes,
/// and whatever parses encodes to a frame that parses to the same value (a
/// packed file's bytes exactly the size it announces).
pub fn batch_get(data: &[u8]) {
    use tfp_wire::batch::get::{GetMany, Reply, Sent};
    use tfp_wire::batch::Trailer;
    if let Some(c) = GetMany::parse(data) {
        assert_eq!(GetMany::parse(&c.encode()), Some(c));
        assert!(c.line().ends_with(&c.encode()));
    }
    if let Some(r) = Reply::parse(data) {
        if let Reply::Packed { meta, data: bytes, .. } = &r {
            assert_eq!(bytes.len() as u64, meta.size);
        }
        // a squeezed file's block announces exactly its size, a packed one's
        if let Reply::Squeezed { meta, block, .. } = &r {
            let b = tfp_wire::compress::Block::parse(block, tfp_wire::batch::get::PACKED_MAX);
            assert!(b.is_ok_and(|b| b.len as u64 == meta.size));
        }
        assert_eq!(Reply::parse(&r.encode()), Some(r));
    }
    if let Some(t) = Trailer::parse(data) {
        assert_eq!(Trailer::parse(&t.encode()), Some(t));
    }
    if let Some(s) = Sent::parse(data) {
        assert_eq!(Sent::parse(&s.encode()), Some(s));
    }
}
