//! What `tf mirror --delete` must keep (issue 82): the local copies of a
//! server directory the session may not read (it is named, the exit status
//! is not 0, and nothing is removed that run: rsync's "IO error encountered
//! -- skipping file deletion"), and the destination's excluded entries
//! inside a directory the source no longer has (rsync keeps them, and the
//! directories leading to them, unless `--delete-excluded`), both ways.
//! The server's sessions run as a system user, so a 000 directory really
//! is unreadable to them (root reads everything).

use crate::cli_mirror::counts;
use crate::output::{stderr, text};
use std::fs;
use std::path::Path;
use std::process::Output;
use tfd_testkit::perms::{chmod, chown_tree};
use tfd_testkit::users::ensure_system_user;
use tfd_testkit::*;

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// A server whose sessions run as the system user `user`, its root theirs.
fn server_as(user: &str) -> (Server, (u32, u32)) {
    let ids = ensure_system_user(user, &[]);
    let srv = Server::start_opts(Opts {
        extra: &format!("defusr {user}\n"),
        default_user: false,
        ..Default::default()
    });
    chown_tree(&srv.data, ids);
    (srv, ids)
}

/// The lines of `o`'s standard error that name `what`.
fn naming(o: &Output, what: &str) -> usize {
    stderr(o).lines().filter(|l| l.contains(what)).count()
}

/// The issue's case, down: `locked` was mirrored, then made 000 on the
/// server. Every run names it once, ends with status 2, and `--delete`
/// (plain, and as an archive copy, whose listing is TFDENTRIES) removes
/// nothing; `get -r` says so too.
#[test]
fn an_unreadable_server_directory_keeps_its_local_copy() {
    if !require(is_root(), "needs root (a system user's sessions)") {
        return;
    }
    let (srv, ids) = server_as("tfkeepdown");
    fs::create_dir_all(srv.path("s1/locked/deeper")).unwrap();
    fs::write(srv.path("s1/locked/f"), b"data\n").unwrap();
    fs::write(srv.path("s1/locked/deeper/g"), b"more\n").unwrap();
    fs::write(srv.path("s1/top.txt"), b"top\n").unwrap();
    chown_tree(&srv.path("s1"), ids);
    let here = tempdir("cli_mirror_keep_down");
    let w = here.join("w/r1");
    let o = srv.tf(&["mirror", "s1", s(&w)]);
    assert!(o.status.success(), "first mirror: {}", text(&o));
    chmod(&srv.path("s1/locked"), 0o000);
    // an extra the --delete would remove, were the listing whole
    fs::write(w.join("extra.txt"), b"x").unwrap();
    for words in [&["mirror", "--delete"][..], &["mirror", "-a", "--delete"], &["mirror"]] {
        let mut args = words.to_vec();
        args.extend(["s1", s(&w)]);
        let o = srv.tf(&args);
        assert_eq!(o.status.code(), Some(2), "{words:?}: {}", text(&o));
        assert_eq!(naming(&o, "s1/locked"), 1, "{words:?}: one line names it: {}", text(&o));
        assert_eq!(counts(&o).1, 0, "{words:?}: nothing deleted: {}", text(&o));
        assert_eq!(fs::read(w.join("locked/f")).unwrap(), b"data\n", "{words:?}");
        assert_eq!(fs::read(w.join("locked/deeper/g")).unwrap(), b"more\n", "{words:?}");
        assert!(w.join("extra.txt").exists(), "{words:?}: an extra removed");
    }
    assert!(
        stderr(&srv.tf(&["mirror", "--delete", "s1", s(&w)])).contains("--delete removes nothing"),
        "the run says why nothing was removed"
    );
    let back = here.join("back");
    let o = srv.tf(&["get", "-r", "s1", s(&back)]);
    assert_eq!(o.status.code(), Some(2), "get -r: {}", text(&o));
    assert_eq!(naming(&o, "s1/locked"), 1, "get -r names it: {}", text(&o));
    assert_eq!(fs::read(back.join("s1/top.txt")).unwrap(), b"top\n");
    // readable again: the listing is whole, and --delete does its work
    chmod(&srv.path("s1/locked"), 0o755);
    let o = srv.tf(&["mirror", "--delete", "s1", s(&w)]);
    assert!(o.status.success(), "{}", text(&o));
    assert_eq!(counts(&o).1, 1, "{}", text(&o));
    assert!(!w.join("extra.txt").exists());
    let _ = fs::remove_dir_all(&here);
}

/// A directory the session may open but not search (r--): its names are
/// there, what they are is not; an archive mirror's `--delete` removes
/// nothing of it and names it.
#[test]
fn a_directory_without_search_right_is_named_too() {
    if !require(is_root(), "needs root (a system user's sessions)") {
        return;
    }
    let (srv, ids) = server_as("tfkeepsearch");
    fs::create_dir_all(srv.path("s/half")).unwrap();
    fs::write(srv.path("s/half/f"), b"data").unwrap();
    chown_tree(&srv.path("s"), ids);
    let here = tempdir("cli_mirror_keep_search");
    let w = here.join("w");
    let o = srv.tf(&["mirror", "-a", "s", s(&w)]);
    assert!(o.status.success(), "first mirror: {}", text(&o));
    chmod(&srv.path("s/half"), 0o444);
    let o = srv.tf(&["mirror", "-a", "--delete", "s", s(&w)]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert_eq!(naming(&o, "s/half"), 1, "{}", text(&o));
    assert_eq!(fs::read(w.join("half/f")).unwrap(), b"data");
    chmod(&srv.path("s/half"), 0o755);
    let _ = fs::remove_dir_all(&here);
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
