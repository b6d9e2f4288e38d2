//! Operations: graceful stop, reload without dropping sessions, limits, the
//! admin control socket, and --daemon.

use tfp_client::replies::{AsStatus as _, Split as _};

use std::process::Command;
use std::time::{Duration, Instant};
use tfd_testkit::users::{ensure_system_user, login_userdb};
use tfd_testkit::*;

fn ctl(_srv: &Server, sock: &std::path::Path, req: &[&str]) -> (bool, String) {
    tfd_ctl(sock, req)
}

fn sighup(srv: &Server) {
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(srv.pid()), nix::sys::signal::SIGHUP).unwrap();
}

#[test]
fn sigterm_gives_sessions_the_grace_period_then_ends_them() {
    let mut srv = Server::start_with("shutdown_grace 1\n");
    let mut c = srv.client();
    assert_eq!(c.raw(b"ECHO x").unwrap(), b"x");
    let t = Instant::now();
    let st = srv.stop();
    assert!(st.success(), "{st:?}");
    let took = t.elapsed();
    assert!(
        took >= Duration::from_millis(900),
        "sessions were not given the grace period: {took:?}"
    );
    assert!(took < Duration::from_secs(5), "{took:?}");
    assert!(c.raw(b"ECHO y").is_err(), "the session was ended");
}

#[test]
fn reload_changes_hash_for_new_connections_only() {
    let srv = Server::start();
    let mut old = srv.client();
    let text = std::fs::read_to_string(&srv.conf).unwrap();
    std::fs::write(
        &srv.conf,
        text.replace(&format!("hash {}", srv.hash), "hash reloaded-hash"),
    )
    .unwrap();
    sighup(&srv);
    srv.wait_log("configuration reloaded");
    let mut cfg = srv.client_config();
    assert!(
        tfp_client::Client::connect(&cfg).is_err(),
        "the old hash is refused now"
    );
    cfg.hash = "reloaded-hash".into();
    let mut new = tfp_client::Client::connect(&cfg).unwrap();
    assert_eq!(new.raw(b"ECHO new").unwrap(), b"new");
    assert_eq!(
        old.raw(b"ECHO old").unwrap(),
        b"old",
        "the established session kept working"
    );
    // an invalid config is refused and the server keeps serving with the last good one
    std::fs::write(&srv.conf, "this is not a config\n").unwrap();
    sighup(&srv);
    srv.wait_log("reload refused");
    let mut again = tfp_client::Client::connect(&cfg).unwrap();
    assert_eq!(again.raw(b"ECHO still").unwrap(), b"still");
}

#[test]
fn per_ip_cap_refuses_the_next_connection() {
    let srv = Server::start_with("max_sessions_per_ip 2\n");
    let mut a = srv.client();
    let b = srv.client();
    let third = tfp_client::Client::connect(&srv.client_config());
    assert!(third.is_err(), "the third connection from one IP is refused");
    srv.wait_log("refused: max_sessions_per_ip 2");
    assert_eq!(a.raw(b"ECHO a").unwrap(), b"a");
    drop(b.end());
    std::thread::sleep(Duration::from_millis(200));
    let mut c = srv.client();
    assert_eq!(c.raw(b"ECHO c").unwrap(), b"c", "a slot freed up");
}

#[test]
fn prelogin_bytes_are_bounded() {
    if !require(is_root(), "needs root (multi-user mode)") {
        return;
    }
    // multi-user mode (no defusr): the session stays pre-login
    let srv = Server::start_opts(Opts {
        default_user: false,
        ..Opts::default()
    });
    let mut c = srv.client();
    let mut closed = false;
    for _ in 0..40 {
        match c.raw(&[b'E'; 4000]) {
            Ok(r) => assert!(r.starts_with(b"FAILED 38") || r == b"UNKNOWN", "{r:?}"),
            Err(_) => {
                closed = true;
                break;
            }
        }
    }
    assert!(closed, "a pre-login client could send without end");
    srv.wait_log("bytes before LOGIN");
}

