//! `tf mirror` (issue 26, part 3's mirror and part 5's mirror half), through
//! the real binary against a real tfd: trees mirrored both ways and compared
//! file by file (SHA-256; empty files and directories, spaces, UTF-8), a
//! second run that moves nothing (the files keep their inodes: a transfer
//! always lands a new file renamed into place), changed files found by size,
//! by mtime and, with --checksum, by content alone; --delete both ways
//! removing the extras and only those; --dry-run changing nothing; the shell.

use crate::output::{ok, text};
use crate::trees::{self, inventory};
use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::{Duration, SystemTime};
use tfd_testkit::*;

/// The summary line's counts: (transferred, deleted, unchanged, failed).
pub(crate) fn counts(o: &Output) -> (usize, usize, usize, usize) {
    let out = String::from_utf8_lossy(&o.stdout);
    let line = out
        .lines()
        .rev()
        .find(|l| l.starts_with("mirror: "))
        .unwrap_or_else(|| panic!("no summary line: {}", text(o)));
    let n: Vec<usize> = line
        .split(|c: char| !c.is_ascii_digit())
        .filter(|w| !w.is_empty())
        .map(|w| w.parse().unwrap())
        .collect();
    (n[0], n[1], n[2], n[3])
}

/// Inode and mtime of every file below `root` (what a transfer changes).
fn stamps(root: &Path) -> BTreeMap<PathBuf, (u64, i64)> {
    inventory(root)
        .into_iter()
        .filter(|(_, v)| v != "dir" && v != "link")
        .map(|(p, _)| {
            let m = fs::metadata(root.join(&p)).unwrap();
            (p, (m.ino(), m.mtime()))
        })
        .collect()
}

/// Eight files, all of them counted in the summaries below.
const TREE: [(&str, usize); 8] = [
    ("a.txt", 1000),
    ("empty", 0),
    ("with space/b c.bin", 70_000),
    ("日本語/ünïcödé.txt", 33),
    (".hidden", 5),
    ("d1/d2/d3/deep", 4096),
    ("d1/d2/mid", 1 << 20),
    ("d1/empty too", 0),
];

fn sample_tree(root: &Path) {
    trees::sample_tree(root, &TREE);
}

