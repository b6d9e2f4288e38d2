//! `TFDLINK <existing> | <new>`, tfd's own (doc/compatibility.md "Backups
//! with history"): a hard link made on the server, so a file a backup
//! already holds joins the next snapshot without a byte crossing the link.
//!
//! Both paths travel as every other command's path (RENAM's and COPY's
//! `<a> | <b>` form); the first ` | ` separates them, so the existing path
//! cannot hold one, the new path can. Answered `OK`, or `FAILED` with
//! nothing changed: the new name already taken (`FAILED 12`: a link never
//! replaces, so a name always holds the file it held), the existing path
//! not a regular file or not readable by the session, either path out of
//! the root or through a symlink. A server without it answers `UNKNOWN`.
//!
//! `TFDLINKS <from>\0<to>\0<path>[\0<path>...]` ([`Links`]) makes many
//! links in one exchange: each `from/<path>` linked as `to/<path>`, as
//! TFDLINK would, the directories `to/<path>` goes into made first where
//! missing (as RMKDIR makes them). A backup's tens of thousands of
//! unchanged files were as many TFDLINKs, 31 windows of answers over a
//! 50 ms link (1.5 s of waiting alone); as TFDLINKS they are a few commands
//! sent at once. NUL separates the paths (no name holds one), so every other
//! byte a name holds travels as it is. The answer is `OK` and one word a
//! path, in order: `0` for a link made, else the FAILED code TFDLINK would
//! have answered for it alone (12 the name taken, 17 missing, ...); a
//! malformed command is `FAILED 16` and changes nothing.

use crate::command::{find, split_pipe};

/// The command.
pub const COMMAND: &str = "TFDLINK";

/// A link to make: `new` becomes another name of the file at `existing`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Link {
    /// The file linked.
    pub existing: Vec<u8>,
    /// The name made.
    pub new: Vec<u8>,
}

impl Link {
    /// The command's argument; `None` for a pair the grammar cannot carry
    /// (an empty path, a NUL, an existing path holding ` | `).
    pub fn encode(&self) -> Option<Vec<u8>> {
        let fits = !self.existing.is_empty()
            && !self.new.is_empty()
            && !self.existing.contains(&0)
            && !self.new.contains(&0)
            && find(&self.existing, b" | ").is_none();
        fits.then(|| [&self.existing[..], b" | ", &self.new[..]].concat())
    }

    /// The command's whole line.
    pub fn line(&self) -> Option<Vec<u8>> {
        Some([COMMAND.as_bytes(), b" ", &self.encode()?].concat())
    }

    /// Reads the argument; `None` for anything the grammar does not hold.
    pub fn parse(arg: &[u8]) -> Option<Link> {
        let (a, b) = split_pipe(arg)?;
        if a.is_empty() || b.is_empty() || a.contains(&0) || b.contains(&0) {
            return None;
        }
        Some(Link {
            existing: a.to_vec(),
            new: b.to_vec(),
        })
    }
}

/// The many-links command.
pub const LINKS: &str = "TFDLINKS";
/// The most paths one [`Links`] carries.
pub const MAX_PATHS: usize = 8192;
/// The longest argument of one [`Links`]: its command fits one frame.
pub const MAX_ARG: usize = crate::MAX_FRAME - 64;
/// The longest path (a directory's or a file's below it), in bytes.
pub const MAX_PATH: usize = 4096;

/// Many links in one command: `from/<p>` becomes `to/<p>` for each `p` of
/// `paths`, each a plain relative path (no empty, `.` or `..` component,
/// no leading `/`), so every link stays below `from` and `to`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Links {
    /// The directory the existing files are below.
    pub from: Vec<u8>,
    /// The directory the new names are made below.
    pub to: Vec<u8>,
    /// The files, relative to both.
    pub paths: Vec<Vec<u8>>,
}

/// Whether `p` can travel as a [`Links`] path: non-empty, no NUL, at most
/// [`MAX_PATH`] bytes, relative, every component a name.
pub fn relative_fits(p: &[u8]) -> bool {
    !p.is_empty()
        && p.len() <= MAX_PATH
        && !p.contains(&0)
        && p.split(|&b| b == b'/')
            .all(|c| !c.is_empty() && c != b"." && c != b"..")
}

/// Whether `d` can travel as [`Links::from`] or [`Links::to`].
fn dir_fits(d: &[u8]) -> bool {
    !d.is_empty() && d.len() <= MAX_PATH && !d.contains(&0)
}

impl Links {
    /// The command's argument; `None` for links the grammar cannot carry
    /// (no path or more than [`MAX_PATHS`], a path that does not fit, an
    /// argument over [`MAX_ARG`]).
    pub fn encode(&self) -> Option<Vec<u8>> {
        let ok = dir_fits(&self.from)
            && dir_fits(&self.to)
            && !self.paths.is_empty()
            && self.paths.len() <= MAX_PATHS
            && self.paths.iter().all(|p| relative_fits(p));
        if !ok {
            return None;
        }
        let mut out = [&self.from[..], b"\0", &self.to[..]].concat();
        for p in &self.paths {
            out.push(0);
            out.extend_from_slice(p);
        }
        (out.len() <= MAX_ARG).then_some(out)
    }

    /// The length [`Links::encode`]'s argument has with one more path `p`,
    /// given the length `now` without it.
    pub fn grown(now: usize, p: &[u8]) -> usize {
        now + 1 + p.len()
    }

