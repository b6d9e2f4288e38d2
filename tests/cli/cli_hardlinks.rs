//! Issue 67 `-H`: a tree with three names of one file in three directories,
//! a pair of names of another and files of their own goes up (`put -r -aH`),
//! down (`get -r -aH`) and both ways by mirror; each copy's names share
//! inodes as `rsync -aH`'s copy's do (which names, how many links), with the
//! source's bytes, modes and mtimes; each linked file's data crossed once
//! (the server's log: bytes stored or sent); a second run touches nothing.
//! A replaced name, on either side, leaves the other names of its old file
//! as they were; without `-H` each name arrives as a file of its own, as
//! `rsync -a` copies it.

use crate::output::ok;
use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::process::Command;
use tfd_testkit::*;

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn tf(srv: &Server, args: &[&str]) {
    ok(&srv.tf(args), &args.join(" "));
}

/// Bytes of the file of three names, of the pair's, of the two lone files.
const THREE: usize = 30_000;
const PAIR: usize = 50_000;
const LONE: [usize; 2] = [7_000, 11_000];

/// The tree: `a/x`, `b/y` and `c/d/z` one file; `q/p1` and `r` another;
/// `lone` and `b/lone2` files of their own; every mtime in the past.
fn tree(src: &Path) {
    fs::create_dir_all(src.join("a")).unwrap();
    fs::create_dir_all(src.join("b")).unwrap();
    fs::create_dir_all(src.join("c/d")).unwrap();
    fs::create_dir_all(src.join("q")).unwrap();
    fs::write(src.join("a/x"), pattern(THREE, 3)).unwrap();
    fs::hard_link(src.join("a/x"), src.join("b/y")).unwrap();
    fs::hard_link(src.join("a/x"), src.join("c/d/z")).unwrap();
    fs::write(src.join("q/p1"), pattern(PAIR, 5)).unwrap();
    fs::hard_link(src.join("q/p1"), src.join("r")).unwrap();
    fs::write(src.join("lone"), pattern(LONE[0], 7)).unwrap();
    fs::write(src.join("b/lone2"), pattern(LONE[1], 9)).unwrap();
    crate::cli_xattrs::old_times(src);
}

/// One entry as a copy must keep it: kind and mode, mtime to the
/// nanosecond, a file's links and the first name (in order) of its file
/// within the tree, and its bytes (their length and FNV-1a hash).
type Kept = (u32, i64, i64, u64, String, (usize, u64));

/// `bytes`' length and FNV-1a hash: a difference told in a line.
fn sum(bytes: &[u8]) -> (usize, u64) {
    let h = bytes.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
    });
    (bytes.len(), h)
}

/// Every entry below `dir`, no link followed: its path relative to it (in
/// order), its lstat and its path.
fn entries(dir: &Path) -> Vec<(String, fs::Metadata, std::path::PathBuf)> {
    let mut all = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let m = fs::symlink_metadata(&d).unwrap();
        let rel = d.strip_prefix(dir).unwrap().to_string_lossy().into_owned();
        if m.is_dir() {
            stack.extend(fs::read_dir(&d).unwrap().map(|e| e.unwrap().path()));
        }
        all.push((rel, m, d));
    }
    all.sort_by(|a, b| a.0.cmp(&b.0));
    all
}

/// Every entry below `dir` as a copy must keep it, by its relative path.
fn shape(dir: &Path) -> BTreeMap<String, Kept> {
    let mut first: BTreeMap<(u64, u64), String> = BTreeMap::new();
    let mut out = BTreeMap::new();
    for (rel, m, path) in entries(dir) {
        let (links, name, bytes) = if m.is_file() {
            let name = first.entry((m.dev(), m.ino())).or_insert_with(|| rel.clone()).clone();
            (m.nlink(), name, sum(&fs::read(&path).unwrap()))
        } else {
            (0, String::new(), (0, 0))
        };
        let kept = (m.mode(), m.mtime(), m.mtime_nsec(), links, name, bytes);
        out.insert(rel, kept);
    }
    out
}

