//! A mirror's first changes: what is in the way (or extra, with
//! `--delete`) removed, then the missing directories made, here or on the
//! server. Each returns the directories that failed: nothing below them is
//! touched after.

use super::super::names;
use super::super::names::rjoin;
use super::super::sync::{self, Plan};
use crate::engine::events::Tally;
use crate::engine::landing::Landing;
use crate::remote::listing::{self, Kind};
use crate::{Client, Error};
use std::ffi::OsStr;
use std::os::fd::AsFd;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use tfp_wire::Status;

/// Down: removals below the local root `root` (no link followed), then the
/// directories made through the landing.
pub(super) fn here(
    land: &Landing,
    root: &std::fs::File,
    dst: &Path,
    dst_arg: &str,
    p: &Plan,
    deleted: &mut usize,
    t: &mut Tally<'_>,
) -> Vec<Vec<u8>> {
    let mut failed_dirs: Vec<Vec<u8>> = Vec::new();
    for r in &p.remove {
        let removed = match land.backup_of(&r.rel).filter(|_| r.kind != Kind::Dir) {
            // --backup: the file moves to its backup name
            Some((b, rel)) => land.parent_of(&r.rel).and_then(|(dir, name, _)| {
                let name = std::ffi::CString::new(name).map_err(std::io::Error::other)?;
                b.move_away(dir.as_fd(), &name, &rel)
            }),
            None => sync::remove_below(root.as_fd(), &r.rel),
        };
        match removed {
            Ok(()) if r.extra => *deleted += 1,
            Ok(()) => {}
            Err(e) => {
                t.local(format!(
                    "{}: removing {}: {e}",
                    t.verb,
                    crate::escape::path(&dst.join(OsStr::from_bytes(&r.rel)))
                ));
                failed_dirs.push(r.rel.clone());
            }
        }
    }
    for d in &p.mkdir {
        if below(d, &failed_dirs) {
            continue;
        }
        if let Err(e) = land.create_dir(d) {
            t.local(format!("{}: {dst_arg}: {e}", t.verb));
            failed_dirs.push(d.clone());
        }
    }
    failed_dirs
}

/// Up: RMDIR or DEL of each removal, then the directories made with MKDIRs
/// sent without waiting for each answer (one made meanwhile is taken as made).
pub(super) fn there(
    c: &mut Client,
    dst: &[u8],
    p: &Plan,
    deleted: &mut usize,
    t: &mut Tally<'_>,
) -> Result<Vec<Vec<u8>>, Error> {
    let mut failed_dirs: Vec<Vec<u8>> = Vec::new();
    for r in &p.remove {
        let path = rjoin(dst, &r.rel);
        let st = c.call(if r.kind == Kind::Dir { "RMDIR" } else { "DEL" }, &path)?;
        match st {
            Status::Ok(_) if r.extra => *deleted += 1,
            Status::Ok(_) => {}
            st => {
                t.refused(format!(
                    "{}: removing /{}: {}",
                    t.verb,
                    names::shown(&path),
                    listing::status_text(&st)
                ));
                failed_dirs.push(r.rel.clone());
            }
        }
    }
    let dirs: Vec<Vec<u8>> = p.mkdir.iter().map(|d| rjoin(dst, d)).collect();
    let answers = crate::remote::pipeline::pipelined(c, "MKDIR", &dirs)?;
    let exists_code = i32::from(tfp_wire::Failed::DirExists.code());
    for ((rel, path), st) in p.mkdir.iter().zip(&dirs).zip(answers) {
        match st {
            Status::Ok(_) => {}
            Status::Failed(code, _) if code == exists_code => {}
            st => {
                if !below(rel, &failed_dirs) {
                    t.refused(format!(
                        "{}: mkdir /{}: {}",
                        t.verb,
                        names::shown(path),
                        listing::status_text(&st)
                    ));
                }
                failed_dirs.push(rel.clone());
            }
        }
    }
    Ok(failed_dirs)
}

/// Whether `rel` lies below one of `dirs`.
fn below(rel: &[u8], dirs: &[Vec<u8>]) -> bool {
    dirs.iter().any(|d| names::below(rel, d))
}
