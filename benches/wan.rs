//! `tf` against rsync over ssh, scp and sftp over an emulated WAN link (the
//! loopback comparison is `benches/tools.rs`). Every figure the project had was
//! on loopback, where a round trip costs nothing; here each profile is a link
//! with a rate, a round-trip time and a random loss (`shared/wan`: `wan-up`
//! makes two network namespaces joined by the user-space `wanlink`, `wan-down`
//! removes them), tfd and a private sshd (`benches/support/sshd.rs`) run in one
//! namespace, tf, rsync (`rsync -a -e "ssh ..."`), scp and sftp in the other,
//! aimed at the server's address there; both ends use the same disk, so every
//! copy is checked byte for byte by the bench.
//!
//! Profiles (`--profiles`, RATE/RTT[/LOSS] in Mbit/s, ms and %): `100/50`,
//! `200/20/0.5` and `1000/2` (above ~500 Mbit/s the emulator and the two cores
//! are the limit: a CPU-bound case). Cases (`--only`):
//! - `big`: a 64 MiB file up and down (`--big-mib`): `tf put`/`get`, the same
//!   with `--streams 4`, scp, sftp and rsync (to an absent destination);
//! - `tree`: 300 × 16 KiB in 10 directories up and down: `tf put -r`/`get -r`
//!   and `rsync -a` (sftp `put -r`/`get -r` with `--sftp-trees`: slow);
//! - `tree10k`: 10,000 × 1 KiB in 100 directories, the same (long: one round
//!   trip per file costs 500 s at 50 ms; not in the default set);
//! - `archive`: faithful copies (issue 61, `benches/wan/archive.rs`): the
//!   tree of the "done when" (files of 0 B to 300 MiB where the link
//!   and the budget allow, else `--big-mib`'s; modes 0600 to 4755,
//!   directories 0700, 0555, 1777, mtimes past, future and in ns, symlinks
//!   of every kind, a FIFO, other owners) up by `tf put -r -a` and `tf
//!   mirror -R --owner`, down by `tf get -r -a` and `tf mirror`, each copy
//!   compared entry by entry with `rsync -a`'s (lstat, SHA-256), then each
//!   run again, which must move nothing; and what `-a` costs on the `tree`
//!   case's tree: `put -r -a` ÷ `put -r`, `get -r -a` ÷ `get -r` (target
//!   at most 1.05);
//! - `mirror`: 1,000 files with nothing changed, `tf mirror -R` (up) and `tf
//!   mirror` (down) against `rsync -a`; the destinations are made up to date
//!   by a local `cp -a` (same sizes and times) before the rounds;
//! - `delta`: a 64 MiB file of which 1 MiB was rewritten in place, and the same
//!   file with 1 KiB inserted at its front, both directions: `tf mirror -R` /
//!   `tf mirror` against `rsync -a` (whose delta is on over a network); each
//!   round starts from the old file at the destination (an older mtime);
//! - `edits`: a 1 GiB file (`--edits-mib`) with ten scattered 4 KiB edits, the
//!   same way; by default only on profiles of 1 Gbit/s and more;
//! - `log` and `pytree`: what compresses (`benches/wan/compress.rs`): a
//!   64 MiB web-server log made with a fixed seed (`--big-mib`) and the
//!   machine's Python standard library, against `rsync -a` and `rsync -az`;
//! - `backup`: daily backups with history (`benches/wan/backups.rs`): the
//!   Python standard library backed up, then 1% of its files changed a day
//!   for four days, `tf backup` against `rsync -a --link-dest` and
//!   `rsync -az --link-dest` over ssh, with the space each day added;
//! - `ops`: commands that move almost nothing, where the connection's round
//!   trips are the cost: `tf echo hi` against `ssh HOST true`, and `tf ls` of
//!   a directory of ten files against one `ls` through `sftp` (with
//!   `--baseline-tf`, the other tf too: a before/after of the handshake).
//!
//! Per case and tool: the median time of `--rounds` (3) whole commands (start,
//! handshake, authentication, transfer; the contenders take turns within each
//! round, every other round in reverse order, so drift falls on all alike;
//! each timed command starts after a `sync`; the tree cases land every round
//! in a new directory and remove the copies only after the case), the bytes that crossed the link each way (the
//! counters of the clients' end of the link, read before and after each
//! command: IP packets, headers included), for single files the fraction of
//! the link's rate, and each other tool's time ÷ tf's (the median over the
//! rounds of the per-round ratio; > 1 means tf was faster). After every timed
//! command its copy is checked (sizes, a SHA-256), so a failing command cannot
//! look fast; a failing or timed-out tool loses its figure for that case and
//! the others go on. A tf command that does not exist (yet) is "skipped".
//! Missing a target is reported, never a failure; a copy of the `archive`
//! case that is not rsync's, or that a second run changes, is one (named by
//! entry and field; the bench exits nonzero); without root, `ip`, `cc`,
//! sshd, ssh, scp, sftp or rsync the bench says what is missing and fails.
//!
//! Every file the bench makes, served or local, is on a fresh ext4 with a
//! journal (a sparse image on the same disk, on a loop device doing direct
//! I/O; removed at the end): this machine's root is an ext4 without a
//! journal, whose allocator scans past every inode freed in the last 60 to
//! 360 s at each creation, so the tree cases there measured the history of
//! the disk (`put -r` of 10,000 files from 0.45 s to 2.6 s run to run,
//! whichever tool) more than the tools ([`support::fresh_fs`]).
//! `--same-fs` keeps them on the temporary directory's own file system, and
//! then waits 61 s after the removal of a tree of 2,000 entries or more
//! before the next timed command (the bench's start counts as one before a
//! case of that many files; an earlier run's removal is not seen, nor the
//! 360 s of an inode table block dirtied meanwhile).
//!
//! `scripts/bench wan [--profiles 100/50,200/20/0.5] [--only big,tree,...]
//! [--rounds N] [--big-mib M] [--edits-mib M] [--sftp-trees] [--baseline-tf
//! PATH] [--limit SECS] [--budget SECS] [--quick] [--smoke] [--same-fs]`. `--baseline-tf`
//! times another tf binary (say main's) beside this one in the `big` case (one
//! stream and `--streams 4`), the tree cases and `ops`, in the same rounds: its row's ratio is its time ÷
//! this tf's (a before/after in one run). `--quick`: one round, 16 MiB files,
//! no tree10k or edits unless named; `--smoke`: the shortest run that proves
//! the bench end to end (one small profile, tiny files and trees, every tool
//! and case once, under two minutes; CI runs it). Bounded: a command is killed
//! after `--limit` (300 s), no case or round starts past `--budget`, and the
//! links, namespaces, tfd and sshd are removed at the end, on a failure and on
//! Ctrl-C/SIGTERM (`benches/support/wan.rs`). `TFD_WAN_DIR` overrides where
//! `wan-up` is (default `../shared/wan` beside the checkout); `TF_BIN` and
//! `TFD_BIN` the binaries. The last line, `BENCH_WAN key=value ...`, is for
//! scripts.

mod support;

/// The benchmark's parts, in `benches/wan/`.
mod wan {
    pub(crate) mod archive;
    pub(crate) mod backups;
    pub(crate) mod bare;
    pub(crate) mod bed;
    pub(crate) mod cases;
    pub(crate) mod compress;
    pub(crate) mod contest;
    pub(crate) mod faithful;
    pub(crate) mod options;
    pub(crate) mod report;
    pub(crate) mod run;
    pub(crate) mod settle;
}

use std::process::ExitCode;
use support::cli;
use wan::options::{Options, USAGE};

fn main() -> ExitCode {
    wan::settle::STARTED.get_or_init(std::time::Instant::now);
    cli::main("wan", USAGE, Options::parse, wan::run::run)
}
