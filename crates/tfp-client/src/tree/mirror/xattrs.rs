//! Extended attributes (`-X`, doc/compatibility.md "Extended attributes"),
//! a mirror's step after its last: every file and directory of the source
//! (the tree's root too; a symlink or special file has none Linux keeps)
//! gets the attribute set of its source, compared first so an unchanged set
//! is never sent again. Setting an attribute moves only the ctime, so the
//! mtimes the last step gave stay exact.
//!
//! Up: the server's sets are asked in one pipeline (`TFDXATTRS`), and
//! those that differ are replaced in another (`TFDSETXATTRS`). Down: the
//! server's sets are asked alike and made here through the landing, on
//! descriptors reached with no symlink followed. Which names cross: `user.`
//! alone, and `trusted.` and `security.` too where both ends are root (the
//! server says its session's scope); a server's names this end may not
//! handle are kept as they are. A server without the commands keeps no
//! attributes, and the run says so once.

use super::super::names::{self, rjoin};
use super::super::sync::Side;
use crate::engine::events::Tally;
use crate::engine::landing::Landing;
use crate::remote::listing::{self, Kind};
use crate::remote::pipeline::pipelined;
use crate::{Client, Error};
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use tfp_wire::xattr::{self as wire, carried, Listing, Scope, Set, Xattrs};
use tfp_wire::Status;

/// Set when a server had no attribute commands, until a run tells it.
static UNKEPT: AtomicBool = AtomicBool::new(false);

/// Whether attributes went unkept since the last call (told once a run).
pub fn unkept_taken() -> bool {
    UNKEPT.swap(false, Ordering::Relaxed)
}

/// The entries whose attributes cross: the root and the files and
/// directories of `side` not below a directory that could not be made.
fn entries(side: &Side, failed_dirs: &[Vec<u8>]) -> Vec<Vec<u8>> {
    let below = |r: &[u8]| failed_dirs.iter().any(|d| d.as_slice() == r || names::below(r, d));
    std::iter::once(Vec::new())
        .chain(
            side.iter()
                .filter(|(r, m)| matches!(m.kind, Kind::File | Kind::Dir) && !below(r))
                .map(|(r, _)| r.clone()),
        )
        .collect()
}

/// The server's path of `rel` below `dir` ("/" for the served root).
fn remote_of(dir: &[u8], rel: &[u8]) -> Vec<u8> {
    let p = rjoin(dir, rel);
    if p.is_empty() {
        b"/".to_vec()
    } else {
        p
    }
}

/// Whether `name` crosses between a session of `scope` and this end.
fn crosses(scope: Scope, name: &[u8]) -> bool {
    carried(name, scope == Scope::All && tfd_sys::geteuid() == 0)
}

/// Opens a local file or directory with no symlink followed (a link, FIFO
/// or device is refused: none keeps attributes that cross).
fn checked(fd: std::io::Result<OwnedFd>) -> std::io::Result<OwnedFd> {
    let fd = fd?;
    match tfd_sys::fstat(fd.as_fd())?.st_mode & libc::S_IFMT {
        libc::S_IFREG | libc::S_IFDIR => Ok(fd),
        _ => Err(std::io::Error::other("neither a file nor a directory")),
    }
}

const OPEN: i32 = libc::O_RDONLY | libc::O_NONBLOCK | libc::O_NOCTTY;

/// The server's attribute sets of `rels` below `dir`, in order: `None`
/// where it refused (told); the whole `None` from a server without them.
fn listings(
    c: &mut Client,
    dir: &[u8],
    rels: &[Vec<u8>],
    t: &mut Tally<'_>,
) -> Result<Option<Vec<Option<Listing>>>, Error> {
    let paths: Vec<Vec<u8>> = rels.iter().map(|r| remote_of(dir, r)).collect();
    let answers = pipelined(c, wire::GET, &paths)?;
    if answers.iter().any(|a| matches!(a, Status::Unknown)) {
        UNKEPT.store(true, Ordering::Relaxed);
        return Ok(None);
    }
    let mut out = Vec::with_capacity(rels.len());
    for (p, a) in paths.iter().zip(answers) {
        out.push(match a {
            Status::Ok(d) => {
                let l = Listing::parse(&d);
                if l.is_none() {
                    t.refused(format!("{}: {}: a malformed attribute list", t.verb, names::shown(p)));
                }
                l
            }
            st => {
                t.refused(format!(
                    "{}: {}: attributes: {}",
                    t.verb,
                    names::shown(p),
                    listing::status_text(&st)
                ));
                None
            }
        });
    }
    Ok(Some(out))
}

