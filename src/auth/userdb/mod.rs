//! The LOGIN user file (`userdb` in tfd.conf): a passwd-style text file, one user a
//! line,
//!
//! ```text
//! name:hash:system_user:quota[:jail]
//! ```
//!
//! - `name`: what the client sends to LOGIN, compared exactly (1..64 bytes of
//!   letters, digits, `.`, `_`, `-` and `@`, not starting with `-`);
//! - `hash`: a crypt(3) hash, `$6$` (SHA-512-crypt) or `$5$` (SHA-256-crypt), with an
//!   optional `rounds=N$` part (1000..=10000000); a leading `!` locks the account;
//! - `system_user`: the system account the session becomes (empty: the same as `name`);
//! - `quota`: bytes the user's files may take, with an optional K/M/G/T suffix; empty
//!   means `quota_default` from tfd.conf, `0` means no quota;
//! - `jail` (optional; absent or empty: none): a directory beneath the served
//!   root the user's sessions are confined to right after LOGIN, as OpenSSH's
//!   `ChrootDirectory` under `Match User` (see `session::jail` for what guards
//!   it). Lines without a jail are written with four fields, as before.
//!
//! Blank lines and lines starting with `#` are comments and survive rewrites. The
//! reference server's plain-text lines (`name password`, told apart because a space
//! comes before any `:`) are still accepted so deployments can migrate, but tfd warns
//! loudly about them and `tfpasswd import` turns them into hashed lines.
//!
//! Verification does the same hash work whatever the outcome: an unknown name, a
//! locked account or a legacy line still costs one crypt computation with the file's
//! strongest parameters (a "dummy" hash), so the reply time does not tell which names
//! exist. Comparisons are constant-time. Parsing takes arbitrary bytes and never
//! panics (the fuzz targets rely on it).

use std::fmt;
use std::fs::OpenOptions;
use std::io;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

pub mod admin;
mod crypt;
mod format;
mod store;

pub use crypt::{Cost, CryptHash, HashError, Scheme};
use format::parse_entry;
pub use format::{check_jail, check_name, check_system_user, format_size, parse_size, FieldError, QuotaSpec};
pub use store::{convert_legacy, load, load_trusted, save_atomic, startup_check, update};

/// Larger files are refused: no user file is, and a wrong path must not make the
/// daemon read an unbounded amount.
pub(crate) const MAX_FILE_SIZE: u64 = 1 << 20;
/// Longest user name.
pub const MAX_NAME: usize = 64;
/// Fewest crypt rounds accepted (glibc's minimum).
pub(crate) const MIN_ROUNDS: u32 = 1_000;
/// Most crypt rounds accepted: glibc allows 999999999, which would make one LOGIN
/// take minutes; ten million (seconds) is already far beyond useful.
pub(crate) const MAX_ROUNDS: u32 = 10_000_000;
/// crypt(3)'s default rounds, used when a hash does not say.
pub(crate) const DEFAULT_ROUNDS: u32 = 5_000;

/// Why the user file or an operation on it failed. Displays as `file:line: message`
/// where a line is to blame, like tfd.conf errors.
#[non_exhaustive]
#[derive(Debug)]
pub enum UserDbError {
    /// The file (or its lock or temporary file) could not be read or written.
    Io {
        /// The file concerned.
        file: String,
        /// What the OS said.
        error: io::Error,
    },
    /// The file is larger than [`MAX_FILE_SIZE`].
    TooLarge {
        /// The file concerned.
        file: String,
    },
    /// A line does not parse.
    Syntax {
        /// The file concerned.
        file: String,
        /// 1-based line number.
        line: usize,
        /// What is wrong.
        message: String,
    },
    /// A name appears twice; the first would silently win otherwise.
    Duplicate {
        /// The file concerned.
        file: String,
        /// The second occurrence.
        line: usize,
        /// The name.
        name: String,
        /// The first occurrence.
        first_line: usize,
    },
    /// A value given to an operation is not acceptable (name, password, size...).
    Invalid(String),
    /// No such user in the file.
    NoSuchUser(String),
    /// The user is already in the file.
    Exists(String),
    /// The operation needs a hashed line but the user's line is a legacy one.
    Legacy(String),
    /// The OS had no randomness for a salt.
    Random,
    /// The file (or a directory above it) could be changed by another account
    /// (tfd_sys::private_file::check_file): not read, and the reason.
    Untrusted(String),
}

