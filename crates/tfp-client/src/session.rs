//! The typed commands of a session: one small method per 2.4.1 and 2.5.1
//! command whose answer is one status frame, each returning what the answer
//! means, or [`Error::Refused`] when the server said FAILED or UNKNOWN. Paths
//! are bytes as they go on the wire (`&str`, `String`, `&[u8]` and `Vec<u8>`
//! all do).

use crate::error::ok;
use crate::remote::listing::{self, Entry, Stat};
use crate::{Client, Error};
use std::time::Duration;
use tfp_wire::{Code, Failed, SHA256_TEXT_LEN};

/// A SHA-256 digest as SHA256 answers it (`0x` and 64 hex digits on the wire).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Digest(pub [u8; 32]);

impl Digest {
    /// Parses the wire text `0x<64 hex digits>` (either case).
    ///
    /// ```
    /// let d = tfp_client::Digest::from_text(
    ///     b"0xe3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    /// )
    /// .unwrap();
    /// assert_eq!(d.0[0], 0xe3);
    /// assert_eq!(d.to_string().len(), 66);
    /// assert!(tfp_client::Digest::from_text(b"e3b0").is_none());
    /// ```
    pub fn from_text(text: &[u8]) -> Option<Digest> {
        let hex = text.strip_prefix(b"0x")?;
        if text.len() != SHA256_TEXT_LEN {
            return None;
        }
        let mut out = [0u8; 32];
        for (o, pair) in out.iter_mut().zip(hex.chunks(2)) {
            let s = std::str::from_utf8(pair).ok()?;
            *o = u8::from_str_radix(s, 16).ok()?;
        }
        Some(Digest(out))
    }

    /// The wire text: `0x` and 64 lower-case hex digits.
    pub fn to_text(&self) -> [u8; SHA256_TEXT_LEN] {
        tfp_wire::sha256_text(&self.0)
    }
}

/// `0x` and 64 lower-case hex digits.
impl std::fmt::Display for Digest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&String::from_utf8_lossy(&self.to_text()))
    }
}

impl std::fmt::Debug for Digest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Digest({self})")
    }
}

/// An LS/LSR listing, parsed and checked ([`Client::listdir`]): iterate it for
/// the [`Entry`]s; lines whose names failed the checks (`..`, an absolute
/// path, a control character) are kept apart in [`Listing::refused`].
#[derive(Debug, Default)]
pub struct Listing {
    /// The usable entries, in the server's order.
    pub entries: Vec<Entry>,
    /// Names refused by the checks, as sent, and why.
    pub refused: Vec<(Vec<u8>, crate::tree::names::Refused)>,
}

impl Listing {
    /// The entries, borrowed.
    pub fn iter(&self) -> std::slice::Iter<'_, Entry> {
        self.entries.iter()
    }

    /// How many usable entries.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether there is no usable entry.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

impl IntoIterator for Listing {
    type Item = Entry;
    type IntoIter = std::vec::IntoIter<Entry>;

    fn into_iter(self) -> Self::IntoIter {
        self.entries.into_iter()
    }
}

impl<'a> IntoIterator for &'a Listing {
    type Item = &'a Entry;
    type IntoIter = std::slice::Iter<'a, Entry>;

    fn into_iter(self) -> Self::IntoIter {
        self.entries.iter()
    }
}

/// `NAME arg`: `Ok(data)` for `OK [data]`, the refusal otherwise.
pub(crate) fn run(c: &mut Client, name: &str, arg: &[u8]) -> Result<Vec<u8>, Error> {
    ok(name, c.call(name, arg)?)
}

/// `NAME a | b`.
pub(crate) fn pair(c: &mut Client, name: &str, a: &[u8], b: &[u8]) -> Result<(), Error> {
    run(c, name, &[a, b" | ", b].concat()).map(drop)
}

/// An answer's text as a number.
pub(crate) fn number<T: std::str::FromStr>(name: &str, d: &[u8]) -> Result<T, Error> {
    std::str::from_utf8(d)
        .ok()
        .and_then(|t| t.trim().parse().ok())
        .ok_or_else(|| Error::Protocol(format!("{name} answered {:?}", crate::escape::shown(d))))
}

/// `<sec>.<fraction>` with the fraction unpadded, as a duration since the epoch.
fn stamp(name: &str, d: &[u8], nanos_per_unit: u32) -> Result<Duration, Error> {
    let bad = || Error::Protocol(format!("{name} answered {:?}", crate::escape::shown(d)));
    let text = std::str::from_utf8(d).map_err(|_| bad())?;
    let (s, f) = text.split_once('.').ok_or_else(bad)?;
    let secs: u64 = s.parse().map_err(|_| bad())?;
    let frac: u32 = f.parse().map_err(|_| bad())?;
    let nanos = frac
        .checked_mul(nanos_per_unit)
        .filter(|n| *n < 1_000_000_000)
        .ok_or_else(bad)?;
    Ok(Duration::new(secs, nanos))
}