/// Up: the server's `dst` gets the attributes of the local `src`'s entries.
pub(super) fn up(
    c: &mut Client,
    (src, dst): (&Path, &[u8]),
    ours: &Side,
    failed_dirs: &[Vec<u8>],
    t: &mut Tally<'_>,
) -> Result<(), Error> {
    let rels = entries(ours, failed_dirs);
    let Some(theirs) = listings(c, dst, &rels, t)? else {
        return Ok(());
    };
    let mut sets = Vec::new();
    for (rel, l) in rels.iter().zip(theirs) {
        let Some(l) = l else { continue };
        let local = src.join(std::ffi::OsStr::from_bytes(rel));
        let open = || {
            use std::os::unix::fs::OpenOptionsExt;
            let f = std::fs::OpenOptions::new()
                .read(true)
                .custom_flags(OPEN | libc::O_NOFOLLOW)
                .open(&local)?;
            checked(Ok(f.into()))
        };
        let scope = l.scope;
        let read = open()
            .and_then(|fd| tfd_sys::fxattrs(fd.as_fd(), |n| crosses(scope, n), (wire::MAX_VALUE, wire::MAX_VALUES)));
        // the server's names this end does not handle stay as they are
        let kept = l.xattrs.pairs().iter().filter(|(n, _)| !crosses(scope, n)).cloned();
        let want = read.and_then(|mine| {
            Xattrs::new(mine.into_iter().chain(kept).collect())
                .map_err(|_| std::io::Error::other("more attributes than one list carries"))
        });
        match want {
            Ok(want) if want != l.xattrs => sets.push(
                Set {
                    xattrs: want,
                    path: &remote_of(dst, rel),
                }
                .encode(),
            ),
            Ok(_) => {}
            Err(e) => t.local(format!("{}: {}: attributes: {e}", t.verb, crate::escape::path(&local))),
        }
    }
    for (arg, st) in sets.iter().zip(pipelined(c, wire::SET, &sets)?) {
        if !matches!(st, Status::Ok(_)) {
            let path = Set::parse(arg).map(|s| names::shown(s.path)).unwrap_or_default();
            t.refused(format!("{}: {path}: attributes: {}", t.verb, listing::status_text(&st)));
        }
    }
    Ok(())
}

/// Down: the local entries below `land` get the attributes of the server's
/// `src`'s.
pub(super) fn down(
    c: &mut Client,
    (src, land): (&[u8], &Landing),
    theirs: &Side,
    failed_dirs: &[Vec<u8>],
    t: &mut Tally<'_>,
) -> Result<(), Error> {
    let rels = entries(theirs, failed_dirs);
    let Some(lists) = listings(c, src, &rels, t)? else {
        return Ok(());
    };
    for (rel, l) in rels.iter().zip(lists) {
        let Some(l) = l else { continue };
        let scope = l.scope;
        let want: Vec<(Vec<u8>, Vec<u8>)> = l
            .xattrs
            .pairs()
            .iter()
            .filter(|(n, _)| crosses(scope, n))
            .cloned()
            .collect();
        let r = checked(land.open_entry(rel, OPEN)).and_then(|fd| {
            tfd_sys::freplace_xattrs(
                fd.as_fd(),
                |n| crosses(scope, n),
                &want,
                (wire::MAX_VALUE, wire::MAX_VALUES),
            )
        });
        if let Err(e) = r {
            let local = land.path().join(std::ffi::OsStr::from_bytes(rel));
            t.local(format!("{}: {}: attributes: {e}", t.verb, crate::escape::path(&local)));
        }
    }
    Ok(())
}
