//! Key login (doc/compatibility.md "Key login", doc/secure-transport.md
//! §10): `TFDKEY <user> <key>` offers a public key, answered `OK <nonce>`
//! when the user's key file lets it in from here; `TFDKEYSIG <signature>`
//! proves the private key over the nonce, the user and this session's
//! handshake hash, and logs in exactly as LOGIN does ([`access::admit`]).
//! Only over the secure transport. Refused keys (but a key merely not
//! registered: [`NotAuthorized::counts`]) and bad signatures count as wrong
//! passwords do; a connection offers at most [`keylogin::MAX_OFFERS`] keys.
//! On a single-user server with `authorized_keys` the same exchange is the
//! way in for every session: the name is not checked (there is one account),
//! only the key, against that one file.

use super::access::{self, attempt, count_failure, throttle_gate};
use super::{CmdResult, Reply};
use crate::auth::keys;
use crate::auth::userdb;
use crate::session::{OfferedFor, Session};
use log::{error, info, warn};
use tfp_wire::keylogin::{self, Challenge, Offer, Signature};
use tfp_wire::Failed;

/// The session's key login: offers made, and the one waiting for its signature.
#[derive(Default)]
struct KeyLogin {
    offers: u32,
    pending: Option<Pending>,
}

/// An offer answered with a nonce.
struct Pending {
    offer: Offer,
    nonce: [u8; keylogin::NONCE_LEN],
}

/// The session's binding to its secure transport, or the refusal when it
/// has none (a signature could not be bound to this session).
pub(super) fn binding(s: &mut Session, cmd: &str) -> Result<[u8; keylogin::BINDING_LEN], Failed> {
    s.secure_mut().binding().ok_or_else(|| {
        info!("{} {cmd} refused: only over the secure transport", s.peer());
        Failed::SecureRequired
    })
}

/// The throttle's view of a key login. A single-user server's clients all
/// send the name `-`, so there only the address counts: a lock of that name
/// would shut every client out, and anyone who knows one listed public key
/// could set it off with bad signatures from a few addresses.
fn key_attempt<'a>(s: &'a Session, name: &'a [u8]) -> crate::auth::login_throttle::Attempt<'a> {
    let mut a = attempt(s, name);
    if s.state().single_user() {
        a.policy.account.max_failures = 0;
    }
    a
}

/// `TFDKEY <user> <key>`.
pub fn tfdkey(s: &mut Session, arg: &[u8]) -> CmdResult {
    if s.state().logged_in() {
        return Err(Failed::AlreadyLogged.into());
    }
    binding(s, keylogin::OFFER)?;
    s.family_mut::<OfferedFor>().0 = None;
    let kl = s.family_mut::<KeyLogin>();
    kl.pending = None;
    kl.offers += 1;
    if kl.offers > keylogin::MAX_OFFERS {
        warn!(
            "{} TFDKEY: more than {} keys offered on one connection; closing",
            s.peer(),
            keylogin::MAX_OFFERS
        );
        s.chan_mut().tx.send_frame(&Failed::LoginFailed.to_wire())?;
        return Ok(Reply::Close);
    }
    let offer = match Offer::parse(arg) {
        Ok(o) => o,
        Err(keylogin::FrameError::Missing) => return Err(Failed::MissingParameter.into()),
        Err(e) => {
            let name = tfp_wire::command::split_space(arg).map_or(&b""[..], |(n, _)| n);
            let a = key_attempt(s, name);
            throttle_gate(s, &a)?;
            count_failure(s, &a, &format!("a key that cannot be read ({e})"));
            return Err(Failed::LoginFailed.into());
        }
    };
    let a = key_attempt(s, &offer.user);
    throttle_gate(s, &a)?;
    let fp = keylogin::fingerprint(&offer.blob);
    match may_log_in(s, &a.who, &offer) {
        Ok(_) => {}
        Err(why) if why.counts() => {
            count_failure(s, &a, &format!("key {} {fp}: {why}", offer.key.type_name()));
            return Err(Failed::LoginFailed.into());
        }
        Err(why) => {
            info!(
                "{} LOGIN {:?} refused: key {} {fp}: {why} (not counted as a failure)",
                s.peer(),
                a.who,
                offer.key.type_name()
            );
            return Err(Failed::LoginFailed.into());
        }
    };
    let mut nonce = [0u8; keylogin::NONCE_LEN];
    if let Err(e) = getrandom::getrandom(&mut nonce) {
        error!("{} TFDKEY: no random bytes: {e}", s.peer());
        return Err(Failed::LoginFailed.into());
    }
    info!(
        "{} TFDKEY {:?}: key {} {fp} offered, awaiting its signature",
        s.peer(),
        a.who,
        offer.key.type_name()
    );
    // TFDKEYSIG's log line names the account (session::answer)
    s.family_mut::<OfferedFor>().0 = Some(offer.user.clone());
    s.family_mut::<KeyLogin>().pending = Some(Pending { offer, nonce });
    Ok(Reply::Frame(Challenge { nonce }.frame()))
}

