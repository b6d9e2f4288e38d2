//! Access: who the session is and what it may touch — LOGIN, INJAIL, CHMOD and
//! CHOWN (the document's "Security enhancement" and "In-jail"; wire-notes
//! §3.24–3.26 and §3.29–3.30; decisions.md). Every refusal has its FAILED status
//! and a log line; passwords and hashes are never logged. The login throttle's
//! policy is [`crate::auth::login_throttle`]'s; LOGIN adds the metrics and the
//! refusal's words.

use super::{denied_or, CmdResult, Gate, OrFailed, Reply};
use crate::auth::login_throttle::{refusal_text, Attempt};
use crate::auth::names;
use crate::auth::shared_state::SharedThrottle;
use crate::auth::throttle::Policy;
use crate::auth::{privs, userdb, Quota};
use crate::fsys::{FsError, Kind, RelPath, Root};
use crate::services::metrics::Counter;
use crate::session::identity::{self, SwitchError, Target};
use crate::session::jail;
use crate::session::{Session, Stage};
use log::{error, info, warn};
use std::io::Read;
use std::os::fd::{AsFd, OwnedFd};
use tfd_sys as sys;
use tfp_wire::{command, Failed};

/// LOGIN: allowed before LOGIN, and before INJAIL in multi-user mode.
pub(crate) const LOGIN_GATE: Gate = Gate {
    before_login: true,
    before_jail: true,
    single_user_jail: false,
    before_secure: false,
    locksys: false,
    flycontext: false,
    before_key: false,
};

/// INJAIL: after LOGIN, the only command before INJAIL (with END, KEEPALIVE and
/// PROCKEY in multi-user mode).
pub(crate) const INJAIL_GATE: Gate = Gate {
    before_login: false,
    before_jail: true,
    single_user_jail: true,
    before_secure: false,
    locksys: false,
    flycontext: false,
    before_key: false,
};

/// Largest `jail.key` read.
const MAX_JAIL_KEY: u64 = 64 << 10;

/// A client-supplied name made safe for a log line.
pub(super) fn shown(name: &[u8]) -> String {
    // tf's rule: controls, bidi and zero-width characters escaped
    let mut s = tfp_wire::escape::shown(&name[..name.len().min(64)]);
    if name.len() > 64 {
        s.push('…');
    }
    s
}

/// Sends a failure now and ends the session: for states that must not go on
/// (a half-done privilege switch).
fn fail_and_close(s: &mut Session, f: Failed) -> CmdResult {
    s.chan_mut().tx.send_frame(&f.to_wire())?;
    Ok(Reply::Close)
}

/// One LOGIN attempt as the throttle judges it.
pub(super) fn attempt<'a>(s: &'a Session, name: &'a [u8]) -> Attempt<'a> {
    Attempt::new(
        &s.ctx().throttle,
        Policy::from_config(&s.ctx().cfg),
        s.ctx().shared_state.clone().map(SharedThrottle::new),
        s.peer(),
        name,
        shown(name),
    )
}

/// LOGIN step 1: refused while the address or the name is banned or locked.
pub(super) fn throttle_gate(s: &Session, a: &Attempt) -> Result<(), super::CmdError> {
    let peer = s.peer();
    let who = &a.who;
    match a.blocked() {
        Some(b) => {
            warn!("{peer} LOGIN {who:?} refused: {b}");
            s.ctx().services.metrics.inc(Counter::LoginFailures);
            Err(super::CmdError::Told(
                Failed::LoginFailed,
                refusal_text(b, peer.ip(), who),
            ))
        }
        None => Ok(()),
    }
}

/// LOGIN step 2: the user file's entry for the name and password; a wrong
/// one is counted ([`count_failure`]).
fn check_password(s: &Session, a: &Attempt, password: &[u8]) -> Result<userdb::Entry, Failed> {
    let peer = s.peer();
    let who = &a.who;
    let Some(path) = s.ctx().cfg.userdb.as_deref() else {
        warn!("{peer} LOGIN {who:?}: no userdb configured");
        return Err(Failed::UserDb);
    };
    let db = match userdb::load_trusted(path) {
        Ok(db) => db,
        Err(e) => {
            error!("{peer} LOGIN {who:?}: user file unusable: {e}");
            return Err(Failed::UserDb);
        }
    };
    match db.authenticate(a.name, password).result {
        Ok(entry) => {
            if entry.is_legacy() {
                warn!(
                    "{peer} LOGIN {who:?} matched a plain-text legacy line ({}:{}); migrate with `tfpasswd import`",
                    path.display(),
                    entry.line
                );
            }
            Ok(entry.clone())
        }
        Err(why) => {
            count_failure(
                s,
                a,
                match why {
                    userdb::Refusal::UnknownUser => "no such name in the user file",
                    userdb::Refusal::WrongPassword => "wrong password",
                    userdb::Refusal::Locked => "the account is locked in the user file",
                },
            );
            Err(Failed::LoginFailed)
        }
    }
}

