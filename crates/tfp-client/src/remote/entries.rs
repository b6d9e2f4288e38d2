//! TFDENTRIES (tfd's extension, doc/compatibility.md "Archive copies"): a
//! tree described whole for a copy that keeps what `rsync -a` keeps, in one
//! exchange: every entry's kind, size, mode, mtime to the nanosecond, owner
//! and a link's target, and the listed directory's own (`.`).

use super::listing::{hang_up, Bounded, Partial};
use super::zlisting::{self, Asked};
use crate::caps::Ext;
use crate::error::TooBig;
use crate::tree::names::{self, Refused};
use crate::tree::MAX_ENTRIES;
use crate::{Client, Error};
use tfp_wire::compress::listing::Form;
use tfp_wire::entry::{Entry, Mtime, ENTRIES};
use tfp_wire::fstat::FileType;
use tfp_wire::Status;

/// One entry as the server described it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Full {
    /// Its path below the listed directory (empty: the directory itself).
    pub rel: Vec<u8>,
    /// What it is.
    pub kind: FileType,
    /// lstat's size.
    pub size: u64,
    /// Permission, set-id and sticky bits.
    pub mode: u32,
    /// Its mtime, to the nanosecond where the server's file system keeps them.
    pub mtime: Mtime,
    /// Its owner and group, numeric.
    pub owner: Option<(u32, u32)>,
    /// Its ctime (seconds), where the server says it.
    pub changed: Option<i64>,
    /// A symlink's target, as stored.
    pub target: Option<Vec<u8>>,
    /// A device's number.
    pub rdev: Option<u64>,
    /// Which file it is (device, inode): said of a regular file with more
    /// than one name and of the listed directory, by a server that says them.
    pub inode: Option<(u64, u64)>,
}

/// A TFDENTRIES answer: the directory itself, the entries whose names
/// passed [`names::check`], and those refused.
#[derive(Debug, Default)]
pub struct Entries {
    /// The listed directory itself (`rel` empty).
    pub root: Option<Full>,
    /// Entries whose names passed.
    pub entries: Vec<Full>,
    /// Names refused, as sent, with the reason.
    pub refused: Vec<(Vec<u8>, Refused)>,
    /// What the listing lacks, as its end said.
    pub partial: Partial,
}

/// Parses an answer; `None` when a line does not parse or there are more
/// than [`MAX_ENTRIES`].
pub fn parse(mut text: &[u8]) -> Option<Entries> {
    let mut out = Entries::default();
    let mut n = 0usize;
    while !text.is_empty() {
        n += 1;
        if n > MAX_ENTRIES {
            return None;
        }
        let (e, rest) = Entry::parse_next(text)?;
        text = rest;
        let full = |rel: &[u8]| Full {
            rel: rel.to_vec(),
            kind: e.kind,
            size: e.size,
            mode: e.mode,
            mtime: e.mtime,
            owner: e.extra.owner,
            changed: e.extra.changed,
            target: e.target.map(<[u8]>::to_vec),
            rdev: e.extra.rdev,
            inode: e.extra.inode,
        };
        if e.name == b"." {
            if out.root.is_some() || e.kind != FileType::Dir {
                return None;
            }
            out.root = Some(full(b""));
            continue;
        }
        match names::check(e.name) {
            Ok(()) => out.entries.push(full(e.name)),
            Err(why) => out.refused.push((e.name.to_vec(), why)),
        }
    }
    Some(out)
}

/// TFDENTRIES of `dir`, bounded as an LSR. `Ok(None)`: the server has no
/// TFDENTRIES (remembered: never asked again on this session) or its answer
/// does not parse; the caller describes the tree as before.
pub fn list(c: &mut Client, dir: &[u8]) -> Result<Option<Entries>, Error> {
    let Some(asked) = send_list(c, dir)? else {
        return Ok(None);
    };
    recv_list(c, asked)
}

/// Sends TFDENTRIES of `dir` (compressed where the session compresses,
/// [`zlisting`]) without reading its answer (a tree download sends it
/// behind the FSTAT that says the source is a directory: a round trip
/// less); how it was asked, None and nothing sent where the server has none.
pub(crate) fn send_list(c: &mut Client, dir: &[u8]) -> Result<Option<Asked>, Error> {
    if !c.caps().has(Ext::Entries) {
        return Ok(None);
    }
    zlisting::send(c, Form::Entries, dir).map(Some)
}

