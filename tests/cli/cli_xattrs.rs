//! Issue 67 `-X`: a tree with extended attributes on its files and
//! directories (its top too; a 64 KiB value, a binary value, a directory
//! with several) goes up (`put -r -aX`), down (`get -r -aX`) and both ways
//! by mirror, each copy's attributes as `getfattr` dumps them equal to
//! `rsync -aX`'s copy, the mtimes exact; a second run changes nothing, and
//! changed and removed attributes follow. On tmpfs: ext4 keeps no 64 KiB
//! value.

use crate::output::ok;
use std::collections::BTreeMap;
use std::fs;
use std::os::fd::AsFd;
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::process::Command;
use tfd_testkit::*;

pub(crate) fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn set(p: &Path, name: &str, value: &[u8]) {
    let f = fs::File::open(p).unwrap();
    let n = std::ffi::CString::new(name).unwrap();
    tfd_sys::fsetxattr(f.as_fd(), &n, value).unwrap();
}

fn remove(p: &Path, name: &str) {
    let f = fs::File::open(p).unwrap();
    tfd_sys::fremovexattr(f.as_fd(), &std::ffi::CString::new(name).unwrap()).unwrap();
}

/// The tree: attributes on the top, files and a directory; a symlink and a
/// file without any.
fn tree(src: &Path) {
    fs::create_dir_all(src.join("d/e")).unwrap();
    fs::write(src.join("f1"), b"one").unwrap();
    fs::write(src.join("plain"), b"none").unwrap();
    fs::write(src.join("d/f2"), pattern(100_000, 7)).unwrap();
    std::os::unix::fs::symlink("f1", src.join("link")).unwrap();
    set(src, "user.top", b"the top");
    set(&src.join("f1"), "user.a", b"hello");
    set(&src.join("f1"), "user.big", &pattern(65_536, 3));
    set(&src.join("f1"), "user.bin", b"\0\x01\n\xff: 2");
    set(&src.join("f1"), "user.empty", b"");
    for (i, n) in ["user.d1", "user.d2", "user.d3"].iter().enumerate() {
        set(&src.join("d"), n, format!("dir {i}").as_bytes());
    }
    set(&src.join("d/f2"), "user.x", b"x");
    set(&src.join("d/e"), "user.deep", b"deep");
    old_times(src);
}

/// Every entry's mtime put in the past: what a second run finds unchanged
/// it leaves alone (a file of this second would be compared again).
pub(crate) fn old_times(src: &Path) {
    let o = Command::new("find")
        .arg(src)
        .args(["-exec", "touch", "-h", "-d", "@1600000000.123456789", "{}", "+"])
        .output()
        .unwrap();
    ok(&o, "touch");
}

/// Every attribute below `dir` as `getfattr -R -d -m - -h` dumps them, by
/// path relative to it.
fn dump(dir: &Path) -> BTreeMap<String, String> {
    let o = Command::new("getfattr")
        .args(["-R", "-d", "-h", "-m", "-", "-e", "base64", "--absolute-names", "."])
        .current_dir(dir)
        .output()
        .unwrap();
    ok(&o, "getfattr");
    let text = String::from_utf8(o.stdout).unwrap();
    let mut out = BTreeMap::new();
    for block in text.split("\n\n").filter(|b| !b.trim().is_empty()) {
        let mut lines: Vec<&str> = block.lines().collect();
        let file = lines.remove(0).trim_start_matches("# file: ").to_string();
        lines.sort();
        out.insert(file, lines.join("\n"));
    }
    out
}

/// Every entry's mtime (nanoseconds) and ctime below `dir`, no link followed.
pub(crate) fn times(dir: &Path) -> BTreeMap<String, (i64, i64, i64)> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let m = fs::symlink_metadata(&d).unwrap();
        let rel = d.strip_prefix(dir).unwrap().to_string_lossy().into_owned();
        out.insert(
            rel,
            (m.mtime(), m.mtime_nsec(), m.ctime() * 1_000_000_000 + m.ctime_nsec()),
        );
        if m.is_dir() {
            stack.extend(fs::read_dir(&d).unwrap().map(|e| e.unwrap().path()));
        }
    }
    out
}

