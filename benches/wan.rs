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
//! - `mirror`: 1,000 files with nothing changed, `tf mirror -R` (up) and `tf
//!   mirror` (down) against `rsync -a`; the destinations are made up to date
//!   by a local `cp -a` (same sizes and times) before the rounds;
//! - `delta`: a 64 MiB file of which 1 MiB was rewritten in place, and the same
//!   file with 1 KiB inserted at its front, both directions: `tf mirror -R` /
//!   `tf mirror` against `rsync -a` (whose delta is on over a network); each
//!   round starts from the old file at the destination (an older mtime);
//! - `edits`: a 1 GiB file (`--edits-mib`) with ten scattered 4 KiB edits, the
//!   same way; by default only on profiles of 1 Gbit/s and more;
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
//! Missing a target is reported, never a failure; without root, `ip`, `cc`,
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

#[path = "wan/cases.rs"]
mod cases;
mod support;

use cases::{case_big, case_mirror, case_ops, case_tree, cases_delta, cases_edits};
use std::fs;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::time::{Duration, Instant};
use support::race::{median, timed, Failure, MIB};
use support::sshd::{missing_tools, Sshd};
use support::wan::{forget_dir, on_signal_clean_up, remember_dir, stopping, wan_dir, Link, Wire};
use support::{cli, log_problems, private_tempdir, tf_binary, tfd_binary, Server};

const CASES: &[&str] = &["big", "tree", "tree10k", "mirror", "delta", "edits", "ops"];
const GCM: &str = "aes128-gcm@openssh.com";
const USAGE: &str = "usage: wan [--profiles RATE/RTT[/LOSS],...] [--only big,tree,tree10k,mirror,delta,edits,ops] \
                     [--rounds N] [--big-mib M] [--edits-mib M] [--sftp-trees] [--baseline-tf PATH] [--limit SECS] \
                     [--budget SECS] \
                     [--quick] [--smoke] [--same-fs]";

#[derive(Clone)]
struct Profile {
    rate: f64,
    rtt: f64,
    loss: f64,
}

impl Profile {
    fn parse(s: &str) -> Result<Profile, String> {
        let v: Vec<f64> = s
            .split('/')
            .map(|x| x.trim().parse::<f64>())
            .collect::<Result<_, _>>()
            .map_err(|_| format!("profile {s:?}: RATE/RTT[/LOSS] in Mbit/s, ms and %"))?;
        match v.as_slice() {
            [r, t] | [r, t, _] if *r > 0.0 && *r <= 10_000.0 && *t >= 0.0 && *t <= 2_000.0 => Ok(Profile {
                rate: *r,
                rtt: *t,
                loss: v.get(2).copied().unwrap_or(0.0).clamp(0.0, 50.0),
            }),
            _ => Err(format!("profile {s:?}: RATE/RTT[/LOSS], rate 0..10000, RTT 0..2000")),
        }
    }

    fn label(&self) -> String {
        if self.loss > 0.0 {
            format!("{}/{}/{}", self.rate, self.rtt, self.loss)
        } else {
            format!("{}/{}", self.rate, self.rtt)
        }
    }

    /// For the BENCH_WAN keys: `100_50`, `200_20_0p5`.
    fn key(&self) -> String {
        self.label().replace('/', "_").replace('.', "p")
    }
}

/// How big each case's files are.
#[derive(Clone)]
struct Sizes {
    big_mib: u64,
    tree: (usize, usize, u64),
    tree10k: (usize, usize, u64),
    mirror: (usize, usize),
    delta_mib: u64,
    rewrite: u64,
    insert: u64,
    edits_mib: u64,
}

struct Options {
    profiles: Vec<Profile>,
    /// `None`: the default set (edits only on fast profiles).
    only: Option<Vec<String>>,
    rounds: usize,
    sizes: Sizes,
    sftp_trees: bool,
    /// Another tf (e.g. main's) timed beside this one in the big case.
    baseline_tf: Option<PathBuf>,
    limit: Duration,
    budget: Duration,
    quick: bool,
    smoke: bool,
    /// The files on the system's temporary directory's own file system,
    /// not a fresh one ([`support::fresh_fs`]).
    same_fs: bool,
}