/// LOGIN, a wrong password (or a key login's failure): the throttle's
/// counts, the metrics, and a log line for each ban or lock it started.
pub(super) fn count_failure(s: &Session, a: &Attempt, why: &str) {
    let peer = s.peer();
    let effect = a.failure();
    s.ctx().services.metrics.inc(Counter::LoginFailures);
    if effect.ip_banned.is_some() {
        s.ctx().services.metrics.inc(Counter::BansLogin);
    }
    if effect.account_locked.is_some() {
        s.ctx().services.metrics.inc(Counter::LocksLogin);
    }
    info!("{peer} LOGIN {:?} refused: {why}", a.who);
    if let Some(secs) = effect.ip_banned {
        warn!(
            "{peer} banned for {secs} s after {} failed LOGINs",
            a.policy.ip.max_failures
        );
    }
    if let Some(secs) = effect.account_locked {
        warn!(
            "{peer} LOGIN name {:?} locked for {secs} s after {} failures",
            a.who, a.policy.account.max_failures
        );
    }
    for table in &effect.first_eviction {
        warn!(
            "LOGIN throttle: the per-{table} table is full; evicting its weakest entries from now on \
             (logged once)"
        );
    }
}

/// `LOGIN <user> <password>`: the password is the rest of the line. Exact name
/// match, constant-time check with the same hash work for unknown names, throttled
/// per address and per name; on success the session process becomes the mapped
/// system user for good (after INJAIL's chroot when `injail` is set).
pub fn login(s: &mut Session, arg: &[u8]) -> CmdResult {
    if s.state().logged_in() {
        return Err(Failed::AlreadyLogged.into());
    }
    let (who, entry, id) = prove_password(s, arg)?;
    admit(s, &who, &entry, id, "")
}

/// LOGIN's steps 1 to 3 on `<user> <password>`: the throttle's gate, the
/// password (a wrong one counted), the system user; forgiven on success.
/// Also the proof of a user's own key commands (`TFDUSERKEYS`).
pub(super) fn prove_password(
    s: &Session,
    arg: &[u8],
) -> Result<(String, userdb::Entry, privs::Identity), super::CmdError> {
    let (name, password) = command::split_space(arg).ok_or(Failed::MissingParameter)?;
    if name.is_empty() {
        return Err(Failed::MissingParameter.into());
    }
    let a = attempt(s, name);
    throttle_gate(s, &a)?;
    let entry = check_password(s, &a, password)?;
    let id = identity_of(s, &a.who, &entry)?;
    let who = a.who.clone();
    a.forgive();
    Ok((who, entry, id))
}

/// The system user a user file entry maps to, unless it cannot be used
/// (unknown, or root without `userdb_allow_root`): LOGIN's and a key
/// login's step 3.
pub(super) fn identity_of(s: &Session, who: &str, entry: &userdb::Entry) -> Result<privs::Identity, Failed> {
    let peer = s.peer();
    let id = match privs::resolve(entry.system_user()) {
        Ok(id) => id,
        Err(e) => {
            error!("{peer} LOGIN {who:?}: {e}");
            return Err(Failed::LoginFailed);
        }
    };
    if id.uid.is_root() && !s.ctx().cfg.userdb_allow_root {
        error!(
            "{peer} LOGIN {who:?} refused: the user file maps it to system user {} (uid 0); \
             set userdb_allow_root in tfd.conf if that is meant",
            id.name
        );
        return Err(Failed::LoginFailed);
    }
    Ok(id)
}

