//! What `tf mirror` needs beyond `get -r`/`put -r`: both sides described the
//! same way (kind, size, mtime by relative path), the plan that says what to
//! move, make and remove, many small commands on one session without waiting
//! for each answer, and removal below a target that follows no symlink.
//!
//! The plan is pure: it compares two descriptions, so its rules are tested
//! without a server.

use super::names;
use crate::remote::listing::{self, Kind};
// where they always were named: they live in pipeline.rs, below the
// listing that pipelines its FSTATs
use super::{MAX_DEPTH, MAX_ENTRIES};
use crate::{Client, Error};
use std::collections::BTreeMap;
use std::ffi::CString;
use std::io;
use std::os::fd::{AsFd, BorrowedFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use tfd_sys as sys;
use tfp_wire::Status;

/// One entry of either side.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Meta {
    /// What it is (a symlink or a special file is [`Kind::Other`]).
    pub kind: Kind,
    /// Its size in bytes (files only; 0 otherwise).
    pub size: u64,
    /// Seconds since the epoch.
    pub mtime: i64,
    /// A local entry's ctime (seconds): when tf last set its mtime or
    /// renamed it into place, i.e. when the last transfer ended. 0 for a
    /// remote entry (no command says).
    pub changed: i64,
}

/// Whether two whole-second times are too close to tell an edit made in the
/// same second apart (git's "racy" entries): such files are compared by
/// content instead.
fn racy(later: i64, earlier: i64) -> bool {
    later <= earlier.saturating_add(1)
}

/// A side of a mirror: every entry below its root by relative path, parents
/// before children (byte order puts `a` before `a/b`).
pub type Side = BTreeMap<Vec<u8>, Meta>;

/// Local entries that could not be read, and why.
pub type Unread = Vec<(Vec<u8>, String)>;

/// The local side: `root` walked without following any symlink (a link is an
/// entry of kind [`Kind::Other`], never entered). Entries that could not be
/// read come back with why; a walk over [`MAX_ENTRIES`] is an error.
pub fn scan(root: &Path) -> io::Result<(Side, Unread)> {
    let mut side = Side::new();
    let mut errors = Vec::new();
    let mut stack: Vec<(Vec<u8>, usize)> = vec![(Vec::new(), 0)];
    while let Some((rel, depth)) = stack.pop() {
        let dir = root.join(std::ffi::OsStr::from_bytes(&rel));
        let rd = match std::fs::read_dir(&dir) {
            Ok(r) => r,
            Err(e) if rel.is_empty() => return Err(e),
            Err(e) => {
                errors.push((rel, format!("cannot read the directory: {e}")));
                continue;
            }
        };
        for ent in rd {
            let ent = match ent {
                Ok(e) => e,
                Err(e) => {
                    errors.push((rel.clone(), e.to_string()));
                    continue;
                }
            };
            let name = ent.file_name();
            let r = if rel.is_empty() {
                name.as_bytes().to_vec()
            } else {
                [&rel[..], b"/", name.as_bytes()].concat()
            };
            let m = match std::fs::symlink_metadata(ent.path()) {
                Ok(m) => m,
                Err(e) => {
                    errors.push((r, e.to_string()));
                    continue;
                }
            };
            let ft = m.file_type();
            let kind = if ft.is_dir() {
                Kind::Dir
            } else if ft.is_file() {
                Kind::File
            } else {
                Kind::Other
            };
            if kind == Kind::Dir {
                if depth + 1 >= MAX_DEPTH {
                    errors.push((r, format!("deeper than {MAX_DEPTH} directories")));
                    continue;
                }
                stack.push((r.clone(), depth + 1));
            }
            side.insert(
                r,
                Meta {
                    kind,
                    size: if kind == Kind::File { m.len() } else { 0 },
                    mtime: m.mtime(),
                    changed: m.ctime(),
                },
            );
            if side.len() > MAX_ENTRIES {
                return Err(io::Error::other(format!("more than {MAX_ENTRIES} entries")));
            }
        }
    }
    Ok((side, errors))
}

