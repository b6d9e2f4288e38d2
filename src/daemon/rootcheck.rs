//! Start-up check that the accounts sessions run as can use the served root: a
//! session switches to `defusr` or to the LOGIN user's system account before it
//! opens the root, so a root those accounts cannot search fails every session of
//! theirs (for `defusr` already in the handshake), and one they cannot write
//! answers every MKDIR and SNDFILE with `FAILED 1`. Each account is checked as
//! itself: [`privs::as_user`] takes on its uid, gid and groups (so group
//! permissions and ACLs count, and root's capabilities do not) for an open and a
//! `faccessat(AT_EACCESS)` of the root.

use crate::auth::privs::{self, Identity};
use crate::config::Config;
use nix::fcntl::AtFlags;
use nix::unistd::AccessFlags;
use std::path::Path;

/// An account sessions run as, and who uses it (for messages).
pub struct Served {
    /// "defusr NAME" or "LOGIN user(s) A, B (system user S)".
    pub who: String,
    /// Its identity.
    pub id: Identity,
}

/// What the check found.
#[derive(Debug, Default)]
pub struct RootCheck {
    /// Accounts that cannot open the root (their sessions cannot work at all).
    pub unreachable: Vec<String>,
    /// Accounts that can open but not write it.
    pub unwritable: Vec<String>,
    /// Accounts that could not be resolved or checked.
    pub unchecked: Vec<String>,
}

/// The accounts sessions run as: `defusr`, or the system accounts of the user
/// file's LOGIN users (locked entries included: an unlock needs no restart).
/// Accounts that do not resolve are returned as messages.
pub fn served(cfg: &Config) -> (Vec<Served>, Vec<String>) {
    let mut out = Vec::new();
    let mut bad = Vec::new();
    if let Some(u) = &cfg.defusr {
        match privs::resolve(u) {
            Ok(id) => out.push(Served {
                who: format!("defusr {u}"),
                id,
            }),
            Err(e) => bad.push(format!("defusr: {e}")),
        }
        return (out, bad);
    }
    let Some(db) = cfg.userdb.as_deref().and_then(|p| crate::auth::userdb::load(p).ok()) else {
        return (out, bad);
    };
    // one check per system account, naming the LOGIN users mapped to it
    let mut accounts: Vec<(String, Vec<String>)> = Vec::new();
    // a jailed user's root is its jail, checked by `check_jails`
    for e in db.users().filter(|e| e.jail.is_none()) {
        let sys = e.system_user().to_string();
        match accounts.iter_mut().find(|(s, _)| *s == sys) {
            Some((_, names)) => names.push(e.name.clone()),
            None => accounts.push((sys, vec![e.name.clone()])),
        }
    }
    for (sys, names) in accounts {
        let who = format!(
            "LOGIN user{} {} (system user {sys})",
            if names.len() > 1 { "s" } else { "" },
            names.join(", ")
        );
        match privs::resolve(&sys) {
            Ok(id) => out.push(Served { who, id }),
            Err(e) => bad.push(format!("{who}: {e}")),
        }
    }
    (out, bad)
}

/// Checks every served account against `cfg.dbdir`. Needs root (to take on
/// each account's ids); callers run it only then. An account that cannot
/// write the root but owns (can write) a directory directly under it is
/// README's multi-user layout (a root-owned 0755 root, a directory per user)
/// and not reported.
pub fn check(cfg: &Config) -> RootCheck {
    let (accounts, unchecked) = served(cfg);
    let mut r = RootCheck {
        unchecked,
        ..RootCheck::default()
    };
    let root = cfg.dbdir.display();
    for a in &accounts {
        match privs::as_user(&a.id, || {
            probe(&cfg.dbdir).or_else(|e| writes_below(&cfg.dbdir).ok_or(e))
        }) {
            Ok(Ok(())) => {}
            Ok(Err(Probe::Open(e))) => r.unreachable.push(format!(
                "{} cannot open the served root {root} ({e}): its sessions will fail; \
                 give that account search and read permission on {root} and every directory above it",
                a.who
            )),
            Ok(Err(Probe::Write(e))) => r.unwritable.push(format!(
                "{} cannot write the served root {root} ({e}): MKDIR, SNDFILE and every other \
                 command creating something there will answer FAILED 1; make {root} writable by that account \
                 (owner or group) if it should",
                a.who
            )),
            Err(e) => r.unchecked.push(format!("{}: could not be checked: {e}", a.who)),
        }
    }
    r
}

