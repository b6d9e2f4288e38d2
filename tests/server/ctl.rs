//! `tfd ctl` as an operator reads it (issue 32), through the real binaries:
//! the byte counts of `tfd ctl sessions` move during a transfer, and `tfd ctl
//! help` is read from the same table the control socket dispatches through.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use tfd_testkit::*;

const MIB: u64 = 1 << 20;

/// `BYTES_OUT` and `COMMAND` of session `pid` in a `ctl sessions` answer.
fn bytes_out(sessions: &str, pid: i32) -> Option<(u64, String)> {
    let head: Vec<&str> = sessions.lines().next()?.split('\t').collect();
    let out_at = head.iter().position(|h| *h == "BYTES_OUT")?;
    let cmd_at = head.iter().position(|h| *h == "COMMAND")?;
    let line = sessions.lines().find(|l| l.starts_with(&format!("{pid}\t")))?;
    let f: Vec<&str> = line.split('\t').collect();
    Some((f.get(out_at)?.parse().ok()?, f.get(cmd_at)?.to_string()))
}

/// A 6 MiB download at 1 MiB/s: while it runs, `ctl sessions` shows its bytes
/// out growing (it showed the 87 bytes before the command until the end).
#[test]
fn ctl_sessions_bytes_move_during_a_download() {
    let dir = tempdir("polish-bytes");
    let sock = dir.join("ctl.sock");
    let srv = Server::start_with(&format!("control_socket {}\nrate_limit_session 1M\n", sock.display()));
    let data = pattern(6 * MIB as usize, 32);
    std::fs::write(srv.path("big"), &data).unwrap();
    let out = dir.join("big.copy");
    let mut tf = srv
        .tf_command(&["get", "big", out.to_str().unwrap()])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut seen: Vec<u64> = Vec::new();
    while Instant::now() < deadline {
        if tf.try_wait().unwrap().is_some() {
            break;
        }
        let (live, _) = srv.children();
        let (ok, text) = tfd_ctl(&sock, &["sessions"]);
        assert!(ok, "{text}");
        if let Some((n, cmd)) = live.first().and_then(|p| bytes_out(&text, *p)) {
            if cmd != "PROCKEY" && n > 0 {
                seen.push(n);
            }
        }
        std::thread::sleep(Duration::from_millis(250));
    }
    let st = tf.wait_with_output().unwrap();
    assert!(st.status.success(), "tf get: {}", String::from_utf8_lossy(&st.stderr));
    assert_eq!(std::fs::read(&out).unwrap(), data);
    // at least two readings during the transfer, a MiB apart, and one past 2 MiB
    eprintln!("bytes out seen during the transfer: {seen:?}");
    let (first, last) = (seen.first().copied().unwrap_or(0), seen.last().copied().unwrap_or(0));
    assert!(
        last >= first + MIB && last >= 2 * MIB,
        "ctl sessions did not show the download moving: {seen:?}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// `tfd ctl help` needs no running tfd and lists every request; the server
/// answers `help` with the same list, and each request it names is one the
/// server knows (none answers "unknown request").
#[test]
fn ctl_help_lists_every_request_the_socket_serves() {
    let o = Command::new(env!("CARGO_BIN_EXE_tfd"))
        .args(["ctl", "help"])
        .output()
        .unwrap();
    let help = String::from_utf8_lossy(&o.stdout).into_owned();
    assert!(o.status.success(), "{help}{}", String::from_utf8_lossy(&o.stderr));
    let names: Vec<String> = help
        .lines()
        .skip(1)
        .filter_map(|l| l.split_whitespace().next().map(str::to_string))
        .collect();
    for want in ["sessions", "kick", "ban", "unban", "reload", "stats", "metrics", "help"] {
        assert!(names.iter().any(|n| n == want), "{want} missing from:\n{help}");
    }
    let dir = tempdir("polish-help");
    let sock = dir.join("ctl.sock");
    let _srv = Server::start_with(&format!("control_socket {}\n", sock.display()));
    let answer = tfd::daemon::control::call(&sock, "help").unwrap();
    assert_eq!(answer.trim_end(), help.trim_end());
    for name in &names {
        let answer = tfd::daemon::control::call(&sock, name).unwrap();
        assert!(!answer.contains("unknown request"), "{name}: {answer}");
    }
    let (ok, text) = tfd_ctl(&sock, &["frobnicate"]);
    assert!(!ok && text.contains("tfd ctl help"), "{text}");
    let _ = std::fs::remove_dir_all(&dir);
}
