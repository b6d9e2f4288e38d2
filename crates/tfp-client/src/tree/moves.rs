//! rsync's `--remove-source-files`: once a run is over, each source file
//! whose copy on the other side is proven the same (its SHA-256 here and
//! the server's SHA256 there, each file unchanged across its hash) is
//! removed from the source, and only while it is still the file proven: the
//! local file is looked at again (size, mtime, ctime, inode) right before
//! its unlink; the server's goes by TFDDELIF, which the server refuses for
//! a file no longer in the state proven (else FSTAT, then DEL of those that
//! held still). A source written to after its proof is kept and told, as
//! rsync keeps a changed source. Never a directory, never a file not
//! proven: a run killed at any point leaves each source file in place or
//! its verified copy on the other side. As rsync, a file already the same
//! at the destination (moved by an earlier run, or unchanged) is removed
//! too.

use super::names::rjoin;
use super::sync::Side;
use crate::engine::digest::sha256_file;
use crate::engine::events::Tally;
use crate::remote::listing::Kind;
use crate::remote::same::{self, Gone, State};
use crate::{Client, Error};
use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use tfp_wire::Status;

/// One source file and its copy: the local path and the remote one.
pub type Pair = (PathBuf, Vec<u8>);

/// The files of a side listed below `local` and `remote`, as pairs.
pub(crate) fn pairs(side: &Side, local: &Path, remote: &[u8]) -> Vec<Pair> {
    side.iter()
        .filter(|(_, m)| m.kind == Kind::File)
        .map(|(rel, _)| (local.join(OsStr::from_bytes(rel)), rjoin(remote, rel)))
        .collect()
}

/// How many files are proven at once (three commands each).
const WINDOW: usize = 85;

/// What tells one state of a local file from another.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Here {
    size: u64,
    mtime: (i64, i64),
    ctime: (i64, i64),
    dev: u64,
    ino: u64,
}

impl Here {
    /// The state of the local file `p` now, not followed (`None`: not a
    /// regular file there).
    pub(crate) fn of(p: &Path) -> Option<Here> {
        let m = std::fs::symlink_metadata(p).ok().filter(|m| m.is_file())?;
        Some(Here {
            size: m.len(),
            mtime: (m.mtime(), m.mtime_nsec()),
            ctime: (m.ctime(), m.ctime_nsec()),
            dev: m.dev(),
            ino: m.ino(),
        })
    }
}

/// The local file's SHA-256 (the server's text form) and its state, if it
/// held still while it was read.
fn steady_sum(p: &Path) -> Option<(String, Here)> {
    let before = Here::of(p)?;
    let sum = sha256_file(p).ok()?;
    (Here::of(p)? == before).then_some((sum, before))
}

/// A pair proven: the state of each copy it was proven in.
type Proof = Option<(Here, State)>;

/// The pairs whose two copies are proven the same, with the state each
/// copy was in (the server's before and after its SHA256).
fn proven(c: &mut Client, pairs: &[Pair]) -> Result<Vec<Proof>, Error> {
    let mut out = Vec::with_capacity(pairs.len());
    for chunk in pairs.chunks(WINDOW) {
        let remote: Vec<Vec<u8>> = chunk.iter().map(|(_, r)| r.clone()).collect();
        let three = |v: &str, p: &[u8]| vec![same::line(v, p), same::line("SHA256", p), same::line(v, p)];
        let (v, answers) = same::asked(c, &remote, three)?;
        for ((local, _), a) in chunk.iter().zip(answers.chunks(3)) {
            let (before, after) = (same::parse(v, &a[0]), same::parse(v, &a[2]));
            let theirs = match (&a[1], before) {
                (Status::Ok(d), Some(b)) if after == Some(b) => (d.to_ascii_lowercase(), b),
                _ => {
                    out.push(None);
                    continue;
                }
            };
            out.push(
                steady_sum(local)
                    .filter(|(ours, _)| ours.as_bytes() == theirs.0.as_slice())
                    .map(|(_, here)| (here, theirs.1)),
            );
        }
    }
    Ok(out)
}

/// What became of one source file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Moved {
    /// Removed, its copy proven the same.
    Removed,
    /// Kept: its copy is not proven the same.
    Unproven,
    /// Kept: it changed after its copy was proven.
    Changed,
}

/// Unlinks `local` only if it is still in the state `was` it was proven in.
fn unlink_if_same(local: &Path, was: &Here) -> std::io::Result<Moved> {
    if Here::of(local).as_ref() != Some(was) {
        return Ok(Moved::Changed);
    }
    std::fs::remove_file(local).map(|()| Moved::Removed)
}

