//! What the run measured after every client closed, the figures printed from
//! it, and the invariants that pass or fail the run.

use super::checks::percentile;
use super::control::ctl;
use super::lifecycle::Outcome;
use super::op::{Op, OPS};
use super::options::Options;
use super::procfs::{ListenerSample, Monitor};
use super::tally::Tally;
use std::path::Path;

/// The figures of `tfd ctl stats` the checks read.
pub(crate) struct Stats {
    pub(crate) slots: u64,
    pub(crate) sessions: u64,
    pub(crate) accepted: u64,
    pub(crate) refused: u64,
}

impl Stats {
    pub(crate) fn ask(bin: &Path, sock: &Path) -> Result<Stats, String> {
        let stats = ctl(bin, sock, &["stats"])?;
        let stat = |k: &str| -> u64 {
            stats
                .lines()
                .find_map(|l| l.strip_prefix(k).and_then(|v| v.trim().parse().ok()))
                .unwrap_or(0)
        };
        Ok(Stats {
            slots: stat("registry_slots"),
            sessions: stat("sessions"),
            accepted: stat("accepted"),
            refused: stat("refused"),
        })
    }
}

/// What the run found once every client had closed.
pub(crate) struct End {
    pub(crate) elapsed: f64,
    pub(crate) kills_done: usize,
    /// The shared lock files, and every lock (the keeper's too).
    pub(crate) lock_files: usize,
    pub(crate) lock_names: usize,
    /// Session processes left: the keeper's aside, after its release, after
    /// the slot fill.
    pub(crate) leftover: Vec<u32>,
    pub(crate) leftover_after_release: Vec<u32>,
    pub(crate) leftover_after_fill: Vec<u32>,
    /// Rows of `tfd ctl sessions` (the keeper's aside), and after the fill.
    pub(crate) ctl_rows: usize,
    pub(crate) ctl_rows_after_fill: usize,
    /// Sessions still waiting in NETLOCK although every client has left.
    pub(crate) netlock_left: usize,
    pub(crate) netlock_kills: u64,
    pub(crate) keeper_check: Result<(), String>,
    pub(crate) locks_free: usize,
    pub(crate) locks_note: String,
    pub(crate) secure_dirs: usize,
    pub(crate) sec_meta_bad: usize,
    pub(crate) stats: Stats,
    pub(crate) filled: usize,
    pub(crate) fill_note: String,
    /// The listener at the start, warm, in the middle and at the end.
    pub(crate) samples: [ListenerSample; 4],
    pub(crate) monitor: Monitor,
    pub(crate) log: String,
    pub(crate) part_files: usize,
    pub(crate) stop_status: String,
    pub(crate) problems_in_log: Vec<String>,
    pub(crate) life: Outcome,
}

/// Latencies per operation: the `key=value` words, the p50 and p99 of all
/// (no connect, no lock), and whether every operation type ran.
struct Latencies {
    kv: Vec<String>,
    p50_all: f64,
    p99_all: f64,
    every_op_ran: bool,
}

/// Prints the figures and the invariants, then the `SOAK` line; whether every
/// invariant held.
pub(crate) fn report(o: &Options, total: &mut Tally, e: &End) -> bool {
    println!("\nsoak: {:.0} s, {} clients", e.elapsed, o.clients);
    println!(
        "  operations: {} ({:.0} ops/s), {:.1} MiB up, {:.1} MiB down ({:.1} MiB/s)",
        total.ops,
        total.ops as f64 / e.elapsed,
        total.bytes_up as f64 / 1048576.0,
        total.bytes_down as f64 / 1048576.0,
        (total.bytes_up + total.bytes_down) as f64 / 1048576.0 / e.elapsed
    );
    let lat = latencies(total);
    figures(total, e);
    let mut pass = true;
    println!();
    for (what, ok, detail) in invariants(o, total, e, lat.every_op_ran).iter().chain(&e.life.checks) {
        pass &= ok;
        println!("  {} {what} {detail}", if *ok { "ok  " } else { "FAIL" });
    }
    for p in &total.problems {
        println!("  problem: {p}");
    }
    for l in e
        .problems_in_log
        .iter()
        .filter(|l| !l.contains("SIGKILL") && !l.contains("signal 9"))
        .take(10)
    {
        println!("  log: {l}");
    }
    soak_line(o, total, e, &lat, pass);
    pass
}

