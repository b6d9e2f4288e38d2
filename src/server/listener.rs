//! The listener process: single-threaded (so `fork` is safe), it accepts, applies
//! the connection limits, forks a session process per connection, reaps children
//! and turns signals (delivered through a self-pipe, never handled in place) into
//! events: SIGCHLD reap, SIGHUP/SIGUSR1 reload, SIGTERM/SIGINT graceful stop.

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
    /// How long sessions get to finish after SIGTERM before they are killed.
    pub grace: Duration,
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
    /// Whom the UDP responder runs as.
    udp_user: Option<crate::auth::privs::Identity>,
}

/// The signals the listener turns into events.
const SIGNALS: [i32; 5] = [libc::SIGCHLD, libc::SIGTERM, libc::SIGINT, libc::SIGHUP, libc::SIGUSR1];

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

/// Runs the daemon until SIGTERM/SIGINT. Returns after all sessions have ended.
pub fn run(cfg: Config, opts: RunOptions) -> Result<(), String> {
    let rsa = super::load_key(&cfg)?;
    sys::umask(0o022);
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
    let registry = Arc::new(
        super::registry::Registry::new(cfg.max_sessions.max(64) as usize)
            .map_err(|e| format!("session registry: {e}"))?,
    );
    let udp_sockets = super::udp::bind(&cfg.listen).map_err(|e| format!("cannot bind the UDP port: {e}"))?;
    let udp_user = if sys::geteuid() == 0 && !opts.serve_as_self {
        Some(crate::auth::privs::resolve(&cfg.udp_user).map_err(|e| format!("udp_user: {e}"))?)
    } else {
        None
    };
    let udp = super::udp::Responder {
        sockets: udp_sockets,
        registry: registry.clone(),
        tlb: tlb.clone(),
    };
    let ctx = Arc::new(Context {
        cfg,
        rsa,
        serve_as_self: opts.serve_as_self,
        defusr,
        self_user: crate::auth::privs::current_user_name(),
        registry,
        tlb,
        throttle: Arc::new(
            crate::auth::throttle::Throttle::new(crate::auth::throttle::DEFAULT_SLOTS)
                .map_err(|e| format!("login throttle table: {e}"))?,
        ),
    });
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
    };
    l.spawn_udp();
    l.main_loop();
    Ok(())
}

impl Listener {
    /// Starts (or restarts) the UDP responder process.
    fn spawn_udp(&mut self) {
        match super::udp::spawn(&self.udp, self.udp_user.as_ref()) {
            Ok(pid) => self.udp_pid = pid,
            Err(e) => error!("cannot start the UDP responder: {e}"),
        }
    }

