//! Where and as whom `tf` connects: the command line, the environment and the
//! named servers of `~/.config/tf/config`, merged (command line first, then the
//! named server, then the environment); and the password, which only ever comes
//! from a no-echo prompt, TF_PASSWORD or a file, never from argv.

use std::fmt;
use std::io::{self, BufRead, Read, Write};
use std::os::fd::AsFd;
use std::path::{Path, PathBuf};

/// Longest password read (tfd's LOGIN line has the same bound in practice).
const MAX_PASSWORD: usize = 1024;

pub use tf::options::Settings;
use tf::options::{by_file_key, expand_home};
use tfp_client::secret_files::Rule;

/// Why where or as whom to connect could not be had (after `tf: `).
#[derive(Debug)]
pub enum ConnError {
    /// `-s` with neither XDG_CONFIG_HOME nor HOME set.
    NoConfigDir,
    /// The config file for `-s NAME` is refused or unreadable: the name, why.
    Config(String, FileError),
    /// A line of the config file is refused: the file, its number (from 1), why.
    Line(PathBuf, usize, LineError),
    /// The config file has no `[NAME]` section: the name, the file.
    NoSection(String, PathBuf),
    /// `--jail` is not TOKEN:DIR: the value.
    Jail(String),
    /// The password file is refused or unreadable: the name given, why.
    PasswordFile(String, FileError),
    /// No terminal to ask on: the user, the OS's error.
    NoTerminal(String, io::Error),
    /// The terminal failed while asking.
    Terminal(io::Error),
}

impl fmt::Display for ConnError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConnError::NoConfigDir => f.write_str("-s: neither XDG_CONFIG_HOME nor HOME is set"),
            ConnError::Config(name, e) => write!(f, "-s {name}: {e}"),
            ConnError::Line(path, n, why) => write!(f, "{}:{n}: {why}", path.display()),
            ConnError::NoSection(name, path) => write!(f, "-s {name}: no [{name}] section in {}", path.display()),
            ConnError::Jail(v) => write!(f, "--jail {v:?}: expected TOKEN:DIR"),
            ConnError::PasswordFile(_, FileError::Refused(why)) => f.write_str(why),
            ConnError::PasswordFile(file, FileError::Read(_, e)) => write!(f, "--password-file {file}: {e}"),
            ConnError::NoTerminal(user, e) => write!(
                f,
                "--user {user}: no terminal to ask for the password ({e}); set TF_PASSWORD or give --password-file"
            ),
            ConnError::Terminal(e) => write!(f, "terminal: {e}"),
        }
    }
}

impl std::error::Error for ConnError {}

/// Why a file of secrets or trust was not read: refused (tfp-client's
/// `secret_files` words why: owner, mode, path), or the read failed.
#[derive(Debug)]
pub enum FileError {
    /// Refused before reading: why.
    Refused(String),
    /// The read failed: the file, the OS's error.
    Read(PathBuf, io::Error),
}

impl fmt::Display for FileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FileError::Refused(why) => f.write_str(why),
            FileError::Read(path, e) => write!(f, "{}: {e}", path.display()),
        }
    }
}

/// What is wrong with a line of the config file.
#[derive(Debug)]
pub enum LineError {
    /// No `=`.
    NotKeyValue,
    /// The option refused its value: why, in the option table's words.
    Value(tf::options::BadValue),
    /// `options` names one that is not a connection option.
    NotHere(String),
    /// A key the file does not know.
    UnknownKey(String),
}

impl fmt::Display for LineError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LineError::NotKeyValue => f.write_str("expected `key = value`"),
            LineError::Value(why) => write!(f, "{why}"),
            LineError::NotHere(w) => write!(f, "options: {w} is not a connection option here"),
            LineError::UnknownKey(key) => write!(f, "unknown key {key:?}"),
        }
    }
}

/// `$XDG_CONFIG_HOME/tf/config`, else `$HOME/.config/tf/config`.
pub fn config_path() -> Option<PathBuf> {
    tfp_client::known_servers::config_dir().map(|d| d.join("config"))
}

/// The `[name]` section of the config file: `key = value` lines, `#` comments.
pub fn named(name: &str) -> Result<Settings, ConnError> {
    let path = config_path().ok_or(ConnError::NoConfigDir)?;
    let text = read_config(&path).map_err(|e| ConnError::Config(name.to_string(), e))?;
    let mut s = Settings::default();
    let (mut inside, mut found) = (false, false);
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        if let Some(sec) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            inside = sec.trim() == name;
            found |= inside;
            continue;
        }
        if !inside {
            continue;
        }
        let at = |why| ConnError::Line(path.clone(), n + 1, why);
        let (k, v) = line.split_once('=').ok_or_else(|| at(LineError::NotKeyValue))?;
        let v = v.trim().to_string();
        let key = k.trim();
        if let Some((opt, f)) = by_file_key(key) {
            let v = if f.home { expand_home(&v) } else { v };
            s.set(opt, v).map_err(|e| at(LineError::Value(e)))?;
        } else if key == "options" {
            let mut words = v.split_whitespace().map(String::from);
            while let Some(w) = words.next() {
                if !tf::options::find(&w).is_some_and(|o| o.in_options_line())
                    || !s.take(&w, &mut words).map_err(|e| at(LineError::Value(e)))?
                {
                    return Err(at(LineError::NotHere(w)));
                }
            }
        } else {
            return Err(at(LineError::UnknownKey(key.to_string())));
        }
    }
    if !found {
        return Err(ConnError::NoSection(name.to_string(), path));
    }
    Ok(s)
}

