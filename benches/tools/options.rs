//! The benchmark's command line, its sizes and goals.

use crate::support::cli;
use std::time::Duration;

pub(crate) const TREE_FILES: usize = 300;
pub(crate) const TREE_DIRS: usize = 10;
pub(crate) const TREE_FILE_BYTES: u64 = 16 << 10;
pub(crate) const MIRROR_FILES: usize = 1000;
pub(crate) const MIRROR_DIRS: usize = 20;
/// The cipher issue 26 names for the big transfers.
pub(crate) const GCM: &str = "aes128-gcm@openssh.com";
/// Issue 26's targets, tf's speed ÷ the other tool's.
pub(crate) const GOAL_PUT_SYNC: f64 = 1.0;
pub(crate) const GOAL_PUT_NOSYNC: f64 = 1.5;
pub(crate) const GOAL_GET: f64 = 1.5;
pub(crate) const GOAL_BIG: f64 = 2.0;
pub(crate) const GOAL_MIRROR: f64 = 1.0;
/// One command that runs longer than this is killed and fails its phase.
pub(crate) const COMMAND_LIMIT: Duration = Duration::from_secs(120);
pub(crate) const PHASES: &[&str] = &["tree", "big", "mirror", "changed", "edited", "loop"];
pub(crate) const USAGE: &str = "usage: tools [--quick] [--rounds N] [--big-rounds N] [--big-mib M] [--jobs N] \
                     [--only tree,big,mirror,changed,edited,loop]";
/// The file of the `changed` and `edited` phases.
pub(crate) const CHANGED_MIB: usize = 64;
/// What the `edited` phase rewrites in the middle of that file.
pub(crate) const EDITED_MIB: usize = 1;
/// Issue 43: a file that changed entirely, forced through the delta path,
/// at most 10% slower than sent whole (whole's time ÷ the delta's).
pub(crate) const GOAL_CHANGED: f64 = 1.0 / 1.1;

pub(crate) struct Options {
    pub(crate) quick: bool,
    /// Rounds of the tree, mirror and loop phases.
    pub(crate) rounds: usize,
    pub(crate) big_rounds: usize,
    pub(crate) big_mib: u64,
    pub(crate) jobs: Option<u32>,
    pub(crate) only: Vec<String>,
    /// No phase starts, and no further round, past this.
    pub(crate) budget: Duration,
}

impl Options {
    pub(crate) fn parse(args: &mut cli::Args) -> Result<Options, String> {
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

    pub(crate) fn wants(&self, phase: &str) -> bool {
        self.only.iter().any(|p| p == phase)
    }

    /// `--jobs N` for the tf tree commands, when given.
    pub(crate) fn jobs_args(&self) -> Vec<String> {
        self.jobs
            .map(|n| vec!["--jobs".into(), n.to_string()])
            .unwrap_or_default()
    }
}
