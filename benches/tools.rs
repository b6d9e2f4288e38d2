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

use sha2::{Digest, Sha256};
use std::cell::Cell;
use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::thread;
use std::time::{Duration, Instant, SystemTime};
use support::race::{bytes, check_big, clear, make_big, median, timed, Failure, Tree};
use support::sshd::{missing_tools, Sshd};
use support::{cli, log_problems, met, private_tempdir, tf_binary, tfd_binary, Server};

const TREE_FILES: usize = 300;
const TREE_DIRS: usize = 10;
const TREE_FILE_BYTES: u64 = 16 << 10;
const MIRROR_FILES: usize = 1000;
const MIRROR_DIRS: usize = 20;
/// The cipher issue 26 names for the big transfers.
const GCM: &str = "aes128-gcm@openssh.com";
/// Issue 26's targets, tf's speed ÷ the other tool's.
const GOAL_PUT_SYNC: f64 = 1.0;
const GOAL_PUT_NOSYNC: f64 = 1.5;
const GOAL_GET: f64 = 1.5;
const GOAL_BIG: f64 = 2.0;
const GOAL_MIRROR: f64 = 1.0;
/// One command that runs longer than this is killed and fails its phase.
const COMMAND_LIMIT: Duration = Duration::from_secs(120);
const PHASES: &[&str] = &["tree", "big", "mirror", "changed", "edited", "loop"];
const USAGE: &str = "usage: tools [--quick] [--rounds N] [--big-rounds N] [--big-mib M] [--jobs N] \
                     [--only tree,big,mirror,changed,edited,loop]";
/// The file of the `changed` and `edited` phases.
const CHANGED_MIB: usize = 64;
/// What the `edited` phase rewrites in the middle of that file.
const EDITED_MIB: usize = 1;
/// Issue 43: a file that changed entirely, forced through the delta path,
/// at most 10% slower than sent whole (whole's time ÷ the delta's).
const GOAL_CHANGED: f64 = 1.0 / 1.1;

struct Options {
    quick: bool,
    /// Rounds of the tree, mirror and loop phases.
    rounds: usize,
    big_rounds: usize,
    big_mib: u64,
    jobs: Option<u32>,
    only: Vec<String>,
    /// No phase starts, and no further round, past this.
    budget: Duration,
}

impl Options {
    fn parse(args: &mut cli::Args) -> Result<Options, String> {
        let mut o = Options {
            quick: false,
            rounds: 5,
            big_rounds: 3,
            big_mib: 1024,
            jobs: None,
            only: PHASES.iter().map(|p| p.to_string()).collect(),
            budget: Duration::from_secs(200),
        };
        let mut only_given = false;
        while let Some(a) = args.next() {
            match a.as_str() {
                "--quick" => {
                    o.quick = true;
                    o.rounds = 2;
                    o.big_rounds = 1;
                    o.big_mib = 128;
                    o.budget = Duration::from_secs(40);
                }
                "--rounds" => o.rounds = args.number("--rounds", |n| (1..=15).contains(n), "a count 1..=15")?,
                "--big-rounds" => {
                    o.big_rounds = args.number("--big-rounds", |n| (1..=9).contains(n), "a count 1..=9")?
                }
                "--big-mib" => o.big_mib = args.number("--big-mib", |n| (1..=8192).contains(n), "MiB, 1..=8192")?,
                "--jobs" => o.jobs = Some(args.number("--jobs", |n| (1..=64).contains(n), "a count 1..=64")?),
                "--only" => {
                    only_given = true;
                    o.only = args.value("--only")?.split(',').map(|s| s.trim().to_string()).collect();
                    if let Some(bad) = o.only.iter().find(|p| !PHASES.contains(&p.as_str())) {
                        return Err(format!("unknown phase {bad:?}; phases: {}", PHASES.join(",")));
                    }
                }
                other => return Err(format!("unknown argument {other:?}")),
            }
        }
        if o.quick && !only_given {
            // the loop is for information and takes 15 s: not in a quick run
            o.only.retain(|p| p != "loop");
        }
        Ok(o)
    }

    fn wants(&self, phase: &str) -> bool {
        self.only.iter().any(|p| p == phase)
    }

    /// `--jobs N` for the tf tree commands, when given.
    fn jobs_args(&self) -> Vec<String> {
        self.jobs
            .map(|n| vec!["--jobs".into(), n.to_string()])
            .unwrap_or_default()
    }
}

// ---------------------------------------------------------------------------
// Timed commands.
// ---------------------------------------------------------------------------

type Step<'a, T> = Box<dyn FnMut(usize) -> Result<T, String> + 'a>;
/// The command that writes the given destination.
type ToDst<'a> = Box<dyn Fn(&Path) -> Result<Command, String> + 'a>;

/// One command of a phase: the untimed set-up of round `r` (clear the
/// destination, flush the disk) returns the command to time; `check` verifies
/// what it made (untimed).
struct Contender<'a> {
    name: &'static str,
    is_tf: bool,
    /// Runs in the first round only (a slow figure, for information).
    first_only: bool,
    prepare: Step<'a, Command>,
    check: Step<'a, ()>,
}

/// Times of each contender, by round, or why it has none (then the phase
/// stopped there).
struct Outcome {
    names: Vec<&'static str>,
    times: Vec<Vec<f64>>,
    failed: Option<(usize, Failure)>,
}

