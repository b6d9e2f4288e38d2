//! The one table of `tf`'s global options (as tfd's config key table): each
//! entry holds everything about its option — names, value, `tf --help` lines,
//! tf(1) text, environment variable, config-file key, and how it is stored in
//! [`Settings`]. The command line, the environment, the named servers of
//! `~/.config/tf/config`, `tf --help` and tf(1)'s OPTIONS and config-file key
//! list all come from it (docs.rs), so adding an option is adding one entry
//! (and its field in [`Settings`]). It lives in tf's library so that
//! tests/cli/docs.rs can check the committed man page against it.

pub mod commands;
pub mod docs;
mod row;
mod table;

pub use row::{BadValue, FileKey, Opt, Scope, Settings, Store};
pub use table::OPTIONS;

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
    /// `--name=value` is `--name value`, as GNU tools take it.
    pub fn take(&mut self, a: &str, next: &mut dyn Iterator<Item = String>) -> Result<bool, BadValue> {
        let (a, joined) = match a.split_once('=') {
            Some((name, v)) if name.starts_with("--") && find(name).is_some() => (name, Some(v.to_string())),
            _ => (a, None),
        };
        let Some(opt) = find(a) else {
            return Ok(false);
        };
        match opt.store {
            Store::Flag(_) if joined.is_some() => return Err(format!("{a} takes no value").into()),
            Store::Flag(set) => set(self),
            Store::Value(set) => {
                let v = joined.or_else(|| next.next()).ok_or_else(|| match opt.missing {
                    "" => format!("{a} needs a value"),
                    m => m.to_string(),
                })?;
                set(self, v)?;
            }
            Store::Refuse(why) => return Err(BadValue(why.to_string())),
        }
        Ok(true)
    }

    /// Stores `v` as `opt`'s value (from a config-file key or a variable).
    pub fn set(&mut self, opt: &Opt, v: String) -> Result<(), BadValue> {
        match opt.store {
            Store::Value(set) => set(self, v),
            // a flag's key in a named server's section: yes or no
            Store::Flag(set) => match v.as_str() {
                "yes" => {
                    set(self);
                    Ok(())
                }
                "no" => Ok(()),
                _ => Err(format!("{} takes yes or no", opt.file.map_or(opt.names[0], |f| f.name)).into()),
            },
            Store::Refuse(_) => Ok(()),
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
            compress,
            user,
            jail,
            password_file,
            identity,
            bwlimit,
            retries,
            family
        );
        self.aes |= other.aes;
        self.verbose |= other.verbose;
        self.progress |= other.progress;
        self.fai |= other.fai;
        self.accept_new |= other.accept_new;
        self
    }

    /// The environment's settings: each option's variable that is set and not
    /// empty.
    pub fn from_env() -> Result<Settings, BadValue> {
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
