//! Issue 68, what a run shows: `-i` prints what rsync's `-i` prints for the
//! same tree and the same words (compared line by line, both directions,
//! `put -r -a`, `get -r -a`, `mirror`, `mirror -R`, with `--delete`), `-n`
//! leaves both sides as they were (every entry's lstat and bytes, the
//! directories' mtimes too: no temporary came and went) with the exit status
//! of a real run, and `--json` is what doc/json-output.md says.

use crate::cli_archive::{chmod, seen, stamp};
use crate::output::{ok, stdout, text};
use std::fs;
use std::path::Path;
use std::process::Command;
use tfd_testkit::*;

/// A tree of files, directories, a link and files to delete, every time
/// set in the past (no entry in the second a tool runs).
fn build(src: &Path) {
    fs::create_dir_all(src.join("d/deep")).unwrap();
    fs::create_dir_all(src.join("gone/inner")).unwrap();
    for (name, body) in [
        ("content", "aaaa"),
        ("size", "bb"),
        ("time", "cc"),
        ("mode", "dd"),
        ("same", "ee"),
        ("delete", "ff"),
        ("d/deep/f", "gg"),
        ("gone/inner/g", "hh"),
    ] {
        fs::write(src.join(name), body).unwrap();
        chmod(&src.join(name), 0o644);
        stamp(&src.join(name), 1_600_000_000, 100);
    }
    std::os::unix::fs::symlink("same", src.join("lnk")).unwrap();
    stamp(&src.join("lnk"), 1_600_000_000, 5);
    for d in ["d/deep", "d", "gone/inner", "gone", "."] {
        stamp(&src.join(d), 1_600_000_000, 7);
    }
}

/// New files and a new directory, files changed in content, size, time and
/// mode, a file and a directory deleted; the directories' times set anew.
fn change(src: &Path) {
    fs::write(src.join("content"), "AAAA").unwrap();
    stamp(&src.join("content"), 1_600_000_100, 0);
    fs::write(src.join("size"), "bbbbbb").unwrap();
    stamp(&src.join("size"), 1_600_000_000, 100);
    stamp(&src.join("time"), 1_600_000_200, 100);
    chmod(&src.join("mode"), 0o600);
    fs::remove_file(src.join("delete")).unwrap();
    fs::remove_dir_all(src.join("gone")).unwrap();
    fs::create_dir(src.join("new")).unwrap();
    fs::write(src.join("new/n"), "n").unwrap();
    fs::write(src.join("added"), "x").unwrap();
    for f in ["new/n", "added"] {
        stamp(&src.join(f), 1_600_000_300, 0);
    }
    for d in ["new", "."] {
        stamp(&src.join(d), 1_600_000_400, 0);
    }
}

