//! `tf` on multi-user and jailed servers (issue 26, parts 1 and 2), through the
//! real binary against a real tfd: LOGIN with the password from TF_PASSWORD, a
//! file or a no-echo prompt on a terminal (never argv), INJAIL after it, named
//! servers from ~/.config/tf/config, `tf -b` batches and `tf shell` under a
//! pseudo-terminal, one session for every command of an invocation; files
//! and owners checked on disk, the password looked for in every output.

// `..Default::default()` keeps these tests building whatever fields Opts gains.
#![allow(clippy::needless_update)]

use crate::output::text;

use std::fs;
use std::io::Write;
use std::os::unix::fs::MetadataExt;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};
use tfd_testkit::users::{ensure_system_user, login_userdb};
use tfd_testkit::*;

const PW: &str = "Sess10n pw, with spaces";
const WRONG_PW: &str = "not-the-pw-xyzzy";

struct Multi {
    srv: Server,
    uid: u32,
}

/// A multi-user tfd (no default user): login `alice` → system user
/// `sysuser`, who owns `alice/`; with `injail` a jail `jails/cell` (token
/// `the-token`) owned by her too.
fn multi(tag: &str, sysuser: &str, injail: bool) -> Option<Multi> {
    if !require(is_root(), "needs root") {
        return None;
    }
    let (uid, gid) = ensure_system_user(sysuser, &[]);
    let f = login_userdb(tag, "alice", sysuser, PW);
    let srv = Server::start_opts(Opts {
        extra: &format!("userdb {f}\n{}", if injail { "injail\n" } else { "" }),
        default_user: false,
        ..Default::default()
    });
    // the jail is root's (its guard); alice writes in its home/
    for d in ["alice", "jails/cell/home"] {
        fs::create_dir_all(srv.path(d)).unwrap();
        nix::unistd::chown(&srv.path(d), Some(uid.into()), Some(gid.into())).unwrap();
    }
    fs::write(srv.path("jails/cell/jail.key"), "the-token\n").unwrap();
    Some(Multi { srv, uid })
}

/// `tf ARGS` with `env` (and no TF_* from the test's own environment).
fn tf_env(srv: &Server, args: &[&str], env: &[(&str, &str)], stdin: &[u8]) -> Output {
    let mut c = srv.tf_command(args);
    for k in ["TF_USER", "TF_PASSWORD", "TF_JAIL", "TF_SERVER", "TF_KEY", "TF_HASH"] {
        c.env_remove(k);
    }
    c.envs(env.iter().copied())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = c.spawn().unwrap();
    child.stdin.take().unwrap().write_all(stdin).unwrap();
    child.wait_with_output().unwrap()
}

fn no_password_in(what: &str, s: &str) {
    assert!(!s.contains(PW), "the password is in {what}: {s}");
    assert!(!s.contains(WRONG_PW), "the wrong password is in {what}: {s}");
}

fn logins(srv: &Server) -> usize {
    srv.log().matches("LOGIN \"alice\" as").count()
}

#[test]
fn one_shot_commands_log_in_from_env_and_file() {
    let Some(m) = multi("sess-login", "tfdsess1", false) else {
        return;
    };
    let srv = &m.srv;
    let here = tempdir("sess-login-local");
    let local = here.join("up.txt");
    fs::write(&local, b"alice's data\n").unwrap();
    let pwfile = here.join("pw");
    fs::write(&pwfile, format!("{PW}\n")).unwrap();
    // tf refuses a password file others can read
    fs::set_permissions(&pwfile, std::os::unix::fs::PermissionsExt::from_mode(0o600)).unwrap();
    let l = local.to_str().unwrap();

    // without a login the multi-user server refuses everything (FAILED 38)
    let o = tf_env(srv, &["fstat", "alice"], &[], b"");
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));

    let o = tf_env(
        srv,
        &["--user", "alice", "put", l, "alice/up.txt"],
        &[("TF_PASSWORD", PW)],
        b"",
    );
    assert!(o.status.success(), "{}", text(&o));
    no_password_in("tf's output", &text(&o));
    let meta = fs::metadata(srv.path("alice/up.txt")).unwrap();
    assert_eq!(meta.uid(), m.uid, "the upload is alice's system user's");
    assert_eq!(fs::read(srv.path("alice/up.txt")).unwrap(), b"alice's data\n");

    let p = pwfile.to_str().unwrap();
    let o = tf_env(srv, &["--user", "alice", "--password-file", p, "ls", "alice"], &[], b"");
    assert!(o.status.success(), "{}", text(&o));
    assert_eq!(String::from_utf8_lossy(&o.stdout), "F: up.txt\n");

    // TF_USER names the user too
    let o = tf_env(
        srv,
        &["sha256", "alice/up.txt"],
        &[("TF_USER", "alice"), ("TF_PASSWORD", PW)],
        b"",
    );
    assert!(o.status.success(), "{}", text(&o));

    // a wrong password: a sentence, exit 1, nothing done, no password shown
    let o = tf_env(
        srv,
        &["--user", "alice", "mkdir", "alice/never"],
        &[("TF_PASSWORD", WRONG_PW)],
        b"",
    );
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(text(&o).contains("wrong user name or password"), "{}", text(&o));
    no_password_in("tf's output", &text(&o));
    assert!(!srv.path("alice/never").exists());

    // a password never comes from argv
    let o = tf_env(srv, &["--user", "alice", "--password", PW, "ls"], &[], b"");
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("there is no --password"));

    // no terminal, no TF_PASSWORD, no file: said so, nothing sent
    // setsid: a new session without a controlling terminal, so no /dev/tty
    let o = Command::new("setsid")
        .args(["-w", tfd_testkit::tf_bin(), "--server", &srv.addr(), "--key"])
        .arg(srv.dir.join("pub.pem"))
        .args(["--hash", &srv.hash, "--user", "alice", "ls"])
        .env_remove("TF_PASSWORD")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(text(&o).contains("TF_PASSWORD"), "{}", text(&o));

    no_password_in("the server log", &srv.log());
}

