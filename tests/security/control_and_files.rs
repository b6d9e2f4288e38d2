//! The daemon's control socket, pidfile, log and user file against a local
//! account (issue 47): a slow control client cannot freeze the listener, a
//! pidfile temporary planted as a symlink is never written through, names
//! ctl and the log show are escaped, and a user file others can write is
//! refused.

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::time::{Duration, Instant};
use tfd_testkit::users::tfpasswd;
use tfd_testkit::{self, *};

/// Finding 10: a control client sending a byte every 0.4 s held the listener
/// (1 s per read, up to 1,024 reads): a TF client's version frame waited 11 s.
/// A control request now has 2 s for the whole of it, and its client is then
/// dropped; the TF client is answered meanwhile: within 6 s, a bound between
/// the 2 s the listener may now be held and the 11 s of old, with room for a
/// loaded 2-core machine (3 s left 1 s for it).
#[test]
fn a_slow_control_client_does_not_freeze_the_listener() {
    let sock = tfd_testkit::tempdir("slowctl").join("ctl.sock");
    let srv = Server::start_with(&format!("control_socket {}\n", sock.display()));
    let ctl = UnixStream::connect(&sock).unwrap();
    let mut w = ctl.try_clone().unwrap();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let stop2 = stop.clone();
    // a byte every 0.4 s, never a newline, for up to 20 s
    let dribble = std::thread::spawn(move || {
        for _ in 0..50 {
            if stop2.load(std::sync::atomic::Ordering::Relaxed) || w.write_all(b"s").is_err() {
                return;
            }
            std::thread::sleep(Duration::from_millis(400));
        }
    });
    std::thread::sleep(Duration::from_millis(300));
    let t0 = Instant::now();
    let s = std::net::TcpStream::connect(("127.0.0.1", srv.port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let mut ch = tfp_channel::Channel::new(s).unwrap();
    ch.tx.send_frame(b"2.4.1").unwrap();
    assert_eq!(ch.rx.recv_frame().unwrap(), b"OK");
    let waited = t0.elapsed();
    assert!(
        waited < Duration::from_secs(6),
        "the version frame was answered after {waited:?} while a control client dribbled"
    );
    // the slow control client was dropped, told why
    let mut r = ctl;
    r.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut told = String::new();
    let _ = r.read_to_string(&mut told);
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    dribble.join().unwrap();
    assert!(told.starts_with("error: reading the request"), "{told:?}");
    assert!(srv.log().contains("control: reading the request"), "{}", srv.log());
    // and the control socket still answers
    let (ok, stats) = tfd_ctl(&sock, &["stats"]);
    assert!(ok && stats.contains("uptime_s"), "{stats}");
}

/// A config for `tfd --daemon` in `dir`; returns its path and the port.
fn daemon_conf(dir: &std::path::Path) -> (std::path::PathBuf, u16) {
    let data = dir.join("data");
    std::fs::create_dir_all(&data).unwrap();
    write_private_key(&dir.join("key.pem"));
    let port = free_port();
    let conf = dir.join("tfd.conf");
    std::fs::write(
        &conf,
        format!(
            "proto 2.4.1\nhash h\ndbdir {}\nport {port}\nlisten 127.0.0.1\nprivkey_file {}\nshutdown_grace 1\n\
             defusr root\nfai_dir {}\ncontrol_socket {}\n",
            data.display(),
            dir.join("key.pem").display(),
            dir.join("fai").display(),
            dir.join("ctl.sock").display()
        ),
    )
    .unwrap();
    (conf, port)
}

/// `tfd --daemon --pidfile PIDFILE`: its exit status and stderr, and the
/// daemon's pid if it wrote one (the caller stops it with [`stop_daemon`]).
fn start_daemon(conf: &std::path::Path, pidfile: &std::path::Path) -> (bool, String, Option<i32>) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_tfd"))
        .args(["-c", conf.to_str().unwrap(), "--daemon", "--pidfile"])
        .arg(pidfile)
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    let pid = std::fs::read_to_string(pidfile)
        .ok()
        .and_then(|s| s.trim().parse().ok());
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
        pid,
    )
}

