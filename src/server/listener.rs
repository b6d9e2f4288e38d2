//! The listener process: single-threaded (so `fork` is safe), it accepts, applies
//! the connection limits, forks a session process per connection, reaps children
//! and turns signals (delivered through a self-pipe, never handled in place) into
//! events: SIGCHLD reap, SIGHUP/SIGUSR1 reload, SIGTERM/SIGINT graceful stop.

use super::metrics::Refusal;
use crate::config::Config;
use crate::session::{self, Context};
use crate::sys::{self, Fork};
use log::{error, info, warn};
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sys::signal::{kill, Signal};
use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
use nix::unistd::Pid;
use std::collections::HashMap;
use std::io::{self, Read};
use std::net::{IpAddr, SocketAddr, TcpListener};
use std::os::fd::AsFd;
use std::os::unix::net::UnixStream;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How the daemon was started.
#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    /// The config file, for reloads (None: reload re-uses the config in memory).
    pub config_path: Option<PathBuf>,
    /// Serve as the invoking user (demo mode, or not started as root).
    pub serve_as_self: bool,
    /// Detach (`--daemon`) and write this pidfile.
    pub daemon_pidfile: Option<PathBuf>,
    /// Printed on stdout once every socket is bound (`tfd demo`'s instructions):
    /// a server that cannot listen never shows how to connect to it.
    pub banner: Option<String>,
}

struct ChildInfo {
    peer: SocketAddr,
    /// The session's registry slot, freed when the process is reaped.
    slot: usize,
}

struct Listener {
    listeners: Vec<TcpListener>,
    ctx: Arc<Context>,
    opts: RunOptions,
    children: HashMap<i32, ChildInfo>,
    sig_rx: UnixStream,
    sig_flags: Vec<(i32, Arc<AtomicBool>)>,
    /// Set once SIGTERM/SIGINT arrived: sessions we end are not "abnormal".
    stopping: bool,
    /// The UDP responder's sockets, kept here so it can be respawned.
    udp: super::udp::Responder,
    /// The UDP responder's pid (0 when not running).
    udp_pid: i32,
    /// Whom the UDP responder and the key process run as.
    udp_user: Option<crate::auth::privs::Identity>,
    /// The key process's pid (0 when not running). Replaced ones, still answering
    /// sessions that were forked before a reload, end on their own.
    key_pid: i32,
    /// The FAI issuer (0: not running).
    fai_pid: i32,
    /// The sweeper of upload temporaries (0: not running or off).
    sweep_pid: i32,
    respawn_sweep_at: Option<Instant>,
    respawn_fai_at: Option<Instant>,
    /// When a dead key process or UDP responder is due to be restarted.
    respawn_keys_at: Option<Instant>,
    respawn_udp_at: Option<Instant>,
    /// When to try again to remove script hosts' cgroups that were still busy
    /// (a host dies just after its session), and how many more tries.
    sweep_cgroups_at: Option<(Instant, u32)>,
    /// The admin control socket.
    control: Option<std::os::unix::net::UnixListener>,
    /// The control connection being answered, which a helper forked meanwhile
    /// (a reload starts a key process) must not inherit.
    control_conn: Option<std::os::fd::RawFd>,
    /// Addresses banned through the control socket.
    bans: super::control::Bans,
    /// The bans every node shares (`shared_state_dir`), as last read.
    shared_bans: Option<super::control::SharedBanCache>,
    /// Balancers' connections waiting for their PROXY header.
    waiting: super::proxy_header::Waiting,
    /// When the listener started, and what it has seen since.
    started: Instant,
    accepted: u64,
    refused: u64,
}

use super::SIGNALS;

/// How long after a helper's death the listener waits before starting another:
/// when a signal to the whole process group (Ctrl-C) killed it, the listener's own
/// SIGINT/SIGTERM arrives within that time and nothing is restarted.
const RESPAWN_DELAY: Duration = Duration::from_millis(100);

/// How long stopped helpers get to end after SIGTERM before SIGKILL.
const HELPER_STOP_WAIT: Duration = Duration::from_secs(1);

/// How long after a session is reaped its script host's cgroup, if still busy
/// (the host dies a moment after its session), is tried again, and how many
/// times: a host's namespace empties within milliseconds.
const CGROUP_SWEEP_DELAY: Duration = Duration::from_millis(100);
const CGROUP_SWEEPS: u32 = 20;

/// Binds one listening socket; IPv6 sockets are V6ONLY so an IPv4 and an IPv6
/// listener can share the port.
pub fn bind(addr: SocketAddr) -> io::Result<TcpListener> {
    use nix::sys::socket::{self, sockopt, AddressFamily, SockFlag, SockType, SockaddrStorage};
    let family = if addr.is_ipv6() {
        AddressFamily::Inet6
    } else {
        AddressFamily::Inet
    };
    let fd = socket::socket(family, SockType::Stream, SockFlag::SOCK_CLOEXEC, None)?;
    socket::setsockopt(&fd, sockopt::ReuseAddr, &true)?;
    if addr.is_ipv6() {
        socket::setsockopt(&fd, sockopt::Ipv6V6Only, &true)?;
    }
    socket::bind(std::os::fd::AsRawFd::as_raw_fd(&fd), &SockaddrStorage::from(addr))?;
    socket::listen(&fd, socket::Backlog::MAXCONN)?;
    let l = TcpListener::from(fd);
    l.set_nonblocking(true)?;
    Ok(l)
}

