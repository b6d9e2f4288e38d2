//! The third red-team round, daemon side (issue 47): a slow control client,
//! names shown raw, planted stages and pidfile temporaries, a hash another
//! writer invalidated, user files others can write, stages and the quota,
//! and stages their owner could neither see nor remove.

use crate::common::{self, *};
use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::time::{Duration, Instant};

/// Finding 10: a control client sending a byte every 0.4 s held the listener
/// (1 s per read, up to 1,024 reads): a TF client's version frame waited 11 s.
/// A control request now has 2 s for the whole of it, and its client is then
/// dropped; the TF client is answered meanwhile: within 6 s, a bound between
/// the 2 s the listener may now be held and the 11 s of old, with room for a
/// loaded 2-core machine (3 s left 1 s for it).
#[test]
fn a_slow_control_client_does_not_freeze_the_listener() {
    let sock = common::tempdir("slowctl").join("ctl.sock");
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
             defusr root\nfai_dir {}\n",
            data.display(),
            dir.join("key.pem").display(),
            dir.join("fai").display()
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
    let dir = common::tempdir("pidplant");
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

/// `fs.protected_regular` set to `v` until dropped (then the old value back).
pub struct ProtectedRegular(String);

impl ProtectedRegular {
    pub fn set(v: &str) -> ProtectedRegular {
        let p = "/proc/sys/fs/protected_regular";
        let old = std::fs::read_to_string(p).unwrap().trim().to_string();
        std::fs::write(p, v).unwrap();
        ProtectedRegular(old)
    }
}

impl Drop for ProtectedRegular {
    fn drop(&mut self) {
        let _ = std::fs::write("/proc/sys/fs/protected_regular", &self.0);
    }
}

const PW: &str = "a long enough password";

/// A multi-user server with `alice` (system user `sys`); returns it, her
/// uid and gid, and her root.
fn alice_server(sys: &str, extra: &str) -> (Server, u32, u32, std::path::PathBuf) {
    alice_server_with(sys, extra, &[])
}

/// As [`alice_server`], alice added with `more` tfpasswd options (`--quota N`).
fn alice_server_with(sys: &str, extra: &str, more: &[&str]) -> (Server, u32, u32, std::path::PathBuf) {
    let (uid, gid) = common::ensure_system_user(sys, &[]);
    let f = common::tempdir("r3-userdb").join("userdb");
    let f = f.to_str().unwrap().to_string();
    common::userdb_add(&f, "alice", sys, PW, more);
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

fn alice(srv: &Server) -> tfp_client::Client {
    let mut c = srv.client();
    assert_ok(c.call("LOGIN", format!("alice {PW}").as_bytes()).unwrap());
    c
}

/// The stage name tfd computes for `name` of `uid` (anyone can).
fn stage_name(uid: u32, name: &str) -> String {
    use sha2::Digest;
    let mut h = sha2::Sha256::new();
    h.update(uid.to_be_bytes());
    h.update(name.as_bytes());
    let d = h.finalize();
    format!(
        ".tfd-part-s{}",
        d[..8].iter().map(|b| format!("{b:02x}")).collect::<String>()
    )
}

/// A file `at`, 0666, owned by `uid` (another local account planted it),
/// made aside and renamed in (replacing what is there); held open.
fn plant_file(at: &std::path::Path, uid: u32, n: u32) -> Option<std::fs::File> {
    use std::os::unix::fs::PermissionsExt;
    let aside = at.with_file_name(format!(".planting-{n}"));
    let f = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create_new(true)
        .open(&aside)
        .ok()?;
    f.set_permissions(std::fs::Permissions::from_mode(0o666)).ok()?;
    nix::unistd::fchown(std::os::fd::AsRawFd::as_raw_fd(&f), Some(uid.into()), Some(uid.into())).ok()?;
    std::fs::rename(&aside, at).ok()?;
    Some(f)
}

/// Finding 3: another local account computes alice's stage name for a target
/// in a directory it can write, plants it empty and 0666, and alice's bytes
/// landed in its file (TFDSTAGE answered OK 0). Now a planted stage is
/// refused, naming the reason, and nothing of alice's reaches it: in a 0777
/// directory and in a sticky 1777 one (fs.protected_regular=0), once planted
/// before the upload, then with a planter replacing the stage's name in a loop
/// while alice uploads.
#[test]
fn a_stage_another_account_planted_is_never_written_through() {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    assert!(is_root(), "this test needs root (system users, LOGIN)");
    let (tb, _) = common::ensure_system_user("tfdr3b", &[]);
    let (srv, uid, _, home) = alice_server("tfdr3a", "");
    let _pr = ProtectedRegular::set("0");
    let src = common::tempdir("r3-src").join("src.bin");
    let data = pattern(3 << 20, 47);
    std::fs::write(&src, &data).unwrap();
    let put = |c: &mut tfp_client::Client, remote: &str| {
        let req = tfp_client::engine::staged::Request {
            local: &src,
            remote: remote.as_bytes(),
            streams: 1,
            bufsz: 1 << 20,
            resume: true,
            overwrite: true,
            attrs: None,
        };
        tfp_client::engine::staged::put(c, &srv.client_config(), &req, &Default::default())
    };
    for (sub, mode) in [("open", 0o777), ("sticky", 0o1777)] {
        let shared = home.join(sub);
        std::fs::create_dir(&shared).unwrap();
        std::fs::set_permissions(&shared, std::fs::Permissions::from_mode(mode)).unwrap();
        let planted_at = shared.join(stage_name(uid, "f.bin"));
        let planted = plant_file(&planted_at, tb, 0).unwrap();
        let mut c = alice(&srv);
        let r = put(&mut c, &format!("alice/{sub}/f.bin"));
        assert_eq!(
            planted.metadata().unwrap().len(),
            0,
            "alice's bytes reached the planted stage ({sub})"
        );
        let e = r.expect_err("a staged upload through a planted stage succeeded");
        assert!(e.to_string().contains("not made by tfd"), "{sub}: {e}");
        assert!(!shared.join("f.bin").exists());
        assert_eq!(
            std::fs::metadata(&planted_at).unwrap().uid(),
            tb,
            "the planted file is left alone"
        );
        std::fs::remove_file(&planted_at).unwrap();
        // raced: the planter replaces the stage's name in a loop, holding
        // every file it planted open; alice uploads again and again
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let planter = {
            let (stop, at) = (stop.clone(), planted_at.clone());
            std::thread::spawn(move || {
                let mut held = Vec::new();
                let mut n = 1;
                while !stop.load(std::sync::atomic::Ordering::Relaxed) && held.len() < 2000 {
                    if let Some(f) = plant_file(&at, tb, n) {
                        held.push(f);
                    }
                    n += 1;
                    std::thread::sleep(Duration::from_millis(2));
                }
                held
            })
        };
        let (mut ok, mut refused) = (0, 0);
        for i in 0..12 {
            let remote = format!("alice/{sub}/f.bin");
            match put(&mut c, &remote) {
                Ok(_) => {
                    ok += 1;
                    let m = std::fs::metadata(shared.join("f.bin")).unwrap();
                    assert_eq!(m.uid(), uid, "round {i}: the committed file is not alice's");
                    assert_eq!(std::fs::read(shared.join("f.bin")).unwrap(), data);
                }
                Err(e) => {
                    refused += 1;
                    let t = e.to_string();
                    assert!(
                        t.contains("not made by tfd") || t.contains("TFDSTAGE"),
                        "round {i}: {t}"
                    );
                    c = alice(&srv);
                }
            }
        }
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        let held = planter.join().unwrap();
        assert!(held.len() > 10, "the planter planted {} files", held.len());
        for f in &held {
            assert_eq!(
                f.metadata().unwrap().len(),
                0,
                "alice's bytes reached a planted file ({sub})"
            );
        }
        assert!(refused > 0, "{ok} ok, {refused} refused");
        let _ = std::fs::remove_file(&planted_at);
    }
}

/// Finding 11: `ctl bans` and the log printed bidi and zero-width characters
/// raw: a lock on "\u{200b}alice" read as `alice`, and `ctl unban alice` said
/// not banned. Now every name ctl shows or the log writes is escaped with
/// tf's rule (tfp_wire::escape), and `ctl unban` takes the escaped form it
/// shows.
#[test]
fn ctl_and_the_log_escape_bidi_and_zero_width_names() {
    assert!(is_root(), "this test needs root (system users, source addresses)");
    let sock = common::tempdir("r3-ctl").join("ctl.sock");
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
    let (tb, _) = common::ensure_system_user("tfdr3b", &[]);
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
    common::userdb_add(&userdb, "mallory", "root", PW, &["--allow-root"]);
    let out = tfpasswd(&["-f", &userdb, "check"], "");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("runs as system user root"),
        "{out:?}"
    );
    let st = login("mallory");
    assert!(!ok(&st), "LOGIN as root through the user file: {st:?}");
    assert!(srv.log().contains("userdb_allow_root"), "{}", srv.log());
}

/// One TFDSTAGEPUT of `data` at `at` into the stage of `remote`: the
/// status of its extra frame.
fn stage_put(c: &mut tfp_client::Client, remote: &str, at: u64, data: &[u8]) -> tfp_wire::Status {
    c.put_as(
        "TFDSTAGEPUT",
        remote.as_bytes(),
        at,
        1 << 20,
        &mut &data[..],
        &mut |_| {},
    )
    .unwrap();
    tfp_wire::Status::parse(&c.chan.rx.recv_frame().unwrap())
}

fn sha_text(data: &[u8]) -> String {
    use sha2::Digest;
    format!("0x{}", hex_of(&sha2::Sha256::digest(data)))
}

fn hex_of(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// Finding 6: two sessions of one user on one stage; session 2 rewrote a
/// range session 1 had already hashed in flight, and session 1's
/// TFDSTAGEDONE with the hash of its own data answered OK and installed
/// session 2's. Now a rewrite voids every hash taken before it: the commit
/// reads the stage back, finds the mismatch, and installs nothing. Also
/// raced: session 2 rewrites while session 1 is still sending.
#[test]
fn a_commit_never_trusts_a_hash_another_writer_invalidated() {
    assert!(is_root(), "this test needs root (system users, LOGIN)");
    let (srv, ..) = alice_server("tfdr3a", "");
    let size = 4 << 20;
    let (d1, d2) = (pattern(size, 61), pattern(size, 62));
    for (round, raced) in [(0, false), (1, true)] {
        let remote = format!("alice/six-{round}.bin");
        let mut c1 = alice(&srv);
        let mut c2 = alice(&srv);
        assert_ok(
            c1.call("TFDSTAGE", format!("{size} six{round} 1 {remote}").as_bytes())
                .unwrap(),
        );
        if raced {
            let (r2, d2b) = (remote.clone(), d2.clone());
            let t = std::thread::spawn(move || {
                std::thread::sleep(Duration::from_millis(5));
                stage_put(&mut c2, &r2, 0, &d2b)
            });
            assert_ok(stage_put(&mut c1, &remote, 0, &d1));
            assert_ok(t.join().unwrap());
        } else {
            assert_ok(stage_put(&mut c1, &remote, 0, &d1));
            assert_ok(stage_put(&mut c2, &remote, 0, &d2));
        }
        let st = c1
            .call("TFDSTAGEDONE", format!("{} 1 {remote}", sha_text(&d1)).as_bytes())
            .unwrap();
        let target = srv.data.join(&remote);
        match std::fs::read(&target) {
            // what the stage held when committed was session 1's after all
            Ok(got) => {
                assert!(ok(&st), "round {round}: {st:?}");
                assert!(
                    got == d1,
                    "round {round}: TFDSTAGEDONE {st:?} installed bytes that are not D1"
                );
            }
            Err(_) => assert!(
                matches!(&st, tfp_wire::Status::Failed(_, t) if t.contains("SHA-256 mismatch")),
                "round {round}: {st:?}"
            ),
        }
        if !raced {
            assert!(!target.exists(), "round {round}: D2 installed under D1's hash");
        }
    }
}

/// The voluntary context switches of `pid`'s thread named `name`.
fn thread_switches(pid: i32, name: &str) -> Option<u64> {
    for t in std::fs::read_dir(format!("/proc/{pid}/task")).ok()?.flatten() {
        let comm = std::fs::read_to_string(t.path().join("comm")).unwrap_or_default();
        if comm.trim() == name {
            let status = std::fs::read_to_string(t.path().join("status")).ok()?;
            return status
                .lines()
                .find_map(|l| l.strip_prefix("voluntary_ctxt_switches:"))
                .and_then(|v| v.trim().parse().ok());
        }
    }
    None
}

/// Finding 9: a session that sent one piece of a big stage and went quiet
/// left its follower thread polling the journal every 5 ms for a minute
/// (40 such sessions: 31,000 wake-ups in 4 s). It now naps longer and longer
/// while nothing comes (to 200 ms): over 2 quiet seconds its thread wakes a
/// few dozen times at most, not ~400. A count, not a timing.
#[test]
fn a_quiet_stage_follower_does_not_poll() {
    assert!(is_root(), "this test needs root (system users, LOGIN)");
    let (srv, ..) = alice_server("tfdr3a", "");
    let mut c = alice(&srv);
    let size = 64u64 << 20;
    assert_ok(
        c.call("TFDSTAGE", format!("{size} quiet 1 alice/quiet.bin").as_bytes())
            .unwrap(),
    );
    assert_ok(stage_put(&mut c, "alice/quiet.bin", 0, &pattern(1 << 20, 9)));
    let pid = srv.session_pid();
    let deadline = Instant::now() + Duration::from_secs(10);
    let first = loop {
        if let Some(n) = thread_switches(pid, "stage-hash") {
            break n;
        }
        assert!(Instant::now() < deadline, "no stage-hash thread in session {pid}");
        std::thread::sleep(Duration::from_millis(20));
    };
    // let it catch up and settle into its naps
    std::thread::sleep(Duration::from_secs(2));
    let a = thread_switches(pid, "stage-hash").unwrap_or(first);
    std::thread::sleep(Duration::from_secs(2));
    let b = thread_switches(pid, "stage-hash").expect("the follower ended early");
    assert!(b - a < 60, "the quiet follower woke {} times in 2 s", b - a);
    // and the session still commits what it has when the rest comes
    assert_eq!(c.raw(b"ECHO still").unwrap(), b"still");
}

/// `tf --user alice ARGS` against `srv` (the password from the environment).
fn tf_alice(srv: &Server, args: &[&str]) -> std::process::Output {
    let mut all = vec!["--user", "alice"];
    all.extend_from_slice(args);
    srv.tf_command(&all)
        .env("TF_PASSWORD", PW)
        .env_remove("TF_USER")
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap()
}

fn said(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned() + &String::from_utf8_lossy(&o.stderr)
}

/// A file of `data` at `at`, owned by `uid`:`gid` (alice's own, made aside).
fn file_of(at: &std::path::Path, data: &[u8], uid: u32, gid: u32) {
    std::fs::create_dir_all(at.parent().unwrap()).unwrap();
    std::fs::write(at, data).unwrap();
    nix::unistd::chown(at, Some(uid.into()), Some(gid.into())).unwrap();
}

/// The names beginning `.tfd-part-` anywhere below `dir`.
fn parts_below(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let ft = e.file_type().unwrap();
            if ft.is_dir() {
                todo.push(e.path());
            } else if e.file_name().to_string_lossy().starts_with(".tfd-part-") {
                out.push(e.path());
            }
        }
    }
    out
}

