//! A server file's state, as closely as the server tells it: TFDSTATID's
//! identity (size, mtime and ctime to the nanosecond, inode) where tfd has
//! it, else FSTAT's size and mtime in seconds ([`tfp_wire::same`]). What a
//! download compares before and after the file was read, and what
//! `--remove-source-files` holds a server file to when it removes it
//! (TFDDELIF, which the server checks where it removes; else FSTAT, then
//! DEL of the files that held still).

use crate::caps::Ext;
use crate::remote::listing::{self, Kind};
use crate::remote::pipeline::pipelined_lines;
use crate::{Client, Error};
use tfp_wire::same::{Ident, CHANGED, DEL_IF, STAT};
use tfp_wire::Status;

/// One state of a server's regular file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    /// TFDSTATID's identity.
    Id(Ident),
    /// FSTAT's size and mtime (seconds), from a server without TFDSTATID.
    Coarse {
        /// Its size in bytes.
        size: u64,
        /// Its mtime, seconds since the epoch.
        mtime: i64,
    },
}

impl State {
    /// The file's size in this state.
    pub fn size(&self) -> u64 {
        match self {
            State::Id(id) => id.size,
            State::Coarse { size, .. } => *size,
        }
    }

    /// The state FSTAT's answer `st` tells of a regular file.
    pub fn of_fstat(st: &listing::Stat) -> Option<State> {
        (st.kind == Kind::File).then_some(State::Coarse {
            size: st.size,
            mtime: st.mtime,
        })
    }
}

/// The command a state is asked by on `c`: TFDSTATID unless the server
/// said it has none.
pub(crate) fn verb(c: &mut Client) -> &'static str {
    match c.caps().has(Ext::SameId) {
        false => "FSTAT",
        true => STAT,
    }
}

/// The answer to `verb` (see [`verb`]) parsed: `None` for a FAILED one or
/// a file that is not a regular file.
pub(crate) fn parse(verb: &str, st: &Status) -> Option<State> {
    let Status::Ok(d) = st else { return None };
    match verb == STAT {
        true => Ident::parse(d).map(State::Id),
        false => listing::parse_fstat(d).as_ref().and_then(State::of_fstat),
    }
}

/// The command line `verb path`.
pub(crate) fn line(verb: &str, path: &[u8]) -> Vec<u8> {
    [verb.as_bytes(), b" ", path].concat()
}

/// The lines `each(verb, path)` of every path, sent ahead of their
/// answers; where the server answered TFDSTATID `UNKNOWN`, learned, all
/// sent again with FSTAT. The verb the answers are to, and the answers.
pub(crate) fn asked(
    c: &mut Client,
    paths: &[Vec<u8>],
    each: impl Fn(&str, &[u8]) -> Vec<Vec<u8>>,
) -> Result<(&'static str, Vec<Status>), Error> {
    let v = verb(c);
    let lines: Vec<Vec<u8>> = paths.iter().flat_map(|p| each(v, p)).collect();
    let refs: Vec<&[u8]> = lines.iter().map(Vec::as_slice).collect();
    let answers = pipelined_lines(c, &refs, "", &[])?;
    if v == STAT && answers.iter().any(|a| matches!(a, Status::Unknown)) {
        return Err(crate::caps::contradicted(Ext::SameId));
    }
    Ok((v, answers))
}

/// The state of the server's file `path` now (`None`: not a regular file
/// there, or not to be looked at).
pub fn state(c: &mut Client, path: &[u8]) -> Result<Option<State>, Error> {
    let (v, answers) = asked(c, &[path.to_vec()], |v, p| vec![line(v, p)])?;
    Ok(answers.first().and_then(|a| parse(v, a)))
}

