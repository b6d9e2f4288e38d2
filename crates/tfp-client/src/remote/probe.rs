//! Which batch command (TFDPUTMANY, TFDGETMANY) a session is asked about,
//! and its answer kept in the session's [`crate::caps::Caps`]: below
//! [`super::listing`], whose LSR carries the probe, and [`crate::engine::upload::batch`],
//! which sends the batches.

use crate::caps::{Ext, Known};
use crate::{Client, Error};
use tfp_wire::Status;

/// Which batch command a probe is about.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Which {
    Put,
    Get,
}

impl Which {
    /// The extension this command is.
    pub(crate) fn ext(self) -> Ext {
        match self {
            Which::Put => Ext::PutMany,
            Which::Get => Ext::GetMany,
        }
    }

    /// The command.
    pub(crate) fn command(self) -> &'static str {
        match self {
            Which::Put => tfp_wire::batch::PUTMANY,
            Which::Get => tfp_wire::batch::GETMANY,
        }
    }

    /// The command's probe line, `cmd 0`.
    pub(crate) fn probe_line(self) -> &'static [u8] {
        match self {
            Which::Put => b"TFDPUTMANY 0",
            Which::Get => b"TFDGETMANY 0",
        }
    }

    /// Records the answer to the probe: whether the session takes batches.
    pub(crate) fn learn(self, c: &mut Client, st: &Status) -> bool {
        let yes = matches!(st, Status::Ok(_));
        c.caps.learn(self.ext(), yes);
        yes
    }

    /// Whether the probe is still to be asked on this session.
    pub(crate) fn unasked(self, c: &mut Client) -> bool {
        c.caps.get(self.ext()) == Known::Unknown
    }
}

/// Asks `TFDPUTMANY 0` or `TFDGETMANY 0` (a batch of no files) once per
/// session; the answer is remembered on the session, so it is never asked
/// again, and a session that said `OK` sends its batches without waiting
/// for the command's `OK`.
pub(crate) fn probe(c: &mut Client, which: Which) -> Result<bool, Error> {
    match c.caps.get(which.ext()) {
        Known::Unknown => {}
        known => return Ok(known == Known::Yes),
    }
    let st = c.call(which.command(), b"0")?;
    Ok(which.learn(c, &st))
}

/// Asks a new pool session the probe (in the background, while the
/// caller's session lists): the answer waits on the session, and a failed
/// session is told when it is used.
pub(crate) fn prime(c: &mut Client, which: Which) {
    let _ = probe(c, which);
}
