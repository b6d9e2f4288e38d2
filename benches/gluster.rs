//! Small durable uploads on GlusterFS (issue 25): 16 KiB SNDFILEs through a
//! release `tfd` whose root is a FUSE mount of a replica-2 GlusterFS volume
//! (the test bed of `crates/tfd-testkit/src/gluster.rs`, made and removed here, with
//! the volume and mount options doc/scaling.md names), against what the
//! volume itself does for a durable, atomic 16 KiB write straight on the
//! mount: a temporary file, its data, fsync, rename over the name, fsync of
//! the directory (what a durable upload must do there, with no network,
//! cipher or protocol). One client, one session; the two alternate in rounds
//! so the volume's drift hits both alike. Target: at least 0.85×.
//!
//! Run it with `scripts/bench gluster` (builds the release binaries, sets
//! `TFD_BIN`); as root, with GlusterFS and FUSE (else it says why and stops).
//! Options: `--quick` (fewer files), `--files N` (per round, default 100),
//! `--rounds N` (default 4). Missing the target is reported, never a failure.

mod support;

use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::process::ExitCode;
use std::time::Instant;
use support::{met, tfd_binary, Server};
use tfd_testkit::gluster;
use tfp_client::replies::AsStatus as _;

const SIZE: usize = 16 * 1024;
const TARGET: f64 = 0.85;

/// The volume's own durable atomic writes: `n` files in `dir`, per second.
fn floor_round(dir: &std::path::Path, n: usize, data: &[u8], round: usize) -> Result<f64, String> {
    let d = std::fs::File::open(dir).map_err(|e| e.to_string())?;
    let t = Instant::now();
    for i in 0..n {
        let tmp = dir.join(format!(".floor-tmp-{i}"));
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o644)
            .open(&tmp)
            .map_err(|e| format!("{}: {e}", tmp.display()))?;
        f.write_all(data).map_err(|e| e.to_string())?;
        f.sync_all().map_err(|e| e.to_string())?;
        drop(f);
        std::fs::rename(&tmp, dir.join(format!("floor-{round}-{i}"))).map_err(|e| e.to_string())?;
        d.sync_all().map_err(|e| e.to_string())?;
    }
    Ok(n as f64 / t.elapsed().as_secs_f64())
}

/// `n` durable 16 KiB SNDFILEs through the node, per second.
fn tfd_round(c: &mut tfp_client::Client, n: usize, data: &[u8], round: usize) -> Result<f64, String> {
    let t = Instant::now();
    for i in 0..n {
        let name = format!("bench/tfd-{round}-{i}");
        let st = c
            .sndfile(name.as_bytes(), true, &mut &data[..], &mut |_| {})
            .status()
            .map_err(|e| e.to_string())?;
        if !matches!(st, tfp_wire::Status::Ok(_)) {
            return Err(format!("SNDFILE {name}: {st:?}"));
        }
    }
    Ok(n as f64 / t.elapsed().as_secs_f64())
}

fn run(files: usize, rounds: usize) -> Result<(), String> {
    let bin = tfd_binary()?;
    let bed = gluster::try_bed().map_err(|why| {
        eprintln!("gluster bench cannot run: no GlusterFS test bed: {why}");
        "no GlusterFS test bed (see above)".to_string()
    })?;
    let (root, _) = bed.subdir("bench");
    std::fs::create_dir_all(root.join("bench")).map_err(|e| e.to_string())?;
    let floor_dir = root.join("floor");
    std::fs::create_dir_all(&floor_dir).map_err(|e| e.to_string())?;
    let mut srv = Server::start_on(&bin, Some(&root), "sync_uploads yes\nsweep_interval 0\n")?;
    let mut c = tfp_client::Client::connect(&srv.client_config()).map_err(|e| e.to_string())?;
    let data: Vec<u8> = (0..SIZE).map(|i| (i * 7 + 3) as u8).collect();
    let (mut ft, mut tt) = (0.0, 0.0);
    for r in 0..rounds {
        let f = floor_round(&floor_dir, files, &data, r)?;
        let t = tfd_round(&mut c, files, &data, r)?;
        println!(
            "round {r}: volume {f:.0} files/s, tfd SNDFILE {t:.0} files/s ({:.2}x)",
            t / f
        );
        // harmonic: total time over total files, per side
        ft += files as f64 / f;
        tt += files as f64 / t;
    }
    let _ = c.end();
    if let Some(problems) = srv.stop() {
        println!("{problems}");
    }
    let total = (files * rounds) as f64;
    let (floor, node) = (total / ft, total / tt);
    let ratio = node / floor;
    println!(
        "16 KiB durable uploads on GlusterFS: tfd {node:.0}/s, the volume's own atomic durable write {floor:.0}/s: \
         {ratio:.2}x (target {TARGET}x: {})",
        met(ratio >= TARGET)
    );
    println!("BENCH_GLUSTER tfd_per_s={node:.1} floor_per_s={floor:.1} ratio={ratio:.3} target={TARGET}");
    Ok(())
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let arg = |k: &str| {
        args.iter()
            .position(|a| a == k)
            .and_then(|i| args.get(i + 1))
            .and_then(|v| v.parse::<usize>().ok())
    };
    let quick = args.iter().any(|a| a == "--quick");
    let files = arg("--files").unwrap_or(if quick { 40 } else { 100 });
    let rounds = arg("--rounds").unwrap_or(if quick { 2 } else { 4 });
    match run(files, rounds) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("gluster bench: {e}");
            ExitCode::FAILURE
        }
    }
}
