//! Issue 68's selection: rsync's patterns (`**`, anchors, classes), rule
//! files, `--filter`, `--files-from`, sizes and update modes, each given
//! with the same words to `rsync -r` between two local directories and to
//! `tf put -r`, `get -r`, `mirror` and `mirror -R` through a real tfd, and
//! the trees compared on disk (names and contents).

use crate::output::{ok, stderr, text};
use crate::trees::inventory;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, SystemTime};
use tfd_testkit::*;

/// The source tree: (path, size); directories come with their files.
const TREE: &[(&str, usize)] = &[
    ("a/z.txt", 10),
    ("a/b/z.txt", 11),
    ("a/b/c/z.txt", 12),
    ("a/x/y.txt", 13),
    ("src/gen/a.rs", 14),
    ("other/src/gen/b.rs", 15),
    ("src/lib.rs", 16),
    (".hidden", 17),
    ("z.txt", 18),
    ("big.bin", 4096),
    ("k1024", 1024),
    ("k1023", 1023),
    ("notes/old.md", 19),
    ("notes/new.md", 20),
    ("logs/x.log", 21),
];

/// An hour ago: the sources' mtime (so the destinations' own files can be
/// older or newer).
fn hour_ago() -> SystemTime {
    SystemTime::now() - Duration::from_secs(3600)
}

/// Sets `p`'s mtime to `t`; `cli_update_all` dates its trees with it too.
pub(super) fn stamp(p: &Path, t: SystemTime) {
    fs::File::options()
        .write(true)
        .open(p)
        .unwrap()
        .set_modified(t)
        .unwrap();
}

fn build(root: &Path) {
    for (i, (p, n)) in TREE.iter().enumerate() {
        let path = root.join(p);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(&path, pattern(*n, i as u64 + 7)).unwrap();
        stamp(&path, hour_ago());
    }
}

