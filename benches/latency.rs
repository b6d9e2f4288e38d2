//! ECHO round-trip latency and full-handshake throughput of the release `tfd`, each
//! reported as a ratio against a plain TCP echo baseline measured in the same run
//! (machines are noisy; absolute figures are not comparable between runs). The
//! handshake rate is also given against RSA-2048 decryptions alone on every CPU,
//! the one operation each handshake cannot avoid.
//!
//! Run it with `scripts/bench`, which builds the release binaries and points
//! `TFD_BIN` at `tfd`. Loopback only; every phase is bounded in count and in time.
//! Targets (issue): ECHO p50 within 3× of the loopback TCP round trip, and at least
//! 1,500 full handshakes/s with 8 concurrent clients. Missing a target is reported,
//! never a failure: speed is not a correctness property.
//!
//! Options (after `--`): `--quick` (short run), `--n N` (round trips per latency
//! phase), `--threads T` (concurrent clients), `--secs S` (handshake phase length).

mod support;

use std::io::{self, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::ExitCode;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Barrier, Mutex};
use std::thread;
use std::time::{Duration, Instant};
use support::{cli, log_problems, met, tfd_binary, Server};
use tfp_client::{Client, ClientConfig, Error};

/// Target: tfd ECHO p50 at most this many times the TCP echo p50.
const TARGET_P50_RATIO: f64 = 3.0;
/// Target: full handshakes per second with the default 8 clients.
const TARGET_HANDSHAKES_PER_S: f64 = 1500.0;
/// The small payload both latency phases carry.
const PAYLOAD: &[u8] = b"hello world";
/// Largest frame the baseline echo server accepts.
const BASELINE_MAX_FRAME: usize = 64 * 1024;
/// Hard caps, whatever the options say, so a fast machine cannot exhaust ports.
const MAX_TCP_CONNECTIONS: u64 = 60_000;
const MAX_HANDSHAKES: u64 = 30_000;

struct Options {
    n: usize,
    threads: usize,
    tcp_secs: f64,
    hs_secs: f64,
}

const USAGE: &str = "usage: latency [--quick] [--n N] [--threads T] [--secs S]";

impl Options {
    fn parse(args: &mut cli::Args) -> Result<Options, String> {
        let mut o = Options {
            n: 20_000,
            threads: 8,
            tcp_secs: 3.0,
            hs_secs: 5.0,
        };
        while let Some(a) = args.next() {
            let mut num = |what: &str| args.number::<f64>(what, |v| *v > 0.0 && v.is_finite(), "a positive number");
            match a.as_str() {
                "--quick" => {
                    o.n = 2_000;
                    o.tcp_secs = 1.0;
                    o.hs_secs = 1.5;
                }
                "--n" => o.n = (num("--n")? as usize).clamp(100, 1_000_000),
                "--threads" => o.threads = (num("--threads")? as usize).clamp(1, 64),
                "--secs" => o.hs_secs = num("--secs")?.min(60.0),
                other => return Err(format!("unknown argument {other:?}")),
            }
        }
        Ok(o)
    }
}

/// Latency figures, in microseconds.
#[derive(Clone, Copy)]
struct Stats {
    p50: f64,
    p99: f64,
    mean: f64,
}

fn stats(mut ns: Vec<u64>) -> Stats {
    assert!(!ns.is_empty(), "no samples");
    ns.sort_unstable();
    let at = |q: usize| ns[(ns.len() * q / 100).min(ns.len() - 1)] as f64 / 1e3;
    Stats {
        p50: at(50),
        p99: at(99),
        mean: ns.iter().sum::<u64>() as f64 / ns.len() as f64 / 1e3,
    }
}

// ---------------------------------------------------------------------------
// Baseline: a plain TCP echo server, one thread per connection, echoing
// `4-byte big-endian length + payload` frames, TCP_NODELAY on both ends.
// ---------------------------------------------------------------------------

