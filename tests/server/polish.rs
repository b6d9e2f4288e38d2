//! An operator's first hour (issue 32, item 6), through the real binaries: byte
//! counts of `tfd ctl sessions` that move during a transfer, `tfd ctl help` read
//! from the same table the control socket dispatches through, "did you mean" for
//! a mistyped key, sizes written `10MB`/`10MiB`, tfpasswd naming the file it
//! wanted, and the demo's warning as root and its checked port hint.

use crate::common;

use common::*;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

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

fn check_config(tag: &str, extra: &str) -> (bool, String) {
    let dir = tempdir(tag);
    std::fs::create_dir_all(dir.join("data")).unwrap();
    write_private_key(&dir.join("key.pem"));
    let conf = dir.join("tfd.conf");
    std::fs::write(
        &conf,
        format!(
            "proto 2.4.1\nhash polish\ndbdir {}\nport 1\nprivkey_file {}\nfai_dir {}\n{extra}",
            dir.join("data").display(),
            dir.join("key.pem").display(),
            dir.join("fai").display()
        ),
    )
    .unwrap();
    let o = Command::new(env!("CARGO_BIN_EXE_tfd"))
        .arg("-c")
        .arg(&conf)
        .arg("--check-config")
        .output()
        .unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    (
        o.status.success(),
        String::from_utf8_lossy(&o.stdout).into_owned() + &String::from_utf8_lossy(&o.stderr),
    )
}

#[test]
fn a_mistyped_key_gets_a_did_you_mean() {
    let (ok, text) = check_config("polish-typo", "quota_defualt 1G\n");
    assert!(!ok, "{text}");
    assert!(
        text.contains("unknown key \"quota_defualt\" (did you mean \"quota_default\"?)"),
        "{text}"
    );
    // nonsense is not bent into a key, nor quoted (the file may not be a
    // config at all: src/config/plausible.rs)
    let (ok, text) = check_config("polish-nonsense", "frobnicate 1\n");
    assert!(
        !ok && text.contains("not a configuration line")
            && !text.contains("frobnicate")
            && !text.contains("did you mean"),
        "{text}"
    );
}

/// `10MB` and `10MiB` are sizes, in tfd.conf and in the user file, the same as
/// `10M` (tfd.conf(5), tfpasswd(8)).
#[test]
fn sizes_take_mb_and_mib() {
    for size in ["10MB", "10MiB", "10mb", "10M"] {
        let (ok, text) = check_config("polish-size", &format!("quota_default {size}\nhpf_max_buffer 4MiB\n"));
        assert!(ok, "{size}: {text}");
    }
    let (ok, text) = check_config("polish-size-bad", "quota_default 10MBB\n");
    assert!(!ok && text.contains("quota_default"), "{text}");
    let dir = tempdir("polish-quota");
    let file = dir.join("userdb");
    for (name, q) in [("mb", "10MB"), ("mib", "10MiB")] {
        let o = tfpasswd(
            &[
                "-f",
                file.to_str().unwrap(),
                "add",
                name,
                "--system-user",
                "root",
                "--allow-root",
                "--quota",
                q,
                "--stdin",
                "--rounds",
                "1000",
            ],
            "pw\n",
        );
        assert!(o.status.success(), "{q}: {}", String::from_utf8_lossy(&o.stderr));
    }
    let o = tfpasswd(&["-f", file.to_str().unwrap(), "list"], "");
    let list = String::from_utf8_lossy(&o.stdout);
    assert_eq!(
        list.lines()
            .filter(|l| l.split_whitespace().nth(2) == Some("10M"))
            .count(),
        2,
        "{list}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// Where the user file cannot be, tfpasswd names it (not its lock file) and
/// says how to start one.
#[test]
fn tfpasswd_names_the_file_it_wanted() {
    let dir = tempdir("polish-tfpasswd");
    let file = dir.join("missing/userdb");
    let f = file.to_str().unwrap();
    let o = tfpasswd(&["-f", f, "add", "x", "--stdin"], "pw\n");
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(!err.contains(".lock"), "{err}");
    assert!(
        err.contains(&format!("the user file {f}"))
            && err.contains(&format!("mkdir -p -m 0755 {}", dir.join("missing").display())),
        "{err}"
    );
    for cmd in [&["list"][..], &["del", "x"], &["passwd", "x", "--stdin"]] {
        let mut args = vec!["-f", f];
        args.extend_from_slice(cmd);
        let o = tfpasswd(&args, "pw\n");
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(!o.status.success(), "{cmd:?}");
        assert!(
            err.contains(&format!(
                "the user file {f} does not exist; start one with `tfpasswd -f {f} add NAME`"
            )),
            "{cmd:?}: {err}"
        );
    }
    // with its directory there, add starts the file (and its lock beside it)
    std::fs::create_dir(dir.join("missing")).unwrap();
    let o = tfpasswd(
        &[
            "-f",
            f,
            "add",
            "x",
            "--system-user",
            "root",
            "--allow-root",
            "--stdin",
            "--rounds",
            "1000",
        ],
        "pw\n",
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(file.is_file());
    let _ = std::fs::remove_dir_all(&dir);
}

/// A demo started as root says that its sessions run as root.
#[test]
fn demo_as_root_warns() {
    assert!(
        is_root(),
        "this test needs root: it checks what the demo says when started as root"
    );
    let dir = tempdir("polish-demo-root");
    let port = free_port();
    let mut child = Command::new(env!("CARGO_BIN_EXE_tfd"))
        .args(["demo", "--port", &port.to_string(), "--dir"])
        .arg(dir.join("demo"))
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut err = String::new();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        match lines.next() {
            Some(Ok(l)) => {
                err.push_str(&l);
                err.push('\n');
                if l.contains("listening on") {
                    break;
                }
            }
            _ => break,
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    assert!(
        err.contains(
            "WARNING: started as root, so this demo serves as root: every client that connects acts as root in"
        ) && err.contains("run it as an ordinary user"),
        "{err}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// The hint for a taken port names a port that is free, not just the next one.
#[test]
fn demo_suggests_a_port_that_is_free() {
    let dir = tempdir("polish-demo-port");
    // two neighbouring ports taken
    let (first, _second, port) = loop {
        let a = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let p = a.local_addr().unwrap().port();
        if p == u16::MAX {
            continue;
        }
        if let Ok(b) = std::net::TcpListener::bind(("127.0.0.1", p + 1)) {
            break (a, b, p);
        }
    };
    let o = Command::new(env!("CARGO_BIN_EXE_tfd"))
        .args(["demo", "--port", &port.to_string(), "--dir"])
        .arg(dir.join("demo"))
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    let hint = err
        .lines()
        .find_map(|l| l.strip_prefix("hint: pick another port: tfd demo --port "))
        .unwrap_or_else(|| panic!("no hint: {err}"));
    let suggested: u16 = hint.split_whitespace().next().unwrap().parse().unwrap();
    assert!(suggested > port + 1, "suggested the taken {suggested}: {err}");
    // it was free (taken by nothing of this test since)
    assert!(std::net::TcpListener::bind(("127.0.0.1", suggested)).is_ok(), "{err}");
    drop(first);
    let _ = std::fs::remove_dir_all(&dir);
}
