//! The bodies of tfd's protocol-level fuzz targets, one function per target: the
//! parsers of `tfp_wire`, the protocol crate, and nothing above it (this crate
//! depends on `tfp-wire` alone; the targets that need the daemon or the channel
//! are in `crates/tfd-fuzz-bodies/`). Shared by two drivers: the cargo-fuzz
//! targets in `fuzz/fuzz_targets/` (nightly, libFuzzer, coverage-guided) and the
//! stable driver `tests/fuzz_corpus.rs`, which has this crate as a dev-dependency
//! and runs every body over the stored corpus, the kept crash inputs and a
//! bounded stream of mutated inputs (see `scripts/fuzz`).
//!
//! Each body takes arbitrary bytes and must not panic on any of them. Beyond "no
//! panic" each one asserts the properties of its parser: round trips are stable
//! (decode → encode → decode) and encoders and decoders agree. A failed assertion
//! is a finding, exactly like a crash.
#![forbid(unsafe_code)]
#![allow(clippy::needless_range_loop)]

use tfp_wire::cipher::Cipher;
use tfp_wire::frame::{self, FrameError};
use tfp_wire::secfs::{self as sfs, Perms};
use tfp_wire::{command, hpf, MAX_FRAME};

mod backup;
mod batch;
mod delta;
mod features;
mod framed;
mod keylogin;
mod link;
mod listing_end;
mod listz;
mod prove;
pub mod reader;
mod same;
mod session_end;
mod stage;
mod user_keys;
mod xattr;

pub use backup::backup;
pub use batch::{batch_get, batch_put};
pub use delta::delta;
pub use features::features;
pub use framed::framed;
pub use keylogin::{host_key, keylogin};
pub use link::link;
pub use listing_end::listing_end;
pub use listz::listz;
pub use prove::prove;
use reader::Reader;
pub use same::same;
pub use session_end::session_end;
pub use stage::stage;
pub use user_keys::user_keys;
pub use xattr::xattr;

/// A target's body.
pub type Body = fn(&[u8]);

/// Every target by name, for drivers and scripts.
pub const TARGETS: &[(&str, Body)] = &[
    ("frame", frame),
    ("cipher", cipher),
    ("hpf", hpf),
    ("fstat", fstat),
    ("secfs", secfs),
    ("netlock", netlock),
    ("secure_record", secure_record),
    ("fai", fai),
    ("proxy", proxy),
    ("batch_put", batch_put),
    ("batch_get", batch_get),
    ("stage", stage),
    ("keylogin", keylogin),
    ("user_keys", user_keys),
    ("host_key", host_key),
    ("compress", compress),
    ("backup", backup),
    ("session_end", session_end),
    ("link", link),
    ("prove", prove),
    ("xattr", xattr),
    ("framed", framed),
    ("delta", delta),
    ("listz", listz),
    ("same", same),
    ("listing_end", listing_end),
    ("features", features),
];

