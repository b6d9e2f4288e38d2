//! The report: the cipher alone, each single-stream transfer against the
//! cipher, AES, the secure transport, parallel streams, durable uploads and
//! the signatures' memory, then the `BENCH_TRANSFER key=value ...` line.

use super::options::{
    Options, ADJACENT_MIB, MIB, SECURE_VS_AEAD, SECURE_VS_LEGACY, SMALL_BYTES, SMALL_FILES, TARGET_RATIO,
};
use super::phases::Parallel;
use super::runs::Singles;
use super::sigmem::SigMem;
use super::sync::SyncCost;
use super::transfers::Measured;
use crate::support::met;
use std::time::Instant;

/// What the run measured.
pub(crate) struct Results {
    pub(crate) cpus: usize,
    pub(crate) started: Instant,
    /// The cipher alone on one core (`pack` is the baseline), and on every CPU.
    pub(crate) pack: f64,
    pub(crate) unpack: f64,
    pub(crate) all_cores: f64,
    /// The AEAD alone on one core (0 without `secure`).
    pub(crate) aead: f64,
    pub(crate) measured: Measured,
    pub(crate) sync: Option<SyncCost>,
    pub(crate) sigmem: Option<SigMem>,
}

/// Prints every table and the last line.
pub(crate) fn report(o: &Options, r: &Results) {
    let m = &r.measured;
    let mut kv = ciphers(o, r);
    let all_met = single_streams(o, &m.singles, r.pack, &mut kv);
    if !m.aes.is_empty() {
        aes_modes(&m.aes, &mut kv);
    }
    if !m.secure.is_empty() {
        secure_transport(&m.secure, r.aead, m.aead_loopback, r.cpus, &mut kv);
    }
    if !m.pars.is_empty() {
        parallel_streams(&m.pars, r, &mut kv);
    }
    if let Some(c) = &r.sync {
        durable_uploads(c, &mut kv);
    }
    if let Some(m) = &r.sigmem {
        signatures(m, &mut kv);
    }
    let (cpus, started, stopped) = (r.cpus, r.started, &m.stopped);
    println!();
    if let Some(ok) = all_met {
        println!(
            "target: every single-stream transfer ≥ {TARGET_RATIO} × the cipher rate: {}",
            met(ok)
        );
    }
    if let Some((status, problems)) = &stopped {
        println!(
            "tfd stopped: {status}; {} warning/error line(s) in its log",
            problems.len()
        );
        for l in problems.iter().take(5) {
            println!("  {l}");
        }
    }
    println!("total time {:.1} s", started.elapsed().as_secs_f64());
    println!();
    kv.push_str(&format!(
        " target_ratio={TARGET_RATIO} all_met={} size_mib={} par_mib={} cpus={cpus} quick={} secs={:.1}",
        all_met.map_or("none".to_string(), |m| m.to_string()),
        o.mib,
        o.par_mib,
        o.quick,
        started.elapsed().as_secs_f64()
    ));
    println!("{kv}");
}

/// The cipher alone, one stream's ceiling, and the transfer table's head and
/// cipher row: the last line's first words.
fn ciphers(o: &Options, r: &Results) -> String {
    let (cpus, pack, unpack, all_cores) = (r.cpus, r.pack, r.unpack, r.all_cores);
    let baseline = pack;
    // One stream ciphers every byte twice, once per side: with truly parallel
    // cores the slower direction bounds it, with shared ones half the total.
    let ceiling = pack.min(unpack).min(all_cores / 2.0);
    println!();
    println!(
        "cipher alone: pack {pack:.0} MB/s, unpack {unpack:.0} MB/s on one core (baseline = pack); \
         pack on {cpus} threads at once: {all_cores:.0} MB/s in total ({:.2}× one core)",
        all_cores / pack
    );
    println!(
        "one stream's ceiling on this machine (client and server each cipher every byte): \
         min(pack, unpack, all threads ÷ 2) = {ceiling:.0} MB/s = {:.3} × baseline",
        ceiling / baseline
    );
    println!();
    println!(
        "{:<10} {:>5} {:>5} {:>6} {:>7} {:>7} {:>7} {:>13} {:>7} {:>8} {:>11} {:>11}",
        "transfer",
        "MiB",
        "runs",
        "s",
        "MB/s",
        "cipher",
        "ratio",
        "ratio range",
        "≥ 0.85",
        "÷ pack",
        "server CPU",
        "client CPU"
    );
    println!(
        "{:<10} {:>5} {:>5} {:>6} {:>7} {:>7} {:>7} {:>13} {:>7} {:>8} {:>11} {:>11}",
        "", "", "", "", "", "MB/s", "", "", "", "", "s/GiB", "s/GiB"
    );
    let cipher_s_per_gib = (1u64 << 30) as f64 / (baseline * 1e6);
    println!(
        "{:<10} {:>5} {:>5} {:>6} {:>7.0} {:>7.0} {:>7.3} {:>13} {:>7} {:>8} {:>11.2} {:>11.2}",
        "cipher", o.cipher_mib, 1, "", baseline, baseline, 1.0, "", "", "", cipher_s_per_gib, cipher_s_per_gib
    );
    let kv = format!(
        "BENCH_TRANSFER cipher_pack_mbps={pack:.0} cipher_unpack_mbps={unpack:.0} cipher_all_cores_mbps={all_cores:.0} \
         ceiling_mbps={ceiling:.0}"
    );
    kv
}

