//! The cost of verified, atomic uploads (issue 30): 1 GiB from a local file
//! through tfd's staged uploads (`tf put --streams 4` and `tf put --resume`:
//! a hidden stage, a SHA-256 of both sides, one rename) against the same
//! transfer unverified and in place (PUT over 4 connections, and one PUT from
//! offset 0: what those commands did before), measured alternately in the same
//! run, each after the disk is synced. The figure is time(verified) ÷
//! time(unverified); the target is at most 1.15.
//!
//!   cargo bench --bench staged -- [--quick] [--mib N] [--reps N] [--secure]
//!
//! The sessions use the protocol's own cipher unless `--secure` (tf's default,
//! the secure transport: less CPU per byte moved, so the hashing weighs more).
//!
//! What verification cannot go below is printed too, measured in the same
//! run: one core's time to SHA-256 1 GiB, and the CPU both ends used per
//! variant. Verified, each side hashes the whole file once (the client its
//! source, the server the bytes it writes, in flight or read back at the
//! commit): 2 GiB of SHA-256 per GiB moved. With the cores the unverified
//! transfer leaves idle taken first, the floor is
//! 1 + max(0, 2·sha − idle) ÷ (cores · unverified time).
//!
//! With `STAGED_PROFILE=1` the server's log lines of each phase follow, with
//! their times (where the verified transfer spends its time: the data, or
//! the commit's hash).

mod support;

use std::fs;
use std::io::Write;
use std::path::Path;
use std::sync::atomic::AtomicU64;
use std::time::Instant;
use support::floor::{both_cpu, median, sha_per_gib};
use support::Server;
use tfp_client::engine::staged::{self, Request};
use tfp_client::replies::Split as _;
use tfp_client::{parallel, Client, ClientConfig, Error};

const MIB: u64 = 1 << 20;
const UNIT: i64 = 4 << 20;
const TARGET: f64 = 1.15;

