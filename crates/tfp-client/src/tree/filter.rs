//! The filter rules of `put -r`, `get -r` and `mirror` (`--exclude`,
//! `--include`, `--exclude-from`, `--include-from`, `--filter`), with
//! rsync's order and its "INCLUDE/EXCLUDE PATTERN RULES": the rules are
//! tried as given, the first whose pattern matches decides, and a path no
//! rule matches is taken. An excluded directory takes everything below it
//! along, so `--include '*.txt' --exclude '*'` keeps only the top level's
//! text files, as in rsync.
//!
//! Where a pattern is matched, as rsync does: one with neither a `/` (but a
//! trailing one) nor `**` against an entry's name at any depth; a leading
//! `/` anchors it at the tree's root; any other `/` matches the last as
//! many components of the path (`src/*.rs` matches `x/src/a.rs`); one with
//! `**` the whole path, tried after every `/` (one starting with `**` also
//! with no directory in front). A trailing `/` matches directories only,
//! and `dir/***` the directory and everything in it. The wildcards are
//! [`super::wildmatch`]'s. [`Listed`] (`--files-from`) narrows the same way.
//!
//! In a mirror the rules apply to both sides: what is excluded is neither
//! copied nor, with `--delete`, removed (but with `--delete-excluded`).

use super::listed::Listed;
use super::sync::{Held, Side};
use super::wildmatch::{is_wild, Pattern};
use crate::remote::listing::Kind;

/// Where a rule's pattern is matched in a path.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Place {
    /// The last component.
    Name,
    /// The last this many components.
    Last(usize),
    /// The whole path.
    Whole,
    /// The whole path, or from after any `/` in it.
    AfterAnySlash,
    /// The whole path, with or without a `/` in front (`**/x` matches `x`).
    Rooted,
}

/// One rule.
#[derive(Debug, Clone)]
struct Rule {
    include: bool,
    pat: Pattern,
    place: Place,
    /// A trailing `/`: directories only.
    dir_only: bool,
    /// `dir/***`: the directory itself too.
    wild3: bool,
}

impl Rule {
    fn new(include: bool, p: &str) -> Rule {
        let dir_only = p.len() > 1 && p.ends_with('/');
        let body = if dir_only { &p[..p.len() - 1] } else { p };
        let (anchored, body) = match body.strip_prefix('/') {
            Some(b) => (true, b),
            None => (false, body),
        };
        let slashes = body.bytes().filter(|&b| b == b'/').count();
        let wild2 = body.contains("**");
        let place = match (anchored, slashes, wild2) {
            (true, _, _) => Place::Whole,
            (false, 0, false) => Place::Name,
            (false, n, false) => Place::Last(n + 1),
            (false, _, true) if body.starts_with("**") => Place::Rooted,
            (false, _, true) => Place::AfterAnySlash,
        };
        Rule {
            include,
            pat: Pattern::new(body.as_bytes(), is_wild(body.as_bytes())),
            place,
            dir_only,
            wild3: body.ends_with("/***"),
        }
    }

    /// Whether the rule's pattern matches `rel`.
    fn hits(&self, rel: &[u8], dir: bool) -> bool {
        if self.dir_only && !dir {
            return false;
        }
        let slashed;
        let text = if dir && self.wild3 {
            slashed = [rel, b"/"].concat();
            &slashed[..]
        } else {
            rel
        };
        match self.place {
            Place::Name => self.pat.matches(text.rsplit(|&b| b == b'/').next().unwrap_or(text)),
            Place::Last(n) => {
                let starts = text.iter().enumerate().filter(|(_, &b)| b == b'/').map(|(i, _)| i + 1);
                let from = starts.collect::<Vec<_>>().into_iter().rev().nth(n - 1).unwrap_or(0);
                self.pat.matches(&text[from..])
            }
            Place::Whole => self.pat.matches(text),
            Place::Rooted => self.pat.matches(text) || self.pat.matches(&[b"/", text].concat()),
            Place::AfterAnySlash => {
                self.pat.matches(text)
                    || text
                        .iter()
                        .enumerate()
                        .any(|(i, &b)| b == b'/' && self.pat.matches(&text[i + 1..]))
            }
        }
    }
}

/// Most rules one command may be given, its files' included.
pub const MAX_RULES: usize = 100_000;
/// The largest rule file read (`--exclude-from`, `--include-from`).
pub const MAX_RULE_FILE: usize = 4 << 20;

/// The rules of one command, in the order given.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    rules: Vec<Rule>,
    /// `--files-from`: only these paths.
    listed: Option<Listed>,
}

