//! What a row of tf's option table is ([`Opt`]) and where its value lands
//! ([`Settings`]): below the table (`table.rs`) and the lookups over it
//! (`mod.rs`), so neither needs the other's file.
use tfp_client::Transport;

/// The settings gathered so far; `None` is "not given here".
#[derive(Default)]
pub struct Settings {
    /// `--server`: HOST:PORT.
    pub server: Option<String>,
    /// `--key`: the server's public key file.
    pub key: Option<String>,
    /// `--accept-new`: pin an unknown server's key without asking.
    pub accept_new: bool,
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
    /// `--progress`: draw the progress bar even when stderr is not a
    /// terminal.
    pub progress: bool,
    /// `--fai`: Fast Access with a cached token.
    pub fai: bool,
    /// `--timeout`: seconds per step.
    pub timeout: Option<u64>,
    /// `--compression` (`compress` in the config file): what a command
    /// without `-z`/`--compress`/`--no-compress` does.
    pub compress: Option<tfp_wire::compress::Choice>,
    /// `--user`: LOGIN as this name.
    pub user: Option<String>,
    /// `--jail`: TOKEN:DIR.
    pub jail: Option<String>,
    /// `--bwlimit`: bytes a second each way for the whole run, or a
    /// timetable of them.
    pub bwlimit: Option<tfp_client::bwlimit::Limit>,
    /// `--retries`: how many times a broken transfer is tried again.
    pub retries: Option<u32>,
    /// `-4` or `-6`: the one address family to connect over.
    pub family: Option<tfp_client::dial::Family>,
    /// `--password-file`: the first line is `user`'s password.
    pub password_file: Option<String>,
    /// `-i FILE`: the key file to log in with (instead of ssh-agent's and
    /// `~/.ssh/id_*`).
    pub identity: Option<String>,
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
    Value(fn(&mut Settings, String) -> Result<(), BadValue>),
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

/// Why a value was refused (an option's, a variable's, a config-file
/// key's): the sentence tf prints.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadValue(pub String);

impl std::fmt::Display for BadValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<String> for BadValue {
    fn from(s: String) -> BadValue {
        BadValue(s)
    }
}

impl From<&str> for BadValue {
    fn from(s: &str) -> BadValue {
        BadValue(s.to_string())
    }
}
