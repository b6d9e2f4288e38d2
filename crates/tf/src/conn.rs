//! Where and as whom `tf` connects: the command line, the environment and the
//! named servers of `~/.config/tf/config`, merged (command line first, then the
//! named server, then the environment); and the password, which only ever comes
//! from a no-echo prompt, TF_PASSWORD or a file, never from argv.

use std::io::{BufRead, Read, Write};
use std::os::fd::AsFd;
use std::path::PathBuf;

/// Longest password read (tfd's LOGIN line has the same bound in practice).
const MAX_PASSWORD: usize = 1024;

pub use tfp_client::options::Settings;
use tfp_client::options::{by_file_key, expand_home};
use tfp_client::secret_files::Rule;

/// `$XDG_CONFIG_HOME/tf/config`, else `$HOME/.config/tf/config`.
pub fn config_path() -> Option<PathBuf> {
    let base = std::env::var_os("XDG_CONFIG_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".config")))?;
    Some(base.join("tf").join("config"))
}

/// The `[name]` section of the config file: `key = value` lines, `#` comments.
pub fn named(name: &str) -> Result<Settings, String> {
    let path = config_path().ok_or("-s: neither XDG_CONFIG_HOME nor HOME is set")?;
    let text = read_config(&path).map_err(|e| format!("-s {name}: {e}"))?;
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
        let at = || format!("{}:{}", path.display(), n + 1);
        let (k, v) = line
            .split_once('=')
            .ok_or_else(|| format!("{}: expected `key = value`", at()))?;
        let v = v.trim().to_string();
        let key = k.trim();
        if let Some((opt, f)) = by_file_key(key) {
            let v = if f.home { expand_home(&v) } else { v };
            s.set(opt, v).map_err(|e| format!("{}: {e}", at()))?;
        } else if key == "options" {
            let mut words = v.split_whitespace().map(String::from);
            while let Some(w) = words.next() {
                if !tfp_client::options::find(&w).is_some_and(|o| o.in_options_line())
                    || !s.take(&w, &mut words).map_err(|e| format!("{}: {e}", at()))?
                {
                    return Err(format!("{}: options: {w} is not a connection option here", at()));
                }
            }
        } else {
            return Err(format!("{}: unknown key {key:?}", at()));
        }
    }
    if !found {
        return Err(format!("-s {name}: no [{name}] section in {}", path.display()));
    }
    Ok(s)
}

/// The config file's text, if nobody but the user (or root) can change it:
/// it names the server, key and hash the password goes to.
fn read_config(path: &std::path::Path) -> Result<String, String> {
    use tfp_client::secret_files::{open, Rule};
    let mut text = String::new();
    open("the config file", path, Rule::Trusted)?
        .take(1 << 20)
        .read_to_string(&mut text)
        .map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(text)
}

/// `--jail TOKEN:DIR` split.
pub fn jail(v: &str) -> Result<(String, String), String> {
    match v.split_once(':') {
        Some((t, d)) if !t.is_empty() && !d.is_empty() && !t.contains('|') => Ok((t.to_string(), d.to_string())),
        _ => Err(format!("--jail {v:?}: expected TOKEN:DIR")),
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
pub fn password(user: &str, file: Option<&str>) -> Result<Vec<u8>, String> {
    if let Some(f) = file {
        let mut v = Vec::new();
        // a password others can read is theirs too, and a file another user
        // owns holds what they chose: both refused, as ssh refuses such a key
        tfp_client::secret_files::open("--password-file", std::path::Path::new(f), Rule::Private)?
            .take(MAX_PASSWORD as u64 + 2)
            .read_to_end(&mut v)
            .map_err(|e| format!("--password-file {f}: {e}"))?;
        // the first line is the password
        let end = v.iter().position(|&b| b == b'\n').unwrap_or(v.len());
        v.truncate(end);
        return Ok(strip_eol(v));
    }
    if let Some(p) = std::env::var_os("TF_PASSWORD") {
        return Ok(std::os::unix::ffi::OsStringExt::into_vec(p));
    }
    let tty = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/tty")
        .map_err(|e| {
            format!("--user {user}: no terminal to ask for the password ({e}); set TF_PASSWORD or give --password-file")
        })?;
    let io_err = |e: std::io::Error| format!("terminal: {e}");
    let mut out = &tty;
    // echo off before the prompt shows: whatever is typed once it is seen
    // (by a person or a script) is never echoed
    let was_on = tfd_sys::set_tty_echo(tty.as_fd(), false).map_err(io_err)?;
    let prompted = write!(out, "{user}'s password: ").and_then(|()| out.flush());
    if let Err(e) = prompted {
        if was_on {
            let _ = tfd_sys::set_tty_echo(tty.as_fd(), true);
        }
        return Err(io_err(e));
    }
    let mut line = Vec::new();
    let read = std::io::BufReader::new(&tty)
        .take(MAX_PASSWORD as u64 + 2)
        .read_until(b'\n', &mut line);
    if was_on {
        let _ = tfd_sys::set_tty_echo(tty.as_fd(), true);
    }
    let _ = out.write_all(b"\n");
    read.map_err(io_err)?;
    Ok(strip_eol(line))
}