/// Each single-stream transfer's median run against its cipher; whether every
/// one met the target (None: none ran).
fn single_streams(o: &Options, singles: &Singles, baseline: f64, kv: &mut String) -> Option<bool> {
    let mut all_met = None;
    for (name, runs) in singles {
        let Some(runs) = runs else { continue };
        // sorted by ratio: the median run, and the range
        let (Some(lo), Some(hi)) = (runs.first(), runs.last()) else {
            continue;
        };
        let mid = &runs[runs.len() / 2];
        let (f, r) = (&mid.f, mid.ratio());
        let ok = r >= TARGET_RATIO;
        all_met = Some(all_met.unwrap_or(true) && ok);
        println!(
            "{:<10} {:>5} {:>5} {:>6.2} {:>7.0} {:>7.0} {:>7.3} {:>13} {:>7} {:>8.3} {:>11.2} {:>11.2}",
            name,
            f.bytes / MIB,
            runs.len(),
            f.secs,
            f.mbps(),
            mid.baseline,
            r,
            format!("{:.3}–{:.3}", lo.ratio(), hi.ratio()),
            if ok { "yes" } else { "NO" },
            f.mbps() / baseline,
            f.server_cpu_per_gib,
            f.client_cpu_per_gib
        );
        let k = name.to_lowercase().replace(' ', "_");
        kv.push_str(&format!(
            " {k}_mbps={:.0} {k}_cipher_mbps={:.0} {k}_ratio={r:.3} {k}_ratio_min={:.3} {k}_ratio_max={:.3} \
             {k}_met={ok} {k}_vs_start_pack={:.3} {k}_server_cpu_s_per_gib={:.2} {k}_client_cpu_s_per_gib={:.2}",
            f.mbps(),
            mid.baseline,
            lo.ratio(),
            hi.ratio(),
            f.mbps() / baseline,
            f.server_cpu_per_gib,
            f.client_cpu_per_gib
        ));
    }
    if !singles.is_empty() {
        println!(
            "each transfer: of its {} run(s), the one with the median ratio (the upper middle for an even count); \
             cipher = pack per thread with two threads at once ({ADJACENT_MIB} MiB each) right before that run, as \
             client and server cipher at once; ratio = MB/s ÷ that rate; ÷ pack = MB/s ÷ the one-thread pack rate \
             from the start",
            o.reps
        );
    }
    all_met
}