/// rsync's `-i` lines for `args` (its own "created directory" left out),
/// sorted.
fn rsync(args: &[&str]) -> Vec<String> {
    let o = Command::new("rsync").args(args).output().expect("rsync");
    assert!(
        o.status.success(),
        "rsync {args:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    sorted(&String::from_utf8_lossy(&o.stdout), "")
}

/// The item lines of `out` (not the summary, which starts with `cmd:`),
/// with `<` (sent to the server) read as rsync's local copy writes it, `>`.
fn sorted(out: &str, cmd: &str) -> Vec<String> {
    let mut v: Vec<String> = out
        .lines()
        .filter(|l| !l.starts_with("created directory") && (cmd.is_empty() || !l.starts_with(cmd)))
        .map(|l| l.strip_prefix('<').map_or(l.to_string(), |r| format!(">{r}")))
        .collect();
    v.sort();
    v
}

/// tf's `-i` lines for `args`.
fn tf_items(srv: &Server, args: &[&str], cmd: &str) -> Vec<String> {
    let o = srv.tf(args);
    ok(&o, &format!("tf {args:?}"));
    sorted(&stdout(&o), cmd)
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[test]
fn mirror_i_prints_what_rsync_i_prints_both_ways() {
    let srv = Server::start();
    let here = tempdir("cli_visible_mirror");
    let src = srv.path("src");
    fs::create_dir_all(&src).unwrap();
    build(&src);
    let (tf, rs) = (here.join("tf"), here.join("rs"));
    let rs_src = format!("{}/", s(&src));
    let first = rsync(&["-ai", "--delete", &rs_src, s(&rs)]);
    assert_eq!(
        tf_items(&srv, &["mirror", "-i", "--delete", "src", s(&tf)], "mirror:"),
        first
    );
    change(&src);
    let second = rsync(&["-ai", "--delete", &rs_src, s(&rs)]);
    assert!(second.iter().any(|l| l.starts_with("*deleting")), "{second:?}");
    assert_eq!(
        tf_items(&srv, &["mirror", "-i", "--delete", "src", s(&tf)], "mirror:"),
        second
    );

    // up: a local tree onto the server
    let local = here.join("local");
    fs::create_dir_all(&local).unwrap();
    build(&local);
    let rs_up = here.join("rs_up");
    let local_src = format!("{}/", s(&local));
    let first = rsync(&["-ai", "--delete", &local_src, s(&rs_up)]);
    assert_eq!(
        tf_items(&srv, &["mirror", "-R", "-i", "--delete", s(&local), "up"], "mirror:"),
        first
    );
    change(&local);
    let second = rsync(&["-ai", "--delete", &local_src, s(&rs_up)]);
    assert_eq!(
        tf_items(&srv, &["mirror", "-R", "-i", "--delete", s(&local), "up"], "mirror:"),
        second
    );
}

#[test]
fn put_and_get_r_a_i_print_what_rsync_ai_prints() {
    let srv = Server::start();
    let here = tempdir("cli_visible_tree");
    // down: the server's src into an existing local directory, by its name
    let src = srv.path("src");
    fs::create_dir_all(&src).unwrap();
    build(&src);
    let (tf, rs) = (here.join("tf"), here.join("rs"));
    fs::create_dir_all(&tf).unwrap();
    fs::create_dir_all(&rs).unwrap();
    let first = rsync(&["-ai", s(&src), &format!("{}/", s(&rs))]);
    assert!(first.contains(&"cd+++++++++ src/".to_string()), "{first:?}");
    assert_eq!(tf_items(&srv, &["get", "-r", "-a", "-i", "src", s(&tf)], "get:"), first);
    change(&src);
    let second = rsync(&["-ai", s(&src), &format!("{}/", s(&rs))]);
    assert_eq!(
        tf_items(&srv, &["get", "-r", "-a", "-i", "src", s(&tf)], "get:"),
        second
    );

    // up: a local tree into an existing remote directory
    let local = here.join("tree");
    fs::create_dir_all(&local).unwrap();
    build(&local);
    fs::create_dir_all(srv.path("up")).unwrap();
    let rs_up = here.join("rs_up");
    fs::create_dir_all(&rs_up).unwrap();
    let first = rsync(&["-ai", s(&local), &format!("{}/", s(&rs_up))]);
    assert_eq!(
        tf_items(&srv, &["put", "-r", "-a", "-i", s(&local), "up"], "put:"),
        first
    );
    change(&local);
    let second = rsync(&["-ai", s(&local), &format!("{}/", s(&rs_up))]);
    assert_eq!(
        tf_items(&srv, &["put", "-r", "-a", "-i", s(&local), "up"], "put:"),
        second
    );
}

/// Every entry of each root, as lstat and the bytes say.
fn state(roots: &[&Path]) -> Vec<String> {
    roots
        .iter()
        .map(|r| format!("{:?}", r.exists().then(|| seen(r))))
        .collect()
}

#[test]
fn n_changes_nothing_on_either_side_and_says_what_would_move() {
    let srv = Server::start();
    let here = tempdir("cli_visible_dry");
    let (local, remote) = (here.join("local"), srv.path("remote"));
    fs::create_dir_all(&local).unwrap();
    fs::create_dir_all(&remote).unwrap();
    build(&local);
    build(&remote);
    change(&local);
    change(&remote);
    fs::create_dir_all(srv.path("other")).unwrap();
    fs::write(srv.path("other/one"), "1").unwrap();
    fs::write(local.join("one"), "22").unwrap();
    let out = here.join("out");
    let roots = [local.as_path(), remote.as_path(), out.as_path(), &srv.path("other")];
    let before = state(&roots);
    let one = local.join("one");
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (vec!["put", "-n", s(&one), "other/one"], "<f.s"),
        (vec!["get", "-n", "other/one", s(&one)], ">f.s"),
        (vec!["get", "--dry-run", "other/one", s(&out)], ">f+++++++++ out"),
        (vec!["put", "-r", "-n", s(&local), "remote"], "cd+++++++++ local/"),
        (vec!["put", "-r", "-a", "-n", s(&local), "other"], "cd+++++++++ local/"),
        // rsync's rule: `remote` lands as out/remote, as rsync -n -i says
        (vec!["get", "-r", "-n", "remote", s(&out)], "cd+++++++++ remote/"),
        (
            vec!["get", "-r", "-a", "-n", "remote", s(&local)],
            "cd+++++++++ remote/",
        ),
        (vec!["mirror", "-n", "--delete", "remote", s(&out)], "mkdir new"),
        (
            vec!["mirror", "-R", "-n", "-i", "--delete", s(&local), "other"],
            "cd+++++++++ d/",
        ),
    ];
    for (args, said) in &cases {
        let o = srv.tf(args);
        ok(&o, &format!("{args:?}"));
        assert!(
            stdout(&o).lines().any(|l| l.starts_with(said)),
            "{args:?} should say {said:?}: {}",
            text(&o)
        );
        assert_eq!(state(&roots), before, "{args:?} changed something: {}", text(&o));
    }
    // a missing source fails as it would for real
    for args in [
        vec!["put", "-n", s(&here.join("nothing")), "x"],
        vec!["get", "-n", "nothing", s(&out)],
        vec!["get", "-r", "-n", "nothing", s(&out)],
        vec!["get", "-n", "other/one", s(&here.join("no/such/x"))],
        vec!["put", "-n", s(&one), "no/such/x"],
    ] {
        let o = srv.tf(&args);
        assert!(!o.status.success(), "{args:?}: {}", text(&o));
        assert_eq!(state(&roots), before, "{args:?}");
    }
}

/// The schema of doc/json-output.md: the jq program between its markers.
fn schema() -> String {
    let doc = fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/doc/json-output.md")).unwrap();
    let (_, rest) = doc.split_once("```jq\n").expect("a ```jq block in doc/json-output.md");
    rest.split_once("```").unwrap().0.to_string()
}

/// Whether every line of `out` validates against the schema (jq -e).
fn validates(out: &str) {
    let mut child = Command::new("jq")
        .args(["-e", "-s", &format!("map({}) | all", schema())])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("jq");
    use std::io::Write;
    child.stdin.take().unwrap().write_all(out.as_bytes()).unwrap();
    let o = child.wait_with_output().unwrap();
    assert!(o.status.success(), "not what doc/json-output.md says: {out}");
}

#[test]
fn json_is_what_the_documented_schema_says() {
    let srv = Server::start();
    let here = tempdir("cli_visible_json");
    let src = srv.path("src");
    fs::create_dir_all(&src).unwrap();
    build(&src);
    let out = here.join("out");
    let o = srv.tf(&["mirror", "--json", "src", s(&out)]);
    ok(&o, "mirror --json");
    let text_out = stdout(&o);
    validates(&text_out);
    let lines: Vec<&str> = text_out.lines().collect();
    assert!(lines.len() > 5, "{text_out}");
    assert!(lines.last().unwrap().contains("\"type\":\"summary\""), "{text_out}");
    assert!(text_out.contains("\"path\":\"d/deep/f\""), "{text_out}");
    change(&src);
    for args in [
        vec!["mirror", "--json", "--delete", "src", s(&out)],
        vec!["get", "-r", "-a", "--json", "-n", "src", s(&here.join("two"))],
        vec!["put", "--json", s(&out.join("added")), "added"],
        vec!["get", "--json", "nothing/there", s(&here.join("x"))],
    ] {
        let o = srv.tf(&args);
        validates(&stdout(&o));
        assert!(
            stdout(&o).lines().last().unwrap_or_default().contains("summary"),
            "{args:?}: {}",
            text(&o)
        );
    }
}

#[test]
fn help_needs_no_server() {
    let run = |args: &[&str]| {
        Command::new(tf_bin())
            .args(args)
            .env_remove("TF_SERVER")
            .env_remove("TF_HASH")
            .output()
            .unwrap()
    };
    let o = run(&["help", "put"]);
    ok(&o, "tf help put");
    let out = stdout(&o);
    assert!(out.starts_with("usage: tf ... put "), "{out}");
    for opt in ["--streams N", "-n, --dry-run", "-i, --itemize-changes", "--json"] {
        assert!(out.contains(opt), "tf help put lacks {opt}: {out}");
    }
    ok(&run(&["help"]), "tf help");
    // mirror's usage names rsync's archive flags it takes (issue 88)
    let o = run(&["help", "mirror"]);
    ok(&o, "tf help mirror");
    let usage = stdout(&o).lines().next().unwrap_or_default().to_string();
    for flag in ["[-a]", "[-H]", "[-X]", "[-A]"] {
        assert!(usage.contains(flag), "tf help mirror's usage lacks {flag}: {usage}");
    }
    assert!(!run(&["help", "nosuch"]).status.success());
}

#[test]
fn a_trees_progress_line_says_the_whole_its_share_and_the_time_left() {
    let srv = Server::start();
    let here = tempdir("cli_visible_progress");
    let local = here.join("p");
    fs::create_dir_all(&local).unwrap();
    for i in 0..20 {
        fs::write(local.join(format!("f{i}")), vec![i as u8; 100_000]).unwrap();
    }
    let o = srv.tf(&["--progress", "put", "-r", "-a", s(&local), "pr"]);
    ok(&o, "put -r --progress");
    let err = crate::output::stderr(&o);
    let last = err.rsplit('\r').next().unwrap_or_default();
    assert!(last.contains("1.9 MiB of 1.9 MiB  100%"), "{err:?}");
    assert!(last.contains("20/20 files"), "{err:?}");
    // not asked and not a terminal: no line
    let o = srv.tf(&["put", "-r", "-a", s(&local), "pr2"]);
    assert!(!crate::output::stderr(&o).contains('%'), "{}", text(&o));
}

#[test]
fn one_file_itemized_both_ways_as_rsync_itemizes_it() {
    let srv = Server::start();
    let here = tempdir("cli_visible_one");
    let local = here.join("a.txt");
    fs::write(&local, "one").unwrap();
    let o = srv.tf(&["put", "-i", s(&local), "a.txt"]);
    ok(&o, "put -i");
    assert_eq!(stdout(&o).lines().next(), Some("<f+++++++++ a.txt"), "{}", text(&o));
    assert_eq!(fs::read(srv.path("a.txt")).unwrap(), b"one");
    let back = here.join("b.txt");
    let o = srv.tf(&["get", "-i", "a.txt", s(&back)]);
    ok(&o, "get -i");
    assert_eq!(stdout(&o).lines().next(), Some(">f+++++++++ b.txt"), "{}", text(&o));
    assert_eq!(fs::read(&back).unwrap(), b"one");
    fs::write(srv.path("a.txt"), "three").unwrap();
    let o = srv.tf(&["get", "-i", "a.txt", s(&back)]);
    assert!(stdout(&o).starts_with(">f.s"), "{}", text(&o));
    assert_eq!(fs::read(&back).unwrap(), b"three");
}

#[test]
fn put_n_into_a_missing_directory_fails_as_the_real_put_does() {
    let srv = Server::start();
    let here = tempdir("cli_visible_parent");
    let local = here.join("f");
    fs::write(&local, "f").unwrap();
    let real = srv.tf(&["put", s(&local), "no/such/f"]);
    let dry = srv.tf(&["put", "-n", s(&local), "no/such/f"]);
    assert!(!real.status.success(), "{}", text(&real));
    assert_eq!(dry.status.code(), real.status.code(), "{}", text(&dry));
    let top = srv.tf(&["put", "-n", s(&local), "f"]);
    ok(&top, "put -n at the root");
    assert!(!srv.path("f").exists() && !srv.path("no").exists());
}