/// Every entry's ctime and inode below `dir`: what a run that touches
/// nothing keeps.
fn ctimes(dir: &Path) -> BTreeMap<String, (i64, i64, u64)> {
    entries(dir)
        .into_iter()
        .map(|(rel, m, _)| (rel, (m.ctime(), m.ctime_nsec(), m.ino())))
        .collect()
}

/// The data bytes the server's log says its batches stored (`TFDPUTMANY
/// stored`) or sent (`TFDGETMANY sent`) in `log`.
fn batch_bytes(log: &str, what: &str) -> usize {
    log.lines()
        .filter_map(|l| l.split_once(what).map(|(_, rest)| rest))
        .map(|rest| {
            let words: Vec<&str> = rest.split([' ', ',']).filter(|w| !w.is_empty()).collect();
            let at = words.iter().position(|w| *w == "bytes").expect("bytes") - 1;
            words[at].parse::<usize>().unwrap()
        })
        .sum()
}

/// Runs `args` and returns the log the server wrote meanwhile, once every
/// session ended.
fn logged(srv: &Server, args: &[&str]) -> String {
    let before = srv.settled_log().len();
    tf(srv, args);
    srv.settled_log()[before..].to_string()
}

/// A server with `t`, the tree in a fresh `src` beside it, and the shape
/// of rsync's copy of the tree with `flags`; `None` where rsync is missing
/// (the test fails, naming it).
fn start(tag: &str, flags: &str) -> Option<(Server, std::path::PathBuf, BTreeMap<String, Kept>)> {
    if !need::require_tool("rsync", &["--version"], "apt package rsync") {
        return None;
    }
    let srv = Server::start();
    let here = tempdir(tag);
    fs::create_dir_all(srv.path("t")).unwrap();
    let (src, reference) = (here.join("src"), here.join("ref"));
    tree(&src);
    let o = Command::new("rsync")
        .args([flags, &format!("{}/", s(&src)), s(&reference)])
        .output()
        .unwrap();
    ok(&o, &format!("rsync {flags}"));
    Some((srv, here, shape(&reference)))
}

/// Each file's data once: what a copy that keeps links moves.
const ONCE: usize = THREE + PAIR + LONE[0] + LONE[1];

#[test]
fn links_go_four_ways_as_rsync_h_keeps_them_the_data_once_and_a_second_run_touches_nothing() {
    let Some((srv, here, want)) = start("cli_hardlinks", "-aH") else {
        return;
    };
    let src = here.join("src");
    assert_eq!(want, shape(&src), "rsync -aH's own copy");
    assert_eq!(want["c/d/z"].3, 3, "three names: {:?}", want["c/d/z"].4);
    assert_eq!(want["c/d/z"].4, "a/x");

    let log = logged(&srv, &["put", "-r", "-a", "-H", s(&src), "t"]);
    assert_eq!(shape(&srv.path("t/src")), want, "put -r -aH");
    assert_eq!(
        batch_bytes(&log, "TFDPUTMANY stored"),
        ONCE,
        "put -r -aH: data once:\n{log}"
    );
    let before = ctimes(&srv.path("t/src"));
    let log = logged(&srv, &["put", "-r", "-a", "-H", s(&src), "t"]);
    assert_eq!(
        ctimes(&srv.path("t/src")),
        before,
        "a second put -r -aH touched something"
    );
    assert_eq!(batch_bytes(&log, "TFDPUTMANY stored"), 0, "{log}");

    let out = here.join("out");
    fs::create_dir_all(&out).unwrap();
    let log = logged(&srv, &["get", "-r", "-a", "-H", "t/src", s(&out)]);
    assert_eq!(shape(&out.join("src")), want, "get -r -aH");
    assert_eq!(
        batch_bytes(&log, "TFDGETMANY sent"),
        ONCE,
        "get -r -aH: data once:\n{log}"
    );
    let before = ctimes(&out.join("src"));
    tf(&srv, &["get", "-r", "-a", "-H", "t/src", s(&out)]);
    assert_eq!(
        ctimes(&out.join("src")),
        before,
        "a second get -r -aH touched something"
    );

    let back = here.join("back");
    let log = logged(&srv, &["mirror", "-H", "t/src", s(&back)]);
    assert_eq!(shape(&back), want, "mirror -H");
    assert_eq!(
        batch_bytes(&log, "TFDGETMANY sent"),
        ONCE,
        "mirror -H: data once:\n{log}"
    );
    let before = ctimes(&back);
    tf(&srv, &["mirror", "-H", "t/src", s(&back)]);
    assert_eq!(ctimes(&back), before, "a second mirror -H touched something");

    let log = logged(&srv, &["mirror", "-R", "-H", s(&back), "t/again"]);
    assert_eq!(shape(&srv.path("t/again")), want, "mirror -R -H");
    assert_eq!(
        batch_bytes(&log, "TFDPUTMANY stored"),
        ONCE,
        "mirror -R -H: data once:\n{log}"
    );
    let before = ctimes(&srv.path("t/again"));
    let log = logged(&srv, &["mirror", "-R", "-H", s(&back), "t/again"]);
    assert_eq!(
        ctimes(&srv.path("t/again")),
        before,
        "a second mirror -R -H touched something"
    );
    assert_eq!(batch_bytes(&log, "TFDPUTMANY stored"), 0, "{log}");
}