/// Frame headers and the frame stream (wire-notes §1, §2.4).
///
/// - `decode_len` accepts exactly the lengths 0..=min(max, MAX_FRAME) and names the
///   reason for every refusal (negative vs too large);
/// - a receiver fed arbitrary encrypted bytes never panics and never reads a
///   payload above the bound in force;
/// - encode → decrypt → decode gives back every payload, with and without cipher.
pub fn frame(data: &[u8]) {
    let mut r = Reader::new(data);
    let hdr: [u8; 4] = r.array();
    let max = match r.u8() % 4 {
        0 => MAX_FRAME,
        1 => 4096,
        2 => usize::MAX,
        _ => r.u32() as usize,
    };
    let v = i32::from_be_bytes(hdr);
    let bound = max.min(MAX_FRAME);
    match frame::decode_len(hdr, max) {
        Ok(n) => assert!(v >= 0 && n == v as usize && n <= bound, "{v} accepted under {max}"),
        Err(FrameError::Negative(x)) => assert!(v < 0 && x == v),
        Err(FrameError::TooLarge { len, max: m }) => {
            assert!(
                v >= 0 && len == v && m == bound && v as usize > m,
                "{v} refused under {max}"
            )
        }
        Err(e) => panic!("unexpected frame error {e:?}"),
    }

    // a receiver over an arbitrary (encrypted) stream, as a session reads it
    let key = r.key();
    let small = 1 + usize::from(r.u8()) * 64;
    let stream = r.rest();
    let mut rx = Cipher::new(&key);
    let mut pos = 0;
    while stream.len() - pos >= 4 {
        let mut h = [0u8; 4];
        h.copy_from_slice(&stream[pos..pos + 4]);
        rx.unpack(&mut h);
        pos += 4;
        match frame::decode_len(h, small) {
            Ok(n) => {
                assert!(n <= small);
                if stream.len() - pos < n {
                    break;
                }
                let mut payload = stream[pos..pos + n].to_vec();
                rx.unpack(&mut payload);
                pos += n;
            }
            Err(_) => break, // the connection closes
        }
    }

    // encode → decode round trip of payloads cut from the same bytes
    let mut payloads = Vec::new();
    let mut rest = stream;
    while !rest.is_empty() && payloads.len() < 64 {
        let n = usize::from(rest[0]).min(rest.len() - 1);
        payloads.push(&rest[1..1 + n]);
        rest = &rest[1 + n..];
    }
    for cipher in [false, true] {
        let mut tx = Cipher::new(&key);
        let mut rx = Cipher::new(&key);
        let mut wire = Vec::new();
        for p in &payloads {
            frame::encode_frame(cipher.then_some(&mut tx), p, &mut wire);
        }
        let mut pos = 0;
        for p in &payloads {
            let mut h: [u8; 4] = wire[pos..pos + 4].try_into().expect("4 bytes");
            if cipher {
                rx.unpack(&mut h);
            }
            pos += 4;
            let n = frame::decode_len(h, MAX_FRAME).expect("own frame refused");
            assert_eq!(n, p.len());
            let mut body = wire[pos..pos + n].to_vec();
            if cipher {
                rx.unpack(&mut body);
            }
            assert_eq!(&body[..], *p);
            pos += n;
        }
        assert_eq!(pos, wire.len());
    }
}

/// The session cipher (wire-notes §2.2–2.4): for a key and a sequence of units,
/// - PACK then UNPACK with a twin state is the identity, unit after unit;
/// - cutting a unit into arbitrary slices (`pack_slice`/`unpack_slice`) gives the
///   same bytes and the same following state as one whole unit;
/// - a clone continues identically, and `rekey` equals a fresh cipher.
pub fn cipher(data: &[u8]) {
    let mut r = Reader::new(data);
    let key = r.key();
    let cuts = r.u8();
    let text = r.rest();
    let mut tx = Cipher::new(&key);
    let mut rx = Cipher::new(&key);
    let mut sliced_tx = Cipher::new(&key);
    let mut sliced_rx = Cipher::new(&key);
    let mut rest = text;
    let mut unit_no = 0u32;
    while !rest.is_empty() {
        // unit lengths cover 0, one key length, and longer than the key
        let n = (usize::from(rest[0]) * 3).min(rest.len() - 1);
        let plain = &rest[1..1 + n];
        rest = &rest[1 + n..];
        let mut whole = plain.to_vec();
        tx.pack(&mut whole);
        let mut sliced = plain.to_vec();
        let step = 1 + (usize::from(cuts) + unit_no as usize) % 97;
        let mut k = 0;
        for piece in sliced.chunks_mut(step) {
            sliced_tx.pack_slice(piece, &mut k);
        }
        assert_eq!(whole, sliced, "slicing changed the ciphertext");
        let mut back = whole.clone();
        rx.unpack(&mut back);
        assert_eq!(back, plain, "unpack(pack(x)) != x");
        let mut k = 0;
        for piece in sliced.chunks_mut(step + 1) {
            sliced_rx.unpack_slice(piece, &mut k);
        }
        assert_eq!(sliced, plain, "sliced unpack differs");
        unit_no += 1;
    }
    assert_eq!(tx.key_len(), key.len());
    // the states still agree: a clone continues identically, and PACK/UNPACK pair up
    let probe: Vec<u8> = (0..40u8).collect();
    let mut a = probe.clone();
    let mut b = probe.clone();
    tx.clone().pack(&mut a);
    sliced_tx.pack(&mut b);
    assert_eq!(a, b);
    rx.unpack(&mut a);
    assert_eq!(a, probe);
    // rekey is a fresh state from the new key (decisions.md, NIGMA)
    let new_key: Vec<u8> = key.iter().rev().copied().collect();
    tx.rekey(&new_key);
    let mut a = probe.clone();
    let mut b = probe.clone();
    tx.pack(&mut a);
    Cipher::new(&new_key).pack(&mut b);
    assert_eq!(a, b);
}

