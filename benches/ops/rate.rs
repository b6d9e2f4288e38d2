//! A phase's rate: operations per second from N clients, errors and latency
//! percentiles, and the CPU per operation; full handshakes legacy and secure.

use super::fai::busy_cpu_seconds;
use super::options::CAP_HANDSHAKES;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Barrier, Mutex};
use std::thread;
use std::time::{Duration, Instant};
use tfp_client::{Client, ClientConfig};

/// Operations per second, errors and latency percentiles of one phase.
pub(crate) struct Rate {
    pub(crate) per_s: f64,
    pub(crate) errors: u64,
    pub(crate) first_error: Option<String>,
    pub(crate) p50_ms: f64,
    pub(crate) p99_ms: f64,
    /// The machine's busy CPU seconds per operation (clients, kernel and server
    /// together, from /proc/stat), if readable.
    pub(crate) cpu_s: Option<f64>,
}

/// Runs `op(thread index, state)` on `threads` threads for `secs`; each thread first
/// builds its state with `setup` (untimed), e.g. an open session.
pub(crate) fn rate<S, Setup, Op>(threads: usize, secs: f64, cap: u64, setup: Setup, op: Op) -> Rate
where
    S: Send + 'static,
    Setup: Fn(usize) -> Result<S, String> + Send + Sync + 'static,
    Op: Fn(usize, &mut S) -> Result<(), String> + Send + Sync + 'static,
{
    let (setup, op) = (Arc::new(setup), Arc::new(op));
    let done = Arc::new(AtomicU64::new(0));
    let errors = Arc::new(AtomicU64::new(0));
    let first_error = Arc::new(Mutex::new(None::<String>));
    let barrier = Arc::new(Barrier::new(threads + 1));
    let duration = Duration::from_secs_f64(secs);
    let handles: Vec<_> = (0..threads)
        .map(|i| {
            let (setup, op, done, errors, first_error, barrier) = (
                setup.clone(),
                op.clone(),
                done.clone(),
                errors.clone(),
                first_error.clone(),
                barrier.clone(),
            );
            thread::spawn(move || {
                let mut ns = Vec::new();
                let mut state = setup(i);
                barrier.wait();
                let start = Instant::now();
                while start.elapsed() < duration && done.load(Ordering::Relaxed) < cap {
                    let r = match state.as_mut() {
                        Ok(s) => {
                            let t = Instant::now();
                            op(i, s).map(|()| t.elapsed())
                        }
                        Err(e) => Err(e.clone()),
                    };
                    match r {
                        Ok(d) => {
                            ns.push(d.as_nanos() as u64);
                            done.fetch_add(1, Ordering::Relaxed);
                        }
                        Err(e) => {
                            errors.fetch_add(1, Ordering::Relaxed);
                            first_error.lock().unwrap().get_or_insert(e);
                            thread::sleep(Duration::from_millis(10));
                            state = setup(i);
                        }
                    }
                }
                ns
            })
        })
        .collect();
    barrier.wait();
    let start = Instant::now();
    let busy_before = busy_cpu_seconds();
    let mut all = Vec::new();
    for h in handles {
        all.extend(h.join().unwrap_or_default());
    }
    let elapsed = start.elapsed().as_secs_f64();
    let busy = busy_before.zip(busy_cpu_seconds()).map(|(a, b)| b - a);
    all.sort_unstable();
    let pct = |p: f64| {
        if all.is_empty() {
            f64::NAN
        } else {
            all[((all.len() - 1) as f64 * p) as usize] as f64 / 1e6
        }
    };
    let done = done.load(Ordering::Relaxed);
    let first_error = first_error.lock().unwrap().take();
    Rate {
        per_s: done as f64 / elapsed,
        errors: errors.load(Ordering::Relaxed),
        first_error,
        p50_ms: pct(0.5),
        p99_ms: pct(0.99),
        cpu_s: busy.filter(|_| done > 0).map(|b| b / done as f64),
    }
}

pub(crate) fn connect(cfg: &ClientConfig) -> Result<Client, String> {
    Client::connect(cfg).map_err(|e| format!("connect: {e}"))
}

pub(crate) fn echo(c: &mut Client) -> Result<(), String> {
    match c.raw(b"ECHO x") {
        Ok(r) if r == b"x" => Ok(()),
        Ok(r) => Err(format!("ECHO answered {r:?}")),
        Err(e) => Err(format!("ECHO: {e}")),
    }
}

pub(crate) fn ok(what: &str, st: Result<tfp_wire::Status, tfp_client::Error>) -> Result<(), String> {
    match st {
        Ok(tfp_wire::Status::Ok(_)) => Ok(()),
        Ok(s) => Err(format!("{what}: {s:?}")),
        Err(e) => Err(format!("{what}: {e}")),
    }
}

/// Rounds of one rate, of equal length, as one: the mean rate, every error,
/// the mean p50, the worst p99 and the CPU per operation of them all.
pub(crate) fn merged(rounds: Vec<Rate>) -> Rate {
    let n = rounds.len().max(1) as f64;
    // a round's operations are its rate times the common length, so rates
    // summed count operations and weight each round's CPU per operation
    let ops: f64 = rounds.iter().map(|r| r.per_s).sum();
    let cpu: Option<f64> = rounds.iter().map(|r| r.cpu_s.map(|c| c * r.per_s)).sum();
    Rate {
        cpu_s: cpu.filter(|_| ops > 0.0).map(|c| c / ops),
        per_s: ops / n,
        errors: rounds.iter().map(|r| r.errors).sum(),
        first_error: rounds.iter().find_map(|r| r.first_error.clone()),
        p50_ms: rounds.iter().map(|r| r.p50_ms).sum::<f64>() / n,
        p99_ms: rounds.iter().map(|r| r.p99_ms).fold(0.0, f64::max),
    }
}

/// Full handshakes (connect, handshake, ECHO, END; 8 clients) legacy and with the
/// secure upgrade, in four alternating slices of `secs / 2`: (legacy, secure),
/// each the mean rate of its two slices.
pub(crate) fn secure_handshakes(cfg: &Arc<ClientConfig>, secs: f64) -> (Rate, Rate) {
    let mut legacy = (*cfg).as_ref().clone();
    legacy.transport = tfp_client::Transport::Legacy;
    let mut secure = legacy.clone();
    secure.transport = tfp_client::Transport::Require;
    let (legacy, secure) = (Arc::new(legacy), Arc::new(secure));
    let slice = |c: &Arc<ClientConfig>| {
        let c = c.clone();
        rate(
            8,
            secs / 2.0,
            CAP_HANDSHAKES / 4,
            |_| Ok(()),
            move |_, _| {
                let mut cl = connect(&c)?;
                echo(&mut cl)?;
                cl.end().map_err(|e| format!("END: {e}"))
            },
        )
    };
    let l1 = slice(&legacy);
    let s1 = slice(&secure);
    let l2 = slice(&legacy);
    let s2 = slice(&secure);
    (merged(vec![l1, l2]), merged(vec![s1, s2]))
}
