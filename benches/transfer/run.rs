//! The whole run: the baselines, the phases, then the report.

use super::cipher::{aead_rate, cipher_rate, cipher_rate_threads};
use super::options::{Options, BUDGET, MIB, PHASES, SMALL_BYTES, SMALL_FILES, UNIT};
use super::report::{report, Results};
use super::sigmem::phase_sigmem;
use super::sync::phase_sync;
use super::transfers::{run_transfers, Measured};
use crate::support::tfd_binary;
use std::thread;
use std::time::Instant;

pub(crate) fn run(o: &Options) -> Result<(), String> {
    let bin = tfd_binary()?;
    let cpus = thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
    let started = Instant::now();
    println!(
        "tfd transfer benchmark: {} on loopback, {cpus} CPU(s); cipher {} MiB, transfers {} MiB, parallel {} MiB",
        bin.display(),
        o.cipher_mib,
        o.mib,
        o.par_mib
    );
    let in_budget = |what: &str| {
        let ok = started.elapsed() < BUDGET;
        if !ok {
            println!("  skipping {what}: over the {} s budget", BUDGET.as_secs());
        }
        ok
    };

    println!("  [1/6] cipher alone, one thread, {} MiB units ...", UNIT as u64 / MIB);
    let pack = cipher_rate(o.cipher_mib, false);
    let unpack = cipher_rate(o.cipher_mib, true);
    let all_cores = cipher_rate_threads((o.cipher_mib / cpus as u64).max(16), cpus);
    let _baseline = pack;

    // the phases on the one stream-cipher server (sync starts servers of its own)
    let transfers = PHASES[1..9].iter().any(|p| o.wants(p));
    let aead = if o.wants("secure") {
        println!("  [secure] the AEAD alone, one thread, 64 KiB records ...");
        aead_rate(o.cipher_mib)
    } else {
        0.0
    };
    let measured = if transfers {
        run_transfers(o, &bin, &in_budget)?
    } else {
        Measured::default()
    };

    let sync = if o.wants("sync") && in_budget("sync") {
        println!(
            "  [sync] sync_uploads yes vs no: {SMALL_FILES} × {SMALL_BYTES} B and {} MiB SNDFILE × {} ...",
            o.mib.min(256),
            o.reps
        );
        Some(phase_sync(o, &bin)?)
    } else {
        None
    };

    let sigmem = if o.wants("sigmem") && in_budget("sigmem") {
        println!("  [sigmem] a delta download's most signatures, the session's peak memory ...");
        Some(phase_sigmem(&bin)?)
    } else {
        None
    };

    report(
        o,
        &Results {
            cpus,
            started,
            pack,
            unpack,
            all_cores,
            aead,
            measured,
            sync,
            sigmem,
        },
    );
    Ok(())
}