/// FSTAT of `src`, with TFDENTRIES of `src` behind it in the same write: an archive copy of a tree learns
/// that it is one and lists it in one round trip. The second value says
/// whether TFDENTRIES went (its answer then waits: read it with
/// [`recv_list`], or [`drain_list`] for what
/// is no directory).
pub(crate) fn fstat_entries_ahead(
    c: &mut Client,
    src: &[u8],
) -> Result<(super::listing::Answer, Option<Asked>), Error> {
    let fstat = [&b"FSTAT "[..], src].concat();
    let list = c
        .caps()
        .has(Ext::Entries)
        .then(|| zlisting::line(c, Form::Entries, src));
    let mut frames: Vec<&[u8]> = vec![&fstat];
    frames.extend(list.as_ref().map(|(l, _)| &l[..]));
    super::listing::send_all(c, &frames)?;
    let sent = list.map(|(_, asked)| asked);
    Ok((super::listing::parse_fstat_answer(&c.chan.rx.recv_frame()?), sent))
}

/// Reads and drops the answer of a TFDENTRIES sent ahead (as `asked`) for
/// what turned out to be no directory (a refusal, the expected answer).
pub(crate) fn drain_list(c: &mut Client, asked: Asked) -> Result<(), Error> {
    match recv_list(c, asked) {
        Err(e) if super::listing::session_failed(&e) => Err(e),
        // one over the bound left the session hung up
        Err(Error::TooBig(t)) => Err(Error::Protocol(format!("the listing sent ahead: {t}"))),
        _ => Ok(()),
    }
}

/// The answer of a TFDENTRIES sent as `asked` ([`send_list`]), as [`list`]
/// reads it.
pub(crate) fn recv_list(c: &mut Client, asked: Asked) -> Result<Option<Entries>, Error> {
    let mut out = Bounded(Vec::new());
    let end = match zlisting::recv(c, asked, &mut out) {
        Ok(Status::Ok(end)) => end,
        Ok(Status::Unknown) => return Err(crate::caps::contradicted(Ext::Entries)),
        Ok(st) => return Err(Error::refused(ENTRIES, st)),
        Err(Error::Local(_)) => {
            hang_up(c);
            return Err(Error::TooBig(TooBig::Bytes));
        }
        Err(e) => return Err(e),
    };
    Ok(parse(&out.0).map(|l| Entries {
        partial: Partial::of_ok(&end),
        ..l
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use tfp_wire::entry::Extra;

    fn line(kind: FileType, name: &[u8], target: Option<&[u8]>) -> Vec<u8> {
        let mut out = Vec::new();
        Entry {
            kind,
            size: 3,
            mode: 0o755,
            mtime: Mtime { sec: 7, nsec: 9 },
            extra: Extra {
                owner: Some((1, 2)),
                rdev: None,
                changed: None,
                inode: None,
            },
            name,
            target,
        }
        .encode_into(&mut out);
        out
    }

    #[test]
    fn an_answer_splits_into_the_root_its_entries_and_refused_names() {
        let text = [
            line(FileType::Dir, b".", None),
            line(FileType::Regular, b"a b", None),
            line(FileType::Symlink, b"ln", Some(b"../../etc/shadow")),
            line(FileType::Fifo, b"d/p", None),
            line(FileType::Regular, b"../x", None),
        ]
        .concat();
        let e = parse(&text).unwrap();
        let root = e.root.unwrap();
        assert_eq!((root.rel.len(), root.mode, root.mtime.nsec), (0, 0o755, 9));
        let rels: Vec<&[u8]> = e.entries.iter().map(|f| &f.rel[..]).collect();
        assert_eq!(rels, [&b"a b"[..], b"ln", b"d/p"]);
        // a target is kept as text, whatever it names
        assert_eq!(e.entries[1].target.as_deref(), Some(&b"../../etc/shadow"[..]));
        assert_eq!(e.refused.len(), 1);
        // the root twice, or a file named `.`, does not parse
        let twice = [line(FileType::Dir, b".", None), line(FileType::Dir, b".", None)].concat();
        assert!(parse(&twice).is_none());
        assert!(parse(&line(FileType::Regular, b".", None)).is_none());
        assert!(parse(b"F 1 644 5 1 x").is_none());
    }
}
