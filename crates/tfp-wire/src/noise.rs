//! The key exchange of tfd's secure transport (doc/secure-transport.md): the
//! Noise Protocol Framework's `NNpsk0` pattern (Perrin, revision 34, §7.5 and
//! §9), with X25519, SHA-256 and either AES-256-GCM or ChaCha20-Poly1305:
//!
//! ```text
//! NNpsk0:
//!   -> psk, e
//!   <- e, ee
//! ```
//!
//! Why this pattern: the TF handshake already gives both sides a secret only the
//! holder of the server's RSA key can know (the session key); used as the
//! pre-shared key it authenticates the server, while the ephemeral X25519 pair
//! gives forward secrecy and makes every session's keys fresh, so a recorded
//! session cannot be replayed. We follow the published construction to the
//! letter (its own test vectors pass, see the tests) and invent nothing: every
//! primitive is OpenSSL's (X25519, HMAC-SHA256, SHA-256, the AEADs).
//!
//! Pure: no I/O. The channel moves the messages.

use openssl::cipher::{Cipher as EvpCipher, CipherRef};
use openssl::cipher_ctx::CipherCtx;
use openssl::derive::Deriver;
use openssl::pkey::{Id, PKey, Private};
use openssl::sha::Sha256;

/// Key, hash and DH output length (all 32 bytes in these suites).
pub const LEN: usize = 32;
/// The AEAD tag's length.
pub const TAG: usize = 16;
/// Message 1 with an empty payload: the initiator's public key and a tag.
pub const MSG_LEN: usize = LEN + TAG;

/// Mixed into the TFDSECURE handshake hash: binds it to this protocol and its
/// version. Here, not in the command, so the client and the server take the
/// protocol's constants from the one pure layer.
pub const PROLOGUE: &[u8] = b"TFDSECURE/1";
/// HKDF salt and info that turn the TF session key into Noise's pre-shared key
/// (any length in, 32 bytes out, kept apart from every other use of that key).
pub const PSK_SALT: &[u8] = b"tfd secure transport v1";
/// See [`PSK_SALT`].
pub const PSK_INFO: &[u8] = b"psk from the TF session key";

/// The pre-shared key both sides derive from the TF session key.
pub fn psk_from_session_key(key: &[u8]) -> Result<[u8; LEN], NoiseError> {
    hkdf_sha256(PSK_SALT, key, PSK_INFO)
}

/// The AEAD: AES-256-GCM where the CPU has AES instructions, ChaCha20-Poly1305
/// elsewhere (it is faster than AES in software and has no cache-timing leaks).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Suite {
    /// `Noise_NNpsk0_25519_AESGCM_SHA256`.
    AesGcm,
    /// `Noise_NNpsk0_25519_ChaChaPoly_SHA256`.
    ChaChaPoly,
}

impl Suite {
    /// Every suite, in tfd's order of preference when the hardware helps AES.
    pub const ALL: [Suite; 2] = [Suite::AesGcm, Suite::ChaChaPoly];

    /// The Noise protocol name (also the handshake's first hash input).
    pub fn protocol_name(self) -> &'static str {
        match self {
            Suite::AesGcm => "Noise_NNpsk0_25519_AESGCM_SHA256",
            Suite::ChaChaPoly => "Noise_NNpsk0_25519_ChaChaPoly_SHA256",
        }
    }

    /// The suite a protocol name stands for.
    pub fn from_name(name: &[u8]) -> Option<Suite> {
        Suite::ALL.into_iter().find(|s| s.protocol_name().as_bytes() == name)
    }

    /// The suite this machine runs fastest without timing leaks.
    pub fn preferred() -> Suite {
        if hardware_aes() {
            Suite::AesGcm
        } else {
            Suite::ChaChaPoly
        }
    }

    fn cipher(self) -> &'static CipherRef {
        match self {
            Suite::AesGcm => EvpCipher::aes_256_gcm(),
            Suite::ChaChaPoly => EvpCipher::chacha20_poly1305(),
        }
    }

    /// Noise §12: 32 zero bits, then the counter, big-endian for AESGCM and
    /// little-endian for ChaChaPoly.
    fn nonce(self, n: u64) -> [u8; 12] {
        let mut iv = [0u8; 12];
        match self {
            Suite::AesGcm => iv[4..].copy_from_slice(&n.to_be_bytes()),
            Suite::ChaChaPoly => iv[4..].copy_from_slice(&n.to_le_bytes()),
        }
        iv
    }
}

