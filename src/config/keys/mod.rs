//! The one table of config keys (as ripgrep's flag table): each entry holds
//! everything about its key — name, the words of tfd.conf(5), kind and range,
//! default, whether it is a secret, and where it goes in [`Config`]. Parsing,
//! range checks, defaults, `Debug`, the key section of tfd.conf(5) and
//! conf/tfd.conf all come from it. Adding a key is adding one entry (and its
//! field in [`Config`]); rules between keys stay in `parse::finish` and
//! [`Config::validate`].
use super::kind::{Kind, Slot};
use super::Config;

mod compat;
mod limits;
mod logs;
mod required;
mod service;
mod sessions;

/// Where a field is, for reading (`Debug`, range checks) and for setting (the
/// parser, the defaults).
#[derive(Clone, Copy)]
pub struct Access {
    /// The field, None when it does not hold this key's value (runbash off).
    pub get: fn(&Config) -> Option<&dyn Slot>,
    /// The field to store a parsed value in.
    pub set: fn(&mut Config) -> &mut dyn Slot,
}

/// The part of tfd.conf(5) a key is documented in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Section {
    /// Keys every file needs (or one of, for the private key).
    Required,
    /// Everything else tfd uses.
    Optional,
    /// Parsed and stored, used by nothing yet.
    Unused,
    /// TLB and the transparent proxy.
    Proxy,
    /// The reference's keys tfd reads past.
    Ignored,
}

impl Section {
    /// The `.SS` title in tfd.conf(5) (and conf/tfd.conf's heading).
    pub fn title(self) -> &'static str {
        match self {
            Section::Required => "Required",
            Section::Optional => "Optional",
            Section::Unused => "Accepted but not used by this version",
            Section::Proxy => "Load balancing and transparent proxy",
            Section::Ignored => "Ignored reference keys",
        }
    }

    /// The section's own paragraph (roff), before its keys.
    pub(crate) fn intro(self) -> &'static str {
        match self {
            Section::Unused => {
                "These keys are parsed and checked, so a file written for a complete TF Protocol\n\
                 server is accepted, but the commands and mechanisms that would use them are\n\
                 not implemented in this version of tfd.\n"
            }
            Section::Ignored => {
                "The following keys of the reference server are accepted for compatibility,\n\
                 with or without a value, and ignored; tfd logs a warning for each.\n\
                 Giving one twice is still an error.\n"
            }
            _ => "",
        }
    }
}

/// One config key.
#[derive(Clone, Copy)]
pub struct Key {
    /// As written in the file.
    pub name: &'static str,
    /// The value's placeholder in tfd.conf(5) (`seconds`, `size`).
    pub arg: &'static str,
    /// Where tfd.conf(5) documents it.
    pub section: Section,
    /// How the value is written, and its range.
    pub kind: Kind,
    /// The value a file without the key gets, written as in the file; applied
    /// by the same parser before the file is read.
    pub default: Option<&'static str>,
    /// What the docs say the default is (roff), when it is not `default` as
    /// written: computed defaults ("none", a path per file), or a remark.
    pub shown: Option<&'static str>,
    /// Never shown by `Debug` (so never logged).
    pub secret: bool,
    /// May be given on several lines.
    pub repeat: bool,
    /// Another name of this setting (the reference's): the two count as one
    /// key, given twice when both are.
    pub same_as: Option<&'static str>,
    /// One paragraph of plain text for conf/tfd.conf.
    pub summary: &'static str,
    /// The key's entry in tfd.conf(5), roff, without its default.
    pub doc: &'static str,
    /// What conf/tfd.conf shows as the value (lines; else the default).
    pub example: &'static str,
    /// Where the value goes; None for ignored keys.
    pub at: Option<Access>,
}

/// A blank entry for the tables to fill in (`..KEY`).
const KEY: Key = Key {
    name: "",
    arg: "",
    section: Section::Optional,
    kind: Kind::Ignored,
    default: None,
    shown: None,
    secret: false,
    repeat: false,
    same_as: None,
    summary: "",
    doc: "",
    example: "",
    at: None,
};

