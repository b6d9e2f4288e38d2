//! The body of target `listz`: a compressed listing's command and frame
//! (`tfp_wire::compress::listing`), as a hostile client's command or a
//! hostile server's chunks.

use tfp_wire::compress::listing::{self as zlist, Unpacker};

/// The most text the body lets a frame decode to: a bound the receiver's
/// sink enforces, as tf's does with the plain listing's.
const BOUND: usize = 1 << 20;

/// No input panics; a command taken re-encodes to itself; any bytes cut
/// into chunks anywhere decode to at most the sink's bound (the sink's
/// refusal stops the decoder), and text packed and cut anywhere comes back
/// whole.
pub fn listz(data: &[u8]) {
    if let Some((choice, form, dir)) = zlist::parse(data) {
        let line = zlist::encode(choice, form, dir);
        assert_eq!(zlist::parse(&line[zlist::LISTZ.len() + 1..]), Some((choice, form, dir)));
    }
    let cut = data.first().map_or(1, |&b| usize::from(b) + 1);
    let mut u = Unpacker::new().expect("zstd memory");
    let mut got = 0usize;
    for chunk in data.chunks(cut) {
        let r = u.unpack(chunk, &mut |text| {
            got += text.len();
            if got > BOUND {
                Err(())
            } else {
                Ok(())
            }
        });
        if r.is_err() {
            break;
        }
    }
    assert!(got <= BOUND + (64 << 10));
    let mut p = zlist::Packer::new(1).expect("zstd memory");
    let mut wire = Vec::new();
    let pieces: Vec<&[u8]> = data.chunks(cut * 7).collect();
    for (i, piece) in pieces.iter().enumerate() {
        p.pack(piece, i + 1 == pieces.len(), &mut wire).expect("packs");
    }
    if pieces.is_empty() {
        p.pack(&[], true, &mut wire).expect("packs");
    }
    let mut u = Unpacker::new().expect("zstd memory");
    let mut back = Vec::new();
    for chunk in wire.chunks(cut) {
        u.unpack(chunk, &mut |t| {
            back.extend_from_slice(t);
            Ok(())
        })
        .expect("its own frame decodes");
    }
    u.finish().expect("its own frame ends");
    assert_eq!(back, data);
}
