//! Counters for `tfd ctl metrics`, in shared memory (mapped by the listener
//! before the first fork) so every session process adds to the same words
//! without locks, and rendered by the listener in the Prometheus text
//! exposition format (version 0.0.4) for a node_exporter textfile collector or
//! any scraper. Counters only grow (until tfd restarts); the session gauges
//! come from the live session table.

use std::fmt::Write as _;
use std::io;
use std::sync::atomic::{AtomicU64, Ordering};
use tfd_sys::SharedWords;

/// Why a connection or handshake was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// The address is banned (`tfd ctl ban`).
    Banned = 0,
    /// `max_sessions` reached.
    MaxSessions,
    /// `max_sessions_per_ip` reached.
    MaxSessionsPerIp,
    /// The session table was full.
    RegistryFull,
    /// Wrong protocol version.
    Version,
    /// The RSA-encrypted session key could not be used.
    RsaKey,
    /// Wrong hash.
    Hash,
    /// A Fast Access entrance refused (FAILED 68 or 69).
    Fai,
}

const REFUSALS: [(Refusal, &str); 8] = [
    (Refusal::Banned, "banned"),
    (Refusal::MaxSessions, "max_sessions"),
    (Refusal::MaxSessionsPerIp, "max_sessions_per_ip"),
    (Refusal::RegistryFull, "registry_full"),
    (Refusal::Version, "version"),
    (Refusal::RsaKey, "rsa_key"),
    (Refusal::Hash, "hash"),
    (Refusal::Fai, "fai"),
];

/// Plain counters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Counter {
    /// Connections accepted and handed to a session process.
    Accepted = 0,
    /// Handshakes completed (hash accepted).
    HandshakesCompleted,
    /// Handshakes the client abandoned (closed, timed out, broke the framing).
    HandshakesAborted,
    /// LOGINs refused (wrong name or password, or throttled).
    LoginFailures,
    /// Addresses banned after too many failed LOGINs.
    BansLogin,
    /// Names locked after too many failed LOGINs.
    LocksLogin,
    /// Addresses banned through `tfd ctl ban`.
    BansControl,
    /// Key process restarts.
    KeyRestarts,
    /// UDP responder restarts.
    UdpRestarts,
}

const COUNTERS: usize = 9;

/// Upper bounds of the transfer-duration buckets, in seconds.
pub(crate) const BUCKETS: [f64; 12] = [0.01, 0.05, 0.1, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 1800.0];

/// Words per histogram: the buckets, +Inf, the sum in microseconds.
const HIST_WORDS: usize = BUCKETS.len() + 2;

/// Byte-counter rows past the command table: the handshake, and anything not
/// in the table (unknown commands, END).
const EXTRA_ROWS: [&str; 2] = ["handshake", "other"];

/// Which row bytes are counted under.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Row {
    /// A command of the table the counters were made for, by position.
    Command(usize),
    /// Before the first command.
    Handshake,
    /// Unknown commands, END.
    Other,
}

/// The shared counters.
pub struct Metrics {
    mem: SharedWords,
    commands: usize,
    /// The command names, a byte-counter row each, in order.
    names: Vec<&'static str>,
    /// Whether each row's duration goes into the transfer histogram, and which.
    transfer_of: Vec<Option<usize>>,
    /// The transfer commands' names, a histogram each, in order.
    transfers: Vec<&'static str>,
}