impl Options {
    fn parse(args: &mut cli::Args) -> Result<Options, String> {
        let mut o = Options {
            profiles: ["100/50", "200/20/0.5", "1000/2"]
                .iter()
                .map(|p| Profile::parse(p))
                .collect::<Result<_, _>>()?,
            only: None,
            rounds: 3,
            sizes: Sizes {
                big_mib: 64,
                tree: (300, 10, 16 << 10),
                tree10k: (10_000, 100, 1 << 10),
                mirror: (1000, 20),
                delta_mib: 64,
                rewrite: MIB,
                insert: 1 << 10,
                edits_mib: 1024,
            },
            sftp_trees: false,
            baseline_tf: None,
            limit: Duration::from_secs(300),
            budget: Duration::from_secs(3 * 3600),
            quick: false,
            smoke: false,
            same_fs: false,
        };
        let (mut profiles, mut rounds, mut big, mut edits, mut budget) = (None, None, None, None, None);
        while let Some(a) = args.next() {
            match a.as_str() {
                "--quick" => o.quick = true,
                "--smoke" => o.smoke = true,
                "--sftp-trees" => o.sftp_trees = true,
                "--same-fs" => o.same_fs = true,
                "--baseline-tf" => {
                    let b = PathBuf::from(args.value("--baseline-tf")?);
                    if !b.is_file() {
                        return Err(format!("--baseline-tf {}: no such file", b.display()));
                    }
                    o.baseline_tf = Some(b);
                }
                "--profiles" => {
                    profiles = Some(
                        args.value("--profiles")?
                            .split(',')
                            .map(Profile::parse)
                            .collect::<Result<Vec<_>, _>>()?,
                    )
                }
                "--only" => {
                    let v: Vec<String> = args.value("--only")?.split(',').map(|s| s.trim().to_string()).collect();
                    if let Some(bad) = v.iter().find(|c| !CASES.contains(&c.as_str())) {
                        return Err(format!("unknown case {bad:?}; cases: {}", CASES.join(",")));
                    }
                    o.only = Some(v);
                }
                "--rounds" => rounds = Some(args.number("--rounds", |n| (1..=15).contains(n), "a count 1..=15")?),
                "--big-mib" => big = Some(args.number("--big-mib", |n| (1..=4096).contains(n), "MiB, 1..=4096")?),
                "--edits-mib" => {
                    edits = Some(args.number("--edits-mib", |n| (1..=8192).contains(n), "MiB, 1..=8192")?)
                }
                "--limit" => {
                    o.limit =
                        Duration::from_secs(args.number("--limit", |n| (5..=3600).contains(n), "seconds 5..=3600")?)
                }
                "--budget" => {
                    budget = Some(Duration::from_secs(args.number(
                        "--budget",
                        |n| (10..=86_400).contains(n),
                        "seconds 10..=86400",
                    )?))
                }
                other => return Err(format!("unknown argument {other:?}")),
            }
        }
        if o.quick {
            o.rounds = 1;
            o.sizes.big_mib = 16;
            o.sizes.delta_mib = 16;
            o.sizes.edits_mib = 256;
            o.budget = Duration::from_secs(900);
        }
        if o.smoke {
            // one small profile, tiny files, every tool and case once
            o.profiles = vec![Profile {
                rate: 100.0,
                rtt: 10.0,
                loss: 0.0,
            }];
            o.rounds = 1;
            o.sizes = Sizes {
                big_mib: 2,
                tree: (20, 4, 4 << 10),
                tree10k: (60, 6, 1 << 10),
                mirror: (40, 4),
                delta_mib: 2,
                rewrite: 64 << 10,
                insert: 1 << 10,
                edits_mib: 4,
            };
            o.sftp_trees = true;
            o.only
                .get_or_insert_with(|| CASES.iter().map(|c| c.to_string()).collect());
            o.limit = Duration::from_secs(30);
            o.budget = Duration::from_secs(100);
        }
        if let Some(p) = profiles {
            o.profiles = p;
        }
        if let Some(r) = rounds {
            o.rounds = r;
        }
        if let Some(b) = big {
            o.sizes.big_mib = b;
            o.sizes.delta_mib = b;
        }
        if let Some(e) = edits {
            o.sizes.edits_mib = e;
        }
        if let Some(b) = budget {
            o.budget = b;
        }
        Ok(o)
    }

