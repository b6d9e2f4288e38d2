//! Issue 67 `--numeric-ids`: owners and groups go by number, as `rsync -a
//! --numeric-ids` keeps them: a file and a directory owned by ids no account
//! has, copied up by `put -r -a --numeric-ids` and down by `get -r -a
//! --numeric-ids` (root both ends), land with the same numbers as rsync's
//! copy.

use crate::output::ok;
use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use tfd_testkit::*;

const ID: (u32, u32) = (43_217, 43_219);

fn ids(p: &Path) -> (u32, u32) {
    let m = fs::symlink_metadata(p).unwrap();
    (m.uid(), m.gid())
}

#[test]
fn numeric_ids_keep_owners_by_number_both_ways_as_rsync() {
    assert!(is_root(), "this test needs root (owners)");
    let srv = Server::start();
    let here = tempdir("cli_numeric_ids");
    let (src, reference) = (here.join("src"), here.join("ref"));
    fs::create_dir_all(src.join("d")).unwrap();
    fs::write(src.join("d/f"), b"owned by a number").unwrap();
    for p in [src.join("d"), src.join("d/f")] {
        nix::unistd::chown(&p, Some(ID.0.into()), Some(ID.1.into())).unwrap();
    }
    let o = std::process::Command::new("rsync")
        .args([
            "-a",
            "--numeric-ids",
            &format!("{}/", src.display()),
            reference.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    ok(&o, "rsync -a --numeric-ids");
    fs::create_dir_all(srv.path("into")).unwrap();
    ok(
        &srv.tf(&["put", "-r", "-a", "--numeric-ids", src.to_str().unwrap(), "into"]),
        "put -r -a --numeric-ids",
    );
    let out = here.join("out");
    fs::create_dir_all(&out).unwrap();
    ok(
        &srv.tf(&["get", "-r", "-a", "--numeric-ids", "into/src", out.to_str().unwrap()]),
        "get -r -a --numeric-ids",
    );
    for rel in ["d", "d/f"] {
        let want = ids(&reference.join(rel));
        assert_eq!(want, ID);
        assert_eq!(ids(&srv.path("into/src").join(rel)), want, "up: {rel}");
        assert_eq!(ids(&out.join("src").join(rel)), want, "down: {rel}");
    }
    let _ = fs::remove_dir_all(&here);
}
