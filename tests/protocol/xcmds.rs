//! XCOPY, XCPDIR, XDEL and XRMDIR end to end: replies, what changes on disk and
//! what must not (secure `*.sd` directories, anything outside the root, symlink
//! targets), component-aligned matching, locks, and the walk_limit bound.

use std::fs;
use std::os::unix::fs::{symlink, MetadataExt, PermissionsExt};
use std::path::Path;
use std::time::{Duration, Instant};
use tfd_testkit::*;

fn mkdirs(srv: &Server, dirs: &[&str]) {
    for d in dirs {
        fs::create_dir_all(srv.path(d)).unwrap();
    }
}

/// Every path below `dir` (relative, sorted), without following symlinks.
fn tree(dir: &Path) -> Vec<String> {
    fn walk(base: &Path, dir: &Path, out: &mut Vec<String>) {
        for e in fs::read_dir(dir).unwrap() {
            let e = e.unwrap();
            let p = e.path();
            out.push(p.strip_prefix(base).unwrap().to_string_lossy().into_owned());
            if e.file_type().unwrap().is_dir() {
                walk(base, &p, out);
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, dir, &mut out);
    out.sort();
    out
}

/// A directory next to the served root, reachable from inside only by symlinks.
fn outside(srv: &Server) -> std::path::PathBuf {
    let o = srv.dir.join("outside");
    fs::create_dir_all(o.join("b")).unwrap();
    fs::write(o.join("victim"), b"keep me").unwrap();
    o
}

#[test]
fn xcopy() {
    let srv = Server::start();
    let mut c = srv.client();
    mkdirs(&srv, &["b", "x/b", "x/ab", "p/k.sd/b", "y/b/z/b", "locked/b", "o"]);
    data_dir_write(&srv.path("src.txt"), b"payload");
    fs::set_permissions(srv.path("src.txt"), fs::Permissions::from_mode(0o640)).unwrap();
    data_dir_write(&srv.path("x/b/c.txt"), b"old");
    let out = outside(&srv);
    symlink(&out, srv.path("o/b")).unwrap();
    symlink("x", srv.path("lnk")).unwrap();
    symlink(".", srv.path("x/loop")).unwrap();
    assert!(ok(&c.call("LOCK", b"lk").unwrap()));
    data_dir_write(&srv.path("locked/b/lk"), b"");

    assert!(ok(&c.call("XCOPY", b"c.txt src.txt | b").unwrap()));
    for d in ["b", "y/b", "y/b/z/b"] {
        let p = srv.path(&format!("{d}/c.txt"));
        assert_eq!(fs::read(&p).unwrap(), b"payload", "{d}");
        let m = fs::metadata(&p).unwrap();
        assert_eq!(m.permissions().mode() & 0o777, 0o640, "mode kept");
        assert_ne!(m.ino(), fs::metadata(srv.path("src.txt")).unwrap().ino(), "a real copy");
    }
    assert_eq!(fs::read(srv.path("x/b/c.txt")).unwrap(), b"old", "existing: skipped");
    assert!(!srv.path("x/ab/c.txt").exists(), "component-aligned: ab is not b");
    assert!(!srv.path("p/k.sd/b/c.txt").exists(), "never into a secure directory");
    assert!(!srv.path("locked/b/c.txt").exists(), "locked: skipped");
    assert!(
        !out.join("b/c.txt").exists() && !out.join("c.txt").exists(),
        "never out of the root"
    );
    // a pattern with several components
    assert!(ok(&c.call("XCOPY", b"d.txt src.txt | z/b").unwrap()));
    assert!(srv.path("y/b/z/b/d.txt").exists());
    assert!(!srv.path("b/d.txt").exists() && !srv.path("y/b/d.txt").exists());

    // replies relative to the source
    assert_failed(c.call("XCOPY", b"c.txt none | b").unwrap(), 17);
    assert_failed(c.call("XCOPY", b"c.txt x | b").unwrap(), 23);
    symlink("x", srv.path("dirlink")).unwrap();
    assert_failed(c.call("XCOPY", b"c.txt dirlink | b").unwrap(), 23);
    assert_failed(c.call("XCOPY", b"c.txt src.txt").unwrap(), 16);
    assert_failed(c.call("XCOPY", b"c.txt").unwrap(), 16);
    assert_failed(c.call("XCOPY", b"").unwrap(), 16);
    assert_failed(c.call("XCOPY", b"c.txt src.txt | ").unwrap(), 16);
    assert_failed(c.call("XCOPY", b"c.txt src.txt | .").unwrap(), 16);
    assert_failed(c.call("XCOPY", b".. src.txt | b").unwrap(), 1);
    assert_failed(c.call("XCOPY", b". src.txt | b").unwrap(), 1);
    assert_failed(c.call("XCOPY", b"c.txt ../tfd.conf | b").unwrap(), 1);
    assert_failed(c.call("XCOPY", b"c.txt src.txt | ../..").unwrap(), 1);
    symlink(out.join("victim"), srv.path("escape")).unwrap();
    assert_failed(c.call("XCOPY", b"e.txt escape | b").unwrap(), 1);
    assert!(!srv.path("b/e.txt").exists());
    data_dir_write(&srv.path("locked/f"), b"f");
    data_dir_write(&srv.path("locked/lk"), b"");
    assert_failed(c.call("XCOPY", b"e.txt locked/f | b").unwrap(), 30);
    assert!(!srv.path("b/e.txt").exists());
    assert_eq!(c.raw(b"ECHO alive").unwrap(), b"alive");
}

#[test]
fn xcpdir() {
    let srv = Server::start();
    let mut c = srv.client();
    mkdirs(
        &srv,
        &[
            "b",
            "x/b",
            "x/ab",
            "p/k.sd/b",
            "tpl/sub",
            "tpl/secret.sd",
            "tpl/b",
            "lockd/b",
            "o",
        ],
    );
    data_dir_write(&srv.path("tpl/f"), b"f");
    data_dir_write(&srv.path("tpl/sub/g"), b"g");
    data_dir_write(&srv.path("tpl/secret.sd/h"), b"h");
    data_dir_write(&srv.path("tpl/.tfd-part-9"), b"partial");
    symlink("f", srv.path("tpl/link")).unwrap();
    mkdirs(&srv, &["x/b/t2"]);
    let out = outside(&srv);
    symlink(&out, srv.path("o/b")).unwrap();
    assert!(ok(&c.call("LOCK", b"lk").unwrap()));
    data_dir_write(&srv.path("lockd/b/lk"), b"");

    assert!(ok(&c.call("XCPDIR", b"t2 tpl | b").unwrap()));
    assert_eq!(
        tree(&srv.path("b/t2")),
        ["b", "f", "link", "sub", "sub/g"],
        "copied without secure directories or uploads in progress"
    );
    assert_eq!(fs::read_link(srv.path("b/t2/link")).unwrap(), Path::new("f"));
    assert_ne!(
        fs::metadata(srv.path("b/t2/f")).unwrap().ino(),
        fs::metadata(srv.path("tpl/f")).unwrap().ino()
    );
    assert!(tree(&srv.path("x/b/t2")).is_empty(), "existing destination: skipped");
    assert!(!srv.path("x/ab/t2").exists());
    assert!(!srv.path("p/k.sd/b/t2").exists());
    assert!(!srv.path("lockd/b/t2").exists());
    assert!(!srv.path("tpl/b/t2").exists(), "never into the source itself");
    assert!(!out.join("b/t2").exists() && !out.join("t2").exists());
    assert!(srv.path("tpl/secret.sd/h").exists());

    assert_failed(c.call("XCPDIR", b"t3 none | b").unwrap(), 29);
    assert_failed(c.call("XCPDIR", b"t3 none/deeper | b").unwrap(), 29);
    assert_failed(c.call("XCPDIR", b"t3 tpl/f | b").unwrap(), 20);
    assert_failed(c.call("XCPDIR", b"t3 tpl").unwrap(), 16);
    assert_failed(c.call("XCPDIR", b"t3").unwrap(), 16);
    assert_failed(c.call("XCPDIR", b"a/b tpl | b").unwrap(), 1);
    assert_failed(c.call("XCPDIR", b"t3 .. | b").unwrap(), 1);
    assert_failed(c.call("XCPDIR", b"t3 o/b | b").unwrap(), 1);
    assert_failed(c.call("XCPDIR", b"t3 lockd/b | b").unwrap(), 30);
    assert!(!srv.path("b/t3").exists());
    assert_eq!(c.raw(b"ECHO alive").unwrap(), b"alive");
}

#[test]
fn xdel() {
    let srv = Server::start();
    let mut c = srv.client();
    mkdirs(&srv, &["d/x", "d/k.sd", "d/sub/b", "d/lockd", "d/o"]);
    for f in [
        "d/b",
        "d/x/b",
        "d/x/ab",
        "d/k.sd/b",
        "d/lockd/b",
        "d/lockd/lk",
        "top_b",
        "b",
    ] {
        data_dir_write(&srv.path(f), b"x");
    }
    let out = outside(&srv);
    symlink(&out, srv.path("d/o/out")).unwrap();
    symlink(out.join("victim"), srv.path("d/x/victim")).unwrap();
    symlink("..", srv.path("d/x/up")).unwrap();
    symlink("/", srv.path("d/abs")).unwrap();
    assert!(ok(&c.call("LOCK", b"lk").unwrap()));

    assert!(ok(&c.call("XDEL", b"d b").unwrap()));
    assert!(!srv.path("d/b").exists() && !srv.path("d/x/b").exists());
    assert!(srv.path("d/x/ab").exists(), "component-aligned: ab is not b");
    assert!(srv.path("d/k.sd/b").exists(), "never inside a secure directory");
    assert!(srv.path("d/sub/b").is_dir(), "XDEL never removes directories");
    assert!(srv.path("d/lockd/b").exists(), "locked: skipped");
    assert!(srv.path("b").exists(), "only below the named directory");
    // a symlink that matches is removed as a link; its target stays
    assert!(ok(&c.call("XDEL", b"d victim").unwrap()));
    assert!(!srv.path("d/x/victim").is_symlink());
    assert_eq!(fs::read(out.join("victim")).unwrap(), b"keep me");
    assert!(srv.path("d/x/up").is_symlink() && srv.path("d/abs").is_symlink());

    assert_failed(c.call("XDEL", b"none b").unwrap(), 20);
    assert_failed(c.call("XDEL", b"top_b b").unwrap(), 20);
    assert_failed(c.call("XDEL", b"d").unwrap(), 16);
    assert_failed(c.call("XDEL", b"d ").unwrap(), 16);
    assert_failed(c.call("XDEL", b".. b").unwrap(), 1);
    assert_failed(c.call("XDEL", b"d/o/out victim").unwrap(), 1);
    assert_failed(c.call("XDEL", b"d ../../x").unwrap(), 1);
    assert_failed(c.call("XDEL", b"d/lockd b").unwrap(), 30);
    assert!(out.join("victim").exists());
    // the root as the start (an empty directory argument)
    assert!(ok(&c.call("XDEL", b" top_b").unwrap()));
    assert!(!srv.path("top_b").exists());
    assert_eq!(c.raw(b"ECHO alive").unwrap(), b"alive");
}

#[test]
fn xrmdir() {
    let srv = Server::start();
    let mut c = srv.client();
    mkdirs(
        &srv,
        &[
            "d/b/inner",
            "d/x/b/keep.sd",
            "d/x/ab",
            "d/k.sd/b",
            "d/lockd/b",
            "d/o",
            "d/y/b/z/b",
        ],
    );
    data_dir_write(&srv.path("d/b/inner/f"), b"x");
    data_dir_write(&srv.path("d/x/b/keep.sd/s"), b"secret");
    data_dir_write(&srv.path("d/x/b/gone"), b"x");
    data_dir_write(&srv.path("d/z/b"), b"a file");
    data_dir_write(&srv.path("d/lockd/lk"), b"");
    data_dir_write(&srv.path("plain"), b"x");
    let out = outside(&srv);
    symlink(&out, srv.path("d/o/b")).unwrap();
    symlink(".", srv.path("d/loop")).unwrap();
    assert!(ok(&c.call("LOCK", b"lk").unwrap()));

    assert!(ok(&c.call("XRMDIR", b"d b").unwrap()));
    assert!(!srv.path("d/b").exists());
    assert!(!srv.path("d/y/b").exists(), "nested matches are fine");
    assert_eq!(
        tree(&srv.path("d/x/b")),
        ["keep.sd", "keep.sd/s"],
        "secure directories kept"
    );
    assert!(srv.path("d/x/ab").is_dir());
    assert!(srv.path("d/k.sd/b").is_dir(), "never inside a secure directory");
    assert!(srv.path("d/lockd/b").is_dir(), "locked: skipped");
    assert!(srv.path("d/z/b").is_file(), "XRMDIR never removes files");
    assert!(srv.path("d/o/b").is_symlink(), "a symlink is no directory");
    assert!(out.join("b").is_dir() && out.join("victim").exists());

    assert_failed(c.call("XRMDIR", b"none b").unwrap(), 10);
    assert_failed(c.call("XRMDIR", b"plain b").unwrap(), 20);
    assert_failed(c.call("XRMDIR", b"d").unwrap(), 16);
    assert_failed(c.call("XRMDIR", b"d/.. ..").unwrap(), 1);
    assert_failed(c.call("XRMDIR", b"d/o/b b").unwrap(), 1);
    assert_failed(c.call("XRMDIR", b"d/lockd b").unwrap(), 30);
    assert!(srv.path("d/lockd/b").is_dir());
    assert_eq!(c.raw(b"ECHO alive").unwrap(), b"alive");
}

#[test]
fn walk_limit_bounds_every_x_command() {
    let srv = Server::start_with("walk_limit 100\n");
    let mut c = srv.client();
    data_dir_write(&srv.path("src.txt"), b"s");
    for i in 0..400 {
        fs::create_dir_all(srv.path(&format!("m/d{i:03}/b"))).unwrap();
        data_dir_write(&srv.path(&format!("m/d{i:03}/f_b")), b"");
    }
    let t = Instant::now();
    assert!(ok(&c.call("XCOPY", b"c.txt src.txt | b").unwrap()));
    let copies = (0..400)
        .filter(|i| srv.path(&format!("m/d{i:03}/b/c.txt")).exists())
        .count();
    assert!(copies < 100, "walk_limit 100 bounds the walk and the copies: {copies}");
    data_dir_write(&srv.path("tpl/x"), b"x");
    assert!(ok(&c.call("XCPDIR", b"t tpl | b").unwrap()));
    let trees = (0..400)
        .filter(|i| srv.path(&format!("m/d{i:03}/b/t")).exists())
        .count();
    assert!(trees < 100, "{trees}");
    assert!(ok(&c.call("XDEL", b"m f_b").unwrap()));
    let left = (0..400)
        .filter(|i| srv.path(&format!("m/d{i:03}/f_b")).exists())
        .count();
    assert!(left > 300, "XDEL stopped at the bound: {left} left");
    assert!(ok(&c.call("XRMDIR", b"m b").unwrap()));
    let dirs = (0..400).filter(|i| srv.path(&format!("m/d{i:03}/b")).exists()).count();
    assert!(dirs > 300, "XRMDIR stopped at the bound: {dirs} left");
    assert!(t.elapsed() < Duration::from_secs(10));
    assert!(srv.log().contains("stopped at walk_limit"), "the cut is logged");
}

#[test]
fn xcpdir_into_its_own_subtree_terminates() {
    // every directory matches `b`, the source included: nothing is copied into the
    // source or below it, and fresh copies are never walked
    let srv = Server::start();
    let mut c = srv.client();
    mkdirs(&srv, &["b/b/b", "c/b"]);
    data_dir_write(&srv.path("b/f"), b"f");
    assert!(ok(&c.call("XCPDIR", b"b b | b").unwrap()));
    assert_eq!(tree(&srv.path("c/b/b")), ["b", "b/b", "f"]);
    assert_eq!(tree(&srv.path("b")), ["b", "b/b", "f"], "the source is untouched");
}

#[test]
fn before_login_the_gates_apply() {
    if !require(is_root(), "multi-user mode needs root") {
        return;
    }
    let srv = Server::start_opts(Opts {
        default_user: false,
        ..Opts::default()
    });
    let mut c = srv.client();
    for cmd in [
        "XCOPY a b | c",
        "XCPDIR a b | c",
        "XDEL a b",
        "XRMDIR a b",
        "ADDNTFY a b",
        "STARTNTFY 1",
    ] {
        let st = tfp_wire::Status::parse(&c.raw(cmd.as_bytes()).unwrap());
        assert_eq!(st.failed_code(), Some(38), "{cmd}: {st:?}");
    }
}

#[test]
fn tf_cli_x_commands() {
    let srv = Server::start();
    let tf = |args: &[&str]| srv.tf(args);
    mkdirs(&srv, &["a/b", "c/b", "tpl"]);
    data_dir_write(&srv.path("f.txt"), b"f");
    data_dir_write(&srv.path("tpl/g"), b"g");
    let o = tf(&["xcopy", "n.txt", "f.txt", "b"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(String::from_utf8_lossy(&o.stdout), "OK\n");
    assert!(srv.path("a/b/n.txt").exists() && srv.path("c/b/n.txt").exists());
    assert!(tf(&["xcpdir", "t", "tpl", "b"]).status.success());
    assert!(srv.path("a/b/t/g").exists());
    assert!(tf(&["xdel", "a", "n.txt"]).status.success());
    assert!(!srv.path("a/b/n.txt").exists() && srv.path("c/b/n.txt").exists());
    assert!(tf(&["xrmdir", "c", "t"]).status.success());
    assert!(!srv.path("c/b/t").exists() && srv.path("a/b/t").exists());
    let o = tf(&["xcopy", "n.txt", "none", "b"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("FAILED 17"));
    assert_eq!(tf(&["xdel", "a"]).status.code(), Some(1));
}

#[test]
fn copies_stop_at_the_quota() {
    let srv = Server::start_with("quota_default 1K\n");
    let mut c = srv.client();
    data_dir_write(&srv.path("src.txt"), &[b's'; 300]);
    data_dir_write(&srv.path("tpl/f"), &[b'f'; 100]);
    for i in 0..5 {
        fs::create_dir_all(srv.path(&format!("q{i}/b"))).unwrap();
    }
    // 1024 - 400 bytes used: two 300-byte copies fit, the third does not
    assert!(ok(&c.call("XCOPY", b"c.txt src.txt | b").unwrap()));
    let copies = (0..5).filter(|i| srv.path(&format!("q{i}/b/c.txt")).exists()).count();
    assert_eq!(copies, 2);
    // 24 bytes left: no 100-byte tree fits
    assert!(ok(&c.call("XCPDIR", b"t tpl | b").unwrap()));
    assert!((0..5).all(|i| !srv.path(&format!("q{i}/b/t")).exists()));
    assert!(srv.log().contains("quota"), "the refusal is logged");
    assert_eq!(c.raw(b"ECHO alive").unwrap(), b"alive");
}
