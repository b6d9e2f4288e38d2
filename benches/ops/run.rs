//! The whole run, or the one phase `--only` names.

use super::fai::{fai_phase, report_fai};
use super::floors::{rsa_one_core, uploads_synced, DiskFloor};
use super::mixed::{mixed_phase, print_by_kind};
use super::options::{Options, CAP, CAP_HANDSHAKES, SMALL, TARGET_SECURE_HANDSHAKE_COST};
use super::rate::{connect, echo, rate, secure_handshakes, Rate};
use super::report::{report, Measured};
use super::small::Small;
use crate::support::{log_problems, met, tfd_binary, Server};
use std::path::Path;
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};
use tfp_client::ClientConfig;

pub(crate) fn run(o: &Options) -> Result<(), String> {
    let bin = tfd_binary()?;
    if o.only.as_deref() == Some("FAI") {
        return only_fai(&bin, o.secs);
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
        only_mixed(&mut server, &cfg, &data, o.secs);
        return Ok(());
    }
    if o.only.as_deref() == Some("HANDSHAKES") {
        only_handshakes(&mut server, &cfg, o.secs);
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
        only_small(&small, &echo8, &floors);
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
    server.drain_sessions(Duration::from_secs(5));
    let status = server.stop().unwrap_or_else(|| "not running".into());
    let problems = log_problems(&server.log_text());
    println!("  [5/6] FAI entrances against RSA handshakes, 8 clients ...");
    let fai = fai_phase(&bin, o.secs)?;

    report(&Measured {
        cpus,
        started,
        echo8,
        small,
        floors,
        echo64,
        mixed,
        by_kind,
        rsa1,
        hs,
        hs_legacy,
        hs_secure,
        status,
        problems,
        fai,
    });
    Ok(())
}

/// `--only fai`: phase 5 alone, and its BENCH_FAI line.
fn only_fai(bin: &Path, secs: f64) -> Result<(), String> {
    println!("  [5/5] FAI entrances against RSA handshakes, 8 clients ...");
    let f = fai_phase(bin, secs)?;
    let (ratio, ok) = report_fai(&f);
    println!(
        "BENCH_FAI rsa_handshakes_per_s={:.0} fai_handshakes_per_s={:.0} floor_per_s={:.0} fai_ratio={ratio:.3} \
         fai_bound={:.3} target_fai_met={ok}",
        f.rsa.per_s,
        f.fai.per_s,
        f.floor.per_s,
        f.bound().unwrap_or(f64::NAN)
    );
    Ok(())
}

/// `--only mixed`: phase 3 alone.
fn only_mixed(server: &mut Server, cfg: &Arc<ClientConfig>, data: &Arc<Vec<u8>>, secs: f64) {
    let (echo64, mixed, by_kind) = mixed_phase(cfg, data, secs);
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
}

/// `--only handshakes`: secure handshakes against legacy ones alone.
fn only_handshakes(server: &mut Server, cfg: &Arc<ClientConfig>, secs: f64) {
    let (legacy, secure) = secure_handshakes(cfg, secs);
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
}

/// `--only OP`: the 16 KiB operation against ECHO, and the disk's floors.
fn only_small(small: &[(Small, Rate)], echo8: &Rate, floors: &Option<(Rate, Rate)>) {
    if let Some((atomic, in_place)) = floors {
        for (name, r) in [("atomic (SNDFILE, SUP)", atomic), ("in place (PUT)", in_place)] {
            println!(
                "disk floor, {name}: {:.0}/s, {:.3}× ECHO, {} errors",
                r.per_s,
                r.per_s / echo8.per_s,
                r.errors
            );
        }
    }
    for (op, r) in small {
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
}