const MIB: usize = 1 << 20;

/// Finding 7, first half: TFDSTAGEPUT gave the stage the credit of the file
/// it will replace before anything was replaced, so alice (quota 10 MiB,
/// a 6 MiB file) staged a new 6 MiB version of it and held 12 MiB for the
/// stage's 2 days (TFDSTAGE OK, every range OK). Now a stage is charged whole
/// until its commit: TFDSTAGE of a version that cannot fit beside the old
/// file answers FAILED 13 and leaves no stage, `tf put --streams 2` says the
/// quota and leaves the old file whole, and a version that fits beside it
/// (3 MiB) is stored and replaces it.
#[test]
fn a_stage_is_charged_until_it_replaces_its_target() {
    assert!(is_root(), "this test needs root (system users, LOGIN)");
    let (srv, uid, gid, home) = alice_server_with("tfdr3a", "", &["--quota", "10485760"]);
    let old = pattern(6 * MIB, 71);
    file_of(&home.join("big.bin"), &old, uid, gid);
    let mut c = alice(&srv);
    let st = c
        .call("TFDSTAGE", format!("{} seven 1 alice/big.bin", 6 * MIB).as_bytes())
        .unwrap();
    assert!(
        matches!(&st, tfp_wire::Status::Failed(13, t) if t.contains("Quota")),
        "a 6 MiB stage beside a 6 MiB file under a 10 MiB quota: {st:?}"
    );
    assert!(parts_below(&home).is_empty(), "a refused stage holds nothing");
    // through tf: refused, naming the quota; the old file whole, no stage
    let here = common::tempdir("r3-seven");
    let v2 = pattern(6 * MIB, 72);
    std::fs::write(here.join("v2.bin"), &v2).unwrap();
    let o = tf_alice(
        &srv,
        &[
            "put",
            "--streams",
            "2",
            here.join("v2.bin").to_str().unwrap(),
            "alice/big.bin",
        ],
    );
    assert!(
        !o.status.success(),
        "stored a 6 MiB stage beside 6 MiB under 10 MiB: {}",
        said(&o)
    );
    assert!(said(&o).contains("Quota"), "{}", said(&o));
    assert_eq!(
        std::fs::read(home.join("big.bin")).unwrap(),
        old,
        "the old file is whole"
    );
    assert!(parts_below(&home).is_empty(), "no stage left: {:?}", parts_below(&home));
    // a version that fits beside the old file is stored and replaces it
    let v3 = pattern(3 * MIB, 73);
    std::fs::write(here.join("v3.bin"), &v3).unwrap();
    let o = tf_alice(
        &srv,
        &[
            "put",
            "--streams",
            "2",
            here.join("v3.bin").to_str().unwrap(),
            "alice/big.bin",
        ],
    );
    assert!(o.status.success(), "{}", said(&o));
    assert_eq!(std::fs::read(home.join("big.bin")).unwrap(), v3);
    assert!(parts_below(&home).is_empty());
    // the space tf df reports is what the quota leaves
    let o = tf_alice(&srv, &["df", "--raw"]);
    assert!(o.status.success(), "{}", said(&o));
    assert!(
        said(&o).contains(&format!("quota      {} used", 3 * MIB)),
        "tf df: {}",
        said(&o)
    );
}

