//! Users' own keys (doc/compatibility.md "Users' own keys",
//! [`tfp_wire::keylogin::user_keys`]): with `user_keys yes`, a user proves
//! their password with `TFDUSERKEYS` (a LOGIN that does not log in: the same
//! check, throttle and counts), then lists, adds and removes the keys of their
//! own file in `authorized_keys_dir`. All of it happens before LOGIN, while
//! the session is still root and can write that root-managed directory; the
//! file is written as `tfpasswd key` writes it ([`store`]). Only over the
//! secure transport.

use super::access;
use super::keylogin::binding;
use super::{CmdError, CmdResult, Reply};
use crate::auth::keys::{self, store};
use crate::session::Session;
use log::{error, info};
use std::path::PathBuf;
use tfp_wire::keylogin::{self, line, user_keys as uk};
use tfp_wire::Failed;

/// The name whose password this session proved.
#[derive(Default)]
struct Proven(Option<String>);

/// `user_keys no`: refused before anything is read.
fn allowed(s: &Session) -> Result<(), CmdError> {
    if s.ctx().cfg.user_keys {
        Ok(())
    } else {
        info!("{} user key command refused: user_keys is no", s.peer());
        Err(Failed::UserKeysOff.into())
    }
}

/// The keys directory.
fn dir(s: &Session) -> PathBuf {
    s.ctx()
        .cfg
        .authorized_keys_dir
        .clone()
        .unwrap_or_else(|| PathBuf::from(crate::config::DEFAULT_AUTHORIZED_KEYS_DIR))
}

/// The proven name and its key file; refused before a proof.
fn proven(s: &mut Session, cmd: &str) -> Result<(String, PathBuf), CmdError> {
    if s.state().logged_in() {
        return Err(Failed::AlreadyLogged.into());
    }
    allowed(s)?;
    binding(s, cmd)?;
    let Some(name) = s.family_mut::<Proven>().0.clone() else {
        info!("{} {cmd} refused: no password proven (TFDUSERKEYS first)", s.peer());
        return Err(CmdError::Told(
            Failed::LoginFailed,
            "Prove the password first (TFDUSERKEYS).".into(),
        ));
    };
    let file = keys::file_of(&dir(s), &name).ok_or(Failed::LoginFailed)?;
    Ok((name, file))
}

/// A key file that could not be read or written: logged, `FAILED 203`.
fn store_failed(s: &Session, cmd: &str, e: store::StoreError) -> CmdError {
    error!("{} {cmd}: {e}", s.peer());
    CmdError::Told(Failed::UserKey, "The key file cannot be read or written.".into())
}

/// `TFDUSERKEYS <user> <password>`: LOGIN's check of the password (the
/// throttle's gate, its counts, its refusals), without logging in.
pub fn prove(s: &mut Session, arg: &[u8]) -> CmdResult {
    if s.state().logged_in() {
        return Err(Failed::AlreadyLogged.into());
    }
    allowed(s)?;
    binding(s, uk::PROVE)?;
    s.family_mut::<Proven>().0 = None;
    let (who, entry, _) = access::prove_password(s, arg)?;
    info!("{} TFDUSERKEYS {who:?}: password proven; may change its keys", s.peer());
    s.family_mut::<Proven>().0 = Some(entry.name.clone());
    Ok(Reply::Ok)
}

/// `TFDUSERKEYLIST`: the proven user's keys.
pub fn list(s: &mut Session, _arg: &[u8]) -> CmdResult {
    let (_, file) = proven(s, uk::LIST)?;
    let text = match store::current(&file) {
        Ok(t) => t,
        Err(e) => return Err(store_failed(s, uk::LIST, e)),
    };
    let listed: Vec<uk::Listed> = text
        .lines()
        .filter_map(|l| line::parse(l).ok().flatten())
        .map(|k| uk::Listed {
            fingerprint: keylogin::fingerprint(&k.blob),
            type_name: k.key.type_name().to_string(),
            bits: k.key.bits(),
            comment: k.comment,
        })
        .collect();
    Ok(Reply::Frame(uk::list_reply(&listed)))
}

/// `TFDUSERKEYADD <line>`: the key added to the proven user's file, unless
/// there already (`OK present`) or the file holds [`uk::MAX_KEYS`].
pub fn add(s: &mut Session, arg: &[u8]) -> CmdResult {
    let (name, file) = proven(s, uk::ADD)?;
    let k = match uk::check_line(arg) {
        Ok(k) => k,
        Err(why) => {
            info!("{} TFDUSERKEYADD {name:?} refused: {why}", s.peer());
            return Err(CmdError::Told(Failed::UserKey, why.to_string()));
        }
    };
    let fp = keylogin::fingerprint(&k.blob);
    let kind = k.key.type_name();
    let line = line::render("", &k.blob, &k.key, &k.comment);
    let edited = store::edit(&dir(s), &file, |old| {
        let have = store::blobs(old);
        if have.contains(&k.blob) {
            return Ok((None, false));
        }
        if have.len() >= uk::MAX_KEYS {
            return Err(format!("You have {} keys already; remove one first.", uk::MAX_KEYS));
        }
        let mut text = old.to_string();
        store::append(&mut text, &line);
        Ok((Some(text), true))
    });
    match edited {
        Err(e) => Err(store_failed(s, uk::ADD, e)),
        Ok(Ok(true)) => {
            info!("{} TFDUSERKEYADD {name:?}: key {kind} {fp} added", s.peer());
            Ok(Reply::Ok)
        }
        Ok(Ok(false)) => Ok(Reply::Frame(b"OK present".to_vec())),
        Ok(Err(why)) => {
            info!("{} TFDUSERKEYADD {name:?} refused: {why}", s.peer());
            Err(CmdError::Told(Failed::UserKey, why))
        }
    }
}

/// `TFDUSERKEYDEL <fingerprint|comment>`: the proven user's lines whose key
/// has that fingerprint or comment, removed.
pub fn del(s: &mut Session, arg: &[u8]) -> CmdResult {
    let (name, file) = proven(s, uk::DEL)?;
    let which = std::str::from_utf8(arg)
        .ok()
        .filter(|w| !w.is_empty() && w.len() <= uk::MAX_COMMENT)
        .ok_or(Failed::MissingParameter)?;
    let edited = store::edit(&dir(s), &file, |text| {
        let (kept, removed) = store::remove(text, |_, k| {
            k.is_some_and(|k| k.comment == which || keylogin::fingerprint(&k.blob) == which)
        });
        if removed == 0 {
            return Err(());
        }
        Ok((Some(kept), removed))
    });
    match edited {
        Err(e) => Err(store_failed(s, uk::DEL, e)),
        Ok(Ok(n)) => {
            info!(
                "{} TFDUSERKEYDEL {name:?}: {n} key(s) {:?} removed",
                s.peer(),
                access::shown(arg)
            );
            Ok(Reply::Data(n.to_string().into_bytes()))
        }
        Ok(Err(())) => Err(CmdError::Told(
            Failed::UserKey,
            format!("You have no key {}.", access::shown(arg)),
        )),
    }
}
