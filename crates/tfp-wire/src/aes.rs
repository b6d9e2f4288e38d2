//! GOAES's block cipher: AES-256-CBC (OpenSSL) applied unit by unit.
//!
//! What the reference server does on the wire (GoDjango-Development/TFProtocol
//! @21d5777, tfproto.c blk_sndbuf/blk_rcvbuf over OpenSSL 3; recorded in
//! doc/compatibility.md):
//! - every unit (a frame's header, its payload, each raw HPF/SUP value) is
//!   enciphered on its own with PKCS#7 padding, so `n` plaintext bytes take
//!   [`wire_len`]`(n)` bytes on the wire: `(n / 16 + 1) * 16`, and an empty unit
//!   takes none at all;
//! - every unit starts again from the IV sent with GOAES (OpenSSL 3 resets a CBC
//!   context to its original IV when it is re-initialised without one), so the IV
//!   never carries from one unit to the next;
//! - each direction has its own context made from the same key and IV.
//!
//! The types here never do I/O: the channel reads and writes the bytes and calls
//! them at unit boundaries. Decryption works in place on whole blocks, so the
//! channel can decipher a large payload straight in the caller's buffer.

use openssl::cipher::Cipher as EvpCipher;
use openssl::cipher_ctx::CipherCtx;

/// AES's block size.
pub const BLOCK: usize = 16;
/// GOAES's key length (AES-256), sent right after the command.
pub const KEY_LEN: usize = 32;
/// GOAES's IV length, sent right after the key.
pub const IV_LEN: usize = 16;

/// Bytes on the wire for a unit of `n` plaintext bytes. The reference's formula
/// (PKCS#7 always adds 1..=16 bytes); it agrees with the document's formula for
/// every `n` except exactly 16, where the document's 16 cannot hold a padded block.
pub fn wire_len(n: usize) -> usize {
    if n == 0 {
        0
    } else {
        (n / BLOCK + 1) * BLOCK
    }
}

/// Why a unit would not decipher.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AesError {
    /// OpenSSL refused an operation (context setup or update).
    Openssl,
    /// The last block's padding is not what the unit's length says: the peer
    /// uses another key or IV, or the stream is out of step.
    BadPadding,
}

impl std::fmt::Display for AesError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            AesError::Openssl => write!(f, "AES: OpenSSL error"),
            AesError::BadPadding => write!(f, "AES: bad padding (wrong key or IV?)"),
        }
    }
}

impl std::error::Error for AesError {}

impl From<openssl::error::ErrorStack> for AesError {
    fn from(_: openssl::error::ErrorStack) -> Self {
        AesError::Openssl
    }
}

/// The key and IV GOAES sets (one copy per direction).
#[derive(Clone)]
pub struct AesKey {
    key: [u8; KEY_LEN],
    iv: [u8; IV_LEN],
}

impl std::fmt::Debug for AesKey {
    /// Never print key material.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AesKey").finish_non_exhaustive()
    }
}

impl AesKey {
    /// From the 32 key bytes and 16 IV bytes the client sends.
    pub fn new(key: [u8; KEY_LEN], iv: [u8; IV_LEN]) -> AesKey {
        AesKey { key, iv }
    }
}

impl Drop for AesKey {
    fn drop(&mut self) {
        // best effort: the copy inside OpenSSL's context is cleansed by OpenSSL
        self.key.iter_mut().for_each(|b| *b = 0);
    }
}

/// One direction's enciphering state.
pub struct AesEncrypt {
    ctx: CipherCtx,
    key: AesKey,
}

impl std::fmt::Debug for AesEncrypt {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AesEncrypt").finish_non_exhaustive()
    }
}

impl AesEncrypt {
    /// A context for `key` (padding on: OpenSSL adds PKCS#7 at the unit's end).
    pub fn new(key: &AesKey) -> Result<AesEncrypt, AesError> {
        let mut ctx = CipherCtx::new()?;
        ctx.encrypt_init(Some(EvpCipher::aes_256_cbc()), Some(&key.key), Some(&key.iv))?;
        Ok(AesEncrypt { ctx, key: key.clone() })
    }

    /// Starts a unit: back to the original IV.
    pub fn begin_unit(&mut self) -> Result<(), AesError> {
        self.ctx.encrypt_init(None, None, Some(&self.key.iv))?;
        Ok(())
    }

