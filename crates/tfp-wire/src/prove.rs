//! `TFDHMAC <key | -> <path hex> [<path hex> ...]`, tfd's own
//! (doc/compatibility.md "Backups with history"): the server proves it still
//! holds files by hashing each with a key the client chose just now, so no
//! answer kept from before can serve (the backup hub's `REQ`, "request CRC,
//! hashed with this key", and its `RSP`).
//!
//! The key is 32 bytes in hex (HMAC-SHA256 with it), or `-` for the plain
//! SHA-256 (a weaker check, for a client that holds no key: the server
//! could keep the sums and not the data). Paths are in hex, so any byte a
//! name holds travels; one command asks at most [`MAX_PATHS`] of at most
//! [`MAX_PATH`] bytes each, on a line of at most [`MAX_LINE`] bytes.
//!
//! The answer is `OK` and one word a path, in order: the 64 hex digits of
//! its HMAC (or SHA-256), `X<code>` when that file could not be hashed (the
//! FAILED code it would have had alone: 17 missing, 23 not a regular file,
//! 1 refused), or `.` when the command's work was spent before it (the
//! server hashes at most [`BUDGET`] bytes a command, the first file always
//! whole): the client asks for it again. A malformed command is `FAILED 16`
//! and changes nothing. A server without it answers `UNKNOWN`.

use crate::hex;

/// The command.
pub const COMMAND: &str = "TFDHMAC";
/// The most paths one command asks.
pub const MAX_PATHS: usize = 1000;
/// The longest path, in bytes (before hex).
pub const MAX_PATH: usize = 4096;
/// The longest command line a client sends (well below a frame).
pub const MAX_LINE: usize = 256 << 10;
/// The bytes the server hashes at most for one command (past it, the
/// files not yet started are answered `.`).
pub const BUDGET: u64 = 256 << 20;

/// What the server hashes with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Key {
    /// HMAC-SHA256 with these bytes as its key.
    Hmac([u8; 32]),
    /// The plain SHA-256.
    Plain,
}

/// A request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    pub key: Key,
    pub paths: Vec<Vec<u8>>,
}

/// Whether `p` can travel as one of a request's paths.
pub fn path_fits(p: &[u8]) -> bool {
    !p.is_empty() && p.len() <= MAX_PATH && !p.contains(&0)
}

impl Request {
    /// The whole command line; `None` for a request the grammar cannot
    /// carry (no path or too many, a path that does not fit, a line over
    /// [`MAX_LINE`]).
    pub fn line(&self) -> Option<Vec<u8>> {
        let ok = !self.paths.is_empty() && self.paths.len() <= MAX_PATHS && self.paths.iter().all(|p| path_fits(p));
        if !ok {
            return None;
        }
        let mut out = format!("{COMMAND} {}", key_word(&self.key)).into_bytes();
        for p in &self.paths {
            out.push(b' ');
            out.extend_from_slice(hex::encode(p).as_bytes());
        }
        (out.len() <= MAX_LINE).then_some(out)
    }

    /// The length [`Request::line`] has with one more path `p`, given the
    /// length `now` without it.
    pub fn grown(now: usize, p: &[u8]) -> usize {
        now + 1 + 2 * p.len()
    }

    /// Reads the argument; `None` for anything the grammar does not hold.
    pub fn parse(arg: &[u8]) -> Option<Request> {
        if arg.len() > MAX_LINE {
            return None;
        }
        let text = std::str::from_utf8(arg).ok()?;
        let mut words = text.split(' ');
        let key = match words.next()? {
            "-" => Key::Plain,
            k if k.len() == 64 => Key::Hmac(hex::decode(k)?.try_into().ok()?),
            _ => return None,
        };
        let mut paths = Vec::new();
        for w in words {
            if paths.len() == MAX_PATHS || w.len() > 2 * MAX_PATH {
                return None;
            }
            let p = hex::decode(w)?;
            path_fits(&p).then_some(())?;
            paths.push(p);
        }
        (!paths.is_empty()).then_some(Request { key, paths })
    }
}

fn key_word(k: &Key) -> String {
    match k {
        Key::Hmac(k) => hex::encode(k),
        Key::Plain => "-".into(),
    }
}

/// The one hash both sides compute (OpenSSL's HMAC-SHA256 or SHA-256),
/// fed a file's bytes as they are read.
pub struct Hasher {
    ctx: openssl::md_ctx::MdCtx,
    keyed: bool,
}

impl Hasher {
    /// A hash with `key`.
    pub fn new(key: &Key) -> Result<Hasher, openssl::error::ErrorStack> {
        let md = openssl::md::Md::sha256();
        let mut ctx = openssl::md_ctx::MdCtx::new()?;
        let keyed = match key {
            Key::Hmac(k) => {
                let pkey = openssl::pkey::PKey::hmac(k)?;
                ctx.digest_sign_init(Some(md), &pkey)?;
                true
            }
            Key::Plain => {
                ctx.digest_init(md)?;
                false
            }
        };
        Ok(Hasher { ctx, keyed })
    }