/// The HPF request struct (wire-notes §3.20): the path ends where the 16- or 24-byte
/// big-endian struct begins, counted from the end; any byte may appear in it.
/// parse → encode reproduces the argument (but for the separator byte, which the
/// server ignores), and encode → parse gives back every field.
pub fn hpf(data: &[u8]) {
    for can in [false, true] {
        let size = if can { 24 } else { 16 };
        match hpf::parse(data, can) {
            None => assert!(data.len() < size + 1, "a long enough request was refused"),
            Some(r) => {
                assert_eq!(r.path.len(), data.len() - size - 1);
                assert_eq!(r.path, &data[..r.path.len()]);
                assert_eq!(r.canpt.is_some(), can);
                let mut again = hpf::encode(r.path, r.offset, r.bufsz, r.canpt);
                again[r.path.len()] = data[r.path.len()];
                assert_eq!(again, data, "parse → encode is not the identity");
                assert_eq!(hpf::parse(&again, can), Some(r));
            }
        }
    }
    let mut rd = Reader::new(data);
    let offset = rd.u64();
    let bufsz = rd.u64() as i64;
    let canpt = rd.u64();
    let path = rd.rest();
    for can in [false, true] {
        let enc = hpf::encode(path, offset, bufsz, can.then_some(canpt));
        let r = hpf::parse(&enc, can).expect("own request refused");
        assert_eq!(
            (r.path, r.offset, r.bufsz, r.canpt),
            (path, offset, bufsz, can.then_some(canpt))
        );
        // inside a command frame, the split at the first space keeps the struct whole
        let mut line = if can { b"PUTCAN ".to_vec() } else { b"PUT ".to_vec() };
        line.extend_from_slice(&enc);
        let req = command::split(&line);
        assert_eq!(req.arg, &enc[..]);
        assert_eq!(hpf::parse(req.arg, can), Some(r));
    }
    hpf_compressed(data);
}

/// `TFDGETZ <choice> <path> <hpfile>` (`tfp_wire::compress::get`): any
/// bytes are a request or refused; a request is never `no`, and its
/// encoding reads back as the same request with GET's argument after the
/// choice.
fn hpf_compressed(data: &[u8]) {
    use tfp_wire::compress::{get, Choice};
    let Some((choice, r)) = get::parse(data) else {
        return;
    };
    assert_ne!(choice, Choice::Off);
    let again = get::encode(choice, r.path, r.offset, r.bufsz);
    assert_eq!(get::parse(&again), Some((choice, r.clone())));
    let part = get::hpf_part(data).expect("a request without GET's argument");
    assert_eq!(hpf::parse(part, false), Some(r));
    hpf_compressed_ranged(data);
}

