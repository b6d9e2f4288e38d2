//! Per-operation cost of the release `tfd` under concurrency (issue "Small files and
//! many clients as fast as big files"), every figure a ratio against a baseline
//! measured in the same run on the same server (the VM's speed drifts by ±20%):
//!
//! 1. ECHO with 8 clients on open sessions: the baseline of the small operations.
//! 2. 16 KiB SNDFILE, RCVFILE, PUT, GET, SUP and SDOWN, 8 clients each on open
//!    sessions, each client on its own file. Target: each at least 0.2× the ECHO rate.
//!    Then the disk floor under the uploads: 8 threads doing only what a 16 KiB
//!    upload must do to the served root's file system (atomic as SNDFILE and SUP:
//!    an unnamed file, its data, linked over the old one; in place as PUT), synced
//!    as the server's `sync_uploads` says, with no network, cipher or protocol.
//!    Each upload's rate is also printed ÷ its floor.
//! 3. ECHO with 64 clients, then 64 clients mixing commands, small transfers and
//!    reconnects (handshakes). Targets: 0 errors, p99 at most 20 ms, and at least
//!    0.25× the 64-client ECHO rate. The bound printed beside it is what the CPU
//!    alone allows: every phase records the machine's busy CPU per operation
//!    (/proc/stat), and the mix can go no faster than its kinds' costs weighted
//!    as it draws them (see `mixed_bound`).
//! 4. Full handshakes (connect, handshake, ECHO, END) with 8 clients against
//!    RSA-2048 OAEP private decryptions on ONE core alone. Target: at least 0.6×.
//! 5. Fast Access entrances (connect with `FAI://<token>`, ECHO, END, keep the next
//!    key) against RSA handshakes (connect, ECHO, END), 8 clients each, on a server
//!    whose sessions are not root (FAITOK refuses root), and the per-connection
//!    floor (connect, refused version, close) that bounds the gain; the three
//!    alternate in 4 rounds, with one core's RSA decryptions between them.
//!    Target: at least 3×. The machine's busy CPU per operation of each (from
//!    /proc/stat, client and kernel included) gives the most FAI ÷ RSA could be
//!    with a process per connection: 1 + (RSA − FAI) ÷ floor, what it would be
//!    if an entrance cost no more than a refused connection.
//! 6. The same handshakes with tfd's secure transport upgrade (TFDSECURE) against
//!    legacy ones, alternated in slices so drift hits both alike. Target: an
//!    upgraded handshake costs at most 1.3× a legacy one (legacy rate ÷ secure
//!    rate ≤ 1.3). `--only handshakes` runs this phase alone.
//!
//! Run it with `scripts/bench ops` (builds the release binaries, sets `TFD_BIN`).
//! Loopback only; each phase is bounded in time and in count. Missing a target is
//! reported, never a failure. Options: `--quick`, `--secs S` (per phase),
//! `--only OP` (the ECHO baseline and one 16 KiB transfer, e.g. `sndfile`, to profile;
//! `--only fai`: phase 5 alone; `--only mixed`: phase 3 alone).

mod support;

use std::process::ExitCode;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Barrier, Mutex};
use std::thread;
use std::time::{Duration, Instant};
use support::{cli, log_problems, met, tfd_binary, Server};
use tfd_testkit::reply::Answer as _;
use tfp_client::replies::{AsStatus as _, Split as _};
use tfp_client::{Client, ClientConfig};

/// The small file size of phase 2 and of the mixed load.
const SMALL: usize = 16 * 1024;
/// Targets (issue 17).
const TARGET_SMALL_VS_ECHO: f64 = 0.2;
const TARGET_MIXED_P99_MS: f64 = 20.0;
const TARGET_MIXED_VS_ECHO: f64 = 0.25;
const TARGET_HANDSHAKES_VS_RSA1: f64 = 0.6;
const TARGET_SECURE_HANDSHAKE_COST: f64 = 1.3;
/// Target of phase 5 (issue 13): FAI entrances ÷ RSA handshakes.
const TARGET_FAI_VS_RSA: f64 = 3.0;
/// Phase 5 alternates its three measurements this many times.
const FAI_SLICES: usize = 4;
/// Hard cap on operations per phase, whatever the options say.
const CAP: u64 = 2_000_000;
/// Cap on handshakes (each uses a port).
const CAP_HANDSHAKES: u64 = 30_000;

struct Options {
    secs: f64,
    /// `--only OP`: the ECHO baseline and that one small transfer, for profiling.
    only: Option<String>,
}

const USAGE: &str = "usage: ops [--quick] [--secs S] [--only OP]";

impl Options {
    fn parse(args: &mut cli::Args) -> Result<Options, String> {
        let mut o = Options { secs: 4.0, only: None };
        while let Some(a) = args.next() {
            match a.as_str() {
                "--quick" => o.secs = 1.5,
                "--secs" => o.secs = args.number("--secs", |v: &f64| *v > 0.0 && *v <= 60.0, "seconds, 0 < S <= 60")?,
                "--only" => o.only = Some(args.value("--only")?.to_uppercase()),
                other => return Err(format!("unknown option {other:?}")),
            }
        }
        Ok(o)
    }
}

/// Operations per second, errors and latency percentiles of one phase.
struct Rate {
    per_s: f64,
    errors: u64,
    first_error: Option<String>,
    p50_ms: f64,
    p99_ms: f64,
    /// The machine's busy CPU seconds per operation (clients, kernel and server
    /// together, from /proc/stat), if readable.
    cpu_s: Option<f64>,
}

