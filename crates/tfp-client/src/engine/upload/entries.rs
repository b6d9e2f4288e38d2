//! What an archive copy makes on the server besides files' data: links,
//! FIFOs and sockets, a mode or an mtime changed alone, directories' modes
//! and mtimes once their contents are done — headers of one archive batch
//! (`TFDPUTMANY <n> a`, doc/compatibility.md "Archive copies") with no data,
//! answered per entry as a batch of files is.

use super::answer::{refusals, Refusal};
use crate::caps::{Ext, Known};
use crate::{Client, Error};
use tfp_wire::batch::{END, MAX_FILES};
use tfp_wire::entry::{Extra, Head, Mtime};
use tfp_wire::fstat::FileType;
use tfp_wire::Status;

/// One entry to make or change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Entry {
    /// What to make (`None`: what the path holds keeps its data and gets
    /// the attributes: a mode-only change).
    pub(crate) kind: Option<FileType>,
    /// The mode to give (never to a link).
    pub(crate) mode: Option<u32>,
    pub(crate) mtime: Option<Mtime>,
    pub(crate) path: Vec<u8>,
    /// A link's target, as text.
    pub(crate) target: Option<Vec<u8>>,
    /// Owner and group to give, numeric (a session run as root may).
    pub(crate) owner: Option<(u32, u32)>,
    /// A device's number.
    pub(crate) rdev: Option<u64>,
}

impl Entry {
    /// Its archive header.
    pub(crate) fn head(&self) -> Vec<u8> {
        let flag = |on: bool, f: u8| if on { f } else { 0 };
        Head {
            kind: self.kind,
            size: 0,
            flags: flag(self.mode.is_some(), Head::SET_MODE)
                | flag(self.mtime.is_some(), Head::SET_MTIME)
                | flag(self.owner.is_some(), Head::SET_OWNER),
            mode: self.mode.unwrap_or(0),
            mtime: self.mtime.unwrap_or_default(),
            extra: Extra {
                owner: self.owner,
                rdev: self.rdev,
                ..Extra::default()
            },
            path: &self.path,
            target: self.target.as_deref(),
        }
        .encode()
    }
}

/// Sends `entries` in archive batches on `c`, in order, and returns each
/// one's refusal (`None`: made). `Ok(None)` when the server takes no
/// archive batch (it has no TFDENTRIES).
pub(crate) fn send(c: &mut Client, entries: &[Entry]) -> Result<Option<Vec<Option<Refusal>>>, Error> {
    if c.caps().get(Ext::Entries) != Known::Yes {
        return Ok(None);
    }
    let mut out = Vec::with_capacity(entries.len());
    for part in entries.chunks(MAX_FILES as usize) {
        let line = tfp_wire::batch::put::PutMany::new(part.len() as u64, true).line();
        // the entries leave with the command, as a plain batch's files do
        // once its probe said OK: tfd answers a batch of at most MAX_FILES
        // `OK` before it reads any entry, and one it then cannot take is
        // still read to its end and failed entry by entry
        c.chan.tx.hold();
        c.chan.tx.send_frame(&line)?;
        for e in part {
            c.chan.tx.send_frame(&e.head())?;
        }
        c.chan.tx.send_frame(END)?;
        c.chan.tx.release()?;
        match Status::parse(&c.chan.rx.recv_frame()?) {
            Status::Ok(_) => {}
            st => {
                // a server that refused the command read the entries as
                // commands: nothing of this session can be trusted now
                return Err(Error::Protocol(format!(
                    "an archive batch was refused ({}) after its entries were sent",
                    crate::remote::listing::status_text(&st)
                )));
            }
        }
        let mut these: Vec<Option<Refusal>> = part.iter().map(|_| None).collect();
        for (i, refused) in refusals(c, part.len())? {
            these[i] = Some(refused);
        }
        out.extend(these);
    }
    Ok(Some(out))
}
