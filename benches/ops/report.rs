//! The report: each phase's row against its baseline, the targets, and the
//! `BENCH_OPS key=value ...` line.

use super::fai::{report_fai, FaiFigures};
use super::floors::{mixed_bound, uploads_synced, DiskFloor};
use super::mixed::{print_by_kind, ByKind};
use super::options::{
    TARGET_HANDSHAKES_VS_RSA1, TARGET_MIXED_P99_MS, TARGET_MIXED_VS_ECHO, TARGET_SECURE_HANDSHAKE_COST,
    TARGET_SMALL_VS_ECHO,
};
use super::rate::Rate;
use super::small::Small;
use crate::support::met;
use std::time::Instant;

/// What the full run measured.
pub(crate) struct Measured {
    pub(crate) cpus: usize,
    pub(crate) started: Instant,
    pub(crate) echo8: Rate,
    pub(crate) small: Vec<(Small, Rate)>,
    /// The disk's floors under the uploads: atomic, in place.
    pub(crate) floors: Option<(Rate, Rate)>,
    pub(crate) echo64: Rate,
    pub(crate) mixed: Rate,
    pub(crate) by_kind: ByKind,
    pub(crate) rsa1: Rate,
    pub(crate) hs: Rate,
    pub(crate) hs_legacy: Rate,
    pub(crate) hs_secure: Rate,
    /// How tfd stopped, and its log's warning/error lines.
    pub(crate) status: String,
    pub(crate) problems: Vec<String>,
    pub(crate) fai: FaiFigures,
}

/// Prints the table, the targets and the last line.
pub(crate) fn report(m: &Measured) {
    let Measured {
        cpus,
        started,
        echo8,
        small,
        floors,
        echo64,
        mixed,
        rsa1,
        hs,
        hs_legacy,
        hs_secure,
        status,
        problems,
        fai,
        ..
    } = m;
    let (cpus, started) = (*cpus, *started);
    let hs_cost = hs_legacy.per_s / hs_secure.per_s;
    let hs_secure_ok = hs_cost <= TARGET_SECURE_HANDSHAKE_COST && hs_secure.errors == 0;
    let (kv, small_ok) = table(m);
    let mixed_ratio = ratio(mixed.per_s, echo64.per_s);
    let mixed_ok = mixed.errors == 0 && mixed.p99_ms <= TARGET_MIXED_P99_MS && mixed_ratio >= TARGET_MIXED_VS_ECHO;
    let hs_ratio = ratio(hs.per_s, rsa1.per_s);
    let hs_ok = hs_ratio >= TARGET_HANDSHAKES_VS_RSA1 && hs.errors == 0;
    for (name, r) in [
        ("echo8", echo8),
        ("echo64", echo64),
        ("mixed", mixed),
        ("handshakes", hs),
    ]
    .into_iter()
    .chain(small.iter().map(|(op, r)| (op.name(), r)))
    {
        if let Some(e) = &r.first_error {
            println!("  {name}: {} error(s), first: {e}", r.errors);
        }
    }
    println!();
    println!(
        "target 16 KiB SNDFILE/RCVFILE/PUT/GET/SUP/SDOWN each ≥ {TARGET_SMALL_VS_ECHO}× ECHO (8 clients): {}",
        met(small_ok)
    );
    if let Some((atomic, in_place)) = &floors {
        let vs = |op: Small| m.vs_floor(op).unwrap_or(f64::NAN);
        println!(
            "  the disk alone bounds the uploads here: an atomic 16 KiB upload {:.3}× ECHO (SNDFILE reaches {:.2} \
             of it, SUP {:.2}), a write in place {:.3}× ECHO (PUT reaches {:.2} of it); sync_uploads {}",
            ratio(atomic.per_s, echo8.per_s),
            vs(Small::Sndfile),
            vs(Small::Sup),
            ratio(in_place.per_s, echo8.per_s),
            vs(Small::Put),
            if uploads_synced() { "yes" } else { "no" }
        );
    }
    println!(
        "target mixed load (64 clients): 0 errors, p99 ≤ {TARGET_MIXED_P99_MS} ms, ≥ {TARGET_MIXED_VS_ECHO}× ECHO: {} \
         ({} errors, p99 {:.1} ms, {mixed_ratio:.3}×)",
        met(mixed_ok),
        mixed.errors,
        mixed.p99_ms
    );
    let bound = mixed_bound(cpus, echo64, echo8, small, hs);
    if let Some(b) = bound {
        println!(
            "  the CPU alone bounds the mix at {b:.3}× 64-client ECHO here (each kind's busy CPU per operation, \
             measured alone in this run, weighted as the mix draws them)"
        );
    }
    println!(
        "target handshakes (8 clients) ≥ {TARGET_HANDSHAKES_VS_RSA1}× one core's RSA-2048 decryptions: {} ({hs_ratio:.3}×)",
        met(hs_ok)
    );
    let (fai_ratio, fai_ok) = report_fai(fai);
    println!(
        "target a handshake with the secure upgrade ≤ {TARGET_SECURE_HANDSHAKE_COST}× a legacy one: {} \
         ({:.0}/s vs {:.0}/s legacy: {hs_cost:.3}×)",
        met(hs_secure_ok),
        hs_secure.per_s,
        hs_legacy.per_s
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
        "BENCH_OPS echo8_per_s={:.0} {} echo64_per_s={:.0} mixed_per_s={:.0} mixed_ratio={mixed_ratio:.3} \
         mixed_p99_ms={:.2} mixed_errors={} handshakes_per_s={:.0} rsa1_per_s={:.0} handshake_ratio={hs_ratio:.3} \
         target_small_met={small_ok} target_mixed_met={mixed_ok} target_handshakes_met={hs_ok} \
         secure_handshakes_per_s={:.0} legacy_handshakes_per_s={:.0} secure_handshake_cost={hs_cost:.3} \
         target_secure_handshake_met={hs_secure_ok} \
         fai_handshakes_per_s={:.0} fai_ratio={fai_ratio:.3} fai_bound={:.3} target_fai_met={fai_ok} \
         mixed_bound={:.3}",
        echo8.per_s,
        kv.join(" "),
        echo64.per_s,
        mixed.per_s,
        mixed.p99_ms,
        mixed.errors,
        hs.per_s,
        rsa1.per_s,
        hs_secure.per_s,
        hs_legacy.per_s,
        fai.fai.per_s,
        fai.bound().unwrap_or(f64::NAN),
        bound.unwrap_or(f64::NAN),
    );
}