#[test]
fn control_socket_sessions_kick_ban_stats() {
    let dir = tempdir("ctl");
    let sock = dir.join("ctl.sock");
    let srv = Server::start_with(&format!("control_socket {}\n", sock.display()));
    let mut c = srv.client();
    assert_eq!(c.raw(b"ECHO hi").unwrap(), b"hi");
    let (ok, out) = ctl(&srv, &sock, &["sessions"]);
    assert!(ok, "{out}");
    let (live, _) = srv.children();
    assert_eq!(live.len(), 1);
    let line = out
        .lines()
        .find(|l| l.starts_with(&live[0].to_string()))
        .unwrap_or_else(|| panic!("{out}"));
    assert!(line.contains("127.0.0.1:") && line.contains("ECHO"), "{line}");
    let (ok, out) = ctl(&srv, &sock, &["kick", &live[0].to_string()]);
    assert!(ok, "{out}");
    std::thread::sleep(Duration::from_millis(200));
    assert!(c.raw(b"ECHO gone").is_err(), "kicked");
    // the log says what happened, in words: not `Signaled(Pid(N), SIGTERM, false)`
    srv.wait_log(&format!("session {} (127.0.0.1:", live[0]));
    srv.wait_log("ended: kicked by tfd ctl");
    assert!(!srv.log().contains("Signaled("), "{}", srv.log());
    assert!(!srv.log().contains("ended abnormally"), "{}", srv.log());
    let (ok, out) = ctl(&srv, &sock, &["ban", "127.0.0.1", "1h"]);
    assert!(ok && out.contains("banned"), "{out}");
    assert!(tfp_client::Client::connect(&srv.client_config()).is_err(), "banned");
    srv.wait_log("refused: banned");
    let (ok, out) = ctl(&srv, &sock, &["unban", "127.0.0.1"]);
    assert!(ok, "{out}");
    let mut d = srv.client();
    assert_eq!(d.raw(b"ECHO back").unwrap(), b"back");
    let (ok, out) = ctl(&srv, &sock, &["stats"]);
    assert!(ok && out.contains("sessions 1") && out.contains("refused 1"), "{out}");
    let (ok, out) = ctl(&srv, &sock, &["frobnicate"]);
    assert!(!ok && out.starts_with("error"), "{out}");
    let (ok, out) = ctl(&srv, &sock, &["kick", "999999"]);
    assert!(!ok, "{out}");
    let meta = std::fs::metadata(&sock).unwrap();
    assert_eq!(
        std::os::unix::fs::PermissionsExt::mode(&meta.permissions()) & 0o777,
        0o600
    );
}

/// Every request gets its whole answer and `tfd ctl` exits at once: the answer
/// ends with the connection, which the listener ends itself (a reload forks a
/// key process that once inherited the connection and held it open, so `ctl
/// reload` waited for its 10 s timeout and failed with EAGAIN).
#[test]
fn ctl_answers_every_request_and_exits_at_once() {
    let dir = tempdir("ctl-close");
    let sock = dir.join("ctl.sock");
    let srv = Server::start_with(&format!("control_socket {}\n", sock.display()));
    let _c = srv.client();
    // (request, exit code, text the answer holds)
    let cases: &[(&[&str], i32, &str)] = &[
        (&["reload"], 0, "ok: reload done"),
        (&["reload"], 0, "ok: reload done"),
        (&["sessions"], 0, "PID\t"),
        (&["stats"], 0, "uptime_s"),
        (&["metrics"], 0, "# TYPE"),
        (&["kick", "192.0.2.9"], 0, "ok: kicked 0 session(s)"),
        (&["ban", "192.0.2.9", "1m"], 0, "ok: banned 192.0.2.9"),
        (&["unban", "192.0.2.9"], 0, "ok: unbanned 192.0.2.9"),
        (&["kick", "999999"], 2, "error: no session with pid 999999"),
        (&["frobnicate"], 2, "error: unknown request"),
    ];
    for (req, code, says) in cases {
        let t = Instant::now();
        let o = Command::new(env!("CARGO_BIN_EXE_tfd"))
            .arg("ctl")
            .arg("--socket")
            .arg(&sock)
            .args(*req)
            .output()
            .unwrap();
        let took = t.elapsed();
        let out = String::from_utf8_lossy(&o.stdout).into_owned() + &String::from_utf8_lossy(&o.stderr);
        // 8 s: a bound under the 10 s timeout it tells apart, with room for
        // starting `tfd ctl` on a loaded 2-core machine (3 s was a race there)
        assert!(
            took < Duration::from_secs(8),
            "ctl {req:?} took {took:?} (the 10 s timeout is not a way to end an answer): {out}"
        );
        assert_eq!(o.status.code(), Some(*code), "ctl {req:?}: {out}");
        assert!(out.contains(says), "ctl {req:?}: {out}");
    }
    srv.wait_log("configuration reloaded");
    drop(srv);
    let _ = std::fs::remove_dir_all(&dir);
}

