//! tfd behind a real HAProxy (Debian's, `scripts/deps` installs it), on loopback:
//! the cost of the PROXY protocol, against the same balancer in plain TCP mode,
//! measured in the same run (issue 25's target: at least 0.9× for both phases).
//!
//! Two tfd servers, identical but for `proxy_protocol v2` on one, and two HAProxy
//! frontends: plain TCP to the first, `send-proxy-v2` to the second. Each phase
//! runs on both in alternating rounds (A B A B…), so machine drift hits both alike:
//!
//! 1. ECHO with 8 clients on open sessions (operations per second);
//! 2. a PUT of `--mib` MiB (default 1024) on one session (MB/s);
//! 3. full handshakes (connect, handshake, ECHO, END) with 8 clients: the header is
//!    read once per connection, so this is where the PROXY protocol costs most.
//!
//! Direct (no balancer) figures are printed beside them for context: on two
//! cores the balancer itself takes a large share (issue 25: plain HAProxy gave
//! 0.23× direct for 8-client ECHO and 0.93× for a 1 GiB PUT).
//!
//! `cargo bench --bench balancer -- [--secs S] [--rounds N] [--mib M]`; the last
//! line, `BENCH_BALANCER key=value ...`, is for scripts. Missing a target is
//! reported, never a failure.

mod support;

use std::io::Read;
use std::process::{Child, Command, ExitCode, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use support::{met, private_tempdir, tfd_binary, Server};
use tfp_client::replies::Split as _;
use tfp_client::{Client, ClientConfig};

const TARGET: f64 = 0.9;
const CLIENTS: usize = 8;
const UNIT: usize = 4 << 20;

struct Options {
    secs: f64,
    rounds: usize,
    mib: u64,
}

fn options() -> Result<Options, String> {
    let mut o = Options {
        secs: 4.0,
        rounds: 2,
        mib: 1024,
    };
    let mut args = std::env::args().skip(1).filter(|a| a != "--bench");
    while let Some(a) = args.next() {
        let mut val = |name: &str| args.next().ok_or(format!("{name} needs a value"));
        match a.as_str() {
            "--secs" => o.secs = val("--secs")?.parse().map_err(|e| format!("--secs: {e}"))?,
            "--rounds" => o.rounds = val("--rounds")?.parse().map_err(|e| format!("--rounds: {e}"))?,
            "--mib" => o.mib = val("--mib")?.parse().map_err(|e| format!("--mib: {e}"))?,
            "--quick" => {
                o.secs = 2.0;
                o.rounds = 1;
                o.mib = 256;
            }
            other => return Err(format!("unknown option {other}")),
        }
    }
    Ok(o)
}

/// A HAProxy in front of `backend`, killed on drop.
struct Balancer {
    child: Child,
    port: u16,
    dir: std::path::PathBuf,
}

impl Drop for Balancer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn haproxy() -> Option<&'static str> {
    ["/usr/sbin/haproxy", "/usr/bin/haproxy"]
        .into_iter()
        .find(|p| std::path::Path::new(p).exists())
}

impl Balancer {
    /// HAProxy with its frontend socket bound and listening here before it
    /// starts, handed to it as `fd@N` (tests/server/proxy.rs does the same): a
    /// port chosen free and bound by HAProxy later could be taken meanwhile by
    /// any program on the machine (a client's ephemeral port is enough), and
    /// HAProxy then exited with "cannot bind socket" while the bench waited
    /// for a listener that never came. With the socket listening first, a
    /// client's connection waits in its backlog until HAProxy takes it, bounded
    /// by the client's own timeout: no port race and nothing to poll for.
    fn start(bin: &str, backend: &str, send_proxy: bool) -> Result<Balancer, String> {
        use std::os::fd::AsRawFd as _;
        let dir = private_tempdir("haproxy")?;
        let front = std::net::TcpListener::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
        let port = front.local_addr().map_err(|e| e.to_string())?.port();
        // a dup has no close-on-exec flag: HAProxy inherits it
        let fd = nix::unistd::dup(front.as_raw_fd()).map_err(|e| format!("dup: {e}"))?;
        let cfg = dir.join("haproxy.cfg");
        std::fs::write(
            &cfg,
            format!(
                "global\n  maxconn 2000\ndefaults\n  mode tcp\n  timeout connect 5s\n  timeout client 120s\n  timeout server 120s\n\
                 frontend tf\n  bind fd@{fd}\n  default_backend tfd\n\
                 backend tfd\n  server a {backend}{}\n",
                if send_proxy { " send-proxy-v2" } else { "" }
            ),
        )
        .map_err(|e| e.to_string())?;
        let spawned = Command::new(bin)
            .arg("-db")
            .arg("-f")
            .arg(&cfg)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("{bin}: {e}"));
        // HAProxy holds the socket now; closed here, it closes with HAProxy
        let _ = nix::unistd::close(fd);
        drop(front);
        Ok(Balancer {
            child: spawned?,
            port,
            dir,
        })
    }
}