/// LOGIN step 4, the same for a password and a key (`how` says which, for
/// the log): the quota, the user file's jail, the switch to the system user
/// (now, unless INJAIL's chroot must come first), the session logged in.
pub(super) fn admit(s: &mut Session, who: &str, entry: &userdb::Entry, id: privs::Identity, how: &str) -> CmdResult {
    let peer = s.peer();
    let quota = entry.quota.resolve(s.ctx().cfg.quota_default).map(|limit| Quota {
        uid: id.uid.as_raw(),
        limit,
    });
    let Some(mut next) = s.state().stage.after_login(id.clone()) else {
        return Err(Failed::AlreadyLogged.into());
    };
    let deferred = matches!(next, Stage::AwaitingJail { .. });
    if let Some(jail) = &entry.jail {
        // the user file's jail: entered now, with the switch unless INJAIL
        // comes next (inside it)
        match enter_user_jail(s, who, jail, &id, deferred)? {
            Ok(chrooted) if !deferred => {
                next = Stage::Jailed {
                    jail: jail.as_bytes().to_vec(),
                    chrooted,
                }
            }
            Ok(_) => {}
            Err(reply) => return reply,
        }
    } else if !deferred && sys::geteuid() == 0 {
        let target = Target {
            jail: None,
            user: Some(&id),
            have_names: false,
        };
        if let Err(e) = identity::enter(target) {
            error!("{peer} LOGIN {who:?}: {e}; closing");
            return fail_and_close(s, Failed::LoginFailed);
        }
    }
    info!(
        "{peer} LOGIN {who:?}{how} as {} (uid {}, gid {}, groups {:?}){}",
        id.name,
        id.uid,
        id.gid,
        id.groups.iter().map(|g| g.as_raw()).collect::<Vec<_>>(),
        if deferred { ", switching at INJAIL" } else { "" }
    );
    s.set_user(entry.name.clone());
    if let Some(p) = s.pace() {
        p.set_user(s.user());
    }
    s.auth_mut().quota = quota;
    s.state_mut().stage = next;
    if s.state().serving() {
        s.enter_logged_in();
    }
    Ok(Reply::Ok)
}

/// LOGIN into a user with a jail in the user file: opens it with the user's
/// rights, its guard judged ([`jail::open_guarded`]), and enters it (the
/// switch to the user with it unless `deferred`: INJAIL then switches).
/// `Ok(Ok(chrooted))`: entered; `Ok(Err(reply))`: the LOGIN's answer, the
/// session as it was (FAILED 48 with the reason logged) or ending.
fn enter_user_jail(
    s: &mut Session,
    who: &str,
    jail: &str,
    id: &privs::Identity,
    deferred: bool,
) -> Result<Result<bool, CmdResult>, Failed> {
    let peer = s.peer();
    let p = RelPath::parse(jail.as_bytes()).or_failed(Failed::JailAcl)?;
    let trusted = jail::trusted_owner();
    let as_root = sys::geteuid() == 0;
    let opened = identity::with_rights_of(Some(id).filter(|_| as_root), || {
        jail::open_guarded_at(s.root(), &p, trusted, Some(&s.ctx().cfg.dbdir))
    });
    let dir = match opened {
        Ok(Ok(dir)) => dir,
        Ok(Err(why)) => {
            error!("{peer} LOGIN {who:?} refused (FAILED 48): the user's jail /{jail} cannot be used: {why}");
            return Ok(Err(Err(Failed::JailAcl.into())));
        }
        Err(e) => {
            error!("{peer} LOGIN {who:?}: {e}; closing");
            return Ok(Err(fail_and_close(s, Failed::JailAcl)));
        }
    };
    let host = if deferred {
        None
    } else {
        identity::script_host(&dir, Some(id), s.ctx().cfg.runbash, peer, "LOGIN")
    };
    let target = Target {
        jail: Some(&dir),
        user: Some(id).filter(|_| as_root && !deferred),
        have_names: false,
    };
    let entered = match identity::enter(target) {
        Ok(e) => e,
        Err(e @ SwitchError::Untouched(_)) => {
            error!("{peer} LOGIN {who:?}: entering the jail /{jail}: {e}");
            return Ok(Err(Err(Failed::JailAcl.into())));
        }
        Err(e @ SwitchError::Broken(_)) => {
            error!("{peer} LOGIN {who:?}: entering the jail /{jail}: {e}; closing");
            return Ok(Err(fail_and_close(s, Failed::JailAcl)));
        }
    };
    if let Some(root) = entered.root {
        s.set_root(root);
    }
    s.auth_mut().names = entered.names;
    s.auth_mut().jail_base = Some(jail.as_bytes().to_vec());
    s.set_script_host(host);
    info!(
        "{peer} LOGIN {who:?} confined to its jail /{jail} ({})",
        if entered.chrooted {
            "chroot"
        } else {
            "descriptor only: not root"
        }
    );
    Ok(Ok(entered.chrooted))
}