/// `ctl sessions` names the LOGIN user of a session and the uid it runs as,
/// from the moment LOGIN answers (it once showed `root`, the identity before
/// LOGIN, until the session's next command, and never the LOGIN name).
#[test]
fn ctl_sessions_shows_the_login_name_and_the_uid() {
    if !require(is_root(), "needs root (multi-user mode)") {
        return;
    }
    let (uid, _) = ensure_system_user("tfdops1", &[]);
    let db = login_userdb("ops-userdb", "olga", "tfdops1", "olga pw");
    let dir = tempdir("ctl-login");
    let sock = dir.join("ctl.sock");
    let srv = Server::start_opts(Opts {
        extra: &format!("userdb {db}\ncontrol_socket {}\n", sock.display()),
        default_user: false,
        ..Default::default()
    });
    let sessions = || {
        let (ok, out) = ctl(&srv, &sock, &["sessions"]);
        assert!(ok, "{out}");
        out
    };
    // the (LOGIN, UID) columns of `pid`'s row, by the header's names
    let columns = |out: &str, pid: i32| -> (String, String) {
        let header: Vec<&str> = out.lines().next().unwrap_or("").split('\t').collect();
        let line = out
            .lines()
            .find(|l| l.split('\t').next() == Some(&pid.to_string()))
            .unwrap_or_else(|| panic!("no row for {pid}:\n{out}"));
        let fields: Vec<&str> = line.split('\t').collect();
        assert_eq!(fields.len(), header.len(), "{out}");
        let col = |name: &str| {
            let i = header
                .iter()
                .position(|h| *h == name)
                .unwrap_or_else(|| panic!("no {name} column:\n{out}"));
            fields[i].to_string()
        };
        (col("LOGIN"), col("UID"))
    };
    let mut c = srv.client();
    let pid = srv.session_pid();
    let before = sessions();
    assert_ok(c.call("LOGIN", b"olga olga pw").unwrap());
    let after = sessions();
    let row = after
        .lines()
        .find(|l| l.starts_with(&format!("{pid}\t")))
        .unwrap_or_default();
    assert!(
        row.contains("olga") && row.contains("tfdops1") && !row.contains("root"),
        "the LOGIN name and the system user after LOGIN:\n{after}"
    );
    assert_eq!(columns(&after, pid), ("olga".to_string(), uid.to_string()), "{after}");
    assert_eq!(columns(&before, pid).0, "-", "no LOGIN yet:\n{before}");
    drop(c);
    drop(srv);
    let _ = std::fs::remove_dir_all(&dir);
    if let Some(db_dir) = std::path::Path::new(&db).parent() {
        let _ = std::fs::remove_dir_all(db_dir);
    }
}

