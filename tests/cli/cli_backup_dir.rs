//! A relative `--backup-dir` means one place on every route, the place
//! rsync's means: relative to the destination directory given, each backup
//! under its path below that destination. The same shape is run by
//! `rsync -a --backup --backup-dir=../old` on a local copy of the ends and
//! by tf on each route (put -r, put -r -a, get -r, get -r -a, mirror -R,
//! mirror, put and get of one file), and the two `old` trees compared.

use crate::output::ok;
use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use tfd_testkit::*;

/// The source's files (new) and the destination's (old), by path.
const FILES: [&str; 2] = ["f", "sub/g"];

fn write(p: &Path, body: &str) {
    fs::create_dir_all(p.parent().unwrap()).unwrap();
    fs::write(p, body).unwrap();
}

/// `root/S` holds the new files; `root/D` the old ones below `at` (the
/// source's place in the destination: "S" or "", its contents).
fn ends(s: &Path, d: &Path, at: &str) {
    for f in FILES {
        write(&s.join(f), &format!("new {f}, longer"));
        write(&d.join(at).join(f), &format!("old {f}"));
    }
}

/// Every file below `root`, with its bytes (nothing: empty).
fn files(root: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(p) = stack.pop() {
        let Ok(m) = fs::symlink_metadata(&p) else { continue };
        if m.is_dir() {
            stack.extend(fs::read_dir(&p).unwrap().map(|e| e.unwrap().path()));
        } else {
            out.insert(p.strip_prefix(root).unwrap().to_path_buf(), fs::read(&p).unwrap());
        }
    }
    out
}

/// rsync's `old` for `rsync -a --backup --backup-dir=../old SRC D` run in
/// a world of `at`'s shape, `src` being "S", "S/" or "S/f".
fn rsync_old(at: &str, src: &str) -> BTreeMap<PathBuf, Vec<u8>> {
    let w = tempdir("cli_backup_dir_rsync");
    ends(&w.join("S"), &w.join("D"), at);
    let o = Command::new("rsync")
        .current_dir(&w)
        .args(["-a", "--backup", "--backup-dir=../old", src, "D"])
        .output()
        .unwrap_or_else(|e| panic!("rsync is needed for this test (scripts/deps installs it): {e}"));
    assert!(o.status.success(), "rsync: {}", String::from_utf8_lossy(&o.stderr));
    let old = files(&w.join("old"));
    assert!(!old.is_empty(), "rsync kept no backup");
    old
}

fn check(what: &str, old: &Path, reference: &BTreeMap<PathBuf, Vec<u8>>, o: &std::process::Output) {
    ok(o, what);
    assert_eq!(
        &files(old),
        reference,
        "{what}: tf's backups (left) are not where rsync keeps them (right); {}",
        crate::output::text(o)
    );
}

#[test]
fn a_relative_backup_dir_is_rsyncs_on_every_upload_route() {
    let srv = Server::start();
    let named = rsync_old("S", "S");
    let contents = rsync_old("", "S/");
    let one = rsync_old("", "S/f");
    for (i, (args, at, reference)) in [
        (&["put", "-r"][..], "S", &named),
        (&["put", "-r", "-a"][..], "S", &named),
        (&["mirror", "-R"][..], "", &contents),
        (&["put"][..], "", &one),
    ]
    .into_iter()
    .enumerate()
    {
        let here = tempdir("cli_backup_dir_up");
        let top = format!("up{i}");
        let (s, d) = (here.join("S"), srv.path(&format!("{top}/D")));
        ends(&s, &d, at);
        let src = if args == ["put"] { s.join("f") } else { s.clone() };
        let mut all = args.to_vec();
        let dst = format!("{top}/D");
        all.extend(["--backup-dir", "../old", src.to_str().unwrap(), &dst]);
        let o = srv.tf(&all);
        check(&all.join(" "), &srv.path(&format!("{top}/old")), reference, &o);
    }
}

#[test]
fn a_relative_backup_dir_is_rsyncs_on_every_download_route() {
    let srv = Server::start();
    let named = rsync_old("S", "S");
    let contents = rsync_old("", "S/");
    let one = rsync_old("", "S/f");
    for (i, (args, at, reference)) in [
        (&["get", "-r"][..], "S", &named),
        (&["get", "-r", "-a"][..], "S", &named),
        (&["mirror"][..], "", &contents),
        (&["get"][..], "", &one),
    ]
    .into_iter()
    .enumerate()
    {
        let here = tempdir("cli_backup_dir_down");
        let top = format!("down{i}");
        let (s, d) = (srv.path(&format!("{top}/S")), here.join("D"));
        ends(&s, &d, at);
        let src = if args == ["get"] {
            format!("{top}/S/f")
        } else {
            format!("{top}/S")
        };
        let mut all = args.to_vec();
        all.extend(["--backup-dir", "../old", &src, d.to_str().unwrap()]);
        let o = srv.tf(&all);
        check(&all.join(" "), &here.join("old"), reference, &o);
    }
}