/// Resolves `defusr` (uid, gid, groups) once, in the listener.
fn resolve_defusr(cfg: &Config, serve_as_self: bool) -> Result<Option<crate::auth::privs::Identity>, String> {
    match &cfg.defusr {
        Some(name) if !serve_as_self => crate::auth::privs::resolve(name)
            .map(Some)
            .map_err(|e| format!("defusr: {e}")),
        _ => Ok(None),
    }
}

/// Loads the TLB list named by the config (empty when none).
fn load_tlb(cfg: &Config) -> Result<Arc<Vec<String>>, String> {
    match &cfg.tlb {
        Some(p) => super::tlb::load(p).map(Arc::new),
        None => Ok(Arc::new(Vec::new())),
    }
}

/// Opens the transfer log in the listener, as root, before any fork.
fn open_xferlog(cfg: &Config) -> Result<Option<Arc<crate::xferlog::XferLog>>, String> {
    cfg.xferlog
        .as_deref()
        .map(crate::xferlog::XferLog::open)
        .transpose()
        .map(|x| x.map(Arc::new))
        .map_err(|e| format!("xferlog: {e}"))
}

/// Does once, in the listener, the lazy set-up that every session would otherwise
/// repeat after fork, each time paying page faults on copy-on-write pages: the
/// weak-symbol lookups (dlsym) behind thread creation, a thread stack and malloc
/// arena for glibc to cache and hand to each session's OOB thread, and the
/// random source's first-use probe. The thread is joined, so the listener is
/// single-threaded again before it ever forks.
fn prepare_for_sessions() {
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
fn fai_store(cfg: &Config, key: &openssl::rsa::Rsa<openssl::pkey::Private>) -> Result<crate::auth::fai::Store, String> {
    let id = crate::auth::fai::server_id(key).map_err(|e| format!("FAI server identity: {e}"))?;
    Ok(crate::auth::fai::Store::new(&cfg.fai_dir, id))
}

/// Prepares `shared_state_dir` (when set) and reads the bans it holds.
fn shared_bans(cfg: &Config) -> Result<Option<super::control::SharedBanCache>, String> {
    let Some(dir) = &cfg.shared_state_dir else {
        return Ok(None);
    };
    crate::auth::shared_state::prepare(dir).map_err(|e| format!("shared_state_dir: {e}"))?;
    let mut cache = super::control::SharedBanCache::new(dir);
    cache.refresh(true);
    info!("login throttle and bans shared with other nodes in {}", dir.display());
    Ok(Some(cache))
}

/// Writes the pidfile whole or not at all (a reader never sees it empty).
fn write_pidfile(path: &std::path::Path) -> io::Result<()> {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().to_string())
        .unwrap_or_default();
    let tmp = path.with_file_name(format!(".{name}.tmp"));
    std::fs::write(&tmp, format!("{}\n", std::process::id()))?;
    std::fs::rename(&tmp, path)
}