fn start_echo_server() -> io::Result<SocketAddr> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let addr = listener.local_addr()?;
    thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            thread::spawn(move || {
                let _ = echo_connection(stream);
            });
        }
    });
    Ok(addr)
}

fn echo_connection(stream: TcpStream) -> io::Result<()> {
    stream.set_nodelay(true)?;
    let mut rx = BufReader::new(stream.try_clone()?);
    let mut tx = stream;
    let mut buf = Vec::with_capacity(1024);
    loop {
        let mut hdr = [0u8; 4];
        if let Err(e) = rx.read_exact(&mut hdr) {
            return if e.kind() == io::ErrorKind::UnexpectedEof {
                Ok(())
            } else {
                Err(e)
            };
        }
        let len = u32::from_be_bytes(hdr) as usize;
        if len > BASELINE_MAX_FRAME {
            return Err(io::Error::new(io::ErrorKind::InvalidData, "frame too large"));
        }
        buf.clear();
        buf.extend_from_slice(&hdr);
        buf.resize(4 + len, 0);
        rx.read_exact(&mut buf[4..])?;
        tx.write_all(&buf)?;
    }
}

/// An ordinary framed client: one write per request, buffered reads.
struct PlainClient {
    rx: BufReader<TcpStream>,
    tx: TcpStream,
    out: Vec<u8>,
    reply: Vec<u8>,
}

impl PlainClient {
    fn connect(addr: SocketAddr) -> io::Result<PlainClient> {
        let stream = TcpStream::connect(addr)?;
        stream.set_nodelay(true)?;
        stream.set_read_timeout(Some(Duration::from_secs(10)))?;
        Ok(PlainClient {
            rx: BufReader::new(stream.try_clone()?),
            tx: stream,
            out: Vec::with_capacity(64),
            reply: Vec::with_capacity(64),
        })
    }

    fn round_trip(&mut self, payload: &[u8]) -> io::Result<()> {
        self.out.clear();
        self.out.extend_from_slice(&(payload.len() as u32).to_be_bytes());
        self.out.extend_from_slice(payload);
        self.tx.write_all(&self.out)?;
        let mut hdr = [0u8; 4];
        self.rx.read_exact(&mut hdr)?;
        self.reply.resize(u32::from_be_bytes(hdr) as usize, 0);
        self.rx.read_exact(&mut self.reply)?;
        if self.reply != payload {
            return Err(io::Error::new(io::ErrorKind::InvalidData, "echo mismatch"));
        }
        Ok(())
    }
}

// ---------------------------------------------------------------------------
// Phases.
// ---------------------------------------------------------------------------

fn tcp_latency(addr: SocketAddr, n: usize) -> Result<Stats, String> {
    let mut c = PlainClient::connect(addr).map_err(|e| format!("TCP baseline connect: {e}"))?;
    for _ in 0..n / 10 {
        c.round_trip(PAYLOAD).map_err(|e| format!("TCP baseline: {e}"))?;
    }
    let mut ns = Vec::with_capacity(n);
    for _ in 0..n {
        let t = Instant::now();
        c.round_trip(PAYLOAD).map_err(|e| format!("TCP baseline: {e}"))?;
        ns.push(t.elapsed().as_nanos() as u64);
    }
    Ok(stats(ns))
}

fn tfd_echo_latency(cfg: &ClientConfig, n: usize) -> Result<Stats, String> {
    let mut c = Client::connect(cfg).map_err(|e| format!("tfd connect: {e}"))?;
    let mut line = b"ECHO ".to_vec();
    line.extend_from_slice(PAYLOAD);
    let one = |c: &mut Client| -> Result<(), String> {
        let reply = c.raw(&line).map_err(|e| format!("tfd ECHO: {e}"))?;
        if reply != PAYLOAD {
            return Err(format!("tfd ECHO answered {:?}", String::from_utf8_lossy(&reply)));
        }
        Ok(())
    };
    for _ in 0..n / 10 {
        one(&mut c)?;
    }
    let mut ns = Vec::with_capacity(n);
    for _ in 0..n {
        let t = Instant::now();
        one(&mut c)?;
        ns.push(t.elapsed().as_nanos() as u64);
    }
    c.end().map_err(|e| format!("tfd END: {e}"))?;
    Ok(stats(ns))
}

