//! What the listener loads and prepares once at start-up, before any fork.

use super::*;

/// Resolves `defusr` (uid, gid, groups) once, in the listener.
pub(super) fn resolve_defusr(
    cfg: &Config,
    serve_as_self: bool,
) -> Result<Option<crate::auth::privs::Identity>, StartError> {
    match &cfg.defusr {
        Some(name) if !serve_as_self => resolve_user("defusr", name).map(Some),
        _ => Ok(None),
    }
}

/// Resolves the user the config's `key` names (`udp_user`, `defusr`); the
/// error names the key.
pub(super) fn resolve_user(key: &'static str, name: &str) -> Result<crate::auth::privs::Identity, StartError> {
    crate::auth::privs::resolve(name).map_err(|e| StartError::User(key, e))
}

/// Loads the TLB list named by the config (empty when none).
pub(super) fn load_tlb(cfg: &Config) -> Result<Arc<Vec<String>>, StartError> {
    match &cfg.tlb {
        Some(p) => Ok(Arc::new(crate::services::tlb::load(p)?)),
        None => Ok(Arc::new(Vec::new())),
    }
}

/// Opens the transfer log in the listener, as root, before any fork.
pub(super) fn open_xferlog(cfg: &Config) -> Result<Option<Arc<crate::xferlog::XferLog>>, StartError> {
    cfg.xferlog
        .as_deref()
        .map(crate::xferlog::XferLog::open)
        .transpose()
        .map(|x| x.map(Arc::new))
        .map_err(StartError::Xferlog)
}

/// Does once, in the listener, the lazy set-up that every session would otherwise
/// repeat after fork, each time paying page faults on copy-on-write pages: the
/// weak-symbol lookups (dlsym) behind thread creation, a thread stack and malloc
/// arena for glibc to cache and hand to each session's OOB thread, and the
/// random source's first-use probe. The thread is joined, so the listener is
/// single-threaded again before it ever forks.
pub(super) fn prepare_for_sessions() {
    let mut b = [0u8; 16];
    let _ = getrandom::getrandom(&mut b);
    // twice: the second thread takes the first one's cached stack, which is the
    // path (and the lazily bound libc symbols) every session's OOB thread takes
    for _ in 0..2 {
        let warm = std::thread::Builder::new().name("oob".into()).spawn(|| {
            let mut b = [0u8; 16];
            let _ = getrandom::getrandom(&mut b);
            drop(vec![0u8; 64]);
        });
        if let Ok(h) = warm {
            let _ = h.join();
        }
    }
}

/// The FAI token store of this server: `fai_dir`, bound to the identity of
/// `key` (tokens of a server with another key are unknown here).
pub(super) fn fai_store(
    cfg: &Config,
    key: &openssl::rsa::Rsa<openssl::pkey::Private>,
) -> Result<crate::auth::fai::Store, StartError> {
    let id = crate::auth::fai::server_id(key).map_err(StartError::FaiIdentity)?;
    Ok(crate::auth::fai::Store::new(&cfg.fai_dir, id))
}

/// `shared_state_dir`, checked and held open, and the listener's copy of its bans.
pub(super) type SharedState = (
    Option<Arc<crate::auth::shared_state::StateDir>>,
    Option<crate::daemon::control::SharedBanCache>,
);

/// Checks and opens `shared_state_dir` (when set: its whole path trusted, at
/// start and at every reload) and reads the bans it holds. When it is still
/// `old` (a reload), `old` is kept and no cache is made: the files are left
/// to the running cache, which knows the bans and puts them back should a
/// file have been damaged meanwhile.
pub(super) fn shared_bans(
    cfg: &Config,
    old: Option<&Arc<crate::auth::shared_state::StateDir>>,
) -> Result<SharedState, StartError> {
    let Some(dir) = &cfg.shared_state_dir else {
        return Ok((None, None));
    };
    let checked = crate::auth::shared_state::StateDir::open(dir)?;
    if let Some(old) = old.filter(|o| o.same_as(&checked)) {
        return Ok((Some(old.clone()), None));
    }
    let held = crate::auth::shared_state::prepare(dir)?;
    let mut cache = crate::daemon::control::SharedBanCache::new(held.clone());
    cache.refresh(true);
    info!("login throttle and bans shared with other nodes in {}", dir.display());
    Ok((Some(held), Some(cache)))
}

/// Writes the pidfile whole or not at all (a reader never sees it empty),
/// through tfd-sys's one private-file writer: a fresh `O_EXCL|O_NOFOLLOW`
/// temporary renamed into place, in a directory no other account can change
/// (a temporary planted there, as a symlink to a file of root's, is skipped,
/// never written through).
pub(super) fn write_pidfile(path: &std::path::Path) -> io::Result<()> {
    tfd_sys::private_file::write(path, format!("{}\n", std::process::id()).as_bytes(), 0o644)
}
