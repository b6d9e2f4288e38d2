//! rsync's `--remove-source-files`: once a run is over, each source file
//! whose copy on the other side is proven the same (its SHA-256 here and
//! the server's SHA256 there, the local file unchanged in size and mtime
//! across its hash) is removed from the source: the local file by unlink,
//! the server's by DEL. Never a directory, never a file not proven: a run
//! killed at any point leaves each source file in place or its verified
//! copy on the other side, since nothing is removed before its proof. As
//! rsync, a file already the same at the destination (moved by an earlier
//! run, or unchanged) is removed too.

use super::names::rjoin;
use super::sync::Side;
use crate::engine::digest::sha256_file;
use crate::engine::events::Tally;
use crate::remote::listing::Kind;
use crate::remote::pipeline::pipelined;
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

/// How many SHA256s leave at once.
const WINDOW: usize = 256;

/// The local file's SHA-256 (the server's text form) if it held still while
/// it was read (size and mtime the same before and after).
fn steady_sum(p: &std::path::Path) -> Option<String> {
    let before = std::fs::symlink_metadata(p).ok().filter(|m| m.is_file())?;
    let sum = sha256_file(p).ok()?;
    let after = std::fs::symlink_metadata(p).ok()?;
    let same = (before.len(), before.mtime(), before.mtime_nsec(), before.ino())
        == (after.len(), after.mtime(), after.mtime_nsec(), after.ino());
    same.then_some(sum)
}

/// The pairs whose two copies are proven the same.
fn proven(c: &mut Client, pairs: &[Pair]) -> Result<Vec<bool>, Error> {
    let mut out = Vec::with_capacity(pairs.len());
    for chunk in pairs.chunks(WINDOW) {
        let remote: Vec<Vec<u8>> = chunk.iter().map(|(_, r)| r.clone()).collect();
        let answers = pipelined(c, "SHA256", &remote)?;
        for ((local, _), st) in chunk.iter().zip(answers) {
            let theirs = match st {
                Status::Ok(d) => d.to_ascii_lowercase(),
                _ => {
                    out.push(false);
                    continue;
                }
            };
            out.push(steady_sum(local).is_some_and(|ours| ours.as_bytes() == theirs.as_slice()));
        }
    }
    Ok(out)
}

/// After one file's upload: removes `local` if its copy `remote` is proven
/// the same (false: not proven, kept).
pub fn remove_local_one(c: &mut Client, local: &Path, remote: &[u8]) -> Result<bool, Error> {
    if proven(c, &[(local.to_path_buf(), remote.to_vec())])?.first() != Some(&true) {
        return Ok(false);
    }
    std::fs::remove_file(local).map_err(|e| Error::file(local, e))?;
    Ok(true)
}

/// After one file's download: DEL of `remote` if its copy `local` is
/// proven the same (false: not proven, kept).
pub fn remove_remote_one(c: &mut Client, local: &Path, remote: &[u8]) -> Result<bool, Error> {
    if proven(c, &[(local.to_path_buf(), remote.to_vec())])?.first() != Some(&true) {
        return Ok(false);
    }
    match c.call("DEL", remote)? {
        Status::Ok(_) => Ok(true),
        st => Err(Error::refused("DEL", st)),
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
/// server is proven the same; a file not proven is told and kept. The
/// number removed.
pub(crate) fn remove_local(c: &mut Client, pairs: &[Pair], t: &mut Tally<'_>) -> Result<usize, Error> {
    let ok = proven(c, pairs)?;
    let mut removed = 0;
    for ((local, remote), ok) in pairs.iter().zip(ok) {
        if !ok {
            t.local(format!(
                "{}: {}: kept: its copy /{} is not proven the same",
                t.verb,
                crate::escape::path(local),
                crate::tree::names::shown(remote)
            ));
            continue;
        }
        match std::fs::remove_file(local) {
            Ok(()) => removed += 1,
            Err(e) => t.local(format!("{}: removing {}: {e}", t.verb, crate::escape::path(local))),
        }
    }
    Ok(removed)
}

/// After a download: DEL of each server file of `pairs` whose copy here is
/// proven the same; one not proven is told and kept. The number removed.
pub(crate) fn remove_remote(c: &mut Client, pairs: &[Pair], t: &mut Tally<'_>) -> Result<usize, Error> {
    let ok = proven(c, pairs)?;
    let gone: Vec<Vec<u8>> = pairs
        .iter()
        .zip(&ok)
        .filter(|(_, ok)| **ok)
        .map(|((_, r), _)| r.clone())
        .collect();
    for ((local, remote), ok) in pairs.iter().zip(&ok) {
        if !ok {
            t.refused(format!(
                "{}: /{}: kept: its copy {} is not proven the same",
                t.verb,
                crate::tree::names::shown(remote),
                crate::escape::path(local)
            ));
        }
    }
    let mut removed = 0;
    for (remote, st) in gone.iter().zip(pipelined(c, "DEL", &gone)?) {
        match st {
            Status::Ok(_) => removed += 1,
            st => t.refused(format!(
                "{}: removing /{}: {}",
                t.verb,
                crate::tree::names::shown(remote),
                crate::remote::listing::status_text(&st)
            )),
        }
    }
    Ok(removed)
}
