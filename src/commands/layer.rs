//! GOAES and TFPCRYPTO: the 2.5.1 session layer's cipher switch. The channel does
//! the ciphering ([`crate::channel`]); these commands only move the switch, at the
//! frame boundary the document sets in each direction.

use super::{CmdResult, Reply};
use crate::session::Session;
use crate::wire::aes::{AesEncrypt, AesKey, IV_LEN, KEY_LEN};
use crate::wire::Failed;
use log::{info, warn};

/// `GOAES`, then a 32-byte key unit and a 16-byte IV unit (raw, in the current
/// cipher). The reply still goes in the current cipher; from the next unit on,
/// both directions run AES-256-CBC with the client's key and IV (decisions.md:
/// never the reference's all-zero key). The stream cipher's state waits beneath.
pub fn goaes(s: &mut Session, _arg: &[u8]) -> CmdResult {
    let mut key = [0u8; KEY_LEN];
    let mut iv = [0u8; IV_LEN];
    s.chan.rx.recv_unit(&mut key)?;
    s.chan.rx.recv_unit(&mut iv)?;
    let k = AesKey::new(key, iv);
    key.fill(0);
    // both contexts must exist before the OK: after it there is no way back
    if let Err(e) = AesEncrypt::new(&k) {
        warn!("{} GOAES: {e}", s.peer);
        return Err(Failed::Aes.into());
    }
    if let Err(e) = s.chan.rx.set_aes(Some(&k)) {
        warn!("{} GOAES: {e}", s.peer);
        return Err(Failed::Aes.into());
    }
    s.chan.tx.send_frame(b"OK")?;
    s.chan.tx.set_aes(Some(&k))?;
    info!("{} GOAES: AES-256-CBC on", s.peer);
    Ok(Reply::Sent)
}

/// `TFPCRYPTO`: the reply still in AES, then both directions back to the stream
/// cipher with the state GOAES left (the document). Without AES on, just `OK`.
pub fn tfpcrypto(s: &mut Session, _arg: &[u8]) -> CmdResult {
    s.chan.tx.send_frame(b"OK")?;
    if s.chan.tx.aes_on() || s.chan.rx.aes_on() {
        s.chan.tx.set_aes(None)?;
        s.chan.rx.set_aes(None)?;
        info!("{} TFPCRYPTO: back to the stream cipher", s.peer);
    }
    Ok(Reply::Sent)
}
