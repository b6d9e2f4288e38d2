//! tfpasswd, the LOGIN user file's administration tool (tfpasswd(8)): its
//! command line. The file format, hashing, locking and the atomic rewrite are
//! `auth::userdb`'s; the password prompt is `password`'s.

mod keys;
mod password;
mod usage;

use crate::auth::userdb::{self, CryptHash, Entry, FieldError, QuotaSpec, Scheme, Secret, UserDbError};
use password::read_password;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

const USAGE: &str = "\
usage: tfpasswd [-f FILE] add NAME [--system-user USER [--allow-root]] [--quota SIZE] [--jail DIR] [--stdin]
       tfpasswd [-f FILE] passwd NAME [--stdin]
       tfpasswd [-f FILE] mod NAME [--system-user USER [--allow-root]] [--quota SIZE] [--jail DIR | --no-jail]
       tfpasswd [-f FILE] del NAME
       tfpasswd [-f FILE] lock NAME
       tfpasswd [-f FILE] unlock NAME
       tfpasswd [-f FILE] [-c CONF] list
       tfpasswd [-f FILE] import [LEGACY-FILE]
       tfpasswd [-f FILE] check
       tfpasswd [-f FILE] [-c CONF] [--keys-dir DIR] key add NAME [KEYFILE]
       tfpasswd [-c CONF] [--keys-dir DIR] key list NAME
       tfpasswd [-c CONF] [--keys-dir DIR] key del NAME FINGERPRINT|LINE|KEYFILE

  -f, --file FILE          the user file (default /etc/tfd/userdb)
  -c, --config CONF        tfd.conf, for list's USED column (the served root and
                           quota_default; default /etc/tfd/tfd.conf if it exists),
                           and for key its authorized_keys_dir and userdb
      --keys-dir DIR       the users' authorized keys, tfd.conf's authorized_keys_dir
                           (default: CONF's, else /etc/tfd/authorized_keys); key add
                           reads KEYFILE (a .pub file, or authorized_keys lines) or
                           standard input, for a NAME the user file holds; a key
                           already there is said and skipped (exit 0)
      --system-user USER   system account the user's sessions run as (default: NAME)
      --allow-root         let NAME map to system user root (uid 0), which tfd
                           refuses at LOGIN unless tfd.conf sets userdb_allow_root
      --quota SIZE         bytes the user's files may take (K/M/G/T suffix); 0 = no
                           quota; \"default\" = tfd.conf's quota_default (the default)
      --jail DIR           confine the user's sessions to DIR, a directory beneath
                           the served root (/jails/alice), right after LOGIN; DIR and
                           every directory above it up to the root must be owned by
                           root and writable by nobody else (give the user a
                           writable directory inside it)
      --no-jail            remove the user's jail
      --stdin              read the password from standard input (one line) instead
                           of asking twice on the terminal without echo
      --sha256             hash with SHA-256-crypt ($5$) instead of SHA-512-crypt ($6$)
      --rounds N           crypt rounds, 1000..10000000 (default 5000)
  -h, --help               this help
  -V, --version            print the version";

/// What went wrong, with the exit status it maps to.
pub(super) enum Error {
    /// Bad command line: status 2.
    Usage(String),
    /// Anything else: status 1.
    Failed(String),
}

/// A value given on the command line that the file could not hold: a usage
/// error, as the field's message says.
impl From<FieldError> for Error {
    fn from(e: FieldError) -> Self {
        Error::Usage(e.to_string())
    }
}

impl From<UserDbError> for Error {
    fn from(e: UserDbError) -> Self {
        Error::Failed(e.to_string())
    }
}

#[derive(Default)]
pub(super) struct Args {
    file: Option<PathBuf>,
    command: Option<String>,
    operands: Vec<String>,
    system_user: Option<String>,
    quota: Option<String>,
    jail: Option<String>,
    no_jail: bool,
    pub(super) stdin: bool,
    sha256: bool,
    rounds: Option<String>,
    allow_root: bool,
    keys_dir: Option<PathBuf>,
    config: Option<PathBuf>,
}

fn parse_args(argv: Vec<String>) -> Result<Option<Args>, Error> {
    let mut a = Args::default();
    let mut it = argv.into_iter();
    while let Some(arg) = it.next() {
        let mut value = |flag: &str| it.next().ok_or_else(|| Error::Usage(format!("{flag} needs a value")));
        match arg.as_str() {
            "-h" | "--help" => {
                println!("{USAGE}");
                return Ok(None);
            }
            "-V" | "--version" => {
                println!("tfpasswd {}", env!("CARGO_PKG_VERSION"));
                return Ok(None);
            }
            "-f" | "--file" => a.file = Some(PathBuf::from(value(&arg)?)),
            "--system-user" => a.system_user = Some(value(&arg)?),
            "--quota" => a.quota = Some(value(&arg)?),
            "--jail" => a.jail = Some(value(&arg)?),
            "--no-jail" => a.no_jail = true,
            "--rounds" => a.rounds = Some(value(&arg)?),
            "--keys-dir" => a.keys_dir = Some(PathBuf::from(value(&arg)?)),
            "-c" | "--config" => a.config = Some(PathBuf::from(value(&arg)?)),
            "--stdin" => a.stdin = true,
            "--sha256" => a.sha256 = true,
            "--allow-root" => a.allow_root = true,
            s if s.starts_with('-') && s.len() > 1 => return Err(Error::Usage(format!("unknown option {s:?}"))),
            _ if a.command.is_none() => a.command = Some(arg),
            _ => a.operands.push(arg),
        }
    }
    Ok(Some(a))
}

fn hash(a: &Args, password: &[u8]) -> Result<CryptHash, Error> {
    let scheme = if a.sha256 { Scheme::Sha256 } else { Scheme::Sha512 };
    let rounds = match &a.rounds {
        Some(r) => r
            .parse::<u32>()
            .ok()
            .filter(|r| (userdb::MIN_ROUNDS..=userdb::MAX_ROUNDS).contains(r))
            .ok_or_else(|| {
                Error::Usage(format!(
                    "--rounds must be {}..{}",
                    userdb::MIN_ROUNDS,
                    userdb::MAX_ROUNDS
                ))
            })?,
        None => userdb::DEFAULT_ROUNDS,
    };
    Ok(CryptHash::new(password, scheme, rounds)?)
}

fn quota_arg(q: &str) -> Result<QuotaSpec, Error> {
    match q {
        "default" => Ok(QuotaSpec::Default),
        "" => Err(Error::Usage("--quota needs a size, 0 or \"default\"".into())),
        q => Ok(QuotaSpec::parse(q)?),
    }
}

/// `--jail DIR`: checked as the file's field is, written from the root (`/DIR`).
fn jail_arg(j: &str) -> Result<String, Error> {
    Ok(userdb::check_jail(j)?)
}

fn system_user_arg(u: &Option<String>) -> Result<Option<String>, Error> {
    match u {
        None => Ok(None),
        Some(u) => {
            userdb::check_system_user(u)?;
            Ok(Some(u.clone()))
        }
    }
}

/// A missing system account is not an error (it may be created later), but LOGIN
/// fails until it exists, so say so.
fn warn_if_no_system_user(name: &str) {
    if !matches!(nix::unistd::User::from_name(name), Ok(Some(_))) {
        eprintln!("tfpasswd: warning: system user {name:?} does not exist (yet); LOGIN fails until it does");
    }
}

/// Whether system user `name` is root (uid 0).
fn is_root_user(name: &str) -> bool {
    matches!(nix::unistd::User::from_name(name), Ok(Some(u)) if u.uid.is_root())
}

/// A line mapping `name` to root only with `--allow-root`: tfd refuses such a
/// LOGIN unless `userdb_allow_root` (issue 47 finding 1).
fn root_mapping(a: &Args, name: &str, system_user: Option<&str>) -> Result<(), Error> {
    let user = system_user.unwrap_or(name);
    if is_root_user(user) && !a.allow_root {
        return Err(Error::Usage(format!(
            "{name:?} would run as system user {user:?}, which is root (uid 0): tfd refuses such a LOGIN \
             unless tfd.conf sets userdb_allow_root; give --allow-root if that is meant"
        )));
    }
    Ok(())
}

fn one_name(a: &Args) -> Result<String, Error> {
    match a.operands.as_slice() {
        [name] => Ok(name.clone()),
        [] => Err(Error::Usage("a user name is needed".into())),
        _ => Err(Error::Usage(format!("unexpected arguments {:?}", &a.operands[1..]))),
    }
}

fn set_locked(path: &std::path::Path, name: &str, locked: bool) -> Result<(), Error> {
    userdb::update(path, false, |db| {
        let e = db.get_mut(name).ok_or_else(|| UserDbError::NoSuchUser(name.into()))?;
        if e.is_legacy() {
            return Err(UserDbError::Legacy(name.into()));
        }
        e.locked = locked;
        Ok(())
    })?;
    Ok(())
}

/// Where the user file is not: names the file tfpasswd wanted (the default one
/// when no -f was given) and how to start one, instead of the bare "No such file
/// or directory" of its lock file (`/etc/tfd/userdb.lock` on a fresh host).
fn check_place(path: &std::path::Path, given: bool, command: &str, operands: usize) -> Result<(), Error> {
    let known = [
        "add", "passwd", "mod", "del", "lock", "unlock", "list", "import", "check",
    ];
    if !known.contains(&command) || std::fs::symlink_metadata(path).is_ok() {
        return Ok(());
    }
    let which = if given {
        format!("the user file {}", path.display())
    } else {
        format!("the user file {} (the default; -f FILE names another)", path.display())
    };
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    // add (and import of another file) start a file; the rest need one
    let starts = command == "add" || (command == "import" && operands == 1);
    if !starts {
        return Err(Error::Failed(format!(
            "{which} does not exist; start one with `tfpasswd -f {} add NAME`",
            path.display()
        )));
    }
    if !dir.is_dir() {
        return Err(Error::Failed(format!(
            "cannot start {which}: the directory {} does not exist; create it \
             (mkdir -p -m 0755 {}) and run this again, then point tfd at the file (userdb {} in tfd.conf)",
            dir.display(),
            dir.display(),
            path.display()
        )));
    }
    Ok(())
}

/// Refuses a flag given to a command it does not apply to (`allowed` lists the
/// command's own).
fn only(a: &Args, command: &str, allowed: &[&str]) -> Result<(), Error> {
    let given = [
        ("--system-user", a.system_user.is_some()),
        ("--allow-root", a.allow_root),
        ("--quota", a.quota.is_some()),
        ("--jail", a.jail.is_some()),
        ("--no-jail", a.no_jail),
        ("--stdin", a.stdin),
        ("--sha256", a.sha256),
        ("--rounds", a.rounds.is_some()),
        ("--keys-dir", a.keys_dir.is_some()),
        ("--config", a.config.is_some()),
    ];
    match given.iter().find(|(f, on)| *on && !allowed.contains(f)) {
        Some((f, _)) => Err(Error::Usage(format!("{f} does not apply to {command}"))),
        None => Ok(()),
    }
}

fn run(a: Args) -> Result<(), Error> {
    let path = a.file.clone().unwrap_or_else(|| PathBuf::from("/etc/tfd/userdb"));
    let Some(command) = a.command.clone() else {
        return Err(Error::Usage("no command given".into()));
    };
    check_place(&path, a.file.is_some(), &command, a.operands.len())?;
    match command.as_str() {
        "add" => add(&a, &path)?,
        "passwd" => passwd(&a, &path)?,
        "mod" => modify(&a, &path)?,
        "del" => {
            only(&a, &command, &[])?;
            let name = one_name(&a)?;
            userdb::update(&path, false, |db| db.remove(&name))?;
            println!("tfpasswd: deleted {name}");
        }
        "lock" | "unlock" => {
            only(&a, &command, &[])?;
            let name = one_name(&a)?;
            set_locked(&path, &name, command == "lock")?;
            println!("tfpasswd: {command}ed {name}");
        }
        "list" => {
            only(&a, &command, &["--config"])?;
            if !a.operands.is_empty() {
                return Err(Error::Usage("list takes no arguments".into()));
            }
            let db = userdb::load(&path)?;
            let measure = usage::Measure::from_config(a.config.as_deref())?;
            list(&db, measure.as_ref(), &mut io::stdout().lock())?;
        }
        "import" => import(&a, &path)?,
        "key" => {
            only(&a, &command, &["--keys-dir", "--config"])?;
            keys::run(&keys::Places::of(&a)?, &a.operands)?;
        }
        "check" => check(&a, &path)?,
        other => return Err(Error::Usage(format!("unknown command {other:?}"))),
    }
    Ok(())
}

/// `add NAME`: a new user with a password read from the terminal or stdin.
fn add(a: &Args, path: &Path) -> Result<(), Error> {
    only(
        a,
        "add",
        &[
            "--system-user",
            "--allow-root",
            "--quota",
            "--jail",
            "--stdin",
            "--sha256",
            "--rounds",
        ],
    )?;
    let name = one_name(a)?;
    userdb::check_name(&name)?;
    let system_user = system_user_arg(&a.system_user)?;
    root_mapping(a, &name, system_user.as_deref())?;
    let jail = a.jail.as_deref().map(jail_arg).transpose()?;
    let quota = match &a.quota {
        Some(q) => quota_arg(q)?,
        None => QuotaSpec::Default,
    };
    if let Ok(db) = userdb::load(path) {
        if db.get(&name).is_some() {
            return Err(UserDbError::Exists(name).into());
        }
    }
    let h = hash(a, &read_password(a)?)?;
    userdb::update(path, true, |db| {
        db.add(Entry {
            name: name.clone(),
            secret: Secret::Crypt(h),
            locked: false,
            system_user: system_user.clone(),
            quota,
            jail: jail.clone(),
            line: 0,
        })
    })?;
    warn_if_no_system_user(system_user.as_deref().unwrap_or(&name));
    println!("tfpasswd: added {name}");
    Ok(())
}

/// `passwd NAME`: a new password for an existing user.
fn passwd(a: &Args, path: &Path) -> Result<(), Error> {
    only(a, "passwd", &["--stdin", "--sha256", "--rounds"])?;
    let name = one_name(a)?;
    if userdb::load(path)?.get(&name).is_none() {
        return Err(UserDbError::NoSuchUser(name).into());
    }
    let h = hash(a, &read_password(a)?)?;
    userdb::update(path, false, |db| {
        let e = db.get_mut(&name).ok_or_else(|| UserDbError::NoSuchUser(name.clone()))?;
        e.secret = Secret::Crypt(h);
        Ok(())
    })?;
    println!("tfpasswd: password of {name} changed");
    Ok(())
}

/// `mod NAME`: a user's system user, quota or jail.
fn modify(a: &Args, path: &Path) -> Result<(), Error> {
    only(
        a,
        "mod",
        &["--system-user", "--allow-root", "--quota", "--jail", "--no-jail"],
    )?;
    let name = one_name(a)?;
    if a.system_user.is_none() && a.quota.is_none() && a.jail.is_none() && !a.no_jail {
        return Err(Error::Usage(
            "mod needs --system-user, --quota, --jail or --no-jail".into(),
        ));
    }
    if a.jail.is_some() && a.no_jail {
        return Err(Error::Usage("--jail and --no-jail contradict each other".into()));
    }
    let system_user = system_user_arg(&a.system_user)?;
    if let Some(u) = &system_user {
        root_mapping(a, &name, Some(u))?;
    }
    let quota = a.quota.as_deref().map(quota_arg).transpose()?;
    let jail = a.jail.as_deref().map(jail_arg).transpose()?;
    let effective = userdb::update(path, false, |db| {
        let e = db.get_mut(&name).ok_or_else(|| UserDbError::NoSuchUser(name.clone()))?;
        if e.is_legacy() {
            return Err(UserDbError::Legacy(name.clone()));
        }
        if system_user.is_some() {
            // naming the user itself clears the field (same meaning, shorter line)
            e.system_user = system_user.clone().filter(|u| *u != name);
        }
        if let Some(q) = quota {
            e.quota = q;
        }
        if jail.is_some() || a.no_jail {
            e.jail = jail.clone();
        }
        Ok(e.system_user().to_string())
    })?;
    warn_if_no_system_user(&effective);
    println!("tfpasswd: changed {name}");
    Ok(())
}

/// `import [LEGACY]`: hashes the plain-text passwords of the file (or moves
/// those of another legacy file into it, hashed).
fn import(a: &Args, path: &Path) -> Result<(), Error> {
    only(a, "import", &["--sha256", "--rounds"])?;
    let scheme = if a.sha256 { Scheme::Sha256 } else { Scheme::Sha512 };
    let rounds = hash(a, b"probe")?.cost().rounds;
    let names = match a.operands.as_slice() {
        [] => userdb::update(path, false, |db| userdb::convert_legacy(db, scheme, rounds))?,
        [legacy] => {
            let mut src = userdb::load(std::path::Path::new(legacy))?;
            userdb::convert_legacy(&mut src, scheme, rounds)?;
            userdb::update(path, true, |db| {
                if let Some(e) = src.users().find(|e| db.get(&e.name).is_some()) {
                    return Err(UserDbError::Exists(e.name.clone()));
                }
                let mut names = Vec::new();
                for e in src.users() {
                    let mut e = e.clone();
                    e.line = 0;
                    names.push(e.name.clone());
                    db.add(e)?;
                }
                Ok(names)
            })?
        }
        _ => return Err(Error::Usage("import takes at most one file".into())),
    };
    println!("tfpasswd: imported {} user(s) with hashed passwords", names.len());
    Ok(())
}

/// `check`: validates the file and warns of what tfd would refuse or fail on.
fn check(a: &Args, path: &Path) -> Result<(), Error> {
    only(a, "check", &[])?;
    let db = userdb::load(path)?;
    let legacy = db.legacy_users();
    for (line, name) in &legacy {
        eprintln!(
            "tfpasswd: warning: {}:{line}: user {name:?} has a plain-text password (legacy format); run `tfpasswd -f {} import`",
            path.display(),
            path.display()
        );
    }
    if let Some(why) = tfd_sys::private_file::check_secret(path, "user file", "the password hashes") {
        eprintln!("tfpasswd: warning: tfd will not start with it: {why}");
    }
    if let Some(why) = tfd_sys::private_file::check_file(path, "user file") {
        eprintln!("tfpasswd: warning: tfd will not read it: {why}");
    }
    // LOGIN as a user whose system account is missing fails (FAILED 37)
    let mut missing = 0;
    for e in db.users() {
        if !matches!(nix::unistd::User::from_name(e.system_user()), Ok(Some(_))) {
            missing += 1;
            eprintln!(
                "tfpasswd: warning: {}:{}: {:?} runs as system user {:?}, which does not exist; \
                 its LOGIN fails until it does (useradd --system {}, or tfpasswd mod {} --system-user USER)",
                path.display(),
                e.line,
                e.name,
                e.system_user(),
                e.system_user(),
                e.name
            );
        }
    }
    for e in db.users().filter(|e| is_root_user(e.system_user())) {
        eprintln!(
            "tfpasswd: warning: {}:{}: {:?} runs as system user root (uid 0); tfd refuses its LOGIN \
             unless tfd.conf sets userdb_allow_root",
            path.display(),
            e.line,
            e.name
        );
    }
    println!(
        "tfpasswd: {} is valid: {} user(s), {} legacy{}",
        path.display(),
        db.users().count(),
        legacy.len(),
        match missing {
            0 => String::new(),
            n => format!(", {n} without a system account"),
        }
    );
    Ok(())
}

/// Writing to standard output failed: `stdout: ...`, status 1.
struct Stdout(io::Error);

impl From<io::Error> for Stdout {
    fn from(e: io::Error) -> Stdout {
        Stdout(e)
    }
}

impl From<Stdout> for Error {
    fn from(Stdout(e): Stdout) -> Error {
        Error::Failed(format!("stdout: {e}"))
    }
}

/// `list`: one line a user, under a header; USED is measured with `measure`
/// (tfd.conf's served root), `?` without it.
fn list(db: &userdb::UserDb, measure: Option<&usage::Measure>, out: &mut impl Write) -> Result<(), Stdout> {
    writeln!(
        out,
        "{:<24} {:<16} {:>10} {:>10} {:<17} JAIL",
        "NAME", "SYSTEM_USER", "QUOTA", "USED", "STATE"
    )?;
    for e in db.users() {
        let quota = match e.quota {
            QuotaSpec::Default => "default".to_string(),
            QuotaSpec::Unlimited => "none".to_string(),
            QuotaSpec::Bytes(n) => userdb::format_size(n),
        };
        let state = if e.is_legacy() {
            "legacy-plain-text"
        } else if e.locked {
            "locked"
        } else {
            "active"
        };
        let jail = e.jail.as_deref().map_or("-".to_string(), |j| format!("/{j}"));
        let used = measure.map_or_else(|| "?".to_string(), |m| m.used(e));
        writeln!(
            out,
            "{:<24} {:<16} {:>10} {used:>10} {state:<17} {jail}",
            e.name,
            e.system_user(),
            quota
        )?;
    }
    Ok(())
}

/// tfpasswd's command line: `argv` without the program name (the binary is
/// this call).
pub fn main(argv: Vec<String>) -> ExitCode {
    let result = match parse_args(argv) {
        Ok(None) => return ExitCode::SUCCESS,
        Ok(Some(a)) => run(a),
        Err(e) => Err(e),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(Error::Usage(m)) => {
            eprintln!("tfpasswd: {m}\n{USAGE}");
            ExitCode::from(2)
        }
        Err(Error::Failed(m)) => {
            eprintln!("tfpasswd: {m}");
            ExitCode::from(1)
        }
    }
}