/// Runs `op(thread index, state)` on `threads` threads for `secs`; each thread first
/// builds its state with `setup` (untimed), e.g. an open session.
fn rate<S, Setup, Op>(threads: usize, secs: f64, cap: u64, setup: Setup, op: Op) -> Rate
where
    S: Send + 'static,
    Setup: Fn(usize) -> Result<S, String> + Send + Sync + 'static,
    Op: Fn(usize, &mut S) -> Result<(), String> + Send + Sync + 'static,
{
    let (setup, op) = (Arc::new(setup), Arc::new(op));
    let done = Arc::new(AtomicU64::new(0));
    let errors = Arc::new(AtomicU64::new(0));
    let first_error = Arc::new(Mutex::new(None::<String>));
    let barrier = Arc::new(Barrier::new(threads + 1));
    let duration = Duration::from_secs_f64(secs);
    let handles: Vec<_> = (0..threads)
        .map(|i| {
            let (setup, op, done, errors, first_error, barrier) = (
                setup.clone(),
                op.clone(),
                done.clone(),
                errors.clone(),
                first_error.clone(),
                barrier.clone(),
            );
            thread::spawn(move || {
                let mut ns = Vec::new();
                let mut state = setup(i);
                barrier.wait();
                let start = Instant::now();
                while start.elapsed() < duration && done.load(Ordering::Relaxed) < cap {
                    let r = match state.as_mut() {
                        Ok(s) => {
                            let t = Instant::now();
                            op(i, s).map(|()| t.elapsed())
                        }
                        Err(e) => Err(e.clone()),
                    };
                    match r {
                        Ok(d) => {
                            ns.push(d.as_nanos() as u64);
                            done.fetch_add(1, Ordering::Relaxed);
                        }
                        Err(e) => {
                            errors.fetch_add(1, Ordering::Relaxed);
                            first_error.lock().unwrap().get_or_insert(e);
                            thread::sleep(Duration::from_millis(10));
                            state = setup(i);
                        }
                    }
                }
                ns
            })
        })
        .collect();
    barrier.wait();
    let start = Instant::now();
    let busy_before = busy_cpu_seconds();
    let mut all = Vec::new();
    for h in handles {
        all.extend(h.join().unwrap_or_default());
    }
    let elapsed = start.elapsed().as_secs_f64();
    let busy = busy_before.zip(busy_cpu_seconds()).map(|(a, b)| b - a);
    all.sort_unstable();
    let pct = |p: f64| {
        if all.is_empty() {
            f64::NAN
        } else {
            all[((all.len() - 1) as f64 * p) as usize] as f64 / 1e6
        }
    };
    let done = done.load(Ordering::Relaxed);
    let first_error = first_error.lock().unwrap().take();
    Rate {
        per_s: done as f64 / elapsed,
        errors: errors.load(Ordering::Relaxed),
        first_error,
        p50_ms: pct(0.5),
        p99_ms: pct(0.99),
        cpu_s: busy.filter(|_| done > 0).map(|b| b / done as f64),
    }
}

fn connect(cfg: &ClientConfig) -> Result<Client, String> {
    Client::connect(cfg).map_err(|e| format!("connect: {e}"))
}

fn echo(c: &mut Client) -> Result<(), String> {
    match c.raw(b"ECHO x") {
        Ok(r) if r == b"x" => Ok(()),
        Ok(r) => Err(format!("ECHO answered {r:?}")),
        Err(e) => Err(format!("ECHO: {e}")),
    }
}

fn ok(what: &str, st: Result<tfp_wire::Status, tfp_client::Error>) -> Result<(), String> {
    match st {
        Ok(tfp_wire::Status::Ok(_)) => Ok(()),
        Ok(s) => Err(format!("{what}: {s:?}")),
        Err(e) => Err(format!("{what}: {e}")),
    }
}

/// One small-file operation on the client's own file `c<i>/f` (`c<i>/u` for uploads).
/// Each client works in a directory of its own, as the users of a file server do:
/// 64 clients creating and renaming entries in one directory queue on that
/// directory's lock in the file system, whatever the server does.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Small {
    Sndfile,
    Rcvfile,
    Put,
    Get,
    Sup,
    Sdown,
}

impl Small {
    const ALL: [Small; 6] = [
        Small::Sndfile,
        Small::Rcvfile,
        Small::Put,
        Small::Get,
        Small::Sup,
        Small::Sdown,
    ];

    fn name(self) -> &'static str {
        match self {
            Small::Sndfile => "SNDFILE",
            Small::Rcvfile => "RCVFILE",
            Small::Put => "PUT",
            Small::Get => "GET",
            Small::Sup => "SUP",
            Small::Sdown => "SDOWN",
        }
    }

    /// What the disk alone must do for this operation, for the uploads.
    fn disk_floor(self) -> Option<DiskFloor> {
        match self {
            Small::Sndfile | Small::Sup => Some(DiskFloor::Atomic),
            Small::Put => Some(DiskFloor::InPlace),
            Small::Rcvfile | Small::Get | Small::Sdown => None,
        }
    }

    /// This operation's rate among phase 2's, if it ran.
    fn rate_in(self, small: &[(Small, Rate)]) -> Option<&Rate> {
        small.iter().find(|(op, _)| *op == self).map(|(_, r)| r)
    }

    fn run(self, c: &mut Client, i: usize, data: &[u8]) -> Result<(), String> {
        let down = format!("c{i}/f");
        let up = format!("c{i}/u");
        let check_len = |n: usize| {
            if n == data.len() {
                Ok(())
            } else {
                Err(format!("{}: {n} bytes, not {}", self.name(), data.len()))
            }
        };
        match self {
            Small::Sndfile => ok(
                "SNDFILE",
                c.sndfile(up.as_bytes(), true, &mut &data[..], &mut |_| {}).status(),
            ),
            Small::Rcvfile => {
                let mut out = Vec::with_capacity(data.len());
                ok("RCVFILE", c.rcvfile(down.as_bytes(), false, &mut out).status())?;
                check_len(out.len())
            }
            Small::Put => match c
                .put(up.as_bytes(), 0, data.len() as i64, &mut &data[..], &mut |_| {})
                .split()
            {
                Ok(Ok(())) => Ok(()),
                other => Err(format!("PUT: {other:?}")),
            },
            Small::Get => {
                let mut out = Vec::with_capacity(data.len());
                match c
                    .get(down.as_bytes(), 0, data.len() as i64, &mut out, &mut |_| {})
                    .split()
                {
                    Ok(Ok(_)) => check_len(out.len()),
                    other => Err(format!("GET: {other:?}")),
                }
            }
            Small::Sup => match c.sup(up.as_bytes(), &mut &data[..]).answer() {
                Ok(0) => Ok(()),
                other => Err(format!("SUP: {other:?}")),
            },
            Small::Sdown => {
                let mut out = Vec::with_capacity(data.len());
                match c.sdown(down.as_bytes(), &mut out).done() {
                    Ok(true) => check_len(out.len()),
                    other => Err(format!("SDOWN: {other:?}")),
                }
            }
        }
    }
}

