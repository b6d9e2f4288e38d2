//! The text of the file: fields checked and parsed, sizes in their short form.

use super::*;

/// Why a field of the user file (or a value tfpasswd was given for one) is
/// refused: displays as the message the file's errors and tfpasswd show.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FieldError {
    /// A quota that is not a size.
    Quota(String),
    /// A LOGIN name outside the allowed form.
    Name(String),
    /// A system user name getpwnam could not take.
    SystemUser(String),
    /// A jail (as given) and what is wrong with it.
    Jail(String, &'static str),
    /// A password hash that does not parse.
    Hash(HashError),
    /// A line with neither `:` nor a blank.
    NoSeparator,
    /// A legacy line's name is not UTF-8.
    NameNotUtf8,
    /// A legacy line (its name) without a password.
    NoPassword(String),
    /// A line that is not UTF-8.
    LineNotUtf8,
    /// A line with this many fields.
    Fields(usize),
    /// A field of this user's line.
    OfUser(String, Box<FieldError>),
}

impl FieldError {
    /// `e`, found in the line of `name`.
    fn of_user(name: &str, e: FieldError) -> FieldError {
        FieldError::OfUser(name.into(), Box::new(e))
    }
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FieldError::Quota(s) => write!(
                f,
                "quota {s:?} is not a size (bytes, or a number with a K, M, G or T suffix)"
            ),
            FieldError::Name(name) => write!(
                f,
                "user name {name:?} must be 1..{MAX_NAME} letters, digits, '.', '_', '-' or '@', not starting with '-'"
            ),
            FieldError::SystemUser(name) => write!(f, "{name:?} is not a system user name"),
            FieldError::Jail(jail, why) => write!(f, "jail {jail:?} {why}"),
            FieldError::Hash(e) => write!(f, "{e}"),
            FieldError::NoSeparator => {
                f.write_str("a line must be name:hash:system_user:quota (or the legacy `name password`)")
            }
            FieldError::NameNotUtf8 => f.write_str("the user name is not UTF-8"),
            FieldError::NoPassword(name) => write!(f, "legacy line for {name:?} has no password"),
            FieldError::LineNotUtf8 => f.write_str("the line is not UTF-8"),
            FieldError::Fields(n) => write!(
                f,
                "{n} fields; a line must be name:hash:system_user:quota[:jail] (the last ones may be empty)"
            ),
            FieldError::OfUser(name, e) => write!(f, "user {name:?}: {e}"),
        }
    }
}

impl std::error::Error for FieldError {}

impl From<HashError> for FieldError {
    fn from(e: HashError) -> FieldError {
        FieldError::Hash(e)
    }
}

/// A field refused in a value given to an operation ([`UserDb::add`]).
impl From<FieldError> for UserDbError {
    fn from(e: FieldError) -> UserDbError {
        UserDbError::Invalid(e.to_string())
    }
}

/// A user's quota field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QuotaSpec {
    /// Empty: `quota_default` from tfd.conf applies.
    Default,
    /// `0`: no quota.
    Unlimited,
    /// That many bytes.
    Bytes(u64),
}

impl QuotaSpec {
    /// Parses the field (empty, `0`, or a size with an optional K/M/G/T suffix).
    pub fn parse(s: &str) -> Result<QuotaSpec, FieldError> {
        if s.is_empty() {
            return Ok(QuotaSpec::Default);
        }
        match parse_size(s) {
            Some(0) => Ok(QuotaSpec::Unlimited),
            Some(n) => Ok(QuotaSpec::Bytes(n)),
            None => Err(FieldError::Quota(s.into())),
        }
    }

    /// The effective quota in bytes given the configured default (None: no quota).
    pub fn resolve(self, default: Option<u64>) -> Option<u64> {
        match self {
            QuotaSpec::Default => default,
            QuotaSpec::Unlimited => None,
            QuotaSpec::Bytes(n) => Some(n),
        }
    }
}

impl fmt::Display for QuotaSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            QuotaSpec::Default => Ok(()),
            QuotaSpec::Unlimited => write!(f, "0"),
            QuotaSpec::Bytes(n) => write!(f, "{}", format_size(*n)),
        }
    }
}