fn stop_daemon(pid: i32) {
    let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), nix::sys::signal::SIGTERM);
    let deadline = Instant::now() + Duration::from_secs(10);
    while std::path::Path::new(&format!("/proc/{pid}")).exists() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A symlink at `at` to `to`, owned by nobody (another account planted it).
fn plant_symlink(to: &std::path::Path, at: &std::path::Path) -> bool {
    if std::os::unix::fs::symlink(to, at).is_err() {
        return false;
    }
    let _ = nix::unistd::fchownat(
        None,
        at,
        Some(nix::unistd::Uid::from_raw(65534)),
        None,
        nix::fcntl::AtFlags::AT_SYMLINK_NOFOLLOW,
    );
    true
}

/// Finding 5: `tfd --daemon --pidfile DIR/tfd.pid` with DIR writable by
/// another account wrote its pid through a `.tfd.pid.tmp` symlink planted
/// there to a file of root's, and renamed the symlink into place. A pidfile
/// directory others can write (not sticky) is now refused at start, naming
/// the chmod that mends it; in a sticky shared directory the pidfile is
/// written through a fresh O_EXCL|O_NOFOLLOW temporary, while another thread
/// plants symlinks at the old temporary's name and at the pidfile's.
#[test]
fn a_pidfile_temporary_planted_as_a_symlink_is_never_written_through() {
    use std::os::unix::fs::PermissionsExt;
    assert!(
        is_root(),
        "this test needs root (tfd --daemon as root, a planter as nobody)"
    );
    let dir = tfd_testkit::tempdir("pidplant");
    let (conf, _) = daemon_conf(&dir);
    let victim = dir.join("victim");
    std::fs::write(&victim, b"root's own file\n").unwrap();
    // a shared, non-sticky directory
    let shared = dir.join("shared");
    std::fs::create_dir(&shared).unwrap();
    std::fs::set_permissions(&shared, std::fs::Permissions::from_mode(0o777)).unwrap();
    assert!(plant_symlink(&victim, &shared.join(".tfd.pid.tmp")));
    let pidfile = shared.join("tfd.pid");
    let (ok, err, pid) = start_daemon(&conf, &pidfile);
    if let Some(pid) = pid {
        stop_daemon(pid);
    }
    assert_eq!(
        std::fs::read(&victim).unwrap(),
        b"root's own file\n",
        "tfd wrote its pid through a planted symlink"
    );
    assert!(
        !ok && pid.is_none(),
        "tfd started with its pidfile in a 0777 directory: {err}"
    );
    assert!(
        err.contains(&format!("chmod go-w {}", shared.display())),
        "the refusal names the mend: {err}"
    );
    // a sticky shared directory: accepted, and planting races the start
    let sticky = dir.join("sticky");
    std::fs::create_dir(&sticky).unwrap();
    std::fs::set_permissions(&sticky, std::fs::Permissions::from_mode(0o1777)).unwrap();
    let pidfile = sticky.join("tfd.pid");
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let planter = {
        let (stop, victim, sticky) = (stop.clone(), victim.clone(), sticky.clone());
        std::thread::spawn(move || {
            let mut planted = 0u32;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                for name in [".tfd.pid.tmp", "tfd.pid"] {
                    planted += plant_symlink(&victim, &sticky.join(name)) as u32;
                }
                std::thread::yield_now();
            }
            planted
        })
    };
    std::thread::sleep(Duration::from_millis(50));
    let (ok, err, pid) = start_daemon(&conf, &pidfile);
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let planted = planter.join().unwrap();
    assert!(planted >= 1);
    let meta = std::fs::symlink_metadata(&pidfile).unwrap();
    let pid = pid.unwrap_or_else(|| panic!("no pid in the pidfile: {err}"));
    assert!(ok, "{err}");
    assert!(meta.file_type().is_file(), "the pidfile is a regular file");
    assert_eq!(std::os::unix::fs::MetadataExt::uid(&meta), 0);
    stop_daemon(pid);
    assert_eq!(std::fs::read(&victim).unwrap(), b"root's own file\n");
}

