//! tfd's staged uploads on the wire (doc/compatibility.md "Staged uploads"):
//! the arguments of `TFDSTAGE`, `TFDSTAGEDONE` and `TFDSTAGES`, TFDSTAGE's
//! answer and TFDSTAGES' lines ([`listing`]). Both sides parse with these,
//! so neither can read them differently.
//!
//! - `TFDSTAGE <size> <identity> <0|1> <path>` ([`Open`]), answered
//!   `OK <n> <a-b>…` ([`Ranges`]);
//! - `TFDSTAGEPUT <path> <hpfile>`: PUT's request ([`crate::hpf`]), and
//!   after the HPFFIN exchange one more status frame ([`crate::Status`]);
//! - `TFDSTAGEDONE <sha256> <0|1> <path>` ([`Done`]), or with the file's
//!   attributes `<sha256> <0|1> <path>\0<flags> <mode> <mtime>` ([`Attrs`]);
//! - `TFDSTAGES <0|1> <dir>` ([`List`]), its lines [`listing::Listed`];
//! - `TFDSTAGEDROP <path>`: the path alone.
//!
//! Every parser takes arbitrary bytes, never panics and allocates no more
//! than its input holds; what it refuses the server answers `FAILED` (a
//! missing parameter).

pub mod listing;

use crate::command::split_space;

/// The command that opens a stage.
pub const OPEN: &str = "TFDSTAGE";
/// The command that writes a range into a stage (PUT's flow).
pub const PUT: &str = "TFDSTAGEPUT";
/// The command that commits a stage.
pub const DONE: &str = "TFDSTAGEDONE";
/// The command that lists the user's stages.
pub const LIST: &str = "TFDSTAGES";
/// The command that removes one of the user's stages.
pub const DROP: &str = "TFDSTAGEDROP";

/// The longest identity a client may give.
pub const MAX_IDENTITY: usize = 128;

/// A decimal number within `i64` (sizes and offsets), as `str::parse` reads it.
pub(crate) fn number(b: &[u8]) -> Option<u64> {
    std::str::from_utf8(b)
        .ok()?
        .parse()
        .ok()
        .filter(|&n: &u64| n <= i64::MAX as u64)
}

/// `1` is yes; any other word is no (as tfd always read these flags).
fn flag(w: &[u8]) -> bool {
    w == b"1"
}

/// An identity as the stage's journal may keep it: 1..=[`MAX_IDENTITY`]
/// bytes of letters, digits and `:-_.`.
pub fn valid_identity(id: &[u8]) -> bool {
    !id.is_empty() && id.len() <= MAX_IDENTITY && id.iter().all(|b| b.is_ascii_alphanumeric() || b":-_.".contains(b))
}

/// `TFDSTAGE <size> <identity> <0|1> <path>`: opens the stage of `path` for
/// a source of `size` bytes and that `identity`; `fresh` starts it empty.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Open<'a> {
    pub size: u64,
    pub identity: &'a [u8],
    pub fresh: bool,
    pub path: &'a [u8],
}

impl<'a> Open<'a> {
    /// The argument.
    pub fn encode(&self) -> Vec<u8> {
        let head = format!("{} ", self.size);
        [
            head.as_bytes(),
            self.identity,
            if self.fresh { b" 1 " } else { b" 0 " },
            self.path,
        ]
        .concat()
    }

    /// The argument read; None: malformed (a size beyond `i64`, an identity
    /// not [`valid_identity`], a word missing).
    pub fn parse(arg: &'a [u8]) -> Option<Open<'a>> {
        let (size, rest) = split_space(arg)?;
        let (identity, rest) = split_space(rest)?;
        let (fresh, path) = split_space(rest)?;
        let size = number(size)?;
        valid_identity(identity).then_some(Open {
            size,
            identity,
            fresh: flag(fresh),
            path,
        })
    }
}

/// TFDSTAGE's answer: the ranges `[a, b)` the stage already holds for this
/// source, `<n> <a-b>…`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Ranges(pub Vec<(u64, u64)>);

impl Ranges {
    /// The answer's text (what follows `OK `).
    pub fn encode(&self) -> Vec<u8> {
        let mut out = self.0.len().to_string();
        for (a, b) in &self.0 {
            out.push_str(&format!(" {a}-{b}"));
        }
        out.into_bytes()
    }

