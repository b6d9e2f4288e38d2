//! What a copy must keep of one entry (`rsync -a`'s facts: kind, size, mode,
//! mtime to the nanosecond, owner, device number, link target), written and
//! read once for every frame that carries it: a `TFDENTRIES` listing's lines
//! ([`Entry`]), an archive batch upload's headers and an archive batch
//! download's replies (crate::batch). doc/compatibility.md "Archive copies".
//!
//! The fixed words are followed by tagged words `key=value` before the
//! length-prefixed name, so a fact added later (hard links, xattrs) is a new
//! key, not a new format: a reader of a server's listing skips keys it does
//! not know ([`Tags::Lenient`]), a server reading what a client asks of it
//! refuses them ([`Tags::Strict`]), since a request it cannot honour must
//! never be half done.

use crate::fstat::FileType;

/// The longest link target a frame carries (Linux's `PATH_MAX`).
pub const MAX_TARGET: usize = 4096;
/// The longest name a listing line or a header carries.
pub const MAX_NAME: usize = 4096;
/// The most tagged words one line may hold.
const MAX_TAGS: usize = 16;

/// The one-letter tag of each kind, as listings and headers write it.
const TAGS: [(FileType, u8); 8] = [
    (FileType::Dir, b'D'),
    (FileType::Regular, b'F'),
    (FileType::Symlink, b'L'),
    (FileType::Fifo, b'P'),
    (FileType::Socket, b'S'),
    (FileType::CharDevice, b'C'),
    (FileType::BlockDevice, b'B'),
    (FileType::Other, b'U'),
];

/// The letter of `kind`.
pub fn tag_of(kind: FileType) -> u8 {
    TAGS.iter().find(|(k, _)| *k == kind).map_or(b'U', |(_, t)| *t)
}

/// The kind a letter names.
pub fn kind_of(tag: u8) -> Option<FileType> {
    TAGS.iter().find(|(_, t)| *t == tag).map(|(k, _)| *k)
}

/// A modification time to the nanosecond: `sec.nnnnnnnnn` on the wire, or
/// `sec` alone where the nanoseconds are 0 (so a server or file system of
/// whole seconds reads as itself).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Mtime {
    /// Seconds since the epoch (negative before it).
    pub sec: i64,
    /// Nanoseconds past `sec`, below 1,000,000,000.
    pub nsec: u32,
}

impl Mtime {
    /// A whole second.
    pub fn secs(sec: i64) -> Mtime {
        Mtime { sec, nsec: 0 }
    }

    /// From `stat`'s two fields; `None` for nanoseconds out of range.
    pub fn of(sec: i64, nsec: i64) -> Option<Mtime> {
        let nsec = u32::try_from(nsec).ok().filter(|n| *n < 1_000_000_000)?;
        Some(Mtime { sec, nsec })
    }

    /// The text form.
    pub fn text(&self) -> String {
        if self.nsec == 0 {
            self.sec.to_string()
        } else {
            format!("{}.{:09}", self.sec, self.nsec)
        }
    }

    /// Reads `sec` or `sec.nnnnnnnnn` (exactly nine digits).
    pub fn parse(word: &[u8]) -> Option<Mtime> {
        let text = std::str::from_utf8(word).ok()?;
        let (sec, nsec) = match text.split_once('.') {
            None => (text, 0),
            Some((s, n)) if n.len() == 9 && n.bytes().all(|b| b.is_ascii_digit()) => (s, n.parse().ok()?),
            Some(_) => return None,
        };
        if sec.is_empty() || sec.starts_with('+') {
            return None;
        }
        Mtime::of(sec.parse().ok()?, nsec)
    }
}

/// How a reader takes a tagged word whose key it does not know.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tags {
    /// Skipped: a listing from a newer server.
    Lenient,
    /// Refused: a request the reader cannot honour whole.
    Strict,
}

