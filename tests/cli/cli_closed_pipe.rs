//! Issue 88: a reader that goes away early (`tf backup list NAME | true`,
//! `tf mirror -n -i … | head -2`) ended most commands with std's panic,
//! "failed printing to stdout: Broken pipe", exit 101 and a backtrace hint.
//! A Unix tool ends quietly there, killed by SIGPIPE: tf now does, whatever
//! the command, its stdout or its stderr closed.

use crate::output::ok;
use std::fs;
use std::os::unix::process::ExitStatusExt;
use std::process::{Command, Stdio};
use tfd_testkit::*;

/// Runs `cmd` with its stdout (or, with `stderr`, its stderr) a pipe
/// whose reader is already gone, and asserts it ended quietly: by SIGPIPE,
/// or exited as it would have, never a panic or a backtrace hint.
#[track_caller]
fn ends_quietly(mut cmd: Command, what: &str, stderr: bool) {
    let (r, w) = nix::unistd::pipe().unwrap();
    drop(r);
    let mut err = Vec::new();
    if stderr {
        cmd.stdout(Stdio::null()).stderr(Stdio::from(w));
    } else {
        cmd.stdout(Stdio::from(w)).stderr(Stdio::piped());
    }
    let o = cmd.stdin(Stdio::null()).output().unwrap();
    err.extend_from_slice(&o.stderr);
    let text = String::from_utf8_lossy(&err);
    assert!(
        !text.contains("panicked") && !text.contains("RUST_BACKTRACE"),
        "{what}: {text}"
    );
    assert!(
        o.status.signal() == Some(libc::SIGPIPE) || o.status.code().is_some_and(|c| c != 101),
        "{what}: {:?} {text}",
        o.status
    );
}

#[test]
fn every_command_that_prints_ends_quietly_when_its_reader_is_gone() {
    let srv = Server::start();
    let here = tempdir("cli_closed_pipe");
    let src = here.join("src");
    fs::create_dir_all(src.join("d")).unwrap();
    for i in 0..50 {
        fs::write(src.join(format!("d/f{i:02}")), format!("file {i}")).unwrap();
    }
    let s = src.to_str().unwrap();
    ok(&srv.tf(&["mirror", "-R", s, "m"]), "mirror -R");
    ok(&srv.tf(&["backup", s, "nightly"]), "backup");
    let local = here.join("down");
    let l = local.to_str().unwrap();
    let words: &[&[&str]] = &[
        &["echo", "hello"],
        &["ls", "m/d"],
        &["ls", "-l", "m/d"],
        &["lsr", "m"],
        &["fstat", "m/d/f01"],
        &["sha256", "m/d/f01", "m/d/f02"],
        &["df"],
        &["freesp"],
        &["stages"],
        &["date"],
        &["datef"],
        &["get", "m/d/f01", "-"],
        &["mirror", "-n", "-i", "m", l],
        &["mirror", "-n", "m", l],
        &["get", "-r", "-i", "m", l],
        &["backup", "list", "nightly"],
        &["backup", "verify", "nightly"],
        &["restore", "nightly", l],
    ];
    for w in words {
        ends_quietly(srv.tf_command(w), &w.join(" "), false);
        let _ = fs::remove_dir_all(&local);
    }
    // no server needed
    for w in [
        &["--help"][..],
        &["--version"],
        &["completion", "bash"],
        &["help", "mirror"],
    ] {
        let mut c = Command::new(tf_bin());
        c.args(w);
        ends_quietly(c, &w.join(" "), false);
    }
    // a failure said on a closed stderr
    ends_quietly(
        srv.tf_command(&["get", "no/such/file", l]),
        "get of nothing, stderr",
        true,
    );
    let _ = fs::remove_dir_all(&here);
}