impl Outcome {
    fn index(&self, name: &str) -> usize {
        self.names.iter().position(|n| *n == name).unwrap_or(usize::MAX)
    }

    /// The median of `other`'s time ÷ `tf`'s over the rounds both finished,
    /// with the median times of each over those rounds, or why there is none.
    fn ratio(&self, tf: &str, other: &str) -> Result<(f64, f64, f64), Failure> {
        let (a, b) = (self.index(tf), self.index(other));
        if let Some((i, f)) = &self.failed {
            if *i == a || *i == b {
                return Err(f.clone());
            }
        }
        let (Some(ta), Some(tb)) = (self.times.get(a), self.times.get(b)) else {
            return Err(Failure::Broken("not measured".into()));
        };
        match &self.failed {
            Some((_, f)) if ta.is_empty() || tb.is_empty() => return Err(f.clone()),
            _ => {}
        }
        let n = ta.len().min(tb.len());
        let (ta, tb) = (&ta[..n], &tb[..n]);
        match (
            median(tb.iter().zip(ta).map(|(o, t)| o / t).collect()),
            median(ta.to_vec()),
            median(tb.to_vec()),
        ) {
            (Some(r), Some(t), Some(o)) => Ok((r, t, o)),
            _ => Err(Failure::Broken("no round finished".into())),
        }
    }
}

/// Runs the contenders in turn, `rounds` times (fewer past `deadline`, at least
/// one), and stops at the first failure.
fn alternate(rounds: usize, deadline: Instant, dir: &Path, mut cs: Vec<Contender<'_>>) -> Outcome {
    let mut o = Outcome {
        names: cs.iter().map(|c| c.name).collect(),
        times: vec![Vec::new(); cs.len()],
        failed: None,
    };
    'rounds: for r in 0..rounds {
        if r > 0 && Instant::now() > deadline {
            println!("    (time budget reached: {r} round(s))");
            break;
        }
        for (i, c) in cs.iter_mut().enumerate() {
            if c.first_only && r > 0 {
                continue;
            }
            let run = (|| {
                let mut cmd = (c.prepare)(r).map_err(|e| Failure::Broken(format!("{}: set-up: {e}", c.name)))?;
                let secs = timed(&mut cmd, dir, c.name, c.is_tf, COMMAND_LIMIT)?;
                (c.check)(r).map_err(|e| Failure::Broken(format!("{}: wrong copy: {e}", c.name)))?;
                Ok::<f64, Failure>(secs)
            })();
            match run {
                Ok(s) => o.times[i].push(s),
                Err(f) => {
                    o.failed = Some((i, f));
                    break 'rounds;
                }
            }
        }
    }
    o
}

// ---------------------------------------------------------------------------
// Trees and files, and their checks.
// ---------------------------------------------------------------------------

// ---------------------------------------------------------------------------
// The phases.
// ---------------------------------------------------------------------------

/// What every phase uses.
struct Bed {
    tf: PathBuf,
    sshd: Sshd,
    /// sync_uploads yes (the default) and no.
    sync: Server,
    nosync: Server,
    /// The bench's own directory: local sources and destinations, batch files.
    dir: PathBuf,
    jobs: Vec<String>,
}

impl Drop for Bed {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.dir);
    }
}

impl Bed {
    fn tf(&self, server: &Server, args: &[&str]) -> Result<Command, String> {
        let mut c = Command::new(&self.tf);
        c.args(server.tf_args()?).args(args);
        Ok(c)
    }

    /// `tf CMD [--jobs N] REST...` for the tree commands.
    fn tf_tree(&self, server: &Server, cmd: &[&str], rest: &[&Path]) -> Result<Command, String> {
        let mut c = self.tf(server, cmd)?;
        c.args(&self.jobs).args(rest);
        Ok(c)
    }

    /// `sftp -b` of one command line (written to a batch file here).
    fn sftp(&self, cipher: Option<&str>, line: &str) -> Result<Command, String> {
        let batch = self.dir.join("sftp.batch");
        fs::write(&batch, format!("{line}\n")).map_err(|e| e.to_string())?;
        let mut c = Command::new("sftp");
        c.arg("-b").arg(&batch).arg("-P").arg(self.sshd.port().to_string());
        if let Some(ci) = cipher {
            c.args(["-c", ci]);
        }
        c.args(self.sshd.client_options()).arg(self.sshd.login());
        Ok(c)
    }

    fn scp(&self, from: String, to: String) -> Command {
        let mut c = Command::new("scp");
        c.args(["-q", "-c", GCM, "-P"]).arg(self.sshd.port().to_string());
        c.args(self.sshd.client_options()).arg(from).arg(to);
        c
    }

    fn rsync(&self, from: String, to: String) -> Command {
        let mut c = Command::new("rsync");
        c.args(["-a", "-e"]).arg(self.sshd.rsync_shell()).arg(from).arg(to);
        c
    }

    fn remote(&self, path: &Path) -> String {
        format!("{}:{}", self.sshd.login(), path.display())
    }
}

fn p(path: &Path) -> String {
    path.display().to_string()
}

