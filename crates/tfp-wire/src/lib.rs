//! The protocol itself, free of I/O: cipher, frames, statuses, the handshake checks
//! and command splitting. Nothing here touches a socket or the filesystem, so all of
//! it is unit-tested and fuzzed on its own (fuzz/, a fuzz crate that links this one
//! alone).
//!
//! # The bottom floor
//!
//! This crate depends on no other crate of the workspace (its Cargo.toml has no
//! such dependency, dev-dependencies included: tests/security/house.rs keeps it
//! so), so no file of it can reach up: naming another crate of ours does not
//! compile. The examples below are compiled like a file of this crate (a doc-test
//! sees only the crate and its dependencies): its own items resolve,
//!
//! ```
//! use tfp_wire::Cipher as _;
//! ```
//!
//! and no other crate of the workspace does:
//!
//! ```compile_fail,E0432
//! use tfd_sys as _; // the system layer
//! ```
//!
//! ```compile_fail,E0432
//! use tfp_channel as _; // the byte stream
//! ```
//!
//! ```compile_fail,E0432
//! use tfp_client as _; // the client library
//! ```
//!
//! ```compile_fail,E0432
//! use tfd as _; // the daemon
//! ```

pub mod aes;
pub mod backup;
pub mod batch;
pub mod cipher;
pub mod command;
pub mod compress;
pub mod date;
pub mod delta;
pub mod entry;
pub mod escape;
pub mod fai;
pub mod features;
pub mod frame;
pub mod fstat;
pub mod handshake;
pub mod hex;
pub mod hostkey;
pub mod hpf;
pub mod keylogin;
pub mod link;
pub mod listing_end;
pub mod mode;
pub mod netlock;
pub mod noise;
pub mod prove;
pub mod proxy;
pub mod record;
pub mod same;
pub mod secfs;
pub mod session_end;
pub mod size;
pub mod sparse;
pub mod stage;
pub mod status;
pub mod udp;
pub mod uuid;
pub mod xattr;

pub use cipher::Cipher;

/// Length of the document's text form of a SHA-256 (SHA256, INTREAD, INTWRITE).
pub const SHA256_TEXT_LEN: usize = 66;

/// The document's text form of a SHA-256: `0x` and 64 lower-case hex digits.
pub fn sha256_text(digest: &[u8; 32]) -> [u8; SHA256_TEXT_LEN] {
    let mut out = [0u8; SHA256_TEXT_LEN];
    out[..2].copy_from_slice(b"0x");
    hex::encode_into(digest, &mut out[2..]);
    out
}

/// Equality of two secrets (the application hash, a password digest, a jail
/// token) in time that tells neither where they differ nor how long the
/// expected one is: both are hashed with SHA-256 and the digests compared with
/// OpenSSL's constant-time `CRYPTO_memcmp`. (A plain length check first would
/// tell a client the hash's length by how fast a wrong length is refused.)
pub fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    use sha2::{Digest, Sha256};
    openssl::memcmp::eq(&Sha256::digest(a), &Sha256::digest(b))
}
pub use frame::{FrameError, MAX_CHUNK, MAX_FRAME};
pub use status::{Code, Failed, Status};

#[cfg(test)]
mod tests {
    #[test]
    fn sha256_text_is_the_documents_form() {
        use sha2::{Digest, Sha256};
        let d: [u8; 32] = Sha256::digest(b"abc").into();
        assert_eq!(
            &super::sha256_text(&d)[..],
            b"0xba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert!(super::ct_eq(b"same", b"same"));
        assert!(!super::ct_eq(b"same", b"sam"));
    }
}
