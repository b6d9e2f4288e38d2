//! The start-up checks, one list for `tfd --check-config` and for the start
//! itself, so both reach one verdict: what one calls an error stops the other
//! too (a served root its accounts cannot open, a token directory others
//! could read), and a warning is the same warning in both (a user file jail
//! LOGIN would refuse, which concerns that user alone). Each check says what is wrong and how to mend it.

use super::rootcheck;
use crate::config::Config;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

/// One finding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Finding {
    /// tfd does not start (and `--check-config` exits 1).
    Error(String),
    /// tfd starts; the log (or `--check-config`) says it.
    Warning(String),
}

/// How tfd is about to run.
pub struct Setting {
    /// Started as root (sessions switch users; the accounts can be checked).
    pub is_root: bool,
    /// `tfd demo`: serves as the invoking user, its own files.
    pub demo: bool,
    /// `--daemon`'s pidfile: its directory must be one no other account can
    /// change (tfd_sys::private_file::check_dir).
    pub pidfile: Option<std::path::PathBuf>,
    /// The config file read (None: none, as in a test's built config).
    pub config: Option<std::path::PathBuf>,
}

/// Every check, in the order a reader mends them.
pub fn run(cfg: &Config, how: &Setting) -> Vec<Finding> {
    let mut out = Vec::new();
    let multi_user = how.is_root && !how.demo && cfg.defusr.is_none();
    if multi_user {
        match &cfg.userdb {
            Some(p) => match crate::auth::userdb::startup_check(p) {
                Ok(w) => {
                    out.extend(w.into_iter().map(Finding::Warning));
                    out.extend(
                        tfd_sys::private_file::check_secret(p, "userdb", "the password hashes").map(Finding::Error),
                    );
                }
                Err(e) => out.push(Finding::Error(format!("userdb: {e}"))),
            },
            None => out.push(Finding::Warning(
                "multi-user mode without userdb: every LOGIN will answer FAILED 40".into(),
            )),
        }
    }
    if multi_user && cfg.authorized_keys.is_some() {
        out.push(Finding::Error(
            "authorized_keys limits who may connect to a single-user server (defusr, or not started as root); \
             in multi-user mode each user's keys live in authorized_keys_dir: remove authorized_keys or set defusr"
                .into(),
        ));
    }
    if cfg.injail && (!how.is_root || how.demo) {
        out.push(Finding::Warning(
            "injail: not running as root, so INJAIL cannot chroot; sessions are confined to their jail by \
             descriptor only"
                .into(),
        ));
    }
    // what tfd trusts is changed by root or tfd's own user alone, as sshd's
    // StrictModes: the config, the private key (the user file: userdb::load_trusted)
    for (file, what) in [
        (how.config.as_deref(), "config"),
        (cfg.privkey_file.as_deref(), "privkey_file"),
    ] {
        if let Some(why) = file.and_then(|f| tfd_sys::private_file::check_file(f, what)) {
            out.push(Finding::Error(why));
        }
    }
    match (&cfg.privkey_file, &how.config) {
        (Some(key), _) => out.extend(
            tfd_sys::private_file::check_secret(key, "privkey_file", "the server's private key").map(Finding::Error),
        ),
        (None, Some(conf)) if cfg.privkey_pem.is_some() => out.extend(
            tfd_sys::private_file::check_secret(conf, "config", "the server's private key (its privkey block)")
                .map(Finding::Error),
        ),
        _ => {}
    }
    if let Err(e) = super::load_key(cfg) {
        out.push(Finding::Error(e.to_string()));
    }
    match super::check_dbdir(cfg) {
        Ok(Some(w)) => out.push(Finding::Warning(w)),
        Ok(None) => {}
        Err(e) => out.push(Finding::Error(e.to_string())),
    }
    if let Some(u) = &cfg.defusr {
        if let Err(e) = crate::auth::privs::lookup(u) {
            out.push(Finding::Error(format!("defusr: {e}")));
        }
    }
    if how.is_root && !how.demo {
        let r = rootcheck::check(cfg);
        out.extend(r.unreachable.into_iter().map(Finding::Error));
        out.extend(r.unchecked.into_iter().map(Finding::Warning));
        out.extend(r.unwritable.into_iter().map(Finding::Warning));
        // a jail LOGIN would refuse concerns its user alone, and the user file
        // is read afresh at every LOGIN: mending it needs no restart, so it
        // does not keep the server from starting (the same warning in both)
        let (refused, warnings) = rootcheck::check_jails(cfg);
        out.extend(refused.into_iter().map(Finding::Warning));
        out.extend(warnings.into_iter().map(Finding::Warning));
    }
    if cfg.fai_max_minutes > 0 {
        out.extend(private_dir(
            &cfg.fai_dir,
            "fai_dir",
            0o077,
            false,
            "it holds Fast Access tokens",
        ));
    }
    // the start's own check (auth::shared_state::dir), along the whole path;
    // a missing directory is made at the start
    if let Some(dir) = cfg.shared_state_dir.as_deref().filter(|d| d.exists()) {
        if let Err(why) = crate::auth::shared_state::StateDir::open(dir) {
            out.push(Finding::Error(format!(
                "shared_state_dir: {why} (whoever can write there can lift bans)"
            )));
        }
    }
    if let Some(dir) = cfg.control_socket.as_deref().and_then(Path::parent) {
        if !dir.as_os_str().is_empty() {
            out.extend(private_dir(
                dir,
                "control_socket's directory",
                0o022,
                true,
                "whoever can write there can put another socket in tfd's place",
            ));
        }
    }
    if let Some(p) = &how.pidfile {
        let dir = p
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        if let Some(why) = tfd_sys::private_file::check_dir(dir) {
            out.push(Finding::Error(format!("pidfile {}: {why}", p.display())));
        }
    }
    out
}

