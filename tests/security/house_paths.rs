//! Every path a client names reaches the disk through the session's resolver
//! (issue 82): `Session::path` and its kin parse it, pin it beneath the root
//! and judge it by TFPSFS and the jail's key, and a command acts through the
//! descriptors pinned, so what it acts on is what was judged. In the command
//! handlers (`src/commands`) and the file-system layer under them
//! (`src/fsys`) a way around it is written one of a few ways: a client's
//! path made a `RelPath` by hand (`RelPath::parse`), a pin dropped
//! (`.unpinned()`), the root's own descriptor handed to a lookup by name
//! (`root().fd()`, `root.fd()`, a `root: BorrowedFd` or `root: OwnedFd`
//! held), or a name opened beneath a directory by the kernel's rule alone
//! (`openat2_beneath`). Each site that writes one is listed in [`SITES`]
//! with why it is no way around; any other fails this test, and so does a
//! listed site that no longer writes it (the list cannot outlive the code).

use super::house::{is_ident, root, rust_files};
use std::collections::BTreeMap;
use std::fs;

/// Where a way around the resolver would be written.
const DIRS: &[&str] = &["src/commands", "src/fsys"];

/// How a way around the resolver is written.
const NEEDLES: &[&str] = &[
    "RelPath::parse(",
    ".unpinned()",
    "root().fd()",
    "root.fd()",
    "root: BorrowedFd",
    "root: OwnedFd",
    "openat2_beneath(",
];

/// `(file, function, needle, times, why)`: the sites allowed.
const SITES: &[(&str, &str, &str, usize, &str)] = &[
    (
        "src/commands/access.rs",
        "enter_user_jail",
        "RelPath::parse(",
        1,
        "the jail is the user file's, not a client's path",
    ),
    (
        "src/commands/access.rs",
        "check_key",
        "openat2_beneath(",
        1,
        "the jail's own key, a fixed name in the jail opened",
    ),
    (
        "src/commands/fs.rs",
        "rmdir",
        "root().fd()",
        1,
        "RMDIR of the root: the path judged by Session::path is the root itself",
    ),
    (
        "src/commands/fs.rs",
        "space",
        "root().fd()",
        1,
        "statvfs of the root: no path",
    ),
    (
        "src/commands/quota.rs",
        "budget",
        "root().fd()",
        2,
        "the quota's usage: the root's own identity and a walk by descriptor, no client path",
    ),
    (
        "src/commands/notify.rs",
        "addntfy",
        ".unpinned()",
        1,
        "watched by name: each poll opens it through the root and judges it (secfs::permits) again",
    ),
    (
        "src/commands/putmany_archive.rs",
        "finish",
        "root().fd()",
        1,
        "the root itself, the path judged by Session::path",
    ),
    (
        "src/commands/putmany_archive.rs",
        "parent_of",
        "root().fd()",
        1,
        "a second, link-free lookup compared with the pinned directory: refuses, never acts",
    ),
    (
        "src/commands/putmany_archive.rs",
        "no_link_on_way",
        "RelPath::parse(",
        1,
        "a link-free lookup that only refuses: the upload then pins and judges the path",
    ),
    (
        "src/commands/putmany_archive.rs",
        "no_link_on_way",
        "root().fd()",
        1,
        "the same link-free lookup, which only refuses",
    ),
    (
        "src/commands/putmany_dirs.rs",
        "covers",
        "RelPath::parse(",
        1,
        "the batch's bookkeeping of refused directories: text, no disk",
    ),
    (
        "src/commands/putmany_dirs.rs",
        "note",
        "RelPath::parse(",
        1,
        "the same bookkeeping: text, no disk",
    ),
    (
        "src/commands/xcmds.rs",
        "copy_into_matches",
        "root().fd()",
        2,
        "XCOPY/XCPDIR match a pattern, not a path: a walk by descriptor that never follows a link nor \
         enters a secure directory (walk::find_matches)",
    ),
    (
        "src/fsys/backup.rs",
        "new",
        "RelPath::parse(",
        2,
        "TFDBACKUP's paths are only read: each use is pinned and judged through the session's Reach",
    ),
    (
        "src/fsys/backup.rs",
        "open_dir",
        "root().fd()",
        1,
        "a backup's levels start at the root, each pinned and judged by the session's Reach",
    ),
    (
        "src/fsys/mod.rs",
        "open",
        "openat2_beneath(",
        1,
        "Root::open itself: a path not pinned is opened beneath the root (the resolver's floor)",
    ),
    (
        "src/fsys/mod.rs",
        "pin_in",
        ".unpinned()",
        2,
        "Root::pin_in itself: the pin is being made",
    ),
    (
        "src/fsys/mod.rs",
        "parent",
        ".unpinned()",
        1,
        "Root::parent of a path pinned as a directory: its parent looked up beneath the root",
    ),
    (
        "src/fsys/mod.rs",
        "link_target",
        "RelPath::parse(",
        1,
        "a symlink's text, pinned and judged with the path that led to it",
    ),
    (
        "src/fsys/secfs.rs",
        "judge",
        "root.fd()",
        1,
        "TFPSFS judging the root itself",
    ),
    (
        "src/fsys/sweep.rs",
        "struct Sweeper",
        "root: OwnedFd",
        1,
        "the sweeper of old temporaries: the server's own walk, no client path",
    ),
    ("src/fsys/sweep.rs", "new", "root: OwnedFd", 1, "the sweeper's root"),
];

