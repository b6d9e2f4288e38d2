//! Reading a file line by line into a [`Config`]: each line's key is looked up
//! in the key table, its value parsed by the key's kind and stored in its
//! field; what needs the whole file (required keys, listen ports, one private
//! key source) is [`finish`]ed after the last line.
use std::collections::HashMap;
use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use super::keys::{key, keys};
use super::kind::{Invalid, Kind, Value};
use super::{Config, ConfigError, KeyLines, DEFAULT_FAI_DIR};

/// The transparent proxy's keys: at most one may be given.
const TRP_KEYS: [&str; 3] = ["trp_ipv4", "trp_ipv6", "trp_dns"];

impl Config {
    /// Every field empty, before the table's defaults are applied.
    fn blank() -> Config {
        Config {
            proto: Vec::new(),
            hash: String::new(),
            dbdir: PathBuf::new(),
            port: 0,
            privkey_pem: None,
            privkey_file: None,
            pubkey_pem: None,
            defusr: None,
            userdb: None,
            authorized_keys_dir: None,
            authorized_keys: None,
            userdb_allow_root: false,
            user_keys: false,
            tlb: None,
            injail: false,
            locksys: false,
            flycontext: false,
            runbash: None,
            trp: None,
            listen: Vec::new(),
            max_sessions: 0,
            max_sessions_per_ip: 0,
            priority_boost: 0,
            priority_boost_asked: false,
            prelogin_timeout: Duration::ZERO,
            idle_timeout: Duration::ZERO,
            hold_timeout: Duration::ZERO,
            memory_budget: 0,
            hpf_max_buffer: 0,
            direct_io_min: 0,
            sync_uploads: false,
            secure_transport: super::SecureTransport::Off,
            proxy_protocol: super::ProxyProtocol::Off,
            proxy_from: Vec::new(),
            intrw_max: 0,
            walk_limit: 0,
            replay_cache: 0,
            replay_window: Duration::ZERO,
            rate_limits: tfp_channel::bandwidth::Rates::default(),
            login_max_failures_ip: 0,
            login_max_failures_user: 0,
            login_window: Duration::ZERO,
            login_ban: Duration::ZERO,
            login_lock: Duration::ZERO,
            quota_default: None,
            compression: false,
            compression_framed: false,
            compression_level_max: 0,
            compression_memory: 0,
            log_level: None,
            log_target: crate::logging::LogTarget::default(),
            xferlog: None,
            log_file: None,
            shared_state_dir: None,
            udp_user: String::new(),
            control_socket: None,
            shutdown_grace: Duration::ZERO,
            fai_max_minutes: 0,
            fai_dir: PathBuf::new(),
            sweep_interval: None,
            source: None,
        }
    }

    /// A config holding every key's default, each parsed from the table as a
    /// file's value would be. An error is a table entry whose default does
    /// not parse (a tfd bug; the tests parse them all).
    pub(super) fn with_defaults() -> Result<Config, BadDefault> {
        let mut c = Config::blank();
        for key in keys() {
            if let (Some(text), Some(at)) = (key.default, key.at) {
                let set = key.kind.parse(key.name, text).and_then(|v| (at.set)(&mut c).set(v));
                if let Err(why) = set {
                    return Err(BadDefault {
                        key: key.name,
                        text,
                        why,
                    });
                }
            }
        }
        Ok(c)
    }
}

/// A key whose default in the table does not parse or fit its field (a tfd
/// bug; the tests parse them all): the key, the default, and why.
#[derive(Debug)]
pub(super) struct BadDefault {
    key: &'static str,
    text: &'static str,
    why: Invalid,
}

impl fmt::Display for BadDefault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: default {:?}: {} (tfd bug)", self.key, self.text, self.why)
    }
}

