//! GOAES/TFPCRYPTO and CIAON/CIAOFF: the 2.5.1 session layer beneath every
//! command. The channel does the work ([`tfp_channel`]); these commands only
//! move its switches, at the frame boundary the document sets in each direction.

use super::{CmdResult, Reply};
use crate::session::Session;
use log::{info, warn};
use tfp_wire::aes::{AesEncrypt, AesKey, IV_LEN, KEY_LEN};
use tfp_wire::{uuid, Failed};

/// `GOAES`, then a 32-byte key unit and a 16-byte IV unit (raw, in the current
/// cipher). The reply still goes in the current cipher; from the next unit on,
/// both directions run AES-256-CBC with the client's key and IV (decisions.md:
/// never the reference's all-zero key). The stream cipher's state waits beneath.
pub fn goaes(s: &mut Session, _arg: &[u8]) -> CmdResult {
    let mut key = [0u8; KEY_LEN];
    let mut iv = [0u8; IV_LEN];
    s.chan_mut().rx.recv_unit(&mut key)?;
    s.chan_mut().rx.recv_unit(&mut iv)?;
    let k = AesKey::new(key, iv);
    key.fill(0);
    // both contexts must exist before the OK: after it there is no way back
    if let Err(e) = AesEncrypt::new(&k) {
        warn!("{} GOAES: {e}", s.peer());
        return Err(Failed::Aes.into());
    }
    if let Err(e) = s.chan_mut().rx.set_aes(Some(&k)) {
        warn!("{} GOAES: {e}", s.peer());
        return Err(Failed::Aes.into());
    }
    s.chan_mut().tx.send_frame(b"OK")?;
    s.chan_mut().tx.set_aes(Some(&k))?;
    info!("{} GOAES: AES-256-CBC on", s.peer());
    Ok(Reply::Sent)
}

/// `TFPCRYPTO`: the reply still in AES, then both directions back to the stream
/// cipher with the state GOAES left (the document). Without AES on, just `OK`.
pub fn tfpcrypto(s: &mut Session, _arg: &[u8]) -> CmdResult {
    s.chan_mut().tx.send_frame(b"OK")?;
    if s.chan_mut().tx.aes_on() || s.chan_mut().rx.aes_on() {
        s.chan_mut().tx.set_aes(None)?;
        s.chan_mut().rx.set_aes(None)?;
        info!("{} TFPCRYPTO: back to the stream cipher", s.peer());
    }
    Ok(Reply::Sent)
}

/// `CIAON` → `OK <uuid>`: a fresh identity token (36 characters, from the OS
/// CSPRNG) that the client must send, as a unit of its own, before every unit
/// from the next one on; the reply itself carries none. Again: a new token.
/// A unit with a wrong or missing token ends the session without a reply, as
/// in the reference (its read fails and the connection closes); tfd logs it.
pub fn ciaon(s: &mut Session, _arg: &[u8]) -> CmdResult {
    let mut raw = [0u8; 16];
    getrandom::getrandom(&mut raw).map_err(|e| super::CmdError::Bare(format!("CIAON: no random bytes: {e}")))?;
    let token = uuid::v4_text(raw);
    s.chan_mut().tx.send_frame_parts(&[b"OK ", &token])?;
    s.chan_mut().rx.set_ident(Some(token));
    info!("{} CIAON: identity token on", s.peer());
    Ok(Reply::Sent)
}

/// `CIAOFF` → `OK`: no token from the next unit on (this command's own units
/// still carried it).
pub fn ciaoff(s: &mut Session, _arg: &[u8]) -> CmdResult {
    s.chan_mut().rx.set_ident(None);
    Ok(Reply::Ok)
}
