//! The house keeps its floors (doc/architecture.md, "Floors"): every module of
//! `src/` lives on a floor, and no file names a module of a higher floor through a
//! `crate::` or `super::` path (doc links included: a lower room that points up
//! is how the climbing starts). Rooms on the same floor may use each other (the
//! session ⇄ command table loop is the dispatch idiom). And no source file of the
//! crate grows past [`MAX_LINES`]: big files are where rooms blur.

use std::fs;
use std::path::{Path, PathBuf};

/// Top to bottom. A room may name rooms on its own floor and below, never above.
const FLOORS: &[&[&str]] = &[
    &["bin"],
    &["daemon"],
    &["session", "commands"],
    &["services"],
    &["client"],
    &["fsys", "auth", "channel", "sandbox"],
    &["config"],
    &["bandwidth", "logging", "xferlog"],
    &["wire", "size"],
    &["sys"],
];

/// The longest a source file under `src/` may be.
const MAX_LINES: usize = 1000;

/// Files allowed over [`MAX_LINES`] for now (none: keep it so).
const TOO_LONG_ALLOWED: &[&str] = &[];

fn floor_of(room: &str) -> Option<usize> {
    FLOORS.iter().position(|f| f.contains(&room))
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let path = entry.expect("directory entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The module path of a file relative to `src/`: `a/b.rs` and `a/b/mod.rs` are
/// `[a, b]`; `lib.rs` is `[]`; everything under `bin/` is the room `bin`.
fn module_path(rel: &Path) -> Vec<String> {
    let mut parts: Vec<String> = rel.iter().map(|p| p.to_string_lossy().into_owned()).collect();
    if parts.first().is_some_and(|p| p == "bin") {
        return vec!["bin".into()];
    }
    let last = parts.pop().unwrap_or_default();
    let stem = last.trim_end_matches(".rs");
    if stem != "mod" && stem != "lib" {
        parts.push(stem.to_string());
    }
    parts
}

fn is_ident(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// The first identifiers after `crate::` at `rest` (`x` for `crate::x::y`; `a`,
/// `b` for `crate::{a::c, b}`).
fn heads(rest: &str) -> Vec<String> {
    let rest = rest.trim_start();
    if let Some(group) = rest.strip_prefix('{') {
        // the group's top-level items, up to its closing brace
        let (mut depth, mut items, mut item) = (0usize, Vec::new(), String::new());
        for c in group.chars() {
            match c {
                '{' => depth += 1,
                '}' if depth == 0 => break,
                '}' => depth -= 1,
                ',' if depth == 0 => items.push(std::mem::take(&mut item)),
                _ => {}
            }
            item.push(c);
        }
        items.push(item);
        items
            .iter()
            .map(|i| {
                i.trim_start_matches(',')
                    .trim()
                    .chars()
                    .take_while(|&c| is_ident(c))
                    .collect::<String>()
            })
            .filter(|n| !n.is_empty())
            .collect()
    } else {
        let name: String = rest.chars().take_while(|&c| is_ident(c)).collect();
        if name.is_empty() {
            vec![]
        } else {
            vec![name]
        }
    }
}

/// Every room a source text names, with its line: `crate::x` anywhere, and
/// `super::…` chains that climb out of the file's own room to the crate root.
fn named_rooms(text: &str, module: &[String]) -> Vec<(usize, String)> {
    let mut found = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let mut from = 0;
        while let Some(i) = line[from..].find("crate::") {
            let at = from + i;
            from = at + "crate::".len();
            if at > 0 && line[..at].ends_with(|c: char| is_ident(c) || c == ':') {
                continue; // `$crate::`, `tfd::crate::`-like spellings
            }
            for h in heads(&line[from..]) {
                found.push((n + 1, h));
            }
        }
        let mut from = 0;
        while let Some(i) = line[from..].find("super::") {
            let at = from + i;
            if at > 0 && line[..at].ends_with(|c: char| is_ident(c) || c == ':') {
                from = at + "super::".len();
                continue; // the tail of a chain already counted
            }
            let mut rest = &line[at..];
            let mut ups = 0;
            while let Some(r) = rest.strip_prefix("super::") {
                ups += 1;
                rest = r;
            }
            from = line.len() - rest.len();
            // an inline `mod tests` adds a level the file path does not show, so a
            // chain that seems to reach the root may stop one short: only a name
            // of a room counts
            if ups >= module.len() {
                for h in heads(rest) {
                    if floor_of(&h).is_some() {
                        found.push((n + 1, h));
                    }
                }
            }
        }
    }
    found
}

#[test]
fn no_room_names_a_higher_floor() {
    let src = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    files.sort();
    assert!(files.len() > 50, "found only {} source files", files.len());
    let mut unplaced = Vec::new();
    let mut climbs = Vec::new();
    for file in &files {
        let rel = file.strip_prefix(&src).expect("under src");
        let module = module_path(rel);
        let Some(room) = module.first() else {
            continue; // lib.rs declares the rooms
        };
        let Some(floor) = floor_of(room) else {
            unplaced.push(format!("{} (room {room})", rel.display()));
            continue;
        };
        let text = fs::read_to_string(file).expect("read source");
        for (line, named) in named_rooms(&text, &module) {
            match floor_of(&named) {
                Some(f) if f < floor => climbs.push(format!("src/{}:{line}: {room} names {named}", rel.display())),
                Some(_) => {}
                None if named == "self" || named == "super" => {}
                None => unplaced.push(format!("src/{}:{line}: crate::{named}", rel.display())),
            }
        }
    }
    assert!(
        unplaced.is_empty(),
        "rooms on no floor (add them to FLOORS and doc/architecture.md):\n{}",
        unplaced.join("\n")
    );
    assert!(
        climbs.is_empty(),
        "a lower floor names a higher one (move the item down, or pass it down as a value):\n{}",
        climbs.join("\n")
    );
}

/// Rooms may use rooms of their own floor, but not in a circle: the only one
/// the house keeps is the dispatch idiom, the session calling the command table
/// and the commands handed the session.
#[test]
fn the_only_circle_is_the_session_and_its_commands() {
    use std::collections::{BTreeMap, BTreeSet};
    let src = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let mut edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for file in &files {
        let module = module_path(file.strip_prefix(&src).expect("under src"));
        let Some(room) = module.first() else { continue };
        let text = fs::read_to_string(file).expect("read source");
        for (_, named) in named_rooms(&text, &module) {
            let allowed = room == "commands" && named == "session";
            if floor_of(&named).is_some() && named != *room && !allowed {
                edges.entry(room.clone()).or_default().insert(named);
            }
        }
    }
    assert!(
        edges.get("session").is_some_and(|e| e.contains("commands")),
        "the scanner no longer sees the session use the command table"
    );
    // depth-first search; a room met again on the current path closes a circle
    fn visit(
        room: &str,
        edges: &BTreeMap<String, BTreeSet<String>>,
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
        circles: &mut Vec<String>,
    ) {
        if let Some(at) = path.iter().position(|r| r == room) {
            circles.push(format!("{} -> {room}", path[at..].join(" -> ")));
            return;
        }
        if !done.insert(room.to_string()) {
            return;
        }
        path.push(room.to_string());
        for next in edges.get(room).into_iter().flatten() {
            visit(next, edges, path, done, circles);
        }
        path.pop();
    }
    let mut circles = Vec::new();
    let mut done = BTreeSet::new();
    for room in edges.keys() {
        visit(room, &edges, &mut Vec::new(), &mut done, &mut circles);
    }
    assert!(
        circles.is_empty(),
        "rooms that use each other in a circle (move the shared item down a floor):\n{}",
        circles.join("\n")
    );
}

#[test]
fn no_source_file_is_too_long() {
    let src = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let mut long = Vec::new();
    for file in &files {
        let rel = file.strip_prefix(&src).expect("under src").display().to_string();
        let lines = fs::read_to_string(file).expect("read source").lines().count();
        if lines > MAX_LINES && !TOO_LONG_ALLOWED.contains(&rel.as_str()) {
            long.push(format!("src/{rel}: {lines} lines"));
        }
    }
    assert!(
        long.is_empty(),
        "source files over {MAX_LINES} lines (split them by job):\n{}",
        long.join("\n")
    );
}

#[test]
fn the_scanner_sees_what_it_must() {
    let m = |s: &str| s.split('/').map(String::from).collect::<Vec<_>>();
    let names = |t: &str, module: &[String]| named_rooms(t, module).into_iter().map(|(_, n)| n).collect::<Vec<_>>();
    assert_eq!(names("use crate::wire::Status;", &m("sys")), ["wire"]);
    assert_eq!(
        names("use crate::{auth::privs, sys::{self, x}, wire};", &m("a")),
        ["auth", "sys", "wire"]
    );
    assert_eq!(names("/// see [`crate::session::Session`]", &m("fsys")), ["session"]);
    assert_eq!(names("use super::registry;", &m("daemon/udp")), Vec::<String>::new());
    assert_eq!(names("use super::super::session::x;", &m("commands/a")), ["session"]);
    assert_eq!(names("use super::*;", &m("sandbox")), Vec::<String>::new());
}
