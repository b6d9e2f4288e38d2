//! The house's size rules everywhere, not only in the crates' sources
//! (tests/security/house.rs, rule 4): the tests and the benches are held to
//! the same [`MAX_LINES`] a file, Rust and Python alike; no function of ours
//! (the crates, the daemon, the tests, the benches, the Python binding's
//! Rust) grows past [`MAX_FN_LINES`]; and no Rust source includes a file by
//! `#[path]`, so a module is the file its name says. Big files and long
//! functions are where jobs blur; a `#[path]` hides where code lives.

use super::house::{python_files, root, rust_files};
use std::fs;
use std::path::PathBuf;

/// The longest a test or bench file may be, as a crate's source file.
const MAX_LINES: usize = 800;

/// The longest a function may be, from its `fn` line to its closing brace.
const MAX_FN_LINES: usize = 150;

/// Test and bench files over [`MAX_LINES`] for now, each waiting for its
/// split by subject. None may join; the list only shrinks.
const TEST_FILES_TOO_LONG: &[&str] = &[];

/// Functions over [`MAX_FN_LINES`] for now (file, function), each being
/// shortened. None may join; the list only shrinks.
const LONG_FUNCTIONS_ALLOWED: &[(&str, &str)] = &[];

/// Rust files that still include another by `#[path]`, each waiting for its
/// module to become a module (or a crate). None may join.
const PATH_ALLOWED: &[&str] = &[];

/// The directories whose Rust is ours: the daemon, every crate (their tests
/// included), the tests, the benches, the Python binding.
const RUST_DIRS: &[&str] = &["src", "crates", "tests", "benches", "python/src"];

fn rel(path: &std::path::Path) -> String {
    path.strip_prefix(root()).expect("in the tree").display().to_string()
}

fn files_under(dirs: &[&str], python: bool) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for dir in dirs {
        rust_files(&root().join(dir), &mut files);
        if python {
            python_files(&root().join(dir), &mut files);
        }
    }
    files.sort();
    files
}

/// The name of the function a line declares (`fn name`, after `pub`,
/// `pub(crate)`, `const`, `async`, `unsafe`, `extern "C"`), if it does.
fn declared_fn(line: &str) -> Option<&str> {
    let mut rest = line.trim_start();
    if rest.starts_with("//") {
        return None;
    }
    loop {
        let before = rest;
        for word in ["pub ", "default ", "const ", "async ", "unsafe ", "extern \"C\" "] {
            rest = rest.strip_prefix(word).unwrap_or(rest);
        }
        if let Some(scoped) = rest.strip_prefix("pub(") {
            rest = scoped.split_once(") ").map_or(rest, |(_, r)| r);
        }
        if rest == before {
            break;
        }
    }
    let name = rest.strip_prefix("fn ")?;
    let end = name
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .unwrap_or(name.len());
    (end > 0).then(|| &name[..end])
}

/// The functions of a Rust text (formatted by rustfmt) longer than `max`
/// lines, as (name, lines): from the `fn` line to the closing brace at the
/// same indentation. Declarations without a body and one-line bodies are
/// short by nature.
pub(super) fn long_functions(text: &str, max: usize) -> Vec<(String, usize)> {
    let lines: Vec<&str> = text.lines().collect();
    let mut out = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        let Some(name) = declared_fn(line) else { continue };
        let indent = line.len() - line.trim_start().len();
        // the signature ends where its line ends with `{` (a body), `;` (none)
        // or `}` (a body of one line)
        let Some(open) = (i..lines.len()).find(|&j| lines[j].trim_end().ends_with(['{', ';', '}'])) else {
            continue;
        };
        if !lines[open].trim_end().ends_with('{') {
            continue;
        }
        let close = format!("{}}}", " ".repeat(indent));
        let end = (open + 1..lines.len())
            .find(|&k| lines[k].trim_end() == close)
            .unwrap_or(lines.len() - 1);
        if end - i + 1 > max {
            out.push((name.to_string(), end - i + 1));
        }
    }
    out
}