    /// Whether `case` runs on `profile`: the named ones, else all but tree10k,
    /// and edits only at 1 Gbit/s and more (and not in a quick run).
    fn wants(&self, case: &str, profile: &Profile) -> bool {
        match &self.only {
            Some(v) => v.iter().any(|c| c == case),
            None => match case {
                "tree10k" => false,
                "edits" => !self.quick && profile.rate >= 1000.0,
                _ => true,
            },
        }
    }
}

// ---------------------------------------------------------------------------
// Contenders and their rounds.
// ---------------------------------------------------------------------------

type Prep<'a> = Box<dyn FnMut() -> Result<Command, String> + 'a>;
type Check<'a> = Box<dyn FnMut() -> Result<(), String> + 'a>;

/// One tool in a case: the untimed set-up returns the command to time (in the
/// clients' namespace); `check` verifies its copy (untimed).
struct Contender<'a> {
    /// Short, for the keys: tf, tf4, rsync, scp, sftp.
    key: &'static str,
    name: String,
    is_tf: bool,
    prepare: Prep<'a>,
    check: Check<'a>,
}

/// What one contender measured.
struct Stats {
    key: &'static str,
    name: String,
    is_tf: bool,
    times: Vec<f64>,
    wire: Vec<Wire>,
    failed: Option<Failure>,
}

/// One case's outcome on one profile.
struct Case {
    key: String,
    what: String,
    /// The payload of a single-file transfer, for the fraction of the link.
    payload: Option<u64>,
    stats: Vec<Stats>,
}

/// Runs the contenders in turn, `rounds` times (fewer past `deadline`, at
/// least one); a contender that fails is dropped from the later rounds.
fn alternate(b: &Bed, rounds: usize, deadline: Instant, mut cs: Vec<Contender<'_>>) -> Vec<Stats> {
    let mut out: Vec<Stats> = cs
        .iter()
        .map(|c| Stats {
            key: c.key,
            name: c.name.clone(),
            is_tf: c.is_tf,
            times: Vec::new(),
            wire: Vec::new(),
            failed: None,
        })
        .collect();
    for r in 0..rounds {
        if r > 0 && Instant::now() > deadline {
            println!("    (time budget reached: {r} round(s))");
            break;
        }
        // every other round the other way round: what one tool leaves the
        // disk or the link (writeback, a warm cache) falls on each in turn
        let order: Vec<usize> = if r % 2 == 1 {
            (0..cs.len()).rev().collect()
        } else {
            (0..cs.len()).collect()
        };
        for i in order {
            let (c, s) = (&mut cs[i], &mut out[i]);
            if s.failed.is_some() || stopping() {
                continue;
            }
            let run = (|| {
                let mut cmd = (c.prepare)().map_err(|e| Failure::Broken(format!("set-up: {e}")))?;
                settle();
                let before = b.link.wire().map_err(Failure::Broken)?;
                let secs = timed(&mut cmd, &b.dir, &c.name, c.is_tf, b.limit)?;
                let wire = b.link.wire().map_err(Failure::Broken)?.since(before);
                (c.check)().map_err(|e| Failure::Broken(format!("wrong copy: {e}")))?;
                Ok::<_, Failure>((secs, wire))
            })();
            match run {
                Ok((secs, wire)) => {
                    s.times.push(secs);
                    s.wire.push(wire);
                }
                Err(f) => {
                    let why = match &f {
                        Failure::Missing(w) => format!("skipped: {w}"),
                        Failure::Broken(w) => format!("FAILED: {w}"),
                    };
                    println!("    {}: {why}", c.name);
                    s.failed = Some(f);
                }
            }
        }
    }
    out
}

/// When a tree was last removed ([`clear_tree`]).
static REMOVED: std::sync::Mutex<Option<Instant>> = std::sync::Mutex::new(None);

/// Removes a tree and, when it held [`MANY`] entries or more, notes when:
/// the file system takes a while to settle after ([`settle`]). The smaller
/// trees (`--smoke`'s, the 300-file case) cost nothing measurable after.
fn clear_tree(path: &Path) {
    let many = SAME_FS.load(std::sync::atomic::Ordering::Relaxed) && entries(path, MANY) >= MANY;
    support::race::clear(path);
    if many {
        *REMOVED.lock().unwrap_or_else(|p| p.into_inner()) = Some(Instant::now());
    }
}

/// How many removed entries make the next timed command wait.
const MANY: usize = 2000;

