//! The mixed load: 64 clients drawing operations at random.

use super::options::CAP;
use super::rate::{connect, echo, ok, rate, Rate};
use super::small::Small;
use std::sync::{Arc, Mutex};
use std::time::Instant;
use tfp_client::{Client, ClientConfig};

/// A tiny deterministic generator for the mixed load (no crate for this).
pub(crate) struct XorShift(pub(crate) u64);

impl XorShift {
    pub(crate) fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

/// One client of the mixed load: a session, its random stream, ops since connect.
pub(crate) struct Mixer {
    pub(crate) c: Option<Client>,
    pub(crate) rng: XorShift,
    pub(crate) ops: u32,
}

/// Latencies of the mixed load's operations by kind, in nanoseconds.
pub(crate) type ByKind = Arc<Mutex<std::collections::BTreeMap<&'static str, Vec<u64>>>>;

pub(crate) fn mixed_op(
    cfg: &ClientConfig,
    i: usize,
    m: &mut Mixer,
    data: &[u8],
    by_kind: &ByKind,
) -> Result<(), String> {
    let t = Instant::now();
    let (kind, r) = mixed_step(cfg, i, m, data);
    if r.is_ok() {
        if let Ok(mut k) = by_kind.lock() {
            k.entry(kind).or_default().push(t.elapsed().as_nanos() as u64);
        }
    }
    r
}

pub(crate) fn mixed_step(
    cfg: &ClientConfig,
    i: usize,
    m: &mut Mixer,
    data: &[u8],
) -> (&'static str, Result<(), String>) {
    // a reconnect (full handshake) every 20 operations on average
    if m.c.is_none() || m.rng.next() % 20 == 0 {
        let r = (|| {
            if let Some(c) = m.c.take() {
                c.end().map_err(|e| format!("END: {e}"))?;
            }
            m.c = Some(connect(cfg)?);
            Ok(())
        })();
        m.ops = 0;
        return ("reconnect", r);
    }
    let Some(c) = m.c.as_mut() else {
        return ("none", Err("no session".into()));
    };
    m.ops += 1;
    let d = format!("c{i}/m");
    match m.rng.next() % 10 {
        0..=2 => ("ECHO", echo(c)),
        3 => (
            "MKDIR+RMDIR",
            ok("MKDIR", c.call("MKDIR", d.as_bytes())).and_then(|()| ok("RMDIR", c.call("RMDIR", d.as_bytes()))),
        ),
        4 => ("FSTAT", ok("FSTAT", c.call("FSTAT", format!("c{i}/f").as_bytes()))),
        5 => ("SNDFILE", Small::Sndfile.run(c, i, data)),
        6 => ("RCVFILE", Small::Rcvfile.run(c, i, data)),
        7 => ("PUT", Small::Put.run(c, i, data)),
        8 => ("GET", Small::Get.run(c, i, data)),
        _ => ("DATE", ok("DATE", c.call("DATE", b""))),
    }
}

/// Phase 3: 64-client ECHO (the baseline), then the 64-client mixed load.
pub(crate) fn mixed_phase(cfg: &Arc<ClientConfig>, data: &Arc<Vec<u8>>, secs: f64) -> (Rate, Rate, ByKind) {
    let session = {
        let cfg = cfg.clone();
        move |_| connect(&cfg)
    };
    let echo64 = rate(64, secs, CAP, session, |_, c| echo(c));
    let by_kind: ByKind = Arc::default();
    let (cfg2, data, by_kind2) = (cfg.clone(), data.clone(), by_kind.clone());
    let mixed = rate(
        64,
        secs,
        CAP,
        move |i| {
            Ok(Mixer {
                c: None,
                rng: XorShift(0x9e37_79b9_7f4a_7c15 ^ ((i as u64 + 1) * 0x1000_0001)),
                ops: 0,
            })
        },
        move |i, m| mixed_op(&cfg2, i, m, &data, &by_kind2),
    );
    (echo64, mixed, by_kind)
}

/// The mixed load's latency by kind of operation.
pub(crate) fn print_by_kind(by_kind: &ByKind) {
    if let Ok(k) = by_kind.lock() {
        for (kind, ns) in k.iter() {
            let mut ns = ns.clone();
            ns.sort_unstable();
            let pct = |p: f64| ns[((ns.len() - 1) as f64 * p) as usize] as f64 / 1e6;
            println!(
                "  mixed: {kind:<14} {:>7} ops  p50 {:>8.3} ms  p99 {:>8.3} ms  max {:>8.3} ms",
                ns.len(),
                pct(0.5),
                pct(0.99),
                pct(1.0)
            );
        }
    }
}
