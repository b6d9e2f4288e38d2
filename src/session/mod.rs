//! One client's session: the handshake, then the command loop with its gating
//! (pre-login, pre-jail) and dispatch. Runs in its own process, forked by the
//! listener, so per-session setuid and chroot never touch another client.

mod admission;
mod answer;
mod confined;
mod context;
mod fai_entrance;
mod handshake;
mod hold;
pub(crate) use hold::Hold;
pub(crate) mod identity;
pub(crate) mod jail;
pub(crate) mod liveness;
mod secure;
mod stage;

use crate::dispatch::{CmdError, Families, Held, Reply, SecfsState, Spec};
use crate::fsys::{FsError, RelPath, Root};
use crate::services::metrics::{Counter, Refusal, Row};
use log::{debug, info, warn};
use std::{net::SocketAddr, net::TcpStream, sync::Arc, time::Instant};
use tfp_channel::{Channel, ChannelError, NetStream, PreparedFrame, TxHalf};
use tfp_wire::{command, Failed, MAX_CHUNK};

pub(crate) use crate::dispatch::denied_or;
pub(crate) use answer::OfferedFor;
pub(crate) use context::{Context, Lasting, Loaded};
pub(crate) use handshake::handshake;
pub(crate) use secure::SecureState;
pub(crate) use stage::{Duty, Mode, Stage, State};

/// Bound on a command frame before LOGIN: nothing legitimate is larger.
pub(crate) const PRELOGIN_MAX_FRAME: usize = 4096;

/// Bound on everything a client may send before LOGIN (handshake included): a
/// pre-auth client cannot make the server read without end.
pub(crate) const PRELOGIN_MAX_BYTES: u64 = 64 * 1024;

/// A live session.
pub struct Session {
    /// The encrypted connection.
    chan: Channel,
    /// The served root (the jail after INJAIL).
    root: Root,
    /// The active LOCK name, if any.
    lock: Option<Vec<u8>>,
    /// Gating state.
    state: State,
    /// The peer, for logs.
    peer: SocketAddr,
    /// Shared daemon context.
    ctx: Arc<Context>,
    /// The user the session runs as, for logs.
    user: String,
    /// Set by END or a fatal error.
    closing: bool,
    /// Pending identity, quota, jail state.
    auth: crate::auth::SessionAuth,
    /// The state single command families keep for the session's life (the
    /// time zone, ADDNTFY's registrations, the NETLOCK slots, TFDSTAGEPUT's
    /// hash), each in its family's own type.
    families: Families,
    /// Registry slot and PROCKEY.
    live: liveness::Liveness,
    /// The socket for the OOB thread, until the thread is started (see
    /// [`Session::ensure_oob_thread`]).
    oob_pending: Option<TcpStream>,
    /// Still at the listener's priority (`priority_boost`): connection set-up,
    /// the handshake and a transport upgrade, is short and should not queue
    /// behind busy sessions; the first other command ends it.
    setting_up: bool,
    /// The session's bandwidth limits (None: no `rate_limit_*` set).
    pace: Option<Arc<tfp_channel::bandwidth::Pace>>,
    /// TFPSFS: the SETFSID identity and the running command's rule.
    secfs: SecfsState,
    /// What TFDSECURE needs from the handshake (the pre-shared key).
    secure: SecureState,
    /// An upload's end the client still owes (its FIN, with the HPF grant
    /// that bounds data before it): read after the answer, so a status
    /// that follows the FIN leaves with it (TFDSTAGEPUT).
    owed_fin: Option<usize>,
    /// RUNBASH's script host (process 1 of a PID namespace of its own), started
    /// before the chroot when `runbash` is on; None otherwise.
    script_host: Option<crate::sandbox::Host>,
}

/// The state of single command families, each reached by its family's file
/// alone through these (the session itself only holds it for the session's
/// life, and drops it at the end).
impl Session {
    /// The state of the command family whose type is `T`, if it made it yet.
    pub fn family<T: 'static>(&self) -> Option<&T> {
        self.families.get()
    }

    /// The state of the command family whose type is `T`, to change (made, as
    /// its default, at the family's first use).
    pub fn family_mut<T: Default + 'static>(&mut self) -> &mut T {
        self.families.get_mut()
    }

    /// The registry slot and PROCKEY's key (PROCKEY, the quota's ledger).
    pub fn live(&self) -> &liveness::Liveness {
        &self.live
    }

    /// What TFDSECURE needs from the handshake (the pre-shared key, which
    /// TFDSECURE forgets once used).
    pub fn secure_mut(&mut self) -> &mut SecureState {
        &mut self.secure
    }

    /// The session's bandwidth limits (None: no `rate_limit_*` set).
    pub fn pace(&self) -> Option<&Arc<tfp_channel::bandwidth::Pace>> {
        self.pace.as_ref()
    }
}

