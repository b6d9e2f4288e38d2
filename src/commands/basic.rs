//! ECHO and GENUUID.

use super::{CmdResult, Reply};
use crate::session::Session;
use log::error;
use tfp_wire::{uuid, Failed};

/// `ECHO <text>` → the text alone (what clients rely on; decisions.md).
pub fn echo(_s: &mut Session, arg: &[u8]) -> CmdResult {
    Ok(Reply::Frame(arg.to_vec()))
}

/// `GENUUID` → `OK <uuid>`: a random (version 4) UUID from the OS CSPRNG, in
/// lower-case text, as the reference's `uuid_generate_random`.
pub fn genuuid(s: &mut Session, _arg: &[u8]) -> CmdResult {
    let mut b = [0u8; 16];
    if let Err(e) = getrandom::getrandom(&mut b) {
        error!("{} GENUUID: no randomness: {e}", s.peer);
        return Err(Failed::Memory.into());
    }
    Ok(Reply::Data(uuid::v4_text(b).to_vec()))
}