#[test]
fn jail_after_login_confines_the_session() {
    let Some(m) = multi("sess-jail", "tfdsess2", true) else {
        return;
    };
    let srv = &m.srv;
    let here = tempdir("sess-jail-local");
    let local = here.join("in.txt");
    fs::write(&local, b"jailed\n").unwrap();
    let l = local.to_str().unwrap();
    let env = [("TF_PASSWORD", PW)];
    let o = tf_env(
        srv,
        &[
            "--user",
            "alice",
            "--jail",
            "the-token:jails/cell",
            "put",
            l,
            "home/in.txt",
        ],
        &env,
        b"",
    );
    assert!(o.status.success(), "{}", text(&o));
    let meta = fs::metadata(srv.path("jails/cell/home/in.txt")).unwrap();
    assert_eq!(meta.uid(), m.uid);
    // TF_JAIL, and paths resolve inside the jail: ls of its root
    let o = tf_env(
        srv,
        &["--user", "alice", "ls"],
        &[("TF_PASSWORD", PW), ("TF_JAIL", "the-token:jails/cell")],
        b"",
    );
    assert!(o.status.success(), "{}", text(&o));
    assert_eq!(String::from_utf8_lossy(&o.stdout), "D: home/\nF: jail.key\n");
    // a wrong token: a sentence and exit 1
    let o = tf_env(
        srv,
        &["--user", "alice", "--jail", "bad-token:jails/cell", "ls"],
        &env,
        b"",
    );
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(text(&o).contains("refused the jail"), "{}", text(&o));
    no_password_in("the server log", &srv.log());
}

