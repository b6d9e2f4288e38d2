//! Per-operation cost of the release `tfd` under concurrency (issue "Small files and
//! many clients as fast as big files"), every figure a ratio against a baseline
//! measured in the same run on the same server (the VM's speed drifts by ±20%):
//!
//! 1. ECHO with 8 clients on open sessions: the baseline of the small operations.
//! 2. 16 KiB SNDFILE, RCVFILE, PUT, GET, SUP and SDOWN, 8 clients each on open
//!    sessions, each client on its own file. Target: each at least 0.2× the ECHO rate.
//!    Then the disk floor under the uploads: 8 threads doing only what a 16 KiB
//!    upload must do to the served root's file system (atomic as SNDFILE and SUP:
//!    an unnamed file, its data, linked over the old one; in place as PUT), synced
//!    as the server's `sync_uploads` says, with no network, cipher or protocol.
//!    Each upload's rate is also printed ÷ its floor.
//! 3. ECHO with 64 clients, then 64 clients mixing commands, small transfers and
//!    reconnects (handshakes). Targets: 0 errors, p99 at most 20 ms, and at least
//!    0.25× the 64-client ECHO rate. The bound printed beside it is what the CPU
//!    alone allows: every phase records the machine's busy CPU per operation
//!    (/proc/stat), and the mix can go no faster than its kinds' costs weighted
//!    as it draws them (see `mixed_bound`).
//! 4. Full handshakes (connect, handshake, ECHO, END) with 8 clients against
//!    RSA-2048 OAEP private decryptions on ONE core alone. Target: at least 0.6×.
//! 5. Fast Access entrances (connect with `FAI://<token>`, ECHO, END, keep the next
//!    key) against RSA handshakes (connect, ECHO, END), 8 clients each, on a server
//!    whose sessions are not root (FAITOK refuses root), and the per-connection
//!    floor (connect, refused version, close) that bounds the gain; the three
//!    alternate in 4 rounds, with one core's RSA decryptions between them.
//!    Target: at least 3×. The machine's busy CPU per operation of each (from
//!    /proc/stat, client and kernel included) gives the most FAI ÷ RSA could be
//!    with a process per connection: 1 + (RSA − FAI) ÷ floor, what it would be
//!    if an entrance cost no more than a refused connection.
//! 6. The same handshakes with tfd's secure transport upgrade (TFDSECURE) against
//!    legacy ones, alternated in slices so drift hits both alike. Target: an
//!    upgraded handshake costs at most 1.3× a legacy one (legacy rate ÷ secure
//!    rate ≤ 1.3). `--only handshakes` runs this phase alone.
//!
//! Run it with `scripts/bench ops` (builds the release binaries, sets `TFD_BIN`).
//! Loopback only; each phase is bounded in time and in count. Missing a target is
//! reported, never a failure. Options: `--quick`, `--secs S` (per phase),
//! `--only OP` (the ECHO baseline and one 16 KiB transfer, e.g. `sndfile`, to profile;
//! `--only fai`: phase 5 alone; `--only mixed`: phase 3 alone).

mod support;

/// The benchmark's parts, in `benches/ops/`.
mod ops {
    pub(crate) mod fai;
    pub(crate) mod floors;
    pub(crate) mod mixed;
    pub(crate) mod options;
    pub(crate) mod rate;
    pub(crate) mod report;
    pub(crate) mod run;
    pub(crate) mod small;
}

use ops::options::{Options, USAGE};
use std::process::ExitCode;
use support::cli;

fn main() -> ExitCode {
    cli::main("ops", USAGE, Options::parse, ops::run::run)
}