    /// Reads the argument; `None` for anything the grammar does not hold.
    pub fn parse(arg: &[u8]) -> Option<Links> {
        if arg.len() > MAX_ARG {
            return None;
        }
        let mut parts = arg.split(|&b| b == 0);
        let (from, to) = (parts.next()?, parts.next()?);
        if !dir_fits(from) || !dir_fits(to) {
            return None;
        }
        let mut paths = Vec::new();
        for p in parts {
            if paths.len() == MAX_PATHS || !relative_fits(p) {
                return None;
            }
            paths.push(p.to_vec());
        }
        (!paths.is_empty()).then(|| Links {
            from: from.to_vec(),
            to: to.to_vec(),
            paths,
        })
    }
}

/// The text after `OK ` of a [`Links`]' answers: per path `0` (linked) or
/// its FAILED code.
pub fn encode_answers(codes: &[u16]) -> Vec<u8> {
    codes
        .iter()
        .map(u16::to_string)
        .collect::<Vec<_>>()
        .join(" ")
        .into_bytes()
}

/// Reads the answers to [`Links`] of `n` paths; `None` when they are not
/// exactly `n` codes.
pub fn parse_answers(text: &[u8], n: usize) -> Option<Vec<u16>> {
    let text = std::str::from_utf8(text).ok()?;
    let codes: Vec<u16> = text
        .split(' ')
        .map(|w| canonical(w).then(|| w.parse().ok())?)
        .collect::<Option<_>>()?;
    (codes.len() == n).then_some(codes)
}

/// A code as [`encode_answers`] writes it: digits, no leading zero.
fn canonical(w: &str) -> bool {
    !w.is_empty() && w.bytes().all(|b| b.is_ascii_digit()) && (w == "0" || !w.starts_with('0'))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn l(a: &str, b: &str) -> Link {
        Link {
            existing: a.into(),
            new: b.into(),
        }
    }

    #[test]
    fn links_round_trip() {
        for x in [l("a", "b"), l("dir/a file", "snap/x | y"), l("../a", "/b")] {
            let arg = x.encode().expect("encodes");
            assert_eq!(Link::parse(&arg), Some(x.clone()));
        }
        assert_eq!(l("a", "b").line().as_deref(), Some(&b"TFDLINK a | b"[..]));
    }

    #[test]
    fn what_the_grammar_does_not_hold_is_refused() {
        for bad in [l("", "b"), l("a", ""), l("a | b", "c"), l("a\0", "b"), l("a", "b\0")] {
            assert_eq!(bad.encode(), None, "{bad:?}");
        }
        for bad in [&b""[..], b"a", b"a|b", b" | b", b"a | ", b"a\0 | b", b"a | b\0"] {
            assert_eq!(Link::parse(bad), None, "{:?}", String::from_utf8_lossy(bad));
        }
    }

    fn ls(from: &str, to: &str, paths: &[&str]) -> Links {
        Links {
            from: from.into(),
            to: to.into(),
            paths: paths.iter().map(|p| p.as_bytes().to_vec()).collect(),
        }
    }

    #[test]
    fn many_links_round_trip() {
        for x in [
            ls("a", "b", &["f"]),
            ls("bk/2026/tree", "bk/.part-x/tree", &["d/e f", "d/g | h", "\n\x01odd"]),
        ] {
            let arg = x.encode().expect("encodes");
            assert_eq!(Links::parse(&arg), Some(x.clone()));
        }
        assert_eq!(ls("a", "b", &["f", "d/g"]).encode().unwrap(), b"a\0b\0f\0d/g");
        let codes = [0, 12, 17, 0];
        assert_eq!(parse_answers(&encode_answers(&codes), 4), Some(codes.to_vec()));
        assert_eq!(parse_answers(b"0 12", 3), None);
        assert_eq!(parse_answers(b"0  12", 3), None);
        assert_eq!(parse_answers(b"0 -1", 2), None);
        assert_eq!(parse_answers(b"0 012", 2), None);
    }

    #[test]
    fn many_links_the_grammar_does_not_hold_are_refused() {
        for bad in [
            ls("", "b", &["f"]),
            ls("a", "", &["f"]),
            ls("a", "b", &[]),
            ls("a", "b", &["../f"]),
            ls("a", "b", &["d/../../f"]),
            ls("a", "b", &["/etc/passwd"]),
            ls("a", "b", &["d//f"]),
            ls("a", "b", &["./f"]),
            ls("a", "b", &["d/"]),
            ls("a", "b", &[".."]),
        ] {
            assert_eq!(bad.encode(), None, "{bad:?}");
        }
        for bad in [
            &b""[..],
            b"a",
            b"a\0b",
            b"a\0b\0",
            b"\0b\0f",
            b"a\0b\0f\0",
            b"a\0b\0../f",
            b"a\0b\0/f",
        ] {
            assert_eq!(Links::parse(bad), None, "{:?}", String::from_utf8_lossy(bad));
        }
        let many = vec!["f"; MAX_PATHS + 1];
        assert_eq!(ls("a", "b", &many).encode(), None);
        assert!(ls("a", "b", &many[..MAX_PATHS]).encode().is_some());
        let long = "x/".repeat(MAX_PATH / 2) + "f";
        assert_eq!(ls("a", "b", &[&long]).encode(), None);
    }
}
