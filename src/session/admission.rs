//! What both ways into a session share (LOGIN's handshake in `handshake`, the
//! FAI entrance in `fai_entrance`): why one failed, how a refusal is sent, the
//! served root, and the session assembled from its parts. It lies below both,
//! so neither way in names the other's file for what they hold in common.

use super::{Context, Session, State};
use crate::fsys::Root;
use std::net::SocketAddr;
use std::sync::Arc;
use tfp_channel::{Channel, ChannelError};
use tfp_wire::Failed;

/// Why a handshake did not produce a session.
#[non_exhaustive]
#[derive(Debug)]
pub(crate) enum HandshakeError {
    /// The connection failed or the peer broke the framing.
    Channel(ChannelError),
    /// We refused the client with this status (already sent).
    Refused(Failed),
    /// The session could not take on its user.
    Privilege(String),
    /// The served root could not be opened.
    Root(std::io::Error),
    /// The client asked for the server's public key (`TFDHOSTKEY`), which
    /// was sent; nothing else follows on that connection.
    HostKeySent,
    /// The client asked how one of its sessions ended (`TFDWHY`), which
    /// was told; nothing else follows on that connection.
    EndTold(tfp_wire::session_end::End),
}

impl std::fmt::Display for HandshakeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            HandshakeError::Channel(e) => write!(f, "{e}"),
            HandshakeError::Refused(s) => write!(f, "refused: {s}"),
            HandshakeError::Privilege(e) => write!(f, "privilege switch failed: {e}"),
            HandshakeError::Root(e) => write!(f, "cannot open root: {e}"),
            HandshakeError::HostKeySent => write!(f, "sent the server's public key (TFDHOSTKEY)"),
            HandshakeError::EndTold(end) => write!(f, "told how a session of this address ended (TFDWHY: {end:?})"),
        }
    }
}

impl From<ChannelError> for HandshakeError {
    fn from(e: ChannelError) -> Self {
        HandshakeError::Channel(e)
    }
}

/// The session could not take on its user (LOGIN's switch at the handshake,
/// the FAI entrance's): the session ends, the log says why.
impl From<super::identity::SwitchError> for HandshakeError {
    fn from(e: super::identity::SwitchError) -> Self {
        HandshakeError::Privilege(e.to_string())
    }
}

/// An I/O error of the client's socket (its timeouts, its channel's set-up):
/// the connection failed. The served root's errors are [`HandshakeError::Root`],
/// said where the root is opened.
impl From<std::io::Error> for HandshakeError {
    fn from(e: std::io::Error) -> Self {
        HandshakeError::Channel(e.into())
    }
}

/// Opens the served root (`dbdir`) for a new session, its error said as
/// [`HandshakeError::Root`]: both ways in (LOGIN's handshake, the FAI entrance)
/// open it here.
pub(super) fn served_root(ctx: &Context) -> Result<Root, HandshakeError> {
    Root::open_root(&ctx.cfg.dbdir).map_err(HandshakeError::Root)
}

pub(super) fn refuse(chan: &mut Channel, f: Failed) -> HandshakeError {
    let _ = chan.tx.send_frame(&f.to_wire());
    HandshakeError::Refused(f)
}

/// The session from its parts; leaves the pre-login phase when it is logged in
/// (and needs no INJAIL).
#[allow(clippy::too_many_arguments)]
pub(super) fn assemble(
    chan: Channel,
    root: Root,
    state: State,
    peer: SocketAddr,
    ctx: Arc<Context>,
    user: String,
    auth: crate::auth::SessionAuth,
    live: super::liveness::Liveness,
    pace: Option<Arc<tfp_channel::bandwidth::Pace>>,
) -> Session {
    let serving = state.serving();
    let session = Session {
        chan,
        root,
        lock: None,
        state,
        peer,
        ctx: ctx.clone(),
        user,
        closing: false,
        auth,
        families: Default::default(),
        live,
        oob_pending: None,
        setting_up: true,
        pace,
        secfs: Default::default(),
        secure: Default::default(),
        owed_fin: None,
        script_host: None,
    };
    session.publish_identity();
    // with injail the pre-login deadline goes on until INJAIL
    if serving {
        session.enter_logged_in();
    } else {
        let slot = session.live.slot;
        session
            .ctx
            .services
            .registry
            .set_phase(slot, crate::services::registry::Phase::Login);
    }
    session
}

impl Session {
    /// Tells the registry (`tfd ctl sessions`) the LOGIN name of the session,
    /// if it has one (single-user sessions have none), and the uid it runs as.
    pub fn publish_identity(&self) {
        let login = if self.state.logged_in() && !self.state.single_user() {
            self.user.as_str()
        } else {
            ""
        };
        self.ctx
            .services
            .registry
            .set_identity(self.live.slot, login, tfd_sys::geteuid());
    }

    /// Leaves the pre-login phase: no total deadline any more, only the idle
    /// timeout, which bounds writes as well as reads: a client that stops
    /// reading (zero window) would otherwise hold a session in a send for as
    /// long as TCP answers its probes, for ever once KEEPALIVE turned keepalive
    /// (and with it TCP_USER_TIMEOUT) off.
    pub fn enter_logged_in(&self) {
        tfd_sys::alarm(0);
        let phase = if self.state.jail().is_some() {
            crate::services::registry::Phase::Jailed
        } else {
            crate::services::registry::Phase::Active
        };
        self.ctx.services.registry.set_phase(self.live.slot, phase);
        let idle = self.ctx.cfg.idle_timeout;
        let t = if idle.is_zero() { None } else { Some(idle) };
        let _ = self.chan.stream().set_read_timeout(t);
        let _ = self.chan.stream().set_write_timeout(t);
    }
}