/// The session's own state: read by any handler, changed only where the
/// protocol changes it (LOGIN the user, INJAIL the root, LOCK the lock name).
impl Session {
    /// The peer, for logs.
    pub fn peer(&self) -> SocketAddr {
        self.peer
    }

    /// The user the session runs as, for logs.
    pub fn user(&self) -> &str {
        &self.user
    }

    /// LOGIN: the user the session now runs as.
    pub fn set_user(&mut self, user: String) {
        self.user = user;
    }

    /// The encrypted connection.
    pub fn chan(&self) -> &Channel {
        &self.chan
    }

    /// The encrypted connection, to send or receive on.
    pub fn chan_mut(&mut self) -> &mut Channel {
        &mut self.chan
    }

    /// The client's FIN of the upload just answered is read after the answer.
    pub(crate) fn owe_fin(&mut self, grant: usize) {
        self.owed_fin = Some(grant);
    }

    /// RUNBASH: the script host, if the session has one, with the client's
    /// socket (a run watches it: the client leaving ends the run). Both at
    /// once, as the host runs while the socket is watched.
    pub fn script_host_and_client(&mut self) -> Option<(&mut crate::sandbox::Host, std::os::fd::BorrowedFd<'_>)> {
        let client = std::os::fd::AsFd::as_fd(self.chan.stream());
        self.script_host.as_mut().map(|h| (h, client))
    }

    /// Whether the session has a script host for RUNBASH.
    pub fn has_script_host(&self) -> bool {
        self.script_host.is_some()
    }

    /// INJAIL: the script host started for the jail (None: none, or its start
    /// failed); RUNBASH: None once the host failed or was killed with a run.
    pub fn set_script_host(&mut self, host: Option<crate::sandbox::Host>) {
        self.script_host = host;
    }

    /// The shared daemon context.
    pub fn ctx(&self) -> &Arc<Context> {
        &self.ctx
    }

    /// The served root (the jail after INJAIL).
    pub fn root(&self) -> &Root {
        &self.root
    }

    /// INJAIL, LOCKSYS: the root the session is confined to from now on.
    pub fn set_root(&mut self, root: Root) {
        self.root = root;
    }

    /// The active LOCK name, if any.
    pub fn lock(&self) -> Option<&[u8]> {
        self.lock.as_deref()
    }

    /// LOCK: the name that locks a directory from now on (None: no lock).
    pub fn set_lock(&mut self, name: Option<Vec<u8>>) {
        self.lock = name;
    }

    /// The gating state.
    pub fn state(&self) -> &State {
        &self.state
    }

    /// LOGIN, INJAIL, LOCKSYS, FLYCONTEXT: the gating state, to move on.
    pub fn state_mut(&mut self) -> &mut State {
        &mut self.state
    }

    /// The pending identity, quota and jail state.
    pub fn auth(&self) -> &crate::auth::SessionAuth {
        &self.auth
    }

    /// LOGIN, INJAIL, FAITOK: the identity, quota and jail state, to change.
    pub fn auth_mut(&mut self) -> &mut crate::auth::SessionAuth {
        &mut self.auth
    }

    /// TFPSFS: the SETFSID identity and the running command's rule.
    pub fn secfs(&self) -> &SecfsState {
        &self.secfs
    }

    /// SETFSID: the identity, to change.
    pub fn secfs_mut(&mut self) -> &mut SecfsState {
        &mut self.secfs
    }
}

/// The pauses before a stale handle's path is looked up again, one per try
/// ([`Session::retry_stale`]).
const STALE_SETTLE: &[std::time::Duration] = &[
    std::time::Duration::from_millis(30),
    std::time::Duration::from_millis(100),
    std::time::Duration::from_millis(300),
    std::time::Duration::from_millis(1000),
];