/// What a concurrent connection phase achieved.
struct Throughput {
    per_s: f64,
    done: u64,
    errors: u64,
    first_error: Option<String>,
    latency: Option<Stats>,
}

/// Runs `op` in a loop on `threads` threads for `secs` (or until `cap` successes in
/// all), timing each call.
fn throughput<F>(threads: usize, secs: f64, cap: u64, op: F) -> Throughput
where
    F: Fn() -> Result<(), String> + Send + Sync + 'static,
{
    let op = Arc::new(op);
    let done = Arc::new(AtomicU64::new(0));
    let errors = Arc::new(AtomicU64::new(0));
    let first_error = Arc::new(Mutex::new(None::<String>));
    let barrier = Arc::new(Barrier::new(threads + 1));
    let duration = Duration::from_secs_f64(secs);
    let handles: Vec<_> = (0..threads)
        .map(|_| {
            let (op, done, errors, first_error, barrier) = (
                op.clone(),
                done.clone(),
                errors.clone(),
                first_error.clone(),
                barrier.clone(),
            );
            thread::spawn(move || {
                let mut ns = Vec::new();
                barrier.wait();
                let start = Instant::now();
                while start.elapsed() < duration && done.load(Ordering::Relaxed) < cap {
                    let t = Instant::now();
                    match op() {
                        Ok(()) => {
                            ns.push(t.elapsed().as_nanos() as u64);
                            done.fetch_add(1, Ordering::Relaxed);
                        }
                        Err(e) => {
                            errors.fetch_add(1, Ordering::Relaxed);
                            first_error.lock().unwrap().get_or_insert(e);
                            // Do not spin on a persistent failure (ports, limits).
                            thread::sleep(Duration::from_millis(10));
                        }
                    }
                }
                ns
            })
        })
        .collect();
    barrier.wait();
    let start = Instant::now();
    let mut all = Vec::new();
    for h in handles {
        all.extend(h.join().unwrap_or_default());
    }
    let elapsed = start.elapsed().as_secs_f64();
    let done = done.load(Ordering::Relaxed);
    let first_error = first_error.lock().unwrap().take();
    Throughput {
        per_s: done as f64 / elapsed,
        done,
        errors: errors.load(Ordering::Relaxed),
        first_error,
        latency: (!all.is_empty()).then(|| stats(all)),
    }
}

fn tcp_connections(addr: SocketAddr, threads: usize, secs: f64) -> Throughput {
    throughput(threads, secs, MAX_TCP_CONNECTIONS, move || {
        let mut c = PlainClient::connect(addr).map_err(|e| format!("connect: {e}"))?;
        c.round_trip(b"x").map_err(|e| format!("echo: {e}"))
    })
}

/// Baseline C: the server's unavoidable work per handshake, one RSA-2048 OAEP
/// private decryption, on every CPU at once with nothing else. No handshake rate
/// can exceed it; the ratio to it is what a slower or busier machine leaves alone.
fn rsa_decryptions(threads: usize, secs: f64) -> Result<Throughput, String> {
    use openssl::rsa::{Padding, Rsa};
    let key = Rsa::generate(2048).map_err(|e| e.to_string())?;
    let mut ct = vec![0u8; 256];
    key.public_encrypt(&[0x5a; 32], &mut ct, Padding::PKCS1_OAEP)
        .map_err(|e| e.to_string())?;
    Ok(throughput(threads, secs, MAX_HANDSHAKES * 10, move || {
        let mut out = [0u8; 256];
        match key.private_decrypt(&ct, &mut out, Padding::PKCS1_OAEP) {
            Ok(32) => Ok(()),
            other => Err(format!("RSA decryption gave {other:?}")),
        }
    }))
}