#[cfg(target_arch = "x86_64")]
fn hardware_aes() -> bool {
    std::arch::is_x86_feature_detected!("aes") && std::arch::is_x86_feature_detected!("pclmulqdq")
}

#[cfg(target_arch = "aarch64")]
fn hardware_aes() -> bool {
    std::arch::is_aarch64_feature_detected!("aes") && std::arch::is_aarch64_feature_detected!("pmull")
}

#[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
fn hardware_aes() -> bool {
    false
}

/// Why a handshake or record step failed. Every variant ends the session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NoiseError {
    /// A message or record did not authenticate (another key, or tampering).
    Auth,
    /// A message has the wrong length.
    Length,
    /// The peer's public key was unusable (e.g. a low-order point).
    BadKey,
    /// The counter ran out (never in practice: 2^64 records).
    NonceExhausted,
    /// A record authenticated but breaks the record layer's rules (its kind).
    Malformed,
    /// OpenSSL failed.
    Crypto(String),
}

impl std::fmt::Display for NoiseError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            NoiseError::Auth => write!(f, "authentication failed"),
            NoiseError::Length => write!(f, "bad message length"),
            NoiseError::BadKey => write!(f, "unusable public key"),
            NoiseError::NonceExhausted => write!(f, "nonce exhausted"),
            NoiseError::Malformed => write!(f, "malformed record"),
            NoiseError::Crypto(e) => write!(f, "openssl: {e}"),
        }
    }
}

impl std::error::Error for NoiseError {}

impl From<openssl::error::ErrorStack> for NoiseError {
    fn from(e: openssl::error::ErrorStack) -> Self {
        NoiseError::Crypto(e.to_string())
    }
}

/// HKDF's outputs (the third is zeros when only two are asked for).
type Outputs = ([u8; LEN], [u8; LEN], [u8; LEN]);

/// Noise's HKDF (§4.3): two or three outputs from the chaining key. Noise's
/// construction (HMAC(ck, ikm) as the temporary key, then HMAC(temp, 0x01),
/// HMAC(temp, out1 ‖ 0x02), ...) is exactly RFC 5869's HKDF with `ck` as the
/// salt and an empty info (the Noise specification says so), so OpenSSL's HKDF
/// computes it in one call.
fn hkdf(ck: &[u8; LEN], ikm: &[u8], three: bool) -> Result<Outputs, NoiseError> {
    let mut out = [0u8; 3 * LEN];
    let n = if three { 3 * LEN } else { 2 * LEN };
    hkdf_into(ck, ikm, &[], &mut out[..n])?;
    let mut o = ([0u8; LEN], [0u8; LEN], [0u8; LEN]);
    o.0.copy_from_slice(&out[..LEN]);
    o.1.copy_from_slice(&out[LEN..2 * LEN]);
    o.2.copy_from_slice(&out[2 * LEN..]);
    out.fill(0);
    Ok(o)
}

/// HKDF-SHA256 (RFC 5869, OpenSSL's implementation) filling `out`.
fn hkdf_into(salt: &[u8], ikm: &[u8], info: &[u8], out: &mut [u8]) -> Result<(), NoiseError> {
    use openssl::pkey_ctx::PkeyCtx;
    let mut ctx = PkeyCtx::new_id(Id::HKDF)?;
    ctx.derive_init()?;
    ctx.set_hkdf_md(openssl::md::Md::sha256())?;
    ctx.set_hkdf_salt(salt)?;
    ctx.set_hkdf_key(ikm)?;
    if !info.is_empty() {
        ctx.add_hkdf_info(info)?;
    }
    let n = ctx.derive(Some(out))?;
    if n != out.len() {
        return Err(NoiseError::Length);
    }
    Ok(())
}

