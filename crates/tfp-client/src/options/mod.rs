//! The one table of `tf`'s global options (as tfd's config key table): each
//! entry holds everything about its option — names, value, `tf --help` lines,
//! tf(1) text, environment variable, config-file key, and how it is stored in
//! [`Settings`]. The command line, the environment, the named servers of
//! `~/.config/tf/config`, `tf --help` and tf(1)'s OPTIONS and config-file key
//! list all come from it (docs.rs), so adding an option is adding one entry
//! (and its field in [`Settings`]). It lives in the library so that
//! tests/docs.rs can check the committed man page against it.
use super::Transport;

pub mod commands;
pub mod docs;
mod table;

pub use table::OPTIONS;

/// The settings gathered so far; `None` is "not given here".
#[derive(Default)]
pub struct Settings {
    /// `--server`: HOST:PORT.
    pub server: Option<String>,
    /// `--key`: the server's public key file.
    pub key: Option<String>,
    /// `--hash`.
    pub hash: Option<String>,
    /// `--proto`: the version string sent.
    pub proto: Option<String>,
    /// `--keylen`: session key bytes.
    pub keylen: Option<usize>,
    /// `--aes`: GOAES after the handshake.
    pub aes: bool,
    /// `--secure` or `--legacy`.
    pub transport: Option<Transport>,
    /// `-v`: say which transport.
    pub verbose: bool,
    /// `--fai`: Fast Access with a cached token.
    pub fai: bool,
    /// `--timeout`: seconds per step.
    pub timeout: Option<u64>,
    /// `--user`: LOGIN as this name.
    pub user: Option<String>,
    /// `--jail`: TOKEN:DIR.
    pub jail: Option<String>,
    /// `--password-file`: the first line is `user`'s password.
    pub password_file: Option<String>,
    /// `-s NAME`: the config file's server to take the rest from.
    pub named: Option<String>,
    /// `-b FILE`: the commands to run instead of one.
    pub batch: Option<String>,
    /// `-h`: print the help and stop.
    pub help: bool,
    /// `-V`: print the version and stop.
    pub version: bool,
}

/// How an option is stored.
#[derive(Clone, Copy)]
pub enum Store {
    /// A flag: no value.
    Flag(fn(&mut Settings)),
    /// Takes the next word; the error words why it is no good.
    Value(fn(&mut Settings, String) -> Result<(), String>),
    /// Refused with this message (a mistake worth a better answer than
    /// "unknown"); not documented.
    Refuse(&'static str),
}

/// Where an option may be given besides the command line.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// How to connect: also in a named server's `options =` line (unless it
    /// has a key of its own there).
    Connection,
    /// What to do: the command line only.
    Invocation,
}

/// A named server's key for an option.
#[derive(Clone, Copy)]
pub struct FileKey {
    /// As written before `=`.
    pub name: &'static str,
    /// `~/` at the value's start is the home directory (a file name).
    pub home: bool,
    /// tf(1)'s entry for it (roff).
    pub doc: &'static str,
}

/// One global option of `tf`.
#[derive(Clone, Copy)]
pub struct Opt {
    /// Short name first, if any.
    pub names: &'static [&'static str],
    /// The value's placeholder as `tf --help` writes it (tf(1) in lower case);
    /// empty for a flag.
    pub value: &'static str,
    /// The message when the value is missing; empty: "NAME needs a value".
    pub missing: &'static str,
    /// The `tf --help` text; a line break continues it under itself.
    pub help: &'static str,
    /// tf(1)'s OPTIONS entry (roff), after its tag.
    pub doc: &'static str,
    /// The environment variable giving its default.
    pub env: Option<&'static str>,
    /// Its key in a named server's section.
    pub file: Option<FileKey>,
    /// Besides the command line, a named server's `options =` line?
    pub scope: Scope,
    /// How its value (or presence) lands in [`Settings`].
    pub store: Store,
}

