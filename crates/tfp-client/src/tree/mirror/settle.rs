//! What both directions of a mirror do once the plan is made: `checksum`'s
//! comparison by SHA-256, the plan's problems told, a dry run's plan.

use super::options::Options;
use super::report::{Planned, Summary};
use crate::engine::events::Tally;
use crate::remote::listing;
use crate::tree::names;
use crate::tree::names::rjoin;
use crate::tree::sync::{self, Plan};
use crate::{Client, Error};
use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use tfp_wire::Status;

/// `checksum`: the files of the same size, judged by SHA-256 (the server's
/// SHA256, pipelined, against the local file's); those that differ join the
/// copies.
fn verify(c: &mut Client, p: &mut Plan, remote_root: &[u8], local_root: &Path, t: &mut Tally<'_>) -> Result<(), Error> {
    let paths: Vec<Vec<u8>> = p.verify.iter().map(|r| rjoin(remote_root, r)).collect();
    let answers = crate::remote::pipeline::pipelined(c, "SHA256", &paths)?;
    for (rel, st) in std::mem::take(&mut p.verify).into_iter().zip(answers) {
        let local = local_root.join(OsStr::from_bytes(&rel));
        let theirs = match st {
            Status::Ok(h) => h,
            st => {
                t.refused(format!(
                    "{}: SHA256 /{}: {}",
                    t.verb,
                    names::shown(&rjoin(remote_root, &rel)),
                    listing::status_text(&st)
                ));
                continue;
            }
        };
        match sync::local_sha256(&local) {
            Ok(ours) if ours == theirs => {
                p.unchanged += 1;
                p.same_by_sum.push(rel);
            }
            Ok(_) => p.copy.push(rel),
            Err(e) => t.local(format!("{}: {}: {e}", t.verb, crate::escape::path(&local))),
        }
    }
    p.copy.sort();
    Ok(())
}

/// A dry run's plan in the order a run would carry it out.
fn planned(p: &Plan) -> Vec<Planned> {
    let removals = p.remove.iter().map(|r| {
        if r.extra {
            Planned::Delete(r.rel.clone())
        } else {
            Planned::Replace(r.rel.clone())
        }
    });
    let dirs = p.mkdir.iter().cloned().map(Planned::Mkdir);
    removals
        .chain(dirs)
        .chain(p.copy.iter().cloned().map(Planned::Copy))
        .chain(p.nodes.iter().cloned().map(Planned::Node))
        .collect()
}

/// What both directions do once the plan is made: `checksum`'s comparison
/// (where the destination exists), the plan's problems told, the counts it
/// starts with. A dry run ends here: `Err` holds its counts and plan.
pub(super) fn settle(
    c: &mut Client,
    p: &mut Plan,
    o: &Options,
    exists: bool,
    remote_root: &[u8],
    local_root: &Path,
    t: &mut Tally<'_>,
) -> Result<Result<Summary, (Summary, Vec<Planned>)>, Error> {
    // checksum's files, and those whose times are too close to compare
    if !p.verify.is_empty() && exists {
        verify(c, p, remote_root, local_root, t)?;
    }
    let source_side = if o.upload { "here" } else { "on the server" };
    for (rel, why) in &p.blocked {
        t.local(format!("{}: {}: {why}", t.verb, names::shown(rel)));
    }
    for rel in &p.skipped {
        // a local source's entry is told as put -r tells it
        let local = o.upload.then(|| local_root.join(OsStr::from_bytes(rel)));
        match local.and_then(|l| std::fs::symlink_metadata(l).ok()) {
            Some(m) => t.note(crate::tree::walk::skipped(
                t.verb,
                &names::shown(rel),
                crate::tree::walk::not_taken(m.file_type()),
            )),
            None => t.note(format!(
                "{}: {}: not a regular file or directory {source_side}, skipped",
                t.verb,
                names::shown(rel)
            )),
        }
    }
    let mut n = Summary {
        unchanged: p.unchanged,
        ..Summary::default()
    };
    if o.dry_run {
        n.transferred = p.copy.len() + p.nodes.len();
        n.deleted = p.extras();
        n.failed = t.failures();
        return Ok(Err((n, planned(p))));
    }
    Ok(Ok(n))
}