impl Session {
    /// Normalises a path argument, pins it ([`crate::fsys::Root::pin`]: the
    /// command then acts through the descriptors judged, never a second lookup
    /// by name) and applies TFPSFS to it; any malformed or escaping path, any
    /// path naming secure-FS metadata and any path the running command may not
    /// use in a secure directory is `FAILED 1` (the reference's answer when its
    /// path check refuses). Every client path passes here, so the command
    /// table's `tfpsfs` rule is enforced in this one place.
    pub fn path(&self, arg: &[u8]) -> Result<RelPath, Failed> {
        self.path_by(arg, |p| self.secfs.pin(&self.root, p))
    }

    /// [`Session::path`] for a batch's next file: one in the directory `held`
    /// holds is pinned in it, not looked up nor judged again ([`SecfsState::pin_in`]).
    pub fn path_near(&self, arg: &[u8], held: &mut Option<Held>) -> Result<RelPath, Failed> {
        self.path_by(arg, |p| self.secfs.pin_in(&self.root, p, held))
    }

    /// [`Session::path_near`] judged for `need` ([`SecfsState::pin_in_for`]).
    pub fn path_near_for(&self, arg: &[u8], need: u32, held: &mut Option<Held>) -> Result<RelPath, Failed> {
        self.path_by(arg, |p| self.secfs.pin_in_for(&self.root, p, need, held))
    }

    /// [`Session::path`] judged for `need`, not the command's ([`SecfsState::pin_for`]).
    pub fn path_for(&self, arg: &[u8], need: u32) -> Result<RelPath, Failed> {
        self.path_by(arg, |p| self.secfs.pin_for(&self.root, p, need))
    }

    /// A client path parsed, pinned by `pin` and judged (see [`Session::path`]).
    fn path_by(&self, arg: &[u8], pin: impl FnOnce(&RelPath) -> Result<RelPath, FsError>) -> Result<RelPath, Failed> {
        let p = RelPath::parse(arg).map_err(|e| {
            debug!("{} path refused: {e}", self.peer);
            Failed::AccessDenied
        })?;
        let pinned = pin(&p).map_err(|e| {
            match e {
                // the metadata could not be read: the Unix permissions refused
                // the session's user, not TFPSFS (decided on the same descriptor)
                FsError::Other(e) => info!(
                    "{} path refused: user {} may not search the directory (Unix permissions: {e})",
                    self.peer, self.user
                ),
                e => info!("{} path refused by TFPSFS: {e}", self.peer),
            }
            Failed::AccessDenied
        })?;
        if self.state.jail().is_some() && jail::names_the_key(&self.root, &pinned) {
            warn!(
                "{} path refused: {:?} is the jail's key, which the jailed user {} may not touch",
                self.peer,
                String::from_utf8_lossy(&p.to_bytes()),
                self.user
            );
            return Err(Failed::AccessDenied);
        }
        Ok(pinned)
    }

    /// Runs `op` on the pinned path `p`; when a handle in it went stale
    /// (ESTALE: on a shared file system another node replaced the file or a
    /// directory on the path since it was pinned), pins and judges the path
    /// again and runs `op` on that, a few times with growing pauses: the file
    /// system's client settles the replacement it was told of (GlusterFS: an
    /// upcall, or its metadata cache's timeout of about a second) a moment
    /// after, and until then a lookup can meet the same stale inode. Still
    /// stale after [`STALE_SETTLE`]'s last pause, or a refusal by a new
    /// judgement, is the command's own failure.
    pub fn retry_stale<T>(&self, p: &RelPath, op: impl Fn(&RelPath) -> Result<T, FsError>) -> Result<T, FsError> {
        let mut r = op(p);
        for pause in STALE_SETTLE {
            if !matches!(r, Err(FsError::Stale)) {
                return r;
            }
            info!(
                "{} stale handle for {:?}: looking it up again in {} ms",
                self.peer,
                String::from_utf8_lossy(&p.to_bytes()),
                pause.as_millis()
            );
            std::thread::sleep(*pause);
            let again = self.secfs.repin(&self.root, p)?;
            r = op(&again);
        }
        if let Err(FsError::Stale) = &r {
            warn!(
                "{} {:?} still a stale handle after looking it up again for {} ms",
                self.peer,
                String::from_utf8_lossy(&p.to_bytes()),
                STALE_SETTLE.iter().map(|d| d.as_millis()).sum::<u128>()
            );
        }
        r
    }