/// A Noise CipherState (§5.1): a key and a counter. Holds one OpenSSL context
/// per direction of use, made on first use, so a record costs one IV setup
/// rather than a key schedule.
pub struct CipherState {
    suite: Suite,
    k: Option<[u8; LEN]>,
    n: u64,
    enc: Option<CipherCtx>,
    dec: Option<CipherCtx>,
}

impl Drop for CipherState {
    fn drop(&mut self) {
        if let Some(k) = self.k.as_mut() {
            k.fill(0);
        }
    }
}

impl CipherState {
    fn empty(suite: Suite) -> CipherState {
        CipherState {
            suite,
            k: None,
            n: 0,
            enc: None,
            dec: None,
        }
    }

    /// A state with key `k` and counter 0 (Noise `InitializeKey`).
    pub fn with_key(suite: Suite, k: [u8; LEN]) -> CipherState {
        let mut c = CipherState::empty(suite);
        c.set_key(k);
        c
    }

    fn set_key(&mut self, k: [u8; LEN]) {
        if let Some(old) = self.k.as_mut() {
            old.fill(0);
        }
        self.k = Some(k);
        self.n = 0;
        self.enc = None;
        self.dec = None;
    }

    /// A copy with the same key and counter (tests replay one stream twice).
    #[cfg(test)]
    pub fn clone_for_test(&self) -> CipherState {
        let mut c = CipherState::empty(self.suite);
        c.k = self.k;
        c.n = self.n;
        c
    }

    /// The suite.
    pub fn suite(&self) -> Suite {
        self.suite
    }

    /// The next nonce's counter.
    pub fn counter(&self) -> u64 {
        self.n
    }

    fn next_nonce(&mut self) -> Result<[u8; 12], NoiseError> {
        // 2^64-1 is reserved for rekeying (§5.1)
        if self.n == u64::MAX {
            return Err(NoiseError::NonceExhausted);
        }
        let iv = self.suite.nonce(self.n);
        self.n += 1;
        Ok(iv)
    }

    fn ctx(&mut self, encrypt: bool) -> Result<&mut CipherCtx, NoiseError> {
        let Some(k) = self.k else {
            return Err(NoiseError::Crypto("no key".into()));
        };
        let slot = if encrypt { &mut self.enc } else { &mut self.dec };
        if slot.is_none() {
            let mut c = CipherCtx::new()?;
            if encrypt {
                c.encrypt_init(Some(self.suite.cipher()), Some(&k), None)?;
            } else {
                c.decrypt_init(Some(self.suite.cipher()), Some(&k), None)?;
            }
            *slot = Some(c);
        }
        slot.as_mut().ok_or_else(|| NoiseError::Crypto("no context".into()))
    }

    /// Enciphers `data ‖ tail` into `out`, which must be exactly their length
    /// plus [`TAG`]: the ciphertext, then the tag (no copy of the plaintext
    /// first: OpenSSL reads it where it lies).
    pub fn seal_to(&mut self, ad: &[u8], data: &[u8], tail: &[u8], out: &mut [u8]) -> Result<(), NoiseError> {
        let len = data.len() + tail.len();
        if out.len() != len + TAG {
            return Err(NoiseError::Length);
        }
        let iv = self.next_nonce()?;
        let ctx = self.ctx(true)?;
        ctx.encrypt_init(None, None, Some(&iv))?;
        if !ad.is_empty() {
            ctx.cipher_update(ad, None)?;
        }
        let (body, tag) = out.split_at_mut(len);
        let (head, rest) = body.split_at_mut(data.len());
        let a = ctx.cipher_update(data, Some(head))?;
        let b = ctx.cipher_update(tail, Some(rest))?;
        let f = ctx.cipher_final(&mut [])?;
        if a + b + f != len {
            return Err(NoiseError::Crypto("short encryption".into()));
        }
        ctx.tag(tag)?;
        Ok(())
    }