    /// Feeds `data`.
    pub fn update(&mut self, data: &[u8]) -> Result<(), openssl::error::ErrorStack> {
        if self.keyed {
            self.ctx.digest_sign_update(data)
        } else {
            self.ctx.digest_update(data)
        }
    }

    /// The sum of what was fed.
    pub fn finish(mut self) -> Result<[u8; 32], openssl::error::ErrorStack> {
        let mut out = [0u8; 32];
        if self.keyed {
            self.ctx.digest_sign_final(Some(&mut out))?;
        } else {
            self.ctx.digest_final(&mut out)?;
        }
        Ok(out)
    }
}

/// The answer for one path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answer {
    /// The HMAC (or SHA-256) of the file's bytes.
    Sum([u8; 32]),
    /// Not hashed: the FAILED code it would have had alone.
    Failed(i32),
    /// Not reached within the command's [`BUDGET`]: ask again.
    Later,
}

impl Answer {
    fn word(&self) -> String {
        match self {
            Answer::Sum(s) => hex::encode(s),
            Answer::Failed(c) => format!("X{c}"),
            Answer::Later => ".".into(),
        }
    }

    fn parse(w: &str) -> Option<Answer> {
        if w == "." {
            return Some(Answer::Later);
        }
        if let Some(code) = w.strip_prefix('X') {
            let c: i32 = code.parse().ok()?;
            return (c > 0 && code.bytes().all(|b| b.is_ascii_digit())).then_some(Answer::Failed(c));
        }
        (w.len() == 64).then_some(())?;
        Some(Answer::Sum(hex::decode(w)?.try_into().ok()?))
    }
}

/// The text after `OK ` of the answers.
pub fn encode_answers(a: &[Answer]) -> Vec<u8> {
    a.iter().map(Answer::word).collect::<Vec<_>>().join(" ").into_bytes()
}

/// Reads the answers to a request of `n` paths (the text after `OK `);
/// `None` when it is not exactly `n` answers.
pub fn parse_answers(text: &[u8], n: usize) -> Option<Vec<Answer>> {
    let text = std::str::from_utf8(text).ok()?;
    let a: Vec<Answer> = text.split(' ').map(Answer::parse).collect::<Option<_>>()?;
    (a.len() == n).then_some(a)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_and_answers_round_trip() {
        let r = Request {
            key: Key::Hmac([7; 32]),
            paths: vec![b"bk/s/tree/a b".to_vec(), b"x\n|y".to_vec()],
        };
        let line = r.line().unwrap();
        let arg = &line[COMMAND.len() + 1..];
        assert_eq!(Request::parse(arg), Some(r));
        let p = Request {
            key: Key::Plain,
            paths: vec![b"f".to_vec()],
        };
        assert_eq!(p.line().as_deref(), Some(&b"TFDHMAC - 66"[..]));
        let a = [Answer::Sum([1; 32]), Answer::Failed(17), Answer::Later];
        assert_eq!(parse_answers(&encode_answers(&a), 3).as_deref(), Some(&a[..]));
        assert_eq!(parse_answers(&encode_answers(&a), 2), None);
    }

    #[test]
    fn the_hasher_is_rfc_4231s_hmac_and_sha256() {
        // RFC 4231 test case 2 has a 4-byte key; a 32-byte key is checked
        // against HMAC's definition over OpenSSL's SHA-256
        let k = [0x0b; 32];
        let mut h = Hasher::new(&Key::Hmac(k)).unwrap();
        h.update(b"Hi ").unwrap();
        h.update(b"There").unwrap();
        let got = h.finish().unwrap();
        let sha = |d: &[u8]| openssl::sha::sha256(d);
        let pad = |b: u8| -> Vec<u8> { k.iter().map(|x| x ^ b).chain(std::iter::repeat(b).take(32)).collect() };
        let inner = sha(&[&pad(0x36)[..], b"Hi There"].concat());
        let want = sha(&[&pad(0x5c)[..], &inner[..]].concat());
        assert_eq!(got, want);
        let mut p = Hasher::new(&Key::Plain).unwrap();
        p.update(b"abc").unwrap();
        assert_eq!(p.finish().unwrap(), sha(b"abc"));
    }

    #[test]
    fn what_the_grammar_does_not_hold_is_refused() {
        for bad in [
            &b""[..],
            b"-",
            b"- ",
            b"- 6",
            b"- zz",
            b"- 6600",
            b"00 66",
            b"-  66",
            b"- 66 ",
        ] {
            assert_eq!(Request::parse(bad), None, "{:?}", String::from_utf8_lossy(bad));
        }
        let many = format!("-{}", " 66".repeat(MAX_PATHS + 1));
        assert_eq!(Request::parse(many.as_bytes()), None);
        let long = format!("- {}", "66".repeat(MAX_PATH + 1));
        assert_eq!(Request::parse(long.as_bytes()), None);
        assert_eq!(
            Request {
                key: Key::Plain,
                paths: vec![]
            }
            .line(),
            None
        );
        for bad in ["", "X", "X0", "X-1", "X+1", "ab", &"g".repeat(64)] {
            assert_eq!(parse_answers(bad.as_bytes(), 1), None, "{bad:?}");
        }
    }
}