/// After one file's upload: removes `local` if its copy `remote` is proven
/// the same and it did not change since.
pub fn remove_local_one(c: &mut Client, local: &Path, remote: &[u8]) -> Result<Moved, Error> {
    match proven(c, &[(local.to_path_buf(), remote.to_vec())])?.pop().flatten() {
        None => Ok(Moved::Unproven),
        Some((here, _)) => unlink_if_same(local, &here).map_err(|e| Error::file(local, e)),
    }
}

/// After one file's download: DEL of `remote` if its copy `local` is
/// proven the same and it did not change since.
pub fn remove_remote_one(c: &mut Client, local: &Path, remote: &[u8]) -> Result<Moved, Error> {
    let Some((_, st)) = proven(c, &[(local.to_path_buf(), remote.to_vec())])?.pop().flatten() else {
        return Ok(Moved::Unproven);
    };
    match same::remove_if_same(c, &[(remote.to_vec(), st)])?.pop() {
        Some(Gone::Removed) => Ok(Moved::Removed),
        Some(Gone::Refused(st)) => Err(Error::refused("DEL", st)),
        Some(Gone::Changed) | None => Ok(Moved::Changed),
    }
}

/// Once a run is over, when `wanted` (`--remove-source-files`): the source
/// files of `side` (below `local` and `remote`) whose copies are proven,
/// removed here after a run `up` ([`remove_local`]), else on the server
/// ([`remove_remote`]).
pub(crate) fn after(
    c: &mut Client,
    (wanted, up): (bool, bool),
    (side, local, remote): (&Side, &Path, &[u8]),
    t: &mut Tally<'_>,
) -> Result<(), Error> {
    if !wanted {
        return Ok(());
    }
    let pairs = pairs(side, local, remote);
    match up {
        true => remove_local(c, &pairs, t),
        false => remove_remote(c, &pairs, t),
    }
    .map(drop)
}

/// After an upload: removes each local file of `pairs` whose copy on the
/// server is proven the same and that is still the file proven; one not
/// proven, or changed since, is told and kept. The number removed.
pub(crate) fn remove_local(c: &mut Client, pairs: &[Pair], t: &mut Tally<'_>) -> Result<usize, Error> {
    let ok = proven(c, pairs)?;
    let mut removed = 0;
    for ((local, remote), ok) in pairs.iter().zip(ok) {
        let shown = crate::escape::path(local);
        let theirs = crate::tree::names::shown(remote);
        let Some((here, _)) = ok else {
            t.local(format!(
                "{}: {shown}: kept: its copy /{theirs} is not proven the same",
                t.verb
            ));
            continue;
        };
        match unlink_if_same(local, &here) {
            Ok(Moved::Removed) => removed += 1,
            Ok(_) => t.local(format!(
                "{}: {shown}: kept: it changed after its copy /{theirs} was proven",
                t.verb
            )),
            Err(e) => t.local(format!("{}: removing {shown}: {e}", t.verb)),
        }
    }
    Ok(removed)
}

/// After a download: each server file of `pairs` whose copy here is proven
/// the same removed, only while it is still the file proven; one not
/// proven, or changed since, is told and kept. The number removed.
pub(crate) fn remove_remote(c: &mut Client, pairs: &[Pair], t: &mut Tally<'_>) -> Result<usize, Error> {
    let ok = proven(c, pairs)?;
    let mut gone = Vec::new();
    for ((local, remote), ok) in pairs.iter().zip(&ok) {
        match ok {
            Some((_, st)) => gone.push((remote.clone(), *st)),
            None => t.refused(format!(
                "{}: /{}: kept: its copy {} is not proven the same",
                t.verb,
                crate::tree::names::shown(remote),
                crate::escape::path(local)
            )),
        }
    }
    let mut removed = 0;
    for ((remote, _), g) in gone.iter().zip(same::remove_if_same(c, &gone)?) {
        let shown = crate::tree::names::shown(remote);
        match g {
            Gone::Removed => removed += 1,
            Gone::Changed => t.refused(format!(
                "{}: /{shown}: kept: it changed on the server after its copy was proven",
                t.verb
            )),
            Gone::Refused(st) => t.refused(format!(
                "{}: removing /{shown}: {}",
                t.verb,
                crate::remote::listing::status_text(&st)
            )),
        }
    }
    Ok(removed)
}
