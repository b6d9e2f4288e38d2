//! Which batch command (TFDPUTMANY, TFDGETMANY) a session has been asked
//! about and what it answered: below [`super::listing`], whose LSR carries
//! the probe, and [`super::batch`], which sends the batches.

use crate::Client;
use tfp_wire::Status;

/// Which batch command a session's flags are about.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Which {
    Put,
    Get,
}

impl Which {
    /// (answered UNKNOWN, answered OK) for this command.
    pub(crate) fn flags(self, c: &mut Client) -> (&mut bool, &mut bool) {
        match self {
            Which::Put => (&mut c.no_putmany, &mut c.putmany_ok),
            Which::Get => (&mut c.no_getmany, &mut c.getmany_ok),
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
        let (no, ok) = self.flags(c);
        match st {
            Status::Ok(_) => {
                *ok = true;
                true
            }
            _ => {
                *no = true;
                false
            }
        }
    }

    /// Whether the probe is still to be asked on this session.
    pub(crate) fn unasked(self, c: &mut Client) -> bool {
        let (no, ok) = self.flags(c);
        !*no && !*ok
    }
}