    /// The decryption context set up for the next record: its nonce, `ad` and
    /// the tag to check at the end.
    fn begin_open(&mut self, ad: &[u8], tag: &[u8]) -> Result<&mut CipherCtx, NoiseError> {
        let iv = self.next_nonce()?;
        let ctx = self.ctx(false)?;
        ctx.decrypt_init(None, None, Some(&iv))?;
        if !ad.is_empty() {
            ctx.cipher_update(ad, None)?;
        }
        ctx.set_tag(tag)?;
        Ok(ctx)
    }

    /// Checks and deciphers `sealed` (ciphertext then a 16-byte tag) into
    /// `out` and `tail` (together exactly the plaintext's length), so the
    /// plaintext lands where the caller wants it without a copy. On failure
    /// both hold unauthenticated bytes that must not be used (the caller gets
    /// the error and ends the session), and the counter has moved.
    pub fn open_to(&mut self, ad: &[u8], sealed: &[u8], out: &mut [u8], tail: &mut [u8]) -> Result<(), NoiseError> {
        let Some(len) = sealed.len().checked_sub(TAG) else {
            return Err(NoiseError::Length);
        };
        if out.len() + tail.len() != len {
            return Err(NoiseError::Length);
        }
        let (body, tag) = sealed.split_at(len);
        let ctx = self.begin_open(ad, tag)?;
        let a = ctx.cipher_update(&body[..out.len()], Some(out))?;
        let b = ctx.cipher_update(&body[a..], Some(tail))?;
        let f = ctx.cipher_final(&mut []).map_err(|_| NoiseError::Auth)?;
        if a + b + f != len {
            return Err(NoiseError::Auth);
        }
        Ok(())
    }

    /// Checks and deciphers `buf` (ciphertext then a 16-byte tag) in place;
    /// returns the plaintext's length. On failure the buffer holds garbage and
    /// the counter has moved: the session must end.
    pub fn open_in_place(&mut self, ad: &[u8], buf: &mut [u8]) -> Result<usize, NoiseError> {
        let Some(len) = buf.len().checked_sub(TAG) else {
            return Err(NoiseError::Length);
        };
        let (body, tag) = buf.split_at_mut(len);
        let ctx = self.begin_open(ad, tag)?;
        let n = ctx.cipher_update_inplace(body, len)?;
        let f = ctx.cipher_final(&mut []).map_err(|_| NoiseError::Auth)?;
        if n + f != len {
            return Err(NoiseError::Auth);
        }
        Ok(len)
    }

    /// `EncryptWithAd`: the ciphertext and tag appended to `out`; with no key
    /// yet, the plaintext as it is (§5.1).
    pub fn encrypt_with_ad(&mut self, ad: &[u8], pt: &[u8], out: &mut Vec<u8>) -> Result<(), NoiseError> {
        if self.k.is_none() {
            out.extend_from_slice(pt);
            return Ok(());
        }
        let at = out.len();
        out.resize(at + pt.len() + TAG, 0);
        self.seal_to(ad, pt, &[], &mut out[at..])
    }

    /// `DecryptWithAd`.
    pub fn decrypt_with_ad(&mut self, ad: &[u8], ct: &[u8]) -> Result<Vec<u8>, NoiseError> {
        if self.k.is_none() {
            return Ok(ct.to_vec());
        }
        let mut buf = ct.to_vec();
        let n = self.open_in_place(ad, &mut buf)?;
        buf.truncate(n);
        Ok(buf)
    }

    /// `Rekey` (§4.2): the new key is the old one's encryption of 32 zero
    /// bytes under the reserved nonce 2^64-1, tag dropped. The counter goes on.
    pub fn rekey(&mut self) -> Result<(), NoiseError> {
        let Some(k) = self.k else {
            return Err(NoiseError::Crypto("no key".into()));
        };
        let mut c = CipherCtx::new()?;
        c.encrypt_init(Some(self.suite.cipher()), Some(&k), Some(&self.suite.nonce(u64::MAX)))?;
        let mut buf = [0u8; LEN];
        let n = c.cipher_update_inplace(&mut buf, LEN)?;
        if n != LEN {
            return Err(NoiseError::Crypto("short rekey".into()));
        }
        let counter = self.n;
        self.set_key(buf);
        self.n = counter;
        buf.fill(0);
        Ok(())
    }
}

