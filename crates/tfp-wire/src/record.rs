//! The secure transport's records (doc/secure-transport.md): after the Noise
//! handshake ([`super::noise`]) every byte either way travels in records
//!
//! ```text
//! u32 length (big-endian) | AEAD(data | kind, ad = the 4 length bytes) | 16-byte tag
//! ```
//!
//! The nonce is each direction's record counter (Noise's CipherState), so a
//! record dropped, repeated or moved fails authentication at once; the length
//! is authenticated too, and bounded before anything is read. The kind byte goes
//! last, inside the encryption (as in TLS 1.3), so data can be enciphered where
//! it lies. A sender rekeys (Noise `Rekey`) after [`REKEY_AFTER`] bytes: it sends
//! an empty `Rekey` record, then uses the new key; the receiver follows when it
//! opens that record. A `Close` record ends the stream; a connection that ends
//! without one was truncated.
//!
//! Pure: no I/O. The channel's `NetStream` moves the bytes.

use super::noise::{CipherState, NoiseError, TAG};

/// The length field's size.
pub const HEADER: usize = 4;
/// Data bytes per record at most (the channel's slice: one record per write).
pub const MAX_DATA: usize = 64 * 1024;
/// A record's body (after the length) at most: data, the kind byte, the tag.
pub const MAX_BODY: usize = MAX_DATA + 1 + TAG;
/// A record's body at least: an empty record's kind byte and tag.
pub const MIN_BODY: usize = 1 + TAG;
/// Room [`Sealer::seal_into`] needs for `data` bytes: their record after an
/// empty `Rekey` record.
pub const fn seal_room(data: usize) -> usize {
    2 * HEADER + MIN_BODY + data + 1 + TAG
}
/// Bytes one key protects before the sender rekeys: far below AES-GCM's
/// per-key limits (RFC 8446 §5.5: about 2^38 bytes in full records) and
/// ChaCha20-Poly1305's, and rare enough to cost nothing (one empty record per GiB).
pub const REKEY_AFTER: u64 = 1 << 30;

/// What a record carries (its last plaintext byte).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Kind {
    /// Bytes of the TF protocol stream.
    Data = 0,
    /// The client's first record: the handshake hash, proving it holds the keys
    /// before the server acts on anything.
    Confirm = 1,
    /// The sender's next records use the rekeyed key (empty).
    Rekey = 2,
    /// The sender will send nothing more (empty).
    Close = 3,
}

impl Kind {
    fn from_byte(b: u8) -> Option<Kind> {
        match b {
            0 => Some(Kind::Data),
            1 => Some(Kind::Confirm),
            2 => Some(Kind::Rekey),
            3 => Some(Kind::Close),
            _ => None,
        }
    }
}

/// One direction's sending side.
pub struct Sealer {
    cs: CipherState,
    since_rekey: u64,
    rekey_after: u64,
}

impl Sealer {
    /// Seals with `cs`, rekeying every `rekey_after` bytes (tests use small values).
    pub fn new(cs: CipherState, rekey_after: u64) -> Sealer {
        Sealer {
            cs,
            since_rekey: 0,
            rekey_after: rekey_after.max(1),
        }
    }

    /// Appends a record carrying `data` (at most [`MAX_DATA`] bytes) to `out`,
    /// after a `Rekey` record when one is due. Sealing a `Rekey` record (empty)
    /// rekeys now: the record and the key move together, never one alone.
    pub fn seal(&mut self, kind: Kind, data: &[u8], out: &mut Vec<u8>) -> Result<(), NoiseError> {
        let at = out.len();
        out.resize(at + seal_room(data.len()), 0);
        let r = self.seal_into(kind, data, &mut out[at..]);
        out.truncate(at + *r.as_ref().unwrap_or(&0));
        r.map(|_| ())
    }

    /// Like [`Sealer::seal`], into `out` (at least [`seal_room`] bytes, reused
    /// from record to record so nothing is zeroed or copied first); returns how
    /// many bytes of it to send.
    pub fn seal_into(&mut self, kind: Kind, data: &[u8], out: &mut [u8]) -> Result<usize, NoiseError> {
        if data.len() > MAX_DATA || (kind == Kind::Rekey && !data.is_empty()) || out.len() < seal_room(data.len()) {
            return Err(NoiseError::Length);
        }
        let mut n = 0;
        if kind == Kind::Rekey || self.since_rekey >= self.rekey_after {
            n = self.seal_one(Kind::Rekey, &[], out)?;
            self.cs.rekey()?;
            self.since_rekey = 0;
            if kind == Kind::Rekey {
                return Ok(n);
            }
        }
        Ok(n + self.seal_one(kind, data, &mut out[n..])?)
    }

    fn seal_one(&mut self, kind: Kind, data: &[u8], out: &mut [u8]) -> Result<usize, NoiseError> {
        let body = data.len() + 1 + TAG;
        let hdr = (body as u32).to_be_bytes();
        out[..HEADER].copy_from_slice(&hdr);
        self.cs
            .seal_to(&hdr, data, &[kind as u8], &mut out[HEADER..HEADER + body])?;
        self.since_rekey += body as u64;
        Ok(HEADER + body)
    }

