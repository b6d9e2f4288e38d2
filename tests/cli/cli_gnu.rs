//! GNU option habits (issue 65), through the real `tf` against a real tfd:
//! `--opt=value` for global and command options, `--` before a name that
//! starts with a dash, `put DIR` answered with the `put -r` that does it, and
//! a pattern given alone expanded as sftp's `get *.txt`.

use crate::output::{ok, stderr, text};

use std::fs;
use std::process::Command;
use tfd_testkit::*;

/// `tf` with its connection given as `--name=value`, run in `dir`.
fn tf_joined(srv: &Server, dir: &std::path::Path, args: &[&str]) -> std::process::Output {
    let _ = srv.tf_command(&[]); // writes the public key beside the server
    Command::new(tf_bin())
        .env("XDG_STATE_HOME", srv.dir.join("state"))
        .arg(format!("--server={}", srv.addr()))
        .arg(format!("--key={}", srv.dir.join("pub.pem").display()))
        .arg(format!("--hash={}", srv.hash))
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap()
}

#[test]
fn options_take_their_value_after_an_equals_sign() {
    let srv = Server::start();
    let here = tempdir("gnu-equals");
    fs::write(here.join("f.txt"), b"joined values\n").unwrap();
    let o = tf_joined(&srv, &here, &["put", "--streams=2", "--bufsz=65536", "f.txt", "up.txt"]);
    ok(&o, "put --streams=2 --bufsz=65536");
    assert_eq!(fs::read(srv.path("up.txt")).unwrap(), b"joined values\n");

    // a tree's --jobs=N and --exclude=PAT, and mirror's
    let tree = here.join("tree");
    fs::create_dir(&tree).unwrap();
    fs::write(tree.join("keep.txt"), b"kept\n").unwrap();
    fs::write(tree.join("drop.log"), b"dropped\n").unwrap();
    let o = tf_joined(&srv, &here, &["put", "-r", "--jobs=2", "--exclude=*.log", "tree/", "t"]);
    ok(&o, "put -r --jobs=2 --exclude=*.log");
    assert!(srv.path("t/keep.txt").is_file(), "{}", text(&o));
    assert!(!srv.path("t/drop.log").exists(), "--exclude=*.log was applied");
    let o = tf_joined(&srv, &here, &["mirror", "--exclude=keep.*", "t", "back"]);
    ok(&o, "mirror --exclude=keep.*");
    assert!(!here.join("back/keep.txt").exists(), "{}", text(&o));

    // a flag given a value is refused, not taken for a name
    let o = tf_joined(&srv, &here, &["--verbose=yes", "ls"]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(stderr(&o).contains("--verbose takes no value"), "{}", stderr(&o));
}

#[test]
fn a_double_dash_ends_the_options() {
    let srv = Server::start();
    let here = tempdir("gnu-dashdash");
    fs::write(here.join("-dash.txt"), b"a name with a dash\n").unwrap();
    let o = tf_joined(&srv, &here, &["put", "--", "-dash.txt", "-dash.txt"]);
    ok(&o, "put -- -dash.txt -dash.txt");
    assert_eq!(fs::read(srv.path("-dash.txt")).unwrap(), b"a name with a dash\n");
    let o = tf_joined(&srv, &here, &["ls", "--", "-dash.txt"]);
    ok(&o, "ls -- -dash.txt");
    let o = tf_joined(&srv, &here, &["fstat", "--raw", "--", "-dash.txt"]);
    ok(&o, "fstat --raw -- -dash.txt");

    let down = here.join("down");
    fs::create_dir(&down).unwrap();
    let o = tf_joined(&srv, &down, &["get", "--", "-dash.txt"]);
    ok(&o, "get -- -dash.txt");
    assert_eq!(fs::read(down.join("-dash.txt")).unwrap(), b"a name with a dash\n");

    let o = tf_joined(&srv, &here, &["rm", "--", "-dash.txt"]);
    ok(&o, "rm -- -dash.txt");
    assert!(!srv.path("-dash.txt").exists());
}

#[test]
fn put_of_a_directory_suggests_put_r() {
    let srv = Server::start();
    let here = tempdir("gnu-putdir");
    fs::create_dir(here.join("d")).unwrap();
    fs::write(here.join("d/a.txt"), b"a\n").unwrap();
    let o = srv.tf_command(&["put", "d", "x"]).current_dir(&here).output().unwrap();
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let e = stderr(&o);
    assert_eq!(e.trim_end().lines().count(), 1, "one sentence: {e}");
    assert!(e.contains("d: is a directory") && e.contains(" put -r d x`"), "{e}");
    assert!(!srv.path("x").exists(), "nothing sent");
}

/// A pattern given alone is expanded, as sftp's `get *.txt`: `get 'd/s*.txt'`
/// fetches its files here and `put 's*.txt'` sends them to the served root
/// (both asked the server for the literal name, or sent a file literally so
/// named).
#[test]
fn a_pattern_alone_expands_as_sftp_does() {
    let srv = Server::start();
    fs::create_dir(srv.path("d")).unwrap();
    for n in ["s1.txt", "s2.txt", "other.txt"] {
        fs::write(srv.path(&format!("d/{n}")), n.as_bytes()).unwrap();
    }
    let down = tempdir("gnu-glob-down");
    let o = srv
        .tf_command(&["get", "d/s*.txt"])
        .current_dir(&down)
        .output()
        .unwrap();
    ok(&o, "get 'd/s*.txt'");
    let mut got: Vec<String> = fs::read_dir(&down)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    got.sort();
    assert_eq!(got, ["s1.txt", "s2.txt"], "{}", text(&o));
    assert_eq!(fs::read(down.join("s2.txt")).unwrap(), b"s2.txt");

    let up = tempdir("gnu-glob-up");
    for n in ["s7.txt", "s8.txt", "t9.txt"] {
        fs::write(up.join(n), n.as_bytes()).unwrap();
    }
    let o = srv.tf_command(&["put", "s*.txt"]).current_dir(&up).output().unwrap();
    ok(&o, "put 's*.txt'");
    assert_eq!(fs::read(srv.path("s7.txt")).unwrap(), b"s7.txt", "{}", text(&o));
    assert_eq!(fs::read(srv.path("s8.txt")).unwrap(), b"s8.txt");
    assert!(!srv.path("t9.txt").exists() && !srv.path("s*.txt").exists());
}

#[test]
fn a_cluster_of_single_letter_flags_is_each_of_them() {
    use std::os::unix::fs::PermissionsExt;
    let srv = Server::start();
    let here = tempdir("gnu-cluster");
    let tree = here.join("tree");
    fs::create_dir(&tree).unwrap();
    fs::write(tree.join("run.sh"), b"#!/bin/sh\n").unwrap();
    fs::set_permissions(tree.join("run.sh"), fs::Permissions::from_mode(0o751)).unwrap();
    fs::write(tree.join("-ra"), b"a name that looks like flags\n").unwrap();
    // rsync's spelling: -rp is -r -p, -az is -a -z
    let o = tf_joined(&srv, &here, &["put", "-rp", "tree/", "t"]);
    ok(&o, "put -rp");
    let mode = |p: &std::path::Path| fs::metadata(p).unwrap().permissions().mode() & 0o7777;
    assert_eq!(mode(&srv.path("t/run.sh")), 0o751, "{}", text(&o));
    let o = tf_joined(&srv, &here, &["get", "-raz", "t/", "back"]);
    ok(&o, "get -raz");
    assert_eq!(mode(&here.join("back/run.sh")), 0o751, "{}", text(&o));
    // a letter no flag of the command has: the word is refused whole
    let o = tf_joined(&srv, &here, &["put", "-rQ", "tree", "u"]);
    assert!(!o.status.success() && stderr(&o).contains("-rQ"), "{}", text(&o));
    assert!(!srv.path("u").exists());
    // after --, and as an option's value, such a word is a name
    let o = tf_joined(&srv, &here, &["put", "--", "tree/-ra", "-ra"]);
    ok(&o, "put -- tree/-ra -ra");
    assert_eq!(fs::read(srv.path("-ra")).unwrap(), b"a name that looks like flags\n");
    let o = tf_joined(&srv, &here, &["put", "-r", "--exclude", "-ra", "tree/", "v"]);
    ok(&o, "put -r --exclude -ra");
    assert!(
        srv.path("v/run.sh").is_file() && !srv.path("v/-ra").exists(),
        "{}",
        text(&o)
    );
}
