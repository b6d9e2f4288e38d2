//! The 2.5.1 commands whose answers are not one status frame: the streamed
//! listings (LSV2DOWN, LSRV2DOWN), the raw type and statistics units (FTYPE,
//! FTYPELS, FSTATLS); the integrity transfers are in [`crate::intrw`]. Each
//! reads exactly what the server sends, so the session stays in step for the
//! next command whatever the outcome.

use super::{Client, Error};
use tfp_wire::fstat::{FileType, StatRecord, RECORD_LEN, TYPE_END, TYPE_FAIL};
use tfp_wire::Status;

/// LSV2DOWN's end marker: the listing is complete.
const DOWN_DONE: i32 = -10;
/// LSV2DOWN's end marker: the server stopped early; what came is partial.
const DOWN_PARTIAL: i32 = -11;
/// Longest listing line accepted (a path; the server's own bound is far lower).
const MAX_LINE: i32 = 1 << 20;
/// Most FTYPELS/FSTATLS answers read before giving up on a server that never
/// sends the end marker (tfd stops at its `walk_limit`): 4 Mi answers, at most
/// 128 MiB of FSTATLS records held.
const MAX_ANSWERS: usize = 1 << 22;
/// A streamed listing: one path a line (a directory ends in `/`), in the
/// server's order, and whether the server listed everything.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listing {
    /// The lines, without their `\n`.
    pub lines: Vec<Vec<u8>>,
    /// False when the server ended with −11 (it hit a limit or an error).
    pub complete: bool,
}

/// One FTYPE/FTYPELS byte: a type, `None` for the server's −1.
fn type_of(command: &str, code: i8) -> Result<Option<FileType>, Error> {
    match FileType::from_code(code) {
        Some(t) => Ok(Some(t)),
        None if code == TYPE_FAIL => Ok(None),
        None => Err(Error::Protocol(format!(
            "{command}: type byte {code} is not the document's"
        ))),
    }
}

impl Client {
    /// `LSV2DOWN dir` (or `LSRV2DOWN` when `recursive`): the listing.
    pub fn lsv2down(&mut self, recursive: bool, dir: &[u8]) -> Result<Listing, Error> {
        let name = if recursive { "LSRV2DOWN" } else { "LSV2DOWN" };
        let first = self.raw(&[name.as_bytes(), b" ", dir].concat())?;
        if first != b"OK" {
            return Err(Error::refused(name, Status::parse(&first)));
        }
        let (mut lines, mut bytes) = (Vec::new(), 0usize);
        loop {
            let len = self.chan.rx.recv_i32()?;
            // an endless listing is broken off (and the session with it)
            // (a line's own allocation and its place in `lines` counted too)
            bytes += usize::try_from(len).unwrap_or(0) + 64;
            if bytes > super::tree::MAX_LISTING_BYTES {
                return Err(Error::Protocol(format!(
                    "the server's {name} listing is longer than {} MiB: broken off",
                    super::tree::MAX_LISTING_BYTES >> 20
                )));
            }
            match len {
                DOWN_DONE | DOWN_PARTIAL => {
                    return Ok(Listing {
                        lines,
                        complete: len == DOWN_DONE,
                    })
                }
                0..=MAX_LINE => {
                    let mut line = vec![0u8; len as usize];
                    self.chan.rx.recv_unit(&mut line)?;
                    if line.last() == Some(&b'\n') {
                        line.pop();
                    }
                    lines.push(line);
                }
                other => return Err(Error::Protocol(format!("{name}: line header {other}"))),
            }
        }
    }

    /// `FTYPE path`: what `path` names, or `None` when the server could not
    /// tell (no such path, outside the root, refused: its −1). A byte the
    /// document does not define is [`Error::Protocol`].
    pub fn ftype(&mut self, path: &[u8]) -> Result<Option<FileType>, Error> {
        self.chan.tx.send_frame(&[b"FTYPE ", path].concat())?;
        let mut b = [0u8; 1];
        self.chan.rx.recv_unit(&mut b)?;
        type_of("FTYPE", b[0] as i8)
    }

    /// `FTYPELS list`: one answer per line of the server-side file `list`,
    /// as [`Client::ftype`] gives it (none when the list cannot be read).
    pub fn ftypels(&mut self, list: &[u8]) -> Result<Vec<Option<FileType>>, Error> {
        self.chan.tx.send_frame(&[b"FTYPELS ", list].concat())?;
        let mut v = Vec::new();
        loop {
            let mut b = [0u8; 1];
            self.chan.rx.recv_unit(&mut b)?;
            if b[0] as i8 == TYPE_END {
                return Ok(v);
            }
            if v.len() >= MAX_ANSWERS {
                return Err(Error::Protocol("FTYPELS: no end marker".into()));
            }
            v.push(type_of("FTYPELS", b[0] as i8)?);
        }
    }

    /// `FSTATLS list`: one record per line of the server-side file `list`
    /// (none when it cannot be read); the end record is not included.
    pub fn fstatls(&mut self, list: &[u8]) -> Result<Vec<StatRecord>, Error> {
        self.chan.tx.send_frame(&[b"FSTATLS ", list].concat())?;
        let mut v = Vec::new();
        loop {
            let mut b = [0u8; RECORD_LEN];
            self.chan.rx.recv_unit(&mut b)?;
            let r = StatRecord::decode(&b).map_err(|e| Error::Protocol(format!("FSTATLS: bad record ({e:?})")))?;
            if r == StatRecord::End {
                return Ok(v);
            }
            if v.len() >= MAX_ANSWERS {
                return Err(Error::Protocol("FSTATLS: no end record".into()));
            }
            v.push(r);
        }
    }
}