/// Noise's SymmetricState (§5.2).
struct Symmetric {
    cs: CipherState,
    ck: [u8; LEN],
    h: [u8; LEN],
}

impl Drop for Symmetric {
    fn drop(&mut self) {
        self.ck.fill(0);
    }
}

impl Symmetric {
    fn new(suite: Suite, prologue: &[u8]) -> Symmetric {
        let name = suite.protocol_name().as_bytes();
        let mut h = [0u8; LEN];
        if name.len() <= LEN {
            h[..name.len()].copy_from_slice(name);
        } else {
            h = sha256(&[name]);
        }
        let mut s = Symmetric {
            cs: CipherState::empty(suite),
            ck: h,
            h,
        };
        s.mix_hash(prologue);
        s
    }

    fn mix_hash(&mut self, data: &[u8]) {
        self.h = sha256(&[&self.h, data]);
    }

    fn mix_key(&mut self, ikm: &[u8]) -> Result<(), NoiseError> {
        let (ck, k, _) = hkdf(&self.ck, ikm, false)?;
        self.ck = ck;
        self.cs.set_key(k);
        Ok(())
    }

    fn mix_key_and_hash(&mut self, ikm: &[u8]) -> Result<(), NoiseError> {
        let (ck, th, k) = hkdf(&self.ck, ikm, true)?;
        self.ck = ck;
        self.mix_hash(&th);
        self.cs.set_key(k);
        Ok(())
    }

    fn encrypt_and_hash(&mut self, pt: &[u8], out: &mut Vec<u8>) -> Result<(), NoiseError> {
        let at = out.len();
        let h = self.h;
        self.cs.encrypt_with_ad(&h, pt, out)?;
        let ct = out[at..].to_vec();
        self.mix_hash(&ct);
        Ok(())
    }

    fn decrypt_and_hash(&mut self, ct: &[u8]) -> Result<Vec<u8>, NoiseError> {
        let h = self.h;
        let pt = self.cs.decrypt_with_ad(&h, ct)?;
        self.mix_hash(ct);
        Ok(pt)
    }

    /// `Split`: the initiator's sending state first.
    fn split(&self) -> Result<(CipherState, CipherState), NoiseError> {
        let (k1, k2, _) = hkdf(&self.ck, &[], false)?;
        let s = self.cs.suite;
        Ok((CipherState::with_key(s, k1), CipherState::with_key(s, k2)))
    }
}

fn sha256(parts: &[&[u8]]) -> [u8; LEN] {
    let mut s = Sha256::new();
    for p in parts {
        s.update(p);
    }
    s.finish()
}

/// An X25519 key pair; `fixed` only for known-answer tests.
fn ephemeral(fixed: Option<&[u8; LEN]>) -> Result<PKey<Private>, NoiseError> {
    Ok(match fixed {
        Some(raw) => PKey::private_key_from_raw_bytes(raw, Id::X25519)?,
        None => PKey::generate_x25519()?,
    })
}

fn public(k: &PKey<Private>) -> Result<[u8; LEN], NoiseError> {
    k.raw_public_key()?.try_into().map_err(|_| NoiseError::BadKey)
}

fn dh(ours: &PKey<Private>, theirs: &[u8]) -> Result<[u8; LEN], NoiseError> {
    let peer = PKey::public_key_from_raw_bytes(theirs, Id::X25519).map_err(|_| NoiseError::BadKey)?;
    let mut d = Deriver::new(ours)?;
    d.set_peer(&peer).map_err(|_| NoiseError::BadKey)?;
    let v = d.derive_to_vec().map_err(|_| NoiseError::BadKey)?;
    // OpenSSL refuses an all-zero result; check anyway (Noise §12.1)
    if v.len() != LEN || v.iter().all(|&b| b == 0) {
        return Err(NoiseError::BadKey);
    }
    let mut out = [0u8; LEN];
    out.copy_from_slice(&v);
    Ok(out)
}