#[test]
fn daemon_mode_detaches_and_writes_a_pidfile() {
    let dir = tempdir("daemon");
    let data = dir.join("data");
    std::fs::create_dir_all(&data).unwrap();
    write_private_key(&dir.join("key.pem"));
    let port = free_port();
    let conf = dir.join("tfd.conf");
    let user = if is_root() { "defusr root\n" } else { "" };
    std::fs::write(
        &conf,
        format!(
            "proto 2.4.1\nhash h\ndbdir {}\nport {port}\nlisten 127.0.0.1\nprivkey_file {}\ncontrol_socket {}\nshutdown_grace 1\n{user}",
            data.display(),
            dir.join("key.pem").display(),
            dir.join("ctl.sock").display()
        ),
    )
    .unwrap();
    let pidfile = dir.join("tfd.pid");
    let st = Command::new(env!("CARGO_BIN_EXE_tfd"))
        .args([
            "-c",
            conf.to_str().unwrap(),
            "--daemon",
            "--pidfile",
            pidfile.to_str().unwrap(),
        ])
        .status()
        .unwrap();
    assert!(
        st.success(),
        "the launching process exits with 0 once the daemon is ready"
    );
    // no waiting: by the time the launcher exits, the pidfile is there
    assert!(pidfile.exists(), "no pidfile when the launching process exited");
    let pid: i32 = std::fs::read_to_string(&pidfile).unwrap().trim().parse().unwrap();
    let fields = proc_stat(pid).unwrap();
    assert_ne!(
        fields[3].parse::<i32>().unwrap(),
        pid,
        "not a session leader (double fork)"
    );
    assert_eq!(
        std::fs::read_link(format!("/proc/{pid}/fd/0")).unwrap(),
        std::path::Path::new("/dev/null")
    );
    assert_eq!(
        std::fs::read_link(format!("/proc/{pid}/cwd")).unwrap(),
        std::path::Path::new("/")
    );
    let mut cfg = tfp_client::ClientConfig::new(&format!("127.0.0.1:{port}"), keys().1.clone(), "h");
    cfg.timeout = Some(Duration::from_secs(10));
    cfg.transport = tfp_client::Transport::Legacy;
    let mut c = tfp_client::Client::connect(&cfg).unwrap();
    assert_eq!(c.raw(b"ECHO daemon").unwrap(), b"daemon");
    drop(c);
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), nix::sys::signal::SIGTERM).unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while std::path::Path::new(&format!("/proc/{pid}")).exists() {
        assert!(Instant::now() < deadline, "daemon did not stop");
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(!pidfile.exists(), "pidfile removed at exit");
}

#[test]
fn xferlog_records_complete_and_aborted_transfers() {
    let dir = tempdir("xfer");
    let log = dir.join("xfer.log");
    let srv = Server::start_with(&format!("xferlog {}\n", log.display()));
    let mut c = srv.client();
    assert!(ok(&c
        .sndfile(b"up file", false, &mut &[7u8; 1000][..], &mut |_| {})
        .status()
        .unwrap()));
    let mut sink = Vec::new();
    assert!(ok(&c.rcvfile(b"up file", false, &mut sink).status().unwrap()));
    c.put_cancel(b"cancelled", 64, &[1u8; 100], tfp_wire::hpf::code::CANCEL)
        .split()
        .unwrap()
        .unwrap();
    assert_eq!(
        c.get(b"up file", 0, 4096, &mut sink, &mut |_| {}).split().unwrap(),
        Ok(1000)
    );
    assert_failed(c.rcvfile(b"missing", false, &mut sink).status().unwrap(), 9);
    drop(c);
    let deadline = Instant::now() + Duration::from_secs(5);
    let text = loop {
        let t = std::fs::read_to_string(&log).unwrap_or_default();
        if t.lines().count() >= 4 || Instant::now() > deadline {
            break t;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 4, "one line per transfer that started:\n{text}");
    let has = |cmd: &str, path: &str, bytes: &str, dir: &str, done: &str| {
        lines.iter().any(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            l.contains(cmd) && f.contains(&path) && f.contains(&bytes) && f.contains(&dir) && f.contains(&done)
        })
    };
    assert!(has("SNDFILE", "/up\\x20file", "1000", "i", "c"), "{text}");
    assert!(has("RCVFILE", "/up\\x20file", "1000", "o", "c"), "{text}");
    assert!(has("PUT", "/cancelled", "100", "i", "i"), "{text}");
    assert!(has("GET", "/up\\x20file", "1000", "o", "c"), "{text}");
    assert!(text.contains("127.0.0.1"));
}