/// Why an offered key may not log in (for the log line).
enum NotAuthorized {
    NoUserDb,
    NoKeyFile,
    UserDb(userdb::UserDbError),
    NoSuchName,
    Locked,
    SystemUser(crate::auth::privs::PrivError),
    Keys(keys::Refusal),
}

impl std::fmt::Display for NotAuthorized {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            NotAuthorized::NoUserDb => write!(f, "no userdb configured"),
            NotAuthorized::NoKeyFile => write!(f, "no authorized_keys configured"),
            NotAuthorized::UserDb(e) => write!(f, "user file unusable: {e}"),
            NotAuthorized::NoSuchName => write!(f, "no such name in the user file"),
            NotAuthorized::Locked => write!(f, "the account is locked in the user file"),
            NotAuthorized::SystemUser(e) => write!(f, "its system user: {e}"),
            NotAuthorized::Keys(e) => write!(f, "{e}"),
        }
    }
}

impl NotAuthorized {
    /// Whether the throttle counts it. A key the user simply has not
    /// registered does not count: ssh-agent and `~/.ssh` offer every key a
    /// person has, and a password user with three keys would otherwise pile
    /// up three failures per login against their address, which a password
    /// success does not forgive. Probing which public keys a name takes
    /// gives nothing without the private key, and a connection may offer
    /// only [`keylogin::MAX_OFFERS`]. A name that does not exist, a locked
    /// account, a key refused by its `from=` or expiry, a bad signature: counted.
    fn counts(&self) -> bool {
        !matches!(
            self,
            NotAuthorized::Keys(keys::Refusal::NotListed | keys::Refusal::Unreadable(_))
        )
    }
}

impl From<userdb::UserDbError> for NotAuthorized {
    fn from(e: userdb::UserDbError) -> Self {
        NotAuthorized::UserDb(e)
    }
}

impl From<keys::Refusal> for NotAuthorized {
    fn from(e: keys::Refusal) -> Self {
        NotAuthorized::Keys(e)
    }
}

impl From<crate::auth::privs::PrivError> for NotAuthorized {
    fn from(e: crate::auth::privs::PrivError) -> Self {
        NotAuthorized::SystemUser(e)
    }
}

/// Whether the offer may log in now: the user file's entry (None on a
/// single-user server, where `authorized_keys` alone decides).
fn may_log_in(s: &Session, who: &str, offer: &Offer) -> Result<Option<userdb::Entry>, NotAuthorized> {
    if s.state().single_user() {
        single_user_authorized(s, who, offer).map(|()| None)
    } else {
        authorized(s, who, offer).map(Some)
    }
}

/// Whether the offer may log in: the user file's entry (not locked), then
/// the user's key file, read now, trusted, holding the key with options that
/// let this address in now.
fn authorized(s: &Session, who: &str, offer: &Offer) -> Result<userdb::Entry, NotAuthorized> {
    let cfg = &s.ctx().cfg;
    let path = cfg.userdb.as_deref().ok_or(NotAuthorized::NoUserDb)?;
    let db = userdb::load_trusted(path)?;
    let name = std::str::from_utf8(&offer.user).ok().ok_or(NotAuthorized::NoSuchName)?;
    let entry = db.get(name).ok_or(NotAuthorized::NoSuchName)?;
    if entry.locked {
        return Err(NotAuthorized::Locked);
    }
    let owner = crate::auth::privs::resolve(entry.system_user())?.uid.as_raw();
    let dir = cfg
        .authorized_keys_dir
        .as_deref()
        .unwrap_or(std::path::Path::new(crate::config::DEFAULT_AUTHORIZED_KEYS_DIR));
    let file = keys::file_of(dir, name).ok_or(NotAuthorized::NoSuchName)?;
    holds(s, who, &file, owner, offer)?;
    Ok(entry.clone())
}

/// Whether a single-user server's `authorized_keys` lets the offer in: the
/// file trusted when only root or the served user could have written it.
fn single_user_authorized(s: &Session, who: &str, offer: &Offer) -> Result<(), NotAuthorized> {
    let ctx = s.ctx();
    let file = ctx.cfg.authorized_keys.as_deref().ok_or(NotAuthorized::NoKeyFile)?;
    let owner = match ctx.defusr.as_ref().filter(|_| !ctx.serve_as_self) {
        Some(id) => id.uid.as_raw(),
        None => tfd_sys::geteuid(),
    };
    holds(s, who, file, owner, offer)
}