/// The keys a finished handshake gives one side.
pub struct Transport {
    /// For what this side sends.
    pub send: CipherState,
    /// For what this side receives.
    pub recv: CipherState,
    /// The handshake hash: both sides hold the same one (§11.2, channel binding).
    pub h: [u8; LEN],
}

/// The client's side.
pub struct Initiator {
    ss: Symmetric,
    e: PKey<Private>,
}

impl Initiator {
    /// Writes message 1 (`psk, e`, then `payload` enciphered) to `out`.
    pub fn start(
        suite: Suite,
        prologue: &[u8],
        psk: &[u8; LEN],
        payload: &[u8],
        out: &mut Vec<u8>,
        fixed_e: Option<&[u8; LEN]>,
    ) -> Result<Initiator, NoiseError> {
        let mut ss = Symmetric::new(suite, prologue);
        ss.mix_key_and_hash(psk)?;
        let e = ephemeral(fixed_e)?;
        let pubk = public(&e)?;
        out.extend_from_slice(&pubk);
        ss.mix_hash(&pubk);
        ss.mix_key(&pubk)?;
        ss.encrypt_and_hash(payload, out)?;
        Ok(Initiator { ss, e })
    }

    /// Reads message 2 (`e, ee`, payload): the payload and the transport keys.
    pub fn finish(mut self, msg: &[u8]) -> Result<(Vec<u8>, Transport), NoiseError> {
        if msg.len() < MSG_LEN {
            return Err(NoiseError::Length);
        }
        let (re, rest) = msg.split_at(LEN);
        self.ss.mix_hash(re);
        self.ss.mix_key(re)?;
        let mut shared = dh(&self.e, re)?;
        let r = self.ss.mix_key(&shared);
        shared.fill(0);
        r?;
        let payload = self.ss.decrypt_and_hash(rest)?;
        let (send, recv) = self.ss.split()?;
        Ok((
            payload,
            Transport {
                send,
                recv,
                h: self.ss.h,
            },
        ))
    }
}

/// The server's side.
pub struct Responder {
    ss: Symmetric,
    re: [u8; LEN],
}

impl Responder {
    /// Reads message 1; fails with [`NoiseError::Auth`] when the initiator's
    /// pre-shared key differs from ours.
    pub fn read(
        suite: Suite,
        prologue: &[u8],
        psk: &[u8; LEN],
        msg: &[u8],
    ) -> Result<(Responder, Vec<u8>), NoiseError> {
        if msg.len() < MSG_LEN {
            return Err(NoiseError::Length);
        }
        let mut ss = Symmetric::new(suite, prologue);
        ss.mix_key_and_hash(psk)?;
        let (re, rest) = msg.split_at(LEN);
        ss.mix_hash(re);
        ss.mix_key(re)?;
        let payload = ss.decrypt_and_hash(rest)?;
        let mut r = [0u8; LEN];
        r.copy_from_slice(re);
        Ok((Responder { ss, re: r }, payload))
    }

    /// Writes message 2 to `out` and returns the transport keys.
    pub fn reply(
        mut self,
        payload: &[u8],
        out: &mut Vec<u8>,
        fixed_e: Option<&[u8; LEN]>,
    ) -> Result<Transport, NoiseError> {
        let e = ephemeral(fixed_e)?;
        let pubk = public(&e)?;
        out.extend_from_slice(&pubk);
        self.ss.mix_hash(&pubk);
        self.ss.mix_key(&pubk)?;
        let mut shared = dh(&e, &self.re)?;
        let r = self.ss.mix_key(&shared);
        shared.fill(0);
        r?;
        self.ss.encrypt_and_hash(payload, out)?;
        let (recv, send) = self.ss.split()?;
        Ok(Transport {
            send,
            recv,
            h: self.ss.h,
        })
    }
}

/// HKDF-SHA256 (RFC 5869, OpenSSL's implementation): 32 bytes from `ikm`.
pub fn hkdf_sha256(salt: &[u8], ikm: &[u8], info: &[u8]) -> Result<[u8; LEN], NoiseError> {
    let mut out = [0u8; LEN];
    hkdf_into(salt, ikm, info, &mut out)?;
    Ok(out)
}

#[cfg(test)]
mod tests;