/// Finding 7, second half: near the quota (20 MiB, 10 MiB used), `put -r
/// --jobs 4` of a tree holding an 8 MiB file (fits), a 12 MiB one and a
/// 40 MiB one (staged; neither can ever fit) refused the 8 MiB file as well:
/// the files that could never fit held the room with reservations taken
/// frame by frame (a batch even kept a failed file's until its end), where
/// `--jobs 1` stored it. Now a file's whole announced size is reserved
/// before its data (TFDPUTMANY) and a stage that cannot fit is refused at
/// TFDSTAGE: what cannot fit is refused at once and holds nothing, and the
/// 8 MiB file is stored with 4 parallel jobs as with 1.
#[test]
fn parallel_jobs_never_refuse_a_file_that_fits_for_one_that_cannot() {
    assert!(is_root(), "this test needs root (system users, LOGIN)");
    let (srv, uid, gid, home) = alice_server_with("tfdr3a", "", &["--quota", "20971520"]);
    file_of(&home.join("filler.bin"), &pattern(10 * MIB, 80), uid, gid);
    let here = common::tempdir("r3-seven-jobs");
    let src = here.join("src");
    std::fs::create_dir_all(&src).unwrap();
    let fits = pattern(8 * MIB, 81);
    std::fs::write(src.join("fits.bin"), &fits).unwrap();
    std::fs::write(src.join("toobig.bin"), pattern(12 * MIB, 82)).unwrap();
    std::fs::write(src.join("never.bin"), pattern(40 * MIB, 83)).unwrap();
    for round in 0..3 {
        for jobs in ["4", "1"] {
            let dest = format!("alice/up-{jobs}-{round}");
            let o = tf_alice(&srv, &["put", "-r", "--jobs", jobs, src.to_str().unwrap(), &dest]);
            let at = srv.data.join(&dest);
            assert!(!o.status.success(), "--jobs {jobs}: {}", said(&o));
            assert!(
                std::fs::read(at.join("fits.bin")).is_ok_and(|got| got == fits),
                "round {round}, --jobs {jobs}: the 8 MiB file that fits was not stored: {}",
                said(&o)
            );
            assert!(!at.join("toobig.bin").exists() && !at.join("never.bin").exists());
            assert!(parts_below(&home).is_empty(), "{:?}", parts_below(&home));
            std::fs::remove_dir_all(&at).unwrap();
        }
    }
}