/// `TFDGETCANZ <choice> <path> <hpfilecan>`: likewise, with GETCAN's
/// argument after the choice.
fn hpf_compressed_ranged(data: &[u8]) {
    use tfp_wire::compress::{get, Choice};
    let Some((choice, r)) = get::parse_can(data) else {
        return;
    };
    assert_ne!(choice, Choice::Off);
    let canpt = r.canpt.expect("a ranged request without its windows");
    let again = get::encode_can(choice, r.path, r.offset, r.bufsz, canpt);
    assert_eq!(get::parse_can(&again), Some((choice, r.clone())));
    let part = get::hpf_can_part(data).expect("a request without GETCAN's argument");
    assert_eq!(hpf::parse(part, true), Some(r));
}

/// FTYPE/FSTATLS answers (`tfp_wire::fstat`, wire-notes §8.3): any 26 bytes either
/// decode to a record whose encoding is exactly those bytes, or are refused with
/// the reason; every record tfd can build encodes to 26 bytes that decode back to
/// it; type bytes and modes map onto the document's values 0..=7.
pub fn fstat(data: &[u8]) {
    use tfp_wire::fstat::{FileType, RecordError, StatRecord, RECORD_LEN};
    match StatRecord::decode(data) {
        Ok(r) => {
            assert!(data.len() >= RECORD_LEN);
            assert_eq!(
                &r.encode()[..],
                &data[..RECORD_LEN],
                "decode → encode changed the bytes"
            );
        }
        Err(RecordError::Short(n)) => assert!(n < RECORD_LEN && n == data.len()),
        Err(RecordError::Code(c)) => assert!(!(-2..=0).contains(&c)),
        Err(RecordError::Type(t)) => assert!(data[0] == 0 && !(0..=7).contains(&t)),
        Err(RecordError::Padding) => assert!(data[1..RECORD_LEN].iter().any(|&b| b != 0)),
        Err(e) => panic!("unexpected {e:?}"),
    }
    let mut r = Reader::new(data);
    let mode = r.u32();
    let kind = FileType::from_mode(mode);
    assert!((0..=7).contains(&kind.code()));
    assert_eq!(FileType::from_code(kind.code()), Some(kind));
    let rec = StatRecord::Stat {
        kind,
        size: r.u64(),
        atime: r.u64(),
        mtime: r.u64(),
    };
    for rec in [rec, StatRecord::Fail, StatRecord::End] {
        let b = rec.encode();
        assert_eq!(StatRecord::decode(&b), Ok(rec));
    }
    // GENUUID's text from any 16 bytes has the v4 form
    let u = tfp_wire::uuid::v4_text(r.array());
    assert!(tfp_wire::uuid::is_v4_text(&u), "{}", String::from_utf8_lossy(&u));
}

/// TFPSFS metadata (as either server wrote it) and SETFSPERM's argument.
///
/// - any bytes parse; parse → write → parse is the identity and writing is stable;
/// - `set` leaves exactly one entry with the new mask, `remove` none;
/// - a permission granted for some bits is granted for every subset of them;
/// - an accepted SETFSPERM argument has a storable identity and reads back the
///   same when rebuilt from its parts.
pub fn secfs(data: &[u8]) {
    let mut r = Reader::new(data);
    let sel = r.u8();
    let bits = r.u32();
    let rest = r.rest();
    let p = Perms::parse(rest);
    let bytes = p.to_bytes();
    let again = Perms::parse(&bytes);
    assert_eq!(again, p, "{rest:?}");
    assert_eq!(again.to_bytes(), bytes);

    let id = rest.split(|&b| b == b'\n').next().unwrap_or(b"");
    let id = &id[..id.len().min(usize::from(sel))];
    let known = p.entries().next().map(|(i, _)| i.to_vec());
    for who in [Some(id), known.as_deref(), None] {
        if p.allows(who, bits) {
            assert!(p.allows(who, bits & 0x0f0f_0f0f), "subset refused");
            assert!(p.allows(who, 0));
        }
        if p.own_entry_allows(who, bits) {
            assert!(who.is_some());
        }
    }
    if sfs::storable_id(id) {
        let mut q = p.clone();
        q.set(id, bits);
        assert_eq!(q.get(id), Some(bits));
        assert_eq!(q.entries().filter(|(i, _)| *i == id).count(), 1);
        assert_eq!(Perms::parse(&q.to_bytes()), q);
        assert!(q.remove(id));
        assert_eq!(q.get(id), None);
    }

    match sfs::parse_setfsperm(rest) {
        Ok((id, mask, path)) => {
            assert!(sfs::storable_id(id));
            let rebuilt = [id, b":", mask.to_string().as_bytes(), b" ", path].concat();
            assert_eq!(sfs::parse_setfsperm(&rebuilt), Ok((id, mask, path)));
        }
        Err(sfs::ArgError::Missing) => assert!(!rest.contains(&b' ')),
        Err(_) => {}
    }
}