    /// Records sealed so far (for tests and the spec's vectors).
    pub fn counter(&self) -> u64 {
        self.cs.counter()
    }
}

/// One direction's receiving side.
pub struct Opener {
    cs: CipherState,
}

impl Opener {
    /// Opens with `cs`.
    pub fn new(cs: CipherState) -> Opener {
        Opener { cs }
    }

    /// The body length a header announces, refused outside
    /// [`MIN_BODY`]..=[`MAX_BODY`] before anything more is read.
    pub fn body_len(hdr: [u8; HEADER]) -> Result<usize, NoiseError> {
        let n = u32::from_be_bytes(hdr) as usize;
        if (MIN_BODY..=MAX_BODY).contains(&n) {
            Ok(n)
        } else {
            Err(NoiseError::Length)
        }
    }

    /// Like [`Opener::open`], deciphering the record's data straight into
    /// `out` (at least the data's length: the body's less 17): no copy after.
    /// On failure `out` holds unauthenticated bytes that must not be used.
    pub fn open_to(&mut self, hdr: [u8; HEADER], body: &[u8], out: &mut [u8]) -> Result<(Kind, usize), NoiseError> {
        if Opener::body_len(hdr)? != body.len() {
            return Err(NoiseError::Length);
        }
        let len = body.len() - 1 - TAG;
        let Some(out) = out.get_mut(..len) else {
            return Err(NoiseError::Length);
        };
        let mut k = [0u8; 1];
        self.cs.open_to(&hdr, body, out, &mut k)?;
        self.kind(k[0], len)
    }

    fn kind(&mut self, byte: u8, len: usize) -> Result<(Kind, usize), NoiseError> {
        let Some(kind) = Kind::from_byte(byte) else {
            return Err(NoiseError::Malformed);
        };
        match kind {
            Kind::Rekey | Kind::Close if len != 0 => return Err(NoiseError::Malformed),
            Kind::Rekey => self.cs.rekey()?,
            _ => {}
        }
        Ok((kind, len))
    }

