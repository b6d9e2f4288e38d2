//! `put -r` and `get -r` take rsync's rule for the destination: a
//! directory source `src` lands as `DEST/src` (DEST made when missing), and
//! `src/` lands its contents in DEST, so the same command run twice is
//! idempotent (before, cp -r's rule made a missing DEST the copy and a
//! second run nested `DEST/src` in it). Each shape is run by rsync on local
//! copies and by tf on put -r, put -r -a, get -r and get -r -a, twice, and
//! the names that land compared.

use crate::output::ok;
use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use tfd_testkit::*;

fn tree(src: &Path) {
    fs::create_dir_all(src.join("sub")).unwrap();
    fs::write(src.join("f"), b"f").unwrap();
    fs::write(src.join("sub/g"), b"g").unwrap();
}

/// Every path below `root`.
fn names(root: &Path) -> BTreeSet<PathBuf> {
    let mut out = BTreeSet::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(p) = stack.pop() {
        if fs::symlink_metadata(&p).is_ok_and(|m| m.is_dir()) {
            stack.extend(fs::read_dir(&p).unwrap().map(|e| e.unwrap().path()));
        }
        out.insert(p.strip_prefix(root).unwrap().to_path_buf());
    }
    out
}

/// What `rsync -a SRC DEST`, run twice in a world holding `src`'s tree
/// (and DEST already made when `made`), leaves in DEST.
fn rsync_names(src: &str, made: bool) -> BTreeSet<PathBuf> {
    let w = tempdir("cli_slash_rsync");
    tree(&w.join("src"));
    if made {
        fs::create_dir_all(w.join("w")).unwrap();
    }
    for _ in 0..2 {
        let o = Command::new("rsync")
            .current_dir(&w)
            .args(["-a", src, "w"])
            .output()
            .unwrap_or_else(|e| panic!("rsync is needed for this test (scripts/deps installs it): {e}"));
        assert!(o.status.success(), "rsync: {}", String::from_utf8_lossy(&o.stderr));
    }
    names(&w.join("w"))
}

/// The shapes: the source as typed ("src" or "src/") and whether the
/// destination exists before the first run.
const SHAPES: [(&str, bool); 4] = [("src", false), ("src", true), ("src/", false), ("src/", true)];

#[test]
fn put_r_follows_rsyncs_trailing_slash_rule_and_a_second_run_nests_nothing() {
    let srv = Server::start();
    let here = tempdir("cli_slash_put");
    tree(&here.join("src"));
    for (i, (src, made)) in SHAPES.into_iter().enumerate() {
        let reference = rsync_names(src, made);
        for (j, extra) in [&[][..], &["-a"][..]].into_iter().enumerate() {
            let top = format!("p{i}{j}");
            fs::create_dir_all(srv.path(&top)).unwrap();
            if made {
                fs::create_dir_all(srv.path(&format!("{top}/w"))).unwrap();
            }
            let local = format!("{}/{src}", here.display()).replace("//", "/");
            let dst = format!("{top}/w");
            let mut args = vec!["put", "-r"];
            args.extend_from_slice(extra);
            args.extend([local.as_str(), dst.as_str()]);
            for run in ["first", "second"] {
                ok(&srv.tf(&args), &format!("{args:?}, {run} run"));
            }
            assert_eq!(names(&srv.path(&dst)), reference, "{args:?} (made before: {made})");
        }
    }
}

#[test]
fn get_r_follows_rsyncs_trailing_slash_rule_and_a_second_run_nests_nothing() {
    let srv = Server::start();
    let here = tempdir("cli_slash_get");
    tree(&srv.path("src"));
    for (i, (src, made)) in SHAPES.into_iter().enumerate() {
        let reference = rsync_names(src, made);
        for (j, extra) in [&[][..], &["-a"][..]].into_iter().enumerate() {
            let top = here.join(format!("g{i}{j}"));
            fs::create_dir_all(&top).unwrap();
            if made {
                fs::create_dir_all(top.join("w")).unwrap();
            }
            let dst = top.join("w");
            let mut args = vec!["get", "-r"];
            args.extend_from_slice(extra);
            args.extend([src, dst.to_str().unwrap()]);
            for run in ["first", "second"] {
                ok(&srv.tf(&args), &format!("{args:?}, {run} run"));
            }
            assert_eq!(names(&dst), reference, "{args:?} (made before: {made})");
        }
    }
}

/// What `rsync -a SOURCES DEST` leaves in DEST (missing before) in a world
/// holding `src`'s tree, `a.txt` and `b.txt`; `None` when rsync fails.
fn rsync_many(sources: &[&str], dest: &str) -> Option<BTreeSet<PathBuf>> {
    let w = tempdir("cli_slash_rsync_many");
    world(&w);
    let o = Command::new("rsync")
        .current_dir(&w)
        .arg("-a")
        .args(sources)
        .arg(dest)
        .output()
        .unwrap_or_else(|e| panic!("rsync is needed for this test (scripts/deps installs it): {e}"));
    o.status.success().then(|| names(&w.join(dest)))
}