impl Metrics {
    /// Maps the counters for `commands`: each a name and whether it is a
    /// transfer (the command table's, handed down by the listener: the counters
    /// know no command of their own).
    pub fn new(commands: impl IntoIterator<Item = (&'static str, bool)>) -> io::Result<Metrics> {
        let mut names = Vec::new();
        let mut transfer_of = Vec::new();
        let mut transfers = Vec::new();
        for (name, transfer) in commands {
            names.push(name);
            transfer_of.push(transfer.then_some(transfers.len()));
            if transfer {
                transfers.push(name);
            }
        }
        let words = COUNTERS + REFUSALS.len() + (names.len() + EXTRA_ROWS.len()) * 2 + transfers.len() * HIST_WORDS;
        Ok(Metrics {
            mem: SharedWords::new(words)?,
            commands: names.len(),
            names,
            transfer_of,
            transfers,
        })
    }

    fn word(&self, i: usize) -> &AtomicU64 {
        &self.mem.words()[i]
    }

    fn bytes_base(&self) -> usize {
        COUNTERS + REFUSALS.len()
    }

    fn hist_base(&self) -> usize {
        self.bytes_base() + (self.commands + EXTRA_ROWS.len()) * 2
    }

    /// One more of `c`.
    pub(crate) fn inc(&self, c: Counter) {
        self.word(c as usize).fetch_add(1, Ordering::Relaxed);
    }

    /// The current value of `c`.
    pub fn get(&self, c: Counter) -> u64 {
        self.word(c as usize).load(Ordering::Relaxed)
    }

    /// One more refusal for `why`.
    pub fn refused(&self, why: Refusal) {
        self.word(COUNTERS + why as usize).fetch_add(1, Ordering::Relaxed);
    }

    /// The row for a command name.
    pub fn row(&self, name: &str) -> Row {
        self.names
            .iter()
            .position(|n| *n == name)
            .map_or(Row::Other, Row::Command)
    }

    /// Adds bytes received and sent to a row.
    pub(crate) fn add_bytes(&self, row: Row, bytes_in: u64, bytes_out: u64) {
        let i = match row {
            Row::Command(i) if i < self.commands => i,
            Row::Command(_) | Row::Other => self.commands + 1,
            Row::Handshake => self.commands,
        };
        let at = self.bytes_base() + i * 2;
        if bytes_in > 0 {
            self.word(at).fetch_add(bytes_in, Ordering::Relaxed);
        }
        if bytes_out > 0 {
            self.word(at + 1).fetch_add(bytes_out, Ordering::Relaxed);
        }
    }

    /// Records how long a transfer command ran (other rows are ignored).
    pub(crate) fn observe_transfer(&self, row: Row, took: std::time::Duration) {
        let Row::Command(i) = row else { return };
        let Some(&Some(t)) = self.transfer_of.get(i) else {
            return;
        };
        let base = self.hist_base() + t * HIST_WORDS;
        let secs = took.as_secs_f64();
        // one word per bucket (non-cumulative); summed when rendered
        let b = BUCKETS.iter().position(|le| secs <= *le).unwrap_or(BUCKETS.len());
        self.word(base + b).fetch_add(1, Ordering::Relaxed);
        self.word(base + BUCKETS.len() + 1)
            .fetch_add(took.as_micros() as u64, Ordering::Relaxed);
    }

    /// The exposition text. `sessions` counts open sessions by state.
    pub fn render(&self, sessions: &[(&str, u64)], slots: usize) -> String {
        let mut o = String::with_capacity(8192);
        let g = |c: Counter| self.get(c);
        header(&mut o, "tfd_sessions", "gauge", "Sessions open now, by state.");
        for (state, n) in sessions {
            let _ = writeln!(o, "tfd_sessions{{state=\"{state}\"}} {n}");
        }
        header(&mut o, "tfd_session_slots", "gauge", "Size of the session table.");
        let _ = writeln!(o, "tfd_session_slots {slots}");
        header(
            &mut o,
            "tfd_connections_accepted_total",
            "counter",
            "Connections handed to a session process.",
        );
        let _ = writeln!(o, "tfd_connections_accepted_total {}", g(Counter::Accepted));
        header(&mut o, "tfd_handshakes_total", "counter", "Handshakes, by outcome.");
        let refused_hs: u64 = [Refusal::Version, Refusal::RsaKey, Refusal::Hash, Refusal::Fai]
            .iter()
            .map(|r| self.word(COUNTERS + *r as usize).load(Ordering::Relaxed))
            .sum();
        for (outcome, n) in [
            ("completed", g(Counter::HandshakesCompleted)),
            ("refused", refused_hs),
            ("aborted", g(Counter::HandshakesAborted)),
        ] {
            let _ = writeln!(o, "tfd_handshakes_total{{outcome=\"{outcome}\"}} {n}");
        }
        header(
            &mut o,
            "tfd_refusals_total",
            "counter",
            "Connections and handshakes refused, by reason.",
        );
        for (r, name) in REFUSALS {
            let n = self.word(COUNTERS + r as usize).load(Ordering::Relaxed);
            let _ = writeln!(o, "tfd_refusals_total{{reason=\"{name}\"}} {n}");
        }
        header(&mut o, "tfd_login_failures_total", "counter", "LOGINs refused.");
        let _ = writeln!(o, "tfd_login_failures_total {}", g(Counter::LoginFailures));
        header(&mut o, "tfd_bans_total", "counter", "Bans and locks, by kind.");
        for (kind, n) in [
            ("address", g(Counter::BansLogin)),
            ("name", g(Counter::LocksLogin)),
            ("control", g(Counter::BansControl)),
        ] {
            let _ = writeln!(o, "tfd_bans_total{{kind=\"{kind}\"}} {n}");
        }
        header(&mut o, "tfd_restarts_total", "counter", "Helper process restarts.");
        for (process, n) in [("key", g(Counter::KeyRestarts)), ("udp", g(Counter::UdpRestarts))] {
            let _ = writeln!(o, "tfd_restarts_total{{process=\"{process}\"}} {n}");
        }
        header(
            &mut o,
            "tfd_bytes_total",
            "counter",
            "Bytes on the wire (after encryption), by command and direction.",
        );
        let names = self.names.iter().copied().chain(EXTRA_ROWS);
        for (i, name) in names.enumerate() {
            let at = self.bytes_base() + i * 2;
            for (dir, w) in [("in", at), ("out", at + 1)] {
                let n = self.word(w).load(Ordering::Relaxed);
                let _ = writeln!(o, "tfd_bytes_total{{command=\"{name}\",direction=\"{dir}\"}} {n}");
            }
        }
        header(
            &mut o,
            "tfd_transfer_duration_seconds",
            "histogram",
            "How long transfer commands ran, by command.",
        );
        for (t, name) in self.transfers.iter().enumerate() {
            let base = self.hist_base() + t * HIST_WORDS;
            let mut cumulative = 0;
            for (b, le) in BUCKETS.iter().enumerate() {
                cumulative += self.word(base + b).load(Ordering::Relaxed);
                let _ = writeln!(
                    o,
                    "tfd_transfer_duration_seconds_bucket{{command=\"{name}\",le=\"{le}\"}} {cumulative}"
                );
            }
            cumulative += self.word(base + BUCKETS.len()).load(Ordering::Relaxed);
            let _ = writeln!(
                o,
                "tfd_transfer_duration_seconds_bucket{{command=\"{name}\",le=\"+Inf\"}} {cumulative}"
            );
            let sum = self.word(base + BUCKETS.len() + 1).load(Ordering::Relaxed) as f64 / 1e6;
            let _ = writeln!(o, "tfd_transfer_duration_seconds_sum{{command=\"{name}\"}} {sum}");
            let _ = writeln!(
                o,
                "tfd_transfer_duration_seconds_count{{command=\"{name}\"}} {cumulative}"
            );
        }
        o
    }
}

fn header(o: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(o, "# HELP {name} {help}");
    let _ = writeln!(o, "# TYPE {name} {kind}");
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn counts_across_fork_and_renders() {
        let table = [("LS", false), ("GET", true), ("PUT", true)];
        let m = Metrics::new(table).unwrap();
        match tfd_sys::fork().unwrap() {
            tfd_sys::Fork::Child => {
                m.inc(Counter::LoginFailures);
                m.refused(Refusal::Hash);
                m.add_bytes(m.row("GET"), 10, 1000);
                m.observe_transfer(m.row("GET"), Duration::from_millis(700));
                tfd_sys::exit_now(0);
            }
            tfd_sys::Fork::Parent(pid) => {
                nix::sys::wait::waitpid(nix::unistd::Pid::from_raw(pid), None).unwrap();
            }
        }
        m.add_bytes(Row::Handshake, 300, 4);
        m.add_bytes(m.row("NOPE"), 5, 0);
        m.observe_transfer(m.row("LS"), Duration::from_secs(1)); // not a transfer: ignored
        let text = m.render(&[("active", 2)], 64);
        for line in [
            "tfd_sessions{state=\"active\"} 2",
            "tfd_login_failures_total 1",
            "tfd_refusals_total{reason=\"hash\"} 1",
            "tfd_handshakes_total{outcome=\"refused\"} 1",
            "tfd_bytes_total{command=\"GET\",direction=\"out\"} 1000",
            "tfd_bytes_total{command=\"handshake\",direction=\"in\"} 300",
            "tfd_bytes_total{command=\"other\",direction=\"in\"} 5",
            "tfd_transfer_duration_seconds_bucket{command=\"GET\",le=\"0.5\"} 0",
            "tfd_transfer_duration_seconds_bucket{command=\"GET\",le=\"1\"} 1",
            "tfd_transfer_duration_seconds_bucket{command=\"GET\",le=\"+Inf\"} 1",
            "tfd_transfer_duration_seconds_sum{command=\"GET\"} 0.7",
            "tfd_transfer_duration_seconds_count{command=\"LS\"} 0",
        ] {
            if line.contains("\"LS\"") {
                assert!(!text.contains(line), "{line}");
            } else {
                assert!(text.lines().any(|l| l == line), "{line} missing in\n{text}");
            }
        }
    }
}
