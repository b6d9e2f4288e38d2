//! TFDPUTMANY's frames. `TFDPUTMANY <n>` ([`PutMany`]); after its `OK` the
//! client sends, without waiting, per file a [`FileHead`], the data in frames
//! holding exactly its size together and a [`Trailer`](super::Trailer), then
//! the end frame. Only then does the server answer: [`Stored`], followed by
//! one [`Failure`] per file not stored. With `z` ([`PutMany::blocks`]) each
//! data frame is one compressed block ([`crate::compress`]) and the blocks'
//! decoded lengths together make the file's size.

use super::{num, octal, words};
use std::borrow::Cow;

/// The longest [`FileHead`] frame (the path is at most 4096 bytes).
pub const MAX_HEADER: usize = 4096 + 128;
/// The longest trailer or end frame the server reads.
pub const MAX_TRAILER: usize = 80;

/// The command's argument: how many entries follow, and whether their
/// headers are archive headers ([`crate::entry::Head`]: any kind of entry,
/// the whole mode, the mtime to the nanosecond, the owner) rather than
/// [`FileHead`]s; and whether the files' data come as compressed blocks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PutMany {
    pub n: u64,
    pub archive: bool,
    /// `z`: each data frame is one block ([`crate::compress::Block`]) of one
    /// zstd stream across the batch's files (headers and trailers go as
    /// they are; a trailer's SHA-256 is of the decoded data). Only for a
    /// server whose `TFDZSTD` answered `OK`.
    pub blocks: bool,
    /// `f` after `z`: the whole exchange after the command is one zstd
    /// stream in frames ([`super::framed`]), headers and trailers too; the
    /// data frames inside it are as a plain batch's. Only with `blocks`,
    /// and only for a server whose probe `TFDPUTMANY 0 z f` answered `OK`.
    pub framed: bool,
    /// `x` (after `a`, before `z`): a file's header may follow an
    /// [`AttrsHead`], the extended attributes and ACLs it lands with
    /// (`-X`, `-A`), given to it before its rename. Only for a server whose
    /// probe `TFDPUTMANY 0 x` answered `OK`.
    pub attrs: bool,
}

impl PutMany {
    /// A batch of `n` files, archive or not, data as they are.
    pub fn new(n: u64, archive: bool) -> PutMany {
        PutMany {
            n,
            archive,
            blocks: false,
            framed: false,
            attrs: false,
        }
    }

    /// The argument: `<n>`, then `a`, `x`, `z` and `f` when set, in that
    /// order.
    pub fn encode(&self) -> Vec<u8> {
        let a = if self.archive { " a" } else { "" };
        let x = if self.attrs { " x" } else { "" };
        let z = if self.blocks { " z" } else { "" };
        let f = if self.blocks && self.framed { " f" } else { "" };
        format!("{}{a}{x}{z}{f}", self.n).into_bytes()
    }

    /// The whole command line, `TFDPUTMANY <n>`, `TFDPUTMANY <n> a`,
    /// `TFDPUTMANY <n> z` or `TFDPUTMANY <n> a z`.
    pub fn line(&self) -> Vec<u8> {
        [super::PUTMANY.as_bytes(), b" ", &self.encode()].concat()
    }

    /// Reads the argument (white space around its words allowed). Any count
    /// parses: the server refuses one over [`super::MAX_FILES`] with a
    /// reason of its own. A word other than `a` then `z` is not read (a
    /// server that does not know a flag must not drop it).
    pub fn parse(arg: &[u8]) -> Option<PutMany> {
        let mut words = std::str::from_utf8(arg).ok()?.split_whitespace().peekable();
        let n = words.next()?.parse().ok()?;
        let archive = words.next_if_eq(&"a").is_some();
        let attrs = words.next_if_eq(&"x").is_some();
        let blocks = words.next_if_eq(&"z").is_some();
        let framed = blocks && words.next_if_eq(&super::framed::FLAG).is_some();
        words.next().is_none().then_some(PutMany {
            n,
            archive,
            blocks,
            framed,
            attrs,
        })
    }
}

