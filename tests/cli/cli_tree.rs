//! `tf put -r` and `tf get -r` (issue 26, part 3 and the get -r half of part
//! 5), through the real binary against a real tfd: trees round-trip file by
//! file (SHA-256, empty files and directories, spaces, UTF-8, depth) over
//! `--jobs 1` and `--jobs 8` sessions and no more, local and remote patterns,
//! rsync's rule for the destination (`src` lands as DEST/src, `src/` its
//! contents in DEST), a multi-user server, a symlink planted
//! in the target that must not be written through, and the errors.

// `..Default::default()` keeps these tests building whatever fields Opts gains.
#![allow(clippy::needless_update)]

use crate::output::{ok, text};
use crate::trees::{self, inventory};
use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use tfd_testkit::users::{ensure_system_user, login_userdb};
use tfd_testkit::*;

/// Nine files (the mirror tests' tree has eight, and a shallower deep file).
const TREE: [(&str, usize); 9] = [
    ("a.txt", 1000),
    ("empty", 0),
    ("with space/b c.bin", 70_000),
    ("日本語/ünïcödé.txt", 33),
    (".hidden", 5),
    ("d1/d2/d3/d4/d5/deep", 4096),
    ("d1/d2/mid", 1 << 20),
    ("d1/empty too", 0),
    ("logs/x.log", 10),
];

fn sample_tree(root: &Path) {
    trees::sample_tree(root, &TREE);
}

/// Session starts in the server's log so far.
fn sessions(srv: &Server) -> usize {
    srv.log().matches(" session start user=").count()
}

#[test]
fn trees_round_trip_over_n_sessions_and_no_more() {
    let srv = Server::start();
    let here = tempdir("cli_tree_rt");
    let src = here.join("src tree");
    sample_tree(&src);
    let want = inventory(&src);
    for jobs in ["1", "8"] {
        let remote = format!("up{jobs}");
        let before = sessions(&srv);
        // a destination that does not exist is made, the source under its
        // own name in it
        let o = srv.tf(&["put", "-r", "--jobs", jobs, src.to_str().unwrap(), &remote]);
        ok(&o, "put -r");
        let remote = format!("{remote}/src tree");
        assert_eq!(inventory(&srv.path(&remote)), want, "--jobs {jobs}: the server's copy");
        let n: usize = jobs.parse().unwrap();
        let after = sessions(&srv);
        assert_eq!(after - before, n, "--jobs {jobs}: sessions of put -r\n{}", srv.log());
        // into an existing local directory: under the source's own name
        let back = here.join(format!("back{jobs}"));
        fs::create_dir(&back).unwrap();
        let o = srv.tf(&["get", "-r", "--jobs", jobs, &remote, back.to_str().unwrap()]);
        ok(&o, "get -r");
        assert_eq!(sessions(&srv) - after, n, "--jobs {jobs}: sessions of get -r");
        let local = back.join("src tree");
        assert_eq!(inventory(&local), want, "--jobs {jobs}: the local copy");
        // modification times are the server's
        for f in ["a.txt", "d1/d2/mid", "empty"] {
            let s = fs::metadata(srv.path(&remote).join(f)).unwrap().mtime();
            let l = fs::metadata(local.join(f)).unwrap().mtime();
            assert_eq!(s, l, "{f}: mtime");
        }
    }
    // put -r into an existing remote directory: under the source's name;
    // get -r of `src/` into a new local directory: the contents
    fs::create_dir(srv.path("existing")).unwrap();
    let o = srv.tf(&["put", "-r", src.to_str().unwrap(), "existing"]);
    ok(&o, "put -r into a directory");
    assert_eq!(inventory(&srv.path("existing/src tree")), want);
    let fresh = here.join("fresh");
    let o = srv.tf(&["get", "-r", "existing/src tree/", fresh.to_str().unwrap()]);
    ok(&o, "get -r into a new directory");
    assert_eq!(inventory(&fresh), want);
    // many files, 300 of them, still take --jobs 4 sessions
    let many = here.join("many");
    for i in 0..300 {
        let p = many.join(format!("d{}/f{i}", i % 10));
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        fs::write(p, pattern(1000 + i, i as u64)).unwrap();
    }
    let before = sessions(&srv);
    let o = srv.tf(&["put", "-r", "--jobs", "4", &format!("{}/", many.display()), "many"]);
    ok(&o, "put -r of 300 files");
    assert_eq!(sessions(&srv) - before, 4, "300 files over --jobs 4");
    assert_eq!(inventory(&srv.path("many")), inventory(&many));
    let _ = fs::remove_dir_all(&here);
}

