//! How a key's value is written ([`Kind`]), what it parses to ([`Value`]), and
//! where it goes in a [`Config`] ([`Slot`]). A kind carries its range, so the
//! parser, [`Config::validate`] and the documentation read the same bounds.
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use super::{Cidr, ProxyProtocol, RunBash, SecureTransport, Trp};
use crate::logging::LogTarget;
use tfp_wire::size::{format_size, parse_size};

/// Why a value does not do for its key: the message part of
/// `ConfigError::InvalidValue` (the caller adds the file, line and key). A type
/// of its own, so what a key's parser, check or slot refuses cannot be taken
/// for any other text on its way to the error the user reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invalid(pub String);

impl fmt::Display for Invalid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<String> for Invalid {
    fn from(message: String) -> Invalid {
        Invalid(message)
    }
}

impl From<&str> for Invalid {
    fn from(message: &str) -> Invalid {
        Invalid(message.into())
    }
}

/// What a check of one key's value refuses, and the key: [`Config::validate`]
/// places it in its file and line once (a key's parser, which knows its key
/// and line already, keeps only the message).
///
/// [`Config::validate`]: super::Config::validate
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct KeyInvalid {
    /// The key whose value is refused.
    pub key: &'static str,
    /// Why.
    pub why: Invalid,
}

impl KeyInvalid {
    /// `why`, about `key`'s value.
    pub(crate) fn new(key: &'static str, why: impl Into<Invalid>) -> KeyInvalid {
        KeyInvalid { key, why: why.into() }
    }
}

impl From<KeyInvalid> for Invalid {
    fn from(e: KeyInvalid) -> Invalid {
        e.why
    }
}

/// How a value is written and the range it must be in.
#[derive(Debug, Clone, Copy)]
pub enum Kind {
    /// 1..=`max` bytes without control characters (invisible in the file, yet
    /// compared byte for byte with what a client sends).
    Text { max: usize },
    /// A system user name: no blanks or control characters.
    User,
    /// A path; [`Config::load`] takes a relative one from the file's directory.
    Path,
    /// No value: the key alone switches the feature on.
    Flag,
    /// A `{ PEM }` block; `private`: it must hold a private key.
    Pem { private: bool },
    /// Plain decimal digits in `min..=max`, counting `unit` (empty: a bare
    /// number); `zero` says what 0 means, when it means something.
    Int {
        min: u64,
        max: u64,
        unit: &'static str,
        zero: &'static str,
    },
    /// A size (`tfp_wire::size`) in `min..=max`; `rate`: bytes per second.
    Size {
        min: u64,
        max: u64,
        rate: bool,
        zero: &'static str,
    },
    /// One of `words` (any case when `fold_case`, stored in lower case).
    Words {
        words: &'static [&'static str],
        fold_case: bool,
    },
    /// yes or no (on/off and true/false too).
    YesNo,
    /// An IP address with an optional `:port`.
    Listen,
    /// An IPv4 address.
    Ipv4,
    /// An IPv6 address.
    Ipv6,
    /// A host name.
    Host,
    /// Addresses or CIDR ranges separated by blanks or commas.
    Cidrs,
    /// A reference key read past, with or without a value.
    Ignored,
}

/// A parsed value, on its way into a [`Slot`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    /// Ints, sizes, seconds.
    Num(u64),
    /// Flags and yes/no.
    Bool(bool),
    /// Texts, user names, paths.
    Text(String),
    /// One of a kind's words.
    Word(&'static str),
    /// A PEM block's text.
    Pem(Vec<u8>),
    /// A transparent proxy target.
    Trp(Trp),
    /// A listen address; `None`: the `port` key's port.
    Addr(IpAddr, Option<u16>),
    /// proxy_from's ranges.
    Cidrs(Vec<Cidr>),
}

/// "a, b or c"
fn one_of(words: &[&str]) -> String {
    match words.split_last() {
        Some((last, rest)) if !rest.is_empty() => format!("{} or {last}", rest.join(", ")),
        Some((last, _)) => (*last).to_string(),
        None => String::new(),
    }
}

/// The largest value of a size range as people write it: `2G-1` for
/// `i32::MAX`, else the size's shortest form.
fn size_max(max: u64) -> String {
    match max.checked_add(1) {
        Some(next) if max % 1024 == 1023 && format_size(next) != next.to_string() => {
            format!("{}-1", format_size(next))
        }
        _ => format_size(max),
    }
}

/// An address of one family (`family` as the message names it: IPv4, IPv6).
fn parse_ip<T: std::str::FromStr>(value: &str, family: &str) -> Result<T, Invalid> {
    value
        .parse::<T>()
        .map_err(|_| format!("{value:?} is not an {family} address").into())
}

