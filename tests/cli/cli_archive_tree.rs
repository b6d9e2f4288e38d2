//! Issue 61: `put -r -a` and `get -r -a` keep what `rsync -a` keeps. The
//! tree of cli_archive is copied by `rsync -a` and by tf into an existing
//! directory, both ways, and every entry of the two copies is compared by
//! lstat (kind, mode, mtime to the nanosecond, size, link target, owner) and
//! by its bytes; a second run moves nothing, and after each kind of change
//! one run makes the copies identical again.

use crate::cli_archive::{build, change, rsync_a, same_as_rsync};
use crate::output::{ok, stdout, text};
use std::fs;
use std::path::Path;
use tfd_testkit::*;

/// The files and entries a tree run says it moved (its summary line).
fn moved(o: &std::process::Output) -> usize {
    let out = stdout(o);
    let line = out
        .lines()
        .find(|l| l.contains(" transferred, "))
        .unwrap_or_else(|| panic!("no summary: {}", text(o)));
    let n = line.split(": ").nth(1).and_then(|r| r.split(' ').next());
    n.and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no count in {line}"))
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// Every entry's ctime below and at `root`: what a run that moves nothing
/// must leave as it was.
fn ctimes(root: &Path) -> Vec<(std::path::PathBuf, i64, i64)> {
    use std::os::unix::fs::MetadataExt;
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(p) = stack.pop() {
        let m = fs::symlink_metadata(&p).unwrap();
        if m.is_dir() {
            stack.extend(fs::read_dir(&p).unwrap().map(|e| e.unwrap().path()));
        }
        out.push((p, m.ctime(), m.ctime_nsec()));
    }
    out.sort();
    out
}

#[test]
fn put_r_a_is_what_rsync_a_makes_and_a_second_run_moves_nothing() {
    let srv = Server::start();
    let here = tempdir("cli_archive_put_a");
    let (src, reference) = (here.join("src"), here.join("ref"));
    fs::create_dir_all(&src).unwrap();
    build(&src);
    rsync_a(&src, &reference);
    fs::create_dir_all(srv.path("into")).unwrap();
    let put = |what| {
        let o = srv.tf(&["put", "-r", "-a", s(&src), "into"]);
        ok(&o, what);
        moved(&o)
    };
    assert_eq!(put("put -r -a"), 13, "7 files, 5 links and a FIFO");
    same_as_rsync(&srv.path("into/src"), &reference);
    // whether the session may give owners comes with the archive probe's
    // OK, in the FSTAT's round trip (before: a batch of its own, two round
    // trips; before that three of them)
    let probes = srv.log().matches("TFDPUTMANY stored 0 of 1 files").count();
    assert_eq!(probes, 0, "{}", srv.log());
    // the links, the FIFO and the directories rode at the batches' ends:
    // no archive batch of its own after the data (a round trip each run)
    let closing = srv.log().matches(" files, 0 bytes").count();
    assert_eq!(closing, 0, "{}", srv.log());
    // nor changes anything: before, the root was stamped again each run and
    // the file dated 2100 hashed and stamped again (its ctime before its
    // mtime read as a copy made in its mtime's second)
    let before = ctimes(&srv.path("into/src"));
    assert_eq!(put("put -r -a again"), 0, "a second run moves nothing");
    assert_eq!(ctimes(&srv.path("into/src")), before, "a second run changed the copy");
    same_as_rsync(&srv.path("into/src"), &reference);

    change(&src);
    let _ = fs::remove_dir_all(&reference);
    rsync_a(&src, &reference);
    put("put -r -a after the changes");
    same_as_rsync(&srv.path("into/src"), &reference);
    assert_eq!(put("put -r -a once more"), 0);
    let _ = fs::remove_dir_all(&here);
}

#[test]
fn get_r_a_is_what_rsync_a_makes_and_a_second_run_moves_nothing() {
    let srv = Server::start();
    let here = tempdir("cli_archive_get_a");
    let src = srv.path("gsrc");
    fs::create_dir_all(&src).unwrap();
    build(&src);
    let (out, reference) = (here.join("out"), here.join("ref"));
    rsync_a(&src, &reference);
    fs::create_dir_all(&out).unwrap();
    let get = |what| {
        let o = srv.tf(&["get", "--archive", "gsrc", s(&out)]);
        ok(&o, what);
        moved(&o)
    };
    assert_eq!(get("get -a"), 13, "7 files, 5 links and a FIFO");
    same_as_rsync(&out.join("gsrc"), &reference);
    let before = ctimes(&out.join("gsrc"));
    assert_eq!(get("get -a again"), 0, "a second run moves nothing");
    assert_eq!(ctimes(&out.join("gsrc")), before, "a second run changed the copy");

    change(&src);
    let _ = fs::remove_dir_all(&reference);
    rsync_a(&src, &reference);
    get("get -a after the changes");
    same_as_rsync(&out.join("gsrc"), &reference);
    assert_eq!(get("get -a once more"), 0);
    let _ = fs::remove_dir_all(&here);
}

/// `mirror -R --owner` by a session tfd may not let give owners (here a
/// jailed one) runs as rsync -o to a receiver that is not root does: the
/// files go, their owners are left out, nothing is said (with `-v`, one
/// line). Before, it was refused ("nothing done", rc 2), and before that
/// every file went up and each one's owner failed alone.
#[test]
fn owner_asked_by_a_session_that_may_not_is_left_out_as_rsync_leaves_it() {
    let srv = Server::start_with("injail\n");
    fs::create_dir_all(srv.path("jails/cell")).unwrap();
    fs::write(srv.path("jails/cell/jail.key"), "the-token\n").unwrap();
    let here = tempdir("cli_archive_owner_jailed");
    let src = here.join("src");
    fs::create_dir_all(&src).unwrap();
    fs::write(src.join("a"), b"one").unwrap();
    for (verbose, dst) in [(false, "up"), (true, "up-v")] {
        let mut args = vec![
            "--jail",
            "the-token:jails/cell",
            "mirror",
            "-R",
            "--owner",
            s(&src),
            dst,
        ];
        if verbose {
            args.insert(0, "-v");
        }
        let o = srv.tf(&args);
        ok(&o, "mirror -R --owner jailed");
        let t = text(&o);
        let said = t.lines().filter(|l| l.contains("owners")).count();
        assert_eq!(said, usize::from(verbose), "{t}");
        assert_eq!(fs::read(srv.path(&format!("jails/cell/{dst}/a"))).unwrap(), b"one");
    }
    let _ = fs::remove_dir_all(&here);
}

/// Against a server without tfd's archive copies (the liar answers
/// TFDENTRIES and the batches UNKNOWN, as the reference server does), a
/// mirror and `put -r -a` copy the files and say in one line what they could
/// not keep, the links and the FIFO counted in it rather than told one by
/// one (before: a line per link, and nothing said of the modes and times).
#[test]
fn a_server_without_archive_copies_is_told_once_what_was_not_kept() {
    use tfd_testkit::liar::{Liar, Node, Script};
    let here = tempdir("cli_archive_unkept");
    let src = here.join("src");
    fs::create_dir_all(src.join("d")).unwrap();
    fs::write(src.join("d/a"), b"one").unwrap();
    fs::write(src.join("b"), b"two").unwrap();
    for (name, target) in [("l1", "b"), ("l2", "/etc/passwd"), ("d/l3", "../b")] {
        std::os::unix::fs::symlink(target, src.join(name)).unwrap();
    }
    crate::cli_archive::mkfifo(&src.join("fifo"));
    let once = |o: &std::process::Output, what: &str| {
        let t = text(o);
        assert!(o.status.success(), "{what}: {t}");
        let said: Vec<&str> = t.lines().filter(|l| l.contains("not kept")).collect();
        assert_eq!(said.len(), 1, "{what}: {t}");
        assert!(said[0].contains("4 symlink(s), FIFO(s)"), "{what}: {t}");
        // put -r -a speaks as put, though a mirror's code runs it
        let verb = what.split(' ').next().unwrap_or_default();
        assert!(said[0].contains(&format!("{verb}: the server has no")), "{what}: {t}");
        assert!(!t.contains("skipped\n") && !t.contains("not followed"), "{what}: {t}");
    };
    let liar = Liar::start(Script::new().dir("into"));
    let o = liar.tf_command(&["mirror", "-R", s(&src), "up"]).output().unwrap();
    once(&o, "mirror -R");
    let o = liar.tf_command(&["put", "-r", "-a", s(&src), "into"]).output().unwrap();
    once(&o, "put -r -a");
    for p in ["up/d/a", "into/src/d/a"] {
        assert_eq!(liar.node(p), Some(Node::File(b"one".to_vec())), "{p}");
    }
    // down: nothing left out, the rest said once
    let o = liar
        .tf_command(&["mirror", "up", s(&here.join("down"))])
        .output()
        .unwrap();
    let t = text(&o);
    assert!(o.status.success(), "{t}");
    assert_eq!(t.lines().filter(|l| l.contains("not kept")).count(), 1, "{t}");
    assert_eq!(fs::read(here.join("down/b")).unwrap(), b"two");
    let _ = fs::remove_dir_all(&here);
}

/// A file, a directory, and links to each beside them, one dangling.
fn linked_tree(src: &Path) {
    fs::create_dir_all(src.join("d")).unwrap();
    fs::write(src.join("d/x"), b"in d").unwrap();
    fs::write(src.join("f"), b"the file").unwrap();
    for (name, target) in [("lf", "f"), ("ld", "d"), ("dangling", "nowhere")] {
        std::os::unix::fs::symlink(target, src.join(name)).unwrap();
    }
}

/// `lf` and `ld` below `root` are what the links named: a file and a
/// directory, not links.
#[track_caller]
fn followed(root: &Path, t: &str) {
    let lf = fs::symlink_metadata(root.join("lf")).unwrap_or_else(|e| panic!("{e}: {t}"));
    assert!(lf.is_file(), "lf: {lf:?}: {t}");
    assert_eq!(fs::read(root.join("lf")).unwrap(), b"the file");
    assert!(fs::symlink_metadata(root.join("ld")).unwrap().is_dir(), "{t}");
    assert_eq!(fs::read(root.join("ld/x")).unwrap(), b"in d");
}

/// `-L` (rsync's --copy-links): a link in the source lands as what it
/// names, a file's contents as a file and a directory's tree as a
/// directory, for mirror both ways and put/get -r; a dangling link and one
/// to a directory holding it (a loop) are left out and told. Before, -L was
/// no option of either.
#[test]
fn copy_links_land_as_what_they_name() {
    let srv = Server::start();
    let here = tempdir("cli_archive_copy_links");
    let src = here.join("src");
    linked_tree(&src);
    std::os::unix::fs::symlink("..", src.join("d/up")).unwrap();
    let o = srv.tf(&["mirror", "-R", "-L", s(&src), "up"]);
    let t = text(&o);
    followed(&srv.path("up"), &t);
    assert!(t.contains("dangling") && t.contains("loop"), "{t}");
    assert!(fs::symlink_metadata(srv.path("up/dangling")).is_err(), "{t}");
    fs::create_dir_all(srv.path("into")).unwrap();
    let o = srv.tf(&["put", "-r", "--copy-links", s(&src), "into"]);
    followed(&srv.path("into/src"), &text(&o));

    // on the server a loop is seen by the link's text (no inode is listed):
    // left out and named, not copied 16 levels deep
    linked_tree(&srv.path("gsrc"));
    std::os::unix::fs::symlink("..", srv.path("gsrc/d/up")).unwrap();
    let o = srv.tf(&["mirror", "-L", "gsrc", s(&here.join("down"))]);
    let t = text(&o);
    ok(&o, "mirror -L");
    followed(&here.join("down"), &t);
    assert!(t.contains("d/up") && t.contains("loop"), "{t}");
    assert!(fs::symlink_metadata(here.join("down/d/up")).is_err(), "{t}");
    fs::create_dir_all(here.join("got")).unwrap();
    let o = srv.tf(&["get", "-r", "-L", "gsrc", s(&here.join("got"))]);
    let t = text(&o);
    ok(&o, "get -r -L");
    followed(&here.join("got/gsrc"), &t);
    assert!(t.contains("get: d/up") && t.contains("loop"), "{t}");
    assert!(fs::symlink_metadata(here.join("got/gsrc/d/up")).is_err(), "{t}");
    let _ = fs::remove_dir_all(&here);
}

/// A character device `null` (1, 3) in `dir`, and a file beside it.
fn with_device(dir: &Path) {
    use std::os::fd::AsFd;
    fs::create_dir_all(dir).unwrap();
    fs::write(dir.join("f"), b"beside").unwrap();
    let d = fs::File::open(dir).unwrap();
    tfd_sys::mknodat(d.as_fd(), c"null", libc::S_IFCHR | 0o640, libc::makedev(1, 3)).unwrap();
}

/// The device `null` below `root`, made as what it is.
#[track_caller]
fn device_made(root: &Path, t: &str) {
    use std::os::unix::fs::{FileTypeExt, MetadataExt};
    let m = fs::symlink_metadata(root.join("null")).unwrap_or_else(|e| panic!("{e}: {t}"));
    assert!(m.file_type().is_char_device(), "{t}");
    assert_eq!((m.rdev(), m.mode() & 0o7777), (libc::makedev(1, 3), 0o640), "{t}");
}

/// `mirror -D` makes character devices as what they are both ways where
/// both ends are root (tf and tfd run as root here); without it a device is
/// left out and named. Before, -D was no option and devices were always
/// left out.
#[test]
fn devices_are_made_with_d_where_both_ends_are_root() {
    assert_eq!(tfd_sys::geteuid(), 0, "this test needs root (devices)");
    let srv = Server::start();
    let here = tempdir("cli_archive_devices");
    let src = here.join("src");
    with_device(&src);
    let o = srv.tf(&["mirror", "-R", "-D", s(&src), "up"]);
    ok(&o, "mirror -R -D");
    device_made(&srv.path("up"), &text(&o));
    with_device(&srv.path("gsrc"));
    let o = srv.tf(&["mirror", "-D", "gsrc", s(&here.join("down"))]);
    ok(&o, "mirror -D");
    device_made(&here.join("down"), &text(&o));
    let o = srv.tf(&["mirror", "gsrc", s(&here.join("plain"))]);
    let t = text(&o);
    ok(&o, "mirror without -D");
    assert!(fs::symlink_metadata(here.join("plain/null")).is_err(), "{t}");
    assert_eq!(t.lines().filter(|l| l.contains("null")).count(), 1, "named once: {t}");
    let _ = fs::remove_dir_all(&here);
}

/// A file of 32 MiB and more goes alone (staged), whose commit keeps the
/// mtime's seconds: its nanoseconds follow, so put -r -a and mirror -R land
/// it as rsync -a does and a second run leaves it alone. Before, it landed
/// .000000000 and every run sent it again. (Found by the WAN bench.)
#[test]
fn a_big_file_keeps_its_mtime_to_the_nanosecond_up() {
    use std::os::unix::fs::MetadataExt;
    let srv = Server::start();
    let here = tempdir("cli_archive_big_ns");
    let src = here.join("src");
    fs::create_dir_all(&src).unwrap();
    let big = src.join("big");
    fs::write(&big, vec![7u8; 33 << 20]).unwrap();
    crate::cli_archive::stamp(&big, 1_620_000_000, 987_654_321);
    fs::create_dir_all(srv.path("into")).unwrap();
    for (args, landed) in [
        (vec!["put", "-r", "-a", s(&src), "into"], srv.path("into/src/big")),
        (vec!["mirror", "-R", s(&src), "up"], srv.path("up/big")),
    ] {
        let o = srv.tf(&args);
        ok(&o, "first run");
        let m = fs::metadata(&landed).unwrap();
        assert_eq!(
            (m.mtime(), m.mtime_nsec()),
            (1_620_000_000, 987_654_321),
            "{}",
            text(&o)
        );
        let before = ctimes(&landed);
        let o = srv.tf(&args);
        ok(&o, "second run");
        assert_eq!(moved(&o), 0, "{}", text(&o));
        assert_eq!(ctimes(&landed), before, "the second run changed it: {}", text(&o));
    }
    let _ = fs::remove_dir_all(&here);
}

/// A tree's big files go alone (staged) after its batches, into
/// directories only they lie in, which the batches made: over four sessions
/// two big files in directories of their own and many small files land
/// whole by put -r, put -r -a and mirror -R, and a second mirror moves
/// nothing.
#[test]
fn big_files_after_the_batches_land_in_directories_only_they_lie_in() {
    let srv = Server::start();
    let here = tempdir("cli_archive_big_beside");
    let src = here.join("src");
    for (name, len, seed) in [("x/y/z/big1", 33 << 20, 71), ("p/q/big2", 34 << 20, 72)] {
        data_dir_write(&src.join(name), &pattern(len, seed));
    }
    for i in 0..40 {
        data_dir_write(
            &src.join(format!("s/{}/f{i}", i % 5)),
            &pattern(3000 + i * 100, i as u64),
        );
    }
    fs::create_dir_all(srv.path("into")).unwrap();
    for (args, landed) in [
        // a missing destination is made, the tree under its name in it
        (
            vec!["put", "-r", "--jobs", "4", s(&src), "plain"],
            srv.path("plain/src"),
        ),
        (
            vec!["put", "-r", "-a", "--jobs", "4", s(&src), "into"],
            srv.path("into/src"),
        ),
        (vec!["mirror", "-R", "--jobs", "4", s(&src), "up"], srv.path("up")),
    ] {
        let o = srv.tf(&args);
        ok(&o, &args.join(" "));
        assert_eq!(moved(&o), 42, "{}", text(&o));
        same_tree(&src, &landed);
    }
    let o = srv.tf(&["mirror", "-R", "--jobs", "4", s(&src), "up"]);
    ok(&o, "second mirror");
    assert_eq!(moved(&o), 0, "{}", text(&o));
    let _ = fs::remove_dir_all(&here);
}