/// `tf --user LOGIN ARGS` against `srv`.
fn tf_as(srv: &Server, login: &str, args: &[&str]) -> std::process::Output {
    let mut all = vec!["--user", login];
    all.extend_from_slice(args);
    srv.tf_command(&all)
        .env("TF_PASSWORD", PW)
        .env_remove("TF_USER")
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap()
}

/// Leaves an abandoned stage of `remote` (`size` bytes, `have` of them
/// written) in a session of `login` that then ends; returns the stage's path
/// on disk.
fn abandon_stage(srv: &Server, login: &str, uid: u32, remote: &str, size: usize, have: usize) -> std::path::PathBuf {
    let mut c = srv.client();
    assert_ok(c.call("LOGIN", format!("{login} {PW}").as_bytes()).unwrap());
    assert_ok(
        c.call("TFDSTAGE", format!("{size} abandoned 1 {remote}").as_bytes())
            .unwrap(),
    );
    assert_ok(stage_put(&mut c, remote, 0, &pattern(have, 90)));
    let _ = c.end();
    let (dir, name) = remote.rsplit_once('/').unwrap();
    let at = srv.data.join(dir).join(stage_name(uid, name));
    assert!(at.exists(), "the stage of {remote} is at {}", at.display());
    at
}

/// Finding 8: an abandoned stage counted in alice's `tf df`, but `tf ls -la`
/// did not show it, `tf rm` of it said access denied, and only the sweeper
/// removed it 2 days later. Now `ls -a` shows her own stages as what they are
/// (a stage of NAME, bytes written of size), `tf stages` lists them with the
/// bytes the quota counts (the same as `tf df`), and `tf rm` of one, `tf
/// stages --discard TARGET` and `--discard --all` remove them. Another user
/// (bob, in a shared sticky directory) sees none of hers, and neither his
/// `rm` nor his `--discard` removes one; a file named as a stage that does
/// not bear tfd's mark is neither listed nor removed.
#[test]
fn stages_are_visible_and_removable_by_their_owner_only() {
    use std::os::unix::fs::PermissionsExt;
    assert!(is_root(), "this test needs root (system users, LOGIN)");
    let (ua, ga) = common::ensure_system_user("tfdr3a", &[]);
    let (ub, _) = common::ensure_system_user("tfdr3b", &[]);
    let f = common::tempdir("r3-eight-userdb").join("userdb");
    let f = f.to_str().unwrap().to_string();
    common::userdb_add(&f, "alice", "tfdr3a", PW, &["--quota", "104857600"]);
    common::userdb_add(&f, "bob", "tfdr3b", PW, &[]);
    let srv = Server::start_opts(Opts {
        extra: &format!("userdb {f}\n"),
        default_user: false,
        ..Opts::default()
    });
    let home = srv.data.join("alice");
    std::fs::create_dir_all(&home).unwrap();
    nix::unistd::chown(&home, Some(ua.into()), Some(ga.into())).unwrap();
    let shared = srv.data.join("shared");
    std::fs::create_dir_all(&shared).unwrap();
    std::fs::set_permissions(&shared, std::fs::Permissions::from_mode(0o1777)).unwrap();
    let a_big = abandon_stage(&srv, "alice", ua, "alice/big.bin", 3 * MIB, MIB);
    let a_shared = abandon_stage(&srv, "alice", ua, "shared/x.bin", 2 * MIB, MIB / 2);
    let b_shared = abandon_stage(&srv, "bob", ub, "shared/y.bin", MIB, 4096);
    // a file of alice's named as a stage, but not tfd's
    let fake = home.join(".tfd-part-s0000000000000000");
    file_of(&fake, b"not a stage", ua, ga);
    std::fs::set_permissions(&fake, std::fs::Permissions::from_mode(0o600)).unwrap();
    let name = |p: &std::path::Path| p.file_name().unwrap().to_str().unwrap().to_string();

    // ls -a shows her stage as what it is; bob's ls -a of shared shows only his
    let o = tf_as(&srv, "alice", &["ls", "-la", "alice"]);
    assert!(o.status.success(), "{}", said(&o));
    let want = format!(
        "{} (stage of alice/big.bin: {} of {} bytes written",
        name(&a_big),
        MIB,
        3 * MIB
    );
    assert!(said(&o).contains(&want), "tf ls -la alice:\n{}", said(&o));
    assert!(!said(&o).contains(&name(&fake)), "{}", said(&o));
    let o = tf_as(&srv, "bob", &["ls", "-a", "shared"]);
    assert!(said(&o).contains(&name(&b_shared)), "{}", said(&o));
    assert!(
        !said(&o).contains(&name(&a_shared)),
        "bob sees alice's stage: {}",
        said(&o)
    );

    // tf stages lists both of hers, with what tf df counts
    let o = tf_as(&srv, "alice", &["stages"]);
    assert!(o.status.success(), "{}", said(&o));
    let out = said(&o);
    assert!(
        out.contains("stage of alice/big.bin") && out.contains("stage of shared/x.bin"),
        "{out}"
    );
    assert!(!out.contains("y.bin") && !out.contains(&name(&fake)), "{out}");
    let counted = std::fs::metadata(&a_big).unwrap().len() + std::fs::metadata(&a_shared).unwrap().len();
    assert!(out.contains(&format!("2 stages, {counted} bytes counted")), "{out}");
    // tf df counts them, and alice's other file (the fake)
    let fake_len = std::fs::metadata(&fake).unwrap().len();
    let o = tf_as(&srv, "alice", &["df", "--raw"]);
    assert!(
        said(&o).contains(&format!("quota      {} used", counted + fake_len)),
        "tf df: {}",
        said(&o)
    );

    // bob can remove none of hers, nor the fake
    let theirs = format!("shared/{}", name(&a_shared));
    for args in [
        vec!["rm", theirs.as_str()],
        vec!["stages", "--discard", theirs.as_str()],
    ] {
        let o = tf_as(&srv, "bob", &args);
        assert!(!o.status.success(), "bob {args:?}: {}", said(&o));
        assert!(a_shared.exists(), "bob {args:?} removed alice's stage");
    }
    let o = tf_as(
        &srv,
        "alice",
        &["stages", "--discard", &format!("alice/{}", name(&fake))],
    );
    assert!(!o.status.success() && fake.exists(), "{}", said(&o));

    // alice removes hers: rm of the stage's own name, --discard of the target
    let o = tf_as(&srv, "alice", &["rm", &format!("alice/{}", name(&a_big))]);
    assert!(o.status.success(), "tf rm of her stage: {}", said(&o));
    assert!(!a_big.exists());
    let o = tf_as(&srv, "alice", &["stages", "--discard", "shared/x.bin"]);
    assert!(o.status.success(), "{}", said(&o));
    assert!(!a_shared.exists());
    assert!(b_shared.exists(), "bob's stage stays");
    // raced: a stage a running upload holds is not removed under it (refused
    // as in use while the data comes), and that upload then commits
    let busy = pattern(4 * MIB, 91);
    let mut c = alice(&srv);
    assert_ok(
        c.call("TFDSTAGE", format!("{} busy 1 alice/busy.bin", busy.len()).as_bytes())
            .unwrap(),
    );
    let (started, sending) = std::sync::mpsc::channel();
    let (go_on, release) = std::sync::mpsc::channel();
    let uploader = {
        let busy = busy.clone();
        std::thread::spawn(move || {
            let mut src = Trickle {
                data: &busy,
                started: Some((started, release)),
            };
            c.put_as("TFDSTAGEPUT", b"alice/busy.bin", 0, 1 << 20, &mut src, &mut |_| {})
                .unwrap();
            let st = tfp_wire::Status::parse(&c.chan.rx.recv_frame().unwrap());
            assert_ok(st);
            c.call(
                "TFDSTAGEDONE",
                format!("{} 1 alice/busy.bin", sha_text(&busy)).as_bytes(),
            )
            .unwrap()
        })
    };
    sending.recv().unwrap();
    let o = tf_as(&srv, "alice", &["stages", "--discard", "alice/busy.bin"]);
    go_on.send(()).unwrap();
    assert!(
        !o.status.success() && said(&o).contains("in use"),
        "a stage a running upload holds was discarded: {}",
        said(&o)
    );
    assert_ok(uploader.join().unwrap());
    assert_eq!(
        std::fs::read(home.join("busy.bin")).unwrap(),
        busy,
        "the upload committed"
    );
    // --discard --all: every one of hers, none of bob's
    let s1 = abandon_stage(&srv, "alice", ua, "alice/one.bin", MIB, 4096);
    let s2 = abandon_stage(&srv, "alice", ua, "shared/two.bin", MIB, 4096);
    let o = tf_as(&srv, "alice", &["stages", "--discard", "--all"]);
    assert!(o.status.success(), "{}", said(&o));
    assert!(!s1.exists() && !s2.exists() && b_shared.exists() && fake.exists());
    let o = tf_as(&srv, "alice", &["stages"]);
    assert!(said(&o).contains("0 stages, 0 bytes counted"), "{}", said(&o));
    // what tf df counts now: her two files, no stage
    let o = tf_as(&srv, "alice", &["df", "--raw"]);
    assert!(
        said(&o).contains(&format!("quota      {} used", fake_len + busy.len() as u64)),
        "tf df: {}",
        said(&o)
    );
}