/// 300 × 16 KiB up with `tf put -r` (both servers) and sftp `put -r`, then down
/// with `tf get -r` and sftp `get -r`.
fn phase_tree(bed: &Bed, o: &Options, deadline: Instant) -> Result<(Outcome, Outcome), String> {
    let tree = Tree::spec(TREE_FILES, TREE_DIRS, |_| TREE_FILE_BYTES);
    let local = bed.dir.join("tree");
    let (sd, nd) = (bed.sync.data_dir(), bed.nosync.data_dir());
    println!(
        "  [tree] {TREE_FILES} × {} KiB in {TREE_DIRS} directories, {} round(s): tf put -r (sync_uploads yes, no) and sftp put -r ...",
        TREE_FILE_BYTES >> 10,
        o.rounds
    );
    // Builds the command from the bench, the local tree, the destination's
    // name in the server's root and its absolute path.
    type Make = fn(&Bed, &Path, &str, &Path) -> Result<Command, String>;
    let up = |name: &'static str, is_tf: bool, data: PathBuf, dst: &'static str, make: Make| {
        let tree = &tree;
        let local = &local;
        let data2 = data.clone();
        Contender {
            name,
            is_tf,
            first_only: false,
            prepare: Box::new(move |r| {
                let rel = format!("{dst}-{r}");
                let to = data.join(&rel);
                clear(&to);
                make(bed, local, &rel, &to)
            }),
            check: Box::new(move |r| {
                let to = data2.join(format!("{dst}-{r}"));
                let res = tree.check(&to).map(|_| ());
                let _ = fs::remove_dir_all(&to);
                res
            }),
        }
    };
    let tf_put_sync: Make = |b, l, rel, _| b.tf_tree(&b.sync, &["put", "-r"], &[l, Path::new(rel)]);
    let tf_put_nosync: Make = |b, l, rel, _| b.tf_tree(&b.nosync, &["put", "-r"], &[l, Path::new(rel)]);
    let sftp_put: Make = |b, l, _, to| b.sftp(None, &format!("put -r {} {}", l.display(), to.display()));
    tree.make(&local)?;
    let up_out = alternate(
        o.rounds,
        deadline,
        &bed.dir,
        vec![
            up("tf put -r, sync yes", true, sd.clone(), "tfput", tf_put_sync),
            up("tf put -r, sync no", true, nd.clone(), "tfput", tf_put_nosync),
            up("sftp put -r", false, sd.clone(), "sftpput", sftp_put),
        ],
    );

    println!(
        "  [tree] the same tree down, {} round(s): tf get -r and sftp get -r ...",
        o.rounds
    );
    let src = sd.join("tree");
    tree.make(&src)?;
    nix::unistd::sync();
    let down = |name: &'static str, is_tf: bool, dst: &'static str| {
        let tree = &tree;
        let src = &src;
        let dir = &bed.dir;
        Contender {
            name,
            is_tf,
            first_only: false,
            prepare: Box::new(move |r| {
                let to = dir.join(format!("{dst}-{r}"));
                clear(&to);
                if is_tf {
                    bed.tf_tree(&bed.sync, &["get", "-r"], &[Path::new("tree"), &to])
                } else {
                    bed.sftp(None, &format!("get -r {} {}", src.display(), to.display()))
                }
            }),
            check: Box::new(move |r| {
                let to = dir.join(format!("{dst}-{r}"));
                let res = tree.check(&to).map(|_| ());
                let _ = fs::remove_dir_all(&to);
                res
            }),
        }
    };
    let down_out = alternate(
        o.rounds,
        deadline,
        &bed.dir,
        vec![down("tf get -r", true, "tfget"), down("sftp get -r", false, "sftpget")],
    );
    let _ = fs::remove_dir_all(&src);
    Ok((up_out, down_out))
}

/// A big-file contender writing `to`, which `make` gets; the copy is checked
/// and removed after each run.
fn big_contender<'a>(name: &'static str, is_tf: bool, to: PathBuf, mib: u64, make: ToDst<'a>) -> Contender<'a> {
    let to2 = to.clone();
    Contender {
        name,
        is_tf,
        first_only: false,
        prepare: Box::new(move |_| {
            clear(&to);
            make(&to)
        }),
        check: Box::new(move |_| {
            let r = check_big(&to2, mib);
            let _ = fs::remove_file(&to2);
            r
        }),
    }
}

