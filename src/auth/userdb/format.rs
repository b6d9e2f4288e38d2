//! The text of the file: fields checked and parsed, sizes in their short form.

use super::*;

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
    pub fn parse(s: &str) -> Result<QuotaSpec, String> {
        if s.is_empty() {
            return Ok(QuotaSpec::Default);
        }
        match parse_size(s) {
            Some(0) => Ok(QuotaSpec::Unlimited),
            Some(n) => Ok(QuotaSpec::Bytes(n)),
            None => Err(format!(
                "quota {s:?} is not a size (bytes, or a number with a K, M, G or T suffix)"
            )),
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
pub fn check_name(name: &str) -> Result<(), String> {
    let ok = !name.is_empty()
        && name.len() <= MAX_NAME
        && !name.starts_with('-')
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-' | b'@'));
    if ok {
        Ok(())
    } else {
        Err(format!(
            "user name {name:?} must be 1..{MAX_NAME} letters, digits, '.', '_', '-' or '@', not starting with '-'"
        ))
    }
}

/// Checks a system user name (what getpwnam gets): no `:`, blanks or controls.
pub fn check_system_user(name: &str) -> Result<(), String> {
    let ok = !name.is_empty()
        && name.len() <= 256
        && !name.starts_with('-')
        && !name.chars().any(|c| c == ':' || c.is_whitespace() || c.is_control());
    if ok {
        Ok(())
    } else {
        Err(format!("{name:?} is not a system user name"))
    }
}

/// Checks and normalises a user's jail (the fifth field): a directory beneath
/// the served root, written as a path from it (`/jails/alice`); `.`/`..`
/// components, a `:`, blanks and control characters are refused, so what the
/// file says is the one directory tfd opens. Returns it without its leading
/// and trailing `/` (what the protocol's paths resolve to).
pub fn check_jail(jail: &str) -> Result<String, String> {
    let bad = |why: &str| Err(format!("jail {jail:?} {why}"));
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
pub(super) fn parse_entry(line: &[u8]) -> Result<Entry, String> {
    let first_sep = line.iter().position(|&b| b == b':' || b == b' ' || b == b'\t');
    let legacy = match first_sep {
        Some(i) => line[i] != b':',
        None => true,
    };
    if legacy {
        // reference format: `name password`, the password being the rest of the line
        let Some(i) = first_sep else {
            return Err("a line must be name:hash:system_user:quota (or the legacy `name password`)".into());
        };
        let name = std::str::from_utf8(&line[..i]).map_err(|_| "the user name is not UTF-8".to_string())?;
        check_name(name)?;
        let pw = &line[i + 1..];
        if pw.is_empty() {
            return Err(format!("legacy line for {name:?} has no password"));
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
    let text = std::str::from_utf8(line.trim_ascii_end()).map_err(|_| "the line is not UTF-8".to_string())?;
    let fields: Vec<&str> = text.split(':').collect();
    if fields.len() != 4 && fields.len() != 5 {
        return Err(format!(
            "{} fields; a line must be name:hash:system_user:quota[:jail] (the last ones may be empty)",
            fields.len()
        ));
    }
    let name = fields[0];
    check_name(name)?;
    let (locked, hash) = match fields[1].strip_prefix('!') {
        Some(h) => (true, h),
        None => (false, fields[1]),
    };
    let hash = CryptHash::parse(hash).map_err(|m| format!("user {name:?}: {m}"))?;
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
        Some(j) => Some(check_jail(j).map_err(|m| format!("user {name:?}: {m}"))?),
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
