//! The tf binary itself, before any server: also what makes a workspace `cargo test`
//! build it, so the daemon's end-to-end tests (tests/cli) drive a fresh one.

use std::process::Command;

#[test]
fn version_names_the_crate_version() {
    let o = Command::new(env!("CARGO_BIN_EXE_tf"))
        .arg("--version")
        .output()
        .expect("run tf");
    assert!(o.status.success(), "{o:?}");
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(out.contains(env!("CARGO_PKG_VERSION")), "{out}");
}