/// NETLOCK, NETUNLOCK and NETMUT arguments (the first byte picks the parser): what
/// is accepted is within its bounds and survives re-encoding unchanged.
pub fn netlock(data: &[u8]) {
    use tfp_wire::netlock as nl;
    let Some((&which, arg)) = data.split_first() else {
        return;
    };
    match which % 3 {
        0 => {
            if let Ok(a) = nl::parse_lock(arg) {
                assert!((1..=nl::MAX_TIMEOUT_MS).contains(&a.timeout_ms));
                assert!(!a.path.is_empty());
                let again = [nl::format_timeout(a.timeout_ms).as_bytes(), b" ", a.path].concat();
                assert_eq!(nl::parse_lock(&again), Ok(a));
            }
        }
        1 => {
            if let Ok(id) = nl::parse_id(arg, 8) {
                assert!(id < 8);
                assert_eq!(nl::parse_id(id.to_string().as_bytes(), 8), Ok(id));
            }
        }
        _ => {
            if let Ok(m) = nl::parse_mut(arg) {
                assert!(!m.path.is_empty() && !m.path.contains(&b' '));
                assert!(!m.token.is_empty() && m.token.len() <= nl::MAX_TOKEN && !m.token.contains(&0));
                let again = [m.path, b" ", m.token].concat();
                assert_eq!(nl::parse_mut(&again), Ok(m));
            }
        }
    }
}

