//! Path confinement: every traversal variant gets FAILED 1 and nothing outside the
//! root is read, listed, changed or created.

use tfp_client::replies::Split as _;

use std::fs;
use tfd_testkit::*;

#[test]
fn dotdot_variants_are_refused() {
    let srv = Server::start();
    fs::write(srv.dir.join("outside"), b"secret").unwrap();
    let mut c = srv.client();
    for p in [
        "..",
        "/..",
        "../",
        "a/../..",
        "./..",
        "//..",
        "../outside",
        "/../outside",
        "x/../../outside",
    ] {
        assert_failed(c.call("FSTAT", p.as_bytes()).unwrap(), 1);
        assert_failed(c.call("SHA256", p.as_bytes()).unwrap(), 1);
        assert_failed(c.call("DEL", p.as_bytes()).unwrap(), 1);
        assert_failed(c.call("RMDIR", p.as_bytes()).unwrap(), 1);
        assert_eq!(
            c.list(false, p.as_bytes()).split().unwrap().unwrap_err().failed_code(),
            Some(1),
            "{p}"
        );
    }
    assert_failed(c.call("MKDIR", b"../newdir").unwrap(), 1);
    assert_failed(c.call("TOUCH", b"../newfile").unwrap(), 1);
    assert_failed(c.call("COPY", b"../outside | stolen").unwrap(), 1);
    assert_failed(c.call("CPDIR", b".. | stolen").unwrap(), 1);
    assert_failed(c.call("RENAM", b"../outside | here").unwrap(), 1);
    assert!(!srv.dir.join("newdir").exists() && !srv.dir.join("newfile").exists());
    assert_eq!(fs::read(srv.dir.join("outside")).unwrap(), b"secret");
    assert!(srv.data.exists());
    // inside-the-root uses of .. are fine
    fs::create_dir(srv.path("a")).unwrap();
    assert!(assert_ok(c.call("FSTAT", b"a/../a").unwrap()).starts_with("D "));
    // an absolute path is relative to the root
    assert_failed(c.call("FSTAT", b"/etc/passwd").unwrap(), 9);
}

#[test]
fn symlinks_cannot_lead_out() {
    let srv = Server::start();
    fs::write(srv.dir.join("outside"), b"secret").unwrap();
    std::os::unix::fs::symlink("/etc", srv.path("etc")).unwrap();
    std::os::unix::fs::symlink("../outside", srv.path("up")).unwrap();
    std::os::unix::fs::symlink(srv.dir.join("outside"), srv.path("abs")).unwrap();
    fs::create_dir(srv.path("d")).unwrap();
    std::os::unix::fs::symlink("../../outside", srv.path("d/up2")).unwrap();
    let mut c = srv.client();
    for p in ["etc/passwd", "etc", "up", "abs", "d/up2"] {
        assert_failed(c.call("SHA256", p.as_bytes()).unwrap(), 1);
        assert_failed(c.call("FSTAT", p.as_bytes()).unwrap(), 1);
        assert_failed(
            c.call("COPY", format!("{p} | got-{}", p.replace('/', "_")).as_bytes())
                .unwrap(),
            1,
        );
    }
    assert_eq!(
        c.list(false, b"etc").split().unwrap().unwrap_err().failed_code(),
        Some(1)
    );
    assert_eq!(
        c.list(true, b"etc").split().unwrap().unwrap_err().failed_code(),
        Some(1)
    );
    assert_failed(c.call("TOUCH", b"etc/created").unwrap(), 1);
    assert_failed(c.call("MKDIR", b"etc/created").unwrap(), 1);
    assert!(!std::path::Path::new("/etc/created").exists());
    // FUPD through a link out must not touch the target
    let before = fs::metadata(srv.dir.join("outside")).unwrap().modified().unwrap();
    std::thread::sleep(std::time::Duration::from_millis(20));
    assert_failed(c.call("FUPD", b"up").unwrap(), 1);
    assert_eq!(
        fs::metadata(srv.dir.join("outside")).unwrap().modified().unwrap(),
        before
    );
    // the links themselves are listed as U and can be deleted (not their targets)
    let ls = String::from_utf8(c.list(false, b"").split().unwrap().unwrap()).unwrap();
    assert!(ls.contains("U: etc\n") && ls.contains("U: up\n"), "{ls}");
    assert!(ok(&c.call("DEL", b"up").unwrap()));
    assert!(srv.dir.join("outside").exists());
    // RMDIR of a link to a directory outside removes nothing there
    assert_failed(c.call("RMDIR", b"etc").unwrap(), 20);
    assert!(std::path::Path::new("/etc/passwd").exists());
    // LSR of the root does not follow links out
    let lsr = String::from_utf8(c.list(true, b"").split().unwrap().unwrap()).unwrap();
    assert!(!lsr.contains("passwd"), "{lsr}");
}

#[test]
fn malformed_paths() {
    let srv = Server::start();
    let mut c = srv.client();
    assert_failed(c.call("FSTAT", b"a\0b").unwrap(), 1);
    assert_failed(c.call("MKDIR", b"x\0").unwrap(), 1);
    let long = vec![b'a'; 300];
    assert_failed(c.call("MKDIR", &long).unwrap(), 1);
    let deep = "d/".repeat(3000);
    assert_failed(c.call("MKDIR", deep.as_bytes()).unwrap(), 1);
    assert_eq!(c.raw(b"ECHO fine").unwrap(), b"fine");
}