/// When this bench started ([`prior_removals`]).
static STARTED: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();

/// Before a case that creates [`MANY`] files or more: a tree removed just
/// before this bench started (an earlier run removes its copies as it ends,
/// a test or another bench theirs) slows their creation as much as one it
/// removed itself, whichever tool comes first. With no removal of its own
/// noted, the bench's start stands for one, so its first timed command
/// waits as [`settle`] waits after any.
fn prior_removals() {
    if !SAME_FS.load(std::sync::atomic::Ordering::Relaxed) {
        return;
    }
    let mut at = REMOVED.lock().unwrap_or_else(|p| p.into_inner());
    if at.is_none() {
        *at = Some(*STARTED.get_or_init(Instant::now));
    }
}

/// The entries below `dir`, counted up to `most`.
fn entries(dir: &Path, most: usize) -> usize {
    let (mut n, mut stack) = (0, vec![dir.to_path_buf()]);
    while let Some(d) = stack.pop() {
        for e in fs::read_dir(&d).into_iter().flatten().flatten() {
            n += 1;
            if n >= most {
                return n;
            }
            if e.file_type().is_ok_and(|t| t.is_dir()) {
                stack.push(e.path());
            }
        }
    }
    n
}

/// How long ext4 without a journal keeps a freed inode from reuse (its
/// inode table block clean: `RECENTCY_MIN`), and a second.
const RECENTLY_FREED: Duration = Duration::from_secs(61);

/// Before a timed command: everything written so far on disk (`sync`), and,
/// with `--same-fs`, the file system past the last tree's removal: on an
/// ext4 without a journal (this machine's root) the inode allocator skips
/// every inode freed in the last 60 s (360 s while its inode table block is
/// dirty), scanning past each at every creation, so 10,000 files created
/// just after 10,000 were removed took twice as long or more, whichever tool
/// made them. The wait covers the 60 s; the fresh file system (the default,
/// [`support::fresh_fs`]) has a journal and needs none.
fn settle() {
    nix::unistd::sync();
    let Some(at) = *REMOVED.lock().unwrap_or_else(|p| p.into_inner()) else {
        return;
    };
    let wait = RECENTLY_FREED.saturating_sub(at.elapsed());
    if !wait.is_zero() {
        println!(
            "    (waiting {:.0} s for the file system to settle)",
            wait.as_secs_f64()
        );
        std::thread::sleep(wait);
        nix::unistd::sync();
    }
}

// ---------------------------------------------------------------------------
// The test bed of one profile.
// ---------------------------------------------------------------------------

struct Bed<'o> {
    o: &'o Options,
    tf: PathBuf,
    /// Dropped before the link (whose wan-down would end them anyway).
    server: Option<Server>,
    sshd: Option<Sshd>,
    link: Link,
    /// The bench's own directory (clients' files).
    dir: PathBuf,
    limit: Duration,
}

impl Bed<'_> {
    fn server(&self) -> &Server {
        self.server.as_ref().expect("the server lives as long as the bed")
    }

    fn sshd(&self) -> &Sshd {
        self.sshd.as_ref().expect("sshd lives as long as the bed")
    }

    fn data(&self) -> PathBuf {
        self.server().data_dir()
    }

    fn tf(&self, args: &[&str]) -> Result<Command, String> {
        self.tf_bin(&self.tf, args)
    }

    /// `tf` as another binary (`--baseline-tf`).
    fn tf_bin(&self, bin: &Path, args: &[&str]) -> Result<Command, String> {
        let mut c = self.link.client(bin);
        c.args(self.server().tf_args()?).args(args);
        Ok(c)
    }

    fn ssh_opts(&self, c: &mut Command) {
        c.args(self.sshd().client_options());
    }

    fn scp(&self, from: String, to: String) -> Command {
        let mut c = self.link.client("scp");
        c.args(["-q", "-c", GCM, "-P"]).arg(self.sshd().port().to_string());
        self.ssh_opts(&mut c);
        c.arg(from).arg(to);
        c
    }

    /// `sftp -b` of one command line (a batch file of its own per line).
    fn sftp(&self, line: &str) -> Result<Command, String> {
        let batch = self.dir.join(format!("sftp-{:016x}.batch", fxhash(line)));
        fs::write(&batch, format!("{line}\n")).map_err(|e| e.to_string())?;
        let mut c = self.link.client("sftp");
        c.arg("-b")
            .arg(&batch)
            .args(["-c", GCM, "-P"])
            .arg(self.sshd().port().to_string());
        self.ssh_opts(&mut c);
        c.arg(self.sshd().login());
        Ok(c)
    }

    /// `ssh HOST CMD`.
    fn ssh(&self, cmd: &str) -> Command {
        let mut c = self.link.client("ssh");
        c.args(["-c", GCM, "-p"]).arg(self.sshd().port().to_string());
        self.ssh_opts(&mut c);
        c.arg(self.sshd().login()).arg(cmd);
        c
    }

    fn rsync(&self, from: String, to: String) -> Command {
        let mut c = self.link.client("rsync");
        c.args(["-a", "-e"]).arg(self.sshd().rsync_shell()).arg(from).arg(to);
        c
    }

    fn remote(&self, path: &Path) -> String {
        format!("{}:{}", self.sshd().login(), path.display())
    }
}