/// Runs the daemon until SIGTERM/SIGINT. Returns after all sessions have ended.
pub fn run(mut cfg: Config, opts: RunOptions) -> Result<(), String> {
    let rsa = super::load_key(&cfg)?;
    let fai_store = fai_store(&cfg, &rsa)?;
    let udp_user = if sys::geteuid() == 0 && !opts.serve_as_self {
        Some(crate::auth::privs::resolve(&cfg.udp_user).map_err(|e| format!("udp_user: {e}"))?)
    } else {
        None
    };
    cfg.forget_private_key();
    sys::umask(0o022);
    // before any session can chroot or drop privileges: SETTZ reads zones beneath it
    crate::commands::tz::preload();
    let mut listeners = Vec::new();
    for addr in &cfg.listen {
        let l = bind(*addr).map_err(|e| format!("cannot listen on {addr}: {e}"))?;
        info!(
            "listening on {}",
            l.local_addr().map(|a| a.to_string()).unwrap_or_default()
        );
        listeners.push(l);
    }
    let (sig_rx, sig_tx) = UnixStream::pair().map_err(|e| e.to_string())?;
    sig_rx.set_nonblocking(true).map_err(|e| e.to_string())?;
    let mut sig_flags = Vec::new();
    for sig in SIGNALS {
        let flag = Arc::new(AtomicBool::new(false));
        // Order matters: the flag is set before the wake-up byte is written.
        signal_hook::flag::register(sig, flag.clone()).map_err(|e| format!("signal setup: {e}"))?;
        let tx = sig_tx.try_clone().map_err(|e| e.to_string())?;
        signal_hook::low_level::pipe::register(sig, tx).map_err(|e| format!("signal setup: {e}"))?;
        sig_flags.push((sig, flag));
    }
    drop(sig_tx);
    let defusr = resolve_defusr(&cfg, opts.serve_as_self)?;
    let tlb = load_tlb(&cfg)?;
    let shared_bans = shared_bans(&cfg)?;
    let cfg_control = cfg.control_socket.clone();
    let xferlog = open_xferlog(&cfg)?;
    let registry = Arc::new(
        super::registry::Registry::new(cfg.max_sessions.max(64) as usize)
            .map_err(|e| format!("session registry: {e}"))?,
    );
    let registry_slots = registry.capacity();
    let udp_sockets = super::udp::bind(&cfg.listen).map_err(|e| format!("cannot bind the UDP port: {e}"))?;
    let udp = super::udp::Responder {
        sockets: udp_sockets,
        registry: registry.clone(),
        tlb: tlb.clone(),
        trp: cfg.trp.clone().map(|t| (t, cfg.port)),
    };
    let ctx = Arc::new(Context {
        cfg,
        // the issuer starts with the key process
        fai: Arc::new(super::fai::FaiLink::closed(fai_store)),
        // the key process starts below, once the listener has daemonized
        keys: super::keys::KeyLink::closed(),
        serve_as_self: opts.serve_as_self,
        defusr,
        self_user: crate::auth::privs::current_user_name(),
        registry,
        tlb,
        throttle: Arc::new(
            crate::auth::throttle::Throttle::new(crate::auth::throttle::DEFAULT_SLOTS)
                .map_err(|e| format!("login throttle table: {e}"))?,
        ),
        xferlog,
        metrics: Arc::new(
            super::metrics::Metrics::new(crate::commands::TABLE.iter().map(|s| (s.name, s.transfer)))
                .map_err(|e| format!("metrics table: {e}"))?,
        ),
        buckets: Arc::new(
            crate::bandwidth::Buckets::new(registry_slots).map_err(|e| format!("bandwidth buckets: {e}"))?,
        ),
    });
    let control_path = match (&cfg_control, sys::geteuid() == 0 && !opts.serve_as_self) {
        (Some(p), _) => Some(p.clone()),
        (None, true) => Some(PathBuf::from(crate::config::DEFAULT_CONTROL_SOCKET)),
        (None, false) => None,
    };
    let control = match &control_path {
        Some(p) => match super::control::bind(p) {
            Ok(l) => {
                info!("control socket {}", p.display());
                Some(l)
            }
            Err(e) if cfg_control.is_some() => return Err(format!("control_socket {}: {e}", p.display())),
            Err(e) => {
                warn!("no control socket ({}: {e})", p.display());
                None
            }
        },
        None => None,
    };
    let mut l = Listener {
        listeners,
        ctx,
        opts,
        children: HashMap::new(),
        sig_rx,
        sig_flags,
        stopping: false,
        udp,
        udp_pid: 0,
        udp_user,
        key_pid: 0,
        fai_pid: 0,
        sweep_pid: 0,
        respawn_sweep_at: None,
        respawn_fai_at: None,
        respawn_keys_at: None,
        respawn_udp_at: None,
        sweep_cgroups_at: None,
        control,
        control_conn: None,
        bans: Default::default(),
        shared_bans,
        waiting: Default::default(),
        started: Instant::now(),
        accepted: 0,
        refused: 0,
    };
    if let Some(banner) = &l.opts.banner {
        println!("{banner}");
        let _ = std::io::Write::flush(&mut std::io::stdout());
    }
    let mut daemon_ready = None;
    if let Some(pidfile) = &l.opts.daemon_pidfile {
        // everything that can fail at start has failed (or not) on the terminal
        daemon_ready = Some(sys::daemonize().map_err(|e| format!("daemonize: {e}"))?);
        write_pidfile(pidfile).map_err(|e| format!("pidfile {}: {e}", pidfile.display()))?;
    }
    prepare_for_sessions();
    super::priority::boost(l.ctx.cfg.priority_boost);
    let keys = l.spawn_keys(&rsa)?;
    drop(rsa);
    l.ctx = Arc::new(l.ctx.with_keys(keys));
    l.spawn_fai();
    l.spawn_udp();
    l.spawn_sweeper();
    super::sd_notify::ready();
    if let Some(r) = daemon_ready {
        sys::daemon_ready(r);
    }
    l.main_loop();
    if let Some(pidfile) = &l.opts.daemon_pidfile {
        let _ = std::fs::remove_file(pidfile);
    }
    if let Some(p) = control_path {
        let _ = std::fs::remove_file(p);
    }
    Ok(())
}

impl Listener {
    /// Starts (or restarts) the UDP responder process.
    fn spawn_udp(&mut self) {
        // not even its own sockets' originals: it works on clones made before fork
        let keep_out = self.helper_must_close();
        match super::udp::spawn(&self.udp, self.udp_user.as_ref(), &keep_out) {
            Ok(pid) => self.udp_pid = pid,
            Err(e) => error!("cannot start the UDP responder: {e}"),
        }
    }

    /// Descriptors a helper process forked now must not inherit: the listening
    /// sockets, the UDP sockets, the control socket, the signal pipe and the key
    /// process's request end. A process holding any of them after the listener
    /// died would keep the port (or the control socket) busy and block a restart.
    /// Sessions keep only the request end ([`Listener::session_must_close`]).
    fn helper_must_close(&self) -> Vec<std::os::fd::RawFd> {
        use std::os::fd::AsRawFd;
        let mut fds: Vec<_> = self.listeners.iter().map(|l| l.as_raw_fd()).collect();
        fds.extend(self.udp.sockets.iter().map(|s| s.as_raw_fd()));
        fds.extend(self.control.iter().map(|c| c.as_raw_fd()));
        fds.extend(self.control_conn);
        // other clients' connections still waiting for their PROXY header
        fds.extend(self.waiting.fds().map(|fd| fd.as_raw_fd()));
        fds.push(self.sig_rx.as_raw_fd());
        fds.extend(self.ctx.keys.raw_fd());
        fds.extend(self.ctx.fai.raw_fd());
        fds.extend(crate::commands::tz::database_fd());
        fds
    }

    /// [`Listener::helper_must_close`] less what a session needs: the key
    /// process's request end for its handshake (closed right after it) and the
    /// time zone database directory for SETTZ (opened before any chroot).
    fn session_must_close(&self) -> Vec<std::os::fd::RawFd> {
        let keep = [
            self.ctx.keys.raw_fd(),
            self.ctx.fai.raw_fd(),
            crate::commands::tz::database_fd(),
        ];
        self.helper_must_close()
            .into_iter()
            .filter(|fd| !keep.contains(&Some(*fd)))
            .collect()
    }