pub(super) fn parse_named(text: &str, file: &str) -> Result<(Config, KeyLines), ConfigError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut lines = text.split('\n').enumerate().map(|(i, l)| (i + 1, l));
    let mut seen = KeyLines::new();
    let mut listen_lines = Vec::new();
    let mut c = Config::with_defaults().map_err(|bad| ConfigError::Conflict {
        file: file.into(),
        line: None,
        message: bad.to_string(),
    })?;

    while let Some((lineno, raw)) = lines.next() {
        let trimmed = raw.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        let (word, value) = split_key(trimmed);
        let Some(key) = key(word) else {
            return Err(ConfigError::UnknownKey {
                file: file.into(),
                line: lineno,
                key: word.into(),
            });
        };
        let name = key.name;
        // the reference's name for the same setting counts as the same key
        let setting = key.same_as.unwrap_or(name);
        if !key.repeat {
            if let Some(&first_line) = seen.get(setting) {
                return Err(ConfigError::DuplicateKey {
                    file: file.into(),
                    line: lineno,
                    key: if setting == name {
                        name.into()
                    } else {
                        format!("{setting}\" (or its synonym \"{name}")
                    },
                    first_line,
                });
            }
        }
        seen.entry(setting).or_insert(lineno);
        let invalid = |message: String| ConfigError::InvalidValue {
            file: file.into(),
            line: Some(lineno),
            key: name.into(),
            message,
        };

        let parsed: Result<Value, Invalid> = match key.kind {
            Kind::Ignored => {
                log::warn!("{file}:{lineno}: {name} is accepted for compatibility and ignored");
                continue;
            }
            Kind::Flag if !value.is_empty() => {
                return Err(ConfigError::Syntax {
                    file: file.into(),
                    line: lineno,
                    message: format!("{name} is a flag and takes no value"),
                });
            }
            Kind::Flag => Ok(Value::Bool(true)),
            _ if value.is_empty() => {
                return Err(ConfigError::MissingValue {
                    file: file.into(),
                    line: lineno,
                    key: name.into(),
                });
            }
            _ if inline_comment(value).is_some() => {
                let at = inline_comment(value).unwrap_or_default();
                return Err(invalid(format!(
                    "{:?} after the value looks like a comment, but comments must be on a line of \
                     their own (the format takes the rest of the line as the value): move it to \
                     the line above",
                    value.get(at..).unwrap_or_default()
                )));
            }
            Kind::Pem { .. } => {
                let pem = read_block(file, name, value, lineno, &mut lines)?;
                key.kind.parse(name, &pem)
            }
            kind => kind.parse(name, value),
        };
        // the value parsed and stored in its field, or why not
        parsed
            .and_then(|v| key.at.map_or(Ok(()), |at| (at.set)(&mut c).set(v)))
            .map_err(|Invalid(message)| invalid(message))?;
        if matches!(key.kind, Kind::Listen) {
            listen_lines.push(lineno);
        }
        if TRP_KEYS.contains(&name) {
            if let Some((first, first_line)) = TRP_KEYS
                .iter()
                .filter(|k| **k != name)
                .find_map(|k| seen.get(k).map(|line| (*k, *line)))
            {
                return Err(ConfigError::Conflict {
                    file: file.into(),
                    line: Some(lineno),
                    message: format!(
                        "{name} conflicts with {first} on line {first_line}: \
                         at most one transparent proxy target"
                    ),
                });
            }
        }
    }
    finish(&mut c, file, &seen, &listen_lines)?;
    c.check(file, &seen)?;
    Ok((c, seen))
}

/// Splits a trimmed line into key and value. A `{` glued to the key
/// (`privkey{`) starts the value, so that spelling still opens a block.
fn split_key(line: &str) -> (&str, &str) {
    let mut end = line.find(char::is_whitespace).unwrap_or(line.len());
    if let Some(brace) = line.get(..end).and_then(|w| w.find('{')) {
        if brace > 0 {
            end = brace;
        }
    }
    let key = line.get(..end).unwrap_or(line);
    let value = line.get(end..).unwrap_or("").trim();
    (key, value)
}