impl Drop for Bed<'_> {
    fn drop(&mut self) {
        if let Some(s) = self.server.as_ref() {
            let problems = log_problems(&s.log_text());
            if !problems.is_empty() {
                println!("  tfd: {} warning/error line(s) in its log", problems.len());
                for l in problems.iter().take(5) {
                    println!("    {l}");
                }
            }
        }
        let dirs: Vec<PathBuf> = [
            self.server.as_ref().map(|s| s.dir().to_path_buf()),
            self.sshd.as_ref().map(|s| s.dir().to_path_buf()),
            Some(self.dir.clone()),
        ]
        .into_iter()
        .flatten()
        .collect();
        self.server.take();
        self.sshd.take();
        let counters = self.link.down();
        if !counters.trim().is_empty() {
            println!("  link {}: {}", self.link.name, counters.trim().replace('\n', "; "));
        }
        let _ = fs::remove_dir_all(&self.dir);
        // only now: an interrupted bench's handler waits for this
        for d in &dirs {
            forget_dir(d);
        }
    }
}

/// A small stable hash, for file names.
fn fxhash(s: &str) -> u64 {
    s.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ b as u64).wrapping_mul(0x100_0000_01b3)
    })
}

fn p(path: &Path) -> String {
    path.display().to_string()
}

// ---------------------------------------------------------------------------
// The report.
// ---------------------------------------------------------------------------

fn mib(b: u64) -> f64 {
    b as f64 / MIB as f64
}

/// Prints one profile's cases and adds their keys to `kv`.
fn report(profile: &Profile, cases: &[Case], kv: &mut String) {
    let pk = profile.key();
    println!();
    println!(
        "{} Mbit/s, {} ms RTT, {}% loss:",
        profile.rate, profile.rtt, profile.loss
    );
    println!(
        "  {:<40} {:<20} {:>8} {:>10} {:>10} {:>6}  other ÷ tf (> 1: tf faster)",
        "case", "tool", "median s", "MiB up", "MiB down", "link"
    );
    for c in cases {
        let tfs: Vec<&Stats> = c.stats.iter().filter(|s| s.is_tf && !s.times.is_empty()).collect();
        for s in &c.stats {
            let k = format!("{pk}_{}_{}", c.key, s.key);
            let Some(t) = median(s.times.clone()) else {
                let why = match &s.failed {
                    Some(Failure::Missing(w)) => {
                        kv.push_str(&format!(" {k}=skipped"));
                        format!("skipped (tf has no such command yet: {w})")
                    }
                    Some(Failure::Broken(w)) => {
                        kv.push_str(&format!(" {k}=failed"));
                        format!("FAILED: {}", w.chars().take(200).collect::<String>())
                    }
                    None => "not measured (time budget)".into(),
                };
                println!("  {:<40} {:<20} {why}", c.what, s.name);
                continue;
            };
            let up = median(s.wire.iter().map(|w| w.up as f64).collect()).unwrap_or(0.0) as u64;
            let down = median(s.wire.iter().map(|w| w.down as f64).collect()).unwrap_or(0.0) as u64;
            let link = c.payload.map(|b| b as f64 * 8.0 / (t * profile.rate * 1e6));
            let mut ratios = Vec::new();
            if !s.is_tf {
                for tf in &tfs {
                    let n = tf.times.len().min(s.times.len());
                    let r = median((0..n).map(|i| s.times[i] / tf.times[i]).collect());
                    if let Some(r) = r {
                        ratios.push(format!("÷{} {r:.2}×", tf.key));
                        kv.push_str(&format!(" {pk}_{}_{}_vs_{}={r:.3}", c.key, tf.key, s.key));
                    }
                }
            }
            println!(
                "  {:<40} {:<20} {:>8.2} {:>10.2} {:>10.2} {:>6}  {}",
                c.what,
                s.name,
                t,
                mib(up),
                mib(down),
                link.map_or(String::new(), |l| format!("{l:.2}")),
                ratios.join(" ")
            );
            kv.push_str(&format!(" {k}_s={t:.3} {k}_wire_up={up} {k}_wire_down={down}"));
            if let Some(l) = link {
                kv.push_str(&format!(" {k}_link={l:.3}"));
            }
        }
    }
}