/// What tfd's `OK` to the plain probe (`TFDPUTMANY 0`, and `0 z`, `0 z f`)
/// says: its plain batches take [`DirHead`]s, so a tree's directories
/// travel in the batch (compressed where the batch is) instead of a MKDIR
/// and its answer each. A server that does not say it is sent MKDIRs.
pub const DIRS: &str = "dirs";

/// What tfd adds to its `OK` for the plain probe, after [`DIRS`]: its plain
/// batches take [`FileHead::NEW_MODE`] and directories with a mode
/// ([`DirHead::mode`]), the source's permission bits that a new entry takes
/// less the session's umask (what `cp`, `scp` and `rsync` without `-p` give
/// a new file). A server that does not say it is sent neither, and gives a
/// new file its own default mode.
pub const MODES: &str = "modes";

/// What tfd adds to its `OK` for the archive probe `TFDPUTMANY 0 a` when
/// the session may keep owners (and set-id bits and devices): a tree copy
/// learns it in the round trip that asks for archive batches instead of
/// asking with a batch of its own. [`OWNERS_NO`] when it may not; a server
/// that says neither is asked with a batch of one `A` entry asking an owner.
pub const OWNERS_YES: &str = "owners yes";
/// See [`OWNERS_YES`].
pub const OWNERS_NO: &str = "owners no";

/// The answer to a probe (`TFDPUTMANY 0`, `TFDPUTMANY 0 a`): `OK` and, for
/// the plain probe, [`DIRS`]; for the archive probe what it says of owners
/// ([`OWNERS_YES`], [`OWNERS_NO`]), as it was (a client that reads it whole
/// must still read it).
pub fn probe_ok(owners: Option<bool>) -> Vec<u8> {
    match owners {
        None => format!("OK {DIRS} {MODES}").into_bytes(),
        Some(true) => format!("OK {OWNERS_YES}").into_bytes(),
        Some(false) => format!("OK {OWNERS_NO}").into_bytes(),
    }
}

/// What tfd adds to its `OK` for a probe whose batch says `x`
/// (`TFDPUTMANY 0 x`): the session's attribute scope
/// ([`crate::xattr::Scope`]: `scope=user` or `scope=all`), which names
/// an [`AttrsHead`] may carry for it.
pub fn probe_scope_word(scope: crate::xattr::Scope) -> String {
    format!("scope={}", String::from_utf8_lossy(scope.word()))
}

/// The scope a probe's `OK` payload says ([`probe_scope_word`]); None: it
/// says none (a server that takes no `x` batches answers no `OK`).
pub fn probe_scope(payload: &[u8]) -> Option<crate::xattr::Scope> {
    use crate::xattr::Scope;
    payload.split(|b| b.is_ascii_whitespace()).find_map(|w| match w {
        b"scope=user" => Some(Scope::User),
        b"scope=all" => Some(Scope::All),
        _ => None,
    })
}

/// What the archive probe's `OK` payload says of owners: `Some(true)` for
/// [`OWNERS_YES`], `Some(false)` for [`OWNERS_NO`], `None` otherwise.
pub fn probe_owners(payload: &[u8]) -> Option<bool> {
    match payload.trim_ascii() {
        p if p == OWNERS_YES.as_bytes() => Some(true),
        p if p == OWNERS_NO.as_bytes() => Some(false),
        _ => None,
    }
}

/// Whether the plain probe's `OK` payload says [`DIRS`] (one of its words).
pub fn probe_dirs(payload: &[u8]) -> bool {
    payload.split(|b| b.is_ascii_whitespace()).any(|w| w == DIRS.as_bytes())
}

/// Whether the plain probe's `OK` payload says [`MODES`] (one of its words).
pub fn probe_modes(payload: &[u8]) -> bool {
    payload
        .split(|b| b.is_ascii_whitespace())
        .any(|w| w == MODES.as_bytes())
}