/// The lines of a Rust text that are a `#[path]` attribute (comments, doc
/// comments included, are not).
pub(super) fn path_attributes(text: &str) -> Vec<usize> {
    text.lines()
        .enumerate()
        .filter(|(_, l)| {
            let l = l.trim_start();
            l.starts_with("#[path") || l.starts_with("#![path")
        })
        .map(|(n, _)| n + 1)
        .collect()
}

#[test]
fn no_test_or_bench_file_is_too_long() {
    let files = files_under(&["tests", "benches"], true);
    assert!(
        files.iter().any(|f| f.ends_with("tests/interop/transfer_ops.py")),
        "the tests' Python files are not scanned"
    );
    assert!(files.len() > 150, "found only {} test and bench files", files.len());
    let mut long = Vec::new();
    for file in &files {
        let rel = rel(file);
        let lines = fs::read_to_string(file).expect("read source").lines().count();
        if lines > MAX_LINES && !TEST_FILES_TOO_LONG.contains(&rel.as_str()) {
            long.push(format!("{rel}: {lines} lines, at most {MAX_LINES}"));
        }
    }
    assert!(
        long.is_empty(),
        "test or bench files too long (split them by subject):\n{}",
        long.join("\n")
    );
}

#[test]
fn no_function_is_too_long() {
    let files = files_under(RUST_DIRS, false);
    assert!(files.len() > 400, "found only {} Rust files", files.len());
    let mut long = Vec::new();
    for file in &files {
        let rel = rel(file);
        let text = fs::read_to_string(file).expect("read source");
        for (name, lines) in long_functions(&text, MAX_FN_LINES) {
            if !LONG_FUNCTIONS_ALLOWED.contains(&(rel.as_str(), name.as_str())) {
                long.push(format!("{rel}: fn {name}: {lines} lines, at most {MAX_FN_LINES}"));
            }
        }
    }
    assert!(
        long.is_empty(),
        "functions too long (give their steps names of their own):\n{}",
        long.join("\n")
    );
}

#[test]
fn no_rust_source_includes_a_file_by_path() {
    let mut files = files_under(RUST_DIRS, false);
    rust_files(&root().join("fuzz"), &mut files);
    let mut found = Vec::new();
    for file in &files {
        let rel = rel(file);
        let text = fs::read_to_string(file).expect("read source");
        for line in path_attributes(&text) {
            if !PATH_ALLOWED.contains(&rel.as_str()) {
                found.push(format!("{rel}:{line}"));
            }
        }
    }
    assert!(
        found.is_empty(),
        "#[path] includes a file into another module (make it a module of its own, or a crate):\n{}",
        found.join("\n")
    );
}

/// Each rule can fail: planted cases are seen, their near misses are not.
#[test]
fn the_size_scanners_see_what_they_must() {
    let body = |n: usize| "    let x = 1;\n".repeat(n);
    let long = format!(
        "/// doc\npub(crate) fn planted(\n    a: u8,\n) -> u8 {{\n{}    a\n}}\n",
        body(150)
    );
    assert_eq!(long_functions(&long, MAX_FN_LINES), [("planted".to_string(), 155)]);
    let nested = format!("impl X {{\n    pub async fn m(&self) {{\n{}    }}\n}}\n", body(149));
    assert_eq!(long_functions(&nested, MAX_FN_LINES), [("m".to_string(), 151)]);
    let fits = format!("fn fits() {{\n{}}}\n", body(148));
    assert!(long_functions(&fits, MAX_FN_LINES).is_empty(), "150 lines fit");
    let declared = format!("trait T {{\n    fn a(&self);\n    fn b(&self) {{}}\n{}}}\n", body(200));
    assert!(
        long_functions(&declared, MAX_FN_LINES).is_empty(),
        "a declaration has no body"
    );
    assert_eq!(declared_fn("    // fn commented() {"), None);
    assert_eq!(declared_fn("pub(in crate::a) unsafe fn b<T>() {"), Some("b"));
    assert_eq!(declared_fn("let f = fn_ptr;"), None);

    let text =
        "//! `#[path]` is not used\n#[path = \"x.rs\"]\nmod x;\n    #[path = \"y.rs\"] mod y;\n// #[path = \"z.rs\"]\n";
    assert_eq!(path_attributes(text), [2, 4]);
}
