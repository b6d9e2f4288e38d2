//! One verdict (issue 32): for each broken layout `tfd --check-config` and the
//! start itself agree, both refusing with the same reason or both accepting
//! with the same warning; README's multi-user layout draws no warning; and a
//! path the Unix permissions refuse is logged as such, not as TFPSFS's doing.

use tfp_client::replies::{AsStatus as _, Split as _};

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};
use tfd_testkit::users::{ensure_system_user, tfpasswd, userdb_add};
use tfd_testkit::*;

struct Layout {
    dir: PathBuf,
    data: PathBuf,
    base: String,
}

fn layout(tag: &str) -> Layout {
    let dir = tempdir(tag);
    fs::set_permissions(&dir, fs::Permissions::from_mode(0o755)).unwrap();
    let data = dir.join("data");
    fs::create_dir(&data).unwrap();
    write_private_key(&dir.join("key.pem"));
    let base = format!(
        "proto 2.4.1\nhash h-checks\ndbdir {}\nport {}\nlisten 127.0.0.1\nprivkey_file {}\nfai_dir {}\n\
         control_socket {}\nshutdown_grace 1\n",
        data.display(),
        free_port(),
        dir.join("key.pem").display(),
        dir.join("fai").display(),
        dir.join("ctl/ctl.sock").display(),
    );
    Layout { dir, data, base }
}

fn mode(p: &Path, m: u32) {
    fs::set_permissions(p, fs::Permissions::from_mode(m)).unwrap();
}

/// `--check-config`: its exit status and everything it printed.
fn check(l: &Layout, extra: &str) -> (i32, String) {
    let p = l.dir.join("t.conf");
    fs::write(&p, format!("{}{extra}", l.base)).unwrap();
    let o = Command::new(env!("CARGO_BIN_EXE_tfd"))
        .args(["-c", p.to_str().unwrap(), "--check-config"])
        .output()
        .unwrap();
    (
        o.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&o.stderr).into_owned() + &String::from_utf8_lossy(&o.stdout),
    )
}

