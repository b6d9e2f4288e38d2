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
    assert_eq!(put("put -r -a again"), 0, "a second run moves nothing");
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
    assert_eq!(get("get -a again"), 0, "a second run moves nothing");

    change(&src);
    let _ = fs::remove_dir_all(&reference);
    rsync_a(&src, &reference);
    get("get -a after the changes");
    same_as_rsync(&out.join("gsrc"), &reference);
    assert_eq!(get("get -a once more"), 0);
    let _ = fs::remove_dir_all(&here);
}

/// `mirror -R --owner` by a session tfd may not let give owners (here a
/// jailed one) is refused with one sentence naming why, before anything
/// moves. Before, every file went up and each one's owner failed alone.
#[test]
fn owner_asked_by_a_session_that_may_not_is_refused_before_anything_moves() {
    let srv = Server::start_with("injail\n");
    fs::create_dir_all(srv.path("jails/cell")).unwrap();
    fs::write(srv.path("jails/cell/jail.key"), "the-token\n").unwrap();
    let here = tempdir("cli_archive_owner_jailed");
    let src = here.join("src");
    fs::create_dir_all(&src).unwrap();
    fs::write(src.join("a"), b"one").unwrap();
    let o = srv.tf(&[
        "--jail",
        "the-token:jails/cell",
        "mirror",
        "-R",
        "--owner",
        s(&src),
        "up",
    ]);
    let t = text(&o);
    assert_eq!(o.status.code(), Some(2), "{t}");
    let said: Vec<&str> = t.lines().filter(|l| l.contains("--owner")).collect();
    assert_eq!(said.len(), 1, "{t}");
    assert!(said[0].contains("root") && said[0].contains("unjailed"), "{t}");
    assert!(!srv.path("jails/cell/up").exists(), "nothing moves: {t}");
    // without --owner the same mirror runs
    let o = srv.tf(&["--jail", "the-token:jails/cell", "mirror", "-R", s(&src), "up"]);
    ok(&o, "mirror -R jailed");
    assert_eq!(fs::read(srv.path("jails/cell/up/a")).unwrap(), b"one");
    let _ = fs::remove_dir_all(&here);
}