/// How two files of the same size are judged the same.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rule {
    /// A download: the local mtime must be the server's (tf sets it so).
    SameMtime,
    /// An upload: no command sets a remote mtime, so an upload stamps the
    /// remote file with its arrival time; it is up to date when that is not
    /// older than the local file's mtime.
    RemoteNotOlder,
    /// An upload to a server with batches (rsync's quick check): each upload
    /// stamps the remote file with the local mtime, so a file is up to date
    /// when the two are the same second, and an edit that left an older
    /// mtime (`touch -d`, `cp -p` of an older version) is sent. A file sent
    /// within a second of its mtime was stamped a second earlier (an edit
    /// later in that second keeps the mtime): it is compared by SHA-256.
    SameMtimeUp,
    /// `--checksum`: the size alone here; the SHA-256s are compared after.
    Checksum,
}

/// What a mirror does, in order: remove what is in the way, make
/// directories, move files.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Plan {
    /// Destination entries to remove before anything else: extras (with
    /// `--delete`) and entries of the wrong kind in the way, top-most only
    /// (removing a directory removes what is below it).
    pub remove: Vec<Remove>,
    /// Directories to make, parents first.
    pub mkdir: Vec<Vec<u8>>,
    /// Files to move.
    pub copy: Vec<Vec<u8>>,
    /// Files of the same size whose contents only a checksum can judge
    /// ([`Rule::Checksum`]).
    pub verify: Vec<Vec<u8>>,
    /// Files judged the same.
    pub unchanged: usize,
    /// Source entries that cannot be mirrored, and why (a directory in the way
    /// of a file without `--delete`).
    pub blocked: Vec<(Vec<u8>, String)>,
    /// Source entries skipped: neither a file nor a directory.
    pub skipped: Vec<Vec<u8>>,
}

/// One destination entry to remove.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Remove {
    /// Its path below the destination.
    pub rel: Vec<u8>,
    /// What it is there.
    pub kind: Kind,
    /// An extra (`--delete`), rather than an entry in the way of the source's.
    pub extra: bool,
}

impl Plan {
    /// How many removals are extras.
    pub fn extras(&self) -> usize {
        self.remove.iter().filter(|r| r.extra).count()
    }
}

/// Whether `p` lies below one of `dirs`.
fn below(p: &[u8], dirs: &[Vec<u8>]) -> bool {
    dirs.iter()
        .any(|d| p.len() > d.len() && p.starts_with(d) && p[d.len()] == b'/')
}

/// Compares `src` with `dst`. With `delete`, what `dst` holds and `src` does
/// not is removed, as is a directory in the way of a file; a file or a link in
/// the way of a directory is always replaced (as a file replaces a file).
pub fn plan(src: &Side, dst: &Side, rule: Rule, delete: bool) -> Plan {
    let mut p = Plan::default();
    // what goes away, top-most entries only
    let mut gone: Vec<Vec<u8>> = Vec::new();
    for (rel, d) in dst {
        if below(rel, &gone) {
            continue;
        }
        let in_way = match src.get(rel) {
            None => {
                if delete {
                    p.remove.push(Remove {
                        rel: rel.clone(),
                        kind: d.kind,
                        extra: true,
                    });
                    gone.push(rel.clone());
                }
                continue;
            }
            Some(s) => match (s.kind, d.kind) {
                (Kind::Dir, Kind::Dir) => false,
                // a file or a link where a directory goes
                (Kind::Dir, _) => true,
                // a whole directory where a file goes: only when asked
                (Kind::File, Kind::Dir) => delete,
                _ => false,
            },
        };
        if in_way {
            p.remove.push(Remove {
                rel: rel.clone(),
                kind: d.kind,
                extra: false,
            });
            gone.push(rel.clone());
        }
    }
    let mut blocked_dirs: Vec<Vec<u8>> = Vec::new();
    for (rel, s) in src {
        if below(rel, &blocked_dirs) {
            continue;
        }
        let d = dst.get(rel).filter(|_| !gone.contains(rel));
        match s.kind {
            Kind::Other => p.skipped.push(rel.clone()),
            Kind::Dir => {
                if !matches!(d, Some(d) if d.kind == Kind::Dir) {
                    p.mkdir.push(rel.clone());
                }
            }
            Kind::File => match d {
                Some(d) if d.kind == Kind::Dir => {
                    p.blocked.push((
                        rel.clone(),
                        "a directory is in the way of this file (--delete removes it)".into(),
                    ));
                    blocked_dirs.push(rel.clone());
                }
                Some(d) if d.kind == Kind::File && d.size == s.size => match rule {
                    // a download stamps the local file with the server's
                    // mtime; one landed within a second of that mtime may
                    // predate an edit made in the same second
                    Rule::SameMtime if d.mtime == s.mtime && racy(d.changed, s.mtime) => p.verify.push(rel.clone()),
                    Rule::SameMtime if d.mtime == s.mtime => p.unchanged += 1,
                    // an upload's arrival second equal to (or just after) the
                    // local mtime cannot tell an edit in that second
                    Rule::RemoteNotOlder if d.mtime >= s.mtime && racy(d.mtime, s.mtime) => p.verify.push(rel.clone()),
                    Rule::RemoteNotOlder if d.mtime >= s.mtime => p.unchanged += 1,
                    Rule::SameMtimeUp if d.mtime == s.mtime => p.unchanged += 1,
                    Rule::SameMtimeUp if d.mtime == s.mtime.saturating_sub(1) => p.verify.push(rel.clone()),
                    Rule::Checksum => p.verify.push(rel.clone()),
                    _ => p.copy.push(rel.clone()),
                },
                _ => p.copy.push(rel.clone()),
            },
        }
    }
    p
}

