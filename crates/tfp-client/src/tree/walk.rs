//! The local side of an upload: a tree walked without following any symlink,
//! and local glob patterns expanded (for `tf shell` and `tf -b`, where no
//! shell does it).

use super::glob;
use super::MAX_DEPTH;
use std::ffi::OsStr;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

/// A local tree: paths relative to its root, parents before children, each
/// directory's entries in byte order.
#[derive(Debug, Default)]
pub struct LocalTree {
    /// Directories below the root (the root itself not included).
    pub dirs: Vec<PathBuf>,
    /// Regular files and their sizes.
    pub files: Vec<(PathBuf, u64)>,
    /// What was not taken on purpose, and why (symlinks, devices, FIFOs,
    /// sockets, too deep).
    pub skipped: Vec<(PathBuf, String)>,
    /// What could not be read, and why (a directory, an entry's
    /// metadata): failures, as rsync's "IO error encountered".
    pub unread: Vec<(PathBuf, String)>,
}

impl LocalTree {
    /// The files' bytes in all.
    pub fn bytes(&self) -> u64 {
        self.files.iter().map(|f| f.1).sum()
    }
}

/// Why an upload of a tree leaves out a local entry of type `ft` (neither a
/// regular file nor a directory): the one reason `put -r` and `mirror -R`
/// give ([`skipped`]).
pub fn not_taken(ft: std::fs::FileType) -> &'static str {
    if ft.is_symlink() {
        "a symlink (not followed)"
    } else {
        "not a regular file or directory"
    }
}

/// The line an upload of a tree (`cmd`: put, mirror) tells for a local
/// entry it leaves out, `shown` its name escaped.
pub fn skipped(cmd: &str, shown: &str, why: &str) -> String {
    format!("{cmd}: {shown}: {why}, skipped")
}

/// Where a walk stands: a directory's identity (device, inode).
pub(crate) type Ident = (u64, u64);

/// Why a link followed with `-L` is left out: it names a directory above it.
pub(crate) const LOOP: &str = "a symlink to a directory that holds it (a loop), not followed";

/// What the symlink at `path` names, followed (`-L`): its metadata, or why
/// it is left out (no target to follow; a directory above it, a loop). The
/// directories above it are `above`.
pub(crate) fn followed(path: &Path, above: &[Ident]) -> Result<std::fs::Metadata, String> {
    use std::os::unix::fs::MetadataExt;
    let m = std::fs::metadata(path).map_err(|e| format!("a symlink that cannot be followed ({e})"))?;
    if m.is_dir() && above.contains(&(m.dev(), m.ino())) {
        return Err(LOOP.into());
    }
    Ok(m)
}

/// `p`'s metadata, its symlink followed with `follow` (`-L`).
pub(crate) fn metadata(p: &Path, follow: bool) -> io::Result<std::fs::Metadata> {
    if follow {
        std::fs::metadata(p)
    } else {
        std::fs::symlink_metadata(p)
    }
}

/// The identity of the directory `p`, for [`followed`]'s loop check.
pub(crate) fn ident(p: &Path) -> io::Result<Ident> {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata(p).map(|m| (m.dev(), m.ino()))
}

/// Walks `root` (a directory). Without `follow` no symlink is followed: a
/// link is skipped and said so, whether it points to a file or a directory,
/// inside or out. With it (`-L`) each link is what it names: a file taken,
/// a directory walked (one holding the link is a loop, skipped).
pub fn walk(root: &Path, follow: bool) -> io::Result<LocalTree> {
    use std::os::unix::fs::MetadataExt;
    let mut t = LocalTree::default();
    let mut stack: Vec<(PathBuf, usize, Vec<Ident>)> = vec![(PathBuf::new(), 0, vec![ident(root)?])];
    while let Some((rel, depth, above)) = stack.pop() {
        let dir = root.join(&rel);
        let rd = match std::fs::read_dir(&dir) {
            Ok(r) => r,
            Err(e) if rel.as_os_str().is_empty() => return Err(e),
            Err(e) => {
                t.unread.push((rel, format!("cannot read the directory: {e}")));
                continue;
            }
        };
        let mut entries: Vec<(std::ffi::OsString, std::fs::DirEntry)> = Vec::new();
        for e in rd {
            match e {
                Ok(e) => entries.push((e.file_name(), e)),
                Err(e) => t.unread.push((rel.clone(), format!("cannot read the directory: {e}"))),
            }
        }
        entries.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
        let mut subdirs = Vec::new();
        for (name, entry) in entries {
            let r = rel.join(&name);
            // a stat of the name in the directory's own descriptor, not of
            // its path from the root (a fifth of a 10,000-file walk)
            let m = match entry.metadata() {
                Ok(m) if follow && m.file_type().is_symlink() => match followed(&dir.join(&name), &above) {
                    Ok(m) => m,
                    Err(why) => {
                        t.skipped.push((r, why));
                        continue;
                    }
                },
                Ok(m) => m,
                Err(e) => {
                    t.unread.push((r, e.to_string()));
                    continue;
                }
            };
            let ft = m.file_type();
            if ft.is_symlink() {
                t.skipped.push((r, not_taken(ft).into()));
            } else if ft.is_dir() {
                if depth + 1 >= MAX_DEPTH {
                    t.skipped.push((r, format!("deeper than {MAX_DEPTH} directories")));
                    continue;
                }
                t.dirs.push(r.clone());
                let mut above = above.clone();
                above.push((m.dev(), m.ino()));
                subdirs.push((r, depth + 1, above));
            } else if ft.is_file() {
                t.files.push((r, m.len()));
            } else {
                t.skipped.push((r, not_taken(ft).into()));
            }
        }
        // popped in order: the first directory's subtree next
        stack.extend(subdirs.into_iter().rev());
    }
    Ok(t)
}