/// Opens the jail directory (its guard judged: [`jail::open_guarded`]) and
/// checks the token against its `jail.key` (one token per line, compared
/// exactly and in constant time), the key judged on the descriptor read.
/// A jail that breaks its guard is refused with the reason, for the log.
///
/// The directory is opened with the rights of `user` (the jail's permissions
/// say who may enter it); the key is read as the process is (root keeps a
/// 0600 key from the jailed user's scripts too). The outer error: the ids
/// could not be put back, the session must end.
fn open_jail(
    root: &Root,
    p: &RelPath,
    token: &[u8],
    user: Option<&privs::Identity>,
) -> Result<Result<OwnedFd, JailRefusal>, identity::RightsNotRestored> {
    let trusted = jail::trusted_owner();
    let jail = match identity::with_rights_of(user, || jail::open_guarded(root, p, trusted))? {
        Ok(fd) => fd,
        Err(jail::Refused::Denied(_)) => return Ok(Err(JailRefusal(Failed::AccessDenied, None))),
        Err(jail::Refused::Missing(_)) => return Ok(Err(JailRefusal(Failed::JailAcl, None))),
        Err(e @ jail::Refused::Unsafe(_)) => return Ok(Err(JailRefusal(Failed::JailAcl, Some(e.to_string())))),
    };
    Ok(check_key(jail, p, token, trusted))
}

/// INJAIL's refusal: its code, and why the jail breaks its guard when it
/// does (logged as an error: someone set the jail up unsafely).
struct JailRefusal(Failed, Option<String>);

/// The key could not be opened or read: `FAILED 48`, nothing to tell.
impl From<std::io::Error> for JailRefusal {
    fn from(_: std::io::Error) -> Self {
        JailRefusal(Failed::JailAcl, None)
    }
}

/// The token against the open jail's `jail.key`, judged on the descriptor read.
fn check_key(jail: OwnedFd, p: &RelPath, token: &[u8], trusted: u32) -> Result<OwnedFd, JailRefusal> {
    let key = sys::openat2_beneath(
        jail.as_fd(),
        jail::JAIL_KEY,
        libc::O_RDONLY | libc::O_NONBLOCK | libc::O_NOCTTY,
        0,
    )?;
    let shown = String::from_utf8_lossy(&p.to_bytes()).into_owned();
    match jail::judge_key(key.as_fd(), &shown, trusted) {
        Ok(()) => {}
        Err(e @ jail::Refused::Unsafe(_)) => return Err(JailRefusal(Failed::JailAcl, Some(e.to_string()))),
        Err(_) => return Err(JailRefusal(Failed::JailAcl, None)),
    }
    let mut text = Vec::new();
    std::fs::File::from(key).take(MAX_JAIL_KEY).read_to_end(&mut text)?;
    let mut found = false;
    for line in text.split(|&b| b == b'\n') {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        found |= userdb::ct_eq(line, token);
    }
    if found {
        Ok(jail)
    } else {
        Err(JailRefusal(Failed::JailToken, None))
    }
}

