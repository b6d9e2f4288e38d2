//! `TFDFEATURES` (tfd's own, doc/compatibility.md "Features"): what this
//! session may use of tfd's extensions, in one answer typed in
//! `tfp_wire::features`. The commands come from the table the session
//! dispatches through (the `TFD…` rows its gate lets in and its config
//! offers, [`crate::dispatch::Spec::offered`]), so a new row is advertised
//! with no list to keep beside it; the rest is what the probes of the
//! batch commands and TFDZSTD answer.

use super::{CmdResult, Reply};
use crate::session::Session;
use tfp_wire::features::{Batch, Features};

/// tfd's own commands start so; the protocol's never do.
const OWN: &str = "TFD";

/// What this session may use, as [`tfdfeatures`] tells it.
pub(crate) fn of(s: &Session) -> Features {
    let commands = s
        .ctx()
        .commands
        .iter()
        .filter(|r| r.name.starts_with(OWN) && (r.offered)(s) && s.admits(r))
        .map(|r| r.name.to_string())
        .collect();
    let offer = super::compress::offer(s);
    let framed = offer.is_some() && s.ctx().cfg.compression_framed;
    Features {
        commands,
        scope: Some(super::land::scope(s)),
        owners: super::putmany_archive::privileged(s),
        offer,
        putmany: Batch {
            dirs: true,
            modes: true,
            archive: true,
            attrs: true,
            framed,
        },
        getmany: Batch {
            archive: true,
            framed,
            ..Batch::default()
        },
    }
}

/// `TFDFEATURES` (no argument; one given is ignored, as a later client's
/// question may say more).
pub fn tfdfeatures(s: &mut Session, _arg: &[u8]) -> CmdResult {
    Ok(Reply::Data(of(s).encode()))
}