/// The tagged facts: each optional.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Extra {
    /// `u=<uid> g=<gid>`: both or neither.
    pub owner: Option<(u32, u32)>,
    /// `r=<rdev>`: a device's number.
    pub rdev: Option<u64>,
    /// `c=<seconds>`: a listed entry's ctime, when its data or attributes
    /// last changed (a copy made in the second of its own mtime may predate
    /// an edit in that second: git's "racy" entries). Listings only.
    pub changed: Option<i64>,
    /// `h=<dev>:<ino>`: which file a listed regular file with more than one
    /// name is (its device and inode), so a copy that keeps hard links
    /// (`-H`) finds the names that share it; and on the listed directory
    /// itself (`.`), its own, saying the listing carries them. Listings only.
    pub inode: Option<(u64, u64)>,
}

impl Extra {
    /// Appends the words, each with a space before it.
    fn encode_into(&self, out: &mut Vec<u8>) {
        if let Some((u, g)) = self.owner {
            out.extend_from_slice(format!(" u={u} g={g}").as_bytes());
        }
        if let Some(r) = self.rdev {
            out.extend_from_slice(format!(" r={r}").as_bytes());
        }
        if let Some(c) = self.changed {
            out.extend_from_slice(format!(" c={c}").as_bytes());
        }
        if let Some((dev, ino)) = self.inode {
            out.extend_from_slice(format!(" h={dev}:{ino}").as_bytes());
        }
    }

    /// Takes one tagged word; false when it is no tagged word at all.
    /// `Err` for a malformed value or, when strict, an unknown key.
    fn take(&mut self, word: &[u8], tags: Tags, owner: &mut (Option<u32>, Option<u32>)) -> Result<bool, ()> {
        let Some(eq) = word.iter().position(|&b| b == b'=') else {
            return Ok(false);
        };
        let (key, value) = (&word[..eq], &word[eq + 1..]);
        match key {
            b"u" => owner.0 = Some(num(value).ok_or(())?),
            b"g" => owner.1 = Some(num(value).ok_or(())?),
            b"r" => self.rdev = Some(num(value).ok_or(())?),
            b"c" if tags == Tags::Lenient => {
                self.changed = Some(std::str::from_utf8(value).ok().and_then(|v| v.parse().ok()).ok_or(())?)
            }
            b"h" if tags == Tags::Lenient => {
                let (dev, ino) = value.split_at(value.iter().position(|&b| b == b':').ok_or(())?);
                self.inode = Some((num(dev).ok_or(())?, num(&ino[1..]).ok_or(())?));
            }
            _ if tags == Tags::Strict => return Err(()),
            // a key of a newer writer: its value is any word
            _ if key.is_empty() || !key.iter().all(u8::is_ascii_lowercase) => return Err(()),
            _ => {}
        }
        Ok(true)
    }
}

/// A decimal number without a sign.
fn num<T: std::str::FromStr>(word: &[u8]) -> Option<T> {
    if word.first() == Some(&b'+') || word.first() == Some(&b'-') {
        return None;
    }
    std::str::from_utf8(word).ok()?.parse().ok()
}

/// The next word of `text` up to a space: the word and what follows the
/// space (`None` when no space ends it).
fn word(text: &[u8]) -> Option<(&[u8], &[u8])> {
    let i = text.iter().position(|&b| b == b' ')?;
    Some((&text[..i], &text[i + 1..]))
}

/// `<length> <bytes>`: a length-prefixed field of at most `max` bytes, and
/// what follows it.
fn counted(text: &[u8], max: usize) -> Option<(&[u8], &[u8])> {
    let (len, rest) = word(text)?;
    let len: usize = num(len)?;
    if len > max || rest.len() < len {
        return None;
    }
    Some(rest.split_at(len))
}

/// Appends `<length> <bytes>`.
fn put_counted(out: &mut Vec<u8>, bytes: &[u8]) {
    out.extend_from_slice(format!("{} ", bytes.len()).as_bytes());
    out.extend_from_slice(bytes);
}

