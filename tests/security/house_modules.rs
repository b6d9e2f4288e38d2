//! The house's third rule ("rooms may use each other, but not in a circle",
//! tests/security/house.rs) for the crates whose rooms are files: the client
//! library (`crates/tfp-client/src/`) and the Python binding
//! (`python/src/`), and for the daemon's files below its rooms. A circle of
//! files is where two jobs have not been told apart: move what both need into
//! a file both use (as `TooBig` went into the client's `error.rs`, and the
//! binding's `Session` into `state.rs`).

use super::house::{circles, is_ident, root, rust_files};
use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::Path;

/// The paths a text spells from its start, each as its identifiers:
/// `a::{b::c, d}` is `[a, b, c]` and `[a, d]` (a group may span lines; `*`
/// ends a path).
fn spelled_paths(text: &str) -> Vec<Vec<String>> {
    fn tree(c: &[char], mut i: usize, mut path: Vec<String>, out: &mut Vec<Vec<String>>) -> usize {
        loop {
            let start = i;
            while i < c.len() && is_ident(c[i]) {
                i += 1;
            }
            if i == start {
                if c.get(i) == Some(&'{') {
                    i += 1;
                    loop {
                        while i < c.len() && c[i].is_whitespace() || c.get(i) == Some(&',') {
                            i += 1;
                        }
                        match c.get(i) {
                            None => return i,
                            Some('}') => return i + 1,
                            _ => {
                                let before = i;
                                i = tree(c, i, path.clone(), out).max(before + 1);
                            }
                        }
                    }
                }
                out.push(path);
                return i + usize::from(c.get(i) == Some(&'*'));
            }
            path.push(c[start..i].iter().collect());
            if c.get(i) == Some(&':') && c.get(i + 1) == Some(&':') {
                i += 2;
            } else {
                out.push(path);
                return i;
            }
        }
    }
    let c: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    tree(&c, 0, Vec::new(), &mut out);
    out
}

/// The modules of a crate whose files are its modules (`a/b.rs` and
/// `a/b/mod.rs` are `a::b`; the root file `root_file` is the crate root, ``),
/// and which modules each names outside comments: `crate::`, `self::` and
/// `super::` paths, each to the deepest module it reaches, and a child
/// module by its bare name (`listing::parse` in `tree/mod.rs`). An inline
/// `mod x {` (tests) adds a level up to the `}` that closes it on a line of
/// its own, as rustfmt writes it, so its `super::*` is its own file.
fn module_edges(src: &Path, root_file: &str) -> (BTreeSet<String>, BTreeMap<String, BTreeSet<String>>) {
    let mut files = Vec::new();
    rust_files(src, &mut files);
    let module_of = |f: &Path| -> Vec<String> {
        let rel = f.strip_prefix(src).expect("under src");
        let mut parts: Vec<String> = rel.iter().map(|p| p.to_string_lossy().into_owned()).collect();
        let last = parts.pop().unwrap_or_default();
        let stem = last.trim_end_matches(".rs");
        if stem != "mod" && !(parts.is_empty() && stem == root_file) {
            parts.push(stem.to_string());
        }
        parts
    };
    let modules: BTreeSet<Vec<String>> = files.iter().map(|f| module_of(f)).collect();
    // the deepest module `path` reaches
    let resolve = |path: &[String]| -> Vec<String> {
        (0..=path.len())
            .rev()
            .map(|n| path[..n].to_vec())
            .find(|p| modules.contains(p))
            .unwrap_or_default()
    };
    let mut edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for file in &files {
        let me = module_of(file);
        let source = fs::read_to_string(file).expect("read source");
        // the text outside comment lines, each byte with the module it is in
        let (mut text, mut inner, mut starts) = (String::new(), None::<String>, Vec::new());
        for line in source.lines() {
            if line.trim_start().starts_with("//") {
                continue;
            }
            let words: Vec<&str> = line.split_whitespace().collect();
            let is_mod = |w: &[&str]| w.len() == 3 && w[0] == "mod" && w[2] == "{";
            if !line.starts_with(' ')
                && (is_mod(&words) || words.len() == 4 && words[0].starts_with("pub") && is_mod(&words[1..]))
            {
                inner = words.get(words.len() - 2).map(|w| w.to_string());
            } else if line == "}" {
                inner = None;
            }
            let mut at = me.clone();
            at.extend(inner.clone());
            starts.push((text.len(), at));
            text.push_str(line);
            text.push('\n');
        }
        let module_at = |i: usize| starts[starts.partition_point(|(s, _)| *s <= i) - 1].1.clone();
        let mut named = Vec::new();
        for (i, _) in text.match_indices("::") {
            let head_start = text[..i].rfind(|c: char| !is_ident(c)).map_or(0, |p| p + 1);
            let head = &text[head_start..i];
            if head.is_empty() || text[..head_start].ends_with(|c: char| is_ident(c) || c == ':') {
                continue; // the middle of a path, or `$crate::`
            }
            let here = module_at(i);
            let base: Vec<String> = match head {
                "crate" => vec![],
                "self" => here.clone(),
                "super" => {
                    let mut rest = &text[i + 2..];
                    let mut base = here.clone();
                    base.pop();
                    while let Some(r) = rest.strip_prefix("super::") {
                        base.pop();
                        rest = r;
                    }
                    for p in spelled_paths(rest) {
                        named.push(resolve(&[base.clone(), p].concat()));
                    }
                    continue;
                }
                child => {
                    let mut c = me.clone();
                    c.push(child.to_string());
                    if modules.contains(&c) {
                        named.push(c);
                    }
                    continue;
                }
            };
            for p in spelled_paths(&text[i + 2..]) {
                named.push(resolve(&[base.clone(), p].concat()));
            }
        }
        for n in named {
            if n != me {
                edges.entry(me.join("::")).or_default().insert(n.join("::"));
            }
        }
    }
    (modules.iter().map(|m| m.join("::")).collect(), edges)
}

