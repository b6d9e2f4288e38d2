//! `--files-from FILE`: only the paths a list names, relative to the
//! source directory, as rsync's `--files-from` (which implies its
//! `--relative`): each listed path keeps its path below the destination,
//! the directories above it are made (rsync's implied directories), a
//! listed directory is made but not descended into (with `-r` it is taken
//! whole), and one listed with a trailing `/` brings its own entries (one
//! level), as rsync's `--dirs` does.

use std::collections::BTreeSet;

/// Most paths one list may hold.
pub const MAX_LISTED: usize = 1_000_000;
/// The largest list read.
pub const MAX_LIST_BYTES: usize = 64 << 20;

/// The paths of a `--files-from` list.
#[derive(Debug, Clone, Default)]
pub struct Listed {
    /// The paths as listed (cleaned: no leading `/` or `./`, no trailing
    /// `/`).
    paths: BTreeSet<Vec<u8>>,
    /// Those listed with a trailing `/`: their entries come too.
    slashed: BTreeSet<Vec<u8>>,
    /// The directories above a listed path.
    above: BTreeSet<Vec<u8>>,
    /// `-r`: a listed directory is taken whole.
    recurse: bool,
}

impl Listed {
    /// The list in `text` (one path a line; blank lines and lines starting
    /// with `#` or `;` skipped, as rsync does); `recurse`: `-r` was given.
    /// A path climbing with `..`, or a list over the bounds, is an error
    /// (one sentence, `named` naming the list).
    pub fn parse(text: &[u8], recurse: bool, named: &str) -> Result<Listed, String> {
        if text.len() > MAX_LIST_BYTES {
            return Err(format!("{named}: a list over {} MiB", MAX_LIST_BYTES >> 20));
        }
        let mut l = Listed {
            recurse,
            ..Listed::default()
        };
        for line in text.split(|&b| b == b'\n') {
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            if line.is_empty() || line[0] == b'#' || line[0] == b';' {
                continue;
            }
            let comps: Vec<&[u8]> = line
                .split(|&b| b == b'/')
                .filter(|c| !c.is_empty() && *c != b".")
                .collect();
            if comps.iter().any(|c| *c == b"..") {
                return Err(format!(
                    "{named}: {}: a listed path may not climb with ..",
                    String::from_utf8_lossy(line)
                ));
            }
            let path = comps.join(&b'/');
            if path.is_empty() {
                continue;
            }
            if line.ends_with(b"/") {
                l.slashed.insert(path.clone());
            }
            for (i, _) in path.iter().enumerate().filter(|(_, &b)| b == b'/') {
                l.above.insert(path[..i].to_vec());
            }
            l.paths.insert(path);
            if l.paths.len() > MAX_LISTED {
                return Err(format!("{named}: more than {MAX_LISTED} paths"));
            }
        }
        Ok(l)
    }

    /// The paths as listed.
    pub fn paths(&self) -> impl Iterator<Item = &[u8]> {
        self.paths.iter().map(Vec::as_slice)
    }

    /// Whether `rel` (a path below the source) is taken: listed, a
    /// directory above one, an entry of one listed with `/`, or with `-r`
    /// below a listed directory.
    pub fn takes(&self, rel: &[u8], dir: bool) -> bool {
        if self.paths.contains(rel) || (dir && self.above.contains(rel)) {
            return true;
        }
        let parent = rel.iter().rposition(|&b| b == b'/').map_or(&b""[..], |i| &rel[..i]);
        if self.slashed.contains(parent) {
            return true;
        }
        self.recurse
            && rel
                .iter()
                .enumerate()
                .any(|(i, &b)| b == b'/' && self.paths.contains(&rel[..i]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listed_paths_their_directories_and_nothing_else() {
        let l = Listed::parse(b"# a comment\na/b/z.txt\n/d/z.txt\n./e/\n\nf\n", false, "list").unwrap();
        for (p, dir) in [
            ("a", true),
            ("a/b", true),
            ("a/b/z.txt", false),
            ("d/z.txt", false),
            ("e", true),
            ("e/x", false),
            ("e/sub", true),
            ("f", true),
        ] {
            assert!(l.takes(p.as_bytes(), dir), "{p}");
        }
        for (p, dir) in [
            ("a/x", false),
            ("a", false),
            ("e/sub/y", false),
            ("f/g", false),
            ("# a comment", false),
        ] {
            assert!(!l.takes(p.as_bytes(), dir), "{p}");
        }
        let r = Listed::parse(b"f\n", true, "list").unwrap();
        assert!(r.takes(b"f/g/h", false));
        let e = Listed::parse(b"../x\n", false, "list").unwrap_err();
        assert!(e.contains("may not climb"), "{e}");
    }
}
