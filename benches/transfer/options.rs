//! The benchmark's command line, its phases, sizes and targets.

use crate::support::cli;
use std::time::Duration;

pub(crate) const MIB: u64 = 1 << 20;
/// Target: each single-stream transfer at least this fraction of the cipher rate.
pub(crate) const TARGET_RATIO: f64 = 0.85;
/// The cipher unit, the client's source buffer and the HPF buffer asked for.
pub(crate) const UNIT: usize = 4 << 20;
/// Phases that would start after this much time are skipped (and reported so).
pub(crate) const BUDGET: Duration = Duration::from_secs(170);
pub(crate) const PHASES: &[&str] = &[
    "cipher", "put", "putwhole", "get", "sndfile", "rcvfile", "parallel", "aes", "secure", "sync", "sigmem",
];
/// Targets for the secure transport: ÷ the legacy cipher, ÷ the AEAD alone.
pub(crate) const SECURE_VS_LEGACY: f64 = 2.5;
pub(crate) const SECURE_VS_AEAD: f64 = 0.5;
/// The sync phase's small uploads: how many per run, and their size.
pub(crate) const SMALL_FILES: usize = 100;
pub(crate) const SMALL_BYTES: usize = 4096;
/// The cipher alone right before each transfer run, to compare it with: MiB per
/// thread, on two threads.
pub(crate) const ADJACENT_MIB: u64 = 64;

pub(crate) struct Options {
    pub(crate) cipher_mib: u64,
    pub(crate) mib: u64,
    pub(crate) par_mib: u64,
    pub(crate) streams: Vec<usize>,
    pub(crate) only: Vec<String>,
    pub(crate) quick: bool,
    pub(crate) reps: usize,
}

pub(crate) const USAGE: &str =
    "usage: transfer [--quick] [--mib N] [--par-mib N] [--cipher-mib N] [--reps N] [--streams 1,2,4] \
                     [--only cipher,put,putwhole,get,sndfile,rcvfile,parallel,aes,secure,sync,sigmem]";

impl Options {
    pub(crate) fn parse(args: &mut cli::Args) -> Result<Options, String> {
        let mut o = Options {
            cipher_mib: 512,
            mib: 1024,
            par_mib: 512,
            streams: vec![1, 2, 4],
            only: PHASES.iter().map(|s| s.to_string()).collect(),
            quick: false,
            reps: 5,
        };
        while let Some(a) = args.next() {
            let mut value = |what: &str| args.value(what);
            let mib = |v: String, what: &str| -> Result<u64, String> {
                v.parse::<u64>()
                    .ok()
                    .filter(|n| (1..=8192).contains(n))
                    .ok_or_else(|| format!("{what} needs a size in MiB, 1..=8192"))
            };
            match a.as_str() {
                "--quick" => {
                    o.quick = true;
                    o.cipher_mib = 128;
                    o.mib = 128;
                    o.par_mib = 128;
                    o.reps = 1;
                }
                "--reps" => {
                    o.reps = value("--reps")?
                        .parse::<usize>()
                        .ok()
                        .filter(|n| (1..=9).contains(n))
                        .ok_or("--reps needs a number 1..=9")?;
                }
                "--mib" => o.mib = mib(value("--mib")?, "--mib")?,
                "--par-mib" => o.par_mib = mib(value("--par-mib")?, "--par-mib")?,
                "--cipher-mib" => o.cipher_mib = mib(value("--cipher-mib")?, "--cipher-mib")?,
                "--streams" => {
                    o.streams = value("--streams")?
                        .split(',')
                        .map(|s| s.trim().parse::<usize>().ok().filter(|n| (1..=32).contains(n)))
                        .collect::<Option<Vec<_>>>()
                        .filter(|v| !v.is_empty())
                        .ok_or("--streams needs a list like 1,2,4 (each 1..=32)")?;
                }
                "--only" => {
                    o.only = value("--only")?.split(',').map(|s| s.trim().to_string()).collect();
                    if let Some(bad) = o.only.iter().find(|p| !PHASES.contains(&p.as_str())) {
                        return Err(format!("unknown phase {bad:?}; phases: {}", PHASES.join(",")));
                    }
                }
                other => return Err(format!("unknown argument {other:?}")),
            }
        }
        Ok(o)
    }

    pub(crate) fn wants(&self, phase: &str) -> bool {
        self.only.iter().any(|p| p == phase)
    }
}
