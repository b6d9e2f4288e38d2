//! The command line and exit codes every bench shares, so each bench only says
//! which options it takes and what it runs.

use std::process::ExitCode;
use std::str::FromStr;

/// The bench's arguments, without the `--bench` that `cargo bench` passes to
/// `harness = false` targets.
pub struct Args {
    it: std::vec::IntoIter<String>,
}

impl Args {
    fn from_env() -> Args {
        let v: Vec<String> = std::env::args().skip(1).filter(|a| a != "--bench").collect();
        Args { it: v.into_iter() }
    }

    /// The value following the option `flag`.
    pub fn value(&mut self, flag: &str) -> Result<String, String> {
        self.it.next().ok_or_else(|| format!("{flag} needs a value"))
    }

    /// The value following `flag`, parsed and accepted by `ok`; `want` says
    /// what is accepted, for the error.
    pub fn number<T: FromStr>(&mut self, flag: &str, ok: impl Fn(&T) -> bool, want: &str) -> Result<T, String> {
        self.it
            .next()
            .and_then(|v| v.parse::<T>().ok())
            .filter(ok)
            .ok_or_else(|| format!("{flag} needs {want}"))
    }
}

impl Iterator for Args {
    type Item = String;

    fn next(&mut self) -> Option<String> {
        self.it.next()
    }
}

/// A bench's `main`: `-h`/`--help` prints `usage`; options `parse` refuses end it
/// with status 2 (and the usage); a failed `run` with status 1. Missing a target
/// is the bench's report, never a failure.
pub fn main<O>(
    name: &str,
    usage: &str,
    parse: impl FnOnce(&mut Args) -> Result<O, String>,
    run: impl FnOnce(&O) -> Result<(), String>,
) -> ExitCode {
    let mut args = Args::from_env();
    if args.it.as_slice().iter().any(|a| a == "-h" || a == "--help") {
        println!("{usage}");
        return ExitCode::SUCCESS;
    }
    let o = match parse(&mut args) {
        Ok(o) => o,
        Err(e) => {
            eprintln!("{name} bench: {e}\n{usage}");
            return ExitCode::from(2);
        }
    };
    match run(&o) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("{name} bench failed: {e}");
            ExitCode::FAILURE
        }
    }
}