impl fmt::Display for UserDbError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            UserDbError::Io { file, error } => write!(f, "{file}: {error}"),
            UserDbError::TooLarge { file } => write!(f, "{file}: larger than {MAX_FILE_SIZE} bytes"),
            UserDbError::Syntax { file, line, message } => write!(f, "{file}:{line}: {message}"),
            UserDbError::Duplicate {
                file,
                line,
                name,
                first_line,
            } => write!(
                f,
                "{file}:{line}: user {name:?} given twice (first on line {first_line})"
            ),
            UserDbError::Invalid(m) => write!(f, "{m}"),
            UserDbError::NoSuchUser(n) => write!(f, "no user {n:?}"),
            UserDbError::Exists(n) => write!(f, "user {n:?} exists"),
            UserDbError::Legacy(n) => write!(
                f,
                "user {n:?} has a legacy plain-text line; convert it first with `tfpasswd import`"
            ),
            UserDbError::Random => write!(f, "no randomness available for a salt"),
            UserDbError::Untrusted(why) => write!(f, "{why}"),
        }
    }
}

impl std::error::Error for UserDbError {}

pub use tfp_wire::ct_eq;

/// How a user proves who they are.
#[derive(Clone, PartialEq, Eq)]
pub enum Secret {
    /// A crypt hash (the normal case).
    Crypt(CryptHash),
    /// A legacy plain-text password (reference format, migration only).
    Legacy(Vec<u8>),
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Secret::Crypt(h) => write!(f, "{h:?}"),
            Secret::Legacy(_) => write!(f, "Legacy(<redacted>)"),
        }
    }
}

/// One user of the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// The LOGIN name.
    pub name: String,
    /// The password hash (or legacy plain text).
    pub secret: Secret,
    /// `!` before the hash: LOGIN always fails.
    pub locked: bool,
    /// The system account (None: same as `name`).
    pub system_user: Option<String>,
    /// The quota field.
    pub quota: QuotaSpec,
    /// The jail, beneath the served root, without leading `/` (None: the
    /// user is not jailed by the file).
    pub jail: Option<String>,
    /// Line in the file (for messages; 0 for entries added by a tool).
    pub line: usize,
}

impl Entry {
    /// The system account the session becomes.
    pub fn system_user(&self) -> &str {
        self.system_user.as_deref().unwrap_or(&self.name)
    }

    /// True for a reference-format plain-text line.
    pub fn is_legacy(&self) -> bool {
        matches!(self.secret, Secret::Legacy(_))
    }

    fn render(&self) -> Vec<u8> {
        match &self.secret {
            Secret::Legacy(pw) => {
                let mut v = format!("{} ", self.name).into_bytes();
                v.extend_from_slice(pw);
                v
            }
            Secret::Crypt(h) => {
                let mut line = format!(
                    "{}:{}{}:{}:{}",
                    self.name,
                    if self.locked { "!" } else { "" },
                    h,
                    self.system_user.as_deref().unwrap_or(""),
                    self.quota
                );
                if let Some(j) = &self.jail {
                    line.push_str(&format!(":/{j}"));
                }
                line.into_bytes()
            }
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Line {
    /// A comment or blank line, kept verbatim.
    Other(Vec<u8>),
    /// A user.
    User(Entry),
}

/// Why a LOGIN attempt was refused (all look the same to the client).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// No such name in the file.
    UnknownUser,
    /// The password does not match.
    WrongPassword,
    /// The account is locked (`!`).
    Locked,
}

/// The result of [`UserDb::authenticate`], with the hash work it did.
#[derive(Debug)]
pub struct Outcome<'a> {
    /// The user, or why not.
    pub result: Result<&'a Entry, Refusal>,
    /// The crypt computations done (two, always; see [`UserDb::authenticate`]).
    pub work: [Cost; 2],
}

/// The parsed user file.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct UserDb {
    lines: Vec<Line>,
}