/// Baseline of phase 4: RSA-2048 OAEP private decryptions on one thread alone.
fn rsa_one_core(secs: f64) -> Result<Rate, String> {
    use openssl::rsa::{Padding, Rsa};
    let key = Rsa::generate(2048).map_err(|e| e.to_string())?;
    let mut ct = vec![0u8; 256];
    key.public_encrypt(&[0x5a; 32], &mut ct, Padding::PKCS1_OAEP)
        .map_err(|e| e.to_string())?;
    let key = Arc::new(key);
    Ok(rate(
        1,
        secs,
        CAP,
        move |_| Ok((key.clone(), ct.clone())),
        |_, (key, ct)| {
            let mut out = [0u8; 256];
            match key.private_decrypt(ct, &mut out, Padding::PKCS1_OAEP) {
                Ok(32) => Ok(()),
                other => Err(format!("RSA: {other:?}")),
            }
        },
    ))
}

/// What a 16 KiB upload must do to the disk, with no network, cipher or protocol:
/// the floor under the uploads' rates. SNDFILE and SUP are atomic (a file with no
/// name, its data, linked in place of the old one), PUT writes in place; with
/// `sync` (the server's `sync_uploads`) data and name reach stable storage first.
#[derive(Clone, Copy)]
enum DiskFloor {
    Atomic,
    InPlace,
}

impl DiskFloor {
    /// 8 threads, each in a directory of its own under `root` (the served root's
    /// file system), as phase 2's clients are.
    fn rate(self, root: &std::path::Path, data: &Arc<Vec<u8>>, sync: bool, secs: f64) -> Rate {
        let (root, data) = (root.to_path_buf(), data.clone());
        rate(
            8,
            secs,
            CAP,
            move |i| {
                let dir = root.join(format!("floor{i}"));
                std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
                std::fs::write(dir.join("f"), [0u8; 1]).map_err(|e| e.to_string())?;
                Ok(dir)
            },
            move |_, dir| self.write(dir, &data, sync).map_err(|e| format!("disk floor: {e}")),
        )
    }

    fn write(self, dir: &std::path::Path, data: &[u8], sync: bool) -> std::io::Result<()> {
        use std::io::Write;
        use std::os::fd::AsRawFd;
        use std::os::unix::fs::{FileExt, OpenOptionsExt};
        let target = dir.join("f");
        match self {
            DiskFloor::Atomic => {
                let mut f = std::fs::OpenOptions::new()
                    .write(true)
                    .custom_flags(libc::O_TMPFILE)
                    .mode(0o644)
                    .open(dir)?;
                f.write_all(data)?;
                if sync {
                    f.sync_data()?;
                }
                let (fd, part) = (format!("/proc/self/fd/{}", f.as_raw_fd()), dir.join("part"));
                nix::unistd::linkat(
                    None,
                    std::path::Path::new(&fd),
                    None,
                    &part,
                    nix::fcntl::AtFlags::AT_SYMLINK_FOLLOW,
                )?;
                std::fs::rename(&part, &target)?;
                if sync {
                    std::fs::File::open(dir)?.sync_all()?;
                }
            }
            DiskFloor::InPlace => {
                let f = std::fs::OpenOptions::new().write(true).open(&target)?;
                f.write_all_at(data, 0)?;
                if sync {
                    f.sync_data()?;
                }
            }
        }
        Ok(())
    }
}

/// Whether the servers of this run sync uploads (the default unless
/// TFD_BENCH_CONF says `sync_uploads no`).
fn uploads_synced() -> bool {
    let conf = std::env::var("TFD_BENCH_CONF").unwrap_or_default();
    !conf.lines().any(|l| l.split_whitespace().eq(["sync_uploads", "no"]))
}

/// The most the mixed load could reach ÷ 64-client ECHO if the CPU were its only
/// limit: the machine's busy CPU per operation of each kind, measured alone in
/// this run, weighted as the mix draws them (a reconnect every 20 operations; of
/// the rest 3 in 10 ECHO and 1 in 10 each of the others). FSTAT and DATE are
/// counted as one ECHO and MKDIR+RMDIR as two (each costs at least a round
/// trip), a reconnect as a handshake less its ECHO, and the transfers at their
/// 8-client cost (more clients only cost more).
fn mixed_bound(cpus: usize, echo64: &Rate, echo8: &Rate, small: &[(Small, Rate)], hs: &Rate) -> Option<f64> {
    let cost = |op: Small| op.rate_in(small).and_then(|r| r.cpu_s);
    let transfers: f64 = [Small::Sndfile, Small::Rcvfile, Small::Put, Small::Get]
        .into_iter()
        .map(cost)
        .sum::<Option<f64>>()?;
    let e = echo64.cpu_s?;
    let reconnect = hs.cpu_s? - echo8.cpu_s?;
    let per_op = 0.05 * reconnect + 0.95 * (0.6 * e + 0.1 * transfers);
    (per_op > 0.0 && echo64.per_s > 0.0).then(|| cpus as f64 / per_op / echo64.per_s)
}

