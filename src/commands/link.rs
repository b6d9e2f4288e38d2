//! `TFDLINK <existing> | <new>`, tfd's own ([`tfp_wire::link`]): a hard
//! link made inside the served root, for `tf backup`'s unchanged files.
//!
//! Both names are resolved by descriptor beneath the root, never through a
//! symlink: the existing file is opened read-only (`O_NOFOLLOW`) in its
//! directory's descriptor, which is the session's read check and proves a
//! regular file, then `linkat` (no `AT_SYMLINK_FOLLOW`) links that same
//! directory entry to the new name in its own directory's descriptor. The
//! link made is then compared with the opened file (device and inode): a
//! rename between the check and the link that put another file at the name
//! is undone (the new name removed) and refused, so a session can link only
//! a file it could read. The kernel's `protected_hardlinks` applies on top
//! (a user cannot link another user's file it may not write).
//!
//! The new name is never replaced (`FAILED 12` when it exists): a link
//! costs no data, so no quota is reserved, and the quota's usage walk counts
//! a file with several names once ([`crate::fsys::quota`]).
//!
//! `TFDLINKS <from>\0<to>\0<path>...` ([`tfp_wire::link::Links`]) makes many
//! such links in one command, each exactly as TFDLINK makes it, the
//! directories each new name goes into made first where missing, as RMKDIR
//! makes them (mode 0755 less the umask; LOCK and TFPSFS judged for each);
//! one answer word a link. Its work is bounded by the grammar (at most
//! [`tfp_wire::link::MAX_PATHS`] links a command), and it logs one line a
//! command, not one a refusal, so a command of refusals cannot flood the log.

use super::no_room;
use super::{CmdError, CmdResult, DeniedOr, Reply};
use crate::fsys::{open_regular_at, FsError, IntoFs, RelPath};
use crate::session::Session;
use log::{debug, info, warn};
use std::os::fd::AsFd;
use tfd_sys as sys;
use tfp_wire::link::{self, Link, Links};
use tfp_wire::secfs as bits;
use tfp_wire::Failed;

/// `TFDLINK <existing> | <new>` → `OK`; `FAILED 16` for an argument the
/// grammar does not hold, `FAILED 17` for a missing file, `FAILED 19` for a
/// directory, `FAILED 23` for anything else that is not a regular file,
/// `FAILED 12` for a taken name, `FAILED 1` for a refused path or right.
pub fn tfdlink(s: &mut Session, arg: &[u8]) -> CmdResult {
    let l = Link::parse(arg).ok_or(Failed::MissingParameter)?;
    let old = s.path(&l.existing)?;
    let new = s.path(&l.new)?;
    match link_one(s, &old, &new) {
        Ok(()) => Ok(Reply::Ok),
        Err(Refused { answer, why }) => {
            if let Some(why) = why {
                info!("{} TFDLINK refused: {why}", s.peer());
            }
            Err(answer)
        }
    }
}

