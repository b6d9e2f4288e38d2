//! The run: the server, the keeper, the clients and their helpers, then the
//! checks and the figures.

use super::checks::{
    count_part_files, drain, fill_slots, owner_entry_intact, raise_nofile, release_keeper, take_every_lock,
    RemoveOnDrop,
};
use super::content::Rng;
use super::control::{controller, ctl_sessions};
use super::lifecycle;
use super::options::Options;
use super::procfs::{fd_count, fd_list, listener_sample, monitor, sessions, Monitor};
use super::report::{report, End, Stats};
use super::tally::{Shared, Tally};
use super::worker::Worker;
use crate::support::{log_problems, private_tempdir, tfd_binary, Server};
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use std::collections::{HashMap, HashSet};
use std::fs;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};
use tfp_client::Client;
use tfp_client::ClientConfig;

/// Client I/O timeout: generous, since 256 clients share two CPUs with the server.
pub(crate) const IO_TIMEOUT: Duration = Duration::from_secs(60);
/// How long after the deadline the run may take before the watchdog ends it.
pub(crate) const WATCHDOG_GRACE: Duration = Duration::from_secs(240);
/// The lock files' directory in the served root (not a secure directory).
pub(crate) const LOCK_DIR: &str = "locks";
/// The lock the keeper holds from before the first client until after the
/// leftover check: every wait on it is one its client abandons.
pub(crate) const KEEP_LOCK: &str = "locks/keep";
/// The keeper's NETLOCK timeout (the protocol's longest, a week): longer than any run.
pub(crate) const KEEP_SECS: u64 = 604_800;

