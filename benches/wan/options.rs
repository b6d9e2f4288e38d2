//! The benchmark's command line: the link profiles, the cases, their sizes.

use crate::support::cli;
use crate::support::race::MIB;
use std::path::PathBuf;
use std::time::Duration;

pub(crate) const CASES: &[&str] = &[
    "big", "tree", "tree10k", "archive", "mirror", "delta", "edits", "log", "pytree", "backup", "ops",
];
pub(crate) const GCM: &str = "aes128-gcm@openssh.com";
pub(crate) const USAGE: &str =
    "usage: wan [--profiles RATE/RTT[/LOSS],...] [--only big,tree,tree10k,archive,mirror,delta,edits,log,pytree,backup,ops] \
                     [--rounds N] [--big-mib M] [--edits-mib M] [--sftp-trees] [--baseline-tf PATH] [--limit SECS] \
                     [--budget SECS] \
                     [--quick] [--smoke] [--same-fs]";

#[derive(Clone)]
pub(crate) struct Profile {
    pub(crate) rate: f64,
    pub(crate) rtt: f64,
    pub(crate) loss: f64,
}

impl Profile {
    pub(crate) fn parse(s: &str) -> Result<Profile, String> {
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

    pub(crate) fn label(&self) -> String {
        if self.loss > 0.0 {
            format!("{}/{}/{}", self.rate, self.rtt, self.loss)
        } else {
            format!("{}/{}", self.rate, self.rtt)
        }
    }

    /// For the BENCH_WAN keys: `100_50`, `200_20_0p5`.
    pub(crate) fn key(&self) -> String {
        self.label().replace('/', "_").replace('.', "p")
    }
}

/// How big each case's files are.
#[derive(Clone)]
pub(crate) struct Sizes {
    pub(crate) big_mib: u64,
    pub(crate) tree: (usize, usize, u64),
    pub(crate) tree10k: (usize, usize, u64),
    pub(crate) mirror: (usize, usize),
    pub(crate) delta_mib: u64,
    pub(crate) rewrite: u64,
    pub(crate) insert: u64,
    pub(crate) edits_mib: u64,
    /// The archive case's biggest file (`--big-mib` too; 300 MiB where the
    /// link and the budget allow, else `big_mib`).
    pub(crate) archive_mib: u64,
    /// The most files of the Python tree copied (0: all of them).
    pub(crate) pytree_most: usize,
}

pub(crate) struct Options {
    pub(crate) profiles: Vec<Profile>,
    /// `None`: the default set (edits only on fast profiles).
    pub(crate) only: Option<Vec<String>>,
    pub(crate) rounds: usize,
    pub(crate) sizes: Sizes,
    pub(crate) sftp_trees: bool,
    /// Another tf (e.g. main's) timed beside this one in the big case.
    pub(crate) baseline_tf: Option<PathBuf>,
    pub(crate) limit: Duration,
    pub(crate) budget: Duration,
    pub(crate) quick: bool,
    pub(crate) smoke: bool,
    /// The files on the system's temporary directory's own file system,
    /// not a fresh one ([`crate::support::fresh_fs`]).
    pub(crate) same_fs: bool,
}

impl Options {
    pub(crate) fn parse(args: &mut cli::Args) -> Result<Options, String> {
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
                archive_mib: 300,
                pytree_most: 0,
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
            o.sizes.archive_mib = 16;
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
                archive_mib: 1,
                pytree_most: 40,
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
            o.sizes.archive_mib = b;
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
    pub(crate) fn wants(&self, case: &str, profile: &Profile) -> bool {
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
