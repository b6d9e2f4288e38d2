//! A session the server ends under a command is named by how it ended (issue
//! 65: a session process killed on the server was said to be "kicked by the
//! operator"): tf asks the server (`TFDWHY`) on the probe it already made,
//! and says "killed on the server (signal 9)", with the command that
//! continues, for `get` and `put` alike. The kick and the stop keep their
//! words (tests/cli/cli_habits.rs, cli_truth.rs).

use crate::output::stderr;
use std::time::Duration;
use tfd_testkit::*;

/// Runs `tf ARGS` against `srv`, kills its session process on the server
/// with `signal` once the transfer is under way, and returns tf's exit code
/// and stderr.
fn killed_under(srv: &Server, args: &[&str], signal: nix::sys::signal::Signal) -> (Option<i32>, String) {
    let child = srv
        .tf_command(args)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(1200));
    let pid = srv.session_pid();
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), signal).unwrap();
    let o = child.wait_with_output().unwrap();
    (o.status.code(), stderr(&o))
}

/// On the old code both said "the server closed the session: kicked by the
/// operator (or a limit of the server, such as its idle timeout)".
#[test]
fn a_get_and_a_put_whose_session_is_killed_on_the_server_say_killed() {
    use nix::sys::signal::Signal;
    let srv = Server::start_with("rate_limit_session 4M\n");
    let dir = tempdir("ended-killed");
    std::fs::write(srv.path("big.bin"), pattern(40 << 20, 65)).unwrap();
    let local = dir.join("up.bin");
    std::fs::write(&local, pattern(40 << 20, 66)).unwrap();
    let got = dir.join("got.bin");
    let runs: [(&str, Vec<&str>, &str); 2] = [
        ("get", vec!["get", "big.bin", got.to_str().unwrap()], "continues"),
        ("put", vec!["put", local.to_str().unwrap(), "up.bin"], "sends it again"),
    ];
    for (name, args, goes_on) in runs {
        let (code, e) = killed_under(&srv, &args, Signal::SIGKILL);
        assert_eq!(code, Some(1), "{name}: {e}");
        assert!(
            e.contains("tf: the session was killed on the server (signal 9)"),
            "{name}: {e}"
        );
        assert!(!e.contains("kicked"), "{name}: {e}");
        assert!(
            !e.contains("reset by peer") && !e.contains("Broken pipe"),
            "{name}: {e}"
        );
        assert!(e.contains(goes_on), "{name}: {e}");
    }
    // a SIGTERM that tfd did not send is named as the signal it is, not a kick
    let (code, e) = killed_under(&srv, &["get", "big.bin", got.to_str().unwrap()], Signal::SIGTERM);
    assert_eq!(code, Some(1), "{e}");
    assert!(e.contains("the session was killed on the server (signal 15)"), "{e}");
    assert!(e.contains("continues"), "{e}");
    let _ = std::fs::remove_dir_all(&dir);
}