impl UserDb {
    /// Parses the file's bytes; `file` names it in messages. Never panics.
    pub fn parse(bytes: &[u8], file: &str) -> Result<UserDb, UserDbError> {
        let bytes = bytes.strip_prefix(b"\xef\xbb\xbf").unwrap_or(bytes);
        let mut lines = Vec::new();
        let mut seen: Vec<(String, usize)> = Vec::new();
        let body = bytes.strip_suffix(b"\n").unwrap_or(bytes);
        if bytes.is_empty() {
            return Ok(UserDb::default());
        }
        for (i, raw) in body.split(|&b| b == b'\n').enumerate() {
            let lineno = i + 1;
            let raw = raw.strip_suffix(b"\r").unwrap_or(raw);
            let syntax = |e: FieldError| UserDbError::Syntax {
                file: file.into(),
                line: lineno,
                message: e.to_string(),
            };
            let trimmed = raw.trim_ascii();
            if trimmed.is_empty() || trimmed.starts_with(b"#") {
                lines.push(Line::Other(raw.to_vec()));
                continue;
            }
            // legacy passwords keep their trailing blanks (the reference did)
            let mut entry = parse_entry(raw.trim_ascii_start()).map_err(syntax)?;
            entry.line = lineno;
            if let Some((_, first_line)) = seen.iter().find(|(n, _)| *n == entry.name) {
                return Err(UserDbError::Duplicate {
                    file: file.into(),
                    line: lineno,
                    name: entry.name,
                    first_line: *first_line,
                });
            }
            seen.push((entry.name.clone(), lineno));
            lines.push(Line::User(entry));
        }
        Ok(UserDb { lines })
    }

    /// The file's text.
    pub fn render(&self) -> Vec<u8> {
        let mut out = Vec::new();
        for l in &self.lines {
            match l {
                Line::Other(t) => out.extend_from_slice(t),
                Line::User(e) => out.extend_from_slice(&e.render()),
            }
            out.push(b'\n');
        }
        out
    }

    /// The users, in file order.
    pub fn users(&self) -> impl Iterator<Item = &Entry> {
        self.lines.iter().filter_map(|l| match l {
            Line::User(e) => Some(e),
            Line::Other(_) => None,
        })
    }

    /// The user called `name`.
    pub fn get(&self, name: &str) -> Option<&Entry> {
        self.users().find(|e| e.name == name)
    }

    /// The user called `name`, for changes.
    pub(crate) fn get_mut(&mut self, name: &str) -> Option<&mut Entry> {
        self.lines.iter_mut().find_map(|l| match l {
            Line::User(e) if e.name == name => Some(e),
            _ => None,
        })
    }

    /// Adds a user at the end; the name must be new and valid.
    pub fn add(&mut self, entry: Entry) -> Result<(), UserDbError> {
        check_name(&entry.name)?;
        if let Some(u) = &entry.system_user {
            check_system_user(u)?;
        }
        if self.get(&entry.name).is_some() {
            return Err(UserDbError::Exists(entry.name));
        }
        self.lines.push(Line::User(entry));
        Ok(())
    }

    /// Removes a user.
    pub fn remove(&mut self, name: &str) -> Result<Entry, UserDbError> {
        let i = self
            .lines
            .iter()
            .position(|l| matches!(l, Line::User(e) if e.name == name))
            .ok_or_else(|| UserDbError::NoSuchUser(name.into()))?;
        match self.lines.remove(i) {
            Line::User(e) => Ok(e),
            Line::Other(_) => Err(UserDbError::NoSuchUser(name.into())),
        }
    }