/// The secure transport (doc/secure-transport.md): its handshake messages and
/// records.
///
/// - arbitrary bytes as TFDSECURE's message 1 never authenticate and never panic;
/// - arbitrary bytes cut into records by their length fields never open under a
///   key the input does not know, and never panic;
/// - records sealed from the input (data and kinds taken from it, rekeying every
///   few hundred bytes) open to the same data and kinds, and any one flipped bit
///   in them fails, as does a record dropped or repeated.
pub fn secure_record(data: &[u8]) {
    use tfp_wire::noise::{CipherState, Responder, Suite};
    use tfp_wire::record::{Kind as RKind, Opener, Sealer, HEADER, MAX_DATA};
    let mut r = Reader::new(data);
    let flags = r.u8();
    let suite = if flags & 1 == 1 {
        Suite::ChaChaPoly
    } else {
        Suite::AesGcm
    };
    let key = r.array::<32>();
    let cut = 1 + usize::from(r.u8()) * 3;
    let flip = usize::from(r.u8()) << 4 | usize::from(r.u8());
    let rest = r.rest();

    // message 1 from nowhere
    assert!(Responder::read(suite, b"TFDSECURE/1", &key, rest).is_err());

    // records from nowhere
    let mut o = Opener::new(CipherState::with_key(suite, key));
    let mut wire = rest;
    while wire.len() >= HEADER {
        let hdr: [u8; HEADER] = wire[..HEADER].try_into().unwrap();
        let Ok(n) = Opener::body_len(hdr) else { break };
        let Some(body) = wire.get(HEADER..HEADER + n) else {
            break;
        };
        let mut body = body.to_vec();
        assert!(o.open(hdr, &mut body).is_err(), "a forged record opened");
        wire = &wire[HEADER + n..];
    }

    // round trip
    let kinds = [RKind::Data, RKind::Data, RKind::Rekey, RKind::Data];
    let mut s = Sealer::new(CipherState::with_key(suite, key), 300);
    let mut sealed = Vec::new();
    let mut sent = Vec::new();
    for (i, chunk) in rest.chunks(cut.min(MAX_DATA)).enumerate() {
        let kind = kinds[(i + usize::from(chunk[0])) % kinds.len()];
        let payload: &[u8] = if kind == RKind::Rekey { &[] } else { chunk };
        s.seal(kind, payload, &mut sealed).unwrap();
        sent.push((kind, payload.to_vec()));
    }
    // None: the bytes do not cut into whole records
    let split = |mut w: &[u8]| -> Option<Vec<([u8; HEADER], Vec<u8>)>> {
        let mut v = Vec::new();
        while !w.is_empty() {
            let hdr: [u8; HEADER] = w.get(..HEADER)?.try_into().ok()?;
            let n = Opener::body_len(hdr).ok()?;
            v.push((hdr, w.get(HEADER..HEADER + n)?.to_vec()));
            w = &w[HEADER + n..];
        }
        Some(v)
    };
    let recs = split(&sealed).unwrap();
    let open_all = |recs: &[([u8; HEADER], Vec<u8>)]| -> Result<Vec<(RKind, Vec<u8>)>, ()> {
        let mut o = Opener::new(CipherState::with_key(suite, key));
        let mut got = Vec::new();
        for (h, b) in recs {
            let mut b = b.clone();
            let (k, n) = o.open(*h, &mut b).map_err(|_| ())?;
            if k != RKind::Rekey || n != 0 {
                got.push((k, b[..n].to_vec()));
            }
        }
        Ok(got)
    };
    let want: Vec<_> = sent.iter().filter(|(k, _)| *k != RKind::Rekey).cloned().collect();
    // the sealer's own rekey records are skipped by the receiver, as are the
    // input's (empty) ones
    let got = open_all(&recs).unwrap();
    assert_eq!(got, want);
    if !sealed.is_empty() {
        let mut t = sealed.clone();
        let at = flip % t.len();
        t[at] ^= 1 << (flip % 8);
        // a flipped length may no longer cut into records: that is a failure too
        let ok = split(&t).map(|r| open_all(&r));
        assert!(
            !matches!(ok, Some(Ok(ref g)) if *g == want),
            "a flipped bit went unnoticed"
        );
    }
    if recs.len() >= 2 {
        let mut dropped = recs.clone();
        dropped.remove(flip % recs.len());
        assert!(open_all(&dropped).is_err() || flip % recs.len() == recs.len() - 1);
        let mut repeated = recs.clone();
        let i = flip % recs.len();
        repeated.insert(i, recs[i].clone());
        assert!(open_all(&repeated).is_err());
    }
}

/// The Fast Access Interface's parsers: the `FAI://` entrance never yields a token
/// that could name another file, and records and FAITOK answers round-trip.
pub fn fai(data: &[u8]) {
    use tfp_wire::fai as f;
    let Some((&which, arg)) = data.split_first() else {
        return;
    };
    match which % 4 {
        0 => {
            if let Some(Ok(t)) = f::entrance(arg) {
                assert!(tfp_wire::uuid::is_v4_text(&t));
                assert!(!t.contains(&b'/') && !t.contains(&b'.'));
                assert!(arg.starts_with(f::PREFIX));
            }
        }
        1 => {
            if let Some(r) = f::Record::parse(arg) {
                assert!((f::KEY_MIN..=f::KEY_MAX).contains(&r.key.len()));
                assert_eq!(f::Record::parse(&r.encode()), Some(r));
            }
        }
        2 => {
            if let Some((exp, t, key)) = f::parse_faitok_reply(arg) {
                assert_eq!(
                    f::parse_faitok_reply(&f::faitok_reply(exp, &t, &key)),
                    Some((exp, t, key))
                );
            }
        }
        _ => {
            let max = u32::from(arg.first().copied().unwrap_or(0)) + 1;
            let m = f::minutes(arg.get(1..).unwrap_or_default(), max);
            assert!((1..=max).contains(&m));
        }
    }
}

