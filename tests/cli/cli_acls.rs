//! Issue 67 `-A`: a tree with POSIX ACLs (an access ACL on a file naming a
//! user and a group, with a mask; an access and a default ACL on a
//! directory; a read-only directory whose mask the mode narrows; the top's)
//! goes up (`put -r -aA`), down (`get -r -aA`) and both ways by mirror,
//! each copy's ACLs as `getfacl` dumps them (modes, owners, masks) equal to
//! `rsync -aA`'s copy, the mtimes exact; a second run changes nothing (no
//! ctime moves), and changed, added and removed ACLs follow, an ACL a new
//! file inherited on the receiving side from its directory's default ACL
//! (but not at the source) removed. `-X` alone carries no ACL and `-A`
//! no other attribute.

use crate::cli_xattrs::{four_ways, mtimes, old_times, refused_without_a, s, tf, times, unkept_told_once};
use crate::output::ok;
use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;
use tfd_testkit::*;

fn setfacl(p: &Path, args: &[&str]) {
    let o = Command::new("setfacl").args(args).arg(p).output().unwrap();
    ok(&o, &format!("setfacl {}", args.join(" ")));
}

fn mode(p: &Path, m: u32) {
    fs::set_permissions(p, fs::Permissions::from_mode(m)).unwrap();
}

/// The tree: ACLs on the top, a file, a directory (access and default)
/// and a read-only directory; plain files (one in the directory with a
/// default ACL, which it did not inherit) and a symlink.
fn tree(src: &Path) {
    fs::create_dir_all(src.join("d/e")).unwrap();
    fs::create_dir_all(src.join("ro")).unwrap();
    fs::create_dir_all(src.join("k")).unwrap();
    fs::write(src.join("f1"), b"one").unwrap();
    fs::write(src.join("plain"), b"none").unwrap();
    fs::write(src.join("d/in"), pattern(100_000, 7)).unwrap();
    fs::write(src.join("ro/x"), b"x").unwrap();
    std::os::unix::fs::symlink("f1", src.join("link")).unwrap();
    setfacl(&src.join("f1"), &["-m", "u:12345:rw-,g::r--,g:54321:r--,m::rw-"]);
    setfacl(&src.join("d"), &["-m", "u:12345:rwx,g:54321:r-x"]);
    setfacl(&src.join("d"), &["-d", "-m", "u:12345:rwx,g::r-x,o::---"]);
    setfacl(&src.join("k"), &["-d", "-m", "g:54321:rwx"]);
    setfacl(&src.join("ro"), &["-m", "u:12345:rwx"]);
    mode(&src.join("ro"), 0o550);
    setfacl(src, &["-m", "u:12346:r-x"]);
    old_times(src);
}

/// Every entry's ACL below `dir` as `getfacl -R -p` dumps it (owner, group,
/// flags, every entry with its effective rights), by path relative to it.
fn dump(dir: &Path) -> BTreeMap<String, String> {
    let o = Command::new("getfacl")
        .args(["-R", "-P", "-p", "-n", "."])
        .current_dir(dir)
        .output()
        .unwrap();
    ok(&o, "getfacl");
    let text = String::from_utf8(o.stdout).unwrap();
    let mut out = BTreeMap::new();
    for block in text.split("\n\n").filter(|b| !b.trim().is_empty()) {
        let mut lines = block.lines();
        let file = lines.next().unwrap().trim_start_matches("# file: ").to_string();
        out.insert(file, lines.collect::<Vec<_>>().join("\n"));
    }
    out
}

/// `got`'s ACLs are `want`'s and its mtimes `src`'s.
#[track_caller]
fn same(got: &Path, (want, src): (&Path, &Path), what: &str) {
    assert_eq!(dump(got), dump(want), "{what}: ACLs differ");
    assert_eq!(mtimes(got), mtimes(src), "{what}: mtimes differ");
}

/// `run` changes no entry below `dir` (no ctime moves).
#[track_caller]
fn unchanged(dir: &Path, run: impl FnOnce(), what: &str) {
    let before = times(dir);
    run();
    assert_eq!(times(dir), before, "a second {what} changed something");
}

fn need_tools() -> bool {
    need::require_tool("getfacl", &["--version"], "apt package acl")
        && need::require_tool("setfacl", &["--version"], "apt package acl")
        && need::require_tool("rsync", &["--version"], "apt package rsync")
}