impl Kind {
    /// Parses a non-empty value (flags and ignored keys: any value); the error
    /// is the message part (the caller adds file, line and key).
    pub fn parse(&self, key: &'static str, value: &str) -> Result<Value, Invalid> {
        match *self {
            Kind::Text { max } => {
                check_text(key, value, max)?;
                Ok(Value::Text(value.into()))
            }
            Kind::User => {
                check_user(key, value)?;
                Ok(Value::Text(value.into()))
            }
            Kind::Path => Ok(Value::Text(value.into())),
            Kind::Flag | Kind::Ignored => Ok(Value::Bool(true)),
            Kind::Pem { private } => {
                if private {
                    check_private_pem(key, value.as_bytes())?;
                } else {
                    check_pem(key, value.as_bytes())?;
                }
                Ok(Value::Pem(value.as_bytes().to_vec()))
            }
            Kind::Int { min, max, .. } => number(value, min, max)
                .map(Value::Num)
                .ok_or_else(|| self.expected(value).into()),
            Kind::Size { min, max, .. } => parse_size(value)
                .filter(|n| (min..=max).contains(n))
                .map(Value::Num)
                .ok_or_else(|| self.expected(value).into()),
            Kind::Words { words, fold_case } => {
                let folded = if fold_case {
                    value.to_ascii_lowercase()
                } else {
                    value.to_string()
                };
                words
                    .iter()
                    .find(|w| **w == folded)
                    .map(|w| Value::Word(w))
                    .ok_or_else(|| self.expected(value).into())
            }
            Kind::YesNo => match value {
                "yes" | "on" | "true" => Ok(Value::Bool(true)),
                "no" | "off" | "false" => Ok(Value::Bool(false)),
                _ => Err(self.expected(value).into()),
            },
            Kind::Listen => {
                let (ip, port) = parse_listen(value).ok_or_else(|| {
                    format!(
                        "{value:?} is not an IP address with an optional :port \
                         (IPv6 with a port in brackets, e.g. [::1]:10345)"
                    )
                })?;
                if port == Some(0) {
                    return Err(format!("{value:?}: port must be 1..65535").into());
                }
                Ok(Value::Addr(ip, port))
            }
            Kind::Ipv4 => parse_ip::<Ipv4Addr>(value, "IPv4").map(|ip| Value::Trp(Trp::V4(ip))),
            Kind::Ipv6 => parse_ip::<Ipv6Addr>(value, "IPv6").map(|ip| Value::Trp(Trp::V6(ip))),
            Kind::Host => {
                check_host(key, value)?;
                Ok(Value::Trp(Trp::Dns(value.into())))
            }
            Kind::Cidrs => {
                let mut list = Vec::new();
                for item in value.split([' ', ',', '\t']).filter(|s| !s.is_empty()) {
                    list.push(
                        Cidr::parse(item).ok_or_else(|| format!("{item:?} is not an address or address/bits range"))?,
                    );
                }
                if list.is_empty() {
                    return Err("no address given".into());
                }
                Ok(Value::Cidrs(list))
            }
        }
    }

    /// The parse error of a value of this kind: what was expected.
    fn expected(&self, value: &str) -> String {
        match *self {
            Kind::Int { min, max, unit, zero } => {
                let of = if unit.is_empty() {
                    String::new()
                } else {
                    format!("of {unit} ")
                };
                let zero = if zero.is_empty() {
                    String::new()
                } else {
                    format!(" (0 = {zero})")
                };
                format!("{value:?} is not a number {of}{min}..{max}{zero}")
            }
            Kind::Size { rate, zero, .. } => {
                let (noun, per) = if rate {
                    ("rate", "bytes per second")
                } else {
                    ("size", "bytes")
                };
                let zero = if zero.is_empty() {
                    String::new()
                } else {
                    format!("; 0 = {zero}")
                };
                let range = self.size_range().map(|r| format!(" {r}")).unwrap_or_default();
                format!("{value:?} is not a {noun}{range} ({per}, or a number with a K, M, G or T suffix{zero})")
            }
            Kind::Words { words, .. } => format!("{value:?} is not {}", one_of(words)),
            Kind::YesNo => format!("{value:?} is not yes or no"),
            _ => format!("{value:?} is not valid"),
        }
    }

    /// A size range as written in messages and docs (`1..64M`, `of at least
    /// 16M`), None when any size goes.
    fn size_range(&self) -> Option<String> {
        let Kind::Size { min, max, .. } = *self else {
            return None;
        };
        if max == u64::MAX {
            return (min > 0).then(|| format!("of at least {}", format_size(min)));
        }
        Some(format!("{}..{}", format_size(min), size_max(max)))
    }

