//! `--exclude PATTERN` and `--include PATTERN` for `put -r`, `get -r` and
//! `mirror`, with rsync's order: the rules are tried as given, the first
//! whose pattern matches decides, and a path no rule matches is taken. A
//! pattern without `/` matches an entry's name at any depth; one with `/`
//! matches the whole path below the tree's root (a leading `/` anchors it
//! there, as it does anyway); a trailing `/` matches directories only. An
//! excluded directory takes everything below it along, so
//! `--include '*.txt' --exclude '*'` keeps only the top level's text files,
//! as in rsync. Patterns are [`super::glob`]'s (`*` does not match a
//! leading `.`).
//!
//! In a mirror the rules apply to both sides: what is excluded is neither
//! copied nor, with `--delete`, removed.

use super::glob;
use super::sync::Side;
use crate::remote::listing::Kind;

/// One rule.
#[derive(Debug, Clone)]
struct Rule {
    include: bool,
    /// Components of the pattern.
    parts: Vec<Vec<u8>>,
    /// With `/`: matched against the whole path.
    anchored: bool,
    /// A trailing `/`: directories only.
    dir_only: bool,
}

/// The rules of one command, in the order given.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    rules: Vec<Rule>,
}

impl Filter {
    /// The rules from `(is_include, pattern)` pairs in the order typed.
    pub fn new<'a>(given: impl IntoIterator<Item = (bool, &'a str)>) -> Filter {
        let rules = given
            .into_iter()
            .map(|(include, p)| {
                let dir_only = p.ends_with('/');
                let body = p.trim_end_matches('/');
                let anchored = body.contains('/');
                Rule {
                    include,
                    parts: glob::components(body.as_bytes()).iter().map(|c| c.to_vec()).collect(),
                    anchored,
                    dir_only,
                }
            })
            .collect();
        Filter { rules }
    }

    /// Whether there is no rule at all.
    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    /// The first rule's verdict on `rel` itself (true: excluded).
    fn excludes_one(&self, rel: &[u8], dir: bool) -> bool {
        let comps: Vec<&[u8]> = rel.split(|&b| b == b'/').filter(|c| !c.is_empty()).collect();
        for r in &self.rules {
            if r.dir_only && !dir {
                continue;
            }
            let hit = if r.anchored {
                r.parts.len() == comps.len() && r.parts.iter().zip(&comps).all(|(p, n)| glob::matches(p, n))
            } else {
                match (r.parts.first(), comps.last()) {
                    (Some(p), Some(n)) => glob::matches(p, n),
                    _ => false,
                }
            };
            if hit {
                return !r.include;
            }
        }
        false
    }

    /// Whether `rel` (a path below the tree's root; `dir`: a directory) is
    /// left out: itself, or a directory above it, excluded.
    pub fn excludes(&self, rel: &[u8], dir: bool) -> bool {
        if self.rules.is_empty() {
            return false;
        }
        let mut end = 0;
        while let Some(i) = rel[end..].iter().position(|&b| b == b'/') {
            let parent = &rel[..end + i];
            if !parent.is_empty() && self.excludes_one(parent, true) {
                return true;
            }
            end += i + 1;
        }
        self.excludes_one(rel, dir)
    }

    /// A mirror's side without what the rules leave out.
    pub fn retain(&self, side: &mut Side) {
        if !self.rules.is_empty() {
            side.retain(|rel, m| !self.excludes(rel, m.kind == Kind::Dir));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_match_wins_and_directories_take_their_contents() {
        let f = Filter::new([(true, "*.txt"), (false, "*")]);
        assert!(!f.excludes(b"a.txt", false));
        assert!(f.excludes(b"a.log", false));
        // the directory is excluded by '*', so its text files go with it
        assert!(f.excludes(b"d", true));
        assert!(f.excludes(b"d/b.txt", false));
        let f = Filter::new([(false, "*.o"), (false, "build/"), (false, "src/gen/*.rs")]);
        assert!(f.excludes(b"x/y/z.o", false));
        assert!(f.excludes(b"build/a", false));
        assert!(!f.excludes(b"build", false), "a file named build is no directory");
        assert!(f.excludes(b"src/gen/a.rs", false));
        assert!(!f.excludes(b"src/a.rs", false));
        assert!(!f.excludes(b"other/src/gen/a.rs", false));
        assert!(!Filter::default().excludes(b"anything", false));
    }
}