/// `got`'s attributes are `want`'s and its mtimes `src`'s (rsync's copy's
/// are not all exact: here it left its directories' and link's later).
#[track_caller]
fn same(got: &Path, (want, src): (&Path, &Path), what: &str) {
    assert_eq!(dump(got), dump(want), "{what}: attributes differ");
    assert_eq!(mtimes(got), mtimes(src), "{what}: mtimes differ");
}

/// Every entry's mtime below `dir` ([`times`] without the ctimes).
pub(crate) fn mtimes(dir: &Path) -> BTreeMap<String, (i64, i64)> {
    times(dir).into_iter().map(|(k, t)| (k, (t.0, t.1))).collect()
}

pub(crate) fn tf(srv: &Server, args: &[&str]) {
    ok(&srv.tf(args), &args.join(" "));
}

#[test]
fn attributes_go_both_ways_as_rsync_keeps_them_and_a_second_run_changes_nothing() {
    if !need::require_tool("getfattr", &["--version"], "apt package attr")
        || !need::require_tool("rsync", &["--version"], "apt package rsync")
    {
        return;
    }
    let srv = Server::start();
    let _there = tmpfs::mount(&srv.path("t"), "64m");
    let here = tempdir("cli_xattrs");
    let _here = tmpfs::mount(&here, "64m");
    let (src, reference) = (here.join("src"), here.join("ref"));
    tree(&src);
    let o = Command::new("rsync")
        .args(["-aX", &format!("{}/", s(&src)), s(&reference)])
        .output()
        .unwrap();
    ok(&o, "rsync -aX");
    assert_eq!(dump(&reference), dump(&src), "rsync -aX's own copy");
    assert_eq!(dump(&src).len(), 5, "{:?}", dump(&src));

    tf(&srv, &["put", "-r", "-a", "-X", s(&src), "t"]);
    same(&srv.path("t/src"), (&reference, &src), "put -r -aX");
    // a second run: no entry of the server's copy is touched (ctime)
    let before = times(&srv.path("t/src"));
    tf(&srv, &["put", "-r", "-a", "-X", s(&src), "t"]);
    assert_eq!(
        times(&srv.path("t/src")),
        before,
        "a second put -r -aX changed something"
    );

    let out = here.join("out");
    fs::create_dir_all(&out).unwrap();
    tf(&srv, &["get", "-r", "-a", "-X", "t/src", s(&out)]);
    same(&out.join("src"), (&reference, &src), "get -r -aX");
    let before = times(&out.join("src"));
    tf(&srv, &["get", "-r", "-a", "-X", "t/src", s(&out)]);
    assert_eq!(times(&out.join("src")), before, "a second get -r -aX changed something");

    let back = here.join("back");
    tf(&srv, &["mirror", "-X", "t/src", s(&back)]);
    same(&back, (&reference, &src), "mirror -X");
    tf(&srv, &["mirror", "-R", "-X", s(&back), "t/again"]);
    same(&srv.path("t/again"), (&reference, &src), "mirror -R -X");
    let before = times(&srv.path("t/again"));
    tf(&srv, &["mirror", "-R", "-X", s(&back), "t/again"]);
    assert_eq!(
        times(&srv.path("t/again")),
        before,
        "a second mirror -R -X changed something"
    );

    // changed, added and removed attributes follow, the data untouched
    set(&src.join("f1"), "user.a", b"changed");
    remove(&src.join("f1"), "user.bin");
    remove(&src.join("d"), "user.d2");
    set(&src.join("plain"), "user.new", b"new");
    remove(&src, "user.top");
    // the changes moved ctimes alone
    let check = |got: &Path, what: &str| same(got, (&src, &src), &format!("{what} of changed attributes"));
    four_ways(&srv, "-X", (&src, &out, &back), check);
}