/// The local paths `pattern` names, sorted: each component with a wildcard
/// is matched against its directory's entries; a pattern without one names
/// itself (escapes removed) whether or not it exists.
pub fn expand(pattern: &str) -> io::Result<Vec<PathBuf>> {
    let p = pattern.as_bytes();
    if !glob::has_magic(p) {
        return Ok(vec![PathBuf::from(OsStr::from_bytes(&glob::unescape(p)))]);
    }
    let mut found: Vec<PathBuf> = vec![if p.starts_with(b"/") {
        PathBuf::from("/")
    } else {
        PathBuf::new()
    }];
    for comp in glob::components(p) {
        let mut next = Vec::new();
        for base in &found {
            if !glob::has_magic(comp) {
                let q = base.join(OsStr::from_bytes(&glob::unescape(comp)));
                if std::fs::symlink_metadata(&q).is_ok() {
                    next.push(q);
                }
                continue;
            }
            let dir = if base.as_os_str().is_empty() {
                Path::new(".")
            } else {
                base.as_path()
            };
            let Ok(rd) = std::fs::read_dir(dir) else { continue };
            let mut hits: Vec<PathBuf> = rd
                .filter_map(|e| e.ok())
                .filter(|e| glob::matches(comp, e.file_name().as_bytes()))
                .map(|e| base.join(e.file_name()))
                .collect();
            hits.sort_by(|a, b| a.as_os_str().as_bytes().cmp(b.as_os_str().as_bytes()));
            next.extend(hits);
        }
        found = next;
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(tag: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("tfd-walk-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    #[test]
    fn the_walk_takes_files_and_directories_and_no_symlink() {
        let d = scratch("walk");
        std::fs::create_dir_all(d.join("a/b")).unwrap();
        std::fs::create_dir_all(d.join("empty")).unwrap();
        std::fs::write(d.join("a/b/f"), b"123").unwrap();
        std::fs::write(d.join("top"), b"").unwrap();
        std::os::unix::fs::symlink("/etc", d.join("a/out")).unwrap();
        std::os::unix::fs::symlink("top", d.join("ln")).unwrap();
        let t = walk(&d, false).unwrap();
        assert_eq!(t.dirs, [PathBuf::from("a"), "empty".into(), "a/b".into()]);
        assert_eq!(t.files, [(PathBuf::from("top"), 0), ("a/b/f".into(), 3)]);
        let skipped: Vec<&Path> = t.skipped.iter().map(|s| s.0.as_path()).collect();
        assert_eq!(skipped, [Path::new("ln"), Path::new("a/out")]);
        std::fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn local_patterns_expand_per_component() {
        let d = scratch("glob");
        std::fs::create_dir_all(d.join("x1")).unwrap();
        std::fs::create_dir_all(d.join("x2")).unwrap();
        for f in ["x1/a.log", "x1/b.txt", "x2/c.log", "x2/.h.log", "x1/*"] {
            std::fs::write(d.join(f), b"").unwrap();
        }
        let base = d.to_str().unwrap();
        let got = expand(&format!("{base}/x?/*.log")).unwrap();
        assert_eq!(got, [d.join("x1/a.log"), d.join("x2/c.log")]);
        assert_eq!(expand(&format!("{base}/x1/\\*")).unwrap(), [d.join("x1/*")]);
        assert!(expand(&format!("{base}/nothing*")).unwrap().is_empty());
        std::fs::remove_dir_all(&d).unwrap();
    }
}