fn tfd_handshakes(cfg: ClientConfig, threads: usize, secs: f64) -> Throughput {
    throughput(threads, secs, MAX_HANDSHAKES, move || {
        let run = || -> Result<(), Error> {
            let mut c = Client::connect(&cfg)?;
            let reply = c.raw(b"ECHO x")?;
            if reply != b"x" {
                return Err(Error::Protocol(format!("ECHO answered {reply:?}")));
            }
            c.end()
        };
        run().map_err(|e| e.to_string())
    })
}

// ---------------------------------------------------------------------------
// Report.
// ---------------------------------------------------------------------------

fn run(o: &Options) -> Result<(), String> {
    let bin = tfd_binary()?;
    let cpus = thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
    let started = Instant::now();
    println!(
        "tfd latency benchmark: {} on loopback, {cpus} CPU(s), {} round trips, {} clients",
        bin.display(),
        o.n,
        o.threads
    );

    let echo_addr = start_echo_server().map_err(|e| format!("baseline echo server: {e}"))?;
    let mut server = Server::start(&bin)?;
    let cfg = server.client_config();

    println!("  [1/5] TCP echo round trips (baseline A) ...");
    let tcp = tcp_latency(echo_addr, o.n)?;
    println!("  [2/5] tfd ECHO round trips ...");
    let tfd = tfd_echo_latency(&cfg, o.n)?;
    println!(
        "  [3/5] TCP connect + echo + close, {} threads, {:.1} s (baseline B) ...",
        o.threads, o.tcp_secs
    );
    let conns = tcp_connections(echo_addr, o.threads, o.tcp_secs);
    println!("  [4/5] RSA-2048 OAEP decryptions alone, {cpus} threads, 2.0 s (baseline C) ...");
    let rsa = rsa_decryptions(cpus, 2.0)?;
    println!(
        "  [5/5] tfd handshake + ECHO + END, {} threads, {:.1} s ...",
        o.threads, o.hs_secs
    );
    server.drain_sessions(Duration::from_secs(3));
    let cpu_before = server.cpu_seconds();
    let hs = tfd_handshakes(cfg, o.threads, o.hs_secs);

    server.drain_sessions(Duration::from_secs(3));
    // Server CPU per handshake: less sensitive to other load on the machine than
    // the rate, and it bounds the rate: cores / cost.
    let cpu_us_per_hs = match (cpu_before, server.cpu_seconds()) {
        (Some(a), Some(b)) if hs.done > 0 => (b - a) * 1e6 / hs.done as f64,
        _ => f64::NAN,
    };
    let status = server.stop().unwrap_or_else(|| "not running".into());
    let problems = log_problems(&server.log_text());
    drop(server);

    let ratio = |a: f64, b: f64| if b > 0.0 { a / b } else { f64::NAN };
    let r50 = ratio(tfd.p50, tcp.p50);
    let r99 = ratio(tfd.p99, tcp.p99);
    let rmean = ratio(tfd.mean, tcp.mean);
    let hs_ratio = ratio(hs.per_s, conns.per_s);
    let rsa_ratio = ratio(hs.per_s, rsa.per_s);
    let p50_ok = r50 <= TARGET_P50_RATIO;
    let hs_ok = hs.per_s >= TARGET_HANDSHAKES_PER_S;

    round_trip_table(&tcp, &tfd, [r50, r99, rmean]);
    connections_table(o.threads, cpus, [&conns, &hs, &rsa], hs_ratio, rsa_ratio, cpu_us_per_hs);
    println!();
    println!("target ECHO p50 ≤ {TARGET_P50_RATIO}× TCP: {} ({r50:.2}×)", met(p50_ok));
    println!(
        "target ≥ {TARGET_HANDSHAKES_PER_S} handshakes/s with 8 clients: {} ({:.0}/s{})",
        met(hs_ok),
        hs.per_s,
        if o.threads == 8 {
            ""
        } else {
            ", but not run with 8 clients"
        }
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
        "BENCH echo_p50_us={:.1} echo_p99_us={:.1} echo_mean_us={:.1} tcp_p50_us={:.1} tcp_p99_us={:.1} \
         tcp_mean_us={:.1} ratio_p50={r50:.3} ratio_p99={r99:.3} handshakes_per_s={:.0} handshake_errors={} \
         tcp_conns_per_s={:.0} tcp_conn_errors={} ratio_handshakes={hs_ratio:.4} rsa_decrypts_per_s={:.0} ratio_handshakes_rsa={rsa_ratio:.4} tfd_cpu_us_per_handshake={cpu_us_per_hs:.0} threads={} cpus={cpus} \
         target_p50_met={p50_ok} target_handshakes_met={hs_ok}",
        tfd.p50,
        tfd.p99,
        tfd.mean,
        tcp.p50,
        tcp.p99,
        tcp.mean,
        hs.per_s,
        hs.errors,
        conns.per_s,
        conns.errors,
        rsa.per_s,
        o.threads,
    );
    Ok(())
}