pub(super) const PW: &str = "a long enough password";

/// A multi-user server with `alice` (system user `sys`); returns it, her
/// uid and gid, and her root.
pub(super) fn alice_server(sys: &str, extra: &str) -> (Server, u32, u32, std::path::PathBuf) {
    alice_server_with(sys, extra, &[])
}

/// As [`alice_server`], alice added with `more` tfpasswd options (`--quota N`).
pub(super) fn alice_server_with(sys: &str, extra: &str, more: &[&str]) -> (Server, u32, u32, std::path::PathBuf) {
    let (uid, gid) = tfd_testkit::users::ensure_system_user(sys, &[]);
    let f = tfd_testkit::tempdir("r3-userdb").join("userdb");
    let f = f.to_str().unwrap().to_string();
    tfd_testkit::users::userdb_add(&f, "alice", sys, PW, more);
    let srv = Server::start_opts(Opts {
        extra: &format!("userdb {f}\n{extra}"),
        default_user: false,
        ..Opts::default()
    });
    let home = srv.data.join("alice");
    std::fs::create_dir_all(&home).unwrap();
    nix::unistd::chown(&home, Some(uid.into()), Some(gid.into())).unwrap();
    (srv, uid, gid, home)
}

pub(super) fn alice(srv: &Server) -> tfp_client::Client {
    let mut c = srv.client();
    assert_ok(c.call("LOGIN", format!("alice {PW}").as_bytes()).unwrap());
    c
}

/// Finding 11: `ctl bans` and the log printed bidi and zero-width characters
/// raw: a lock on "\u{200b}alice" read as `alice`, and `ctl unban alice` said
/// not banned. Now every name ctl shows or the log writes is escaped with
/// tf's rule (tfp_wire::escape), and `ctl unban` takes the escaped form it
/// shows.
#[test]
fn ctl_and_the_log_escape_bidi_and_zero_width_names() {
    assert!(is_root(), "this test needs root (system users, source addresses)");
    let sock = tfd_testkit::tempdir("r3-ctl").join("ctl.sock");
    let (srv, ..) = alice_server(
        "tfdr3a",
        &format!(
            "control_socket {}\nlogin_max_failures_user 3\nlogin_max_failures_ip 100\nlogin_window 60\n\
             login_lock 60\nlogin_ban 60\n",
            sock.display()
        ),
    );
    let names = ["\u{200b}alice", "\u{202e}eve", "\u{feff}bob"];
    for (i, name) in names.iter().enumerate() {
        for k in 0..3 {
            let mut cfg = srv.client_config();
            cfg.bind = Some(format!("127.0.0.{}", 60 + i * 3 + k).parse().unwrap());
            cfg.timeout = Some(Duration::from_secs(10));
            let mut c = tfp_client::Client::connect(&cfg).unwrap();
            let st = c.call("LOGIN", format!("{name} wrong").as_bytes()).unwrap();
            assert!(!ok(&st), "{st:?}");
        }
    }
    let raw = |t: &str| t.chars().any(|c| matches!(c, '\u{200b}' | '\u{202e}' | '\u{feff}'));
    let (_, bans) = tfd_ctl(&sock, &["bans"]);
    assert!(!raw(&bans), "ctl bans shows a hiding character raw: {bans:?}");
    for shown in ["\\u{200b}alice", "\\u{202e}eve", "\\u{feff}bob"] {
        assert!(
            bans.lines().any(|l| l.split('\t').next() == Some(shown)),
            "no row for {shown}: {bans}"
        );
    }
    // `alice` is another name: nothing of hers to lift
    let (_, out) = tfd_ctl(&sock, &["unban", "alice"]);
    assert!(!out.starts_with("ok: unbanned"), "{out}");
    // the form ctl shows lifts the lock
    let (_, out) = tfd_ctl(&sock, &["unban", "\\u{200b}alice"]);
    assert!(out.starts_with("ok: unbanned name \"\\u{200b}alice\""), "{out}");
    let (_, bans) = tfd_ctl(&sock, &["bans"]);
    assert!(!bans.contains("\\u{200b}alice"), "{bans}");
    assert!(bans.contains("\\u{202e}eve"), "{bans}");
    let log = srv.log();
    assert!(log.contains("\\u{200b}alice"), "{log}");
    assert!(!raw(&log), "the log holds a hiding character raw");
}

