//! TFDSECURE: tfd's upgrade to an authenticated, forward-secret transport
//! (doc/secure-transport.md). No reference server or client sends it; an older
//! server answers UNKNOWN and the client carries on in the legacy cipher.
//!
//! `TFDSECURE <Noise protocol name> <message 1>` (raw bytes after the space) →
//! `OK <message 2>`, both in the legacy cipher; from the next byte on, both
//! directions run in records ([`tfp_wire::record`]) and the client's first
//! record must confirm the handshake hash before the server reads a command.

use super::{CmdResult, Reply};
use crate::session::Session;
use log::{info, warn};
use tfp_wire::noise::{self, Responder, Suite};
use tfp_wire::record::{Opener, Sealer, REKEY_AFTER};
use tfp_wire::Failed;

pub use tfp_wire::noise::{psk_from_session_key, PROLOGUE};

/// Answers FAILED and ends the session: a handshake message that does not
/// authenticate means someone tampers with the connection, and neither side
/// can trust it any more.
fn refuse(s: &mut Session, why: &str) -> CmdResult {
    warn!("{} TFDSECURE refused: {why}; closing", s.peer());
    s.chan_mut().tx.send_frame(&Failed::Secure.to_wire())?;
    Ok(Reply::Close)
}

/// A request tfd cannot take (nothing was exchanged yet): FAILED, and the
/// session goes on as it was.
fn decline(s: &mut Session, why: &str) -> CmdResult {
    info!("{} TFDSECURE declined: {why}", s.peer());
    Err(Failed::Secure.into())
}

/// Whether this server offers the secure transport (`secure_transport`
/// not `off`): TFDSECURE's row is there only then.
pub(crate) fn offered(s: &Session) -> bool {
    s.ctx().cfg.secure_transport != crate::config::SecureTransport::Off
}

/// `TFDSECURE <protocol name> <message 1>`.
pub(crate) fn tfdsecure(s: &mut Session, arg: &[u8]) -> CmdResult {
    if s.ctx().cfg.secure_transport == crate::config::SecureTransport::Off {
        return Ok(Reply::Unknown);
    }
    if s.chan().tx.secure() {
        return decline(s, "already on");
    }
    if s.chan_mut().tx.aes_on() {
        return decline(s, "GOAES is on (send TFPCRYPTO first)");
    }
    let Some((name, msg1)) = tfp_wire::command::split_space(arg) else {
        return decline(s, "no handshake message");
    };
    let Some(suite) = Suite::from_name(name) else {
        return decline(s, "unknown protocol name");
    };
    let Some(psk) = s.secure_mut().psk() else {
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
    s.secure_mut().forget();
    s.secure_mut().bind(t.h);
    s.chan_mut().tx.send_frame_parts(&[b"OK ", &msg2])?;
    s.chan_mut().tx.start_sealing(Sealer::new(t.send, REKEY_AFTER));
    s.chan_mut().rx.start_opening(Opener::new(t.recv), Some(t.h));
    info!("{} secure transport on ({})", s.peer(), suite.protocol_name());
    Ok(Reply::Sent)
}

#[cfg(test)]
mod tests {
    use super::*;
    use tfp_wire::noise::Initiator;
    use tfp_wire::record::Kind;

    fn hex(b: &[u8]) -> String {
        tfp_wire::hex::encode(b)
    }

    /// The known-answer block of doc/secure-transport.md, computed here from
    /// fixed inputs: the document's vectors are this code's output.
    fn vectors(suite: Suite) -> String {
        let session_key: Vec<u8> = (0u8..32).collect();
        let ie: [u8; 32] = std::array::from_fn(|i| 0x40 + i as u8);
        let re: [u8; 32] = std::array::from_fn(|i| 0x80 + i as u8);
        let psk = psk_from_session_key(&session_key).unwrap();
        let mut m1 = Vec::new();
        let init = Initiator::start(suite, PROLOGUE, &psk, b"", &mut m1, Some(&ie)).unwrap();
        let (resp, _) = Responder::read(suite, PROLOGUE, &psk, &m1).unwrap();
        let mut m2 = Vec::new();
        let st = resp.reply(b"", &mut m2, Some(&re)).unwrap();
        let (_, ct) = init.finish(&m2).unwrap();
        assert_eq!(ct.h, st.h);
        let mut cs = Sealer::new(ct.send, REKEY_AFTER);
        let mut confirm = Vec::new();
        cs.seal(Kind::Confirm, &ct.h, &mut confirm).unwrap();
        let mut echo = Vec::new();
        cs.seal(Kind::Data, b"\x00\x00\x00\x07ECHO hi", &mut echo).unwrap();
        let mut ss = Sealer::new(st.send, REKEY_AFTER);
        let mut reply = Vec::new();
        ss.seal(Kind::Data, b"\x00\x00\x00\x02hi", &mut reply).unwrap();
        let mut close = Vec::new();
        ss.seal(Kind::Close, b"", &mut close).unwrap();
        format!(
            "protocol      {}\nsession key   {}\ninitiator e   {}\nresponder e   {}\npsk           {}\nmessage 1     {}\nmessage 2     {}\nhandshake h   {}\nc->s confirm  {}\nc->s data     {}\ns->c data     {}\ns->c close    {}\n",
            suite.protocol_name(),
            hex(&session_key),
            hex(&ie),
            hex(&re),
            hex(&psk),
            hex(&m1),
            hex(&m2),
            hex(&ct.h),
            hex(&confirm),
            hex(&echo),
            hex(&reply),
            hex(&close),
        )
    }

    #[test]
    fn the_specs_vectors_are_this_codes_output() {
        let doc = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/doc/secure-transport.md")).unwrap();
        let missing: Vec<String> = Suite::ALL
            .into_iter()
            .map(vectors)
            .filter(|v| !doc.contains(v))
            .collect();
        assert!(
            missing.is_empty(),
            "doc/secure-transport.md lacks:\n{}",
            missing.join("\n")
        );
    }
}