/// A directory tfd keeps to itself: missing is fine (tfd makes it, 0700);
/// otherwise a directory owned by tfd's user (or root, if `root_ok`),
/// without the `bad` mode bits: the rule its user applies when it is used.
fn private_dir(dir: &Path, key: &str, bad: u32, root_ok: bool, why: &str) -> Option<Finding> {
    let meta = match std::fs::symlink_metadata(dir) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return None,
        Err(e) => return Some(Finding::Error(format!("{key} {}: {e}", dir.display()))),
    };
    let me = tfd_sys::geteuid();
    if !meta.is_dir() {
        return Some(Finding::Error(format!("{key} {} is not a directory", dir.display())));
    }
    if (meta.uid() != me && !(root_ok && meta.uid() == 0)) || meta.mode() & bad != 0 {
        if meta.mode() & 0o1000 != 0 {
            // /tmp, /var/tmp, /dev/shm: a directory everyone shares is not
            // tfd's to take over; the way out is a directory of its own
            let own = if me == 0 {
                "/run/tfd".to_string()
            } else {
                std::env::var("HOME").map_or_else(|_| "~/.tfd".into(), |h| format!("{h}/.tfd"))
            };
            let (name, suggested) = if key == "fai_dir" {
                ("fai_dir", format!("{own}/fai"))
            } else {
                ("control_socket", format!("{own}/ctl.sock"))
            };
            return Some(Finding::Error(format!(
                "{key} {shown} is a shared (sticky) directory, mode {:o}: anyone can make files in it ({why}); \
                 use a directory of tfd's own instead, e.g. mkdir -m 700 {own} and {name} {suggested}",
                meta.mode() & 0o7777,
                shown = dir.display(),
            )));
        }
        return Some(Finding::Error(format!(
            "{key} {shown} is mode {:o}, owned by {}: it must be owned by {} and {} ({why}); \
             chown {me} {shown} && chmod 700 {shown}",
            meta.mode() & 0o7777,
            tfd_sys::named_uid(meta.uid()),
            tfd_sys::named_uid(me),
            if bad == 0o077 {
                "mode 0700"
            } else {
                "writable by nobody else"
            },
            shown = dir.display(),
        )));
    }
    None
}

/// The findings as the one sentence `--check-config` ends with and the start
/// refuses with: None when nothing stops tfd.
pub fn verdict(findings: &[Finding]) -> Option<String> {
    let errors: Vec<&str> = findings
        .iter()
        .filter_map(|f| match f {
            Finding::Error(e) => Some(e.as_str()),
            Finding::Warning(_) => None,
        })
        .collect();
    (!errors.is_empty()).then(|| errors.join("\n"))
}