/// A tiny deterministic generator for the mixed load (no crate for this).
struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

/// One client of the mixed load: a session, its random stream, ops since connect.
struct Mixer {
    c: Option<Client>,
    rng: XorShift,
    ops: u32,
}

/// Latencies of the mixed load's operations by kind, in nanoseconds.
type ByKind = Arc<Mutex<std::collections::BTreeMap<&'static str, Vec<u64>>>>;

fn mixed_op(cfg: &ClientConfig, i: usize, m: &mut Mixer, data: &[u8], by_kind: &ByKind) -> Result<(), String> {
    let t = Instant::now();
    let (kind, r) = mixed_step(cfg, i, m, data);
    if r.is_ok() {
        if let Ok(mut k) = by_kind.lock() {
            k.entry(kind).or_default().push(t.elapsed().as_nanos() as u64);
        }
    }
    r
}

fn mixed_step(cfg: &ClientConfig, i: usize, m: &mut Mixer, data: &[u8]) -> (&'static str, Result<(), String>) {
    // a reconnect (full handshake) every 20 operations on average
    if m.c.is_none() || m.rng.next() % 20 == 0 {
        let r = (|| {
            if let Some(c) = m.c.take() {
                c.end().map_err(|e| format!("END: {e}"))?;
            }
            m.c = Some(connect(cfg)?);
            Ok(())
        })();
        m.ops = 0;
        return ("reconnect", r);
    }
    let Some(c) = m.c.as_mut() else {
        return ("none", Err("no session".into()));
    };
    m.ops += 1;
    let d = format!("c{i}/m");
    match m.rng.next() % 10 {
        0..=2 => ("ECHO", echo(c)),
        3 => (
            "MKDIR+RMDIR",
            ok("MKDIR", c.call("MKDIR", d.as_bytes())).and_then(|()| ok("RMDIR", c.call("RMDIR", d.as_bytes()))),
        ),
        4 => ("FSTAT", ok("FSTAT", c.call("FSTAT", format!("c{i}/f").as_bytes()))),
        5 => ("SNDFILE", Small::Sndfile.run(c, i, data)),
        6 => ("RCVFILE", Small::Rcvfile.run(c, i, data)),
        7 => ("PUT", Small::Put.run(c, i, data)),
        8 => ("GET", Small::Get.run(c, i, data)),
        _ => ("DATE", ok("DATE", c.call("DATE", b""))),
    }
}

/// Phase 3: 64-client ECHO (the baseline), then the 64-client mixed load.
fn mixed_phase(cfg: &Arc<ClientConfig>, data: &Arc<Vec<u8>>, secs: f64) -> (Rate, Rate, ByKind) {
    let session = {
        let cfg = cfg.clone();
        move |_| connect(&cfg)
    };
    let echo64 = rate(64, secs, CAP, session, |_, c| echo(c));
    let by_kind: ByKind = Arc::default();
    let (cfg2, data, by_kind2) = (cfg.clone(), data.clone(), by_kind.clone());
    let mixed = rate(
        64,
        secs,
        CAP,
        move |i| {
            Ok(Mixer {
                c: None,
                rng: XorShift(0x9e37_79b9_7f4a_7c15 ^ ((i as u64 + 1) * 0x1000_0001)),
                ops: 0,
            })
        },
        move |i, m| mixed_op(&cfg2, i, m, &data, &by_kind2),
    );
    (echo64, mixed, by_kind)
}

/// The mixed load's latency by kind of operation.
fn print_by_kind(by_kind: &ByKind) {
    if let Ok(k) = by_kind.lock() {
        for (kind, ns) in k.iter() {
            let mut ns = ns.clone();
            ns.sort_unstable();
            let pct = |p: f64| ns[((ns.len() - 1) as f64 * p) as usize] as f64 / 1e6;
            println!(
                "  mixed: {kind:<14} {:>7} ops  p50 {:>8.3} ms  p99 {:>8.3} ms  max {:>8.3} ms",
                ns.len(),
                pct(0.5),
                pct(0.99),
                pct(1.0)
            );
        }
    }
}

/// Phase 5: RSA handshakes, then FAI entrances, on one server whose sessions run
/// as `nobody` (as root) or as the invoking user. Returns (RSA, FAI).
/// A session process that does nothing: connect, a wrong version (refused at
/// once), read the refusal, close. What every connection costs whatever its
/// handshake (accept, fork, exit, reap): the floor under both of phase 5's rates.
fn refused_version(addr: std::net::SocketAddr) -> Result<(), String> {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(addr).map_err(|e| format!("connect: {e}"))?;
    s.write_all(b"\0\0\0\x05floor").map_err(|e| format!("send: {e}"))?;
    let mut reply = Vec::new();
    s.read_to_end(&mut reply).map_err(|e| format!("read: {e}"))?;
    if reply.len() > 4 && reply[4..].starts_with(b"FAILED 2") {
        Ok(())
    } else {
        Err(format!("answered {reply:?}"))
    }
}

/// What phase 5 measured: the three rates, and what bounds their ratio.
struct FaiFigures {
    rsa: Rate,
    fai: Rate,
    floor: Rate,
    /// One core's RSA-2048 decryptions per second, measured between the slices.
    rsa1_per_s: f64,
}

impl FaiFigures {
    /// What FAI ÷ RSA would be if an FAI entrance cost no more than a bare
    /// connection (the floor: with a process per connection nothing costs less)
    /// and an RSA handshake still cost what it costs beyond an entrance today
    /// (its decryption and what goes with it): 1 + that extra ÷ the floor.
    fn bound(&self) -> Option<f64> {
        let [rsa, fai, floor] = self.cpu_s()?;
        (floor > 0.0 && rsa > fai).then(|| 1.0 + (rsa - fai) / floor)
    }