/// `INJAIL <token> | <dir>`: confines the session to `dir` for good, after its
/// `jail.key` has accepted the token. As root this is a real chroot, done after
/// the last lookup that needs files outside (the user's identity was resolved at
/// LOGIN or by the listener; user and group names for CHOWN are read now); then
/// the session switches to its user. Paths then resolve inside the jail.
pub fn injail(s: &mut Session, arg: &[u8]) -> CmdResult {
    if !s.ctx().cfg.injail || !matches!(s.state().stage, Stage::AwaitingJail { .. }) {
        return Err(Failed::AlreadyJailed.into());
    }
    let (token, dir) = command::split_pipe(arg).ok_or(Failed::MissingParameter)?;
    if token.is_empty() {
        return Err(Failed::MissingParameter.into());
    }
    let p = s.path(dir)?;
    let peer = s.peer();
    let pending = s.state().pending().cloned();
    let found = match open_jail(s.root(), &p, token, pending.as_ref()) {
        Ok(r) => r,
        Err(e) => {
            error!("{peer} INJAIL: {e}; closing");
            return fail_and_close(s, Failed::AccessDenied);
        }
    };
    let jail = match found {
        Ok(j) => j,
        Err(JailRefusal(f, None)) => {
            info!(
                "{peer} INJAIL {:?} refused (FAILED {})",
                String::from_utf8_lossy(&p.to_bytes()),
                f.code()
            );
            return Err(f.into());
        }
        Err(JailRefusal(f, Some(why))) => {
            error!(
                "{peer} INJAIL refused (FAILED {}): the jail breaks its guard: {why}",
                f.code()
            );
            return Err(f.into());
        }
    };
    let host = identity::script_host(&jail, pending.as_ref(), s.ctx().cfg.runbash, peer, "INJAIL");
    let as_root = sys::geteuid() == 0;
    let target = Target {
        jail: Some(&jail),
        // without root there is nobody else to become
        user: pending.as_ref().filter(|_| as_root),
        // read before the user file's jail, if any: /etc there is the jail's
        have_names: s.auth().names.is_some(),
    };
    let entered = match identity::enter(target) {
        Ok(e) => e,
        Err(e @ SwitchError::Untouched(_)) => {
            error!("{peer} INJAIL: {e}");
            return Err(Failed::AccessDenied.into());
        }
        Err(e @ SwitchError::Broken(_)) => {
            error!("{peer} INJAIL: {e}; closing");
            return fail_and_close(s, Failed::AccessDenied);
        }
    };
    if let Some(root) = entered.root {
        s.set_root(root);
    }
    if entered.names.is_some() {
        s.auth_mut().names = entered.names;
    }
    s.set_script_host(host);
    // beneath the served root: inside the user file's jail, if any
    let full = match &s.auth().jail_base {
        Some(base) => [&base[..], b"/", &p.to_bytes()].concat(),
        None => p.to_bytes(),
    };
    // the identity waiting for the jail was taken on with it
    if let Some(next) = s.state().stage.after_injail(full, entered.chrooted) {
        s.state_mut().stage = next;
    }
    s.enter_logged_in();
    info!(
        "{peer} INJAIL into /{} ({}) user={}",
        tfp_wire::escape::shown(&p.to_bytes()),
        if entered.chrooted {
            "chroot"
        } else {
            "descriptor only: not root"
        },
        s.user()
    );
    Ok(Reply::Ok)
}

/// Splits off the last space-separated word (the path before it may hold spaces).
fn rsplit_word(arg: &[u8]) -> Option<(&[u8], &[u8])> {
    arg.iter().rposition(|&b| b == b' ').map(|i| (&arg[..i], &arg[i + 1..]))
}

/// An octal mode of 1 to 4 digits.
fn parse_mode(m: &[u8]) -> Option<u32> {
    if m.is_empty() || m.len() > 4 || !m.iter().all(|b| (b'0'..=b'7').contains(b)) {
        return None;
    }
    m.iter().try_fold(0u32, |acc, b| Some(acc * 8 + (b - b'0') as u32))
}

