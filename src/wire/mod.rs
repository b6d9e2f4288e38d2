//! The protocol itself, free of I/O: cipher, frames, statuses, the handshake checks
//! and command splitting. Nothing here touches a socket or the filesystem, so all of
//! it is unit-tested and fuzzed on its own. Depends on nothing else in the crate.
#![forbid(unsafe_code)]

pub mod aes;
pub mod cipher;
pub mod command;
pub mod date;
pub mod fai;
pub mod frame;
pub mod fstat;
pub mod handshake;
pub mod hpf;
pub mod netlock;
pub mod noise;
pub mod proxy;
pub mod record;
pub mod secfs;
pub mod status;
pub mod udp;
pub mod uuid;

pub use cipher::Cipher;

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
pub use status::{Failed, Status};