/// The state of `path` now, asked as `was` was (TFDSTATID for an identity,
/// FSTAT for a size and mtime), so that the two compare.
pub fn state_as(c: &mut Client, path: &[u8], was: &State) -> Result<Option<State>, Error> {
    if let State::Id(_) = was {
        return state(c, path);
    }
    match crate::replies::Split::split(listing::fstat(c, path)) {
        Ok(Ok(st)) => Ok(State::of_fstat(&st)),
        Ok(Err(_)) => Ok(None),
        Err(e) => Err(e),
    }
}

/// FSTAT of `path` with its state asked in the same round trip
/// (TFDSTATID ahead of it where the server may have it, else FSTAT's own
/// size and mtime), the frames `behind` sent after them (their answers the
/// caller's to read).
pub fn fstat_with_state(
    c: &mut Client,
    path: &[u8],
    behind: &[&[u8]],
) -> Result<(Result<listing::Stat, Error>, Option<State>), Error> {
    let ask = verb(c) == STAT;
    c.chan.tx.hold();
    if ask {
        c.chan.tx.send_frame(&line(STAT, path))?;
    }
    c.chan.tx.send_frame(&line("FSTAT", path))?;
    for b in behind {
        c.chan.tx.send_frame(b)?;
    }
    c.chan.tx.release()?;
    let id = match ask {
        true => Some(Status::parse(&c.chan.rx.recv_frame()?)),
        false => None,
    };
    let st = listing::parse_fstat_answer(&c.chan.rx.recv_frame()?);
    let state = match id {
        Some(Status::Unknown) => return Err(crate::caps::contradicted(Ext::SameId)),
        Some(a) => parse(STAT, &a),
        None => None,
    };
    let state = state.or_else(|| st.as_ref().ok().and_then(State::of_fstat));
    Ok((st, state))
}

/// What became of a server file removed only if it held still.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Gone {
    /// Removed.
    Removed,
    /// Kept: it is no longer the file its state was taken of.
    Changed,
    /// Kept: DEL (or TFDDELIF) was refused so.
    Refused(Status),
}

/// Removes each `(path, state)` only while the file is still in that state:
/// by TFDDELIF for an identity (the server compares where it removes),
/// else FSTAT of them all, then DEL of those that held still. One answer a
/// file, in order.
pub fn remove_if_same(c: &mut Client, items: &[(Vec<u8>, State)]) -> Result<Vec<Gone>, Error> {
    let mut out = vec![Gone::Changed; items.len()];
    let (ids, coarse): (Vec<usize>, Vec<usize>) = (0..items.len()).partition(|&i| matches!(items[i].1, State::Id(_)));
    let lines: Vec<Vec<u8>> = ids
        .iter()
        .filter_map(|&i| match items[i].1 {
            State::Id(id) => Some([DEL_IF.as_bytes(), b" ", &id.del_if(&items[i].0)].concat()),
            State::Coarse { .. } => None,
        })
        .collect();
    let refs: Vec<&[u8]> = lines.iter().map(Vec::as_slice).collect();
    for (&i, st) in ids.iter().zip(pipelined_lines(c, &refs, "", &[])?) {
        out[i] = match st {
            Status::Ok(_) => Gone::Removed,
            Status::Failed(7, ref m) if m == CHANGED => Gone::Changed,
            st => Gone::Refused(st),
        };
    }
    let paths: Vec<Vec<u8>> = coarse.iter().map(|&i| items[i].0.clone()).collect();
    let now = pipelined_lines(c, &[], "FSTAT", &paths)?;
    let still: Vec<usize> = coarse
        .iter()
        .zip(&now)
        .filter(|(&i, st)| parse("FSTAT", st) == Some(items[i].1))
        .map(|(&i, _)| i)
        .collect();
    let paths: Vec<Vec<u8>> = still.iter().map(|&i| items[i].0.clone()).collect();
    for (&i, st) in still.iter().zip(pipelined_lines(c, &[], "DEL", &paths)?) {
        out[i] = match st {
            Status::Ok(_) => Gone::Removed,
            st => Gone::Refused(st),
        };
    }
    Ok(out)
}