/// A source that says when it is first read (the server holds the stage by
/// then: the grant came) and waits to be let go on, then gives 64 KiB every
/// 30 ms.
struct Trickle<'a> {
    data: &'a [u8],
    started: Option<(std::sync::mpsc::Sender<()>, std::sync::mpsc::Receiver<()>)>,
}

impl Read for Trickle<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if let Some((tx, rx)) = self.started.take() {
            let _ = tx.send(());
            let _ = rx.recv();
        }
        std::thread::sleep(Duration::from_millis(30));
        let n = buf.len().min(self.data.len()).min(64 << 10);
        buf[..n].copy_from_slice(&self.data[..n]);
        self.data = &self.data[n..];
        Ok(n)
    }
}

/// Finding 7, deltas (what `mirror -R` sends over its pool beside the
/// batches): TFDDELTAPUT reserved record by record, so a new version that
/// could never fit (14 MiB where the quota leaves 10 beside the old 2 MiB)
/// was answered OK and held the room its records took while a batch of
/// another session refused an 8 MiB file that fits. Now the whole announced
/// size is reserved before any record: the delta is refused at once
/// (FAILED 13, before OK) holding nothing, and the batch stores the file.
#[test]
fn a_delta_that_cannot_fit_holds_no_room_a_batch_needs() {
    assert!(is_root(), "this test needs root (system users, LOGIN)");
    let (srv, uid, gid, home) = alice_server_with("tfdr3a", "", &["--quota", "20971520"]);
    let old = pattern(2 * MIB, 100);
    file_of(&home.join("old.bin"), &old, uid, gid);
    file_of(&home.join("filler.bin"), &pattern(8 * MIB, 101), uid, gid);
    let mut a = alice(&srv);
    a.chan.tx.send_frame(b"TFDDELTASIG alice/old.bin").unwrap();
    let head = String::from_utf8(a.chan.rx.recv_frame().unwrap()).unwrap();
    let identity = head.split(' ').nth(4).unwrap_or_else(|| panic!("{head}")).to_string();
    loop {
        let f = a.chan.rx.recv_frame().unwrap();
        if f == b"OK" {
            break;
        }
        assert_eq!(f.first(), Some(&b'S'), "{}", String::from_utf8_lossy(&f));
    }
    let size = 14 * MIB;
    a.chan
        .tx
        .send_frame(format!("TFDDELTAPUT {size} {identity} alice/old.bin").as_bytes())
        .unwrap();
    let first = tfp_wire::Status::parse(&a.chan.rx.recv_frame().unwrap());
    if ok(&first) {
        // the old code: 9 MiB of literal records, held while the batch runs
        let lit = pattern(256 << 10, 102);
        for _ in 0..36 {
            let mut frame = vec![b'L'];
            frame.extend_from_slice(&(lit.len() as u32).to_be_bytes());
            frame.extend_from_slice(&lit);
            a.chan.tx.send_frame(&frame).unwrap();
        }
        // a round trip: the server has taken every record so far
        let _ = tf_alice(&srv, &["echo", "sync"]);
        std::thread::sleep(Duration::from_millis(300));
    }
    let here = common::tempdir("r3-seven-delta");
    let fits = pattern(8 * MIB, 103);
    std::fs::create_dir_all(here.join("src")).unwrap();
    std::fs::write(here.join("src/fits.bin"), &fits).unwrap();
    let o = tf_alice(&srv, &["put", "-r", here.join("src").to_str().unwrap(), "alice/up"]);
    let stored = std::fs::read(home.join("up/fits.bin")).is_ok_and(|got| got == fits);
    if ok(&first) {
        a.chan.tx.send_frame(format!("E{}", "0".repeat(64)).as_bytes()).unwrap();
        let _ = a.chan.rx.recv_frame();
    }
    assert!(
        stored,
        "the 8 MiB file that fits was refused beside the delta: {}",
        said(&o)
    );
    assert!(o.status.success(), "{}", said(&o));
    assert!(
        matches!(&first, tfp_wire::Status::Failed(13, _)),
        "a delta of 14 MiB with 10 MiB left beside a 2 MiB file: {first:?}"
    );
    assert_eq!(
        std::fs::read(home.join("old.bin")).unwrap(),
        old,
        "the old file is whole"
    );
    assert!(parts_below(&home).is_empty());
}