    /// Enciphers the next `inlen` plaintext bytes at the start of `data` in place;
    /// `data` needs [`BLOCK`] bytes of room past `inlen`. Returns the ciphertext
    /// length written (whole blocks; the rest waits in the context).
    pub fn update_in_place(&mut self, data: &mut [u8], inlen: usize) -> Result<usize, AesError> {
        Ok(self.ctx.cipher_update_inplace(data, inlen)?)
    }

    /// Ends the unit: the last block (buffered bytes and padding) into `out`.
    /// Returns its length (always [`BLOCK`]).
    pub fn finish_unit(&mut self, out: &mut [u8; 2 * BLOCK]) -> Result<usize, AesError> {
        Ok(self.ctx.cipher_final(out)?)
    }

    /// Enciphers one whole unit into a new buffer (tests, GOAES's own checks).
    pub fn seal_unit(&mut self, plain: &[u8]) -> Result<Vec<u8>, AesError> {
        if plain.is_empty() {
            return Ok(Vec::new());
        }
        self.begin_unit()?;
        let mut out = plain.to_vec();
        out.resize(plain.len() + BLOCK, 0);
        let n = self.update_in_place(&mut out, plain.len())?;
        out.truncate(n);
        let mut last = [0u8; 2 * BLOCK];
        let k = self.finish_unit(&mut last)?;
        out.extend_from_slice(&last[..k]);
        debug_assert_eq!(out.len(), wire_len(plain.len()));
        Ok(out)
    }
}

/// One direction's deciphering state. Padding is checked here, not by OpenSSL,
/// so that whole blocks can be deciphered in place as they arrive.
pub struct AesDecrypt {
    ctx: CipherCtx,
    key: AesKey,
}

impl std::fmt::Debug for AesDecrypt {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AesDecrypt").finish_non_exhaustive()
    }
}

impl AesDecrypt {
    /// A context for `key`.
    pub fn new(key: &AesKey) -> Result<AesDecrypt, AesError> {
        let mut ctx = CipherCtx::new()?;
        ctx.decrypt_init(Some(EvpCipher::aes_256_cbc()), Some(&key.key), Some(&key.iv))?;
        ctx.set_padding(false);
        Ok(AesDecrypt { ctx, key: key.clone() })
    }

    /// Starts a unit: back to the original IV.
    pub fn begin_unit(&mut self) -> Result<(), AesError> {
        self.ctx.decrypt_init(None, None, Some(&self.key.iv))?;
        self.ctx.set_padding(false);
        Ok(())
    }

    /// Deciphers the first `inlen` bytes of `data` in place; `inlen` is a
    /// multiple of [`BLOCK`] and `data` has [`BLOCK`] bytes of room past it
    /// (OpenSSL's in-place contract).
    pub fn blocks_in_place(&mut self, data: &mut [u8], inlen: usize) -> Result<(), AesError> {
        debug_assert_eq!(inlen % BLOCK, 0);
        let n = self.ctx.cipher_update_inplace(data, inlen)?;
        if n != inlen {
            return Err(AesError::Openssl);
        }
        Ok(())
    }

    /// Deciphers one block.
    pub fn block(&mut self, block: &[u8; BLOCK]) -> Result<[u8; BLOCK], AesError> {
        let mut room = [0u8; 2 * BLOCK];
        room[..BLOCK].copy_from_slice(block);
        self.blocks_in_place(&mut room, BLOCK)?;
        let mut out = [0u8; BLOCK];
        out.copy_from_slice(&room[..BLOCK]);
        Ok(out)
    }

    /// Deciphers a whole unit of `n` plaintext bytes from its wire bytes.
    pub fn open_unit(&mut self, wire: &[u8], n: usize) -> Result<Vec<u8>, AesError> {
        if wire.len() != wire_len(n) {
            return Err(AesError::BadPadding);
        }
        if n == 0 {
            return Ok(Vec::new());
        }
        self.begin_unit()?;
        let mut out = wire.to_vec();
        out.resize(wire.len() + BLOCK, 0);
        self.blocks_in_place(&mut out, wire.len())?;
        out.truncate(wire.len());
        let data = n % BLOCK;
        let last: &[u8; BLOCK] = out[wire.len() - BLOCK..].try_into().map_err(|_| AesError::BadPadding)?;
        check_padding(last, data)?;
        out.truncate(n);
        Ok(out)
    }
}