impl Filter {
    /// The rules from `(is_include, word)` pairs in the order typed, each
    /// word read as rsync reads an `--include`/`--exclude` (a `+ ` or `- `
    /// in front makes it that rule, `!` clears the list).
    pub fn new<'a>(given: impl IntoIterator<Item = (bool, &'a str)>) -> Filter {
        let mut f = Filter::default();
        for (include, w) in given {
            f.push_word(include, w);
        }
        f
    }

    /// Adds one `--include` (`include`) or `--exclude` word.
    pub fn push_word(&mut self, include: bool, w: &str) {
        match w {
            "" => {}
            "!" => self.rules.clear(),
            _ => match w.get(..2) {
                Some("+ " | "+_") => self.rules.push(Rule::new(true, &w[2..])),
                Some("- " | "-_") => self.rules.push(Rule::new(false, &w[2..])),
                _ => self.rules.push(Rule::new(include, w)),
            },
        }
    }

    /// Adds one `--filter` rule (`+ PAT`, `- PAT`, `include PAT`,
    /// `exclude PAT`, `!` or `clear`); what rsync has beyond these is
    /// refused with why.
    pub fn push_rule(&mut self, rule: &str) -> Result<(), String> {
        let rule = rule.trim_start();
        if rule.is_empty() {
            return Ok(());
        }
        if rule == "!" || rule == "clear" {
            self.rules.clear();
            return Ok(());
        }
        let (kind, pat) = match rule.split_once([' ', '_']) {
            Some((k, p)) => (k, p),
            None => (rule, ""),
        };
        let include = match kind {
            "+" | "include" => true,
            "-" | "exclude" => false,
            _ => {
                return Err(format!(
                    "--filter {rule:?}: tf takes rsync's +, -, include, exclude and ! rules only"
                ))
            }
        };
        if pat.is_empty() {
            return Err(format!("--filter {rule:?}: no pattern"));
        }
        self.rules.push(Rule::new(include, pat));
        self.bounded()
    }

    /// Adds the lines of a rule file (`--exclude-from`, `--include-from`:
    /// `include` its default; `filter`: each line a `--filter` rule), as
    /// rsync reads one: blank lines and lines starting with `#` or `;` are
    /// skipped. `named`: how the file is named in an error.
    pub fn push_file(&mut self, text: &[u8], include: bool, filter: bool, named: &str) -> Result<(), String> {
        if text.len() > MAX_RULE_FILE {
            return Err(format!("{named}: more than {} MiB of rules", MAX_RULE_FILE >> 20));
        }
        let text = std::str::from_utf8(text).map_err(|_| format!("{named}: not UTF-8 text"))?;
        for line in text.lines() {
            if line.is_empty() || line.starts_with(['#', ';']) {
                continue;
            }
            if filter {
                self.push_rule(line).map_err(|e| format!("{named}: {e}"))?;
            } else {
                self.push_word(include, line);
            }
            self.bounded().map_err(|e| format!("{named}: {e}"))?;
        }
        Ok(())
    }

    fn bounded(&self) -> Result<(), String> {
        if self.rules.len() > MAX_RULES {
            return Err(format!("more than {MAX_RULES} filter rules"));
        }
        Ok(())
    }

    /// Only the paths of `listed` (and what they imply) are taken.
    pub fn set_listed(&mut self, listed: Listed) {
        self.listed = Some(listed);
    }

    /// The `--files-from` paths the source lacks (`present` says what it
    /// has): each is told, as rsync fails on each.
    pub fn unlisted(&self, present: impl Fn(&[u8]) -> bool) -> Vec<Vec<u8>> {
        let Some(l) = &self.listed else { return Vec::new() };
        l.paths().filter(|p| !present(p)).map(<[u8]>::to_vec).collect()
    }

    /// Whether there is no rule at all.
    pub fn is_empty(&self) -> bool {
        self.rules.is_empty() && self.listed.is_none()
    }

    /// The first rule's verdict on `rel` itself (true: excluded).
    fn excludes_one(&self, rel: &[u8], dir: bool) -> bool {
        self.rules.iter().find(|r| r.hits(rel, dir)).is_some_and(|r| !r.include)
    }

    /// Whether `rel` (a path below the tree's root; `dir`: a directory) is
    /// left out: itself, or a directory above it, excluded, or not among
    /// the listed paths.
    pub fn excludes(&self, rel: &[u8], dir: bool) -> bool {
        if self.listed.as_ref().is_some_and(|l| !l.takes(rel, dir)) {
            return true;
        }
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

    /// The directories of `side` that hold an entry the rules leave out, at
    /// any depth below them: a mirror's `--delete` (without
    /// `--delete-excluded`) keeps them, and the way to what they hold, as
    /// rsync does.
    pub fn holding(&self, side: &Side) -> Held {
        let mut held = Held::new();
        if self.is_empty() {
            return held;
        }
        for (rel, m) in side {
            if !self.excludes(rel, m.kind == Kind::Dir) {
                continue;
            }
            let mut at = rel.as_slice();
            while let Some(i) = at.iter().rposition(|&b| b == b'/') {
                at = &at[..i];
                // its parents were added with it
                if !held.insert(at.to_vec()) {
                    break;
                }
            }
        }
        held
    }

    /// A mirror's side without what the rules leave out.
    pub fn retain(&self, side: &mut Side) {
        if !self.is_empty() {
            side.retain(|rel, m| !self.excludes(rel, m.kind == Kind::Dir));
        }
    }
}

#[cfg(test)]
mod tests;
