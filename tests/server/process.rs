//! The process model: one process per connection, reaped; single-user mode drops
//! to `defusr` for real; SIGTERM stops the daemon cleanly.

use std::os::unix::fs::MetadataExt;
use std::time::{Duration, Instant};
use tfd_testkit::users::ensure_system_user;
use tfd_testkit::*;

fn ensure_user(name: &str) -> (u32, u32) {
    ensure_system_user(name, &[])
}

#[test]
fn each_connection_is_its_own_process_and_is_reaped() {
    let srv = Server::start();
    let mut clients: Vec<_> = (0..4).map(|_| srv.client()).collect();
    for c in clients.iter_mut() {
        assert_eq!(c.raw(b"ECHO x").unwrap(), b"x");
    }
    let (live, _) = srv.children();
    assert_eq!(live.len(), 4, "one session process per connection: {live:?}");
    for c in clients {
        c.end().unwrap();
    }
    // a client that vanishes without END is reaped too
    let mut c = srv.client();
    assert_eq!(c.raw(b"ECHO y").unwrap(), b"y");
    drop(c);
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let (live, zombies) = srv.children();
        if live.is_empty() && zombies.is_empty() {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "children left: live {live:?} zombies {zombies:?}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn defusr_sessions_run_as_that_user() {
    if !require(is_root(), "needs root") {
        return;
    }
    let (uid, gid) = ensure_user("tfdtest1");
    let srv = Server::start_opts(Opts {
        extra: "defusr tfdtest1\n",
        default_user: false,
        ..Opts::default()
    });
    nix::unistd::chown(&srv.data, Some(uid.into()), Some(gid.into())).unwrap();
    let mut c = srv.client();
    assert!(ok(&c.call("MKDIR", b"made").unwrap()));
    assert!(ok(&c.call("TOUCH", b"made/f").unwrap()));
    let m = std::fs::metadata(srv.path("made/f")).unwrap();
    assert_eq!((m.uid(), m.gid()), (uid, gid));
    // a root-only file is out of reach
    std::fs::write(srv.path("rootonly"), b"secret").unwrap();
    std::fs::set_permissions(
        srv.path("rootonly"),
        std::os::unix::fs::PermissionsExt::from_mode(0o600),
    )
    .unwrap();
    assert_failed(c.call("SHA256", b"rootonly").unwrap(), 1);
    assert_failed(c.call("COPY", b"rootonly | stolen").unwrap(), 1);
    // the session process really has that identity, with no leftover groups
    // (the readiness probe's own short-lived session may still be exiting)
    let deadline = Instant::now() + Duration::from_secs(5);
    let live = loop {
        let (live, _) = srv.children();
        if live.len() == 1 || Instant::now() > deadline {
            break live;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    assert_eq!(live.len(), 1, "{live:?}");
    let status = std::fs::read_to_string(format!("/proc/{}/status", live[0])).unwrap();
    let field = |k: &str| {
        status
            .lines()
            .find(|l| l.starts_with(k))
            .unwrap()
            .split_whitespace()
            .skip(1)
            .collect::<Vec<_>>()
            .join(" ")
    };
    assert_eq!(field("Uid:"), format!("{uid} {uid} {uid} {uid}"));
    assert_eq!(field("Gid:"), format!("{gid} {gid} {gid} {gid}"));
    assert_eq!(field("Groups:"), format!("{gid}"));
}

#[test]
fn sigterm_stops_with_sessions_open() {
    let mut srv = Server::start();
    let mut c = srv.client();
    assert_eq!(c.raw(b"ECHO x").unwrap(), b"x");
    let st = srv.stop();
    assert!(st.success(), "exit status {st:?}");
    // the open session was closed
    assert!(c.raw(b"ECHO y").is_err());
}