#[test]
fn named_server_from_the_config_file() {
    let Some(m) = multi("sess-named", "tfdsess3", false) else {
        return;
    };
    let srv = &m.srv;
    let home = tempdir("sess-named-xdg");
    fs::create_dir_all(home.join("tf")).unwrap();
    let key = srv.dir.join("pub.pem");
    fs::write(&key, &keys().1).unwrap();
    let pwfile = home.join("pw");
    fs::write(&pwfile, format!("{PW}\n")).unwrap();
    // tf refuses a password file others can read
    fs::set_permissions(&pwfile, std::os::unix::fs::PermissionsExt::from_mode(0o600)).unwrap();
    fs::write(
        home.join("tf/config"),
        format!(
            "# servers\n[other]\nserver = 127.0.0.1:1\n\n[prod]\nserver = {}\nkey = {}\nhash = {}\nuser = alice\n\
             password_file = {}\noptions = --legacy --timeout 10\n",
            srv.addr(),
            key.display(),
            srv.hash,
            pwfile.display()
        ),
    )
    .unwrap();
    fs::write(srv.path("alice/x.txt"), b"x").unwrap();
    let run = |args: &[&str]| {
        Command::new(tfd_testkit::tf_bin())
            .args(args)
            .env("XDG_CONFIG_HOME", &home)
            .env_remove("TF_SERVER")
            .env_remove("TF_PASSWORD")
            .output()
            .unwrap()
    };
    let o = run(&["-s", "prod", "-v", "ls", "alice"]);
    assert!(o.status.success(), "{}", text(&o));
    assert_eq!(String::from_utf8_lossy(&o.stdout), "F: x.txt\n");
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("transport: legacy"),
        "{}",
        text(&o)
    );
    let o = run(&["-s", "nosuch", "ls"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(text(&o).contains("no [nosuch] section"), "{}", text(&o));
}

/// The config file's keys and its `options =` line come from tf's option
/// table: what may go where, and the errors naming file and line, are checked
/// here without a server (each mistake stops tf before it connects).
#[test]
fn config_file_mistakes_are_named() {
    let home = tempdir("sess-named-mistakes");
    fs::create_dir_all(home.join("tf")).unwrap();
    let config = home.join("tf/config");
    let run = |body: &str| {
        fs::write(&config, format!("[x]\nserver = 127.0.0.1:1\n{body}\n")).unwrap();
        let o = Command::new(tfd_testkit::tf_bin())
            .args(["-s", "x", "ls"])
            .env("XDG_CONFIG_HOME", &home)
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(1), "{body}: {}", text(&o));
        String::from_utf8_lossy(&o.stderr).into_owned()
    };
    let at = format!("{}:3: ", config.display());
    for (body, says) in [
        (
            "options = --user bob",
            "options: --user is not a connection option here",
        ),
        ("options = --aes -s y", "options: -s is not a connection option here"),
        (
            "options = --batch f",
            "options: --batch is not a connection option here",
        ),
        (
            "options = --nosuch",
            "options: --nosuch is not a connection option here",
        ),
        ("options = --password pw", "there is no --password"),
        ("options = --keylen 8", "--keylen needs a number 16..214"),
        ("options = --timeout", "--timeout needs a value"),
        ("password = pw", "unknown key \"password\""),
        ("keylen = 32", "unknown key \"keylen\""),
    ] {
        let err = run(body);
        assert!(err.contains(&format!("{at}{says}")), "{body}: {err}");
    }
    let _ = fs::remove_dir_all(&home);
}

#[test]
fn batch_runs_on_one_session_and_stops_at_the_first_failure() {
    let Some(m) = multi("sess-batch", "tfdsess4", false) else {
        return;
    };
    let srv = &m.srv;
    let here = tempdir("sess-batch-local");
    let local = here.join("f.txt");
    fs::write(&local, b"batch file\n").unwrap();
    let back = here.join("back.txt");
    let script = here.join("cmds");
    fs::write(
        &script,
        format!(
            "# a comment\n\nmkdir alice/b\ncd alice/b\nput {}\nls\n-rm nosuch\nget f.txt {}\nmv f.txt g.txt\n\
             rm nosuch2\nmkdir never\n",
            local.display(),
            back.display()
        ),
    )
    .unwrap();
    let before = logins(srv);
    let o = tf_env(
        srv,
        &["--user", "alice", "-b", script.to_str().unwrap()],
        &[("TF_PASSWORD", PW)],
        b"",
    );
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(
        text(&o).contains(":10: `rm nosuch2` failed; batch stopped"),
        "{}",
        text(&o)
    );
    assert_eq!(
        logins(srv) - before,
        1,
        "one session for the whole batch: {}",
        srv.log()
    );
    assert_eq!(fs::read(srv.path("alice/b/g.txt")).unwrap(), b"batch file\n");
    assert_eq!(fs::metadata(srv.path("alice/b/g.txt")).unwrap().uid(), m.uid);
    assert_eq!(fs::metadata(srv.path("alice/b")).unwrap().uid(), m.uid);
    assert_eq!(fs::read(&back).unwrap(), b"batch file\n");
    assert!(!srv.path("alice/b/never").exists(), "the batch went on after a failure");
    assert!(String::from_utf8_lossy(&o.stdout).contains("F: f.txt\n"));

    // `-b -` reads stdin; the remote directory is the client's
    let o = tf_env(
        srv,
        &["--user", "alice", "-b", "-"],
        &[("TF_PASSWORD", PW)],
        b"pwd\ncd alice/b\npwd\ncd ..\npwd\nls b\n",
    );
    assert!(o.status.success(), "{}", text(&o));
    assert_eq!(String::from_utf8_lossy(&o.stdout), "/\n/alice/b\n/alice\nF: g.txt\n");
    no_password_in("the server log", &srv.log());
}

/// A pty session run by script(1): what it printed so far, filled by a thread.
/// The pids whose parent is `ppid`.
fn children_of(ppid: u32) -> Vec<u32> {
    proc_stats()
        .into_iter()
        .filter(|(_, f)| f.get(1) == Some(&ppid.to_string()))
        .map(|(pid, _)| pid as u32)
        .collect()
}

