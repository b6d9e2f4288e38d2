//! The benchmark's command line, sizes, caps and targets.

use crate::support::cli;

/// The small file size of phase 2 and of the mixed load.
pub(crate) const SMALL: usize = 16 * 1024;
/// Targets (issue 17).
pub(crate) const TARGET_SMALL_VS_ECHO: f64 = 0.2;
pub(crate) const TARGET_MIXED_P99_MS: f64 = 20.0;
pub(crate) const TARGET_MIXED_VS_ECHO: f64 = 0.25;
pub(crate) const TARGET_HANDSHAKES_VS_RSA1: f64 = 0.6;
pub(crate) const TARGET_SECURE_HANDSHAKE_COST: f64 = 1.3;
/// Target of phase 5 (issue 13): FAI entrances ÷ RSA handshakes.
pub(crate) const TARGET_FAI_VS_RSA: f64 = 3.0;
/// Phase 5 alternates its three measurements this many times.
pub(crate) const FAI_SLICES: usize = 4;
/// Hard cap on operations per phase, whatever the options say.
pub(crate) const CAP: u64 = 2_000_000;
/// Cap on handshakes (each uses a port).
pub(crate) const CAP_HANDSHAKES: u64 = 30_000;

pub(crate) struct Options {
    pub(crate) secs: f64,
    /// `--only OP`: the ECHO baseline and that one small transfer, for profiling.
    pub(crate) only: Option<String>,
}

pub(crate) const USAGE: &str = "usage: ops [--quick] [--secs S] [--only OP]";

impl Options {
    pub(crate) fn parse(args: &mut cli::Args) -> Result<Options, String> {
        let mut o = Options { secs: 4.0, only: None };
        while let Some(a) = args.next() {
            match a.as_str() {
                "--quick" => o.secs = 1.5,
                "--secs" => o.secs = args.number("--secs", |v: &f64| *v > 0.0 && *v <= 60.0, "seconds, 0 < S <= 60")?,
                "--only" => o.only = Some(args.value("--only")?.to_uppercase()),
                other => return Err(format!("unknown option {other:?}")),
            }
        }
        Ok(o)
    }
}
