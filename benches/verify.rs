//! What the download engine's end-to-end check costs (issue 30): a 1 GiB `get`
//! with `--streams 4`, and a `--resume` of a partial holding its first half, each
//! checked against the server's SHA256 (as `tf` always does for those) and
//! unchecked (`Request::unverified`, which only benches set), alternated run by
//! run in the same process against the same release `tfd`, so a VM's drift hits
//! both alike. Per pair the time checked ÷ the time unchecked; the median of
//! `--reps` pairs is reported. Target: at most 1.15. Missing it is reported,
//! never a failure.
//!
//! Options: `--quick` (128 MiB, 2 pairs), `--mib N`, `--reps N`.

mod support;

use sha2::{Digest, Sha256};
use std::fs;
use std::io::Write;
use std::path::Path;
use std::process::ExitCode;
use std::sync::atomic::AtomicU64;
use std::sync::Arc;
use std::time::Instant;
use support::{cli, met, private_tempdir, tfd_binary, Server};
use tfd::client::engine::{download, journal, partial};
use tfd::client::{Client, ClientConfig};

const USAGE: &str = "usage: verify [--quick] [--mib N] [--reps N]";
const MIB: u64 = 1 << 20;
const TARGET: f64 = 1.15;

struct Options {
    mib: u64,
    reps: usize,
}

impl Options {
    fn parse(args: &mut cli::Args) -> Result<Options, String> {
        let mut o = Options { mib: 1024, reps: 3 };
        while let Some(a) = args.next() {
            match a.as_str() {
                "--quick" => {
                    o.mib = 128;
                    o.reps = 2;
                }
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
    r.map_err(|(f, _)| format!("download: {f:?}"))?;
    Ok(secs)
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v.get(v.len() / 2).copied().unwrap_or(f64::NAN)
}

fn run(o: &Options) -> Result<(), String> {
    let bin = tfd_binary()?;
    let server = Server::start(&bin)?;
    let cfg = server.client_config();
    let size = o.mib * MIB;
    let source = server.data_dir().join("v.bin");
    make_source(&source, size)?;
    let mtime = {
        use std::os::unix::fs::MetadataExt;
        fs::metadata(&source).map_err(|e| e.to_string())?.mtime()
    };
    let dir = private_tempdir("bench-verify")?;
    let target = dir.join("v.bin");
    println!("verify: {} MiB get, checked vs unchecked, {} pairs", o.mib, o.reps);
    let mut ratios: Vec<(&str, Vec<f64>, Vec<f64>)> =
        vec![("--streams 4", vec![], vec![]), ("--resume", vec![], vec![])];
    let r = (|| -> Result<(), String> {
        for rep in 0..o.reps {
            for (mode, checked_t, unchecked_t) in ratios.iter_mut() {
                // alternate which goes first, so warm caches favour neither
                let order = if rep % 2 == 0 { [false, true] } else { [true, false] };
                let mut times = [0.0; 2];
                for checked in order {
                    let _ = fs::remove_file(&target);
                    nix::unistd::sync();
                    let secs = if *mode == "--resume" {
                        half_partial(&source, &target, b"v.bin", size, mtime)?;
                        one(&cfg, &target, 1, true, checked)?
                    } else {
                        one(&cfg, &target, 4, false, checked)?
                    };
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
        let key = if *mode == "--resume" { "resume" } else { "streams4" };
        line.push_str(&format!(" {key}_ratio={m:.3}"));
    }
    println!("{line} target={TARGET}");
    Ok(())
}

fn main() -> ExitCode {
    cli::main("verify", USAGE, Options::parse, run)
}