/// The tagged words, then the counted name (and, for a link, its counted
/// target): what ends both a listing line and a header. Returns the facts,
/// the name, the target and what follows.
#[allow(clippy::type_complexity)]
fn tail(text: &[u8], kind: FileType, tags: Tags) -> Option<(Extra, &[u8], Option<&[u8]>, &[u8])> {
    let mut extra = Extra::default();
    let mut owner = (None, None);
    let mut rest = text;
    let mut seen = 0;
    loop {
        let (w, after) = word(rest)?;
        match extra.take(w, tags, &mut owner) {
            Ok(true) if seen < MAX_TAGS => rest = after,
            Ok(false) => break,
            Ok(true) | Err(()) => return None,
        }
        seen += 1;
    }
    extra.owner = match owner {
        (Some(u), Some(g)) => Some((u, g)),
        (None, None) => None,
        _ => return None,
    };
    let (name, mut rest) = counted(rest, MAX_NAME)?;
    if name.is_empty() {
        return None;
    }
    let target = if kind == FileType::Symlink {
        let (t, after) = counted(rest.strip_prefix(b" ")?, MAX_TARGET)?;
        rest = after;
        Some(t)
    } else {
        None
    };
    Some((extra, name, target, rest))
}

/// One entry of a `TFDENTRIES` listing: `<T> <size> <mode, octal> <mtime>
/// [key=value ...] <length> <name>` (a link: then ` <length> <target>`) and
/// `\n`. The name is relative to the listed directory (`.` is the directory
/// itself, listed first), raw bytes. Mode holds the permission, set-id and
/// sticky bits (07777).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Entry<'a> {
    pub kind: FileType,
    /// lstat's size (a link: its target's length).
    pub size: u64,
    pub mode: u32,
    pub mtime: Mtime,
    pub extra: Extra,
    pub name: &'a [u8],
    /// A symlink's target as stored (never resolved).
    pub target: Option<&'a [u8]>,
}

impl<'a> Entry<'a> {
    /// Appends the line, `\n` included.
    pub fn encode_into(&self, out: &mut Vec<u8>) {
        out.push(tag_of(self.kind));
        out.extend_from_slice(format!(" {} {:o} {}", self.size, self.mode & 0o7777, self.mtime.text()).as_bytes());
        self.extra.encode_into(out);
        out.push(b' ');
        put_counted(out, self.name);
        if self.kind == FileType::Symlink {
            out.push(b' ');
            put_counted(out, self.target.unwrap_or_default());
        }
        out.push(b'\n');
    }

    /// Reads the line at the start of `text`: the entry and what follows its
    /// `\n`. Keys it does not know are skipped (a newer server's).
    pub fn parse_next(text: &'a [u8]) -> Option<(Entry<'a>, &'a [u8])> {
        let (&t, rest) = text.split_first()?;
        let kind = kind_of(t)?;
        let rest = rest.strip_prefix(b" ")?;
        let (size, rest) = word(rest)?;
        let (mode, rest) = word(rest)?;
        let (mtime, rest) = word(rest)?;
        let (extra, name, target, rest) = tail(rest, kind, Tags::Lenient)?;
        let entry = Entry {
            kind,
            size: num(size)?,
            mode: octal(mode)?,
            mtime: Mtime::parse(mtime)?,
            extra,
            name,
            target,
        };
        Some((entry, rest.strip_prefix(b"\n")?))
    }
}

/// Permission bits in octal, at most 07777.
fn octal(word: &[u8]) -> Option<u32> {
    let m = u32::from_str_radix(std::str::from_utf8(word).ok()?, 8).ok()?;
    (m <= 0o7777 && !word.starts_with(b"+")).then_some(m)
}

/// The command.
pub const ENTRIES: &str = "TFDENTRIES";

/// The command of one level: the directory and its entries, not below.
pub const DIR_ENTRIES: &str = "TFDDIRENTRIES";

/// An archive batch upload's header (`TFDPUTMANY <n> a`): `<T> <size>
/// <flags> <mode, octal> <mtime> [key=value ...] <length> <path>` (a link:
/// then ` <length> <target>`). `F` is a file whose data and trailer follow,
/// as in the plain batch; `D` a directory made if missing; `L`, `P`, `S`,
/// `C`, `B` a link, FIFO, socket or device made in place of what the path
/// holds (not a directory); `A` ([`Head::attrs_only`]) the mode, mtime or
/// owner of what the path holds, changed alone. Only `F` carries data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Head<'a> {
    /// The kind to make; `None` for `A`.
    pub kind: Option<FileType>,
    /// Bytes of data that follow (`F` only; 0 otherwise).
    pub size: u64,
    /// [`Head::SET_MODE`], [`Head::SET_MTIME`], [`Head::SET_OWNER`].
    pub flags: u8,
    pub mode: u32,
    pub mtime: Mtime,
    /// The owner (with [`Head::SET_OWNER`]) and a device's number.
    pub extra: Extra,
    pub path: &'a [u8],
    pub target: Option<&'a [u8]>,
}