/// `c`, in the first round only.
fn first_only(mut c: Contender<'_>) -> Contender<'_> {
    c.first_only = true;
    c
}

/// `mib` MiB up and down: tf, sftp and scp with AES-128-GCM, and tf to the
/// sync_uploads no server.
fn phase_big(bed: &Bed, o: &Options, deadline: Instant) -> Result<(Outcome, Outcome), String> {
    let mib = o.big_mib;
    println!(
        "  [big] {mib} MiB, {} round(s): tf put, sftp put, scp put ({GCM}), tf put (sync_uploads no) ...",
        o.big_rounds
    );
    let local = bed.dir.join("big.bin");
    make_big(&local, mib)?;
    let (sd, nd) = (bed.sync.data_dir(), bed.nosync.data_dir());
    let local = &local;
    let put = |name, data: &Path, file, is_tf, make| big_contender(name, is_tf, data.join(file), mib, make);
    let up = alternate(
        o.big_rounds,
        deadline,
        &bed.dir,
        vec![
            put(
                "tf put",
                &sd,
                "tfput.bin",
                true,
                Box::new(|_| bed.tf(&bed.sync, &["put", &p(local), "tfput.bin"])),
            ),
            put(
                "sftp put",
                &sd,
                "sftpput.bin",
                false,
                Box::new(|to| bed.sftp(Some(GCM), &format!("put {} {}", local.display(), to.display()))),
            ),
            first_only(put(
                "scp put",
                &sd,
                "scpput.bin",
                false,
                Box::new(|to| Ok(bed.scp(p(local), bed.remote(to)))),
            )),
            put(
                "tf put, sync no",
                &nd,
                "tfput.bin",
                true,
                Box::new(|_| bed.tf(&bed.nosync, &["put", &p(local), "tfput.bin"])),
            ),
        ],
    );

    println!(
        "  [big] {mib} MiB, {} round(s): tf get, sftp get, scp get ({GCM}) ...",
        o.big_rounds
    );
    let src = sd.join("big.bin");
    // the same bytes for every download, without a second write
    fs::hard_link(local, &src)
        .or_else(|_| fs::copy(local, &src).map(|_| ()))
        .map_err(|e| format!("{}: {e}", src.display()))?;
    let src = &src;
    let get = |name, file, is_tf, make| big_contender(name, is_tf, bed.dir.join(file), mib, make);
    let down = alternate(
        o.big_rounds,
        deadline,
        &bed.dir,
        vec![
            get(
                "tf get",
                "tfget.bin",
                true,
                Box::new(|to| bed.tf(&bed.sync, &["get", "big.bin", &p(to)])),
            ),
            get(
                "sftp get",
                "sftpget.bin",
                false,
                Box::new(|to| bed.sftp(Some(GCM), &format!("get {} {}", src.display(), to.display()))),
            ),
            first_only(get(
                "scp get",
                "scpget.bin",
                false,
                Box::new(|to| Ok(bed.scp(bed.remote(src), p(to)))),
            )),
        ],
    );
    let _ = fs::remove_file(src);
    let _ = fs::remove_file(local);
    Ok((up, down))
}

/// A `changed` contender: before each round `dst/f.bin` is the old version
/// again (an hour older, so mirror sees it changed); `make` brings the new one
/// over, whose SHA-256 is `want`.
fn changed_contender<'a>(
    name: &'static str,
    dst: PathBuf,
    old: &'a [u8],
    want: &'a [u8],
    make: Box<dyn Fn() -> Result<Command, String> + 'a>,
) -> Contender<'a> {
    let dst2 = dst.clone();
    Contender {
        name,
        is_tf: true,
        first_only: false,
        prepare: Box::new(move |_| {
            clear(&dst);
            fs::create_dir_all(&dst).map_err(|e| e.to_string())?;
            let f = dst.join("f.bin");
            fs::write(&f, old).map_err(|e| format!("{}: {e}", f.display()))?;
            let h = fs::File::options().write(true).open(&f).map_err(|e| e.to_string())?;
            h.set_modified(SystemTime::now() - Duration::from_secs(3600))
                .and_then(|()| h.sync_all())
                .map_err(|e| e.to_string())?;
            nix::unistd::sync();
            make()
        }),
        check: Box::new(move |_| {
            let f = dst2.join("f.bin");
            let got = fs::read(&f).map_err(|e| format!("{}: {e}", f.display()))?;
            let r = if Sha256::digest(&got)[..] == want[..] {
                Ok(())
            } else {
                Err(format!("{}: not the new version", f.display()))
            };
            clear(&dst2);
            r
        }),
    }
}

/// A file rewritten entirely (`phase` "changed"), or [`EDITED_MIB`] of it in
/// the middle ("edited"), up (`tf mirror -R`) and down (`tf mirror`, what
/// `tf get` onto the old copy does: TFDDELTAGET), through the delta path
/// (`--no-whole-file`) and whole (`--whole-file`).
fn phase_changed(bed: &Bed, o: &Options, deadline: Instant, phase: &'static str) -> Result<(Outcome, Outcome), String> {
    let n = CHANGED_MIB << 20;
    let old = bytes(0x01d, n);
    let (new, how) = if phase == "edited" {
        let mut new = old.clone();
        let at = n / 2;
        new[at..at + (EDITED_MIB << 20)].copy_from_slice(&bytes(0x4e3, EDITED_MIB << 20));
        (new, format!("with {EDITED_MIB} MiB rewritten in the middle"))
    } else {
        (bytes(0x4e3, n), "rewritten entirely".to_string())
    };
    let want = Sha256::digest(&new).to_vec();
    let sd = bed.sync.data_dir();
    let dir = |what: &str| format!("{phase}-{what}");
    let (src, rsrc) = (bed.dir.join(dir("new")), sd.join(dir("new")));
    for d in [&src, &rsrc] {
        fs::create_dir_all(d).map_err(|e| e.to_string())?;
        fs::write(d.join("f.bin"), &new).map_err(|e| e.to_string())?;
    }
    drop(new);
    nix::unistd::sync();
    let (old, want, srcs) = (&old, &want, &p(&src));
    println!(
        "  [{phase}] {CHANGED_MIB} MiB {how}, {} round(s): tf mirror -R and tf mirror, \
         --no-whole-file and --whole-file ...",
        o.rounds
    );
    let (delta, whole, new_dir) = (dir("delta"), dir("whole"), dir("new"));
    let up = |name, how: &'static str, to: &str| {
        let to = to.to_string();
        let dst = sd.join(&to);
        let make = Box::new(move || bed.tf(&bed.sync, &["mirror", "-R", how, srcs, &to]));
        changed_contender(name, dst, old, want, make)
    };
    let up_out = alternate(
        o.rounds,
        deadline,
        &bed.dir,
        vec![
            up("tf mirror -R, delta", "--no-whole-file", &delta),
            up("tf mirror -R, whole", "--whole-file", &whole),
        ],
    );
    let down = |name, how: &'static str, to: &str| {
        let dst = bed.dir.join(to);
        let d = p(&dst);
        let from = new_dir.clone();
        let make = Box::new(move || bed.tf(&bed.sync, &["mirror", how, &from, &d]));
        changed_contender(name, dst, old, want, make)
    };
    let down_out = alternate(
        o.rounds,
        deadline,
        &bed.dir,
        vec![
            down("tf mirror, delta", "--no-whole-file", &delta),
            down("tf mirror, whole", "--whole-file", &whole),
        ],
    );
    clear(&src);
    clear(&rsrc);
    Ok((up_out, down_out))
}