/// `a ÷ b`, NaN when `b` is not positive.
fn ratio(a: f64, b: f64) -> f64 {
    if b > 0.0 {
        a / b
    } else {
        f64::NAN
    }
}

/// One row of the table: `r` against `base`.
fn row(name: &str, r: &Rate, base: f64) {
    println!(
        "{:<40} {:>10.0} {:>8} {:>9.3} {:>9.3} {:>8.3}× {:>10.3}",
        name,
        r.per_s,
        r.errors,
        r.p50_ms,
        r.p99_ms,
        ratio(r.per_s, base),
        r.cpu_s.map_or(f64::NAN, |c| c * 1e3)
    );
}

impl Measured {
    /// An upload's rate ÷ its disk floor's.
    fn vs_floor(&self, op: Small) -> Option<f64> {
        let (atomic, in_place) = self.floors.as_ref()?;
        let floor = match op.disk_floor()? {
            DiskFloor::Atomic => atomic,
            DiskFloor::InPlace => in_place,
        };
        Some(ratio(op.rate_in(&self.small)?.per_s, floor.per_s))
    }
}

/// The table of every phase against its baseline: the `key=value` words of the
/// 16 KiB operations and the disk, and whether each 16 KiB operation met its
/// target.
fn table(m: &Measured) -> (Vec<String>, bool) {
    let Measured {
        echo8,
        small,
        floors,
        echo64,
        mixed,
        by_kind,
        rsa1,
        hs,
        ..
    } = m;
    println!();
    println!(
        "{:<40} {:>10} {:>8} {:>9} {:>9} {:>9} {:>10}",
        "operation", "per s", "errors", "p50 ms", "p99 ms", "÷ ECHO", "CPU ms/op"
    );
    row("ECHO, 8 clients (baseline)", echo8, echo8.per_s);
    let mut kv = Vec::new();
    let mut small_ok = true;
    for (op, r) in small {
        row(&format!("{} 16 KiB, 8 clients", op.name()), r, echo8.per_s);
        let q = ratio(r.per_s, echo8.per_s);
        small_ok &= q >= TARGET_SMALL_VS_ECHO && r.errors == 0;
        kv.push(format!(
            "{}_per_s={:.0} {}_ratio={q:.3}",
            op.name().to_lowercase(),
            r.per_s,
            op.name().to_lowercase()
        ));
    }
    if let Some((atomic, in_place)) = &floors {
        row("disk floor: atomic upload, 8 threads", atomic, echo8.per_s);
        row("disk floor: write in place, 8 threads", in_place, echo8.per_s);
        for (op, _) in small {
            if let Some(q) = m.vs_floor(*op) {
                kv.push(format!("{}_vs_disk={q:.3}", op.name().to_lowercase()));
            }
        }
        kv.push(format!(
            "disk_atomic_ratio={:.3} disk_in_place_ratio={:.3}",
            ratio(atomic.per_s, echo8.per_s),
            ratio(in_place.per_s, echo8.per_s)
        ));
    }
    row("ECHO, 64 clients (baseline)", echo64, echo64.per_s);
    row("mixed load, 64 clients", mixed, echo64.per_s);
    print_by_kind(by_kind);
    println!(
        "{:<40} {:>10.0} {:>8} {:>9.3} {:>9.3}",
        "RSA-2048 decryptions, 1 core (baseline)", rsa1.per_s, rsa1.errors, rsa1.p50_ms, rsa1.p99_ms
    );
    println!(
        "{:<40} {:>10.0} {:>8} {:>9.3} {:>9.3} {:>5.3}× RSA {:>10.3}",
        "handshake + ECHO + END, 8 clients",
        hs.per_s,
        hs.errors,
        hs.p50_ms,
        hs.p99_ms,
        ratio(hs.per_s, rsa1.per_s),
        hs.cpu_s.map_or(f64::NAN, |c| c * 1e3)
    );
    (kv, small_ok)
}