    /// The answer read; None: malformed, or a count that is not the number
    /// of ranges.
    pub fn parse(data: &[u8]) -> Option<Ranges> {
        let text = std::str::from_utf8(data).ok()?;
        let mut words = text.split(' ');
        let n: usize = words.next()?.parse().ok()?;
        let v: Vec<(u64, u64)> = words
            .map(|w| {
                let (a, b) = w.split_once('-')?;
                Some((a.parse().ok()?, b.parse().ok()?))
            })
            .collect::<Option<_>>()?;
        (v.len() == n).then_some(Ranges(v))
    }
}

/// What a commit gives the file of the client's own, as a batch's header
/// does (TFDPUTMANY's `<flags> <mode> <mtime>`: bit 0 of the flags the mode,
/// bit 1 the mtime, bit 2 the mode a new file takes less the session's
/// umask; what is not asked goes as 0).
///
/// They follow the path after a NUL byte, a byte no path may hold: a tfd
/// that does not know them reads the NUL as part of the path and refuses
/// the commit at once with `FAILED 1` (an invalid path), before it looks at
/// the stage or the target; the client then commits again without them (the
/// file gets the server's time and the target's mode, as before them), so
/// neither side needs to ask the other first.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Attrs {
    /// The permission bits (at most `0o7777`).
    pub mode: Option<u32>,
    /// The modification time, seconds since the epoch.
    pub mtime: Option<i64>,
    /// The source's permission bits, which the file takes less the
    /// session's umask if it is new (a file it replaces keeps its own mode);
    /// [`Attrs::mode`] overrides it. A tfd from before it refuses the
    /// attributes, and the client commits again without them.
    pub new_mode: Option<u32>,
}

impl Attrs {
    fn encode(&self) -> String {
        let new = self.new_mode.filter(|_| self.mode.is_none());
        let flags =
            u8::from(self.mode.is_some()) | (u8::from(self.mtime.is_some()) << 1) | (u8::from(new.is_some()) << 2);
        let mode = self.mode.or(new).unwrap_or(0);
        format!("{flags} {mode:o} {}", self.mtime.unwrap_or(0))
    }

    fn parse(b: &[u8]) -> Option<Attrs> {
        let text = std::str::from_utf8(b).ok()?;
        let mut it = text.split(' ');
        let flags: u8 = it.next()?.parse().ok()?;
        let mode = u32::from_str_radix(it.next()?, 8).ok().filter(|&m| m <= 0o7777)?;
        let mtime: i64 = it.next()?.parse().ok()?;
        (it.next().is_none() && flags <= 7).then_some(Attrs {
            mode: (flags & 1 != 0).then_some(mode),
            mtime: (flags & 2 != 0).then_some(mtime),
            new_mode: (flags & 5 == 4).then_some(mode & 0o777),
        })
    }
}

/// `TFDSTAGEDONE <sha256> <0|1> <path>`: commits the stage of `path` when its
/// SHA-256 is `sha256` (`0x` and hex digits, as SHA256 answers; any case);
/// `overwrite` replaces an existing target; `attrs`, when given, are the
/// file's own ([`Attrs`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Done<'a> {
    pub sha256: &'a [u8],
    pub overwrite: bool,
    pub path: &'a [u8],
    pub attrs: Option<Attrs>,
}

impl<'a> Done<'a> {
    /// The argument.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = [self.sha256, if self.overwrite { b" 1 " } else { b" 0 " }, self.path].concat();
        if let Some(a) = self.attrs {
            out.push(0);
            out.extend_from_slice(a.encode().as_bytes());
        }
        out
    }

    /// The argument read; None: a word missing (or a SHA-256 with a space),
    /// or attributes that do not parse.
    pub fn parse(arg: &'a [u8]) -> Option<Done<'a>> {
        let (sha256, rest) = split_space(arg)?;
        let (overwrite, rest) = split_space(rest)?;
        let (path, attrs) = match rest.iter().position(|&b| b == 0) {
            Some(i) => (&rest[..i], Some(Attrs::parse(&rest[i + 1..])?)),
            None => (rest, None),
        };
        Some(Done {
            sha256,
            overwrite: flag(overwrite),
            path,
            attrs,
        })
    }

    /// Whether the stage's digest `have` (`0x` and hex, as
    /// [`crate::sha256_text`] writes it) is the client's.
    pub fn matches(&self, have: &[u8]) -> bool {
        let want = self.sha256.strip_prefix(b"0x").unwrap_or(self.sha256);
        have.get(2..).is_some_and(|h| h.eq_ignore_ascii_case(want))
    }
}

/// `TFDSTAGES <0|1> <dir>`: the user's stages in `dir` (`deep`: and below).
/// `TFDSTAGES <0|1>` alone lists the served root.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct List<'a> {
    pub deep: bool,
    pub dir: &'a [u8],
}

impl<'a> List<'a> {
    /// The argument.
    pub fn encode(&self) -> Vec<u8> {
        [if self.deep { &b"1 "[..] } else { b"0 " }, self.dir].concat()
    }