    /// Checks and deciphers a record's body in place: its kind and the length
    /// of the data now at `body[..len]`. A `Rekey` record moves this side to
    /// the next key. Any failure ends the stream: the counter has moved.
    pub fn open(&mut self, hdr: [u8; HEADER], body: &mut [u8]) -> Result<(Kind, usize), NoiseError> {
        if Opener::body_len(hdr)? != body.len() {
            return Err(NoiseError::Length);
        }
        let n = self.cs.open_in_place(&hdr, body)?;
        let Some(i) = n.checked_sub(1) else {
            return Err(NoiseError::Malformed);
        };
        self.kind(body[i], i)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::noise::{Initiator, Responder, Suite, Transport};

    fn pair(suite: Suite) -> (Transport, Transport) {
        let mut m1 = Vec::new();
        let i = Initiator::start(suite, b"t", &[9; 32], b"", &mut m1, None).unwrap();
        let (r, _) = Responder::read(suite, b"t", &[9; 32], &m1).unwrap();
        let mut m2 = Vec::new();
        let rt = r.reply(b"", &mut m2, None).unwrap();
        let (_, it) = i.finish(&m2).unwrap();
        (it, rt)
    }

    /// Splits a byte stream into (header, body) records.
    fn records(mut wire: &[u8]) -> Vec<([u8; 4], Vec<u8>)> {
        let mut v = Vec::new();
        while !wire.is_empty() {
            let hdr: [u8; 4] = wire[..4].try_into().unwrap();
            let n = Opener::body_len(hdr).unwrap();
            v.push((hdr, wire[4..4 + n].to_vec()));
            wire = &wire[4 + n..];
        }
        v
    }

    fn open_all(o: &mut Opener, recs: &[([u8; 4], Vec<u8>)]) -> Result<Vec<(Kind, Vec<u8>)>, NoiseError> {
        let mut out = Vec::new();
        for (h, b) in recs {
            let mut b = b.clone();
            let (k, n) = o.open(*h, &mut b)?;
            out.push((k, b[..n].to_vec()));
        }
        Ok(out)
    }

    fn sample(s: &mut Sealer) -> Vec<u8> {
        let mut wire = Vec::new();
        s.seal(Kind::Data, b"first", &mut wire).unwrap();
        s.seal(Kind::Data, &[0xAB; MAX_DATA], &mut wire).unwrap();
        s.seal(Kind::Data, b"", &mut wire).unwrap();
        s.seal(Kind::Close, b"", &mut wire).unwrap();
        wire
    }

    #[test]
    fn records_round_trip_in_both_suites() {
        for suite in Suite::ALL {
            let (it, rt) = pair(suite);
            let mut s = Sealer::new(it.send, REKEY_AFTER);
            let mut o = Opener::new(rt.recv);
            let got = open_all(&mut o, &records(&sample(&mut s))).unwrap();
            assert_eq!(got.len(), 4);
            assert_eq!(got[0], (Kind::Data, b"first".to_vec()));
            assert_eq!(got[1].1.len(), MAX_DATA);
            assert_eq!(got[3], (Kind::Close, vec![]));
        }
    }

    #[test]
    fn tampering_dropping_repeating_and_reordering_all_fail() {
        let (it, rt) = pair(Suite::preferred());
        let mut s = Sealer::new(it.send, REKEY_AFTER);
        let recs = records(&sample(&mut s));
        let fresh = || Opener::new(rt.recv.clone_for_test());
        // as sent: fine
        assert!(open_all(&mut fresh(), &recs).is_ok());
        // a flipped bit anywhere in the body or the header
        for (i, (h, b)) in recs.iter().enumerate() {
            for pos in [0, b.len() / 2, b.len() - 1] {
                let mut t = recs.clone();
                t[i].1[pos] ^= 0x01;
                assert_eq!(
                    open_all(&mut fresh(), &t).err(),
                    Some(NoiseError::Auth),
                    "record {i} byte {pos}"
                );
            }
            let mut t = recs.clone();
            let mut hh = *h;
            hh[3] ^= 0x01;
            t[i].0 = hh;
            assert!(open_all(&mut fresh(), &t).is_err(), "header of record {i}");
        }
        // dropped, repeated, reordered
        let mut dropped = recs.clone();
        dropped.remove(1);
        assert!(open_all(&mut fresh(), &dropped).is_err());
        let mut repeated = recs.clone();
        repeated.insert(1, recs[0].clone());
        assert!(open_all(&mut fresh(), &repeated).is_err());
        let mut swapped = recs.clone();
        swapped.swap(0, 2);
        assert!(open_all(&mut fresh(), &swapped).is_err());
    }

    /// Opening into the caller's buffer gives what opening in place gives,
    /// and fails alike on a flipped bit.
    #[test]
    fn open_to_matches_open_in_place() {
        let (it, rt) = pair(Suite::ChaChaPoly);
        let mut s = Sealer::new(it.send, 200);
        let recs = records(&sample(&mut s));
        let want = open_all(&mut Opener::new(rt.recv.clone_for_test()), &recs).unwrap();
        let mut o = Opener::new(rt.recv.clone_for_test());
        let mut got = Vec::new();
        for (h, b) in &recs {
            let mut out = vec![0u8; MAX_DATA];
            let (k, n) = o.open_to(*h, b, &mut out).unwrap();
            got.push((k, out[..n].to_vec()));
        }
        assert_eq!(got, want);
        let mut o = Opener::new(rt.recv.clone_for_test());
        let mut bad = recs[0].1.clone();
        bad[2] ^= 4;
        assert_eq!(
            o.open_to(recs[0].0, &bad, &mut [0u8; MAX_DATA]).err(),
            Some(NoiseError::Auth)
        );
        // too small a buffer is refused before anything is deciphered
        let mut o = Opener::new(rt.recv.clone_for_test());
        assert_eq!(
            o.open_to(recs[0].0, &recs[0].1, &mut [0u8; 2]).err(),
            Some(NoiseError::Length)
        );
    }

    #[test]
    fn rekeying_is_followed_by_the_receiver() {
        let (it, rt) = pair(Suite::AesGcm);
        let mut s = Sealer::new(it.send, 100);
        let mut o = Opener::new(rt.recv);
        let mut wire = Vec::new();
        for i in 0..20u8 {
            s.seal(Kind::Data, &[i; 60], &mut wire).unwrap();
        }
        let got = open_all(&mut o, &records(&wire)).unwrap();
        let data: Vec<_> = got.iter().filter(|(k, _)| *k == Kind::Data).collect();
        let rekeys = got.iter().filter(|(k, _)| *k == Kind::Rekey).count();
        assert_eq!(data.len(), 20);
        assert!(rekeys >= 9, "{rekeys} rekeys");
        for (i, (_, d)) in data.iter().enumerate() {
            assert_eq!(*d, vec![i as u8; 60]);
        }
    }

    #[test]
    fn lengths_are_bounded_before_reading() {
        assert!(Opener::body_len(0u32.to_be_bytes()).is_err());
        assert!(Opener::body_len((MIN_BODY as u32 - 1).to_be_bytes()).is_err());
        assert!(Opener::body_len((MAX_BODY as u32 + 1).to_be_bytes()).is_err());
        assert!(Opener::body_len(u32::MAX.to_be_bytes()).is_err());
        assert_eq!(Opener::body_len((MAX_BODY as u32).to_be_bytes()), Ok(MAX_BODY));
        let (it, _) = pair(Suite::AesGcm);
        let mut s = Sealer::new(it.send, REKEY_AFTER);
        assert!(s.seal(Kind::Data, &vec![0; MAX_DATA + 1], &mut Vec::new()).is_err());
    }
}