fn world(root: &Path) {
    tree(&root.join("src"));
    fs::write(root.join("a.txt"), b"a").unwrap();
    fs::write(root.join("b.txt"), b"b").unwrap();
}

/// Several sources, a pattern, or a destination typed with a trailing `/`
/// want a directory: a missing one is made, as rsync makes it (its last name
/// only: under a missing parent the run fails and makes nothing), and one
/// that is a file is refused. Each shape by rsync, then by put -r, put -r -a,
/// get -r and get -r -a. On the code before, each was refused ("need an
/// existing directory").
#[test]
fn a_missing_destination_is_made_for_several_sources_a_pattern_or_a_slash() {
    let srv = Server::start();
    let here = tempdir("cli_slash_many");
    world(&here);
    world(&srv.path(""));
    // sources as rsync is given them (a pattern expanded), as tf is
    let shapes: [(&[&str], &[&str], &str); 4] = [
        (&["src", "a.txt"], &["src", "a.txt"], "w"),
        (&["a.txt"], &["a.txt"], "w/"),
        (&["src"], &["src"], "w/"),
        (&["a.txt", "b.txt"], &["*.txt"], "w"),
    ];
    for (i, (theirs, ours, dest)) in shapes.into_iter().enumerate() {
        let reference = rsync_many(theirs, dest).expect("rsync makes the destination");
        for (j, extra) in [&[][..], &["-a"][..]].into_iter().enumerate() {
            // up
            let top = format!("p{i}{j}");
            fs::create_dir_all(srv.path(&top)).unwrap();
            let mut args = vec!["put".to_string(), "-r".to_string()];
            args.extend(extra.iter().map(|e| e.to_string()));
            args.extend(ours.iter().map(|s| format!("{}/{s}", here.display())));
            args.push(format!("{top}/{dest}"));
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            ok(&srv.tf(&args), &format!("{args:?}"));
            assert_eq!(names(&srv.path(&format!("{top}/w"))), reference, "{args:?}");
            // down
            let top = here.join(format!("g{i}{j}"));
            fs::create_dir_all(&top).unwrap();
            let to = format!("{}/{dest}", top.display());
            let mut args = vec!["get", "-r"];
            args.extend_from_slice(extra);
            args.extend_from_slice(ours);
            args.push(&to);
            ok(&srv.tf(&args), &format!("{args:?}"));
            assert_eq!(names(&top.join("w")), reference, "{args:?}");
        }
    }
    // a dry run makes nothing and tells what would land
    let dry = format!("{}/dry/", here.display());
    let (a, b) = (format!("{}/a.txt", here.display()), format!("{}/b.txt", here.display()));
    for args in [
        ["put", "-r", "-n", &a, &b, "dry/"],
        ["get", "-r", "-n", "a.txt", "b.txt", &dry],
    ] {
        let o = srv.tf(&args);
        ok(&o, &format!("{args:?}"));
        assert!(
            crate::output::text(&o).contains("b.txt"),
            "{args:?}: {}",
            crate::output::text(&o)
        );
        assert!(
            !srv.path("dry").exists() && !here.join("dry").exists(),
            "{args:?} made it"
        );
    }
    // under a missing parent: rsync fails, and so does tf, making nothing
    assert_eq!(rsync_many(&["a.txt", "b.txt"], "nope/w"), None, "rsync made nope/w");
    let o = srv.tf(&["put", "-r", &a, &b, "nope/w"]);
    assert!(!o.status.success(), "{}", crate::output::text(&o));
    assert!(!srv.path("nope").exists(), "{}", crate::output::text(&o));
    let to = format!("{}/nope/w", here.display());
    let o = srv.tf(&["get", "-r", "a.txt", "b.txt", &to]);
    assert!(!o.status.success(), "{}", crate::output::text(&o));
    assert!(!here.join("nope").exists(), "{}", crate::output::text(&o));
    // a file where the directory would be: refused, the file kept
    let o = srv.tf(&["put", "-r", &a, &b, "a.txt"]);
    assert!(!o.status.success(), "{}", crate::output::text(&o));
    assert!(
        crate::output::text(&o).contains("not a directory"),
        "{}",
        crate::output::text(&o)
    );
    assert_eq!(fs::read(srv.path("a.txt")).unwrap(), b"a");
    let o = srv.tf(&["get", "-r", "a.txt", "b.txt", &a]);
    assert!(!o.status.success(), "{}", crate::output::text(&o));
    assert!(
        crate::output::text(&o).contains("not a directory"),
        "{}",
        crate::output::text(&o)
    );
    assert_eq!(fs::read(&a).unwrap(), b"a");
}