    /// The argument read; None: the first word is not `0` or `1`.
    pub fn parse(arg: &'a [u8]) -> Option<List<'a>> {
        match split_space(arg) {
            Some((d @ (b"0" | b"1"), dir)) => Some(List { deep: d == b"1", dir }),
            _ => match arg {
                b"0" | b"1" => Some(List {
                    deep: arg == b"1",
                    dir: b"",
                }),
                _ => None,
            },
        }
    }
}

/// A command frame: `name`, a space, the argument.
pub fn frame(name: &str, arg: &[u8]) -> Vec<u8> {
    [name.as_bytes(), b" ", arg].concat()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn open_round_trips_and_refuses() {
        let o = Open {
            size: 33 << 20,
            identity: b"34603008:1700000000.5:42:0011aabb",
            fresh: true,
            path: b"d e/x y",
        };
        assert_eq!(o.encode(), b"34603008 34603008:1700000000.5:42:0011aabb 1 d e/x y");
        assert_eq!(Open::parse(&o.encode()), Some(o));
        assert_eq!(Open::parse(b"5 id x p").map(|o| o.fresh), Some(false));
        for bad in [
            &b"5 id 1"[..],
            b"-1 id 1 p",
            b"9223372036854775808 id 1 p",
            b"5  1 p",
            b"5 i/d 1 p",
            b"",
            b"x id 1 p",
        ] {
            assert_eq!(Open::parse(bad), None, "{:?}", String::from_utf8_lossy(bad));
        }
        assert!(Open::parse(format!("5 {} 1 p", "a".repeat(MAX_IDENTITY + 1)).as_bytes()).is_none());
        assert!(Open::parse(format!("5 {} 1 p", "a".repeat(MAX_IDENTITY)).as_bytes()).is_some());
    }

    #[test]
    fn ranges_round_trip_and_refuse() {
        let r = Ranges(vec![(0, 5), (9, 12)]);
        assert_eq!(r.encode(), b"2 0-5 9-12");
        assert_eq!(Ranges::parse(b"2 0-5 9-12"), Some(r));
        assert_eq!(Ranges::parse(b"0"), Some(Ranges::default()));
        assert_eq!(Ranges::default().encode(), b"0");
        for bad in [&b"2 0-5"[..], b"0 ", b"1 5", b"1 a-b", b"", b"x", b"1 0-5-6"] {
            assert_eq!(Ranges::parse(bad), None, "{:?}", String::from_utf8_lossy(bad));
        }
    }

    #[test]
    fn done_round_trips_and_matches() {
        let sha = b"0xBA7816BF8F01CFEA414140DE5DAE2223B00361A396177A9CB410FF61F20015AD";
        let d = Done {
            sha256: sha,
            overwrite: true,
            path: b"a b/c",
            attrs: None,
        };
        assert_eq!(Done::parse(&d.encode()), Some(d));
        assert_eq!(&d.encode()[sha.len()..], b" 1 a b/c");
        let have = crate::sha256_text(&{
            use sha2::Digest;
            sha2::Sha256::digest(b"abc").into()
        });
        assert!(d.matches(&have));
        assert!(!Done { sha256: b"0x00", ..d }.matches(&have));
        assert!(!d.matches(b"0"));
        assert_eq!(Done::parse(b"0x00 1"), None);
        assert_eq!(Done::parse(b"0x00"), None);
    }

    #[test]
    fn done_carries_the_files_attributes_after_a_nul() {
        let d = Done {
            sha256: b"0x00",
            overwrite: true,
            path: b"a b/c",
            attrs: Some(Attrs {
                mode: Some(0o640),
                mtime: Some(1_600_000_000),
                new_mode: None,
            }),
        };
        assert_eq!(d.encode(), b"0x00 1 a b/c\x003 640 1600000000");
        assert_eq!(Done::parse(&d.encode()), Some(d));
        let only_mtime = Done {
            attrs: Some(Attrs {
                mode: None,
                mtime: Some(-5),
                new_mode: None,
            }),
            ..d
        };
        assert_eq!(&only_mtime.encode()[12..], b"\x002 0 -5");
        assert_eq!(Done::parse(&only_mtime.encode()), Some(only_mtime));
        let new_only = Done {
            attrs: Some(Attrs {
                new_mode: Some(0o600),
                ..Attrs::default()
            }),
            ..d
        };
        assert_eq!(&new_only.encode()[12..], b"\x004 600 0");
        assert_eq!(Done::parse(&new_only.encode()), Some(new_only));
        let none = Attrs::default();
        assert_eq!(Done::parse(b"0x00 1 p\x000 0 0").and_then(|d| d.attrs), Some(none));
        for bad in [
            &b"0x00 1 p\x00"[..],
            b"0x00 1 p\x008 0 0",
            b"0x00 1 p\x003 8 0",
            b"0x00 1 p\x003 17777 0",
            b"0x00 1 p\x003 644 0 1",
            b"0x00 1 p\x003 644 x",
            b"0x00 1 p\x003 644 0\x00",
        ] {
            assert_eq!(Done::parse(bad), None, "{:?}", String::from_utf8_lossy(bad));
        }
    }

    #[test]
    fn list_round_trips_and_refuses() {
        for l in [
            List {
                deep: true,
                dir: b"a b",
            },
            List { deep: false, dir: b"" },
        ] {
            assert_eq!(List::parse(&l.encode()), Some(l));
        }
        assert_eq!(List::parse(b"1"), Some(List { deep: true, dir: b"" }));
        assert_eq!(List::parse(b"2 d"), None);
        assert_eq!(List::parse(b""), None);
        assert_eq!(frame(LIST, b"1 d"), b"TFDSTAGES 1 d");
    }
}