fn set_mtime(p: &Path, secs_ago: u64) {
    let f = fs::File::options().write(true).open(p).unwrap();
    f.set_modified(SystemTime::now() - Duration::from_secs(secs_ago))
        .unwrap();
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[test]
fn trees_mirror_both_ways_and_a_second_run_moves_nothing() {
    let srv = Server::start();
    let here = tempdir("cli_mirror_rt");
    let src = here.join("src tree");
    sample_tree(&src);
    let want = inventory(&src);
    // up: the remote directory does not exist yet
    let o = srv.tf(&["mirror", "-R", "--jobs", "3", s(&src), "up"]);
    ok(&o, "mirror -R");
    assert_eq!(counts(&o), (8, 0, 0, 0), "{}", text(&o));
    assert_eq!(inventory(&srv.path("up")), want, "the server's copy");
    // down: into a local directory that does not exist yet
    let back = here.join("back");
    let o = srv.tf(&["mirror", "up", s(&back)]);
    ok(&o, "mirror");
    assert_eq!(counts(&o), (8, 0, 0, 0), "{}", text(&o));
    assert_eq!(inventory(&back), want, "the local copy");
    for f in ["a.txt", "d1/d2/mid", "empty", "日本語/ünïcödé.txt"] {
        let sm = fs::metadata(srv.path("up").join(f)).unwrap().mtime();
        assert_eq!(
            fs::metadata(back.join(f)).unwrap().mtime(),
            sm,
            "{f}: the server's mtime"
        );
    }
    // nothing changed: nothing moves either way, no file is replaced
    let (remote_before, local_before) = (stamps(&srv.path("up")), stamps(&back));
    let o = srv.tf(&["mirror", "-R", s(&src), "up"]);
    ok(&o, "mirror -R again");
    assert_eq!(counts(&o), (0, 0, 8, 0), "{}", text(&o));
    let o = srv.tf(&["mirror", "up", s(&back)]);
    ok(&o, "mirror again");
    assert_eq!(counts(&o), (0, 0, 8, 0), "{}", text(&o));
    assert_eq!(
        stamps(&srv.path("up")),
        remote_before,
        "the server's files were rewritten"
    );
    assert_eq!(stamps(&back), local_before, "the local files were rewritten");
    // into an existing local directory: its contents become the source's (not a subdirectory)
    let o = srv.tf(&["mirror", "up/d1", s(&back.join("d1"))]);
    ok(&o, "mirror of a subdirectory");
    assert_eq!(counts(&o), (0, 0, 3, 0), "{}", text(&o));
    let _ = fs::remove_dir_all(&here);
}

#[test]
fn changed_files_move_by_size_mtime_or_checksum() {
    let srv = Server::start();
    let here = tempdir("cli_mirror_changed");
    let local = here.join("local");
    sample_tree(&local);
    ok(&srv.tf(&["mirror", "-R", s(&local), "r"]), "first upload");
    ok(&srv.tf(&["mirror", "r", s(&local)]), "first download");
    // on the server: same size, other mtime; other size
    let remote = srv.path("r");
    set_mtime(&remote.join("a.txt"), 5000);
    fs::write(remote.join("d1/d2/d3/deep"), b"shorter").unwrap();
    let before = stamps(&local);
    let o = srv.tf(&["mirror", "r", s(&local)]);
    ok(&o, "mirror after changes");
    assert_eq!(counts(&o), (2, 0, 6, 0), "{}", text(&o));
    assert_eq!(inventory(&local), inventory(&remote));
    let after = stamps(&local);
    for f in ["a.txt", "d1/d2/d3/deep"] {
        assert_ne!(after[Path::new(f)], before[Path::new(f)], "{f} not moved");
    }
    assert_eq!(after[Path::new("d1/d2/mid")], before[Path::new("d1/d2/mid")]);
    // same size and mtime, other bytes: only --checksum sees it, once the
    // times are far enough from the last transfer to be compared (a copy that
    // landed in the second of its mtime is compared by content: see
    // tests/cli/cli_resume.rs); the file first gets an old mtime and moves
    let mid = remote.join("d1/d2/mid");
    set_mtime(&mid, 3000);
    let o = srv.tf(&["mirror", "r", s(&local)]);
    ok(&o, "mirror of an older mtime");
    assert_eq!(counts(&o), (1, 0, 7, 0), "{}", text(&o));
    let mtime = fs::metadata(&mid).unwrap().modified().unwrap();
    let mut bytes = fs::read(&mid).unwrap();
    bytes[1000] ^= 0xff;
    fs::write(&mid, &bytes).unwrap();
    fs::File::options()
        .write(true)
        .open(&mid)
        .unwrap()
        .set_modified(mtime)
        .unwrap();
    let o = srv.tf(&["mirror", "r", s(&local)]);
    ok(&o, "mirror without --checksum");
    assert_eq!(counts(&o).0, 0, "{}", text(&o));
    assert_ne!(fs::read(local.join("d1/d2/mid")).unwrap(), bytes);
    let o = srv.tf(&["mirror", "--checksum", "r", s(&local)]);
    ok(&o, "mirror --checksum");
    assert_eq!(counts(&o), (1, 0, 7, 0), "{}", text(&o));
    assert_eq!(fs::read(local.join("d1/d2/mid")).unwrap(), bytes);
    // up: a local file edited (newer, same size) moves; so does a same-size
    // edit left with an older mtime (rsync's quick check: tfd keeps the
    // uploaded mtimes, so "same size and same mtime" is the rule both ways)
    fs::write(local.join("a.txt"), pattern(1000, 99)).unwrap();
    let o = srv.tf(&["mirror", "-R", s(&local), "r"]);
    ok(&o, "mirror -R after an edit");
    assert_eq!(counts(&o), (1, 0, 7, 0), "{}", text(&o));
    assert_eq!(fs::read(remote.join("a.txt")).unwrap(), pattern(1000, 99));
    let mut e = fs::read(local.join("with space/b c.bin")).unwrap();
    e[0] ^= 1;
    fs::write(local.join("with space/b c.bin"), &e).unwrap();
    set_mtime(&local.join("with space/b c.bin"), 100_000);
    let o = srv.tf(&["mirror", "-R", s(&local), "r"]);
    ok(&o, "mirror -R of an older mtime");
    assert_eq!(counts(&o), (1, 0, 7, 0), "an older mtime is a change\n{}", text(&o));
    assert_eq!(fs::read(remote.join("with space/b c.bin")).unwrap(), e);
    assert_eq!(
        fs::metadata(remote.join("with space/b c.bin")).unwrap().mtime(),
        fs::metadata(local.join("with space/b c.bin")).unwrap().mtime(),
        "the local mtime kept on the server"
    );
    let o = srv.tf(&["mirror", "-R", "--checksum", s(&local), "r"]);
    ok(&o, "mirror -R --checksum");
    assert_eq!(counts(&o), (0, 0, 8, 0), "{}", text(&o));
    let _ = fs::remove_dir_all(&here);
}

#[test]
fn delete_removes_the_extras_and_only_those_both_ways() {
    let srv = Server::start();
    let here = tempdir("cli_mirror_delete");
    let src = here.join("src");
    sample_tree(&src);
    ok(&srv.tf(&["mirror", "-R", s(&src), "r"]), "upload");
    let local = here.join("local");
    ok(&srv.tf(&["mirror", "r", s(&local)]), "download");
    let outside = here.join("outside");
    fs::create_dir_all(&outside).unwrap();
    fs::write(outside.join("keep"), b"keep").unwrap();
    // local extras: a file, a tree, an empty directory, a symlink out
    fs::write(local.join("extra.txt"), b"x").unwrap();
    fs::create_dir_all(local.join("d1/extra dir/sub")).unwrap();
    fs::write(local.join("d1/extra dir/sub/f"), b"f").unwrap();
    fs::create_dir(local.join("extra empty")).unwrap();
    std::os::unix::fs::symlink(&outside, local.join("link out")).unwrap();
    let o = srv.tf(&["mirror", "r", s(&local)]);
    ok(&o, "without --delete");
    assert_eq!(counts(&o), (0, 0, 8, 0));
    assert!(local.join("extra.txt").exists(), "removed without --delete");
    let o = srv.tf(&["mirror", "--delete", "r", s(&local)]);
    ok(&o, "--delete");
    assert_eq!(counts(&o), (0, 4, 8, 0), "{}", text(&o));
    assert_eq!(inventory(&local), inventory(&srv.path("r")));
    assert_eq!(
        fs::read(outside.join("keep")).unwrap(),
        b"keep",
        "the link was followed"
    );
    // remote extras
    let remote = srv.path("r");
    fs::write(remote.join("extra.txt"), b"x").unwrap();
    fs::create_dir_all(remote.join("d1/extra dir/sub")).unwrap();
    fs::write(remote.join("d1/extra dir/sub/f"), b"f").unwrap();
    fs::create_dir(remote.join("extra empty")).unwrap();
    let o = srv.tf(&["mirror", "-R", s(&src), "r"]);
    ok(&o, "-R without --delete");
    assert!(remote.join("extra.txt").exists());
    let o = srv.tf(&["mirror", "-R", "--delete", s(&src), "r"]);
    ok(&o, "-R --delete");
    assert_eq!(counts(&o), (0, 3, 8, 0), "{}", text(&o));
    assert_eq!(inventory(&remote), inventory(&src));
    let _ = fs::remove_dir_all(&here);
}

#[test]
fn dry_run_says_what_it_would_do_and_changes_nothing() {
    let srv = Server::start();
    let here = tempdir("cli_mirror_dry");
    let src = here.join("src");
    sample_tree(&src);
    ok(&srv.tf(&["mirror", "-R", s(&src), "r"]), "upload");
    let local = here.join("local");
    ok(&srv.tf(&["mirror", "r", s(&local)]), "download");
    fs::write(srv.path("r/new on server"), b"n").unwrap();
    fs::write(local.join("extra"), b"x").unwrap();
    fs::write(src.join("a.txt"), b"changed").unwrap();
    let (r0, l0, s0) = (inventory(&srv.path("r")), inventory(&local), inventory(&src));
    let (rs, ls) = (stamps(&srv.path("r")), stamps(&local));
    let o = srv.tf(&["mirror", "--dry-run", "--delete", "r", s(&local)]);
    ok(&o, "dry run down");
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(out.contains("get new on server\n"), "{out}");
    assert!(out.contains("delete extra\n"), "{out}");
    assert_eq!(counts(&o), (1, 1, 8, 0));
    let o = srv.tf(&["mirror", "-R", "--dry-run", "--delete", s(&src), "r"]);
    ok(&o, "dry run up");
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        out.contains("put a.txt\n") && out.contains("delete new on server\n"),
        "{out}"
    );
    // a dry run into nothing creates nothing
    let o = srv.tf(&["mirror", "--dry-run", "r", s(&here.join("none"))]);
    ok(&o, "dry run into a new directory");
    assert!(!here.join("none").exists());
    let o = srv.tf(&["mirror", "-R", "--dry-run", s(&src), "none"]);
    ok(&o, "dry run up into a new directory");
    assert!(!srv.path("none").exists());
    assert_eq!(
        (inventory(&srv.path("r")), inventory(&local), inventory(&src)),
        (r0, l0, s0)
    );
    assert_eq!((stamps(&srv.path("r")), stamps(&local)), (rs, ls));
    let _ = fs::remove_dir_all(&here);
}

