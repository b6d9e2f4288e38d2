//! The pre-encryption handshake checks (wire-notes §2.1, decisions.md), as pure
//! functions over frames so they are unit-tested without sockets.

use super::status::Failed;
use openssl::pkey::{Private, Public};
use openssl::rsa::{Padding, Rsa};

/// Bytes a client may send as its version string before we close (pre-auth bound).
pub const MAX_VERSION_FRAME: usize = 256;
/// Bytes a client may send as its hash (the reference's HASHLEN).
pub const MAX_HASH_FRAME: usize = 256;
/// Session-key bounds: 16 (KEYMIN) to 2048/8 − 42 (the OAEP-SHA1 limit).
pub const KEY_MIN: usize = 16;
/// See [`KEY_MIN`].
pub const KEY_MAX: usize = 214;

/// Checks the version frame against every accepted version string (the `proto`
/// lines: the version is a deployment's choice, not the document's number, so one
/// server may accept the strings its 2.4.1 and its 2.5.1 clients were set up with).
/// Like the reference, bytes after an embedded NUL are ignored; the comparison is
/// otherwise exact.
pub fn check_version<S: AsRef<str>>(frame: &[u8], accepted: &[S]) -> Result<(), Failed> {
    let s = frame.split(|&b| b == 0).next().unwrap_or_default();
    if accepted.iter().any(|p| s == p.as_ref().as_bytes()) {
        Ok(())
    } else {
        Err(Failed::IncompatibleProtocol)
    }
}

/// Decrypts the RSA-OAEP(SHA-1) session key and checks its length.
pub fn decrypt_session_key(rsa: &Rsa<Private>, frame: &[u8]) -> Result<Vec<u8>, Failed> {
    if frame.len() != rsa.size() as usize {
        return Err(Failed::BadRsaKey);
    }
    let mut out = vec![0u8; rsa.size() as usize];
    let n = rsa
        .private_decrypt(frame, &mut out, Padding::PKCS1_OAEP)
        .map_err(|_| Failed::BadRsaKey)?;
    out.truncate(n);
    if !(KEY_MIN..=KEY_MAX).contains(&out.len()) {
        return Err(Failed::BadRsaKey);
    }
    Ok(out)
}

/// Encrypts a session key for the server (the client side of the same step).
pub fn encrypt_session_key(rsa: &Rsa<Public>, key: &[u8]) -> Result<Vec<u8>, openssl::error::ErrorStack> {
    let mut out = vec![0u8; rsa.size() as usize];
    let n = rsa.public_encrypt(key, &mut out, Padding::PKCS1_OAEP)?;
    out.truncate(n);
    Ok(out)
}

/// Checks the hash frame; exact comparison in constant time, since the hash is a
/// shared secret of sorts.
pub fn check_hash(frame: &[u8], hash: &str) -> Result<(), Failed> {
    if ct_eq(frame, hash.as_bytes()) {
        Ok(())
    } else {
        Err(Failed::InvalidHash)
    }
}

pub use super::ct_eq;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_rules() {
        assert!(check_version(b"2.4.1", &["2.4.1"]).is_ok());
        assert!(check_version(b"2.4.1\0junk", &["2.4.1"]).is_ok());
        assert_eq!(check_version(b"2.4.2", &["2.4.1"]), Err(Failed::IncompatibleProtocol));
        assert_eq!(check_version(b"2.4.1 ", &["2.4.1"]), Err(Failed::IncompatibleProtocol));
        assert_eq!(check_version(b"", &["2.4.1"]), Err(Failed::IncompatibleProtocol));
        let both = ["2.4.1", "2.5.1"];
        assert!(check_version(b"2.4.1", &both).is_ok());
        assert!(check_version(b"2.5.1", &both).is_ok());
        assert_eq!(check_version(b"2.5", &both), Err(Failed::IncompatibleProtocol));
        assert_eq!(check_version(b"x", &[] as &[&str]), Err(Failed::IncompatibleProtocol));
    }

    #[test]
    fn rsa_round_trip_and_bounds() {
        let rsa = Rsa::generate(2048).unwrap();
        let public = Rsa::public_key_from_pem(&rsa.public_key_to_pem().unwrap()).unwrap();
        for len in [16usize, 40, 214] {
            let key: Vec<u8> = (0..len as u8).collect();
            let ct = encrypt_session_key(&public, &key).unwrap();
            assert_eq!(decrypt_session_key(&rsa, &ct).unwrap(), key);
        }
        let short = encrypt_session_key(&public, &[1u8; 8]).unwrap();
        assert_eq!(decrypt_session_key(&rsa, &short), Err(Failed::BadRsaKey));
        assert_eq!(decrypt_session_key(&rsa, &[0u8; 255]), Err(Failed::BadRsaKey));
        assert_eq!(decrypt_session_key(&rsa, &[0u8; 256]), Err(Failed::BadRsaKey));
        assert_eq!(decrypt_session_key(&rsa, &[0u8; 5000]), Err(Failed::BadRsaKey));
    }

    #[test]
    fn hash_exact() {
        assert!(check_hash(b"abc", "abc").is_ok());
        assert!(check_hash(b"abcd", "abc").is_err());
        assert!(check_hash(b"", "abc").is_err());
    }
}
