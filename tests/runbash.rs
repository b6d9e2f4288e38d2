//! RUNBASH through the real wire: never enabled, so always `FAILED 64`, nothing
//! runs (a script that would leave a mark leaves none), the session goes on, and
//! the `runbash` key is refused at start-up.

mod common;

use common::*;
use tfd::wire::Status;

#[test]
fn runbash_is_refused_and_runs_nothing() {
    let srv = Server::start();
    let mark = srv.dir.join("ran");
    let script = format!("#!/bin/bash\ntouch {}\n", mark.display());
    data_dir_write(&srv.path("s.sh"), script.as_bytes());
    std::fs::set_permissions(srv.path("s.sh"), std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let mut c = srv.client();
    for arg in ["s.sh", "/s.sh", "../s.sh", "", "missing.sh"] {
        let st = Status::parse(&c.raw(format!("RUNBASH {arg}").as_bytes()).unwrap());
        assert_failed(st, 64);
    }
    std::thread::sleep(std::time::Duration::from_millis(300));
    assert!(!mark.exists(), "the script ran");
    assert_eq!(c.raw(b"ECHO alive").unwrap(), b"alive");
    assert!(srv.log().contains("RUNBASH \"s.sh\" refused"), "logged");
}

#[test]
fn runbash_key_is_refused() {
    let e = tfd::config::Config::parse_str("proto 2.4.1\nhash h\ndbdir /tmp\nport 1\nprivkey_file /x\nrunbash\n")
        .unwrap_err()
        .to_string();
    assert!(e.contains("\"runbash\" is not supported by tfd"), "{e}");
}
