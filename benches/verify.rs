//! What the download engine's end-to-end check costs (issue 30): a 1 GiB `get`
//! with `--streams 4`, and a `--resume` of a partial holding its first half, each
//! checked against the server's SHA256 (as `tf` always does for those) and
//! unchecked (`Request::unverified`, which only benches set), alternated run by
//! run in the same process against the same release `tfd`, so a VM's drift hits
//! both alike. Per pair the time checked ÷ the time unchecked; the median of
//! `--reps` pairs is reported. Target: at most 1.15. Missing it is reported,
//! never a failure.
//!
//! What the check cannot go below is printed too, measured in the same run:
//! the time one core takes to SHA-256 1 GiB, and the CPU (client and server
//! processes together) each variant used. Checked, the server hashes its whole
//! file and the client the bytes it receives (the whole file with --streams
//! 4; with --resume the new half, since both variants prove the half already
//! there): `k` GiB of SHA-256, k = 2 and 1.5. With the cores the unchecked
//! transfer leaves idle taken first, the floor is
//! 1 + max(0, k·sha − idle) ÷ (cores · unchecked time).
//!
//! The sessions use the protocol's own cipher, as the other benches do, unless
//! `--secure`: then tf's default, the secure transport (AES-GCM), which moves
//! the data for far less CPU, so the same hashing weighs more (a higher floor).
//!
//! Options: `--quick` (128 MiB, 2 pairs), `--mib N`, `--reps N`, `--secure`.

mod support;

use sha2::{Digest, Sha256};
use std::fs;
use std::io::Write;
use std::path::Path;
use std::process::ExitCode;
use std::sync::atomic::AtomicU64;
use std::sync::Arc;
use std::time::Instant;
use support::floor::{both_cpu, median, sha_per_gib};
use support::{cli, met, private_tempdir, tfd_binary, Server};
use tfp_client::engine::{download, journal, partial};
use tfp_client::{Client, ClientConfig};

const USAGE: &str = "usage: verify [--quick] [--mib N] [--reps N] [--secure]";
const MIB: u64 = 1 << 20;
const TARGET: f64 = 1.15;

struct Options {
    mib: u64,
    reps: usize,
    secure: bool,
}

impl Options {
    fn parse(args: &mut cli::Args) -> Result<Options, String> {
        let mut o = Options {
            mib: 1024,
            reps: 3,
            secure: false,
        };
        while let Some(a) = args.next() {
            match a.as_str() {
                "--quick" => {
                    o.mib = 128;
                    o.reps = 2;
                }
                "--secure" => o.secure = true,
                "--mib" => o.mib = args.number("--mib", |v: &u64| (16..=8192).contains(v), "16..=8192")?,
                "--reps" => o.reps = args.number("--reps", |v: &usize| (1..=9).contains(v), "1..=9")?,
                other => return Err(format!("unknown argument {other:?}")),
            }
        }
        Ok(o)
    }
}