/// AES mode against the stream cipher.
fn aes_modes(aes: &[(&'static str, f64, f64)], kv: &mut String) {
    println!();
    println!(
        "{:<10} {:>12} {:>9} {:>12}",
        "AES mode", "stream MB/s", "AES MB/s", "AES ÷ stream"
    );
    for (name, st, a) in aes {
        println!("{:<10} {:>12.0} {:>9.0} {:>12.3}", name, st, a, a / st);
        let k = name.to_lowercase();
        kv.push_str(&format!(
            " aes_{k}_mbps={a:.0} aes_{k}_stream_mbps={st:.0} aes_{k}_vs_stream={:.3}",
            a / st
        ));
    }
}

/// The secure transport against the legacy cipher and the AEAD alone.
fn secure_transport(secure: &[(&'static str, f64, f64)], aead: f64, aead_lo: f64, cpus: usize, kv: &mut String) {
    println!();
    println!(
        "{:<10} {:>12} {:>12} {:>15} {:>14} {:>16}",
        "secure", "legacy MB/s", "secure MB/s", "secure ÷ legacy", "secure ÷ AEAD", "÷ AEAD loopback"
    );
    kv.push_str(&format!(
        " aead_one_core_mbps={aead:.0} aead_loopback_mbps={aead_lo:.0} aead_loopback_vs_aead={:.3}",
        aead_lo / aead
    ));
    for (name, l, sec) in secure {
        println!(
            "{:<10} {:>12.0} {:>12.0} {:>15.3} {:>14.3} {:>16.3}",
            name,
            l,
            sec,
            sec / l,
            sec / aead,
            sec / aead_lo
        );
        let k = name.to_lowercase();
        kv.push_str(&format!(
            " secure_{k}_mbps={sec:.0} secure_{k}_legacy_mbps={l:.0} secure_{k}_vs_legacy={:.3} secure_{k}_vs_aead={:.3} secure_{k}_vs_aead_loopback={:.3}",
            sec / l,
            sec / aead,
            sec / aead_lo
        ));
    }
    let worst_l = secure.iter().map(|(_, l, s)| s / l).fold(f64::INFINITY, f64::min);
    let worst_a = secure.iter().map(|(_, _, s)| s / aead).fold(f64::INFINITY, f64::min);
    println!(
        "AEAD alone (one core, sealing 64 KiB records): {aead:.0} MB/s; targets: secure ÷ legacy ≥ {SECURE_VS_LEGACY} ({}), secure ÷ AEAD ≥ {SECURE_VS_AEAD} ({})",
        met(worst_l >= SECURE_VS_LEGACY),
        met(worst_a >= SECURE_VS_AEAD)
    );
    println!(
        "AEAD over loopback TCP (no server, no protocol, no files: both ends' AEAD and the kernel's copies on this machine's {cpus} CPUs; median of one per run): {aead_lo:.0} MB/s = {:.3} × AEAD alone, the most any secure transfer over loopback can reach here",
        aead_lo / aead
    );
}

/// Parallel streams: their scale against the first count.
fn parallel_streams(pars: &[Parallel], r: &Results, kv: &mut String) {
    let (cpus, all_cores) = (r.cpus, r.all_cores);
    let ratio = |mbps: f64| mbps / r.pack;
    println!();
    println!(
        "{:<10} {:>9} {:>9} {:>8} {:>9} {:>9} {:>8}",
        "parallel", "streams", "PUT MB/s", "scale", "ratio", "GET MB/s", "scale"
    );
    let (p1, g1) = (pars[0].put.mbps(), pars[0].get.mbps());
    let base_streams = pars[0].streams;
    for p in pars {
        let (pm, gm) = (p.put.mbps(), p.get.mbps());
        println!(
            "{:<10} {:>9} {:>9.0} {:>7.2}× {:>9.3} {:>9.0} {:>7.2}×   (GET ratio {:.3})",
            "",
            p.streams,
            pm,
            pm / p1,
            ratio(pm),
            gm,
            gm / g1,
            ratio(gm)
        );
        let n = p.streams;
        kv.push_str(&format!(
            " par{n}_put_mbps={pm:.0} par{n}_put_scale={:.2} par{n}_get_mbps={gm:.0} par{n}_get_scale={:.2}",
            pm / p1,
            gm / g1
        ));
    }
    println!(
        "scale = MB/s ÷ MB/s with {base_streams} stream(s); ratio = ÷ baseline. Client and server share these \
         {cpus} CPU(s) and cipher every byte once each, so N streams on loopback are bounded by the threads' \
         total ÷ 2 = {:.0} MB/s whatever N; across two machines they could reach min(N, cores) × the cipher rate.",
        all_cores / 2.0
    );
}

/// Durable uploads: sync_uploads yes ÷ no.
fn durable_uploads(c: &SyncCost, kv: &mut String) {
    let mid = |v: &[f64]| v.get(v.len() / 2).copied().unwrap_or(f64::NAN);
    let range = |v: &[f64]| {
        format!(
            "{:.2}–{:.2}",
            v.first().unwrap_or(&f64::NAN),
            v.last().unwrap_or(&f64::NAN)
        )
    };
    println!();
    println!(
        "durable uploads (sync_uploads yes ÷ no, time; median of {} run(s), range):",
        c.small.len()
    );
    println!(
        "  {SMALL_FILES} × {SMALL_BYTES} B SNDFILE: {:.2}× ({})",
        mid(&c.small),
        range(&c.small)
    );
    println!("  {} MiB SNDFILE: {:.2}× ({})", c.big_mib, mid(&c.big), range(&c.big));
    kv.push_str(&format!(
        " sync_small_time_ratio={:.2} sync_big_time_ratio={:.2} sync_big_mib={}",
        mid(&c.small),
        mid(&c.big),
        c.big_mib
    ));
}

/// A delta download's most signatures: the session's peak memory.
fn signatures(m: &SigMem, kv: &mut String) {
    println!();
    println!(
        "delta download signatures: {} entries ({} MiB, the most allowed) took the session's peak resident \
         memory from {} to {} MiB in {:.2} s (end frame {:?})",
        m.entries,
        tfp_wire::delta::MAX_GET_SIGNATURE >> 20,
        m.before_kib >> 10,
        m.after_kib >> 10,
        m.secs,
        m.end
    );
    kv.push_str(&format!(
        " sigmem_entries={} sigmem_peak_before_mib={} sigmem_peak_mib={} sigmem_secs={:.2}",
        m.entries,
        m.before_kib >> 10,
        m.after_kib >> 10,
        m.secs
    ));
}