/// UTF-8 text of an answer (lossy: the server's words).
pub(crate) fn text(d: Vec<u8>) -> String {
    String::from_utf8(d).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

impl Client {
    /// `MKDIR path`: creates one directory.
    pub fn mkdir(&mut self, path: impl AsRef<[u8]>) -> Result<(), Error> {
        run(self, "MKDIR", path.as_ref()).map(drop)
    }

    /// `RMKDIR path` (2.5.1): creates every missing directory on the path.
    pub fn rmkdir(&mut self, path: impl AsRef<[u8]>) -> Result<(), Error> {
        run(self, "RMKDIR", path.as_ref()).map(drop)
    }

    /// `DEL path`: removes a file.
    pub fn del(&mut self, path: impl AsRef<[u8]>) -> Result<(), Error> {
        run(self, "DEL", path.as_ref()).map(drop)
    }

    /// `RMDIR path`: removes a directory and everything below it.
    pub fn rmdir(&mut self, path: impl AsRef<[u8]>) -> Result<(), Error> {
        run(self, "RMDIR", path.as_ref()).map(drop)
    }

    /// `LS path`, then `RMDIR path` only if the listing is empty: the
    /// `rmdir` of `os.rmdir` and `tf rmdir` without `-r` (the protocol's
    /// RMDIR removes a whole tree). `Ok(None)`: removed; `Ok(Some(n))`: the
    /// directory holds `n` entries and nothing was removed. A name that is
    /// no directory is LS's refusal.
    pub fn rmdir_empty(&mut self, path: impl AsRef<[u8]>) -> Result<Option<usize>, Error> {
        let path = path.as_ref();
        let text = self.list(false, path)?;
        let n = text.split(|&b| b == b'\n').filter(|l| !l.is_empty()).count();
        if n > 0 {
            return Ok(Some(n));
        }
        self.rmdir(path).map(|()| None)
    }

    /// `TOUCH path`: creates an empty file (refused with
    /// [`Failed::FileExists`] when it exists).
    pub fn touch(&mut self, path: impl AsRef<[u8]>) -> Result<(), Error> {
        run(self, "TOUCH", path.as_ref()).map(drop)
    }

    /// `FUPD path`: sets both timestamps of a file to now.
    pub fn fupd(&mut self, path: impl AsRef<[u8]>) -> Result<(), Error> {
        run(self, "FUPD", path.as_ref()).map(drop)
    }

    /// `COPY src | dst`: copies a file.
    pub fn copy(&mut self, src: impl AsRef<[u8]>, dst: impl AsRef<[u8]>) -> Result<(), Error> {
        pair(self, "COPY", src.as_ref(), dst.as_ref())
    }

    /// `CPDIR src | dst`: copies a directory tree into a new directory.
    pub fn cpdir(&mut self, src: impl AsRef<[u8]>, dst: impl AsRef<[u8]>) -> Result<(), Error> {
        pair(self, "CPDIR", src.as_ref(), dst.as_ref())
    }

    /// `RENAM old | new`: renames (moves) a file or directory.
    pub fn rename(&mut self, old: impl AsRef<[u8]>, new: impl AsRef<[u8]>) -> Result<(), Error> {
        pair(self, "RENAM", old.as_ref(), new.as_ref())
    }

    /// `SHA256 path`: the server's SHA-256 of a file.
    pub fn sha256(&mut self, path: impl AsRef<[u8]>) -> Result<Digest, Error> {
        let d = run(self, "SHA256", path.as_ref())?;
        Digest::from_text(&d).ok_or_else(|| Error::Protocol(format!("SHA256 answered {:?}", crate::escape::shown(&d))))
    }

    /// `FSTAT path`: what the path is, its size and modification time.
    pub fn fstat(&mut self, path: impl AsRef<[u8]>) -> Result<Stat, Error> {
        listing::fstat(self, path.as_ref())
    }

    /// The same as [`Client::fstat`].
    pub fn stat(&mut self, path: impl AsRef<[u8]>) -> Result<Stat, Error> {
        self.fstat(path)
    }

    /// Whether `path` exists (FSTAT): `false` when the server answers
    /// [`Failed::NoSuchFile`] or [`Failed::NoSuchDir`]; any other refusal is
    /// an error.
    pub fn exists(&mut self, path: impl AsRef<[u8]>) -> Result<bool, Error> {
        match self.fstat(path) {
            Ok(_) => Ok(true),
            Err(e) if matches!(e.code(), Some(Code::Known(Failed::NoSuchFile | Failed::NoSuchDir))) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// `ECHO text`: the server sends `text` back as it came (no status
    /// word), so this is the cheapest round trip there is and a liveness
    /// check.
    ///
    /// ```no_run
    /// # fn main() -> Result<(), tfp_client::Error> {
    /// let mut c = tfp_client::Client::builder("127.0.0.1:10345")
    ///     .key_file("pub.pem")
    ///     .hash("app-hash")
    ///     .connect()?;
    /// assert_eq!(c.echo("hello")?, b"hello");
    /// # Ok(()) }
    /// ```
    pub fn echo(&mut self, text: impl AsRef<[u8]>) -> Result<Vec<u8>, Error> {
        self.raw(&[b"ECHO ", text.as_ref()].concat())
    }

    /// `FREESP`: the bytes this session may still store.
    pub fn freesp(&mut self) -> Result<u64, Error> {
        let d = run(self, "FREESP", b"")?;
        number("FREESP", &d)
    }

    /// `LOCK name`: the session's lock-file name (empty: locking off).
    pub fn lock(&mut self, name: impl AsRef<[u8]>) -> Result<(), Error> {
        run(self, "LOCK", name.as_ref()).map(drop)
    }

    /// `DATE`: the server's clock, seconds since the epoch.
    pub fn date(&mut self) -> Result<i64, Error> {
        let d = run(self, "DATE", b"")?;
        number("DATE", &d)
    }

    /// `UDATE`: the server's clock to the microsecond, since the epoch.
    pub fn udate(&mut self) -> Result<Duration, Error> {
        let d = run(self, "UDATE", b"")?;
        stamp("UDATE", &d, 1_000)
    }

    /// `NDATE`: the server's clock to the nanosecond, since the epoch.
    pub fn ndate(&mut self) -> Result<Duration, Error> {
        let d = run(self, "NDATE", b"")?;
        stamp("NDATE", &d, 1)
    }

    /// `DATEF`: the server's clock as `YYYY-MM-DD HH:MM:SS` (UTC).
    pub fn datef(&mut self) -> Result<String, Error> {
        run(self, "DATEF", b"").map(text)
    }

    /// `DTOF seconds`: a time stamp as `YYYY-MM-DD HH:MM:SS` (UTC).
    pub fn dtof(&mut self, seconds: i64) -> Result<String, Error> {
        run(self, "DTOF", seconds.to_string().as_bytes()).map(text)
    }

    /// `FTOD YYYY-MM-DD HH:MM:SS`: the seconds since the epoch.
    pub fn ftod(&mut self, date: &str) -> Result<i64, Error> {
        let d = run(self, "FTOD", date.as_bytes())?;
        number("FTOD", &d)
    }

    /// `PROCKEY`: the key for the UDP probes (`/` and 32 hex digits).
    pub fn prockey(&mut self) -> Result<String, Error> {
        run(self, "PROCKEY", b"").map(text)
    }

    /// `TLB`: the next server of the balancing list (`4|6 ip;port`).
    pub fn tlb(&mut self) -> Result<String, Error> {
        run(self, "TLB", b"").map(text)
    }

    /// `KEEPALIVE on idle | interval | count`: TCP keepalive of the
    /// connection on the server's side.
    pub fn keepalive(&mut self, on: bool, idle: u32, interval: u32, count: u32) -> Result<(), Error> {
        let arg = format!("{} {idle} | {interval} | {count}", u8::from(on));
        run(self, "KEEPALIVE", arg.as_bytes()).map(drop)
    }

    /// `CHMOD path mode`: the mode goes as octal.
    pub fn chmod(&mut self, path: impl AsRef<[u8]>, mode: u32) -> Result<(), Error> {
        let arg = [path.as_ref(), format!(" {mode:o}").as_bytes()].concat();
        run(self, "CHMOD", &arg).map(drop)
    }

    /// `CHOWN path user group`: names or numeric ids.
    pub fn chown(&mut self, path: impl AsRef<[u8]>, user: &str, group: &str) -> Result<(), Error> {
        let arg = [path.as_ref(), format!(" {user} {group}").as_bytes()].concat();
        run(self, "CHOWN", &arg).map(drop)
    }

    /// `LS dir`: the directory's entries, parsed and checked.
    pub fn listdir(&mut self, dir: impl AsRef<[u8]>) -> Result<Listing, Error> {
        self.listing(dir.as_ref(), false)
    }

    /// `LSR dir`: every entry below the directory, paths relative to it.
    pub fn listdir_recursive(&mut self, dir: impl AsRef<[u8]>) -> Result<Listing, Error> {
        self.listing(dir.as_ref(), true)
    }

    fn listing(&mut self, dir: &[u8], recursive: bool) -> Result<Listing, Error> {
        let l = listing::list(self, dir, recursive)?;
        Ok(Listing {
            entries: l.entries,
            refused: l.refused,
        })
    }
}