    /// How long the main loop may sleep before a helper restart is due.
    fn poll_timeout(&self) -> PollTimeout {
        let due = [
            self.respawn_keys_at,
            self.respawn_udp_at,
            self.respawn_fai_at,
            self.respawn_sweep_at,
            self.sweep_cgroups_at.map(|(at, _)| at),
            self.waiting.next_deadline(),
            self.shared_bans.as_ref().map(|c| c.due()),
        ]
        .into_iter()
        .flatten()
        .min();
        match due {
            None => PollTimeout::NONE,
            Some(at) => {
                let ms = at.saturating_duration_since(Instant::now()).as_millis() + 1;
                PollTimeout::try_from(ms.min(60_000) as i32).unwrap_or(PollTimeout::NONE)
            }
        }
    }

    /// Removes the script hosts' cgroups of sessions that are gone; groups
    /// still busy are tried again after [`CGROUP_SWEEP_DELAY`], `tries` more
    /// times at most.
    fn sweep_cgroups(&mut self, tries: u32) {
        let busy = crate::sandbox::remove_stale_cgroups();
        self.sweep_cgroups_at = (busy > 0 && tries > 0).then(|| (Instant::now() + CGROUP_SWEEP_DELAY, tries - 1));
    }

    /// Restarts the helpers whose restart is due (never while stopping), and
    /// sweeps the cgroups when that is due.
    fn respawn_due(&mut self) {
        let now = Instant::now();
        if let Some((at, tries)) = self.sweep_cgroups_at {
            if at <= now {
                self.sweep_cgroups(tries);
            }
        }
        if self.stopping {
            return;
        }
        if self.respawn_keys_at.is_some_and(|at| at <= now) {
            self.respawn_keys_at = None;
            self.ctx.metrics.inc(super::metrics::Counter::KeyRestarts);
            self.respawn_keys();
        }
        if self.respawn_fai_at.is_some_and(|at| at <= now) {
            self.respawn_fai_at = None;
            self.spawn_fai();
        }
        if self.respawn_sweep_at.is_some_and(|at| at <= now) {
            self.respawn_sweep_at = None;
            self.spawn_sweeper();
        }
        if self.respawn_udp_at.is_some_and(|at| at <= now) {
            self.respawn_udp_at = None;
            self.ctx.metrics.inc(super::metrics::Counter::UdpRestarts);
            self.spawn_udp();
            info!("UDP responder restarted (pid {})", self.udp_pid);
        }
    }

    /// Starts the sweeper of upload temporaries, unless `sweep_interval` is 0.
    fn spawn_sweeper(&mut self) {
        let Some(every) = self.ctx.cfg.sweep_interval else {
            return;
        };
        let close = self.helper_must_close();
        match super::sweeper::spawn(&self.ctx.cfg.dbdir, every, &close) {
            Ok(pid) => self.sweep_pid = pid,
            Err(e) => error!("cannot start the sweeper of upload temporaries: {e}"),
        }
    }

    /// Starts the FAI issuer and gives sessions forked from now on its request
    /// end. Without it FAITOK fails (FAILED 67); entrances still work.
    fn spawn_fai(&mut self) {
        let close = self.helper_must_close();
        match super::fai::spawn(self.ctx.fai.store(), &close) {
            Ok((pid, link)) => {
                self.fai_pid = pid;
                self.ctx = Arc::new(self.ctx.with_fai(Arc::new(link)));
            }
            Err(e) => error!("cannot start the FAI issuer; FAITOK fails until a restart: {e}"),
        }
    }

    /// Starts a key process for `rsa`; the caller drops its copy of the key next.
    fn spawn_keys(&mut self, rsa: &openssl::rsa::Rsa<openssl::pkey::Private>) -> Result<super::keys::KeyLink, String> {
        let close = self.helper_must_close();
        let (pid, link) = super::keys::spawn(rsa, self.ctx.cfg.replay_policy(), self.udp_user.as_ref(), &close)
            .map_err(|e| format!("cannot start the key process: {e}"))?;
        self.key_pid = pid;
        Ok(link)
    }

    /// The key process died on its own: start another from the key's source (the
    /// listener keeps no copy of the key), and give sessions forked from now on
    /// its request end.
    fn respawn_keys(&mut self) {
        let source = match (&self.ctx.cfg.privkey_file, &self.opts.config_path) {
            (Some(file), _) => std::fs::read(file)
                .map_err(|e| format!("{}: {e}", file.display()))
                .map(|pem| (pem, file.clone())),
            (None, Some(conf)) => Config::load(conf)
                .map_err(|e| e.to_string())
                .and_then(|c| c.privkey_pem.clone().ok_or_else(|| "no privkey".to_string()))
                .map(|pem| (pem, conf.clone())),
            (None, None) => Err("the key was given inline and there is no config file to read it from".into()),
        };
        let rsa = source.and_then(|(mut pem, from)| {
            let k = super::key_from_pem(&pem);
            pem.iter_mut().for_each(|b| *b = 0);
            std::hint::black_box(&pem);
            k.map_err(|e| format!("{}: {e}", from.display()))
        });
        let link = match rsa.and_then(|rsa| self.spawn_keys(&rsa)) {
            Ok(l) => l,
            Err(e) => {
                error!("cannot restart the key process; new handshakes fail until a reload: {e}");
                return;
            }
        };
        info!("key process restarted (pid {})", self.key_pid);
        self.ctx = Arc::new(self.ctx.with_keys(link));
    }