    fn main_loop(&mut self) {
        loop {
            let mut signals = Vec::new();
            let mut ready = Vec::new();
            let mut woke = false;
            {
                let mut fds: Vec<PollFd> = self
                    .listeners
                    .iter()
                    .map(|l| PollFd::new(l.as_fd(), PollFlags::POLLIN))
                    .collect();
                fds.push(PollFd::new(self.sig_rx.as_fd(), PollFlags::POLLIN));
                match poll(&mut fds, PollTimeout::NONE) {
                    Ok(_) => {}
                    Err(nix::errno::Errno::EINTR) => {}
                    Err(e) => {
                        error!("poll: {e}");
                        std::thread::sleep(Duration::from_millis(100));
                    }
                }
                for (i, fd) in fds.iter().enumerate() {
                    if fd.revents().is_some_and(|r| !r.is_empty()) {
                        if i == self.listeners.len() {
                            woke = true;
                        } else {
                            ready.push(i);
                        }
                    }
                }
            }
            if woke {
                signals = self.drain_signals();
            }
            for sig in signals {
                match sig {
                    libc::SIGCHLD => self.reap(),
                    libc::SIGHUP | libc::SIGUSR1 => self.reload(),
                    libc::SIGTERM | libc::SIGINT => {
                        self.shutdown();
                        return;
                    }
                    _ => {}
                }
            }
            for i in ready {
                self.accept(i);
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
                        if pid.as_raw() == self.udp_pid {
                            self.udp_pid = 0;
                            if !self.stopping {
                                warn!("UDP responder ended ({status:?}); restarting it");
                                std::thread::sleep(Duration::from_millis(100));
                                self.spawn_udp();
                            }
                        } else if let Some(info) = self.children.remove(&pid.as_raw()) {
                            self.ctx.registry.free(info.slot);
                            match status {
                                WaitStatus::Exited(_, 0) => {}
                                WaitStatus::Signaled(_, Signal::SIGTERM, _) if self.stopping => {}
                                other => warn!("session {} ({}) ended abnormally: {other:?}", pid, info.peer),
                            }
                        }
                    }
                }
            }
        }
    }

    fn reload(&mut self) {
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
        if std::env::var_os("RUST_LOG").is_none() {
            if let Some(level) = cfg.log_level.as_deref().and_then(|l| l.parse().ok()) {
                log::set_max_level(level);
            }
        }
        let rsa = match super::load_key(&cfg) {
            Ok(k) => k,
            Err(e) => {
                error!("reload refused, keeping the old configuration: {e}");
                return;
            }
        };
        if cfg.listen != self.ctx.cfg.listen {
            warn!("reload: listen addresses changed; they take effect on restart only");
        }
        let mut cfg = cfg;
        cfg.listen = self.ctx.cfg.listen.clone();
        self.ctx = Arc::new(Context {
            cfg,
            rsa,
            serve_as_self: self.opts.serve_as_self,
            defusr,
            self_user: self.ctx.self_user.clone(),
            registry: self.ctx.registry.clone(),
            tlb: tlb.clone(),
            throttle: self.ctx.throttle.clone(),
        });
        // the responder holds the old TLB list: replace it
        self.udp.tlb = tlb;
        if self.udp_pid > 0 {
            let old = self.udp_pid;
            self.udp_pid = 0;
            let _ = kill(Pid::from_raw(old), Signal::SIGTERM);
        }
        self.spawn_udp();
        info!("configuration reloaded from {}", path.display());
    }

    fn shutdown(&mut self) {
        info!("shutting down: {} session(s) open", self.children.len());
        self.stopping = true;
        self.listeners.clear();
        if self.udp_pid > 0 {
            let _ = kill(Pid::from_raw(self.udp_pid), Signal::SIGTERM);
        }
        for pid in self.children.keys() {
            let _ = kill(Pid::from_raw(*pid), Signal::SIGTERM);
        }
        let deadline = Instant::now() + self.opts.grace;
        while !self.children.is_empty() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
            self.reap();
        }
        for pid in self.children.keys() {
            let _ = kill(Pid::from_raw(*pid), Signal::SIGKILL);
        }
        while !self.children.is_empty() {
            match waitpid(Pid::from_raw(-1), None) {
                Ok(s) => {
                    if let Some(p) = s.pid() {
                        self.children.remove(&p.as_raw());
                    }
                }
                Err(_) => break,
            }
        }
        if self.udp_pid > 0 {
            // SIGTERMed above; wait so no tfd process outlives the listener
            let _ = waitpid(Pid::from_raw(self.udp_pid), None);
            self.udp_pid = 0;
        }
        info!("stopped");
    }

    fn refuse_reason(&self, ip: IpAddr) -> Option<String> {
        let cfg = &self.ctx.cfg;
        if self.children.len() >= cfg.max_sessions as usize {
            return Some(format!("max_sessions {} reached", cfg.max_sessions));
        }
        let from_ip = self.children.values().filter(|c| c.peer.ip() == ip).count();
        if from_ip >= cfg.max_sessions_per_ip as usize {
            return Some(format!("max_sessions_per_ip {} reached", cfg.max_sessions_per_ip));
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
            if let Some(why) = self.refuse_reason(peer.ip()) {
                warn!("{peer} refused: {why}");
                drop(stream);
                continue;
            }
            let Some(slot) = self.ctx.registry.reserve(peer) else {
                warn!("{peer} refused: session registry full");
                continue;
            };
            debug_assert_eq!(sys::thread_count(), 1, "the listener must be single-threaded to fork");
            match sys::fork() {
                Ok(Fork::Child) => {
                    self.listeners.clear();
                    for sig in SIGNALS {
                        sys::default_signal(sig);
                    }
                    sys::die_with_parent();
                    if stream.set_nonblocking(false).is_ok() {
                        session::serve(stream, peer, self.ctx.clone(), slot);
                    }
                    sys::exit_now(0);
                }
                Ok(Fork::Parent(pid)) => {
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
}
