//! The 16 KiB operations of phase 2.

use super::floors::DiskFloor;
use super::rate::{ok, Rate};
use tfd_testkit::reply::Answer as _;
use tfp_client::replies::{AsStatus as _, Split as _};
use tfp_client::Client;

/// One small-file operation on the client's own file `c<i>/f` (`c<i>/u` for uploads).
/// Each client works in a directory of its own, as the users of a file server do:
/// 64 clients creating and renaming entries in one directory queue on that
/// directory's lock in the file system, whatever the server does.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum Small {
    Sndfile,
    Rcvfile,
    Put,
    Get,
    Sup,
    Sdown,
}

impl Small {
    pub(crate) const ALL: [Small; 6] = [
        Small::Sndfile,
        Small::Rcvfile,
        Small::Put,
        Small::Get,
        Small::Sup,
        Small::Sdown,
    ];

    pub(crate) fn name(self) -> &'static str {
        match self {
            Small::Sndfile => "SNDFILE",
            Small::Rcvfile => "RCVFILE",
            Small::Put => "PUT",
            Small::Get => "GET",
            Small::Sup => "SUP",
            Small::Sdown => "SDOWN",
        }
    }

    /// What the disk alone must do for this operation, for the uploads.
    pub(crate) fn disk_floor(self) -> Option<DiskFloor> {
        match self {
            Small::Sndfile | Small::Sup => Some(DiskFloor::Atomic),
            Small::Put => Some(DiskFloor::InPlace),
            Small::Rcvfile | Small::Get | Small::Sdown => None,
        }
    }

    /// This operation's rate among phase 2's, if it ran.
    pub(crate) fn rate_in(self, small: &[(Small, Rate)]) -> Option<&Rate> {
        small.iter().find(|(op, _)| *op == self).map(|(_, r)| r)
    }

    pub(crate) fn run(self, c: &mut Client, i: usize, data: &[u8]) -> Result<(), String> {
        let down = format!("c{i}/f");
        let up = format!("c{i}/u");
        let check_len = |n: usize| {
            if n == data.len() {
                Ok(())
            } else {
                Err(format!("{}: {n} bytes, not {}", self.name(), data.len()))
            }
        };
        match self {
            Small::Sndfile => ok(
                "SNDFILE",
                c.sndfile(up.as_bytes(), true, &mut &data[..], &mut |_| {}).status(),
            ),
            Small::Rcvfile => {
                let mut out = Vec::with_capacity(data.len());
                ok("RCVFILE", c.rcvfile(down.as_bytes(), false, &mut out).status())?;
                check_len(out.len())
            }
            Small::Put => match c
                .put(up.as_bytes(), 0, data.len() as i64, &mut &data[..], &mut |_| {})
                .split()
            {
                Ok(Ok(())) => Ok(()),
                other => Err(format!("PUT: {other:?}")),
            },
            Small::Get => {
                let mut out = Vec::with_capacity(data.len());
                match c
                    .get(down.as_bytes(), 0, data.len() as i64, &mut out, &mut |_| {})
                    .split()
                {
                    Ok(Ok(_)) => check_len(out.len()),
                    other => Err(format!("GET: {other:?}")),
                }
            }
            Small::Sup => match c.sup(up.as_bytes(), &mut &data[..]).answer() {
                Ok(0) => Ok(()),
                other => Err(format!("SUP: {other:?}")),
            },
            Small::Sdown => {
                let mut out = Vec::with_capacity(data.len());
                match c.sdown(down.as_bytes(), &mut out).done() {
                    Ok(true) => check_len(out.len()),
                    other => Err(format!("SDOWN: {other:?}")),
                }
            }
        }
    }
}
