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
    /// `TFDPUTMANY 0 a`: archive batches (a tree copy with `-a`); tfd's
    /// `OK` also says whether the session may keep owners, and a server
    /// that takes archive batches takes plain ones.
    Archive,
    /// `TFDPUTMANY 0 x`: files that land with their attributes (`-X`,
    /// `-A`); tfd's `OK` also says the session's attribute scope.
    Attrs,
}

impl Which {
    /// The extension this command is.
    pub(crate) fn ext(self) -> Ext {
        match self {
            Which::Put => Ext::PutMany,
            Which::Get => Ext::GetMany,
            Which::Archive => Ext::Entries,
            Which::Attrs => Ext::LandAttrs,
        }
    }

    /// The command.
    pub(crate) fn command(self) -> &'static str {
        match self {
            Which::Put | Which::Archive | Which::Attrs => tfp_wire::batch::PUTMANY,
            Which::Get => tfp_wire::batch::GETMANY,
        }
    }

    /// The command's argument for its probe.
    fn probe_arg(self) -> &'static [u8] {
        match self {
            Which::Put | Which::Get => b"0",
            Which::Archive => b"0 a",
            Which::Attrs => b"0 x",
        }
    }

    /// The command's probe line, `cmd 0` (`TFDPUTMANY 0 a`).
    pub(crate) fn probe_line(self) -> &'static [u8] {
        match self {
            Which::Put => b"TFDPUTMANY 0",
            Which::Get => b"TFDGETMANY 0",
            Which::Archive => b"TFDPUTMANY 0 a",
            Which::Attrs => b"TFDPUTMANY 0 x",
        }
    }

    /// Tells the caps the answer to the probe: whether the session takes batches
    /// (plain ones: and directories in them, when the server says; archive
    /// ones: and plain ones, and whether it may keep owners when the server
    /// says).
    pub(crate) fn answered(self, c: &mut Client, st: &Status) -> Result<bool, Error> {
        let yes = matches!(st, Status::Ok(_));
        crate::caps::answered(c, self.ext(), yes)?;
        if let (Which::Put, Status::Ok(says)) = (self, st) {
            crate::caps::answered(c, Ext::BatchDirs, tfp_wire::batch::put::probe_dirs(says))?;
            crate::caps::answered(c, Ext::BatchModes, tfp_wire::batch::put::probe_modes(says))?;
        }
        if let (Which::Attrs, Status::Ok(says)) = (self, st) {
            let scope = tfp_wire::batch::put::probe_scope(says);
            // an OK that names no scope is no server of this extension
            crate::caps::answered(c, Ext::LandAttrs, scope.is_some())?;
            crate::caps::answered(c, Ext::AttrsAll, scope == Some(tfp_wire::xattr::Scope::All))?;
            return Ok(scope.is_some());
        }
        if let (Which::Archive, Status::Ok(says)) = (self, st) {
            crate::caps::answered(c, Ext::PutMany, true)?;
            if let Some(may) = tfp_wire::batch::put::probe_owners(says) {
                crate::caps::answered(c, Ext::Owners, may)?;
            }
        }
        Ok(yes)
    }

    /// Whether the probe is still to be asked on this session.
    pub(crate) fn unasked(self, c: &mut Client) -> bool {
        c.caps().get(self.ext()) == Known::Unknown
    }
}

/// Asks `TFDPUTMANY 0` or `TFDGETMANY 0` (a batch of no files) once per
/// session; the answer is remembered on the session, so it is never asked
/// again, and a session that said `OK` sends its batches without waiting
/// for the command's `OK`.
pub(crate) fn probe(c: &mut Client, which: Which) -> Result<bool, Error> {
    match c.caps().get(which.ext()) {
        Known::Unknown => {}
        known => return Ok(known == Known::Yes),
    }
    let st = c.call(which.command(), which.probe_arg())?;
    which.answered(c, &st)
}

/// Asks a new pool session the probe (in the background, while the
/// caller's session lists): the answer waits on the session, and a failed
/// session is told when it is used.
pub(crate) fn prime(c: &mut Client, which: Which) {
    let _ = probe(c, which);
}
