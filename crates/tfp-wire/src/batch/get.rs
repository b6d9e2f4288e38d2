//! TFDGETMANY's frames. `TFDGETMANY <n> [<max> [p] [a] [z[=<choice>] [f]]]`
//! ([`GetMany`]); after
//! its `OK` the client sends `n` frames, each a path (at most [`MAX_PATH`]
//! bytes, [`MAX_PATH_BYTES`] together), then the end frame. Only then does
//! the server answer, per file, a [`Reply`] (a long form's data frames and
//! trailer after it), and at the end [`Sent`].

use super::{num, octal, words};
use crate::compress::{Block, Choice, Kind};
use crate::entry::Mtime;
use std::borrow::Cow;

/// The longest path frame.
pub const MAX_PATH: usize = 4096;
/// The most bytes all the paths of one batch may hold.
pub const MAX_PATH_BYTES: usize = 16 << 20;
/// The largest file a packed batch sends in one frame ([`Reply::Packed`]):
/// 58 bytes of framing where the long form's three frames and hex trailer
/// take 99, a tenth of a 1 KiB file's bytes on the wire.
pub const PACKED_MAX: usize = 64 << 10;
/// Where a packed header's three words must have ended (the size, the mode
/// and the mtime take at most 20, 11 and 30 bytes).
const PACKED_WORDS: usize = 74;

/// The command's argument.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GetMany {
    /// How many paths follow.
    pub n: u64,
    /// A file over this many bytes is only announced ([`Reply::Big`]).
    pub max: Option<u64>,
    /// Files of at most [`PACKED_MAX`] bytes in one frame each
    /// ([`Reply::Packed`]); said only after a `max` (without one it is not
    /// sent).
    pub packed: bool,
    /// `a`, archive replies: the mode with its set-id and sticky bits and
    /// the mtime to the nanosecond ([`Meta`]); said only after a `max`.
    pub archive: bool,
    /// `z`, `z=yes`, `z=<level>`: each file's data as compressed blocks
    /// ([`crate::compress`]), one zstd stream across the batch, the server
    /// deciding block by block as the choice says (`z` alone: by
    /// measurement); a small packed file may come as [`Reply::Squeezed`].
    /// Said only after a `max`, and never `z=no`.
    pub compress: Option<Choice>,
    /// `f` after the `z` word, a framed batch: everything the server sends
    /// after its `OK` (every reply, data frame, trailer and the closing
    /// [`Sent`]) as the records of ONE zstd stream
    /// ([`super::framed`], the frames [`super::framed::Unframer`] reads),
    /// each data record raw bytes (never a block) and small files
    /// [`Reply::Packed`]. Said only with `z`.
    pub framed: bool,
}

impl GetMany {
    /// The argument, `<n> [<max> [p] [a] [z[=<choice>] [f]]]`.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = self.n.to_string();
        if let Some(max) = self.max {
            out.push_str(&format!(" {max}"));
            if self.packed {
                out.push_str(" p");
            }
            if self.archive {
                out.push_str(" a");
            }
            match self.compress {
                Some(Choice::Auto) => out.push_str(" z"),
                Some(c) => out.push_str(&format!(" z={}", c.word())),
                None => {}
            }
            if self.framed && self.compress.is_some() {
                out.push(' ');
                out.push_str(super::framed::FLAG);
            }
        }
        out.into_bytes()
    }

    /// The whole command line.
    pub fn line(&self) -> Vec<u8> {
        [super::GETMANY.as_bytes(), b" ", &self.encode()].concat()
    }

    /// Reads the argument: words between any white space. Flags other
    /// than `p`, `a`, `z` then `f`, in that order, are not read: the client asked for
    /// something this server does not know, and is told so. Any count
    /// parses: the server refuses one over [`super::MAX_FILES`] with a
    /// reason of its own.
    pub fn parse(arg: &[u8]) -> Option<GetMany> {
        let mut words = std::str::from_utf8(arg).ok()?.split_whitespace();
        let n = words.next()?.parse().ok()?;
        let max = match words.next() {
            Some(w) => Some(w.parse().ok()?),
            None => None,
        };
        let mut flags = words.peekable();
        let packed = flags.next_if_eq(&"p").is_some();
        let archive = flags.next_if_eq(&"a").is_some();
        let compress = match flags.next_if(|w| w.starts_with('z')) {
            None => None,
            Some("z") => Some(Choice::Auto),
            Some(w) => Some(
                w.strip_prefix("z=")
                    .and_then(Choice::parse)
                    .filter(|c| *c != Choice::Off)?,
            ),
        };
        let framed = compress.is_some() && flags.next_if_eq(&super::framed::FLAG).is_some();
        flags.next().is_none().then_some(GetMany {
            n,
            max,
            packed,
            archive,
            compress,
            framed,
        })
    }
}