/// Mirror outcomes and how many destination files the timed runs replaced.
struct Mirrors {
    up: Outcome,
    down: Outcome,
    replaced: Vec<(&'static str, usize)>,
}

/// A mirror contender: `make` brings `dst` up to date with `tree`; run once
/// (untimed, in `prime`) before the rounds, then timed with nothing changed.
/// Records the most destination files one timed run replaced.
fn mirror_contender<'a>(
    name: &'static str,
    is_tf: bool,
    tree: &'a Tree,
    dst: PathBuf,
    replaced: &'a Cell<usize>,
    make: Box<dyn Fn() -> Result<Command, String> + 'a>,
) -> Contender<'a> {
    let before = std::rc::Rc::new(std::cell::RefCell::new(BTreeMap::new()));
    let before2 = before.clone();
    let dst2 = dst.clone();
    Contender {
        name,
        is_tf,
        first_only: false,
        prepare: Box::new(move |_| {
            nix::unistd::sync();
            // the copy may sit in DST or, with rsync-like semantics, DST/NAME
            *before.borrow_mut() = Tree::walk(&dst).map(|m| m.into_iter().map(|(p, (_, i))| (p, i)).collect())?;
            make()
        }),
        check: Box::new(move |_| {
            let now = tree.check(&dst2)?;
            let old = before2.borrow();
            let n = now.iter().filter(|(p, i)| old.get(*p) != Some(*i)).count();
            replaced.set(replaced.get().max(n));
            Ok(())
        }),
    }
}

/// Brings a mirror up to date once (untimed) and checks it; a missing tf
/// command is reported as such.
fn prime(bed: &Bed, name: &str, is_tf: bool, tree: &Tree, dst: &Path, mut cmd: Command) -> Result<(), Failure> {
    let secs = timed(&mut cmd, &bed.dir, name, is_tf, COMMAND_LIMIT)?;
    println!("    {name}: the first run (everything new) took {secs:.2} s");
    tree.check(dst)
        .map(|_| ())
        .map_err(|e| Failure::Broken(format!("{name} (first run): wrong copy: {e}")))
}