    /// [`Root::open`] with [`Session::retry_stale`].
    pub fn open(&self, p: &RelPath, flags: i32, mode: u32) -> Result<std::os::fd::OwnedFd, FsError> {
        self.retry_stale(p, |q| self.root.open(q, flags, mode))
    }

    /// [`Root::open_file`] with [`Session::retry_stale`].
    pub fn open_file(&self, p: &RelPath, flags: i32, mode: u32) -> Result<(std::fs::File, libc::stat), FsError> {
        self.retry_stale(p, |q| self.root.open_file(q, flags, mode))
    }

    /// [`Root::stat`] with [`Session::retry_stale`].
    pub fn stat(&self, p: &RelPath) -> Result<libc::stat, FsError> {
        self.retry_stale(p, |q| self.root.stat(q))
    }

    /// LOCK check on a directory itself.
    pub fn check_lock_dir(&self, dir: &RelPath) -> Result<(), Failed> {
        match &self.lock {
            Some(name) if self.root.entry_exists(dir, name) => Err(Failed::Locked),
            _ => Ok(()),
        }
    }

    /// LOCK check on the directory holding `p` (the reference's "rmtrail" form).
    pub fn check_lock_parent(&self, p: &RelPath) -> Result<(), Failed> {
        if self.lock.is_none() {
            return Ok(());
        }
        if p.is_root() {
            return self.check_lock_dir(p);
        }
        self.check_lock_dir(&p.parent())
    }

    /// Sends a RCVFILE-style stream: `CONT <chunk>` frames, each answered by the
    /// client (`BREAK` stops). `fill` appends data to the buffer until it holds
    /// the given length and returns false at the end; chunks never exceed
    /// [`MAX_CHUNK`]. Returns true when the stream ran to its end, false when the
    /// client broke it off; either way the caller then answers `OK` (after
    /// anything that must happen first).
    ///
    /// The flow is stop-and-wait, so while the client deciphers a chunk and
    /// answers, the next one is read and enciphered ahead with a copy of the
    /// cipher state ([`tfp_channel::TxHalf::prepare_frame_buffer`]); it goes out
    /// as soon as the answer is `CONT`, and is dropped on `BREAK`. The bytes on
    /// the wire are those of the plain flow. Data is filled straight into the
    /// frame's buffer, which is reused from frame to frame.
    pub fn send_chunks(
        &mut self,
        fill: impl FnMut(&mut Vec<u8>, usize) -> Result<bool, CmdError>,
    ) -> Result<bool, CmdError> {
        self.send_chunks_led(MAX_CHUNK, 1, fill)
    }

    /// [`Session::send_chunks`], its first chunk at most `first` bytes: TFDLIST's leaves while it walks.
    /// With `window` 2 (TFDLIST and TFDNAMES) a chunk goes out before the
    /// previous one's answer is read: tfd does not leave the link idle a
    /// round trip after each (after the small first one, a round trip
    /// before a tree download's first file), and the client sends no
    /// `CONT` ahead of a chunk to get that, which a server without the
    /// command, or an empty or refused listing, read as a command. Every
    /// chunk is still answered; after a `BREAK` the client reads the chunk
    /// already sent, unanswered, before the `OK` (doc/compatibility.md).
    pub fn send_chunks_led(
        &mut self,
        first: usize,
        window: usize,
        mut fill: impl FnMut(&mut Vec<u8>, usize) -> Result<bool, CmdError>,
    ) -> Result<bool, CmdError> {
        /// Header room and `CONT `, before the data.
        const HEAD: usize = 4 + 5;
        // what `fill` gave beyond a chunk, for the next one
        let mut carry: Vec<u8> = Vec::new();
        let mut more = true;
        let mut limit = first.clamp(1, MAX_CHUNK);
        let mut next = |tx: &mut TxHalf<NetStream>, carry: &mut Vec<u8>| -> Result<Option<PreparedFrame>, CmdError> {
            let max = std::mem::replace(&mut limit, MAX_CHUNK);
            let mut frame = tx.frame_buffer(HEAD - 4);
            frame[4..HEAD].copy_from_slice(b"CONT ");
            frame.append(carry);
            while more && frame.len() < HEAD + max {
                more = fill(&mut frame, HEAD + max)?;
            }
            if frame.len() == HEAD {
                return Ok(None);
            }
            if frame.len() > HEAD + max {
                carry.extend_from_slice(&frame[HEAD + max..]);
                frame.truncate(HEAD + max);
            }
            Ok(Some(tx.prepare_frame_buffer(frame)?))
        };
        let Some(first) = next(&mut self.chan.tx, &mut carry)? else {
            return Ok(true);
        };
        self.chan.tx.send_prepared(first)?;
        let window = window.max(1);
        // chunks sent whose answer is still to read
        let mut unanswered = 1usize;
        loop {
            // ahead of the client's answer; a read error is reported only after
            // every chunk sent is answered, so the stream stays in step
            let ahead = match next(&mut self.chan.tx, &mut carry) {
                Ok(Some(f)) if unanswered < window => {
                    self.chan.tx.send_prepared(f)?;
                    unanswered += 1;
                    continue;
                }
                other => other,
            };
            let answer = self.chan.rx.recv_frame()?;
            unanswered -= 1;
            if answer == b"BREAK" {
                return Ok(false);
            }
            match ahead {
                Ok(Some(f)) => {
                    self.chan.tx.send_prepared(f)?;
                    unanswered += 1;
                }
                end => {
                    for _ in 0..unanswered {
                        if self.chan.rx.recv_frame()? == b"BREAK" {
                            return end.map(|_| false);
                        }
                    }
                    return end.map(|_| true);
                }
            }
        }
    }