/// `path` replaced by a new file of `bytes` (a new inode), its mtime old.
fn replace(path: &Path, bytes: &[u8]) {
    let tmp = path.with_extension("new");
    fs::write(&tmp, bytes).unwrap();
    fs::rename(&tmp, path).unwrap();
    let o = Command::new("touch")
        .args(["-d", "@1500000000"])
        .arg(path)
        .output()
        .unwrap();
    ok(&o, "touch");
}

#[test]
fn a_replaced_name_never_changes_the_other_names_of_its_old_file() {
    let srv = Server::start();
    let here = tempdir("cli_hardlinks_replaced");
    fs::create_dir_all(srv.path("t")).unwrap();
    let src = here.join("src");
    tree(&src);
    tf(&srv, &["put", "-r", "-a", "-H", s(&src), "t"]);
    let three = pattern(THREE, 3);

    // on the server: a put over one name of a linked file, then a mirror
    // of a tree where one name became a file of its own
    let other = here.join("other");
    fs::write(&other, b"a new q/p1").unwrap();
    tf(&srv, &["put", s(&other), "t/src/q/p1"]);
    assert_eq!(fs::read(srv.path("t/src/q/p1")).unwrap(), b"a new q/p1");
    assert_eq!(
        fs::read(srv.path("t/src/r")).unwrap(),
        pattern(PAIR, 5),
        "put wrote into a link"
    );
    assert_eq!(fs::metadata(srv.path("t/src/r")).unwrap().nlink(), 1);
    replace(&src.join("b/y"), b"y alone");
    tf(&srv, &["mirror", "-R", "-H", s(&src), "t/src"]);
    assert_eq!(fs::read(srv.path("t/src/b/y")).unwrap(), b"y alone");
    for name in ["t/src/a/x", "t/src/c/d/z"] {
        assert_eq!(fs::read(srv.path(name)).unwrap(), three, "{name}");
        assert_eq!(fs::metadata(srv.path(name)).unwrap().nlink(), 2, "{name}");
    }
    // the pair is one file again: r (in the top) relinked to q/p1, whose
    // data went up
    assert_eq!(shape(&srv.path("t/src")), shape(&src), "mirror -R -H after the changes");

    // here: a name the server replaced, and a file whose names the server
    // changed in place; a name outside the copy holds the old file
    let out = here.join("out");
    tf(&srv, &["mirror", "-H", "t/src", s(&out)]);
    let keep = here.join("outside");
    fs::hard_link(out.join("a/x"), &keep).unwrap();
    replace(&srv.path("t/src/c/d/z"), b"z alone");
    fs::write(srv.path("t/src/q/p1"), b"q/p1 and r changed").unwrap();
    let got = here.join("got");
    fs::create_dir_all(&got).unwrap();
    tf(&srv, &["get", "-r", "-a", "-H", "t/src", s(&got)]);
    let want = shape(&srv.path("t/src"));
    assert_eq!(shape(&got.join("src")), want, "get -r -aH after the changes");
    let old_p1 = here.join("old_p1");
    fs::hard_link(out.join("q/p1"), &old_p1).unwrap();
    tf(&srv, &["mirror", "-H", "t/src", s(&out)]);
    assert_eq!(fs::read(&keep).unwrap(), three, "tf wrote into a linked file");
    assert_eq!(
        fs::read(&old_p1).unwrap(),
        pattern(PAIR, 5),
        "tf wrote into a linked file"
    );
    assert_eq!(fs::read(out.join("a/x")).unwrap(), three);
    assert_eq!(fs::read(out.join("c/d/z")).unwrap(), b"z alone");
    assert_eq!(fs::read(out.join("r")).unwrap(), b"q/p1 and r changed");
    fs::remove_file(&keep).unwrap();
    fs::remove_file(&old_p1).unwrap();
    assert_eq!(shape(&out), want, "mirror -H after the changes");
}