/// What the server says of a file it sends: its size, mode (octal on the
/// wire: the permission bits, and in an archive batch the set-id and sticky
/// bits too) and mtime (whole seconds, or in an archive batch to the
/// nanosecond: [`Mtime`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Meta {
    pub size: u64,
    pub mode: u32,
    pub mtime: Mtime,
}

impl Meta {
    /// The words, `<size> <mode> <mtime>`.
    fn text(&self) -> String {
        format!("{} {:o} {}", self.size, self.mode, self.mtime.text())
    }

    /// Reads the three words.
    fn parse(text: &[u8]) -> Option<Meta> {
        let [size, mode, mtime] = words(text)?;
        Some(Meta {
            size: num(size)?,
            mode: octal(mode)?,
            mtime: Mtime::parse(mtime)?,
        })
    }

    /// What starts a packed frame, `f <size> <mode> <mtime> `: the file's
    /// bytes and its SHA-256 (raw) follow in the same frame.
    pub fn packed_head(&self) -> Vec<u8> {
        format!("f {} ", self.text()).into_bytes()
    }

    /// What starts a squeezed frame, `z <size> <mode> <mtime> `: one
    /// compressed block of the file's bytes and their SHA-256 (raw) follow
    /// in the same frame.
    pub fn squeezed_head(&self) -> Vec<u8> {
        format!("z {} ", self.text()).into_bytes()
    }

    /// Reads the words of a packed or squeezed frame (the third space ends
    /// them: the bytes may hold spaces) and returns the bytes after them.
    fn packed(rest: &[u8]) -> Option<(Meta, &[u8])> {
        let (end, _) = rest
            .iter()
            .take(PACKED_WORDS)
            .enumerate()
            .filter(|(_, &b)| b == b' ')
            .nth(2)?;
        Some((Meta::parse(&rest[..end])?, &rest[end + 1..]))
    }
}