/// Finding 1: a user file others could write (0666, or owned by another
/// account) passed `--check-config` with a warning only, and was read again
/// at every LOGIN: the other account appended a line mapping a new LOGIN name
/// to system user root, logged in, and its uploads were root's. Now the
/// start refuses such a file naming the chmod/chown that mends it, a LOGIN
/// finding it so is refused (FAILED, logged) until it is mended, and a line
/// mapping a LOGIN name to root is refused unless `userdb_allow_root`.
#[test]
fn a_user_file_others_can_write_is_refused_and_root_is_not_a_login() {
    use std::os::unix::fs::PermissionsExt;
    assert!(is_root(), "this test needs root (system users, LOGIN)");
    let (tb, _) = tfd_testkit::users::ensure_system_user("tfdr3b", &[]);
    let (srv, ..) = alice_server("tfdr3a", "");
    let conf = std::fs::read_to_string(&srv.conf).unwrap();
    let userdb = conf
        .lines()
        .find_map(|l| l.strip_prefix("userdb "))
        .unwrap()
        .to_string();
    let check = || {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_tfd"))
            .args(["-c", srv.conf.to_str().unwrap(), "--check-config"])
            .output()
            .unwrap();
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        (out.status.success(), text)
    };
    let login = |name: &str| {
        let mut c = srv.client();
        c.call("LOGIN", format!("{name} {PW}").as_bytes()).unwrap()
    };
    assert!(ok(&login("alice")));
    let (good, text) = check();
    assert!(good, "{text}");
    // 0666: refused at the check, and at LOGIN
    std::fs::set_permissions(&userdb, std::fs::Permissions::from_mode(0o666)).unwrap();
    let (good, text) = check();
    assert!(!good, "--check-config passed a user file mode 0666:\n{text}");
    assert!(text.contains(&format!("chmod go-w {userdb}")), "{text}");
    assert!(!ok(&login("alice")), "LOGIN read a user file mode 0666");
    assert!(srv.log().contains("other accounts can write it"), "{}", srv.log());
    // owned by another account: the same
    std::fs::set_permissions(&userdb, std::fs::Permissions::from_mode(0o600)).unwrap();
    nix::unistd::chown(userdb.as_str(), Some(tb.into()), None).unwrap();
    let (good, text) = check();
    assert!(!good, "--check-config passed a user file of another account:\n{text}");
    assert!(text.contains(&format!("chown 0 {userdb}")), "{text}");
    // the owner by name, as an operator reads it (issue 65: "uid 988")
    assert!(text.contains(&format!("owned by tfdr3b (uid {tb})")), "{text}");
    assert!(!ok(&login("alice")), "LOGIN read a user file of another account");
    // mended: LOGIN works again without a restart
    nix::unistd::chown(userdb.as_str(), Some(0.into()), None).unwrap();
    assert!(ok(&login("alice")));
    // a line mapping a LOGIN name to root: refused at LOGIN, and logged
    let out = tfpasswd(
        &["-f", &userdb, "add", "mallory", "--system-user", "root", "--stdin"],
        &format!("{PW}\n"),
    );
    assert!(
        !out.status.success(),
        "tfpasswd added a root mapping without --allow-root"
    );
    tfd_testkit::users::userdb_add(&userdb, "mallory", "root", PW, &["--allow-root"]);
    let out = tfpasswd(&["-f", &userdb, "check"], "");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("runs as system user root"),
        "{out:?}"
    );
    let st = login("mallory");
    assert!(!ok(&st), "LOGIN as root through the user file: {st:?}");
    assert!(srv.log().contains("userdb_allow_root"), "{}", srv.log());
}

pub(super) fn said(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned() + &String::from_utf8_lossy(&o.stderr)
}
