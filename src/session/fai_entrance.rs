//! The Fast Access entrance: `FAI://<uuid>` in place of the version. No RSA and
//! no hash: the token's stored key starts the cipher (document, "The Fast
//! Access Interface"; wire-notes §8.10). Then, under that key, the server sends
//! the next key (base64), which has already replaced it in the store, so each
//! key opens one session. The session is the token's user, in its jail, logged
//! in: it never runs as root and never reaches LOGIN.
//!
//! Refusals: an unknown or expired token is `FAILED 68`, and so is a token of
//! another server (another key: it is unknown here); a token that exists
//! but cannot be honoured (the user was removed, locked, or now maps to another
//! uid; the jail is gone; the server's mode changed) is `FAILED 69`. Both in
//! plaintext, then the connection closes. The token never reaches the log.

use super::admission::{assemble, refuse, served_root, HandshakeError};
use super::identity::{self, Target};
use super::{Context, Duty, Mode, Session, Stage, State};
use crate::auth::fai::Refusal;
use crate::auth::privs::{self, Identity};
use crate::auth::{userdb, Quota, SessionAuth};
use crate::fsys::{RelPath, Root};
use log::{error, info, warn};
use std::net::SocketAddr;
use std::os::fd::OwnedFd;
use std::sync::Arc;
use tfp_channel::Channel;
use tfp_wire::{fai::Record, uuid, Failed};

/// Who a token makes the session.
struct Bound {
    /// The identity to switch to (None: serving as self, already that user).
    id: Option<Identity>,
    /// The user name for logs and limits.
    user: String,
    quota: Option<Quota>,
}

/// Checks that `rec` may still be honoured on this server as configured now.
fn bind(ctx: &Context, rec: &Record) -> Result<Bound, String> {
    if rec.uid == 0 {
        return Err("token names uid 0".into());
    }
    if ctx.cfg.injail && rec.jail.is_none() {
        return Err("injail is set and the token has no jail".into());
    }
    let single_user = ctx.serve_as_self || ctx.cfg.defusr.is_some();
    match (&rec.login, single_user) {
        (Some(login), false) => {
            let path = ctx.cfg.userdb.as_ref().ok_or("no userdb configured")?;
            let db = userdb::load_trusted(path).map_err(|e| format!("user file unusable: {e}"))?;
            let entry = db
                .get(login)
                .ok_or_else(|| format!("LOGIN {login:?} no longer exists"))?;
            if entry.locked {
                return Err(format!("LOGIN {login:?} is locked"));
            }
            let id = privs::resolve(entry.system_user())?;
            if id.uid.as_raw() != rec.uid {
                return Err(format!("LOGIN {login:?} now maps to another uid"));
            }
            // a user the file jails enters nowhere else, whatever the token says
            if let Some(j) = &entry.jail {
                let inside = rec
                    .jail
                    .as_deref()
                    .is_some_and(|t| t == j.as_bytes() || t.starts_with(&[j.as_bytes(), b"/"].concat()));
                if !inside {
                    return Err(format!(
                        "LOGIN {login:?} is jailed to /{j}, and the token's jail is not in it"
                    ));
                }
            }
            let quota = entry
                .quota
                .resolve(ctx.cfg.quota_default)
                .map(|limit| Quota { uid: rec.uid, limit });
            Ok(Bound {
                id: Some(id),
                user: entry.name.clone(),
                quota,
            })
        }
        (None, true) => {
            let quota = |uid| ctx.cfg.quota_default.map(|limit| Quota { uid, limit });
            if ctx.serve_as_self {
                if tfd_sys::geteuid() != rec.uid {
                    return Err("issued to another uid than this server's".into());
                }
                return Ok(Bound {
                    id: None,
                    user: ctx.self_user.clone(),
                    quota: quota(rec.uid),
                });
            }
            let id = ctx.defusr.clone().ok_or("defusr unresolved")?;
            if id.uid.as_raw() != rec.uid {
                return Err("issued to another uid than defusr's".into());
            }
            Ok(Bound {
                user: id.name.clone(),
                quota: quota(rec.uid),
                id: Some(id),
            })
        }
        _ => Err("issued in another server mode (single-user vs LOGIN)".into()),
    }
}

/// Why the token's jail could not be opened: the entrance ends the session.
#[derive(Debug)]
enum TokenJail {
    /// The jail is no path beneath the served root.
    Path(crate::fsys::FsError),
    /// The jail breaks its guard, or is not there.
    Refused(super::jail::Refused),
    /// The ids could not be put back after opening it as the user.
    Rights(identity::RightsNotRestored),
}

impl std::fmt::Display for TokenJail {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TokenJail::Path(e) => write!(f, "token jail: {e}"),
            TokenJail::Refused(e) => write!(f, "token jail: {e}"),
            TokenJail::Rights(e) => write!(f, "{e}"),
        }
    }
}

impl From<crate::fsys::FsError> for TokenJail {
    fn from(e: crate::fsys::FsError) -> Self {
        TokenJail::Path(e)
    }
}

impl From<super::jail::Refused> for TokenJail {
    fn from(e: super::jail::Refused) -> Self {
        TokenJail::Refused(e)
    }
}