/// What a destination already holds before a run (for the update modes):
/// one file older than the source's, one newer, one the source lacks.
fn prior(root: &Path) {
    for (p, body, t) in [
        (
            "notes/old.md",
            "stale and longer",
            SystemTime::now() - Duration::from_secs(7200),
        ),
        ("notes/new.md", "edited at the destination", SystemTime::now()),
        ("mine.txt", "only here", SystemTime::now()),
    ] {
        let path = root.join(p);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(&path, body).unwrap();
        stamp(&path, t);
    }
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// `rsync -r WORDS src/ dst/` (`rsync_words`: its own spelling where it
/// differs, e.g. no `-r` with `--files-from`).
fn rsync(rsync_words: &[&str], src: &Path, dst: &Path) {
    let o = Command::new("rsync")
        .args(rsync_words)
        .arg(format!("{}/", s(src)))
        .arg(format!("{}/", s(dst)))
        .output()
        .unwrap();
    assert!(o.status.success(), "rsync {rsync_words:?}: {}", text(&o));
}

/// One comparison: `words` given to tf's four runs (`put -r`, `get -r`:
/// `-r` added but with `--files-from`, which says its own) and
/// `rsync_words` to rsync, over fresh destinations made by `pre`; each
/// result must be rsync's, name for name and byte for byte.
fn same_as_rsync(tag: &str, words: &[&str], rsync_words: &[&str], pre: fn(&Path)) {
    // mirror has no -r: a run given one is put's and get's alone
    let mirrors = !words.contains(&"-r");
    let srv = Server::start();
    let here = tempdir(&format!("cli_select_{tag}"));
    let src = here.join("src");
    build(&src);
    let reference = here.join("ref");
    fs::create_dir(&reference).unwrap();
    pre(&reference);
    rsync(rsync_words, &src, &reference);
    let want = inventory(&reference);
    // --files-from takes the source's contents (rsync's --relative)
    let contents = words.contains(&"--files-from");
    let r: &[&str] = if contents { &[] } else { &["-r"] };
    let run = |args: Vec<&str>, what: &str| {
        let o = srv.tf(&args);
        ok(&o, what);
    };
    // put -r: into an existing remote directory
    fs::create_dir(srv.path("up")).unwrap();
    let put_at = if contents { srv.path("up") } else { srv.path("up/src") };
    pre(&put_at);
    run([&["put"][..], r, words, &[s(&src), "up"]].concat(), "put -r");
    assert_eq!(inventory(&put_at), want, "put -r {words:?}");
    // get -r: from a whole copy on the server
    build(&srv.path("full"));
    let down = here.join("down");
    fs::create_dir(&down).unwrap();
    let get_at = if contents { down.clone() } else { down.join("full") };
    pre(&get_at);
    run([&["get"][..], r, words, &["full", s(&down)]].concat(), "get -r");
    assert_eq!(inventory(&get_at), want, "get -r {words:?}");
    if !mirrors {
        let _ = fs::remove_dir_all(&here);
        return;
    }
    // mirror both ways, into destinations that exist
    let m = here.join("m");
    fs::create_dir(&m).unwrap();
    pre(&m);
    run([&["mirror"][..], words, &["full", s(&m)]].concat(), "mirror");
    assert_eq!(inventory(&m), want, "mirror {words:?}");
    fs::create_dir(srv.path("mup")).unwrap();
    pre(&srv.path("mup"));
    run([&["mirror", "-R"][..], words, &[s(&src), "mup"]].concat(), "mirror -R");
    assert_eq!(inventory(&srv.path("mup")), want, "mirror -R {words:?}");
    let _ = fs::remove_dir_all(&here);
}

fn nothing(_: &Path) {}

#[test]
fn double_stars_match_across_directories_as_in_rsync() {
    // on main, a/**/z.txt matched one directory only: a/b/c/z.txt was copied
    let w = ["--exclude", "a/**/z.txt"];
    same_as_rsync("stars", &w, &[&["-r"][..], &w].concat(), nothing);
    let w = [
        "--exclude",
        "src/gen/*.rs",
        "--exclude",
        "/z.txt",
        "--exclude",
        "logs/***",
    ];
    same_as_rsync("places", &w, &[&["-r"][..], &w].concat(), nothing);
    let w = ["--include", "*/", "--include", "*.rs", "--exclude", "*"];
    same_as_rsync("only_rs", &w, &[&["-r"][..], &w].concat(), nothing);
}

#[test]
fn rule_files_and_filter_rules_keep_their_order() {
    let here = tempdir("cli_select_rules");
    let ex = here.join("ex");
    fs::write(&ex, "# a comment\n; another\n\n+ z.txt\n*.txt\n").unwrap();
    let inc = here.join("inc");
    fs::write(&inc, "*/\n*.md\n").unwrap();
    let w = ["--exclude-from", s(&ex), "--exclude", "*.log"];
    same_as_rsync("exfrom", &w, &[&["-r"][..], &w].concat(), nothing);
    let w = ["--include-from", s(&inc), "--filter", "- *"];
    same_as_rsync("infrom", &w, &[&["-r"][..], &w].concat(), nothing);
    let w = [
        "--filter",
        "+ a/",
        "--filter",
        "exclude *.txt",
        "--filter",
        "!",
        "--filter",
        "- big.bin",
    ];
    same_as_rsync("filter", &w, &[&["-r"][..], &w].concat(), nothing);
    // rsync's rules tf does not take, and a file over the bound, are one sentence
    let srv = Server::start();
    fs::create_dir_all(here.join("t")).unwrap();
    let o = srv.tf(&["put", "-r", "--filter", "merge x", s(&here.join("t")), "t"]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(
        stderr(&o).contains("tf takes rsync's +, -, include, exclude and ! rules only"),
        "{}",
        text(&o)
    );
    let big = here.join("big");
    fs::write(&big, vec![b'x'; (4 << 20) + 1]).unwrap();
    let o = srv.tf(&["mirror", "--exclude-from", s(&big), "t", s(&here.join("m"))]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(stderr(&o).contains("more than 4 MiB of rules"), "{}", text(&o));
    let _ = fs::remove_dir_all(&here);
}

#[test]
fn files_from_takes_the_listed_paths_as_rsync_does() {
    let here = tempdir("cli_select_files_from");
    let list = here.join("list");
    fs::write(&list, "a/b/z.txt\n/z.txt\n./notes/\nlogs\n").unwrap();
    // a listed directory is made, not descended into (rsync without -r)
    let w = ["--files-from", s(&list)];
    let tf_words: Vec<&str> = w.to_vec();
    same_as_rsync("ff", &tf_words, &w, nothing);
    // with -r a listed directory comes whole (put and get: mirror has no -r)
    let w = ["-r", "--files-from", s(&list)];
    same_as_rsync("ffr", &w, &w, nothing);
    // a listed path the source lacks is told and fails the run, as rsync's
    // exit 23, and the rest moves: here a local fault, there the server's
    fs::write(&list, "z.txt\nnowhere\n").unwrap();
    let srv = Server::start();
    let src = here.join("src");
    build(&src);
    let (down, m) = (here.join("down"), here.join("m"));
    for (args, code, landed) in [
        (
            vec!["put", "--files-from", s(&list), s(&src), "up"],
            1,
            srv.path("up/z.txt"),
        ),
        (
            vec!["get", "--files-from", s(&list), "up", s(&down)],
            2,
            down.join("z.txt"),
        ),
        (
            vec!["mirror", "--files-from", s(&list), "up", s(&m)],
            2,
            m.join("z.txt"),
        ),
        (
            vec!["mirror", "-R", "--files-from", s(&list), s(&src), "mup"],
            1,
            srv.path("mup/z.txt"),
        ),
    ] {
        let o = srv.tf(&args);
        assert_eq!(o.status.code(), Some(code), "{args:?}: {}", text(&o));
        assert!(
            text(&o).contains("nowhere: listed in --files-from, not "),
            "{}",
            text(&o)
        );
        assert!(landed.exists(), "{args:?}: {}", text(&o));
    }
    let _ = fs::remove_dir_all(&here);
}

#[test]
fn sizes_leave_out_files_only() {
    let w = ["--max-size", "1K"];
    same_as_rsync("max", &w, &[&["-r"][..], &w].concat(), nothing);
    let w = ["--min-size", "1K"];
    same_as_rsync("min", &w, &[&["-r"][..], &w].concat(), nothing);
    let w = ["--min-size", "1023", "--max-size", "1.5K"];
    same_as_rsync("both", &w, &[&["-r"][..], &w].concat(), nothing);
}

#[test]
fn update_modes_read_the_destination() {
    for (tag, w) in [
        ("update", "--update"),
        ("update_short", "-u"),
        ("ignore", "--ignore-existing"),
        ("existing", "--existing"),
    ] {
        same_as_rsync(tag, &[w], &["-r", w], prior);
    }
}

/// A mirror's `--delete-excluded` removes the destination's excluded
/// entries too, both ways.
#[test]
fn delete_excluded_removes_what_the_filter_leaves_out() {
    let srv = Server::start();
    let here = tempdir("cli_select_delex");
    let src = here.join("src");
    build(&src);
    let put_extra = |root: &Path| {
        fs::create_dir_all(root.join("logs")).unwrap();
        fs::write(root.join("logs/old.log"), "old").unwrap();
        fs::write(root.join("kept.txt"), "extra").unwrap();
    };
    let reference = here.join("ref");
    put_extra(&reference);
    rsync(&["-r", "--delete-excluded", "--exclude", "*.log"], &src, &reference);
    let want = inventory(&reference);
    let m: PathBuf = here.join("m");
    put_extra(&m);
    build(&srv.path("full"));
    let o = srv.tf(&["mirror", "--delete-excluded", "--exclude", "*.log", "full", s(&m)]);
    ok(&o, "mirror --delete-excluded");
    assert_eq!(inventory(&m), want);
    put_extra(&srv.path("mup"));
    let o = srv.tf(&[
        "mirror",
        "-R",
        "--delete-excluded",
        "--exclude",
        "*.log",
        s(&src),
        "mup",
    ]);
    ok(&o, "mirror -R --delete-excluded");
    assert_eq!(inventory(&srv.path("mup")), want);
    let _ = fs::remove_dir_all(&here);
}

/// A single file's `put` and `get` obey the sizes and update modes as
/// `rsync FILE DST` does, and a file left as it is says so in one line.
#[test]
fn single_files_obey_sizes_and_update_modes() {
    let srv = Server::start();
    let here = tempdir("cli_select_single");
    let src = here.join("src");
    build(&src);
    let big = src.join("big.bin");
    // the file rsync leaves out, tf leaves out: nothing there after either
    let reference = here.join("ref");
    fs::create_dir(&reference).unwrap();
    let o = Command::new("rsync")
        .args(["--max-size", "1K", s(&big), s(&reference)])
        .output()
        .unwrap();
    assert!(o.status.success());
    assert!(!reference.join("big.bin").exists());
    let o = srv.tf(&["put", "--max-size", "1K", s(&big), "big.bin"]);
    ok(&o, "put --max-size");
    assert!(!srv.path("big.bin").exists(), "{}", text(&o));
    assert!(text(&o).contains("larger than --max-size, skipped"), "{}", text(&o));
    // --update: a newer remote copy stays; --existing: nothing new is made
    fs::write(srv.path("z.txt"), "newer on the server").unwrap();
    let o = srv.tf(&["put", "--update", s(&src.join("z.txt")), "z.txt"]);
    ok(&o, "put --update");
    assert_eq!(fs::read(srv.path("z.txt")).unwrap(), b"newer on the server");
    let down = here.join("down");
    fs::create_dir(&down).unwrap();
    let o = srv.tf(&["get", "--existing", "z.txt", s(&down)]);
    ok(&o, "get --existing");
    assert!(!down.join("z.txt").exists(), "{}", text(&o));
    let o = srv.tf(&["get", "--min-size", "1", "z.txt", s(&down)]);
    ok(&o, "get --min-size");
    assert_eq!(fs::read(down.join("z.txt")).unwrap(), b"newer on the server");
    // and the local copy, now newer, is left by --ignore-existing
    fs::write(down.join("z.txt"), "mine").unwrap();
    let o = srv.tf(&["get", "--ignore-existing", "z.txt", s(&down.join("z.txt"))]);
    ok(&o, "get --ignore-existing");
    assert_eq!(fs::read(down.join("z.txt")).unwrap(), b"mine");
    let o = srv.tf(&["put", "--max-size", "lots", s(&big), "big.bin"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("--max-size lots: not a size"), "{}", text(&o));
    let _ = fs::remove_dir_all(&here);
}

/// `-` as a rule file or a list reads standard input, as in rsync.
#[test]
fn a_dash_reads_the_rules_or_the_list_from_stdin() {
    use std::io::Write;
    let srv = Server::start();
    let here = tempdir("cli_select_stdin");
    let src = here.join("src");
    build(&src);
    let run = |args: &[&str], input: &str| {
        let mut child = srv
            .tf_command(args)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        child.stdin.take().unwrap().write_all(input.as_bytes()).unwrap();
        child.wait_with_output().unwrap()
    };
    let contents = format!("{}/", s(&src));
    let o = run(
        &["put", "-r", "--exclude-from", "-", &contents, "ex"],
        "*.txt\n- *.rs\n",
    );
    ok(&o, "put -r --exclude-from -");
    let reference = here.join("ref");
    fs::create_dir(&reference).unwrap();
    rsync(&["-r", "--exclude", "*.txt", "--exclude", "*.rs"], &src, &reference);
    assert_eq!(inventory(&srv.path("ex")), inventory(&reference));
    let o = run(
        &["get", "--files-from", "-", "ex", s(&here.join("down"))],
        "notes/old.md\n",
    );
    ok(&o, "get --files-from -");
    assert_eq!(
        inventory(&here.join("down")).into_keys().collect::<Vec<_>>(),
        [PathBuf::from("notes"), PathBuf::from("notes/old.md")]
    );
    let _ = fs::remove_dir_all(&here);
}