/// The config file's text, if nobody but the user (or root) can change it:
/// it names the server, key and hash the password goes to.
fn read_config(path: &Path) -> Result<String, FileError> {
    let mut text = String::new();
    read_secret("the config file", path, Rule::Trusted, 1 << 20, |f| {
        f.read_to_string(&mut text)
    })?;
    Ok(text)
}

/// Opens `path` under `rule` (see [`tfp_client::secret_files::open`]; `what`
/// names it in a refusal) and reads at most `limit` bytes of it with `read`.
fn read_secret<T>(
    what: &str,
    path: &Path,
    rule: Rule,
    limit: u64,
    read: impl FnOnce(&mut io::Take<std::fs::File>) -> io::Result<T>,
) -> Result<T, FileError> {
    let file = tfp_client::secret_files::open(what, path, rule).map_err(FileError::Refused)?;
    read(&mut file.take(limit)).map_err(|e| FileError::Read(path.to_path_buf(), e))
}

/// `--jail TOKEN:DIR` split.
pub fn jail(v: &str) -> Result<(String, String), ConnError> {
    match v.split_once(':') {
        Some((t, d)) if !t.is_empty() && !d.is_empty() && !t.contains('|') => Ok((t.to_string(), d.to_string())),
        _ => Err(ConnError::Jail(v.to_string())),
    }
}

fn strip_eol(mut v: Vec<u8>) -> Vec<u8> {
    while v.last().is_some_and(|&b| b == b'\n' || b == b'\r') {
        v.pop();
    }
    v
}

/// The password for `user`: the file, else TF_PASSWORD, else asked on the
/// terminal without echo.
pub fn password(user: &str, file: Option<&str>) -> Result<Vec<u8>, ConnError> {
    if let Some(f) = file {
        let mut v = Vec::new();
        // a password others can read is theirs too, and a file another user
        // owns holds what they chose: both refused, as ssh refuses such a key
        read_secret(
            "--password-file",
            Path::new(f),
            Rule::Private,
            MAX_PASSWORD as u64 + 2,
            |r| r.read_to_end(&mut v),
        )
        .map_err(|e| ConnError::PasswordFile(f.to_string(), e))?;
        // the first line is the password
        let end = v.iter().position(|&b| b == b'\n').unwrap_or(v.len());
        v.truncate(end);
        return Ok(strip_eol(v));
    }
    if let Some(p) = std::env::var_os("TF_PASSWORD") {
        return Ok(std::os::unix::ffi::OsStringExt::into_vec(p));
    }
    ask(&format!("{user}'s password: ")).map_err(|e| match e {
        Asked::NoTerminal(e) => ConnError::NoTerminal(user.to_string(), e),
        Asked::Terminal(e) => ConnError::Terminal(e),
    })
}

/// Why a secret could not be asked on the terminal.
pub enum Asked {
    /// No /dev/tty.
    NoTerminal(io::Error),
    /// Reading it failed.
    Terminal(io::Error),
}

/// Asks for a secret on the terminal (/dev/tty) with echo off.
pub fn ask(prompt: &str) -> Result<Vec<u8>, Asked> {
    let tty = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/tty")
        .map_err(Asked::NoTerminal)?;
    let mut out = &tty;
    // echo off before the prompt shows: whatever is typed once it is seen
    // (by a person or a script) is never echoed
    let was_on = tfd_sys::set_tty_echo(tty.as_fd(), false).map_err(Asked::Terminal)?;
    let prompted = write!(out, "{prompt}").and_then(|()| out.flush());
    if let Err(e) = prompted {
        if was_on {
            let _ = tfd_sys::set_tty_echo(tty.as_fd(), true);
        }
        return Err(Asked::Terminal(e));
    }
    let mut line = Vec::new();
    let read = std::io::BufReader::new(&tty)
        .take(MAX_PASSWORD as u64 + 2)
        .read_until(b'\n', &mut line);
    if was_on {
        let _ = tfd_sys::set_tty_echo(tty.as_fd(), true);
    }
    let _ = out.write_all(b"\n");
    read.map_err(Asked::Terminal)?;
    Ok(strip_eol(line))
}