#[test]
fn mirror_runs_in_the_shell_relative_to_cd_and_refuses_bad_use() {
    let srv = Server::start();
    let here = tempdir("cli_mirror_shell");
    let src = here.join("src");
    sample_tree(&src);
    fs::create_dir(srv.path("top")).unwrap();
    let script = here.join("script");
    let back = here.join("back");
    fs::write(
        &script,
        format!(
            "cd top\nmirror -R \"{}\" tree\nmirror tree \"{}\"\n",
            src.display(),
            back.display()
        ),
    )
    .unwrap();
    let o = srv.tf(&["-b", s(&script)]);
    ok(&o, "batch");
    assert_eq!(inventory(&srv.path("top/tree")), inventory(&src));
    assert_eq!(inventory(&back), inventory(&src));
    // usage errors and a source that is not a directory
    let o = srv.tf(&["mirror", "only-one"]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let o = srv.tf(&["mirror", "--bogus", "a", "b"]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let o = srv.tf(&["mirror", "top/tree/a.txt", s(&here.join("x"))]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    let o = srv.tf(&["mirror", "nosuch", s(&here.join("x"))]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(!here.join("x").exists());
    let o = srv.tf(&["mirror", "-R", s(&src.join("a.txt")), "y"]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let _ = fs::remove_dir_all(&here);
}

#[test]
fn entries_of_the_wrong_kind_are_replaced_only_as_far_as_allowed() {
    let srv = Server::start();
    let here = tempdir("cli_mirror_kinds");
    let src = here.join("src");
    sample_tree(&src);
    ok(&srv.tf(&["mirror", "-R", s(&src), "r"]), "upload");
    let local = here.join("local");
    ok(&srv.tf(&["mirror", "r", s(&local)]), "download");
    // a directory where a file goes, a file where a directory goes
    fs::remove_file(local.join("a.txt")).unwrap();
    fs::create_dir_all(local.join("a.txt/inside")).unwrap();
    fs::remove_dir_all(local.join("d1")).unwrap();
    fs::write(local.join("d1"), b"in the way").unwrap();
    let o = srv.tf(&["mirror", "r", s(&local)]);
    assert_eq!(o.status.code(), Some(1), "the directory in the way: {}", text(&o));
    assert!(text(&o).contains("a.txt: a directory is in the way"), "{}", text(&o));
    assert!(local.join("a.txt/inside").is_dir(), "removed without --delete");
    assert_eq!(
        inventory(&local.join("d1")),
        inventory(&srv.path("r/d1")),
        "the file in the way of d1 is replaced"
    );
    let o = srv.tf(&["mirror", "--delete", "r", s(&local)]);
    ok(&o, "--delete");
    assert_eq!(inventory(&local), inventory(&srv.path("r")));
    // the same on the server
    let remote = srv.path("r");
    fs::remove_file(remote.join("a.txt")).unwrap();
    fs::create_dir_all(remote.join("a.txt/inside")).unwrap();
    fs::remove_dir_all(remote.join("d1")).unwrap();
    fs::write(remote.join("d1"), b"in the way").unwrap();
    let o = srv.tf(&["mirror", "-R", s(&src), "r"]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(remote.join("a.txt/inside").is_dir());
    assert_eq!(inventory(&remote.join("d1")), inventory(&src.join("d1")));
    let o = srv.tf(&["mirror", "-R", "--delete", s(&src), "r"]);
    ok(&o, "-R --delete");
    assert_eq!(inventory(&remote), inventory(&src));
    let _ = fs::remove_dir_all(&here);
}

/// `mirror -n` names each symlink it would make, as `rsync -n -v` does (a
/// `put`/`get` line, counted to transfer as the real run counts it), both
/// ways; `--no-links` leaves it out and names it, and the real run makes it
/// as a symlink. On the old code the dry run's plan left the link out
/// ("put f" alone, "1 to transfer").
#[test]
fn a_dry_run_names_the_symlinks_it_would_make() {
    let srv = Server::start();
    let here = tempdir("cli_mirror_dry_links");
    let src = here.join("src");
    fs::create_dir_all(&src).unwrap();
    fs::write(src.join("f"), b"one").unwrap();
    std::os::unix::fs::symlink("f", src.join("ln")).unwrap();
    let s = src.to_str().unwrap();
    let o = srv.tf(&["mirror", "-R", "-n", s, "up"]);
    ok(&o, "mirror -R -n");
    let out = crate::output::stdout(&o);
    assert!(out.lines().any(|l| l == "put ln"), "{out}");
    assert!(out.contains("mirror: 2 to transfer"), "{out}");
    assert!(!srv.path("up").exists(), "a dry run makes nothing");
    let o = srv.tf(&["mirror", "-R", "--no-links", s, "plain"]);
    ok(&o, "mirror -R --no-links");
    assert!(
        text(&o).contains("ln: a symlink (not followed), skipped"),
        "{}",
        text(&o)
    );
    assert!(fs::symlink_metadata(srv.path("plain/ln")).is_err(), "{}", text(&o));
    let o = srv.tf(&["mirror", "-R", s, "up"]);
    ok(&o, "mirror -R");
    assert_eq!(counts(&o).0, 2, "{}", text(&o));
    assert_eq!(fs::read_link(srv.path("up/ln")).unwrap(), Path::new("f"));
    let down = here.join("down");
    let o = srv.tf(&["mirror", "-n", "up", down.to_str().unwrap()]);
    ok(&o, "mirror -n");
    let out = crate::output::stdout(&o);
    assert!(out.lines().any(|l| l == "get ln"), "{out}");
    assert!(out.contains("mirror: 2 to transfer"), "{out}");
    let _ = fs::remove_dir_all(&here);
}

/// rsync's `-r` and `-l` run with mirror as typed, both ways: `-l` keeps
/// symlinks (what mirror does anyway) and `-r` descends a directory
/// `--files-from` lists, which without it is made but not descended into,
/// as in rsync. On the old code both were unknown options of mirror, so a
/// listed directory could not be descended at all.
#[test]
fn r_and_l_are_taken_as_rsync_takes_them() {
    let srv = Server::start();
    let here = tempdir("cli_mirror_r_l");
    let src = here.join("src");
    fs::create_dir_all(src.join("d")).unwrap();
    fs::write(src.join("d/g"), b"two").unwrap();
    fs::write(src.join("f"), b"one").unwrap();
    std::os::unix::fs::symlink("f", src.join("ln")).unwrap();
    let list = here.join("list");
    fs::write(&list, "d\nln\n").unwrap();
    let (s, l) = (src.to_str().unwrap(), list.to_str().unwrap());
    for (words, dst) in [
        (&["-R", "-r", "-l", "--files-from", l][..], "rl"),
        (&["-R", "-rl", "--files-from", l], "cluster"),
        (&["-R", "--recursive", "--links", "--files-from", l], "long"),
    ] {
        let mut args = vec!["mirror"];
        args.extend_from_slice(words);
        args.extend([s, dst]);
        let o = srv.tf(&args);
        ok(&o, &args.join(" "));
        assert_eq!(
            fs::read(srv.path(&format!("{dst}/d/g"))).unwrap(),
            b"two",
            "{}",
            text(&o)
        );
        assert_eq!(fs::read_link(srv.path(&format!("{dst}/ln"))).unwrap(), Path::new("f"));
        assert!(!srv.path(&format!("{dst}/f")).exists(), "not listed: {}", text(&o));
    }
    // without -r the listed directory is made, not descended into
    let o = srv.tf(&["mirror", "-R", "--files-from", l, s, "plain"]);
    ok(&o, "mirror -R --files-from");
    assert!(
        srv.path("plain/d").is_dir() && !srv.path("plain/d/g").exists(),
        "{}",
        text(&o)
    );
    // down the same
    let down = here.join("down");
    let o = srv.tf(&["mirror", "-r", "-l", "--files-from", l, "rl", down.to_str().unwrap()]);
    ok(&o, "mirror -r -l --files-from");
    assert_eq!(fs::read(down.join("d/g")).unwrap(), b"two", "{}", text(&o));
    assert_eq!(fs::read_link(down.join("ln")).unwrap(), Path::new("f"));
    let _ = fs::remove_dir_all(&here);
}
