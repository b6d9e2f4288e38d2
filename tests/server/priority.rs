//! `priority_boost`: the listener, the key process, the FAI issuer and each
//! session's handshake run above the sessions' commands, which (with the UDP
//! responder) keep the nice value tfd was started with. Read from /proc on the
//! real processes, every thread of each.

use tfp_client::replies::AsStatus as _;

use std::time::{Duration, Instant};
use tfd_testkit::users::ensure_system_user;
use tfd_testkit::*;

/// The nice values of every thread of `pid` (field 19 of /proc/PID/task/TID/stat).
fn nice_of(pid: i32) -> Vec<i32> {
    let mut v: Vec<i32> = std::fs::read_dir(format!("/proc/{pid}/task"))
        .unwrap()
        .flatten()
        .filter_map(|t| std::fs::read_to_string(t.path().join("stat")).ok())
        .map(|stat| {
            // the command name may hold spaces: count from the closing parenthesis
            let rest = &stat[stat.rfind(')').unwrap() + 2..];
            rest.split_whitespace().nth(16).unwrap().parse().unwrap()
        })
        .collect();
    v.dedup();
    v
}

fn own_nice() -> i32 {
    nice_of(std::process::id() as i32)[0]
}

fn helpers(srv: &Server) -> (i32, i32, i32) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let (Some(k), Some(f), Some(u)) = (
            key_process_of(srv.pid()),
            fai_issuer_of(srv.pid()),
            udp_responder_of(srv.pid()),
        ) {
            return (k, f, u);
        }
        assert!(Instant::now() < deadline, "helpers did not start");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn the_boost_raises_the_shared_processes_and_not_the_sessions() {
    if !require(is_root(), "raising priority needs root") {
        return;
    }
    let base = own_nice();
    let srv = Server::start_with("priority_boost 7\n");
    let (keys, fai, udp) = helpers(&srv);
    assert_eq!(nice_of(srv.pid()), [base - 7], "listener");
    assert_eq!(nice_of(keys), [base - 7], "every thread of the key process");
    assert_eq!(nice_of(fai), [base - 7], "FAI issuer");
    assert_eq!(nice_of(udp), [base], "the UDP responder (anyone can keep it busy)");
    // a session still in its handshake keeps the boost: a new client's few
    // steps do not queue behind busy sessions
    let pending = std::net::TcpStream::connect(srv.addr()).unwrap();
    srv.wait_sessions(1, "a session process for the connection");
    assert_eq!(
        nice_of(srv.children().0[0]),
        [base - 7],
        "a session before its handshake"
    );
    drop(pending);
    srv.wait_sessions(0, "the unfinished session ends");
    // ... and through the secure transport upgrade, set-up too; the first
    // other command ends the boost
    let mut cfg = srv.client_config();
    cfg.transport = tfp_client::Transport::Require;
    let mut s = tfp_client::Client::connect(&cfg).unwrap();
    assert_eq!(nice_of(srv.session_pid()), [base - 7], "handshake and upgrade");
    assert_eq!(s.raw(b"ECHO x").unwrap(), b"x");
    assert_eq!(nice_of(srv.session_pid()), [base], "after the first command");
    s.end().unwrap();
    srv.wait_sessions(0, "the secure session ends");
    let mut c = srv.client();
    // a transfer starts the session's OOB thread: it runs at the session's value too
    let data = pattern(300 * 1024, 1);
    assert_ok(c.sndfile(b"f", true, &mut &data[..], &mut |_| {}).status().unwrap());
    assert_eq!(nice_of(srv.session_pid()), [base], "session and its threads");
    assert!(srv.log().contains("priority_boost 7"), "{}", srv.log());
}

#[test]
fn zero_turns_the_boost_off() {
    let base = own_nice();
    let srv = Server::start_with("priority_boost 0\n");
    let (keys, fai, _) = helpers(&srv);
    assert_eq!(nice_of(srv.pid()), [base]);
    assert_eq!(nice_of(keys), [base]);
    assert_eq!(nice_of(fai), [base]);
    let mut c = srv.client();
    assert_eq!(c.raw(b"ECHO x").unwrap(), b"x");
    assert_eq!(nice_of(srv.session_pid()), [base]);
}

/// `tfd demo` started by an ordinary user (no CAP_SYS_NICE), whose
/// configuration never mentions `priority_boost`, logs no WARN about the
/// default boost it cannot have (it logged "priority_boost 10: cannot set
/// nice -10"); a configuration that asks for a boost it cannot have is
/// still warned.
#[test]
fn an_ordinary_user_is_warned_only_of_a_boost_asked_for() {
    use std::os::unix::process::CommandExt;
    if !require(is_root(), "running tfd as an ordinary user needs root to create one") {
        return;
    }
    let (uid, gid) = ensure_system_user("tfdprio1", &[]);
    let top = tempdir("prio-demo");
    std::os::unix::fs::chown(&top, Some(uid), Some(gid)).unwrap();
    for (asked, warned) in [(None, false), (Some("priority_boost 5\n"), true)] {
        let dir = top.join(if warned { "asked" } else { "default" });
        // the demo writes its configuration once: the second one's asks
        let log = top.join(format!("{}.log", if warned { "asked" } else { "default" }));
        let mut child = None;
        for _ in 0..3 {
            let port = free_port();
            if let Some(extra) = asked {
                let _ = std::fs::create_dir(&dir);
                std::fs::write(
                    dir.join("tfd.conf"),
                    format!("proto 2.4.1\nhash h{port}\ndbdir data\nport {port}\nlisten 127.0.0.1\nprivkey_file key.pem\nfai_dir fai\ncontrol_socket ctl.sock\n{extra}"),
                )
                .unwrap();
                std::os::unix::fs::chown(&dir, Some(uid), Some(gid)).unwrap();
                std::os::unix::fs::chown(dir.join("tfd.conf"), Some(uid), Some(gid)).unwrap();
            }
            let mut c = std::process::Command::new(tfd_bin_for_others())
                .args(["demo", "--port", &port.to_string(), "--dir"])
                .arg(&dir)
                .env("RUST_LOG", "info")
                .uid(uid)
                .gid(gid)
                .stdin(std::process::Stdio::null())
                .stdout(std::process::Stdio::null())
                .stderr(std::fs::File::create(&log).unwrap())
                .spawn()
                .unwrap();
            let deadline = Instant::now() + Duration::from_secs(30);
            let listening = loop {
                let text = std::fs::read_to_string(&log).unwrap_or_default();
                // the boost, granted or not, is said after the listening sockets
                if text.contains("listening on") && text.contains("priority_boost") {
                    break true;
                }
                if c.try_wait().unwrap().is_some() {
                    break false;
                }
                assert!(Instant::now() < deadline, "the demo did not start:\n{text}");
                std::thread::sleep(Duration::from_millis(20));
            };
            if listening {
                child = Some(c);
                break;
            }
            // its port was taken meanwhile: another
            let text = std::fs::read_to_string(&log).unwrap_or_default();
            assert!(text.contains("in use"), "the demo did not start:\n{text}");
        }
        let mut c = child.expect("no free port for the demo in 3 tries");
        let _ = c.kill();
        let _ = c.wait();
        let text = std::fs::read_to_string(&log).unwrap();
        let warn = text.lines().any(|l| l.contains("WARN") && l.contains("priority_boost"));
        assert_eq!(warn, warned, "asked: {asked:?}:\n{text}");
    }
}