/// `TFDLINKS <from>\0<to>\0<path>...` → `OK <code>...`, a word a path: `0`
/// linked, else TFDLINK's FAILED code for it; `FAILED 16` for an argument
/// the grammar does not hold.
pub fn tfdlinks(s: &mut Session, arg: &[u8]) -> CmdResult {
    let m = Links::parse(arg).ok_or(Failed::MissingParameter)?;
    let mut codes = Vec::with_capacity(m.paths.len());
    let mut dirs = Dirs::default();
    let mut first_refusal = None;
    // each side's directory pinned and judged once for the files in it
    let (mut held_old, mut held_new) = (None, None);
    for p in &m.paths {
        let dir = p.iter().rposition(|&b| b == b'/').map_or(&p[..0], |i| &p[..i]);
        let outcome = (|| {
            let old = s.path_near_for(&join(&m.from, p), bits::RFILE, &mut held_old)?;
            // directories are made for a file that can be linked: a
            // refusal changes nothing (the source's refusal is link_one's)
            if dirs.ready.as_deref() != Some(dir) && regular(s, &old) {
                dirs.ready(s, &m.to, dir)?;
            }
            let new = s.path_near_for(&join(&m.to, p), bits::WFILE, &mut held_new)?;
            link_one(s, &old, &new)
        })();
        codes.push(match outcome {
            Ok(()) => {
                dirs.note(Set::Touched, dir);
                0
            }
            Err(r) => {
                let code = match r.answer {
                    CmdError::Failed(f) | CmdError::Told(f, _) => u16::from(f.code()),
                    other => return Err(other),
                };
                first_refusal.get_or_insert((code, r.why));
                code
            }
        });
    }
    dirs.as_theirs(s, &m);
    let linked = codes.iter().filter(|&&c| c == 0).count();
    match first_refusal {
        None => debug!("{} TFDLINKS: {linked} linked", s.peer()),
        Some((code, why)) => info!(
            "{} TFDLINKS: {linked} linked, {} refused (the first: FAILED {code}{})",
            s.peer(),
            codes.len() - linked,
            why.map(|w| format!(", {w}")).unwrap_or_default()
        ),
    }
    Ok(Reply::Data(link::encode_answers(&codes)))
}

#[cfg(test)]
mod tests {
    use super::{Dirs, Set, HELD};

    #[test]
    fn the_directories_noted_hold_at_most_their_budget() {
        let mut d = Dirs::default();
        let level = vec![b'a'; 4000];
        for i in 0..3000 {
            let mut p = level.clone();
            p.extend_from_slice(format!("/{i}").as_bytes());
            d.note([Set::Touched, Set::Made, Set::Known][i % 3], &p);
        }
        let bytes: usize = d.touched.iter().chain(&d.made).chain(&d.known).map(Vec::len).sum();
        assert!(bytes <= HELD && d.held == bytes, "{bytes} {}", d.held);
        assert!(bytes > HELD - 5000, "{bytes}");
        // a path noted twice is held once
        let before = d.held;
        d.note(Set::Known, b"new");
        d.note(Set::Known, b"new");
        assert_eq!(d.held, before + 3);
    }
}

/// Whether the pinned `p` is a regular file (not followed if a symlink).
fn regular(s: &Session, p: &RelPath) -> bool {
    s.root()
        .lstat(p)
        .is_ok_and(|st| crate::fsys::Kind::of(&st) == crate::fsys::Kind::File)
}

/// `top/rel`, or `top` for the empty `rel`.
fn join(top: &[u8], rel: &[u8]) -> Vec<u8> {
    if rel.is_empty() {
        top.to_vec()
    } else {
        [top, b"/", rel].concat()
    }
}

/// The directories below `to` one TFDLINKS made and linked into (paths
/// relative to `to`, "" for `to` itself): each is given its counterpart's
/// mtime below `from` once the command's links are made (a link moves its
/// directory's mtime), and each made its mode, so a tree linked whole
/// looks as the one it came from (cp -al's) and a backup's mirror finds
/// its unchanged directories the same, with nothing to set.
#[derive(Default)]
struct Dirs {
    /// The directory the last link went into, made or found: a tree's
    /// links come sorted, a directory's files together, so each is made once.
    ready: Option<Vec<u8>>,
    touched: std::collections::BTreeSet<Vec<u8>>,
    made: std::collections::BTreeSet<Vec<u8>>,
    /// Directories found or made by this command: a directory whose
    /// parent is one is made by one MKDIR, not level by level from the root.
    known: std::collections::HashSet<Vec<u8>>,
    /// The bytes of the paths the sets hold ([`HELD`] at most).
    held: usize,
}

/// The most bytes of directory paths one TFDLINKS notes. Its paths are one
/// frame, but each level of a deep path is a path of its own: 256 paths
/// 1,000 levels deep would be some 500 MB of levels. Past it, directories
/// are made level by level and keep the attributes the links gave them (a
/// backup's mirror sets them).
const HELD: usize = 4 << 20;