/// One profile: the link, tfd and sshd up, the cases, everything down.
fn run_profile(o: &Options, wan: &Path, name: &str, profile: &Profile, deadline: Instant) -> Result<Vec<Case>, String> {
    let link = Link::up(wan, name, profile.rate, profile.rtt, profile.loss)?;
    let ip: IpAddr = link
        .addr_b
        .parse()
        .map_err(|_| format!("bad address {}", link.addr_b))?;
    let dir = private_tempdir("wan")?;
    remember_dir(&dir);
    let mut bed = Bed {
        o,
        tf: tf_binary()?,
        server: None,
        sshd: None,
        link,
        dir,
        limit: o.limit,
    };
    let server = Server::start_at(&tfd_binary()?, Some(&bed.link.b), ip, None, "control_socket ctl.sock\n")?;
    remember_dir(server.dir());
    bed.server = Some(server);
    let sshd = Sshd::start_at(Some(&bed.link.b), ip)?;
    remember_dir(sshd.dir());
    bed.sshd = Some(sshd);
    println!(
        "profile {}: link {} ({} ↔ {} at {}), tfd on {}, sshd on port {}",
        profile.label(),
        bed.link.name,
        bed.link.a,
        bed.link.b,
        bed.link.addr_b,
        bed.server().tf_args()?.get(1).cloned().unwrap_or_default(),
        bed.sshd().port()
    );
    let mut cases = Vec::new();
    let sizes = o.sizes.clone();
    type Step<'s> = Box<dyn Fn(&Bed) -> Result<Vec<Case>, String> + 's>;
    let steps: Vec<(&str, Step)> = vec![
        ("big", Box::new(|b| case_big(b, deadline))),
        ("tree", Box::new(|b| case_tree(b, deadline, "tree", sizes.tree))),
        (
            "tree10k",
            Box::new(|b| case_tree(b, deadline, "tree10k", sizes.tree10k)),
        ),
        ("mirror", Box::new(|b| case_mirror(b, deadline))),
        ("delta", Box::new(|b| cases_delta(b, deadline))),
        ("edits", Box::new(|b| cases_edits(b, deadline))),
        ("ops", Box::new(|b| case_ops(b, deadline))),
    ];
    for (case, f) in steps {
        if !o.wants(case, profile) || stopping() {
            continue;
        }
        if Instant::now() > deadline {
            println!("  skipping {case}: over the {} s budget", o.budget.as_secs());
            continue;
        }
        let t = Instant::now();
        match f(&bed) {
            Ok(c) => cases.extend(c),
            Err(e) => println!("  {case}: FAILED to set up: {e}"),
        }
        println!("    ({case}: {:.1} s)", t.elapsed().as_secs_f64());
    }
    drop(bed);
    Ok(cases)
}

/// What the bench needs that is not there, first one only.
/// Whether `tool` is a file in a directory of `PATH`.
fn on_path(tool: &str) -> bool {
    std::env::var_os("PATH").is_some_and(|p| std::env::split_paths(&p).any(|d| d.join(tool).is_file()))
}

fn missing() -> Option<String> {
    if !nix::unistd::geteuid().is_root() {
        return Some("not root (network namespaces and TUN devices need it)".into());
    }
    for (tool, package) in [("ip", "iproute2"), ("cc", "gcc"), ("cp", "coreutils"), ("bash", "bash")] {
        if !on_path(tool) {
            return Some(format!("no {tool} ({package}; run scripts/deps)"));
        }
    }
    if let Err(e) = wan_dir() {
        return Some(e);
    }
    missing_tools()
}

