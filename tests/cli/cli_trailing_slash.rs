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