/// The table of latencies per operation (it takes them out of `total`).
fn latencies(total: &mut Tally) -> Latencies {
    println!(
        "  {:<12} {:>9} {:>10} {:>10} {:>10}",
        "op", "count", "p50 ms", "p99 ms", "max ms"
    );
    let mut kv = Vec::new();
    let mut all: Vec<u32> = Vec::new();
    let mut every_op_ran = true;
    for op in OPS {
        let mut v = std::mem::take(&mut total.lat_us[op.index()]);
        v.sort_unstable();
        every_op_ran &= !v.is_empty();
        let (p50, p99) = (percentile(&v, 0.50), percentile(&v, 0.99));
        println!(
            "  {:<12} {:>9} {:>10.2} {:>10.2} {:>10.2}",
            op.name(),
            v.len(),
            p50,
            p99,
            v.last().copied().unwrap_or(0) as f64 / 1e3
        );
        kv.push(format!("{}_p50_ms={p50:.2} {}_p99_ms={p99:.2}", op.name(), op.name()));
        // lock waits are waits, not service time
        if ![Op::Connect, Op::LockHold, Op::LockAbandon].contains(&op) {
            all.extend(v);
        }
    }
    all.sort_unstable();
    let (p50_all, p99_all) = (percentile(&all, 0.5), percentile(&all, 0.99));
    println!(
        "  {:<12} {:>9} {:>10.2} {:>10.2}",
        "all (no connect, no lock)",
        all.len(),
        p50_all,
        p99_all
    );
    Latencies {
        kv,
        p50_all,
        p99_all,
        every_op_ran,
    }
}

/// Disconnects, kills, locks, secure directories, memory and descriptors.
fn figures(total: &Tally, e: &End) {
    let m = &e.monitor;
    let [start_sample, warm, middle, end_sample] = e.samples;
    let kills_done = e.kills_done;
    let netlock_kills = e.netlock_kills;
    let Stats {
        slots,
        sessions: stats_sessions,
        accepted,
        refused,
    } = e.stats;
    let (part_files, stop_status) = (e.part_files, &e.stop_status);
    println!(
        "  disconnects by the clients {}, aborted uploads checked {}, SIGKILLs {kills_done}, operations killed {}",
        total.disconnects, total.aborted_uploads_checked, total.killed_ops
    );
    println!(
        "  NETLOCK: {} holds with the marker checked ({} holders left holding, {} waits timed out), \
         {} waits abandoned by their clients, {netlock_kills} waiting sessions SIGKILLed; {} lock files + the keeper's",
        total.lock_holds, total.lock_holders_left, total.lock_timeouts, total.lock_waits_abandoned, e.lock_files
    );
    println!(
        "  TFPSFS: {} secure directories, {} refused attempts by other identities checked",
        e.secure_dirs, total.sec_refused
    );
    println!(
        "  session processes: at most {} at once; peak RSS {:.1} MiB (VmHWM), peak PSS {:.1} MiB, mean RSS {:.1} MiB",
        m.sessions_max,
        m.session_hwm_max_kib as f64 / 1024.0,
        m.session_pss_max_kib as f64 / 1024.0,
        m.session_rss_sum_kib as f64 / m.session_rss_samples.max(1) as f64 / 1024.0
    );
    println!(
        "  listener RSS KiB start {} / warm {} / middle {} / end {} (max {}); fds start {} / warm {} / middle {} / end {} (max {})",
        start_sample.rss_kib,
        warm.rss_kib,
        middle.rss_kib,
        end_sample.rss_kib,
        m.listener_rss_max,
        start_sample.fds,
        warm.fds,
        middle.fds,
        end_sample.fds,
        m.listener_fds_max
    );
    println!(
        "  tfd ctl stats: accepted {accepted}, refused {refused}, registry_slots {slots}, sessions {stats_sessions}; \
         {part_files} temporary upload file(s) left by killed sessions; {} WARN/ERROR log lines; stop: {stop_status}",
        e.problems_in_log.len()
    );
}

