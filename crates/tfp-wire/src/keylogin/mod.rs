//! tfd's public-key login (doc/compatibility.md "Key login",
//! doc/secure-transport.md §10): the frames of both sides and the bytes the
//! client signs. Only over the secure transport, whose handshake hash the
//! signature is bound to.
//!
//! - `TFDKEY <user> <key>` ([`Offer`]): `<key>` an OpenSSH public key blob in
//!   Base64 (the middle word of an `authorized_keys` line), answered
//!   `OK <nonce>` ([`Challenge`], 64 hex digits) when the key may log in as
//!   `<user>` from here, else `FAILED 37`;
//! - `TFDKEYSIG <signature>` ([`parse_signature`]): an SSH signature blob in
//!   Base64 over [`signed_data`], answered as LOGIN is (`OK`, or `FAILED 37`).
//!
//! Every parser takes arbitrary bytes, never panics and decodes no more than
//! its bound; what it refuses the server answers `FAILED`.

pub mod blob;
pub mod line;
pub mod user_keys;

use base64ct::{Base64, Base64Unpadded, Encoding};
use sha2::{Digest, Sha256};

pub use blob::{BlobError, Curve, PublicKey, SigAlg, Signature};

/// The command that offers a key.
pub const OFFER: &str = "TFDKEY";
/// The command that carries the signature.
pub const SIGN: &str = "TFDKEYSIG";
/// The hash's answer on a single-user server whose `authorized_keys` lets in
/// only its keys: `OK`, as any client reads it, and a word that tells a client
/// to log in by key (TFDKEY, TFDKEYSIG) before any command.
pub const HASH_KEYS_ONLY: &[u8] = b"OK TFDKEY";
/// Bytes of the server's nonce.
pub const NONCE_LEN: usize = 32;
/// Bytes of the handshake hash the signature is bound to.
pub const BINDING_LEN: usize = 32;
/// The longest user name offered (the user file's names are shorter).
pub const MAX_USER: usize = 255;
/// Keys one connection may offer; the next offer closes it.
pub const MAX_OFFERS: u32 = 8;
/// What every signed value starts with: no other protocol's signed data
/// (SSH's user authentication starts with a 4-byte length, SSHSIG with
/// `SSHSIG`) begins so, so a signature made here is good nowhere else.
pub const DOMAIN: &[u8] = b"TFD key login v1\0";

/// A frame that breaks the grammar: the server answers `FAILED 16`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FrameError {
    /// A word is missing.
    Missing,
    /// A word is longer than its bound.
    TooLong,
    /// Not Base64 (or not hex, for a nonce).
    Encoding,
    /// The blob itself.
    Blob(BlobError),
}

impl std::fmt::Display for FrameError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FrameError::Missing => write!(f, "a word is missing"),
            FrameError::TooLong => write!(f, "a word is longer than its bound"),
            FrameError::Encoding => write!(f, "not Base64"),
            FrameError::Blob(e) => write!(f, "{e}"),
        }
    }
}

/// Decodes standard Base64 (padded, as OpenSSH writes it) of at most `max`
/// bytes, checking the length before decoding.
pub fn decode_b64(text: &[u8], max: usize) -> Result<Vec<u8>, FrameError> {
    if text.len() > max.div_ceil(3) * 4 {
        return Err(FrameError::TooLong);
    }
    let s = std::str::from_utf8(text).map_err(|_| FrameError::Encoding)?;
    Base64::decode_vec(s).map_err(|_| FrameError::Encoding)
}

/// Standard Base64, padded.
pub fn encode_b64(bytes: &[u8]) -> String {
    Base64::encode_string(bytes)
}

/// `TFDKEY <user> <key>`: a key offered for a user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Offer {
    /// The login name, as LOGIN's.
    pub user: Vec<u8>,
    /// The public key blob, parsed.
    pub key: PublicKey,
    /// The blob as sent (what is signed and compared).
    pub blob: Vec<u8>,
}

impl Offer {
    /// Parses TFDKEY's argument.
    pub fn parse(arg: &[u8]) -> Result<Offer, FrameError> {
        let (user, b64) = crate::command::split_space(arg).ok_or(FrameError::Missing)?;
        if user.is_empty() || b64.is_empty() {
            return Err(FrameError::Missing);
        }
        if user.len() > MAX_USER {
            return Err(FrameError::TooLong);
        }
        let blob = decode_b64(b64, blob::MAX_KEY_BLOB)?;
        let key = PublicKey::parse(&blob).map_err(FrameError::Blob)?;
        Ok(Offer {
            user: user.to_vec(),
            key,
            blob,
        })
    }

    /// The whole frame: `TFDKEY <user> <key>`.
    pub fn frame(user: &str, blob: &[u8]) -> Vec<u8> {
        format!("{OFFER} {user} {}", encode_b64(blob)).into_bytes()
    }
}

/// The server's `OK <nonce>` to an accepted offer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Challenge {
    /// Fresh random bytes of this offer.
    pub nonce: [u8; NONCE_LEN],
}

impl Challenge {
    /// The reply frame.
    pub fn frame(&self) -> Vec<u8> {
        format!("OK {}", crate::hex::encode(&self.nonce)).into_bytes()
    }

    /// Reads the reply frame; anything but `OK <64 hex digits>` is `None`.
    pub fn parse(reply: &[u8]) -> Option<Challenge> {
        let hex = reply.strip_prefix(b"OK ")?;
        if hex.len() != 2 * NONCE_LEN {
            return None;
        }
        let mut nonce = [0u8; NONCE_LEN];
        for (i, pair) in hex.chunks_exact(2).enumerate() {
            let s = std::str::from_utf8(pair).ok()?;
            nonce[i] = u8::from_str_radix(s, 16).ok()?;
        }
        Some(Challenge { nonce })
    }
}

/// TFDKEYSIG's argument: the signature blob, decoded (its type and length are
/// judged against the offered key by [`Signature::parse`]).
pub fn parse_signature(arg: &[u8]) -> Result<Vec<u8>, FrameError> {
    if arg.is_empty() {
        return Err(FrameError::Missing);
    }
    decode_b64(arg, blob::MAX_SIG_BLOB)
}

/// The whole frame: `TFDKEYSIG <signature>`.
pub fn signature_frame(sig_blob: &[u8]) -> Vec<u8> {
    format!("{SIGN} {}", encode_b64(sig_blob)).into_bytes()
}

/// What the client signs: [`DOMAIN`], then as SSH strings the secure
/// transport's handshake hash (this session alone: a server in the middle
/// runs another handshake, so has another hash), the user name, the server's
/// nonce (this offer alone) and the key blob.
pub fn signed_data(binding: &[u8; BINDING_LEN], user: &[u8], nonce: &[u8; NONCE_LEN], key_blob: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(DOMAIN.len() + 16 + BINDING_LEN + user.len() + NONCE_LEN + key_blob.len());
    out.extend_from_slice(DOMAIN);
    blob::put_string(&mut out, binding);
    blob::put_string(&mut out, user);
    blob::put_string(&mut out, nonce);
    blob::put_string(&mut out, key_blob);
    out
}

/// A key's fingerprint as `ssh-keygen -l` prints it: `SHA256:` and the
/// unpadded Base64 of the blob's SHA-256.
pub fn fingerprint(key_blob: &[u8]) -> String {
    format!("SHA256:{}", Base64Unpadded::encode_string(&Sha256::digest(key_blob)))
}

#[cfg(test)]
mod tests;