/// `CHMOD <path> <octal>`: the mode is the last word, so paths may hold spaces.
/// Symlinks inside the root are followed, as chmod(2) does. Set-user-ID is refused,
/// and set-group-ID on anything but a directory (the document's own remark that
/// only SGID and sticky combine; a served tree must not grow set-id programs).
pub fn chmod(s: &mut Session, arg: &[u8]) -> CmdResult {
    let (path, mode) = rsplit_word(arg).ok_or(Failed::MissingParameter)?;
    if path.is_empty() || mode.is_empty() {
        return Err(Failed::MissingParameter.into());
    }
    let Some(mode) = parse_mode(mode) else {
        info!("{} CHMOD: {:?} is not an octal mode", s.peer(), shown(mode));
        return Err(Failed::Chmod.into());
    };
    let p = s.path(path)?;
    let fd = match s.open(&p, libc::O_PATH, 0) {
        Ok(fd) => fd,
        Err(FsError::NotFound) | Err(FsError::NotDir) => return Err(Failed::NoSuchFile.into()),
        Err(e) => return Err(denied_or(e, Failed::Chmod).into()),
    };
    let st = sys::fstat(fd.as_fd()).or_failed(Failed::Chmod)?;
    if mode & 0o4000 != 0 || (mode & 0o2000 != 0 && Kind::of(&st) != Kind::Dir) {
        info!("{} CHMOD {mode:o} refused: set-id bits", s.peer());
        return Err(Failed::Chmod.into());
    }
    let r = match sys::fchmod_path_fd(fd.as_fd(), mode) {
        // before Linux 6.6: reopen the file for real and fchmod it
        Err(e)
            if matches!(
                e.raw_os_error(),
                Some(libc::ENOSYS) | Some(libc::EINVAL) | Some(libc::EOPNOTSUPP)
            ) =>
        {
            let flags = libc::O_NONBLOCK | libc::O_NOCTTY;
            s.root()
                .open(&p, libc::O_RDONLY | flags, 0)
                .or_else(|_| s.open(&p, libc::O_WRONLY | flags, 0))
                .map_err(|e| match e {
                    FsError::Other(io) => io,
                    _ => std::io::Error::from_raw_os_error(libc::EACCES),
                })
                .and_then(|f| sys::fchmod(f.as_fd(), mode))
        }
        r => r,
    };
    match r {
        Ok(()) => Ok(Reply::Ok),
        Err(e) => {
            info!("{} CHMOD {mode:o}: {e}", s.peer());
            match e.raw_os_error() {
                Some(libc::EACCES) => Err(Failed::AccessDenied.into()),
                _ => Err(Failed::Chmod.into()),
            }
        }
    }
}

/// `CHOWN <path> <user> <group>`: user and group are the last two words (names or
/// numeric ids), so paths may hold spaces. Whether the change is allowed is the
/// kernel's decision for the session's user.
pub fn chown(s: &mut Session, arg: &[u8]) -> CmdResult {
    let (rest, group) = rsplit_word(arg).ok_or(Failed::MissingParameter)?;
    let (path, user) = rsplit_word(rest).ok_or(Failed::MissingParameter)?;
    if path.is_empty() || user.is_empty() || group.is_empty() {
        return Err(Failed::MissingParameter.into());
    }
    let tables = s.auth().names.as_ref();
    let uid = std::str::from_utf8(user)
        .ok()
        .and_then(|u| names::uid(u, tables))
        .ok_or(Failed::NoSuchUser)?;
    let gid = std::str::from_utf8(group)
        .ok()
        .and_then(|g| names::gid(g, tables))
        .ok_or(Failed::NoSuchGroup)?;
    let p = s.path(path)?;
    let fd = match s.open(&p, libc::O_PATH, 0) {
        Ok(fd) => fd,
        Err(e) => {
            info!("{} CHOWN: {e}", s.peer());
            return Err(denied_or(e, Failed::Chown).into());
        }
    };
    match sys::fchown_path_fd(fd.as_fd(), uid, gid) {
        Ok(()) => Ok(Reply::Ok),
        Err(e) => {
            info!("{} CHOWN {uid}:{gid}: {e}", s.peer());
            match e.raw_os_error() {
                Some(libc::EACCES) => Err(Failed::AccessDenied.into()),
                _ => Err(Failed::Chown.into()),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modes_and_words() {
        assert_eq!(parse_mode(b"600"), Some(0o600));
        assert_eq!(parse_mode(b"0755"), Some(0o755));
        assert_eq!(parse_mode(b"7"), Some(7));
        assert_eq!(parse_mode(b"1777"), Some(0o1777));
        for bad in [&b""[..], b"8", b"12345", b"-1", b"0x1", b"6 0"] {
            assert_eq!(parse_mode(bad), None, "{bad:?}");
        }
        assert_eq!(rsplit_word(b"a b 600"), Some((&b"a b"[..], &b"600"[..])));
        assert_eq!(rsplit_word(b"600"), None);
        assert_eq!(shown(b"ok\nname"), "ok\\nname");
        assert_eq!(shown("\u{202e}evil".as_bytes()), "\\u{202e}evil");
        assert_eq!(shown(&[b'x'; 70]).chars().count(), 65);
    }
}