/// The start: Some(exit status) when tfd stopped by itself within 10 s, None
/// when it listened (it is stopped then); and its log.
fn start(l: &Layout, extra: &str) -> (Option<i32>, String) {
    let p = l.dir.join("t.conf");
    fs::write(&p, format!("{}{extra}", l.base)).unwrap();
    let log = l.dir.join("start.log");
    let mut child = spawn_tfd(&p, &log);
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let text = fs::read_to_string(&log).unwrap_or_default();
        if let Some(st) = child.try_wait().unwrap() {
            return (Some(st.code().unwrap_or(-1)), text);
        }
        if text.contains("listening on") {
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(child.id() as i32),
                nix::sys::signal::Signal::SIGTERM,
            );
            let _ = child.wait();
            return (None, text);
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("tfd neither started nor stopped:\n{text}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Both refuse, naming `why`.
fn both_refuse(l: &Layout, extra: &str, why: &str) {
    let (code, out) = check(l, extra);
    assert_eq!(code, 1, "--check-config accepted it:\n{out}");
    assert!(out.contains(why), "--check-config does not say {why:?}:\n{out}");
    let (stopped, log) = start(l, extra);
    assert_eq!(stopped, Some(1), "tfd started anyway:\n{log}");
    assert!(log.contains(why), "the start does not say {why:?}:\n{log}");
}

/// Both accept, with no warning at all.
fn both_accept_silently(l: &Layout, extra: &str) {
    let (code, out) = check(l, extra);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("is valid\n") && !out.contains("WARN"), "{out}");
    let (stopped, log) = start(l, extra);
    assert_eq!(stopped, None, "{log}");
    assert!(!log.contains("WARN"), "{log}");
}

#[test]
fn check_config_and_start_agree_on_every_broken_layout() {
    assert!(
        is_root(),
        "this test needs root (accounts checked as themselves, chown): run it as root"
    );
    let (uid, gid) = ensure_system_user("tfdagree1", &[]);
    let (juid, jgid) = ensure_system_user("tfdagree2", &[]);
    let l = layout("agree");
    let f = tempdir("agree-db").join("userdb");
    let f = f.to_str().unwrap().to_string();
    fs::write(&f, "").unwrap();
    mode(Path::new(&f), 0o600);
    userdb_add(&f, "una", "tfdagree1", "una pw", &[]);
    let multi = format!("userdb {f}\n");

    // the root: root's, mode 700: its accounts cannot open it
    mode(&l.data, 0o700);
    both_refuse(&l, "defusr tfdagree1\n", "tfdagree1 cannot open the served root");
    both_refuse(&l, &multi, "una (system user tfdagree1) cannot open the served root");

    // README's multi-user layout: a root-owned 0755 root, a directory per user
    mode(&l.data, 0o755);
    fs::create_dir(l.data.join("una")).unwrap();
    nix::unistd::chown(&l.data.join("una"), Some(uid.into()), Some(gid.into())).unwrap();
    both_accept_silently(&l, &multi);
    // and with a jailed user beside: a root-owned jail with a home inside
    userdb_add(&f, "jo", "tfdagree2", "jo pw", &["--jail", "/jails/jo"]);
    fs::create_dir_all(l.data.join("jails/jo/home")).unwrap();
    nix::unistd::chown(&l.data.join("jails/jo/home"), Some(juid.into()), Some(jgid.into())).unwrap();
    both_accept_silently(&l, &multi);
    // a jail its user owns: LOGIN would refuse it; both say why and start
    // (it concerns jo alone, and the user file is read at every LOGIN)
    nix::unistd::chown(&l.data.join("jails/jo"), Some(juid.into()), Some(jgid.into())).unwrap();
    both_accept_warning(
        &l,
        &multi,
        &format!(
            "LOGIN user jo (jail /jails/jo): every LOGIN will answer FAILED 48: /jails/jo ({} on disk) is owned by \
             tfdagree2 (uid {juid}), not root",
            l.data.join("jails/jo").display()
        ),
    );
    // its fix names the directory on disk, not the path inside the served
    // root (`chown root:root /jails/jo` would mend another directory, or none)
    let (_, out) = check(&l, &multi);
    let real = l.data.join("jails/jo");
    assert!(
        out.contains(&format!("({} on disk)", real.display()))
            && out.contains(&format!("chown root:root {},", real.display())),
        "{out}"
    );
    nix::unistd::chown(&l.data.join("jails/jo"), Some(0.into()), Some(0.into())).unwrap();

    // fai_dir readable by others (it holds tokens)
    fs::create_dir_all(l.dir.join("fai")).unwrap();
    mode(&l.dir.join("fai"), 0o755);
    both_refuse(
        &l,
        &multi,
        &format!("fai_dir {} is mode 755", l.dir.join("fai").display()),
    );
    mode(&l.dir.join("fai"), 0o700);

    // shared_state_dir writable by others
    let shared = l.dir.join("shared");
    fs::create_dir(&shared).unwrap();
    mode(&shared, 0o777);
    let with_shared = format!("{multi}shared_state_dir {}\n", shared.display());
    both_refuse(
        &l,
        &with_shared,
        &format!(
            "shared_state_dir: {} must be owned by root (uid 0) and closed",
            shared.display()
        ),
    );
    mode(&shared, 0o700);
    both_accept_silently(&l, &with_shared);

    // the control socket's directory writable by others
    fs::create_dir_all(l.dir.join("ctl")).unwrap();
    mode(&l.dir.join("ctl"), 0o777);
    both_refuse(&l, &multi, "control_socket's directory");
    mode(&l.dir.join("ctl"), 0o700);
    // ... and in a shared sticky directory such as /tmp: the way out is a
    // directory of tfd's own, never `chmod 700 /tmp`
    let sticky = l.dir.join("sticky");
    fs::create_dir(&sticky).unwrap();
    mode(&sticky, 0o1777);
    for dir in [Path::new("/tmp"), sticky.as_path()] {
        let sock = dir.join(format!("tfd-test-ctl-{}.sock", std::process::id()));
        let shared = Layout {
            dir: l.dir.clone(),
            data: l.data.clone(),
            base: l.base.replace(
                &format!("control_socket {}\n", l.dir.join("ctl/ctl.sock").display()),
                &format!("control_socket {}\n", sock.display()),
            ),
        };
        assert_ne!(shared.base, l.base);
        let (l, extra) = (&shared, multi.clone());
        both_refuse(l, &extra, "control_socket's directory");
        let (_, out) = check(l, &extra);
        assert!(
            !out.contains("chmod 700") && !out.contains("chown"),
            "suggests taking over a shared directory:\n{out}"
        );
        assert!(
            out.contains("shared (sticky) directory") && out.contains("mkdir -m 700 /run/tfd"),
            "{out}"
        );
        assert!(!sock.exists());
    }
    both_accept_silently(&l, &multi);

    // a root no account can write, nor any directory in it: the same warning
    fs::remove_dir(l.data.join("una")).unwrap();
    fs::remove_dir_all(l.data.join("jails")).unwrap();
    assert!(tfpasswd(&["-f", &f, "del", "jo"], "").status.success());
    both_accept_warning(&l, &multi, "una (system user tfdagree1) cannot write the served root");
    let _ = fs::remove_dir_all(&l.dir);
}

/// Both accept, with the one warning `why`.
fn both_accept_warning(l: &Layout, extra: &str, why: &str) {
    let (code, out) = check(l, extra);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains(why) && out.contains("with 1 warning"), "{out}");
    let (stopped, log) = start(l, extra);
    assert_eq!(stopped, None, "{log}");
    assert!(log.contains(why), "{log}");
    assert_eq!(log.matches("WARN").count(), 1, "{log}");
}

