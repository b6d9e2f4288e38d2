//! The protocol itself, free of I/O: cipher, frames, statuses, the handshake checks
//! and command splitting. Nothing here touches a socket or the filesystem, so all of
//! it is unit-tested and fuzzed on its own. Depends on nothing else in the crate.
#![forbid(unsafe_code)]

pub mod aes;
pub mod cipher;
pub mod command;
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
pub use frame::{FrameError, MAX_CHUNK, MAX_FRAME};
pub use status::{Failed, Status};
