//! The `unsafe` policy (issue 7, item 6; issue 33): `tfd-sys` is the only crate of
//! the workspace allowed `unsafe`, and every `unsafe` in it says why it is sound.
//!
//! The compiler keeps most of it, given two things checked here:
//!
//! 1. Every crate root of ours — each library, binary, test and bench crate of
//!    every workspace member, the fuzz crates' libraries and the Python
//!    binding — carries
//!    `#![forbid(unsafe_code)]`, but for `tfd-sys` and the named
//!    [`NEED_UNSAFE`] exceptions. `forbid`, unlike `deny`, cannot be lifted by an
//!    `allow` inside the crate, so no scanner of `unsafe` keywords is needed: the
//!    compiler refuses them in every module of those crates (and `#[path]`
//!    modules are modules of the crate that includes them).
//! 2. `tfd-sys`'s root denies `clippy::undocumented_unsafe_blocks` (every
//!    `unsafe` block and `unsafe impl` needs a `// SAFETY:` comment) and
//!    `clippy::missing_safety_doc` (every `unsafe fn` needs a `# Safety` section;
//!    its `clippy.toml` sets `check-private-items`, so private ones too), and
//!    nothing in it lifts them. CI runs clippy with `-D warnings` on the whole
//!    workspace (.ci/run), so this replaces the old `// SAFETY:` text scanner.
//!
//! (Gone with the split: "`unsafe` only in src/sys/" and "every top-level module
//! forbids unsafe" — with `forbid` at every crate root the compiler checks both.)

use std::path::{Path, PathBuf};

/// Crate roots that may use `unsafe`, each with the reason. The test fails on a
/// stale entry, so the list only shrinks.
const NEED_UNSAFE: &[(&str, &str)] = &[
    (
        "crates/tfd-sys/src/lib.rs",
        "the system layer: the one crate allowed unsafe",
    ),
    (
        "tests/client_buffers.rs",
        "counts allocations with a global allocator (unsafe impl GlobalAlloc)",
    ),
    (
        "benches/ops.rs",
        "sysconf(_SC_CLK_TCK) to turn /proc ticks into seconds",
    ),
];

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).to_path_buf()
}

/// The manifest directories of the workspace members (root Cargo.toml), of the
/// fuzz crates and of the Python binding.
fn crate_dirs() -> Vec<PathBuf> {
    let manifest = std::fs::read_to_string(root().join("Cargo.toml")).unwrap();
    let members = manifest
        .lines()
        .find_map(|l| l.trim().strip_prefix("members"))
        .expect("[workspace] members");
    let mut dirs: Vec<PathBuf> = members.split('"').skip(1).step_by(2).map(|d| root().join(d)).collect();
    assert!(dirs.len() >= 6, "{dirs:?}");
    dirs.push(root().join("fuzz"));
    dirs.push(root().join("fuzz/daemon"));
    // the Python binding: pyo3's macros expand within forbid(unsafe_code)
    dirs.push(root().join("python"));
    dirs
}

fn rust_files_in(dir: &Path) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .collect();
    out.sort();
    out
}

/// Every crate root of a package: `src/lib.rs`, `src/main.rs`, `src/bin/*.rs`,
/// `src/bin/*/main.rs`, and the same forms under `tests/` and `benches/`. (The
/// fuzz crates' `fuzz_targets/` are libFuzzer entry points of one line each.)
fn crate_roots(dir: &Path) -> Vec<PathBuf> {
    let mut roots = Vec::new();
    for f in ["src/lib.rs", "src/main.rs"] {
        if dir.join(f).is_file() {
            roots.push(dir.join(f));
        }
    }
    for sub in ["src/bin", "tests", "benches"] {
        for p in rust_files_in(&dir.join(sub)) {
            if p.is_file() && p.extension().is_some_and(|e| e == "rs") {
                roots.push(p);
            } else if p.join("main.rs").is_file() {
                roots.push(p.join("main.rs"));
            }
        }
    }
    roots
}

/// Whether the file's leading inner attributes (before its first item; doc and
/// plain comment lines skipped) include `attr`.
fn has_inner_attr(text: &str, attr: &str) -> bool {
    for line in text.lines() {
        let t = line.trim();
        if t.is_empty() || t.starts_with("//") {
            continue;
        }
        if !t.starts_with("#!") {
            return false;
        }
        if t.replace(' ', "") == attr {
            return true;
        }
    }
    false
}

fn rel(p: &Path) -> String {
    p.strip_prefix(root()).unwrap_or(p).display().to_string()
}

#[test]
fn every_crate_root_forbids_unsafe_code() {
    let mut missing = Vec::new();
    let mut stale = Vec::new();
    let mut roots = Vec::new();
    for dir in crate_dirs() {
        roots.extend(crate_roots(&dir));
    }
    assert!(roots.len() > 25, "found only {} crate roots", roots.len());
    for p in &roots {
        let text = std::fs::read_to_string(p).unwrap();
        let has = has_inner_attr(&text, "#![forbid(unsafe_code)]");
        let excepted = NEED_UNSAFE.iter().any(|(f, _)| *f == rel(p));
        if !has && !excepted {
            missing.push(rel(p));
        }
        if has && excepted {
            stale.push(rel(p));
        }
    }
    for (f, _) in NEED_UNSAFE {
        if !roots.iter().any(|p| rel(p) == *f) {
            stale.push(f.to_string());
        }
    }
    assert!(
        missing.is_empty(),
        "crate roots without #![forbid(unsafe_code)] (only tfd-sys may use unsafe):\n{}",
        missing.join("\n")
    );
    assert!(
        stale.is_empty(),
        "stale entries of NEED_UNSAFE in tests/security/unsafe_policy.rs (they forbid unsafe, or are gone): {stale:?}"
    );
}

#[test]
fn sys_documents_every_unsafe() {
    let sys = root().join("crates/tfd-sys");
    let lib = std::fs::read_to_string(sys.join("src/lib.rs")).unwrap();
    assert!(
        has_inner_attr(
            &lib,
            "#![deny(clippy::undocumented_unsafe_blocks,clippy::missing_safety_doc)]"
        ),
        "crates/tfd-sys/src/lib.rs must deny clippy::undocumented_unsafe_blocks and clippy::missing_safety_doc"
    );
    let conf = std::fs::read_to_string(sys.join("clippy.toml")).unwrap_or_default();
    assert!(
        conf.lines().any(|l| l.replace(' ', "") == "check-private-items=true"),
        "crates/tfd-sys/clippy.toml must set check-private-items = true (# Safety on private unsafe fns)"
    );
    let mut lifted = Vec::new();
    let mut files = Vec::new();
    let mut todo = vec![sys.join("src")];
    while let Some(d) = todo.pop() {
        for p in rust_files_in(&d) {
            if p.is_dir() {
                todo.push(p);
            } else {
                files.push(p);
            }
        }
    }
    for p in &files {
        let text = std::fs::read_to_string(p).unwrap();
        for (n, line) in text.lines().enumerate() {
            let t = line.replace(' ', "");
            let names_lint = t.contains("undocumented_unsafe_blocks") || t.contains("missing_safety_doc");
            if names_lint && (t.contains("allow(") || t.contains("expect(") || t.contains("warn(")) {
                lifted.push(format!("{}:{}: {}", rel(p), n + 1, line.trim()));
            }
        }
    }
    assert!(files.len() >= 10, "crates/tfd-sys/src has only {} files", files.len());
    assert!(
        lifted.is_empty(),
        "tfd-sys lifts its unsafe lints:\n{}",
        lifted.join("\n")
    );
}
