//! The listener process: single-threaded (so `fork` is safe), it accepts, applies
//! the connection limits, forks a session process per connection, reaps children
//! and turns signals (delivered through a self-pipe, never handled in place) into
//! events: SIGCHLD reap, SIGHUP/SIGUSR1 reload, SIGTERM/SIGINT graceful stop.

use crate::config::Config;
use crate::services::metrics::Refusal;
use crate::session::{self, Context, Lasting, Loaded};
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
use tfd_sys::{self as sys, Fork};

mod accept;
mod bans;
mod control;
mod events;
mod helpers;
mod reload;
mod setup;
mod shutdown;
mod start;
mod supervisor;

use setup::{
    fai_store, load_tlb, open_xferlog, prepare_for_sessions, resolve_defusr, resolve_user, shared_bans, write_pidfile,
};
pub use start::StartError;
use start::Step as _;
use supervisor::Helper;

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
    /// `tfd ctl kick` (or a ban) sent it SIGTERM: its end is logged as that.
    kicked: bool,
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
    /// Whom the UDP responder and the key process run as.
    udp_user: Option<crate::auth::privs::Identity>,
    /// The helper processes' pids and when a dead one is due to be restarted.
    helpers: supervisor::Helpers,
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
    /// How the sessions reaped lately ended, for their clients to ask.
    ends: super::session_ends::SessionEnds,
    /// When the listener started, and what it has seen since.
    started: Instant,
    accepted: u64,
    refused: u64,
}

use super::SIGNALS;

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

/// Runs the daemon until SIGTERM/SIGINT. Returns after all sessions have ended.
pub fn run(mut cfg: Config, opts: RunOptions) -> Result<(), StartError> {
    let rsa = super::load_key(&cfg)?;
    let fai_store = fai_store(&cfg, &rsa)?;
    let udp_user = if sys::geteuid() == 0 && !opts.serve_as_self {
        Some(resolve_user("udp_user", &cfg.udp_user)?)
    } else {
        None
    };
    cfg.forget_private_key();
    sys::umask(0o022);
    // before any session can chroot or drop privileges: SETTZ reads zones beneath it
    crate::services::tz::preload();
    let mut listeners = Vec::new();
    for addr in &cfg.listen {
        let l = bind(*addr).map_err(|e| StartError::Listen(*addr, e))?;
        info!(
            "listening on {}",
            l.local_addr().map(|a| a.to_string()).unwrap_or_default()
        );
        listeners.push(l);
    }
    let (sig_rx, sig_tx) = UnixStream::pair()?;
    sig_rx.set_nonblocking(true)?;
    let mut sig_flags = Vec::new();
    for sig in SIGNALS {
        let flag = Arc::new(AtomicBool::new(false));
        // Order matters: the flag is set before the wake-up byte is written.
        signal_hook::flag::register(sig, flag.clone()).step("signal setup")?;
        let tx = sig_tx.try_clone()?;
        signal_hook::low_level::pipe::register(sig, tx).step("signal setup")?;
        sig_flags.push((sig, flag));
    }
    drop(sig_tx);
    let defusr = resolve_defusr(&cfg, opts.serve_as_self)?;
    let tlb = load_tlb(&cfg)?;
    let (shared_state, shared_bans) = shared_bans(&cfg, None)?;
    let cfg_control = cfg.control_socket.clone();
    let xferlog = open_xferlog(&cfg)?;
    let registry =
        Arc::new(crate::services::registry::Registry::new(cfg.max_sessions.max(64) as usize).step("session registry")?);
    let registry_slots = registry.capacity();
    let udp_sockets = super::udp::bind(&cfg.listen).step("cannot bind the UDP port")?;
    let udp = super::udp::Responder {
        sockets: udp_sockets,
        registry: registry.clone(),
        tlb: tlb.clone(),
        trp: cfg.trp.clone().map(|t| (t, cfg.port)),
    };
    let services = crate::services::Services {
        // the key process starts below, once the listener has daemonized
        keys: crate::services::keys::KeyLink::closed(),
        // the issuer starts with the key process
        fai: Arc::new(crate::services::fai::FaiLink::closed(fai_store)),
        registry,
        metrics: Arc::new(
            crate::services::metrics::Metrics::new(crate::commands::table::TABLE.iter().map(|s| (s.name, s.transfer)))
                .step("metrics table")?,
        ),
    };
    let lasting = Lasting {
        commands: crate::commands::table::TABLE,
        serve_as_self: opts.serve_as_self,
        self_user: crate::auth::privs::current_user_name(),
        throttle: Arc::new(
            crate::auth::throttle::Throttle::new(crate::auth::throttle::DEFAULT_SLOTS).step("login throttle table")?,
        ),
        buckets: Arc::new(tfp_channel::bandwidth::Buckets::new(registry_slots).step("bandwidth buckets")?),
    };
    let loaded = Loaded {
        cfg,
        defusr,
        tlb,
        xferlog,
        shared_state,
    };
    let ctx = Arc::new(Context::new(loaded, services, lasting));
    let control_path = match (&cfg_control, sys::geteuid() == 0 && !opts.serve_as_self) {
        (Some(p), _) => Some(p.clone()),
        (None, true) => Some(PathBuf::from(crate::config::DEFAULT_CONTROL_SOCKET)),
        (None, false) => None,
    };
    let (control, control_file) = match &control_path {
        Some(p) => match super::control_socket::bind(p) {
            Ok((l, file)) => {
                info!("control socket {}", p.display());
                (Some(l), Some(file))
            }
            Err(e) if cfg_control.is_some() => return Err(StartError::Control(p.clone(), e)),
            Err(e) => {
                warn!("no control socket ({}: {e})", p.display());
                (None, None)
            }
        },
        None => (None, None),
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
        udp_user,
        helpers: Default::default(),
        sweep_cgroups_at: None,
        control,
        control_conn: None,
        bans: Default::default(),
        shared_bans,
        waiting: Default::default(),
        ends: Default::default(),
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
        daemon_ready = Some(sys::daemonize().step("daemonize")?);
        write_pidfile(pidfile).map_err(|e| StartError::Pidfile(pidfile.clone(), e))?;
    }
    prepare_for_sessions();
    crate::services::priority::boost(l.ctx.cfg.priority_boost, l.ctx.cfg.priority_boost_asked);
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
    if let Some(file) = control_file {
        file.remove();
    }
    Ok(())
}