    fn main_loop(&mut self) {
        loop {
            let mut signals = Vec::new();
            let mut ready = Vec::new();
            let mut woke = false;
            let mut control_ready = false;
            let mut headers = Vec::new();
            {
                let mut fds: Vec<PollFd> = self
                    .listeners
                    .iter()
                    .map(|l| PollFd::new(l.as_fd(), PollFlags::POLLIN))
                    .collect();
                fds.push(PollFd::new(self.sig_rx.as_fd(), PollFlags::POLLIN));
                if let Some(c) = &self.control {
                    fds.push(PollFd::new(c.as_fd(), PollFlags::POLLIN));
                }
                let first_waiting = fds.len();
                fds.extend(self.waiting.fds().map(|fd| PollFd::new(fd, PollFlags::POLLIN)));
                match poll(&mut fds, self.poll_timeout()) {
                    Ok(_) => {}
                    Err(nix::errno::Errno::EINTR) => {}
                    Err(e) => {
                        error!("poll: {e}");
                        std::thread::sleep(Duration::from_millis(100));
                    }
                }
                for (i, fd) in fds.iter().enumerate() {
                    if fd.revents().is_some_and(|r| !r.is_empty()) {
                        if i >= first_waiting {
                            headers.push(i - first_waiting);
                        } else if i == self.listeners.len() {
                            woke = true;
                        } else if i == self.listeners.len() + 1 {
                            control_ready = true;
                        } else {
                            ready.push(i);
                        }
                    }
                }
            }
            if woke {
                signals = self.drain_signals();
            }
            // a stop first: when one signal to the process group also killed a
            // helper, its SIGCHLD must not make the listener restart it
            if signals.iter().any(|s| matches!(*s, libc::SIGTERM | libc::SIGINT)) {
                self.shutdown();
                return;
            }
            for sig in signals {
                match sig {
                    libc::SIGCHLD => self.reap(),
                    libc::SIGHUP | libc::SIGUSR1 => self.reload(),
                    _ => {}
                }
            }
            self.respawn_due();
            self.refresh_shared_bans();
            if control_ready {
                self.serve_control();
            }
            if !self.waiting.is_empty() {
                for (stream, client) in self.waiting.progress(&headers, self.ctx.cfg.proxy_protocol) {
                    self.reap();
                    self.admit(stream, client);
                }
            }
            for i in ready {
                self.accept(i);
            }
        }
    }

    /// Takes in the bans other nodes made, when due, and ends this node's
    /// sessions from the addresses newly banned.
    fn refresh_shared_bans(&mut self) {
        let Some(cache) = &mut self.shared_bans else { return };
        for ip in cache.refresh(false) {
            let n = self.kick_ip(ip);
            if n > 0 {
                warn!("{ip} banned through the shared state: kicked {n} session(s)");
            }
        }
    }

    /// Empties the wake-up pipe and returns the signals that arrived.
    fn drain_signals(&mut self) -> Vec<i32> {
        let mut buf = [0u8; 64];
        while let Ok(n) = self.sig_rx.read(&mut buf) {
            if n == 0 {
                break;
            }
        }
        self.sig_flags
            .iter()
            .filter(|(_, f)| f.swap(false, Ordering::SeqCst))
            .map(|(s, _)| *s)
            .collect()
    }

    fn reap(&mut self) {
        loop {
            match waitpid(Pid::from_raw(-1), Some(WaitPidFlag::WNOHANG)) {
                Ok(WaitStatus::StillAlive) | Err(_) => break,
                Ok(status) => {
                    if let Some(pid) = status.pid() {
                        if pid.as_raw() == self.key_pid {
                            self.key_pid = 0;
                            if !self.stopping {
                                warn!("key process ended ({status:?}); restarting it unless tfd is stopping");
                                self.respawn_keys_at = Some(Instant::now() + RESPAWN_DELAY);
                            }
                        } else if pid.as_raw() == self.sweep_pid {
                            self.sweep_pid = 0;
                            if !self.stopping {
                                warn!("sweeper ended ({status:?}); restarting it unless tfd is stopping");
                                // not at once: a sweeper that cannot run must not spin
                                self.respawn_sweep_at = Some(Instant::now() + Duration::from_secs(10));
                            }
                        } else if pid.as_raw() == self.fai_pid {
                            self.fai_pid = 0;
                            if !self.stopping {
                                warn!("FAI issuer ended ({status:?}); restarting it unless tfd is stopping");
                                self.respawn_fai_at = Some(Instant::now() + RESPAWN_DELAY);
                            }
                        } else if pid.as_raw() == self.udp_pid {
                            self.udp_pid = 0;
                            if !self.stopping {
                                warn!("UDP responder ended ({status:?}); restarting it unless tfd is stopping");
                                self.respawn_udp_at = Some(Instant::now() + RESPAWN_DELAY);
                            }
                        } else if let Some(info) = self.children.remove(&pid.as_raw()) {
                            self.ctx.registry.free(info.slot);
                            if self.ctx.cfg.runbash.is_some() {
                                self.sweep_cgroups(CGROUP_SWEEPS);
                            }
                            match status {
                                WaitStatus::Exited(_, 0) => {}
                                WaitStatus::Signaled(_, Signal::SIGTERM | Signal::SIGKILL, _) if self.stopping => {}
                                other => warn!("session {} ({}) ended abnormally: {other:?}", pid, info.peer),
                            }
                        }
                    }
                }
            }
        }
    }

    /// Answers one admin request on the control socket.
    fn serve_control(&mut self) {
        let Some(listener) = &self.control else { return };
        let conn = match listener.accept() {
            Ok((c, _)) => c,
            Err(_) => return,
        };
        self.control_conn = Some(std::os::fd::AsRawFd::as_raw_fd(&conn));
        self.answer_control(&conn);
        self.control_conn = None;
    }

