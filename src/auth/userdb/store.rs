//! The file on disk: read with a size cap, checked at start-up, and rewritten
//! atomically under a lock by `tfpasswd`.

use super::*;
use tfd_sys::{read_capped, CappedError};

/// Reads (at most [`MAX_FILE_SIZE`] bytes) and parses the user file.
pub fn load(path: &Path) -> Result<UserDb, UserDbError> {
    let file = path.display().to_string();
    let bytes = read_capped(path, MAX_FILE_SIZE).map_err(|e| match e {
        CappedError::Io(error) => UserDbError::Io {
            file: file.clone(),
            error,
        },
        CappedError::TooLarge => UserDbError::TooLarge { file: file.clone() },
    })?;
    UserDb::parse(&bytes, &file)
}

/// [`load`], for tfd: only a file no other account could have written (owned
/// by root or tfd's user, writable by nobody else, in directories only they
/// can change), as sshd's StrictModes; else [`UserDbError::Untrusted`]. At
/// start, at reload and at every LOGIN: whoever can add a line can log in as
/// anyone.
pub fn load_trusted(path: &Path) -> Result<UserDb, UserDbError> {
    if let Some(why) = tfd_sys::private_file::check_file(path, "user file") {
        return Err(UserDbError::Untrusted(why));
    }
    load(path)
}

/// The daemon's start-up check in multi-user mode: a file that does not parse
/// stops tfd (like a bad tfd.conf); plain-text legacy lines and a file without
/// users are returned as warnings for the log, one per problem, loudly (a file
/// others can read stops tfd too: daemon::checks).
pub fn startup_check(path: &Path) -> Result<Vec<String>, UserDbError> {
    let db = load_trusted(path)?;
    let mut warnings = Vec::new();
    for (line, name) in db.legacy_users() {
        warnings.push(format!(
            "{}:{line}: user {name:?} has a PLAIN-TEXT password (the reference server's format); \
             convert the file with `tfpasswd -f {} import`",
            path.display(),
            path.display()
        ));
    }
    if db.users().next().is_none() {
        warnings.push(format!("{}: no users: every LOGIN will fail", path.display()));
    }
    Ok(warnings)
}

fn lock_path(path: &Path) -> PathBuf {
    let mut p = path.as_os_str().to_owned();
    p.push(".lock");
    PathBuf::from(p)
}

/// Writes `db` to `path` atomically, through tfd-sys's private-file writer: a
/// new mode-0600 file beside it, synced, then renamed over the old one, then the
/// directory synced. Readers (tfd at LOGIN) see the old file or the new one,
/// never a mix. Callers hold the lock ([`update`]). The directory is not
/// checked here: tfd judges the file and its directories where it reads them
/// ([`load_trusted`]), and tfpasswd's `check` reports them.
pub fn save_atomic(path: &Path, db: &UserDb) -> Result<(), UserDbError> {
    if path.file_name().is_none() {
        return Err(UserDbError::Invalid(format!("{} is not a file name", path.display())));
    }
    tfd_sys::private_file::Writer::new(0o600)
        .dir_checked()
        .write(path, &db.render())
        .map_err(|error| UserDbError::Io {
            file: path.display().to_string(),
            error,
        })
}

/// Opens (making it 0600 if missing) and locks `<file>.lock`, waiting for
/// another `tfpasswd` holding it; the lock lasts as long as the file is open.
fn lock_exclusive(lp: &Path) -> io::Result<std::fs::File> {
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o600)
        .open(lp)?;
    tfd_sys::lock_exclusive(std::os::fd::AsFd::as_fd(&file))?;
    Ok(file)
}

/// Read-modify-write under an exclusive lock (`<file>.lock`, flock), so concurrent
/// `tfpasswd` runs apply one after the other and none loses another's change. A
/// missing file is an empty one when `create` is true.
pub fn update<T>(
    path: &Path,
    create: bool,
    f: impl FnOnce(&mut UserDb) -> Result<T, UserDbError>,
) -> Result<T, UserDbError> {
    let lp = lock_path(path);
    // held (and the lock with it) until the update is written
    let _lock = lock_exclusive(&lp).map_err(|error| UserDbError::Io {
        file: lp.display().to_string(),
        error,
    })?;
    let mut db = match load(path) {
        Ok(db) => db,
        Err(UserDbError::Io { error, .. }) if create && error.kind() == io::ErrorKind::NotFound => UserDb::default(),
        Err(e) => return Err(e),
    };
    let out = f(&mut db)?;
    save_atomic(path, &db)?;
    Ok(out)
}

/// Turns legacy lines into hashed ones (in place). Returns the converted names.
pub fn convert_legacy(db: &mut UserDb, scheme: Scheme, rounds: u32) -> Result<Vec<String>, UserDbError> {
    let mut done = Vec::new();
    for l in db.lines.iter_mut() {
        if let Line::User(e) = l {
            if let Secret::Legacy(pw) = &e.secret {
                e.secret = Secret::Crypt(CryptHash::new(pw, scheme, rounds)?);
                done.push(e.name.clone());
            }
        }
    }
    Ok(done)
}
