//! `tfpasswd key add|list|del NAME [FILE]`: a user's authorized keys for key
//! login, one file per LOGIN name in tfd.conf's `authorized_keys_dir`
//! (`--keys-dir`), in OpenSSH's `authorized_keys` format; every key checked
//! as tfd takes keys before it is written, the file rewritten whole and
//! atomically, owned by root, mode 0644, in a directory only root can change.

use super::Error;
use crate::auth::keys::{self, options, store};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use tfp_wire::keylogin::{self, line};

/// Where `key` works: the key directory, and the user file whose names it
/// takes (None: none to be found, so a name cannot be checked).
pub(super) struct Places {
    dir: PathBuf,
    userdb: Option<PathBuf>,
}

impl Places {
    /// `--keys-dir`, else tfd.conf's `authorized_keys_dir` (`-c`), else the
    /// default; the user file `-f`, else tfd.conf's `userdb`, else the
    /// default one where it exists.
    pub(super) fn of(a: &super::Args) -> Result<Places, Error> {
        let cfg = match &a.config {
            Some(p) => match crate::config::Config::load(p) {
                Ok(c) => Some(c),
                Err(e) => return Err(io_failed(p.display(), e)),
            },
            None => None,
        };
        let dir = a
            .keys_dir
            .clone()
            .or_else(|| cfg.as_ref().and_then(|c| c.authorized_keys_dir.clone()))
            .unwrap_or_else(|| PathBuf::from(crate::config::DEFAULT_AUTHORIZED_KEYS_DIR));
        let default = PathBuf::from("/etc/tfd/userdb");
        let userdb = a
            .file
            .clone()
            .or_else(|| cfg.as_ref().and_then(|c| c.userdb.clone()))
            .or_else(|| default.exists().then_some(default));
        Ok(Places { dir, userdb })
    }

    /// Refuses a key for a name the user file does not hold: tfd would
    /// never let it in (a key logs in an account of the user file).
    fn check_name(&self, name: &str) -> Result<(), Error> {
        let Some(path) = &self.userdb else {
            eprintln!("tfpasswd: warning: no user file to check {name:?} against (-f FILE or -c CONF names one)");
            return Ok(());
        };
        let db = match crate::auth::userdb::load(path) {
            Ok(db) => db,
            Err(e) => return Err(io_failed(path.display(), e)),
        };
        if db.get(name).is_none() {
            return Err(Error::Failed(format!(
                "{name:?} is not in the user file {}; add the account first (tfpasswd -f {} add {name})",
                path.display(),
                path.display()
            )));
        }
        Ok(())
    }
}

/// The largest key file or input read.
const MAX_INPUT: u64 = keys::MAX_FILE;

/// A failure to read or write `what`.
fn io_failed(what: impl std::fmt::Display, e: impl std::fmt::Display) -> Error {
    Error::Failed(format!("{what}: {e}"))
}

/// The user's key file in `dir`.
fn file(dir: &Path, name: &str) -> Result<PathBuf, Error> {
    crate::auth::userdb::check_name(name)?;
    keys::file_of(dir, name).ok_or_else(|| Error::Usage(format!("{name:?} is not a user name")))
}

/// A key file that could not be read or written.
impl From<store::StoreError> for Error {
    fn from(e: store::StoreError) -> Self {
        Error::Failed(e.0)
    }
}

/// The key file's text ("" when there is none yet).
fn current(path: &Path) -> Result<String, Error> {
    Ok(store::current(path)?)
}

/// The keys to add: `FILE`'s lines (a `.pub` file or authorized_keys lines),
/// else standard input's.
fn input(from: Option<&str>) -> Result<String, Error> {
    let mut text = String::new();
    let read = match from {
        Some("-") | None => std::io::stdin().take(MAX_INPUT).read_to_string(&mut text),
        Some(f) => std::fs::File::open(f).and_then(|h| h.take(MAX_INPUT).read_to_string(&mut text)),
    };
    match read {
        Ok(_) => Ok(text),
        Err(e) => Err(io_failed(from.unwrap_or("standard input"), e)),
    }
}

/// Why tfd would not use a line.
enum Unusable {
    Line(line::LineError),
    Option(options::Refused),
}

impl std::fmt::Display for Unusable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Unusable::Line(e) => write!(f, "{e}"),
            Unusable::Option(e) => write!(f, "{e}"),
        }
    }
}

impl From<line::LineError> for Unusable {
    fn from(e: line::LineError) -> Self {
        Unusable::Line(e)
    }
}

/// A line tfd would use: it parses, and its options are ones tfd honours.
fn usable(l: &str) -> Result<Option<line::KeyLine>, Unusable> {
    let Some(k) = line::parse(l)? else {
        return Ok(None);
    };
    // judged for a login from nowhere in particular at the dawn of time:
    // only options tfd cannot honour refuse here
    match options::judge(&k.options, std::net::Ipv4Addr::UNSPECIFIED.into(), 0) {
        Err(e @ options::Refused::Unusable(_)) => Err(Unusable::Option(e)),
        _ => Ok(Some(k)),
    }
}

