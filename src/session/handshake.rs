//! The server side of the handshake (wire-notes §2.1): version, RSA session key,
//! hash, each answered in turn, the first two in plaintext. Every pre-auth read is
//! bounded in size, and the whole pre-login phase in time (SIGALRM ends the process).

use super::admission::{assemble, refuse, served_root, HandshakeError};
use super::{Context, Mode, Session, State};
use crate::services::keys::KeyError;
use log::{debug, error, warn};
use std::net::{IpAddr, SocketAddr, TcpStream};
use std::sync::Arc;
use tfp_channel::{Channel, ChannelError};
use tfp_wire::{handshake as hs, session_end, Failed};

/// How the session from an address and port ended, as the listener knew it
/// when it forked this process (`TFDWHY`, src/daemon/session_ends.rs).
pub(crate) type EndOf<'a> = &'a dyn Fn(IpAddr, u16) -> session_end::End;

/// Runs the handshake on a fresh connection and returns the ready session.
pub(crate) fn handshake(
    stream: TcpStream,
    peer: SocketAddr,
    ctx: Arc<Context>,
    live: super::liveness::Liveness,
    urgent: tfp_channel::UrgentHandler,
    ends: EndOf,
) -> Result<Session, HandshakeError> {
    let limit = ctx.cfg.prelogin_timeout;
    tfd_sys::alarm(limit.as_secs().max(1) as u32);
    stream.set_read_timeout(Some(limit))?;
    stream.set_write_timeout(Some(limit))?;
    // A PROXY header here came from an address not trusted to send one (a
    // trusted balancer's was consumed by the listener), or is a second one: a
    // client forging its address. No valid first frame starts like one (its
    // length would be over 200 MB), so the peek never refuses a real client.
    let forged = ctx.cfg.proxy_protocol != crate::config::ProxyProtocol::Off && {
        let mut first = [0u8; 12];
        stream
            .peek(&mut first)
            .is_ok_and(|n| tfp_wire::proxy::looks_like(&first[..n]))
    };
    let mut chan = Channel::with_urgent(stream, Some(urgent))?;
    if forged {
        warn!("{peer} refused: a PROXY header from an address not in proxy_from (or a second one)");
        return Err(refuse(&mut chan, Failed::IncompatibleProtocol));
    }
    let pace = tfp_channel::bandwidth::Pace::new(&ctx.buckets, ctx.cfg.rate_limits);
    chan.set_pace(pace.clone());

    // 1–2: version
    let version = match chan.rx.recv_frame_max(hs::MAX_VERSION_FRAME) {
        Ok(v) => v,
        Err(ChannelError::Frame(_)) => return Err(refuse(&mut chan, Failed::IncompatibleProtocol)),
        Err(e) => return Err(e.into()),
    };
    if let Some(token) = tfp_wire::fai::entrance(&version) {
        // nothing past this point may ask for a decryption
        ctx.services.keys.close();
        return super::fai_entrance::enter(chan, token, peer, ctx, live, pace);
    }
    if let Some(answered) = asked_instead(&mut chan, &version, peer, &ctx, ends) {
        return Err(answered);
    }
    if hs::check_version(&version, &ctx.cfg.proto).is_err() {
        debug!("{peer} wrong protocol version");
        return Err(refuse(&mut chan, Failed::IncompatibleProtocol));
    }
    chan.tx.send_frame(b"OK")?;

    // 3–4: RSA-encrypted session key
    let enc = match chan.rx.recv_frame_max(crate::services::keys::CIPHERTEXT) {
        Ok(v) => v,
        Err(ChannelError::Frame(_)) => return Err(refuse(&mut chan, Failed::BadRsaKey)),
        Err(e) => return Err(e.into()),
    };
    let decrypted = ctx.services.keys.decrypt(&enc);
    ctx.services.keys.close();
    let key = match decrypted {
        Ok(k) => k,
        Err(KeyError::Refused) => return Err(refuse(&mut chan, Failed::BadRsaKey)),
        Err(e @ KeyError::Replayed) => {
            warn!("{peer} refused: {e} (a recorded session sent again?)");
            return Err(refuse(&mut chan, Failed::BadRsaKey));
        }
        Err(e @ KeyError::Unavailable(_)) => {
            error!("{peer} {e}");
            return Err(refuse(&mut chan, Failed::BadRsaKey));
        }
    };
    chan.tx.send_frame(b"OK")?;
    chan.start_cipher(&key);
    let secure = super::SecureState::for_session(&ctx.cfg, &key);

    // 5–6: hash, encrypted
    let hash = match chan.rx.recv_frame_max(hs::MAX_HASH_FRAME) {
        Ok(v) => v,
        Err(ChannelError::Frame(_)) => return Err(refuse(&mut chan, Failed::InvalidHash)),
        Err(e) => return Err(e.into()),
    };
    if hs::check_hash(&hash, &ctx.cfg.hash).is_err() {
        debug!("{peer} wrong hash");
        return Err(refuse(&mut chan, Failed::InvalidHash));
    }
    let single_user = ctx.serve_as_self || ctx.cfg.defusr.is_some();
    // a single-user server's authorized_keys: a key login is owed, and the
    // hash's answer says so, so a client offers its keys before any command
    let keys_only = single_user && ctx.cfg.authorized_keys.is_some();
    chan.tx.send_frame(if keys_only {
        tfp_wire::keylogin::HASH_KEYS_ONLY
    } else {
        b"OK"
    })?;

    // 7: the session's user
    let mut user = ctx.self_user.clone();
    let mut auth = crate::auth::SessionAuth::default();
    let mut quota_uid = tfd_sys::geteuid();
    let mut pending = None;
    if !ctx.serve_as_self {
        if let Some(id) = &ctx.defusr {
            if ctx.cfg.injail {
                // chroot needs root: INJAIL switches to the user right after it
                pending = Some(id.clone());
            } else {
                let target = super::identity::Target {
                    jail: None,
                    user: Some(id),
                    have_names: false,
                };
                super::identity::enter(target)?;
            }
            user = id.name.clone();
            quota_uid = id.uid.as_raw();
        }
    }
    if single_user {
        auth.quota = ctx
            .cfg
            .quota_default
            .map(|limit| crate::auth::Quota { uid: quota_uid, limit });
    }
    if let (true, Some(p)) = (single_user, &pace) {
        p.set_user(&user);
    }
    let root = served_root(&ctx)?;
    let mode = if single_user { Mode::SingleUser } else { Mode::MultiUser };
    let state = State::start(
        mode,
        ctx.cfg.injail,
        pending,
        ctx.cfg.locksys,
        ctx.cfg.flycontext,
        keys_only,
    );
    let mut session = assemble(chan, root, state, peer, ctx, user, auth, live, pace);
    session.secure = secure;
    Ok(session)
}

/// A question asked in place of the version, answered in plaintext before any
/// key is exchanged, after which the connection ends (`Some`: how it ended):
/// the server's public key (to anyone: a client pins it on first use), how a
/// session of the asker's own address ended (one fixed word).
fn asked_instead(
    chan: &mut Channel,
    version: &[u8],
    peer: SocketAddr,
    ctx: &Context,
    ends: EndOf,
) -> Option<HandshakeError> {
    let answer = if tfp_wire::hostkey::is_request(version) {
        ctx.services.keys.close();
        let key = ctx.services.keys.public();
        if key.is_empty() {
            return Some(refuse(chan, Failed::IncompatibleProtocol));
        }
        (tfp_wire::hostkey::reply(key), HandshakeError::HostKeySent)
    } else {
        let port = session_end::parse_request(version)?;
        ctx.services.keys.close();
        let end = port.map_or(session_end::End::Unknown, |p| ends(peer.ip(), p));
        (session_end::reply(end), HandshakeError::EndTold(end))
    };
    Some(match chan.tx.send_frame(&answer.0) {
        Ok(()) => answer.1,
        Err(e) => e.into(),
    })
}