fn make_local(path: &Path, size: u64) -> Result<(), String> {
    let mut f = fs::File::create(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut x = 0x9e37_79b9_7f4a_7c15u64;
    let block: Vec<u8> = (0..MIB)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect();
    for i in 0..size / MIB {
        let mut b = block.clone();
        b[..8].copy_from_slice(&i.to_le_bytes());
        f.write_all(&b).map_err(|e| e.to_string())?;
    }
    f.sync_all().map_err(|e| e.to_string())
}

/// Runs `op` after a sync: its wall time and the CPU both ends used.
fn timed(server: &Server, op: impl FnOnce() -> Result<(), String>) -> Result<(f64, f64), String> {
    nix::unistd::sync();
    server.drain_sessions(std::time::Duration::from_secs(5));
    let c0 = both_cpu(server);
    let t = Instant::now();
    op()?;
    let secs = t.elapsed().as_secs_f64();
    server.drain_sessions(std::time::Duration::from_secs(5));
    Ok((secs, both_cpu(server) - c0))
}

fn staged_put(cfg: &ClientConfig, local: &Path, streams: usize, resume: bool) -> Result<(), String> {
    let mut c = Client::connect(cfg).map_err(|e| e.to_string())?;
    let req = Request {
        local,
        remote: b"v.bin",
        streams,
        bufsz: UNIT,
        resume,
        overwrite: true,
        attrs: None,
        compress: None,
    };
    match staged::put(&mut c, cfg, &req, &AtomicU64::new(0)) {
        Ok(_) => Ok(()),
        Err(e) if staged::unsupported(&e) => Err("the server has no staged uploads".into()),
        Err(e) => Err(e.to_string()),
    }
}

fn plain_streams(cfg: &ClientConfig, local: &Path, streams: usize) -> Result<(), String> {
    let p = std::sync::Arc::new(AtomicU64::new(0));
    match parallel::put(cfg, local, b"u.bin", streams, UNIT, &p) {
        Ok(()) => Ok(()),
        Err(Error::Refused(r)) => Err(format!("parallel PUT: {:?}", Some(format!("{:?}", r.reply)))),
        Err(e) => Err(format!("parallel PUT: {:?}", Some(e.to_string()))),
    }
}

fn plain_one(cfg: &ClientConfig, local: &Path) -> Result<(), String> {
    let mut c = Client::connect(cfg).map_err(|e| e.to_string())?;
    let mut f = fs::File::open(local).map_err(|e| e.to_string())?;
    match c.put(b"u.bin", 0, UNIT, &mut f, &mut |_| {}).split() {
        Ok(Ok(_)) => Ok(()),
        other => Err(format!("PUT: {other:?}")),
    }
}

fn run() -> Result<(), String> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let quick = args.iter().any(|a| a == "--quick");
    let arg = |name: &str| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
            .and_then(|v| v.parse::<u64>().ok())
    };
    let mib = arg("--mib").unwrap_or(if quick { 256 } else { 1024 });
    let reps = arg("--reps").unwrap_or(if quick { 1 } else { 3 }) as usize;
    let bin = support::tfd_binary()?;
    let server = Server::start(&bin)?;
    let mut cfg = server.client_config();
    if args.iter().any(|a| a == "--secure") {
        cfg.transport = tfp_client::Transport::Require;
    }
    let dir = support::private_tempdir("staged")?;
    let local = dir.join("src.bin");
    make_local(&local, mib * MIB)?;
    let sha = sha_per_gib();
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get()) as f64;
    println!("SHA-256 on one core: {sha:.3} s per GiB; {cores} cores");
    let started = Instant::now();
    let mut results = Vec::new();
    for (what, verified, plain) in [
        (
            "put --streams 4",
            Box::new(|| staged_put(&cfg, &local, 4, false)) as Box<dyn Fn() -> Result<(), String>>,
            Box::new(|| plain_streams(&cfg, &local, 4)) as Box<dyn Fn() -> Result<(), String>>,
        ),
        (
            "put --resume",
            Box::new(|| staged_put(&cfg, &local, 1, true)),
            Box::new(|| plain_one(&cfg, &local)),
        ),
    ] {
        let (mut v, mut p) = (Vec::new(), Vec::new());
        let (mut cv, mut cp) = (0.0, 0.0);
        for i in 0..reps {
            // alternate which goes first: the machine drifts
            let (a, b);
            if i % 2 == 0 {
                a = timed(&server, &plain)?;
                let _ = fs::remove_file(server.data_dir().join("v.bin"));
                b = timed(&server, &verified)?;
            } else {
                let _ = fs::remove_file(server.data_dir().join("v.bin"));
                b = timed(&server, &verified)?;
                a = timed(&server, &plain)?;
            }
            p.push(a.0);
            cp += a.1 / reps as f64;
            v.push(b.0);
            cv += b.1 / reps as f64;
            let _ = fs::remove_file(server.data_dir().join("u.bin"));
            let _ = fs::remove_file(server.data_dir().join("v.bin"));
        }
        let (tv, tp) = (median(v), median(p));
        let ratio = tv / tp;
        println!(
            "{what}: {mib} MiB verified {tv:.2} s ({:.0} MiB/s), unverified in place {tp:.2} s ({:.0} MiB/s): {ratio:.3}x (target <= {TARGET}) {}",
            mib as f64 / tv,
            mib as f64 / tp,
            support::met(ratio <= TARGET)
        );
        let idle = (cores * tp - cp).max(0.0);
        let need = 2.0 * sha * mib as f64 / 1024.0;
        let floor = 1.0 + (need - idle).max(0.0) / (cores * tp);
        println!(
            "  CPU of both ends {cp:.2} s unverified ({:.2} cores busy), {cv:.2} s verified (+{:.2} s; \
             the SHA-256 alone needs {need:.2} s): floor ratio on this machine {floor:.3}",
            cp / tp,
            cv - cp
        );
        results.push((what, ratio, floor));
    }
    let _ = fs::remove_dir_all(&dir);
    if std::env::var_os("STAGED_PROFILE").is_some() {
        for l in server
            .log_text()
            .lines()
            .filter(|l| l.contains("TFDSTAGE") || l.contains("PUT stored"))
        {
            println!("  {l}");
        }
    }
    println!(
        "BENCH_STAGED mib={mib} reps={reps} streams4_ratio={:.3} streams4_floor={:.3} resume_ratio={:.3} resume_floor={:.3} sha_s_per_gib={sha:.3} secs={:.0}",
        results[0].1,
        results[0].2,
        results[1].1,
        results[1].2,
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

fn main() {
    if let Err(e) = run() {
        eprintln!("staged bench: {e}");
        std::process::exit(1);
    }
}
