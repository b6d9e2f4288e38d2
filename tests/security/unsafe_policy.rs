//! The `unsafe` policy (issue 7, item 6; issue 33): `tfd-sys` is the only crate of
//! the workspace allowed `unsafe`, and every `unsafe` in it says why it is sound.
//!
//! The compiler keeps most of it, given two things checked here:
//!
//! 1. The root Cargo.toml forbids `unsafe_code` in `[workspace.lints]`, and every
//!    workspace member but `tfd-sys` takes those lints (`[lints] workspace =
//!    true`), so each of its library, binary, test and bench crates is built with
//!    `-F unsafe_code` (the fuzz targets' bodies included: they are members).
//!    The crate outside the workspace (the Python binding: a workspace of its
//!    own) says `#![forbid(unsafe_code)]` at its crate roots; the cargo-fuzz
//!    crates outside it hold only libFuzzer's entry points, one line each. `forbid`, unlike `deny`,
//!    cannot be lifted by an `allow` inside the crate, so no scanner of `unsafe`
//!    keywords is needed: the compiler refuses them in every module of those
//!    crates.
//!    What once needed `unsafe` elsewhere (a test's counting allocator, a bench's
//!    `sysconf`) lives in `tfd-sys`.
//! 2. `tfd-sys`'s own `[lints.clippy]` deny `undocumented_unsafe_blocks` (every
//!    `unsafe` block and `unsafe impl` needs a `// SAFETY:` comment) and
//!    `missing_safety_doc` (every `unsafe fn` needs a `# Safety` section; its
//!    `clippy.toml` sets `check-private-items`, so private ones too), and nothing
//!    in it lifts them. CI runs clippy with `-D warnings` on the whole workspace
//!    (.ci/run), so this replaces the old `// SAFETY:` text scanner.
//!
//! (Gone with the split: "`unsafe` only in src/sys/" and "every top-level module
//! forbids unsafe" — with `forbid` for every crate the compiler checks both.)

use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).to_path_buf()
}

/// The manifest directories of the workspace members (root Cargo.toml).
fn member_dirs() -> Vec<PathBuf> {
    let manifest = std::fs::read_to_string(root().join("Cargo.toml")).unwrap();
    let members = manifest
        .lines()
        .find_map(|l| l.trim().strip_prefix("members"))
        .expect("[workspace] members");
    let dirs: Vec<PathBuf> = members.split('"').skip(1).step_by(2).map(|d| root().join(d)).collect();
    assert!(dirs.len() >= 6, "{dirs:?}");
    dirs
}

/// The crates of ours that are workspaces of their own, so cannot take the
/// root's lints, beside the cargo-fuzz crates (whose targets' bodies are
/// workspace members): the Python binding (pyo3's macros expand within
/// forbid(unsafe_code)).
fn outside_dirs() -> Vec<PathBuf> {
    ["python"].iter().map(|d| root().join(d)).collect()
}

/// The `key = value` lines of a TOML table (`[lints]`, `[workspace.lints.rust]`),
/// blanks removed; empty if the table is missing.
fn toml_table(text: &str, table: &str) -> Vec<String> {
    text.lines()
        .map(|l| l.split('#').next().unwrap_or("").replace(' ', ""))
        .skip_while(|l| *l != table)
        .skip(1)
        .take_while(|l| !l.starts_with('['))
        .filter(|l| !l.is_empty())
        .collect()
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
fn every_crate_forbids_unsafe_code_but_sys() {
    let root_manifest = std::fs::read_to_string(root().join("Cargo.toml")).unwrap();
    assert!(
        toml_table(&root_manifest, "[workspace.lints.rust]").contains(&"unsafe_code=\"forbid\"".to_string()),
        "the root Cargo.toml must say unsafe_code = \"forbid\" in [workspace.lints.rust]"
    );
    let mut missing = Vec::new();
    for dir in member_dirs() {
        let manifest = std::fs::read_to_string(dir.join("Cargo.toml")).unwrap();
        let inherits = toml_table(&manifest, "[lints]").contains(&"workspace=true".to_string());
        let sys = dir.ends_with("crates/tfd-sys");
        assert!(!(sys && inherits), "tfd-sys must keep its own lints, not forbid unsafe");
        if !sys && !inherits {
            missing.push(format!("{}/Cargo.toml", rel(&dir)));
        }
    }
    let mut roots = Vec::new();
    for dir in outside_dirs() {
        roots.extend(crate_roots(&dir));
    }
    assert!(
        !roots.is_empty(),
        "found only {} crate roots outside the workspace",
        roots.len()
    );
    for p in &roots {
        let text = std::fs::read_to_string(p).unwrap();
        if !has_inner_attr(&text, "#![forbid(unsafe_code)]") {
            missing.push(rel(p));
        }
    }
    assert!(
        missing.is_empty(),
        "crates that do not forbid unsafe code (only tfd-sys may use unsafe; members say \
         `[lints] workspace = true`, crates outside the workspace #![forbid(unsafe_code)]):\n{}",
        missing.join("\n")
    );
}

#[test]
fn sys_documents_every_unsafe() {
    let sys = root().join("crates/tfd-sys");
    let manifest = std::fs::read_to_string(sys.join("Cargo.toml")).unwrap();
    let clippy = toml_table(&manifest, "[lints.clippy]");
    for lint in ["undocumented_unsafe_blocks", "missing_safety_doc"] {
        assert!(
            clippy.contains(&format!("{lint}=\"deny\"")),
            "crates/tfd-sys/Cargo.toml must say {lint} = \"deny\" in [lints.clippy]"
        );
    }
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