/// The four ways once more, each copy checked by `check(copy, run)`: `put
/// -r -a FLAG` of `src` into the server's `t`, `mirror FLAG` of `t/src` into
/// `back`, `get -r -a FLAG` of it into `out`, `mirror -R FLAG` of `src` into
/// `t/again`.
pub(crate) fn four_ways(
    srv: &Server,
    flag: &str,
    (src, out, back): (&Path, &Path, &Path),
    check: impl Fn(&Path, &str),
) {
    tf(srv, &["put", "-r", "-a", flag, s(src), "t"]);
    check(&srv.path("t/src"), &format!("put -r -a {flag}"));
    tf(srv, &["mirror", flag, "t/src", s(back)]);
    check(back, &format!("mirror {flag}"));
    tf(srv, &["get", "-r", "-a", flag, "t/src", s(out)]);
    check(&out.join("src"), &format!("get -r -a {flag}"));
    tf(srv, &["mirror", "-R", flag, s(src), "t/again"]);
    check(&srv.path("t/again"), &format!("mirror -R {flag}"));
}

#[test]
fn without_a_put_refuses_x_plainly() {
    refused_without_a("-X", "-X keeps extended attributes with -a");
}

/// `put -r FLAG` without `-a` is refused with one sentence that `said`
/// begins, nothing made.
pub(crate) fn refused_without_a(flag: &str, said: &str) {
    let srv = Server::start();
    let here = tempdir("cli_no_a");
    fs::write(here.join("f"), b"f").unwrap();
    let o = srv.tf(&["put", "-r", flag, s(&here), "x"]);
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr).into_owned();
    assert!(err.contains(said), "{err}");
    assert!(!srv.path("x").exists());
}

/// Against a server without tfd's attribute commands (the liar answers
/// them UNKNOWN, as the reference server does), `mirror -R -X` and
/// `mirror -X` copy the files and say once that the attributes were not
/// kept.
#[test]
fn a_server_without_attributes_is_told_once_and_the_copy_goes_on() {
    let marked = |src: &Path| {
        set(&src.join("b"), "user.a", b"1");
        set(&src.join("d"), "user.d", b"2");
    };
    unkept_told_once(("-X", "extended attributes"), marked);
}

/// Against the liar (a server without tfd's attribute and ACL commands:
/// it answers them UNKNOWN), `mirror -R FLAG` and `mirror FLAG` copy a tree
/// whose entries `mark` gave what `FLAG` keeps, and say once, in a line
/// naming `what`, that it was not kept.
pub(crate) fn unkept_told_once((flag, what): (&str, &str), mark: impl Fn(&Path)) {
    use tfd_testkit::liar::{Liar, Node, Script};
    let here = tempdir("cli_unkept");
    let src = here.join("src");
    fs::create_dir_all(src.join("d")).unwrap();
    fs::write(src.join("d/a"), b"one").unwrap();
    fs::write(src.join("b"), b"two").unwrap();
    mark(&src);
    let once = |o: &std::process::Output, run: &str| {
        let t = crate::output::text(o);
        assert!(o.status.success(), "{run}: {t}");
        let said: Vec<&str> = t.lines().filter(|l| l.contains(what)).collect();
        assert_eq!(said.len(), 1, "{run}: {t}");
        assert!(said[0].contains("not kept"), "{run}: {t}");
    };
    let liar = Liar::start(Script::new().dir("into"));
    let o = liar
        .tf_command(&["mirror", "-R", flag, s(&src), "up"])
        .output()
        .unwrap();
    once(&o, &format!("mirror -R {flag}"));
    assert_eq!(liar.node("up/d/a"), Some(Node::File(b"one".to_vec())));
    let o = liar
        .tf_command(&["mirror", flag, "up", s(&here.join("down"))])
        .output()
        .unwrap();
    once(&o, &format!("mirror {flag}"));
    assert_eq!(fs::read(here.join("down/b")).unwrap(), b"two");
}
