//! The official Java client against tfd: the harness in `crates/tfd-testkit/src/java.rs` builds
//! it from `../shared/clients` and runs the drivers in `tests/java/`. This file proves
//! the harness itself (handshake and a few 2.4.1 commands, checked on disk); the
//! 2.5.1 command families have their own drivers and tests.

use tfd_testkit::java::{java_lines, run_java};
use tfd_testkit::Server;

#[test]
fn java_client_handshake_and_basic_commands() {
    let s = Server::start();
    let lines = java_lines(&run_java(&s, "Smoke", &["jdir"]));
    assert_eq!(lines[0], "connected", "{lines:?}\n{}", s.log());
    assert!(lines.contains(&"echo hello java".to_string()), "{lines:?}");
    assert!(lines.iter().any(|l| l.starts_with("mkdir OK")), "{lines:?}");
    assert!(lines.iter().any(|l| l.starts_with("touch OK")), "{lines:?}");
    assert!(lines.iter().any(|l| l.starts_with("fstat OK")), "{lines:?}");
    assert!(s.path("jdir").is_dir());
    assert!(s.path("jdir/f.txt").is_file());
}