fn run(o: &Options) -> Result<(), String> {
    let started = Instant::now();
    if let Some(why) = missing().or_else(|| (!o.same_fs).then(missing_fresh_fs).flatten()) {
        println!("wan bench: cannot run: {why}");
        println!();
        println!("BENCH_WAN missing=true");
        return Err(why);
    }
    on_signal_clean_up()?;
    if !o.same_fs {
        let fs = support::fresh_fs::FreshFs::make(FRESH_FS_GIB)?;
        println!(
            "the bench's files (served and local) on a fresh ext4 at {}",
            fs.path().display()
        );
        // every directory, wanlink's build and the servers' files below it
        std::env::set_var("TMPDIR", fs.path());
        support::fresh_fs::hold(fs);
    }
    SAME_FS.store(o.same_fs, std::sync::atomic::Ordering::Relaxed);
    let r = run_profiles(o, started);
    support::fresh_fs::release();
    r
}

/// The fresh file system's size (sparse): the `edits` case's 1 GiB files
/// with their copies, the trees' copies kept to the end of each case.
const FRESH_FS_GIB: u64 = 32;

/// Whether the files are on the temporary directory's own file system
/// (`--same-fs`): only there do removals need [`settle`]'s wait.
static SAME_FS: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(true);

/// What the fresh file system needs and this machine lacks.
fn missing_fresh_fs() -> Option<String> {
    support::fresh_fs::TOOLS
        .iter()
        .find(|t| !on_path(t))
        .map(|t| format!("no {t} (e2fsprogs, util-linux) for the fresh file system; --same-fs goes without"))
        .or_else(|| {
            (!Path::new("/dev/loop-control").exists())
                .then(|| "no /dev/loop-control (loop devices) for the fresh file system; --same-fs goes without".into())
        })
}

fn run_profiles(o: &Options, started: Instant) -> Result<(), String> {
    let deadline = started + o.budget;
    let wan = wan_dir()?;
    let (tf, tfd) = (tf_binary()?, tfd_binary()?);
    println!(
        "tf against rsync, scp and sftp over an emulated WAN ({}): {} and {}, profiles {}, {} round(s)",
        wan.display(),
        tf.display(),
        tfd.display(),
        o.profiles.iter().map(Profile::label).collect::<Vec<_>>().join(", "),
        o.rounds
    );
    let name = format!("tfw{}", std::process::id() % 1_000_000);
    let mut kv = String::from("BENCH_WAN");
    let mut all = Vec::new();
    for profile in &o.profiles {
        if stopping() {
            return Err("interrupted".into());
        }
        if Instant::now() > deadline {
            println!("skipping profile {}: over the budget", profile.label());
            continue;
        }
        match run_profile(o, &wan, &name, profile, deadline) {
            Ok(cases) => all.push((profile.clone(), cases)),
            Err(e) => {
                println!("profile {}: FAILED: {e}", profile.label());
                kv.push_str(&format!(" {}=failed", profile.key()));
            }
        }
    }
    if stopping() {
        return Err("interrupted: the links, tfd, sshd and the bench's files are removed".into());
    }
    for (profile, cases) in &all {
        report(profile, cases, &mut kv);
    }
    println!();
    println!(
        "times: medians of whole commands (start, handshake, authentication, transfer); MiB up/down: what crossed \
         the link each way (IP bytes); link: the file's bits ÷ (time × rate); other ÷ tf: the median of the \
         per-round ratios"
    );
    let secs = started.elapsed().as_secs_f64();
    println!("total time {secs:.1} s");
    let left = Command::new("ip")
        .args(["netns", "list"])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
        .unwrap_or_default();
    if left.lines().any(|l| l.starts_with(&format!("{name}-"))) {
        return Err(format!("namespaces of {name} left behind: {left}"));
    }
    println!();
    kv.push_str(&format!(
        " rounds={} big_mib={} quick={} smoke={} secs={secs:.1}",
        o.rounds, o.sizes.big_mib, o.quick, o.smoke
    ));
    println!("{kv}");
    Ok(())
}

fn main() -> ExitCode {
    STARTED.get_or_init(Instant::now);
    cli::main("wan", USAGE, Options::parse, run)
}