/// A plain batch's directory: `D <path>`, made if missing, as MKDIR makes
/// it (the server's default mode, no attributes given), or `M <mode, octal>
/// <path>`, made with those permission bits less the session's umask; one
/// that exists is fine and keeps its mode, anything else at the name
/// refuses it. Only for a server whose probe said [`DIRS`] (`M`: and
/// [`MODES`]). A batch sends its directories before its files, parents
/// before children.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DirHead<'a> {
    /// Never empty.
    pub path: &'a [u8],
    /// The source directory's permission bits (at most `0o777`), which a
    /// new directory takes less the umask.
    pub mode: Option<u32>,
}

impl<'a> DirHead<'a> {
    /// A directory made with the server's default mode.
    pub fn new(path: &'a [u8]) -> DirHead<'a> {
        DirHead { path, mode: None }
    }

    /// The frame.
    pub fn encode(&self) -> Vec<u8> {
        match self.mode {
            None => [&b"D "[..], self.path].concat(),
            Some(m) => [format!("M {:o} ", m & 0o777).as_bytes(), self.path].concat(),
        }
    }

    /// Reads a directory frame of at most [`MAX_HEADER`] bytes.
    pub fn parse(frame: &'a [u8]) -> Option<DirHead<'a>> {
        if frame.len() > MAX_HEADER {
            return None;
        }
        let (path, mode) = match frame.strip_prefix(b"D ") {
            Some(path) => (path, None),
            None => {
                let mut it = frame.strip_prefix(b"M ")?.splitn(2, |&b| b == b' ');
                // as encode writes it: octal digits alone, no sign and no
                // leading zero, so a frame has one spelling
                let canonical =
                    |w: &&[u8]| w.iter().all(|b| (b'0'..=b'7').contains(b)) && (w.len() == 1 || !w.starts_with(b"0"));
                let word = it.next().filter(canonical)?;
                let mode = octal(word).filter(|m| *m <= 0o777)?;
                (it.next()?, Some(mode))
            }
        };
        (!path.is_empty()).then_some(DirHead { path, mode })
    }
}

/// The sets the next file's header lands with: `X <kinds> <list>`
/// ([`crate::xattr::Land`]), in a batch whose command says `x`. It counts
/// as no entry of the batch; a file's header must follow it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttrsHead {
    pub land: crate::xattr::Land,
}

impl AttrsHead {
    /// The longest frame.
    pub const MAX: usize = 2 + crate::xattr::Land::MAX;

    /// The frame; None as [`crate::xattr::Land::encode`].
    pub fn encode(&self) -> Option<Vec<u8>> {
        Some([&b"X "[..], &self.land.encode()?].concat())
    }

    /// Reads an attributes frame; None: not one, or one
    /// [`crate::xattr::Land::parse`] refuses (or bytes after its list).
    pub fn parse(frame: &[u8]) -> Option<AttrsHead> {
        if frame.len() > Self::MAX {
            return None;
        }
        let (land, rest) = crate::xattr::Land::parse(frame.strip_prefix(b"X ")?)?;
        rest.is_empty().then_some(AttrsHead { land })
    }
}

/// One file's header: `F <size> <flags> <mode, octal> <mtime> <path>`. The
/// fields stand as the wire has them: the mode and mtime are sent whatever
/// the flags say, and the server takes each only when its flag is set
/// ([`FileHead::mode_to_set`], [`FileHead::mtime_to_set`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileHead<'a> {
    /// Bytes of data that follow.
    pub size: u64,
    /// [`FileHead::SET_MODE`] and [`FileHead::SET_MTIME`], at most both.
    pub flags: u8,
    pub mode: u32,
    pub mtime: i64,
    /// Where the file goes; never empty.
    pub path: &'a [u8],
}