impl Opt {
    /// Whether a named server's `options =` line may hold it.
    pub fn in_options_line(&self) -> bool {
        self.scope == Scope::Connection && self.file.is_none()
    }

    /// Whether `tf --help` and tf(1) show it.
    pub fn documented(&self) -> bool {
        !matches!(self.store, Store::Refuse(_))
    }
}

/// The option called `name`.
pub fn find(name: &str) -> Option<&'static Opt> {
    OPTIONS.iter().find(|o| o.names.contains(&name))
}

/// The documented option whose name is nearest `word` (a typo's likely
/// meaning), if one is near enough: at most a third of its letters differ.
pub fn nearest(word: &str) -> Option<&'static str> {
    OPTIONS
        .iter()
        .filter(|o| o.documented())
        .flat_map(|o| o.names.iter().copied())
        .filter(|n| n.len() > 2)
        .map(|n| (edit_distance(word, n), n))
        .filter(|&(d, n)| d * 3 <= n.len())
        .min_by_key(|&(d, _)| d)
        .map(|(_, n)| n)
}

/// Levenshtein distance over chars.
pub fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cur = row[j + 1];
            row[j + 1] = (prev + usize::from(ca != *cb)).min(row[j] + 1).min(cur + 1);
            prev = cur;
        }
    }
    row[b.len()]
}

/// The option whose config-file key is `key`.
pub fn by_file_key(key: &str) -> Option<(&'static Opt, FileKey)> {
    OPTIONS
        .iter()
        .find_map(|o| o.file.filter(|f| f.name == key).map(|f| (o, f)))
}

/// `~/` at the start of a path is the home directory.
pub fn expand_home(v: &str) -> String {
    match (v.strip_prefix("~/"), std::env::var("HOME")) {
        (Some(rest), Ok(home)) => format!("{}/{rest}", home.trim_end_matches('/')),
        _ => v.to_string(),
    }
}

impl Settings {
    /// Takes option `a` (with its value from `next`); Ok(false) when `a` is no
    /// option of the table.
    pub fn take(&mut self, a: &str, next: &mut dyn Iterator<Item = String>) -> Result<bool, String> {
        let Some(opt) = find(a) else {
            return Ok(false);
        };
        match opt.store {
            Store::Flag(set) => set(self),
            Store::Value(set) => {
                let v = next.next().ok_or_else(|| match opt.missing {
                    "" => format!("{a} needs a value"),
                    m => m.to_string(),
                })?;
                set(self, v)?;
            }
            Store::Refuse(why) => return Err(why.into()),
        }
        Ok(true)
    }

    /// Stores `v` as `opt`'s value (from a config-file key or a variable).
    pub fn set(&mut self, opt: &Opt, v: String) -> Result<(), String> {
        match opt.store {
            Store::Value(set) => set(self, v),
            Store::Flag(_) | Store::Refuse(_) => Ok(()),
        }
    }

    /// Fills what is still unset from `other` (the connection settings; what
    /// to do is the command line's alone).
    pub fn or(mut self, other: Settings) -> Settings {
        macro_rules! fill {
            ($($f:ident),*) => { $( if self.$f.is_none() { self.$f = other.$f; } )* };
        }
        fill!(
            server,
            key,
            hash,
            proto,
            keylen,
            transport,
            timeout,
            user,
            jail,
            password_file
        );
        self.aes |= other.aes;
        self.verbose |= other.verbose;
        self.fai |= other.fai;
        self
    }

    /// The environment's settings: each option's variable that is set and not
    /// empty.
    pub fn from_env() -> Result<Settings, String> {
        let mut s = Settings::default();
        for opt in OPTIONS {
            let Some(var) = opt.env else {
                continue;
            };
            if let Some(v) = std::env::var(var).ok().filter(|v| !v.is_empty()) {
                s.set(opt, v).map_err(|e| format!("{var}: {e}"))?;
            }
        }
        Ok(s)
    }
}
