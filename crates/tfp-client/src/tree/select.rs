//! What moves beyond the filter rules, as rsync's options say it:
//! `--max-size`/`--min-size` (files only), `--update` (a file newer on
//! the receiver stays), `--ignore-existing` (nothing the receiver has is
//! touched), `--existing` (nothing the receiver lacks is made) and
//! `--delete-excluded`. These need the destination's state, so they act on
//! a mirror's plan ([`Select::prune`]): `tf mirror` and the tree runs given
//! one of them go through it (doc/architecture.md, "Selection").

use super::names::below;
use super::sync::{Plan, Side};
use crate::remote::listing::Kind;

/// The selection options of one run (all off: everything the filter takes
/// moves, as without them).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Select {
    /// `--max-size`: a file larger than this is not moved.
    pub max_size: Option<u64>,
    /// `--min-size`: a file smaller than this is not moved.
    pub min_size: Option<u64>,
    /// `--update`: a file whose copy on the receiver is newer stays.
    pub update: bool,
    /// `--ignore-existing`: what the receiver has is left as it is.
    pub ignore_existing: bool,
    /// `--existing`: nothing the receiver lacks is made.
    pub existing: bool,
    /// `--delete-excluded` (a mirror's `--delete`): what the filter leaves
    /// out is removed from the destination too.
    pub delete_excluded: bool,
}

/// An entry as the selection judges it, on either side.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fact {
    /// What it is.
    pub kind: Kind,
    /// Its size in bytes (a file's).
    pub size: u64,
    /// Its mtime, seconds since the epoch.
    pub mtime: i64,
}

impl Fact {
    /// A regular file of `size` bytes and `mtime`.
    pub fn file(size: u64, mtime: i64) -> Fact {
        Fact {
            kind: Kind::File,
            size,
            mtime,
        }
    }
}

/// Why a file is left as it is, as a single file's `put`/`get` tells it
/// ([`Select::why_left`] of a file onto a file or nothing).
pub fn why_kept(s: &Select, size: u64, theirs: Option<(u64, i64)>, mtime: i64) -> Option<&'static str> {
    s.why_left(Fact::file(size, mtime), theirs.map(|(n, t)| Fact::file(n, t)))
}

impl Select {
    /// Whether a tree run must know the destination (its plan is a
    /// mirror's).
    pub fn needs_plan(&self) -> bool {
        self.max_size.is_some() || self.min_size.is_some() || self.update || self.ignore_existing || self.existing
    }

    /// Why a file of `size` stays by the size limits, if it does.
    pub fn why_size(&self, size: u64) -> Option<&'static str> {
        if self.max_size.is_some_and(|m| size > m) {
            Some("larger than --max-size")
        } else if self.min_size.is_some_and(|m| size < m) {
            Some("smaller than --min-size")
        } else {
            None
        }
    }

    /// Whether a run must know what the destination holds at a source's
    /// name: `--update`, `--ignore-existing`, `--existing`.
    pub fn needs_dest(&self) -> bool {
        self.update || self.ignore_existing || self.existing
    }

    /// Why the source entry `src` leaves the destination's entry `dst` (None:
    /// nothing there) as it is, if it does: the one rule of every route, a
    /// single file's, a tree's file sources and a plan's entries alike.
    pub fn why_left(&self, src: Fact, dst: Option<Fact>) -> Option<&'static str> {
        if src.kind == Kind::File {
            if let Some(why) = self.why_size(src.size) {
                return Some(why);
            }
        }
        match dst {
            Some(_) if self.ignore_existing => Some("the destination exists (--ignore-existing)"),
            Some(d) if self.update && src.kind != Kind::Dir && d.kind == src.kind && d.mtime > src.mtime => {
                Some("newer at the destination (--update)")
            }
            None if self.existing => Some("not at the destination (--existing)"),
            _ => None,
        }
    }

    /// Whether the source entry `rel` may change the destination's.
    fn moves(&self, rel: &[u8], src: &Side, dst: &Side) -> bool {
        let Some(s) = src.get(rel) else { return true };
        let fact = |m: &super::sync::Meta| Fact {
            kind: m.kind,
            size: m.size,
            mtime: m.mtime,
        };
        self.why_left(fact(s), dst.get(rel).map(fact)).is_none()
    }

    /// Leaves out of `p` (a plan of `src` onto `dst`) what these options
    /// keep from moving: files by size, what the receiver is newer in, has
    /// or lacks; and what lies below a directory no longer made.
    pub fn prune(&self, p: &mut Plan, src: &Side, dst: &Side) {
        if !self.needs_plan() {
            return;
        }
        let kept = |rel: &Vec<u8>| self.moves(rel, src, dst);
        let unmade: Vec<Vec<u8>> = p.mkdir.iter().filter(|d| !kept(d)).cloned().collect();
        let keep = |rel: &Vec<u8>| kept(rel) && !unmade.iter().any(|d| below(rel, d));
        p.remove.retain(|r| r.extra || keep(&r.rel));
        p.mkdir.retain(keep);
        p.copy.retain(keep);
        p.verify.retain(keep);
        p.nodes.retain(keep);
        p.attrs.retain(keep);
        p.dirs
            .retain(|d| !unmade.contains(d) && !unmade.iter().any(|u| below(d, u)));
    }
}

/// A size as rsync's `--max-size` reads it: a number (a fraction too) and
/// an optional unit, `K`, `M`, `G`, `T` or `P` (powers of 1024; `KB`,
/// `MB`... powers of 1000; `KiB`... 1024; `B` bytes), then optionally `+1`
/// or `-1`; `None` when it is no such size.
pub fn parse_size(s: &str) -> Option<u64> {
    let num_end = s.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(s.len());
    let (num, rest) = s.split_at(num_end);
    let n: f64 = num.parse().ok()?;
    let (rest, adjust) = match rest {
        r if r.ends_with("+1") => (&r[..r.len() - 2], 1i64),
        r if r.ends_with("-1") => (&r[..r.len() - 2], -1),
        r => (r, 0),
    };
    let mut chars = rest.chars();
    let unit = chars.next().map(|c| c.to_ascii_uppercase());
    let power = match unit {
        None | Some('B') => 0,
        Some('K') => 1,
        Some('M') => 2,
        Some('G') => 3,
        Some('T') => 4,
        Some('P') => 5,
        Some(_) => return None,
    };
    let base: f64 = match chars.as_str().to_ascii_uppercase().as_str() {
        "" | "IB" => 1024.0,
        "B" if power > 0 => 1000.0,
        _ => return None,
    };
    let bytes = n * base.powi(power);
    if !bytes.is_finite() || bytes >= u64::MAX as f64 {
        return None;
    }
    u64::try_from(bytes as i128 + i128::from(adjust)).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_read_as_rsync_reads_them() {
        for (s, n) in [
            ("100", 100),
            ("1K", 1024),
            ("1k", 1024),
            ("1KB", 1000),
            ("1KiB", 1024),
            ("1.5M", 1_572_864),
            ("2G", 2 << 30),
            ("1M+1", 1_048_577),
            ("1M-1", 1_048_575),
            ("7b", 7),
        ] {
            assert_eq!(parse_size(s), Some(n), "{s}");
        }
        for s in ["", "x", "1X", "1KX", "-1", "1e99P"] {
            assert_eq!(parse_size(s), None, "{s}");
        }
    }
}