/// Why [`probe`] failed: the directory could not be read (std's error), or
/// is not writable (nix's: the access check is the probe's only nix call).
enum Probe {
    Open(std::io::Error),
    Write(nix::Error),
}

impl From<std::io::Error> for Probe {
    fn from(e: std::io::Error) -> Probe {
        Probe::Open(e)
    }
}

impl From<nix::Error> for Probe {
    fn from(e: nix::Error) -> Probe {
        Probe::Write(e)
    }
}

/// Some directory directly under `dir` the process may write in: Some(()).
fn writes_below(dir: &Path) -> Option<()> {
    let entries = std::fs::read_dir(dir).ok()?;
    entries.flatten().take(10_000).find_map(|e| {
        let p = e.path();
        let is_dir = e.file_type().is_ok_and(|t| t.is_dir());
        let w = is_dir
            && nix::unistd::faccessat(None, &p, AccessFlags::W_OK | AccessFlags::X_OK, AtFlags::AT_EACCESS).is_ok();
        w.then_some(())
    })
}

/// The user file's jails, each opened as its user with its guard judged
/// (what LOGIN will do): the jails LOGIN would refuse, and, apart, those whose
/// user can write nowhere in them. Needs root.
pub(crate) fn check_jails(cfg: &Config) -> (Vec<String>, Vec<String>) {
    let (mut errors, mut warnings) = (Vec::new(), Vec::new());
    if cfg.defusr.is_some() {
        return (errors, warnings);
    }
    let Some(db) = cfg.userdb.as_deref().and_then(|p| crate::auth::userdb::load(p).ok()) else {
        return (errors, warnings);
    };
    let Ok(root) = crate::fsys::Root::open_root(&cfg.dbdir) else {
        return (errors, warnings);
    };
    let trusted = crate::session::jail::trusted_owner();
    for e in db.users() {
        let Some(jail) = &e.jail else { continue };
        let who = format!("LOGIN user {} (jail /{jail})", e.name);
        let Ok(id) = privs::resolve(e.system_user()) else {
            continue; // reported by `served`
        };
        let Ok(p) = crate::fsys::RelPath::parse(jail.as_bytes()) else {
            continue;
        };
        let opened = privs::as_user(&id, || {
            crate::session::jail::open_guarded_at(&root, &p, trusted, Some(&cfg.dbdir)).map(|_| {
                let dir = cfg.dbdir.join(jail);
                probe(&dir).is_ok() || writes_below(&dir).is_some()
            })
        });
        match opened {
            Ok(Ok(true)) => {}
            Ok(Ok(false)) => warnings.push(format!(
                "{who}: the user can write nowhere in the jail; give it a directory of its own inside \
                 (mkdir {0}/{jail}/home && chown {1} {0}/{jail}/home)",
                cfg.dbdir.display(),
                e.system_user()
            )),
            Ok(Err(why)) => errors.push(format!("{who}: every LOGIN will answer FAILED 48: {why}")),
            Err(why) => warnings.push(format!("{who}: could not be checked: {why}")),
        }
    }
    (errors, warnings)
}

fn probe(root: &Path) -> Result<(), Probe> {
    std::fs::read_dir(root)?;
    Ok(nix::unistd::faccessat(
        None,
        root,
        AccessFlags::W_OK | AccessFlags::X_OK,
        AtFlags::AT_EACCESS,
    )?)
}

/// The uids of the served accounts (a root owned by one of them is what a
/// working set-up looks like, not a warning).
pub(crate) fn served_uids(cfg: &Config) -> Vec<u32> {
    served(cfg).0.iter().map(|s| s.id.uid.as_raw()).collect()
}
