//! Issue 68, a tree's progress line as rsync's `--info=progress2` draws
//! it: from the plan made on the first listing on, one line for the whole
//! run (the batches and the big files that go alone alike), its whole the
//! bytes the plan moves (not what it leaves as it is), the share done, the
//! rate and the time left. `--progress` draws it on a stderr that is no
//! terminal, so the tests read it.

use crate::output::{ok, stderr, stdout, text};
use std::fs;
use std::path::Path;
use tfd_testkit::*;

/// Twenty files of 100,000 bytes and one of 9 MiB (more than a batch
/// carries: it goes alone, after the batches): 10.9 MiB in all.
fn build(dir: &Path) {
    fs::create_dir_all(dir.join("sub")).unwrap();
    for i in 0..20 {
        fs::write(dir.join("sub").join(format!("f{i}")), vec![i as u8; 100_000]).unwrap();
    }
    fs::write(dir.join("big"), vec![7u8; 9 << 20]).unwrap();
}

/// The drawings of the line, first to last.
fn drawn(o: &std::process::Output) -> Vec<String> {
    let err = stderr(o);
    let line = err.lines().find(|l| l.contains('\r')).unwrap_or_default().to_string();
    line.split('\r')
        .map(|s| s.trim_end().to_string())
        .filter(|s| !s.is_empty())
        .collect()
}

/// The whole the line says ("X of WHOLE  ...").
fn whole(drawing: &str) -> &str {
    drawing
        .split("  ")
        .next()
        .and_then(|s| s.split(" of ").nth(1))
        .unwrap_or_default()
}

/// The line's first drawing already says the plan's whole, its last one
/// says it all moved, and the summary's bytes (put's, get's) are that whole.
fn check(o: &std::process::Output, total: &str, files: usize) {
    ok(o, "the run");
    let d = drawn(o);
    let (Some(first), Some(last)) = (d.first(), d.last()) else {
        panic!("no progress line: {}", text(o));
    };
    assert_eq!(whole(first), total, "first: {first:?} {}", text(o));
    assert!(last.starts_with(&format!("{total} of {total}  100%")), "last: {last:?}");
    assert!(last.ends_with(&format!("{files}/{files} files")), "last: {last:?}");
    if !stdout(o).starts_with("mirror") {
        assert!(stdout(o).contains(&format!("({total} in ")), "{}", text(o));
    }
}

#[test]
fn get_r_draws_the_whole_from_the_first_listing_on() {
    let srv = Server::start();
    build(&srv.path("tree"));
    let here = tempdir("cli_progress_get");
    let o = srv.tf(&["--progress", "get", "-r", "tree/", here.join("down").to_str().unwrap()]);
    check(&o, "10.9 MiB", 21);
    assert_eq!(fs::read(here.join("down/big")).unwrap().len(), 9 << 20);
    let o = srv.tf(&[
        "--progress",
        "get",
        "-r",
        "-a",
        "tree",
        here.join("arch").to_str().unwrap(),
    ]);
    check(&o, "10.9 MiB", 21);
}

#[test]
fn put_r_draws_one_line_for_the_batches_and_the_big_files() {
    let srv = Server::start();
    let here = tempdir("cli_progress_put");
    build(&here.join("tree"));
    let o = srv.tf(&[
        "--progress",
        "put",
        "-r",
        &format!("{}/", here.join("tree").display()),
        "up",
    ]);
    check(&o, "10.9 MiB", 21);
    assert_eq!(fs::read(srv.path("up/big")).unwrap().len(), 9 << 20);
    let o = srv.tf(&[
        "--progress",
        "put",
        "-r",
        "-a",
        here.join("tree").to_str().unwrap(),
        "arch",
    ]);
    check(&o, "10.9 MiB", 21);
}

#[test]
fn a_mirrors_whole_is_what_it_moves_not_what_it_leaves() {
    let srv = Server::start();
    let here = tempdir("cli_progress_mirror");
    let src = here.join("tree");
    build(&src);
    let o = srv.tf(&["--progress", "mirror", "-R", src.to_str().unwrap(), "up"]);
    check(&o, "10.9 MiB", 21);
    // one file changed: the whole is its bytes alone
    fs::write(src.join("sub/f3"), vec![9u8; 300_000]).unwrap();
    let o = srv.tf(&["--progress", "mirror", "-R", src.to_str().unwrap(), "up"]);
    check(&o, "293.0 KiB", 1);
    assert_eq!(fs::read(srv.path("up/sub/f3")).unwrap(), vec![9u8; 300_000]);
    let down = here.join("down");
    let o = srv.tf(&["--progress", "mirror", "up", down.to_str().unwrap()]);
    check(&o, "11.1 MiB", 21);
    fs::write(srv.path("up/sub/f4"), vec![5u8; 200_000]).unwrap();
    let o = srv.tf(&["--progress", "mirror", "up", down.to_str().unwrap()]);
    check(&o, "195.3 KiB", 1);
    assert_eq!(fs::read(down.join("sub/f4")).unwrap(), vec![5u8; 200_000]);
}