    fn answer_control(&mut self, conn: &std::os::unix::net::UnixStream) {
        use super::control::{self, Request};
        let line = match control::read_request(conn) {
            Ok(l) => l,
            Err(e) => {
                warn!("control: {e}");
                control::respond(conn, &format!("error: {e}"));
                return;
            }
        };
        let req = match control::parse(&line) {
            Ok(r) => r,
            Err(e) => {
                control::respond(conn, &format!("error: {e}"));
                return;
            }
        };
        info!("control: {line}");
        let text = match req {
            Request::Sessions => self.sessions_text(),
            Request::KickPid(pid) => {
                if self.children.contains_key(&pid) {
                    let _ = kill(Pid::from_raw(pid), Signal::SIGTERM);
                    format!("ok: kicked session {pid}")
                } else {
                    format!("error: no session with pid {pid}")
                }
            }
            Request::KickIp(ip) => format!("ok: kicked {} session(s) from {ip}", self.kick_ip(ip)),
            Request::Ban(ip, d) => {
                self.ctx.metrics.inc(super::metrics::Counter::BansControl);
                let n = self.kick_ip(ip);
                // a shared ban is kept only there, so that an unban on any node
                // lifts it; this node's own list is the fallback
                let shared = match self.shared_bans.as_mut().map(|c| c.ban(ip, d)) {
                    Some(Ok(())) => ", on every node".to_string(),
                    None => {
                        self.bans.ban(ip, d);
                        String::new()
                    }
                    Some(Err(e)) => {
                        self.bans.ban(ip, d);
                        error!("control: ban of {ip} not written to the shared state: {e}");
                        format!(", on this node only (the shared state failed: {e})")
                    }
                };
                warn!(
                    "control: banned {ip} for {}s{shared}, kicked {n} session(s)",
                    d.as_secs()
                );
                format!("ok: banned {ip} for {}s{shared}, kicked {n} session(s)", d.as_secs())
            }
            Request::Unban(ip) => {
                let here = self.bans.unban(&ip);
                match self.shared_bans.as_mut().map(|c| c.unban(ip)) {
                    Some(Err(e)) => {
                        error!("control: unban of {ip} not written to the shared state: {e}");
                        format!("error: {ip} stays banned on the other nodes: the shared state failed: {e}")
                    }
                    Some(Ok(true)) => format!("ok: unbanned {ip} on every node"),
                    _ if here => format!("ok: unbanned {ip}"),
                    _ => format!("error: {ip} was not banned"),
                }
            }
            Request::Reload => {
                self.reload();
                "ok: reload done (see the log for its outcome)".to_string()
            }
            Request::Metrics => {
                let phases = self.ctx.registry.phases();
                let states: Vec<(&str, u64)> = super::registry::PHASE_NAMES.iter().copied().zip(phases).collect();
                self.ctx.metrics.render(&states, self.ctx.registry.capacity())
            }
            Request::Stats => format!(
                "uptime_s {}\nsessions {}\naccepted {}\nrefused {}\nregistry_slots {}\nudp_responder_pid {}",
                self.started.elapsed().as_secs(),
                self.children.len(),
                self.accepted,
                self.refused,
                self.ctx.registry.capacity(),
                self.udp_pid
            ),
        };
        control::respond(conn, &text);
    }

    /// Ends every session from `ip`; returns how many.
    fn kick_ip(&self, ip: IpAddr) -> usize {
        let pids: Vec<i32> = self
            .children
            .iter()
            .filter(|(_, c)| c.peer.ip() == ip)
            .map(|(p, _)| *p)
            .collect();
        for p in &pids {
            let _ = kill(Pid::from_raw(*p), Signal::SIGTERM);
        }
        pids.len()
    }

    /// One line per session: pid, peer, LOGIN name (`-` without one), the
    /// system user and uid it runs as, start time, bytes, current command.
    fn sessions_text(&self) -> String {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        let mut out = String::from("PID\tPEER\tLOGIN\tUSER\tUID\tSINCE\tSECONDS\tBYTES_IN\tBYTES_OUT\tCOMMAND\n");
        let mut slots = self.ctx.registry.snapshot();
        slots.sort_by_key(|s| s.pid);
        for s in slots.iter().filter(|s| self.children.contains_key(&(s.pid as i32))) {
            let user = nix::unistd::User::from_uid(nix::unistd::Uid::from_raw(s.uid))
                .ok()
                .flatten()
                .map(|u| u.name)
                .unwrap_or_else(|| s.uid.to_string());
            let since = crate::wire::date::format_utc(s.started as i64)
                .unwrap_or_default()
                .replace(' ', "T");
            out.push_str(&format!(
                "{}\t{}\t{}\t{}\t{}\t{}Z\t{}\t{}\t{}\t{}\n",
                s.pid,
                s.peer,
                if s.login.is_empty() {
                    "-".to_string()
                } else {
                    // one row per session, whatever a name holds
                    s.login.replace(|c: char| c.is_control(), "?")
                },
                user,
                s.uid,
                since,
                now.saturating_sub(s.started),
                s.bytes.0,
                s.bytes.1,
                if s.command.is_empty() { "-" } else { &s.command }
            ));
        }
        out
    }

    fn reload(&mut self) {
        super::sd_notify::reloading();
        self.apply_reload();
        // whether applied or refused, the old or new configuration is in force
        super::sd_notify::ready();
    }