/// Whether the key file at `file` (read now, trusted as `owner`'s) holds the
/// offered key with options that let this address in now.
fn holds(s: &Session, who: &str, file: &std::path::Path, owner: u32, offer: &Offer) -> Result<(), NotAuthorized> {
    let text = match keys::read(file, owner) {
        Ok(t) => t,
        Err(e) => {
            if matches!(e, keys::Refusal::Untrusted(_)) {
                error!("{} TFDKEY {who:?}: {e}", s.peer());
            }
            return Err(e.into());
        }
    };
    let now = i64::try_from(crate::auth::shared_state::unix_now()).unwrap_or(i64::MAX);
    keys::find(&text, &offer.blob, s.peer().ip(), now)?;
    Ok(())
}

/// Why a signature was refused (for the log line).
enum BadSignature {
    Frame(keylogin::FrameError),
    Blob(keylogin::BlobError),
    DoesNotVerify,
}

impl std::fmt::Display for BadSignature {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            BadSignature::Frame(e) => write!(f, "the signature: {e}"),
            BadSignature::Blob(e) => write!(f, "the signature: {e}"),
            BadSignature::DoesNotVerify => write!(f, "the signature does not verify"),
        }
    }
}

impl From<keylogin::FrameError> for BadSignature {
    fn from(e: keylogin::FrameError) -> Self {
        BadSignature::Frame(e)
    }
}

impl From<keylogin::BlobError> for BadSignature {
    fn from(e: keylogin::BlobError) -> Self {
        BadSignature::Blob(e)
    }
}

/// The pending offer's signature, checked.
fn check_signature(p: &Pending, binding: &[u8; keylogin::BINDING_LEN], arg: &[u8]) -> Result<(), BadSignature> {
    let blob = keylogin::parse_signature(arg)?;
    let o = &p.offer;
    let sig = Signature::parse(&blob, &o.key)?;
    let data = keylogin::signed_data(binding, &o.user, &p.nonce, &o.blob);
    if keys::verify::verify(&o.key, &sig, &data) {
        Ok(())
    } else {
        Err(BadSignature::DoesNotVerify)
    }
}

/// `TFDKEYSIG <signature>`: the signature of the pending offer.
pub fn tfdkeysig(s: &mut Session, arg: &[u8]) -> CmdResult {
    if s.state().logged_in() {
        return Err(Failed::AlreadyLogged.into());
    }
    let binding = binding(s, keylogin::SIGN)?;
    s.family_mut::<OfferedFor>().0 = None;
    let Some(p) = s.family_mut::<KeyLogin>().pending.take() else {
        info!("{} TFDKEYSIG refused: no key offered (TFDKEY first)", s.peer());
        return Err(Failed::LoginFailed.into());
    };
    let a = key_attempt(s, &p.offer.user);
    throttle_gate(s, &a)?;
    let fp = keylogin::fingerprint(&p.offer.blob);
    let kind = p.offer.key.type_name();
    if let Err(why) = check_signature(&p, &binding, arg) {
        count_failure(s, &a, &format!("key {kind} {fp}: {why}"));
        return Err(Failed::LoginFailed.into());
    }
    let how = format!(" by key {kind} {fp}");
    // The key file and the account are read again now: a key removed, an
    // account locked or deleted, or an `expiry-time` passed since TFDKEY
    // must not still let this session in for the rest of its pre-login time.
    let entry = match may_log_in(s, &a.who, &p.offer) {
        Ok(entry) => entry,
        Err(why) => {
            count_failure(s, &a, &format!("key {kind} {fp}: {why} (since it was offered)"));
            return Err(Failed::LoginFailed.into());
        }
    };
    let Some(entry) = entry else {
        a.forgive();
        return single_user_admit(s, &a.who, &how);
    };
    let id = access::identity_of(s, &a.who, &entry)?;
    a.forgive();
    access::admit(s, &a.who, &entry, id, &how)
}

/// A single-user session's key login done: its commands run (after INJAIL
/// when `injail` is set), the pre-login deadline over.
fn single_user_admit(s: &mut Session, who: &str, how: &str) -> CmdResult {
    s.state_mut().key = crate::session::Duty::Done;
    info!("{} logged in{how} (authorized_keys; the name sent: {who:?})", s.peer());
    if s.state().serving() {
        s.enter_logged_in();
    }
    Ok(Reply::Ok)
}
