//! Log targets, end to end with the real binary: the journal's `<N>` prefixes when
//! stderr is the stream `JOURNAL_STREAM` names (and not when it is another one),
//! and `log_target syslog` delivering the listener's and a forked session's
//! messages to /dev/log with facility daemon.

use std::os::unix::fs::MetadataExt;
use std::os::unix::net::UnixDatagram;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use tfd_testkit::users::{ensure_system_user, login_userdb};
use tfd_testkit::{assert_failed, assert_ok, is_root, keys, require, tempdir, write_private_key, Opts, Server};
use tfp_wire::Status;

/// A tfd process started by hand (the environment is what these tests vary).
struct Tfd {
    child: Child,
    dir: PathBuf,
    port: u16,
    hash: String,
}

impl Tfd {
    /// SIGTERM, then wait (SIGKILL after 10 s).
    fn stop(&mut self) {
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(self.child.id() as i32),
            nix::sys::signal::SIGTERM,
        );
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Tfd {
    fn drop(&mut self) {
        self.stop();
        if !std::thread::panicking() {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

/// Writes a config with `extra` lines; returns (dir, config path, port, hash).
fn setup(tag: &str, extra: &str) -> (PathBuf, PathBuf, u16, String) {
    let dir = tempdir(tag);
    std::fs::create_dir_all(dir.join("data")).unwrap();
    write_private_key(&dir.join("key.pem"));
    let port = tfd_testkit::free_port();
    let hash = format!("loghash{port}");
    let user = if is_root() { "defusr root\n" } else { "" };
    let conf = dir.join("tfd.conf");
    std::fs::write(
        &conf,
        format!(
            "proto 2.4.1\nhash {hash}\ndbdir data\nport {port}\nlisten 127.0.0.1\nprivkey_file key.pem\ncontrol_socket ctl.sock\n{user}{extra}"
        ),
    )
    .unwrap();
    (dir, conf, port, hash)
}

fn wait_for(what: &str, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(15);
    while Instant::now() < deadline {
        if f() {
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    panic!("timed out waiting for {what}");
}

fn session(t: &Tfd) {
    let mut cfg = tfp_client::ClientConfig::new(&format!("127.0.0.1:{}", t.port), keys().1.clone(), &t.hash);
    cfg.timeout = Some(Duration::from_secs(20));
    cfg.transport = tfp_client::Transport::Legacy;
    let mut c = tfp_client::Client::connect(&cfg).unwrap();
    c.call("ECHO", b"hi").unwrap();
}

/// Starts tfd with stderr on `stderr_file` and `JOURNAL_STREAM` set to
/// `journal_stream(stderr_file's metadata)`.
fn start_with_journal_stream(tag: &str, stream: impl Fn(&std::fs::Metadata) -> String) -> (Tfd, PathBuf) {
    let (dir, conf, port, hash) = setup(tag, "");
    let err_path = dir.join("stderr.log");
    let err = std::fs::File::create(&err_path).unwrap();
    let value = stream(&err.metadata().unwrap());
    let child = Command::new(env!("CARGO_BIN_EXE_tfd"))
        .arg("-c")
        .arg(&conf)
        .env_remove("RUST_LOG")
        .env("JOURNAL_STREAM", value)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(err)
        .spawn()
        .unwrap();
    let t = Tfd { child, dir, port, hash };
    wait_for("listening on", || read(&err_path).contains("listening on"));
    (t, err_path)
}

fn read(p: &Path) -> String {
    std::fs::read_to_string(p).unwrap_or_default()
}

#[test]
fn journal_stream_gets_priority_prefixes() {
    let (mut t, err_path) = start_with_journal_stream("journal", |m| format!("{}:{}", m.dev(), m.ino()));
    session(&t);
    wait_for("session start", || read(&err_path).contains("session start"));
    t.stop();
    let log = read(&err_path);
    assert!(
        log.lines()
            .any(|l| l.starts_with("<6>tfd::daemon::listener: listening on 127.0.0.1:")),
        "{log}"
    );
    assert!(
        log.lines().any(|l| l.starts_with("<6>") && l.contains("session start")),
        "{log}"
    );
    for line in log.lines() {
        let prio = line.strip_prefix('<').and_then(|r| r.split_once('>')).map(|(n, _)| n);
        assert!(
            matches!(prio, Some("3" | "4" | "6" | "7")),
            "line without a journal priority: {line:?}\n{log}"
        );
    }
}

#[test]
fn another_stream_keeps_plain_lines() {
    // an inherited JOURNAL_STREAM while stderr was redirected elsewhere
    let (mut t, err_path) = start_with_journal_stream("nojournal", |m| format!("{}:{}", m.dev(), m.ino() + 1));
    t.stop();
    let log = read(&err_path);
    let line = log.lines().find(|l| l.contains("listening on")).unwrap();
    assert!(line.starts_with('[') && line.contains("Z INFO "), "{log}");
    assert!(!log.contains("<6>"), "{log}");
}

#[test]
fn syslog_target_reaches_dev_log_from_listener_and_sessions() {
    if !require(
        is_root(),
        "needs root (a private mount namespace with its own /dev/log)",
    ) {
        return;
    }
    let set = setup("syslog", "log_target syslog\n");
    let sock_path = set.0.join("log.sock");
    let sock = UnixDatagram::bind(&sock_path).unwrap();
    sock.set_read_timeout(Some(Duration::from_secs(15))).unwrap();
    // A private mount namespace whose /dev is a tmpfs holding only `log`, a link
    // to our socket: glibc's syslog(3) always writes to /dev/log.
    let wrap = format!("mount -t tmpfs tmpfs /dev && ln -s '{}' /dev/log", sock_path.display());
    let (t, err_path) = spawn_in(set, Some(&wrap));
    let listener_pid = t.child.id(); // `exec` keeps the pid
    let mut messages = Vec::new();
    let recv_until = |want: &str, messages: &mut Vec<String>| {
        let mut buf = [0u8; 4096];
        loop {
            let n = sock
                .recv(&mut buf)
                .unwrap_or_else(|e| panic!("no syslog message {want:?}: {e}\n{messages:#?}"));
            let m = String::from_utf8_lossy(&buf[..n]).into_owned();
            messages.push(m.clone());
            if m.contains(want) {
                return m;
            }
        }
    };
    let listening = recv_until("listening on", &mut messages);
    // facility daemon (3 << 3) + info (6) = 30; ident tfd with the pid
    assert!(listening.starts_with("<30>"), "{listening}");
    assert!(
        listening.contains(&format!(
            " tfd[{listener_pid}]: tfd::daemon::listener: listening on 127.0.0.1:"
        )),
        "{listening}"
    );
    session(&t);
    let start = recv_until("session start", &mut messages);
    assert!(start.starts_with("<30>"), "{start}");
    let pid: u32 = start
        .split_once("tfd[")
        .and_then(|(_, r)| r.split_once(']'))
        .and_then(|(p, _)| p.parse().ok())
        .unwrap_or_else(|| panic!("no pid in {start}"));
    assert_ne!(pid, listener_pid, "the session logs as its own process: {start}");
    let stderr = read(&err_path);
    assert!(stderr.contains("logging to syslog from now on"), "{stderr}");
    assert!(!stderr.contains("listening on"), "{stderr}");
}

/// A FAILED answer's log line names the session's user and the OS error behind
/// it (issue 23, item 10): a LOGIN user whose system account may not write the
/// root-owned served root is refused MKDIR, and the operator used to read only
/// `MKDIR -> FAILED 1`.
#[test]
fn a_failed_answer_logs_the_user_and_the_os_error() {
    if !require(is_root(), "needs root") {
        return;
    }
    ensure_system_user("tfdlog1", &[]);
    let f = login_userdb("logging-userdb", "lena", "tfdlog1", "lena pw");
    let srv = Server::start_opts(Opts {
        extra: &format!("userdb {f}\n"),
        default_user: false,
        ..Default::default()
    });
    let mut c = srv.client();
    assert_ok(c.call("LOGIN", b"lena lena pw").unwrap());
    assert_failed(c.call("MKDIR", b"nope").unwrap(), 1);
    assert!(!srv.path("nope").exists());
    assert_eq!(c.raw(b"ECHO alive").unwrap(), b"alive");
    let log = srv.log();
    let line = log
        .lines()
        .find(|l| l.contains("MKDIR -> FAILED 1"))
        .unwrap_or_else(|| panic!("no FAILED line:\n{log}"));
    assert!(line.contains("user=lena"), "{line}");
    assert!(line.contains("Permission denied"), "{line}");
    assert!(!log.contains("lena pw"), "never the password");
}

/// A refused LOGIN's line names the account tried and why, where it named
/// the user the session still ran as (`LOGIN -> FAILED 39 user=root` for an
/// attempt as alice; issue 65), and never the password.
#[test]
fn a_refused_login_logs_the_account_tried() {
    if !require(is_root(), "needs root") {
        return;
    }
    ensure_system_user("tfdlog2", &[]);
    let f = login_userdb("logging-userdb2", "mira", "tfdlog2", "mira pw");
    let srv = Server::start_opts(Opts {
        extra: &format!("userdb {f}\n"),
        default_user: false,
        ..Default::default()
    });
    let mut c = srv.client();
    assert!(matches!(
        c.call("LOGIN", b"mira not-her-pw").unwrap(),
        Status::Failed(..)
    ));
    assert_ok(c.call("LOGIN", b"mira mira pw").unwrap());
    assert_failed(c.call("LOGIN", b"mira mira pw").unwrap(), 39);
    let log = srv.log();
    let refused: Vec<&str> = log.lines().filter(|l| l.contains("LOGIN -> FAILED")).collect();
    assert_eq!(refused.len(), 2, "{log}");
    for line in refused {
        assert!(line.contains("login=\"mira\""), "{line}");
        assert!(!line.contains("user="), "{line}");
    }
    assert!(
        log.contains("LOGIN -> FAILED 39 (The process is already logged.)"),
        "{log}"
    );
    assert!(
        !log.contains("not-her-pw") && !log.contains("mira pw"),
        "never the password"
    );
}

/// Starts tfd with `extra` config lines, stderr on `stderr.log` in its
/// directory, RUST_LOG unset; does not wait.
fn spawn_plain(tag: &str, extra: &str, wrap: Option<&str>) -> (Tfd, PathBuf) {
    spawn_in(setup(tag, extra), wrap)
}

/// Starts tfd as [`setup`] made it ready, stderr on `stderr.log`, RUST_LOG
/// unset, in a private mount namespace prepared by the shell words `wrap`
/// where given; does not wait.
fn spawn_in((dir, conf, port, hash): (PathBuf, PathBuf, u16, String), wrap: Option<&str>) -> (Tfd, PathBuf) {
    let err_path = dir.join("stderr.log");
    let mut cmd = match wrap {
        // a private mount namespace whose /dev is what `wrap` makes of it
        Some(script) => {
            let mut c = Command::new("unshare");
            let script = format!(
                "{script} && exec '{}' -c '{}'",
                env!("CARGO_BIN_EXE_tfd"),
                conf.display()
            );
            c.args(["--mount", "--propagation", "private", "sh", "-c", &script]);
            c
        }
        None => {
            let mut c = Command::new(env!("CARGO_BIN_EXE_tfd"));
            c.arg("-c").arg(&conf);
            c
        }
    };
    let child = cmd
        .env_remove("RUST_LOG")
        .env_remove("JOURNAL_STREAM")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&err_path).unwrap())
        .spawn()
        .unwrap();
    (Tfd { child, dir, port, hash }, err_path)
}

/// `log_file` (issue 65: a host without systemd or a syslog daemon lost every
/// line): the listener's and every session's lines go to the file, made 0640,
/// and a reload after a rename (rotation) opens a new file that takes the
/// lines from then on, sessions' too.
#[test]
fn log_file_takes_every_line_and_rotates_on_reload() {
    let (t, err_path) = spawn_plain("logfile", "log_file tfd.log\n", None);
    let log = t.dir.join("tfd.log");
    wait_for("listening on in the log file", || read(&log).contains("listening on"));
    let stderr = read(&err_path);
    assert!(stderr.contains("logging to file from now on"), "{stderr}");
    assert!(!stderr.contains("listening on"), "{stderr}");
    let mode = std::fs::metadata(&log).unwrap().mode() & 0o7777;
    assert_eq!(mode & !0o640, 0, "{mode:o}");
    session(&t);
    wait_for("a session's line in the log file", || {
        read(&log).contains("session start")
    });
    // rotation: rename, then SIGHUP
    let old = t.dir.join("tfd.log.1");
    std::fs::rename(&log, &old).unwrap();
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(t.child.id() as i32),
        nix::sys::signal::SIGHUP,
    )
    .unwrap();
    wait_for("the reload in a new log file", || {
        read(&log).contains("configuration reloaded")
    });
    let before = read(&old).matches("session start").count();
    session(&t);
    wait_for("a session's line in the new file", || {
        read(&log).contains("session start")
    });
    assert_eq!(read(&old).matches("session start").count(), before, "{}", read(&old));
}

/// A `log_file` that is a symlink is refused, as the transfer log is: tfd does
/// not start, says why, and writes nothing through the link.
#[test]
fn log_file_through_a_link_is_refused() {
    let (dir, conf, _, _) = setup("logfile-link", "log_file tfd.log\n");
    let aim = dir.join("elsewhere");
    std::fs::write(&aim, b"kept\n").unwrap();
    std::os::unix::fs::symlink(&aim, dir.join("tfd.log")).unwrap();
    let o = Command::new(env!("CARGO_BIN_EXE_tfd"))
        .arg("-c")
        .arg(&conf)
        .env_remove("RUST_LOG")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success() && err.contains("log_file"), "{err}");
    assert_eq!(std::fs::read(&aim).unwrap(), b"kept\n");
    let _ = std::fs::remove_dir_all(&dir);
}

/// syslog as the target where nothing listens at /dev/log: glibc drops every
/// line without a word, so tfd says so on standard error at start (issue 65).
#[test]
fn an_unreachable_syslog_is_said_loudly() {
    if !require(is_root(), "needs root (a private mount namespace without /dev/log)") {
        return;
    }
    let (mut t, err_path) = spawn_plain("syslog-none", "log_target syslog\n", Some("mount -t tmpfs tmpfs /dev"));
    wait_for("the warning", || read(&err_path).contains("syslog is unreachable"));
    let stderr = read(&err_path);
    assert!(stderr.contains("set log_file in tfd.conf"), "{stderr}");
    t.stop();
}
