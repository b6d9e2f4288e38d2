//! The transfer phases on one tfd.

use super::cipher::aead_loopback_rate;
use super::measure::{clean, pattern};
use super::options::{Options, MIB};
use super::phases::{
    make_local, phase_get, phase_parallel, phase_put, phase_put_whole, phase_rcvfile, phase_sndfile, Parallel,
};
use super::runs::{repeated, Download, Singles, Upload};
use crate::support::{log_problems, private_tempdir, Server};
use std::fs;
use std::path::Path;

/// The median of `v` (the upper one of an even count; 0 when empty).
pub(crate) fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(0.0)
}

/// What the transfer phases measured.
#[derive(Default)]
pub(crate) struct Measured {
    pub(crate) singles: Singles,
    pub(crate) pars: Vec<Parallel>,
    /// PUT and GET: (name, median stream-cipher MB/s, median AES MB/s).
    pub(crate) aes: Vec<(&'static str, f64, f64)>,
    /// PUT, GET, SNDFILE, RCVFILE: (name, median legacy MB/s, median secure MB/s).
    pub(crate) secure: Vec<(&'static str, f64, f64)>,
    /// The median of [`aead_loopback_rate`], measured once per run of `secure`.
    pub(crate) aead_loopback: f64,
    /// How tfd stopped, and its log's warning/error lines.
    pub(crate) stopped: Option<(String, Vec<String>)>,
}

/// The transfer phases on one tfd.
pub(crate) fn run_transfers(o: &Options, bin: &Path, in_budget: &dyn Fn(&str) -> bool) -> Result<Measured, String> {
    let size = o.mib * MIB;
    let par_size = o.par_mib * MIB;
    let mut server = Server::start(bin)?;
    let cfg = server.client_config();
    let pat = pattern();
    let mut singles: Singles = Vec::new();

    // (upload phase, its download phase, the file between them, the grant note)
    let pairs: [(&str, Upload, &str, Download, &str, &str); 2] = [
        ("PUT", phase_put, "GET", phase_get, "put.bin", " (4 MiB grant)"),
        ("SNDFILE", phase_sndfile, "RCVFILE", phase_rcvfile, "snd.bin", ""),
    ];
    for (i, (up, upload, down, download, file, note)) in pairs.into_iter().enumerate() {
        let (up_key, down_key) = (up.to_lowercase(), down.to_lowercase());
        // an upload only there to create the file the download reads runs once
        if (o.wants(&up_key) || o.wants(&down_key)) && in_budget(up) {
            let reps = if o.wants(&up_key) { o.reps } else { 1 };
            println!("  [{}/6] {up} {} MiB{note} × {reps} ...", 2 + 2 * i, o.mib);
            let runs = repeated(reps, || {
                clean(&server, file);
                let f = upload(&server, &cfg, &pat, size);
                nix::unistd::sync();
                f
            })?;
            singles.push((up, o.wants(&up_key).then_some(runs)));
        }
        if i == 0 && o.wants("putwhole") && in_budget("PUT whole") {
            println!(
                "  [2/6] PUT {} MiB, whole 4 MiB chunks enciphered then written in one call × {} ...",
                o.mib, o.reps
            );
            let runs = repeated(o.reps, || {
                clean(&server, file);
                let f = phase_put_whole(&server, &cfg, &pat, size);
                nix::unistd::sync();
                f
            })?;
            singles.push(("PUT whole", Some(runs)));
        }
        if o.wants(&down_key) && in_budget(down) {
            println!("  [{}/6] {down} {} MiB{note} × {} ...", 3 + 2 * i, o.mib, o.reps);
            singles.push((down, Some(repeated(o.reps, || download(&server, &cfg, size))?)));
        }
        clean(&server, file);
    }

    let mut pars: Vec<Parallel> = Vec::new();
    if o.wants("parallel") {
        let dir = private_tempdir("bench-local")?;
        let local = dir.join("par.bin");
        let r = (|| -> Result<(), String> {
            make_local(&local, &pat, par_size)?;
            for &n in &o.streams {
                if !in_budget(&format!("parallel × {n}")) {
                    break;
                }
                println!("  [6/6] parallel PUT then GET, {n} stream(s), {} MiB ...", o.par_mib);
                pars.push(phase_parallel(&server, &cfg, &local, par_size, n)?);
            }
            Ok(())
        })();
        let _ = fs::remove_dir_all(&dir);
        clean(&server, "par.bin");
        r?;
    }

    let mut aes = Vec::new();
    if o.wants("aes") && in_budget("AES") {
        println!(
            "  [aes] PUT then GET {} MiB, stream cipher and AES alternated × {} ...",
            o.mib, o.reps
        );
        let mut acfg = cfg.clone();
        acfg.aes = true;
        let (mut puts, mut gets) = ((Vec::new(), Vec::new()), (Vec::new(), Vec::new()));
        for _ in 0..o.reps.max(1) {
            for (i, c) in [&cfg, &acfg].into_iter().enumerate() {
                clean(&server, "put.bin");
                let p = phase_put(&server, c, &pat, size)?.mbps();
                nix::unistd::sync();
                let g = phase_get(&server, c, size)?.mbps();
                if i == 0 {
                    puts.0.push(p);
                    gets.0.push(g);
                } else {
                    puts.1.push(p);
                    gets.1.push(g);
                }
            }
        }
        clean(&server, "put.bin");
        aes.push(("PUT", median(puts.0), median(puts.1)));
        aes.push(("GET", median(gets.0), median(gets.1)));
    }

    let mut secure = Vec::new();
    let mut ceilings = Vec::new();
    if o.wants("secure") && in_budget("secure") {
        println!(
            "  [secure] PUT, GET, SNDFILE, RCVFILE {} MiB, legacy cipher and secure transport alternated × {} ...",
            o.mib, o.reps
        );
        let mut scfg = cfg.clone();
        scfg.transport = tfp_client::Transport::Require;
        let pairs: [(&'static str, Upload, &'static str, Download, &str); 2] = [
            ("PUT", phase_put, "GET", phase_get, "put.bin"),
            ("SNDFILE", phase_sndfile, "RCVFILE", phase_rcvfile, "snd.bin"),
        ];
        for (up, upload, down, download, file) in pairs {
            let (mut ups, mut downs) = ((Vec::new(), Vec::new()), (Vec::new(), Vec::new()));
            for _ in 0..o.reps.max(1) {
                // the ceiling is measured between the transfers too, so that
                // the machine's drift falls on it alike
                ceilings.push(aead_loopback_rate(o.mib));
                for (i, c) in [&cfg, &scfg].into_iter().enumerate() {
                    clean(&server, file);
                    let u = upload(&server, c, &pat, size)?.mbps();
                    nix::unistd::sync();
                    let d = download(&server, c, size)?.mbps();
                    let (uv, dv) = if i == 0 {
                        (&mut ups.0, &mut downs.0)
                    } else {
                        (&mut ups.1, &mut downs.1)
                    };
                    uv.push(u);
                    dv.push(d);
                }
            }
            clean(&server, file);
            secure.push((up, median(ups.0), median(ups.1)));
            secure.push((down, median(downs.0), median(downs.1)));
        }
    }

    let status = server.stop().unwrap_or_else(|| "not running".into());
    let problems = log_problems(&server.log_text());
    Ok(Measured {
        singles,
        pars,
        aes,
        secure,
        aead_loopback: median(ceilings),
        stopped: Some((status, problems)),
    })
}
