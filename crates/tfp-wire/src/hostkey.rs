//! The server's public key asked for before any handshake, so a client that
//! has none for a server can show its fingerprint and pin it on first use, as
//! ssh's known_hosts does (doc/compatibility.md "The server's key").
//!
//! - the client sends the frame `TFDHOSTKEY` ([`REQUEST`]) in place of the
//!   protocol version, in plaintext;
//! - tfd answers `OK <key>` ([`reply`]), `<key>` the RSA key as an OpenSSH
//!   public key blob (`ssh-rsa`, e, n: RFC 4253 §6.6) in Base64, and closes;
//!   a server without the command answers FAILED (a wrong version) and closes.
//!
//! The fingerprint ([`fingerprint`]) is the SHA-256 of that blob, in Base64
//! without padding, after `SHA256:`: what `ssh-keygen -lf` prints for the
//! same key. The reply is read with a bound ([`MAX_REPLY`]) and parsed
//! ([`parse_reply`]) from arbitrary bytes without panicking.

use crate::keylogin::{self, blob, PublicKey};

/// The request, in place of the version frame.
pub const REQUEST: &[u8] = b"TFDHOSTKEY";
/// The RSA size the TF handshake takes (the spec's 2048 bits, a 256-byte
/// ciphertext); a key of another size is refused.
pub const RSA_BITS: usize = 2048;
/// The longest reply frame read: `OK ` and the Base64 of the longest key
/// blob a parser takes.
pub const MAX_REPLY: usize = 3 + blob::MAX_KEY_BLOB.div_ceil(3) * 4;

/// Why a reply carries no usable key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReplyError {
    /// Not `OK …`: a server that does not know the request (its reply,
    /// escaped and cut to 80 bytes).
    NotOffered(String),
    /// `OK` and something that is not a key blob in Base64.
    Malformed(String),
    /// A key, but not an RSA key of [`RSA_BITS`]: its type and size.
    Unusable(&'static str, usize),
}

impl std::fmt::Display for ReplyError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ReplyError::NotOffered(r) => write!(f, "it answered {r}"),
            ReplyError::Malformed(why) => write!(f, "its key is malformed ({why})"),
            ReplyError::Unusable(t, bits) => {
                write!(
                    f,
                    "its key is {t} of {bits} bits, where the protocol takes RSA of {RSA_BITS}"
                )
            }
        }
    }
}

/// Whether a version frame is the request (bytes after a NUL ignored, as
/// for a version).
pub fn is_request(frame: &[u8]) -> bool {
    frame.split(|&b| b == 0).next() == Some(REQUEST)
}

/// The RSA key `(e, n)` (big-endian magnitudes) as an OpenSSH key blob.
pub fn rsa_blob(e: &[u8], n: &[u8]) -> Vec<u8> {
    PublicKey::Rsa {
        e: e.to_vec(),
        n: n.to_vec(),
    }
    .to_blob()
}

/// The server's answer to [`REQUEST`]: `OK <blob in Base64>`.
pub fn reply(key_blob: &[u8]) -> Vec<u8> {
    format!("OK {}", keylogin::encode_b64(key_blob)).into_bytes()
}

/// The key blob of a reply, checked to be an RSA key the handshake takes.
pub fn parse_reply(frame: &[u8]) -> Result<Vec<u8>, ReplyError> {
    let Some(text) = frame.strip_prefix(b"OK ") else {
        return Err(ReplyError::NotOffered(crate::escape::shown(
            &frame[..frame.len().min(80)],
        )));
    };
    let key_blob = keylogin::decode_b64(text, blob::MAX_KEY_BLOB).map_err(|e| ReplyError::Malformed(e.to_string()))?;
    let key = PublicKey::parse(&key_blob).map_err(|e| ReplyError::Malformed(e.to_string()))?;
    match &key {
        PublicKey::Rsa { .. } if key.bits() == RSA_BITS => Ok(key_blob),
        _ => Err(ReplyError::Unusable(key.type_name(), key.bits())),
    }
}

/// `SHA256:` and the Base64 (unpadded) of the SHA-256 of the key blob: what
/// `ssh-keygen -lf` prints for the same key.
pub fn fingerprint(key_blob: &[u8]) -> String {
    keylogin::fingerprint(key_blob)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(bits: u32) -> Vec<u8> {
        let rsa = openssl::rsa::Rsa::generate(bits).unwrap();
        rsa_blob(&rsa.e().to_vec(), &rsa.n().to_vec())
    }

    #[test]
    fn a_reply_round_trips_and_is_bounded() {
        let k = key(2048);
        let r = reply(&k);
        assert!(r.len() <= MAX_REPLY);
        assert_eq!(parse_reply(&r), Ok(k.clone()));
        assert!(fingerprint(&k).starts_with("SHA256:") && !fingerprint(&k).ends_with('='));
        assert!(is_request(b"TFDHOSTKEY") && is_request(b"TFDHOSTKEY\0x") && !is_request(b"2.4.1"));
    }

    #[test]
    fn what_is_not_a_2048_bit_rsa_key_is_refused() {
        let not = parse_reply(b"FAILED 2 : Incompatible protocol.\x1b[31m");
        assert!(matches!(not, Err(ReplyError::NotOffered(ref s)) if !s.contains('\x1b')));
        assert!(matches!(parse_reply(b"OK !!!"), Err(ReplyError::Malformed(_))));
        assert!(matches!(parse_reply(b"OK AAAA"), Err(ReplyError::Malformed(_))));
        let long = [b"OK ".as_slice(), &vec![b'A'; MAX_REPLY]].concat();
        assert!(matches!(parse_reply(&long), Err(ReplyError::Malformed(_))));
        assert_eq!(
            parse_reply(&reply(&key(3072))),
            Err(ReplyError::Unusable("ssh-rsa", 3072))
        );
        let mut ed = Vec::new();
        blob::put_string(&mut ed, b"ssh-ed25519");
        blob::put_string(&mut ed, &[7u8; 32]);
        assert_eq!(parse_reply(&reply(&ed)), Err(ReplyError::Unusable("ssh-ed25519", 256)));
    }
}
