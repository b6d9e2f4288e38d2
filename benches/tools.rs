//! `tf` against the tools people use today, OpenSSH's sftp and scp and rsync over
//! ssh, on loopback in the same run (issue 26's targets). Each figure is whole
//! commands as a user runs them (process start, handshake, authentication and the
//! transfer), timed from spawn to exit.
//!
//! The bench starts its own sshd (`benches/support/sshd.rs`: 127.0.0.1 only, its
//! own host and client keys and config, internal-sftp, killed and removed at the
//! end) and two release tfd servers, one with `sync_uploads yes` (the default: an
//! upload is durable before it is acknowledged, which sftp does not do) and one
//! with `sync_uploads no`. Trees and files are made by the bench; both tools read
//! the same sources and write to the same file system. Contenders alternate round
//! by round (A B A B …) and each target is the median of the per-round ratios, so
//! the VM's drift falls on both alike. Before each timed command the destination
//! is removed and the disk synced (untimed); after it every copy is checked (file
//! count, every size, the SHA-256 of one file, or sampled blocks of a big file),
//! so a failing command cannot look fast.
//!
//! Targets (tf's speed ÷ the other's: the other's time ÷ tf's):
//! 1. `tree`: 300 files of 16 KiB in 10 directories, `tf put -r` ÷ `sftp -b` with
//!    `put -r`: ≥ 1.0 with sync_uploads yes, ≥ 1.5 with no; `tf get -r` ÷ sftp
//!    `get -r`: ≥ 1.5;
//! 2. `big`: a 1 GiB `tf put` / `tf get` ÷ sftp with `-c aes128-gcm@openssh.com`:
//!    ≥ 2 each (scp with the same cipher, and `tf put` to the sync_uploads no
//!    server, for information);
//! 3. `mirror`: 1,000 small files in 20 directories, nothing changed: `tf mirror
//!    -R` (upload) ÷ `rsync -a` to the same sshd, and `tf mirror` (download) ÷
//!    `rsync -a` from it: ≥ 1.0 each. Each side is brought up to date once
//!    (untimed, checked) before the rounds; how many destination files a timed
//!    run replaced (new inode) is printed, since nothing should be;
//! 4. `changed`: a 64 MiB file rewritten entirely (no block in common with the
//!    old version at the destination), `tf mirror -R` and `tf mirror` with
//!    `--no-whole-file` (the delta path forced, as a slow link would take it)
//!    ÷ the same with `--whole-file`: the delta's time at most 1.1 × whole's
//!    (issue 43: tf notices early that a delta would not pay);
//! 5. `edited` (for information): the same 64 MiB file with 1 MiB rewritten in
//!    the middle, as `changed` measures it: the delta moves a 64th of the file
//!    (what a slow link gains) but both ends read and hash their copies whole
//!    (on loopback tf's default is whole);
//! 6. `loop` (for information): the same tree uploaded by a shell loop of
//!    `tf sndfile --parents`, one process per file, ÷ sftp `put -r`.
//!
//! A `tf` command that does not exist yet (an unknown command, or a usage error:
//! exit status 1) makes its target "skipped", and the bench goes on; any other
//! failure ends that phase and is reported as such. Missing a target is reported,
//! never a failure. Without sshd, ssh, sftp, scp or rsync the bench says what is
//! missing and stops (scripts/deps installs them).
//!
//! `scripts/bench tools [--quick] [--rounds N] [--big-rounds N] [--big-mib M]
//! [--jobs N] [--only tree,big,mirror,changed,edited,loop]`; `--jobs N` is passed to `tf put -r`,
//! `get -r` and `mirror`. Bounded in time: a full run (5 rounds, 3 of 1 GiB) takes
//! about three minutes, `--quick` (2 rounds, 1 of 128 MiB, no `loop` unless named
//! in `--only`) under one; no phase or round starts past a budget. The last
//! line, `BENCH_TOOLS key=value ...`, is for scripts.

mod support;

/// The benchmark's parts, in `benches/tools/`.
mod tools {
    pub(crate) mod bed;
    pub(crate) mod big;
    pub(crate) mod changed;
    pub(crate) mod contest;
    pub(crate) mod mirror;
    pub(crate) mod options;
    pub(crate) mod report;
    pub(crate) mod run;
    pub(crate) mod shell_loop;
    pub(crate) mod tree;
}

use std::process::ExitCode;
use support::cli;
use tools::options::{Options, USAGE};

fn main() -> ExitCode {
    cli::main("tools", USAGE, Options::parse, tools::run::run)
}