    /// Busy CPU seconds per RSA handshake, FAI entrance and refused connection.
    fn cpu_s(&self) -> Option<[f64; 3]> {
        Some([self.rsa.cpu_s?, self.fai.cpu_s?, self.floor.cpu_s?])
    }
}

/// Busy CPU seconds of the whole machine so far (all CPUs: user, nice, system,
/// irq and softirq; idle, iowait and time stolen by the host left out).
fn busy_cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    let line = stat.lines().next()?.strip_prefix("cpu ")?;
    let v: Vec<u64> = line.split_whitespace().filter_map(|w| w.parse().ok()).collect();
    let busy = [0, 1, 2, 5, 6]
        .iter()
        .map(|&i| v.get(i).copied().unwrap_or(0))
        .sum::<u64>();
    let hz = tfd_sys::clock_ticks_per_second()?;
    Some(busy as f64 / hz as f64)
}

/// A directory removed with all it holds when dropped.
struct Removed(std::path::PathBuf);

impl Drop for Removed {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn fai_phase(bin: &std::path::Path, secs: f64) -> Result<FaiFigures, String> {
    let extra = if nix::unistd::geteuid().is_root() {
        "defusr nobody\nfai_max_minutes 60\n"
    } else {
        "fai_max_minutes 60\n"
    };
    // `nobody` opens the served root after its switch, and tfd refuses to start
    // when it could not: the root is made first, in a directory of its own that
    // lets it through (traverse only) to a 0755 root; the key and config stay in
    // the server's private one
    let root = Removed(support::private_tempdir("bench-fai")?);
    let data = root.0.join("data");
    std::fs::create_dir(&data).map_err(|e| format!("{}: {e}", data.display()))?;
    for (dir, mode) in [(&root.0, 0o711), (&data, 0o755)] {
        std::fs::set_permissions(dir, std::os::unix::fs::PermissionsExt::from_mode(mode)).map_err(|e| e.to_string())?;
    }
    let mut server = Server::start_on(bin, Some(&data), extra)?;
    let cfg = Arc::new(server.client_config());
    let addr: std::net::SocketAddr = cfg.server.parse().map_err(|e| format!("{}: {e}", cfg.server))?;
    // the three are measured in turn, in SLICES rounds of secs/SLICES each, so
    // that the machine's drift (other load comes and goes) falls on all of them
    let slice = secs / FAI_SLICES as f64;
    let (mut rsa, mut fai, mut floor, mut rsa1) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for _ in 0..FAI_SLICES {
        let c = cfg.clone();
        let r = rate(
            8,
            slice,
            CAP_HANDSHAKES,
            |_| Ok(()),
            move |_, _| {
                let mut s = connect(&c)?;
                echo(&mut s)?;
                s.end().map_err(|e| format!("END: {e}"))
            },
        );
        rsa.push(r);
        server.drain_sessions(Duration::from_secs(5));
        let (c, c2) = (cfg.clone(), cfg.clone());
        let r = rate(
            8,
            slice,
            CAP_HANDSHAKES,
            // each client's token comes from one ordinary session (untimed)
            move |_| {
                let mut s = connect(&c)?;
                let t = s
                    .faitok(60)
                    .split()
                    .map_err(|e| format!("FAITOK: {e}"))?
                    .map_err(|st| format!("FAITOK: {st:?}"))?;
                s.end().map_err(|e| format!("END: {e}"))?;
                Ok(t)
            },
            move |_, token| {
                let (mut s, next) = Client::connect_fai(&c2, token).map_err(|e| format!("FAI: {e}"))?;
                *token = next;
                echo(&mut s)?;
                s.end().map_err(|e| format!("END: {e}"))
            },
        );
        fai.push(r);
        server.drain_sessions(Duration::from_secs(5));
        let r = rate(8, slice, CAP_HANDSHAKES, |_| Ok(()), move |_, _| refused_version(addr));
        floor.push(r);
        server.drain_sessions(Duration::from_secs(5));
        rsa1.push(rsa_one_core((slice / 4.0).clamp(0.25, 1.0))?);
    }
    server.stop();
    Ok(FaiFigures {
        rsa: merged(rsa),
        fai: merged(fai),
        floor: merged(floor),
        rsa1_per_s: merged(rsa1).per_s,
    })
}

/// Rounds of one rate, of equal length, as one: the mean rate, every error,
/// the mean p50, the worst p99 and the CPU per operation of them all.
fn merged(rounds: Vec<Rate>) -> Rate {
    let n = rounds.len().max(1) as f64;
    // a round's operations are its rate times the common length, so rates
    // summed count operations and weight each round's CPU per operation
    let ops: f64 = rounds.iter().map(|r| r.per_s).sum();
    let cpu: Option<f64> = rounds.iter().map(|r| r.cpu_s.map(|c| c * r.per_s)).sum();
    Rate {
        cpu_s: cpu.filter(|_| ops > 0.0).map(|c| c / ops),
        per_s: ops / n,
        errors: rounds.iter().map(|r| r.errors).sum(),
        first_error: rounds.iter().find_map(|r| r.first_error.clone()),
        p50_ms: rounds.iter().map(|r| r.p50_ms).sum::<f64>() / n,
        p99_ms: rounds.iter().map(|r| r.p99_ms).fold(0.0, f64::max),
    }
}

/// Prints phase 5's rows, target and BENCH line; returns (ratio, met).
fn report_fai(f: &FaiFigures) -> (f64, bool) {
    let (rsa, fai, floor) = (&f.rsa, &f.fai, &f.floor);
    let ratio = if rsa.per_s > 0.0 {
        fai.per_s / rsa.per_s
    } else {
        f64::NAN
    };
    for (name, r) in [
        ("RSA handshake + ECHO + END (baseline)", rsa),
        ("FAI entrance + ECHO + END", fai),
        ("refused version (per-connection floor)", floor),
    ] {
        println!(
            "{:<40} {:>10.0} {:>8} {:>9.3} {:>9.3}",
            name, r.per_s, r.errors, r.p50_ms, r.p99_ms
        );
        if let Some(e) = &r.first_error {
            println!("  {} error(s), first: {e}", r.errors);
        }
    }
    let ok = ratio >= TARGET_FAI_VS_RSA && fai.errors == 0 && rsa.errors == 0;
    println!(
        "target FAI entrances ≥ {TARGET_FAI_VS_RSA}× RSA handshakes (8 clients): {} ({ratio:.2}×; \
         the floor allows at most {:.2}× of today's RSA handshakes)",
        met(ok),
        if rsa.per_s > 0.0 {
            floor.per_s / rsa.per_s
        } else {
            f64::NAN
        }
    );
    if let (Some(b), Some([r, a, c])) = (f.bound(), f.cpu_s()) {
        println!(
            "  busy CPU per operation, client and kernel included: RSA handshake {:.3} ms, FAI entrance {:.3} ms, \
             refused connection {:.3} ms (one RSA-2048 decryption alone: {:.3} ms); with a process per \
             connection, an entrance that cost no more than a refused connection would make FAI ÷ RSA \
             1 + ({:.3} − {:.3}) ÷ {:.3} = {b:.2}× on this machine",
            r * 1e3,
            a * 1e3,
            c * 1e3,
            1e3 / f.rsa1_per_s,
            r * 1e3,
            a * 1e3,
            c * 1e3
        );
    }
    (ratio, ok)
}

fn run(o: &Options) -> Result<(), String> {
    let bin = tfd_binary()?;
    if o.only.as_deref() == Some("FAI") {
        println!("  [5/5] FAI entrances against RSA handshakes, 8 clients ...");
        let f = fai_phase(&bin, o.secs)?;
        let (ratio, ok) = report_fai(&f);
        println!(
            "BENCH_FAI rsa_handshakes_per_s={:.0} fai_handshakes_per_s={:.0} floor_per_s={:.0} fai_ratio={ratio:.3} \
             fai_bound={:.3} target_fai_met={ok}",
            f.rsa.per_s,
            f.fai.per_s,
            f.floor.per_s,
            f.bound().unwrap_or(f64::NAN)
        );
        return Ok(());
    }
    let cpus = thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
    let started = Instant::now();
    println!(
        "tfd per-operation benchmark: {} on loopback, {cpus} CPU(s), {:.1} s per phase",
        bin.display(),
        o.secs
    );
    let mut server = Server::start_with(&bin, "max_sessions 512\nmax_sessions_per_ip 512\n")?;
    let cfg = Arc::new(server.client_config());
    let data: Arc<Vec<u8>> = Arc::new((0..SMALL).map(|i| (i * 7 + 3) as u8).collect());
    for i in 0..64 {
        let dir = server.data_dir().join(format!("c{i}"));
        std::fs::create_dir(&dir).map_err(|e| e.to_string())?;
        std::fs::write(dir.join("f"), &data[..]).map_err(|e| e.to_string())?;
    }

    if o.only.as_deref() == Some("MIXED") {
        let (echo64, mixed, by_kind) = mixed_phase(&cfg, &data, o.secs);
        server.stop();
        let q = mixed.per_s / echo64.per_s;
        println!(
            "mixed load, 64 clients: {:.0}/s ({} errors), p50 {:.3} ms, p99 {:.3} ms, {q:.3}× 64-client ECHO ({:.0}/s)",
            mixed.per_s, mixed.errors, mixed.p50_ms, mixed.p99_ms, echo64.per_s
        );
        print_by_kind(&by_kind);
        if let Some(e) = &mixed.first_error {
            println!("  first error: {e}");
        }
        return Ok(());
    }
    if o.only.as_deref() == Some("HANDSHAKES") {
        let (legacy, secure) = secure_handshakes(&cfg, o.secs);
        let cost = legacy.per_s / secure.per_s;
        println!(
            "handshakes, 8 clients: legacy {:.0}/s ({} errors), with the secure upgrade {:.0}/s ({} errors): \
             cost {cost:.3}× a legacy one (target ≤ {TARGET_SECURE_HANDSHAKE_COST}: {})",
            legacy.per_s,
            legacy.errors,
            secure.per_s,
            secure.errors,
            met(cost <= TARGET_SECURE_HANDSHAKE_COST && secure.errors == 0)
        );
        server.stop();
        return Ok(());
    }
    let session = |cfg: Arc<ClientConfig>| move |_| connect(&cfg);
    println!("  [1/5] ECHO, 8 clients (baseline of the small operations) ...");
    let echo8 = rate(8, o.secs, CAP, session(cfg.clone()), |_, c| echo(c));
    println!("  [2/5] 16 KiB transfers, 8 clients each ...");
    let mut small = Vec::new();
    for op in Small::ALL {
        if o.only.as_deref().is_some_and(|n| n != op.name()) {
            continue;
        }
        let data = data.clone();
        let r = rate(8, o.secs, CAP, session(cfg.clone()), move |i, c| op.run(c, i, &data));
        small.push((op, r));
    }
    // the disk floor under the uploads, when one of them ran
    let uploads = small.iter().any(|(op, _)| op.disk_floor().is_some());
    let floors = uploads.then(|| {
        println!("  [2/5] the disk alone: what 16 KiB uploads must do to it, 8 threads ...");
        let sync = uploads_synced();
        let atomic = DiskFloor::Atomic.rate(&server.data_dir(), &data, sync, o.secs);
        let in_place = DiskFloor::InPlace.rate(&server.data_dir(), &data, sync, o.secs);
        (atomic, in_place)
    });
    if o.only.is_some() {
        if let Some((atomic, in_place)) = &floors {
            for (name, r) in [("atomic (SNDFILE, SUP)", atomic), ("in place (PUT)", in_place)] {
                println!(
                    "disk floor, {name}: {:.0}/s, {:.3}× ECHO, {} errors",
                    r.per_s,
                    r.per_s / echo8.per_s,
                    r.errors
                );
            }
        }
        for (op, r) in &small {
            println!(
                "{} 16 KiB: {:.0}/s, {:.3}× ECHO ({:.0}/s), p50 {:.3} ms, {} errors",
                op.name(),
                r.per_s,
                r.per_s / echo8.per_s,
                echo8.per_s,
                r.p50_ms,
                r.errors
            );
        }
        return Ok(());
    }
    println!("  [3/5] ECHO, 64 clients (baseline), then the mixed load, 64 clients ...");
    let (echo64, mixed, by_kind) = mixed_phase(&cfg, &data, o.secs);
    server.drain_sessions(Duration::from_secs(5));
    println!("  [4/5] handshakes, 8 clients; RSA-2048 decryptions on one core alone (baseline) ...");
    let rsa1 = rsa_one_core(o.secs.min(3.0))?;
    let hs = {
        let cfg = cfg.clone();
        rate(
            8,
            o.secs,
            CAP_HANDSHAKES,
            |_| Ok(()),
            move |_, _| {
                let mut c = connect(&cfg)?;
                echo(&mut c)?;
                c.end().map_err(|e| format!("END: {e}"))
            },
        )
    };
    server.drain_sessions(Duration::from_secs(5));
    println!("  [6/6] handshakes with the secure upgrade against legacy ones, alternated ...");
    let (hs_legacy, hs_secure) = secure_handshakes(&cfg, o.secs);
    let hs_cost = hs_legacy.per_s / hs_secure.per_s;
    let hs_secure_ok = hs_cost <= TARGET_SECURE_HANDSHAKE_COST && hs_secure.errors == 0;
    server.drain_sessions(Duration::from_secs(5));
    let status = server.stop().unwrap_or_else(|| "not running".into());
    let problems = log_problems(&server.log_text());
    println!("  [5/6] FAI entrances against RSA handshakes, 8 clients ...");
    let fai = fai_phase(&bin, o.secs)?;

    let ratio = |a: f64, b: f64| if b > 0.0 { a / b } else { f64::NAN };
    println!();
    println!(
        "{:<40} {:>10} {:>8} {:>9} {:>9} {:>9} {:>10}",
        "operation", "per s", "errors", "p50 ms", "p99 ms", "÷ ECHO", "CPU ms/op"
    );
    let row = |name: &str, r: &Rate, base: f64| {
        println!(
            "{:<40} {:>10.0} {:>8} {:>9.3} {:>9.3} {:>8.3}× {:>10.3}",
            name,
            r.per_s,
            r.errors,
            r.p50_ms,
            r.p99_ms,
            ratio(r.per_s, base),
            r.cpu_s.map_or(f64::NAN, |c| c * 1e3)
        );
    };
    row("ECHO, 8 clients (baseline)", &echo8, echo8.per_s);
    let mut kv = Vec::new();
    let mut small_ok = true;
    for (op, r) in &small {
        row(&format!("{} 16 KiB, 8 clients", op.name()), r, echo8.per_s);
        let q = ratio(r.per_s, echo8.per_s);
        small_ok &= q >= TARGET_SMALL_VS_ECHO && r.errors == 0;
        kv.push(format!(
            "{}_per_s={:.0} {}_ratio={q:.3}",
            op.name().to_lowercase(),
            r.per_s,
            op.name().to_lowercase()
        ));
    }
    // an upload's rate ÷ its disk floor's
    let vs_floor = |op: Small| -> Option<f64> {
        let (atomic, in_place) = floors.as_ref()?;
        let floor = match op.disk_floor()? {
            DiskFloor::Atomic => atomic,
            DiskFloor::InPlace => in_place,
        };
        Some(ratio(op.rate_in(&small)?.per_s, floor.per_s))
    };
    if let Some((atomic, in_place)) = &floors {
        row("disk floor: atomic upload, 8 threads", atomic, echo8.per_s);
        row("disk floor: write in place, 8 threads", in_place, echo8.per_s);
        for (op, _) in &small {
            if let Some(q) = vs_floor(*op) {
                kv.push(format!("{}_vs_disk={q:.3}", op.name().to_lowercase()));
            }
        }
        kv.push(format!(
            "disk_atomic_ratio={:.3} disk_in_place_ratio={:.3}",
            ratio(atomic.per_s, echo8.per_s),
            ratio(in_place.per_s, echo8.per_s)
        ));
    }
    row("ECHO, 64 clients (baseline)", &echo64, echo64.per_s);
    row("mixed load, 64 clients", &mixed, echo64.per_s);
    print_by_kind(&by_kind);
    let mixed_ratio = ratio(mixed.per_s, echo64.per_s);
    let mixed_ok = mixed.errors == 0 && mixed.p99_ms <= TARGET_MIXED_P99_MS && mixed_ratio >= TARGET_MIXED_VS_ECHO;
    println!(
        "{:<40} {:>10.0} {:>8} {:>9.3} {:>9.3}",
        "RSA-2048 decryptions, 1 core (baseline)", rsa1.per_s, rsa1.errors, rsa1.p50_ms, rsa1.p99_ms
    );
    println!(
        "{:<40} {:>10.0} {:>8} {:>9.3} {:>9.3} {:>5.3}× RSA {:>10.3}",
        "handshake + ECHO + END, 8 clients",
        hs.per_s,
        hs.errors,
        hs.p50_ms,
        hs.p99_ms,
        ratio(hs.per_s, rsa1.per_s),
        hs.cpu_s.map_or(f64::NAN, |c| c * 1e3)
    );
    let hs_ratio = ratio(hs.per_s, rsa1.per_s);
    let hs_ok = hs_ratio >= TARGET_HANDSHAKES_VS_RSA1 && hs.errors == 0;
    for (name, r) in [
        ("echo8", &echo8),
        ("echo64", &echo64),
        ("mixed", &mixed),
        ("handshakes", &hs),
    ]
    .into_iter()
    .chain(small.iter().map(|(op, r)| (op.name(), r)))
    {
        if let Some(e) = &r.first_error {
            println!("  {name}: {} error(s), first: {e}", r.errors);
        }
    }
    println!();
    println!(
        "target 16 KiB SNDFILE/RCVFILE/PUT/GET/SUP/SDOWN each ≥ {TARGET_SMALL_VS_ECHO}× ECHO (8 clients): {}",
        met(small_ok)
    );
    if let Some((atomic, in_place)) = &floors {
        let vs = |op: Small| vs_floor(op).unwrap_or(f64::NAN);
        println!(
            "  the disk alone bounds the uploads here: an atomic 16 KiB upload {:.3}× ECHO (SNDFILE reaches {:.2} \
             of it, SUP {:.2}), a write in place {:.3}× ECHO (PUT reaches {:.2} of it); sync_uploads {}",
            ratio(atomic.per_s, echo8.per_s),
            vs(Small::Sndfile),
            vs(Small::Sup),
            ratio(in_place.per_s, echo8.per_s),
            vs(Small::Put),
            if uploads_synced() { "yes" } else { "no" }
        );
    }
    println!(
        "target mixed load (64 clients): 0 errors, p99 ≤ {TARGET_MIXED_P99_MS} ms, ≥ {TARGET_MIXED_VS_ECHO}× ECHO: {} \
         ({} errors, p99 {:.1} ms, {mixed_ratio:.3}×)",
        met(mixed_ok),
        mixed.errors,
        mixed.p99_ms
    );
    let bound = mixed_bound(cpus, &echo64, &echo8, &small, &hs);
    if let Some(b) = bound {
        println!(
            "  the CPU alone bounds the mix at {b:.3}× 64-client ECHO here (each kind's busy CPU per operation, \
             measured alone in this run, weighted as the mix draws them)"
        );
    }
    println!(
        "target handshakes (8 clients) ≥ {TARGET_HANDSHAKES_VS_RSA1}× one core's RSA-2048 decryptions: {} ({hs_ratio:.3}×)",
        met(hs_ok)
    );
    let (fai_ratio, fai_ok) = report_fai(&fai);
    println!(
        "target a handshake with the secure upgrade ≤ {TARGET_SECURE_HANDSHAKE_COST}× a legacy one: {} \
         ({:.0}/s vs {:.0}/s legacy: {hs_cost:.3}×)",
        met(hs_secure_ok),
        hs_secure.per_s,
        hs_legacy.per_s
    );
    println!(
        "tfd stopped: {status}; {} warning/error line(s) in its log",
        problems.len()
    );
    for l in problems.iter().take(5) {
        println!("  {l}");
    }
    println!("total time {:.1} s", started.elapsed().as_secs_f64());
    println!();
    println!(
        "BENCH_OPS echo8_per_s={:.0} {} echo64_per_s={:.0} mixed_per_s={:.0} mixed_ratio={mixed_ratio:.3} \
         mixed_p99_ms={:.2} mixed_errors={} handshakes_per_s={:.0} rsa1_per_s={:.0} handshake_ratio={hs_ratio:.3} \
         target_small_met={small_ok} target_mixed_met={mixed_ok} target_handshakes_met={hs_ok} \
         secure_handshakes_per_s={:.0} legacy_handshakes_per_s={:.0} secure_handshake_cost={hs_cost:.3} \
         target_secure_handshake_met={hs_secure_ok} \
         fai_handshakes_per_s={:.0} fai_ratio={fai_ratio:.3} fai_bound={:.3} target_fai_met={fai_ok} \
         mixed_bound={:.3}",
        echo8.per_s,
        kv.join(" "),
        echo64.per_s,
        mixed.per_s,
        mixed.p99_ms,
        mixed.errors,
        hs.per_s,
        rsa1.per_s,
        hs_secure.per_s,
        hs_legacy.per_s,
        fai.fai.per_s,
        fai.bound().unwrap_or(f64::NAN),
        bound.unwrap_or(f64::NAN),
    );
    Ok(())
}

/// Full handshakes (connect, handshake, ECHO, END; 8 clients) legacy and with the
/// secure upgrade, in four alternating slices of `secs / 2`: (legacy, secure),
/// each the mean rate of its two slices.
fn secure_handshakes(cfg: &Arc<ClientConfig>, secs: f64) -> (Rate, Rate) {
    let mut legacy = (*cfg).as_ref().clone();
    legacy.transport = tfp_client::Transport::Legacy;
    let mut secure = legacy.clone();
    secure.transport = tfp_client::Transport::Require;
    let (legacy, secure) = (Arc::new(legacy), Arc::new(secure));
    let slice = |c: &Arc<ClientConfig>| {
        let c = c.clone();
        rate(
            8,
            secs / 2.0,
            CAP_HANDSHAKES / 4,
            |_| Ok(()),
            move |_, _| {
                let mut cl = connect(&c)?;
                echo(&mut cl)?;
                cl.end().map_err(|e| format!("END: {e}"))
            },
        )
    };
    let l1 = slice(&legacy);
    let s1 = slice(&secure);
    let l2 = slice(&legacy);
    let s2 = slice(&secure);
    (merged(vec![l1, l2]), merged(vec![s1, s2]))
}

fn main() -> ExitCode {
    cli::main("ops", USAGE, Options::parse, run)
}