#[test]
fn without_h_each_name_is_a_file_of_its_own_as_rsync_a_copies_it() {
    let Some((srv, here, want)) = start("cli_hardlinks_without", "-a") else {
        return;
    };
    let src = here.join("src");
    assert_eq!(want["c/d/z"].3, 1);
    tf(&srv, &["put", "-r", "-a", s(&src), "t"]);
    assert_eq!(shape(&srv.path("t/src")), want, "put -r -a");
    let out = here.join("out");
    tf(&srv, &["mirror", "t/src", s(&out)]);
    assert_eq!(shape(&out), want, "mirror");
    // a tree linked on the server arrives unlinked without -H
    tf(&srv, &["mirror", "-R", "-H", s(&src), "t/linked"]);
    let plain = here.join("plain");
    fs::create_dir_all(&plain).unwrap();
    tf(&srv, &["get", "-r", "-a", "t/linked", s(&plain)]);
    assert_eq!(shape(&plain.join("linked")), want, "get -r -a of a linked tree");
}

#[test]
fn without_a_put_refuses_h_plainly() {
    let srv = Server::start();
    let here = tempdir("cli_hardlinks_no_a");
    fs::write(here.join("f"), b"f").unwrap();
    let o = srv.tf(&["put", "-r", "-H", s(&here), "x"]);
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr).into_owned();
    assert!(err.contains("-H keeps hard links with -a"), "{err}");
    assert!(!srv.path("x").exists());
}

/// Against a server that neither says nor makes hard links (the liar, which
/// answers TFDENTRIES and TFDLINK UNKNOWN as the reference server does),
/// `mirror -R -H` and `mirror -H` copy every name as a file of its own and
/// say once that the links were not kept.
#[test]
fn a_server_without_links_is_told_once_and_the_copy_goes_on() {
    use tfd_testkit::liar::{Liar, Node, Script};
    let here = tempdir("cli_hardlinks_unkept");
    let src = here.join("src");
    tree(&src);
    let once = |o: &std::process::Output, what: &str| {
        let t = crate::output::text(o);
        assert!(o.status.success(), "{what}: {t}");
        let said: Vec<&str> = t.lines().filter(|l| l.contains("hard links")).collect();
        assert_eq!(said.len(), 1, "{what}: {t}");
        assert!(said[0].contains("not kept"), "{what}: {t}");
    };
    let liar = Liar::start(Script::new().dir("into"));
    let o = liar
        .tf_command(&["mirror", "-R", "-H", s(&src), "up"])
        .output()
        .unwrap();
    once(&o, "mirror -R -H");
    for (name, bytes) in [
        ("up/a/x", THREE),
        ("up/b/y", THREE),
        ("up/c/d/z", THREE),
        ("up/r", PAIR),
    ] {
        let seed = if bytes == THREE { 3 } else { 5 };
        assert_eq!(liar.node(name), Some(Node::File(pattern(bytes, seed))), "{name}");
    }
    let o = liar
        .tf_command(&["mirror", "-H", "up", s(&here.join("down"))])
        .output()
        .unwrap();
    once(&o, "mirror -H");
    let down = shape(&here.join("down"));
    assert_eq!(down["c/d/z"].5, sum(&pattern(THREE, 3)));
    assert_eq!(down["c/d/z"].3, 1);
}