/// Checks a unit's deciphered last block: `data` plaintext bytes (0..16) then
/// PKCS#7 padding, each pad byte equal to the pad's length. Both sides know the
/// unit's length, so the expected pad is known too.
pub fn check_padding(last: &[u8; BLOCK], data: usize) -> Result<(), AesError> {
    if data >= BLOCK {
        return Err(AesError::BadPadding);
    }
    let pad = (BLOCK - data) as u8;
    // no early exit: the same work whatever the bytes
    let bad = last[data..].iter().fold(0u8, |acc, &b| acc | (b ^ pad));
    if bad == 0 {
        Ok(())
    } else {
        Err(AesError::BadPadding)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Hex text to bytes (test vectors; the Noise tests use it too).
    pub(crate) fn hex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    fn nist_key() -> AesKey {
        // NIST SP 800-38A, F.2.5 CBC-AES256.Encrypt
        let k = hex("603deb1015ca71be2b73aef0857d77811f352c073b6108d72d9810a30914dff4");
        let iv = hex("000102030405060708090a0b0c0d0e0f");
        AesKey::new(k.try_into().unwrap(), iv.try_into().unwrap())
    }

    #[test]
    fn wire_lengths() {
        assert_eq!(wire_len(0), 0);
        assert_eq!(wire_len(1), 16);
        assert_eq!(wire_len(4), 16);
        assert_eq!(wire_len(15), 16);
        assert_eq!(wire_len(16), 32);
        assert_eq!(wire_len(17), 32);
        assert_eq!(wire_len(32), 48);
        assert_eq!(wire_len(524288), 524304);
    }

    /// The NIST vector's first two blocks, then one block of padding (16 × 0x10).
    #[test]
    fn nist_sp800_38a_cbc_aes256() {
        let plain = hex("6bc1bee22e409f96e93d7e117393172aae2d8a571e03ac9c9eb76fac45af8e51");
        let mut e = AesEncrypt::new(&nist_key()).unwrap();
        let wire = e.seal_unit(&plain).unwrap();
        assert_eq!(wire.len(), 48);
        assert_eq!(
            wire[..32],
            hex("f58c4c04d6e5f1ba779eabfb5f7bfbd69cfc4e967edb808d679f777bc6702c7d")[..]
        );
        let mut d = AesDecrypt::new(&nist_key()).unwrap();
        assert_eq!(d.open_unit(&wire, 32).unwrap(), plain);
    }

    /// The reference restarts every unit from the IV: the same plaintext twice
    /// gives the same ciphertext twice.
    #[test]
    fn every_unit_restarts_from_the_iv() {
        let mut e = AesEncrypt::new(&nist_key()).unwrap();
        let a = e.seal_unit(b"\0\0\0\x02").unwrap();
        let b = e.seal_unit(b"OK").unwrap();
        let c = e.seal_unit(b"\0\0\0\x02").unwrap();
        assert_eq!(a, c);
        assert_ne!(a, b);
        assert_eq!(e.seal_unit(b"").unwrap(), Vec::<u8>::new());
    }

    #[test]
    fn round_trip_every_length_around_blocks() {
        let mut e = AesEncrypt::new(&nist_key()).unwrap();
        let mut d = AesDecrypt::new(&nist_key()).unwrap();
        for n in [0usize, 1, 4, 15, 16, 17, 31, 32, 33, 100, 4096, 70_001] {
            let plain: Vec<u8> = (0..n).map(|i| (i * 7 + 3) as u8).collect();
            let wire = e.seal_unit(&plain).unwrap();
            assert_eq!(wire.len(), wire_len(n));
            assert_eq!(d.open_unit(&wire, n).unwrap(), plain, "n={n}");
        }
    }

    #[test]
    fn wrong_iv_or_length_is_refused() {
        let mut e = AesEncrypt::new(&nist_key()).unwrap();
        let wire = e.seal_unit(b"\0\0\0\x05").unwrap();
        let other = AesKey::new(nist_key().key, [9u8; IV_LEN]);
        let mut d = AesDecrypt::new(&other).unwrap();
        assert_eq!(d.open_unit(&wire, 4), Err(AesError::BadPadding));
        let mut d = AesDecrypt::new(&nist_key()).unwrap();
        assert_eq!(d.open_unit(&wire, 5), Err(AesError::BadPadding));
        assert_eq!(d.open_unit(&wire, 20), Err(AesError::BadPadding));
        assert_eq!(d.open_unit(&wire, 4).unwrap(), b"\0\0\0\x05");
    }

    #[test]
    fn debug_hides_key() {
        let k = AesKey::new([0x41; KEY_LEN], [0x42; IV_LEN]);
        assert!(!format!("{k:?}").contains("65"));
        assert!(!format!("{k:?}").contains("AAAA"));
    }
}