    fn apply_reload(&mut self) {
        let Some(path) = self.opts.config_path.clone() else {
            warn!("reload requested but tfd was started without a config file; ignored");
            return;
        };
        let cfg = match Config::load(&path).and_then(|c| c.validate().map(|_| c)) {
            Ok(c) => c,
            Err(e) => {
                error!("reload refused, keeping the old configuration: {e}");
                return;
            }
        };
        let defusr = match resolve_defusr(&cfg, self.opts.serve_as_self) {
            Ok(d) => d,
            Err(e) => {
                error!("reload refused, keeping the old configuration: {e}");
                return;
            }
        };

        let tlb = match load_tlb(&cfg) {
            Ok(t) => t,
            Err(e) => {
                error!("reload refused, keeping the old configuration: {e}");
                return;
            }
        };
        let shared_bans = if cfg.shared_state_dir == self.ctx.cfg.shared_state_dir {
            None
        } else {
            match shared_bans(&cfg) {
                Ok(c) => Some(c),
                Err(e) => {
                    error!("reload refused, keeping the old configuration: {e}");
                    return;
                }
            }
        };
        // rotation: rename the log, then SIGHUP; a new file is opened here
        let xferlog = match open_xferlog(&cfg) {
            Ok(x) => x,
            Err(e) => {
                error!("reload refused, keeping the old configuration: {e}");
                return;
            }
        };
        let rsa = match super::load_key(&cfg) {
            Ok(k) => k,
            Err(e) => {
                error!("reload refused, keeping the old configuration: {e}");
                return;
            }
        };
        // a new key is a new server identity: tokens issued from now on are
        // bound to it, and the old key's tokens are unknown (fai_dir stays)
        let fai = match crate::auth::fai::server_id(&rsa) {
            Ok(id) if id != self.ctx.fai.store().server() => {
                info!("reload: a new key; FAI tokens issued under the old one are no longer honoured");
                Some(Arc::new(super::fai::FaiLink::closed(crate::auth::fai::Store::new(
                    self.ctx.fai.store().dir(),
                    id,
                ))))
            }
            Ok(_) => None,
            Err(e) => {
                error!("reload refused, keeping the old configuration: FAI server identity: {e}");
                return;
            }
        };
        // the old key process answers the sessions still holding its request end,
        // and ends once they have all closed it; the new one starts at the new boost
        super::priority::boost(cfg.priority_boost);
        let keys = match self.spawn_keys(&rsa) {
            Ok(k) => k,
            Err(e) => {
                super::priority::boost(self.ctx.cfg.priority_boost);
                error!("reload refused, keeping the old configuration: {e}");
                return;
            }
        };
        drop(rsa);
        if cfg.listen != self.ctx.cfg.listen {
            warn!("reload: listen addresses changed; they take effect on restart only");
        }
        if let Some(c) = shared_bans {
            self.shared_bans = c;
        }
        let mut cfg = cfg;
        cfg.listen = self.ctx.cfg.listen.clone();
        cfg.forget_private_key();
        self.ctx = Arc::new(Context {
            cfg,
            keys,
            fai: fai.clone().unwrap_or_else(|| self.ctx.fai.clone()),
            serve_as_self: self.opts.serve_as_self,
            defusr,
            self_user: self.ctx.self_user.clone(),
            registry: self.ctx.registry.clone(),
            tlb: tlb.clone(),
            throttle: self.ctx.throttle.clone(),
            xferlog,
            metrics: self.ctx.metrics.clone(),
            buckets: self.ctx.buckets.clone(),
        });
        if fai.is_some() {
            // the old issuer ends once the sessions holding its request end have
            self.respawn_fai_at = None;
            self.spawn_fai();
        }
        // the responder holds the old TLB list: replace it
        self.udp.tlb = tlb;
        self.udp.trp = self.ctx.cfg.trp.clone().map(|t| (t, self.ctx.cfg.port));
        if self.udp_pid > 0 {
            let old = self.udp_pid;
            self.udp_pid = 0;
            let _ = kill(Pid::from_raw(old), Signal::SIGTERM);
        }
        self.spawn_udp();
        // a daemon's stderr is /dev/null: it keeps logging to syslog
        let target = match (self.opts.daemon_pidfile.is_some(), self.ctx.cfg.log_target) {
            (true, crate::logging::LogTarget::Stderr) => crate::logging::LogTarget::Syslog,
            (_, t) => t,
        };
        crate::logging::init(target, self.ctx.cfg.log_level.as_deref().and_then(|l| l.parse().ok()));
        info!("configuration reloaded from {}", path.display());
    }