impl<'a> FileHead<'a> {
    /// Flag: give the file [`FileHead::mode`] (its permission bits).
    pub const SET_MODE: u8 = 1;
    /// Flag: give the file [`FileHead::mtime`].
    pub const SET_MTIME: u8 = 2;
    /// Flag: a new file takes [`FileHead::mode`] less the session's umask
    /// (a file it replaces keeps its own mode); [`FileHead::SET_MODE`]
    /// overrides it. Only for a server whose probe said [`MODES`].
    pub const NEW_MODE: u8 = 4;

    /// The header of a file of `size` bytes for `path`, setting what is
    /// given; what is not goes as 0 (of 10,000 files of 1 KiB, 120 KB less
    /// on the wire than their real values).
    pub fn new(size: u64, mode: Option<u32>, mtime: Option<i64>, path: &'a [u8]) -> FileHead<'a> {
        let set = |given: bool, flag: u8| if given { flag } else { 0 };
        let flags = set(mode.is_some(), Self::SET_MODE) | set(mtime.is_some(), Self::SET_MTIME);
        FileHead {
            size,
            flags,
            mode: mode.map_or(0, |m| m & 0o777),
            mtime: mtime.unwrap_or(0),
            path,
        }
    }

    /// This header with `mode`, the source's, for the file if it is new
    /// ([`FileHead::NEW_MODE`]), unless it sets a mode already.
    pub fn new_mode(mut self, mode: Option<u32>) -> FileHead<'a> {
        if let (Some(m), 0) = (mode, self.flags & Self::SET_MODE) {
            self.flags |= Self::NEW_MODE;
            self.mode = m & 0o777;
        }
        self
    }

    /// The place of a file that could not be opened: no data, no flags
    /// (`F 0 0 644 0 <path>`); its trailer aborts it.
    pub fn unread(path: &'a [u8]) -> FileHead<'a> {
        FileHead {
            size: 0,
            flags: 0,
            mode: 0o644,
            mtime: 0,
            path,
        }
    }

    /// The permission bits to give the file, when its flag asks.
    pub fn mode_to_set(&self) -> Option<u32> {
        (self.flags & Self::SET_MODE != 0).then_some(self.mode & 0o777)
    }

    /// The permission bits a new file takes (less the umask), when its
    /// flag asks and no mode is set.
    pub fn mode_if_new(&self) -> Option<u32> {
        (self.flags & (Self::NEW_MODE | Self::SET_MODE) == Self::NEW_MODE).then_some(self.mode & 0o777)
    }

    /// The mtime to give the file, when its flag asks.
    pub fn mtime_to_set(&self) -> Option<i64> {
        (self.flags & Self::SET_MTIME != 0).then_some(self.mtime)
    }

    /// The frame.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = format!("F {} {} {:o} {} ", self.size, self.flags, self.mode, self.mtime).into_bytes();
        out.extend_from_slice(self.path);
        out
    }

    /// Reads a header frame of at most [`MAX_HEADER`] bytes.
    pub fn parse(frame: &'a [u8]) -> Option<FileHead<'a>> {
        if frame.len() > MAX_HEADER {
            return None;
        }
        let mut it = frame.strip_prefix(b"F ")?.splitn(5, |&b| b == b' ');
        let size = num(it.next()?)?;
        let flags: u8 = num(it.next()?)?;
        let mode = octal(it.next()?)?;
        let mtime = num(it.next()?)?;
        let path = it.next()?;
        (flags <= Self::SET_MODE | Self::SET_MTIME | Self::NEW_MODE && !path.is_empty()).then_some(FileHead {
            size,
            flags,
            mode,
            mtime,
            path,
        })
    }
}

/// The server's answer once the end frame is in: `OK <stored> <failed>`,
/// then `failed` [`Failure`] frames.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stored {
    pub stored: u64,
    pub failed: u64,
}

impl Stored {
    /// The frame.
    pub fn encode(&self) -> Vec<u8> {
        format!("OK {} {}", self.stored, self.failed).into_bytes()
    }