/// Reads a `key { PEM }` block. Lines are trimmed (indentation and CR are not
/// part of PEM) and comment lines are dropped as the reference does; interior
/// blank lines are kept because they separate PEM headers from the body.
fn read_block<'a>(
    file: &str,
    key: &str,
    value: &str,
    start: usize,
    lines: &mut impl Iterator<Item = (usize, &'a str)>,
) -> Result<String, ConfigError> {
    let Some(first) = value.strip_prefix('{') else {
        let hint = if key == "privkey" {
            " (for a key file use privkey_file)"
        } else {
            ""
        };
        return Err(ConfigError::Syntax {
            file: file.into(),
            line: start,
            message: format!("{key}: expected \"{{\" opening a PEM block{hint}"),
        });
    };
    let mut pem = String::new();
    let mut push = |part: &str| {
        pem.push_str(part.trim());
        pem.push('\n');
    };
    let (close_line, after) = match first.split_once('}') {
        Some((inside, after)) => {
            push(inside);
            (start, after)
        }
        None => {
            push(first);
            loop {
                let Some((n, line)) = lines.next() else {
                    return Err(ConfigError::UnterminatedBlock {
                        file: file.into(),
                        line: start,
                        key: key.into(),
                    });
                };
                if let Some((inside, after)) = line.split_once('}') {
                    push(inside);
                    break (n, after);
                }
                if !line.trim_start().starts_with('#') {
                    push(line);
                }
            }
        }
    };
    if !after.trim().is_empty() {
        return Err(ConfigError::Syntax {
            file: file.into(),
            line: close_line,
            message: format!("{key}: unexpected text after the closing \"}}\""),
        });
    }
    let mut pem = pem.trim().to_string();
    pem.push('\n');
    Ok(pem)
}

/// The rules that need the whole file: required keys, one private key
/// source, listen ports (`port` may come after the `listen` lines using it),
/// and the defaults that depend on other keys.
fn finish(c: &mut Config, file: &str, seen: &KeyLines, listen_lines: &[usize]) -> Result<(), ConfigError> {
    let missing = |key: &str| ConfigError::MissingKey {
        file: file.into(),
        key: key.into(),
    };
    if c.proto.is_empty() {
        return Err(missing("proto"));
    }
    for required in ["hash", "dbdir"] {
        if !seen.contains_key(required) {
            return Err(missing(required));
        }
    }
    if let (Some(block), Some(file_line)) = (seen.get("privkey"), seen.get("privkey_file")) {
        return Err(ConfigError::Conflict {
            file: file.into(),
            line: Some(*block.max(file_line)),
            message: format!(
                "privkey (line {block}) and privkey_file (line {file_line}) are two \
                 private key sources; give exactly one"
            ),
        });
    }
    if c.privkey_pem.is_none() && c.privkey_file.is_none() {
        return Err(missing("privkey or privkey_file"));
    }
    // a listen address without a port holds port 0 until here
    if !seen.contains_key("port") {
        if let Some((addr, line)) = c.listen.iter().zip(listen_lines).find(|(a, _)| a.port() == 0) {
            return Err(ConfigError::Conflict {
                file: file.into(),
                line: Some(*line),
                message: format!("listen {} has no port and there is no port key", addr.ip()),
            });
        }
        c.port = c.listen.first().map(SocketAddr::port).ok_or_else(|| missing("port"))?;
    }
    let mut first_lines: HashMap<SocketAddr, usize> = HashMap::new();
    for (addr, line) in c.listen.iter_mut().zip(listen_lines) {
        if addr.port() == 0 {
            addr.set_port(c.port);
        }
        if let Some(first) = first_lines.insert(*addr, *line) {
            return Err(ConfigError::Conflict {
                file: file.into(),
                line: Some(*line),
                message: format!("listen address {addr} given twice (first on line {first})"),
            });
        }
    }
    if c.listen.is_empty() {
        c.listen.push(SocketAddr::new(Ipv4Addr::UNSPECIFIED.into(), c.port));
        c.listen.push(SocketAddr::new(Ipv6Addr::UNSPECIFIED.into(), c.port));
    }
    c.priority_boost_asked = seen.contains_key("priority_boost");
    // the runbash_* limits alone do not turn RUNBASH on
    if !seen.contains_key("runbash") {
        c.runbash = None;
    }
    // load() gives each file a directory of its own beneath this
    if !seen.contains_key("fai_dir") {
        c.fai_dir = PathBuf::from(DEFAULT_FAI_DIR);
    }
    Ok(())
}

/// Where a value holds what looks like an end-of-line comment: a `#` after a
/// blank. (A `#` glued to other characters is part of the value, as in the
/// reference's format.)
fn inline_comment(value: &str) -> Option<usize> {
    value
        .char_indices()
        .find(|&(i, c)| c == '#' && i > 0 && value[..i].ends_with(char::is_whitespace))
        .map(|(i, _)| i)
}