/// FSTAT of every path, pipelined. The outer error is the session's (it
/// failed, or an answer was no FSTAT record); each path's own outcome is its
/// [`listing::Stat`] or the [`Error::Refused`] the server gave for it, so one
/// missing file does not end the batch.
pub fn fstat_all(c: &mut Client, paths: &[Vec<u8>]) -> Result<Vec<Result<listing::Stat, Error>>, Error> {
    let answers = crate::remote::pipeline::pipelined(c, "FSTAT", paths)?;
    answers
        .into_iter()
        .map(|st| match &st {
            Status::Ok(d) => listing::parse_fstat(d)
                .map(Ok)
                .ok_or_else(|| Error::Protocol(format!("FSTAT answered {:?}", names::shown(d)))),
            _ => Ok(Err(Error::refused("FSTAT", st))),
        })
        .collect()
}

/// The SHA-256 of a local file in the document's text form (`0x` and hex),
/// to compare with a SHA256 answer.
pub fn local_sha256(path: &Path) -> io::Result<Vec<u8>> {
    use sha2::{Digest, Sha256};
    let mut f = std::fs::File::open(path)?;
    let mut h = Sha256::new();
    io::copy(&mut f, &mut h)?;
    Ok(tfp_wire::sha256_text(&h.finalize().into()).to_vec())
}

fn cstr(b: &[u8]) -> io::Result<CString> {
    CString::new(b).map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "a NUL in a name"))
}

