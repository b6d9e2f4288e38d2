//! What `tf mirror --delete` must keep (issue 82): the destination's
//! excluded entries inside a directory the source no longer has (rsync
//! keeps them, and the directories leading to them, unless
//! `--delete-excluded`), both ways.

use crate::output::text;
use std::fs;
use std::path::Path;
use tfd_testkit::*;

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// The destination's `old` directory, gone from the source: an excluded
/// file in it, a directory the rules exclude in it, and files they do not.
fn old_dir(root: &Path) {
    fs::create_dir_all(root.join("d2/old/cache")).unwrap();
    fs::create_dir_all(root.join("d2/old/sub/deep")).unwrap();
    fs::write(root.join("d2/old/keep.log"), b"log").unwrap();
    fs::write(root.join("d2/old/other.txt"), b"other").unwrap();
    fs::write(root.join("d2/old/cache/blob"), b"blob").unwrap();
    fs::write(root.join("d2/old/sub/deep/x.log"), b"x").unwrap();
    fs::write(root.join("d2/old/sub/y.txt"), b"y").unwrap();
    fs::create_dir_all(root.join("gone/empty")).unwrap();
}

/// What the source has: d2 with one file.
fn source(root: &Path) {
    fs::create_dir_all(root.join("d2")).unwrap();
    fs::write(root.join("d2/new.txt"), b"new").unwrap();
}

/// Every path below `root`, sorted, directories ending in `/`.
fn paths(root: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            let rel = p.strip_prefix(root).unwrap().to_str().unwrap().to_string();
            if p.is_dir() {
                out.push(rel + "/");
                stack.push(p);
            } else {
                out.push(rel);
            }
        }
    }
    out.sort();
    out
}

/// What rsync -r --delete --exclude '*.log' --exclude 'cache/' leaves of
/// [`old_dir`] over [`source`]: the excluded entries and the directories
/// leading to them; with --delete-excluded, the source alone.
const KEPT: &[&str] = &[
    "d2/",
    "d2/new.txt",
    "d2/old/",
    "d2/old/cache/",
    "d2/old/cache/blob",
    "d2/old/keep.log",
    "d2/old/sub/",
    "d2/old/sub/deep/",
    "d2/old/sub/deep/x.log",
];
const SOURCE_ONLY: &[&str] = &["d2/", "d2/new.txt"];

#[test]
fn excluded_entries_in_a_removed_directory_stay_both_ways() {
    let srv = Server::start();
    let here = tempdir("cli_mirror_keep_excl");
    let src = here.join("src");
    source(&src);
    source(&srv.path("src"));
    let rules = ["--exclude", "*.log", "--exclude", "cache/"];
    for (delete, want) in [("--delete", KEPT), ("--delete-excluded", SOURCE_ONLY)] {
        // down
        let w = here.join(format!("w{delete}"));
        old_dir(&w);
        let mut args = vec!["mirror", delete];
        args.extend(rules);
        args.extend(["src", s(&w)]);
        let o = srv.tf(&args);
        assert!(o.status.success(), "down {delete}: {}", text(&o));
        assert_eq!(paths(&w), want, "down {delete}: {}", text(&o));
        // up
        let name = format!("up{delete}");
        old_dir(&srv.path(&name));
        let mut args = vec!["mirror", "-R", delete];
        args.extend(rules);
        args.extend([s(&src), name.as_str()]);
        let o = srv.tf(&args);
        assert!(o.status.success(), "up {delete}: {}", text(&o));
        assert_eq!(paths(&srv.path(&name)), want, "up {delete}: {}", text(&o));
    }
    let _ = fs::remove_dir_all(&here);
}

/// A directory holding excluded entries where the source has a file:
/// without --delete-excluded it stays (the file is refused, named), with
/// it the file takes its place.
#[test]
fn a_directory_holding_excluded_entries_is_not_removed_for_a_file() {
    let srv = Server::start();
    let here = tempdir("cli_mirror_keep_way");
    fs::create_dir_all(srv.path("src")).unwrap();
    fs::write(srv.path("src/x"), b"file").unwrap();
    let w = here.join("w");
    fs::create_dir_all(w.join("x")).unwrap();
    fs::write(w.join("x/keep.log"), b"log").unwrap();
    let o = srv.tf(&["mirror", "--delete", "--exclude", "*.log", "src", s(&w)]);
    assert_ne!(o.status.code(), Some(0), "{}", text(&o));
    assert_eq!(fs::read(w.join("x/keep.log")).unwrap(), b"log", "{}", text(&o));
    let o = srv.tf(&["mirror", "--delete-excluded", "--exclude", "*.log", "src", s(&w)]);
    assert!(o.status.success(), "{}", text(&o));
    assert_eq!(fs::read(w.join("x")).unwrap(), b"file");
    let _ = fs::remove_dir_all(&here);
}
