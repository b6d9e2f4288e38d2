//! Issue 68, one file shown: `put`/`get` of a single file with `-n`, `-i`
//! or `--json` is still the single transfer, so `--streams`, `--resume` and
//! `--verify` go with them: `-n` says what would move and changes nothing,
//! `-i` itemizes the file (a resumed one too) and it moves as without it,
//! `--json` prints the file's object and the summary.

use crate::output::{ok, stderr, stdout, text};
use std::fs;
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};
use tfd_testkit::*;

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// The names in `dir`, sorted.
fn names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

#[test]
fn put_n_with_streams_says_what_would_move_and_changes_nothing() {
    let srv = Server::start();
    let here = tempdir("shown_put_n");
    let big = here.join("big");
    fs::write(&big, pattern(3 << 20, 5)).unwrap();
    fs::write(srv.path("old"), b"old").unwrap();
    for (dest, said) in [("old", "<f.s"), ("new", "<f+++++++++")] {
        let o = srv.tf(&["put", "-n", "--streams", "4", s(&big), dest]);
        ok(&o, "put -n --streams 4");
        let out = stdout(&o);
        let first = out.lines().next().unwrap_or_default();
        assert!(
            first.starts_with(said) && first.ends_with(&format!(" {dest}")),
            "{}",
            text(&o)
        );
        assert!(
            out.contains("put: 1 to change, 0 skipped, 0 failed (dry run"),
            "{}",
            text(&o)
        );
        assert_eq!(names(&srv.path("")), ["old"], "{}", text(&o));
        assert_eq!(fs::read(srv.path("old")).unwrap(), b"old");
    }
    // for real, itemized and checked: the same words without -n move it
    let o = srv.tf(&["put", "-i", "--streams", "4", "--verify", s(&big), "old"]);
    ok(&o, "put -i --streams 4 --verify");
    assert!(
        stdout(&o).starts_with("<f.s") && stdout(&o).contains(" old\n"),
        "{}",
        text(&o)
    );
    assert!(
        stdout(&o).contains("put: 1 transferred, 0 skipped, 0 failed (3.0 MiB in "),
        "{}",
        text(&o)
    );
    assert_eq!(fs::read(srv.path("old")).unwrap(), fs::read(&big).unwrap());
    // a missing local file fails as the transfer would, nothing asked of it
    let o = srv.tf(&["put", "-n", "--streams", "4", s(&here.join("none")), "x"]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
}

/// `get` of big.bin onto an old `target`, stopped with SIGINT once its
/// journal holds 1 MiB.
fn interrupted_get(srv: &Server, target: &Path) {
    fs::write(target, b"old").unwrap();
    let journal = target.with_file_name(format!(
        ".{}.tf-partial.journal",
        target.file_name().unwrap().to_string_lossy()
    ));
    let child: Child = srv
        .tf_command(&["get", "big.bin", s(target)])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let t0 = Instant::now();
    let landed = |j: &Path| {
        let text = fs::read_to_string(j).unwrap_or_default();
        text.lines()
            .filter_map(|l| l.strip_prefix("range "))
            .filter_map(|l| l.split(' ').nth(2)?.parse::<u64>().ok())
            .sum::<u64>()
    };
    while landed(&journal) < 1 << 20 {
        assert!(t0.elapsed() < Duration::from_secs(30), "no journal at {journal:?}");
        std::thread::sleep(Duration::from_millis(20));
    }
    let st = Command::new("kill")
        .args(["-2", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(st.success());
    let o: Output = child.wait_with_output().unwrap();
    assert!(!o.status.success(), "{}", text(&o));
    assert!(journal.exists(), "the partial's journal kept: {}", text(&o));
}

#[test]
fn get_i_resume_itemizes_the_resumed_file() {
    let srv = Server::start_with("rate_limit_session 2M\n");
    let here = tempdir("shown_get_resume");
    let big = pattern(12 << 20, 11);
    fs::write(srv.path("big.bin"), &big).unwrap();
    let t = here.join("big.bin");
    interrupted_get(&srv, &t);
    let o = srv.tf(&["get", "-i", "--resume", "big.bin", s(&t)]);
    ok(&o, "get -i --resume");
    assert!(
        stdout(&o).starts_with(">f.s") && stdout(&o).contains(" big.bin\n"),
        "{}",
        text(&o)
    );
    assert!(
        stdout(&o).contains("get: 1 transferred, 0 skipped, 0 failed"),
        "{}",
        text(&o)
    );
    assert!(stderr(&o).contains("resuming"), "{}", text(&o));
    assert_eq!(fs::read(&t).unwrap(), big);
    assert_eq!(names(&here), ["big.bin"], "the partial is gone");
}

/// The objects of `--json`'s lines, checked by jq: (type, action or
/// transferred).
fn objects(out: &str) -> Vec<String> {
    let mut child = Command::new("jq")
        .args(["-r", "[.type, (.action // .transferred | tostring)] | join(\" \")"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("jq");
    use std::io::Write;
    child.stdin.take().unwrap().write_all(out.as_bytes()).unwrap();
    let o = child.wait_with_output().unwrap();
    assert!(o.status.success(), "not JSON: {out}");
    String::from_utf8(o.stdout).unwrap().lines().map(String::from).collect()
}

#[test]
fn json_with_streams_and_verify_prints_the_file_and_the_summary() {
    let srv = Server::start();
    let here = tempdir("shown_json");
    let f = here.join("f");
    fs::write(&f, pattern(2 << 20, 3)).unwrap();
    let o = srv.tf(&["put", "--json", "--streams", "3", "--verify", s(&f), "f"]);
    ok(&o, "put --json --streams 3 --verify");
    assert_eq!(objects(&stdout(&o)), ["item send", "summary 1"], "{}", text(&o));
    assert_eq!(fs::read(srv.path("f")).unwrap(), fs::read(&f).unwrap());
    let back = here.join("back");
    let o = srv.tf(&["get", "--json", "--streams", "2", "--verify", "f", s(&back)]);
    ok(&o, "get --json --streams 2 --verify");
    assert_eq!(objects(&stdout(&o)), ["item receive", "summary 1"], "{}", text(&o));
    assert_eq!(fs::read(&back).unwrap(), fs::read(&f).unwrap());
    // a file the server lacks: an error object, then the summary
    let o = srv.tf(&["get", "--json", "--verify", "none", s(&here.join("x"))]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert_eq!(objects(&stdout(&o)), ["error null", "summary 0"], "{}", text(&o));
}

/// A single `put`/`get` that `--update` or `--ignore-existing` leaves is
/// told as a tree run tells such a file: no `-i` line and no `--json`
/// item, "0 transferred" in the summary, the file untouched. On the old
/// code `-i` printed `<f.st...... one`, the summary "1 transferred" and the
/// JSON item `"action":"send"`, after "newer at the destination (--update),
/// skipped".
#[test]
fn a_single_file_the_selection_leaves_is_told_skipped_not_sent() {
    let srv = Server::start();
    let here = tempdir("cli_shown_one_skipped");
    let later = std::time::SystemTime::now() + Duration::from_secs(3600);
    let newer = |p: &Path| {
        fs::File::options()
            .write(true)
            .open(p)
            .unwrap()
            .set_modified(later)
            .unwrap()
    };
    let local = here.join("f");
    fs::write(&local, b"local").unwrap();
    fs::write(srv.path("f"), b"remote, newer").unwrap();
    newer(&srv.path("f"));
    fs::write(srv.path("g"), b"remote, older").unwrap();
    let mine = here.join("g");
    fs::write(&mine, b"mine").unwrap();
    newer(&mine);
    let runs: [(&str, &[&str], &str, &str); 4] = [
        ("put", &["-u"], s(&local), "f"),
        ("put", &["--ignore-existing"], s(&local), "f"),
        ("get", &["-u"], "g", s(&mine)),
        ("get", &["--ignore-existing"], "g", s(&mine)),
    ];
    for (cmd, sel, from, to) in runs {
        for show in ["-i", "--json", "-n"] {
            let mut args = vec![cmd];
            args.extend_from_slice(sel);
            args.extend([show, from, to]);
            let o = srv.tf(&args);
            let what = args.join(" ");
            ok(&o, &what);
            let out = stdout(&o);
            assert!(stderr(&o).contains(", skipped"), "{what}: {}", text(&o));
            assert!(!out.contains("f.st") && !out.contains("\"item\""), "{what}: {out}");
            match show {
                "--json" => {
                    assert!(out.contains("\"transferred\":0,\"items\":0"), "{what}: {out}");
                    assert_eq!(out.lines().count(), 1, "{what}: stdout is JSON alone: {out}");
                }
                "-n" => assert!(out.contains(": 0 to change"), "{what}: {out}"),
                _ => assert!(out.contains(&format!("{cmd}: 0 transferred")), "{what}: {out}"),
            }
        }
    }
    assert_eq!(fs::read(srv.path("f")).unwrap(), b"remote, newer");
    assert_eq!(fs::read(&mine).unwrap(), b"mine");
    let _ = fs::remove_dir_all(&here);
}