/// Removes `rel` below the directory `root` (a file, a symlink itself, or a
/// directory with everything in it). Its parent is reached with no symlink
/// followed (RESOLVE_BENEATH and RESOLVE_NO_SYMLINKS) and the removal goes by
/// descriptors that follow none, so nothing outside `root` can be removed,
/// whatever was planted in it.
pub fn remove_below(root: BorrowedFd<'_>, rel: &[u8]) -> io::Result<()> {
    names::check(rel).map_err(|why| io::Error::new(io::ErrorKind::InvalidInput, why.to_string()))?;
    let (parent, name) = match rel.iter().rposition(|&b| b == b'/') {
        Some(i) => (&rel[..i], &rel[i + 1..]),
        None => (&b"."[..], rel),
    };
    let dir = sys::openat2_beneath_nolinks(root, &cstr(parent)?, libc::O_RDONLY | libc::O_DIRECTORY, 0)?;
    let name = cstr(name)?;
    let st = sys::fstatat(dir.as_fd(), &name, false)?;
    if st.st_mode & libc::S_IFMT != libc::S_IFDIR {
        return sys::unlinkat(dir.as_fd(), &name, false);
    }
    let mut budget = u64::MAX;
    let r = tfd_sys::dir::remove_tree(dir.as_fd(), &name, &|_, _, _| false, &mut budget);
    if r.kept > 0 {
        return Err(io::Error::other(format!("{} entries could not be removed", r.kept)));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(kind: Kind, size: u64, mtime: i64) -> Meta {
        Meta {
            kind,
            size,
            mtime,
            changed: mtime + 100,
        }
    }

    fn side(v: &[(&str, Meta)]) -> Side {
        v.iter().map(|(k, m)| (k.as_bytes().to_vec(), *m)).collect()
    }

    fn rm(rel: &str, kind: Kind, extra: bool) -> Remove {
        Remove {
            rel: rel.as_bytes().to_vec(),
            kind,
            extra,
        }
    }

    fn names(v: &[Vec<u8>]) -> Vec<&str> {
        v.iter().map(|x| std::str::from_utf8(x).unwrap()).collect()
    }

    #[test]
    fn times_too_close_to_compare_go_to_the_checksums() {
        let f = |mtime, changed| {
            side(&[(
                "f",
                Meta {
                    kind: Kind::File,
                    size: 3,
                    mtime,
                    changed,
                },
            )])
        };
        // a download: the local copy landed in the second of the remote mtime
        let p = plan(&f(100, 0), &f(100, 100), Rule::SameMtime, false);
        assert_eq!((names(&p.verify), p.unchanged), (vec!["f"], 0));
        let p = plan(&f(100, 0), &f(100, 102), Rule::SameMtime, false);
        assert_eq!((p.verify.len(), p.unchanged), (0, 1));
        // an upload: it arrived in the second of the local edit
        let p = plan(&f(100, 0), &f(100, 0), Rule::RemoteNotOlder, false);
        assert_eq!((p.verify.len(), p.unchanged), (1, 0));
        let p = plan(&f(100, 0), &f(105, 0), Rule::RemoteNotOlder, false);
        assert_eq!((p.verify.len(), p.unchanged), (0, 1));
    }

    #[test]
    fn only_what_differs_moves() {
        let src = side(&[
            ("d", m(Kind::Dir, 0, 1)),
            ("d/same", m(Kind::File, 3, 100)),
            ("d/newer", m(Kind::File, 3, 200)),
            ("d/bigger", m(Kind::File, 4, 100)),
            ("new", m(Kind::File, 0, 5)),
            ("empty", m(Kind::Dir, 0, 1)),
            ("link", m(Kind::Other, 0, 1)),
        ]);
        let dst = side(&[
            ("d", m(Kind::Dir, 0, 9)),
            ("d/same", m(Kind::File, 3, 100)),
            ("d/newer", m(Kind::File, 3, 100)),
            ("d/bigger", m(Kind::File, 3, 100)),
            ("extra", m(Kind::Dir, 0, 1)),
            ("extra/x", m(Kind::File, 1, 1)),
        ]);
        let p = plan(&src, &dst, Rule::SameMtime, false);
        assert_eq!(names(&p.copy), ["d/bigger", "d/newer", "new"]);
        assert_eq!(names(&p.mkdir), ["empty"]);
        assert_eq!(p.unchanged, 1);
        assert!(p.remove.is_empty());
        assert_eq!(names(&p.skipped), ["link"]);
        let p = plan(&src, &dst, Rule::SameMtime, true);
        assert_eq!(p.remove, [rm("extra", Kind::Dir, true)], "top-most only");
        assert_eq!(p.extras(), 1);
        // an upload is up to date when the remote copy is not older
        let p = plan(&src, &dst, Rule::RemoteNotOlder, false);
        assert_eq!(names(&p.copy), ["d/bigger", "d/newer", "new"]);
        let later = side(&[("f", m(Kind::File, 3, 300))]);
        let p = plan(
            &side(&[("f", m(Kind::File, 3, 200))]),
            &later,
            Rule::RemoteNotOlder,
            false,
        );
        assert_eq!((p.copy.len(), p.unchanged), (0, 1));
        // with batches (stamped mtimes): the same second, nothing else; a
        // remote newer than the local copy moves too; a second less was a
        // file sent within a second of its mtime, judged by content
        let p = plan(&src, &dst, Rule::SameMtimeUp, false);
        assert_eq!(names(&p.copy), ["d/bigger", "d/newer", "new"]);
        assert_eq!(p.unchanged, 1);
        let p = plan(&side(&[("f", m(Kind::File, 3, 200))]), &later, Rule::SameMtimeUp, false);
        assert_eq!(names(&p.copy), ["f"]);
        let racy = side(&[("f", m(Kind::File, 3, 199))]);
        let p = plan(&side(&[("f", m(Kind::File, 3, 200))]), &racy, Rule::SameMtimeUp, false);
        assert_eq!((names(&p.verify), p.copy.len()), (vec!["f"], 0));
        // --checksum: same size goes to the hashes, whatever the times
        let p = plan(&src, &dst, Rule::Checksum, false);
        assert_eq!(names(&p.verify), ["d/newer", "d/same"]);
        assert_eq!(names(&p.copy), ["d/bigger", "new"]);
    }

    #[test]
    fn entries_of_the_wrong_kind_are_replaced_or_refused() {
        let src = side(&[
            ("a", m(Kind::Dir, 0, 1)),
            ("a/f", m(Kind::File, 1, 1)),
            ("b", m(Kind::File, 1, 1)),
            ("c", m(Kind::File, 1, 1)),
        ]);
        let dst = side(&[
            ("a", m(Kind::Other, 0, 1)),
            ("b", m(Kind::Dir, 0, 1)),
            ("b/keep", m(Kind::File, 1, 1)),
            ("c", m(Kind::Other, 0, 1)),
        ]);
        let p = plan(&src, &dst, Rule::SameMtime, false);
        // a link where a directory goes is removed (the link, never its target)
        assert_eq!(p.remove, [rm("a", Kind::Other, false)]);
        assert_eq!(names(&p.mkdir), ["a"]);
        // a link where a file goes is replaced by the file's rename
        assert_eq!(names(&p.copy), ["a/f", "c"]);
        assert_eq!(p.blocked.len(), 1, "a directory in the way needs --delete");
        let p = plan(&src, &dst, Rule::SameMtime, true);
        assert_eq!(p.remove, [rm("a", Kind::Other, false), rm("b", Kind::Dir, false)]);
        assert_eq!(p.extras(), 0);
        assert_eq!(names(&p.copy), ["a/f", "b", "c"]);
    }

    #[test]
    fn removal_stays_below_the_root_and_follows_no_link() {
        let d = std::env::temp_dir().join(format!("tfd-sync-rm-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        let (root, out) = (d.join("root"), d.join("out"));
        std::fs::create_dir_all(root.join("t/u")).unwrap();
        std::fs::create_dir_all(&out).unwrap();
        std::fs::write(out.join("keep"), b"k").unwrap();
        std::fs::write(root.join("t/u/f"), b"f").unwrap();
        std::os::unix::fs::symlink(&out, root.join("ln")).unwrap();
        std::os::unix::fs::symlink(&out, root.join("t/ln")).unwrap();
        let fd = std::fs::File::open(&root).unwrap();
        assert!(remove_below(fd.as_fd(), b"ln/keep").is_err(), "through a link");
        assert!(remove_below(fd.as_fd(), b"../out/keep").is_err());
        remove_below(fd.as_fd(), b"ln").unwrap();
        remove_below(fd.as_fd(), b"t").unwrap();
        assert!(out.join("keep").exists());
        assert_eq!(std::fs::read_dir(&root).unwrap().count(), 0);
        std::fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn the_scan_sees_links_as_links() {
        let d = std::env::temp_dir().join(format!("tfd-sync-scan-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(d.join("a b/é")).unwrap();
        std::fs::write(d.join("a b/é/f"), b"123").unwrap();
        std::os::unix::fs::symlink("/etc", d.join("ln")).unwrap();
        let (s, errors) = scan(&d).unwrap();
        assert!(errors.is_empty());
        let kinds: Vec<(&str, Kind, u64)> = s
            .iter()
            .map(|(k, m)| (std::str::from_utf8(k).unwrap(), m.kind, m.size))
            .collect();
        assert_eq!(
            kinds,
            [
                ("a b", Kind::Dir, 0),
                ("a b/é", Kind::Dir, 0),
                ("a b/é/f", Kind::File, 3),
                ("ln", Kind::Other, 0)
            ]
        );
        std::fs::remove_dir_all(&d).unwrap();
    }
}