    /// Legacy lines (for the start-up warning): (line, name).
    pub fn legacy_users(&self) -> Vec<(usize, String)> {
        self.users()
            .filter(|e| e.is_legacy())
            .map(|e| (e.line, e.name.clone()))
            .collect()
    }

    /// The cost of the strongest hash in the file (default `$6$`, 5000 rounds when
    /// there is none): unknown names are checked against a dummy of this cost.
    pub(crate) fn dummy_cost(&self) -> Cost {
        let mut best = Cost {
            scheme: Scheme::Sha512,
            rounds: DEFAULT_ROUNDS,
        };
        let weight = |c: Cost| (c.rounds, c.scheme == Scheme::Sha512);
        let mut first = true;
        for e in self.users() {
            if let Secret::Crypt(h) = &e.secret {
                if first || weight(h.cost()) > weight(best) {
                    best = h.cost();
                    first = false;
                }
            }
        }
        best
    }

    /// Checks a LOGIN: exact name match, constant-time comparison, and the same hash
    /// work whatever happens (see the module doc).
    ///
    /// Users' hashes may have different costs (a file where one user has 5,000
    /// rounds and another 20,000), so checking only the entry's own hash would let
    /// the reply time tell a weak user's wrong password from an unknown name. Every
    /// attempt therefore makes exactly two computations adding up to the strongest
    /// cost plus [`MIN_ROUNDS`]: the entry's own hash (the dummy for unknown names
    /// and legacy lines), then a top-up dummy in the strongest hash's scheme.
    pub fn authenticate(&self, name: &[u8], password: &[u8]) -> Outcome<'_> {
        // look at every entry so the scan takes as long for any name
        let mut found = None;
        for e in self.users() {
            if found.is_none() && ct_eq(e.name.as_bytes(), name) {
                found = Some(e);
            }
        }
        let strongest = self.dummy_cost();
        let dummy = CryptHash::dummy(strongest);
        let (result, first) = match found {
            None => {
                std::hint::black_box(dummy.matches(password));
                (Err(Refusal::UnknownUser), strongest)
            }
            Some(e) => {
                let ok = match &e.secret {
                    Secret::Crypt(h) => h.matches(password),
                    Secret::Legacy(pw) => {
                        std::hint::black_box(dummy.matches(password));
                        ct_eq(pw, password)
                    }
                };
                let first = match &e.secret {
                    Secret::Crypt(h) => h.cost(),
                    Secret::Legacy(_) => strongest,
                };
                let result = if e.locked {
                    Err(Refusal::Locked)
                } else if ok {
                    Ok(e)
                } else {
                    Err(Refusal::WrongPassword)
                };
                (result, first)
            }
        };
        // `strongest` has the most rounds of any hash in the file, so the top-up
        // is at least MIN_ROUNDS, a cost crypt accepts
        let top_up = Cost {
            scheme: strongest.scheme,
            rounds: strongest.rounds.saturating_sub(first.rounds).saturating_add(MIN_ROUNDS),
        };
        std::hint::black_box(CryptHash::dummy(top_up).matches(password));
        Outcome {
            result,
            work: [first, top_up],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;
    use std::os::unix::fs::PermissionsExt;

    // `mkpasswd -m sha-512 -S saltsaltsaltsalt secret` and `-m sha-256` (glibc),
    // and the test vectors of the SHA-crypt specification.
    const GLIBC_512: &str =
        "$6$saltsaltsaltsalt$ph0yGsyjzqdeFaon7.gJZo8eAG5/rj9/JdzOu1Rl7dKzBYg3xgvl7T2VQ2Rt81bc5AXkdA54r0p8QvC1omD6R1";
    const SPEC_512: &str = "$6$rounds=10000$saltstringsaltst$OW1/O6BYHV6BcXZu8QVeXbDWra3Oeqh0sbHbbMCVNSnCM/UrjmM0Dp8vOuZeHBy/YTBmSK6H9qs/y3RnOaw5v.";
    const SPEC_256: &str = "$5$rounds=10000$saltstringsaltst$3xv.VbSHBb41AL9AvLeujZkZRBAwqFMz2.opqey6IcA";

    #[test]
    fn known_hashes_verify() {
        let h = CryptHash::parse(SPEC_512).unwrap();
        assert!(h.matches(b"Hello world!"));
        assert!(!h.matches(b"Hello world"));
        assert_eq!(h.to_string(), SPEC_512);
        let h = CryptHash::parse(SPEC_256).unwrap();
        assert!(h.matches(b"Hello world!"));
        assert_eq!(h.to_string(), SPEC_256);
        let h = CryptHash::parse(GLIBC_512).unwrap();
        assert_eq!(h.cost().rounds, DEFAULT_ROUNDS);
        assert!(h.matches(b"secret"));
        assert!(!h.matches(b"Secret"));
    }

    #[test]
    fn generated_hashes_round_trip() {
        for scheme in [Scheme::Sha512, Scheme::Sha256] {
            for rounds in [DEFAULT_ROUNDS, 1000] {
                let h = CryptHash::new(b"p\xffw d", scheme, rounds).unwrap();
                let again = CryptHash::parse(&h.to_string()).unwrap();
                assert_eq!(again, h);
                assert!(again.matches(b"p\xffw d"));
                assert!(!again.matches(b"p\xffw"));
                assert_eq!(again.to_string().contains("rounds="), rounds != DEFAULT_ROUNDS);
            }
        }
        let a = CryptHash::new(b"x", Scheme::Sha512, DEFAULT_ROUNDS).unwrap();
        let b = CryptHash::new(b"x", Scheme::Sha512, DEFAULT_ROUNDS).unwrap();
        assert_ne!(a.to_string(), b.to_string(), "salts are random");
        assert!(CryptHash::new(b"x", Scheme::Sha512, 999).is_err());
    }

    #[test]
    fn bad_hashes_refused() {
        for bad in [
            "",
            "secret",
            "$1$abc$def",
            "$2b$10$abc",
            "$y$j9T$abc$def",
            "$6$",
            "$6$salt",
            "$6$salt$short",
            "$6$rounds=999$salt$ph0yGsyjzqdeFaon7.gJZo8eAG5/rj9/JdzOu1Rl7dKzBYg3xgvl7T2VQ2Rt81bc5AXkdA54r0p8QvC1omD6R1",
            "$6$rounds=99999999999$s$x",
            "$6$rounds=$s$x",
            "$6$sa:lt$x",
            "$6$saltsaltsaltsaltX$ph0yGsyjzqdeFaon7.gJZo8eAG5/rj9/JdzOu1Rl7dKzBYg3xgvl7T2VQ2Rt81bc5AXkdA54r0p8QvC1omD6R1",
            "$6$saltsaltsaltsalt$ph0yGsyjzqdeFaon7.gJZo8eAG5/rj9/JdzOu1Rl7dKzBYg3xgvl7T2VQ2Rt81bc5AXkdA54r0p8QvC1omD6R1$",
        ] {
            assert!(CryptHash::parse(bad).is_err(), "{bad}");
        }
    }

    fn db(text: &str) -> UserDb {
        UserDb::parse(text.as_bytes(), "userdb").unwrap()
    }

    fn err(text: &str) -> String {
        UserDb::parse(text.as_bytes(), "userdb").unwrap_err().to_string()
    }

    #[test]
    fn file_format() {
        let text = format!(
            "# users\n\nalice:{GLIBC_512}::\nbob:!{SPEC_256}:tfbob:10M\r\ncarol:{SPEC_512}::0\nold secret with spaces\n"
        );
        let d = db(&text);
        let users: Vec<&Entry> = d.users().collect();
        assert_eq!(users.len(), 4);
        assert_eq!(
            (users[0].name.as_str(), users[0].system_user(), users[0].line),
            ("alice", "alice", 3)
        );
        assert!(!users[0].locked);
        assert_eq!(users[0].quota, QuotaSpec::Default);
        assert_eq!(users[1].system_user(), "tfbob");
        assert!(users[1].locked);
        assert_eq!(users[1].quota, QuotaSpec::Bytes(10 << 20));
        assert_eq!(users[2].quota, QuotaSpec::Unlimited);
        assert_eq!(users[3].secret, Secret::Legacy(b"secret with spaces".to_vec()));
        assert_eq!(d.legacy_users(), vec![(6, "old".to_string())]);
        // a rewrite keeps comments, order and content (CR dropped)
        let again = UserDb::parse(&d.render(), "x").unwrap();
        assert_eq!(again.render(), d.render());
        assert_eq!(String::from_utf8(d.render()).unwrap(), text.replace('\r', ""));
        // debug output never shows secrets
        let dbg = format!("{d:?}");
        assert!(
            !dbg.contains("ph0yGs") && !dbg.contains("with spaces") && !dbg.contains("saltsalt"),
            "{dbg}"
        );
    }

    #[test]
    fn file_errors() {
        assert!(err(&format!("alice:{GLIBC_512}:\n")).starts_with("userdb:1: 3 fields"));
        assert!(err(&format!("a:{GLIBC_512}::\nb:x::\n")).starts_with("userdb:2: user \"b\""));
        assert_eq!(
            err(&format!("a:{GLIBC_512}::\n\na:{SPEC_512}::\n")),
            "userdb:3: user \"a\" given twice (first on line 1)"
        );
        assert!(err("a:\n").contains("2 fields"));
        assert!(err("-a pw\n").contains("user name"));
        assert!(err("alone\n").contains("name:hash"));
        assert!(err(&format!("a:{GLIBC_512}::12Q\n")).contains("quota"));
        assert!(err(&format!("a:{GLIBC_512}:bad user:\n")).contains("system user"));
        assert!(err("a \n").contains("no password"));
        assert!(err("a\n").contains("name:hash"));
        assert_eq!(
            db("a  pw \n").users().next().unwrap().secret,
            Secret::Legacy(b" pw ".to_vec())
        );
        assert!(err("\u{e9}t\u{e9}:x::\n").contains("user name"));
        assert!(UserDb::parse(b"", "f").unwrap().users().next().is_none());
        assert!(UserDb::parse(b"\xff\xfe:x::\n", "f").is_err());
    }

    #[test]
    fn jail_field() {
        let d = db(&format!(
            "a:{GLIBC_512}:::/jails/a/\nb:{GLIBC_512}::10M:\nc:{GLIBC_512}::\n"
        ));
        let users: Vec<&Entry> = d.users().collect();
        assert_eq!(users[0].jail.as_deref(), Some("jails/a"));
        assert_eq!(
            (users[1].jail.as_deref(), users[1].quota),
            (None, QuotaSpec::Bytes(10 << 20))
        );
        assert_eq!(users[2].jail, None);
        // a jail is written from the root; lines without one keep four fields
        let text = String::from_utf8(d.render()).unwrap();
        assert!(
            text.contains(":::/jails/a\n") && text.ends_with(&format!("c:{GLIBC_512}::\n")),
            "{text}"
        );
        for bad in ["/", "/a/../b", "/a/./b", "/a b", "/a\tb", "//"] {
            assert!(err(&format!("a:{GLIBC_512}:::{bad}\n")).contains("jail"), "{bad}");
        }
        assert!(err(&format!("a:{GLIBC_512}:::/j:x\n")).contains("6 fields"));
    }

    #[test]
    fn load_caps_the_file_size() {
        let dir = std::env::temp_dir().join(format!("tfd-userdb-cap-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        let path = dir.join("userdb");
        let mut text = vec![b'#'; MAX_FILE_SIZE as usize - 1];
        text.push(b'\n');
        fs::write(&path, &text).unwrap();
        assert!(
            load(&path).unwrap().users().next().is_none(),
            "a file of exactly the cap loads"
        );
        text.push(b'\n');
        fs::write(&path, &text).unwrap();
        let e = load(&path).unwrap_err();
        assert!(matches!(e, UserDbError::TooLarge { .. }), "{e}");
        assert!(
            e.to_string().ends_with(&format!("larger than {MAX_FILE_SIZE} bytes")),
            "{e}"
        );
        let missing = dir.join("missing");
        assert!(matches!(load(&missing), Err(UserDbError::Io { .. })));
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn parsing_never_panics() {
        // a cheap stand-in for the fuzz target: every prefix and some mutations
        let text = format!("# c\na:{SPEC_512}:u:1K\nb:!{SPEC_256}::\nc pw\n");
        let bytes = text.as_bytes();
        for i in 0..bytes.len() {
            let _ = UserDb::parse(&bytes[..i], "f");
            for b in [0u8, b':', b'$', b' ', b'\n', 0xff, b'!'] {
                let mut m = bytes.to_vec();
                m[i] = b;
                let _ = UserDb::parse(&m, "f");
            }
        }
    }

    #[test]
    fn unequal_hash_costs_get_equal_work() {
        // the attack-test finding: with one user at 5000 rounds and another at
        // 20000, a wrong password for the weak user took a quarter of the time an
        // unknown name did. Every outcome must now cost the same rounds.
        let weak = CryptHash::new(b"pw", Scheme::Sha512, 5000).unwrap();
        let strong = CryptHash::new(b"pw", Scheme::Sha512, 20000).unwrap();
        let d = db(&format!("weak:{weak}::\nstrong:{strong}::\n"));
        let total = |o: &Outcome| o.work.iter().map(|c| c.rounds).sum::<u32>();
        let expect = 20000 + MIN_ROUNDS;
        for (name, pw) in [("weak", "x"), ("weak", "pw"), ("strong", "x"), ("ghost", "x")] {
            let o = d.authenticate(name.as_bytes(), pw.as_bytes());
            assert_eq!(total(&o), expect, "{name}/{pw}: {:?}", o.work);
            assert!(o.work.iter().all(|c| c.rounds >= MIN_ROUNDS));
        }
    }

    #[test]
    fn authentication_and_equal_work() {
        let d = db(&format!("alice:{SPEC_512}::\nbob:!{SPEC_512}::\nold plain pw\n"));
        let cost = Cost {
            scheme: Scheme::Sha512,
            rounds: 10_000,
        };
        assert_eq!(d.dummy_cost(), cost);
        let ok = d.authenticate(b"alice", b"Hello world!");
        assert_eq!(ok.result.map(|e| e.name.as_str()), Ok("alice"));
        let total = |o: &Outcome| o.work.iter().map(|c| c.rounds).sum::<u32>();
        assert_eq!(ok.work[1].scheme, Scheme::Sha512);
        assert_eq!(total(&ok), cost.rounds + MIN_ROUNDS);
        let wrong = d.authenticate(b"alice", b"nope");
        assert_eq!(wrong.result.unwrap_err(), Refusal::WrongPassword);
        let unknown = d.authenticate(b"mallory", b"nope");
        assert_eq!(unknown.result.unwrap_err(), Refusal::UnknownUser);
        let locked = d.authenticate(b"bob", b"Hello world!");
        assert_eq!(locked.result.unwrap_err(), Refusal::Locked);
        // the same hash work in every case
        for o in [&wrong, &unknown, &locked] {
            assert_eq!(total(o), cost.rounds + MIN_ROUNDS);
        }
        // exact names only: no prefix, suffix or substring matches
        for name in [&b"alic"[..], b"alice ", b"xalice", b"ALICE", b""] {
            assert_eq!(
                d.authenticate(name, b"Hello world!").result.unwrap_err(),
                Refusal::UnknownUser
            );
        }
        // legacy lines: exact password, dummy work
        assert!(d.authenticate(b"old", b"plain pw").result.is_ok());
        let l = d.authenticate(b"old", b"plain");
        assert_eq!(l.result.unwrap_err(), Refusal::WrongPassword);
        assert_eq!(total(&l), cost.rounds + MIN_ROUNDS);
        // a file without hashes uses crypt's default cost for the dummy
        assert_eq!(
            db("x y\n").dummy_cost(),
            Cost {
                scheme: Scheme::Sha512,
                rounds: DEFAULT_ROUNDS
            }
        );
        assert!(!CryptHash::dummy(cost).matches(b""));
    }

    #[test]
    fn edits() {
        let mut d = db("# head\nold plain\n");
        let h = CryptHash::new(b"pw", Scheme::Sha512, DEFAULT_ROUNDS).unwrap();
        let entry = Entry {
            name: "new".into(),
            secret: Secret::Crypt(h),
            locked: false,
            system_user: Some("sys".into()),
            quota: QuotaSpec::Bytes(1 << 30),
            jail: None,
            line: 0,
        };
        d.add(entry.clone()).unwrap();
        assert!(matches!(d.add(entry.clone()), Err(UserDbError::Exists(_))));
        let mut bad = entry.clone();
        bad.name = "a:b".into();
        assert!(matches!(d.add(bad), Err(UserDbError::Invalid(_))));
        assert_eq!(convert_legacy(&mut d, Scheme::Sha256, 1000).unwrap(), vec!["old"]);
        let text = String::from_utf8(d.render()).unwrap();
        assert!(text.starts_with("# head\nold:$5$rounds=1000$"), "{text}");
        assert!(text.ends_with(":sys:1G\n"), "{text}");
        let again = UserDb::parse(text.as_bytes(), "f").unwrap();
        assert!(again.authenticate(b"old", b"plain").result.is_ok());
        assert!(again.authenticate(b"new", b"pw").result.is_ok());
        d.remove("old").unwrap();
        assert!(matches!(d.remove("old"), Err(UserDbError::NoSuchUser(_))));
        assert_eq!(d.users().count(), 1);
    }

    #[test]
    fn sizes() {
        assert_eq!(parse_size("10"), Some(10));
        assert_eq!(parse_size("2k"), Some(2048));
        assert_eq!(parse_size("3T"), Some(3 << 40));
        assert_eq!(parse_size("99999999999999999999G"), None);
        assert_eq!(parse_size("-1"), None);
        assert_eq!(parse_size("K"), None);
        assert_eq!(format_size(1 << 20), "1M");
        assert_eq!(format_size(1500), "1500");
        assert_eq!(QuotaSpec::parse("").unwrap().resolve(Some(5)), Some(5));
        assert_eq!(QuotaSpec::parse("0").unwrap().resolve(Some(5)), None);
        assert_eq!(QuotaSpec::parse("1k").unwrap().resolve(None), Some(1024));
    }

    #[test]
    fn ct_eq_works() {
        assert!(ct_eq(b"abc", b"abc"));
        assert!(!ct_eq(b"abc", b"abd"));
        assert!(!ct_eq(b"abc", b"ab"));
        assert!(!ct_eq(b"ab", b"abc"));
        assert!(ct_eq(b"", b""));
    }

    #[test]
    fn atomic_update_and_lock() {
        let dir = std::env::temp_dir().join(format!("tfd-userdb-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        let path = dir.join("userdb");
        assert!(update(&path, false, |_| Ok(())).is_err(), "missing file without create");
        // concurrent adds all land
        std::thread::scope(|s| {
            for i in 0..8 {
                let path = &path;
                s.spawn(move || {
                    update(path, true, |d| {
                        d.add(Entry {
                            name: format!("u{i}"),
                            secret: Secret::Crypt(CryptHash::new(b"pw", Scheme::Sha512, 1000).unwrap()),
                            locked: false,
                            system_user: None,
                            quota: QuotaSpec::Default,
                            jail: None,
                            line: 0,
                        })
                    })
                    .unwrap();
                });
            }
        });
        let d = load(&path).unwrap();
        assert_eq!(d.users().count(), 8);
        assert_eq!(fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        // no temporary files left behind
        let names: Vec<String> = fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names.len(), 2, "{names:?}");
        fs::remove_dir_all(&dir).unwrap();
    }
}