/// Sizes are read as the config file reads them (one grammar, src/size.rs).
pub use tfp_wire::size::{format_size, parse_size};

/// Checks a LOGIN name.
pub fn check_name(name: &str) -> Result<(), FieldError> {
    let ok = !name.is_empty()
        && name.len() <= MAX_NAME
        && !name.starts_with('-')
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-' | b'@'));
    if ok {
        Ok(())
    } else {
        Err(FieldError::Name(name.into()))
    }
}

/// Checks a system user name (what getpwnam gets): no `:`, blanks or controls.
pub fn check_system_user(name: &str) -> Result<(), FieldError> {
    let ok = !name.is_empty()
        && name.len() <= 256
        && !name.starts_with('-')
        && !name.chars().any(|c| c == ':' || c.is_whitespace() || c.is_control());
    if ok {
        Ok(())
    } else {
        Err(FieldError::SystemUser(name.into()))
    }
}

/// Checks and normalises a user's jail (the fifth field): a directory beneath
/// the served root, written as a path from it (`/jails/alice`); `.`/`..`
/// components, a `:`, blanks and control characters are refused, so what the
/// file says is the one directory tfd opens. Returns it without its leading
/// and trailing `/` (what the protocol's paths resolve to).
pub fn check_jail(jail: &str) -> Result<String, FieldError> {
    let bad = |why: &'static str| Err(FieldError::Jail(jail.into(), why));
    if jail.len() > 1024 {
        return bad("is longer than 1024 bytes");
    }
    if jail.chars().any(|c| c == ':' || c.is_whitespace() || c.is_control()) {
        return bad("holds a ':', a blank or a control character");
    }
    let comps: Vec<&str> = jail.split('/').filter(|c| !c.is_empty()).collect();
    if comps.iter().any(|c| *c == "." || *c == "..") {
        return bad("holds a '.' or '..' component");
    }
    if comps.is_empty() {
        return bad("names the served root itself, which is no jail");
    }
    Ok(comps.join("/"))
}

/// Parses one non-comment line (leading blanks removed).
pub(super) fn parse_entry(line: &[u8]) -> Result<Entry, FieldError> {
    let first_sep = line.iter().position(|&b| b == b':' || b == b' ' || b == b'\t');
    let legacy = match first_sep {
        Some(i) => line[i] != b':',
        None => true,
    };
    if legacy {
        // reference format: `name password`, the password being the rest of the line
        let Some(i) = first_sep else {
            return Err(FieldError::NoSeparator);
        };
        let name = std::str::from_utf8(&line[..i]).map_err(|_| FieldError::NameNotUtf8)?;
        check_name(name)?;
        let pw = &line[i + 1..];
        if pw.is_empty() {
            return Err(FieldError::NoPassword(name.into()));
        }
        return Ok(Entry {
            name: name.into(),
            secret: Secret::Legacy(pw.to_vec()),
            locked: false,
            system_user: None,
            quota: QuotaSpec::Default,
            jail: None,
            line: 0,
        });
    }
    let text = std::str::from_utf8(line.trim_ascii_end()).map_err(|_| FieldError::LineNotUtf8)?;
    let fields: Vec<&str> = text.split(':').collect();
    if fields.len() != 4 && fields.len() != 5 {
        return Err(FieldError::Fields(fields.len()));
    }
    let name = fields[0];
    check_name(name)?;
    let (locked, hash) = match fields[1].strip_prefix('!') {
        Some(h) => (true, h),
        None => (false, fields[1]),
    };
    let hash = CryptHash::parse(hash).map_err(|e| FieldError::of_user(name, e.into()))?;
    let system_user = match fields[2] {
        "" => None,
        u => {
            check_system_user(u)?;
            Some(u.to_string())
        }
    };
    let quota = QuotaSpec::parse(fields[3])?;
    let jail = match fields.get(4) {
        None | Some(&"") => None,
        Some(j) => Some(check_jail(j).map_err(|e| FieldError::of_user(name, e))?),
    };
    Ok(Entry {
        name: name.into(),
        secret: Secret::Crypt(hash),
        locked,
        system_user,
        quota,
        jail,
        line: 0,
    })
}
