//! LOCKSYS and FLYCONTEXT through the real wire: confinement as strong as INJAIL
//! (a real chroot as root; `..`, symlinks and absolute paths stay inside), the
//! decisions (`dir` without `/`, a second LOCKSYS, PROCKEY first), FLYCONTEXT
//! nesting, and the `locksys` / `flycontext` flags' gating.

use std::fs;
use tfd_testkit::users::ensure_system_user;
use tfd_testkit::*;
use tfp_wire::Status;

fn st(c: &mut tfp_client::Client, line: &str) -> Status {
    Status::parse(&c.raw(line.as_bytes()).unwrap())
}

fn setup(srv: &Server) {
    data_dir_write(&srv.path("box/in.txt"), b"inside");
    data_dir_write(&srv.path("outside.txt"), b"outside");
    std::os::unix::fs::symlink("/etc/passwd", srv.path("box/abs")).unwrap();
    std::os::unix::fs::symlink("../outside.txt", srv.path("box/rel")).unwrap();
    std::os::unix::fs::symlink("..", srv.path("box/up")).unwrap();
    fs::create_dir_all(srv.dir.join("outdir")).unwrap();
    std::os::unix::fs::symlink(srv.dir.join("outdir"), srv.path("box/tmp")).unwrap();
}

#[test]
fn locksys_confines_like_injail() {
    let srv = Server::start();
    setup(&srv);
    let mut c = srv.client();
    assert_failed(st(&mut c, "LOCKSYS missing"), 10);
    assert_failed(st(&mut c, "LOCKSYS outside.txt"), 10);
    assert_failed(st(&mut c, "LOCKSYS .."), 1);
    assert_failed(st(&mut c, "LOCKSYS box/../.."), 1);
    assert_ok(st(&mut c, "LOCKSYS box"));
    if require_root("the chroot is seen in /proc") {
        let pid = srv.session_pid();
        assert_eq!(
            fs::read_link(format!("/proc/{pid}/root")).unwrap(),
            fs::canonicalize(srv.path("box")).unwrap(),
            "a real chroot"
        );
    }
    assert_eq!(assert_ok(st(&mut c, "FSTAT in.txt")).split(' ').nth(1), Some("6"));
    assert_eq!(assert_ok(st(&mut c, "FSTAT /in.txt")).split(' ').nth(1), Some("6"));
    for bad in ["../outside.txt", "/../outside.txt", "abs", "rel", "up/outside.txt"] {
        assert_failed(st(&mut c, &format!("SHA256 {bad}")), 1);
    }
    // a name outside is just a missing file in here
    assert_failed(st(&mut c, "SHA256 outside.txt"), 45);
    // `dir` without a trailing slash: MKDIR inner lands inside it
    assert_ok(st(&mut c, "MKDIR inner"));
    assert!(srv.path("box/inner").is_dir());
    assert!(!srv.path("boxinner").exists());
    // no way back, no second lock
    assert_failed(st(&mut c, "LOCKSYS inner"), 61);
    assert_failed(st(&mut c, "LOCKSYS /"), 61);
    assert_eq!(c.raw(b"ECHO alive").unwrap(), b"alive");
}

#[test]
fn flycontext_creates_and_nests() {
    let srv = Server::start();
    setup(&srv);
    let mut c = srv.client();
    assert_failed(st(&mut c, "FLYCONTEXT"), 65);
    assert_failed(st(&mut c, "FLYCONTEXT /"), 65);
    assert_failed(st(&mut c, "FLYCONTEXT ../x"), 1);
    assert_failed(st(&mut c, "FLYCONTEXT box/abs/x"), 1);
    assert_failed(st(&mut c, "FLYCONTEXT box/tmp/x"), 1);
    assert!(!srv.dir.join("outdir/x").exists(), "nothing made outside the root");
    assert_failed(st(&mut c, "FLYCONTEXT outside.txt/x"), 65);
    assert!(!srv.path("x").exists());
    assert_ok(st(&mut c, "FLYCONTEXT a/b"));
    assert!(srv.path("a/b").is_dir());
    assert_ok(st(&mut c, "TOUCH f"));
    assert!(srv.path("a/b/f").is_file());
    // deeper, relative to the current context
    assert_ok(st(&mut c, "FLYCONTEXT /c/"));
    assert_ok(st(&mut c, "TOUCH g"));
    assert!(srv.path("a/b/c/g").is_file());
    assert_failed(st(&mut c, "FSTAT ../f"), 1);
    assert_failed(st(&mut c, "FLYCONTEXT ../../x"), 1);
    assert!(!srv.path("a/x").exists() && !srv.path("x").exists());
    if require_root("the chroot is seen in /proc") {
        let pid = srv.session_pid();
        assert_eq!(
            fs::read_link(format!("/proc/{pid}/root")).unwrap(),
            fs::canonicalize(srv.path("a/b/c")).unwrap()
        );
    }
    assert_eq!(c.raw(b"ECHO alive").unwrap(), b"alive");
}

#[test]
fn flags_gate_locksys_then_flycontext() {
    let srv = Server::start_with("locksys\nflycontext\n");
    setup(&srv);
    let mut c = srv.client();
    assert_failed(st(&mut c, "ECHO x"), 61);
    assert_failed(st(&mut c, "FLYCONTEXT y"), 61);
    assert!(!srv.path("y").exists());
    // the document's exceptions: PROCKEY, KEEPALIVE before LOCKSYS
    assert!(ok(&st(&mut c, "PROCKEY")));
    assert!(ok(&st(&mut c, "KEEPALIVE 1 3600 | 75 | 9")));
    assert_failed(st(&mut c, "LOCKSYS missing"), 10);
    assert_ok(st(&mut c, "LOCKSYS box/"));
    assert_failed(st(&mut c, "ECHO x"), 65);
    assert_failed(st(&mut c, "TOUCH t"), 65);
    assert_ok(st(&mut c, "FLYCONTEXT ctx"));
    assert!(srv.path("box/ctx").is_dir());
    assert_eq!(c.raw(b"ECHO x").unwrap(), b"x");
    assert_ok(st(&mut c, "TOUCH t"));
    assert!(srv.path("box/ctx/t").is_file());
}

#[test]
fn without_root_the_descriptor_confines() {
    if !require(is_root(), "needs root to set up the user") {
        return;
    }
    let (uid, gid) = ensure_system_user("tfdlocksys1", &[]);
    let srv = Server::start_opts(Opts {
        extra: "defusr tfdlocksys1\n",
        default_user: false,
        ..Default::default()
    });
    setup(&srv);
    for p in ["", "box"] {
        nix::unistd::chown(&srv.path(p), Some(uid.into()), Some(gid.into())).unwrap();
    }
    let mut c = srv.client();
    let pid = srv.session_pid();
    assert_ok(st(&mut c, "LOCKSYS box"));
    assert_eq!(
        fs::read_link(format!("/proc/{pid}/root")).unwrap(),
        std::path::Path::new("/")
    );
    assert_failed(st(&mut c, "SHA256 /etc/passwd"), 45);
    for bad in ["../outside.txt", "abs", "rel", "up/outside.txt"] {
        assert_failed(st(&mut c, &format!("SHA256 {bad}")), 1);
    }
    assert_ok(st(&mut c, "FLYCONTEXT deep"));
    assert_ok(st(&mut c, "TOUCH mine"));
    assert!(srv.path("box/deep/mine").is_file());
    assert_failed(st(&mut c, "FSTAT ../in.txt"), 1);
}
