//! TFDSECURE: tfd's upgrade to an authenticated, forward-secret transport
//! (doc/secure-transport.md). No reference server or client sends it; an older
//! server answers UNKNOWN and the client carries on in the legacy cipher.
//!
//! `TFDSECURE <Noise protocol name> <message 1>` (raw bytes after the space) →
//! `OK <message 2>`, both in the legacy cipher; from the next byte on, both
//! directions run in records ([`crate::wire::record`]) and the client's first
//! record must confirm the handshake hash before the server reads a command.

use super::{CmdResult, Reply};
use crate::channel::ChannelError;
use crate::session::Session;
use crate::wire::noise::{self, Responder, Suite};
use crate::wire::record::{Opener, Sealer, REKEY_AFTER};
use crate::wire::Failed;
use log::{info, warn};

/// Mixed into the handshake hash: binds it to this protocol and its version.
pub const PROLOGUE: &[u8] = b"TFDSECURE/1";
/// HKDF salt and info that turn the TF session key into Noise's pre-shared key
/// (any length in, 32 bytes out, kept apart from every other use of that key).
pub const PSK_SALT: &[u8] = b"tfd secure transport v1";
/// See [`PSK_SALT`].
pub const PSK_INFO: &[u8] = b"psk from the TF session key";

/// What a session keeps for a later TFDSECURE: the pre-shared key derived from
/// its session key (only the holder of the server's RSA key could learn that).
#[derive(Default)]
pub struct SecureState {
    psk: Option<[u8; noise::LEN]>,
}

impl Drop for SecureState {
    fn drop(&mut self) {
        self.forget();
    }
}

impl SecureState {
    /// Derives the pre-shared key from the session key the RSA step carried.
    pub fn from_session_key(key: &[u8]) -> SecureState {
        SecureState {
            psk: psk_from_session_key(key).ok(),
        }
    }

    fn forget(&mut self) {
        if let Some(p) = self.psk.as_mut() {
            p.fill(0);
        }
        self.psk = None;
    }
}

/// The pre-shared key both sides derive from the TF session key.
pub fn psk_from_session_key(key: &[u8]) -> Result<[u8; noise::LEN], noise::NoiseError> {
    noise::hkdf_sha256(PSK_SALT, key, PSK_INFO)
}

/// Answers FAILED and ends the session: a handshake message that does not
/// authenticate means someone tampers with the connection, and neither side
/// can trust it any more.
fn refuse(s: &mut Session, why: &str) -> CmdResult {
    warn!("{} TFDSECURE refused: {why}; closing", s.peer);
    s.chan.tx.send_frame(&Failed::Secure.to_wire())?;
    Ok(Reply::Close)
}

/// A request tfd cannot take (nothing was exchanged yet): FAILED, and the
/// session goes on as it was.
fn decline(s: &mut Session, why: &str) -> CmdResult {
    info!("{} TFDSECURE declined: {why}", s.peer);
    Err(Failed::Secure.into())
}

/// `TFDSECURE <protocol name> <message 1>`.
pub fn tfdsecure(s: &mut Session, arg: &[u8]) -> CmdResult {
    if s.ctx.cfg.secure_transport == crate::config::SecureTransport::Off {
        return Ok(Reply::Unknown);
    }
    if s.chan.tx.secure() {
        return decline(s, "already on");
    }
    if s.chan.tx.aes_on() {
        return decline(s, "GOAES is on (send TFPCRYPTO first)");
    }
    let Some((name, msg1)) = crate::wire::command::split_space(arg) else {
        return decline(s, "no handshake message");
    };
    let Some(suite) = Suite::from_name(name) else {
        return decline(s, "unknown protocol name");
    };
    let Some(psk) = s.secure.psk else {
        return decline(s, "no session key to bind to");
    };
    let resp = match Responder::read(suite, PROLOGUE, &psk, msg1) {
        Ok((r, _payload)) => r,
        Err(e) => {
            return refuse(
                s,
                &format!("message 1: {e} (another session key: tampered, or a man in the middle)"),
            )
        }
    };
    let mut msg2 = Vec::with_capacity(noise::MSG_LEN);
    let t = match resp.reply(b"", &mut msg2, None) {
        Ok(t) => t,
        Err(e) => return refuse(s, &format!("message 2: {e}")),
    };
    s.secure.forget();
    s.chan.tx.send_frame_parts(&[b"OK ", &msg2])?;
    s.chan.tx.start_sealing(Sealer::new(t.send, REKEY_AFTER));
    s.chan.rx.start_opening(Opener::new(t.recv), Some(t.h));
    info!("{} secure transport on ({})", s.peer, suite.protocol_name());
    Ok(Reply::Sent)
}

/// Ends a secure stream with its `Close` record (nothing otherwise).
pub fn close(s: &mut Session) -> Result<(), ChannelError> {
    s.chan.tx.send_close()
}