/// A directory the session's user may not search is refused by the Unix
/// permissions, and the log says so (it said "path refused by TFPSFS").
#[test]
fn a_path_refused_by_unix_permissions_is_logged_as_such() {
    assert!(
        is_root(),
        "this test needs root (a session as another user): run it as root"
    );
    ensure_system_user("tfdagree3", &[]);
    let srv = Server::start_opts(Opts {
        extra: "defusr tfdagree3\n",
        default_user: false,
        ..Default::default()
    });
    fs::create_dir(srv.path("private")).unwrap();
    mode(&srv.path("private"), 0o700);
    let mut c = srv.client();
    assert!(c.list(false, b"private").split().unwrap().is_err());
    assert_failed(c.call("FSTAT", b"private/x").unwrap(), 1);
    let log = srv.log();
    assert!(
        log.contains("path refused: user tfdagree3 may not search the directory (Unix permissions"),
        "{log}"
    );
    assert!(!log.contains("refused by TFPSFS"), "{log}");
    // the client names the path and both possible causes, never an empty name
    let out = srv.tf(&["ls", "private"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{err}");
    assert!(
        err.contains("tf: private: access denied") && err.contains("Unix permissions"),
        "{err}"
    );
}

/// A reload reaches the start's verdict: a configuration tfd would refuse to
/// start with is refused by a running tfd on SIGHUP, which keeps serving the
/// old one (before, it took on a served root its account cannot open).
#[test]
fn a_reload_refuses_what_the_start_refuses() {
    assert!(
        is_root(),
        "this test needs root (accounts checked as themselves): run it as root"
    );
    ensure_system_user("tfdagree1", &[]);
    let l = layout("agree-reload");
    mode(&l.data, 0o755);
    fs::write(l.data.join("kept.txt"), b"old root\n").unwrap();
    let closed = l.dir.join("closed");
    fs::create_dir(&closed).unwrap();
    mode(&closed, 0o700);
    let p = l.dir.join("t.conf");
    fs::write(&p, format!("{}defusr tfdagree1\n", l.base)).unwrap();
    let log = l.dir.join("reload.log");
    let mut child = spawn_tfd(&p, &log);
    let read_log = || fs::read_to_string(&log).unwrap_or_default();
    let wait = |needle: &str| {
        let deadline = Instant::now() + Duration::from_secs(10);
        while !read_log().contains(needle) {
            assert!(
                Instant::now() < deadline,
                "the log never said {needle:?}:\n{}",
                read_log()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    };
    wait("listening on");
    let port: u16 = l
        .base
        .split("port ")
        .nth(1)
        .unwrap()
        .split('\n')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    fs::write(
        &p,
        format!("{}defusr tfdagree1\n", l.base).replace(
            &format!("dbdir {}", l.data.display()),
            &format!("dbdir {}", closed.display()),
        ),
    )
    .unwrap();
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(child.id() as i32), nix::sys::signal::SIGHUP).unwrap();
    wait("reload refused");
    let text = read_log();
    assert!(text.contains("tfdagree1 cannot open the served root"), "{text}");
    assert!(!text.contains("configuration reloaded"), "{text}");
    // still the old root
    let mut cfg = tfp_client::ClientConfig::new(&format!("127.0.0.1:{port}"), keys().1.clone(), "h-checks");
    cfg.timeout = Some(Duration::from_secs(20));
    cfg.transport = tfp_client::Transport::Legacy;
    let mut c = tfp_client::Client::connect(&cfg).unwrap_or_else(|e| panic!("connect: {e}\n{}", read_log()));
    let mut got = Vec::new();
    let st = c.rcvfile(b"kept.txt", false, &mut got).status().unwrap();
    assert!(matches!(st, tfp_wire::Status::Ok(_)), "{st:?}\n{}", read_log());
    assert_eq!(got, b"old root\n");
    drop(c);
    let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(child.id() as i32), nix::sys::signal::SIGTERM);
    let _ = child.wait();
}

#[test]
fn authorized_keys_is_refused_where_it_could_not_work() {
    if !require(is_root(), "needs root (multi-user mode)") {
        return;
    }
    let l = layout("agree-keys");
    let file = l.dir.join("authorized_keys");
    fs::write(&file, "").unwrap();
    let keys = format!("authorized_keys {}\n", file.display());
    // multi-user mode: each user's keys live in authorized_keys_dir
    both_refuse(
        &l,
        &keys,
        "authorized_keys limits who may connect to a single-user server",
    );
    // nobody could log in by key without the secure transport
    both_refuse(
        &l,
        &format!("defusr root\nsecure_transport off\n{keys}"),
        "a key login needs the secure transport",
    );
    // inside the served tree, clients could rewrite it
    both_refuse(
        &l,
        &format!("defusr root\nauthorized_keys {}\n", l.data.join("k").display()),
        "is inside dbdir",
    );
    let (code, out) = check(&l, &format!("defusr root\n{keys}"));
    assert_eq!(code, 0, "{out}");
}