/// Which of [`Dirs`]' sets.
#[derive(Clone, Copy)]
enum Set {
    Touched,
    Made,
    Known,
}

impl Dirs {
    /// Notes `dir` in `set` while [`HELD`] allows.
    fn note(&mut self, set: Set, dir: &[u8]) {
        let set = match set {
            Set::Touched => &mut self.touched,
            Set::Made => &mut self.made,
            Set::Known => {
                if self.held + dir.len() <= HELD && self.known.insert(dir.to_vec()) {
                    self.held += dir.len();
                }
                return;
            }
        };
        if self.held + dir.len() <= HELD && set.insert(dir.to_vec()) {
            self.held += dir.len();
        }
    }

    /// Makes `to/dir` and its missing parents, as RMKDIR would (each level
    /// judged as MKDIR judges its path).
    fn ready(&mut self, s: &Session, to: &[u8], dir: &[u8]) -> Result<(), Refused> {
        if self.ready.as_deref() == Some(dir) {
            return Ok(());
        }
        let p = s.path_for(&join(to, dir), bits::MKDIR)?;
        s.check_lock_parent(&p)?;
        let mut made = 0;
        let parent = dir.iter().rposition(|&b| b == b'/').map_or(&dir[..0], |i| &dir[..i]);
        if !dir.is_empty() && self.known.contains(parent) {
            // as MKDIR makes it; a name taken is left to the links, which
            // are refused where it is no directory
            let (pd, name) = s.root().parent_new(&p).denied_or(Failed::AccessDenied)?;
            match sys::mkdirat(pd.as_fd(), &name, 0o755).into_fs() {
                Ok(()) => made = 1,
                Err(FsError::Exists) => {}
                Err(e) => {
                    return Err(Refused {
                        answer: Failed::AccessDenied.into(),
                        why: Some(format!("its directory could not be made: {e}")),
                    })
                }
            }
        } else {
            let pin = |s: &Session, q: &RelPath| s.secfs().pin_for(s.root(), q, bits::MKDIR);
            if let Err(answer) = super::fs::make_levels(s, &p, &mut made, pin) {
                let why = Some("its directory could not be made".into());
                return Err(Refused { answer, why });
            }
            // every level is there now
            let mut level = dir;
            while let Some(i) = level.iter().rposition(|&b| b == b'/') {
                level = &level[..i];
                self.note(Set::Known, level);
            }
            self.note(Set::Known, b"");
        }
        self.note(Set::Known, dir);
        // the levels made are the deepest: `dir` and its parents, up to `made`
        let mut level = dir;
        for _ in 0..made {
            self.note(Set::Made, level);
            let parent = level
                .iter()
                .rposition(|&b| b == b'/')
                .map_or(&level[..0], |i| &level[..i]);
            self.note(Set::Touched, parent);
            if level.is_empty() {
                break;
            }
            level = parent;
        }
        self.ready = Some(dir.to_vec());
        Ok(())
    }

    /// Gives each directory touched its counterpart's mtime, and each made
    /// its mode (with the owner's rights kept: a later command may still
    /// link into it; the mirror sets the rest). What cannot be is left as
    /// it is: attributes only, which a backup's mirror sets anyway.
    fn as_theirs(&self, s: &Session, m: &Links) {
        for rel in self.touched.iter().chain(self.made.difference(&self.touched)) {
            let made = self.made.contains(rel);
            if let Some(e) = counterpart(s, (&join(&m.from, rel), &join(&m.to, rel)), made) {
                debug!("{} TFDLINKS: a directory's attributes were not set: {e}", s.peer());
            }
        }
    }
}