fn phase_mirror(bed: &Bed, o: &Options, deadline: Instant) -> Result<Mirrors, String> {
    let tree = Tree::spec(MIRROR_FILES, MIRROR_DIRS, |i| 1 + (i as u64 * 7919) % 8192);
    println!(
        "  [mirror] {MIRROR_FILES} files ({} KiB in all) in {MIRROR_DIRS} directories, nothing changed, {} round(s): \
         tf mirror -R and rsync -a up, tf mirror and rsync -a down ...",
        tree.total() >> 10,
        o.rounds
    );
    // The sync_uploads no server: nothing is written in the timed runs, and the
    // untimed first upload of 1,000 files need not wait for 1,000 fsyncs.
    let server = &bed.nosync;
    let sd = server.data_dir();
    // One source for all four, in the server's root: uploads read it as a local
    // directory, downloads as a remote one (on loopback both are this machine),
    // and the VM removes files slowly (ext4 with discard: 3 ms each), so each
    // tree made is one fewer to make and remove.
    let local = sd.join("mtree");
    let remote_src = local.clone();
    tree.make(&local)?;
    nix::unistd::sync();
    let counts: Vec<Cell<usize>> = (0..4).map(|_| Cell::new(0)).collect();

    let tf_up_dst = sd.join("mirror-up");
    let rsync_up_dst = sd.join("rsync-up");
    let tf_up = || bed.tf_tree(server, &["mirror", "-R"], &[&local, Path::new("mirror-up")]);
    let rsync_up = || {
        Ok(bed.rsync(
            format!("{}/", local.display()),
            format!("{}/", bed.remote(&rsync_up_dst)),
        ))
    };
    let tf_down_dst = bed.dir.join("mirror-down");
    let rsync_down_dst = bed.dir.join("rsync-down");
    let tf_down = || bed.tf_tree(server, &["mirror"], &[Path::new("mtree"), &tf_down_dst]);
    let rsync_down = || {
        Ok(bed.rsync(
            format!("{}/", bed.remote(&remote_src)),
            format!("{}/", rsync_down_dst.display()),
        ))
    };

    let run = |tf_name: &'static str,
               other_name: &'static str,
               tf_dst: &Path,
               other_dst: &Path,
               tf: &dyn Fn() -> Result<Command, String>,
               other: &dyn Fn() -> Result<Command, String>,
               ci: usize|
     -> Outcome {
        let fail = |i, f| Outcome {
            names: vec![tf_name, other_name],
            times: vec![Vec::new(), Vec::new()],
            failed: Some((i, f)),
        };
        let cmd = match tf() {
            Ok(c) => c,
            Err(e) => return fail(0, Failure::Broken(e)),
        };
        if let Err(f) = prime(bed, tf_name, true, &tree, tf_dst, cmd) {
            return fail(0, f);
        }
        let cmd = match other() {
            Ok(c) => c,
            Err(e) => return fail(1, Failure::Broken(e)),
        };
        if let Err(f) = prime(bed, other_name, false, &tree, other_dst, cmd) {
            return fail(1, f);
        }
        alternate(
            o.rounds,
            deadline,
            &bed.dir,
            vec![
                mirror_contender(tf_name, true, &tree, tf_dst.to_path_buf(), &counts[ci], Box::new(tf)),
                mirror_contender(
                    other_name,
                    false,
                    &tree,
                    other_dst.to_path_buf(),
                    &counts[ci + 1],
                    Box::new(other),
                ),
            ],
        )
    };
    let up = run(
        "tf mirror -R",
        "rsync -a up",
        &tf_up_dst,
        &rsync_up_dst,
        &tf_up,
        &rsync_up,
        0,
    );
    let down = run(
        "tf mirror",
        "rsync -a down",
        &tf_down_dst,
        &rsync_down_dst,
        &tf_down,
        &rsync_down,
        2,
    );
    for d in [&local, &tf_up_dst, &rsync_up_dst, &tf_down_dst, &rsync_down_dst] {
        let _ = fs::remove_dir_all(d);
    }
    // only for the contenders that had a timed run
    let replaced = [&up, &up, &down, &down]
        .iter()
        .zip(["tf mirror -R", "rsync -a up", "tf mirror", "rsync -a down"])
        .zip(&counts)
        .filter(|((o, name), _)| o.times.get(o.index(name)).is_some_and(|t| !t.is_empty()))
        .map(|((_, name), c)| (name, c.get()))
        .collect();
    Ok(Mirrors { up, down, replaced })
}

/// The tree uploaded by a shell loop of `tf sndfile --parents` (a process, a
/// handshake and a durable upload per file), alternated with sftp `put -r`.
fn phase_loop(bed: &Bed, o: &Options, deadline: Instant) -> Result<Outcome, String> {
    let tree = Tree::spec(TREE_FILES, TREE_DIRS, |_| TREE_FILE_BYTES);
    let local = bed.dir.join("looptree");
    tree.make(&local)?;
    let sd = bed.sync.data_dir();
    let rounds = if o.quick { 1 } else { o.rounds.min(2) };
    println!(
        "  [loop] {TREE_FILES} × `tf sndfile --parents` from a shell loop (sync_uploads yes) and sftp put -r, {rounds} round(s) ...",
    );
    let args = bed.sync.tf_args()?;
    let (l1, l2, s1, s2) = (&local, &local, &sd, &sd);
    let tree = &tree;
    let out = alternate(
        rounds,
        deadline,
        &bed.dir,
        vec![
            Contender {
                name: "tf sndfile loop",
                is_tf: true,
                first_only: false,
                prepare: Box::new(move |r| {
                    let dst = format!("loop-{r}");
                    clear(&s1.join(&dst));
                    let mut c = Command::new("sh");
                    c.current_dir(l1)
                        .arg("-c")
                        .arg(
                            "for f in */*; do \"$TF\" \"$@\" sndfile --parents \"$f\" \"$DST/$f\" >/dev/null || exit 1; done",
                        )
                        .arg("sh")
                        .args(&args)
                        .env("TF", &bed.tf)
                        .env("DST", dst);
                    Ok(c)
                }),
                check: Box::new(move |r| {
                    let to = s1.join(format!("loop-{r}"));
                    let res = tree.check(&to).map(|_| ());
                    let _ = fs::remove_dir_all(&to);
                    res
                }),
            },
            Contender {
                name: "sftp put -r",
                is_tf: false,
                first_only: false,
                prepare: Box::new(move |r| {
                    let to = s2.join(format!("sftploop-{r}"));
                    clear(&to);
                    bed.sftp(None, &format!("put -r {} {}", l2.display(), to.display()))
                }),
                check: Box::new(move |r| {
                    let to = s2.join(format!("sftploop-{r}"));
                    let res = tree.check(&to).map(|_| ());
                    let _ = fs::remove_dir_all(&to);
                    res
                }),
            },
        ],
    );
    let _ = fs::remove_dir_all(&local);
    Ok(out)
}

// ---------------------------------------------------------------------------
// The report.
// ---------------------------------------------------------------------------

