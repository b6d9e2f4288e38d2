//! Why a configuration was refused, as `file:line: message`.
use std::fmt;
use std::io;

use super::plausible::plausible_key;
use super::MAX_FILE_SIZE;

/// Why a configuration was refused. Displays as `file:line: message` (or
/// `file: message` when no single line is to blame), the form editors and
/// operators can jump to.
#[derive(Debug)]
#[non_exhaustive]
pub enum ConfigError {
    /// The file (or the key file it names) could not be opened or read; the
    /// `io::Error` is kept so callers can tell "missing" from "forbidden".
    Read { file: String, error: io::Error },
    /// The file is larger than [`MAX_FILE_SIZE`]; no real config is, so it is
    /// probably the wrong path.
    TooLarge { file: String },
    /// A malformed line with no more specific variant: invalid UTF-8, a flag
    /// given a value, text after a closing `}`, a key block without `{`.
    Syntax { file: String, line: usize, message: String },
    /// A key tfd does not know; refused so a typo is not silently a default.
    UnknownKey { file: String, line: usize, key: String },
    /// A key that needs a value was given none.
    MissingValue { file: String, line: usize, key: String },
    /// A key given twice; the reference silently took the first, which hides
    /// edits appended at the end of a file.
    DuplicateKey {
        file: String,
        line: usize,
        key: String,
        first_line: usize,
    },
    /// A `{` block with no closing `}`. The line is where the block opened,
    /// because that is where the mistake is, not at the end of the file.
    UnterminatedBlock { file: String, line: usize, key: String },
    /// A value that does not parse or is out of range. `line` is `None` when
    /// [`Config::validate`] finds it in a config not built by the parser.
    InvalidValue {
        file: String,
        line: Option<usize>,
        key: String,
        message: String,
    },
    /// A required key is absent.
    MissingKey { file: String, key: String },
    /// Keys that contradict each other (two private keys, two proxy targets, a
    /// listen address without any port, ...).
    Conflict {
        file: String,
        line: Option<usize>,
        message: String,
    },
    /// [`Config::load`] could not resolve a path on the filesystem (dbdir
    /// missing or not a directory, key file unreadable).
    Resolve {
        file: String,
        line: Option<usize>,
        key: String,
        message: String,
    },
}

impl ConfigError {
    /// The line to blame, when there is one.
    pub fn line(&self) -> Option<usize> {
        match self {
            Self::Syntax { line, .. }
            | Self::UnknownKey { line, .. }
            | Self::MissingValue { line, .. }
            | Self::DuplicateKey { line, .. }
            | Self::UnterminatedBlock { line, .. } => Some(*line),
            Self::InvalidValue { line, .. } | Self::Conflict { line, .. } | Self::Resolve { line, .. } => *line,
            Self::Read { .. } | Self::TooLarge { .. } | Self::MissingKey { .. } => None,
        }
    }

    /// The file name used in the message (`<config>` for [`Config::parse_str`]).
    pub fn file(&self) -> &str {
        match self {
            Self::Read { file, .. }
            | Self::TooLarge { file }
            | Self::Syntax { file, .. }
            | Self::UnknownKey { file, .. }
            | Self::MissingValue { file, .. }
            | Self::DuplicateKey { file, .. }
            | Self::UnterminatedBlock { file, .. }
            | Self::InvalidValue { file, .. }
            | Self::MissingKey { file, .. }
            | Self::Conflict { file, .. }
            | Self::Resolve { file, .. } => file,
        }
    }

    fn message(&self) -> String {
        match self {
            Self::Read { error, .. } => format!("cannot read: {error}"),
            Self::TooLarge { .. } => format!("larger than {MAX_FILE_SIZE} bytes"),
            Self::Syntax { message, .. } | Self::Conflict { message, .. } => message.clone(),
            Self::UnknownKey { key, .. } if plausible_key(key, super::keys::keys().map(|k| k.name)) => {
                match super::keys::closest(key) {
                    Some(near) => format!("unknown key {key:?} (did you mean {near:?}?)"),
                    None => format!("unknown key {key:?}"),
                }
            }
            // not a mistyped key: perhaps not a config at all, so the line is not shown
            Self::UnknownKey { .. } => {
                "not a configuration line: its first word is no key tfd knows (the line is not shown, \
                 in case this file is not a config)"
                    .into()
            }
            Self::MissingValue { key, .. } => format!("{key}: missing value"),
            Self::DuplicateKey { key, first_line, .. } => {
                format!("duplicate key {key:?} (first given on line {first_line})")
            }
            Self::UnterminatedBlock { key, .. } => {
                format!("{key} block opened here is never closed with \"}}\"")
            }
            Self::InvalidValue { key, message, .. } | Self::Resolve { key, message, .. } => {
                format!("{key}: {message}")
            }
            Self::MissingKey { key, .. } => format!("missing required key {key}"),
        }
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line() {
            Some(line) => write!(f, "{}:{}: {}", self.file(), line, self.message()),
            None => write!(f, "{}: {}", self.file(), self.message()),
        }
    }
}

/// The I/O error text is already part of the Display message, so it is not
/// also returned as a source (that would print it twice in error chains).
impl std::error::Error for ConfigError {}