/// Gives the directory `to` the mtime (and where `made`, the mode) of the
/// directory `from`: None, or why not, in words for the log.
fn counterpart(s: &Session, (from, to): (&[u8], &[u8]), made: bool) -> Option<String> {
    let (Ok(src), Ok(dst)) = (s.path_for(from, bits::STAT), s.path_for(to, bits::UXPERM)) else {
        return Some("a path was refused".into());
    };
    let st = match s.root().lstat(&src) {
        Ok(st) if crate::fsys::Kind::of(&st) == crate::fsys::Kind::Dir => st,
        Ok(_) => return Some("its counterpart is no directory".into()),
        Err(e) => return Some(e.to_string()),
    };
    let fd = match s.root().open_dir(&dst) {
        Ok(fd) => fd,
        Err(e) => return Some(e.to_string()),
    };
    let mode = if made {
        sys::fchmod(fd.as_fd(), (st.st_mode & 0o7777) | 0o700)
    } else {
        Ok(())
    };
    let set = mode.and_then(|()| sys::set_mtime_ns(fd.as_fd(), st.st_mtime, st.st_mtime_nsec as u32));
    set.err().map(|e| e.to_string())
}

/// Why one link was not made: its answer, and what to log of it.
struct Refused {
    answer: CmdError,
    why: Option<String>,
}

impl From<Failed> for Refused {
    fn from(f: Failed) -> Refused {
        Refused {
            answer: f.into(),
            why: None,
        }
    }
}

/// Makes `new` another name of the regular file `old` (both pinned and
/// judged), as TFDLINK does.
fn link_one(s: &Session, old: &RelPath, new: &RelPath) -> Result<(), Refused> {
    if old.is_root() {
        return Err(Failed::CannotLinkDir.into());
    }
    if new.is_root() {
        return Err(Failed::FileExists.into());
    }
    s.check_lock_parent(old)?;
    s.check_lock_parent(new)?;
    let opened = s
        .root()
        .parent_lent(old)
        .and_then(|o| open_regular_at(o.dir(), o.name(), libc::O_RDONLY, 0).map(|f| (o, f)));
    let (o, (file, st)) = match opened {
        Ok(x) => x,
        Err(e) => {
            return Err(Refused {
                answer: source_failed(&e).into(),
                why: Some(format!("the existing file: {e}")),
            })
        }
    };
    let n = s.root().parent_new_lent(new).denied_or(Failed::AccessDenied)?;
    let (nd, nn) = (n.dir(), n.name());
    match sys::linkat(o.dir(), o.name(), nd, nn).into_fs() {
        Ok(()) => {}
        Err(FsError::Exists) => return Err(Failed::FileExists.into()),
        Err(e @ (FsError::NoSpace | FsError::QuotaFull)) => {
            return Err(Refused {
                answer: no_room(&e).unwrap_or_else(|| Failed::Quota.into()),
                why: Some(e.to_string()),
            })
        }
        Err(e) => {
            return Err(Refused {
                answer: Failed::AccessDenied.into(),
                why: Some(e.to_string()),
            })
        }
    }
    let made = sys::fstatat(nd, nn, false);
    if !made.is_ok_and(|m| m.st_dev == st.st_dev && m.st_ino == st.st_ino) {
        // the name was swapped between the open and the link: undo
        if let Err(e) = sys::unlinkat(nd, nn, false) {
            warn!(
                "{} TFDLINK: a link to a swapped file could not be removed: {e}",
                s.peer()
            );
        }
        warn!("{} TFDLINK refused: the file changed under the link", s.peer());
        return Err(Failed::AccessDenied.into());
    }
    drop(file);
    Ok(())
}

/// The FAILED code for an existing file that cannot be linked.
fn source_failed(e: &FsError) -> Failed {
    match e {
        FsError::NotFound | FsError::NotDir => Failed::NoSource,
        FsError::IsDir => Failed::CannotLinkDir,
        FsError::NotRegular => Failed::NotAFile,
        _ => Failed::AccessDenied,
    }
}