    /// `min..=max` of the numeric kinds, for [`Config::validate`].
    pub fn range(&self) -> Option<(u64, u64)> {
        match *self {
            Kind::Int { min, max, .. } | Kind::Size { min, max, .. } => Some((min, max)),
            _ => None,
        }
    }

    /// What [`Config::validate`] says of a number out of range.
    pub(crate) fn out_of_range(&self) -> String {
        let (min, max, unit) = match *self {
            Kind::Int { min, max, unit, .. } => (min, max, unit),
            Kind::Size { min, max, .. } => (min, max, "bytes"),
            _ => return "out of range".into(),
        };
        let unit = if unit.is_empty() {
            String::new()
        } else {
            format!(" {unit}")
        };
        if max == u64::MAX {
            format!("must be at least {min}{unit}")
        } else {
            format!("must be {min}..{max}{unit}")
        }
    }

    /// The values the docs say a key takes (`1..3600`, `off, allow or
    /// require`); empty when the key's text says it all.
    pub(crate) fn doc_range(&self) -> String {
        match *self {
            Kind::Text { max } => format!("1..{max} bytes"),
            Kind::Int { min, max, unit, zero } => {
                let unit = if unit.is_empty() {
                    String::new()
                } else {
                    format!(" {unit}")
                };
                let zero = if zero.is_empty() {
                    String::new()
                } else {
                    format!("; 0 = {zero}")
                };
                format!("{min}..{max}{unit}{zero}")
            }
            Kind::Size { rate, zero, .. } => {
                let what = if rate {
                    "bytes per second or K/M/G/T"
                } else {
                    "bytes or K/M/G/T"
                };
                let range = self.size_range().map(|r| format!(", {r}")).unwrap_or_default();
                let zero = if zero.is_empty() {
                    String::new()
                } else {
                    format!("; 0 = {zero}")
                };
                format!("{what}{range}{zero}")
            }
            Kind::Words { words, .. } => one_of(words),
            Kind::YesNo => "yes or no".into(),
            _ => String::new(),
        }
    }
}

/// Where a key's value lives in a [`Config`]: a field of one of these types.
pub trait Slot: fmt::Debug {
    /// Stores a value of the key's kind; an error is a message for the user
    /// (`proto` given twice) or a table entry whose kind does not fit its field.
    fn set(&mut self, v: Value) -> Result<(), Invalid>;
    /// The number a numeric field holds, for the range check.
    fn num(&self) -> Option<u64> {
        None
    }
    /// How `Debug` shows it.
    fn show(&self) -> String {
        format!("{self:?}")
    }
}

fn mismatch(v: &Value) -> Invalid {
    Invalid(format!("{v:?} does not fit this setting (tfd bug)"))
}

macro_rules! int_slot {
    ($($t:ty),*) => {$(
        impl Slot for $t {
            fn set(&mut self, v: Value) -> Result<(), Invalid> {
                match v {
                    Value::Num(n) => *self = <$t>::try_from(n).map_err(|_| format!("{n} is too large"))?,
                    v => return Err(mismatch(&v)),
                }
                Ok(())
            }
            fn num(&self) -> Option<u64> {
                u64::try_from(*self).ok()
            }
        }
    )*};
}
int_slot!(u8, u16, u32, u64, usize);

impl Slot for Duration {
    fn set(&mut self, v: Value) -> Result<(), Invalid> {
        match v {
            Value::Num(n) => *self = Duration::from_secs(n),
            v => return Err(mismatch(&v)),
        }
        Ok(())
    }
    fn num(&self) -> Option<u64> {
        Some(self.as_secs())
    }
}

/// 0 means off.
impl Slot for Option<Duration> {
    fn set(&mut self, v: Value) -> Result<(), Invalid> {
        match v {
            Value::Num(n) => *self = (n > 0).then(|| Duration::from_secs(n)),
            v => return Err(mismatch(&v)),
        }
        Ok(())
    }
    fn num(&self) -> Option<u64> {
        Some(self.map_or(0, |d| d.as_secs()))
    }
}

/// 0 means none (quota_default).
impl Slot for Option<u64> {
    fn set(&mut self, v: Value) -> Result<(), Invalid> {
        match v {
            Value::Num(n) => *self = (n > 0).then_some(n),
            v => return Err(mismatch(&v)),
        }
        Ok(())
    }
    fn num(&self) -> Option<u64> {
        *self
    }
}