#[test]
fn patterns_expand_locally_and_remotely() {
    let srv = Server::start();
    let here = tempdir("cli_tree_glob");
    for (p, body) in [("a.log", "1"), ("b.log", "22"), ("c.txt", "333"), ("x*y.log", "lit")] {
        fs::write(here.join(p), body).unwrap();
    }
    fs::create_dir(srv.path("logs")).unwrap();
    // a local pattern (as tf shell and tf -b pass it: no shell expands it)
    let pat = format!("{}/*.log", here.display());
    let o = srv.tf(&["put", &pat, "logs/"]);
    ok(&o, "put PATTERN DIR/");
    let mut got = dir_names(&srv.path("logs"));
    got.sort();
    assert_eq!(got, ["a.log", "b.log", "x*y.log"]);
    // a backslash makes a wildcard literal
    fs::create_dir(srv.path("lit")).unwrap();
    let o = srv.tf(&["put", &format!("{}/x\\*y.log", here.display()), "lit/"]);
    ok(&o, "put an escaped name");
    assert_eq!(dir_names(&srv.path("lit")), ["x*y.log"]);
    // a remote pattern: the server's directory listed and matched by tf
    fs::write(srv.path("logs/other.txt"), "no").unwrap();
    let down = here.join("down");
    fs::create_dir(&down).unwrap();
    let o = srv.tf(&["get", "logs/[ab].log", down.to_str().unwrap()]);
    ok(&o, "get PATTERN DIR");
    let mut got = dir_names(&down);
    got.sort();
    assert_eq!(got, ["a.log", "b.log"]);
    assert_eq!(fs::read(down.join("b.log")).unwrap(), b"22");
    // patterns in deeper components, with -r
    fs::create_dir_all(srv.path("deep/p1/q")).unwrap();
    fs::create_dir_all(srv.path("deep/p2")).unwrap();
    fs::write(srv.path("deep/p1/q/in"), "q").unwrap();
    fs::write(srv.path("deep/p2/f.log"), "f").unwrap();
    fs::write(srv.path("deep/p1/g.log"), "g").unwrap();
    let d2 = here.join("d2");
    fs::create_dir(&d2).unwrap();
    let o = srv.tf(&["get", "-r", "deep/p*/*", d2.to_str().unwrap()]);
    ok(&o, "get -r deep/p*/*");
    let mut got = dir_names(&d2);
    got.sort();
    assert_eq!(got, ["f.log", "g.log", "q"]);
    assert_eq!(fs::read(d2.join("q/in")).unwrap(), b"q");
    // a remote pattern that matches nothing is an error, and nothing is written
    let empty = here.join("empty");
    fs::create_dir(&empty).unwrap();
    let o = srv.tf(&["get", "logs/*.nothing", empty.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("no remote file matches"), "{}", text(&o));
    assert!(dir_names(&empty).is_empty());
    // and so is a local one
    let o = srv.tf(&["put", &format!("{}/*.nothing", here.display()), "logs/"]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(text(&o).contains("no local file matches"), "{}", text(&o));
    let _ = fs::remove_dir_all(&here);
}

#[test]
fn tree_commands_follow_cd_in_a_batch() {
    let srv = Server::start();
    let here = tempdir("cli_tree_batch");
    let src = here.join("t");
    sample_tree(&src);
    fs::create_dir(srv.path("work")).unwrap();
    let back = here.join("back");
    fs::create_dir(&back).unwrap();
    let batch = here.join("batch");
    fs::write(
        &batch,
        format!(
            "cd work\nput -r --jobs 3 '{}'\nget -r t '{}'\nget 't/*.txt' '{}'\n",
            src.display(),
            back.display(),
            back.display()
        ),
    )
    .unwrap();
    let o = srv.tf(&["-b", batch.to_str().unwrap()]);
    ok(&o, "batch");
    let want = inventory(&src);
    assert_eq!(inventory(&srv.path("work/t")), want);
    assert_eq!(inventory(&back.join("t")), want);
    assert_eq!(
        fs::read(back.join("a.txt")).unwrap(),
        fs::read(src.join("a.txt")).unwrap()
    );
    let _ = fs::remove_dir_all(&here);
}

#[test]
fn a_symlink_planted_in_the_target_is_not_written_through() {
    let srv = Server::start();
    let here = tempdir("cli_tree_link");
    let outside = here.join("outside");
    fs::create_dir(&outside).unwrap();
    fs::write(outside.join("victim"), b"keep me").unwrap();
    fs::create_dir_all(srv.path("tree/sub")).unwrap();
    fs::write(srv.path("tree/sub/victim"), b"from the server").unwrap();
    fs::write(srv.path("tree/top"), b"top").unwrap();
    fs::write(srv.path("tree/file"), b"new file").unwrap();
    // the target already holds tree/sub -> outside, and tree/file -> outside/victim
    let target = here.join("target");
    fs::create_dir_all(target.join("tree")).unwrap();
    std::os::unix::fs::symlink(&outside, target.join("tree/sub")).unwrap();
    std::os::unix::fs::symlink(outside.join("victim"), target.join("tree/file")).unwrap();
    let o = srv.tf(&["get", "-r", "tree", target.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(text(&o).contains("symlink"), "{}", text(&o));
    assert_eq!(fs::read(outside.join("victim")).unwrap(), b"keep me");
    assert_eq!(dir_names(&outside), ["victim"], "nothing created outside");
    // the rest arrived; the link at a file's name was replaced, not followed
    assert_eq!(fs::read(target.join("tree/top")).unwrap(), b"top");
    assert_eq!(fs::read(target.join("tree/file")).unwrap(), b"new file");
    assert!(!fs::symlink_metadata(target.join("tree/file"))
        .unwrap()
        .file_type()
        .is_symlink());
    // no temporary left anywhere
    let mut names = dir_names(&target.join("tree"));
    names.sort();
    assert_eq!(names, ["file", "sub", "top"]);
    let _ = fs::remove_dir_all(&here);
}

#[test]
fn symlinks_in_an_uploaded_tree_are_skipped_and_said() {
    let srv = Server::start();
    let here = tempdir("cli_tree_uplink");
    let src = here.join("src");
    fs::create_dir_all(src.join("d")).unwrap();
    fs::write(src.join("d/real"), b"r").unwrap();
    std::os::unix::fs::symlink("/etc", src.join("etc")).unwrap();
    std::os::unix::fs::symlink("/etc/passwd", src.join("d/pw")).unwrap();
    let o = srv.tf(&["put", "-r", &format!("{}/", src.display()), "up"]);
    ok(&o, "put -r with links");
    assert!(text(&o).contains("pw: a symlink"), "{}", text(&o));
    assert!(text(&o).contains("etc: a symlink"), "{}", text(&o));
    assert_eq!(dir_names(&srv.path("up")), ["d"]);
    assert_eq!(dir_names(&srv.path("up/d")), ["real"]);
    let _ = fs::remove_dir_all(&here);
}

#[test]
fn errors_are_clear_and_leave_nothing_behind() {
    let srv = Server::start();
    let here = tempdir("cli_tree_err");
    let src = here.join("src");
    fs::create_dir(&src).unwrap();
    fs::write(src.join("f"), b"x").unwrap();
    fs::write(srv.path("afile"), b"remote file").unwrap();
    let s = src.to_str().unwrap();
    // a missing local source
    let o = srv.tf(&["put", "-r", &format!("{s}/nosuch"), "x"]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(text(&o).contains("nosuch"), "{}", text(&o));
    // a missing remote source
    let o = srv.tf(&["get", "-r", "nosuch", here.join("n").to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(!here.join("n").exists());
    // several sources into a remote file, and into a local file
    let o = srv.tf(&["put", "-r", s, s, "afile"]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(text(&o).contains("not a directory"), "{}", text(&o));
    assert_eq!(fs::read(srv.path("afile")).unwrap(), b"remote file");
    let o = srv.tf(&["get", "-r", "afile", "afile", src.join("f").to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(text(&o).contains("not a directory"), "{}", text(&o));
    assert_eq!(fs::read(src.join("f")).unwrap(), b"x");
    // a directory onto a remote file: the server refuses the MKDIR
    let o = srv.tf(&["put", "-r", s, "afile"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert_eq!(fs::read(srv.path("afile")).unwrap(), b"remote file");
    // a directory without -r
    let o = srv.tf(&["put", s, s, "x/"]);
    assert_ne!(o.status.code(), Some(0), "{}", text(&o));
    // a remote directory onto a local file
    fs::create_dir(srv.path("rdir")).unwrap();
    let o = srv.tf(&["get", "-r", "rdir", src.join("f").to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert_eq!(fs::read(src.join("f")).unwrap(), b"x");
    // bad options
    for args in [
        &["put", "-r", "--jobs", "0", s, "x"][..],
        &["get", "-r", "--jobs", "65", "a", "b"],
    ] {
        let o = srv.tf(args);
        assert_eq!(o.status.code(), Some(1), "{args:?}: {}", text(&o));
        assert!(text(&o).contains("--jobs"), "{}", text(&o));
    }
    let mut left = dir_names(&src);
    left.sort();
    assert_eq!(left, ["f"], "no temporary left");
    let _ = fs::remove_dir_all(&here);
}

#[test]
fn a_multi_user_tree_belongs_to_the_logins_system_user() {
    if !require(is_root(), "needs root") {
        return;
    }
    const PW: &str = "tree pw";
    let (uid, gid) = ensure_system_user("tftreeuser", &[]);
    let f = login_userdb("cli_tree_multi", "alice", "tftreeuser", PW);
    let srv = Server::start_opts(Opts {
        extra: &format!("userdb {f}\n"),
        default_user: false,
        ..Default::default()
    });
    fs::create_dir_all(srv.path("alice")).unwrap();
    nix::unistd::chown(&srv.path("alice"), Some(uid.into()), Some(gid.into())).unwrap();
    let here = tempdir("cli_tree_multi_src");
    let src = here.join("t");
    sample_tree(&src);
    let run = |args: &[&str]| {
        let mut c = srv.tf_command(&[&["--user", "alice"][..], args].concat());
        c.env("TF_PASSWORD", PW).env_remove("TF_USER");
        c.output().unwrap()
    };
    let before = srv.log().matches("LOGIN \"alice\" as").count();
    let o = run(&["put", "-r", "--jobs", "3", src.to_str().unwrap(), "alice"]);
    ok(&o, "put -r --user");
    assert_eq!(
        srv.log().matches("LOGIN \"alice\" as").count() - before,
        3,
        "every session of the pool logs in"
    );
    let up = srv.path("alice/t");
    assert_eq!(inventory(&up), inventory(&src));
    let mut stack = vec![up.clone()];
    while let Some(d) = stack.pop() {
        for e in fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            assert_eq!(
                fs::metadata(&p).unwrap().uid(),
                uid,
                "{} owned by the login's user",
                p.display()
            );
            if p.is_dir() {
                stack.push(p);
            }
        }
    }
    let back = here.join("back");
    let o = run(&["get", "-r", "alice/t/", back.to_str().unwrap()]);
    ok(&o, "get -r --user");
    assert_eq!(inventory(&back), inventory(&src));
    let _ = fs::remove_dir_all(&here);
}

#[test]
fn the_pool_enters_with_fast_access_when_the_session_did() {
    if !require(is_root(), "needs root") {
        return;
    }
    // FAI tokens are never issued to root: the sessions run as a system user
    let (uid, gid) = ensure_system_user("tftreeuser", &[]);
    let srv = Server::start_opts(Opts {
        extra: "defusr tftreeuser\n",
        default_user: false,
        ..Default::default()
    });
    fs::create_dir(srv.path("mine")).unwrap();
    nix::unistd::chown(&srv.path("mine"), Some(uid.into()), Some(gid.into())).unwrap();
    let here = tempdir("cli_tree_fai");
    let src = here.join("t");
    sample_tree(&src);
    let cache = here.join("cache");
    let tf = |args: &[&str]| srv.tf_command(args).env("XDG_CACHE_HOME", &cache).output().unwrap();
    let entrances = || srv.log().matches("FAI entrance user=tftreeuser").count();
    // the first run makes the token (RSA, FAITOK); its two extra sessions use it
    let o = tf(&["--fai", "put", "-r", "--jobs", "3", src.to_str().unwrap(), "mine"]);
    ok(&o, "put -r --fai");
    assert_eq!(entrances(), 2, "{}", srv.log());
    assert_eq!(inventory(&srv.path("mine/t")), inventory(&src));
    assert_eq!(fs::metadata(srv.path("mine/t/a.txt")).unwrap().uid(), uid);
    // the next: all three through the token, one after the other
    let back = here.join("back");
    let o = tf(&["--fai", "get", "-r", "--jobs", "3", "mine/t/", back.to_str().unwrap()]);
    ok(&o, "get -r --fai");
    assert_eq!(entrances(), 5, "{}", srv.log());
    assert_eq!(inventory(&back), inventory(&src));
    let _ = fs::remove_dir_all(&here);
}

/// The partial an interrupted download kept (`.NAME.tf-partial` and its
/// journal) is the engine's: `put -r` and `mirror -R` never publish it (put -r
/// says it skipped it), and a download mirror never removes it as an extra.
#[test]
fn partials_of_interrupted_downloads_are_not_files_of_the_tree() {
    let srv = Server::start();
    let here = tempdir("cli_tree_partials");
    let src = here.join("src");
    fs::create_dir_all(src.join("d")).unwrap();
    fs::write(src.join("d/f.bin"), b"data").unwrap();
    fs::write(src.join("d/.g.bin.tf-partial"), b"half").unwrap();
    fs::write(src.join("d/.g.bin.tf-partial.journal"), b"tf-journal 1\n").unwrap();
    let o = srv.tf(&["put", "-r", &format!("{}/", src.display()), "up"]);
    ok(&o, "put -r");
    assert!(text(&o).contains("partial, skipped"), "{}", text(&o));
    assert!(srv.path("up/d/f.bin").is_file());
    assert!(!srv.path("up/d/.g.bin.tf-partial").exists(), "put -r sent a partial");
    assert!(
        !srv.path("up/d/.g.bin.tf-partial.journal").exists(),
        "put -r sent a journal"
    );
    let o = srv.tf(&["mirror", "-R", src.to_str().unwrap(), "up2"]);
    ok(&o, "mirror -R");
    assert!(srv.path("up2/d/f.bin").is_file());
    assert!(
        !srv.path("up2/d/.g.bin.tf-partial").exists(),
        "mirror -R sent a partial"
    );
    let o = srv.tf(&["mirror", "--delete", "up", src.to_str().unwrap()]);
    ok(&o, "mirror --delete");
    assert_eq!(
        fs::read(src.join("d/.g.bin.tf-partial")).unwrap(),
        b"half",
        "mirror --delete removed a partial"
    );
    let _ = fs::remove_dir_all(&here);
}

/// `put -r` sends each batch with the tree's directories in front of it
/// (no round trip of their own) where there are at most 256, and makes them
/// first where there are more: either way every directory is there, empty
/// or nested, before its files; a directory whose name the server has as a
/// file fails only what is below it; `get -r` brings it all back, and an
/// empty tree too.
#[test]
fn a_tree_of_many_directories_lands_whole_with_its_directories_ahead() {
    let srv = Server::start();
    let here = tempdir("cli_tree_dirs");
    for (name, dirs) in [("few", 40usize), ("many", 300)] {
        let src = here.join(name);
        for i in 0..dirs {
            // three levels, parents listed before their children
            let d = src.join(format!("a{}/b{}/c{i}", i % 3, i % 7));
            fs::create_dir_all(&d).unwrap();
            if i % 5 != 0 {
                fs::write(d.join("f"), pattern(500 + i, i as u64)).unwrap();
            }
        }
        fs::create_dir_all(src.join("empty/deeper")).unwrap();
        let want = inventory(&src);
        for jobs in ["1", "4"] {
            let remote = format!("{name}{jobs}");
            let o = srv.tf(&["put", "-r", "--jobs", jobs, &format!("{}/", src.display()), &remote]);
            ok(&o, &format!("put -r of {dirs} directories over --jobs {jobs}"));
            assert_eq!(inventory(&srv.path(&remote)), want, "{remote}: the server's copy");
            let back = here.join(format!("back-{remote}"));
            let o = srv.tf(&[
                "get",
                "-r",
                "--jobs",
                jobs,
                &format!("{remote}/"),
                back.to_str().unwrap(),
            ]);
            ok(&o, &format!("get -r of {remote}"));
            assert_eq!(inventory(&back), want, "{remote}: the local copy");
        }
    }
    // a directory the server has as a file: what is below it fails, in one
    // line, and the rest lands
    let src = here.join("few");
    fs::create_dir_all(srv.path("taken/few/a1")).unwrap();
    fs::write(srv.path("taken/few/a1/b1"), b"a file").unwrap();
    let o = srv.tf(&["put", "-r", "--jobs", "4", src.to_str().unwrap(), "taken"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert_eq!(fs::read(srv.path("taken/few/a1/b1")).unwrap(), b"a file");
    let landed = inventory(&srv.path("taken/few"));
    for (p, v) in inventory(&src) {
        if p.starts_with("a1/b1") {
            assert!(!landed.contains_key(&p) || p == Path::new("a1/b1"), "{p:?} landed");
        } else {
            assert_eq!(landed.get(&p), Some(&v), "{p:?}: {}", text(&o));
        }
    }
    // an empty tree, then a missing one: the session stays in step
    fs::create_dir(srv.path("void")).unwrap();
    let o = srv.tf(&["get", "-r", "void", here.join("void").to_str().unwrap()]);
    ok(&o, "get -r of an empty directory");
    assert!(here.join("void/void").is_dir(), "the empty tree lands under its name");
    let o = srv.tf(&["get", "-r", "nosuch", here.join("nosuch").to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    let o = srv.tf(&["ls", "/"]);
    ok(&o, "the session after");
    let _ = fs::remove_dir_all(&here);
}

/// `get -r` of a source that turns out not to be a directory (a regular
/// file), of an empty directory and of a missing one: the listing asked for
/// ahead of the source's FSTAT sends no chunk, and nothing else of what tf
/// sent goes unconsumed. The log tells: tfd logs each command it does not
/// know, which a `CONT` no chunk asked for would be; the session after is
/// in step (the same tf session's later command answered right).
#[test]
fn a_listing_without_chunks_leaves_no_stray_command() {
    let srv = Server::start();
    let here = tempdir("cli_tree_stray");
    fs::write(srv.path("plain.txt"), b"a regular file\n").unwrap();
    fs::create_dir(srv.path("void")).unwrap();
    let o = srv.tf(&["get", "-r", "plain.txt", here.join("plain.txt").to_str().unwrap()]);
    ok(&o, "get -r of a regular file");
    assert_eq!(fs::read(here.join("plain.txt")).unwrap(), b"a regular file\n");
    let o = srv.tf(&["get", "-r", "void", here.join("void").to_str().unwrap()]);
    ok(&o, "get -r of an empty directory");
    assert!(here.join("void/void").is_dir(), "the empty tree lands under its name");
    let o = srv.tf(&["get", "-r", "nosuch", here.join("nosuch").to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    // a tree with files after them on one session: every answer in step
    fs::create_dir(srv.path("full")).unwrap();
    fs::write(srv.path("full/f"), b"f").unwrap();
    fs::create_dir(here.join("both")).unwrap();
    let o = srv.tf(&[
        "get",
        "-r",
        "--jobs",
        "1",
        "void",
        "full",
        here.join("both").to_str().unwrap(),
    ]);
    ok(&o, "get -r of an empty and a full directory");
    assert_eq!(fs::read(here.join("both/full/f")).unwrap(), b"f");
    let log = srv.log();
    assert!(
        !log.contains("unknown command"),
        "a command tf sent went unconsumed:\n{log}"
    );
    let _ = fs::remove_dir_all(&here);
}
