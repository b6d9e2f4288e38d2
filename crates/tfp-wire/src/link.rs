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
}