    fn max_frame(&self) -> usize {
        if self.state.logged_in() {
            tfp_wire::MAX_FRAME
        } else {
            PRELOGIN_MAX_FRAME
        }
    }

    /// The command loop. Returns when the client ends or the connection fails.
    pub fn run(&mut self) {
        let (bytes_in, bytes_out) = self.ctx.services.registry.meters(self.live.slot);
        self.chan.rx.set_meter(bytes_in);
        self.chan.tx.set_meter(bytes_out);
        let metrics = self.ctx.services.metrics.clone();
        metrics.add_bytes(Row::Handshake, self.chan.rx.bytes, self.chan.tx.bytes);
        let mut counted = (self.chan.rx.bytes, self.chan.tx.bytes);
        // bytes since `counted` go to the command they belong to
        let mut count = |s: &Session, row: Row| {
            let now = (s.chan.rx.bytes, s.chan.tx.bytes);
            metrics.add_bytes(row, now.0 - counted.0, now.1 - counted.1);
            counted = now;
        };
        // the last command was a refused LOGIN: a client that then goes away
        // without a goodbye is the refusal's end, already logged in one line
        let mut refused_login = false;
        while !self.closing {
            tfd_sys::set_quickack(std::os::fd::AsFd::as_fd(self.chan.stream()));
            let frame = match self.chan.rx.recv_frame_max(self.max_frame()) {
                Ok(f) => f,
                Err(ChannelError::Closed) => break,
                Err(e) if refused_login && went_away(&e) => {
                    log::debug!("{} closing after the refused LOGIN: {e}", self.peer);
                    break;
                }
                Err(e) => {
                    warn!("{} closing: {e}", self.peer);
                    break;
                }
            };
            if !self.state.logged_in() && self.chan.rx.bytes > PRELOGIN_MAX_BYTES {
                warn!(
                    "{} closing: more than {PRELOGIN_MAX_BYTES} bytes before LOGIN",
                    self.peer
                );
                break;
            }
            let req = command::split(&frame);
            // the command's name only: its arguments may hold secrets
            debug!("{} command {}", self.peer, tfp_wire::escape::shown_str(&req.name));
            if req.name == "END" {
                break;
            }
            if self.setting_up && !crate::dispatch::lookup(self.ctx.commands, &req.name).is_some_and(|s| s.setup) {
                // set-up is over: commands run at the sessions' own priority
                crate::services::priority::unboost();
                self.setting_up = false;
            }
            // for `tfd ctl sessions`: bytes so far and the command running now
            self.ctx
                .services
                .registry
                .account(self.live.slot, self.chan.rx.bytes, self.chan.tx.bytes, &req.name);
            let began = Instant::now();
            // an OS error noted by an earlier command is not this one's cause
            let _ = crate::logging::take_os_error();
            let login = self.tried(&req.name, req.arg);
            let outcome = self.dispatch(&req.name, req.arg);
            // the features question a client sent behind its LOGIN (in the
            // same write) is still that refusal's end
            refused_login = !self.state.logged_in()
                && (req.name == "LOGIN" || (refused_login && req.name == tfp_wire::features::COMMAND));
            // LOGIN and INJAIL change who the session is
            self.publish_identity();
            // what a handler held back (TxHalf::hold) leaves with its answer
            let answered = self
                .answer(&req.name, login.as_deref(), outcome)
                .and_then(|_| self.chan.tx.release());
            let answered = match (answered, self.owed_fin.take()) {
                (Ok(()), Some(grant)) => self.chan.rx.drain_to_fin(grant),
                (r, _) => r,
            };
            let row = self.ctx.services.metrics.row(&req.name);
            count(self, row);
            self.ctx.services.metrics.observe_transfer(row, began.elapsed());
            if let Err(e) = answered {
                if !matches!(e, ChannelError::Closed) {
                    warn!("{} closing: {e}", self.peer);
                }
                break;
            }
        }
        count(self, Row::Other);
        // ends a secure stream with its `Close` record, so the peer can tell
        // this end from a truncation (nothing on the legacy cipher)
        let _ = self.chan.tx.send_close();
    }

