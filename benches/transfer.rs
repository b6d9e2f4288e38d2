//! Bulk transfer throughput of the release `tfd` over loopback, each figure a ratio
//! against the session cipher alone, measured in the same run.
//!
//! The cipher is a serial per-byte recurrence, so its single-core speed is the
//! ceiling for one encrypted stream. Phases:
//!
//! 1. the cipher alone: `Cipher::pack` and `unpack` over 4 MiB units on one thread
//!    (the baseline, always measured), then `pack` on every CPU at once;
//! 2. 1 GiB each through PUT (client reads a repeating in-memory 4 MiB buffer),
//!    PUT whole (`putwhole`: the same, sent as the public clients send it, each
//!    4 MiB chunk enciphered whole and then written in one call),
//!    GET (into a sink), SNDFILE (same source) and RCVFILE (into a sink), one
//!    session each; the server writes to / reads from its data directory, files
//!    are checked by size and deleted (and the disk synced) between phases. Each
//!    runs `--reps` times (default 5), each run right after the cipher alone on
//!    two threads at once (64 MiB each), as a loopback transfer runs two: the
//!    client's and the server's. That per-thread rate is the run's baseline. A
//!    VM's speed drifts by ±20% over minutes, and a host short of cores slows two
//!    busy vCPUs more than one, so neither a figure from the start nor a
//!    single-thread one describes the machine the transfer met. The run with the
//!    median ratio is reported, with the range, and also against the
//!    single-thread pack rate from the start;
//! 3. `client::parallel::put`/`get` of a 512 MiB local file over 1, 2 and 4
//!    streams (GET writes a local file, so the client pays page-cache writes too);
//! 4. (`aes`) PUT and GET in GOAES's AES-256-CBC mode against the same transfers
//!    in the stream cipher, alternated run by run (`--reps` pairs each) so drift
//!    hits both alike; the medians and their ratio are reported.
//! 5. (`secure`) PUT, GET, SNDFILE and RCVFILE over tfd's secure transport
//!    (TFDSECURE, doc/secure-transport.md) against the same transfers in the
//!    legacy stream cipher, alternated run by run; and the AEAD alone: the record
//!    layer sealing 64 KiB records on one core (`openssl speed`-style). Targets
//!    (issue): secure ÷ legacy ≥ 2.5 and secure ÷ AEAD-alone ≥ 0.5. Between the
//!    runs, the same records over loopback TCP with no server (one thread seals
//!    and writes, one reads and opens): the most a secure transfer can reach on
//!    this machine, since both ends and the kernel share its cores;
//! 6. (`sync`) the cost of durable uploads (`sync_uploads`): two servers, one with
//!    the key on and one with it off, alternately take 100 SNDFILEs of 4 KiB on one
//!    session and one SNDFILE of min(`--mib`, 256) MiB; per run the time with
//!    sync on ÷ the time with it off; the median of `--reps` runs is reported.
//! 7. (`sigmem`) what the most signatures a delta download may send
//!    (`tfp_wire::delta::MAX_GET_SIGNATURE`, 32 MiB: 2.8 million entries, all
//!    different, for an old copy of 350 GiB in 128 KiB blocks) cost the tfd
//!    session that takes them: its peak resident memory (VmHWM) before and
//!    after, and the time from the first signature frame to the records' end.
//!    For information (the bound's comment cites it), no target.
//!
//! Target (issue): each single-stream transfer at least 85% of the cipher rate
//! (the run's baseline), and parallel streams scaling with cores. The report also
//! gives one stream's ceiling from the start, min(pack, unpack, all-CPU pack ÷ 2):
//! on a VM whose vCPUs do not run in parallel that is about half the pack rate.
//! Per phase it reports the server's (listener + sessions, from /proc) and the
//! client's CPU seconds per GiB, to compare with the cipher's own. Missing a target
//! is reported, never a failure.
//!
//! MB/s are 10^6 bytes per second. Run it with `scripts/bench` (which builds the
//! release binaries and sets `TFD_BIN`). Options (after `--`): `--quick` (128 MiB
//! everywhere), `--mib N` (single-stream transfer size), `--par-mib N` (parallel
//! file size), `--cipher-mib N`, `--reps N` (runs per single-stream transfer,
//! 1..=9), `--streams 1,2,4`, `--only put,putwhole,get,sndfile,rcvfile,parallel,sigmem` (e.g. to
//! profile one phase: each session's pid is printed for `perf record -g -p PID`;
//! `--only cipher` runs no server).

mod support;

/// The benchmark's parts, in `benches/transfer/`.
mod transfer {
    pub(crate) mod cipher;
    pub(crate) mod measure;
    pub(crate) mod options;
    pub(crate) mod phases;
    pub(crate) mod report;
    pub(crate) mod run;
    pub(crate) mod runs;
    pub(crate) mod sigmem;
    pub(crate) mod sync;
    pub(crate) mod transfers;
}

use std::process::ExitCode;
use support::cli;
use transfer::options::{Options, USAGE};

fn main() -> ExitCode {
    cli::main("transfer", USAGE, Options::parse, transfer::run::run)
}