/// `at!(field.path)`: the [`Access`] of a field of [`Config`].
macro_rules! at {
    ($($f:ident).+) => {
        Some(crate::config::keys::Access {
            get: |c| Some(&c.$($f).+ as &dyn crate::config::kind::Slot),
            set: |c| &mut c.$($f).+,
        })
    };
}
/// A limit of [`RunBash`](crate::config::RunBash): set into the limits the
/// `runbash` flag turns on (they exist, unused, until then).
macro_rules! at_runbash {
    ($f:ident) => {
        Some(crate::config::keys::Access {
            get: |c| c.runbash.as_ref().map(|r| &r.$f as &dyn crate::config::kind::Slot),
            set: |c| &mut c.runbash.get_or_insert_with(crate::config::RunBash::unset).$f,
        })
    };
}
/// One trp_* key: all set the one target, each shows only its own kind.
macro_rules! at_trp {
    ($v:ident) => {
        Some(crate::config::keys::Access {
            get: |c| match &c.trp {
                Some(t @ crate::config::Trp::$v(..)) => Some(t as &dyn crate::config::kind::Slot),
                _ => None,
            },
            set: |c| &mut c.trp,
        })
    };
}
pub(crate) use {at, at_runbash, at_trp};

/// The tables, in the order tfd.conf(5) and conf/tfd.conf list them.
const TABLES: [&[Key]; 6] = [
    required::KEYS,
    service::KEYS,
    logs::KEYS,
    sessions::KEYS,
    limits::KEYS,
    compat::KEYS,
];

/// Every key tfd accepts.
pub fn keys() -> impl Iterator<Item = &'static Key> {
    TABLES.iter().flat_map(|t| t.iter())
}

/// The key named `name`.
pub fn key(name: &str) -> Option<&'static Key> {
    keys().find(|k| k.name == name)
}

/// The known key closest to `name` when it is likely a typo of it (a letter or
/// two away, or a swapped pair), for "did you mean" in the unknown-key error.
pub(super) fn closest(name: &str) -> Option<&'static str> {
    // a third of the name, at least 1 and at most 3: `prot` finds `port`, but a
    // short word is not bent into every key
    let limit = (name.chars().count() / 3).clamp(1, 3);
    keys()
        .map(|k| (distance(name, k.name), k.name))
        .filter(|(d, _)| *d <= limit)
        .min_by_key(|(d, _)| *d)
        .map(|(_, n)| n)
}

/// Edit distance (insertions, deletions, substitutions, and a swap of two
/// neighbours each count 1), over characters.
fn distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    // rows i-2, i-1 and i of the table
    let mut two: Vec<usize> = vec![0; b.len() + 1];
    let mut one: Vec<usize> = (0..=b.len()).collect();
    for i in 1..=a.len() {
        let mut row = vec![i; b.len() + 1];
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            row[j] = (one[j] + 1).min(row[j - 1] + 1).min(one[j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                row[j] = row[j].min(two[j - 2] + 1);
            }
        }
        two = std::mem::replace(&mut one, row);
    }
    one[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distances() {
        assert_eq!(distance("port", "port"), 0);
        assert_eq!(distance("prot", "port"), 1);
        assert_eq!(distance("fai_dri", "fai_dir"), 1);
        assert_eq!(distance("dbdr", "dbdir"), 1);
        assert_eq!(distance("kitten", "sitting"), 3);
        assert_eq!(distance("", "abc"), 3);
    }

    #[test]
    fn typos_find_their_key_and_nonsense_finds_none() {
        assert_eq!(closest("pirt"), Some("port"));
        assert_eq!(closest("dbdri"), Some("dbdir"));
        assert_eq!(closest("fai_dri"), Some("fai_dir"));
        assert_eq!(closest("quota_defualt"), Some("quota_default"));
        assert_eq!(closest("bogus"), None);
        assert_eq!(closest("x"), None);
    }
}