/// The PROXY protocol header (`wire::proxy::parse`): never panics; a complete
/// header's length lies within the input and past the signature, parsing just
/// that prefix gives the same header (so the listener, which consumes exactly
/// it, never takes a client byte), any longer input gives it too, and encoding
/// the addresses it names parses back to them.
pub fn proxy(data: &[u8]) {
    use tfp_wire::proxy::{encode_v1, encode_v2, parse, Parsed, Version, V1_MAX, V2_MAX};
    match parse(data) {
        Ok(Parsed::Complete(h)) => {
            assert!(h.len <= data.len() && h.len >= 15, "{h:?}");
            assert!(h.len <= V1_MAX.max(V2_MAX));
            assert_eq!(parse(&data[..h.len]), Ok(Parsed::Complete(h)));
            let mut longer = data[..h.len].to_vec();
            longer.extend_from_slice(b"\0\0\0\x05");
            assert_eq!(parse(&longer), Ok(Parsed::Complete(h)));
            let again = match h.version {
                Version::V1 => encode_v1(h.addrs),
                Version::V2 => encode_v2(h.addrs),
            };
            match parse(&again) {
                Ok(Parsed::Complete(g)) => {
                    assert_eq!(g.addrs, h.addrs);
                    assert_eq!(g.len, again.len());
                }
                other => panic!("re-encoded {h:?} parsed as {other:?}"),
            }
        }
        Ok(Parsed::Incomplete) => assert!(data.len() < V2_MAX, "incomplete at {} bytes", data.len()),
        Err(_) => {}
    }
}

/// Compressed data blocks (`tfp_wire::compress`): a receiver fed any
/// sequence of blocks never panics, never holds more than the cap it gave
/// and accepts a block only if it decodes to exactly the announced length;
/// and the data itself, compressed by the encoder, decodes to itself.
///
/// Input: a cap (2 bytes), a window (1 byte), then blocks, each a 2-byte
/// length and that many bytes.
pub fn compress(data: &[u8]) {
    use tfp_wire::compress::{Block, Decoder, Encoder, MAX_DATA};
    let mut r = Reader::new(data);
    let cap = usize::from(u16::from_be_bytes(r.array::<2>())) * 8;
    let window = 10 + u32::from(r.u8() % 12);
    let Some(mut dec) = Decoder::new(window) else {
        return;
    };
    let mut out = Vec::new();
    loop {
        let n = usize::from(u16::from_be_bytes(r.array::<2>()));
        let frame = r.take(n);
        if frame.is_empty() {
            break;
        }
        let announced = Block::parse(frame, cap).map(|b| b.len);
        if dec.decode(frame, cap, &mut out).is_ok() {
            assert_eq!(Ok(out.len()), announced);
        }
        assert!(out.len() <= cap.min(MAX_DATA));
        assert!(
            out.capacity() <= 2 * cap.min(MAX_DATA) + 64,
            "{} for a cap of {cap}",
            out.capacity()
        );
    }
    let Some(mut enc) = Encoder::new(1 + i32::from(data.len() as u8 % 5), window) else {
        return;
    };
    let Some(mut fresh) = Decoder::new(window) else {
        return;
    };
    let mut frame = Vec::new();
    let input = &data[..data.len().min(MAX_DATA)];
    if enc.compress(input, &mut frame).is_ok() {
        fresh.decode(&frame, MAX_DATA, &mut out).expect("own block");
        assert_eq!(out, input);
    }
}
