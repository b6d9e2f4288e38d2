//! Soak and load test (issue 7) of the release `tfd`, over loopback only.
//!
//! N clients (default 256) for S seconds (default 600) each loop over a random mix —
//! ECHO, MKDIR/FSTAT/RMDIR and TOUCH/FSIZE/DEL in the client's own directory, LS
//! checked against what the client knows is there, uploads (SNDFILE, PUT, SUP) and
//! downloads (RCVFILE, GET, SDOWN) of random sizes up to a few MiB with SHA-256
//! verification (the server's SHA256 and FSIZE after each upload, the received bytes
//! after each download) — and now and then disconnect abruptly (idle or in the
//! middle of an upload or download, with a FIN or a RST, or a clean END) and
//! reconnect. A controller SIGKILLs a few session processes picked from `tfd ctl
//! sessions` (every other one a session waiting in NETLOCK, the others one in a
//! transfer); the client of a killed session reconnects and its in-flight operation
//! counts as killed, not as an error. After the deadline every client verifies its
//! whole directory once more and ends.
//!
//! Locks (2.5.1 NETLOCK): a keeper session holds `locks/keep` from before the first
//! client to the end. Clients take the shared locks `locks/l<i>` (`NETLOCK 60`,
//! waiting for each other), write a marker of their own under the lock, read it
//! back after a pause (two holders at once would show as a foreign marker), and
//! NETUNLOCK, or leave holding it (END, FIN or RST). Other clients wait with
//! `NETLOCK 3600` on the keeper's lock, must get no answer, and leave mid-wait
//! (FIN or RST; the controller SIGKILLs some waiting sessions too); these waits
//! are bounded to `--clients` (at least 16) per run.
//!
//! TFPSFS: every fourth client (`c0`, `c4`, …) works in a secure directory: its
//! sessions SETFSID `own<id>` first, its first one makes the directory secure with
//! `own<id>:4095`, and all its operations above run inside with that identity.
//! Now and then such a client switches to another identity (or none) and tries
//! one thing it has no right to (RCVFILE, SNDFILE, DEL, GET, SHA256, RENAM, LS,
//! TOUCH, MKDIR, PUT, SETFSPERM, REMFSPERM): it must get FAILED 1 (57, 58), and
//! back as the owner nothing has changed (the file's size and SHA-256, no new
//! name, both identities' masks).
//!
//! Then the invariants, each failing the run (exit status 1):
//! - 0 verification errors and 0 unexplained I/O errors or refused connections;
//! - an upload broken off by the client never appears under its name, and leaves
//!   no temporary file (only a SIGKILLed session can: at most one per SIGKILL);
//! - 0 session processes left (live or zombie) once every client has closed, the
//!   keeper's aside: none still waiting in NETLOCK for a client that left (checked
//!   while the keeper still holds its lock, so such a wait could not have ended
//!   by taking it); none after the keeper's release either;
//! - the keeper's lock was never given to a waiter (a fresh session's NETLOCK_TRY
//!   still fails before the keeper's NETUNLOCK), and then every lock used is free:
//!   a fresh session takes each (trying each for at most 10 s);
//! - every secure directory's metadata on disk still holds its owner's entry alone;
//! - 0 sessions in `tfd ctl sessions`, and every registry slot reusable: as many
//!   concurrent sessions as `tfd ctl stats` reports slots all get a PROCKEY, and
//!   the log never says the registry was full;
//! - the listener's descriptors at the end equal those at the start, and its RSS
//!   is flat (end and middle within max(2 MiB, 10 %) of the sample after warm-up;
//!   the start figure, before any client, is printed too);
//! - no panic in the log; every operation type ran; the controller killed sessions;
//! - the lifecycle phase ([`lifecycle`], after the main run, about `--secs` more
//!   with at most 20 s): a listener SIGKILLed under load leaves no process, a new
//!   tfd binds the same port at once and serves again, and a Ctrl-C to the new
//!   tfd's process group stops it in bounded time with no process left.
//!
//! Figures: ops/s, p50/p99 latency per operation type, MiB moved, peak RSS and PSS
//! of a session process (sampled from /proc every second), listener RSS and fds at
//! start/warm/middle/end. The last line, `SOAK key=value ...`, is for scripts.
//!
//! Run it with `scripts/soak` (builds the release binaries, sets `TFD_BIN`).
//! Options (after `--`): `--clients N` (1..=1024), `--secs S` (10..=7200),
//! `--kills K` (SIGKILLs, default 1 per minute, at least 3), `--max-size BYTES`
//! (largest transfer, default 4 MiB), `--seed X`.

mod support;

/// The soak's parts, in `benches/soak/`.
mod soak {
    pub(crate) mod checks;
    pub(crate) mod content;
    pub(crate) mod control;
    pub(crate) mod disconnect;
    pub(crate) mod lifecycle;
    pub(crate) mod locks;
    pub(crate) mod op;
    pub(crate) mod options;
    pub(crate) mod procfs;
    pub(crate) mod report;
    pub(crate) mod run;
    pub(crate) mod secure;
    pub(crate) mod tally;
    pub(crate) mod transfers;
    pub(crate) mod worker;
}

use std::process::ExitCode;

fn main() -> ExitCode {
    match soak::run::run() {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(e) => {
            eprintln!("soak: {e}");
            ExitCode::from(2)
        }
    }
}