    fn dispatch(&mut self, name: &str, arg: &[u8]) -> Result<Reply, CmdError> {
        let spec = crate::dispatch::lookup(self.ctx.commands, name);
        let refusal = self.gate(spec);
        if refusal.is_err() {
            for &n in spec.map_or(&[][..], |s| s.trailing) {
                let mut skip = vec![0u8; n];
                self.chan.rx.recv_unit(&mut skip)?;
                skip.fill(0);
            }
        }
        refusal?;
        match spec {
            Some(s) => {
                if !s.at_once {
                    self.ensure_oob_thread();
                }
                self.secfs.begin(s.tfpsfs);
                (s.handler)(self, arg)
            }
            None => Ok(Reply::Unknown),
        }
    }

    /// Whether the gate lets `spec` in now (`TFDFEATURES` tells the rows it
    /// does).
    pub(crate) fn admits(&self, spec: &'static Spec<Session>) -> bool {
        self.gate(Some(spec)).is_ok()
    }

    /// The gating sequence (document, "Security enhancement" and "In-jail").
    fn gate(&self, spec: Option<&'static Spec<Session>>) -> Result<(), CmdError> {
        let gate = |f: fn(&crate::dispatch::Gate) -> bool| spec.is_some_and(|s| f(&s.gate));
        if self.ctx.cfg.secure_transport == crate::config::SecureTransport::Require
            && !self.chan.tx.secure()
            && !gate(|g| g.before_secure)
        {
            return Err(Failed::SecureRequired.into());
        }
        if self.state.key == Duty::Owed && !gate(|g| g.before_key) {
            // a single-user server's authorized_keys: the key login first
            return Err(CmdError::Told(
                Failed::LoginFailed,
                "Log in by key first (TFDKEY): this server takes only its authorized keys.".into(),
            ));
        }
        if !self.state.logged_in() && !spec.is_some_and(|s| s.gate.before_login) {
            return Err(Failed::BeforeLogin.into());
        }
        if self.state.needs_jail() {
            // single-user mode: only INJAIL (and the upgrade that protects its token)
            let allowed = gate(|g| g.before_jail) && (!self.state.single_user() || gate(|g| g.single_user_jail));
            if !allowed {
                return Err(Failed::BeforeInjail.into());
            }
        }
        // the document: LOCKSYS, then FLYCONTEXT, before anything but the
        // commands allowed before LOGIN (END, LOGIN, KEEPALIVE, PROCKEY)
        let early = gate(|g| g.before_login);
        if self.state.locksys == Duty::Owed && !early && !gate(|g| g.locksys) {
            return Err(Failed::LockSys.into());
        }
        if self.state.flycontext == Duty::Owed && !early && !gate(|g| g.flycontext || g.locksys) {
            return Err(Failed::FlyContext.into());
        }
        Ok(())
    }