pub(crate) fn run() -> Result<bool, String> {
    let o = Options::parse()?;
    let bin = tfd_binary()?;
    let slots_wanted = o.clients * 2 + 64;
    let nofile = raise_nofile((slots_wanted as u64) * 2 + 1024);
    if nofile < slots_wanted as u64 + 256 {
        return Err(format!("RLIMIT_NOFILE is {nofile}: too low for {} clients", o.clients));
    }
    let ctl_dir = private_tempdir("soak-ctl")?;
    let sock = ctl_dir.join("ctl.sock");
    let _cleanup = RemoveOnDrop(ctl_dir.clone());
    let (mut server, listener, cfg) = start_server(&bin, &sock, slots_wanted)?;
    println!(
        "soak: {} clients for {} s, {} SIGKILLs, transfers up to {} B, seed {}, tfd {} (pid {listener}), RLIMIT_NOFILE {nofile}",
        o.clients,
        o.secs,
        o.kills,
        o.max_size,
        o.seed,
        bin.display()
    );
    let start_sample = listener_sample(listener);
    let start_fds = fd_list(listener);
    let (lock_files, lock_names) = make_locks(&server, o.clients)?;
    let (keeper, keeper_port, keeper_pid) = start_keeper(&cfg, &bin, &sock)?;

    let started = Instant::now();
    let shared = Arc::new(Shared {
        killed: Mutex::new(HashMap::new()),
        deadline: started + Duration::from_secs(o.secs),
        ops: AtomicU64::new(0),
        lock_files,
        keeper_port,
        netlock_kills: AtomicU64::new(0),
        started,
        abandons: AtomicU64::new(0),
        abandons_max: o.clients.max(16) as u64,
    });
    watchdog(shared.deadline + WATCHDOG_GRACE, listener);
    let stop_monitor = Arc::new(AtomicBool::new(false));
    let mon = Arc::new(Mutex::new(Monitor::default()));
    let mon_thread = {
        let (stop, m) = (stop_monitor.clone(), mon.clone());
        let secs = o.secs;
        thread::spawn(move || monitor(listener, started, secs, &stop, &m))
    };
    let ctl_thread = {
        let (bin, sock, shared) = (bin.clone(), sock.clone(), shared.clone());
        let (secs, kills, seed) = (o.secs, o.kills, o.seed);
        thread::spawn(move || controller(&bin, &sock, &shared, started, secs, kills, seed))
    };
    let progress = progress(shared.clone(), started);
    let mut total = run_clients(&o, &cfg, &shared)?;
    let elapsed = started.elapsed().as_secs_f64();
    let kills_done = ctl_thread.join().unwrap_or(0);
    let _ = progress.join();

    // ---- after every client closed -------------------------------------------
    let leftover = drain(listener, Duration::from_secs(20), &[keeper_pid]);
    let ctl_rows: Vec<_> = ctl_sessions(&bin, &sock)?
        .into_iter()
        .filter(|r| r.1 != keeper_port)
        .collect();
    // sessions still waiting in NETLOCK although every client has left
    let netlock_left = ctl_rows.iter().filter(|r| r.2 == "NETLOCK").count();
    let keeper_check = release_keeper(&cfg, keeper);
    let (locks_free, locks_note) = take_every_lock(&cfg, &lock_names, Duration::from_secs(10));
    // (after the probes too: `tfd ctl stats` below must count no session)
    let leftover_after_release = drain(listener, Duration::from_secs(20), &[]);
    let secure_ids: Vec<usize> = (0..o.clients).filter(|id| id % 4 == 0).collect();
    let sec_meta_bad = secure_ids
        .iter()
        .filter(|&&id| !owner_entry_intact(&server.data_dir(), id))
        .count();
    let stats = Stats::ask(&bin, &sock)?;
    // (the per-session figures describe the load, not the slot check below)
    stop_monitor.store(true, Ordering::Relaxed);
    let _ = mon_thread.join();
    let (filled, fill_note) = fill_slots(&cfg, stats.slots as usize);
    let leftover_after_fill = drain(listener, Duration::from_secs(20), &[]);
    let ctl_rows_after_fill = ctl_sessions(&bin, &sock)?.len();
    let netlock_kills = shared.netlock_kills.load(Ordering::Relaxed);
    let end_sample = listener_sample(listener);
    if end_sample.fds != start_sample.fds {
        println!(
            "listener descriptors at the start: {start_fds:?}\n  at the end: {:?}",
            fd_list(listener)
        );
    }
    let m = std::mem::take(&mut *mon.lock().map_err(|_| "monitor lock poisoned")?);
    let warm = m.warm.unwrap_or(start_sample);
    let middle = m.middle.unwrap_or(warm);
    let log = server.log_text();
    let part_files = count_part_files(&server.data_dir());
    let stop_status = server.stop().unwrap_or_default();
    let problems_in_log = log_problems(&log);
    let life_dir = private_tempdir("soak-life")?;
    let _cleanup_life = RemoveOnDrop(life_dir.clone());
    let life = lifecycle::run(&bin, &life_dir, (o.clients / 4).max(2), o.secs.min(20))?;
    let end = End {
        elapsed,
        kills_done,
        lock_files,
        lock_names: lock_names.len(),
        leftover,
        leftover_after_release,
        leftover_after_fill,
        ctl_rows: ctl_rows.len(),
        ctl_rows_after_fill,
        netlock_left,
        netlock_kills,
        keeper_check,
        locks_free,
        locks_note,
        secure_dirs: secure_ids.len(),
        sec_meta_bad,
        stats,
        filled,
        fill_note,
        samples: [start_sample, warm, middle, end_sample],
        monitor: m,
        log,
        part_files,
        stop_status,
        problems_in_log,
        life,
    };
    Ok(report(&o, &mut total, &end))
}

/// Starts tfd with its control socket at `sock` and room for `slots`
/// sessions, and waits until its listener is idle: its pid and the clients'
/// configuration.
fn start_server(bin: &Path, sock: &Path, slots: usize) -> Result<(Server, u32, ClientConfig), String> {
    let extra = format!(
        "control_socket {}\nmax_sessions {slots}\nmax_sessions_per_ip {slots}\nshutdown_grace 2\n",
        sock.display()
    );
    let server = Server::start_with(bin, &extra)?;
    let listener = server.pid().ok_or("tfd is not running")?;
    let mut cfg = server.client_config();
    cfg.timeout = Some(IO_TIMEOUT);
    // one session of our own, then wait until the listener is idle: no session
    // process (the readiness probe's may be on its way out) and the same
    // descriptors twice in a row, so the start figures hold no transient socket
    Client::connect(&cfg)
        .and_then(|c| c.end())
        .map_err(|e| format!("first session: {e}"))?;
    let until = Instant::now() + Duration::from_secs(10);
    loop {
        let fds = fd_count(listener);
        thread::sleep(Duration::from_millis(200));
        if (sessions(listener).is_empty() && fds == fd_count(listener)) || Instant::now() >= until {
            break;
        }
    }
    Ok((server, listener, cfg))
}