#[test]
fn shell_under_a_pty_asks_the_password_without_echo_and_edits_lines() {
    let Some(m) = multi("sess-shell", "tfdsess5", false) else {
        return;
    };
    let srv = &m.srv;
    let here = tempdir("sess-shell-local");
    let local = here.join("s.txt");
    fs::write(&local, b"typed in a shell\n").unwrap();
    let mut pty = tfd_testkit::pty::Pty::start(srv, &["--user", "alice"], Some(&here), &["TF_PASSWORD", "TF_USER"]);
    pty.wait_for("alice's password: ", 1);
    pty.type_line(PW);
    pty.wait_for("tf:/> ", 1);
    // the password is in neither the argv nor the environment of tf
    let script_pid = pty.child.id();
    let tf_pids: Vec<u32> = children_of(script_pid);
    assert_eq!(tf_pids.len(), 1, "script's children: {tf_pids:?}");
    for what in ["cmdline", "environ"] {
        let b = fs::read(format!("/proc/{}/{what}", tf_pids[0])).unwrap();
        no_password_in(what, &String::from_utf8_lossy(&b));
    }
    pty.type_line("cd alice");
    pty.wait_for("tf:/alice> ", 1);
    pty.type_line("mkdir box");
    pty.type_line("cd box");
    pty.wait_for("tf:/alice/box> ", 1);
    pty.type_line("put s.txt");
    pty.wait_for("tf:/alice/box> ", 2);
    pty.type_line("ls -l");
    pty.wait_for("  s.txt", 1);
    pty.type_line("mv s.txt t.txt");
    pty.type_line("lcd /");
    pty.type_line(&format!("get t.txt {}", here.join("copy.txt").display()));
    pty.type_line("cd nosuchdir");
    pty.wait_for("no directory /alice/box/nosuchdir", 1);
    pty.type_line("pwd");
    pty.wait_for("\n/alice/box", 1);
    // line editing: Backspace, Left and Ctrl-A/Ctrl-E; history: Up repeats
    pty.type_line("pwdx\x7f");
    pty.wait_for("\n/alice/box", 2);
    pty.type_line("\x1b[A");
    pty.wait_for("\n/alice/box", 3);
    pty.type_line("wd\x01p\x05");
    pty.wait_for("\n/alice/box", 4);
    pty.type_line("quit");
    let deadline = Instant::now() + Duration::from_secs(20);
    let status = loop {
        if let Some(st) = pty.child.try_wait().unwrap() {
            break st;
        }
        assert!(Instant::now() < deadline, "tf shell did not quit: {}", pty.transcript());
        std::thread::sleep(Duration::from_millis(20));
    };
    let t = pty.transcript();
    // exit status of the last command (pwd)
    assert!(status.success(), "{status:?}: {t}");
    no_password_in("the terminal", &t);
    assert_eq!(fs::read(srv.path("alice/box/t.txt")).unwrap(), b"typed in a shell\n");
    assert_eq!(fs::metadata(srv.path("alice/box/t.txt")).unwrap().uid(), m.uid);
    assert_eq!(fs::metadata(srv.path("alice/box")).unwrap().uid(), m.uid);
    assert_eq!(fs::read(here.join("copy.txt")).unwrap(), b"typed in a shell\n");
    assert_eq!(logins(srv), 1, "one session for the whole shell");
    no_password_in("the server log", &srv.log());
}

#[test]
fn fai_cache_files_are_per_user_and_jail() {
    use tfp_client::fai_cache::FaiCache;
    use tfp_client::{ClientConfig, Credentials};
    let here = tempdir("fai-names");
    let dir = here.join("tf");
    let dir = dir.as_path();
    let base = ClientConfig::new("127.0.0.1:1", Vec::new(), "h");
    let mut a = base.clone();
    a.login = Some(Credentials {
        user: "alice".into(),
        password: b"x".to_vec(),
    });
    let mut b = base.clone();
    b.login = Some(Credentials {
        user: "bob".into(),
        password: b"x".to_vec(),
    });
    let mut aj = a.clone();
    aj.jail = Some(("t".into(), "jails/cell".into()));
    let paths: Vec<_> = [&base, &a, &b, &aj]
        .iter()
        .map(|c| FaiCache::open(dir, c).unwrap().path().to_path_buf())
        .collect();
    for i in 0..paths.len() {
        for j in i + 1..paths.len() {
            assert_ne!(paths[i], paths[j]);
        }
    }
    // the password plays no part: the same user finds the same file
    let mut a2 = a.clone();
    a2.login.as_mut().unwrap().password = b"other".to_vec();
    assert_eq!(FaiCache::open(dir, &a2).unwrap().path(), paths[1]);
    let _ = fs::remove_dir_all(&here);
}
