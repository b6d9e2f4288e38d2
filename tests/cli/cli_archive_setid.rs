//! Issue 61: a set-id file owned by another user keeps its set-id bits
//! through an archive copy, up and down, as `rsync -a` run by root keeps
//! them: the chown that gives a moved file its owner clears them, so the
//! mode is given again after it.

use crate::cli_archive::{chmod, stamp};
use crate::output::{ok, text};
use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use tfd_testkit::*;

/// A set-uid and a set-gid file owned by nobody on this machine.
fn setid_tree(src: &Path) {
    fs::create_dir_all(src).unwrap();
    for (name, mode) in [("suid", 0o4755), ("sgid", 0o2750)] {
        let p = src.join(name);
        fs::write(&p, b"set-id").unwrap();
        std::os::unix::fs::lchown(&p, Some(4321), Some(4322)).unwrap();
        chmod(&p, mode);
        stamp(&p, 1_400_000_000, 100);
    }
}

/// Both files below `root` kept their owner and their whole mode.
#[track_caller]
fn kept(root: &Path, t: &str) {
    for (name, mode) in [("suid", 0o4755), ("sgid", 0o2750)] {
        let m = fs::symlink_metadata(root.join(name)).unwrap_or_else(|e| panic!("{name}: {e}: {t}"));
        assert_eq!(
            (m.mode() & 0o7777, m.uid(), m.gid()),
            (mode, 4321, 4322),
            "{}/{name}: {t}",
            root.display()
        );
    }
}

#[test]
fn a_set_id_file_of_another_owner_keeps_its_bits_both_ways() {
    assert_eq!(tfd_sys::geteuid(), 0, "this test needs root (owners)");
    let srv = Server::start();
    let here = tempdir("cli_archive_setid");
    let src = here.join("src");
    setid_tree(&src);
    let s = src.to_str().unwrap();
    let o = srv.tf(&["mirror", "-R", "--owner", s, "up"]);
    ok(&o, "mirror -R --owner");
    kept(&srv.path("up"), &text(&o));
    fs::create_dir_all(srv.path("into")).unwrap();
    let o = srv.tf(&["put", "-r", "-a", s, "into"]);
    ok(&o, "put -r -a");
    kept(&srv.path("into/src"), &text(&o));

    setid_tree(&srv.path("gsrc"));
    let down = here.join("down");
    let o = srv.tf(&["mirror", "gsrc", down.to_str().unwrap()]);
    ok(&o, "mirror");
    kept(&down, &text(&o));
    fs::create_dir_all(here.join("got")).unwrap();
    let o = srv.tf(&["get", "-r", "-a", "gsrc", here.join("got").to_str().unwrap()]);
    ok(&o, "get -r -a");
    kept(&here.join("got/gsrc"), &text(&o));
    let _ = fs::remove_dir_all(&here);
}

/// Issue 82: `get -r -p` run as root keeps modes but no owners, so a
/// server's set-uid and set-gid files must not land as root's set-id files
/// (rsync -rp as root and sftp's `get -p` drop the bits); they land with
/// their other bits. Where the owner lands too (`get -r -a`, a mirror as
/// root), the bits come with it: the test above.
#[test]
fn get_r_p_as_root_lands_no_set_id_bits_without_the_owner() {
    assert_eq!(tfd_sys::geteuid(), 0, "this test needs root (owners)");
    let srv = Server::start();
    let here = tempdir("cli_archive_setid_p");
    let src = srv.path("hostile");
    fs::create_dir_all(&src).unwrap();
    for (name, mode) in [("suid", 0o4755), ("both", 0o6777), ("sticky", 0o1755)] {
        let p = src.join(name);
        fs::write(&p, b"set-id").unwrap();
        std::os::unix::fs::lchown(&p, Some(4321), Some(4322)).unwrap();
        chmod(&p, mode);
    }
    for (how, args) in [("get -r -p", &["get", "-r", "-p"][..]), ("get -r", &["get", "-r"][..])] {
        let into = here.join(how.replace(' ', "_"));
        fs::create_dir_all(&into).unwrap();
        let mut a = args.to_vec();
        a.extend(["hostile", into.to_str().unwrap()]);
        let o = srv.tf(&a);
        ok(&o, how);
        for name in ["suid", "both", "sticky"] {
            let m = fs::symlink_metadata(into.join("hostile").join(name)).unwrap();
            assert_eq!(
                m.mode() & 0o6000,
                0,
                "{how}: {name} landed {:o} as uid {}",
                m.mode(),
                m.uid()
            );
            assert_eq!(m.uid(), 0, "{how}: {name}");
        }
        if how == "get -r -p" {
            let mode = |n: &str| fs::symlink_metadata(into.join("hostile").join(n)).unwrap().mode() & 0o7777;
            assert_eq!(
                (mode("suid"), mode("both"), mode("sticky")),
                (0o755, 0o777, 0o1755),
                "{how}"
            );
        }
    }
    let _ = fs::remove_dir_all(&here);
}