#[test]
fn acls_go_both_ways_as_rsync_keeps_them_and_a_second_run_changes_nothing() {
    if !need_tools() {
        return;
    }
    let srv = Server::start();
    fs::create_dir_all(srv.path("t")).unwrap();
    let here = tempdir("cli_acls");
    let (src, reference) = (here.join("src"), here.join("ref"));
    tree(&src);
    let o = Command::new("rsync")
        .args(["-aA", &format!("{}/", s(&src)), s(&reference)])
        .output()
        .unwrap();
    ok(&o, "rsync -aA");
    assert_eq!(dump(&reference), dump(&src), "rsync -aA's own copy");
    let acl = dump(&src);
    assert!(
        acl["./f1"].contains("user:12345:rw-") && acl["./f1"].contains("mask::rw-"),
        "{acl:?}"
    );
    assert!(acl["./d"].contains("default:user:12345:rwx"), "{acl:?}");
    assert!(acl["./ro"].contains("#effective:r-x"), "{acl:?}");
    assert!(
        !acl["./plain"].contains("mask") && !acl["./d/in"].contains("user:1"),
        "{acl:?}"
    );

    tf(&srv, &["put", "-r", "-a", "-A", s(&src), "t"]);
    same(&srv.path("t/src"), (&reference, &src), "put -r -aA");
    let again = || tf(&srv, &["put", "-r", "-a", "-A", s(&src), "t"]);
    unchanged(&srv.path("t/src"), again, "put -r -aA");

    let out = here.join("out");
    fs::create_dir_all(&out).unwrap();
    tf(&srv, &["get", "-r", "-a", "-A", "t/src", s(&out)]);
    same(&out.join("src"), (&reference, &src), "get -r -aA");
    let again = || tf(&srv, &["get", "-r", "-a", "-A", "t/src", s(&out)]);
    unchanged(&out.join("src"), again, "get -r -aA");

    let back = here.join("back");
    tf(&srv, &["mirror", "-A", "t/src", s(&back)]);
    same(&back, (&reference, &src), "mirror -A");
    let again = || tf(&srv, &["mirror", "-A", "t/src", s(&back)]);
    unchanged(&back, again, "mirror -A");
    tf(&srv, &["mirror", "-R", "-A", s(&back), "t/again"]);
    same(&srv.path("t/again"), (&reference, &src), "mirror -R -A");
    let again = || tf(&srv, &["mirror", "-R", "-A", s(&back), "t/again"]);
    unchanged(&srv.path("t/again"), again, "mirror -R -A");

    // changed, added and removed ACLs follow (a default one too); a new
    // file in the directory with a default ACL has none at the source
    // (removed there), so the one it inherits where it lands is removed
    setfacl(&src.join("f1"), &["-m", "u:12345:r--,u:777:rwx"]);
    setfacl(&src.join("k"), &["-k"]);
    setfacl(&src.join("plain"), &["-m", "g:54321:rw-"]);
    setfacl(&src, &["-b"]);
    mode(&src.join("ro"), 0o750);
    setfacl(&src.join("ro"), &["-b"]);
    fs::write(src.join("d/new"), b"new").unwrap();
    assert!(dump(&src)["./d/new"].contains("user:12345"), "d/new inherits");
    setfacl(&src.join("d/new"), &["-b"]);
    fs::write(src.join("d/in"), pattern(100_001, 8)).unwrap();
    let check = |got: &Path, what: &str| same(got, (&src, &src), &format!("{what} of changed ACLs"));
    four_ways(&srv, "-A", (&src, &out, &back), check);
}

#[test]
fn without_a_put_refuses_a_plainly() {
    refused_without_a("-A", "-A keeps ACLs with -a");
}

/// Against a server without tfd's ACL commands (the liar answers them
/// UNKNOWN, as the reference server and a tfd before them do), `mirror -R
/// -A` and `mirror -A` copy the files and say once that ACLs were not kept.
#[test]
fn a_server_without_acls_is_told_once_and_the_copy_goes_on() {
    if !need_tools() {
        return;
    }
    let marked = |src: &Path| setfacl(&src.join("b"), &["-m", "u:12345:rw-"]);
    unkept_told_once(("-A", "ACLs"), marked);
}

/// `-X` alone carries no ACL, `-A` alone no other attribute, and both
/// together carry both.
#[test]
fn x_and_a_each_carry_their_own_and_together_both() {
    if !need_tools() {
        return;
    }
    let srv = Server::start();
    fs::create_dir_all(srv.path("t")).unwrap();
    let here = tempdir("cli_acls_xa");
    let src = here.join("src");
    fs::create_dir_all(&src).unwrap();
    fs::write(src.join("f"), b"f").unwrap();
    let f = fs::File::open(src.join("f")).unwrap();
    tfd_sys::fsetxattr(std::os::fd::AsFd::as_fd(&f), c"user.a", b"1").unwrap();
    setfacl(&src.join("f"), &["-m", "u:12345:rw-"]);
    let has = |p: &Path| {
        let f = fs::File::open(p).unwrap();
        let names = tfd_sys::fxattrs(std::os::fd::AsFd::as_fd(&f), |_| true, (65_536, 65_536)).unwrap();
        let mut names: Vec<String> = names.into_iter().map(|(n, _)| String::from_utf8(n).unwrap()).collect();
        names.sort();
        names
    };
    let acl = "system.posix_acl_access".to_string();
    for (flags, to, want) in [
        (&["-X"][..], "t/x", vec!["user.a".to_string()]),
        (&["-A"], "t/a", vec![acl.clone()]),
        (&["-X", "-A"], "t/xa", vec![acl.clone(), "user.a".to_string()]),
    ] {
        let mut args = vec!["mirror", "-R"];
        args.extend(flags);
        args.extend([s(&src), to]);
        tf(&srv, &args);
        assert_eq!(has(&srv.path(to).join("f")), want, "{}", args.join(" "));
    }
}
