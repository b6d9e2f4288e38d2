//! The control socket's file over a tfd's life: a clean stop (SIGTERM)
//! removes the socket it bound and the directories it made for it, where no
//! systemd removes the runtime directory; it leaves a socket another tfd bound
//! since; and a test's tfd binds its socket in its own directory, never the
//! system's /run/tfd.

use tfd_testkit::*;

/// A tfd whose control socket is `sock`.
fn start(sock: &std::path::Path) -> Server {
    Server::start_with(&format!("control_socket {}\n", sock.display()))
}

#[test]
fn a_stop_removes_the_socket_and_the_directories_made_for_it() {
    let top = tempdir("ctl-stop");
    let sock = top.join("run/tfd/ctl.sock");
    let mut s = start(&sock);
    assert!(sock.exists(), "{}", s.log());
    assert!(tfd_ctl(&sock, &["stats"]).0);
    assert!(s.stop().success());
    assert!(!sock.exists(), "the socket outlived its tfd");
    assert!(!top.join("run/tfd").exists(), "the directory tfd made for it stayed");
    assert!(!top.join("run").exists(), "the directory tfd made for it stayed");
    assert!(top.exists(), "a directory tfd did not make was removed");
}

#[test]
fn a_stop_leaves_the_socket_another_tfd_bound_since() {
    let top = tempdir("ctl-other");
    let sock = top.join("ctl.sock");
    let mut first = start(&sock);
    // the operator removes the socket and starts a second tfd on it
    std::fs::remove_file(&sock).unwrap();
    let mut second = start(&sock);
    assert!(first.stop().success());
    assert!(sock.exists(), "the first tfd removed the second's socket");
    let (ok, out) = tfd_ctl(&sock, &["stats"]);
    assert!(ok, "{out}");
    assert!(second.stop().success());
    assert!(!sock.exists());
}

#[test]
fn a_test_server_binds_its_socket_in_its_own_directory() {
    let s = Server::start();
    let sock = s.dir.join("ctl.sock");
    if is_root() {
        assert!(
            s.log().contains(&format!("control socket {}", sock.display())),
            "{}",
            s.log()
        );
        assert!(tfd_ctl(&sock, &["stats"]).0);
    }
    assert!(!s.log().contains("/run/tfd"), "{}", s.log());
}