/// The invariants of the main run: (what, held, detail).
fn invariants(o: &Options, total: &Tally, e: &End, every_op_ran: bool) -> Vec<(&'static str, bool, String)> {
    let [start_sample, warm, middle, end_sample] = e.samples;
    let (leftover, leftover_after_release, leftover_after_fill) =
        (&e.leftover, &e.leftover_after_release, &e.leftover_after_fill);
    let (netlock_left, locks_free, locks_note) = (e.netlock_left, e.locks_free, &e.locks_note);
    let (sec_meta_bad, ctl_rows_after_fill, stats_sessions) = (e.sec_meta_bad, e.ctl_rows_after_fill, e.stats.sessions);
    let (filled, slots, fill_note) = (e.filled, e.stats.slots, &e.fill_note);
    let (part_files, kills_done) = (e.part_files, e.kills_done);
    let tolerance = (warm.rss_kib / 10).max(2048);
    let flat = |s: ListenerSample| s.rss_kib <= warm.rss_kib + tolerance;
    vec![
        (
            "verification errors",
            total.verify_errors == 0,
            total.verify_errors.to_string(),
        ),
        (
            "unexplained I/O errors",
            total.unexpected == 0,
            total.unexpected.to_string(),
        ),
        (
            "session processes left after all clients closed (the keeper's aside)",
            leftover.is_empty() && leftover_after_release.is_empty() && leftover_after_fill.is_empty(),
            format!(
                "{leftover:?} / after the keeper's release {leftover_after_release:?} / after the slot fill {leftover_after_fill:?}"
            ),
        ),
        (
            "no session still waiting in NETLOCK after its client left",
            netlock_left == 0,
            format!("{netlock_left} in tfd ctl sessions"),
        ),
        (
            "the keeper's lock held by the keeper alone until released",
            e.keeper_check.is_ok(),
            e.keeper_check.clone().err().unwrap_or_default(),
        ),
        (
            "every lock free at the end (a fresh session takes each)",
            locks_free == e.lock_names,
            format!("{locks_free} of {} {locks_note}", e.lock_names),
        ),
        (
            "TFPSFS owner entries unchanged on disk",
            sec_meta_bad == 0,
            format!("{sec_meta_bad} of {} changed", e.secure_dirs),
        ),
        (
            "sessions in tfd ctl sessions at the end",
            e.ctl_rows == 0 && ctl_rows_after_fill == 0 && stats_sessions == 0,
            format!(
                "{} / after the fill {ctl_rows_after_fill}; tfd ctl stats: {stats_sessions}",
                e.ctl_rows
            ),
        ),
        (
            "registry slots reusable (concurrent PROCKEY sessions)",
            slots > 0 && filled == slots as usize && !e.log.contains("registry full"),
            format!("{filled} of {slots} {fill_note}"),
        ),
        (
            "listener fds end = start",
            end_sample.fds == start_sample.fds,
            format!("{} -> {}", start_sample.fds, end_sample.fds),
        ),
        (
            "listener RSS flat (middle, end within max(2 MiB, 10%) of warm)",
            flat(middle) && flat(end_sample),
            format!("{} / {} / {} KiB", warm.rss_kib, middle.rss_kib, end_sample.rss_kib),
        ),
        (
            "temporary upload files only from SIGKILLed sessions",
            part_files <= kills_done,
            format!("{part_files} left, {kills_done} SIGKILLs"),
        ),
        ("no panic in the tfd log", !e.log.contains("panicked"), String::new()),
        ("every operation type ran", every_op_ran, String::new()),
        (
            "the controller killed sessions",
            o.kills == 0 || kills_done > 0,
            format!("{kills_done} of {}", o.kills),
        ),
    ]
}

/// The last line, `SOAK key=value ...`, for scripts.
fn soak_line(o: &Options, total: &Tally, e: &End, lat: &Latencies, pass: bool) {
    let m = &e.monitor;
    let [start_sample, warm, middle, end_sample] = e.samples;
    let (elapsed, kills_done, netlock_kills, netlock_left) = (e.elapsed, e.kills_done, e.netlock_kills, e.netlock_left);
    let (filled, slots, locks_free, sec_meta_bad) = (e.filled, e.stats.slots, e.locks_free, e.sec_meta_bad);
    let (p50_all, p99_all) = (lat.p50_all, lat.p99_all);
    println!(
        "SOAK result={} clients={} secs={elapsed:.0} ops={} ops_per_s={:.0} mib_moved={:.0} p50_ms={p50_all:.2} \
         p99_ms={p99_all:.2} verify_errors={} io_errors={} killed_ops={} sigkills={kills_done} disconnects={} \
         leftover_procs={} ctl_sessions={} slots_reused={filled}/{slots} netlock_holds={} netlock_holders_left={} \
         netlock_timeouts={} netlock_waits_abandoned={} netlock_sigkills={netlock_kills} netlock_waits_left={netlock_left} \
         locks_free={locks_free}/{} tfpsfs_dirs={} tfpsfs_refused={} tfpsfs_changed={sec_meta_bad} listener_fds={}/{}/{}/{} \
         listener_rss_kib={}/{}/{}/{} session_peak_rss_kib={} session_peak_pss_kib={} {}",
        if pass { "pass" } else { "FAIL" },
        o.clients,
        total.ops,
        total.ops as f64 / elapsed,
        (total.bytes_up + total.bytes_down) as f64 / 1048576.0,
        total.verify_errors,
        total.unexpected,
        total.killed_ops,
        total.disconnects,
        e.leftover.len() + e.leftover_after_release.len() + e.leftover_after_fill.len(),
        e.ctl_rows + e.ctl_rows_after_fill,
        total.lock_holds,
        total.lock_holders_left,
        total.lock_timeouts,
        total.lock_waits_abandoned,
        e.lock_names,
        e.secure_dirs,
        total.sec_refused,
        start_sample.fds,
        warm.fds,
        middle.fds,
        end_sample.fds,
        start_sample.rss_kib,
        warm.rss_kib,
        middle.rss_kib,
        end_sample.rss_kib,
        m.session_hwm_max_kib,
        m.session_pss_max_kib,
        lat.kv.iter().chain(&e.life.kv).cloned().collect::<Vec<_>>().join(" ")
    );
}