/// `key add NAME [FILE]`, under the keys lock ([`store::edit`]): as
/// ssh-copy-id, a key already there is said and skipped, and adding only
/// such keys succeeds with nothing written.
fn add(places: &Places, name: &str, from: Option<&str>) -> Result<(), Error> {
    let dir = places.dir.as_path();
    let path = file(dir, name)?;
    places.check_name(name)?;
    let given = input(from)?;
    let edited = store::edit(dir, &path, |old| {
        let mut text = old.to_string();
        let have = store::blobs(&text);
        let (mut added, mut there) = (0, 0);
        for (n, l) in given.lines().enumerate() {
            let k = match usable(l) {
                Ok(Some(k)) => k,
                Ok(None) => continue,
                Err(why) => return Err(Error::Failed(format!("line {}: {why}; nothing added", n + 1))),
            };
            let fp = keylogin::fingerprint(&k.blob);
            if have.contains(&k.blob) {
                eprintln!("tfpasswd: {name} already has key {fp}");
                there += 1;
                continue;
            }
            store::append(&mut text, l);
            println!(
                "tfpasswd: key {} {} {fp} added for {name}",
                k.key.type_name(),
                k.key.bits()
            );
            added += 1;
        }
        if added == 0 && there == 0 {
            return Err(Error::Failed("no key given".into()));
        }
        Ok(((added > 0).then_some(text), ()))
    });
    edited?
}

/// `key list NAME`: one line per key, the lines tfd passes over said so.
fn list(dir: &Path, name: &str, out: &mut impl Write) -> Result<(), Error> {
    let path = file(dir, name)?;
    let text = current(&path)?;
    if let Err(e) = write_list(&text, out) {
        return Err(io_failed("standard output", e));
    }
    if let Some(why) = tfd_sys::private_file::check_file(&path, "key file") {
        eprintln!("tfpasswd: warning: tfd refuses this file unless its owner is the user's: {why}");
    }
    Ok(())
}

/// The lines of `key list`.
fn write_list(text: &str, out: &mut impl Write) -> std::io::Result<()> {
    for (n, l) in text.lines().enumerate() {
        match usable(l) {
            Ok(None) => {}
            Ok(Some(k)) => {
                let opts: Vec<String> = k
                    .options
                    .iter()
                    .map(|(o, v)| match v {
                        Some(v) => format!("{o}=\"{v}\""),
                        None => o.clone(),
                    })
                    .collect();
                writeln!(
                    out,
                    "{}\t{} {}\t{}\t{}\t{}",
                    n + 1,
                    k.key.type_name(),
                    k.key.bits(),
                    keylogin::fingerprint(&k.blob),
                    tfp_wire::escape::shown(k.comment.as_bytes()),
                    opts.join(",")
                )?;
            }
            Err(why) => writeln!(out, "{}\tNOT USED: {why}", n + 1)?,
        }
    }
    Ok(())
}

/// `key del NAME WHICH`: WHICH a fingerprint (`SHA256:…`), a line number,
/// or a file whose keys go; under the keys lock ([`store::edit`]).
fn del(dir: &Path, name: &str, which: &str) -> Result<(), Error> {
    let path = file(dir, name)?;
    let gone: Vec<Vec<u8>> = if which.starts_with("SHA256:") || which.chars().all(|c| c.is_ascii_digit()) {
        Vec::new()
    } else {
        store::blobs(&input(Some(which))?)
    };
    let edited = store::edit(dir, &path, |text| {
        let (kept, removed) = store::remove(text, |n, k| {
            which == n.to_string()
                || k.is_some_and(|k| keylogin::fingerprint(&k.blob) == which || gone.contains(&k.blob))
        });
        if removed == 0 {
            return Err(Error::Failed(format!("{name} has no key {which}")));
        }
        Ok((Some(kept), removed))
    });
    let removed = edited??;
    println!("tfpasswd: {removed} key(s) of {name} deleted");
    Ok(())
}

/// `key add|list|del NAME [FILE]` in `places`.
pub(super) fn run(places: &Places, operands: &[String]) -> Result<(), Error> {
    let dir = places.dir.as_path();
    let ops: Vec<&str> = operands.iter().map(String::as_str).collect();
    match ops.as_slice() {
        ["add", name] => add(places, name, None),
        ["add", name, from] => add(places, name, Some(from)),
        ["list", name] => list(dir, name, &mut std::io::stdout().lock()),
        ["del", name, which] => del(dir, name, which),
        _ => Err(Error::Usage(
            "key add NAME [FILE] | key list NAME | key del NAME FINGERPRINT|LINE|FILE".into(),
        )),
    }
}