impl Slot for bool {
    fn set(&mut self, v: Value) -> Result<(), Invalid> {
        match v {
            Value::Bool(b) => *self = b,
            v => return Err(mismatch(&v)),
        }
        Ok(())
    }
}

impl Slot for String {
    fn set(&mut self, v: Value) -> Result<(), Invalid> {
        match v {
            Value::Text(s) => *self = s,
            v => return Err(mismatch(&v)),
        }
        Ok(())
    }
}

impl Slot for Option<String> {
    fn set(&mut self, v: Value) -> Result<(), Invalid> {
        match v {
            Value::Text(s) => *self = Some(s),
            Value::Word(w) => *self = Some(w.into()),
            v => return Err(mismatch(&v)),
        }
        Ok(())
    }
}

/// `proto`: repeatable, each string once.
impl Slot for Vec<String> {
    fn set(&mut self, v: Value) -> Result<(), Invalid> {
        match v {
            Value::Text(s) if self.contains(&s) => return Err(format!("{s:?} given twice").into()),
            Value::Text(s) => self.push(s),
            v => return Err(mismatch(&v)),
        }
        Ok(())
    }
}

impl Slot for PathBuf {
    fn set(&mut self, v: Value) -> Result<(), Invalid> {
        match v {
            Value::Text(s) => *self = s.into(),
            v => return Err(mismatch(&v)),
        }
        Ok(())
    }
}

impl Slot for Option<PathBuf> {
    fn set(&mut self, v: Value) -> Result<(), Invalid> {
        match v {
            Value::Text(s) => *self = Some(s.into()),
            v => return Err(mismatch(&v)),
        }
        Ok(())
    }
}

/// PEM text, shown by its length only.
impl Slot for Option<Vec<u8>> {
    fn set(&mut self, v: Value) -> Result<(), Invalid> {
        match v {
            Value::Pem(pem) => *self = Some(pem),
            v => return Err(mismatch(&v)),
        }
        Ok(())
    }
    fn show(&self) -> String {
        match self {
            Some(pem) => format!("<{} bytes>", pem.len()),
            None => "None".into(),
        }
    }
}

/// The `runbash` flag: on, with the limits the runbash_* keys set.
impl Slot for Option<RunBash> {
    fn set(&mut self, v: Value) -> Result<(), Invalid> {
        match v {
            Value::Bool(true) => {
                self.get_or_insert_with(RunBash::unset);
            }
            Value::Bool(false) => *self = None,
            v => return Err(mismatch(&v)),
        }
        Ok(())
    }
}

/// The first target given (a second one is a conflict the parser reports).
impl Slot for Option<Trp> {
    fn set(&mut self, v: Value) -> Result<(), Invalid> {
        match v {
            Value::Trp(t) => {
                self.get_or_insert(t);
            }
            v => return Err(mismatch(&v)),
        }
        Ok(())
    }
}

/// What `Debug` reads for one trp_* key.
impl Slot for Trp {
    fn set(&mut self, v: Value) -> Result<(), Invalid> {
        match v {
            Value::Trp(t) => *self = t,
            v => return Err(mismatch(&v)),
        }
        Ok(())
    }
}

/// `listen`: an address without a port gets port 0 here, replaced by the
/// `port` key's once the whole file is read.
impl Slot for Vec<SocketAddr> {
    fn set(&mut self, v: Value) -> Result<(), Invalid> {
        match v {
            Value::Addr(ip, port) => self.push(SocketAddr::new(ip, port.unwrap_or(0))),
            v => return Err(mismatch(&v)),
        }
        Ok(())
    }
}

impl Slot for Vec<Cidr> {
    fn set(&mut self, v: Value) -> Result<(), Invalid> {
        match v {
            Value::Cidrs(list) => *self = list,
            v => return Err(mismatch(&v)),
        }
        Ok(())
    }
}

impl Slot for SecureTransport {
    fn set(&mut self, v: Value) -> Result<(), Invalid> {
        *self = match v {
            Value::Word("off") => SecureTransport::Off,
            Value::Word("allow") => SecureTransport::Allow,
            Value::Word("require") => SecureTransport::Require,
            v => return Err(mismatch(&v)),
        };
        Ok(())
    }
}

impl Slot for ProxyProtocol {
    fn set(&mut self, v: Value) -> Result<(), Invalid> {
        *self = match v {
            Value::Word("off") => ProxyProtocol::Off,
            Value::Word("v1") => ProxyProtocol::V1,
            Value::Word("v2") => ProxyProtocol::V2,
            Value::Word("any") => ProxyProtocol::Any,
            v => return Err(mismatch(&v)),
        };
        Ok(())
    }
}