impl From<identity::RightsNotRestored> for TokenJail {
    fn from(e: identity::RightsNotRestored) -> Self {
        TokenJail::Rights(e)
    }
}

/// The session cannot take on the token's confinement: it ends, the log says why.
impl From<TokenJail> for HandshakeError {
    fn from(e: TokenJail) -> Self {
        HandshakeError::Privilege(e.to_string())
    }
}

/// Opens the token's jail beneath the served root with the rights of `user`,
/// judged as INJAIL judges it.
fn open_token_jail(root: &Root, jail: &[u8], user: Option<&Identity>) -> Result<OwnedFd, TokenJail> {
    let p = RelPath::parse(jail)?;
    let trusted = super::jail::trusted_owner();
    Ok(identity::with_rights_of(user, || {
        super::jail::open_guarded(root, &p, trusted)
    })??)
}

/// Runs the entrance for the token in the version frame.
pub(super) fn enter(
    mut chan: Channel,
    token: Result<[u8; uuid::TEXT_LEN], ()>,
    peer: SocketAddr,
    ctx: Arc<Context>,
    live: super::liveness::Liveness,
    pace: Option<Arc<tfp_channel::bandwidth::Pace>>,
) -> Result<Session, HandshakeError> {
    let Ok(token) = token else {
        info!("{peer} FAI entrance refused: not a token");
        return Err(refuse(&mut chan, Failed::FaiExpired));
    };
    if ctx.cfg.fai_max_minutes == 0 {
        info!("{peer} FAI entrance refused: fai_max_minutes is 0");
        return Err(refuse(&mut chan, Failed::FaiExpired));
    }
    let redeemed = ctx
        .services
        .fai
        .store()
        .redeem(&token, crate::auth::fai::now(), |rec| bind(&ctx, rec));
    let mut entry = match redeemed {
        Ok(e) => e,
        Err(r) => {
            let f = match &r {
                Refusal::Unknown => Failed::FaiExpired,
                Refusal::Expired => Failed::FaiExpired,
                Refusal::OtherServer => {
                    warn!("{peer} FAI entrance refused: a token of another server (another key), treated as unknown");
                    Failed::FaiExpired
                }
                Refusal::Invalid(why) => {
                    warn!("{peer} FAI entrance refused: {why}");
                    Failed::FaiKey
                }
                Refusal::Store(why) => {
                    error!("{peer} FAI entrance: token store: {why}");
                    Failed::FaiKey
                }
            };
            if matches!(r, Refusal::Unknown | Refusal::Expired) {
                info!("{peer} FAI entrance refused: {r:?}");
            }
            return Err(refuse(&mut chan, f));
        }
    };
    chan.tx.send_frame(b"OK")?;
    chan.start_cipher(&entry.record.key);
    // TFDSECURE binds to the key this session started with, as after RSA
    let secure = super::SecureState::for_session(&ctx.cfg, &entry.record.key);
    entry.record.key.fill(0);
    let mut next = openssl::base64::encode_block(&entry.next_key).into_bytes();
    entry.next_key.fill(0);
    let sent = chan.tx.send_frame(&next);
    next.fill(0);
    sent?;

    let rec = &entry.record;
    let bound = entry.bound;
    let as_root = tfd_sys::geteuid() == 0;
    let mut root = served_root(&ctx)?;
    let mut auth = SessionAuth {
        quota: bound.quota,
        ..Default::default()
    };
    // without root there is nobody else to become
    let user = bound.id.as_ref().filter(|_| as_root);
    let mut script_host = None;
    let jail = match &rec.jail {
        Some(jail) => {
            let dir = open_token_jail(&root, jail, user)?;
            script_host = identity::script_host(&dir, user, ctx.cfg.runbash, peer, "FAI entrance");
            Some(dir)
        }
        None => None,
    };
    // any failure ends the session: the entrance has no FAILED left to give
    let entered = identity::enter(Target {
        jail: jail.as_ref(),
        user,
        have_names: false,
    })?;
    let stage = match (entered.root, &rec.jail) {
        (Some(r), Some(jail)) => {
            root = r;
            auth.names = entered.names;
            Stage::Jailed {
                jail: jail.clone(),
                chrooted: entered.chrooted,
            }
        }
        _ => Stage::Active { chrooted: false },
    };
    if let Some(p) = &pace {
        p.set_user(&bound.user);
    }
    let single_user = ctx.serve_as_self || ctx.cfg.defusr.is_some();
    // logged in and jailed (if at all) already: the entrance never waits for
    // LOGIN, INJAIL or a key login (the token was issued to a session past them)
    let state = State {
        mode: if single_user { Mode::SingleUser } else { Mode::MultiUser },
        stage,
        locksys: Duty::configured(ctx.cfg.locksys),
        flycontext: Duty::configured(ctx.cfg.flycontext),
        key: Duty::Free,
    };
    info!(
        "{peer} FAI entrance user={} uid={}{}",
        bound.user,
        rec.uid,
        if state.jail().is_some() { " (jailed)" } else { "" }
    );
    let mut session = assemble(chan, root, state, peer, ctx, bound.user, auth, live, pace);
    session.script_host = script_host;
    session.secure = secure;
    Ok(session)
}