    /// Reads the answer frame.
    pub fn parse(frame: &[u8]) -> Option<Stored> {
        let [stored, failed] = words(frame.strip_prefix(b"OK ")?)?;
        Some(Stored {
            stored: num(stored)?,
            failed: num(failed)?,
        })
    }
}

/// A file of the batch not stored: `<index> <FAILED code> <reason>` (the
/// index counts the batch's files from 0).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure<'a> {
    pub index: u64,
    pub code: i32,
    pub reason: Cow<'a, str>,
}

impl Failure<'_> {
    /// The frame.
    pub fn encode(&self) -> Vec<u8> {
        format!("{} {} {}", self.index, self.code, self.reason).into_bytes()
    }

    /// Reads a failure frame (a reason that is not UTF-8 is read lossily; a
    /// missing one is empty).
    pub fn parse(frame: &[u8]) -> Option<Failure<'_>> {
        let mut it = frame.splitn(3, |&b| b == b' ');
        let index = num(it.next()?)?;
        let code = num(it.next()?)?;
        let reason = String::from_utf8_lossy(it.next().unwrap_or_default());
        Some(Failure { index, code, reason })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn directories_round_trip_and_the_plain_probe_says_it_takes_them() {
        assert_eq!(probe_ok(None), b"OK dirs modes");
        assert!(probe_dirs(b"dirs") && probe_dirs(b" x dirs y"));
        assert!(probe_modes(b"dirs modes") && !probe_modes(b"dirs") && !probe_modes(b"mode"));
        assert!(!probe_dirs(b"") && !probe_dirs(b"dir") && !probe_dirs(b"owners yes"));
        let d = DirHead::new(b"a/b c");
        assert_eq!(d.encode(), b"D a/b c");
        assert_eq!(DirHead::parse(&d.encode()), Some(d));
        // a mode in another spelling than encode's is no frame (the fuzz
        // target's round trip found "M 05 p")
        assert_eq!(DirHead::parse(b"M 05 p"), None);
        assert_eq!(DirHead::parse(b"M +5 p"), None);
        assert_eq!(DirHead::parse(b"M 0 p").and_then(|d| d.mode), Some(0));
        let m = DirHead {
            mode: Some(0o700),
            ..DirHead::new(b"7 d")
        };
        assert_eq!(m.encode(), b"M 700 7 d");
        assert_eq!(DirHead::parse(&m.encode()), Some(m));
        for bad in [&b"M 700"[..], b"M 700 ", b"M 1777 d", b"M x d", b"M  d"] {
            assert_eq!(DirHead::parse(bad), None, "{bad:?}");
        }
        // a new file's mode rides a flag of its own, never over a set one
        let h = FileHead::new(1, None, None, b"f").new_mode(Some(0o4600));
        assert_eq!((h.mode_to_set(), h.mode_if_new()), (None, Some(0o600)));
        assert_eq!(FileHead::parse(&h.encode()), Some(h));
        let set = FileHead::new(1, Some(0o640), None, b"f").new_mode(Some(0o600));
        assert_eq!((set.mode_to_set(), set.mode_if_new()), (Some(0o640), None));
        assert_eq!(FileHead::parse(b"F 1 8 600 0 f"), None);
        let long = [&b"D "[..], &[b'p'; MAX_HEADER - 2]].concat();
        assert!(DirHead::parse(&long).is_some());
        for bad in [
            &b"D "[..],
            b"D",
            b"d a",
            b"Da",
            b"F 1 0 644 0 a",
            b"",
            &[&long[..], b"p"].concat(),
        ] {
            assert_eq!(DirHead::parse(bad), None, "{bad:?}");
        }
        // a file's header never reads as a directory's, nor the reverse
        assert_eq!(FileHead::parse(b"D a"), None);
    }

    #[test]
    fn the_attrs_probe_says_the_scope() {
        use crate::xattr::Scope;
        for scope in [Scope::User, Scope::All] {
            let ok = format!("dirs {}", probe_scope_word(scope));
            assert_eq!(probe_scope(ok.as_bytes()), Some(scope));
            assert!(probe_dirs(ok.as_bytes()));
        }
        assert_eq!(probe_scope(b"dirs"), None);
        assert_eq!(probe_scope(b"scope=acl"), None);
    }

    #[test]
    fn the_archive_probe_says_owners_both_ways() {
        for may in [true, false] {
            let ok = probe_ok(Some(may));
            assert_eq!(probe_owners(&ok[3..]), Some(may));
        }
        assert_eq!(probe_owners(b""), None);
    }

    #[test]
    fn the_command_round_trips() {
        let put = |n, archive, blocks| PutMany {
            blocks,
            ..PutMany::new(n, archive)
        };
        for n in [0, 1, super::super::MAX_FILES, u64::MAX] {
            for (archive, blocks) in [(false, false), (true, false), (false, true), (true, true)] {
                let c = put(n, archive, blocks);
                assert_eq!(PutMany::parse(&c.encode()), Some(c));
                let f = PutMany { framed: blocks, ..c };
                assert_eq!(PutMany::parse(&f.encode()), Some(f));
            }
        }
        let framed = PutMany {
            framed: true,
            ..put(3, true, true)
        };
        assert_eq!(framed.line(), b"TFDPUTMANY 3 a z f");
        // `f` means nothing without `z`, and is never dropped
        assert_eq!(
            PutMany {
                blocks: false,
                ..framed
            }
            .line(),
            b"TFDPUTMANY 3 a"
        );
        assert_eq!(PutMany::parse(b"3 f"), None);
        assert_eq!(PutMany::parse(b"3 z f f"), None);
        assert_eq!(PutMany::parse(b"3 f z"), None);
        assert_eq!(put(3, false, false).line(), b"TFDPUTMANY 3");
        assert_eq!(put(3, true, false).line(), b"TFDPUTMANY 3 a");
        assert_eq!(put(3, false, true).line(), b"TFDPUTMANY 3 z");
        assert_eq!(put(3, true, true).line(), b"TFDPUTMANY 3 a z");
        assert_eq!(PutMany::parse(b" 12 "), Some(put(12, false, false)));
        assert_eq!(PutMany::parse(b"0\ta "), Some(put(0, true, false)));
        assert_eq!(PutMany::parse(b"7  z"), Some(put(7, false, true)));
        let x = |c: PutMany| PutMany { attrs: true, ..c };
        assert_eq!(x(framed).line(), b"TFDPUTMANY 3 a x z f");
        assert_eq!(x(put(0, false, false)).line(), b"TFDPUTMANY 0 x");
        for c in [x(framed), x(put(2, false, true)), x(put(2, true, false))] {
            assert_eq!(PutMany::parse(&c.encode()), Some(c));
        }
        for bad in [
            &b""[..],
            b"x",
            b"-1",
            b"1 2",
            b"1 a a",
            b"1 z a",
            b"1 z z",
            b"1 a z z",
            b"1 a z x",
            b"1 x a",
            b"1 x x",
            b"1 z f x",
            b"1 Z",
            b"1 A",
            b"18446744073709551616",
            b"\xff",
        ] {
            assert_eq!(PutMany::parse(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn attribute_frames_round_trip_and_are_never_a_header() {
        use crate::xattr::{Land, Xattrs};
        let list = Xattrs::new(vec![(b"user.v".to_vec(), b"new\0".to_vec())]).unwrap();
        let h = AttrsHead {
            land: Land {
                xattrs: true,
                acls: false,
                list,
            },
        };
        let e = h.encode().unwrap();
        assert_eq!(e, b"X x 1 6:4:user.vnew\0");
        assert_eq!(AttrsHead::parse(&e), Some(h));
        assert_eq!(
            AttrsHead::parse(b"X a 0 "),
            Some(AttrsHead {
                land: Land {
                    xattrs: false,
                    acls: true,
                    list: Xattrs::default()
                }
            })
        );
        for bad in [
            &b"X x 0 extra"[..],
            b"X  x 0 ",
            b"x x 0 ",
            b"X",
            b"X 0 ",
            b"F 1 0 644 0 a",
        ] {
            assert_eq!(AttrsHead::parse(bad), None, "{bad:?}");
        }
        assert_eq!(FileHead::parse(&e), None);
        assert_eq!(DirHead::parse(&e), None);
        assert_eq!(crate::entry::Head::parse(&e), None);
        assert_eq!(
            AttrsHead::parse(&[&b"X x 0 "[..], &[0u8; AttrsHead::MAX]].concat()),
            None
        );
    }

    #[test]
    fn headers_round_trip_as_the_clients_write_them() {
        let h = FileHead::new(1024, Some(0o100_755), Some(1_700_000_000), b"d/a b.txt");
        assert_eq!(h.encode(), b"F 1024 3 755 1700000000 d/a b.txt");
        assert_eq!((h.mode_to_set(), h.mtime_to_set()), (Some(0o755), Some(1_700_000_000)));
        let bare = FileHead::new(5, None, None, b"x");
        assert_eq!(bare.encode(), b"F 5 0 0 0 x");
        assert_eq!((bare.mode_to_set(), bare.mtime_to_set()), (None, None));
        assert_eq!(FileHead::unread(b"gone").encode(), b"F 0 0 644 0 gone");
        for h in [
            h,
            bare,
            FileHead::unread(b"gone"),
            FileHead::new(0, None, Some(-5), b" "),
        ] {
            assert_eq!(FileHead::parse(&h.encode()), Some(h));
        }
        // a mode past the permission bits is sent as it is and kept to them
        let wide = FileHead::parse(b"F 1 1 7777 0 p").unwrap();
        assert_eq!((wide.mode, wide.mode_to_set()), (0o7777, Some(0o777)));
    }

    #[test]
    fn malformed_headers_are_refused() {
        let long = [&b"F 1 0 0 0 "[..], &[b'p'; MAX_HEADER - 9]].concat();
        assert!(FileHead::parse(&long[..MAX_HEADER]).is_some());
        for bad in [
            &b"F 1 0 644 0 "[..], // no path
            b"F 1 0 644 0",
            b"F 1 8 644 0 p",  // flags out of range
            b"F 1 -1 644 0 p", // flags not a number
            b"F x 0 644 0 p",
            b"F -1 0 644 0 p",
            b"F 1 0 648 0 p", // mode not octal
            b"F 1 0 644 x p",
            b"F  1 0 644 0 p",
            b"f 1 0 644 0 p",
            b"F1 0 644 0 p",
            b"",
            &long[..],
        ] {
            assert_eq!(FileHead::parse(bad), None, "{:?}", String::from_utf8_lossy(bad));
        }
    }

    #[test]
    fn answers_and_failures_round_trip() {
        let s = Stored { stored: 7, failed: 2 };
        assert_eq!(s.encode(), b"OK 7 2");
        assert_eq!(Stored::parse(&s.encode()), Some(s));
        for bad in [&b"OK 7"[..], b"OK 7 2 1", b"OK x 2", b"OK", b"FAILED 5 : no", b"ok 7 2"] {
            assert_eq!(Stored::parse(bad), None, "{bad:?}");
        }
        let f = Failure {
            index: 3,
            code: 4,
            reason: "quota exceeded".into(),
        };
        assert_eq!(f.encode(), b"3 4 quota exceeded");
        assert_eq!(Failure::parse(&f.encode()), Some(f));
        let terse = Failure::parse(b"0 9").unwrap();
        assert_eq!(terse.reason, "");
        assert_eq!(Failure::parse(&terse.encode()), Some(terse));
        assert_eq!(Failure::parse(b"1 2 \xff").unwrap().reason, "\u{fffd}");
        for bad in [&b"x 1 r"[..], b"1 x r", b"-1 2 r", b"1", b"", b" 1 2"] {
            assert_eq!(Failure::parse(bad), None, "{bad:?}");
        }
    }
}