/// The server's answer for one file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply<'a> {
    /// `X <FAILED code> <reason>`: not sent.
    Refused { code: i32, reason: Cow<'a, str> },
    /// `B <size> <mode, octal>`: over the batch's `max`, only announced (an
    /// older tfd says no mode).
    Big { size: u64, mode: Option<u32> },
    /// `F <size> <mode> <mtime>`: data frames holding exactly `size` bytes
    /// together and a [`Trailer`](super::Trailer) follow.
    File(Meta),
    /// `f <size> <mode> <mtime> `, the bytes and their SHA-256 raw, in one
    /// frame.
    Packed { meta: Meta, data: &'a [u8], sum: [u8; 32] },
    /// `z <size> <mode> <mtime> `, one compressed block (never a raw one:
    /// that file goes [`Reply::Packed`]) announcing exactly `size` bytes, at
    /// most [`PACKED_MAX`], and the SHA-256 raw of the decoded bytes, in one
    /// frame: a small file of a compressed batch ([`GetMany::compress`]).
    Squeezed { meta: Meta, block: &'a [u8], sum: [u8; 32] },
}

impl<'a> Reply<'a> {
    /// The frame.
    pub fn encode(&self) -> Vec<u8> {
        match self {
            Reply::Refused { code, reason } => format!("X {code} {reason}").into_bytes(),
            Reply::Big { size, mode: None } => format!("B {size}").into_bytes(),
            Reply::Big { size, mode: Some(m) } => format!("B {size} {m:o}").into_bytes(),
            Reply::File(meta) => format!("F {}", meta.text()).into_bytes(),
            Reply::Packed { meta, data, sum } => [&meta.packed_head()[..], data, sum].concat(),
            Reply::Squeezed { meta, block, sum } => [&meta.squeezed_head()[..], block, sum].concat(),
        }
    }

    /// Reads one file's answer (a refusal's reason that is not UTF-8 is read
    /// lossily; a missing one is empty).
    pub fn parse(frame: &'a [u8]) -> Option<Reply<'a>> {
        let (&tag, rest) = frame.split_first()?;
        let rest = rest.strip_prefix(b" ")?;
        match tag {
            b'X' => {
                let mut it = rest.splitn(2, |&b| b == b' ');
                let code = num(it.next()?)?;
                let reason = String::from_utf8_lossy(it.next().unwrap_or_default());
                Some(Reply::Refused { code, reason })
            }
            b'B' => {
                let mut it = rest.splitn(2, |&b| b == b' ');
                let size = num(it.next()?)?;
                let mode = match it.next() {
                    Some(m) => Some(octal(m)?),
                    None => None,
                };
                Some(Reply::Big { size, mode })
            }
            b'F' => Meta::parse(rest).map(Reply::File),
            b'z' => {
                let (meta, body) = Meta::packed(rest)?;
                let (block, sum) = body.split_at_checked(body.len().checked_sub(32)?)?;
                let b = Block::parse(block, PACKED_MAX).ok()?;
                if b.kind == Kind::Raw || b.len as u64 != meta.size {
                    return None;
                }
                Some(Reply::Squeezed {
                    meta,
                    block,
                    sum: sum.try_into().ok()?,
                })
            }
            b'f' => {
                let (meta, body) = Meta::packed(rest)?;
                if body.len() as u64 != meta.size.checked_add(32)? {
                    return None;
                }
                let (data, sum) = body.split_at(body.len() - 32);
                Some(Reply::Packed {
                    meta,
                    data,
                    sum: sum.try_into().ok()?,
                })
            }
            _ => None,
        }
    }
}

/// The server's last frame of a batch: `OK <files sent whole>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sent {
    pub sent: u64,
}

impl Sent {
    /// The frame.
    pub fn encode(&self) -> Vec<u8> {
        format!("OK {}", self.sent).into_bytes()
    }

    /// Reads the closing frame.
    pub fn parse(frame: &[u8]) -> Option<Sent> {
        Some(Sent {
            sent: num(frame.strip_prefix(b"OK ")?)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_command_round_trips() {
        let clients = GetMany {
            n: 25,
            max: Some((8 << 20) - 1),
            packed: true,
            archive: false,
            compress: None,
            framed: false,
        };
        assert_eq!(clients.line(), b"TFDGETMANY 25 8388607 p");
        for c in [
            clients,
            GetMany {
                n: 0,
                max: None,
                packed: false,
                archive: false,
                compress: None,
                framed: false,
            },
            GetMany {
                n: u64::MAX,
                max: Some(0),
                packed: false,
                archive: false,
                compress: None,
                framed: false,
            },
        ] {
            assert_eq!(GetMany::parse(&c.encode()), Some(c));
        }
        // white space of any kind; a word it does not know is refused
        let seen = GetMany::parse(b" 3\t10  p ").unwrap();
        assert_eq!(
            (seen.n, seen.max, seen.packed, seen.archive),
            (3, Some(10), true, false)
        );
        let archive = GetMany::parse(b"3 10 a").unwrap();
        assert_eq!((archive.packed, archive.archive), (false, true));
        let both = GetMany {
            n: 3,
            max: Some(10),
            packed: true,
            archive: true,
            compress: None,
            framed: false,
        };
        assert_eq!(both.line(), b"TFDGETMANY 3 10 p a");
        assert_eq!(GetMany::parse(&both.encode()), Some(both));
        for bad in [
            &b""[..],
            b"x",
            b"3 x",
            b"3 -1 p",
            b"-3",
            b"\xff 1",
            b"1 5 q",
            b"3 10 p x",
            b"3 10 q more",
            b"3 10 a p",
            b"3 10 p p",
            b"3 10 a a",
        ] {
            assert_eq!(GetMany::parse(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn a_compressed_batch_is_asked_after_the_other_words() {
        let mut c = GetMany {
            n: 3,
            max: Some(10),
            packed: true,
            archive: false,
            compress: Some(Choice::Auto),
            framed: false,
        };
        assert_eq!(c.line(), b"TFDGETMANY 3 10 p z");
        assert_eq!(GetMany::parse(&c.encode()), Some(c));
        for (choice, wire) in [
            (Choice::Force(None), &b"TFDGETMANY 3 10 p a z=yes"[..]),
            (Choice::Force(Some(7)), b"TFDGETMANY 3 10 p a z=7"),
        ] {
            (c.archive, c.compress) = (true, Some(choice));
            assert_eq!(c.line(), wire);
            assert_eq!(GetMany::parse(&c.encode()), Some(c));
        }
        assert_eq!(
            GetMany::parse(b"3 10 z=auto").map(|g| (g.packed, g.compress)),
            Some((false, Some(Choice::Auto)))
        );
        // without a max nothing is said
        let bare = GetMany { max: None, ..c };
        assert_eq!(bare.line(), b"TFDGETMANY 3");
        for bad in [
            &b"3 10 z=no"[..],
            b"3 10 z=0",
            b"3 10 z=20",
            b"3 10 z=",
            b"3 10 zz",
            b"3 10 z p",
            b"3 10 z a",
            b"3 10 z z",
            b"3 10 z x",
            b"3 z",
        ] {
            assert_eq!(GetMany::parse(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn a_squeezed_reply_holds_one_compressed_block_of_the_size() {
        use crate::compress::{Encoder, DEFAULT_WINDOW_LOG};
        let data = b"abcabcabcabcabcabcabcabcabcabcabcabc abc abc";
        let meta = Meta {
            size: data.len() as u64,
            mode: 0o644,
            mtime: Mtime::secs(5),
        };
        let mut block = Vec::new();
        Encoder::new(3, DEFAULT_WINDOW_LOG)
            .unwrap()
            .compress(data, &mut block)
            .unwrap();
        let sum = [9u8; 32];
        let r = Reply::Squeezed {
            meta,
            block: &block,
            sum,
        };
        let wire = r.encode();
        assert!(wire.starts_with(b"z 44 644 5 "));
        assert_eq!(Reply::parse(&wire), Some(r));
        // a block of another size than announced, a raw block, no block
        let other = [&b"z 45 644 5 "[..], &block, &sum].concat();
        let mut raw = Vec::new();
        Encoder::raw(data, &mut raw);
        let raw = [&b"z 44 644 5 "[..], &raw, &sum].concat();
        let big = [
            &b"z 70000 644 5 "[..],
            &crate::compress::header(Kind::Zstd, 70_000),
            &sum,
        ]
        .concat();
        for bad in [
            other,
            raw,
            big,
            [&b"z 0 644 5 "[..], &sum].concat(),
            b"z 0 644 5 ".to_vec(),
        ] {
            assert_eq!(Reply::parse(&bad), None, "{:?}", String::from_utf8_lossy(&bad));
        }
    }

    #[test]
    fn replies_round_trip_as_the_server_writes_them() {
        let meta = Meta {
            size: 5,
            mode: 0o644,
            mtime: Mtime::secs(1_700_000_000),
        };
        let sum = [7u8; 32];
        let packed = [&b"f 5 644 1700000000 a b c"[..], &sum].concat();
        let cases: Vec<(Reply<'_>, &[u8])> = vec![
            (
                Reply::Refused {
                    code: 5,
                    reason: "no such file".into(),
                },
                b"X 5 no such file",
            ),
            (
                Reply::Big {
                    size: 9 << 20,
                    mode: Some(0o600),
                },
                b"B 9437184 600",
            ),
            (Reply::Big { size: 1, mode: None }, b"B 1"),
            (Reply::File(meta), b"F 5 644 1700000000"),
            (
                Reply::Packed {
                    meta,
                    data: b"a b c",
                    sum,
                },
                &packed,
            ),
        ];
        for (r, wire) in cases {
            assert_eq!(r.encode(), wire);
            assert_eq!(Reply::parse(wire), Some(r));
        }
        assert_eq!(meta.packed_head(), b"f 5 644 1700000000 ");
        // an archive batch's meta: set-id bits and nanoseconds
        let fine = Meta {
            size: 0,
            mode: 0o4755,
            mtime: Mtime {
                sec: -2,
                nsec: 999_999_999,
            },
        };
        let wire = Reply::File(fine).encode();
        assert_eq!(wire, b"F 0 4755 -2.999999999");
        assert_eq!(Reply::parse(&wire), Some(Reply::File(fine)));
        let packed_fine = [&fine.packed_head()[..], &sum].concat();
        assert!(matches!(Reply::parse(&packed_fine), Some(Reply::Packed { meta, .. }) if meta == fine));
        // an empty packed file is its header and its sum
        let empty = [&b"f 0 0 -1 "[..], &sum].concat();
        assert!(matches!(Reply::parse(&empty), Some(Reply::Packed { data: b"", .. })));
        let terse = Reply::parse(b"X 9").unwrap();
        assert_eq!(Reply::parse(&terse.encode()), Some(terse));
        assert_eq!(Sent { sent: 4 }.encode(), b"OK 4");
        assert_eq!(Sent::parse(b"OK 4"), Some(Sent { sent: 4 }));
    }

    #[test]
    fn malformed_replies_are_refused() {
        let sum = [0u8; 32];
        let short = [&b"f 6 644 1 abcde"[..], &sum].concat();
        let long = [&b"f 4 644 1 abcde"[..], &sum].concat();
        let far = [&b"f 0 644 "[..], &[b'0'; 70], b" ", &sum].concat();
        let huge = [&b"f 18446744073709551615 644 1 "[..], &sum].concat();
        for bad in [
            &b"X"[..],
            b"X x why",
            b"X  5",
            b"B",
            b"B x",
            b"B 1 9",        // mode not octal
            b"B 1 644 more", // a word too many
            b"F 1 644",
            b"F 1 644 5 ",
            b"F 1 644 5 6",
            b"F -1 644 5",
            b"F 1 abc 5",
            b"F 1 644 x",
            b"F1 644 5",
            b"f 1 644 5",
            &short[..],
            &long[..],
            &far[..],
            &huge[..],
            &sum[..],
            b"S 00",
            b"",
        ] {
            assert_eq!(Reply::parse(bad), None, "{:?}", String::from_utf8_lossy(bad));
        }
        for bad in [&b"OK"[..], b"OK x", b"OK 1 2", b"FAILED 5 : no"] {
            assert_eq!(Sent::parse(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn a_framed_batch_says_f_after_z_only() {
        let c = GetMany {
            n: 3,
            max: Some(10),
            packed: true,
            archive: false,
            compress: Some(Choice::Force(None)),
            framed: true,
        };
        assert_eq!(c.line(), b"TFDGETMANY 3 10 p z=yes f");
        assert_eq!(GetMany::parse(&c.encode()), Some(c));
        assert_eq!(
            GetMany::parse(b"0 0 z f").map(|g| (g.framed, g.compress)),
            Some((true, Some(Choice::Auto)))
        );
        // f without z is not said, nor read
        let plain = GetMany { compress: None, ..c };
        assert_eq!(plain.line(), b"TFDGETMANY 3 10 p");
        for bad in [&b"3 10 f"[..], b"3 10 p f", b"3 10 z f f", b"3 10 f z", b"3 10 z ff"] {
            assert_eq!(GetMany::parse(bad), None, "{bad:?}");
        }
    }
}
