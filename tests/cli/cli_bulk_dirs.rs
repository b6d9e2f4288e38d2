//! Issue 62: a tree's directories travel in its batch (`D <path>` entries of
//! a plain TFDPUTMANY, compressed where the batch is), not a MKDIR and an
//! answer each: `put -r` and `mirror -R` of 500 directories (nested and
//! empty) and some files send no MKDIR, land the tree whole with the modes
//! MKDIR gives, take directories that exist, and name a file that stands
//! where a directory goes (what is below it is not sent).

use crate::output::{ok, text};
use crate::trees::inventory;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use tfd_testkit::*;

/// 100 chains of five nested directories (500), a file in every tenth
/// chain's deepest one and one at the top.
fn many_dirs(root: &Path) {
    for i in 0..100 {
        let deep = root.join(format!("d{i}/a/b/c/e"));
        fs::create_dir_all(&deep).unwrap();
        if i % 10 == 0 {
            fs::write(deep.join("f.txt"), format!("file {i}\n").repeat(50)).unwrap();
        }
    }
    fs::write(root.join("top.txt"), b"top").unwrap();
}

fn mkdirs(srv: &Server) -> usize {
    srv.settled_log().matches("command MKDIR").count()
}

/// The permission bits of every directory below `root`.
fn dir_modes(root: &Path) -> Vec<u32> {
    let mut out = Vec::new();
    for (p, kind) in inventory(root) {
        if kind == "dir" {
            out.push(fs::metadata(root.join(p)).unwrap().permissions().mode() & 0o7777);
        }
    }
    out
}

#[test]
fn put_r_and_mirror_make_a_trees_directories_in_the_batch() {
    let srv = Server::start();
    let src = tempdir("bulk_dirs_src");
    many_dirs(&src);
    let s = src.to_str().unwrap();
    // the mode MKDIR gives, to compare with
    ok(&srv.tf(&["mkdir", "by_mkdir"]), "mkdir");
    let mkdir_mode = fs::metadata(srv.path("by_mkdir")).unwrap().permissions().mode() & 0o7777;
    let before = mkdirs(&srv);
    let o = srv.tf(&["put", "-r", &format!("{s}/"), "up"]);
    ok(&o, "tree");
    assert_eq!(inventory(&srv.path("up")), inventory(&src));
    assert_eq!(mkdirs(&srv), before, "a MKDIR per directory:\n{}", srv.log());
    assert!(srv.log().contains("of them directories"), "{}", srv.log());
    let modes = dir_modes(&srv.path("up"));
    assert_eq!(modes.len(), 500);
    assert!(modes.iter().all(|&m| m == mkdir_mode), "{modes:?} against {mkdir_mode}");
    // again onto what exists: fine, nothing made twice
    let name = src.file_name().unwrap().to_str().unwrap();
    ok(&srv.tf(&["put", "-r", s, "up"]), "put again");
    assert_eq!(inventory(&srv.path(&format!("up/{name}"))), inventory(&src));
    // mirror -R into a new directory
    let o = srv.tf(&["mirror", "-R", s, "mirrored"]);
    ok(&o, "tree");
    assert_eq!(inventory(&srv.path("mirrored")), inventory(&src));
    assert_eq!(mkdirs(&srv), before, "a MKDIR per directory:\n{}", srv.log());
    let _ = fs::remove_dir_all(&src);
}

#[test]
fn a_file_where_a_directory_goes_is_named_and_what_is_below_is_not_sent() {
    let srv = Server::start();
    let src = tempdir("bulk_dirs_clash");
    many_dirs(&src);
    let s = src.to_str().unwrap();
    let name = src.file_name().unwrap().to_str().unwrap();
    let at = |p: &str| srv.path(&format!("clash/{name}/{p}"));
    fs::create_dir_all(at("d0")).unwrap();
    fs::write(at("d0/a"), b"in the way").unwrap();
    // a link where a directory goes is not followed
    fs::create_dir_all(srv.path("outside")).unwrap();
    std::os::unix::fs::symlink("../../../outside", at("d10")).unwrap();
    let o = srv.tf(&["put", "-r", s, "clash"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    let t = text(&o);
    assert!(t.contains("d0/a:"), "{t}");
    assert!(t.contains("a file stands where the directory goes"), "{t}");
    assert!(t.contains("not followed"), "{t}");
    assert!(t.contains("not sent"), "{t}");
    assert_eq!(fs::read(at("d0/a")).unwrap(), b"in the way");
    assert_eq!(
        fs::read_dir(srv.path("outside")).unwrap().count(),
        0,
        "written through the link"
    );
    // the rest landed
    assert!(at("d20/a/b/c/e/f.txt").is_file());
    assert!(at("d99/a/b/c/e").is_dir());
    let _ = fs::remove_dir_all(&src);
}