/// The source file on the server: a repeating pattern, written once.
fn make_source(path: &Path, size: u64) -> Result<(), String> {
    let mut f = fs::File::create(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let unit: Vec<u8> = (0..MIB).map(|i| ((i * 2_654_435_761) >> 13) as u8).collect();
    for _ in 0..size / MIB {
        f.write_all(&unit).map_err(|e| e.to_string())?;
    }
    f.sync_all().map_err(|e| e.to_string())
}

/// A partial of `target` holding the source's first half, journaled as a
/// two-range download of which the first range landed.
fn half_partial(source: &Path, target: &Path, remote: &[u8], size: u64, mtime: i64) -> Result<(), String> {
    let (data, jpath) = partial::paths_for(target);
    let half = size / 2 / 4096 * 4096;
    let bytes = fs::read(source).map_err(|e| e.to_string())?;
    fs::write(&data, &bytes[..half as usize]).map_err(|e| e.to_string())?;
    let j = journal::Journal {
        source: journal::Identity {
            name: remote.to_vec(),
            size,
            mtime,
        },
        ranges: vec![
            journal::Range {
                done: half,
                digest: Some(Sha256::digest(&bytes[..half as usize]).into()),
                ..journal::Range::fresh(0, half)
            },
            journal::Range::fresh(half, size),
        ],
    };
    j.store(&jpath).map_err(|e| e.to_string())
}

/// One download into `target`, timed (connect and END outside the time).
fn one(cfg: &ClientConfig, target: &Path, streams: usize, resume: bool, checked: bool) -> Result<f64, String> {
    let progress = Arc::new(AtomicU64::new(0));
    let mut c = Client::connect(cfg).map_err(|e| format!("connect: {e}"))?;
    let req = download::Request {
        remote: b"v.bin",
        target: target.into(),
        streams,
        bufsz: 4 << 20,
        resume,
        verify: false,
        unverified: !checked,
        progress: &progress,
    };
    let t = Instant::now();
    let r = download::download(&mut c, cfg, &req, &mut |_| {});
    let secs = t.elapsed().as_secs_f64();
    let _ = c.end();
    r.map_err(|e| format!("download: {e}"))?;
    Ok(secs)
}

fn run(o: &Options) -> Result<(), String> {
    let bin = tfd_binary()?;
    let server = Server::start(&bin)?;
    let mut cfg = server.client_config();
    if o.secure {
        cfg.transport = tfp_client::Transport::Require;
    }
    let size = o.mib * MIB;
    let source = server.data_dir().join("v.bin");
    make_source(&source, size)?;
    let mtime = {
        use std::os::unix::fs::MetadataExt;
        fs::metadata(&source).map_err(|e| e.to_string())?.mtime()
    };
    let dir = private_tempdir("bench-verify")?;
    let target = dir.join("v.bin");
    println!(
        "verify: {} MiB get, checked vs unchecked, {} pairs, {}",
        o.mib,
        o.reps,
        if o.secure {
            "secure transport"
        } else {
            "the protocol's own cipher"
        }
    );
    let sha = sha_per_gib();
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get()) as f64;
    println!("  SHA-256 on one core: {sha:.3} s per GiB; {cores} cores");
    let mut ratios: Vec<(&str, Vec<f64>, Vec<f64>)> =
        vec![("--streams 4", vec![], vec![]), ("--resume", vec![], vec![])];
    // CPU seconds per variant: [unchecked, checked] per mode
    let mut cpu = [[0.0f64; 2]; 2];
    let r = (|| -> Result<(), String> {
        for rep in 0..o.reps {
            for (mode, checked_t, unchecked_t) in ratios.iter_mut() {
                // alternate which goes first, so warm caches favour neither
                let order = if rep % 2 == 0 { [false, true] } else { [true, false] };
                let mut times = [0.0; 2];
                let m = usize::from(*mode == "--resume");
                for checked in order {
                    let _ = fs::remove_file(&target);
                    nix::unistd::sync();
                    if *mode == "--resume" {
                        half_partial(&source, &target, b"v.bin", size, mtime)?;
                    }
                    server.drain_sessions(std::time::Duration::from_secs(5));
                    let c0 = both_cpu(&server);
                    let secs = if *mode == "--resume" {
                        one(&cfg, &target, 1, true, checked)?
                    } else {
                        one(&cfg, &target, 4, false, checked)?
                    };
                    server.drain_sessions(std::time::Duration::from_secs(5));
                    cpu[m][usize::from(checked)] += both_cpu(&server) - c0;
                    times[usize::from(checked)] = secs;
                }
                println!(
                    "  {mode}: unchecked {:.2} s, checked {:.2} s, ratio {:.3}",
                    times[0],
                    times[1],
                    times[1] / times[0]
                );
                unchecked_t.push(times[0]);
                checked_t.push(times[1] / times[0]);
            }
        }
        Ok(())
    })();
    let _ = fs::remove_dir_all(&dir);
    r?;
    let mut line = String::from("BENCH_VERIFY");
    for (mode, ratio, unchecked) in &ratios {
        let m = median(ratio.clone());
        println!(
            "{mode}: checked ÷ unchecked {m:.3} (median of {}; unchecked median {:.0} MB/s), target ≤ {TARGET}: {}",
            ratio.len(),
            size as f64 / median(unchecked.clone()) / 1e6,
            met(m <= TARGET)
        );
        let (key, k, i) = if *mode == "--resume" {
            ("resume", 1.5, 1)
        } else {
            ("streams4", 2.0, 0)
        };
        let gib = size as f64 / (1u64 << 30) as f64;
        let tu = median(unchecked.clone());
        let reps = ratio.len() as f64;
        let (cu, cc) = (cpu[i][0] / reps, cpu[i][1] / reps);
        let idle = (cores * tu - cu).max(0.0);
        let floor = 1.0 + (k * gib * sha - idle).max(0.0) / (cores * tu);
        println!(
            "  {mode}: CPU of both ends {cu:.2} s unchecked ({:.2} cores busy), {cc:.2} s checked (+{:.2} s; \
             the SHA-256 alone needs {:.2} s): floor ratio on this machine {floor:.3}",
            cu / tu,
            cc - cu,
            k * gib * sha
        );
        line.push_str(&format!(" {key}_ratio={m:.3} {key}_floor={floor:.3}"));
    }
    println!("{line} sha_s_per_gib={sha:.3} target={TARGET}");
    Ok(())
}

fn main() -> ExitCode {
    cli::main("verify", USAGE, Options::parse, run)
}