/// The circles among a file-module crate's modules, the crate root left out:
/// it declares the rooms and re-exports what they make, and the client
/// library's root still holds the `Client` every room is handed (issue 46
/// moves it out; until then a name of the root would put every room in one
/// circle).
fn file_circles(src: &str, root_file: &str) -> (BTreeMap<String, BTreeSet<String>>, BTreeSet<String>) {
    let (modules, mut edges) = module_edges(&root().join(src), root_file);
    edges.remove("");
    for named in edges.values_mut() {
        named.remove("");
    }
    let nodes: Vec<String> = modules.into_iter().filter(|m| !m.is_empty()).collect();
    let found = circles(&edges, &nodes);
    (edges, found)
}

/// The client library's files use each other in no circle: what two files
/// both need lives in a file below them (`TooBig` in error.rs, the tree
/// copy's shared parts in `tree/jobs.rs`, `tree/batch_flags.rs` and
/// `tree/pipeline.rs`, a delta's `Outcome` in `delta/outcome.rs`).
#[test]
fn tfp_client_modules_use_each_other_without_a_circle() {
    let (edges, found) = file_circles("crates/tfp-client/src", "lib");
    assert!(edges.len() > 40, "{edges:?}");
    // what the scanner must see: a `crate::` path, a `super::` group, a
    // `super::` path from a test module, a child named bare
    assert!(
        edges["tree::copy_down"].contains("engine::download::many")
            && edges["tree::copy"].contains("tree::walk")
            && edges["engine::delta"].contains("engine::delta::get")
            && edges["error"].contains("escape"),
        "{edges:?}"
    );
    assert!(
        found.is_empty(),
        "the client library's files use each other in a circle (move what both need into a \
         file both use, as `TooBig` lives in error.rs): {found:?}"
    );
}

/// The Python binding's files use each other in no circle: the `Session`
/// class's state is below everything that works on it.
#[test]
fn python_modules_use_each_other_without_a_circle() {
    let (edges, found) = file_circles("python/src", "lib");
    assert!(edges.len() > 5, "{edges:?}");
    assert!(
        edges["session"].contains("state") && edges["upload"].contains("running"),
        "{edges:?}"
    );
    assert!(
        found.is_empty(),
        "the Python binding's files use each other in a circle (move what both need into a \
         file both use, as the Session's state is in state.rs): {found:?}"
    );
}

#[test]
fn the_module_scanner_sees_what_it_must() {
    let p = |t: &str| spelled_paths(t).into_iter().map(|p| p.join("::")).collect::<Vec<_>>();
    assert_eq!(p("a::b::C;"), ["a::b::C"]);
    assert_eq!(p("{a::{self, b}, c::*,\n    d};"), ["a::self", "a::b", "c", "d"]);
    assert_eq!(p("x as y"), ["x"]);
}

/// The daemon's modules use each other in no circle below its rooms either
/// (house.rs checks the rooms themselves): a door (`session/mod.rs`) and the
/// files inside it may name each other, as the session's files name its
/// `Session` and it calls them, but files side by side may not. What the two
/// ways into a session share (its assembly, how a refusal is sent) lives in
/// `session/admission.rs`, below both.
#[test]
fn daemon_modules_use_each_other_without_a_circle() {
    let (modules, mut edges) = module_edges(&root().join("src"), "lib");
    let nested = |a: &str, b: &str| {
        a.is_empty() || b.is_empty() || b.starts_with(&format!("{a}::")) || a.starts_with(&format!("{b}::"))
    };
    for (from, named) in edges.iter_mut() {
        named.retain(|n| !nested(from, n));
    }
    assert!(edges.len() > 80, "{edges:?}");
    assert!(
        edges["session::handshake"].contains("session::fai_entrance")
            && edges["session::fai_entrance"].contains("session::admission")
            && edges["commands::table"].contains("session"),
        "{edges:?}"
    );
    let nodes: Vec<String> = modules.into_iter().filter(|m| !m.is_empty()).collect();
    let found = circles(&edges, &nodes);
    assert!(
        found.is_empty(),
        "the daemon's files use each other in a circle (move what both need into a file \
         both use, as the ways into a session share session/admission.rs): {found:?}"
    );
}