#[test]
fn startup_errors_are_clear() {
    let dir = tempdir("startup");
    let data = dir.join("data");
    std::fs::create_dir_all(&data).unwrap();
    write_private_key(&dir.join("key.pem"));
    let port = free_port();
    let base = format!(
        "proto 2.4.1\nhash h\ndbdir {}\nport {port}\nlisten 127.0.0.1\nprivkey_file {}\n",
        data.display(),
        dir.join("key.pem").display()
    );
    let run = |conf: &str| {
        let p = dir.join("t.conf");
        std::fs::write(&p, conf).unwrap();
        let o = Command::new(env!("CARGO_BIN_EXE_tfd"))
            .args(["-c", p.to_str().unwrap(), "--check-config"])
            .output()
            .unwrap();
        (
            o.status.code(),
            String::from_utf8_lossy(&o.stderr).into_owned() + &String::from_utf8_lossy(&o.stdout),
        )
    };
    assert_eq!(run(&base).0, Some(0));
    // `tfd check-config` is a subcommand as `tfd demo` and `tfd ctl` are,
    // with -c before or after it, and says what --check-config says
    let conf = dir.join("t.conf");
    let flag = Command::new(env!("CARGO_BIN_EXE_tfd"))
        .args(["-c", conf.to_str().unwrap(), "--check-config"])
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&flag.stdout).into_owned();
    assert!(
        said.starts_with(&format!("tfd: configuration {} is valid", conf.display())),
        "{said}"
    );
    for args in [
        vec!["check-config", "-c", conf.to_str().unwrap()],
        vec!["-c", conf.to_str().unwrap(), "check-config"],
    ] {
        let o = Command::new(env!("CARGO_BIN_EXE_tfd")).args(&args).output().unwrap();
        let out = String::from_utf8_lossy(&o.stdout);
        assert_eq!(
            o.status.code(),
            Some(0),
            "tfd {args:?}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        assert_eq!(out, said, "tfd {args:?}");
    }
    // a world-writable root is refused
    std::fs::set_permissions(&data, std::os::unix::fs::PermissionsExt::from_mode(0o777)).unwrap();
    let (code, out) = run(&base);
    assert_eq!(code, Some(1));
    assert!(out.contains("writable by everyone"), "{out}");
    std::fs::set_permissions(&data, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    // a missing dbdir, an unreadable key, a bad line: file:line messages
    let (code, out) = run(&base.replace(data.to_str().unwrap(), "/nonexistent/dir"));
    assert_eq!(code, Some(1));
    assert!(out.contains("dbdir"), "{out}");
    let (code, out) = run(&base.replace("key.pem", "nokey.pem"));
    assert_eq!(code, Some(1));
    assert!(out.contains("nokey.pem"), "{out}");
    let (code, out) = run(&format!("{base}bogus_key 1\n"));
    assert_eq!(code, Some(1));
    assert!(out.contains(":7:"), "{out}");
    // the port in use: a clear error, exit 1
    let busy = std::net::TcpListener::bind(("127.0.0.1", port)).unwrap();
    let p = dir.join("t.conf");
    std::fs::write(&p, &base).unwrap();
    let o = Command::new(env!("CARGO_BIN_EXE_tfd"))
        .args(["-c", p.to_str().unwrap()])
        .output()
        .unwrap();
    drop(busy);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("cannot listen on 127.0.0.1"),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
}