impl<'a> Head<'a> {
    /// Flag: give the entry [`Head::mode`].
    pub const SET_MODE: u8 = 1;
    /// Flag: give the entry [`Head::mtime`].
    pub const SET_MTIME: u8 = 2;
    /// Flag: give the entry the owner of [`Extra::owner`].
    pub const SET_OWNER: u8 = 4;
    /// The longest header frame.
    pub const MAX: usize = MAX_NAME + MAX_TARGET + 512;

    /// Whether this is an `A` header: what the path holds keeps its data
    /// and changes its attributes.
    pub fn attrs_only(&self) -> bool {
        self.kind.is_none()
    }

    /// The mode to give, when asked.
    pub fn mode_to_set(&self) -> Option<u32> {
        (self.flags & Self::SET_MODE != 0).then_some(self.mode & 0o7777)
    }

    /// The mtime to give, when asked.
    pub fn mtime_to_set(&self) -> Option<Mtime> {
        (self.flags & Self::SET_MTIME != 0).then_some(self.mtime)
    }

    /// The owner to give, when asked.
    pub fn owner_to_set(&self) -> Option<(u32, u32)> {
        (self.flags & Self::SET_OWNER != 0)
            .then_some(self.extra.owner)
            .flatten()
    }

    /// The frame.
    pub fn encode(&self) -> Vec<u8> {
        let tag = self.kind.map_or(b'A', tag_of);
        let mut out = vec![tag];
        out.extend_from_slice(
            format!(
                " {} {} {:o} {}",
                self.size,
                self.flags,
                self.mode & 0o7777,
                self.mtime.text()
            )
            .as_bytes(),
        );
        self.extra.encode_into(&mut out);
        out.push(b' ');
        put_counted(&mut out, self.path);
        if self.kind == Some(FileType::Symlink) {
            out.push(b' ');
            put_counted(&mut out, self.target.unwrap_or_default());
        }
        out
    }

    /// Reads a header frame of at most [`Head::MAX`] bytes. Unknown keys,
    /// unknown flags, data for anything but a file, an `A` of a link's
    /// target or a flag without its value are refused.
    pub fn parse(frame: &'a [u8]) -> Option<Head<'a>> {
        if frame.len() > Self::MAX {
            return None;
        }
        let (&t, rest) = frame.split_first()?;
        let kind = if t == b'A' { None } else { Some(kind_of(t)?) };
        if kind == Some(FileType::Other) {
            return None;
        }
        let rest = rest.strip_prefix(b" ")?;
        let (size, rest) = word(rest)?;
        let (flags, rest) = word(rest)?;
        let (mode, rest) = word(rest)?;
        let (mtime, rest) = word(rest)?;
        let (extra, path, target, rest) = tail(rest, kind.unwrap_or(FileType::Regular), Tags::Strict)?;
        let head = Head {
            kind,
            size: num(size)?,
            flags: num(flags)?,
            mode: octal(mode)?,
            mtime: Mtime::parse(mtime)?,
            extra,
            path,
            target,
        };
        let all = Self::SET_MODE | Self::SET_MTIME | Self::SET_OWNER;
        let sound = rest.is_empty()
            && head.flags & !all == 0
            && (head.size == 0 || kind == Some(FileType::Regular))
            && (head.flags & Self::SET_OWNER == 0 || extra.owner.is_some())
            && (extra.rdev.is_some() == matches!(kind, Some(FileType::CharDevice | FileType::BlockDevice)));
        sound.then_some(head)
    }
}

#[cfg(test)]
mod tests;
