//! The partial downloads a directory holds (`.NAME.tf-partial` and its
//! journal, [`crate::engine::partial`]): found below a directory, each with
//! the file it is a partial of, its size, its age and whether a later
//! `--resume` could continue it (its journal is there), and removed on
//! request through the engine's own open, so one a running tf holds, or one
//! that is not provably the user's, is left alone.

use crate::engine::beside::{short, Beside};
use crate::engine::partial::{self, Partial};
use std::ffi::OsStr;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

/// The most directories one search reads: a bound on a tree of any size.
const MAX_DIRS: usize = 1_000_000;

/// The ends of a partial's names: its journal while it is replaced, its
/// journal, its data.
const ENDS: [&str; 3] = [".tf-partial.journal.new", ".tf-partial.journal", ".tf-partial"];

/// The leftovers of one target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Leftover {
    /// The file they are a partial download of.
    pub target: PathBuf,
    /// The files themselves (data, journal, the journal's `.new`), as found.
    pub files: Vec<PathBuf>,
    /// Their bytes.
    pub size: u64,
    /// The newest modification among them.
    pub modified: Option<SystemTime>,
    /// Whether a journal that loads is there: a later `--resume` (or a
    /// `mirror`) continues the partial from what it proves.
    pub resumable: bool,
}

/// The target a partial's `rel` names (`d/.big.bin.tf-partial` and its
/// journals are `d/big.bin`'s). A name cut short to fit ([`short`]) names no
/// target for sure: None.
pub fn target_of(rel: &[u8]) -> Option<Vec<u8>> {
    let (dir, name) = match rel.iter().rposition(|&b| b == b'/') {
        Some(i) => (&rel[..=i], &rel[i + 1..]),
        None => (&rel[..0], rel),
    };
    let name = name.strip_prefix(b".")?;
    let end = ENDS.iter().find(|e| name.ends_with(e.as_bytes()))?;
    let target = &name[..name.len() - end.len()];
    if target.is_empty() || short(target).len() < target.len() || target.len() >= 200 {
        return None;
    }
    Some([dir, target].concat())
}

/// The leftovers below `dir` (every level, no symbolic link followed), by
/// target, and the directories that could not be read.
pub fn find(dir: &Path) -> (Vec<Leftover>, Vec<(PathBuf, io::Error)>) {
    let mut found: std::collections::BTreeMap<PathBuf, Leftover> = Default::default();
    let mut unread = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    let mut read = 0;
    while let Some(d) = todo.pop() {
        read += 1;
        if read > MAX_DIRS {
            unread.push((d, io::Error::other("too many directories: the search stopped here")));
            break;
        }
        let entries = match std::fs::read_dir(&d) {
            Ok(e) => e,
            Err(e) => {
                unread.push((d, e));
                continue;
            }
        };
        for e in entries.flatten() {
            let Ok(kind) = e.file_type() else { continue };
            let path = e.path();
            if kind.is_dir() {
                todo.push(path);
            } else if kind.is_file() && partial::is_partial_name(e.file_name().as_bytes()) {
                let Some(target) = target_of(e.file_name().as_bytes()) else {
                    continue;
                };
                let meta = e.metadata().ok();
                let target = d.join(OsStr::from_bytes(&target));
                let l = found.entry(target.clone()).or_insert_with(|| Leftover {
                    target,
                    files: Vec::new(),
                    size: 0,
                    modified: None,
                    resumable: false,
                });
                l.files.push(path);
                l.size += meta.as_ref().map_or(0, |m| m.len());
                l.modified = l.modified.max(meta.and_then(|m| m.modified().ok()));
            }
        }
    }
    let mut out: Vec<Leftover> = found.into_values().collect();
    for l in &mut out {
        l.files.sort();
        l.resumable = Beside::path(&l.target).is_ok_and(|b| partial::has_journal(&b));
    }
    (out, unread)
}

/// Removes `l`'s files: the engine's open locks the partial (another tf's
/// is refused, `WouldBlock`) and takes only one provably the user's.
pub fn discard(l: &Leftover) -> io::Result<()> {
    Partial::open(&l.target)?.discard();
    // the journal's replacement a killed write left: the partial's own
    // open above proved the place ours
    let (_, journal) = partial::paths_for(&l.target);
    let mut new = journal.into_os_string();
    new.push(".new");
    match std::fs::remove_file(&new) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partial_names_name_their_targets() {
        assert_eq!(target_of(b"d/.big.bin.tf-partial").as_deref(), Some(&b"d/big.bin"[..]));
        assert_eq!(target_of(b".x.tf-partial.journal").as_deref(), Some(&b"x"[..]));
        assert_eq!(
            target_of(b"a/b/.x.tf-partial.journal.new").as_deref(),
            Some(&b"a/b/x"[..])
        );
        assert_eq!(target_of(b"x.tf-partial"), None);
        assert_eq!(target_of(b".tf-partial"), None);
        let long = [b".".to_vec(), vec![b'n'; 200], b".tf-partial".to_vec()].concat();
        assert_eq!(target_of(&long), None, "a name cut short names no target");
    }
}