    /// Starts the OOB thread before the first command that may keep the session
    /// busy. Until then the session only waits for input or answers from memory,
    /// and its reader answers urgent bytes itself (see [`tfp_channel::NetStream`]);
    /// a session that only handshakes and echoes never pays for a thread, and the
    /// defusr switch after the handshake happens single-threaded (a multi-threaded
    /// setuid makes glibc signal every thread).
    pub fn ensure_oob_thread(&mut self) {
        if let Some(sock) = self.oob_pending.take() {
            if let Err(e) = liveness::start_oob(sock, self.ctx.services.registry.clone(), self.live.slot) {
                // the reader still answers urgent bytes whenever it waits for input
                warn!("{} cannot start the OOB thread: {e}", self.peer);
            }
        }
    }
}

impl Session {
    /// Records one finished (or aborted) transfer in the transfer log, if any.
    pub fn xfer(
        &self,
        command: &str,
        path: &RelPath,
        direction: crate::xferlog::Direction,
        bytes: u64,
        complete: bool,
        started: Instant,
    ) {
        if let Some(x) = &self.ctx.xferlog {
            x.record(&crate::xferlog::XferEntry {
                duration: started.elapsed(),
                peer: self.peer.ip(),
                bytes,
                path: &path.to_bytes(),
                direction,
                complete,
                user: &self.user,
                command,
            });
        }
    }
}

/// Runs one accepted connection to the end, in the session process.
pub(crate) fn serve(stream: TcpStream, peer: SocketAddr, ctx: Arc<Context>, slot: usize, ends: handshake::EndOf) {
    let started = Instant::now();
    if let Some(trp) = &ctx.cfg.trp {
        crate::services::priority::unboost();
        ctx.services.keys.close();
        // a relay never reads a command: counted as active, its bytes and
        // limits belong to the backend
        ctx.services
            .registry
            .set_phase(slot, crate::services::registry::Phase::Active);
        crate::services::proxy::relay(stream, peer, trp, ctx.cfg.port);
        return;
    }
    let Some(live) = liveness::register(&ctx.services.registry, slot) else {
        warn!("{peer} no randomness for the session key; closing");
        return;
    };
    if let Err(e) = liveness::set_keepalive(&stream, liveness::DEFAULT_KEEPALIVE) {
        warn!("{peer} cannot set keepalive defaults: {e}; closing");
        return;
    }
    let urgent = match liveness::urgent_handler(&stream, ctx.services.registry.clone(), slot) {
        Ok(h) => h,
        Err(e) => {
            warn!("{peer} cannot set up OOB handling: {e}; closing");
            return;
        }
    };
    let oob_sock = match stream.try_clone() {
        Ok(s) => s,
        Err(e) => {
            warn!("{peer} cannot set up OOB handling: {e}; closing");
            return;
        }
    };
    let metrics = ctx.services.metrics.clone();
    let mut session = match handshake(stream, peer, ctx, live, urgent, ends) {
        Ok(s) => s,
        Err(e) => {
            match &e {
                admission::HandshakeError::Refused(f) => metrics.refused(match f {
                    Failed::IncompatibleProtocol => Refusal::Version,
                    Failed::InvalidHash => Refusal::Hash,
                    Failed::FaiExpired | Failed::FaiKey => Refusal::Fai,
                    _ => Refusal::RsaKey,
                }),
                admission::HandshakeError::Channel(_) => metrics.inc(Counter::HandshakesAborted),
                _ => {}
            }
            info!("{peer} handshake ended: {e}");
            return;
        }
    };
    metrics.inc(Counter::HandshakesCompleted);
    session.oob_pending = Some(oob_sock);
    info!("{peer} session start user={}", session.user);
    session.run();
    info!(
        "{peer} session end user={} duration={:.3}s bytes_in={} bytes_out={}",
        session.user,
        started.elapsed().as_secs_f64(),
        session.chan.rx.bytes,
        session.chan.tx.bytes
    );
}

/// The peer went away: the connection ended or was reset, or, on the secure
/// transport, ended between records without the close record (a client that
/// exits without saying goodbye), rather than a record that failed its check.
fn went_away(e: &ChannelError) -> bool {
    match e {
        ChannelError::Closed => true,
        ChannelError::Io(io) => matches!(
            io.kind(),
            std::io::ErrorKind::ConnectionReset | std::io::ErrorKind::BrokenPipe | std::io::ErrorKind::UnexpectedEof
        ),
        ChannelError::Secure(why) => why.contains("without a close record"),
        _ => false,
    }
}
