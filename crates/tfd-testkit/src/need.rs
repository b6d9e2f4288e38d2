//! Tests that cannot run never pass unseen. A test that needs something the
//! machine may lack (root, a tool, a kernel facility, the GlusterFS bed) asks
//! [`require`] first, and nothing else decides:
//!
//! - in CI (`TFD_REQUIRE_ALL=1`, which `.ci/run` sets, or `CI=true`, which CI
//!   runners set) the test fails, naming what is missing;
//! - in a local run it says so on stderr, appends one line to the file named by
//!   `TFD_NOT_RUN` (`scripts/test` sets it, and ends with one summary line of
//!   what did not run), and the caller returns.
//!
//! Never the word "skipped" and a pass: a green CI run is every test run.
#![allow(dead_code)]

use std::io::Write;

/// The environment switch `.ci/run` turns on.
pub const STRICT_VAR: &str = "TFD_REQUIRE_ALL";
/// The file a local run records tests that did not run in (one line each).
pub const NOT_RUN_VAR: &str = "TFD_NOT_RUN";

/// True when every test must run: `TFD_REQUIRE_ALL` set to anything but `0`
/// or empty, or `CI=true` (GitHub, GitLab and most runners set it).
pub fn strict() -> bool {
    let on = |v: &str| std::env::var(v).is_ok_and(|s| !s.is_empty() && s != "0" && s != "false");
    on(STRICT_VAR) || std::env::var("CI").is_ok_and(|s| s == "true" || s == "1")
}

/// This test's name as `binary::module::test` (libtest names each test's
/// thread after it; the caller's location where it does not).
#[track_caller]
fn test_name() -> String {
    let bin = std::env::current_exe()
        .ok()
        .and_then(|p| p.file_stem().map(|s| s.to_string_lossy().into_owned()))
        .map(|s| match s.rsplit_once('-') {
            // cargo names test binaries `<target>-<16 hex digits>`
            Some((name, hash)) if hash.len() == 16 && hash.bytes().all(|b| b.is_ascii_hexdigit()) => name.to_string(),
            _ => s,
        })
        .unwrap_or_else(|| "?".into());
    match std::thread::current().name() {
        Some(t) if t != "main" => format!("{bin}::{t}"),
        _ => {
            let at = std::panic::Location::caller();
            format!("{bin} ({}:{})", at.file(), at.line())
        }
    }
}

/// Ok (true) when `have`; otherwise this test cannot run because of `missing`
/// (a phrase naming it: "needs root (LOGIN switches users)", "no haproxy"):
/// in CI that fails the test; locally it is recorded and false is returned,
/// and the caller returns at once (`if !require(..) { return; }`). A check
/// that is only part of a test runs under `if require(..) { .. }`.
#[track_caller]
pub fn require(have: bool, missing: &str) -> bool {
    if have {
        return true;
    }
    let file = std::env::var_os(NOT_RUN_VAR).filter(|p| !p.is_empty());
    cannot_run(
        strict(),
        file.as_deref().map(std::path::Path::new),
        &test_name(),
        missing,
    )
}

/// What [`require`] does with a test `name` that cannot run, apart from the
/// environment (so its own tests need not change it): records it in `file`,
/// then panics when `strict`, else says so and answers false.
pub fn cannot_run(strict: bool, file: Option<&std::path::Path>, name: &str, missing: &str) -> bool {
    if let Some(f) = file {
        record(f, name, missing);
    }
    if strict {
        panic!(
            "{name} cannot run: {missing} \
             ({STRICT_VAR} or CI is set: a test that cannot run fails; scripts/deps installs the tools)"
        );
    }
    eprintln!("NOT RUN (local run; fails in CI): {name}: {missing}");
    false
}

/// [`require`] of root, saying what needs it.
#[track_caller]
pub fn require_root(why: &str) -> bool {
    require(crate::is_root(), &format!("needs root ({why})"))
}

/// [`require`] of a program, run with `args` (e.g. `-V`) to see that it is there.
#[track_caller]
pub fn require_tool(prog: &str, args: &[&str], installed_by: &str) -> bool {
    let there = std::process::Command::new(prog)
        .args(args)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok();
    require(there, &format!("no {prog} ({installed_by})"))
}

/// One line, `name<TAB>missing`, appended in one write (several test
/// binaries and threads append at once).
fn record(path: &std::path::Path, name: &str, missing: &str) {
    let line = format!(
        "{}\t{}\n",
        name.replace(['\t', '\n'], " "),
        missing.replace(['\t', '\n'], " ")
    );
    let written = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .and_then(|mut f| f.write_all(line.as_bytes()));
    if let Err(e) = written {
        eprintln!("cannot record a test that did not run in {}: {e}", path.display());
    }
}