/// One way in: a name, the client parameters, the server behind.
struct Path<'a> {
    name: &'static str,
    cfg: ClientConfig,
    server: &'a Server,
}

fn via(server: &Server, port: Option<u16>) -> ClientConfig {
    let mut cfg = server.client_config();
    if let Some(p) = port {
        cfg.server = format!("127.0.0.1:{p}");
    }
    cfg
}

/// Operations per second of [`CLIENTS`] threads for `secs`: each runs `one`
/// on its own state (from `start`) until told to stop or `one` fails.
fn rate<T: Send + 'static>(
    secs: f64,
    start: impl Fn() -> Result<T, String>,
    one: fn(&mut T) -> bool,
) -> Result<f64, String> {
    let stop = Arc::new(AtomicBool::new(false));
    let count = Arc::new(AtomicU64::new(0));
    let states = (0..CLIENTS).map(|_| start()).collect::<Result<Vec<T>, String>>()?;
    let t = Instant::now();
    let handles: Vec<_> = states
        .into_iter()
        .map(|mut st| {
            let (stop, count) = (stop.clone(), count.clone());
            std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) && one(&mut st) {
                    count.fetch_add(1, Ordering::Relaxed);
                }
            })
        })
        .collect();
    std::thread::sleep(Duration::from_secs_f64(secs));
    stop.store(true, Ordering::Relaxed);
    let n = count.load(Ordering::Relaxed);
    let elapsed = t.elapsed().as_secs_f64();
    for h in handles {
        let _ = h.join();
    }
    Ok(n as f64 / elapsed)
}

/// ECHOs per second with [`CLIENTS`] open sessions.
fn echo_rate(cfg: &ClientConfig, secs: f64) -> Result<f64, String> {
    rate(
        secs,
        || Client::connect(cfg).map_err(|e| format!("connect: {e}")),
        |c| c.call("ECHO", b"x").is_ok(),
    )
}

/// Full handshakes (connect, handshake, ECHO, END) per second with [`CLIENTS`].
fn handshake_rate(cfg: &ClientConfig, secs: f64) -> Result<f64, String> {
    rate(
        secs,
        || Ok(cfg.clone()),
        |cfg| {
            let Ok(mut c) = Client::connect(cfg) else { return false };
            c.call("ECHO", b"x").is_ok() && c.end().is_ok()
        },
    )
}

/// Zeros, `left` of them.
struct Zeros {
    left: u64,
}

impl Read for Zeros {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = (buf.len() as u64).min(self.left) as usize;
        buf[..n].fill(0);
        self.left -= n as u64;
        Ok(n)
    }
}

/// MB/s of one PUT of `mib` MiB.
fn put_rate(p: &Path<'_>, mib: u64) -> Result<f64, String> {
    let size = mib << 20;
    let mut c = Client::connect(&p.cfg).map_err(|e| format!("connect: {e}"))?;
    let t = Instant::now();
    match c
        .put(b"put.bin", 0, UNIT as i64, &mut Zeros { left: size }, &mut |_| {})
        .split()
    {
        Ok(Ok(())) => {}
        other => return Err(format!("PUT through {}: {other:?}", p.name)),
    }
    let secs = t.elapsed().as_secs_f64();
    let _ = c.end();
    let _ = std::fs::remove_file(p.server.data_dir().join("put.bin"));
    Ok(size as f64 / secs / 1e6)
}