impl Slot for LogTarget {
    fn set(&mut self, v: Value) -> Result<(), Invalid> {
        match v {
            Value::Word(w) => *self = LogTarget::parse(w).ok_or_else(|| mismatch(&v))?,
            v => return Err(mismatch(&v)),
        }
        Ok(())
    }
}

/// Plain decimal digits only (`str::parse` would also take a leading `+`),
/// within `min..=max`; None otherwise (the kind says what it expected).
pub(super) fn number(value: &str, min: u64, max: u64) -> Option<u64> {
    let ok = !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit());
    ok.then(|| value.parse::<u64>().ok())
        .flatten()
        .filter(|n| (min..=max).contains(n))
}

/// `1.2.3.4`, `1.2.3.4:port`, `::1`, `[::1]` or `[::1]:port`; the port is
/// `None` when the address has none.
fn parse_listen(value: &str) -> Option<(IpAddr, Option<u16>)> {
    if let Ok(addr) = value.parse::<SocketAddr>() {
        return Some((addr.ip(), Some(addr.port())));
    }
    if let Ok(ip) = value.parse::<IpAddr>() {
        return Some((ip, None));
    }
    let inner = value.strip_prefix('[')?.strip_suffix(']')?;
    inner.parse::<Ipv6Addr>().ok().map(|ip| (ip.into(), None))
}

/// Control characters would be invisible in the file yet compared byte for
/// byte against what a client sends.
pub(super) fn check_text(key: &'static str, value: &str, max: usize) -> Result<(), KeyInvalid> {
    if value.is_empty() {
        return Err(KeyInvalid::new(key, "missing value"));
    }
    if value.len() > max {
        return Err(KeyInvalid::new(
            key,
            format!("{} bytes is too long (at most {max})", value.len()),
        ));
    }
    if value.chars().any(char::is_control) {
        return Err(KeyInvalid::new(
            key,
            format!("{key} must not contain control characters"),
        ));
    }
    Ok(())
}

pub(super) fn check_user(key: &'static str, user: &str) -> Result<(), KeyInvalid> {
    if user.is_empty() {
        return Err(KeyInvalid::new(key, "missing value"));
    }
    if user.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(KeyInvalid::new(key, format!("{user:?} is not a user name")));
    }
    Ok(())
}

/// Host names only: an address belongs in trp_ipv4/trp_ipv6, and the check
/// keeps blanks or a `:port` from reaching the resolver.
pub(super) fn check_host(key: &'static str, host: &str) -> Result<(), KeyInvalid> {
    let bad = || KeyInvalid::new(key, format!("{host:?} is not a host name"));
    let name = host.strip_suffix('.').unwrap_or(host);
    if name.is_empty() || name.len() > 253 {
        return Err(bad());
    }
    for label in name.split('.') {
        let ok = (1..=63).contains(&label.len())
            && !label.starts_with('-')
            && !label.ends_with('-')
            && label
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if !ok {
            return Err(bad());
        }
    }
    Ok(())
}

/// Only catches a block or file that is plainly not PEM; whether the key is
/// usable is for the crypto code to say.
pub(super) fn check_pem(key: &'static str, pem: &[u8]) -> Result<(), KeyInvalid> {
    let has = |needle: &[u8]| pem.windows(needle.len()).any(|w| w == needle);
    if pem.iter().all(u8::is_ascii_whitespace) {
        return Err(KeyInvalid::new(key, "empty PEM block"));
    }
    if !has(b"-----BEGIN ") || !has(b"-----END ") {
        return Err(KeyInvalid::new(key, "not PEM text (no -----BEGIN/-----END lines)"));
    }
    Ok(())
}

/// A PEM that must hold a private key: a public key or certificate here is the
/// usual slip (pub.pem for key.pem), and is named as such rather than left to
/// the key parser's decoder errors.
pub(super) fn check_private_pem(key: &'static str, pem: &[u8]) -> Result<(), KeyInvalid> {
    check_pem(key, pem)?;
    let has = |needle: &[u8]| pem.windows(needle.len()).any(|w| w == needle);
    if has(b"PRIVATE KEY-----") {
        return Ok(());
    }
    if has(b"PUBLIC KEY-----") {
        return Err(KeyInvalid::new(
            key,
            "this is a public key; the server needs its private key here \
             (key.pem, not pub.pem: clients get the public one)",
        ));
    }
    Err(KeyInvalid::new(
        key,
        "no PRIVATE KEY block (a certificate or another PEM?); the server needs its RSA private key",
    ))
}