/// The non-test lines of a source text, numbered from 1: a file's test
/// module (`#[cfg(test)]` then `mod`) and what follows it are not the
/// daemon's code.
fn code_lines(text: &str) -> Vec<(usize, &str)> {
    let lines: Vec<&str> = text.lines().collect();
    let end = (0..lines.len())
        .find(|&i| {
            lines[i].trim() == "#[cfg(test)]" && lines.get(i + 1).is_some_and(|l| l.trim_start().starts_with("mod "))
        })
        .unwrap_or(lines.len());
    lines[..end].iter().enumerate().map(|(i, l)| (i + 1, *l)).collect()
}

/// The item a line begins: `name` for `fn name`, `struct Name` for a
/// type; the lines below it, to the next, are in it.
fn item_name(line: &str) -> Option<String> {
    ["fn ", "struct ", "enum ", "trait "].iter().find_map(|kw| {
        let at = line.find(kw)?;
        if at > 0 && line[..at].chars().last().is_some_and(is_ident) {
            return None;
        }
        let name: String = line[at + kw.len()..].chars().take_while(|&c| is_ident(c)).collect();
        match (*kw, name.is_empty()) {
            (_, true) => None,
            ("fn ", _) => Some(name),
            _ => Some(format!("{kw}{name}")),
        }
    })
}

/// Each `(file, function, needle)` in `text` and how often it is written.
fn sites_in(file: &str, text: &str, out: &mut BTreeMap<(String, String, String), usize>) {
    let mut in_fn = String::from("(top)");
    for (_, line) in code_lines(text) {
        let t = line.trim_start();
        if t.starts_with("//") {
            continue;
        }
        if let Some(f) = item_name(t) {
            in_fn = f;
        }
        for n in NEEDLES {
            let times = line.matches(n).count();
            if times > 0 {
                *out.entry((file.to_string(), in_fn.clone(), n.to_string())).or_default() += times;
            }
        }
    }
}

fn found() -> BTreeMap<(String, String, String), usize> {
    let mut files = Vec::new();
    for d in DIRS {
        rust_files(&root().join(d), &mut files);
    }
    files.sort();
    let mut out = BTreeMap::new();
    for f in files {
        let rel = f.strip_prefix(root()).expect("in the tree").display().to_string();
        if rel.ends_with("/tests.rs") {
            continue;
        }
        sites_in(&rel, &fs::read_to_string(&f).expect("read source"), &mut out);
    }
    out
}

#[test]
fn client_paths_reach_the_disk_only_through_the_resolver() {
    let found = found();
    let mut wrong = Vec::new();
    for ((file, f, n), times) in &found {
        let listed = SITES.iter().find(|s| s.0 == file && s.1 == f && s.2 == n);
        match listed {
            None => wrong.push(format!("{file}: fn {f}: {n} ({times}x), not through Session::path")),
            Some(s) if s.3 != *times => wrong.push(format!("{file}: fn {f}: {n} {times}x, listed {}x", s.3)),
            _ => {}
        }
    }
    for (file, f, n, _, _) in SITES {
        if !found.contains_key(&(file.to_string(), f.to_string(), n.to_string())) {
            wrong.push(format!(
                "{file}: fn {f}: {n} listed, no longer written: take it off the list"
            ));
        }
    }
    assert!(
        wrong.is_empty(),
        "a client's path may reach the disk around the session's resolver (Session::path: pinned, \
         judged by TFPSFS, the jail's key refused); resolve it there, or list the site with why it is \
         none:\n{}",
        wrong.join("\n")
    );
}

/// The scanner sees a way around where one is written, in the function
/// it is written in, and not in a test module or a comment.
#[test]
fn the_path_scanner_sees_a_way_around() {
    let text = "fn handler(s: &mut Session, arg: &[u8]) -> CmdResult {\n\
                \x20   // RelPath::parse( in a comment\n\
                \x20   let p = RelPath::parse(arg)?;\n\
                \x20   sys::mkdirat(s.root().fd(), &p.to_cstring(), 0o755)?;\n\
                }\n\
                pub(crate) struct Kept {\n    root: OwnedFd,\n}\n\
                #[cfg(test)]\nmod tests {\n    fn t() { RelPath::parse(b\"x\"); }\n}\n";
    let mut out = BTreeMap::new();
    sites_in("x.rs", text, &mut out);
    let got: Vec<(&str, &str, usize)> = out.iter().map(|((_, f, n), t)| (f.as_str(), n.as_str(), *t)).collect();
    assert_eq!(
        got,
        [
            ("handler", "RelPath::parse(", 1),
            ("handler", "root().fd()", 1),
            ("struct Kept", "root: OwnedFd", 1)
        ]
    );
    // the resolver itself is seen by the same scanner: the one parse of a
    // client's path is Session::path_by's
    let mut out = BTreeMap::new();
    let session = fs::read_to_string(root().join("src/session/mod.rs")).expect("read the session");
    sites_in("src/session/mod.rs", &session, &mut out);
    assert!(out.contains_key(&("src/session/mod.rs".into(), "path_by".into(), "RelPath::parse(".into())));
}