/// The lock files (and their markers) the holders share, and the keeper's:
/// how many shared ones, and every lock's name (the keeper's first).
fn make_locks(server: &Server, clients: usize) -> Result<(usize, Vec<String>), String> {
    let lock_files = (clients / 8).clamp(2, 16);
    let lock_dir = server.data_dir().join(LOCK_DIR);
    let mut lock_names = vec![KEEP_LOCK.to_string()];
    fs::create_dir_all(&lock_dir).map_err(|e| format!("{}: {e}", lock_dir.display()))?;
    for i in 0..lock_files {
        lock_names.push(format!("{LOCK_DIR}/l{i}"));
        for f in [format!("l{i}"), format!("m{i}")] {
            fs::write(lock_dir.join(&f), b"x").map_err(|e| format!("{f}: {e}"))?;
        }
    }
    fs::write(lock_dir.join("keep"), b"x").map_err(|e| format!("keep: {e}"))?;
    Ok((lock_files, lock_names))
}

/// The keeper: a session holding [`KEEP_LOCK`] until the end; its session, its
/// local port and its session process.
fn start_keeper(cfg: &ClientConfig, bin: &Path, sock: &Path) -> Result<(Client, u16, u32), String> {
    let mut keeper = Client::connect(cfg).map_err(|e| format!("the keeper's session: {e}"))?;
    let r = keeper
        .raw(format!("NETLOCK_TRY {KEEP_SECS} {KEEP_LOCK}").as_bytes())
        .map_err(|e| format!("the keeper's NETLOCK_TRY: {e}"))?;
    if r != b"OK 0" {
        return Err(format!("the keeper's NETLOCK_TRY -> {:?}", String::from_utf8_lossy(&r)));
    }
    let keeper_port = keeper.chan.stream().local_addr().map(|a| a.port()).unwrap_or(0);
    let keeper_pid = ctl_sessions(bin, sock)?
        .iter()
        .find(|r| r.1 == keeper_port)
        .map(|r| r.0 as u32)
        .ok_or("the keeper's session is not in tfd ctl sessions")?;
    Ok((keeper, keeper_port, keeper_pid))
}

/// The watchdog: the run stops by itself whatever happens, at `deadline`.
fn watchdog(deadline: Instant, listener: u32) {
    thread::spawn(move || {
        while Instant::now() < deadline {
            thread::sleep(Duration::from_secs(1));
        }
        eprintln!("soak: still running {WATCHDOG_GRACE:?} after the deadline; stopping tfd and giving up");
        let _ = kill(Pid::from_raw(listener as i32), Signal::SIGKILL);
        println!("SOAK result=timeout");
        std::process::exit(3);
    });
}

/// A line of operations done every 30 s until the deadline.
fn progress(shared: Arc<Shared>, started: Instant) -> thread::JoinHandle<()> {
    thread::spawn(move || {
        let every = Duration::from_secs(30);
        let mut next = started + every;
        while Instant::now() < shared.deadline {
            if Instant::now() >= next {
                let ops = shared.ops.load(Ordering::Relaxed);
                println!(
                    "  [{:>4.0}s] {ops} ops ({:.0}/s)",
                    started.elapsed().as_secs_f64(),
                    ops as f64 / started.elapsed().as_secs_f64()
                );
                next += every;
            }
            thread::sleep(Duration::from_millis(200));
        }
    })
}

/// Runs every client to the deadline (their first handshakes spread over
/// about two seconds): their counters, merged.
fn run_clients(o: &Options, cfg: &ClientConfig, shared: &Arc<Shared>) -> Result<Tally, String> {
    let mut workers = Vec::new();
    for id in 0..o.clients {
        let w = Worker {
            id,
            cfg: cfg.clone(),
            rng: Rng(o.seed ^ ((id as u64 + 1) * 0x1000_0000_01b3)),
            max_size: o.max_size,
            shared: shared.clone(),
            tally: Tally::new(),
            dir: format!("c{id}"),
            seq: 0,
            known: Vec::new(),
            maybe: HashSet::new(),
            owner: (id % 4 == 0).then(|| format!("own{id}")),
            secured: false,
            conn: None,
        };
        let h = thread::Builder::new()
            .name(format!("client{id}"))
            .stack_size(256 << 10)
            .spawn(move || w.run())
            .map_err(|e| format!("cannot start client thread {id}: {e}"))?;
        workers.push(h);
        // spread the first handshakes over about two seconds
        thread::sleep(Duration::from_micros(2_000_000 / o.clients as u64));
    }
    let mut total = Tally::new();
    for h in workers {
        match h.join() {
            Ok(t) => total.merge(t),
            Err(_) => {
                total.unexpected += 1;
                total.problem("a client thread panicked".into());
            }
        }
    }
    Ok(total)
}