/// Runs `f` on every path, `rounds` times in alternation; the mean per path.
fn alternate(
    paths: &[Path<'_>],
    rounds: usize,
    f: impl Fn(&Path<'_>) -> Result<f64, String>,
) -> Result<Vec<f64>, String> {
    let mut sums = vec![0.0; paths.len()];
    for _ in 0..rounds {
        for (i, p) in paths.iter().enumerate() {
            sums[i] += f(p)?;
        }
    }
    Ok(sums.into_iter().map(|s| s / rounds as f64).collect())
}

fn run(o: &Options) -> Result<String, String> {
    let Some(hap) = haproxy() else {
        return Err("no haproxy: scripts/deps installs Debian's".into());
    };
    let bin = tfd_binary()?;
    // sync_uploads no: the PUT phase measures the path, not the disk
    let plain = Server::start_with(&bin, "sync_uploads no\n")?;
    let proxied = Server::start_with(&bin, "sync_uploads no\nproxy_protocol v2\nproxy_from 127.0.0.1\n")?;
    let lb_plain = Balancer::start(hap, &plain.client_config().server, false)?;
    let lb_proxy = Balancer::start(hap, &proxied.client_config().server, true)?;
    let paths = [
        Path {
            name: "direct",
            cfg: via(&plain, None),
            server: &plain,
        },
        Path {
            name: "haproxy tcp",
            cfg: via(&plain, Some(lb_plain.port)),
            server: &plain,
        },
        Path {
            name: "haproxy proxy-v2",
            cfg: via(&proxied, Some(lb_proxy.port)),
            server: &proxied,
        },
    ];
    println!(
        "tfd behind HAProxy ({} rounds, {} s per ECHO/handshake phase, PUT {} MiB)",
        o.rounds, o.secs, o.mib
    );
    let echo = alternate(&paths, o.rounds, |p| echo_rate(&p.cfg, o.secs))?;
    let hs = alternate(&paths, o.rounds, |p| handshake_rate(&p.cfg, o.secs))?;
    let put = alternate(&paths, o.rounds, |p| put_rate(p, o.mib))?;
    println!(
        "{:<18} {:>14} {:>14} {:>12}",
        "path", "ECHO ops/s", "handshakes/s", "PUT MB/s"
    );
    for (i, p) in paths.iter().enumerate() {
        println!("{:<18} {:>14.0} {:>14.1} {:>12.1}", p.name, echo[i], hs[i], put[i]);
    }
    let r = |v: &[f64]| v[2] / v[1];
    let (re, rh, rp) = (r(&echo), r(&hs), r(&put));
    println!(
        "proxy-v2 ÷ tcp: ECHO {re:.3} ({}), PUT {rp:.3} ({}), target {TARGET}; handshakes {rh:.3}",
        met(re >= TARGET),
        met(rp >= TARGET)
    );
    println!(
        "haproxy tcp ÷ direct: ECHO {:.3}, handshakes {:.3}, PUT {:.3} (the balancer's own cost)",
        echo[1] / echo[0],
        hs[1] / hs[0],
        put[1] / put[0]
    );
    Ok(format!(
        "BENCH_BALANCER echo_direct={:.0} echo_tcp={:.0} echo_proxy={:.0} echo_ratio={re:.3} \
         handshakes_tcp={:.1} handshakes_proxy={:.1} handshakes_ratio={rh:.3} \
         put_tcp_mbps={:.1} put_proxy_mbps={:.1} put_ratio={rp:.3} target={TARGET}",
        echo[0], echo[1], echo[2], hs[1], hs[2], put[1], put[2]
    ))
}

fn main() -> ExitCode {
    let o = match options() {
        Ok(o) => o,
        Err(e) => {
            eprintln!("balancer bench: {e}");
            return ExitCode::from(2);
        }
    };
    match run(&o) {
        Ok(line) => {
            println!("{line}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("balancer bench: {e}");
            ExitCode::FAILURE
        }
    }
}
