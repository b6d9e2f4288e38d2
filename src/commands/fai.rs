//! FAITOK and FAIMQ, the Fast Access Interface's commands (the entrance itself
//! is part of the handshake, [`crate::session`]).

use super::{CmdResult, Reply};
use crate::session::Session;
use log::{info, warn};
use tfp_wire::Failed;

/// `FAITOK <minutes>`: a token and its first key, valid for the minutes asked
/// (clamped to `fai_max_minutes`), bound to this session's user and jail. Once
/// per session, never for a root session (the issuer refuses uid 0 as well).
pub fn faitok(s: &mut Session, arg: &[u8]) -> CmdResult {
    let max = s.ctx().cfg.fai_max_minutes;
    let peer = s.peer();
    if max == 0 {
        info!("{peer} FAITOK refused: fai_max_minutes is 0");
        return Err(Failed::FaiInit.into());
    }
    if s.auth().fai_issued {
        info!("{peer} FAITOK refused: already used in this session");
        return Err(Failed::FaiInit.into());
    }
    if tfd_sys::geteuid() == 0 {
        info!("{peer} FAITOK refused: the session runs as root");
        return Err(Failed::FaiInit.into());
    }
    let minutes = tfp_wire::fai::minutes(arg, max);
    let login = (!s.state().single_user()).then_some(s.user());
    match s.ctx().services.fai.issue(minutes, login, s.state().jail()) {
        Ok(mut t) => {
            s.auth_mut().fai_issued = true;
            info!("{peer} FAITOK user={} valid {minutes} min", s.user());
            let reply = tfp_wire::fai::faitok_reply(t.expiry, &t.token, &t.key);
            t.key.fill(0);
            Ok(Reply::Data(reply))
        }
        Err(e) => {
            warn!("{peer} FAITOK failed: {e}");
            Err(Failed::FaiInit.into())
        }
    }
}

/// `FAIMQ`: the longest validity FAITOK grants, in minutes.
pub fn faimq(s: &mut Session, _arg: &[u8]) -> CmdResult {
    Ok(Reply::Data(s.ctx().cfg.fai_max_minutes.to_string().into_bytes()))
}
