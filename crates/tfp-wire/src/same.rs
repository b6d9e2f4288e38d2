//! `TFDSTATID <path>` and `TFDDELIF <identity> <path>`, tfd's own
//! (doc/compatibility.md "Removal of the same file only"): what a client
//! needs to remove a server's file only while it is the file it proved
//! (`tf get -r --remove-source-files`), and to tell a file rewritten while
//! it was read (a download) from one that held still.
//!
//! `TFDSTATID <path>` answers `OK <identity>` of a regular file (followed
//! as FSTAT follows it): its size, its mtime and ctime to the nanosecond
//! (`<seconds>.<nanoseconds>`, nine digits) and its inode number, four
//! words ([`Ident`]). A rewrite of the same size moves its mtime or, when
//! the mtime was set back, its ctime; a file replaced by another name has
//! another inode. Anything but a regular file is `FAILED 23`, a missing
//! one `FAILED 9`.
//!
//! `TFDDELIF <identity> <path>` is DEL of `path` (a regular file, not
//! followed), made only if the file has that identity when it is removed,
//! looked at through the directory it is removed from: else `FAILED 7`
//! ([`CHANGED`]) and nothing changes. A malformed identity is `FAILED 16`.
//! A server without them answers `UNKNOWN`; a client then falls back to
//! FSTAT (size and mtime in seconds) and DEL.

/// The identity's command.
pub const STAT: &str = "TFDSTATID";
/// The conditional DEL.
pub const DEL_IF: &str = "TFDDELIF";
/// TFDDELIF's text for a file that is no longer the one named.
pub const CHANGED: &str = "the file changed since it was proven; not removed";

/// What tells one state of a file from another.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ident {
    /// Its size in bytes.
    pub size: u64,
    /// Its mtime: seconds, nanoseconds.
    pub mtime: (i64, u32),
    /// Its ctime: seconds, nanoseconds.
    pub ctime: (i64, u32),
    /// Its inode number.
    pub ino: u64,
}

/// `<seconds>.<nanoseconds>` parsed.
fn time(w: &[u8]) -> Option<(i64, u32)> {
    let w = std::str::from_utf8(w).ok()?;
    let (s, ns) = w.split_once('.')?;
    if ns.len() != 9 || !ns.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some((s.parse().ok()?, ns.parse().ok()?))
}

/// A decimal number, digits only.
fn number(w: &[u8]) -> Option<u64> {
    if w.is_empty() || !w.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(w).ok()?.parse().ok()
}

impl Ident {
    /// The four words, as TFDSTATID answers them and TFDDELIF takes them.
    pub fn text(&self) -> String {
        format!(
            "{} {}.{:09} {}.{:09} {}",
            self.size, self.mtime.0, self.mtime.1, self.ctime.0, self.ctime.1, self.ino
        )
    }

    /// TFDSTATID's answer parsed; `None` for anything else.
    pub fn parse(text: &[u8]) -> Option<Ident> {
        let w: Vec<&[u8]> = text.split(|&b| b == b' ').collect();
        let [size, mtime, ctime, ino] = w.as_slice() else {
            return None;
        };
        Some(Ident {
            size: number(size)?,
            mtime: time(mtime)?,
            ctime: time(ctime)?,
            ino: number(ino)?,
        })
    }

    /// TFDDELIF's argument: the identity, then the path.
    pub fn del_if(&self, path: &[u8]) -> Vec<u8> {
        [self.text().as_bytes(), b" ", path].concat()
    }

    /// TFDDELIF's argument parsed: the identity and the path (which may
    /// hold spaces); `None` when malformed or without a path.
    pub fn split_del_if(arg: &[u8]) -> Option<(Ident, &[u8])> {
        let mut cut = 0;
        for _ in 0..4 {
            cut += arg.get(cut..)?.iter().position(|&b| b == b' ')? + 1;
        }
        let path = &arg[cut..];
        (!path.is_empty()).then_some(())?;
        Some((Ident::parse(&arg[..cut - 1])?, path))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_identity_travels_and_a_bad_one_does_not_parse() {
        let id = Ident {
            size: 7,
            mtime: (-3, 5),
            ctime: (1_700_000_000, 999_999_999),
            ino: 42,
        };
        assert_eq!(id.text(), "7 -3.000000005 1700000000.999999999 42");
        assert_eq!(Ident::parse(id.text().as_bytes()), Some(id));
        let arg = id.del_if(b"a b/c");
        assert_eq!(Ident::split_del_if(&arg), Some((id, &b"a b/c"[..])));
        for bad in [
            &b""[..],
            b"7 1.5 1.000000000 4",
            b"7 1.000000000 1.000000000",
            b"x 1.000000000 1.000000000 4",
            b"7 1.000000000 1.000000000 4 5",
        ] {
            assert_eq!(Ident::parse(bad), None, "{bad:?}");
        }
        assert_eq!(Ident::split_del_if(b"7 1.000000000 1.000000000 4 "), None);
        assert_eq!(Ident::split_del_if(b"7 1.000000000 1.000000000 4"), None);
    }
}
