//! The TF Protocol session cipher.
//!
//! A serial per-byte recurrence keyed by the session key (wire-notes §2.2–2.4). It is
//! not real cryptography — it has no MAC and is malleable — but every existing client
//! speaks it, so tfd reproduces it bit for bit. The one subtle rule: the key index
//! restarts at 0 on every *unit* (one send or receive call), so the caller must cut
//! the stream exactly where the peer does.

/// One direction's cipher state: the mutating key bytes and the 64-bit seed.
#[derive(Clone)]
pub struct Cipher {
    key: Vec<u8>,
    seed: i64,
}

impl std::fmt::Debug for Cipher {
    /// Never print key material, even in debug logs.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cipher")
            .field("key_len", &self.key.len())
            .finish_non_exhaustive()
    }
}

/// The seed is the first 8 key bytes read as a signed little-endian integer; the
/// reference does `*(int64_t*)key` on x86 and the Python client `unpack('<q')`.
fn seed_of(key: &[u8]) -> i64 {
    let mut b = [0u8; 8];
    let n = key.len().min(8);
    b[..n].copy_from_slice(&key[..n]);
    i64::from_le_bytes(b)
}

impl Cipher {
    /// A fresh state from a session key. Keys shorter than 8 bytes are zero-padded
    /// for the seed only; the handshake refuses keys below 16 bytes anyway.
    pub fn new(key: &[u8]) -> Cipher {
        assert!(!key.is_empty(), "cipher key must not be empty");
        Cipher {
            key: key.to_vec(),
            seed: seed_of(key),
        }
    }

    /// The current key length (the wrap point of the key index).
    pub fn key_len(&self) -> usize {
        self.key.len()
    }

    #[inline(always)]
    fn step(seed: i64) -> i64 {
        seed.wrapping_mul((seed >> 8) & 0xFFFF_FFFF)
            .wrapping_add((seed >> 40) & 0xFFFF)
    }

    /// Encrypts one unit in place (PACK).
    pub fn pack(&mut self, data: &mut [u8]) {
        self.unit::<true>(data, &mut 0)
    }

    /// Decrypts one unit in place (UNPACK).
    pub fn unpack(&mut self, data: &mut [u8]) {
        self.unit::<false>(data, &mut 0)
    }

    /// Encrypts the next slice of a unit; `k` is the unit's key index, 0 at the
    /// unit's start. Slicing a large unit lets the sender put bytes on the wire
    /// while it still encrypts the rest, so both peers' ciphers run at once.
    pub fn pack_slice(&mut self, data: &mut [u8], k: &mut usize) {
        self.unit::<true>(data, k)
    }

    /// Decrypts the next slice of a unit (see [`Cipher::pack_slice`]).
    pub fn unpack_slice(&mut self, data: &mut [u8], k: &mut usize) {
        self.unit::<false>(data, k)
    }

    /// The recurrence, monomorphised per direction so the hot loop has no branch
    /// on it.
    #[inline(always)]
    fn unit<const PACK: bool>(&mut self, data: &mut [u8], index: &mut usize) {
        let len = self.key.len();
        let mut seed = self.seed;
        let mut k = *index;
        for b in data.iter_mut() {
            if k == len {
                k = 0;
            }
            let top = (seed >> 56) as u8;
            *b = if PACK {
                (*b ^ self.key[k]).wrapping_add(top)
            } else {
                b.wrapping_sub(top) ^ self.key[k]
            };
            seed = Self::step(seed);
            if seed == 0 {
                seed = seed_of(&self.key);
            }
            self.key[k] = seed as u8;
            k += 1;
        }
        self.seed = seed;
        *index = k;
    }

    /// Replaces the key after NIGMA. Per decisions.md the seed is re-derived from
    /// the new key, as the Python and Java clients do.
    pub fn rekey(&mut self, key: &[u8]) {
        *self = Cipher::new(key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vector_key() -> Vec<u8> {
        (0u8..16).collect()
    }

    #[test]
    fn seed_is_signed_little_endian() {
        let c = Cipher::new(&vector_key());
        assert_eq!(c.seed, 0x0706050403020100);
        let c = Cipher::new(&[0xff; 16]);
        assert_eq!(c.seed, -1);
    }

    /// The test vector from wire-notes §2.3, checked against the C build.
    #[test]
    fn reference_vector_two_units() {
        let mut c = Cipher::new(&vector_key());
        let mut hdr = [0u8, 0, 0, 8];
        c.pack(&mut hdr);
        assert_eq!(hdr, [0x07, 0x33, 0xbf, 0xa6]);
        let mut body = *b"testhash";
        c.pack(&mut body);
        assert_eq!(body, [0x2f, 0x62, 0xd1, 0x02, 0x66, 0xc5, 0x7c, 0xf3]);
        assert_eq!(
            c.key,
            [0xf7, 0xf8, 0x76, 0x41, 0xc7, 0xb8, 0xd0, 0x02, 0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f]
        );
        assert_eq!(c.seed, 9196975375377721346);
    }

    #[test]
    fn unit_boundaries_matter() {
        let mut c = Cipher::new(&vector_key());
        let mut all = *b"\0\0\0\x08testhash";
        c.pack(&mut all);
        assert_eq!(&all[..8], &[0x07, 0x33, 0xbf, 0xa6, 0x2e, 0x9e, 0x4f, 0x09]);
    }

    #[test]
    fn round_trip_many_units_and_wrap() {
        let key: Vec<u8> = (0..17u8).map(|i| i.wrapping_mul(37).wrapping_add(5)).collect();
        let mut tx = Cipher::new(&key);
        let mut rx = Cipher::new(&key);
        for n in [0usize, 1, 16, 17, 18, 100, 4096] {
            let plain: Vec<u8> = (0..n).map(|i| (i * 7) as u8).collect();
            let mut buf = plain.clone();
            tx.pack(&mut buf);
            rx.unpack(&mut buf);
            assert_eq!(buf, plain);
        }
    }

    #[test]
    fn slices_equal_one_unit() {
        let key: Vec<u8> = (3u8..40).collect();
        let plain: Vec<u8> = (0..10_000u32).map(|i| (i * 31 % 251) as u8).collect();
        let mut whole = plain.clone();
        let mut a = Cipher::new(&key);
        a.pack(&mut whole);
        let mut sliced = plain.clone();
        let mut b = Cipher::new(&key);
        let mut k = 0;
        for piece in sliced.chunks_mut(333) {
            b.pack_slice(piece, &mut k);
        }
        assert_eq!(whole, sliced);
        let mut c = Cipher::new(&key);
        let mut k = 0;
        for piece in sliced.chunks_mut(1000) {
            c.unpack_slice(piece, &mut k);
        }
        assert_eq!(sliced, plain);
    }

    #[test]
    fn zero_key_is_identity() {
        let mut c = Cipher::new(&[0u8; 16]);
        let mut d = *b"hello";
        c.pack(&mut d);
        assert_eq!(&d, b"hello");
    }

    #[test]
    fn debug_hides_key() {
        let c = Cipher::new(b"supersecretkey!!");
        assert!(!format!("{c:?}").contains("supersecret"));
    }
}