    /// Stops: no more accepting, helpers told to end, sessions given the grace
    /// period, then SIGTERM, then SIGKILL. Every wait here is bounded, so the
    /// listener always exits, whatever state a child is in.
    fn shutdown(&mut self) {
        super::sd_notify::stopping();
        info!("shutting down: {} session(s) open", self.children.len());
        self.stopping = true;
        self.respawn_keys_at = None;
        self.respawn_udp_at = None;
        self.respawn_fai_at = None;
        self.respawn_sweep_at = None;
        self.listeners.clear();
        self.control = None;
        // the key process also ends by itself once every request end is closed
        self.ctx.keys.close();
        self.ctx.fai.close();
        for pid in [self.udp_pid, self.key_pid, self.fai_pid, self.sweep_pid] {
            if pid > 0 {
                let _ = kill(Pid::from_raw(pid), Signal::SIGTERM);
            }
        }
        // sessions get the grace period to finish on their own, then SIGTERM,
        // then a second later SIGKILL
        let grace = self.ctx.cfg.shutdown_grace;
        for (wait, signal) in [(grace, Signal::SIGTERM), (Duration::from_secs(1), Signal::SIGKILL)] {
            let deadline = Instant::now() + wait;
            while !self.children.is_empty() && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(20));
                self.reap();
            }
            if !self.children.is_empty() {
                info!("ending {} session(s) with {signal:?}", self.children.len());
            }
            for pid in self.children.keys() {
                let _ = kill(Pid::from_raw(*pid), signal);
            }
        }
        // the helpers: SIGTERMed above; SIGKILL whatever is left after a while
        let deadline = Instant::now() + HELPER_STOP_WAIT;
        while (self.udp_pid > 0 || self.key_pid > 0 || self.fai_pid > 0 || self.sweep_pid > 0)
            && Instant::now() < deadline
        {
            std::thread::sleep(Duration::from_millis(20));
            self.reap();
        }
        for pid in [self.udp_pid, self.key_pid, self.fai_pid, self.sweep_pid] {
            if pid > 0 {
                warn!("helper process {pid} did not end on SIGTERM; killing it");
                let _ = kill(Pid::from_raw(pid), Signal::SIGKILL);
            }
        }
        // everything left was sent SIGKILL, which no process can ignore: so no tfd
        // process outlives the listener, and this wait ends
        while !self.children.is_empty()
            || self.udp_pid > 0
            || self.key_pid > 0
            || self.fai_pid > 0
            || self.sweep_pid > 0
        {
            match waitpid(Pid::from_raw(-1), None) {
                Ok(s) => {
                    if let Some(p) = s.pid() {
                        let p = p.as_raw();
                        if let Some(info) = self.children.remove(&p) {
                            self.ctx.registry.free(info.slot);
                        }
                        for h in [
                            &mut self.udp_pid,
                            &mut self.key_pid,
                            &mut self.fai_pid,
                            &mut self.sweep_pid,
                        ] {
                            if *h == p {
                                *h = 0;
                            }
                        }
                    }
                }
                Err(nix::errno::Errno::EINTR) => {}
                Err(_) => break,
            }
        }
        // the script hosts die with their sessions, a moment later: their
        // groups go once they are empty (a reload may have turned runbash off
        // since they were made)
        let deadline = Instant::now() + CGROUP_SWEEP_DELAY * CGROUP_SWEEPS;
        while crate::sandbox::remove_stale_cgroups() > 0 && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        info!("stopped");
    }

    fn refuse_reason(&mut self, ip: IpAddr) -> Option<(Refusal, String)> {
        if let Some(left) = self.bans.remaining(&ip) {
            return Some((Refusal::Banned, format!("banned for {}s more", left.as_secs())));
        }
        if let Some(left) = self.shared_bans.as_ref().and_then(|c| c.remaining(&ip)) {
            return Some((
                Refusal::Banned,
                format!("banned on every node for {}s more", left.as_secs()),
            ));
        }
        let cfg = &self.ctx.cfg;
        if self.children.len() >= cfg.max_sessions as usize {
            return Some((
                Refusal::MaxSessions,
                format!("max_sessions {} reached", cfg.max_sessions),
            ));
        }
        let from_ip = self.children.values().filter(|c| c.peer.ip() == ip).count();
        if from_ip >= cfg.max_sessions_per_ip as usize {
            return Some((
                Refusal::MaxSessionsPerIp,
                format!("max_sessions_per_ip {} reached", cfg.max_sessions_per_ip),
            ));
        }
        None
    }

    fn accept(&mut self, i: usize) {
        loop {
            let (stream, peer) = match self.listeners[i].accept() {
                Ok(x) => x,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    warn!("accept: {e}");
                    return;
                }
            };
            // Reap first so limits count only live sessions.
            self.reap();
            if super::proxy_header::expected(&self.ctx.cfg, peer) {
                // the client's address comes with the header: everything waits for it
                if !self.waiting.add(stream, peer) {
                    self.refused += 1;
                    self.ctx.metrics.refused(Refusal::MaxSessions);
                    warn!(
                        "{peer} refused: {} balancer connections already wait for their PROXY header",
                        super::proxy_header::MAX_WAITING
                    );
                }
                continue;
            }
            self.admit(stream, peer);
        }
    }

    /// Applies the connection limits to a client (its own address, or the one a
    /// balancer's PROXY header gave) and forks its session.
    fn admit(&mut self, stream: std::net::TcpStream, peer: SocketAddr) {
        if let Some((kind, why)) = self.refuse_reason(peer.ip()) {
            self.refused += 1;
            self.ctx.metrics.refused(kind);
            warn!("{peer} refused: {why}");
            return;
        }
        let Some(slot) = self.ctx.registry.reserve(peer) else {
            warn!("{peer} refused: session registry full");
            self.ctx.metrics.refused(Refusal::RegistryFull);
            return;
        };
        debug_assert_eq!(sys::thread_count(), 1, "the listener must be single-threaded to fork");
        match sys::fork_helper(&SIGNALS) {
            Ok(Fork::Child) => {
                for fd in self.session_must_close() {
                    sys::close_fd(fd);
                }
                if stream.set_nonblocking(false).is_ok() {
                    session::serve(stream, peer, self.ctx.clone(), slot);
                }
                sys::exit_now(0);
            }
            Ok(Fork::Parent(pid)) => {
                self.accepted += 1;
                self.ctx.metrics.inc(super::metrics::Counter::Accepted);
                self.ctx.registry.set_pid(slot, pid as u32);
                self.children.insert(pid, ChildInfo { peer, slot });
            }
            Err(e) => {
                self.ctx.registry.free(slot);
                error!("{peer} fork failed: {e}");
            }
        }
    }
}
