//! `tf backup` makes what it keeps on the server private to the user who
//! made it (issue 82), whatever the modes around it: the backup's name
//! (when tf makes it) and each snapshot 0700, the index 0600, a part an
//! older tf left 0755 made 0700 before it is taken over; the copies keep
//! their own modes, which a restore brings back.

use crate::output::ok;
use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;
use tfd_testkit::*;

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn mode(p: &Path) -> u32 {
    fs::symlink_metadata(p).unwrap().mode() & 0o7777
}

#[test]
fn a_backups_directories_and_index_are_private() {
    let srv = Server::start();
    fs::set_permissions(srv.path(""), fs::Permissions::from_mode(0o755)).unwrap();
    let here = tempdir("cli_snap_private");
    let src = here.join("src");
    crate::cli_snap::write(&src.join("a"), b"a", 0o644, 100);
    crate::cli_snap::write(&src.join("d/b"), b"b", 0o664, 100);
    fs::set_permissions(src.join("d"), fs::Permissions::from_mode(0o777)).unwrap();
    ok(&srv.tf(&["backup", s(&src), "area/bk"]), "backup 1");
    let bk = srv.path("area/bk");
    assert_eq!(mode(&srv.path("area")), 0o755, "a parent of the name is MKDIR's");
    assert_eq!(mode(&bk), 0o700, "the backup's name");
    let first = dir_names(&bk);
    assert_eq!(first.len(), 1, "{first:?}");
    assert_eq!(mode(&bk.join(&first[0])), 0o700, "the snapshot");
    assert_eq!(mode(&bk.join(&first[0]).join("index")), 0o600, "the index");
    assert_eq!(mode(&bk.join(&first[0]).join("tree/d")), 0o777, "a copy keeps its mode");
    assert_eq!(
        mode(&bk.join(&first[0]).join("tree/d/b")),
        0o664,
        "a copy keeps its mode"
    );

    // an older tf's part, open to all: made private, then taken over
    let part = bk.join(".part-2026-01-01T000000.000Z");
    fs::create_dir(&part).unwrap();
    fs::set_permissions(&part, fs::Permissions::from_mode(0o755)).unwrap();
    let owner = fs::metadata(&bk).unwrap();
    std::os::unix::fs::chown(&part, Some(owner.uid()), Some(owner.gid())).unwrap();
    ok(&srv.tf(&["backup", s(&src), "area/bk"]), "backup 2");
    let now = dir_names(&bk);
    assert_eq!(now.len(), 2, "the part taken over, none left: {now:?}");
    for sn in &now {
        assert_eq!(mode(&bk.join(sn)), 0o700, "{sn}");
        assert_eq!(mode(&bk.join(sn).join("index")), 0o600, "{sn}/index");
    }
    // the restore brings the copies' own modes back
    let back = here.join("back");
    ok(&srv.tf(&["restore", "area/bk", s(&back)]), "restore");
    assert_eq!(mode(&back.join("a")), 0o644);
    assert_eq!(mode(&back.join("d")), 0o777);
    assert_eq!(mode(&back.join("d/b")), 0o664);
    let _ = fs::remove_dir_all(&here);
}