/// One line of the report: tf's speed against another tool's.
struct Line<'a> {
    key: &'static str,
    what: String,
    outcome: &'a Outcome,
    tf: &'static str,
    other: &'static str,
    /// `None`: for information.
    goal: Option<f64>,
}

fn report(lines: &[Line<'_>], kv: &mut String) {
    println!(
        "{:<58} {:>8} {:>8} {:>8} {:>6}  result",
        "tf ÷ the other tool (speed: the other's time ÷ tf's)", "tf s", "other s", "ratio", "goal"
    );
    for l in lines {
        let k = l.key;
        match l.outcome.ratio(l.tf, l.other) {
            Ok((r, t, s)) => {
                let verdict = l.goal.map_or("(information)", |g| met(r >= g));
                println!(
                    "{:<58} {:>8.3} {:>8.3} {:>7.2}× {:>6}  {verdict}",
                    l.what,
                    t,
                    s,
                    r,
                    l.goal
                        .map_or(String::new(), |g| format!("≥ {}", (g * 100.0).round() / 100.0))
                );
                kv.push_str(&format!(" {k}_ratio={r:.3} {k}_tf_s={t:.3} {k}_other_s={s:.3}"));
                if let Some(g) = l.goal {
                    kv.push_str(&format!(" {k}_met={}", r >= g));
                }
            }
            Err(Failure::Missing(why)) => {
                let cmd = l.tf.split(',').next().unwrap_or(l.tf).trim_start_matches("tf ");
                println!("{:<58} tf has no {cmd} yet: skipped ({why})", l.what);
                kv.push_str(&format!(" {k}=skipped"));
            }
            Err(Failure::Broken(why)) => {
                println!("{:<58} FAILED: {why}", l.what);
                kv.push_str(&format!(" {k}=failed"));
            }
        }
    }
}

/// Runs a phase and says how long it took (the budget is the bench's).
fn phase<T>(name: &str, f: impl FnOnce() -> Result<T, String>) -> Result<T, String> {
    let t = Instant::now();
    let r = f();
    println!("    ({name}: {:.1} s)", t.elapsed().as_secs_f64());
    r
}

fn run(o: &Options) -> Result<(), String> {
    let started = Instant::now();
    let deadline = started + o.budget;
    let mut kv = String::from("BENCH_TOOLS");
    if let Some(why) = missing_tools() {
        println!("tools bench: skipped: {why}");
        println!();
        println!("BENCH_TOOLS skipped=true");
        return Ok(());
    }
    let (tfd, tf) = (tfd_binary()?, tf_binary()?);
    let bed = Bed {
        tf,
        sshd: Sshd::start()?,
        // each its own control socket, beside its config, not the machine's
        sync: Server::start_with(&tfd, "sync_uploads yes\ncontrol_socket ctl.sock\n")?,
        nosync: Server::start_with(&tfd, "sync_uploads no\ncontrol_socket ctl.sock\n")?,
        dir: private_tempdir("tools")?,
        jobs: o.jobs_args(),
    };
    let cpus = thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
    println!(
        "tf against sftp, scp and rsync on loopback: {} and {}, sshd on 127.0.0.1:{}, {cpus} CPU(s){}",
        bed.tf.display(),
        tfd.display(),
        bed.sshd.port(),
        o.jobs.map_or(String::new(), |j| format!(", tf --jobs {j}"))
    );
    let result = (|| -> Result<(), String> {
        let in_budget = |what: &str| {
            let ok = Instant::now() < deadline;
            if !ok {
                println!("  skipping {what}: over the {} s budget", o.budget.as_secs());
            }
            ok
        };
        let tree = if o.wants("tree") && in_budget("tree") {
            Some(phase("tree", || phase_tree(&bed, o, deadline))?)
        } else {
            None
        };
        let big = if o.wants("big") && in_budget("big") {
            Some(phase("big", || phase_big(&bed, o, deadline))?)
        } else {
            None
        };
        let mirror = if o.wants("mirror") && in_budget("mirror") {
            Some(phase("mirror", || phase_mirror(&bed, o, deadline))?)
        } else {
            None
        };
        let changed = if o.wants("changed") && in_budget("changed") {
            Some(phase("changed", || phase_changed(&bed, o, deadline, "changed"))?)
        } else {
            None
        };
        let edited = if o.wants("edited") && in_budget("edited") {
            Some(phase("edited", || phase_changed(&bed, o, deadline, "edited"))?)
        } else {
            None
        };
        let lp = if o.wants("loop") && in_budget("loop") {
            Some(phase("loop", || phase_loop(&bed, o, deadline))?)
        } else {
            None
        };

        let mut lines = Vec::new();
        if let Some((up, down)) = &tree {
            let n = format!("{TREE_FILES} × {} KiB", TREE_FILE_BYTES >> 10);
            lines.push(Line {
                key: "put_r_sync",
                what: format!("tf put -r ÷ sftp put -r, {n}, sync_uploads yes"),
                outcome: up,
                tf: "tf put -r, sync yes",
                other: "sftp put -r",
                goal: Some(GOAL_PUT_SYNC),
            });
            lines.push(Line {
                key: "put_r_nosync",
                what: format!("tf put -r ÷ sftp put -r, {n}, sync_uploads no"),
                outcome: up,
                tf: "tf put -r, sync no",
                other: "sftp put -r",
                goal: Some(GOAL_PUT_NOSYNC),
            });
            lines.push(Line {
                key: "get_r",
                what: format!("tf get -r ÷ sftp get -r, {n}"),
                outcome: down,
                tf: "tf get -r",
                other: "sftp get -r",
                goal: Some(GOAL_GET),
            });
        }
        if let Some((up, down)) = &big {
            let m = if o.big_mib == 1024 {
                "1 GiB".to_string()
            } else {
                format!("{} MiB", o.big_mib)
            };
            lines.push(Line {
                key: "big_put",
                what: format!("tf put ÷ sftp put, {m}, sftp -c {GCM}"),
                outcome: up,
                tf: "tf put",
                other: "sftp put",
                goal: Some(GOAL_BIG),
            });
            lines.push(Line {
                key: "big_get",
                what: format!("tf get ÷ sftp get, {m}, sftp -c {GCM}"),
                outcome: down,
                tf: "tf get",
                other: "sftp get",
                goal: Some(GOAL_BIG),
            });
            lines.push(Line {
                key: "big_put_scp",
                what: format!("tf put ÷ scp, {m}, scp -c {GCM}"),
                outcome: up,
                tf: "tf put",
                other: "scp put",
                goal: None,
            });
            lines.push(Line {
                key: "big_get_scp",
                what: format!("tf get ÷ scp, {m}, scp -c {GCM}"),
                outcome: down,
                tf: "tf get",
                other: "scp get",
                goal: None,
            });
            lines.push(Line {
                key: "big_put_nosync",
                what: format!("tf put ÷ sftp put, {m}, sync_uploads no"),
                outcome: up,
                tf: "tf put, sync no",
                other: "sftp put",
                goal: None,
            });
        }
        if let Some(m) = &mirror {
            lines.push(Line {
                key: "mirror_up",
                what: format!("tf mirror -R ÷ rsync -a up, {MIRROR_FILES} files unchanged"),
                outcome: &m.up,
                tf: "tf mirror -R",
                other: "rsync -a up",
                goal: Some(GOAL_MIRROR),
            });
            lines.push(Line {
                key: "mirror_down",
                what: format!("tf mirror ÷ rsync -a down, {MIRROR_FILES} files unchanged"),
                outcome: &m.down,
                tf: "tf mirror",
                other: "rsync -a down",
                goal: Some(GOAL_MIRROR),
            });
        }
        let cases = [
            (
                &changed,
                ["changed_up", "changed_down"],
                "all changed",
                Some(GOAL_CHANGED),
            ),
            (&edited, ["edited_up", "edited_down"], "with 1 MiB rewritten", None),
        ];
        for (outcomes, [key_up, key_down], what, goal) in cases {
            let Some((up, down)) = outcomes else { continue };
            for (key, dir, outcome, tf, other) in [
                (key_up, "mirror -R", up, "tf mirror -R, delta", "tf mirror -R, whole"),
                (key_down, "mirror", down, "tf mirror, delta", "tf mirror, whole"),
            ] {
                lines.push(Line {
                    key,
                    what: format!("tf {dir} --no-whole-file ÷ --whole-file, {CHANGED_MIB} MiB {what}"),
                    outcome,
                    tf,
                    other,
                    goal,
                });
            }
        }
        if let Some(l) = &lp {
            lines.push(Line {
                key: "loop_put",
                what: format!("shell loop of tf sndfile --parents ÷ sftp put -r, {TREE_FILES} files"),
                outcome: l,
                tf: "tf sndfile loop",
                other: "sftp put -r",
                goal: None,
            });
        }
        println!();
        report(&lines, &mut kv);
        if let Some(m) = mirror.as_ref().filter(|m| !m.replaced.is_empty()) {
            let r: Vec<String> = m.replaced.iter().map(|(n, c)| format!("{n} {c}")).collect();
            println!(
                "destination files a timed mirror run replaced (most in one run; 0 when nothing changed is seen): {}",
                r.join(", ")
            );
            for (n, c) in &m.replaced {
                kv.push_str(&format!(
                    " {}_replaced={c}",
                    n.replace([' ', '-'], "_").replace("__", "_")
                ));
            }
        }
        println!(
            "each ratio: the median over the rounds of (the other's time ÷ tf's time) in the same round; times are \
             medians of whole commands (start, handshake, authentication, transfer); > 1 means tf was faster"
        );
        Ok(())
    })();

    for (name, s) in [("sync_uploads yes", &bed.sync), ("sync_uploads no", &bed.nosync)] {
        let problems = log_problems(&s.log_text());
        if !problems.is_empty() {
            println!("tfd ({name}): {} warning/error line(s) in its log", problems.len());
            for l in problems.iter().take(5) {
                println!("  {l}");
            }
        }
    }
    drop(bed);
    result?;
    let secs = started.elapsed().as_secs_f64();
    println!("total time {secs:.1} s");
    println!();
    kv.push_str(&format!(
        " rounds={} big_rounds={} big_mib={} cpus={cpus} quick={} secs={secs:.1}",
        o.rounds, o.big_rounds, o.big_mib, o.quick
    ));
    println!("{kv}");
    Ok(())
}

fn main() -> ExitCode {
    cli::main("tools", USAGE, Options::parse, run)
}