/// The round trips' table: TCP echo against tfd ECHO, and their ratios.
fn round_trip_table(tcp: &Stats, tfd: &Stats, [r50, r99, rmean]: [f64; 3]) {
    println!();
    println!(
        "{:<44} {:>10} {:>10} {:>10}",
        "round trip (11-byte payload)", "p50 µs", "p99 µs", "mean µs"
    );
    println!(
        "{:<44} {:>10.1} {:>10.1} {:>10.1}",
        "TCP echo, plain frames (baseline)", tcp.p50, tcp.p99, tcp.mean
    );
    println!(
        "{:<44} {:>10.1} {:>10.1} {:>10.1}",
        "tfd ECHO, encrypted session", tfd.p50, tfd.p99, tfd.mean
    );
    println!("{:<44} {:>9.2}× {:>9.2}× {:>9.2}×", "ratio tfd / TCP", r50, r99, rmean);
}

/// The connections' table: TCP connections against tfd handshakes against
/// RSA decryptions alone, the server's CPU per handshake, and the first
/// error of each.
fn connections_table(
    threads: usize,
    cpus: usize,
    [conns, hs, rsa]: [&Throughput; 3],
    hs_ratio: f64,
    rsa_ratio: f64,
    cpu_us_per_hs: f64,
) {
    println!();
    println!(
        "{:<44} {:>10} {:>10} {:>10} {:>10}",
        format!("connections ({} clients)", threads),
        "per s",
        "done",
        "errors",
        "p50 ms"
    );
    for (name, t) in [
        ("TCP connect + echo + close (baseline)", conns),
        ("tfd full handshake + ECHO + END", hs),
    ] {
        println!(
            "{:<44} {:>10.0} {:>10} {:>10} {:>10.3}",
            name,
            t.per_s,
            t.done,
            t.errors,
            t.latency.map_or(f64::NAN, |s| s.p50 / 1e3)
        );
    }
    println!("{:<44} {:>9.3}×", "ratio tfd / TCP", hs_ratio);
    println!(
        "{:<44} {:>10.0} {:>10} {:>10}",
        format!("RSA-2048 decryptions alone ({cpus} threads)"),
        rsa.per_s,
        rsa.done,
        rsa.errors
    );
    println!(
        "{:<44} {:>9.3}×   (every handshake costs the server one; 1.0 is the ceiling)",
        "ratio tfd handshakes / RSA decryptions", rsa_ratio
    );
    println!(
        "tfd CPU per handshake (listener, session, key process): {cpu_us_per_hs:.0} µs, i.e. at most {:.0}/s on {cpus} CPU(s) \
         with free clients",
        cpus as f64 * 1e6 / cpu_us_per_hs
    );
    for (name, t) in [("TCP baseline", conns), ("tfd", hs)] {
        if let Some(e) = &t.first_error {
            println!("  {name}: {} error(s), first: {e}", t.errors);
        }
    }
}

fn main() -> ExitCode {
    cli::main("latency", USAGE, Options::parse, run)
}
